//! Real faces: train on ORL people s1-s30 and verify on s31-s40 (all genuine and all impostor
//! pairs among their 100 images). The AT&T/ORL face database is courtesy of the Olivetti Research
//! Laboratory (AT&T Laboratories Cambridge); it is read from `../shared/data/orl` (or
//! `$ALPHA_VERIFY_ORL`) and the tests skip with a message when it is absent.
//!
//! The CI test covers Q-Margin (ArcFace's is ignored until tuned); `every_loss_on_orl`
//! (ignored) trains every loss and prints EER and TAR@FAR=1e-2:
//! `cargo test --release -p face-app --test it every_loss_on_orl -- --ignored --nocapture`.

use app_kit::config_from_toml;
use app_kit::VerificationTask;
use candle_core::Device;
use datasets::face::orl_root;
use face_app::train::{FaceApp, FaceConfig};

use crate::train_support::train;

/// Small IResNet, batch 32 (9 steps an epoch over s1-s30's 300 images), 150 steps.
const ORL: &str = r#"
[data]
source = "orl"
num_workers = 2

[model]
backbone = "small"
base_width = 8
embedding_dim = 64

[loss]
kind = "qmargin"
s = 32.0

[optim]
kind = "sgd"
lr = 0.1
momentum = 0.9
weight_decay = 5e-4

[schedule]
warmup_epochs = 0.5

[train]
batch_size = 32
steps = 150
seed = 1
log_every_steps = 10
progress_bar = false

[checkpoint]
every_steps = 0

[eval]
heldout_per_identity = 10
"#;

fn orl_config(loss: &str) -> FaceConfig {
    config_from_toml::<FaceApp>(ORL, "orl", &[format!("loss.kind={loss:?}")]).unwrap()
}

/// EER on s31-s40 of the backbone a run of `cfg` starts from (the same seeded weights).
fn untrained_eer(cfg: &FaceConfig) -> f64 {
    let task = VerificationTask::<FaceApp>::new(cfg, &Device::Cpu).unwrap();
    task.heldout_report()
        .unwrap()
        .expect("held-out identities")
        .metrics
        .eer
}

/// Trains `loss` on ORL; returns (EER, TAR@FAR=1e-2).
fn train_orl(loss: &str) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let outcome = train(&orl_config(loss), &dir.path().join("run"), false, None).unwrap();
    let report = &outcome.heldout.as_ref().expect("held-out report").metrics;
    assert_eq!((report.n_target, report.n_nontarget), (450, 4500));
    let tar = report
        .tar_at_far
        .iter()
        .find(|t| t.far == 1e-2)
        .unwrap()
        .tar;
    (report.eer, tar)
}

fn skip() -> bool {
    if orl_root().is_none() {
        eprintln!(
            "skipped: the ORL faces folder is absent (../shared/data/orl or $ALPHA_VERIFY_ORL)"
        );
        return true;
    }
    false
}

fn check_learned(loss: &str) {
    if skip() {
        return;
    }
    let cfg = orl_config(loss);
    let before = untrained_eer(&cfg);
    let (eer, tar) = train_orl(loss);
    eprintln!("ORL {loss}: EER {eer:.4} (untrained {before:.4}), TAR@FAR=1e-2 {tar:.4}");
    assert!(
        eer < 0.2,
        "{loss}: EER {eer} on s31-s40 is not well below chance"
    );
    // Paired with the run's own starting weights (seeded), so the gain is training's alone.
    // Measured gains for Q-Margin at seeds 1-5: 0.042, 0.025, 0.026, 0.053, 0.098.
    assert!(
        eer < before - 0.02,
        "{loss}: EER {eer} is not clearly below the starting weights' {before}"
    );
}

#[test]
fn qmargin_learns_to_verify_unseen_orl_people() {
    check_learned("qmargin");
}

#[test]
#[ignore = "not yet reliable: at seed 1, 150 steps of ArcFace (s=32, m=0.5) give EER 0.164 against 0.182 for the same starting weights, short of the 0.02 gain required; needs tuning"]
fn arcface_learns_to_verify_unseen_orl_people() {
    check_learned("arcface");
}

#[test]
#[ignore = "trains all seven losses on ORL (minutes); run with --ignored --nocapture"]
fn every_loss_on_orl() {
    if skip() {
        return;
    }
    let before = untrained_eer(&orl_config("qmargin"));
    println!("untrained backbone: EER {before:.4}");
    println!("{:<10} {:>8} {:>14}", "loss", "EER", "TAR@FAR=1e-2");
    for kind in alpha_loss::LossKind::ALL {
        let (eer, tar) = train_orl(kind.name());
        println!("{:<10} {:>8.4} {:>14.4}", kind.name(), eer, tar);
        assert!(eer < 0.5, "{kind}: EER {eer}");
    }
}
