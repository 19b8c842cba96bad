//! The CPU fast path: candle custom ops whose forward solves each row in parallel and whose
//! backward is the closed form (p − e_y for the loss, the sparse Jacobian for the softargmax).

use std::sync::{Arc, OnceLock};

use candle_core::{bail, CpuStorage, CustomOp1, Layout, Result, Shape, Storage, Tensor};
use rayon::prelude::*;

use crate::measure::{ReferenceMeasure, RowBase};
use crate::solver::{probability, solve_row, Power, Real, RowError, RowSolution, Scratch};

/// Solves every row of a contiguous `[B, C]` slice in parallel.
pub(crate) fn solve_rows<T: Real>(
    theta: &[T],
    classes: usize,
    measure: &ReferenceMeasure,
    alpha: f64,
    targets: Option<&[u32]>,
) -> Result<Vec<RowSolution>> {
    let solved: std::result::Result<Vec<RowSolution>, (usize, RowError)> = theta
        .par_chunks(classes)
        .enumerate()
        .map_init(Scratch::default, |scratch, (b, row)| {
            let target = targets.map(|t| t[b] as usize);
            let q = measure.row(b, target);
            solve_row(row, &q, alpha, target, scratch).map_err(|e| (b, e))
        })
        .collect();
    solved.map_err(|(row, e)| match e {
        RowError::NonFinite { column, value } => candle_core::Error::Msg(format!(
            "alpha-divergence: logits must be finite, but logits[{row}, {column}] is {value}"
        )),
    })
}

/// Runs `$body` with `$slice` bound to the contiguous data of a CPU storage (f32 or f64).
macro_rules! with_real_slice {
    ($storage:expr, $layout:expr, |$slice:ident| $body:expr) => {{
        let (start, end) = match $layout.contiguous_offsets() {
            Some(offsets) => offsets,
            None => bail!("alpha-divergence: the CPU op needs contiguous logits"),
        };
        match $storage {
            CpuStorage::F32(v) => {
                let $slice = &v[start..end];
                $body
            }
            CpuStorage::F64(v) => {
                let $slice = &v[start..end];
                $body
            }
            _ => bail!("alpha-divergence: logits must be f32 or f64 on the CPU path"),
        }
    }};
}

fn dims2(layout: &Layout) -> Result<(usize, usize)> {
    match layout.shape().dims() {
        [b, c] => Ok((*b, *c)),
        dims => bail!("alpha-divergence: logits must be [B, C], got {dims:?}"),
    }
}

/// Forward: the per-row loss `[B]`; backward: `grad_b · (p − e_y)`.
pub(crate) struct LossOp {
    pub alpha: f64,
    pub measure: Arc<ReferenceMeasure>,
    pub targets: Arc<Vec<u32>>,
    /// Filled by the forward pass; read by the backward pass and by telemetry.
    pub solutions: Arc<OnceLock<Vec<RowSolution>>>,
}

impl LossOp {
    fn solutions_for<T: Real>(&self, theta: &[T], classes: usize) -> Result<Vec<RowSolution>> {
        solve_rows(
            theta,
            classes,
            &self.measure,
            self.alpha,
            Some(&self.targets),
        )
    }

    fn gradient<T: Real>(
        &self,
        theta: &[T],
        classes: usize,
        sols: &[RowSolution],
        upstream: &[f64],
    ) -> Vec<T> {
        let alpha = self.alpha;
        let power = Power::for_alpha(alpha);
        let inv_d = if alpha > 1.0 {
            1.0 / (alpha - 1.0)
        } else {
            0.0
        };
        let mut out = vec![T::from_f64(0.0); theta.len()];
        out.par_chunks_mut(classes)
            .zip(theta.par_chunks(classes))
            .enumerate()
            .for_each_init(Vec::new, |columns, (b, (grad, row))| {
                let sol = &sols[b];
                let g = upstream[b];
                let y = self.targets[b] as usize;
                let q = self.measure.row(b, Some(y));
                if alpha == 1.0 {
                    match q.base {
                        RowBase::Constant(c) => {
                            // p_j = c e^{θ_j − max} e^{−τ_rel}, then fix the target's own weight.
                            T::write_scaled_exp(row, sol.max, g * c * (-sol.tau_rel).exp(), grad);
                            grad[y] = T::from_f64(
                                g * probability(row[y].to_f64(), q.q(y), sol, alpha, power),
                            );
                        }
                        RowBase::Slice(_) => {
                            for (j, (o, t)) in grad.iter_mut().zip(row.iter()).enumerate() {
                                *o = T::from_f64(
                                    g * probability(t.to_f64(), q.q(j), sol, alpha, power),
                                );
                            }
                        }
                    }
                } else if let (RowBase::Constant(c), Power::One | Power::Two, true) =
                    (q.base, power, 8 * sol.support >= classes)
                {
                    // A dense support: one branch-free pass, p_j = c [1 + (α−1)(θ_j − τ)]_+^r,
                    // then the target's own weight.
                    let shift = sol.max + sol.tau_rel;
                    let d = alpha - 1.0;
                    let square = matches!(power, Power::Two);
                    T::write_clipped_power(row, shift, d, g * c, square, grad);
                    grad[y] =
                        T::from_f64(g * probability(row[y].to_f64(), q.q(y), sol, alpha, power));
                } else {
                    // Only the support can be nonzero: θ_j > τ − 1/(α−1).
                    columns.clear();
                    T::columns_above(row, sol.max + sol.tau_rel - inv_d, columns);
                    for &j in columns.iter() {
                        let j = j as usize;
                        grad[j] = T::from_f64(
                            g * probability(row[j].to_f64(), q.q(j), sol, alpha, power),
                        );
                    }
                }
                grad[y] = T::from_f64(grad[y].to_f64() - g);
            });
        out
    }
}

impl CustomOp1 for LossOp {
    fn name(&self) -> &'static str {
        "alpha-divergence-loss"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (batch, classes) = dims2(layout)?;
        with_real_slice!(storage, layout, |theta| {
            let sols = self.solutions_for(theta, classes)?;
            let losses = sols.iter().map(|s| s.loss);
            let out = match storage {
                CpuStorage::F64(_) => CpuStorage::F64(losses.collect()),
                _ => CpuStorage::F32(losses.map(|l| l as f32).collect()),
            };
            let _ = self.solutions.set(sols);
            Ok((out, Shape::from(batch)))
        })
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let upstream: Vec<f64> = grad_res.to_dtype(candle_core::DType::F64)?.to_vec1()?;
        let (batch, classes) = arg.dims2()?;
        let (storage, layout) = arg.storage_and_layout();
        let Storage::Cpu(cpu) = &*storage else {
            bail!("alpha-divergence: the CPU op's backward got a non-CPU tensor");
        };
        let grad = with_real_slice!(cpu, layout, |theta| {
            let recomputed;
            let sols = match self.solutions.get() {
                Some(s) => s,
                None => {
                    recomputed = self.solutions_for(theta, classes)?;
                    &recomputed
                }
            };
            let g = self.gradient(theta, classes, sols, &upstream);
            Tensor::from_vec(g, (batch, classes), arg.device())?
        });
        Ok(Some(grad))
    }
}

/// Forward: p = α-softargmax(θ; q) `[B, C]`; backward: the Jacobian-vector product
/// dθ = w ⊙ dp − w (Σ_j w_j dp_j)/Σ_j w_j with w_j = q_j^{α−1} p_j^{2−α} on the support.
pub(crate) struct SoftargmaxOp {
    pub alpha: f64,
    pub measure: Arc<ReferenceMeasure>,
}

impl SoftargmaxOp {
    fn probabilities<T: Real>(&self, theta: &[T], classes: usize) -> Result<Vec<T>> {
        let sols = solve_rows(theta, classes, &self.measure, self.alpha, None)?;
        let alpha = self.alpha;
        let power = Power::for_alpha(alpha);
        let mut out = vec![T::from_f64(0.0); theta.len()];
        out.par_chunks_mut(classes)
            .zip(theta.par_chunks(classes))
            .enumerate()
            .for_each(|(b, (p, row))| {
                let q = self.measure.row(b, None);
                for (j, (o, t)) in p.iter_mut().zip(row).enumerate() {
                    *o = T::from_f64(probability(t.to_f64(), q.q(j), &sols[b], alpha, power));
                }
            });
        Ok(out)
    }
}

impl CustomOp1 for SoftargmaxOp {
    fn name(&self) -> &'static str {
        "alpha-softargmax"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (batch, classes) = dims2(layout)?;
        let out = match storage {
            CpuStorage::F32(_) => {
                with_real_slice!(storage, layout, |theta| CpuStorage::F32(
                    self.probabilities(theta, classes)?
                        .iter()
                        .map(|v| v.to_f64() as f32)
                        .collect()
                ))
            }
            _ => with_real_slice!(storage, layout, |theta| CpuStorage::F64(
                self.probabilities(theta, classes)?
                    .iter()
                    .map(|v| v.to_f64())
                    .collect()
            )),
        };
        Ok((out, Shape::from((batch, classes))))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let (batch, classes) = res.dims2()?;
        let dtype = res.dtype();
        let p: Vec<f64> = res
            .to_dtype(candle_core::DType::F64)?
            .flatten_all()?
            .to_vec1()?;
        let dp: Vec<f64> = grad_res
            .to_dtype(candle_core::DType::F64)?
            .flatten_all()?
            .to_vec1()?;
        let alpha = self.alpha;
        let mut out = vec![0.0f64; p.len()];
        out.par_chunks_mut(classes).enumerate().for_each(|(b, o)| {
            let q = self.measure.row(b, None);
            let pr = &p[b * classes..(b + 1) * classes];
            let dr = &dp[b * classes..(b + 1) * classes];
            let mut w_sum = 0.0;
            let mut wd_sum = 0.0;
            for j in 0..classes {
                if pr[j] > 0.0 {
                    let w = if alpha == 1.0 {
                        pr[j]
                    } else {
                        q.q(j).powf(alpha - 1.0) * pr[j].powf(2.0 - alpha)
                    };
                    o[j] = w;
                    w_sum += w;
                    wd_sum += w * dr[j];
                }
            }
            let mean = if w_sum > 0.0 { wd_sum / w_sum } else { 0.0 };
            for j in 0..classes {
                if o[j] != 0.0 {
                    o[j] *= dr[j] - mean;
                }
            }
        });
        Ok(Some(
            Tensor::from_vec(out, (batch, classes), res.device())?.to_dtype(dtype)?,
        ))
    }
}
