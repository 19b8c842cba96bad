//! The shared `train` flags become `--set` items in a fixed order, with NaN flags refused; the
//! device flag parses every choice.

use app_kit::cli::train::TrainArgs;
use app_kit::cli::verify::cosine;
use app_kit::DeviceChoice;

#[test]
fn shortcut_flags_become_overrides_after_the_sets() {
    let args = TrainArgs {
        data: Some("orl".into()),
        loss: Some("A3M_I".into()),
        alpha: Some(2.0),
        steps: Some(9),
        lr: Some(0.05),
        seed: Some(3),
        set: vec!["loss.m=0.3".into()],
        no_progress: true,
        ..TrainArgs::default()
    };
    assert_eq!(
        args.overrides(&["data.musan=\"/m\"".into()]).unwrap(),
        vec![
            "!train.epochs",
            "loss.m=0.3",
            "data.source=\"orl\"",
            "loss.kind=\"a3m-i\"",
            "loss.alpha=2.0",
            "train.steps=9",
            "optim.lr=0.05",
            "train.seed=3",
            "train.progress_bar=false",
            "data.musan=\"/m\"",
        ]
    );
    let nan = TrainArgs {
        alpha: Some(f64::NAN),
        ..TrainArgs::default()
    };
    assert_eq!(
        nan.overrides(&[]).unwrap_err().to_string(),
        "--alpha NaN: must be a finite number"
    );
    let bad = TrainArgs {
        loss: Some("sphereface".into()),
        ..TrainArgs::default()
    };
    assert!(bad
        .overrides(&[])
        .unwrap_err()
        .to_string()
        .contains("--loss: unknown loss \"sphereface\""));
}

#[test]
fn devices_parse_and_cosine_is_exact_in_f64() {
    assert_eq!(
        "cuda:1".parse::<DeviceChoice>().unwrap(),
        DeviceChoice::Cuda(1)
    );
    assert_eq!(DeviceChoice::default(), DeviceChoice::Auto);
    assert_eq!(cosine(&[1.0, 0.0], &[0.0, 2.0]), 0.0);
    assert!((cosine(&[3.0, 4.0], &[3.0, 4.0]) - 1.0).abs() < 1e-15);
    assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
}
