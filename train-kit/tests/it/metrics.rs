//! Run directory files: config.toml, metrics.jsonl lines, report.json.

use train_kit::{MetricsLog, NonFinitePolicy, RunDir, StepOutput, TrainError, TrainerConfig};

use crate::mlp::{run_until, sgd_nesterov, trainer, trainer_config, Mlp};

#[test]
fn a_short_run_writes_config_metrics_checkpoints_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let mlp = Mlp::new(1);
    let cfg = TrainerConfig {
        log_every_steps: 2,
        ..trainer_config(5, 0, NonFinitePolicy::Stop)
    };
    RunDir::create(dir.path())
        .unwrap()
        .write_config(&cfg)
        .unwrap();
    let mut t = trainer(dir.path(), &mlp, &sgd_nesterov(), cfg.clone()).unwrap();
    let losses = run_until(&mut t, &mlp, 5);
    let report = t
        .finish(&serde_json::json!({"final_loss": 0.5, "eer": null}))
        .unwrap();

    let text = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    assert_eq!(toml::from_str::<TrainerConfig>(&text).unwrap(), cfg);

    // Lines at steps 2, 4 and the last step 5; the loss is the mean over the window.
    let log = MetricsLog::read_all(&dir.path().join("metrics.jsonl")).unwrap();
    assert_eq!(log.iter().map(|r| r.step).collect::<Vec<_>>(), [2, 4, 5]);
    let loss = |i: usize| f64::from_bits(losses[i].1);
    let mean = log[0].loss.unwrap();
    assert!((mean - (loss(0) + loss(1)) / 2.0).abs() < 1e-12, "{mean}");
    assert_eq!(log[2].loss, Some(loss(4)));
    // lr of the window's last update: warmup 0.02 + 0.18·1/3 at index 1, poly at index 4 (t = 1).
    assert!((log[0].lr - 0.08).abs() < 1e-15, "{}", log[0].lr);
    assert_eq!(log[2].lr, 0.2 * (1.0 - 1.0 / 20.0f64).powi(2));
    assert_eq!(log[2].extra["lr_seen"], serde_json::json!(log[2].lr));
    assert_eq!(log[1].epoch, 0);
    assert!(log.iter().all(|r| r.samples_per_s > 0.0));
    let first_line = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    let first: serde_json::Value =
        serde_json::from_str(first_line.lines().next().unwrap()).unwrap();
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "epoch",
            "loss",
            "lr",
            "lr_seen",
            "samples_per_s",
            "skipped_steps",
            "step"
        ]
    );

    // every_steps = 0: no checkpoint unless asked, not even from finish().
    assert!(!dir.path().join("checkpoints/step-00000005").exists());
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(written, serde_json::json!({"final_loss": 0.5, "eer": null}));
}

#[test]
fn finish_checkpoints_the_last_step_when_checkpointing_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let mlp = Mlp::new(1);
    let mut t = trainer(
        dir.path(),
        &mlp,
        &sgd_nesterov(),
        trainer_config(5, 2, NonFinitePolicy::Stop),
    )
    .unwrap();
    run_until(&mut t, &mlp, 5);
    t.finish(&serde_json::json!({})).unwrap();
    assert!(dir
        .path()
        .join("checkpoints/step-00000005/manifest.json")
        .is_file());
    assert!(dir
        .path()
        .join("checkpoints/step-00000004/manifest.json")
        .is_file());
    assert!(
        !dir.path().join("checkpoints/step-00000002").exists(),
        "keep_last = 2"
    );
}

#[test]
fn a_corrupt_metrics_line_is_reported_with_its_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    std::fs::write(&path, "{\"step\":1,\"epoch\":0,\"lr\":0.1,\"loss\":1.0,\"samples_per_s\":3.0,\"skipped_steps\":0}\n{oops\n").unwrap();
    let err = MetricsLog::read_all(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}: line 2:", path.display())),
        "{err}"
    );
}

#[test]
fn trainer_config_fills_defaults_and_rejects_unknown_fields() {
    let text = r#"
        total_steps = 1000
        log_every_steps = 10
        seed = 42
        schedule = { base_lr = 0.1, warmup_steps = 100, decay = { kind = "polynomial", decay_steps = 900, power = 2.0 } }
    "#;
    let cfg: TrainerConfig = toml::from_str(text).unwrap();
    assert!(cfg.progress_bar);
    assert_eq!(
        cfg.non_finite,
        NonFinitePolicy::Skip {
            max_consecutive: 10
        }
    );
    assert_eq!(
        (cfg.checkpoint.every_steps, cfg.checkpoint.keep_last),
        (1000, 3)
    );
    assert_eq!(cfg.schedule.lr_at(550), 0.1 * 0.5f64.powi(2));
    let err = toml::from_str::<TrainerConfig>(&format!("{text}\ncheckpoint_every = 5\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("checkpoint_every"), "{err}");
}

#[test]
fn an_extra_metric_named_like_a_standard_field_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mlp = Mlp::new(1);
    let mut t = trainer(
        dir.path(),
        &mlp,
        &sgd_nesterov(),
        trainer_config(3, 0, NonFinitePolicy::Stop),
    )
    .unwrap();
    let before = mlp.bits();
    let err = t
        .train_step(|ctx| -> Result<StepOutput, TrainError> {
            Ok(StepOutput::new(mlp.loss(ctx.step, ctx.rng)?, 1).with_metric("loss", 2.0))
        })
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid metrics extra field = loss: collides with a standard metrics.jsonl field"
    );
    assert_eq!(t.step(), 0, "refused before the update");
    assert_eq!(mlp.bits(), before);
}

#[test]
fn a_run_directory_that_cannot_be_created_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = RunDir::create(file.join("run")).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "creating run directory {}:",
            file.join("run").display()
        )),
        "{err}"
    );
}
