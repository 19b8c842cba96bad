//! A synthetic speaker's identity: the source-filter parameters that stay fixed across utterances.

use super::phones::NUM_VOWELS;
use super::random::{gaussian, uniform};
use rand::Rng;

/// Source-filter parameters of one synthetic speaker.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceIdentity {
    /// Median fundamental frequency in Hz (85–150 for low voices, 160–250 for high voices).
    pub f0_hz: f32,
    /// Typical pitch excursion of accents, in semitones.
    pub f0_range_semitones: f32,
    /// Formant scaling: the inverse of the relative vocal-tract length (above 1 = shorter tract).
    pub formant_scale: f32,
    /// Spectral tilt: one-pole low-pass coefficient on the glottal source (higher = darker voice).
    pub tilt: f32,
    /// Cycle-to-cycle period perturbation (relative standard deviation).
    pub jitter: f32,
    /// Cycle-to-cycle amplitude perturbation (relative standard deviation).
    pub shimmer: f32,
    /// Aspiration noise level relative to voicing (breathiness).
    pub breathiness: f32,
    /// Speaking-rate factor (above 1 = faster).
    pub rate: f32,
    /// Open quotient of the glottal pulse (fraction of the period the glottis is open).
    pub open_quotient: f32,
    /// Per-vowel multiplicative offsets of F1..F3: the speaker's accent.
    pub vowel_offsets: [[f32; 3]; NUM_VOWELS],
}

impl VoiceIdentity {
    /// Draws an identity; speakers overlap in every single parameter, so telling them apart
    /// needs several cues at once.
    pub fn draw(rng: &mut impl Rng) -> Self {
        let high_voice = rng.random_bool(0.5);
        let (f0_hz, formant_scale) = if high_voice {
            (uniform(rng, 160.0, 250.0), uniform(rng, 1.0, 1.18))
        } else {
            (uniform(rng, 85.0, 150.0), uniform(rng, 0.86, 1.02))
        };
        let mut vowel_offsets = [[1.0; 3]; NUM_VOWELS];
        for vowel in &mut vowel_offsets {
            for offset in vowel.iter_mut() {
                *offset = (0.06 * gaussian(rng)).exp();
            }
        }
        Self {
            f0_hz,
            f0_range_semitones: uniform(rng, 1.5, 6.0),
            formant_scale,
            tilt: uniform(rng, 0.4, 0.9),
            jitter: uniform(rng, 0.003, 0.02),
            shimmer: uniform(rng, 0.02, 0.12),
            breathiness: uniform(rng, 0.02, 0.3),
            rate: uniform(rng, 0.8, 1.25),
            open_quotient: uniform(rng, 0.45, 0.75),
            vowel_offsets,
        }
    }
}
