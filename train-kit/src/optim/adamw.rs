//! AdamW (Loshchilov & Hutter, arXiv:1711.05101) with torch.optim.AdamW semantics.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{Optimizer, OptimizerState, ParamGroup};
use crate::error::{Result, TrainError};

/// AdamW hyperparameters (defaults as torch, except `weight_decay` which torch sets to 0.01).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamWConfig {
    /// Learning rate (overwritten each step by the schedule when used with the trainer).
    pub lr: f64,
    /// First-moment decay β₁.
    #[serde(default = "default_beta1")]
    pub beta1: f64,
    /// Second-moment decay β₂.
    #[serde(default = "default_beta2")]
    pub beta2: f64,
    /// Added to the denominator.
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// Decoupled weight decay λ (`p -= lr·λ·p`), used by groups that do not set their own.
    #[serde(default)]
    pub weight_decay: f64,
}

fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}

impl AdamWConfig {
    /// torch defaults with learning rate `lr` and weight decay `weight_decay`.
    pub fn new(lr: f64, weight_decay: f64) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        }
    }

    /// Checks ranges: betas in [0, 1), eps > 0, rates finite and >= 0.
    pub fn validate(&self) -> Result<()> {
        let checks: [(&'static str, f64, bool, &'static str); 5] = [
            (
                "adamw.lr",
                self.lr,
                self.lr.is_finite() && self.lr >= 0.0,
                "must be finite and >= 0",
            ),
            (
                "adamw.beta1",
                self.beta1,
                (0.0..1.0).contains(&self.beta1),
                "must be in [0, 1)",
            ),
            (
                "adamw.beta2",
                self.beta2,
                (0.0..1.0).contains(&self.beta2),
                "must be in [0, 1)",
            ),
            (
                "adamw.eps",
                self.eps,
                self.eps.is_finite() && self.eps > 0.0,
                "must be finite and > 0",
            ),
            (
                "adamw.weight_decay",
                self.weight_decay,
                self.weight_decay.is_finite() && self.weight_decay >= 0.0,
                "must be finite and >= 0",
            ),
        ];
        for (field, value, ok, reason) in checks {
            if !ok {
                return Err(TrainError::InvalidConfig {
                    field,
                    value: value.to_string(),
                    reason,
                });
            }
        }
        Ok(())
    }
}

/// Moments of one parameter.
#[derive(Debug)]
struct Moments {
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    steps: u64,
}

/// AdamW over parameter groups; state is two moments and a step count per parameter.
#[derive(Debug)]
pub struct AdamW {
    cfg: AdamWConfig,
    groups: Vec<ParamGroup>,
    moments: HashMap<String, Moments>,
}

const EXP_AVG: &str = "exp_avg/";
const EXP_AVG_SQ: &str = "exp_avg_sq/";
const STEPS: &str = "steps/";

impl AdamW {
    /// An optimizer for `groups` with `cfg` (validated).
    pub fn new(groups: Vec<ParamGroup>, cfg: AdamWConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            groups,
            moments: HashMap::new(),
        })
    }

    /// The configuration in use (with the current learning rate).
    pub fn config(&self) -> &AdamWConfig {
        &self.cfg
    }
}

impl Optimizer for AdamW {
    fn step(&mut self, grads: &GradStore) -> Result<()> {
        let cfg = &self.cfg;
        for group in &self.groups {
            let lr = cfg.lr * group.lr_scale;
            let wd = group.weight_decay.unwrap_or(cfg.weight_decay);
            for p in &group.params {
                let Some(grad) = grads.get(p.var.as_tensor()) else {
                    continue;
                };
                // Detached, as in Sgd: no op recording across steps.
                let param = &p.var.as_tensor().detach();
                let grad = &grad.detach();
                let m = match self.moments.remove(&p.name) {
                    Some(m) => m,
                    None => Moments {
                        exp_avg: grad.zeros_like()?,
                        exp_avg_sq: grad.zeros_like()?,
                        steps: 0,
                    },
                };
                let steps = m.steps + 1;
                let exp_avg = ((&m.exp_avg * cfg.beta1)? + (grad * (1.0 - cfg.beta1))?)?;
                let exp_avg_sq =
                    ((&m.exp_avg_sq * cfg.beta2)? + (grad.sqr()? * (1.0 - cfg.beta2))?)?;
                let bias1 = 1.0 - cfg.beta1.powi(steps as i32);
                let bias2_sqrt = (1.0 - cfg.beta2.powi(steps as i32)).sqrt();
                let denom = ((exp_avg_sq.sqrt()? / bias2_sqrt)? + cfg.eps)?;
                let decayed = if wd != 0.0 {
                    (param * (1.0 - lr * wd))?
                } else {
                    param.clone()
                };
                let update = ((&exp_avg / denom)? * (lr / bias1))?;
                p.var.set(&(decayed - update)?)?;
                self.moments.insert(
                    p.name.clone(),
                    Moments {
                        exp_avg: exp_avg.detach(),
                        exp_avg_sq: exp_avg_sq.detach(),
                        steps,
                    },
                );
            }
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.cfg.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }

    fn groups(&self) -> &[ParamGroup] {
        &self.groups
    }

    fn state(&self) -> Result<OptimizerState> {
        let mut state = OptimizerState::default();
        for (name, m) in &self.moments {
            state
                .tensors
                .insert(format!("{EXP_AVG}{name}"), m.exp_avg.copy()?);
            state
                .tensors
                .insert(format!("{EXP_AVG_SQ}{name}"), m.exp_avg_sq.copy()?);
            state.insert_counter(format!("{STEPS}{name}"), m.steps)?;
        }
        Ok(state)
    }

    fn load_state(&mut self, mut state: OptimizerState) -> Result<()> {
        let names: Vec<String> = self
            .groups
            .iter()
            .flat_map(|g| g.params.iter().map(|p| p.name.clone()))
            .collect();
        state.reject_unknown_keys(&|k| {
            [EXP_AVG, EXP_AVG_SQ, STEPS].iter().any(|prefix| {
                k.strip_prefix(prefix)
                    .is_some_and(|n| names.iter().any(|m| m == n))
            })
        })?;
        let mut moments = HashMap::new();
        for p in self.groups.iter().flat_map(|g| &g.params) {
            let like = p.var.as_tensor();
            let exp_avg = state.take_buffer(&format!("{EXP_AVG}{}", p.name), like)?;
            let exp_avg_sq = state.take_buffer(&format!("{EXP_AVG_SQ}{}", p.name), like)?;
            match (exp_avg, exp_avg_sq) {
                (None, None) => {}
                (Some(exp_avg), Some(exp_avg_sq)) => {
                    let steps = state.counter(&format!("{STEPS}{}", p.name))?;
                    moments.insert(
                        p.name.clone(),
                        Moments {
                            exp_avg,
                            exp_avg_sq,
                            steps,
                        },
                    );
                }
                _ => {
                    return Err(TrainError::StateMismatch {
                        problem: format!("{} has only one of exp_avg and exp_avg_sq", p.name),
                    })
                }
            }
        }
        self.moments = moments;
        Ok(())
    }
}
