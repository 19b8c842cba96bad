//! Speech training chunks: speed perturbation, noise at an SNR, reverberation, MUSAN / RIR
//! folders, and the speed-perturbed label space of [`TrainChunks`].

use std::path::Path;

use datasets::loader::{item_rng, Source};
use datasets::speech::augment::{
    convolve_truncated, level_db, mix_at_snr, peak_normalize, reverberate, speed_chunk,
    speed_perturb, Augmentation, Augmenter, NoiseKind,
};
use datasets::speech::chunk::ChunkConfig;
use datasets::speech::corpus::Utterances;
use datasets::speech::synthetic::{SyntheticVoices, SyntheticVoicesConfig};
use datasets::speech::training::{ChunkSettings, TrainChunks};

fn sine(freq_hz: f64, seconds: f64, amplitude: f32) -> Vec<f32> {
    let n = (seconds * 16_000.0) as usize;
    (0..n)
        .map(|i| {
            amplitude * (2.0 * std::f64::consts::PI * freq_hz * i as f64 / 16_000.0).sin() as f32
        })
        .collect()
}

/// Frequency of a pure tone from its rising zero crossings (the ends trimmed).
fn tone_frequency(x: &[f32]) -> f64 {
    let x = &x[400..x.len() - 400];
    let crossings: Vec<usize> = (1..x.len())
        .filter(|&i| x[i - 1] < 0.0 && x[i] >= 0.0)
        .collect();
    let span = (crossings[crossings.len() - 1] - crossings[0]) as f64 / 16_000.0;
    (crossings.len() - 1) as f64 / span
}

#[test]
fn speed_perturbation_changes_length_and_pitch() {
    let tone = sine(500.0, 3.0, 0.5);
    for (speed, expected_hz) in [(0.9, 450.0), (1.1, 550.0)] {
        let out = speed_perturb(&tone, speed).unwrap();
        let expected_len = (tone.len() as f64 / speed).ceil() as usize;
        assert!(
            out.len().abs_diff(expected_len) <= 1,
            "{speed}: {} vs {expected_len}",
            out.len()
        );
        let f = tone_frequency(&out);
        assert!((f - expected_hz).abs() < 1.0, "speed {speed}: {f} Hz");

        let chunk = ChunkConfig {
            chunk_samples: 32_000,
            min_samples: 16_000,
        };
        let mut rng = item_rng(1, 0, 0);
        let c = speed_chunk(&tone, &chunk, speed, &mut rng)
            .unwrap()
            .unwrap();
        assert_eq!(c.len(), 32_000);
        let f = tone_frequency(&c);
        assert!(
            (f - expected_hz).abs() < 1.0,
            "chunk at speed {speed}: {f} Hz"
        );
        // Level is kept, also at the chunk's edges (the resampler's transient is cut off).
        let rms = |x: &[f32]| (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
        let full = 0.5 / 2f32.sqrt();
        for part in [&c[..800], &c[c.len() - 800..], &c[..]] {
            assert!(
                (rms(part) - full).abs() < 0.01 * full,
                "speed {speed}: rms {}",
                rms(part)
            );
        }
    }
    assert_eq!(speed_perturb(&tone, 1.0).unwrap(), tone);
    assert!(speed_perturb(&tone, 3.0).is_err());
}

#[test]
fn noise_is_added_at_the_requested_snr() {
    let speech = sine(300.0, 1.0, 0.5);
    let mut state = 12345u64;
    let noise: Vec<f32> = (0..speech.len())
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.6
        })
        .collect();
    for snr in [0.0, 5.0, 12.5, 30.0] {
        let mixed = mix_at_snr(&speech, &noise, snr);
        let added: Vec<f32> = mixed.iter().zip(&speech).map(|(y, s)| y - s).collect();
        let p = |x: &[f32]| x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len() as f64;
        let measured = 10.0 * (p(&speech) / p(&added)).log10();
        assert!(
            (measured - snr).abs() < 0.05,
            "asked {snr} dB, measured {measured} dB"
        );
    }
    assert!((level_db(&speech) - 10.0 * (0.125f64 + 1e-4).log10()).abs() < 1e-3);
    let mut x = vec![0.5f32, -2.0, 1.0];
    peak_normalize(&mut x);
    assert!((x[1] + 2.0 / 2.0001).abs() < 1e-6);
}

#[test]
fn reverb_is_a_convolution_with_a_unit_norm_rir() {
    let x: Vec<f32> = (0..300)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    let h: Vec<f32> = (0..45)
        .map(|i| ((i * 13 % 17) as f32 / 8.0) - 1.0)
        .collect();
    let fast = convolve_truncated(&x, &h);
    for n in 0..x.len() {
        let direct: f32 = (0..h.len())
            .filter(|&k| k <= n)
            .map(|k| h[k] * x[n - k])
            .sum();
        assert!(
            (fast[n] - direct).abs() < 1e-4,
            "sample {n}: {} vs {direct}",
            fast[n]
        );
    }
    // A delayed impulse of any gain shifts the signal (the RIR is normalized to unit norm).
    let mut delta = vec![0f32; 10];
    delta[3] = 7.0;
    let shifted = reverberate(&x, &delta);
    assert_eq!(shifted.len(), x.len());
    for n in 3..x.len() {
        assert!((shifted[n] - x[n - 3]).abs() < 1e-5);
    }
}

fn write_wav(path: &Path, samples: &[f32]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in samples {
        w.write_sample((s * 32767.0).round() as i16).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn augmenter_adds_musan_noise_or_reverb() {
    let dir = tempfile::tempdir().unwrap();
    let musan = dir.path().join("musan");
    write_wav(&musan.join("music/a/m.wav"), &sine(1000.0, 0.5, 0.3));
    let rir = dir.path().join("rir");
    let mut delta = vec![0f32; 100];
    delta[0] = 0.5;
    write_wav(&rir.join("room1/r.wav"), &delta);
    let speech = sine(200.0, 2.0, 0.4);

    let noisy = Augmenter::new(Some(&musan), None, 1.0).unwrap();
    let mut chunk = speech.clone();
    match noisy.apply(&mut chunk, &mut item_rng(3, 0, 0)).unwrap() {
        Augmentation::Noise(NoiseKind::Music, snr) => assert!((5.0..=15.0).contains(&snr)),
        other => panic!("expected music noise, got {other:?}"),
    }
    let peak = chunk.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(
        (peak - 1.0).abs() < 1e-3,
        "augmented chunks are peak-normalized: {peak}"
    );

    let reverb = Augmenter::new(None, Some(&rir), 1.0).unwrap();
    let mut chunk = speech.clone();
    assert_eq!(
        reverb.apply(&mut chunk, &mut item_rng(3, 0, 0)).unwrap(),
        Augmentation::Reverb
    );
    let scale = 1.0 / (0.4 + 1e-4);
    let worst = chunk
        .iter()
        .zip(&speech)
        .map(|(y, s)| (y - s * scale).abs())
        .fold(0f32, f32::max);
    assert!(
        worst < 2e-3,
        "delta RIR must leave the signal as is (peak-normalized): {worst}"
    );

    let never = Augmenter::new(Some(&musan), Some(&rir), 0.0).unwrap();
    let mut chunk = speech.clone();
    assert_eq!(
        never.apply(&mut chunk, &mut item_rng(3, 0, 0)).unwrap(),
        Augmentation::None
    );
    assert_eq!(chunk, speech);

    let err = Augmenter::new(Some(&dir.path().join("nothing")), None, 0.6).unwrap_err();
    assert!(format!("{err:#}").contains("not a folder"), "{err:#}");
}

#[test]
fn speed_perturbed_items_are_extra_classes() {
    let voices = SyntheticVoices::new(SyntheticVoicesConfig {
        num_speakers: 3,
        utterances_per_speaker: 2,
        ..SyntheticVoicesConfig::default()
    })
    .unwrap();
    let utts = Utterances::Synthetic {
        voices,
        speakers: vec![0, 1, 2],
        per_speaker: 2,
    };
    let mut settings = ChunkSettings {
        chunk_seconds: 2.0,
        min_seconds: 1.0,
        speed_perturb: true,
        augmenter: Augmenter::default(),
    };
    let source = TrainChunks::new(utts.clone(), &settings).unwrap();
    assert_eq!(source.len(), 18);
    assert_eq!(source.num_classes(), 9);
    let labels: Vec<u32> = (0..18).map(|i| source.label(i)).collect();
    assert_eq!(
        labels,
        vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8]
    );
    assert_eq!(source.labels().item(7), (1, 0.9));
    assert_eq!(source.labels().item(13), (1, 1.1));
    let a = source.load(13, &mut item_rng(5, 1, 13)).unwrap();
    let b = source.load(13, &mut item_rng(5, 1, 13)).unwrap();
    assert_eq!(a, b, "a chunk is a function of (seed, epoch, index)");
    assert_eq!(a.shape, vec![32_000]);

    settings.speed_perturb = false;
    let plain = TrainChunks::new(utts, &settings).unwrap();
    assert_eq!((plain.len(), plain.num_classes()), (6, 3));
}
