//! Margins against hand-computed values, Q-Margin(α = 1) = CosFace, the head, A3M-I and the monitor.

use alpha_loss::{
    apply_logit_margin, AngularGradient, BaseMeasure, CollapseMonitor, CollapseMonitorConfig,
    LogitMargin, Margin, MarginHead, ReinitPolicy, ReinitReason, Telemetry,
};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};

use crate::helpers::{assert_close, reference_softargmax, TestRng};

const PI: f64 = std::f64::consts::PI;

fn cos_matrix() -> Tensor {
    Tensor::new(&[[0.5f64, 0.1, -0.2], [0.3, -0.95, 0.7]], &Device::Cpu).unwrap()
}

/// Target logits and d(target logit)/d(cos_y) for each row.
fn target_logits(margin: LogitMargin, s: f64) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
    let cos = Var::from_tensor(&cos_matrix()).unwrap();
    let y = Tensor::new(&[0u32, 1], &Device::Cpu).unwrap();
    let logits = apply_logit_margin(cos.as_tensor(), &y, &margin, s).unwrap();
    let all: Vec<Vec<f64>> = logits.to_vec2().unwrap();
    let grads = logits.sum_all().unwrap().backward().unwrap();
    let g: Vec<Vec<f64>> = grads.get(cos.as_tensor()).unwrap().to_vec2().unwrap();
    (vec![all[0][0], all[1][1]], vec![g[0][0], g[1][1]], all)
}

#[test]
fn cosface_subtracts_m_from_the_target_cosine_only() {
    let (t, g, all) = target_logits(LogitMargin::Additive { m: 0.35 }, 30.0);
    assert_close(t[0], 30.0 * (0.5 - 0.35), 1e-12, 0.0, "row 0");
    assert_close(t[1], 30.0 * (-0.95 - 0.35), 1e-12, 0.0, "row 1");
    assert_close(g[0], 30.0, 1e-12, 0.0, "gradient");
    assert_close(all[0][1], 3.0, 1e-12, 0.0, "non-target unchanged");
    assert_close(all[1][2], 21.0, 1e-12, 0.0, "non-target unchanged");
}

#[test]
fn arcface_values_fallback_and_both_gradients() {
    let m = 0.5;
    let (t, g, _) = target_logits(
        LogitMargin::Angular {
            m,
            gradient: AngularGradient::Exact,
        },
        64.0,
    );
    // Row 0: φ = acos 0.5 = π/3, inside; row 1: acos(−0.95) = 2.824 > π − m, fallback.
    assert_close(
        t[0],
        64.0 * (PI / 3.0 + m).cos(),
        1e-12,
        0.0,
        "arcface value",
    );
    assert_close(
        t[1],
        64.0 * (-0.95 - m * (PI - m).sin()),
        1e-12,
        0.0,
        "fallback value",
    );
    let exact_slope = m.cos() + m.sin() * 0.5 / (1.0f64 - 0.25).sqrt();
    assert_close(g[0], 64.0 * exact_slope, 1e-9, 0.0, "exact gradient");
    assert_close(g[1], 64.0, 1e-12, 0.0, "fallback gradient");
    let (t2, g2, _) = target_logits(
        LogitMargin::Angular {
            m,
            gradient: AngularGradient::StraightThrough,
        },
        64.0,
    );
    assert_close(t2[0], t[0], 1e-12, 0.0, "straight-through value");
    assert_close(g2[0], 64.0, 1e-12, 0.0, "straight-through gradient");
}

#[test]
fn combined_margin_values_and_linear_extension() {
    let (m1, m2, m3) = (0.9, 0.4, 0.15);
    let (t, g, _) = target_logits(
        LogitMargin::Combined {
            m1,
            m2,
            m3,
            gradient: AngularGradient::Exact,
        },
        10.0,
    );
    let phi0 = 0.5f64.acos();
    assert_close(
        t[0],
        10.0 * ((m1 * phi0 + m2).cos() - m3),
        1e-12,
        0.0,
        "combined value",
    );
    // d/dc cos(m1 acos c + m2) = sin(m1 φ + m2) m1 / sqrt(1 − c²).
    let slope = (m1 * phi0 + m2).sin() * m1 / (1.0f64 - 0.25).sqrt();
    assert_close(g[0], 10.0 * slope, 1e-9, 0.0, "combined gradient");
    // Row 1: φ = 2.824 > φ_max = (π − 0.4)/0.9 = 3.046? No: inside; check with φ_max.
    let phi1 = (-0.95f64).acos();
    let phi_max = (PI - m2) / m1;
    let expected = if phi1 <= phi_max {
        (m1 * phi1 + m2).cos() - m3
    } else {
        -0.95 - phi_max.cos() - 1.0 - m3
    };
    assert_close(t[1], 10.0 * expected, 1e-12, 0.0, "combined row 1");
    // Past φ_max the value continues linearly: m2 = 1.2, m1 = 1 gives φ_max = π − 1.2.
    let (t3, g3, _) = target_logits(
        LogitMargin::Combined {
            m1: 1.0,
            m2: 1.2,
            m3: 0.0,
            gradient: AngularGradient::Exact,
        },
        1.0,
    );
    let phi_max = PI - 1.2;
    assert_close(
        t3[1],
        -0.95 - phi_max.cos() - 1.0,
        1e-12,
        0.0,
        "linear extension",
    );
    assert_close(g3[1], 1.0, 1e-12, 0.0, "linear extension slope");
    // At m1 = 1, m3 = 0 and inside the region, combined equals ArcFace.
    let (ta, _, _) = target_logits(
        LogitMargin::Angular {
            m: 1.2,
            gradient: AngularGradient::Exact,
        },
        1.0,
    );
    assert_close(t3[0], ta[0], 1e-12, 0.0, "combined = arcface inside");
}

fn head(margin: Margin, varmap: &VarMap, c: usize, d: usize) -> MarginHead {
    let vb = VarBuilder::from_varmap(varmap, DType::F64, &Device::Cpu);
    MarginHead::new(margin, c, d, vb.pp("head")).unwrap()
}

fn embeddings(rng: &mut TestRng, b: usize, d: usize) -> Tensor {
    let v: Vec<f64> = (0..b * d).map(|_| rng.normal()).collect();
    Tensor::from_vec(v, (b, d), &Device::Cpu).unwrap()
}

#[test]
fn q_margin_at_alpha_one_equals_cosface_exactly() {
    let (c, d, b, s, m) = (20, 8, 6, 30.0, 0.35);
    let varmap = VarMap::new();
    let cosface = head(Margin::CosFace { s, m }, &varmap, c, d);
    let qmargin = head(
        Margin::q_margin_from_logit_margin(s, m, 1.0, BaseMeasure::Unit),
        &varmap,
        c,
        d,
    );
    let uniform = head(
        Margin::q_margin_from_logit_margin(s, m, 1.0, BaseMeasure::Uniform),
        &varmap,
        c,
        d,
    );
    let mut rng = TestRng::new(42);
    let x = Var::from_tensor(&embeddings(&mut rng, b, d)).unwrap();
    let y = Tensor::new(&[0u32, 3, 19, 3, 7, 11], &Device::Cpu).unwrap();
    let mut results = Vec::new();
    for h in [&cosface, &qmargin, &uniform] {
        let out = h.forward(x.as_tensor(), &y).unwrap();
        let grads = out.loss.backward().unwrap();
        let gx: Vec<Vec<f64>> = grads.get(x.as_tensor()).unwrap().to_vec2().unwrap();
        let gw: Vec<Vec<f64>> = grads.get(h.weight()).unwrap().to_vec2().unwrap();
        results.push((out.loss.to_scalar::<f64>().unwrap(), gx, gw));
    }
    for other in &results[1..] {
        assert_close(other.0, results[0].0, 1e-12, 1e-12, "loss");
        for (a, e) in other.1.iter().flatten().zip(results[0].1.iter().flatten()) {
            assert_close(*a, *e, 1e-9, 1e-12, "gradient w.r.t. embeddings");
        }
        for (a, e) in other.2.iter().flatten().zip(results[0].2.iter().flatten()) {
            assert_close(*a, *e, 1e-9, 1e-12, "gradient w.r.t. prototypes");
        }
    }
}

#[test]
fn q_margin_above_one_is_not_a_logit_shift() {
    // At α = 1.5 lowering q_y by ρ = e^{−sm} differs from CosFace's shift of s·m.
    let (c, d, s, m) = (10, 4, 16.0, 0.2);
    let varmap = VarMap::new();
    let shifted = head(
        Margin::General(alpha_loss::MarginSpec {
            scale: s,
            logit: LogitMargin::Additive { m },
            loss: alpha_loss::LossSpec {
                alpha: 1.5,
                base: BaseMeasure::Unit,
                target_prior: 1.0,
            },
        }),
        &varmap,
        c,
        d,
    );
    let qmargin = head(
        Margin::q_margin_from_logit_margin(s, m, 1.5, BaseMeasure::Unit),
        &varmap,
        c,
        d,
    );
    let mut rng = TestRng::new(8);
    let x = embeddings(&mut rng, 4, d);
    let y = Tensor::new(&[1u32, 2, 3, 4], &Device::Cpu).unwrap();
    let a = shifted
        .forward(&x, &y)
        .unwrap()
        .loss
        .to_scalar::<f64>()
        .unwrap();
    let b = qmargin
        .forward(&x, &y)
        .unwrap()
        .loss
        .to_scalar::<f64>()
        .unwrap();
    assert!(
        (a - b).abs() > 1e-3,
        "Q-Margin at α = 1.5 should differ from a logit shift: {a} vs {b}"
    );
}

#[test]
fn head_cosines_and_telemetry_match_hand_computation() {
    let varmap = VarMap::new();
    let h = head(
        Margin::QMargin {
            s: 10.0,
            alpha: 1.5,
            target_prior: 0.5,
            base: BaseMeasure::Unit,
        },
        &varmap,
        3,
        2,
    );
    let w = Tensor::new(&[[1.0f64, 0.0], [0.0, 2.0], [-3.0, 0.0]], &Device::Cpu).unwrap();
    Var::from_tensor(h.weight()).unwrap().set(&w).unwrap();
    let x = Tensor::new(&[[3.0f64, 4.0], [0.0, -1.0]], &Device::Cpu).unwrap();
    let cos: Vec<Vec<f64>> = h.cosines(&x).unwrap().to_vec2().unwrap();
    let expected = [[0.6, 0.8, -0.6], [0.0, -1.0, 0.0]];
    for (r, e) in cos.iter().zip(expected) {
        for (a, b) in r.iter().zip(e) {
            assert_close(*a, b, 1e-12, 1e-15, "cosine");
        }
    }
    let y = Tensor::new(&[1u32, 1], &Device::Cpu).unwrap();
    let out = h.forward(&x, &y).unwrap();
    // Reference: logits 10·cos, q = (1, 0.5, 1).
    let q = [1.0, 0.5, 1.0];
    let mut p_y = Vec::new();
    let mut support = Vec::new();
    for row in &expected {
        let theta: Vec<f64> = row.iter().map(|c| 10.0 * c).collect();
        let p = reference_softargmax(&theta, &q, 1.5);
        p_y.push(p[1]);
        support.push(p.iter().filter(|v| **v > 0.0).count());
    }
    let t = out.telemetry;
    assert_eq!(t.rows, 2);
    assert_close(
        t.mean_p_target,
        (p_y[0] + p_y[1]) / 2.0,
        1e-9,
        1e-12,
        "mean p_y",
    );
    assert_close(
        t.frac_target_zero,
        p_y.iter().filter(|p| **p == 0.0).count() as f64 / 2.0,
        0.0,
        0.0,
        "p_y = 0",
    );
    assert_eq!(t.max_support, *support.iter().max().unwrap());
    assert_close(
        t.mean_support,
        (support[0] + support[1]) as f64 / 2.0,
        0.0,
        0.0,
        "mean support",
    );
}

#[test]
fn reinit_sets_prototypes_to_normalized_means_keeping_row_norms() {
    let varmap = VarMap::new();
    let h = head(
        Margin::A3M {
            s: 30.0,
            m: 0.2,
            alpha: 1.5,
            base: BaseMeasure::Unit,
        },
        &varmap,
        3,
        2,
    );
    let w = Tensor::new(&[[3.0f64, 4.0], [0.0, 2.0], [1.0, 0.0]], &Device::Cpu).unwrap();
    Var::from_tensor(h.weight()).unwrap().set(&w).unwrap();
    // Only class 1 from a mean of (6, 8): direction (0.6, 0.8), norm kept at 2.
    let means = Tensor::new(&[[6.0f64, 8.0]], &Device::Cpu).unwrap();
    h.reinit_prototypes(&means, Some(&[1])).unwrap();
    let got: Vec<Vec<f64>> = h.weight().to_vec2().unwrap();
    assert_eq!(got[0], vec![3.0, 4.0]);
    assert_close(got[1][0], 1.2, 1e-12, 0.0, "row 1 x");
    assert_close(got[1][1], 1.6, 1e-12, 0.0, "row 1 y");
    assert_eq!(got[2], vec![1.0, 0.0]);
    // The variable in the VarMap changed too (it checkpoints).
    let stored = varmap
        .data()
        .lock()
        .unwrap()
        .get("head.weight")
        .unwrap()
        .as_tensor()
        .to_vec2::<f64>()
        .unwrap();
    assert_eq!(stored, got);
    // All classes; a zero mean keeps its row.
    let means = Tensor::new(&[[0.0f64, -1.0], [0.0, 0.0], [2.0, 0.0]], &Device::Cpu).unwrap();
    h.reinit_prototypes(&means, None).unwrap();
    let got: Vec<Vec<f64>> = h.weight().to_vec2().unwrap();
    assert_close(got[0][1], -5.0, 1e-12, 0.0, "row 0");
    assert_close(got[1][1], 1.6, 1e-12, 0.0, "row 1 kept");
    assert_close(got[2][0], 1.0, 1e-12, 0.0, "row 2");
    // Bad input.
    assert!(h.reinit_prototypes(&means, Some(&[0, 1])).is_err());
    assert!(h
        .reinit_prototypes(
            &Tensor::zeros((1, 2), DType::F64, &Device::Cpu).unwrap(),
            Some(&[5])
        )
        .is_err());
}

fn batch(frac_zero: f64) -> Telemetry {
    Telemetry {
        rows: 10,
        frac_target_zero: frac_zero,
        ..Default::default()
    }
}

#[test]
fn collapse_monitor_fires_over_a_full_window_then_cools_down() {
    let mut m = CollapseMonitor::new(CollapseMonitorConfig {
        threshold: 0.5,
        window: 3,
        cooldown: 4,
    });
    assert!(!m.observe(&batch(0.9)));
    assert!(!m.observe(&batch(0.9))); // window not full yet
    assert!(m.observe(&batch(0.0))); // (9 + 9 + 0) / 30 = 0.6 > 0.5
    for _ in 0..4 {
        assert!(!m.observe(&batch(1.0)), "cooldown");
    }
    assert!(m.observe(&batch(1.0)));
    let mut calm = CollapseMonitor::new(CollapseMonitorConfig {
        threshold: 0.5,
        window: 2,
        cooldown: 0,
    });
    for _ in 0..10 {
        assert!(!calm.observe(&batch(0.4)));
    }
    assert_close(calm.rate(), 0.4, 1e-12, 0.0, "rate");
}

#[test]
fn reinit_policy_schedules_and_monitor() {
    let mut p = ReinitPolicy {
        at_steps: vec![100],
        at_epochs: vec![2],
        monitor: Some(CollapseMonitor::new(CollapseMonitorConfig {
            threshold: 0.1,
            window: 1,
            cooldown: 0,
        })),
    };
    assert_eq!(p.scheduled(100, None), Some(ReinitReason::Step(100)));
    assert_eq!(p.scheduled(101, Some(2)), Some(ReinitReason::Epoch(2)));
    assert_eq!(p.scheduled(101, Some(1)), None);
    assert_eq!(p.observe(&batch(0.5)), Some(ReinitReason::Collapse));
    assert_eq!(p.observe(&batch(0.0)), None);
}
