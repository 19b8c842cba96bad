//! ROC, EER, minDCF and TAR@FAR against scikit-learn and wespeaker's formulas.

use eval_kit::{
    eer, min_dcf, tar_at_far, DcfParams, FarRule, MetricsConfig, Roc, ScoreCurve,
    VerificationReport,
};
use serde_json::Value;

use crate::fixtures::{assert_close, f64s, load};

fn cases() -> Vec<(String, ScoreCurve, Value)> {
    let fixture = load("metrics.json");
    fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let scores = f64s(&case["scores"]);
            let labels: Vec<bool> = f64s(&case["labels"]).iter().map(|&l| l == 1.0).collect();
            let curve = ScoreCurve::new(&scores, &labels).unwrap();
            (
                case["name"].as_str().unwrap().to_string(),
                curve,
                case.clone(),
            )
        })
        .collect()
}

#[test]
fn roc_matches_sklearn_roc_curve() {
    for (name, curve, case) in cases() {
        for (key, drop) in [("drop", true), ("full", false)] {
            let roc = Roc::new(&curve, drop);
            let expected = &case["roc"][key];
            assert_eq!(roc.fpr, f64s(&expected["fpr"]), "{name} {key} fpr");
            assert_eq!(roc.tpr, f64s(&expected["tpr"]), "{name} {key} tpr");
            assert_eq!(roc.thresholds[0], f64::INFINITY);
            assert_eq!(
                roc.thresholds[1..],
                f64s(&expected["thresholds"]),
                "{name} {key} thresholds"
            );
        }
        let auc = Roc::new(&curve, true).auc();
        assert_close(auc, case["auc"].as_f64().unwrap(), 1e-12, &name);
    }
}

#[test]
fn eer_matches_wespeaker_formula() {
    for (name, curve, case) in cases() {
        let e = eer(&curve);
        assert_close(e.rate, case["eer"].as_f64().unwrap(), 1e-12, &name);
        assert_eq!(
            e.threshold,
            case["eer_threshold"].as_f64().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn min_dcf_matches_wespeaker_formula() {
    for (name, curve, case) in cases() {
        for expected in case["min_dcf"].as_array().unwrap() {
            let params = DcfParams {
                p_target: expected["p_target"].as_f64().unwrap(),
                c_miss: expected["c_miss"].as_f64().unwrap(),
                c_fa: expected["c_fa"].as_f64().unwrap(),
            };
            let got = min_dcf(&curve, params).unwrap();
            let what = format!("{name} {params:?}");
            assert_close(got.value, expected["value"].as_f64().unwrap(), 1e-12, &what);
            assert_eq!(
                got.threshold,
                expected["threshold"].as_f64().unwrap(),
                "{what}"
            );
        }
    }
}

#[test]
fn tar_at_far_matches_both_references() {
    for (name, curve, case) in cases() {
        let fars = f64s(&case["tar_at_far"]["far"]);
        for (key, rule) in [("at_most", FarRule::AtMost), ("nearest", FarRule::Nearest)] {
            let rows = tar_at_far(&curve, &fars, rule).unwrap();
            let expected = case["tar_at_far"][key].as_array().unwrap();
            for (row, want) in rows.iter().zip(expected) {
                let what = format!("{name} {key} far {}", row.far);
                assert_eq!(row.tar, want["tar"].as_f64().unwrap(), "{what}");
                match want["threshold"].as_f64() {
                    Some(t) => assert_eq!(row.threshold, t, "{what}"),
                    // scikit-learn's +inf: we report a finite threshold above every score.
                    None => assert!(row.threshold > curve.max_score(), "{what}"),
                }
            }
        }
    }
}

#[test]
fn report_serializes_to_the_documented_json() {
    let (_, curve, case) = cases().remove(0);
    let report = VerificationReport::new(&curve, &MetricsConfig::default()).unwrap();
    let json: Value = serde_json::to_value(&report).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    let mut expected = vec![
        "n_target",
        "n_nontarget",
        "eer",
        "eer_threshold",
        "min_dcf",
        "p_target",
        "tar_at_far",
    ];
    expected.sort();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort();
    assert_eq!(keys_sorted, expected);
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
    let row = &json["tar_at_far"][3];
    assert_eq!(row["far"], 1e-3);
    assert!(row["tar"].is_f64() && row["threshold"].is_f64());
}

#[test]
fn results_do_not_depend_on_trial_order() {
    let (_, _, case) = cases().remove(1);
    let scores = f64s(&case["scores"]);
    let labels: Vec<bool> = f64s(&case["labels"]).iter().map(|&l| l == 1.0).collect();
    let config = MetricsConfig::default();
    let forward = VerificationReport::from_scores(&scores, &labels, &config).unwrap();
    let rev_scores: Vec<f64> = scores.iter().rev().copied().collect();
    let rev_labels: Vec<bool> = labels.iter().rev().copied().collect();
    let backward = VerificationReport::from_scores(&rev_scores, &rev_labels, &config).unwrap();
    assert_eq!(forward, backward);
}
