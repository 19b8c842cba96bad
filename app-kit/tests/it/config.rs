//! The run config both apps read: shared and app keys, renamed keys, unknown tables and keys,
//! NaN values, validation naming the key, and the `--resume` compatibility check.

use app_kit::config::{AppSection, RunConfig};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct Data {
    #[serde(default)]
    chunk: f64,
}

impl AppSection for Data {
    fn validate(&self) -> anyhow::Result<()> {
        if self.chunk < 0.0 {
            anyhow::bail!("data.chunk = {}: must be >= 0", self.chunk);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct Eval {
    #[serde(default)]
    flip: bool,
}

impl AppSection for Eval {}

type Config = RunConfig<Data, Eval>;

const BASE: &str = r#"
[data]
source = "synthetic"
chunk = 1.5
[model]
backbone = "small"
width = 4
[loss]
kind = "qmargin"
[optim]
kind = "sgd"
lr = 0.1
[train]
batch_size = 8
steps = 10
[eval]
flip = true
"#;

fn load(sets: &[&str]) -> anyhow::Result<Config> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Config::from_toml(BASE, "base.toml", &sets, &[])
}

fn error(sets: &[&str]) -> String {
    format!("{:#}", load(sets).expect_err("refused"))
}

#[test]
fn shared_and_app_keys_land_in_their_places_with_the_shared_defaults() {
    let cfg = load(&[]).unwrap();
    assert_eq!(cfg.data.source, "synthetic");
    assert_eq!((cfg.data.num_workers, cfg.data.app.chunk), (2, 1.5));
    assert_eq!(cfg.model.backbone, "small");
    assert_eq!(cfg.model.overrides["width"], 4);
    assert_eq!(
        (cfg.eval.heldout_identities, cfg.eval.heldout_per_identity),
        (10, 10)
    );
    assert_eq!(cfg.eval.fars, vec![1e-4, 1e-3, 1e-2, 1e-1]);
    assert!(cfg.eval.app.flip);
    assert_eq!(
        (cfg.checkpoint.every_steps, cfg.checkpoint.keep_last),
        (1000, 3)
    );
    // The config written to a run folder reads back to the same config.
    let again = Config::from_toml(&cfg.to_toml().unwrap(), "config.toml", &[], &[]).unwrap();
    assert_eq!(again, cfg);
}

#[test]
fn bad_configs_name_the_key_and_the_problem() {
    let cases: [(&[&str], &str); 12] = [
        (
            &["trian.steps=3"],
            "base.toml: [trian]: unknown table (did you mean train?)",
        ),
        (
            &["optimizer.lr=0.1"],
            "base.toml: [optimizer]: renamed to optim",
        ),
        (
            &["train.keep_last=2"],
            "train.keep_last: renamed to checkpoint.keep_last",
        ),
        (
            &["eval.held_out_speakers=4"],
            "eval.held_out_speakers: renamed to eval.heldout_identities",
        ),
        (
            &["eval.flpi=true"],
            "eval.flpi: unknown key (did you mean eval.flip?)",
        ),
        (
            &["data.chunk=nan"],
            "base.toml: data.chunk: NaN is not a finite number",
        ),
        (&["data.chunk=-1.0"], "data.chunk = -1: must be >= 0"),
        (
            &["train.batch_size=1"],
            "train.batch_size = 1: must be at least 2",
        ),
        (
            &["train.batch_size=\"x\""],
            "base.toml: train.batch_size: invalid type",
        ),
        (&["eval.fars=[0.5, 1.0]"], "eval.fars contains 1"),
        (&["!train"], "base.toml: [train]: missing table"),
        (
            &["train.lr_scale.hed=2.0"],
            "train.lr_scale.hed: no variable set \"hed\"",
        ),
    ];
    for (sets, want) in cases {
        let e = error(sets);
        assert!(e.contains(want), "{sets:?}: expected {want:?} in {e:?}");
    }
    // A message says the problem once.
    let e = error(&["data.chunk=-1.0"]);
    assert_eq!(e.matches("data.chunk").count(), 1, "{e}");
}

#[test]
fn resume_refuses_a_changed_computation_and_allows_logging_changes() {
    let saved = load(&[]).unwrap();
    let path = std::path::Path::new("run/config.toml");
    load(&[
        "train.log_every_steps=5",
        "checkpoint.keep_last=1",
        "data.num_workers=4",
        "eval.flip=false",
    ])
    .unwrap()
    .check_resumable(&saved, path)
    .unwrap();
    let e = load(&["train.batch_size=16"])
        .unwrap()
        .check_resumable(&saved, path)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "--resume: train.batch_size is 8 in run/config.toml and 16 now; a resumed run keeps the settings it started with (start a new --out to change it)"
    );
    let e = load(&["schedule.warmup_epochs=0.5"])
        .unwrap()
        .check_resumable(&saved, path)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("schedule.warmup_epochs is 0.0 in run/config.toml and 0.5 now"),
        "{e}"
    );
}
