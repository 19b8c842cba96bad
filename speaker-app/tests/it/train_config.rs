//! `speaker-app train`'s config: the shipped recipes parse with their values, and bad values,
//! renamed keys and unknown names give errors that name the problem.

use app_kit::{config_from_toml, load_config, TrainApp};
use speaker_app::train::SpeakerApp;

fn error(sets: &[&str]) -> String {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let err =
        config_from_toml::<SpeakerApp>(SpeakerApp::DEMO.0, "demo", &sets).expect_err("refused");
    format!("{err:#}")
}

#[test]
fn the_shipped_configs_keep_the_recipe_values() {
    let demo = config_from_toml::<SpeakerApp>(SpeakerApp::DEMO.0, "demo", &[]).unwrap();
    assert_eq!(demo.model.backbone, "small");
    assert_eq!(
        (
            demo.data.app.synthetic.identities,
            demo.eval.heldout_identities
        ),
        (52, 12)
    );
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/voxceleb2_resnet34.toml");
    let vox = load_config::<SpeakerApp>(Some(&path), &[]).unwrap();
    assert_eq!(vox.model.backbone, "resnet34");
    assert_eq!((vox.loss.s, vox.loss.m), (32.0, Some(0.2)));
    assert_eq!((vox.train.batch_size, vox.train.epochs), (256, Some(150.0)));
    assert_eq!(
        (vox.schedule.warmup_epochs, vox.schedule.end_lr),
        (6.0, 2e-4)
    );
    assert_eq!(vox.fit_plan().peak_lr(), 0.4);
    assert_eq!(vox.schedule.decay, train_kit::DecayKind::Exponential);
}

#[test]
fn config_errors_name_the_problem() {
    let cases: [(&[&str], &str); 9] = [
        (
            &["loss.kind=\"sphereface\""],
            "loss.kind: unknown variant `sphereface`, expected one of",
        ),
        (
            &["optim.lr=-0.1"],
            "optim.lr: -0.1: must be a positive number",
        ),
        (&["train.stepz=3"], "train.stepz: unknown field `stepz`"),
        (&["loss.alpha=0.5"], "α must be finite and >= 1, got 0.5"),
        (
            &["model.backbone=\"resnet9000\""],
            "unknown backbone \"resnet9000\"",
        ),
        (
            &["eval.heldout_identities=1"],
            "eval.heldout_identities = 1",
        ),
        (&["nonsense"], "expected key=value"),
        (
            &["model.name=\"resnet34\""],
            "model.name: renamed to model.backbone",
        ),
        (
            &["data.synthetic.train_speakers=6"],
            "renamed to data.synthetic.identities",
        ),
    ];
    for (sets, want) in cases {
        let e = error(sets);
        assert!(e.contains(want), "{sets:?}: expected {want:?} in {e:?}");
    }
    let e = error(&["data.aug_prob=2"]);
    assert!(e.contains("data.aug_prob = 2: must be in [0, 1]"), "{e}");
    let e = error(&["eval.max_secnds=3"]);
    assert!(
        e.contains("eval.max_secnds: unknown key (did you mean eval.max_seconds?)"),
        "{e}"
    );
}
