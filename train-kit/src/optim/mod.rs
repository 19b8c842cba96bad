//! Optimizers over named parameter groups, with savable state for exact resume.
//!
//! candle's `SGD` has no momentum and its optimizers cannot save state, so this module has its
//! own [`Optimizer`] trait (same shape as `candle_nn::Optimizer` plus state and groups).

mod adamw;
mod groups;
mod sgd;
mod state;

use candle_core::backprop::GradStore;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

pub use adamw::{AdamW, AdamWConfig};
pub use groups::{named_vars, param_groups, single_group, GroupRule, NamedVar, ParamGroup};
pub use sgd::{Sgd, SgdConfig};
pub use state::OptimizerState;

use crate::error::Result;

/// An optimizer updating [`ParamGroup`]s in place from a [`GradStore`].
pub trait Optimizer: Send {
    /// Applies one update using the gradients in `grads` (parameters without one are untouched).
    fn step(&mut self, grads: &GradStore) -> Result<()>;

    /// The current base learning rate (each group scales it by its `lr_scale`).
    fn learning_rate(&self) -> f64;

    /// Sets the base learning rate, e.g. from a schedule before each step.
    fn set_learning_rate(&mut self, lr: f64);

    /// The parameter groups being optimized.
    fn groups(&self) -> &[ParamGroup];

    /// A copy of the state needed to continue exactly.
    fn state(&self) -> Result<OptimizerState>;

    /// Restores a state from [`state`](Self::state); unknown keys or wrong shapes are errors.
    fn load_state(&mut self, state: OptimizerState) -> Result<()>;

    /// Drops the state (momentum, Adam moments) of every parameter whose qualified name
    /// `select` accepts, keeping all other state and the step counters; returns how many buffers
    /// were dropped. Those parameters then continue as if seen for the first time (A3M-I clears
    /// the head this way after re-initializing its prototypes).
    fn reset_state_of(&mut self, select: &dyn Fn(&str) -> bool) -> Result<usize> {
        let chosen: std::collections::HashSet<String> = self
            .groups()
            .iter()
            .flat_map(|g| &g.params)
            .filter(|p| select(&p.name))
            .map(|p| p.name.clone())
            .collect();
        let mut state = self.state()?;
        let before = state.tensors.len();
        // Keys are "<buffer>/<qualified name>"; counters have no parameter part.
        state.tensors.retain(|key, _| {
            key.split_once('/')
                .is_none_or(|(_, param)| !chosen.contains(param))
        });
        let dropped = before - state.tensors.len();
        self.load_state(state)?;
        Ok(dropped)
    }

    /// Computes the gradients of `loss` and applies one update.
    fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward()?;
        self.step(&grads)
    }
}

/// Which optimizer to build, as written in a run config (`kind = "sgd"` or `kind = "adam_w"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OptimizerConfig {
    /// [`Sgd`].
    Sgd(SgdConfig),
    /// [`AdamW`].
    AdamW(AdamWConfig),
}

impl OptimizerConfig {
    /// Builds the optimizer for `groups`.
    pub fn build(&self, groups: Vec<ParamGroup>) -> Result<Box<dyn Optimizer>> {
        Ok(match self {
            Self::Sgd(cfg) => Box::new(Sgd::new(groups, cfg.clone())?),
            Self::AdamW(cfg) => Box::new(AdamW::new(groups, cfg.clone())?),
        })
    }
}
