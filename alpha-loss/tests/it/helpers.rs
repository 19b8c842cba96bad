//! Shared helpers: tensors from nested vectors, tolerance checks, an f64 reference solver.

use candle_core::{Device, Tensor};

/// A `[B, C]` f32 tensor.
pub fn matrix(rows: &[Vec<f64>]) -> Tensor {
    let b = rows.len();
    let c = rows.first().map_or(0, |r| r.len());
    let flat: Vec<f32> = rows.iter().flatten().map(|v| *v as f32).collect();
    Tensor::from_vec(flat, (b, c), &Device::Cpu).unwrap()
}

/// Asserts |actual − expected| ≤ rel·|expected| + abs.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, rel: f64, abs: f64, what: &str) {
    let err = (actual - expected).abs();
    assert!(
        err <= rel * expected.abs() + abs,
        "{what}: got {actual}, expected {expected} (error {err:e})"
    );
}

/// Plain f64 bisection reference (300 steps on the full row, no filtering), for tests that
/// build inputs in Rust. Returns p.
pub fn reference_softargmax(theta: &[f64], q: &[f64], alpha: f64) -> Vec<f64> {
    if alpha == 1.0 {
        let m = theta
            .iter()
            .zip(q)
            .map(|(t, q)| t + q.ln())
            .fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = theta
            .iter()
            .zip(q)
            .map(|(t, q)| (t + q.ln() - m).exp())
            .collect();
        let s: f64 = e.iter().sum();
        return e.iter().map(|v| v / s).collect();
    }
    let d = alpha - 1.0;
    let fp = |x: f64| (x.powf(d) - 1.0) / d;
    let mut lo = theta
        .iter()
        .zip(q)
        .map(|(t, q)| t - fp(1.0 / q))
        .fold(f64::NEG_INFINITY, f64::max);
    let mut hi =
        theta.iter().copied().fold(f64::NEG_INFINITY, f64::max) - fp(1.0 / q.iter().sum::<f64>());
    let p_at = |t: f64| -> Vec<f64> {
        theta
            .iter()
            .zip(q)
            .map(|(th, q)| q * (1.0 + d * (th - t)).max(0.0).powf(1.0 / d))
            .collect()
    };
    for _ in 0..300 {
        let mid = 0.5 * (lo + hi);
        if p_at(mid).iter().sum::<f64>() >= 1.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    p_at(0.5 * (lo + hi))
}

/// The loss by its definition: <p, θ> − D(p, q) + D(e_y, q) − θ_y.
pub fn reference_loss(theta: &[f64], q: &[f64], alpha: f64, y: usize) -> f64 {
    let p = reference_softargmax(theta, q, alpha);
    let mut e = vec![0.0; theta.len()];
    e[y] = 1.0;
    let dot: f64 = p.iter().zip(theta).map(|(a, b)| a * b).sum();
    dot - alpha_loss::divergence::divergence(&p, q, alpha)
        + alpha_loss::divergence::divergence(&e, q, alpha)
        - theta[y]
}

/// A small deterministic pseudo-random generator (xorshift) for test inputs.
pub struct TestRng(u64);

impl TestRng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Approximately standard normal (sum of 12 uniforms).
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}
