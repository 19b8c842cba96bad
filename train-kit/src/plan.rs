//! The run plan every app shares: `[train]` (batch, length, seed, logging, NaN policy, per-set
//! learning-rate scales), `[optim]` ([`OptimizerConfig`]), `[schedule]` (warm-up and decay) and
//! `[checkpoint]` ([`CheckpointConfig`]), resolved against the task's epoch length into the
//! step counts and the [`LrSchedule`] of the run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checkpoint::CheckpointConfig;
use crate::error::{Result, TrainError};
use crate::guard::NonFinitePolicy;
use crate::optim::OptimizerConfig;
use crate::schedule::{Decay, LrSchedule};

/// `[train]`: what a run does, whatever it trains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainPlan {
    /// Samples per optimizer step: the global batch of the recipe (e.g. 128 x 8 GPUs = 1024).
    pub batch_size: usize,
    /// Run length in steps; exactly one of `steps` and `epochs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
    /// Run length in epochs (may be fractional); exactly one of `steps` and `epochs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<f64>,
    /// Seed of initialization, batch order, augmentation and every other random choice.
    #[serde(default)]
    pub seed: u64,
    /// A `metrics.jsonl` line every this many steps (and at the last one).
    #[serde(default = "default_log_every")]
    pub log_every_steps: u64,
    /// Draw a progress bar when stderr is a terminal.
    #[serde(default = "yes")]
    pub progress_bar: bool,
    /// NaN/Inf loss or gradient: `{ action = "skip", max_consecutive = N }` or `{ action = "stop" }`.
    #[serde(default)]
    pub non_finite: NonFinitePolicy,
    /// Learning-rate multiplier per variable set (e.g. `lr_scale = { head = 10.0 }`); sets not
    /// listed use 1.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lr_scale: BTreeMap<String, f64>,
}

fn default_log_every() -> u64 {
    10
}
fn yes() -> bool {
    true
}

/// How the learning rate falls after the warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecayKind {
    /// `end_lr + (peak - end_lr) · (1 - t/T)^power` (arcface_torch's `PolyScheduler`; power 1 is linear).
    #[default]
    Polynomial,
    /// `peak · (end_lr / peak)^(t/T)` (wespeaker's `ExponentialDecrease`).
    Exponential,
    /// The peak learning rate until the end.
    Constant,
}

/// `[schedule]`: linear warm-up from `warmup_start_lr` to the optimizer's `lr` (the peak), then
/// a decay to `end_lr` at the last step, stepped every iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Warm-up length in epochs (may be fractional; arcface_torch `warmup_epoch`).
    #[serde(default)]
    pub warmup_epochs: f64,
    /// Learning rate at the first warm-up step (arcface_torch and wespeaker: 0).
    #[serde(default)]
    pub warmup_start_lr: f64,
    /// The decay after the warm-up.
    #[serde(default)]
    pub decay: DecayKind,
    /// Exponent of the polynomial decay.
    #[serde(default = "one")]
    pub power: f64,
    /// Learning rate at the end of the run (must be > 0 for the exponential decay).
    #[serde(default)]
    pub end_lr: f64,
}

fn one() -> f64 {
    1.0
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            warmup_epochs: 0.0,
            warmup_start_lr: 0.0,
            decay: DecayKind::Polynomial,
            power: 1.0,
            end_lr: 0.0,
        }
    }
}

/// The whole plan of a run: the four tables train-kit owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitPlan {
    /// `[train]`.
    pub train: TrainPlan,
    /// `[optim]`: the optimizer; its `lr` is the peak of the schedule.
    pub optim: OptimizerConfig,
    /// `[schedule]`.
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// `[checkpoint]`: `every_steps = 0` writes only the final checkpoint.
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
}

/// The plan's counts once the epoch length is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedPlan {
    /// Optimizer steps per epoch of the task's data.
    pub steps_per_epoch: u64,
    /// Steps of the whole run.
    pub total_steps: u64,
    /// Warm-up steps (at most `total_steps - 1`).
    pub warmup_steps: u64,
}

fn bad(key: &str, problem: String) -> TrainError {
    TrainError::config("run plan", key, problem)
}

impl FitPlan {
    /// Checks every value; errors name the key. `var_sets` are the task's set names, which
    /// `train.lr_scale` may refer to.
    pub fn validate(&self, var_sets: &[&str]) -> Result<()> {
        let t = &self.train;
        if t.batch_size == 0 {
            return Err(bad("train.batch_size", "0: must be at least 1".into()));
        }
        match (t.steps, t.epochs) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "train.steps",
                    "train.steps and train.epochs are both set: set only one (--steps removes train.epochs)".into(),
                ))
            }
            (None, None) => return Err(bad("train", "set train.steps or train.epochs".into())),
            (Some(0), _) => return Err(bad("train.steps", "0: must be at least 1".into())),
            (_, Some(e)) if !(e.is_finite() && e > 0.0) => {
                return Err(bad("train.epochs", format!("{e}: must be a positive number")))
            }
            _ => {}
        }
        if t.log_every_steps == 0 {
            return Err(bad("train.log_every_steps", "0: must be at least 1".into()));
        }
        for (set, scale) in &t.lr_scale {
            if !var_sets.contains(&set.as_str()) {
                return Err(bad(
                    &format!("train.lr_scale.{set}"),
                    format!(
                        "no variable set {set:?} (the run has {})",
                        var_sets.join(", ")
                    ),
                ));
            }
            if !(scale.is_finite() && *scale > 0.0) {
                return Err(bad(
                    &format!("train.lr_scale.{set}"),
                    format!("{scale}: must be > 0"),
                ));
            }
        }
        let lr = self.peak_lr();
        if !(lr.is_finite() && lr > 0.0) {
            return Err(bad("optim.lr", format!("{lr}: must be a positive number")));
        }
        match &self.optim {
            OptimizerConfig::Sgd(c) => c.validate()?,
            OptimizerConfig::AdamW(c) => c.validate()?,
        }
        let s = &self.schedule;
        if !(s.warmup_epochs.is_finite() && s.warmup_epochs >= 0.0) {
            return Err(bad(
                "schedule.warmup_epochs",
                format!("{}: must be >= 0", s.warmup_epochs),
            ));
        }
        if !(s.warmup_start_lr.is_finite() && s.warmup_start_lr >= 0.0) {
            return Err(bad(
                "schedule.warmup_start_lr",
                format!("{}: must be >= 0", s.warmup_start_lr),
            ));
        }
        if !(s.power.is_finite() && s.power > 0.0) {
            return Err(bad("schedule.power", format!("{}: must be > 0", s.power)));
        }
        let end_ok = match s.decay {
            DecayKind::Exponential => s.end_lr.is_finite() && s.end_lr > 0.0 && s.end_lr <= lr,
            _ => s.end_lr.is_finite() && s.end_lr >= 0.0,
        };
        if !end_ok {
            let need = match s.decay {
                DecayKind::Exponential => {
                    format!("must be in (0, optim.lr = {lr}] for the exponential decay")
                }
                _ => "must be >= 0".to_string(),
            };
            return Err(bad("schedule.end_lr", format!("{}: {need}", s.end_lr)));
        }
        if self.checkpoint.keep_last == 0 {
            return Err(bad("checkpoint.keep_last", "0: must be at least 1".into()));
        }
        Ok(())
    }

    /// The optimizer's `lr`: the peak learning rate of the schedule.
    pub fn peak_lr(&self) -> f64 {
        match &self.optim {
            OptimizerConfig::Sgd(c) => c.lr,
            OptimizerConfig::AdamW(c) => c.lr,
        }
    }

    /// Step counts for epochs of `steps_per_epoch` steps (at least 1).
    pub fn resolve(&self, steps_per_epoch: u64) -> Result<ResolvedPlan> {
        let spe = steps_per_epoch.max(1);
        let total_steps = match (self.train.steps, self.train.epochs) {
            (Some(s), _) => s,
            (None, Some(e)) => ((e * spe as f64).ceil() as u64).max(1),
            (None, None) => return Err(bad("train", "set train.steps or train.epochs".into())),
        };
        let warmup_steps = ((self.schedule.warmup_epochs * spe as f64).round() as u64)
            .min(total_steps.saturating_sub(1));
        Ok(ResolvedPlan {
            steps_per_epoch: spe,
            total_steps,
            warmup_steps,
        })
    }

    /// The learning-rate schedule of the resolved run.
    pub fn lr_schedule(&self, resolved: &ResolvedPlan) -> LrSchedule {
        let s = &self.schedule;
        let decay_steps = (resolved.total_steps - resolved.warmup_steps).max(1);
        LrSchedule {
            base_lr: self.peak_lr(),
            warmup_steps: resolved.warmup_steps,
            warmup_start_lr: s.warmup_start_lr,
            decay: match s.decay {
                DecayKind::Polynomial => Decay::Polynomial {
                    decay_steps,
                    power: s.power,
                    end_lr: s.end_lr,
                },
                DecayKind::Exponential => Decay::Exponential {
                    decay_steps,
                    end_lr: s.end_lr,
                },
                DecayKind::Constant => Decay::Constant,
            },
        }
    }
}

/// Keys of the plan that may change between a run and its `--resume` without changing what is
/// computed (logging, progress, checkpoint cadence and retention, the NaN policy).
pub fn may_change_on_resume(key: &str) -> bool {
    matches!(
        key,
        "train.log_every_steps" | "train.progress_bar" | "train.non_finite"
    ) || key == "checkpoint"
        || key.starts_with("checkpoint.")
        || key.starts_with("train.non_finite.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> FitPlan {
        toml::from_str(text).unwrap()
    }

    const BASE: &str = r#"
        [train]
        batch_size = 8
        epochs = 2.5
        [optim]
        kind = "sgd"
        lr = 0.1
        [schedule]
        warmup_epochs = 0.5
    "#;

    #[test]
    fn epochs_and_warmup_resolve_against_the_epoch_length() {
        let p = plan(BASE);
        p.validate(&["model", "head"]).unwrap();
        let r = p.resolve(10).unwrap();
        assert_eq!((r.total_steps, r.warmup_steps), (25, 5));
        let s = p.lr_schedule(&r);
        assert_eq!(s.lr_at(0), 0.0);
        assert!((s.lr_at(5) - 0.1).abs() < 1e-15);
        assert_eq!(s.lr_at(25), 0.0);
        assert!((s.lr_at(15) - 0.05).abs() < 1e-15);
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("train.steps = 3", "both set"),
            (
                "schedule.decay = \"exponential\"",
                "schedule.end_lr: 0: must be in (0",
            ),
            (
                "train.lr_scale = { hed = 2.0 }",
                "train.lr_scale.hed: no variable set",
            ),
            ("optim.lr = 0.0", "optim.lr: 0: must be a positive number"),
            ("checkpoint.keep_last = 0", "checkpoint.keep_last"),
        ];
        for (set, want) in cases {
            let mut t: toml::Table = toml::from_str(BASE).unwrap();
            crate::overrides::apply_set(&mut t, set).unwrap();
            let p: FitPlan = toml::Value::Table(t).try_into().unwrap();
            let e = p.validate(&["model", "head"]).unwrap_err().to_string();
            assert!(e.contains(want), "{set}: {e}");
        }
    }

    #[test]
    fn exponential_decay_reaches_end_lr() {
        let mut p = plan(BASE);
        p.schedule.decay = DecayKind::Exponential;
        p.schedule.end_lr = 0.001;
        p.validate(&[]).unwrap();
        let r = p.resolve(10).unwrap();
        let s = p.lr_schedule(&r);
        assert!((s.lr_at(25) - 0.001).abs() < 1e-15);
    }
}
