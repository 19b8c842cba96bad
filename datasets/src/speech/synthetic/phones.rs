//! The phone inventory and the plan of an utterance: a sequence of segments with targets.

use super::random::uniform;
use super::voice::VoiceIdentity;
use rand::Rng;

/// Number of vowels in the inventory.
pub const NUM_VOWELS: usize = 8;

/// F1..F3 in Hz of the vowels for a reference (long) vocal tract, Peterson & Barney style averages.
const VOWEL_FORMANTS_HZ: [[f32; 3]; NUM_VOWELS] = [
    [270.0, 2290.0, 3010.0], // i
    [390.0, 1990.0, 2550.0], // ɪ
    [530.0, 1840.0, 2480.0], // ɛ
    [660.0, 1720.0, 2410.0], // æ
    [730.0, 1090.0, 2440.0], // ɑ
    [570.0, 840.0, 2410.0],  // ɔ
    [300.0, 870.0, 2240.0],  // u
    [640.0, 1190.0, 2390.0], // ʌ
];

/// Fourth formant of the reference tract (mostly a speaker cue).
const F4_HZ: f32 = 3500.0;

/// Fricative / burst noise centres in Hz (s, ʃ, f, x-like) for the reference tract.
const NOISE_CENTRES_HZ: [f32; 4] = [5200.0, 2900.0, 4200.0, 1800.0];

/// What a segment sounds like: the targets the renderer glides towards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// Length in samples.
    pub samples: usize,
    /// F1..F4 targets in Hz (already scaled to the speaker).
    pub formants_hz: [f32; 4],
    /// Amplitude of the voiced source.
    pub voice_gain: f32,
    /// Amplitude of the frication / burst noise.
    pub noise_gain: f32,
    /// Centre of the frication noise in Hz.
    pub noise_centre_hz: f32,
    /// Pitch accent of this segment in semitones relative to the declination line.
    pub accent_semitones: f32,
}

/// Plans segments until `total_samples` are covered (the last one is cut to fit).
pub fn plan_utterance(
    voice: &VoiceIdentity,
    total_samples: usize,
    sample_rate_hz: f32,
    rng: &mut impl Rng,
) -> Vec<Segment> {
    let ms = |d: f32| ((d / voice.rate) * sample_rate_hz / 1000.0).max(1.0) as usize;
    let mut segments = Vec::new();
    let mut covered = 0usize;
    let mut syllables_in_word = 0;
    let mut word_length = rng.random_range(1..=4);
    let mut last_formants = vowel_formants(voice, 4);
    while covered < total_samples {
        let accent = voice.f0_range_semitones * uniform(rng, -0.4, 1.0);
        if syllables_in_word == word_length {
            segments.push(silence(ms(uniform(rng, 60.0, 220.0)), last_formants));
            syllables_in_word = 0;
            word_length = rng.random_range(1..=4);
        }
        let vowel = rng.random_range(0..NUM_VOWELS);
        let formants = vowel_formants(voice, vowel);
        match rng.random_range(0..6) {
            0 | 1 => {
                let centre = NOISE_CENTRES_HZ[rng.random_range(0..NOISE_CENTRES_HZ.len())];
                let voiced = rng.random_bool(0.3);
                segments.push(Segment {
                    samples: ms(uniform(rng, 60.0, 130.0)),
                    formants_hz: formants,
                    voice_gain: if voiced { 0.25 } else { 0.0 },
                    noise_gain: uniform(rng, 0.15, 0.35),
                    noise_centre_hz: centre * voice.formant_scale,
                    accent_semitones: accent,
                });
            }
            2 | 3 => {
                let centre = NOISE_CENTRES_HZ[rng.random_range(0..NOISE_CENTRES_HZ.len())];
                segments.push(silence(ms(uniform(rng, 30.0, 70.0)), last_formants));
                segments.push(Segment {
                    samples: ms(uniform(rng, 8.0, 20.0)),
                    formants_hz: formants,
                    voice_gain: 0.0,
                    noise_gain: uniform(rng, 0.3, 0.6),
                    noise_centre_hz: centre * voice.formant_scale,
                    accent_semitones: accent,
                });
            }
            4 => segments.push(Segment {
                samples: ms(uniform(rng, 50.0, 90.0)),
                formants_hz: scale([250.0, 1100.0, 2300.0, F4_HZ], voice.formant_scale),
                voice_gain: 0.45,
                noise_gain: 0.0,
                noise_centre_hz: 1000.0,
                accent_semitones: accent,
            }),
            _ => {}
        }
        segments.push(Segment {
            samples: ms(uniform(rng, 80.0, 220.0)),
            formants_hz: formants,
            voice_gain: uniform(rng, 0.7, 1.0),
            noise_gain: 0.0,
            noise_centre_hz: 1000.0,
            accent_semitones: accent,
        });
        last_formants = formants;
        syllables_in_word += 1;
        covered = segments.iter().map(|s| s.samples).sum();
    }
    let mut excess = covered - total_samples;
    while excess > 0 {
        let Some(last) = segments.last_mut() else {
            break;
        };
        if last.samples > excess {
            last.samples -= excess;
            excess = 0;
        } else {
            excess -= last.samples;
            segments.pop();
        }
    }
    segments
}

fn vowel_formants(voice: &VoiceIdentity, vowel: usize) -> [f32; 4] {
    let [f1, f2, f3] = VOWEL_FORMANTS_HZ[vowel];
    let [o1, o2, o3] = voice.vowel_offsets[vowel];
    scale([f1 * o1, f2 * o2, f3 * o3, F4_HZ], voice.formant_scale)
}

fn scale(formants: [f32; 4], factor: f32) -> [f32; 4] {
    formants.map(|f| f * factor)
}

fn silence(samples: usize, formants_hz: [f32; 4]) -> Segment {
    Segment {
        samples,
        formants_hz,
        voice_gain: 0.0,
        noise_gain: 0.0,
        noise_centre_hz: 1000.0,
        accent_semitones: 0.0,
    }
}
