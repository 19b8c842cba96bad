//! `speaker-app train` end to end on tiny synthetic runs: the artifacts of a run, exact resume,
//! and the errors of bad invocations.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use app_kit::task::{train as train_app, TrainOptions, TrainOutcome};
use app_kit::{config_from_toml, TrainApp};
use candle_core::{Device, Tensor};
use speaker_app::train::{SpeakerApp, SpeakerConfig};

fn train(cfg: &SpeakerConfig, out: &Path, resume: bool) -> anyhow::Result<TrainOutcome> {
    train_app::<SpeakerApp>(
        cfg,
        &TrainOptions {
            out: out.to_path_buf(),
            resume,
            device: Device::Cpu,
            stop_after: None,
        },
    )
}

fn speaker_app(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_speaker-app"))
        .args(args)
        .output()
        .expect("speaker-app runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A run of 8 steps on 6 synthetic voices, checkpoints every 4, the margin rising during it.
fn tiny_config() -> SpeakerConfig {
    let set = [
        "data.synthetic.identities=9",
        "data.synthetic.utterances_per_identity=4",
        "data.num_workers=1",
        "eval.heldout_identities=3",
        "eval.heldout_per_identity=3",
        "train.steps=8",
        "train.batch_size=6",
        "checkpoint.every_steps=4",
        "checkpoint.keep_last=3",
        "train.log_every_steps=2",
        "train.progress_bar=false",
        "schedule.warmup_epochs=0.5",
        "margin_schedule.increase_start_epoch=1.5",
        "margin_schedule.fix_start_epoch=2.5",
    ];
    let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    config_from_toml::<SpeakerApp>(SpeakerApp::DEMO.0, "demo", &set).unwrap()
}

fn tensors(path: &Path) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(path, &Device::Cpu).unwrap()
}

fn assert_same_tensors(a: &Path, b: &Path) {
    let (ta, tb) = (tensors(a), tensors(b));
    assert_eq!(ta.len(), tb.len(), "{} vs {}", a.display(), b.display());
    for (name, x) in &ta {
        let y = &tb[name];
        let x = x
            .flatten_all()
            .unwrap()
            .to_dtype(candle_core::DType::F64)
            .unwrap();
        let y = y
            .flatten_all()
            .unwrap()
            .to_dtype(candle_core::DType::F64)
            .unwrap();
        assert_eq!(
            x.to_vec1::<f64>().unwrap(),
            y.to_vec1::<f64>().unwrap(),
            "{name} differs"
        );
    }
}

#[test]
fn train_writes_report_plot_bundle_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let cfg = tiny_config();
    let outcome = train(&cfg, &out, false).unwrap();
    assert_eq!(outcome.fit.steps, 8);
    // 6 voices x 4 utterances / batch 6 = 4 steps per (wespeaker) epoch; 3 speeds = 18 classes.
    assert_eq!(outcome.fit.resolved.steps_per_epoch, 4);
    assert_eq!(outcome.num_classes, 18);

    // Artifacts.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let eer = report["heldout"]["metrics"]["eer"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&eer));
    assert_eq!(report["heldout"]["identities"], 3);
    assert_eq!(report["heldout"]["items"], 9);
    assert_eq!(report["heldout"]["metrics"]["n_target"], 9);
    assert_eq!(report["heldout"]["metrics"]["n_nontarget"], 27);
    assert_eq!(report["num_classes"], 18);
    let classes = std::fs::read_to_string(out.join("classes.tsv")).unwrap();
    let lines: Vec<&str> = classes.lines().collect();
    assert_eq!(lines.len(), 19);
    assert_eq!(lines[1], "0\tsynthetic voice 0");
    assert_eq!(lines[7], "6\tsynthetic voice 0 at speed 0.9");
    let bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model/config.json")).unwrap())
            .unwrap();
    assert!(
        bundle["loss"]
            .as_str()
            .unwrap()
            .starts_with("qmargin s=16 m=0.2 alpha=1.5 base=uniform"),
        "{bundle}"
    );
    let fars: Vec<f64> = bundle["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert!(t["threshold"].as_f64().is_some());
            t["far"].as_f64().unwrap()
        })
        .collect();
    assert_eq!(fars, vec![1e-4, 1e-3, 1e-2, 1e-1]);
    assert!(out.join("model/model.safetensors").is_file());
    assert!(out.join("config.toml").is_file());
    if report["heldout"]["plots"]["det"] == "det.png" {
        let png = std::fs::read(out.join("det.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
    let metrics = train_kit::MetricsLog::read_all(&out.join("metrics.jsonl")).unwrap();
    let steps: Vec<u64> = metrics.iter().map(|m| m.step).collect();
    assert_eq!(steps, vec![2, 4, 6, 8]);
    // The margin rises from epoch 1.5 (step 2) to epoch 2.5 (step 6), as Q-Margin's prior.
    let margins: Vec<f64> = metrics
        .iter()
        .map(|m| m.extra["margin"].as_f64().unwrap())
        .collect();
    assert_eq!(margins[0], 0.0);
    assert!(margins[1] > 0.0 && margins[1] < 0.2, "{margins:?}");
    assert_eq!(margins[3], 0.2);

    // Exact resume: drop the last checkpoint and continue from step 4.
    let ckpts = out.join("checkpoints");
    let last = ckpts.join("step-00000008");
    let straight = dir.path().join("straight");
    std::fs::rename(&last, &straight).unwrap();
    assert!(ckpts.join("step-00000004").is_dir());
    let resumed = train(&cfg, &out, true).unwrap();
    assert_eq!((resumed.fit.steps, resumed.fit.resumed_from), (8, Some(4)));
    for file in [
        "model.safetensors",
        "head.safetensors",
        "optimizer.safetensors",
    ] {
        assert_same_tensors(&straight.join(file), &last.join(file));
    }
    let metrics = train_kit::MetricsLog::read_all(&out.join("metrics.jsonl")).unwrap();
    let steps: Vec<u64> = metrics.iter().map(|m| m.step).collect();
    assert_eq!(
        steps,
        vec![2, 4, 6, 8],
        "no duplicated lines after the resume"
    );

    // Without --resume an existing run is not overwritten.
    let err = format!("{:#}", train(&cfg, &out, false).err().unwrap());
    assert!(
        err.contains("already holds checkpoints") && err.contains("--resume"),
        "{err}"
    );
}

#[test]
fn train_cli_rejects_bad_invocations_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let out = out.to_str().unwrap();
    let (ok, _, err) = speaker_app(&["train", "--loss", "magic", "--out", out]);
    assert!(!ok);
    assert!(err.contains("unknown loss \"magic\""), "{err}");

    let (ok, _, err) = speaker_app(&["train", "--set", "optim.final_lr=1.0", "--out", out]);
    assert!(!ok);
    assert!(
        err.contains("optim.final_lr: renamed to schedule.end_lr"),
        "{err}"
    );
    let (ok, _, err) = speaker_app(&["train", "--set", "schedule.end_lr=1.0", "--out", out]);
    assert!(!ok);
    assert!(
        err.contains("schedule.end_lr: 1: must be in (0, optim.lr = 0.1]"),
        "{err}"
    );

    let missing = dir.path().join("no-such-corpus");
    let (ok, _, err) = speaker_app(&["train", "--data", missing.to_str().unwrap(), "--out", out]);
    assert!(!ok);
    assert!(
        err.contains("no such file or folder") && err.contains("no-such-corpus"),
        "{err}"
    );

    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        SpeakerApp::DEMO
            .0
            .replace("[train]", "[train]\nbatch_sise = 3"),
    )
    .unwrap();
    let (ok, _, err) = speaker_app(&["train", "--config", cfg.to_str().unwrap(), "--out", out]);
    assert!(!ok);
    assert!(
        err.contains("bad.toml") && err.contains("batch_sise"),
        "{err}"
    );

    let (ok, _, err) = speaker_app(&["train", "--resume", "--out", out]);
    assert!(!ok);
    assert!(
        err.contains("config.toml") && err.contains("a run folder?"),
        "{err}"
    );

    let (ok, stdout, _) = speaker_app(&["train", "--help"]);
    assert!(ok);
    for flag in [
        "--config", "--data", "--loss", "--alpha", "--musan", "--rir", "--resume", "--set",
    ] {
        assert!(stdout.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn softmax_on_a_config_with_a_margin_schedule_trains() {
    // The demo config has a [margin_schedule]; softmax has no margin, so it is ignored.
    let mut cfg = tiny_config();
    cfg.loss.kind = alpha_loss::LossKind::Softmax;
    assert!(cfg.margin_schedule.is_some());
    let dir = tempfile::tempdir().unwrap();
    let outcome = train(&cfg, &dir.path().join("run"), false).expect("softmax trains");
    let eer = outcome.heldout.expect("held-out evaluation").metrics.eer;
    assert!((0.0..=1.0).contains(&eer), "EER {eer}");
}
