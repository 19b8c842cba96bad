//! Margins: how the target class is penalized, either in the logits (CosFace, ArcFace, combined,
//! A3M) or in the reference measure (Q-Margin), and which loss (α, base measure) follows.

use candle_core::{bail, DType, Result, Tensor, D};

/// How an angular margin's gradient is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
pub enum AngularGradient {
    /// The derivative of the margin function itself, d cos(φ + m)/d cos φ = cos m + sin m · cot φ
    /// (1 in the linear fallback region).
    #[default]
    Exact,
    /// The value of cos(φ + m) with the gradient of cos φ, as arcface_torch computes it today
    /// (the margin is applied under `no_grad`).
    StraightThrough,
}

/// The reference measure before Q-Margin's target scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
pub enum BaseMeasure {
    /// q_j = 1 (entmax's Tsallis loss at α > 1; very sparse posteriors).
    #[default]
    Unit,
    /// q_j = 1/C (the uniform probability; dense posteriors for large C).
    Uniform,
}

/// A penalty on the target class's cosine, applied before the scale s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LogitMargin {
    /// No change: θ_y = cos φ_y.
    None,
    /// CosFace: cos φ_y − m.
    Additive {
        /// The additive cosine margin m.
        m: f64,
    },
    /// ArcFace: cos(φ_y + m), and cos φ_y − m·sin(π − m) where φ_y + m > π (insightface's fallback).
    Angular {
        /// The additive angular margin m (radians).
        m: f64,
        /// Exact or straight-through gradient.
        gradient: AngularGradient,
    },
    /// cos(m1·φ_y + m2) − m3; past φ_max = (π − m2)/m1 the value continues linearly in cos φ_y
    /// (cos φ_y − cos φ_max − 1 − m3), continuous and with slope 1.
    Combined {
        /// Multiplicative angular margin.
        m1: f64,
        /// Additive angular margin (radians).
        m2: f64,
        /// Additive cosine margin.
        m3: f64,
        /// Exact or straight-through gradient.
        gradient: AngularGradient,
    },
}

/// The loss that follows the logits: α and the reference measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossSpec {
    /// α ≥ 1; α = 1 is cross-entropy (softmax), α > 1 gives sparse posteriors.
    pub alpha: f64,
    /// The base measure q.
    pub base: BaseMeasure,
    /// ρ ∈ (0, 1]: the target's weight is q_y = base·ρ (Q-Margin); 1 for no margin in q.
    pub target_prior: f64,
}

impl LossSpec {
    /// Cross-entropy: α = 1, q = 1, ρ = 1.
    pub fn cross_entropy() -> Self {
        Self {
            alpha: 1.0,
            base: BaseMeasure::Unit,
            target_prior: 1.0,
        }
    }
}

/// A fully resolved margin: scale, logit margin and loss. Any logit margin combines with any loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarginSpec {
    /// The logit scale s (logits are s·cos).
    pub scale: f64,
    /// The penalty on the target cosine.
    pub logit: LogitMargin,
    /// α, base measure and target prior.
    pub loss: LossSpec,
}

/// The margins alpha-verify trains with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Margin {
    /// Plain normalized softmax: s·cos, cross-entropy.
    Softmax {
        /// Scale.
        s: f64,
    },
    /// CosFace (LMCL): s(cos φ_y − m), cross-entropy.
    CosFace {
        /// Scale.
        s: f64,
        /// Cosine margin.
        m: f64,
    },
    /// ArcFace (AAM): s·cos(φ_y + m), cross-entropy.
    ArcFace {
        /// Scale.
        s: f64,
        /// Angular margin (radians).
        m: f64,
        /// Exact or straight-through gradient.
        gradient: AngularGradient,
    },
    /// insightface's combined margin s(cos(m1 φ_y + m2) − m3), cross-entropy, exact gradient.
    Combined {
        /// Scale.
        s: f64,
        /// Multiplicative angular margin.
        m1: f64,
        /// Additive angular margin.
        m2: f64,
        /// Additive cosine margin.
        m3: f64,
    },
    /// Q-Margin: logits s·cos, α-loss with q_y = base·ρ and q_j = base otherwise.
    QMargin {
        /// Scale.
        s: f64,
        /// α ≥ 1.
        alpha: f64,
        /// ρ ∈ (0, 1], the target's prior factor.
        target_prior: f64,
        /// The base measure.
        base: BaseMeasure,
    },
    /// A3M: ArcFace's angular margin in the target logit (exact gradient), then the α-loss.
    A3M {
        /// Scale.
        s: f64,
        /// Angular margin (radians).
        m: f64,
        /// α ≥ 1.
        alpha: f64,
        /// The base measure.
        base: BaseMeasure,
    },
    /// Any logit margin with any loss.
    General(MarginSpec),
}

/// Q-Margin's target prior for a margin `m` in cosine units at scale `s`: ρ = e^(−s·m), the one
/// place this conversion is made (configs, schedules).
pub fn q_margin_prior(s: f64, m: f64) -> f64 {
    (-s * m).exp()
}

impl Margin {
    /// Q-Margin from a margin `m` in logit units: ρ = exp(−s·m). At α = 1 this is exactly
    /// CosFace(s, m), because ln q_y enters the softmax as an additive logit offset.
    pub fn q_margin_from_logit_margin(s: f64, m: f64, alpha: f64, base: BaseMeasure) -> Self {
        Margin::QMargin {
            s,
            alpha,
            target_prior: q_margin_prior(s, m),
            base,
        }
    }

    /// The resolved scale, logit margin and loss.
    pub fn spec(&self) -> MarginSpec {
        let ce = LossSpec::cross_entropy();
        match *self {
            Margin::Softmax { s } => MarginSpec {
                scale: s,
                logit: LogitMargin::None,
                loss: ce,
            },
            Margin::CosFace { s, m } => MarginSpec {
                scale: s,
                logit: LogitMargin::Additive { m },
                loss: ce,
            },
            Margin::ArcFace { s, m, gradient } => MarginSpec {
                scale: s,
                logit: LogitMargin::Angular { m, gradient },
                loss: ce,
            },
            Margin::Combined { s, m1, m2, m3 } => MarginSpec {
                scale: s,
                logit: LogitMargin::Combined {
                    m1,
                    m2,
                    m3,
                    gradient: AngularGradient::Exact,
                },
                loss: ce,
            },
            Margin::QMargin {
                s,
                alpha,
                target_prior,
                base,
            } => MarginSpec {
                scale: s,
                logit: LogitMargin::None,
                loss: LossSpec {
                    alpha,
                    base,
                    target_prior,
                },
            },
            Margin::A3M { s, m, alpha, base } => MarginSpec {
                scale: s,
                logit: LogitMargin::Angular {
                    m,
                    gradient: AngularGradient::Exact,
                },
                loss: LossSpec {
                    alpha,
                    base,
                    target_prior: 1.0,
                },
            },
            Margin::General(spec) => spec,
        }
    }
}

impl MarginSpec {
    /// Checks the settings: s > 0, α ≥ 1, ρ ∈ (0, 1], margins finite and m1 > 0.
    pub fn validate(&self) -> Result<()> {
        if !(self.scale.is_finite() && self.scale > 0.0) {
            bail!(
                "margin: the scale s must be finite and > 0, got {}",
                self.scale
            );
        }
        let LossSpec {
            alpha,
            target_prior,
            ..
        } = self.loss;
        if !(alpha.is_finite() && alpha >= 1.0) {
            bail!("margin: α must be finite and >= 1, got {alpha}");
        }
        if !(target_prior > 0.0 && target_prior <= 1.0) {
            bail!("margin: the target prior ρ must be in (0, 1], got {target_prior}");
        }
        let finite = match self.logit {
            LogitMargin::None => true,
            LogitMargin::Additive { m } | LogitMargin::Angular { m, .. } => m.is_finite(),
            LogitMargin::Combined { m1, m2, m3, .. } => {
                if m1.is_nan() || m1 <= 0.0 {
                    bail!("margin: the multiplicative margin m1 must be > 0, got {m1}");
                }
                m1.is_finite() && m2.is_finite() && m3.is_finite()
            }
        };
        if !finite {
            bail!("margin: margin values must be finite, got {:?}", self.logit);
        }
        Ok(())
    }
}

/// Applies the logit margin to the target cosines and scales: `cos [B, C]` → logits `[B, C]`.
/// `targets` is `[B]` u32. Cosines are clamped to [−1, 1] before any angle is taken.
pub fn apply_logit_margin(
    cos: &Tensor,
    targets: &Tensor,
    margin: &LogitMargin,
    scale: f64,
) -> Result<Tensor> {
    let (batch, classes) = cos.dims2()?;
    let adjusted = match margin {
        LogitMargin::None => cos.clone(),
        _ => {
            let y = targets.to_dtype(DType::U32)?.reshape((batch, 1))?;
            let c_y = cos.gather(&y, D::Minus1)?.clamp(-1.0, 1.0)?;
            let new_c_y = target_value(&c_y, margin)?;
            let one_hot = Tensor::arange(0u32, classes as u32, cos.device())?
                .unsqueeze(0)?
                .broadcast_eq(&y)?
                .to_dtype(cos.dtype())?;
            (cos + one_hot.broadcast_mul(&(new_c_y - c_y)?)?)?
        }
    };
    adjusted * scale
}

/// The penalized target cosine for `c_y` `[B, 1]`, with the margin's gradient convention.
fn target_value(c_y: &Tensor, margin: &LogitMargin) -> Result<Tensor> {
    match *margin {
        LogitMargin::None => Ok(c_y.clone()),
        LogitMargin::Additive { m } => c_y - m,
        LogitMargin::Angular { m, gradient } => {
            let exact = arcface_exact(c_y, m)?;
            with_gradient(c_y, exact, gradient)
        }
        LogitMargin::Combined {
            m1,
            m2,
            m3,
            gradient,
        } => {
            let exact = combined_exact(c_y, m1, m2, m3)?;
            with_gradient(c_y, exact, gradient)
        }
    }
}

fn with_gradient(c_y: &Tensor, exact: Tensor, gradient: AngularGradient) -> Result<Tensor> {
    match gradient {
        AngularGradient::Exact => Ok(exact),
        // Value of the margin function, gradient of the identity.
        AngularGradient::StraightThrough => c_y + (exact - c_y)?.detach(),
    }
}

/// cos(φ + m) = c cos m − sqrt(1 − c²) sin m where φ + m ≤ π, else c − m sin(π − m).
fn arcface_exact(c: &Tensor, m: f64) -> Result<Tensor> {
    // 1 − c² is floored so the derivative stays finite at c = ±1.
    let sin = (1.0 - c.sqr()?)?.clamp(1e-12, 1.0)?.sqrt()?;
    let with_margin = ((c * m.cos())? - (sin * m.sin())?)?;
    let fallback = (c - m * (std::f64::consts::PI - m).sin())?;
    let inside = c.gt((std::f64::consts::PI - m).cos())?;
    inside.where_cond(&with_margin, &fallback)
}

/// cos(m1 φ + m2) − m3 with the continuous linear extension past φ_max = (π − m2)/m1.
fn combined_exact(c: &Tensor, m1: f64, m2: f64, m3: f64) -> Result<Tensor> {
    let phi = arccos(c)?;
    let angle = ((phi * m1)? + m2)?;
    let value = (angle.cos()? - m3)?;
    let phi_max = (std::f64::consts::PI - m2) / m1;
    let linear = ((c - phi_max.cos())? - (1.0 + m3))?;
    let inside = if phi_max >= std::f64::consts::PI {
        c.ge(-2.0)?
    } else {
        c.gt(phi_max.cos())?
    };
    inside.where_cond(&value, &linear)
}

/// arccos with its exact derivative −1/sqrt(1 − c²) (floored away from ±1), on any device:
/// candle has no acos op, so the value is computed on the host and the gradient is attached.
fn arccos(c: &Tensor) -> Result<Tensor> {
    let values: Vec<f64> = c.flatten_all()?.to_dtype(DType::F64)?.to_vec1()?;
    let phi: Vec<f64> = values.iter().map(|v| v.clamp(-1.0, 1.0).acos()).collect();
    let phi = Tensor::from_vec(phi, c.shape(), c.device())?.to_dtype(c.dtype())?;
    let slope = (1.0 - c.sqr()?)?
        .clamp(1e-12, 1.0)?
        .sqrt()?
        .recip()?
        .neg()?
        .detach();
    phi + ((c - c.detach())? * slope)?
}
