//! Train-mode batch-norm kernels on `(N, C, S)` slices (S = all trailing dims), parallel over
//! channels: statistics, normalisation, and the closed-form backward.

use rayon::prelude::*;

use super::elem::ConvElem;

/// Sizes of an `(N, C, S)` tensor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BnShape {
    pub batch: usize,
    pub channels: usize,
    pub spatial: usize,
}

impl BnShape {
    /// Elements per channel: `N * S`.
    pub fn per_channel(&self) -> usize {
        self.batch * self.spatial
    }

    /// The `S` elements of image `n`, channel `c`.
    fn row<'a, T>(&self, data: &'a [T], n: usize, c: usize) -> &'a [T] {
        let start = (n * self.channels + c) * self.spatial;
        &data[start..start + self.spatial]
    }
}

/// Per-channel mean and biased variance, accumulated in f64 around a shift (the channel's
/// first value) so that a large mean does not cancel the variance.
pub(crate) fn mean_var<T: ConvElem>(x: &[T], s: BnShape) -> Vec<(f64, f64)> {
    (0..s.channels)
        .into_par_iter()
        .map(|c| {
            if s.per_channel() == 0 {
                return (0.0, 0.0);
            }
            let shift = s.row(x, 0, c)[0];
            let (mut sum, mut sum_sq) = (0f64, 0f64);
            for n in 0..s.batch {
                let (a, b) = row_sums(s.row(x, n, c), shift);
                sum += a;
                sum_sq += b;
            }
            let m = s.per_channel() as f64;
            let mean_shifted = sum / m;
            (
                (mean_shifted + shift.to_f64()),
                (sum_sq / m - mean_shifted * mean_shifted).max(0.0),
            )
        })
        .collect()
}

/// `sum(v - shift)` and `sum((v - shift)^2)` of one row, in eight lanes of `T`.
fn row_sums<T: ConvElem>(row: &[T], shift: T) -> (f64, f64) {
    let (mut s, mut q) = ([T::zero(); 8], [T::zero(); 8]);
    let chunks = row.chunks_exact(8);
    let (mut ts, mut tq) = (0f64, 0f64);
    for &v in chunks.remainder() {
        let d = (v - shift).to_f64();
        ts += d;
        tq += d * d;
    }
    for chunk in chunks {
        for i in 0..8 {
            let d = chunk[i] - shift;
            s[i] += d;
            q[i] += d * d;
        }
    }
    let total = |lanes: [T; 8], tail: f64| lanes.iter().fold(tail, |acc, v| acc + v.to_f64());
    (total(s, ts), total(q, tq))
}

/// Per-channel `scale` and `shift` so that `y = x * scale + shift`.
pub(crate) fn affine<T: ConvElem>(x: &[T], scale: &[T], shift: &[T], s: BnShape) -> Vec<T> {
    let mut y = vec![T::zero(); x.len()];
    if s.spatial == 0 {
        return y;
    }
    y.par_chunks_mut(s.spatial)
        .zip(x.par_chunks(s.spatial))
        .enumerate()
        .for_each(|(row, (y_r, x_r))| {
            let (a, b) = (scale[row % s.channels], shift[row % s.channels]);
            for (o, &v) in y_r.iter_mut().zip(x_r) {
                *o = v * a + b;
            }
        });
    y
}

/// The closed-form train-mode backward: `[dbeta (C), dgamma (C), dx (N*C*S)]` in one buffer,
/// with `x_hat = (x - mean) * inv_std` and `dx = gamma * inv_std * (dy - (dbeta + x_hat * dgamma) / M)`.
pub(crate) fn backward<T: ConvElem>(
    x: &[T],
    dy: &[T],
    mean: &[T],
    inv_std: &[T],
    gamma: &[T],
    s: BnShape,
) -> Vec<T> {
    let sums: Vec<(f64, f64)> = (0..s.channels)
        .into_par_iter()
        .map(|c| {
            let (mut d_beta, mut d_gamma) = (0f64, 0f64);
            for n in 0..s.batch {
                let (a, b) = dot_sums(s.row(dy, n, c), s.row(x, n, c), mean[c]);
                d_beta += a;
                d_gamma += b;
            }
            (d_beta, d_gamma * inv_std[c].to_f64())
        })
        .collect();
    let c_len = s.channels;
    let mut out = vec![T::zero(); 2 * c_len + x.len()];
    let (stats, dx) = out.split_at_mut(2 * c_len);
    for (c, &(d_beta, d_gamma)) in sums.iter().enumerate() {
        stats[c] = T::from_f64(d_beta);
        stats[c_len + c] = T::from_f64(d_gamma);
    }
    if s.spatial == 0 {
        return out;
    }
    let m = s.per_channel() as f64;
    let coefs: Vec<[T; 3]> = sums
        .iter()
        .enumerate()
        .map(|(c, &(d_beta, d_gamma))| {
            // dx = k * (dy - d_beta / M - (x - mean) * inv_std * d_gamma / M), k = gamma * inv_std
            let (k, istd) = (gamma[c].to_f64() * inv_std[c].to_f64(), inv_std[c].to_f64());
            let slope = -k * istd * d_gamma / m;
            let offset = -k * d_beta / m - slope * mean[c].to_f64();
            [T::from_f64(k), T::from_f64(slope), T::from_f64(offset)]
        })
        .collect();
    dx.par_chunks_mut(s.spatial)
        .zip(dy.par_chunks(s.spatial).zip(x.par_chunks(s.spatial)))
        .enumerate()
        .for_each(|(row, (dx_r, (dy_r, x_r)))| {
            let [k, slope, offset] = coefs[row % c_len];
            for ((o, &g), &v) in dx_r.iter_mut().zip(dy_r).zip(x_r) {
                *o = k * g + slope * v + offset;
            }
        });
    out
}

/// `sum(dy)` and `sum(dy * (x - mean))` of one row, in eight lanes of `T`.
fn dot_sums<T: ConvElem>(dy: &[T], x: &[T], mean: T) -> (f64, f64) {
    let (mut s, mut p) = ([T::zero(); 8], [T::zero(); 8]);
    let (dy8, x8) = (dy.chunks_exact(8), x.chunks_exact(8));
    let (mut ts, mut tp) = (0f64, 0f64);
    for (&g, &v) in dy8.remainder().iter().zip(x8.remainder()) {
        ts += g.to_f64();
        tp += (g * (v - mean)).to_f64();
    }
    for (g8, v8) in dy8.zip(x8) {
        for i in 0..8 {
            s[i] += g8[i];
            p[i] += g8[i] * (v8[i] - mean);
        }
    }
    let total = |lanes: [T; 8], tail: f64| lanes.iter().fold(tail, |acc, v| acc + v.to_f64());
    (total(s, ts), total(p, tp))
}
