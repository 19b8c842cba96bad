//! The public entry points: α-softargmax and the α-divergence Fenchel-Young loss, on the CPU fast
//! path or the device-generic path, with input validation and per-batch statistics.

use std::sync::{Arc, OnceLock};

use candle_core::{bail, DType, Device, Result, Tensor};

use crate::cpu_op::{LossOp, SoftargmaxOp};
use crate::generic;
use crate::measure::ReferenceMeasure;

/// Which implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The CPU custom op on CPU tensors, the generic path elsewhere.
    #[default]
    Auto,
    /// The CPU custom op (rows in parallel, closed-form backward); CPU tensors only.
    CpuFast,
    /// Tensor ops only: runs on any device (CUDA included).
    Generic,
}

/// Per-batch statistics of the posterior, for telemetry.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Telemetry {
    /// Number of rows.
    pub rows: usize,
    /// Mean of the per-row loss.
    pub mean_loss: f64,
    /// Mean probability of the target class.
    pub mean_p_target: f64,
    /// Fraction of rows whose target got p_y = 0 (outside the support).
    pub frac_target_zero: f64,
    /// Mean number of classes with p_j > 0.
    pub mean_support: f64,
    /// Largest number of classes with p_j > 0 in one row.
    pub max_support: usize,
}

impl Telemetry {
    fn from_rows(losses: &[f64], p_target: &[f64], support: &[usize]) -> Self {
        let n = losses.len();
        if n == 0 {
            return Self::default();
        }
        let nf = n as f64;
        Self {
            rows: n,
            mean_loss: losses.iter().sum::<f64>() / nf,
            mean_p_target: p_target.iter().sum::<f64>() / nf,
            frac_target_zero: p_target.iter().filter(|p| **p <= 0.0).count() as f64 / nf,
            mean_support: support.iter().sum::<usize>() as f64 / nf,
            max_support: support.iter().copied().max().unwrap_or(0),
        }
    }
}

/// The per-row loss and its statistics.
#[derive(Debug, Clone)]
pub struct LossOutput {
    /// Per-row loss `[B]`; `loss.sum()?.backward()` gives p − e_y for the logits.
    pub loss: Tensor,
    /// Statistics of this batch's posterior.
    pub stats: Telemetry,
}

fn check_alpha(alpha: f64) -> Result<()> {
    if !(alpha.is_finite() && alpha >= 1.0) {
        bail!("alpha-divergence: α must be a finite number >= 1, got {alpha}");
    }
    Ok(())
}

/// Validates the logits' rank and dtype; returns `[B, C]` in the dtype we compute in.
fn prepare_logits(logits: &Tensor) -> Result<(Tensor, usize, usize)> {
    let (batch, classes) = match logits.dims() {
        [b, c] => (*b, *c),
        dims => bail!("alpha-divergence: logits must be [B, C], got shape {dims:?}"),
    };
    if classes == 0 {
        bail!("alpha-divergence: logits have no classes (shape [{batch}, 0])");
    }
    let logits = match logits.dtype() {
        DType::F32 | DType::F64 => logits.clone(),
        DType::F16 | DType::BF16 => logits.to_dtype(DType::F32)?,
        other => bail!("alpha-divergence: logits must be a float tensor, got {other:?}"),
    };
    Ok((logits.contiguous()?, batch, classes))
}

/// Reads targets `[B]` (u32 or i64, any integer type) and checks they index a class.
fn read_targets(targets: &Tensor, batch: usize, classes: usize) -> Result<Vec<u32>> {
    if targets.dims() != [batch] {
        bail!(
            "alpha-divergence: targets must be [{batch}] to match logits [{batch}, {classes}], got shape {:?}",
            targets.dims()
        );
    }
    let values: Vec<i64> = match targets.dtype() {
        DType::U8 | DType::U32 | DType::I64 => targets.to_dtype(DType::I64)?.to_vec1()?,
        other => {
            bail!("alpha-divergence: targets must be an integer tensor (u32 or i64), got {other:?}")
        }
    };
    values
        .iter()
        .enumerate()
        .map(|(b, &t)| {
            if t < 0 || t as u64 >= classes as u64 {
                bail!("alpha-divergence: target {t} of row {b} is out of range 0..{classes}")
            } else {
                Ok(t as u32)
            }
        })
        .collect()
}

fn check_finite(logits: &Tensor) -> Result<()> {
    // θ·0 is NaN exactly where θ is NaN or infinite.
    let probe = (logits * 0.0)?
        .sum_all()?
        .to_dtype(DType::F64)?
        .to_scalar::<f64>()?;
    if probe.is_nan() {
        bail!("alpha-divergence: logits contain NaN or infinite values");
    }
    Ok(())
}

fn use_cpu(device: &Device, backend: Backend) -> Result<bool> {
    match backend {
        Backend::Auto => Ok(device.is_cpu()),
        Backend::CpuFast if device.is_cpu() => Ok(true),
        Backend::CpuFast => {
            bail!("alpha-divergence: Backend::CpuFast needs CPU tensors, got {device:?}")
        }
        Backend::Generic => Ok(false),
    }
}

/// p = α-softargmax(θ; q): `p_j = q_j [1 + (α−1)(θ_j − τ)]_+^{1/(α−1)}` with τ such that Σp = 1,
/// and `softmax(θ + ln q)` at α = 1.
///
/// `logits` is `[B, C]` (f32 or f64; f16/bf16 are computed in f32), `q` is `[C]` or `[B, C]`,
/// strictly positive. The result has the logits' compute dtype and a closed-form backward.
pub fn alpha_softargmax(logits: &Tensor, q: &Tensor, alpha: f64) -> Result<Tensor> {
    let (_, batch, classes) = prepare_logits(logits)?;
    let measure = ReferenceMeasure::from_tensor(q, batch, classes)?;
    alpha_softargmax_with(logits, &measure, alpha, Backend::Auto)
}

/// [`alpha_softargmax`] with a structured measure and a chosen backend.
pub fn alpha_softargmax_with(
    logits: &Tensor,
    measure: &ReferenceMeasure,
    alpha: f64,
    backend: Backend,
) -> Result<Tensor> {
    check_alpha(alpha)?;
    let (logits, batch, classes) = prepare_logits(logits)?;
    measure.check_fits(batch, classes)?;
    if use_cpu(logits.device(), backend)? {
        logits.apply_op1(SoftargmaxOp {
            alpha,
            measure: Arc::new(measure.clone()),
        })
    } else {
        check_finite(&logits)?;
        let logits = logits.to_dtype(generic::compute_dtype(logits.dtype()))?;
        generic::softargmax(&logits, measure, alpha)
    }
}

/// The α-divergence Fenchel-Young loss per row, `[B]`:
/// `ℓ(θ, y; q) = softmax_f(θ; q) + D_f(e_y; q) − θ_y`, which is ≥ 0 and 0 iff p = e_y.
///
/// `logits` `[B, C]`, `targets` `[B]` (u32 or i64), `q` `[C]` or `[B, C]` strictly positive.
/// `loss.sum()?.backward()` gives exactly p − e_y for the logits.
pub fn alpha_divergence_loss(
    logits: &Tensor,
    targets: &Tensor,
    q: &Tensor,
    alpha: f64,
) -> Result<Tensor> {
    let (_, batch, classes) = prepare_logits(logits)?;
    let measure = ReferenceMeasure::from_tensor(q, batch, classes)?;
    Ok(alpha_loss(logits, targets, &measure, alpha, Backend::Auto)?.loss)
}

/// The α-divergence loss with a structured measure (e.g. Q-Margin's scaled target weight), a
/// chosen backend, and the batch's posterior statistics.
pub fn alpha_loss(
    logits: &Tensor,
    targets: &Tensor,
    measure: &ReferenceMeasure,
    alpha: f64,
    backend: Backend,
) -> Result<LossOutput> {
    check_alpha(alpha)?;
    let (logits, batch, classes) = prepare_logits(logits)?;
    measure.check_fits(batch, classes)?;
    let targets = read_targets(targets, batch, classes)?;
    if use_cpu(logits.device(), backend)? {
        let solutions = Arc::new(OnceLock::new());
        let loss = logits.apply_op1(LossOp {
            alpha,
            measure: Arc::new(measure.clone()),
            targets: Arc::new(targets),
            solutions: solutions.clone(),
        })?;
        let sols = solutions.get().ok_or_else(|| {
            candle_core::Error::Msg("alpha-divergence: the CPU op produced no solution".into())
        })?;
        let losses: Vec<f64> = sols.iter().map(|s| s.loss).collect();
        let p_target: Vec<f64> = sols.iter().map(|s| s.p_target).collect();
        let support: Vec<usize> = sols.iter().map(|s| s.support).collect();
        Ok(LossOutput {
            loss,
            stats: Telemetry::from_rows(&losses, &p_target, &support),
        })
    } else {
        check_finite(&logits)?;
        let logits = logits.to_dtype(generic::compute_dtype(logits.dtype()))?;
        let (loss, p) = generic::loss(&logits, &targets, measure, alpha)?;
        let y = Tensor::from_slice(&targets, (batch, 1), logits.device())?;
        let p_target: Vec<f64> = p
            .gather(&y, 1)?
            .squeeze(1)?
            .to_dtype(DType::F64)?
            .to_vec1()?;
        let support: Vec<usize> = if alpha == 1.0 {
            // Every class has p_j > 0 at α = 1 (even where e^{θ_j − τ} underflows).
            vec![classes; batch]
        } else {
            p.gt(0.0)?
                .to_dtype(DType::U32)?
                .sum(1)?
                .to_vec1::<u32>()?
                .into_iter()
                .map(|s| s as usize)
                .collect()
        };
        let losses: Vec<f64> = loss.to_dtype(DType::F64)?.to_vec1()?;
        Ok(LossOutput {
            loss,
            stats: Telemetry::from_rows(&losses, &p_target, &support),
        })
    }
}
