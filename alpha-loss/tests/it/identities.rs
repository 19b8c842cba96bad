//! Identities that must hold exactly: scaling of q, α → 1 continuity, gradient = p − e_y by
//! finite differences in f64, CPU and generic paths agreeing, the softargmax Jacobian.

use alpha_loss::{alpha_loss, alpha_softargmax_with, Backend, ReferenceMeasure};
use candle_core::{DType, Device, Tensor, Var};

use crate::helpers::{assert_close, reference_loss, reference_softargmax, TestRng};

fn random_logits(rng: &mut TestRng, b: usize, c: usize, scale: f64) -> Vec<Vec<f64>> {
    (0..b)
        .map(|_| {
            (0..c)
                .map(|_| (rng.normal() * scale) as f32 as f64)
                .collect()
        })
        .collect()
}

fn tensor64(rows: &[Vec<f64>]) -> Tensor {
    let (b, c) = (rows.len(), rows[0].len());
    Tensor::from_vec(rows.concat(), (b, c), &Device::Cpu).unwrap()
}

fn loss_f64(logits: &Tensor, y: &Tensor, m: &ReferenceMeasure, alpha: f64) -> Vec<f64> {
    alpha_loss(logits, y, m, alpha, Backend::CpuFast)
        .unwrap()
        .loss
        .to_vec1()
        .unwrap()
}

#[test]
fn constant_measure_scaling_identity() {
    // q = c·1: p(θ; c) = p(c^{α−1} θ; 1) and ℓ(θ; c) = c^{1−α} ℓ(c^{α−1} θ; 1).
    let mut rng = TestRng::new(7);
    let rows = random_logits(&mut rng, 4, 50, 2.0);
    let theta = tensor64(&rows);
    let y = Tensor::new(&[3u32, 0, 49, 17], &Device::Cpu).unwrap();
    for alpha in [1.25, 1.5, 2.0, 3.0] {
        for c in [5.0f64, 0.01] {
            let scaled = (&theta * c.powf(alpha - 1.0)).unwrap();
            let p_c = alpha_softargmax_with(
                &theta,
                &ReferenceMeasure::constant(c).unwrap(),
                alpha,
                Backend::CpuFast,
            )
            .unwrap();
            let p_1 =
                alpha_softargmax_with(&scaled, &ReferenceMeasure::unit(), alpha, Backend::CpuFast)
                    .unwrap();
            let diff: f64 = (p_c - p_1)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar()
                .unwrap();
            assert!(diff < 1e-10, "alpha={alpha} c={c}: p differs by {diff}");
            let l_c = loss_f64(&theta, &y, &ReferenceMeasure::constant(c).unwrap(), alpha);
            let l_1 = loss_f64(&scaled, &y, &ReferenceMeasure::unit(), alpha);
            for (a, b) in l_c.iter().zip(&l_1) {
                assert_close(*a, c.powf(1.0 - alpha) * b, 1e-10, 1e-12, "scaled loss");
            }
        }
    }
}

#[test]
fn alpha_one_is_the_limit_of_alpha_above_one() {
    let mut rng = TestRng::new(11);
    let rows = random_logits(&mut rng, 3, 40, 1.5);
    let theta = tensor64(&rows);
    let q: Vec<f64> = (0..40).map(|_| 0.2 + 1.8 * rng.uniform()).collect();
    let m = ReferenceMeasure::from_tensor(&Tensor::new(q.as_slice(), &Device::Cpu).unwrap(), 3, 40)
        .unwrap();
    let y = Tensor::new(&[1u32, 5, 39], &Device::Cpu).unwrap();
    let exact = loss_f64(&theta, &y, &m, 1.0);
    let near = loss_f64(&theta, &y, &m, 1.0 + 1e-7);
    for (a, b) in exact.iter().zip(&near) {
        assert_close(*b, *a, 1e-5, 1e-6, "loss at α = 1 + 1e-7 vs α = 1");
    }
    let p1 = alpha_softargmax_with(&theta, &m, 1.0, Backend::CpuFast).unwrap();
    let pn = alpha_softargmax_with(&theta, &m, 1.0 + 1e-7, Backend::CpuFast).unwrap();
    let diff: f64 = (p1 - pn)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(diff < 1e-5, "p differs by {diff}");
}

#[test]
fn gradient_matches_central_finite_differences_in_f64() {
    let mut rng = TestRng::new(3);
    let c = 30;
    let rows = random_logits(&mut rng, 1, c, 2.0);
    let q: Vec<f64> = (0..c).map(|_| 0.2 + 1.8 * rng.uniform()).collect();
    let y = 4usize;
    for alpha in [1.0, 1.25, 1.5, 2.0, 3.0] {
        let theta = Var::from_tensor(&tensor64(&rows)).unwrap();
        let m =
            ReferenceMeasure::from_tensor(&Tensor::new(q.as_slice(), &Device::Cpu).unwrap(), 1, c)
                .unwrap();
        let yt = Tensor::new(&[y as u32], &Device::Cpu).unwrap();
        let out = alpha_loss(theta.as_tensor(), &yt, &m, alpha, Backend::CpuFast).unwrap();
        let grads = out.loss.sum_all().unwrap().backward().unwrap();
        let g: Vec<Vec<f64>> = grads.get(theta.as_tensor()).unwrap().to_vec2().unwrap();
        let h = 1e-6;
        for k in 0..c {
            let mut plus = rows[0].clone();
            plus[k] += h;
            let mut minus = rows[0].clone();
            minus[k] -= h;
            let fd = (reference_loss(&plus, &q, alpha, y) - reference_loss(&minus, &q, alpha, y))
                / (2.0 * h);
            assert_close(
                g[0][k],
                fd,
                1e-5,
                1e-7,
                &format!("alpha={alpha} d loss / d theta[{k}]"),
            );
        }
    }
}

#[test]
fn softargmax_backward_matches_finite_differences() {
    let mut rng = TestRng::new(5);
    let c = 12;
    let rows = random_logits(&mut rng, 1, c, 1.0);
    let q: Vec<f64> = (0..c).map(|_| 0.3 + rng.uniform()).collect();
    // A fixed linear functional of p: L = Σ_j v_j p_j.
    let v: Vec<f64> = (0..c).map(|j| (j as f64 * 0.7).sin()).collect();
    for alpha in [1.0, 1.5, 2.0, 3.0] {
        for backend in [Backend::CpuFast, Backend::Generic] {
            let theta = Var::from_tensor(&tensor64(&rows)).unwrap();
            let m = ReferenceMeasure::from_tensor(
                &Tensor::new(q.as_slice(), &Device::Cpu).unwrap(),
                1,
                c,
            )
            .unwrap();
            let p = alpha_softargmax_with(theta.as_tensor(), &m, alpha, backend).unwrap();
            let vt = Tensor::new(v.as_slice(), &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            let l = (p * vt).unwrap().sum_all().unwrap();
            let g: Vec<Vec<f64>> = l
                .backward()
                .unwrap()
                .get(theta.as_tensor())
                .unwrap()
                .to_vec2()
                .unwrap();
            let value = |t: &[f64]| -> f64 {
                reference_softargmax(t, &q, alpha)
                    .iter()
                    .zip(&v)
                    .map(|(a, b)| a * b)
                    .sum()
            };
            let h = 1e-6;
            for k in 0..c {
                let mut plus = rows[0].clone();
                plus[k] += h;
                let mut minus = rows[0].clone();
                minus[k] -= h;
                let fd = (value(&plus) - value(&minus)) / (2.0 * h);
                assert_close(
                    g[0][k],
                    fd,
                    1e-4,
                    1e-6,
                    &format!("alpha={alpha} {backend:?} dL/dθ[{k}]"),
                );
            }
        }
    }
}

#[test]
fn cpu_and_generic_paths_give_the_same_numbers() {
    let mut rng = TestRng::new(99);
    let (b, c) = (6, 300);
    let rows: Vec<Vec<f64>> = random_logits(&mut rng, b, c, 10.0);
    let logits32 = tensor64(&rows).to_dtype(DType::F32).unwrap();
    let y = Tensor::new(&[0u32, 10, 299, 150, 7, 7], &Device::Cpu).unwrap();
    for alpha in [1.0, 1.25, 1.5, 2.0, 3.0] {
        for m in [
            ReferenceMeasure::unit(),
            ReferenceMeasure::uniform(c).unwrap(),
            ReferenceMeasure::unit().with_target_factor(0.05).unwrap(),
        ] {
            let mut results = Vec::new();
            for backend in [Backend::CpuFast, Backend::Generic] {
                let v = Var::from_tensor(&logits32).unwrap();
                let out = alpha_loss(v.as_tensor(), &y, &m, alpha, backend).unwrap();
                let grads = out.loss.sum_all().unwrap().backward().unwrap();
                let g: Vec<Vec<f32>> = grads.get(v.as_tensor()).unwrap().to_vec2().unwrap();
                let l: Vec<f32> = out.loss.to_vec1().unwrap();
                results.push((l, g, out.stats));
            }
            let (l0, g0, s0) = &results[0];
            let (l1, g1, s1) = &results[1];
            for i in 0..b {
                assert_close(
                    l1[i] as f64,
                    l0[i] as f64,
                    1e-5,
                    1e-6,
                    &format!("alpha={alpha} loss[{i}]"),
                );
                for j in 0..c {
                    assert_close(
                        g1[i][j] as f64,
                        g0[i][j] as f64,
                        1e-5,
                        1e-6,
                        &format!("alpha={alpha} grad[{i},{j}]"),
                    );
                }
            }
            if alpha > 1.0 {
                assert_eq!(s0.max_support, s1.max_support, "alpha={alpha} support");
            }
        }
    }
}

#[test]
fn rows_of_p_sum_to_one_for_many_shapes() {
    let mut rng = TestRng::new(1234);
    for &c in &[1usize, 2, 3, 17, 1000, 20000] {
        let rows = random_logits(&mut rng, 2, c, 20.0);
        let t = tensor64(&rows).to_dtype(DType::F32).unwrap();
        for alpha in [1.0, 1.25, 1.5, 2.0, 3.0] {
            for m in [
                ReferenceMeasure::unit(),
                ReferenceMeasure::uniform(c).unwrap(),
            ] {
                let p = alpha_softargmax_with(&t, &m, alpha, Backend::CpuFast).unwrap();
                let sums: Vec<f64> = p
                    .to_dtype(DType::F64)
                    .unwrap()
                    .sum(1)
                    .unwrap()
                    .to_vec1()
                    .unwrap();
                for s in sums {
                    assert!(
                        (s - 1.0).abs() < 1e-6,
                        "C={c} alpha={alpha}: row sums to {s}"
                    );
                }
            }
        }
    }
}
