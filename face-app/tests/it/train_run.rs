//! A tiny run end to end: run directory contents, `report.json`, the bundle's extra fields
//! (`loss`, `embedding_dim`, `thresholds`), telemetry in `metrics.jsonl`, and A3M-I's optimizer
//! reset.

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use face_app::bundle::load_bundle;
use face_app::train::a3mi::clear_state_of;
use face_app::train::config::DEMO_CONFIG;
use face_app::train::{config_of_run, TrainConfig};
use train_kit::optim::single_group;
use train_kit::{Optimizer, Sgd, SgdConfig};

use crate::train_support::{tiny, train};

#[test]
fn a_run_writes_report_bundle_thresholds_and_telemetry() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let cfg = tiny(&[]);
    let summary = train(&cfg, &out, false, None).unwrap();
    assert_eq!(summary.steps, 4);

    // Held-out: 2 identities x 4 images = 12 genuine, 16 impostor pairs.
    let heldout = summary.heldout.as_ref().expect("held-out report");
    assert_eq!(
        (heldout.report.n_target, heldout.report.n_nontarget),
        (12, 16)
    );
    let fars: Vec<f64> = heldout.report.tar_at_far.iter().map(|t| t.far).collect();
    assert_eq!(fars, vec![1e-4, 1e-3, 1e-2, 1e-1]);
    assert!(heldout.table().contains("EER"));

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["steps"], 4);
    assert_eq!(report["heldout"]["metrics"]["n_target"], 12);
    assert_eq!(report["loss"], cfg.loss.describe());
    assert!(report["heldout"]["metrics"]["eer"].as_f64().unwrap() <= 1.0);

    // The bundle loads, and config.json has the fields `face-app verify` reads.
    let bundle = load_bundle(&out.join("model"), &Device::Cpu).unwrap();
    assert_eq!(bundle.extra["embedding_dim"], 16);
    assert_eq!(bundle.extra["loss"], cfg.loss.describe());
    let thresholds = bundle.extra["thresholds"].as_array().unwrap();
    assert_eq!(thresholds.len(), 4);
    for (t, r) in thresholds.iter().zip(&heldout.report.tar_at_far) {
        assert_eq!(t["far"].as_f64().unwrap(), r.far);
        assert_eq!(t["threshold"].as_f64().unwrap(), r.threshold);
    }

    // Telemetry on every metrics line, resolved config saved and readable.
    let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    let p_zero = first["p_y_zero"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p_zero));
    assert!(first["support_mean"].as_f64().unwrap() >= 1.0);
    assert_eq!(config_of_run(&out).unwrap(), cfg);
    let plan = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        plan.contains("[resolved]") && plan.contains("num_classes = 4"),
        "{plan}"
    );
}

#[test]
fn the_shipped_configs_parse_and_keep_the_recipe_values() {
    let demo = TrainConfig::from_toml(DEMO_CONFIG, "demo", &[]).unwrap();
    assert_eq!(demo.loss.kind, alpha_loss::LossKind::QMargin);
    assert_eq!(demo.data.source, "synthetic");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    for (file, kind, m) in [
        ("ms1mv2_r100.toml", "arcface", 0.5),
        ("webface4m_r100.toml", "cosface", 0.4),
    ] {
        let cfg = TrainConfig::load(Some(&root.join(file)), &[]).unwrap();
        assert_eq!(cfg.loss.kind.name(), kind);
        assert_eq!((cfg.loss.s, cfg.loss.m), (64.0, Some(m)));
        assert_eq!(cfg.model.backbone, "r100");
        assert_eq!((cfg.train.batch_size, cfg.train.epochs), (1024, Some(20.0)));
        assert_eq!(cfg.peak_lr(), 0.1);
        match &cfg.optimizer {
            train_kit::OptimizerConfig::Sgd(s) => {
                assert_eq!((s.momentum, s.weight_decay), (0.9, 5e-4))
            }
            other => panic!("{file}: expected SGD, got {other:?}"),
        }
    }
}

#[test]
fn clearing_head_state_keeps_the_backbone_momentum() {
    let (model, head) = (VarMap::new(), VarMap::new());
    let dev = Device::Cpu;
    let w = VarBuilder::from_varmap(&model, DType::F32, &dev)
        .get((2, 2), "w")
        .unwrap();
    let p = VarBuilder::from_varmap(&head, DType::F32, &dev)
        .get((3, 2), "weight")
        .unwrap();
    let mut opt = Sgd::new(
        single_group(&[("model", &model), ("head", &head)]),
        SgdConfig {
            momentum: 0.9,
            ..SgdConfig::arcface()
        },
    )
    .unwrap();
    let loss = (w.sum_all().unwrap() + p.sqr().unwrap().sum_all().unwrap()).unwrap();
    opt.backward_step(&loss).unwrap();
    let keys = |o: &Sgd| {
        let mut k: Vec<String> = o.state().unwrap().tensors.into_keys().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&opt),
        ["momentum/head/weight", "momentum/model/w", "sgd.steps"]
    );
    assert_eq!(clear_state_of(&mut opt, "head/").unwrap(), 1);
    assert_eq!(keys(&opt), ["momentum/model/w", "sgd.steps"]);
}
