//! Real-time factor of `speaker_app::fbank` (wespeaker inference settings: 80 bins, Hamming,
//! CMN) on one hour of 16 kHz speech-like signal in 10 s utterances, on one thread; then the
//! batched path on all of rayon's threads.
//!
//! `cargo bench -p speaker-app --bench fbank`; `benches/fbank_peers.py` measures
//! kaldi-native-fbank and torchaudio on the same kind of input.

use std::time::Instant;

use speaker_app::fbank::{Fbank, FbankConfig};

const SAMPLE_RATE: usize = 16_000;
const UTTERANCE_SECONDS: usize = 10;
/// Distinct utterances generated; the hour cycles through them.
const POOL: usize = 12;
const HOUR_UTTERANCES: usize = 360;
const REPEATS: usize = 3;

/// A 10 s "voiced" signal at int16 scale: 24 harmonics of a gliding pitch, syllable-rate
/// amplitude modulation, and white noise (xorshift, so no extra dependency).
fn speech_like(seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    let f0_base = 100.0 + 15.0 * seed as f32;
    let mut phase = 0.0f32;
    (0..SAMPLE_RATE * UTTERANCE_SECONDS)
        .map(|n| {
            let t = n as f32 / SAMPLE_RATE as f32;
            let f0 = f0_base + 30.0 * (2.0 * std::f32::consts::PI * 1.3 * t).sin();
            phase = (phase + 2.0 * std::f32::consts::PI * f0 / SAMPLE_RATE as f32)
                % (2.0 * std::f32::consts::PI);
            let voiced: f32 = (1..=24)
                .map(|h| 0.8f32.powi(h) * (h as f32 * phase).sin())
                .sum();
            let envelope = 0.5 + 0.5 * (2.0 * std::f32::consts::PI * 3.0 * t).sin().powi(2);
            (2000.0 * envelope * voiced + 600.0 * noise()).round()
        })
        .collect()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let pool: Vec<Vec<f32>> = (0..POOL as u64).map(speech_like).collect();
    let fbank = Fbank::new(FbankConfig::wespeaker()).expect("wespeaker settings are valid");
    let audio_seconds = (HOUR_UTTERANCES * UTTERANCE_SECONDS) as f64;
    // Warm-up (page in the tables, settle the clock).
    for utterance in &pool {
        std::hint::black_box(fbank.compute(utterance).expect("10 s is long enough"));
    }

    let mut single = Vec::new();
    let mut checksum = 0.0f64;
    for _ in 0..REPEATS {
        let start = Instant::now();
        for i in 0..HOUR_UTTERANCES {
            let features = fbank.compute(&pool[i % POOL]).expect("10 s is long enough");
            checksum += f64::from(std::hint::black_box(features).data[0]);
        }
        single.push(audio_seconds / start.elapsed().as_secs_f64());
    }
    println!(
        "fbank (ours, 1 thread): 1 h of 16 kHz audio in 10 s utterances: real-time factor \
         median {:.0}x, best {:.0}x ({REPEATS} runs; checksum {checksum:.3})",
        median(single.clone()),
        single.iter().copied().fold(0.0, f64::max),
    );

    // Batched: 120 chunks of 3 s (a wespeaker training batch is 128 x 2-3 s) per call.
    let chunk = 3 * SAMPLE_RATE;
    let batch: Vec<f32> = (0..120)
        .flat_map(|b| {
            let u = &pool[b % POOL];
            let offset = (b * 7919) % (u.len() - chunk);
            u[offset..offset + chunk].to_vec()
        })
        .collect();
    let batch_seconds = (120 * 3) as f64;
    let calls = 10; // one hour
    let mut batched = Vec::new();
    for _ in 0..REPEATS {
        let start = Instant::now();
        for call in 0..calls {
            let out = fbank
                .compute_batch(&batch, 120, call)
                .expect("3 s chunks are long enough");
            std::hint::black_box(out);
        }
        batched.push(batch_seconds * calls as f64 / start.elapsed().as_secs_f64());
    }
    println!(
        "fbank (ours, compute_batch, {} rayon threads): real-time factor median {:.0}x, best {:.0}x",
        rayon::current_num_threads(),
        median(batched.clone()),
        batched.iter().copied().fold(0.0, f64::max),
    );
}
