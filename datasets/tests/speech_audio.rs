//! Speech audio: decoding each format against independent references (hound, sox, ffmpeg
//! fixtures made by `fixtures/speech/make_fixtures.sh`), resampling accuracy, WAV writing,
//! and clear errors for broken files.

use datasets::speech::audio::{
    decode_bytes, decode_file, load_mono, mix_to_mono, resample, write_wav_pcm16,
    AAC_PRIMING_FRAMES,
};
use datasets::DataError;
use std::f64::consts::TAU;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/speech")
        .join(name)
}

/// The reference samples of a 16-bit WAV, read with hound (independent of symphonia).
fn hound_samples(name: &str) -> (Vec<f32>, u32) {
    let mut reader = hound::WavReader::open(fixture(name)).expect("fixture WAV opens with hound");
    let rate = reader.spec().sample_rate;
    let samples = reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("valid sample")) / 32768.0)
        .collect();
    (samples, rate)
}

/// Signal-to-noise ratio of `estimate` against `reference` over their common length, in dB.
fn snr_db(reference: &[f32], estimate: &[f32]) -> f64 {
    let (signal, noise) = reference
        .iter()
        .zip(estimate)
        .fold((0.0f64, 0.0f64), |(s, n), (&r, &e)| {
            (s + f64::from(r).powi(2), n + f64::from(r - e).powi(2))
        });
    10.0 * (signal / noise.max(1e-30)).log10()
}

/// Normalised correlation of `a[i]` with `b[i + lag]`.
fn correlation_at(a: &[f32], b: &[f32], lag: isize) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &x) in a.iter().enumerate() {
        let j = i as isize + lag;
        if j < 0 || j as usize >= b.len() {
            continue;
        }
        let y = b[j as usize];
        ab += f64::from(x) * f64::from(y);
        aa += f64::from(x).powi(2);
        bb += f64::from(y).powi(2);
    }
    ab / (aa * bb).sqrt().max(1e-30)
}

/// Least-squares amplitude of a `freq_hz` sinusoid in `x`, and the SNR of that fit in dB.
fn sine_fit(x: &[f32], freq_hz: f64, rate_hz: f64) -> (f64, f64) {
    let (mut ss, mut sc, mut cc, mut xs, mut xc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (n, &v) in x.iter().enumerate() {
        let (s, c) = (TAU * freq_hz * n as f64 / rate_hz).sin_cos();
        (ss, sc, cc, xs, xc) = (
            ss + s * s,
            sc + s * c,
            cc + c * c,
            xs + s * f64::from(v),
            xc + c * f64::from(v),
        );
    }
    let det = ss * cc - sc * sc;
    let (a, b) = ((xs * cc - xc * sc) / det, (xc * ss - xs * sc) / det);
    let fit: Vec<f32> = (0..x.len())
        .map(|n| {
            let (s, c) = (TAU * freq_hz * n as f64 / rate_hz).sin_cos();
            (a * s + b * c) as f32
        })
        .collect();
    ((a * a + b * b).sqrt(), snr_db(&fit, x))
}

fn sine(freq_hz: f64, rate_hz: f64, len: usize, amplitude: f64) -> Vec<f32> {
    (0..len)
        .map(|n| (amplitude * (TAU * freq_hz * n as f64 / rate_hz).sin()) as f32)
        .collect()
}

#[test]
fn wav_decodes_to_the_samples_hound_reads() {
    let (reference, rate) = hound_samples("speech16k.wav");
    let audio = decode_file(&fixture("speech16k.wav")).unwrap();
    assert_eq!(
        (audio.sample_rate_hz, audio.channels, rate),
        (16_000, 1, 16_000)
    );
    assert_eq!(audio.samples.len(), 4_800);
    assert_eq!(audio.samples, reference);
}

#[test]
fn flac_decodes_bit_exactly() {
    let (reference, _) = hound_samples("speech16k.wav");
    let audio = decode_file(&fixture("speech16k.flac")).unwrap();
    assert_eq!((audio.sample_rate_hz, audio.channels), (16_000, 1));
    assert_eq!(audio.samples, reference);
}

#[test]
fn ogg_vorbis_decodes_close_to_the_original_with_the_exact_length() {
    let (reference, _) = hound_samples("speech16k.wav");
    let audio = decode_file(&fixture("speech16k.ogg")).unwrap();
    assert_eq!((audio.sample_rate_hz, audio.channels), (16_000, 1));
    assert_eq!(
        audio.samples.len(),
        reference.len(),
        "vorbis pre-skip and end trim are applied"
    );
    let snr = snr_db(&reference, &audio.samples);
    assert!(snr > VORBIS_MIN_SNR_DB, "vorbis SNR {snr:.1} dB");
}

/// Measured on the fixtures: Vorbis q6 28.6 dB SNR; AAC-LC 96 kb/s 23.4-27.6 dB SNR and
/// correlation 0.998-0.999 (ffmpeg's AAC encoder output varies between regenerations). The
/// thresholds leave a margin for that, not for misalignment: a shift of one sample already
/// drops the speech SNR to 7.9 dB (correlation 0.918).
const VORBIS_MIN_SNR_DB: f64 = 22.0;
const AAC_MIN_CORRELATION: f64 = 0.99;
const AAC_MIN_SNR_DB: f64 = 18.0;

#[test]
fn m4a_aac_is_aligned_after_dropping_the_priming_frames() {
    let (reference, _) = hound_samples("speech16k.wav");
    let audio = decode_file(&fixture("speech16k.m4a")).unwrap();
    assert_eq!((audio.sample_rate_hz, audio.channels), (16_000, 1));
    // Without trimming there would be 1024 priming + 320 padding frames more.
    assert_eq!(
        audio.samples.len(),
        reference.len(),
        "priming and end padding are cut"
    );
    let at_zero = correlation_at(&reference, &audio.samples, 0);
    assert!(
        at_zero > AAC_MIN_CORRELATION,
        "AAC correlation at lag 0: {at_zero:.4}"
    );
    let snr = snr_db(&reference, &audio.samples);
    assert!(snr > AAC_MIN_SNR_DB, "AAC SNR {snr:.1} dB");
    for lag in
        (-(AAC_PRIMING_FRAMES as isize) - 64..=AAC_PRIMING_FRAMES as isize + 64).filter(|&l| l != 0)
    {
        let c = correlation_at(&reference, &audio.samples, lag);
        assert!(
            c < at_zero,
            "lag {lag} correlates better ({c:.4}) than lag 0 ({at_zero:.4})"
        );
    }
}

#[test]
fn stereo_44k_flac_keeps_channels_and_mixes_down() {
    let audio = decode_file(&fixture("stereo44k.flac")).unwrap();
    assert_eq!(
        (audio.sample_rate_hz, audio.channels, audio.frames()),
        (44_100, 2, 11_025)
    );
    let left: Vec<f32> = audio.samples.iter().step_by(2).copied().collect();
    let right: Vec<f32> = audio.samples.iter().skip(1).step_by(2).copied().collect();
    // sox: `synth sine 440 sine 1000 gain -6` -> amplitude 10^(-6/20) = 0.501 per channel.
    let (amp_left, snr_left) = sine_fit(&left, 440.0, 44_100.0);
    let (amp_right, snr_right) = sine_fit(&right, 1000.0, 44_100.0);
    assert!(
        (amp_left - 0.501).abs() < 0.005 && snr_left > 60.0,
        "left {amp_left} {snr_left}"
    );
    assert!(
        (amp_right - 0.501).abs() < 0.005 && snr_right > 60.0,
        "right {amp_right} {snr_right}"
    );
    let mono = mix_to_mono(&audio.samples, audio.channels);
    assert_eq!(mono.len(), 11_025);
    for (m, (l, r)) in mono.iter().zip(left.iter().zip(&right)) {
        assert!((m - 0.5 * (l + r)).abs() < 1e-6);
    }
}

#[test]
fn in_memory_bytes_decode_like_the_file() {
    for name in ["speech16k.flac", "speech16k.m4a", "speech16k.ogg"] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let extension = name.rsplit('.').next();
        let from_memory = decode_bytes(bytes, extension, name).unwrap();
        assert_eq!(from_memory, decode_file(&fixture(name)).unwrap(), "{name}");
    }
    let message = decode_bytes(b"junk".to_vec(), None, "shard.tar#utt1.wav")
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("shard.tar#utt1.wav: "), "{message}");
}

#[test]
fn chained_ogg_with_mono_then_stereo_is_joined_as_mono() {
    let audio = decode_file(&fixture("chained_mono_stereo.ogg")).unwrap();
    assert_eq!((audio.sample_rate_hz, audio.channels), (16_000, 1));
    assert_eq!(
        audio.frames(),
        3_200,
        "both 0.1 s streams, each trimmed to its own length"
    );
    // sox: `synth 0.1 sine 500 gain -6` in each part, both channels alike in the stereo part.
    for part in [&audio.samples[..1_600], &audio.samples[1_600..]] {
        let (amplitude, snr) = sine_fit(&part[200..1_400], 500.0, 16_000.0);
        assert!(
            (amplitude - 0.501).abs() < 0.02 && snr > 25.0,
            "amplitude {amplitude:.3}, SNR {snr:.1} dB"
        );
    }
}

#[test]
fn resampled_sines_match_the_exact_sine() {
    for (from_hz, freq_hz) in [
        (8_000u32, 1_000.0),
        (44_100, 3_000.0),
        (48_000, 440.0),
        (22_050, 6_000.0),
    ] {
        let seconds = 0.5;
        let input = sine(
            freq_hz,
            f64::from(from_hz),
            (seconds * f64::from(from_hz)) as usize,
            0.5,
        );
        let output = resample(&input, from_hz, 16_000).unwrap();
        let expected = sine(freq_hz, 16_000.0, output.len(), 0.5);
        assert_eq!(
            output.len(),
            (input.len() as u64 * 16_000).div_ceil(u64::from(from_hz)) as usize
        );
        // Edges see the filter's zero padding; judge the middle 80 %.
        let edge = output.len() / 10;
        let snr = snr_db(
            &expected[edge..output.len() - edge],
            &output[edge..output.len() - edge],
        );
        assert!(
            snr > RESAMPLE_MIN_SNR_DB,
            "{from_hz} Hz -> 16 kHz, {freq_hz} Hz sine: SNR {snr:.1} dB"
        );
    }
}

const RESAMPLE_MIN_SNR_DB: f64 = 80.0;

#[test]
fn downsampling_removes_tones_above_the_new_nyquist() {
    let input = sine(10_000.0, 48_000.0, 24_000, 0.5);
    let output = resample(&input, 48_000, 16_000).unwrap();
    let edge = output.len() / 10;
    let rms = (output[edge..output.len() - edge]
        .iter()
        .map(|x| f64::from(*x).powi(2))
        .sum::<f64>()
        / (output.len() - 2 * edge) as f64)
        .sqrt();
    let attenuation_db = 20.0 * (rms / (0.5 / 2f64.sqrt())).log10();
    assert!(
        attenuation_db < -60.0,
        "a 10 kHz tone leaks at {attenuation_db:.1} dB"
    );
}

#[test]
fn upsampling_real_speech_agrees_with_sox() {
    let (sox_reference, rate) = hound_samples("speech8k_to16k_sox.wav");
    assert_eq!(rate, 16_000);
    let ours = load_mono(&fixture("speech8k.wav"), 16_000).unwrap();
    assert_eq!(ours.len(), sox_reference.len());
    let snr = snr_db(&sox_reference, &ours);
    assert!(
        snr > SOX_AGREEMENT_MIN_SNR_DB,
        "agreement with sox `rate -v`: {snr:.1} dB"
    );
}

/// Measured: 45.4 dB (the two resamplers differ in their filters near 4 kHz).
const SOX_AGREEMENT_MIN_SNR_DB: f64 = 38.0;

#[test]
fn written_wav_reads_back_with_hound() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");
    let samples = [0.0f32, 0.5, -0.5, 1.0, -1.0, 2.0, 0.25];
    write_wav_pcm16(&path, &samples, 8_000).unwrap();
    let mut reader = hound::WavReader::open(&path).unwrap();
    assert_eq!(
        (
            reader.spec().sample_rate,
            reader.spec().channels,
            reader.spec().bits_per_sample
        ),
        (8_000, 1, 16)
    );
    let read: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    assert_eq!(
        read,
        vec![0, 16_384, -16_384, 32_767, -32_768, 32_767, 8_192]
    );
    let decoded = decode_file(&path).unwrap();
    assert_eq!(decoded.samples[1], 0.5);
}

fn decode_error(name: &str) -> String {
    match decode_file(&fixture(name)) {
        Ok(audio) => panic!(
            "{name} decoded to {} frames instead of failing",
            audio.frames()
        ),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_wav_is_an_error_naming_the_file() {
    let message = decode_error("truncated.wav");
    assert!(
        message.contains("truncated.wav") && message.contains("truncated"),
        "{message}"
    );
}

#[test]
fn truncated_m4a_and_non_audio_are_errors_naming_the_file() {
    for name in ["truncated.m4a", "not_audio.wav"] {
        let message = decode_error(name);
        assert!(message.contains(name), "{message}");
    }
}

#[test]
fn missing_file_is_an_io_error_with_the_path() {
    let error = decode_file(&fixture("no_such_file.wav")).unwrap_err();
    assert!(matches!(error, DataError::Io { .. }), "{error:?}");
    assert!(error.to_string().contains("no_such_file.wav"));
}
