//! The loss as an app's config file names it: a kind (`softmax` … `a3m-i`) and its parameters,
//! resolved into a [`Margin`] and, for A3M-I, a [`ReinitPolicy`].
//!
//! Both apps read the same `[loss]` table, so it lives here. With the `serde` feature the types
//! (de)serialize; without it they are plain structs.
//!
//! ```
//! use alpha_loss::{LossConfig, LossKind, Margin};
//!
//! let mut cfg = LossConfig::new(LossKind::QMargin);
//! cfg.alpha = Some(2.0);
//! cfg.target_prior = Some(0.1);
//! assert!(matches!(cfg.margin()?, Margin::QMargin { alpha, target_prior, .. } if alpha == 2.0 && target_prior == 0.1));
//! assert!(cfg.reinit_policy().is_none()); // only A3M-I re-initializes
//! # Ok::<(), candle_core::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use candle_core::{bail, Result};

use crate::collapse::{CollapseMonitor, CollapseMonitorConfig, ReinitPolicy};
use crate::head::MarginHead;
use crate::margin::{q_margin_prior, AngularGradient, BaseMeasure, Margin};

/// Which loss a run trains with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LossKind {
    /// Normalized softmax cross-entropy, s·cos.
    #[cfg_attr(feature = "serde", serde(rename = "softmax"))]
    Softmax,
    /// CosFace: s(cos φ_y − m).
    #[cfg_attr(feature = "serde", serde(rename = "cosface"))]
    CosFace,
    /// ArcFace: s·cos(φ_y + m).
    #[cfg_attr(feature = "serde", serde(rename = "arcface"))]
    ArcFace,
    /// insightface's combined margin s(cos(m1 φ_y + m2) − m3).
    #[cfg_attr(feature = "serde", serde(rename = "combined"))]
    Combined,
    /// Q-Margin: the margin in the reference measure, α-loss.
    #[cfg_attr(feature = "serde", serde(rename = "qmargin"))]
    QMargin,
    /// A3M: ArcFace's angular margin, then the α-loss.
    #[cfg_attr(feature = "serde", serde(rename = "a3m"))]
    A3M,
    /// A3M with prototype re-initialization.
    #[cfg_attr(feature = "serde", serde(rename = "a3m-i"))]
    A3MI,
}

impl LossKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [LossKind; 7] = [
        LossKind::Softmax,
        LossKind::CosFace,
        LossKind::ArcFace,
        LossKind::Combined,
        LossKind::QMargin,
        LossKind::A3M,
        LossKind::A3MI,
    ];

    /// The name used in config files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::Softmax => "softmax",
            LossKind::CosFace => "cosface",
            LossKind::ArcFace => "arcface",
            LossKind::Combined => "combined",
            LossKind::QMargin => "qmargin",
            LossKind::A3M => "a3m",
            LossKind::A3MI => "a3m-i",
        }
    }

    /// True for the kinds trained with the α-loss (α is a parameter).
    pub fn uses_alpha(self) -> bool {
        matches!(self, LossKind::QMargin | LossKind::A3M | LossKind::A3MI)
    }
}

impl fmt::Display for LossKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LossKind {
    type Err = candle_core::Error;

    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        for kind in LossKind::ALL {
            if kind.name() == wanted || (kind == LossKind::A3MI && wanted == "a3mi") {
                return Ok(kind);
            }
        }
        let names: Vec<&str> = LossKind::ALL.iter().map(|k| k.name()).collect();
        bail!("unknown loss {s:?}: expected one of {}", names.join(", "))
    }
}

/// Settings of the collapse monitor in a config file (see [`CollapseMonitorConfig`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct MonitorSettings {
    /// Fires when the fraction of samples with p_y = 0 over the window exceeds this.
    pub threshold: f64,
    /// Batches the fraction is taken over.
    pub window: usize,
    /// Batches to wait after firing before firing again.
    pub cooldown: usize,
}

impl Default for MonitorSettings {
    fn default() -> Self {
        let d = CollapseMonitorConfig::default();
        Self {
            threshold: d.threshold,
            window: d.window,
            cooldown: d.cooldown,
        }
    }
}

/// When A3M-I re-initializes prototypes. With no trigger at all, the collapse monitor with its
/// defaults is used (a run named `a3m-i` always has some trigger).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct ReinitConfig {
    /// Global steps (0-based) before which to re-initialize.
    pub at_steps: Vec<u64>,
    /// Epochs (0-based) at whose start to re-initialize.
    pub at_epochs: Vec<u64>,
    /// Re-initialize when the fraction of starved targets exceeds a threshold.
    pub monitor: Option<MonitorSettings>,
    /// Training items embedded per class for the class means (default 8).
    #[cfg_attr(feature = "serde", serde(default = "default_per_class"))]
    pub per_class: usize,
}

/// Default of [`ReinitConfig::per_class`].
pub const DEFAULT_REINIT_PER_CLASS: usize = 8;

#[cfg(feature = "serde")]
fn default_per_class() -> usize {
    DEFAULT_REINIT_PER_CLASS
}

impl Default for ReinitConfig {
    fn default() -> Self {
        Self {
            at_steps: Vec::new(),
            at_epochs: Vec::new(),
            monitor: None,
            per_class: DEFAULT_REINIT_PER_CLASS,
        }
    }
}

/// The `[loss]` table: a kind and its parameters. Parameters a kind does not use are ignored;
/// unset ones take the defaults listed on each field.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct LossConfig {
    /// The loss.
    pub kind: LossKind,
    /// Logit scale s (default 64, arcface_torch's; wespeaker uses 32).
    #[cfg_attr(feature = "serde", serde(default = "default_scale"))]
    pub s: f64,
    /// Margin m: cosine margin for CosFace (default 0.4), angular for ArcFace and A3M (0.5), and
    /// for Q-Margin a margin in cosine units giving ρ = e^{−s·m} when `target_prior` is unset
    /// (default 0.1).
    #[cfg_attr(feature = "serde", serde(default))]
    pub m: Option<f64>,
    /// Combined margin m1, m2, m3 (default 1.0, 0.3, 0.2).
    #[cfg_attr(feature = "serde", serde(default))]
    pub m1: Option<f64>,
    /// See `m1`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub m2: Option<f64>,
    /// See `m1`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub m3: Option<f64>,
    /// α ≥ 1 for Q-Margin, A3M and A3M-I (default 1.5).
    #[cfg_attr(feature = "serde", serde(default))]
    pub alpha: Option<f64>,
    /// Q-Margin's target prior ρ ∈ (0, 1]; overrides `m`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub target_prior: Option<f64>,
    /// Base measure of the α-loss kinds (default `unit`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub base: BaseMeasure,
    /// ArcFace's gradient: `exact` (default) or `straight-through` (arcface_torch's).
    #[cfg_attr(feature = "serde", serde(default))]
    pub gradient: AngularGradient,
    /// A3M-I triggers (ignored by other kinds).
    #[cfg_attr(feature = "serde", serde(default))]
    pub reinit: ReinitConfig,
}

#[cfg(feature = "serde")]
fn default_scale() -> f64 {
    DEFAULT_SCALE
}

/// arcface_torch's logit scale.
pub const DEFAULT_SCALE: f64 = 64.0;
/// Default α of the α-loss kinds (Roulet et al.'s recommendation).
pub const DEFAULT_ALPHA: f64 = 1.5;

impl LossConfig {
    /// `kind` with every parameter at its default.
    pub fn new(kind: LossKind) -> Self {
        Self {
            kind,
            s: DEFAULT_SCALE,
            m: None,
            m1: None,
            m2: None,
            m3: None,
            alpha: None,
            target_prior: None,
            base: BaseMeasure::Unit,
            gradient: AngularGradient::Exact,
            reinit: ReinitConfig::default(),
        }
    }

    /// The margin m in effect for this kind (None for softmax and combined).
    pub fn effective_m(&self) -> Option<f64> {
        let default = match self.kind {
            LossKind::CosFace => 0.4,
            LossKind::ArcFace | LossKind::A3M | LossKind::A3MI => 0.5,
            LossKind::QMargin => 0.1,
            LossKind::Softmax | LossKind::Combined => return None,
        };
        Some(self.m.unwrap_or(default))
    }

    /// α in effect (1 for the cross-entropy kinds).
    pub fn effective_alpha(&self) -> f64 {
        if self.kind.uses_alpha() {
            self.alpha.unwrap_or(DEFAULT_ALPHA)
        } else {
            1.0
        }
    }

    /// The resolved margin; errors name the bad parameter.
    pub fn margin(&self) -> Result<Margin> {
        let s = self.s;
        let alpha = self.effective_alpha();
        let m = self.effective_m().unwrap_or(0.0);
        let margin = match self.kind {
            LossKind::Softmax => Margin::Softmax { s },
            LossKind::CosFace => Margin::CosFace { s, m },
            LossKind::ArcFace => Margin::ArcFace {
                s,
                m,
                gradient: self.gradient,
            },
            LossKind::Combined => Margin::Combined {
                s,
                m1: self.m1.unwrap_or(1.0),
                m2: self.m2.unwrap_or(0.3),
                m3: self.m3.unwrap_or(0.2),
            },
            LossKind::QMargin => match self.target_prior {
                Some(rho) => Margin::QMargin {
                    s,
                    alpha,
                    target_prior: rho,
                    base: self.base,
                },
                None => Margin::q_margin_from_logit_margin(s, m, alpha, self.base),
            },
            LossKind::A3M | LossKind::A3MI => Margin::A3M {
                s,
                m,
                alpha,
                base: self.base,
            },
        };
        if let Some(m) = self.m {
            if !(m.is_finite() && m >= 0.0) {
                bail!("loss.m = {m}: the margin must be a finite number >= 0");
            }
        }
        for (name, v) in [("m1", self.m1), ("m2", self.m2), ("m3", self.m3)] {
            if let Some(v) = v {
                if !v.is_finite() {
                    bail!("loss.{name} = {v}: must be a finite number");
                }
            }
        }
        if let Err(e) = margin.spec().validate() {
            bail!("loss {}: {e}", self.kind);
        }
        if self.reinit.per_class == 0 {
            bail!("loss.reinit.per_class = 0: A3M-I needs at least one item per class");
        }
        if let Some(monitor) = &self.reinit.monitor {
            if !(monitor.threshold > 0.0 && monitor.threshold <= 1.0) || monitor.window == 0 {
                bail!(
                    "loss {}: reinit.monitor needs threshold in (0, 1] and window > 0, got {monitor:?}",
                    self.kind
                );
            }
        }
        Ok(margin)
    }

    /// The A3M-I trigger policy; `None` for every other kind.
    pub fn reinit_policy(&self) -> Option<ReinitPolicy> {
        if self.kind != LossKind::A3MI {
            return None;
        }
        let r = &self.reinit;
        let monitor = match (r.monitor, r.at_steps.is_empty() && r.at_epochs.is_empty()) {
            (Some(m), _) => Some(m),
            (None, true) => Some(MonitorSettings::default()),
            (None, false) => None,
        };
        Some(ReinitPolicy {
            at_steps: r.at_steps.clone(),
            at_epochs: r.at_epochs.clone(),
            monitor: monitor.map(|m| {
                CollapseMonitor::new(CollapseMonitorConfig {
                    threshold: m.threshold,
                    window: m.window,
                    cooldown: m.cooldown,
                })
            }),
        })
    }

    /// Whether the loss has a margin a schedule can drive (every kind but softmax).
    pub fn has_margin(&self) -> bool {
        self.kind != LossKind::Softmax
    }

    /// Puts a scheduled margin `m` (wespeaker's margin warm-up) into `head`: for Q-Margin the
    /// target prior ρ = e^(−s·m), for the other kinds the angular or additive margin.
    pub fn apply_scheduled_margin(&self, head: &mut MarginHead, m: f64) -> Result<()> {
        match self.kind {
            LossKind::QMargin => head.set_target_prior(q_margin_prior(self.s, m)),
            _ => {
                head.set_margin(m);
                Ok(())
            }
        }
    }

    /// A one-line summary with the parameters in effect, for logs and reports.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("{} s={}", self.kind, self.s)];
        match self.kind {
            LossKind::Combined => {
                if let Ok(Margin::Combined { m1, m2, m3, .. }) = self.margin() {
                    parts.push(format!("m1={m1} m2={m2} m3={m3}"));
                }
            }
            LossKind::QMargin => match self.target_prior {
                Some(rho) => parts.push(format!("rho={rho}")),
                None => parts.push(format!("m={}", self.effective_m().unwrap_or(0.0))),
            },
            _ => {
                if let Some(m) = self.effective_m() {
                    parts.push(format!("m={m}"));
                }
            }
        }
        if self.kind.uses_alpha() {
            let base = match self.base {
                BaseMeasure::Unit => "unit",
                BaseMeasure::Uniform => "uniform",
            };
            parts.push(format!("alpha={} base={base}", self.effective_alpha()));
        }
        parts.join(" ")
    }
}
