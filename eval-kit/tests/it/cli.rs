//! The `eval-kit` binary end to end.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::fixtures::{assert_close, load, path};

fn eval_kit(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_eval-kit"))
        .args(args)
        .output()
        .expect("run eval-kit");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn write_scored(dir: &Path) -> std::path::PathBuf {
    let case = &load("metrics.json")["cases"][0];
    let mut text = String::new();
    for (i, (s, l)) in case["scores"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["labels"].as_array().unwrap())
        .enumerate()
    {
        let label = if l.as_i64() == Some(1) {
            "target"
        } else {
            "nontarget"
        };
        text += &format!("e{i} t{i} {} {label}\n", s.as_f64().unwrap() as f32);
    }
    let p = dir.join("scored.txt");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn metrics_json_is_one_object_with_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let scored = write_scored(dir.path());
    let (ok, stdout, stderr) = eval_kit(&[
        "metrics",
        scored.to_str().unwrap(),
        "--json",
        "--far",
        "1e-2,1e-1",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.lines().count(), 1);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let case = &load("metrics.json")["cases"][0];
    assert_eq!(json["n_target"], 250);
    assert_eq!(json["n_nontarget"], 750);
    assert_close(
        json["eer"].as_f64().unwrap(),
        case["eer"].as_f64().unwrap(),
        1e-12,
        "eer",
    );
    assert_close(
        json["min_dcf"].as_f64().unwrap(),
        case["min_dcf"][0]["value"].as_f64().unwrap(),
        1e-12,
        "min_dcf",
    );
    assert_eq!(json["p_target"], 0.01);
    let rows = json["tar_at_far"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["far"], 0.1);
    assert_eq!(
        rows[1]["tar"].as_f64(),
        case["tar_at_far"]["at_most"][5]["tar"].as_f64()
    );
}

/// Whether plotting can find a font here (see `eval_kit::plot`).
fn font_available() -> bool {
    std::env::var("EVAL_KIT_FONT")
        .into_iter()
        .chain([
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf".to_string(),
            "/usr/share/fonts/dejavu/DejaVuSans.ttf".to_string(),
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf".to_string(),
        ])
        .any(|p| Path::new(&p).is_file())
}

#[test]
fn plots_are_written_as_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let scored = write_scored(dir.path());
    for (name, roc) in [("det.png", false), ("roc.svg", true), ("roc.png", true)] {
        let plot = dir.path().join(name);
        let mut args = vec![
            "metrics",
            scored.to_str().unwrap(),
            "--plot",
            plot.to_str().unwrap(),
        ];
        if roc {
            args.push("--roc");
        }
        let (ok, _, stderr) = eval_kit(&args);
        if !font_available() {
            assert!(
                !ok && stderr.contains("no usable TrueType font"),
                "{stderr}"
            );
            continue;
        }
        assert!(ok, "{stderr}");
        let bytes = std::fs::read(&plot).unwrap();
        if name.ends_with(".png") {
            assert_eq!(&bytes[1..4], b"PNG");
            assert!(bytes.len() > 10_000, "{name}: {} bytes", bytes.len());
        } else {
            let svg = String::from_utf8(bytes).unwrap();
            assert!(svg.contains("False acceptance rate (FAR)"), "{name}");
            assert!(svg.contains("True acceptance rate (TAR)"), "{name}");
            assert!(svg.contains("TAR@FAR"), "{name}");
        }
    }
    let (ok, _, stderr) = eval_kit(&["metrics", scored.to_str().unwrap(), "--plot", "x.jpg"]);
    assert!(!ok);
    assert!(stderr.contains("x.jpg"), "{stderr}");
}

#[test]
fn overlaid_curves_carry_one_legend_entry_each() {
    use eval_kit::plot::{plot_overlay, CurveKind};
    let a = eval_kit::ScoreCurve::new(
        &[0.9, 0.8, 0.3, 0.2, 0.6],
        &[true, true, false, false, false],
    )
    .unwrap();
    let b = eval_kit::ScoreCurve::new(
        &[0.9, 0.1, 0.3, 0.2, 0.6],
        &[true, true, false, false, false],
    )
    .unwrap();
    let curves = vec![("arcface".to_string(), &a), ("qmargin".to_string(), &b)];
    let dir = tempfile::tempdir().unwrap();
    for (name, kind) in [("roc.svg", CurveKind::Roc), ("det.svg", CurveKind::Det)] {
        let file = dir.path().join(name);
        let result = plot_overlay(&file, &curves, kind, "held-out");
        if !font_available() {
            assert!(result.is_err());
            continue;
        }
        result.unwrap();
        let svg = std::fs::read_to_string(&file).unwrap();
        // EER of a: 0 (genuine above every impostor); of b: 0.5 (the miss rate stays 1/2 while
        // the false-alarm rate falls through it, from 2/3 to 1/3).
        assert!(svg.contains("arcface (EER 0.00%)"), "{name}");
        assert!(svg.contains("qmargin (EER 50.00%)"), "{name}");
    }
    let err = plot_overlay(&dir.path().join("none.png"), &[], CurveKind::Roc, "x").unwrap_err();
    assert!(err.to_string().contains("none.png"), "{err}");
}

#[test]
fn metrics_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "a b 0.1 target\na b nan nontarget\n").unwrap();
    let (ok, stdout, stderr) = eval_kit(&["metrics", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(stdout.is_empty());
    assert!(stderr.contains("bad.txt:2: score is NaN"), "{stderr}");
    std::fs::write(&bad, "a b 0.1 target\n").unwrap();
    let (ok, _, stderr) = eval_kit(&["metrics", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("no nontarget trials"), "{stderr}");
}

#[test]
fn score_writes_wespeaker_files_and_reports_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scores.txt");
    let (ok, stdout, stderr) = eval_kit(&[
        "score",
        "--trials",
        path("scoring_trials.kaldi").to_str().unwrap(),
        "--embeddings",
        path("scoring_embeddings.safetensors").to_str().unwrap(),
        "--mean-from",
        path("scoring_mean_source.safetensors").to_str().unwrap(),
        "--cohort",
        path("scoring_cohort.safetensors").to_str().unwrap(),
        "--top-n",
        "10",
        "--output",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["n_trials"], 40);
    assert_eq!(json["as_norm"], true);
    assert!(json["metrics"]["eer"].is_f64());
    let expected = load("scoring.json");
    let text = std::fs::read_to_string(&out).unwrap();
    let trials = std::fs::read_to_string(path("scoring_trials.kaldi")).unwrap();
    for ((line, trial), want) in text
        .lines()
        .zip(trials.lines())
        .zip(expected["as_norm"].as_array().unwrap())
    {
        let fields: Vec<&str> = line.split(' ').collect();
        let trial: Vec<&str> = trial.split(' ').collect();
        assert_eq!(
            (fields[0], fields[1], fields[3]),
            (trial[0], trial[1], trial[2])
        );
        assert_eq!(fields[2].split('.').nth(1).unwrap().len(), 5, "{line}");
        let got: f64 = fields[2].parse().unwrap();
        assert_close(got, want.as_f64().unwrap(), 2e-5, "as-norm score");
    }
}

#[test]
fn pairs_and_ijb_print_json() {
    let (ok, stdout, stderr) = eval_kit(&[
        "pairs",
        "--embeddings",
        path("pairs_embeddings.safetensors").to_str().unwrap(),
        "--pairs",
        path("pairs.txt").to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let expected = load("pairs.json");
    assert_close(
        json["accuracy_mean"].as_f64().unwrap(),
        expected["accuracy_mean"].as_f64().unwrap(),
        0.0051,
        "accuracy (distances computed here)",
    );
    let dir = tempfile::tempdir().unwrap();
    let scores = dir.path().join("ijb_scores.txt");
    let (ok, stdout, stderr) = eval_kit(&[
        "ijb",
        "--root",
        path("ijb").to_str().unwrap(),
        "--features",
        path("ijb/features.safetensors").to_str().unwrap(),
        "--ijb-convention",
        "--far",
        "0.1,0.3",
        "--scores",
        scores.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let expected = load("ijb.json");
    let tars = &expected["configs"][0]["tar_nearest"];
    assert_eq!(json["tar_at_far"][0]["tar"], tars[5]);
    assert_eq!(json["tar_at_far"][1]["tar"], tars[6]);
    // The score file lists the protocol's pairs in order, scores at full precision.
    let written = std::fs::read_to_string(&scores).unwrap();
    let pairs = std::fs::read_to_string(path("ijb/meta/ijbc_template_pair_label.txt")).unwrap();
    let want_scores = &expected["configs"][0]["scores"];
    assert_eq!(written.lines().count(), pairs.lines().count());
    for (i, (line, pair)) in written.lines().zip(pairs.lines()).enumerate() {
        let f: Vec<&str> = line.split(' ').collect();
        let p: Vec<&str> = pair.split(' ').collect();
        assert_eq!((f[0], f[1]), (p[0], p[1]), "line {i}");
        assert_eq!(f[3], if p[2] == "1" { "target" } else { "nontarget" });
        let got: f64 = f[2].parse().unwrap();
        assert_close(
            got,
            want_scores[i].as_f64().unwrap(),
            1e-12,
            "written score",
        );
    }
}
