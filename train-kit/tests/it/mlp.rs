//! A tiny MLP, a deterministic synthetic data stream and a trainer factory shared by the tests.

use std::path::Path;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{linear, Linear, VarBuilder, VarMap};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use train_kit::{
    param_groups, CheckpointConfig, GroupRule, LrSchedule, NonFinitePolicy, OptimizerConfig,
    RunDir, StepOutput, TrainError, Trainer, TrainerConfig,
};

pub const INPUTS: usize = 4;
pub const HIDDEN: usize = 8;
pub const CLASSES: usize = 3;
pub const BATCH: usize = 16;

/// `model`: 4 → 8 (ReLU), `head`: 8 → 3, in two var maps initialised from `init_seed`.
pub struct Mlp {
    pub model_vars: VarMap,
    pub head_vars: VarMap,
    hidden: Linear,
    head: Linear,
}

impl Mlp {
    pub fn new(init_seed: u64) -> Self {
        let model_vars = VarMap::new();
        let head_vars = VarMap::new();
        let dev = Device::Cpu;
        let hidden = linear(
            INPUTS,
            HIDDEN,
            VarBuilder::from_varmap(&model_vars, DType::F32, &dev).pp("fc1"),
        )
        .unwrap();
        let head = linear(
            HIDDEN,
            CLASSES,
            VarBuilder::from_varmap(&head_vars, DType::F32, &dev).pp("fc"),
        )
        .unwrap();
        // candle's init uses the thread RNG: overwrite every variable from our own seed.
        let mut rng = ChaCha8Rng::seed_from_u64(init_seed);
        for map in [&model_vars, &head_vars] {
            let data = map.data().lock().unwrap();
            let mut names: Vec<&String> = data.keys().collect();
            names.sort();
            for name in names {
                let var = &data[name];
                let values: Vec<f32> = (0..var.elem_count())
                    .map(|_| uniform(&mut rng) - 0.5)
                    .collect();
                var.set(&Tensor::from_vec(values, var.dims(), &dev).unwrap())
                    .unwrap();
            }
        }
        Self {
            model_vars,
            head_vars,
            hidden,
            head,
        }
    }

    /// Cross-entropy of the batch of `step`; `dropout` draws a mask from `rng` (tests RNG resume).
    pub fn loss(&self, step: u64, rng: &mut ChaCha8Rng) -> candle_core::Result<Tensor> {
        let (x, y) = batch(step);
        let h = self.hidden.forward(&x)?.relu()?;
        let mask: Vec<f32> = (0..BATCH * HIDDEN)
            .map(|_| if uniform(rng) < 0.2 { 0.0 } else { 1.25 })
            .collect();
        let h = (h * Tensor::from_vec(mask, (BATCH, HIDDEN), &Device::Cpu)?)?;
        candle_nn::loss::cross_entropy(&self.head.forward(&h)?, &y)
    }

    /// Every variable as raw bits, sorted by qualified name.
    pub fn bits(&self) -> Vec<(String, Vec<u32>)> {
        let mut out = Vec::new();
        for (set, map) in [("model", &self.model_vars), ("head", &self.head_vars)] {
            for (name, var) in map.data().lock().unwrap().iter() {
                let v: Vec<f32> = var.flatten_all().unwrap().to_vec1().unwrap();
                out.push((
                    format!("{set}/{name}"),
                    v.iter().map(|x| x.to_bits()).collect(),
                ));
            }
        }
        out.sort();
        out
    }
}

pub fn uniform(rng: &mut ChaCha8Rng) -> f32 {
    (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32
}

/// The batch of `step`, a pure function of the step: inputs in [-1, 1], labels from a fixed rule.
pub fn batch(step: u64) -> (Tensor, Tensor) {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed ^ step.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let x: Vec<f32> = (0..BATCH * INPUTS)
        .map(|_| 2.0 * uniform(&mut rng) - 1.0)
        .collect();
    let y: Vec<u32> = x
        .chunks(INPUTS)
        .map(|r| {
            if r[0] + r[1] > 0.3 {
                0
            } else if r[2] > r[3] {
                1
            } else {
                2
            }
        })
        .collect();
    (
        Tensor::from_vec(x, (BATCH, INPUTS), &Device::Cpu).unwrap(),
        Tensor::from_vec(y, BATCH, &Device::Cpu).unwrap(),
    )
}

pub fn sgd_nesterov() -> OptimizerConfig {
    serde_json::from_value(serde_json::json!({
        "kind": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": true, "weight_decay": 5e-4
    }))
    .unwrap()
}

pub fn adamw() -> OptimizerConfig {
    serde_json::from_value(serde_json::json!({"kind": "adam_w", "lr": 0.01, "weight_decay": 0.05}))
        .unwrap()
}

pub fn trainer_config(
    total_steps: u64,
    every_steps: u64,
    non_finite: NonFinitePolicy,
) -> TrainerConfig {
    let schedule: LrSchedule = toml::from_str(
        "base_lr = 0.2\nwarmup_steps = 3\nwarmup_start_lr = 0.02\n[decay]\nkind = \"polynomial\"\ndecay_steps = 20\npower = 2.0\n",
    )
    .unwrap();
    TrainerConfig {
        total_steps,
        log_every_steps: 1,
        schedule,
        checkpoint: CheckpointConfig {
            every_steps,
            keep_last: 2,
        },
        non_finite,
        seed: 7,
        progress_bar: false,
    }
}

/// A trainer over `mlp` with the head in its own group at twice the learning rate and no decay.
pub fn trainer(
    dir: &Path,
    mlp: &Mlp,
    optimizer: &OptimizerConfig,
    cfg: TrainerConfig,
) -> Result<Trainer, TrainError> {
    let sets = [("model", &mlp.model_vars), ("head", &mlp.head_vars)];
    let groups = param_groups(
        &sets,
        &[GroupRule::new("head", |n| n.starts_with("head/"))
            .lr_scale(2.0)
            .weight_decay(0.0)],
    )?;
    Trainer::new(
        cfg,
        RunDir::create(dir)?,
        vec![
            ("model", mlp.model_vars.clone()),
            ("head", mlp.head_vars.clone()),
        ],
        optimizer.build(groups)?,
    )
}

/// Runs `trainer` until step `until`, returning each applied loss as bits.
pub fn run_until(trainer: &mut Trainer, mlp: &Mlp, until: u64) -> Vec<(u64, u64)> {
    let mut losses = Vec::new();
    while trainer.step() < until {
        let step = trainer.step();
        trainer.set_epoch(step / 5);
        trainer.set_loader_state(serde_json::json!({ "next_batch": step + 1 }));
        let outcome = trainer
            .train_step(|ctx| -> Result<StepOutput, TrainError> {
                let loss = mlp.loss(ctx.step, ctx.rng)?;
                Ok(StepOutput::new(loss, BATCH).with_metric("lr_seen", ctx.lr))
            })
            .unwrap();
        if let train_kit::StepOutcome::Applied { loss, .. } = outcome {
            losses.push((step, loss.to_bits()));
        }
    }
    losses
}
