//! Real speech: train on part of the Debian voices (`asterisk-core-sounds-*-wav`,
//! `klettres-data`, `ktuberling-data`, installed by `.ci/run`) and verify on held-out voices.
//! Skips with a message when the packages are absent.

use std::path::Path;

use app_kit::task::{train, TrainOptions};
use app_kit::{config_from_toml, TrainApp, VerificationTask};
use candle_core::Device;
use datasets::speech::debian::{discover_debian_voices, DEBIAN_PACKAGES, DEFAULT_DEBIAN_ROOT};
use speaker_app::train::{SpeakerApp, SpeakerConfig};

fn debian_present() -> bool {
    match discover_debian_voices(Path::new(DEFAULT_DEBIAN_ROOT)) {
        Ok(Some(_)) => true,
        _ => {
            eprintln!(
                "skipped: no Debian voices under {DEFAULT_DEBIAN_ROOT} (install {})",
                DEBIAN_PACKAGES.join(" ")
            );
            false
        }
    }
}

/// The demo config on the Debian voices: short clips allowed (klettres letters), 10 voices held
/// out (12 utterances each), and settings that suit 36 speakers and a few hundred steps: the
/// uniform base measure at s = 16 (the unit base at s = 32 starves the target, p_y = 0 for the
/// whole run), warm-up over a fifth of an epoch, the margin from the start, batch 16.
fn debian_config(loss: &str, steps: u64, extra: &[&str]) -> SpeakerConfig {
    let mut set = vec![
        "data.source=\"debian\"".to_string(),
        format!("loss.kind={loss:?}"),
        "data.min_seconds=0.3".to_string(),
        "data.chunk_seconds=1.5".to_string(),
        "eval.heldout_identities=10".to_string(),
        "eval.heldout_per_identity=12".to_string(),
        "eval.max_seconds=4.0".to_string(),
        "loss.s=16.0".to_string(),
        "loss.base=\"uniform\"".to_string(),
        "schedule.warmup_epochs=0.2".to_string(),
        "train.batch_size=16".to_string(),
        "train.seed=1".to_string(),
        "train.progress_bar=false".to_string(),
        "train.log_every_steps=50".to_string(),
        "checkpoint.every_steps=0".to_string(),
        "margin_schedule.increase_start_epoch=1.0".to_string(),
        "margin_schedule.fix_start_epoch=1.0".to_string(),
        format!("train.steps={steps}"),
    ];
    set.extend(extra.iter().map(|s| s.to_string()));
    config_from_toml::<SpeakerApp>(SpeakerApp::DEMO.0, "demo", &set).unwrap()
}

/// EER and minDCF of the trained model, and the EER of the weights it started from (the same
/// seeded initialization), on the same held-out trials.
fn train_and_compare(loss: &str, steps: u64, extra: &[&str]) -> (f64, f64, f64) {
    let cfg = debian_config(loss, steps, extra);
    let dir = tempfile::tempdir().unwrap();
    let untrained = VerificationTask::<SpeakerApp>::new(&cfg, &Device::Cpu)
        .unwrap()
        .heldout_report()
        .unwrap()
        .expect("held-out voices");
    let outcome = train::<SpeakerApp>(
        &cfg,
        &TrainOptions {
            out: dir.path().join("run"),
            resume: false,
            device: Device::Cpu,
            stop_after: None,
        },
    )
    .unwrap();
    let trained = outcome.heldout.unwrap();
    assert_eq!(
        untrained.metrics.n_target, trained.metrics.n_target,
        "same trials"
    );
    (
        trained.metrics.eer,
        trained.metrics.min_dcf,
        untrained.metrics.eer,
    )
}

/// Q-Margin on 36 Debian voices, verified on 10 others. Deterministic (seeded weights, batches
/// and held-out split), and compared with the weights the run started from on the same trials.
#[test]
fn debian_voices_train_and_verify_held_out_speakers() {
    if !debian_present() {
        return;
    }
    let (eer, min_dcf, untrained) = train_and_compare("qmargin", 300, &[]);
    eprintln!(
        "qmargin: held-out EER {:.2} % (starting weights {:.2} %), minDCF {min_dcf:.3}",
        100.0 * eer,
        100.0 * untrained
    );
    assert!(eer < 0.25, "held-out EER {eer} is not below 25 %");
    assert!(
        eer < untrained - 0.04,
        "trained EER {eer} is not clearly below the starting weights' {untrained}"
    );
}

/// Every loss on the Debian voices, one table (run with `--ignored --nocapture`).
#[test]
#[ignore = "about 2 min per loss on 2 cores; prints the per-loss table"]
fn debian_voices_every_loss_table() {
    if !debian_present() {
        return;
    }
    let mut rows = Vec::new();
    for kind in alpha_loss::LossKind::ALL {
        let (eer, min_dcf, untrained) = train_and_compare(kind.name(), 300, &[]);
        rows.push(format!(
            "| {:<8} | {:>6.2} | {:>6.3} | {:>6.2} |",
            kind.name(),
            100.0 * eer,
            min_dcf,
            100.0 * untrained
        ));
    }
    println!("| loss     | EER %  | minDCF | untrained EER % |");
    println!("|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}
