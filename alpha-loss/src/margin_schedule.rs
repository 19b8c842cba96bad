//! wespeaker's margin warm-up (`utils/schedulers.py::MarginScheduler`) as a pure function of
//! the global step, so a resumed run needs only the step. [`MarginHead::set_scheduled_margin`]
//! applies a scheduled value to any margin (for Q-Margin it is the target prior ρ = e^(−s·m)).
//!
//! [`MarginHead::set_scheduled_margin`]: crate::MarginHead::set_scheduled_margin
//!
//! Before `increase_start_epoch` the margin is `initial_margin`; between it and
//! `fix_start_epoch` it rises to `final_margin` (exponentially: `r = 1 − exp(t/T · ln(1e-3 /
//! (1 + 1e-6)))`, or linearly `r = t/T`); from `fix_start_epoch` on it is `final_margin`.
//! Epochs are 1-based as in wespeaker: epoch `e` starts at iteration `(e − 1) · E`.

use candle_core::{bail, Result};

/// How the margin rises between the two epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum IncreaseType {
    /// Fast rise first (wespeaker's default `exp`).
    Exp,
    /// Straight line.
    Linear,
}

/// The `[margin_schedule]` table (wespeaker `margin_update`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct MarginScheduleConfig {
    /// Margin until the increase starts.
    pub initial_margin: f64,
    /// Margin from `fix_start_epoch` on.
    pub final_margin: f64,
    /// 1-based epoch (may be fractional) at which the margin starts to rise.
    pub increase_start_epoch: f64,
    /// 1-based epoch at which the margin reaches `final_margin`.
    pub fix_start_epoch: f64,
    /// `exp` or `linear`.
    #[cfg_attr(feature = "serde", serde(default = "default_increase"))]
    pub increase_type: IncreaseType,
}

#[cfg(feature = "serde")]
fn default_increase() -> IncreaseType {
    IncreaseType::Exp
}

impl MarginScheduleConfig {
    /// Checks that the margins are finite and non-negative and the epochs ordered and ≥ 1.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("initial_margin", self.initial_margin),
            ("final_margin", self.final_margin),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                bail!("margin_schedule.{name} = {v} must be finite and >= 0");
            }
        }
        if !(self.increase_start_epoch >= 1.0 && self.fix_start_epoch >= self.increase_start_epoch)
        {
            bail!(
                "margin_schedule: need 1 <= increase_start_epoch ({}) <= fix_start_epoch ({})",
                self.increase_start_epoch,
                self.fix_start_epoch
            );
        }
        Ok(())
    }
}

/// A [`MarginScheduleConfig`] with the epoch length resolved to iterations.
#[derive(Debug, Clone, PartialEq)]
pub struct MarginSchedule {
    cfg: MarginScheduleConfig,
    start_iter: f64,
    fix_iter: f64,
}

impl MarginSchedule {
    /// The schedule for epochs of `steps_per_epoch` iterations.
    pub fn new(cfg: MarginScheduleConfig, steps_per_epoch: u64) -> Self {
        let e = steps_per_epoch as f64;
        Self {
            start_iter: ((cfg.increase_start_epoch - 1.0) * e).round(),
            fix_iter: ((cfg.fix_start_epoch - 1.0) * e).round(),
            cfg,
        }
    }

    /// The margin for the update of global step `step` (0-based).
    pub fn margin_at(&self, step: u64) -> f64 {
        let i = step as f64;
        let c = &self.cfg;
        if i >= self.fix_iter {
            return c.final_margin;
        }
        if i < self.start_iter {
            return c.initial_margin;
        }
        let frac = (i - self.start_iter) / (self.fix_iter - self.start_iter);
        let ratio = match c.increase_type {
            IncreaseType::Exp => 1.0 - (frac * (1e-3f64 / (1.0 + 1e-6)).ln()).exp(),
            IncreaseType::Linear => frac,
        };
        c.initial_margin + (c.final_margin - c.initial_margin) * ratio
    }
}
