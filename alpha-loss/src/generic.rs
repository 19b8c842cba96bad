//! The device-generic path: the same α-softargmax and loss with candle tensor ops only, so it runs
//! on CUDA (or any device). τ is found by bisection on the bracket and finished by Newton steps on
//! the support found, all in f32 or wider; the loss gradient is exactly p − e_y through a
//! detached-value construction, not autograd through the root finding.

use candle_core::{DType, Result, Tensor, D};

use crate::measure::ReferenceMeasure;

/// Bisection steps before the Newton finish: the bracket shrinks by 2^-60, far below f32 spacing.
const BISECTION_STEPS: usize = 60;
/// Newton steps on the found support; each one squares the error.
const NEWTON_STEPS: usize = 4;

/// τ relative to the row max (`[B, 1]`), the shifted logits `θ − max` (`[B, C]`) and q broadcast
/// to `[B, C]`, all detached and in f64 (the bisection itself runs in the logits' dtype).
pub(crate) struct Solved {
    pub tau: Tensor,
    pub shifted: Tensor,
    pub q: Tensor,
}

/// Computes τ for every row with tensor ops. `logits` must already be f32 or f64.
pub(crate) fn solve(
    logits: &Tensor,
    measure: &ReferenceMeasure,
    alpha: f64,
    targets: Option<&[u32]>,
) -> Result<Solved> {
    let (batch, classes) = logits.dims2()?;
    let dtype = logits.dtype();
    let device = logits.device();
    let theta = logits.detach();
    let max = theta.max_keepdim(D::Minus1)?;
    let shifted = theta.broadcast_sub(&max)?;
    let q = measure
        .to_tensor(targets, batch, classes, dtype, device)?
        .broadcast_as((batch, classes))?
        .contiguous()?;
    if alpha == 1.0 {
        // τ = ln Σ q e^{θ − max}, in f64.
        let shifted = shifted.to_dtype(DType::F64)?;
        let q = q.to_dtype(DType::F64)?;
        let tau = (&q * shifted.exp()?)?.sum_keepdim(D::Minus1)?.log()?;
        return Ok(Solved { tau, shifted, q });
    }
    let d = alpha - 1.0;
    let r = 1.0 / d;
    let alpha_log = |x: &Tensor| -> Result<Tensor> { (x.powf(d)? - 1.0)? / d };
    let argmax = theta.argmax_keepdim(D::Minus1)?;
    let q_at_max = q.gather(&argmax, D::Minus1)?;
    let mut lo = alpha_log(&q_at_max.recip()?)?.neg()?;
    if let Some(t) = targets {
        let y = Tensor::from_slice(t, (batch, 1), device)?;
        let from_target =
            (shifted.gather(&y, D::Minus1)? - alpha_log(&q.gather(&y, D::Minus1)?.recip()?)?)?;
        lo = lo.maximum(&from_target)?;
    }
    let mut hi = alpha_log(&q.sum_keepdim(D::Minus1)?.recip()?)?
        .neg()?
        .maximum(&lo)?;
    let mass = |tau: &Tensor| -> Result<Tensor> {
        let x = ((shifted.broadcast_sub(tau)? * d)? + 1.0)?.relu()?;
        (&q * x.powf(r)?)?.sum_keepdim(D::Minus1)
    };
    for _ in 0..BISECTION_STEPS {
        let mid = ((&lo + &hi)? * 0.5)?;
        let above = mass(&mid)?.ge(1.0)?;
        lo = above.where_cond(&mid, &lo)?;
        hi = above.where_cond(&hi, &mid)?;
    }
    // Newton from the left end on the support it implies, in f64 (τ relative to the max can be
    // hundreds of logits for q = 1/C, where f32 spacing alone would cost 1e-6 of probability
    // mass), kept inside the final bracket.
    let shifted = shifted.to_dtype(DType::F64)?;
    let q = q.to_dtype(DType::F64)?;
    let lo = lo.to_dtype(DType::F64)?;
    let hi = hi.to_dtype(DType::F64)?;
    let mut tau = lo.clone();
    for _ in 0..NEWTON_STEPS {
        let x = ((shifted.broadcast_sub(&tau)? * d)? + 1.0)?;
        let inside = x.gt(0.0)?;
        let xc = x.relu()?;
        let value = ((&q * xc.powf(r)?)?.sum_keepdim(D::Minus1)? - 1.0)?;
        let zeros = xc.zeros_like()?;
        let slope_terms = inside.where_cond(&(&q * xc.powf(r - 1.0)?)?, &zeros)?;
        let slope = slope_terms.sum_keepdim(D::Minus1)?;
        let next = (&tau + value.div(&slope)?)?;
        let ok = next.ge(&lo)?.mul(&next.le(&hi)?)?;
        tau = ok.where_cond(&next, &tau)?;
    }
    Ok(Solved { tau, shifted, q })
}

/// p from a solution: q [1 + (α−1)(θ − τ)]_+^{1/(α−1)}, or q e^{θ − τ} at α = 1.
pub(crate) fn probabilities(solved: &Solved, alpha: f64) -> Result<Tensor> {
    let v = solved.shifted.broadcast_sub(&solved.tau)?;
    if alpha == 1.0 {
        return &solved.q * v.exp()?;
    }
    let d = alpha - 1.0;
    let x = ((v * d)? + 1.0)?.relu()?;
    &solved.q * x.powf(1.0 / d)?
}

/// Per-row loss `[B]` whose gradient w.r.t. `logits` is exactly p − e_y, plus p (detached).
pub(crate) fn loss(
    logits: &Tensor,
    targets: &[u32],
    measure: &ReferenceMeasure,
    alpha: f64,
) -> Result<(Tensor, Tensor)> {
    let (batch, classes) = logits.dims2()?;
    let device = logits.device();
    let solved = solve(logits, measure, alpha, Some(targets))?;
    let p = probabilities(&solved, alpha)?;
    let y = Tensor::from_slice(targets, (batch, 1), device)?;
    let theta_y = solved.shifted.gather(&y, D::Minus1)?;
    let q_y = solved.q.gather(&y, D::Minus1)?;
    let value = if alpha == 1.0 {
        ((&solved.tau - theta_y)? - q_y.log()?)?
    } else {
        let d = alpha - 1.0;
        let x = ((solved.shifted.broadcast_sub(&solved.tau)? * d)? + 1.0)?.relu()?;
        let weighted = (&p * x)?.sum_keepdim(D::Minus1)?;
        let constant = ((q_y.powf(-d)? - alpha)? / (alpha * d))?;
        (((&solved.tau - theta_y)? + (weighted / alpha)?)? + constant)?.relu()?
    };
    let one_hot = Tensor::arange(0u32, classes as u32, device)?
        .unsqueeze(0)?
        .broadcast_eq(&y)?
        .to_dtype(DType::F64)?;
    let direction = (&p - one_hot)?.to_dtype(logits.dtype())?;
    let value = value.to_dtype(logits.dtype())?;
    // Zero in value, p − e_y in gradient.
    let surrogate = ((logits - logits.detach())? * direction)?.sum_keepdim(D::Minus1)?;
    let loss = (value + surrogate)?.squeeze(D::Minus1)?;
    Ok((loss, p.to_dtype(logits.dtype())?))
}

/// The softargmax `[B, C]` whose backward is the exact Jacobian-vector product
/// dθ = w ⊙ dp − w (Σ w dp)/Σ w, w_j = q_j^{α−1} p_j^{2−α} on the support (w = p at α = 1),
/// built as p + J (θ − sg(θ)) so the value is p and no autograd runs through the root finding.
pub(crate) fn softargmax(
    logits: &Tensor,
    measure: &ReferenceMeasure,
    alpha: f64,
) -> Result<Tensor> {
    let solved = solve(logits, measure, alpha, None)?;
    let p = probabilities(&solved, alpha)?;
    let w = if alpha == 1.0 {
        p.clone()
    } else {
        let zeros = p.zeros_like()?;
        let positive = p.gt(0.0)?;
        let safe_p = positive.where_cond(&p, &p.ones_like()?)?;
        let w = (solved.q.powf(alpha - 1.0)? * safe_p.powf(2.0 - alpha)?)?;
        positive.where_cond(&w, &zeros)?
    };
    let (p, w) = (p.to_dtype(logits.dtype())?, w.to_dtype(logits.dtype())?);
    let delta = (logits - logits.detach())?;
    let w_delta = (&w * delta)?;
    let w_sum = w.sum_keepdim(D::Minus1)?;
    let mean = w_delta.sum_keepdim(D::Minus1)?.div(&w_sum)?;
    let jvp = (w_delta - w.broadcast_mul(&mean)?)?;
    p + jvp
}

/// Casts logits to the dtype the generic path computes in (f32 or f64).
pub(crate) fn compute_dtype(dtype: DType) -> DType {
    if dtype == DType::F64 {
        DType::F64
    } else {
        DType::F32
    }
}
