//! The NaN/Inf guard: checks loss and gradients before an update is applied.

use candle_core::backprop::GradStore;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::finite::all_finite;
use crate::optim::NamedVar;

/// What to do when the loss or a gradient is NaN/Inf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum NonFinitePolicy {
    /// Return [`TrainError::NonFinite`] from the step.
    Stop,
    /// Skip the update (parameters and optimizer state untouched), count it, and go on; fail
    /// with [`TrainError::TooManySkipped`] after `max_consecutive` skips in a row.
    Skip {
        /// Consecutive skips tolerated.
        max_consecutive: u64,
    },
}

impl Default for NonFinitePolicy {
    fn default() -> Self {
        Self::Skip {
            max_consecutive: 10,
        }
    }
}

/// Result of checking one step.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Everything is finite: apply the update.
    Apply,
    /// Skip this update; the text says what was not finite.
    Skip(String),
}

/// Applies a [`NonFinitePolicy`] and counts skipped steps.
#[derive(Debug, Clone)]
pub struct NonFiniteGuard {
    policy: NonFinitePolicy,
    skipped_total: u64,
    consecutive: u64,
}

impl NonFiniteGuard {
    /// A guard with `skipped_total` skips already counted (non-zero after a resume).
    pub fn new(policy: NonFinitePolicy, skipped_total: u64) -> Self {
        Self {
            policy,
            skipped_total,
            consecutive: 0,
        }
    }

    /// Steps skipped so far in the run.
    pub fn skipped_total(&self) -> u64 {
        self.skipped_total
    }

    /// Checks the loss value of step `step`.
    pub fn check_loss(&mut self, step: u64, loss: f64) -> Result<Verdict> {
        if loss.is_finite() {
            return Ok(Verdict::Apply);
        }
        self.reject(step, "loss".to_string(), loss)
    }

    /// Checks the gradients of `params` in `grads` (missing gradients are fine).
    pub fn check_grads(
        &mut self,
        step: u64,
        grads: &GradStore,
        params: &[&NamedVar],
    ) -> Result<Verdict> {
        for p in params {
            if let Some(g) = grads.get(p.var.as_tensor()) {
                if !all_finite(g)? {
                    return self.reject(step, format!("gradient of {}", p.name), f64::NAN);
                }
            }
        }
        self.consecutive = 0;
        Ok(Verdict::Apply)
    }

    fn reject(&mut self, step: u64, what: String, value: f64) -> Result<Verdict> {
        match self.policy {
            NonFinitePolicy::Stop => Err(TrainError::NonFinite {
                step,
                what,
                value,
                skipped_so_far: self.skipped_total,
            }),
            NonFinitePolicy::Skip { max_consecutive } => {
                self.skipped_total += 1;
                self.consecutive += 1;
                if self.consecutive > max_consecutive {
                    return Err(TrainError::TooManySkipped {
                        step,
                        consecutive: self.consecutive,
                        limit: max_consecutive,
                        what,
                    });
                }
                Ok(Verdict::Skip(what))
            }
        }
    }
}
