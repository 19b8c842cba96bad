//! Learning-rate schedules as pure functions of the global step.
//!
//! A schedule is a serde config ([`LrSchedule`]) and `lr_at(step)`: the learning rate to use for
//! the optimizer update of step `step` (0-based). There is no hidden state, so resuming at step
//! `k` only needs `k`.
//!
//! Layout: an optional linear warmup over steps `0..warmup_steps`, then a [`Decay`] evaluated at
//! `t = step - warmup_steps` (the decay starts where the warmup ends).

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// A warmup followed by a decay, stepped per iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrSchedule {
    /// Peak learning rate, reached at the end of the warmup.
    pub base_lr: f64,
    /// Number of warmup steps (0 for none).
    #[serde(default)]
    pub warmup_steps: u64,
    /// Learning rate at step 0 of the warmup (insightface uses 0).
    #[serde(default)]
    pub warmup_start_lr: f64,
    /// What happens after the warmup.
    #[serde(default)]
    pub decay: Decay,
}

/// The decay applied after the warmup, at `t = step - warmup_steps`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decay {
    /// `base_lr` forever.
    #[default]
    Constant,
    /// `end_lr + (base_lr - end_lr) · (1 - t/decay_steps)^power`, then `end_lr` (insightface
    /// `PolyScheduler` with `power = 2`, `end_lr = 0`, `decay_steps = total - warmup`).
    Polynomial {
        /// Steps from the end of the warmup until `end_lr` is reached.
        decay_steps: u64,
        /// Exponent of the polynomial (1 is linear).
        power: f64,
        /// Final learning rate.
        #[serde(default)]
        end_lr: f64,
    },
    /// Geometric interpolation `base_lr · (end_lr/base_lr)^(t/decay_steps)`, then `end_lr`
    /// (wespeaker `ExponentialDecrease`). A per-step factor γ is `end_lr = base_lr·γ^decay_steps`.
    Exponential {
        /// Steps from the end of the warmup until `end_lr` is reached.
        decay_steps: u64,
        /// Final learning rate (must be > 0).
        end_lr: f64,
    },
    /// `base_lr · gamma^k` where `k` counts the milestones `<= t` (torch `MultiStepLR`).
    Step {
        /// Steps after the warmup at which the rate is multiplied by `gamma`, ascending.
        milestones: Vec<u64>,
        /// Factor applied at each milestone.
        gamma: f64,
    },
}

impl LrSchedule {
    /// A constant learning rate.
    pub fn constant(lr: f64) -> Self {
        Self {
            base_lr: lr,
            warmup_steps: 0,
            warmup_start_lr: 0.0,
            decay: Decay::Constant,
        }
    }

    /// Checks ranges: rates finite and non-negative, exponential `end_lr > 0`, milestones ascending.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, value: f64, reason| TrainError::InvalidConfig {
            field,
            value: value.to_string(),
            reason,
        };
        if !(self.base_lr.is_finite() && self.base_lr >= 0.0) {
            return Err(bad(
                "schedule.base_lr",
                self.base_lr,
                "must be finite and >= 0",
            ));
        }
        if !(self.warmup_start_lr.is_finite() && self.warmup_start_lr >= 0.0) {
            return Err(bad(
                "schedule.warmup_start_lr",
                self.warmup_start_lr,
                "must be finite and >= 0",
            ));
        }
        match &self.decay {
            Decay::Constant => {}
            Decay::Polynomial {
                decay_steps,
                power,
                end_lr,
            } => {
                if *decay_steps == 0 {
                    return Err(bad("schedule.decay.decay_steps", 0.0, "must be > 0"));
                }
                if !(power.is_finite() && *power > 0.0) {
                    return Err(bad(
                        "schedule.decay.power",
                        *power,
                        "must be finite and > 0",
                    ));
                }
                if !(end_lr.is_finite() && *end_lr >= 0.0) {
                    return Err(bad(
                        "schedule.decay.end_lr",
                        *end_lr,
                        "must be finite and >= 0",
                    ));
                }
            }
            Decay::Exponential {
                decay_steps,
                end_lr,
            } => {
                if *decay_steps == 0 {
                    return Err(bad("schedule.decay.decay_steps", 0.0, "must be > 0"));
                }
                if !(end_lr.is_finite() && *end_lr > 0.0) || self.base_lr <= 0.0 {
                    return Err(bad(
                        "schedule.decay.end_lr",
                        *end_lr,
                        "must be finite and > 0, with base_lr > 0",
                    ));
                }
            }
            Decay::Step { milestones, gamma } => {
                if !(gamma.is_finite() && *gamma >= 0.0) {
                    return Err(bad(
                        "schedule.decay.gamma",
                        *gamma,
                        "must be finite and >= 0",
                    ));
                }
                if milestones.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(TrainError::InvalidConfig {
                        field: "schedule.decay.milestones",
                        value: format!("{milestones:?}"),
                        reason: "must be strictly ascending",
                    });
                }
            }
        }
        Ok(())
    }

    /// The learning rate for the update of step `step` (0-based).
    pub fn lr_at(&self, step: u64) -> f64 {
        if step < self.warmup_steps {
            let frac = step as f64 / self.warmup_steps as f64;
            return self.warmup_start_lr + (self.base_lr - self.warmup_start_lr) * frac;
        }
        let t = step - self.warmup_steps;
        match &self.decay {
            Decay::Constant => self.base_lr,
            Decay::Polynomial {
                decay_steps,
                power,
                end_lr,
            } => {
                let remaining = 1.0 - (t.min(*decay_steps) as f64 / *decay_steps as f64);
                end_lr + (self.base_lr - end_lr) * remaining.powf(*power)
            }
            Decay::Exponential {
                decay_steps,
                end_lr,
            } => {
                let frac = t.min(*decay_steps) as f64 / *decay_steps as f64;
                self.base_lr * (end_lr / self.base_lr).powf(frac)
            }
            Decay::Step { milestones, gamma } => {
                let passed = milestones.iter().filter(|&&m| m <= t).count();
                self.base_lr * gamma.powi(passed as i32)
            }
        }
    }
}
