//! SGD with momentum, Nesterov and coupled or decoupled weight decay (torch.optim.SGD semantics).

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{Optimizer, OptimizerState, ParamGroup};
use crate::error::{Result, TrainError};

/// SGD hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SgdConfig {
    /// Learning rate (overwritten each step by the schedule when used with the trainer).
    pub lr: f64,
    /// Momentum factor μ (0 for plain SGD).
    #[serde(default)]
    pub momentum: f64,
    /// Dampening τ of the momentum: `buf = μ·buf + (1-τ)·g`.
    #[serde(default)]
    pub dampening: f64,
    /// Nesterov momentum: step along `g + μ·buf` instead of `buf`.
    #[serde(default)]
    pub nesterov: bool,
    /// Weight decay λ, used by groups that do not set their own.
    #[serde(default)]
    pub weight_decay: f64,
    /// `false`: L2 added to the gradient, `g += λ·p` (torch.optim.SGD, arcface_torch).
    /// `true`: decoupled, `p -= lr·λ·p` before the update (as AdamW does).
    #[serde(default)]
    pub decoupled_weight_decay: bool,
}

impl SgdConfig {
    /// arcface_torch: lr 0.1, momentum 0.9, weight decay 5e-4 coupled, no Nesterov.
    pub fn arcface() -> Self {
        Self {
            lr: 0.1,
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 5e-4,
            decoupled_weight_decay: false,
        }
    }

    /// Checks ranges, with torch's rule that Nesterov needs momentum > 0 and no dampening.
    pub fn validate(&self) -> Result<()> {
        let check = |field, v: f64, ok: bool, reason| {
            if ok {
                Ok(())
            } else {
                Err(TrainError::InvalidConfig {
                    field,
                    value: v.to_string(),
                    reason,
                })
            }
        };
        check(
            "sgd.lr",
            self.lr,
            self.lr.is_finite() && self.lr >= 0.0,
            "must be finite and >= 0",
        )?;
        check(
            "sgd.momentum",
            self.momentum,
            (0.0..1.0).contains(&self.momentum),
            "must be in [0, 1)",
        )?;
        check(
            "sgd.dampening",
            self.dampening,
            (0.0..=1.0).contains(&self.dampening),
            "must be in [0, 1]",
        )?;
        check(
            "sgd.weight_decay",
            self.weight_decay,
            self.weight_decay.is_finite() && self.weight_decay >= 0.0,
            "must be finite and >= 0",
        )?;
        if self.nesterov && (self.momentum == 0.0 || self.dampening != 0.0) {
            return Err(TrainError::InvalidConfig {
                field: "sgd.nesterov",
                value: format!(
                    "true (momentum {}, dampening {})",
                    self.momentum, self.dampening
                ),
                reason: "Nesterov needs momentum > 0 and dampening 0",
            });
        }
        Ok(())
    }
}

/// SGD over parameter groups; state is one momentum buffer per parameter.
#[derive(Debug)]
pub struct Sgd {
    cfg: SgdConfig,
    groups: Vec<ParamGroup>,
    momentum: HashMap<String, Tensor>,
    steps: u64,
}

const MOMENTUM: &str = "momentum/";
const STEPS: &str = "sgd.steps";

impl Sgd {
    /// An optimizer for `groups` with `cfg` (validated).
    pub fn new(groups: Vec<ParamGroup>, cfg: SgdConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            groups,
            momentum: HashMap::new(),
            steps: 0,
        })
    }

    /// The configuration in use (with the current learning rate).
    pub fn config(&self) -> &SgdConfig {
        &self.cfg
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, grads: &GradStore) -> Result<()> {
        let cfg = &self.cfg;
        for group in &self.groups {
            let lr = cfg.lr * group.lr_scale;
            let wd = group.weight_decay.unwrap_or(cfg.weight_decay);
            for p in &group.params {
                let Some(grad) = grads.get(p.var.as_tensor()) else {
                    continue;
                };
                // Detached: the update must not record ops, or every step's buffers (and, through
                // a non-detached gradient, its whole activation graph) would stay alive.
                let param = &p.var.as_tensor().detach();
                let mut g = grad.detach();
                let mut base = param.clone();
                if wd != 0.0 {
                    if cfg.decoupled_weight_decay {
                        base = (param * (1.0 - lr * wd))?;
                    } else {
                        g = (g + (param * wd)?)?;
                    }
                }
                if cfg.momentum != 0.0 {
                    let buf = match self.momentum.get(&p.name) {
                        None => g.copy()?,
                        Some(buf) => ((buf * cfg.momentum)? + (&g * (1.0 - cfg.dampening))?)?,
                    };
                    g = if cfg.nesterov {
                        (g + (&buf * cfg.momentum)?)?
                    } else {
                        buf.clone()
                    };
                    self.momentum.insert(p.name.clone(), buf.detach());
                }
                p.var.set(&(base - (g * lr)?)?)?;
            }
        }
        self.steps += 1;
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
        state.insert_counter(STEPS, self.steps)?;
        for (name, buf) in &self.momentum {
            state
                .tensors
                .insert(format!("{MOMENTUM}{name}"), buf.copy()?);
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
            k == STEPS
                || k.strip_prefix(MOMENTUM)
                    .is_some_and(|n| names.iter().any(|m| m == n))
        })?;
        let steps = state.counter(STEPS)?;
        let mut momentum = HashMap::new();
        for p in self.groups.iter().flat_map(|g| &g.params) {
            if let Some(buf) =
                state.take_buffer(&format!("{MOMENTUM}{}", p.name), p.var.as_tensor())?
            {
                momentum.insert(p.name.clone(), buf);
            }
        }
        self.momentum = momentum;
        self.steps = steps;
        Ok(())
    }
}
