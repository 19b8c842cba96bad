//! Small random helpers and seed mixing for the synthetic voices.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A uniform draw from `[low, high)`.
pub(super) fn uniform(rng: &mut impl Rng, low: f32, high: f32) -> f32 {
    low + (high - low) * rng.random::<f32>()
}

/// Zero-mean, unit-variance uniform noise: a cheap stand-in for Gaussian noise per sample.
pub(super) fn white_noise(rng: &mut impl Rng) -> f32 {
    (rng.random::<f32>() - 0.5) * 12f32.sqrt()
}

/// A standard normal draw (Box–Muller).
pub(super) fn gaussian(rng: &mut impl Rng) -> f32 {
    let u1: f32 = 1.0 - rng.random::<f32>();
    let u2: f32 = rng.random::<f32>();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// A generator determined only by `parts` (SplitMix64 mixing of each part).
pub(super) fn seeded_rng(parts: &[u64]) -> ChaCha8Rng {
    let mut state = 0x243F_6A88_85A3_08D3u64;
    for &part in parts {
        state = splitmix64(state ^ splitmix64(part));
    }
    ChaCha8Rng::seed_from_u64(state)
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
