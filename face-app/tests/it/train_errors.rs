//! `face-app train` failure paths: bad config values, renamed and unknown keys, unknown names,
//! missing data, a too-small held-out split, NaN flags, a run folder in use: errors that name
//! the problem, from the library and from the binary (exit code 1, no panic).

use std::process::Command;

use app_kit::config_from_toml;
use face_app::train::FaceApp;

use crate::train_support::{tiny, train, TINY};

fn config_error(overrides: &[&str]) -> String {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let err =
        config_from_toml::<FaceApp>(TINY, "tiny", &overrides).expect_err("config must be refused");
    format!("{err:#}")
}

#[test]
fn bad_config_values_are_refused_naming_the_key() {
    let cases: [(&[&str], &str); 12] = [
        (&["train.batch_size=1"], "train.batch_size = 1"),
        (&["train.steps=0"], "train.steps: 0: must be at least 1"),
        (
            &["train.epochs=2.0"],
            "train.steps and train.epochs are both set",
        ),
        (
            &["optim.lr=-0.1"],
            "optim.lr: -0.1: must be a positive number",
        ),
        (&["schedule.power=0"], "schedule.power: 0: must be > 0"),
        (&["eval.fars=[0.0, 1e-3]"], "eval.fars contains 0"),
        (&["loss.alpha=0.5"], "alpha"),
        (&["loss.kind=\"arcface\"", "loss.m=-0.2"], "loss.m = -0.2"),
        (&["model.backbone=\"r7\""], "unknown backbone \"r7\""),
        (
            &["train.batchsize=8"],
            "train.batchsize: unknown field `batchsize`",
        ),
        (
            &["eval.heldout_identities=1"],
            "eval.heldout_identities = 1",
        ),
        (
            &["loss.alpha=nan"],
            "loss.alpha: NaN is not a finite number",
        ),
    ];
    for (overrides, expected) in cases {
        let message = config_error(overrides);
        assert!(
            message.contains(expected),
            "{overrides:?}: expected {expected:?} in {message:?}"
        );
    }
}

#[test]
fn renamed_keys_and_misspelled_tables_name_the_right_key() {
    let message = config_error(&["optimizer.lr=0.1"]);
    assert_eq!(
        message,
        "tiny: [optimizer]: renamed to optim: use that key instead"
    );
    let message = config_error(&["train.keep_checkpoints=2"]);
    assert!(
        message.contains("train.keep_checkpoints: renamed to checkpoint.keep_last"),
        "{message}"
    );
    let message = config_error(&["data.heldout_identities=2"]);
    assert!(
        message.contains("renamed to eval.heldout_identities"),
        "{message}"
    );
    let message = config_error(&["trian.steps=3"]);
    assert_eq!(
        message,
        "tiny: [trian]: unknown table (did you mean train?)"
    );
    let message = config_error(&["data.synthetik.seed=1"]);
    assert!(
        message.contains("[data.synthetik]: unknown table (did you mean data.synthetic?)"),
        "{message}"
    );
    let message = config_error(&["eval.flip_ta=false"]);
    assert!(
        message.contains("eval.flip_ta: unknown key (did you mean eval.flip_tta?)"),
        "{message}"
    );
}

#[test]
fn an_unknown_loss_name_lists_the_known_ones() {
    let message = config_error(&["loss.kind=\"sphereface\""]);
    assert!(message.contains("sphereface"), "{message}");
    assert!(
        message.contains("qmargin") && message.contains("a3m-i"),
        "{message}"
    );
}

#[test]
fn overrides_reach_the_config_and_bang_removes_a_key() {
    let cfg = tiny(&[
        "loss.kind=a3m-i",
        "loss.alpha=2",
        "train.steps=9",
        "data.source=/x/y",
    ]);
    assert_eq!(cfg.loss.kind, alpha_loss::LossKind::A3MI);
    assert_eq!(cfg.loss.alpha, Some(2.0));
    assert_eq!(cfg.train.steps, Some(9));
    assert_eq!(cfg.data.source, "/x/y");
    let cfg = tiny(&["!train.steps", "train.epochs=1.5"]);
    assert_eq!((cfg.train.steps, cfg.train.epochs), (None, Some(1.5)));
    assert!(config_error(&["train.steps"]).contains("expected key=value"));
}

#[test]
fn a_missing_data_path_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-faces");
    let cfg = tiny(&[&format!("data.source={:?}", missing.display().to_string())]);
    let err = train(&cfg, &dir.path().join("run"), false, None)
        .err()
        .expect("no data");
    let message = format!("{err:#}");
    assert!(
        message.contains("no-such-faces") && message.contains("no such data set"),
        "{message}"
    );
}

#[test]
fn resume_without_a_checkpoint_and_reuse_of_a_run_dir_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let err = train(&tiny(&[]), &out, true, None)
        .err()
        .expect("nothing to resume");
    assert!(format!("{err:#}").contains("no checkpoint to continue from"));
    train(&tiny(&[]), &out, false, Some(2)).unwrap();
    let err = train(&tiny(&[]), &out, false, None)
        .err()
        .expect("run dir in use");
    assert!(format!("{err:#}").contains("pass --resume"), "{err:#}");
}

fn face_app(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_face-app"))
        .args(args)
        .output()
        .expect("face-app runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "face-app panicked: {stderr}");
    (out.status.success(), stderr)
}

#[test]
fn resume_keeps_the_runs_settings_and_refuses_a_changed_batch() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("tiny.toml");
    std::fs::write(&cfg_path, TINY).unwrap();
    let out = dir.path().join("run");
    let (cfg, out_s) = (cfg_path.to_str().unwrap(), out.to_str().unwrap());
    let (ok, stderr) = face_app(&["train", "--config", cfg, "--out", out_s, "--steps", "2"]);
    assert!(ok, "{stderr}");
    // The run's own config.toml is the base of --resume: a changed batch size is refused.
    let (ok, stderr) = face_app(&["train", "--out", out_s, "--resume", "--batch-size", "4"]);
    assert!(!ok);
    assert!(
        stderr.contains("--resume: train.batch_size is 8") && stderr.contains("and 4 now"),
        "{stderr}"
    );
    // Logging may change; the finished run has nothing left to do and says so by its report.
    let (ok, stderr) = face_app(&[
        "train",
        "--out",
        out_s,
        "--resume",
        "--set",
        "train.log_every_steps=5",
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("resuming at step 2 of 2"), "{stderr}");
}

#[test]
fn the_binary_reports_bad_input_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run").display().to_string();
    let (ok, stderr) = face_app(&["train", "--loss", "nope", "--out", &out]);
    assert!(!ok);
    assert!(stderr.contains("unknown loss \"nope\""), "{stderr}");
    let (ok, stderr) = face_app(&["train", "--data", "/no/such/faces", "--out", &out]);
    assert!(!ok);
    assert!(
        stderr.contains("/no/such/faces") && stderr.contains("no such data set"),
        "{stderr}"
    );
    let (ok, stderr) = face_app(&["train", "--set", "train.batch_size=0", "--out", &out]);
    assert!(!ok);
    assert!(
        stderr.contains("train.batch_size: 0: must be at least 1"),
        "{stderr}"
    );
    let (ok, stderr) = face_app(&["train", "--config", "/no/such.toml"]);
    assert!(!ok);
    assert!(stderr.contains("reading config /no/such.toml"), "{stderr}");
    let (ok, stderr) = face_app(&["train", "--resume"]);
    assert!(!ok);
    assert!(stderr.contains("--out"), "{stderr}");
    let (ok, stderr) = face_app(&["train", "--alpha", "NaN", "--out", &out]);
    assert!(!ok);
    assert!(
        stderr.contains("--alpha NaN: must be a finite number"),
        "{stderr}"
    );
    let (ok, stderr) = face_app(&[
        "train",
        "--set",
        "eval.heldout_identities=69",
        "--out",
        &out,
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("leaves fewer than 2 to train on"),
        "{stderr}"
    );
}
