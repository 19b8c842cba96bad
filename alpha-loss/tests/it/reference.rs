//! p, loss and gradient against the float64 fixtures of `tests/fixtures/make_fixtures.py`
//! (plain bisection in numpy, cross-checked against the `entmax` package).

use alpha_loss::{
    alpha_divergence_loss, alpha_loss, alpha_softargmax_with, Backend, ReferenceMeasure,
};
use candle_core::{DType, Device, Tensor, Var};
use serde_json::Value;

use crate::helpers::{assert_close, matrix};

fn fixtures() -> Value {
    let text = include_str!("../fixtures/alpha_reference.json");
    serde_json::from_str(text).expect("fixture JSON parses")
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(f64s).collect()
}

fn check_case(case: &Value, backend: Backend) {
    let alpha = case["alpha"].as_f64().unwrap();
    let kind = case["q_kind"].as_str().unwrap();
    let logits_rows = rows(&case["logits"]);
    let q = f64s(&case["q"]);
    let targets: Vec<u32> = f64s(&case["targets"]).iter().map(|t| *t as u32).collect();
    let expected_p = rows(&case["p"]);
    let expected_loss = f64s(&case["loss"]);
    let (b, c) = (logits_rows.len(), q.len());
    let what = format!("alpha={alpha} q={kind} C={c} {backend:?}");
    // Absolute floor: one f32 rounding of values near 1 (the generic path also rounds τ's inputs).
    let floor = if backend == Backend::Generic {
        5e-7
    } else {
        1e-7
    };

    let logits = Var::from_tensor(&matrix(&logits_rows)).unwrap();
    let q_t = Tensor::from_vec(
        q.iter().map(|v| *v as f32).collect::<Vec<_>>(),
        c,
        &Device::Cpu,
    )
    .unwrap();
    let measure = ReferenceMeasure::from_tensor(&q_t, b, c).unwrap();
    let y = Tensor::from_vec(targets.clone(), b, &Device::Cpu).unwrap();

    let p: Vec<Vec<f32>> = alpha_softargmax_with(logits.as_tensor(), &measure, alpha, backend)
        .unwrap()
        .to_vec2()
        .unwrap();
    let out = alpha_loss(logits.as_tensor(), &y, &measure, alpha, backend).unwrap();
    let loss: Vec<f32> = out.loss.to_vec1().unwrap();
    let grads = out.loss.sum_all().unwrap().backward().unwrap();
    let grad: Vec<Vec<f32>> = grads.get(logits.as_tensor()).unwrap().to_vec2().unwrap();

    for i in 0..b {
        assert_close(
            loss[i] as f64,
            expected_loss[i],
            1e-5,
            1e-6,
            &format!("{what} loss row {i}"),
        );
        let mut sum = 0.0;
        for j in 0..c {
            let pe = expected_p[i][j];
            assert_close(
                p[i][j] as f64,
                pe,
                1e-5,
                floor,
                &format!("{what} p[{i},{j}]"),
            );
            let ge = pe - if j == targets[i] as usize { 1.0 } else { 0.0 };
            assert_close(
                grad[i][j] as f64,
                ge,
                1e-5,
                floor,
                &format!("{what} grad[{i},{j}]"),
            );
            sum += p[i][j] as f64;
        }
        assert!(
            (sum - 1.0).abs() < 1e-6,
            "{what}: row {i} of p sums to {sum}"
        );
    }
}

#[test]
fn small_cases_match_float64_reference_on_cpu_fast_path() {
    for case in fixtures()["small"].as_array().unwrap() {
        check_case(case, Backend::CpuFast);
    }
}

#[test]
fn small_cases_match_float64_reference_on_generic_path() {
    for case in fixtures()["small"].as_array().unwrap() {
        check_case(case, Backend::Generic);
    }
}

#[test]
fn public_api_with_q_tensor_and_i64_targets_matches_reference() {
    let fx = fixtures();
    let case = &fx["small"].as_array().unwrap()[30];
    let alpha = case["alpha"].as_f64().unwrap();
    let logits = matrix(&rows(&case["logits"]));
    let q = f64s(&case["q"]);
    let (b, c) = logits.dims2().unwrap();
    // q given per row as [B, C].
    let q_rows: Vec<f32> = (0..b).flat_map(|_| q.iter().map(|v| *v as f32)).collect();
    let q_t = Tensor::from_vec(q_rows, (b, c), &Device::Cpu).unwrap();
    let y: Vec<i64> = f64s(&case["targets"]).iter().map(|t| *t as i64).collect();
    let y = Tensor::from_vec(y, b, &Device::Cpu).unwrap();
    let loss: Vec<f32> = alpha_divergence_loss(&logits, &y, &q_t, alpha)
        .unwrap()
        .to_vec1()
        .unwrap();
    for (l, e) in loss.iter().zip(f64s(&case["loss"])) {
        assert_close(*l as f64, e, 1e-5, 1e-6, "per-row q loss");
    }
    let p = alpha_loss::alpha_softargmax(&logits, &q_t, alpha).unwrap();
    let p: Vec<Vec<f32>> = p.to_vec2().unwrap();
    for (row, expected) in p.iter().zip(rows(&case["p"])) {
        for (a, e) in row.iter().zip(expected) {
            assert_close(*a as f64, e, 1e-5, 1e-7, "per-row q p");
        }
    }
}

/// θ_j = s·0.05·sin(1.7 j + 0.3), θ_y = 0.6 s, rounded to f32 (as in the Python script).
fn formula_logits(classes: usize, target: usize, scale: f64) -> Tensor {
    let v: Vec<f32> = (0..classes)
        .map(|j| {
            if j == target {
                (scale * 0.6) as f32
            } else {
                (scale * 0.05 * (1.7 * j as f64 + 0.3).sin()) as f32
            }
        })
        .collect();
    Tensor::from_vec(v, (1, classes), &Device::Cpu).unwrap()
}

#[test]
fn large_class_counts_match_float64_reference() {
    for case in fixtures()["large"].as_array().unwrap() {
        let alpha = case["alpha"].as_f64().unwrap();
        let classes = case["classes"].as_u64().unwrap() as usize;
        let target = case["target"].as_u64().unwrap() as usize;
        let kind = case["q_kind"].as_str().unwrap();
        let what = format!("alpha={alpha} q={kind} C={classes}");
        let measure = match kind {
            "unit" => ReferenceMeasure::unit(),
            _ => ReferenceMeasure::uniform(classes).unwrap(),
        };
        let logits = formula_logits(classes, target, case["scale"].as_f64().unwrap());
        let y = Tensor::new(&[target as u32], &Device::Cpu).unwrap();
        for backend in [Backend::CpuFast, Backend::Generic] {
            let out = alpha_loss(&logits, &y, &measure, alpha, backend).unwrap();
            let loss: Vec<f32> = out.loss.to_vec1().unwrap();
            let what = format!("{what} {backend:?}");
            assert_close(
                loss[0] as f64,
                case["loss"].as_f64().unwrap(),
                1e-5,
                1e-6,
                &format!("{what} loss"),
            );
            assert_close(
                out.stats.mean_p_target,
                case["p_target"].as_f64().unwrap(),
                1e-5,
                1e-7,
                &format!("{what} p_y"),
            );
            if alpha > 1.0 {
                assert_eq!(
                    out.stats.max_support,
                    case["support"].as_u64().unwrap() as usize,
                    "{what} support"
                );
            }
            let p = alpha_softargmax_with(&logits, &measure, alpha, backend)
                .unwrap()
                .to_dtype(DType::F64)
                .unwrap();
            let p: Vec<f64> = p.squeeze(0).unwrap().to_vec1().unwrap();
            let sum: f64 = p.iter().sum();
            assert!((sum - 1.0).abs() < 1e-6, "{what}: p sums to {sum}");
            for (k, pe) in f64s(&case["probes"]).iter().zip(f64s(&case["p_probes"])) {
                assert_close(p[*k as usize], pe, 1e-5, 1e-9, &format!("{what} p[{k}]"));
            }
        }
    }
}
