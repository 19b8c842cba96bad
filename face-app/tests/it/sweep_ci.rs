//! The sweep's CI grid (`face-app/sweeps/ci.toml`): Q-Margin and ArcFace on real faces, ORL's
//! people s1-s30 trained on and s31-s40 held out (all 450 genuine and 4,500 impostor pairs),
//! each compared with its own seeded starting weights with identity-bootstrap intervals. The
//! AT&T/ORL face database is courtesy of the Olivetti Research Laboratory (AT&T Laboratories
//! Cambridge); read from `../shared/data/orl` or `$ALPHA_VERIFY_ORL`. Where it is absent the
//! grid's tiny synthetic protocol runs instead (with a message), so the harness runs anyway.
//!
//! Also the harness itself: the sweep's rescoring equals each run's own evaluation, a second
//! invocation skips finished runs and rewrites its RESULTS.md section in place, and a run
//! folder made by another config is refused naming the key.

use std::path::Path;

use app_kit::sweep::spec::SweepSpec;
use app_kit::sweep::{run_sweep, SweepOptions};
use candle_core::Device;
use datasets::face::orl_root;
use face_app::train::FaceApp;
use serde_json::Value;

fn ci_spec() -> (SweepSpec, &'static str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sweeps/ci.toml");
    let mut spec = SweepSpec::read(&path).unwrap();
    let keep = if orl_root().is_some() {
        "orl"
    } else {
        eprintln!(
            "note: the ORL faces folder is absent (../shared/data/orl or $ALPHA_VERIFY_ORL): running the grid's synthetic protocol only"
        );
        "synthetic"
    };
    spec.protocols.retain(|p| p.name == keep);
    (spec, keep)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn ci_grid_compares_losses_with_intervals_and_resumes() {
    let (spec, protocol) = ci_spec();
    let dir = tempfile::tempdir().unwrap();
    let opts = SweepOptions {
        out: dir.path().join("runs"),
        results: dir.path().join("RESULTS.md"),
        command: "face-app sweep --spec face-app/sweeps/ci.toml".into(),
        device: Device::Cpu,
    };
    run_sweep::<FaceApp>(&spec, &opts).unwrap();
    let json = read_json(&dir.path().join("results/face-ci/sweep.json"));
    let p = &json["protocols"][0];
    assert_eq!(p["protocol"], protocol);
    let variants = p["variants"].as_array().unwrap();
    let names: Vec<&str> = variants
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["start", "qmargin", "arcface"]);
    if protocol == "orl" {
        assert_eq!(
            (p["genuine_pairs"].as_u64(), p["impostor_pairs"].as_u64()),
            (Some(450), Some(4500))
        );
    }
    let start_eer = variants[0]["eer"]["mean"].as_f64().unwrap();
    for v in variants {
        let name = v["name"].as_str().unwrap();
        let eer = v["eer"]["mean"].as_f64().unwrap();
        let (lo, hi) = (
            v["eer"]["ci"]["low"].as_f64().unwrap(),
            v["eer"]["ci"]["high"].as_f64().unwrap(),
        );
        assert!(
            lo <= eer && eer <= hi,
            "{name}: EER {eer} outside [{lo}, {hi}]"
        );
        assert!(
            hi - lo > 0.0,
            "{name}: a bootstrap over 10+ identities has spread"
        );
        if name == "start" {
            continue;
        }
        // The sweep rescores the saved embeddings: exactly the run's own held-out evaluation.
        let run = dir.path().join(format!("runs/{protocol}/{name}/seed-1"));
        let report = read_json(&run.join("report.json"));
        assert_eq!(
            report["heldout"]["metrics"]["eer"].as_f64(),
            Some(eer),
            "{name}"
        );
        eprintln!("{protocol} {name}: EER {eer:.4} [{lo:.4}, {hi:.4}], untrained {start_eer:.4}");
        if protocol == "orl" {
            // Training helps on unseen people (paired with the same seeded starting weights).
            assert!(
                eer < start_eer,
                "{name}: EER {eer} not below the starting weights' {start_eer}"
            );
            assert!(eer < 0.2, "{name}: EER {eer} is not well below chance");
        }
    }
    for c in p["comparisons"].as_array().unwrap() {
        assert_eq!(c["baseline"], "start");
        let v = variants.iter().find(|v| v["name"] == c["variant"]).unwrap();
        let diff = v["eer"]["mean"].as_f64().unwrap() - start_eer;
        assert!((c["eer"]["mean"].as_f64().unwrap() - diff).abs() < 1e-15);
        let (lo, hi) = (
            c["eer"]["ci"]["low"].as_f64().unwrap(),
            c["eer"]["ci"]["high"].as_f64().unwrap(),
        );
        assert_eq!(
            c["eer"]["exceeds_interval"].as_bool(),
            Some(lo > 0.0 || hi < 0.0)
        );
    }
    let md = std::fs::read_to_string(&opts.results).unwrap();
    assert!(md.contains("## Face: sweep `ci`"), "{md}");
    assert!(md.contains(&format!("### Protocol `{protocol}`")));
    assert!(md.contains("Paired differences against `start`"));

    // Again: nothing to train, the section replaced rather than appended.
    let before = std::fs::metadata(
        dir.path()
            .join(format!("runs/{protocol}/qmargin/seed-1/report.json")),
    )
    .unwrap()
    .modified()
    .unwrap();
    run_sweep::<FaceApp>(&spec, &opts).unwrap();
    let after = std::fs::metadata(
        dir.path()
            .join(format!("runs/{protocol}/qmargin/seed-1/report.json")),
    )
    .unwrap()
    .modified()
    .unwrap();
    assert_eq!(before, after, "a finished run is not trained again");
    let md = std::fs::read_to_string(&opts.results).unwrap();
    assert_eq!(md.matches("<!-- sweep face-ci: begin -->").count(), 1);

    // The same folders under another recipe: refused, naming the key.
    let mut changed = spec.clone();
    changed.sweep.set.push("optim.lr = 0.05".into());
    let err = format!("{:#}", run_sweep::<FaceApp>(&changed, &opts).unwrap_err());
    assert!(
        err.contains("optim.lr = 0.1") && err.contains("0.05"),
        "{err}"
    );
    assert!(
        err.contains("remove the folder or sweep into another --out"),
        "{err}"
    );
}
