//! The two tables [`super::Fbank`] precomputes: the analysis window and the triangular mel
//! filters, both built in f32 with the operation order of `torchaudio.compliance.kaldi`.

use super::WindowType;

/// Kaldi's mel scale: `1127 · ln(1 + f / 700)` (natural log, not the `2595 · log10` form).
pub(crate) fn mel_scale(freq_hz: f64) -> f64 {
    1127.0 * (1.0 + freq_hz / 700.0).ln()
}

/// A symmetric (`periodic=False`) window of `len` points.
///
/// Hamming is `0.54 − 0.46 · cos(2πn / (len − 1))`; Povey is the Hann window
/// `0.5 − 0.5 · cos(2πn / (len − 1))` raised to the power 0.85.
pub(crate) fn window(kind: WindowType, len: usize) -> Vec<f32> {
    // torch builds `arange(len) * (2π / (len − 1))` in f32, takes the cosine, then scales.
    let step = (2.0 * std::f64::consts::PI / (len as f64 - 1.0)) as f32;
    (0..len)
        .map(|n| {
            let c = (n as f32 * step).cos();
            match kind {
                WindowType::Hamming => c * -0.46 + 0.54,
                WindowType::Povey => (c * -0.5 + 0.5).powf(0.85),
            }
        })
        .collect()
}

/// Triangular mel filters over the FFT bins `0..padded_len / 2` (the Nyquist bin never
/// contributes), stored sparsely: filter `b` covers bins `starts[b]..starts[b] + lens[b]` and
/// its weights are `weights[offsets[b]..offsets[b] + lens[b]]`.
#[derive(Debug, Clone)]
pub(crate) struct MelBanks {
    starts: Vec<usize>,
    lens: Vec<usize>,
    offsets: Vec<usize>,
    weights: Vec<f32>,
}

impl MelBanks {
    /// `num_bins` filters evenly spaced on the mel scale from `low_hz` to `high_hz`, for an FFT
    /// of `padded_len` points at `sample_rate_hz` (torchaudio `get_mel_banks` without VTLN).
    pub(crate) fn new(
        num_bins: usize,
        padded_len: usize,
        sample_rate_hz: f64,
        low_hz: f64,
        high_hz: f64,
    ) -> Self {
        let num_fft_bins = padded_len / 2;
        let fft_bin_width = (sample_rate_hz / padded_len as f64) as f32;
        let mel_low = mel_scale(low_hz);
        let mel_delta = ((mel_scale(high_hz) - mel_low) / (num_bins as f64 + 1.0)) as f32;
        let mel_low = mel_low as f32;
        let fft_mels: Vec<f32> = (0..num_fft_bins)
            .map(|k| 1127.0 * (1.0 + (k as f32 * fft_bin_width) / 700.0).ln())
            .collect();
        let mut banks = Self {
            starts: Vec::with_capacity(num_bins),
            lens: Vec::with_capacity(num_bins),
            offsets: Vec::with_capacity(num_bins),
            weights: Vec::new(),
        };
        for b in 0..num_bins {
            let left = b as f32 * mel_delta + mel_low;
            let center = (b as f32 + 1.0) * mel_delta + mel_low;
            let right = (b as f32 + 2.0) * mel_delta + mel_low;
            let row: Vec<f32> = fft_mels
                .iter()
                .map(|&mel| {
                    let up = (mel - left) / (center - left);
                    let down = (right - mel) / (right - center);
                    up.min(down).max(0.0)
                })
                .collect();
            let start = row.iter().position(|&w| w > 0.0).unwrap_or(0);
            let end = row.iter().rposition(|&w| w > 0.0).map_or(start, |i| i + 1);
            banks.starts.push(start);
            banks.lens.push(end - start);
            banks.offsets.push(banks.weights.len());
            banks.weights.extend_from_slice(&row[start..end]);
        }
        banks
    }

    /// Number of filters.
    pub(crate) fn num_bins(&self) -> usize {
        self.starts.len()
    }

    /// Filter `b`'s first FFT bin and weights.
    #[inline]
    pub(crate) fn filter(&self, b: usize) -> (usize, &[f32]) {
        let offset = self.offsets[b];
        (self.starts[b], &self.weights[offset..offset + self.lens[b]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hamming_is_symmetric_with_0_08_ends() {
        let w = window(WindowType::Hamming, 400);
        assert!((w[0] - 0.08).abs() < 1e-6 && (w[399] - 0.08).abs() < 1e-6);
        for n in 0..200 {
            assert!((w[n] - w[399 - n]).abs() < 1e-5, "{n}");
        }
    }

    #[test]
    fn povey_is_zero_at_the_ends() {
        let w = window(WindowType::Povey, 400);
        assert!(w[0].abs() < 1e-6 && w[399].abs() < 1e-6);
        assert!(w[199] > 0.999);
    }

    #[test]
    fn every_filter_is_a_triangle_peaking_below_one() {
        let banks = MelBanks::new(80, 512, 16_000.0, 20.0, 8_000.0);
        assert_eq!(banks.num_bins(), 80);
        let mut last_start = 0;
        for b in 0..80 {
            let (start, weights) = banks.filter(b);
            assert!(!weights.is_empty(), "filter {b} is empty");
            assert!(start >= last_start && start + weights.len() <= 256);
            assert!(weights.iter().all(|&w| w > 0.0 && w <= 1.0));
            last_start = start;
        }
    }
}
