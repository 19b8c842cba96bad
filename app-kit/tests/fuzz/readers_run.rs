//! The run's own files: run configs (TOML), model bundles (`config.json` + `model.safetensors`)
//! and checkpoints (`manifest.json`, `<set>.safetensors`, `optimizer.safetensors`).

use std::path::Path;

use app_kit::bundle::{load_weights, read_meta, save_bundle, BundleMeta};
use app_kit::config::{AppSection, RunConfig};
use candle_core::{DType, Device, Tensor};
use candle_nn::{Init, VarMap};
use serde::{Deserialize, Serialize};
use train_kit::{
    CheckpointStore, OptimizerConfig, RunDir, StepOutput, TrainError, Trainer, TrainerConfig,
};

use crate::mutate::fuzz_file;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct Extra {
    #[serde(default)]
    chunk: f64,
    #[serde(default)]
    list: Vec<u64>,
}

impl AppSection for Extra {}

const CONFIG: &str = r#"
[data]
source = "synthetic"
chunk = 1.5
[model]
backbone = "small"
embedding_dim = 16
[loss]
kind = "a3m-i"
s = 16.0
alpha = 1.5
reinit = { at_steps = [2, 5], monitor = { threshold = 0.5, window = 10, cooldown = 20 } }
[margin_schedule]
initial_margin = 0.0
final_margin = 0.2
increase_start_epoch = 2.0
fix_start_epoch = 5.0
[optim]
kind = "sgd"
lr = 0.1
momentum = 0.9
[schedule]
warmup_epochs = 0.5
decay = "exponential"
end_lr = 0.001
[train]
batch_size = 8
steps = 10
non_finite = { action = "skip", max_consecutive = 3 }
lr_scale = { head = 2.0 }
[checkpoint]
every_steps = 5
[eval]
fars = [1e-3, 1e-2]
list = [1, 2]
"#;

#[test]
fn run_configs() {
    let dir = tempfile::tempdir().unwrap();
    fuzz_file(
        41,
        dir.path(),
        "run.toml",
        CONFIG.as_bytes(),
        true,
        "run.toml",
        |path| {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            RunConfig::<Extra, Extra>::from_toml(&text, &path.display().to_string(), &[], &[])
                .map(|_| ())
                .map_err(|e| format!("{e:#}"))
        },
    );
}

fn tiny_vars() -> VarMap {
    let map = VarMap::new();
    map.get((2, 3), "w", Init::Const(0.5), DType::F32, &Device::Cpu)
        .unwrap();
    map.get(
        3,
        "bn.running_mean",
        Init::Const(0.0),
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    map
}

#[test]
fn bundles() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    let mut meta = BundleMeta::new("face", serde_json::json!({"arch": "tiny", "width": 3}));
    meta.loss = Some("qmargin".into());
    meta.thresholds = vec![eval_kit::FarThreshold {
        far: 1e-3,
        threshold: 0.4,
    }];
    save_bundle(&model, &meta, &tiny_vars()).unwrap();
    let config = std::fs::read(model.join("config.json")).unwrap();
    let weights = std::fs::read(model.join("model.safetensors")).unwrap();
    let read = |_: &Path| -> Result<(), String> {
        let meta = read_meta(&model, "face").map_err(|e| format!("{e:#}"))?;
        meta.threshold_for(1e-3, "fuzz")
            .map_err(|e| format!("config.json: {e:#}"))?;
        load_weights(&model, &tiny_vars()).map_err(|e| format!("{e:#}"))
    };
    fuzz_file(
        42,
        &model,
        "config.json",
        &config,
        true,
        "config.json",
        read,
    );
    std::fs::write(model.join("config.json"), &config).unwrap();
    fuzz_file(
        43,
        &model,
        "model.safetensors",
        &weights,
        false,
        "model.safetensors",
        read,
    );
}

#[test]
fn checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let sets = || {
        let head = VarMap::new();
        head.get((2, 2), "weight", Init::Const(0.1), DType::F32, &Device::Cpu)
            .unwrap();
        (tiny_vars(), head)
    };
    let optimizer = || -> OptimizerConfig {
        serde_json::from_value(serde_json::json!({"kind": "sgd", "lr": 0.1, "momentum": 0.9}))
            .unwrap()
    };
    let cfg: TrainerConfig = toml::from_str(
        "total_steps = 2\nlog_every_steps = 1\nseed = 3\nprogress_bar = false\nschedule = { base_lr = 0.1 }\ncheckpoint = { every_steps = 1, keep_last = 1 }\n",
    )
    .unwrap();
    let (model, head) = sets();
    let groups = train_kit::optim::single_group(&[("model", &model), ("head", &head)]);
    let mut trainer = Trainer::new(
        cfg,
        RunDir::create(dir.path()).unwrap(),
        vec![("model", model.clone()), ("head", head.clone())],
        optimizer().build(groups).unwrap(),
    )
    .unwrap();
    let w = model.data().lock().unwrap()["w"].as_tensor().clone();
    let hw = head.data().lock().unwrap()["weight"].as_tensor().clone();
    trainer
        .train_step(|_| -> Result<StepOutput, TrainError> {
            let loss = (w.sqr()?.sum_all()? + hw.sum_all()?)?;
            Ok(StepOutput::new(loss, 1))
        })
        .unwrap();
    let ckpt = CheckpointStore::new(dir.path().join("checkpoints"), 1)
        .unwrap()
        .latest()
        .unwrap()
        .unwrap();
    let load = |_: &Path| -> Result<(), String> {
        let (model, head) = sets();
        let groups = train_kit::optim::single_group(&[("model", &model), ("head", &head)]);
        let mut opt = optimizer().build(groups).unwrap();
        CheckpointStore::load(&ckpt, &[("model", &model), ("head", &head)], opt.as_mut())
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    for (seed, file, text) in [
        (44u64, "manifest.json", true),
        (45, "model.safetensors", false),
        (46, "optimizer.safetensors", false),
    ] {
        let original = std::fs::read(ckpt.join(file)).unwrap();
        fuzz_file(seed, &ckpt, file, &original, text, file, load);
        std::fs::write(ckpt.join(file), &original).unwrap();
    }
    let _ = Tensor::zeros(1, DType::F32, &Device::Cpu);
}

#[test]
fn the_unmutated_inputs_are_valid() {
    RunConfig::<Extra, Extra>::from_toml(CONFIG, "run.toml", &[], &[]).unwrap();
}
