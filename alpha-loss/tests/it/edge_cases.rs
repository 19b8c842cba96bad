//! Edge cases: equal logits, a dominant logit, C = 1 and 2, logits far apart, reduced precision.

use alpha_loss::{alpha_loss, alpha_softargmax_with, Backend, ReferenceMeasure};
use candle_core::{DType, Device, Tensor};

use crate::helpers::{assert_close, reference_loss, reference_softargmax};

fn p_row(theta: &[f32], m: &ReferenceMeasure, alpha: f64, backend: Backend) -> Vec<f64> {
    let t = Tensor::from_vec(theta.to_vec(), (1, theta.len()), &Device::Cpu).unwrap();
    alpha_softargmax_with(&t, m, alpha, backend)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .squeeze(0)
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn loss_row(theta: &[f32], y: u32, m: &ReferenceMeasure, alpha: f64, backend: Backend) -> f64 {
    let t = Tensor::from_vec(theta.to_vec(), (1, theta.len()), &Device::Cpu).unwrap();
    let y = Tensor::new(&[y], &Device::Cpu).unwrap();
    let l: Vec<f32> = alpha_loss(&t, &y, m, alpha, backend)
        .unwrap()
        .loss
        .to_vec1()
        .unwrap();
    l[0] as f64
}

const BACKENDS: [Backend; 2] = [Backend::CpuFast, Backend::Generic];
const ALPHAS: [f64; 5] = [1.0, 1.25, 1.5, 2.0, 3.0];

#[test]
fn all_equal_logits_give_p_proportional_to_q() {
    for backend in BACKENDS {
        for alpha in ALPHAS {
            let p = p_row(&[3.0; 8], &ReferenceMeasure::unit(), alpha, backend);
            for v in &p {
                assert_close(*v, 0.125, 1e-6, 0.0, "uniform p");
            }
        }
    }
}

#[test]
fn one_huge_logit_takes_all_mass_and_zero_loss() {
    let mut theta = vec![0.0f32; 50];
    theta[7] = 1e4;
    for backend in BACKENDS {
        for alpha in ALPHAS {
            let p = p_row(&theta, &ReferenceMeasure::unit(), alpha, backend);
            assert_close(p[7], 1.0, 1e-6, 0.0, "dominant p");
            let l = loss_row(&theta, 7, &ReferenceMeasure::unit(), alpha, backend);
            assert!(l.abs() < 1e-5, "loss of a perfect prediction is {l}");
            // And the loss for a wrong target is huge but finite: 1e4 − 0 plus a constant.
            let wrong = loss_row(&theta, 3, &ReferenceMeasure::unit(), alpha, backend);
            assert!(
                wrong.is_finite() && wrong > 9_000.0,
                "wrong-target loss {wrong}"
            );
        }
    }
}

#[test]
fn one_and_two_classes() {
    for backend in BACKENDS {
        for alpha in ALPHAS {
            let p = p_row(
                &[-2.5],
                &ReferenceMeasure::constant(0.3).unwrap(),
                alpha,
                backend,
            );
            assert_close(p[0], 1.0, 0.0, 2e-7, "C = 1");
            let expected = reference_loss(&[-2.5], &[0.3], alpha, 0);
            let l = loss_row(
                &[-2.5],
                0,
                &ReferenceMeasure::constant(0.3).unwrap(),
                alpha,
                backend,
            );
            assert_close(l, expected, 1e-5, 1e-6, "C = 1 loss");
            for theta in [[0.0f32, 0.3], [1.0, -1.0], [0.0, 0.0]] {
                let t64 = [theta[0] as f64, theta[1] as f64];
                let p = p_row(&theta, &ReferenceMeasure::unit(), alpha, backend);
                let e = reference_softargmax(&t64, &[1.0, 1.0], alpha);
                assert_close(p[0], e[0], 1e-5, 1e-7, "C = 2 p0");
                assert_close(p[1], e[1], 1e-5, 1e-7, "C = 2 p1");
            }
        }
    }
}

#[test]
fn logits_far_apart_stay_finite_and_exact() {
    let theta = [1e4f32, -1e4, 0.0, 5e3, 1e4 - 1.0];
    let t64: Vec<f64> = theta.iter().map(|v| *v as f64).collect();
    for backend in BACKENDS {
        for alpha in ALPHAS {
            let p = p_row(&theta, &ReferenceMeasure::unit(), alpha, backend);
            let e = reference_softargmax(&t64, &[1.0; 5], alpha);
            for j in 0..5 {
                assert_close(p[j], e[j], 1e-5, 1e-7, &format!("alpha={alpha} p[{j}]"));
            }
            let l = loss_row(&theta, 2, &ReferenceMeasure::unit(), alpha, backend);
            assert_close(
                l,
                reference_loss(&t64, &[1.0; 5], alpha, 2),
                1e-5,
                1e-3,
                "far loss",
            );
        }
    }
}

#[test]
fn half_precision_logits_are_solved_in_f32() {
    let theta: Vec<f32> = (0..64).map(|j| ((j as f32) * 0.37).sin() * 6.0).collect();
    let t32 = Tensor::from_vec(theta.clone(), (1, 64), &Device::Cpu).unwrap();
    for dtype in [DType::F16, DType::BF16] {
        let t = t32.to_dtype(dtype).unwrap();
        let rounded: Vec<f64> = t
            .to_dtype(DType::F64)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec1()
            .unwrap();
        for alpha in [1.5, 2.0] {
            let p =
                alpha_softargmax_with(&t, &ReferenceMeasure::unit(), alpha, Backend::Auto).unwrap();
            assert_eq!(p.dtype(), DType::F32);
            let p: Vec<f64> = p
                .to_dtype(DType::F64)
                .unwrap()
                .squeeze(0)
                .unwrap()
                .to_vec1()
                .unwrap();
            let e = reference_softargmax(&rounded, &[1.0; 64], alpha);
            for j in 0..64 {
                assert_close(p[j], e[j], 1e-5, 1e-7, "half-precision p");
            }
        }
    }
}

#[test]
fn non_contiguous_logits_are_accepted() {
    let base = Tensor::arange(0f32, 12.0, &Device::Cpu)
        .unwrap()
        .reshape((3, 4))
        .unwrap();
    let transposed = base.t().unwrap(); // [4, 3], not contiguous
    assert!(!transposed.is_contiguous());
    let p = alpha_softargmax_with(
        &transposed,
        &ReferenceMeasure::unit(),
        1.5,
        Backend::CpuFast,
    )
    .unwrap();
    let p_c = alpha_softargmax_with(
        &transposed.contiguous().unwrap(),
        &ReferenceMeasure::unit(),
        1.5,
        Backend::CpuFast,
    )
    .unwrap();
    let diff: f32 = (p - p_c)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar()
        .unwrap();
    assert_eq!(diff, 0.0);
}

/// Dense supports (q = 1/C puts the bracket hundreds of logits wide) at α = 1.5 and 2 take the
/// histogram solver: ties, clustered values and wide spreads against plain f64 bisection.
#[test]
fn dense_supports_match_bisection_including_ties() {
    // 6,000 classes go through the candidate list; 12,000 and 40,000 through the sampled band
    // (which the alternating row defeats at 12,000: every sampled class is a low one), then
    // whole-row passes and the row histogram.
    for classes in [6000, 12000, 40000] {
        dense_case(classes);
    }
}

fn dense_case(classes: usize) {
    let mut state = 12345u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let rows: Vec<(&str, Vec<f32>)> = vec![
        ("all equal", vec![1.5; classes]),
        (
            "two values",
            (0..classes)
                .map(|j| if j % 3 == 0 { 2.0 } else { -1.0 })
                .collect(),
        ),
        (
            "alternating low and high",
            (0..classes)
                .map(|j| {
                    if j % 2 == 0 {
                        (-3.0 + uniform() * 0.1) as f32
                    } else {
                        (3.0 * uniform()) as f32
                    }
                })
                .collect(),
        ),
        (
            "bell",
            (0..classes)
                .map(|_| ((uniform() + uniform() - 1.0) * 8.0) as f32)
                .collect(),
        ),
        (
            "narrow spread",
            (0..classes).map(|_| (uniform() * 0.01) as f32).collect(),
        ),
        (
            "wide spread",
            (0..classes)
                .map(|_| (uniform() * 400.0 - 200.0) as f32)
                .collect(),
        ),
    ];
    let m = ReferenceMeasure::uniform(classes)
        .unwrap()
        .with_target_factor(0.3)
        .unwrap();
    let y = classes / 2;
    let mut q = vec![1.0 / classes as f64; classes];
    q[y] *= 0.3;
    for (name, theta) in &rows {
        let theta64: Vec<f64> = theta.iter().map(|&v| v as f64).collect();
        for alpha in [1.5, 2.0] {
            let what = format!("{name} C={classes} alpha={alpha}");
            let plain = ReferenceMeasure::uniform(classes).unwrap();
            let q_plain = vec![1.0 / classes as f64; classes];
            let expected = reference_softargmax(&theta64, &q_plain, alpha);
            let got = p_row(theta, &plain, alpha, Backend::CpuFast);
            let sum: f64 = got.iter().sum();
            assert_close(sum, 1.0, 1e-5, 0.0, &format!("{what} sum"));
            for (j, (g, e)) in got.iter().zip(&expected).enumerate() {
                assert_close(*g, *e, 1e-4, 1e-9, &format!("{what} p[{j}]"));
            }
            let loss = loss_row(theta, y as u32, &m, alpha, Backend::CpuFast);
            let reference = reference_loss(&theta64, &q, alpha, y);
            assert_close(loss, reference, 1e-4, 1e-6, &format!("{what} loss"));
        }
    }
}
