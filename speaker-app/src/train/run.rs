//! The training loop: data, model, head, optimizer and trainer wired together, then the
//! held-out evaluation, `report.json`, the DET plot and the model bundle.

use std::path::PathBuf;
use std::time::Instant;

use alpha_loss::{LossConfig, LossKind, MarginHead, ReinitReason};
use anyhow::{bail, Context as _};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use datasets::loader::{Loader, LoaderConfig, Position, Source as _};
use serde_json::json;
use train_kit::{
    derived_seed, optim::single_group, seeded_var_builder, CheckpointConfig, Decay, LrSchedule,
    OptimizerConfig, RunDir, SgdConfig, StepOutput, Trainer, TrainerConfig,
};

use crate::embed::{eval_fbank, INT16_SCALE};
use crate::fbank::{Fbank, FbankConfig};
use crate::models::{save_bundle, SpeakerModel, SpeakerModelConfig};
use crate::train::a3mi::{class_means, clear_optimizer_state};
use crate::train::config::TrainConfig;
use crate::train::data::{load_corpus, TrainSource};
use crate::train::margin_schedule::MarginSchedule;
use crate::train::report::{evaluate, plot_det, HeldOutEval};

/// Where a run writes and whether it continues an earlier one.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run directory.
    pub out: PathBuf,
    /// Continue from the newest checkpoint in `out` (an error when there is none).
    pub resume: bool,
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Optimizer steps of the whole run.
    pub steps: u64,
    /// Steps per epoch (wespeaker's: training utterances / batch size).
    pub steps_per_epoch: u64,
    /// Classes of the head (speakers × speeds).
    pub num_classes: usize,
    /// Held-out evaluation (None when `eval.held_out_speakers = 0`).
    pub eval: Option<HeldOutEval>,
    /// The content of `report.json`.
    pub report: serde_json::Value,
    /// Wall time of the training steps in this process, seconds.
    pub train_seconds: f64,
}

/// Seed of the fbank dither of step `step`.
fn dither_seed(seed: u64, step: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ step.wrapping_add(0xD1B5_4A32_D192_ED03)
}

/// Sets the head's margin to the scheduled `m`: the angular / additive margin, or for
/// Q-Margin the target prior ρ = exp(−s·m).
fn apply_margin(head: &mut MarginHead, loss: &LossConfig, m: f64) -> anyhow::Result<()> {
    match loss.kind {
        LossKind::QMargin => head.set_target_prior((-loss.s * m).exp())?,
        _ => head.set_margin(m),
    }
    Ok(())
}

/// Trains as `cfg` says, writing into `opts.out`; see the [module docs](crate::train).
pub fn train(cfg: &TrainConfig, opts: &RunOptions) -> anyhow::Result<TrainSummary> {
    cfg.validate()?;
    // Softmax has no margin: a schedule inherited from the config (the demo's, say) is ignored
    // rather than refused, so `--loss softmax` works on any config.
    let margin_schedule = match &cfg.margin_schedule {
        Some(_) if cfg.loss.kind == LossKind::Softmax => {
            eprintln!("note: [margin_schedule] ignored: loss softmax has no margin to schedule");
            None
        }
        other => other.clone(),
    };
    let device = Device::cuda_if_available(0)?;
    let model_cfg = SpeakerModelConfig::by_name(&cfg.model.name)?;
    let corpus = load_corpus(cfg)?;
    eprintln!("data: {}", corpus.description);
    let source = TrainSource::new(corpus.train, &cfg.data)?;
    let num_classes = source.num_classes();
    let loader = Loader::new(
        source.clone(),
        LoaderConfig {
            batch_size: cfg.train.batch_size,
            shuffle: true,
            drop_last: true,
            seed: cfg.train.seed,
            num_workers: cfg.data.num_workers,
            prefetch: 4,
            shard: None,
            device: Device::Cpu,
        },
    )?;
    if loader.steps_per_epoch() == 0 {
        bail!(
            "batch size {} is larger than the {} training chunks of an epoch",
            cfg.train.batch_size,
            loader.items_per_epoch()
        );
    }
    // wespeaker's epoch: one pass over the utterances (each at one speed), so epoch-based
    // settings mean what they mean in its recipes; the loader's pass covers every speed.
    let steps_per_epoch = (source.utterances().len() / cfg.train.batch_size).max(1) as u64;
    let total_steps = match (cfg.train.steps, cfg.train.epochs) {
        (Some(s), _) => s,
        (None, Some(e)) => ((e * steps_per_epoch as f64).ceil() as u64).max(1),
        (None, None) => bail!("[train] needs steps or epochs"),
    };

    let model_vars = VarMap::new();
    let model = SpeakerModel::new(
        &model_cfg,
        seeded_var_builder(
            &model_vars,
            derived_seed(cfg.train.seed, "backbone"),
            DType::F32,
            &device,
        ),
    )?;
    let head_vars = VarMap::new();
    let mut head = MarginHead::new(
        cfg.loss.margin()?,
        num_classes,
        model_cfg.embedding_dim(),
        seeded_var_builder(
            &head_vars,
            derived_seed(cfg.train.seed, "head"),
            DType::F32,
            &device,
        ),
    )?;
    let sgd = SgdConfig {
        lr: cfg.optim.lr,
        momentum: cfg.optim.momentum,
        dampening: 0.0,
        nesterov: cfg.optim.nesterov,
        weight_decay: cfg.optim.weight_decay,
        decoupled_weight_decay: false,
    };
    let optimizer = OptimizerConfig::Sgd(sgd).build(single_group(&[
        ("model", &model_vars),
        ("head", &head_vars),
    ]))?;
    let warmup_steps = ((cfg.optim.warmup_epochs * steps_per_epoch as f64).round() as u64)
        .min(total_steps.saturating_sub(1));
    let trainer_cfg = TrainerConfig {
        total_steps,
        log_every_steps: cfg.train.log_every_steps,
        schedule: LrSchedule {
            base_lr: cfg.optim.lr,
            warmup_steps,
            warmup_start_lr: 0.0,
            decay: Decay::Exponential {
                decay_steps: (total_steps - warmup_steps).max(1),
                end_lr: cfg.optim.final_lr,
            },
        },
        checkpoint: CheckpointConfig {
            every_steps: match cfg.train.checkpoint_every_steps {
                0 => total_steps,
                n => n,
            },
            keep_last: cfg.train.keep_last,
        },
        non_finite: Default::default(),
        seed: cfg.train.seed,
        progress_bar: cfg.train.progress_bar,
    };

    let run = RunDir::create(&opts.out)?;
    let has_checkpoints = std::fs::read_dir(run.checkpoints_dir())
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if has_checkpoints && !opts.resume {
        bail!(
            "{} already has checkpoints: pass --resume to continue that run, or choose another --out",
            opts.out.display()
        );
    }
    std::fs::write(run.config_path(), cfg.to_toml()?)
        .with_context(|| format!("writing {}", run.config_path().display()))?;
    let mut trainer = Trainer::new(
        trainer_cfg,
        run.clone(),
        vec![("model", model_vars.clone()), ("head", head_vars.clone())],
        optimizer,
    )?;
    let mut position = Position::default();
    if opts.resume {
        let manifest = trainer.resume_latest()?.with_context(|| {
            format!(
                "--resume: no checkpoint in {}",
                run.checkpoints_dir().display()
            )
        })?;
        position = serde_json::from_value(manifest.loader_state.clone())
            .context("checkpoint's loader state")?;
        eprintln!(
            "resuming at step {} (epoch {}, batch {})",
            manifest.step, position.epoch, position.step
        );
    }

    eprintln!(
        "training {} ({} classes) with {} for {total_steps} steps, {steps_per_epoch} steps per epoch, batch {}",
        cfg.model.name,
        num_classes,
        cfg.loss.describe(),
        cfg.train.batch_size
    );
    let train_fbank = Fbank::new(FbankConfig {
        num_mel_bins: model_cfg.feat_dim(),
        ..FbankConfig::wespeaker_train()
    })?;
    let schedule = margin_schedule.map(|m| MarginSchedule::new(m, steps_per_epoch));
    let mut policy = cfg.loss.reinit_policy();
    let mut pending: Option<ReinitReason> = None;
    let mut reinits = Vec::new();
    let mut small_batches = 0u64;
    let started = Instant::now();

    'epochs: while !trainer.is_done() {
        let epoch = position.epoch;
        for batch in loader.resume(position) {
            if trainer.is_done() {
                break 'epochs;
            }
            let batch = batch?;
            position = batch.resume_from;
            let step = trainer.step();
            trainer.set_epoch(step / steps_per_epoch);
            if let Some(p) = &policy {
                let epoch_start = step
                    .is_multiple_of(steps_per_epoch)
                    .then_some(step / steps_per_epoch);
                if let Some(reason) = p.scheduled(step, epoch_start).or(pending.take()) {
                    let means = class_means(
                        &model,
                        &eval_fbank(&model_cfg)?,
                        &source,
                        cfg.train.seed,
                        (1 << 40) + step,
                        &device,
                    )?;
                    head.reinit_prototypes(&means, None)?;
                    let dropped = clear_optimizer_state(trainer.optimizer_mut(), "head")?;
                    let line = format!(
                        "A3M-I: prototypes re-initialized from class means before step {step} ({reason:?}); {dropped} head optimizer buffer(s) cleared"
                    );
                    eprintln!("{line}");
                    reinits.push(json!({"step": step, "reason": format!("{reason:?}")}));
                }
            }
            let margin = schedule.as_ref().map(|s| s.margin_at(step));
            if let Some(m) = margin {
                apply_margin(&mut head, &cfg.loss, m)?;
            }
            let b = batch.len();
            if b < 2 {
                small_batches += 1;
                eprintln!("step {step}: batch has {b} readable chunk(s); batch norm needs 2, batch dropped");
                continue;
            }
            let mut wave = batch.inputs.flatten_all()?.to_vec1::<f32>()?;
            wave.iter_mut().for_each(|x| *x *= INT16_SCALE);
            let feats = train_fbank.compute_batch(&wave, b, dither_seed(cfg.train.seed, step))?;
            let x = Tensor::from_vec(feats.data, (b, feats.frames, feats.bins), &device)?;
            let labels = batch.labels.to_device(&device)?;
            trainer.set_loader_state(serde_json::to_value(position)?);
            let mut telemetry = None;
            trainer.train_step(|_ctx| -> anyhow::Result<StepOutput> {
                let emb = model.forward_t(&x, true)?;
                let out = head.forward(&emb, &labels)?;
                telemetry = Some(out.telemetry);
                let t = out.telemetry;
                let mut o = StepOutput::new(out.loss, b)
                    .with_metric("p_target", t.mean_p_target)
                    .with_metric("frac_target_zero", t.frac_target_zero)
                    .with_metric("support", t.mean_support);
                if let Some(m) = margin {
                    o = o.with_metric("margin", m);
                }
                if !batch.skipped.is_empty() {
                    o = o.with_metric("skipped_items", batch.skipped.len() as u64);
                }
                Ok(o)
            })?;
            if let (Some(p), Some(t)) = (policy.as_mut(), telemetry) {
                if let Some(reason) = p.observe(&t) {
                    pending = Some(reason);
                }
            }
        }
        if position.epoch == epoch {
            // The epoch's last batches were unreadable: move on to the next epoch.
            position = Position {
                epoch: epoch + 1,
                step: 0,
            };
        }
    }
    let train_seconds = started.elapsed().as_secs_f64();
    let steps = trainer.step();

    let eval = if corpus.held_out.is_empty() {
        None
    } else {
        eprintln!("evaluating on held-out speakers");
        Some(evaluate(&model, &corpus.held_out, &cfg.eval, &device)?)
    };
    let mut plot = serde_json::Value::Null;
    if let Some(e) = &eval {
        let path = run.root().join("det.png");
        let title = format!("{} · {}", cfg.model.name, cfg.loss.describe());
        plot = match plot_det(&path, e, &cfg.eval, &title) {
            Ok(()) => json!("det.png"),
            Err(err) => {
                eprintln!("warning: no DET plot: {err:#}");
                json!({ "error": format!("{err:#}") })
            }
        };
    }
    let thresholds = eval
        .as_ref()
        .map(|e| serde_json::to_value(&e.thresholds))
        .transpose()?
        .unwrap_or_else(|| json!([]));
    save_bundle(
        &run.root().join("model"),
        &model_cfg,
        &model_vars,
        json!({
            "loss": cfg.loss.describe(),
            "thresholds": thresholds,
            "trained_steps": steps,
        }),
    )?;
    let skipped = loader.skipped();
    let report = json!({
        "data": corpus.description,
        "model": cfg.model.name,
        "loss": cfg.loss.describe(),
        "steps": steps,
        "steps_per_epoch": steps_per_epoch,
        "num_classes": num_classes,
        "train_seconds": train_seconds,
        "skipped_items": skipped.count,
        "skipped_examples": skipped.examples,
        "dropped_small_batches": small_batches,
        "a3mi_reinits": reinits,
        "held_out": eval,
        "det_plot": plot,
        "thresholds": thresholds,
        "model_bundle": "model",
    });
    trainer.finish(&report)?;
    Ok(TrainSummary {
        run_dir: opts.out.clone(),
        steps,
        steps_per_epoch,
        num_classes,
        eval,
        report,
        train_seconds,
    })
}
