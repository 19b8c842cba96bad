//! The sweep file: what it expands to (grid points, the `--set` items of a run, run folders)
//! and the mistakes it refuses, each named with the file.

use std::path::Path;

use app_kit::sweep::spec::{run_dir, SweepSpec};

const BASE: &str = r#"
[sweep]
name = "t"
seeds = [1, 2]
set = ["train.steps = 5"]

[[protocol]]
name = "synthetic"
set = ["eval.heldout_identities = 4"]

[[variant]]
name = "arcface"
loss = { kind = "arcface", m = 0.5 }

[[variant]]
name = "cosface"
loss = { kind = "cosface" }
set = ["optim.lr = 0.05"]
"#;

fn parse(text: &str) -> anyhow::Result<SweepSpec> {
    SweepSpec::parse(text, Path::new("sweeps/t.toml"))
}

fn error(text: &str) -> String {
    format!("{:#}", parse(text).expect_err("refused"))
}

#[test]
fn defaults_compare_with_arcface_and_cosface_over_1000_replicates() {
    let spec = parse(BASE).unwrap();
    assert_eq!(spec.sweep.config, "demo");
    assert_eq!(spec.sweep.baselines, ["arcface", "cosface"]);
    assert_eq!(spec.sweep.replicates, 1000);
    assert_eq!(spec.sweep.confidence, 0.95);
    assert_eq!(spec.grid_points().len(), 1);
    assert_eq!(spec.grid_points()[0].label, "");
}

#[test]
fn run_items_apply_sweep_protocol_grid_variant_then_seed() {
    let text = format!("{BASE}\n[grid]\n\"optim.lr\" = [0.1, 0.2]\n\"data.source\" = [\"orl\"]\n");
    let spec = parse(&text).unwrap();
    let points = spec.grid_points();
    let labels: Vec<&str> = points.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "data.source=orl,optim.lr=0.1",
            "data.source=orl,optim.lr=0.2"
        ]
    );
    let items = spec.run_items(&spec.protocols[0], &points[1], Some(&spec.variants[1]), 7);
    assert_eq!(
        items,
        [
            "train.steps = 5",
            "eval.heldout_identities = 4",
            "data.source=\"orl\"",
            "optim.lr=0.2",
            "loss={ kind = \"cosface\" }",
            "optim.lr = 0.05",
            "train.seed=7",
            "train.progress_bar=false",
        ]
    );
    assert_eq!(
        run_dir(
            Path::new("out"),
            "synthetic",
            &points[1].label,
            "cosface",
            7
        ),
        Path::new("out/synthetic/data.source-orl,optim.lr-0.2/cosface/seed-7")
    );
    assert_eq!(
        run_dir(Path::new("out"), "orl", "", "arcface", 1),
        Path::new("out/orl/arcface/seed-1")
    );
}

#[test]
fn mistakes_are_refused_naming_the_file_and_the_problem() {
    let cases: [(&str, String, &str); 8] = [
        ("no seeds", BASE.replace("seeds = [1, 2]", "seeds = []"), "sweep.seeds is empty"),
        ("seed twice", BASE.replace("seeds = [1, 2]", "seeds = [1, 1]"), "lists a seed twice"),
        (
            "duplicate variant",
            BASE.replace("name = \"cosface\"", "name = \"arcface\""),
            "variant \"arcface\" is listed twice",
        ),
        (
            "unknown baseline",
            BASE.replace("name = \"t\"", "name = \"t\"\nbaselines = [\"arcfce\"]"),
            "sweep.baselines names \"arcfce\", which is not a variant (variants: arcface, cosface; or start)",
        ),
        (
            "reserved name",
            BASE.replace("name = \"cosface\"", "name = \"start\""),
            "reserved for the untrained weights",
        ),
        (
            "folder-unsafe name",
            BASE.replace("name = \"synthetic\"", "name = \"a/b\""),
            "protocol name \"a/b\": use letters, digits",
        ),
        (
            "unknown key",
            BASE.replace("name = \"t\"", "name = \"t\"\nreplicate = 10"),
            "unknown field `replicate`",
        ),
        (
            "empty grid",
            format!("{BASE}\n[grid]\n\"optim.lr\" = []\n"),
            "grid \"optim.lr\" has no values",
        ),
    ];
    for (what, text, expected) in cases {
        let err = error(&text);
        assert!(err.starts_with("sweeps/t.toml: "), "{what}: {err}");
        assert!(err.contains(expected), "{what}: {err}");
    }
    let err = error("[sweep]\nname = ");
    assert!(err.contains("sweeps/t.toml: not valid TOML"), "{err}");
    let err = error(&BASE.replace("seeds = [1, 2]", "seeds = [1, 2]\nconfidence = 1.5"));
    assert!(
        err.contains("[sweep]") && err.contains("confidence"),
        "{err}"
    );
    let err = format!(
        "{:#}",
        SweepSpec::read(Path::new("/nonexistent/sweep.toml")).unwrap_err()
    );
    assert!(
        err.contains("reading sweep file /nonexistent/sweep.toml"),
        "{err}"
    );
}
