//! A tiny run end to end: run directory contents, `report.json`, the bundle's fields
//! (`loss`, `embedding_dim`, `thresholds`), telemetry in `metrics.jsonl`, the resolved config.

use app_kit::model::load_bundle;
use app_kit::{config_from_toml, load_config, TrainApp};
use candle_core::Device;
use face_app::models::REGISTRY;
use face_app::train::FaceApp;

use crate::train_support::{tiny, train};

#[test]
fn a_run_writes_report_bundle_thresholds_and_telemetry() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let cfg = tiny(&[]);
    let outcome = train(&cfg, &out, false, None).unwrap();
    assert_eq!(outcome.fit.steps, 4);

    // Held-out: 2 identities x 4 images = 12 genuine, 16 impostor pairs.
    let heldout = outcome.heldout.as_ref().expect("held-out report");
    assert_eq!(
        (heldout.metrics.n_target, heldout.metrics.n_nontarget),
        (12, 16)
    );
    let fars: Vec<f64> = heldout.metrics.tar_at_far.iter().map(|t| t.far).collect();
    assert_eq!(fars, vec![1e-4, 1e-3, 1e-2, 1e-1]);
    assert!(heldout.table().contains("EER"));

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["steps"], 4);
    assert_eq!(report["heldout"]["metrics"]["n_target"], 12);
    assert_eq!(report["heldout"]["skipped"], 0);
    assert_eq!(report["loss"], cfg.loss.describe());
    assert_eq!(report["num_classes"], 4);
    assert_eq!(report["skipped_items"], 0);
    assert!(report["heldout"]["metrics"]["eer"].as_f64().unwrap() <= 1.0);
    assert_eq!(report["heldout"]["plots"]["roc"], "roc.png");
    assert!(out.join("roc.png").is_file() && out.join("det.png").is_file());

    // The bundle loads, and config.json has the fields `face-app verify` reads.
    let bundle = load_bundle(
        &out.join("model"),
        "face",
        &REGISTRY,
        &Device::Cpu,
        "t".into(),
    )
    .unwrap();
    let meta = bundle.meta.unwrap();
    assert_eq!(meta.embedding_dim, Some(16));
    assert_eq!(meta.loss.as_deref(), Some(cfg.loss.describe().as_str()));
    assert_eq!(meta.trained_steps, Some(4));
    assert_eq!(meta.thresholds.len(), 4);
    for (t, r) in meta.thresholds.iter().zip(&heldout.metrics.tar_at_far) {
        assert_eq!((t.far, t.threshold), (r.far, r.threshold));
    }

    // Telemetry on every metrics line under the shared names; the saved config reads back.
    let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    let p_zero = first["p_y_zero"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p_zero));
    assert!(first["support_mean"].as_f64().unwrap() >= 1.0);
    assert!(first["p_target"].as_f64().unwrap() > 0.0);
    let saved = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert_eq!(
        config_from_toml::<FaceApp>(&saved, "config.toml", &[]).unwrap(),
        cfg
    );
}

#[test]
fn the_shipped_configs_parse_and_keep_the_recipe_values() {
    let demo = config_from_toml::<FaceApp>(FaceApp::DEMO.0, FaceApp::DEMO.1, &[]).unwrap();
    assert_eq!(demo.loss.kind, alpha_loss::LossKind::QMargin);
    assert_eq!(demo.data.source, "synthetic");
    assert_eq!(
        (
            demo.eval.heldout_identities,
            demo.data.app.synthetic.identities
        ),
        (20, 70)
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    for (file, kind, m) in [
        ("ms1mv2_r100.toml", "arcface", 0.5),
        ("webface4m_r100.toml", "cosface", 0.4),
    ] {
        let cfg = load_config::<FaceApp>(Some(&root.join(file)), &[]).unwrap();
        assert_eq!(cfg.loss.kind.name(), kind);
        assert_eq!((cfg.loss.s, cfg.loss.m), (64.0, Some(m)));
        assert_eq!(cfg.model.backbone, "r100");
        assert_eq!((cfg.train.batch_size, cfg.train.epochs), (1024, Some(20.0)));
        assert_eq!(cfg.fit_plan().peak_lr(), 0.1);
        assert_eq!(
            (cfg.schedule.warmup_epochs, cfg.schedule.end_lr),
            (0.0, 0.0)
        );
        assert_eq!(cfg.eval.heldout_identities, 0);
        match &cfg.optim {
            train_kit::OptimizerConfig::Sgd(s) => {
                assert_eq!((s.momentum, s.weight_decay), (0.9, 5e-4))
            }
            other => panic!("{file}: expected SGD, got {other:?}"),
        }
    }
}
