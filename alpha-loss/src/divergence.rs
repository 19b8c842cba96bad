//! Scalar pieces of the α-divergence: the generator f_α, its derivative ("α-log") and the
//! derivative of its conjugate ("α-exp"), all in f64.
//!
//! With d = α − 1:
//! - f_α(u) = (u^α − 1 − α(u − 1)) / (α d), the generator (f_1(u) = u ln u − u + 1);
//! - f_α'(u) = (u^d − 1) / d;
//! - (f_α*)'(v) = [1 + d v]_+^{1/d}, clipped at zero before the fractional power.

/// The α-divergence generator f_α(u) for u ≥ 0; α = 1 is the KL generator u ln u − u + 1.
pub fn generator(u: f64, alpha: f64) -> f64 {
    if alpha == 1.0 {
        if u == 0.0 {
            1.0
        } else {
            u * u.ln() - u + 1.0
        }
    } else {
        (u.powf(alpha) - 1.0 - alpha * (u - 1.0)) / (alpha * (alpha - 1.0))
    }
}

/// f_α'(u) = (u^{α−1} − 1)/(α − 1) ("α-log"); ln u at α = 1.
pub fn generator_derivative(u: f64, alpha: f64) -> f64 {
    if alpha == 1.0 {
        u.ln()
    } else {
        let d = alpha - 1.0;
        (u.powf(d) - 1.0) / d
    }
}

/// (f_α*)'(v) = [1 + (α−1) v]_+^{1/(α−1)} ("α-exp"); e^v at α = 1. The base is clipped at zero
/// before the power, so the result is 0 (never NaN) outside the support.
pub fn conjugate_derivative(v: f64, alpha: f64) -> f64 {
    if alpha == 1.0 {
        v.exp()
    } else {
        let d = alpha - 1.0;
        let base = 1.0 + d * v;
        if base <= 0.0 {
            0.0
        } else {
            base.powf(1.0 / d)
        }
    }
}

/// D_f(p : q) = Σ_j q_j f_α(p_j / q_j), the α-divergence between a distribution and a positive measure.
pub fn divergence(p: &[f64], q: &[f64], alpha: f64) -> f64 {
    p.iter()
        .zip(q)
        .map(|(&pj, &qj)| qj * generator(pj / qj, alpha))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_vanishes_at_one_and_matches_kl_limit() {
        for alpha in [1.0, 1.25, 1.5, 2.0, 3.0] {
            assert!(generator(1.0, alpha).abs() < 1e-15);
            assert!(generator_derivative(1.0, alpha).abs() < 1e-15);
        }
        // f_α(0) = 1/α, the value that makes the loss ignore classes outside the support.
        assert!((generator(0.0, 1.5) - 1.0 / 1.5).abs() < 1e-15);
        // α → 1 continuity of the generator: compare α = 1 + 1e-7 with the KL generator.
        for u in [0.1, 0.5, 2.0, 7.0] {
            let near = generator(u, 1.0 + 1e-7);
            assert!((near - generator(u, 1.0)).abs() < 1e-6, "u={u}");
        }
    }

    #[test]
    fn conjugate_derivative_inverts_generator_derivative() {
        for alpha in [1.0, 1.5, 2.0, 3.0] {
            for u in [0.2, 1.0, 3.5] {
                let v = generator_derivative(u, alpha);
                assert!((conjugate_derivative(v, alpha) - u).abs() < 1e-12);
            }
        }
        // Clipped, not NaN, below the support threshold −1/(α−1).
        assert_eq!(conjugate_derivative(-5.0, 1.5), 0.0);
    }
}
