//! The source-filter renderer: glottal pulses plus aspiration, a cascade of formant resonators,
//! and a parallel frication branch, with parameters gliding between segment targets.

use super::phones::Segment;
use super::random::{gaussian, uniform, white_noise};
use super::voice::VoiceIdentity;
use rand::Rng;
use std::f32::consts::PI;

/// Formant bandwidths in Hz for F1..F4.
const BANDWIDTHS_HZ: [f32; 4] = [70.0, 100.0, 140.0, 200.0];
/// Resonator coefficients are refreshed every this many samples.
const CONTROL_PERIOD: usize = 32;
/// Time constant of the glide between segment targets, in seconds (coarticulation).
const GLIDE_S: f32 = 0.012;

/// A two-pole resonator with unit gain at DC (Klatt's cascade form).
#[derive(Debug, Clone, Copy, Default)]
struct Resonator {
    a: f32,
    b: f32,
    c: f32,
    y1: f32,
    y2: f32,
}

impl Resonator {
    fn tune(&mut self, centre_hz: f32, bandwidth_hz: f32, sample_rate_hz: f32) {
        let centre = centre_hz.min(0.45 * sample_rate_hz);
        let r = (-PI * bandwidth_hz / sample_rate_hz).exp();
        self.c = -r * r;
        self.b = 2.0 * r * (2.0 * PI * centre / sample_rate_hz).cos();
        self.a = 1.0 - self.b - self.c;
    }

    fn step(&mut self, x: f32) -> f32 {
        let y = self.a * x + self.b * self.y1 + self.c * self.y2;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }
}

/// Renders `segments` for `voice` at `sample_rate_hz`; pitch, jitter, shimmer and noise come from `rng`.
pub fn render(
    voice: &VoiceIdentity,
    segments: &[Segment],
    sample_rate_hz: f32,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let total: usize = segments.iter().map(|s| s.samples).sum();
    let mut out = Vec::with_capacity(total);
    let Some(first) = segments.first() else {
        return out;
    };
    let glide = 1.0 - (-(CONTROL_PERIOD as f32) / (GLIDE_S * sample_rate_hz)).exp();
    let base_f0 = voice.f0_hz * (0.05 * gaussian(rng)).exp();
    let declination_st = uniform(rng, 0.5, 2.5);

    let mut formants = first.formants_hz;
    let (mut voice_gain, mut noise_gain, mut noise_centre, mut accent) =
        (0.0f32, 0.0f32, first.noise_centre_hz, 0.0f32);
    let mut tract = [Resonator::default(); 4];
    let mut frication = Resonator::default();
    let (mut phase, mut period, mut pulse_gain) = (0.0f32, sample_rate_hz / base_f0, 1.0f32);
    let (mut previous_pulse, mut tilted) = (0.0f32, 0.0f32);

    for segment in segments {
        for _ in 0..segment.samples {
            let n = out.len();
            if n % CONTROL_PERIOD == 0 {
                for (f, target) in formants.iter_mut().zip(segment.formants_hz) {
                    *f += glide * (target - *f);
                }
                voice_gain += glide * (segment.voice_gain - voice_gain);
                noise_gain += glide * (segment.noise_gain - noise_gain);
                noise_centre += glide * (segment.noise_centre_hz - noise_centre);
                accent += 0.3 * glide * (segment.accent_semitones - accent);
                for ((resonator, &f), bw) in tract.iter_mut().zip(&formants).zip(BANDWIDTHS_HZ) {
                    resonator.tune(f, bw, sample_rate_hz);
                }
                frication.tune(noise_centre, 0.35 * noise_centre, sample_rate_hz);
            }
            // Glottal source: a Rosenberg pulse per period; its derivative includes lip radiation.
            phase += 1.0;
            if phase >= period {
                phase -= period;
                let progress = n as f32 / total as f32;
                let semitones = accent - declination_st * progress;
                let f0 = base_f0 * 2f32.powf(semitones / 12.0);
                period = sample_rate_hz / (f0 * (1.0 + voice.jitter * gaussian(rng))).max(40.0);
                pulse_gain = (1.0 + voice.shimmer * gaussian(rng)).max(0.0);
            }
            let t = phase / period;
            let open = voice.open_quotient;
            let rise = 0.7 * open;
            let pulse = if t < rise {
                0.5 * (1.0 - (PI * t / rise).cos())
            } else if t < open {
                (0.5 * PI * (t - rise) / (open - rise)).cos()
            } else {
                0.0
            };
            let derivative = (pulse - previous_pulse) * period * 0.25;
            previous_pulse = pulse;
            tilted = (1.0 - voice.tilt) * derivative + voice.tilt * tilted;
            let aspiration =
                voice.breathiness * white_noise(rng) * if t < open { 1.0 } else { 0.4 };
            let mut sample = voice_gain * (pulse_gain * tilted + aspiration);
            for resonator in &mut tract {
                sample = resonator.step(sample);
            }
            sample += noise_gain * frication.step(white_noise(rng));
            out.push(sample);
        }
    }
    out
}
