//! Kaldi-compatible log-mel filterbank features, as `torchaudio.compliance.kaldi.fbank`
//! computes them, with wespeaker's settings as defaults, then per-utterance mean normalisation.
//!
//! For each frame of `frame_length_ms` taken every `frame_shift_ms` (Kaldi `snip_edges=True`:
//! only frames that fit entirely in the signal), in f32 throughout:
//!
//! 1. dither: add `dither · N(0, 1)` to every sample of the frame (frames overlap, so a sample
//!    gets different noise in each frame it belongs to), drawn from a caller-provided RNG;
//! 2. remove DC: subtract the frame's mean;
//! 3. pre-emphasis: `y[j] = x[j] − p · x[j−1]`, with `y[0] = x[0] − p · x[0]`;
//! 4. window (Hamming or Povey, symmetric), zero-pad to the next power of two (512 for 400);
//! 5. power spectrum `|rfft|²`;
//! 6. triangular mel filters on Kaldi's `1127 · ln(1 + f/700)` scale from `low_freq_hz` to
//!    `high_freq_hz` over the bins below Nyquist;
//! 7. `ln(max(energy, f32::EPSILON))`.
//!
//! Then, when [`FbankConfig::cmn`] is set, the mean over frames of each bin is subtracted
//! (wespeaker's `apply_cmvn(norm_mean=True, norm_var=False)`).
//!
//! Samples are expected at int16 scale (wespeaker multiplies torchaudio's [-1, 1] samples by
//! 32768); the scale only shifts log energies, but the dither amplitude and the floor assume it.
//!
//! A signal shorter than one frame is an error ([`FbankError::TooShort`]), as in torchaudio,
//! whose `fbank` asserts `frame_length <= len(waveform)`; kaldi-native-fbank returns zero frames
//! instead.
//!
//! Parity: `tests/it/fbank.rs` compares against torchaudio and kaldi-native-fbank outputs kept in
//! `tests/fixtures/fbank/` (made by `make_fixtures.py` there) and stays within 1e-3 of both.

mod mel;

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use mel::MelBanks;

/// The analysis window applied to each frame before the FFT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WindowType {
    /// Symmetric Hamming window, `0.54 − 0.46 · cos(2πn / (N − 1))`: what wespeaker uses.
    Hamming,
    /// Kaldi's "povey" window, a symmetric Hann window raised to the power 0.85: torchaudio's
    /// and 3D-Speaker's default.
    Povey,
}

/// Filterbank settings; the field names follow `torchaudio.compliance.kaldi.fbank`.
#[derive(Debug, Clone, PartialEq)]
pub struct FbankConfig {
    /// Sample rate of the input, in Hz.
    pub sample_rate_hz: u32,
    /// Number of mel filters, i.e. features per frame.
    pub num_mel_bins: usize,
    /// Frame length in ms; the frame holds `floor(sample_rate_hz · frame_length_ms / 1000)` samples.
    pub frame_length_ms: f32,
    /// Frame shift in ms; `floor(sample_rate_hz · frame_shift_ms / 1000)` samples.
    pub frame_shift_ms: f32,
    /// Standard deviation of the Gaussian noise added to each frame (0 disables it). Needs an
    /// RNG: see [`Fbank::compute_with_rng`] and [`Fbank::compute_batch`].
    pub dither: f32,
    /// Subtract each frame's mean before pre-emphasis.
    pub remove_dc_offset: bool,
    /// Pre-emphasis coefficient in [0, 1] (0 disables it).
    pub preemphasis: f32,
    /// Analysis window.
    pub window: WindowType,
    /// Lowest mel filter edge, in Hz.
    pub low_freq_hz: f32,
    /// Highest mel filter edge, in Hz; a value `<= 0` is an offset from Nyquist (Kaldi's rule).
    pub high_freq_hz: f32,
    /// Subtract the per-utterance mean over frames from every bin (CMN without variance
    /// normalisation).
    pub cmn: bool,
}

impl FbankConfig {
    /// wespeaker at inference (`bin/extract.py`, the CLI): 16 kHz, 80 bins, 25 ms / 10 ms,
    /// Hamming, dither 0, remove DC, pre-emphasis 0.97, 20 Hz to Nyquist, CMN.
    pub fn wespeaker() -> Self {
        Self {
            sample_rate_hz: 16_000,
            num_mel_bins: 80,
            frame_length_ms: 25.0,
            frame_shift_ms: 10.0,
            dither: 0.0,
            remove_dc_offset: true,
            preemphasis: 0.97,
            window: WindowType::Hamming,
            low_freq_hz: 20.0,
            high_freq_hz: 0.0,
            cmn: true,
        }
    }

    /// wespeaker in training: [`FbankConfig::wespeaker`] with dither 1.0.
    pub fn wespeaker_train() -> Self {
        Self {
            dither: 1.0,
            ..Self::wespeaker()
        }
    }

    /// Samples per frame.
    pub fn frame_length_samples(&self) -> usize {
        ms_to_samples(self.sample_rate_hz, self.frame_length_ms)
    }

    /// Samples between frame starts.
    pub fn frame_shift_samples(&self) -> usize {
        ms_to_samples(self.sample_rate_hz, self.frame_shift_ms)
    }
}

impl Default for FbankConfig {
    /// [`FbankConfig::wespeaker`].
    fn default() -> Self {
        Self::wespeaker()
    }
}

/// torchaudio's `int(sample_frequency * ms * 0.001)`, in f64 like Python.
fn ms_to_samples(sample_rate_hz: u32, ms: f32) -> usize {
    let samples = f64::from(sample_rate_hz) * f64::from(ms) * 0.001;
    if samples.is_finite() && samples > 0.0 {
        samples as usize
    } else {
        0
    }
}

/// Why a configuration or an input was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FbankError {
    /// A setting is out of range; the message names it and its value.
    #[error("invalid fbank setting: {0}")]
    InvalidConfig(String),
    /// The signal is shorter than one frame (torchaudio raises here too).
    #[error("{samples} samples are fewer than one {frame_length}-sample frame")]
    TooShort {
        /// Samples in the signal.
        samples: usize,
        /// Samples per frame.
        frame_length: usize,
    },
    /// A sample is NaN or infinite.
    #[error("sample {index} is {value} (not finite)")]
    NonFinite {
        /// Index of the first such sample (in the batch, for [`Fbank::compute_batch`]).
        index: usize,
        /// Its value.
        value: f32,
    },
    /// [`FbankConfig::dither`] is set but [`Fbank::compute`] has no RNG to draw it from.
    #[error("dither {0} needs an RNG: use compute_with_rng or compute_batch")]
    DitherNeedsRng(f32),
    /// The batch buffer does not split into `batch_size` equal rows.
    #[error("a batch of {len} samples does not split into {batch_size} equal rows")]
    BatchShape {
        /// Length of the batch buffer.
        len: usize,
        /// Requested number of rows.
        batch_size: usize,
    },
}

/// Features of one utterance: `frames × bins` values, row-major `(T, F)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Row-major `(frames, bins)` log-mel energies.
    pub data: Vec<f32>,
    /// Number of frames `T`.
    pub frames: usize,
    /// Number of mel bins `F`.
    pub bins: usize,
}

impl Features {
    /// Frame `t`'s `bins` values.
    pub fn frame(&self, t: usize) -> &[f32] {
        &self.data[t * self.bins..(t + 1) * self.bins]
    }
}

/// Features of a batch of equal-length chunks: row-major `(B, T, F)`, the model input layout.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchFeatures {
    /// Row-major `(batch, frames, bins)` log-mel energies.
    pub data: Vec<f32>,
    /// Number of chunks `B`.
    pub batch: usize,
    /// Frames per chunk `T`.
    pub frames: usize,
    /// Number of mel bins `F`.
    pub bins: usize,
}

/// A filterbank extractor: the window, mel filters and FFT plan are computed once by
/// [`Fbank::new`]; computing is `&self` and thread-safe.
#[derive(Clone)]
pub struct Fbank {
    cfg: FbankConfig,
    frame_length: usize,
    frame_shift: usize,
    padded_length: usize,
    window: Vec<f32>,
    mel: MelBanks,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl std::fmt::Debug for Fbank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fbank")
            .field("cfg", &self.cfg)
            .field("frame_length", &self.frame_length)
            .field("frame_shift", &self.frame_shift)
            .field("padded_length", &self.padded_length)
            .finish_non_exhaustive()
    }
}

/// Per-thread working buffers.
struct Scratch {
    frame: Vec<f32>,
    fft_in: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    fft_scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
}

impl Fbank {
    /// Checks `cfg` and precomputes the window, the mel filters and the FFT plan.
    ///
    /// Errors ([`FbankError::InvalidConfig`]) on a zero sample rate, a frame shorter than 2
    /// samples or a zero shift, no mel bins, pre-emphasis outside [0, 1], a negative or
    /// non-finite dither, or a frequency range that is empty or exceeds Nyquist.
    pub fn new(cfg: FbankConfig) -> Result<Self, FbankError> {
        let invalid = |m: String| Err(FbankError::InvalidConfig(m));
        if cfg.sample_rate_hz == 0 {
            return invalid("sample_rate_hz is 0".into());
        }
        let frame_length = cfg.frame_length_samples();
        let frame_shift = cfg.frame_shift_samples();
        if frame_length < 2 {
            return invalid(format!(
                "frame_length_ms {} gives {frame_length} samples (at least 2 needed)",
                cfg.frame_length_ms
            ));
        }
        if frame_shift == 0 {
            return invalid(format!(
                "frame_shift_ms {} gives 0 samples",
                cfg.frame_shift_ms
            ));
        }
        if cfg.num_mel_bins == 0 {
            return invalid("num_mel_bins is 0".into());
        }
        if !(0.0..=1.0).contains(&cfg.preemphasis) {
            return invalid(format!("preemphasis {} is not in [0, 1]", cfg.preemphasis));
        }
        if !(cfg.dither.is_finite() && cfg.dither >= 0.0) {
            return invalid(format!("dither {} is not a finite value >= 0", cfg.dither));
        }
        let nyquist = 0.5 * f64::from(cfg.sample_rate_hz);
        let low = f64::from(cfg.low_freq_hz);
        let high = if cfg.high_freq_hz <= 0.0 {
            nyquist + f64::from(cfg.high_freq_hz)
        } else {
            f64::from(cfg.high_freq_hz)
        };
        if !(low.is_finite() && high.is_finite() && 0.0 <= low && low < high && high <= nyquist) {
            return invalid(format!(
                "mel range low_freq_hz {} .. high_freq_hz {} (= {high} Hz) is not within 0 .. {nyquist} Hz",
                cfg.low_freq_hz, cfg.high_freq_hz
            ));
        }
        let padded_length = frame_length.next_power_of_two();
        let mel = MelBanks::new(
            cfg.num_mel_bins,
            padded_length,
            f64::from(cfg.sample_rate_hz),
            low,
            high,
        );
        let window = mel::window(cfg.window, frame_length);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(padded_length);
        Ok(Self {
            cfg,
            frame_length,
            frame_shift,
            padded_length,
            window,
            mel,
            fft,
        })
    }

    /// The configuration this extractor was built with.
    pub fn config(&self) -> &FbankConfig {
        &self.cfg
    }

    /// Number of mel bins per frame.
    pub fn num_bins(&self) -> usize {
        self.mel.num_bins()
    }

    /// Frames produced from `num_samples` samples: `1 + (num_samples − frame_length) / shift`,
    /// or 0 when the signal is shorter than a frame (Kaldi `snip_edges=True`).
    pub fn num_frames(&self, num_samples: usize) -> usize {
        if num_samples < self.frame_length {
            0
        } else {
            1 + (num_samples - self.frame_length) / self.frame_shift
        }
    }

    /// Features of `samples` (int16 scale) without dither.
    ///
    /// Errors when [`FbankConfig::dither`] is non-zero (use [`Fbank::compute_with_rng`]), when
    /// the signal is shorter than one frame, or when a sample is not finite.
    pub fn compute(&self, samples: &[f32]) -> Result<Features, FbankError> {
        if self.cfg.dither != 0.0 {
            return Err(FbankError::DitherNeedsRng(self.cfg.dither));
        }
        self.compute_inner(samples, None::<&mut ChaCha8Rng>)
    }

    /// Features of `samples` (int16 scale), drawing the dither noise from `rng` (which is not
    /// touched when [`FbankConfig::dither`] is 0), so a seeded RNG gives reproducible features.
    ///
    /// Errors when the signal is shorter than one frame or a sample is not finite.
    pub fn compute_with_rng<R: Rng + ?Sized>(
        &self,
        samples: &[f32],
        rng: &mut R,
    ) -> Result<Features, FbankError> {
        self.compute_inner(samples, Some(rng))
    }

    /// Features of a batch of `batch_size` equal-length chunks stored row after row in `batch`
    /// (`(B, samples)`), computed in parallel with rayon; the result is `(B, T, F)`.
    ///
    /// Chunk `b` is dithered from `ChaCha8Rng::seed_from_u64(seed)` on stream `b`, so the result
    /// depends on `seed` only, not on the number of threads (`seed` is unused without dither).
    /// Errors when `batch` does not split into `batch_size` rows, when a chunk is shorter than one
    /// frame, or when a sample is not finite.
    pub fn compute_batch(
        &self,
        batch: &[f32],
        batch_size: usize,
        seed: u64,
    ) -> Result<BatchFeatures, FbankError> {
        if batch_size == 0 || !batch.len().is_multiple_of(batch_size) {
            return Err(FbankError::BatchShape {
                len: batch.len(),
                batch_size,
            });
        }
        let chunk_len = batch.len() / batch_size;
        let frames = self.check_input(batch, chunk_len)?;
        let bins = self.num_bins();
        let mut data = vec![0.0f32; batch_size * frames * bins];
        let dither = self.cfg.dither != 0.0;
        data.par_chunks_mut(frames * bins)
            .zip(batch.par_chunks(chunk_len))
            .enumerate()
            .for_each_init(
                || self.scratch(),
                |scratch, (b, (out, chunk))| {
                    if dither {
                        let mut rng = ChaCha8Rng::seed_from_u64(seed);
                        rng.set_stream(b as u64);
                        self.fill(chunk, Some(&mut rng), scratch, out);
                    } else {
                        self.fill(chunk, None::<&mut ChaCha8Rng>, scratch, out);
                    }
                },
            );
        Ok(BatchFeatures {
            data,
            batch: batch_size,
            frames,
            bins,
        })
    }

    fn compute_inner<R: Rng + ?Sized>(
        &self,
        samples: &[f32],
        rng: Option<&mut R>,
    ) -> Result<Features, FbankError> {
        let frames = self.check_input(samples, samples.len())?;
        let bins = self.num_bins();
        let mut data = vec![0.0f32; frames * bins];
        self.fill(samples, rng, &mut self.scratch(), &mut data);
        Ok(Features { data, frames, bins })
    }

    /// Checks that every sample is finite and that chunks of `chunk_len` hold a frame; returns
    /// the frames per chunk.
    fn check_input(&self, samples: &[f32], chunk_len: usize) -> Result<usize, FbankError> {
        if let Some(index) = samples.iter().position(|x| !x.is_finite()) {
            return Err(FbankError::NonFinite {
                index,
                value: samples[index],
            });
        }
        match self.num_frames(chunk_len) {
            0 => Err(FbankError::TooShort {
                samples: chunk_len,
                frame_length: self.frame_length,
            }),
            frames => Ok(frames),
        }
    }

    fn scratch(&self) -> Scratch {
        Scratch {
            frame: vec![0.0; self.frame_length],
            fft_in: self.fft.make_input_vec(),
            spectrum: self.fft.make_output_vec(),
            fft_scratch: self.fft.make_scratch_vec(),
            power: vec![0.0; self.padded_length / 2],
        }
    }

    /// Writes the `(T, F)` features of `samples` into `out`, then applies CMN if configured.
    fn fill<R: Rng + ?Sized>(
        &self,
        samples: &[f32],
        mut rng: Option<&mut R>,
        scratch: &mut Scratch,
        out: &mut [f32],
    ) {
        let bins = self.num_bins();
        let len = self.frame_length;
        let dither = self.cfg.dither;
        // Taken out of `scratch` so the dithered frame can be read while `scratch` is written.
        let mut noisy = std::mem::take(&mut scratch.frame);
        for (t, row) in out.chunks_exact_mut(bins).enumerate() {
            let start = t * self.frame_shift;
            let mut frame = &samples[start..start + len];
            if let Some(rng) = rng.as_deref_mut().filter(|_| dither != 0.0) {
                for (dst, &x) in noisy.iter_mut().zip(frame) {
                    *dst = x + dither * rng.sample::<f32, _>(StandardNormal);
                }
                frame = &noisy;
            }
            self.frame_features(frame, scratch, row);
        }
        scratch.frame = noisy;
        if self.cfg.cmn {
            subtract_column_means(out, bins);
        }
    }

    /// Steps 2–7 of the module doc for one frame of `frame_length` samples.
    #[inline]
    fn frame_features(&self, frame: &[f32], scratch: &mut Scratch, row: &mut [f32]) {
        let len = self.frame_length;
        let mean = if self.cfg.remove_dc_offset {
            sum(frame) / len as f32
        } else {
            0.0
        };
        let p = self.cfg.preemphasis;
        let fft_in = &mut scratch.fft_in;
        // (x[j] − mean) − p · (x[j−1] − mean), windowed; j = 0 uses x[0] as its predecessor.
        fft_in[0] = ((frame[0] - mean) - p * (frame[0] - mean)) * self.window[0];
        for (((y, &x), &prev), &w) in fft_in[1..len]
            .iter_mut()
            .zip(&frame[1..])
            .zip(&frame[..len - 1])
            .zip(&self.window[1..])
        {
            *y = ((x - mean) - p * (prev - mean)) * w;
        }
        fft_in[len..].fill(0.0);
        // Lengths are fixed by `scratch()`, so the FFT cannot fail.
        self.fft
            .process_with_scratch(fft_in, &mut scratch.spectrum, &mut scratch.fft_scratch)
            .expect("FFT buffers are sized by Fbank::scratch");
        for (p, c) in scratch.power.iter_mut().zip(&scratch.spectrum) {
            *p = c.re * c.re + c.im * c.im;
        }
        for (b, value) in row.iter_mut().enumerate() {
            let (start, weights) = self.mel.filter(b);
            let energy = dot(&scratch.power[start..start + weights.len()], weights);
            *value = energy.max(f32::EPSILON).ln();
        }
    }
}

/// Sum with 8 independent accumulators, so it vectorises.
#[inline]
fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = xs.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// Dot product with 8 independent accumulators, so it vectorises.
#[inline]
fn dot(xs: &[f32], ys: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let xc = xs.chunks_exact(8);
    let yc = ys.chunks_exact(8);
    let rest: f32 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in xc.zip(yc) {
        for (a, (&x, &y)) in acc.iter_mut().zip(x.iter().zip(y)) {
            *a += x * y;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// Subtracts from each of the `bins` columns of row-major `data` its mean over rows.
fn subtract_column_means(data: &mut [f32], bins: usize) {
    let rows = data.len() / bins;
    if rows == 0 {
        return;
    }
    let mut means = vec![0.0f64; bins];
    for row in data.chunks_exact(bins) {
        for (m, &x) in means.iter_mut().zip(row) {
            *m += f64::from(x);
        }
    }
    let means: Vec<f32> = means.iter().map(|m| (m / rows as f64) as f32).collect();
    for row in data.chunks_exact_mut(bins) {
        for (x, m) in row.iter_mut().zip(&means) {
            *x -= m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| 8000.0 * (i as f32 * 0.07).sin() + 500.0 * (i as f32 * 1.3).cos())
            .collect()
    }

    #[test]
    fn wespeaker_defaults_give_400_160_512() {
        let fb = Fbank::new(FbankConfig::wespeaker()).unwrap();
        assert_eq!(
            (fb.frame_length, fb.frame_shift, fb.padded_length),
            (400, 160, 512)
        );
        assert_eq!(fb.num_frames(399), 0);
        assert_eq!(fb.num_frames(400), 1);
        assert_eq!(fb.num_frames(559), 1);
        assert_eq!(fb.num_frames(560), 2);
        assert_eq!(fb.num_frames(32_000), 198);
    }

    #[test]
    fn invalid_settings_name_the_setting() {
        let cases: [(FbankConfig, &str); 5] = [
            (
                FbankConfig {
                    num_mel_bins: 0,
                    ..FbankConfig::wespeaker()
                },
                "num_mel_bins",
            ),
            (
                FbankConfig {
                    preemphasis: 1.5,
                    ..FbankConfig::wespeaker()
                },
                "preemphasis",
            ),
            (
                FbankConfig {
                    dither: -1.0,
                    ..FbankConfig::wespeaker()
                },
                "dither",
            ),
            (
                FbankConfig {
                    high_freq_hz: 9_000.0,
                    ..FbankConfig::wespeaker()
                },
                "high_freq_hz",
            ),
            (
                FbankConfig {
                    frame_shift_ms: 0.0,
                    ..FbankConfig::wespeaker()
                },
                "frame_shift_ms",
            ),
        ];
        for (cfg, name) in cases {
            let err = Fbank::new(cfg).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn dither_without_rng_is_an_error() {
        let fb = Fbank::new(FbankConfig::wespeaker_train()).unwrap();
        assert_eq!(
            fb.compute(&tone(1000)).unwrap_err(),
            FbankError::DitherNeedsRng(1.0)
        );
    }

    #[test]
    fn non_finite_sample_is_an_error() {
        let fb = Fbank::new(FbankConfig::wespeaker()).unwrap();
        let mut x = tone(1000);
        x[17] = f32::NAN;
        assert!(matches!(
            fb.compute(&x),
            Err(FbankError::NonFinite { index: 17, .. })
        ));
    }

    #[test]
    fn cmn_makes_every_column_mean_zero() {
        let fb = Fbank::new(FbankConfig::wespeaker()).unwrap();
        let f = fb.compute(&tone(5000)).unwrap();
        assert_eq!((f.frames, f.bins), (29, 80));
        for b in 0..80 {
            let mean: f32 = (0..f.frames).map(|t| f.frame(t)[b]).sum::<f32>() / 29.0;
            assert!(mean.abs() < 1e-4, "bin {b}: {mean}");
        }
    }

    #[test]
    fn silence_gives_the_epsilon_floor() {
        let fb = Fbank::new(FbankConfig {
            cmn: false,
            ..FbankConfig::wespeaker()
        })
        .unwrap();
        let f = fb.compute(&[0.0; 800]).unwrap();
        assert!(f.data.iter().all(|&v| v == f32::EPSILON.ln()));
    }
}
