//! Shared helpers of the `train_*` tests: a tiny training config and a runner.

use std::path::Path;

use app_kit::config_from_toml;
use app_kit::task::{train as train_app, TrainOptions, TrainOutcome};
use candle_core::Device;
use face_app::train::{FaceApp, FaceConfig};

/// A seconds-long run: a 4-channel IResNet on 6 synthetic identities (2 held out), 8 images a step.
pub const TINY: &str = r#"
[data]
source = "synthetic"
num_workers = 1
[data.synthetic]
identities = 6
images_per_identity = 4
seed = 3

[model]
backbone = "small"
base_width = 4
embedding_dim = 16

[loss]
kind = "qmargin"
s = 16.0

[optim]
kind = "sgd"
lr = 0.05
momentum = 0.9
weight_decay = 5e-4

[train]
batch_size = 8
steps = 4
seed = 7
log_every_steps = 1
progress_bar = false

[checkpoint]
every_steps = 2

[eval]
heldout_identities = 2
heldout_per_identity = 4
"#;

/// [`TINY`] with `--set` style overrides.
pub fn tiny(overrides: &[&str]) -> FaceConfig {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    config_from_toml::<FaceApp>(TINY, "tiny", &overrides).expect("tiny config is valid")
}

/// Runs `cfg` into `out` on the CPU.
pub fn train(
    cfg: &FaceConfig,
    out: &Path,
    resume: bool,
    stop_after: Option<u64>,
) -> anyhow::Result<TrainOutcome> {
    train_app::<FaceApp>(
        cfg,
        &TrainOptions {
            out: out.to_path_buf(),
            resume,
            device: Device::Cpu,
            stop_after,
        },
    )
}
