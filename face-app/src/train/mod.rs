//! `face-app train`: a backbone and a margin head trained with train-kit on any face source,
//! validated on `.bin` sets, reported on held-out identities and saved as a bundle.
//!
//! Run directory: `config.toml` (the resolved plan), `metrics.jsonl` (train-kit's lines plus
//! the loss telemetry `p_target`, `p_y_zero`, `support_mean`, `support_max`, validation
//! accuracies `val_<set>` and A3M-I events `a3mi_reinit`), `checkpoints/` (model + head +
//! optimizer + schedule position + RNG + loader position), `report.json`, `roc.png` and
//! `model/` (a [`bundle`](crate::bundle) whose `config.json` also has `loss`, `embedding_dim`
//! and `thresholds`).

pub mod a3mi;
pub mod config;
pub mod data;
pub mod report;
pub mod validate;

use std::path::{Path, PathBuf};
use std::time::Instant;

use alpha_loss::{MarginHead, ReinitReason, Telemetry};
use anyhow::{bail, Context, Result};
use candle_core::{DType, Device};
use candle_nn::VarMap;
use datasets::face::{FaceImages, FacePipeline, FaceSource};
use datasets::loader::{Loader, LoaderConfig, Position};
use serde::{Deserialize, Serialize};
use train_kit::{
    derived_seed, param_groups, seeded_var_builder, CheckpointConfig, Decay, GroupRule, LrSchedule,
    RunDir, StepOutput, TrainError, Trainer, TrainerConfig,
};

use crate::bundle::{save_bundle, FaceModel, FaceModelConfig};
pub use config::TrainConfig;
use report::HeldoutEval;
use validate::ValResult;

/// Where and how to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run directory.
    pub out: PathBuf,
    /// Continue from the newest checkpoint in `out` (an error if there is none).
    pub resume: bool,
    /// Where tensors live.
    pub device: Device,
    /// Stop after this many steps with a checkpoint, as an interrupted run would (tests of
    /// `--resume`); the summary then has no held-out report and no bundle is written.
    pub stop_after: Option<u64>,
}

/// What a finished run produced.
pub struct TrainSummary {
    /// The run directory.
    pub run_dir: PathBuf,
    /// The saved bundle (`<run>/model`).
    pub model_dir: PathBuf,
    /// Held-out verification, when identities were held out.
    pub heldout: Option<HeldoutEval>,
    /// Final validation accuracies.
    pub validation: Vec<ValResult>,
    /// Steps done.
    pub steps: u64,
    /// Prototype re-initializations (A3M-I) during this process.
    pub reinits: usize,
    /// Wall time of this process's part of the run.
    pub seconds: f64,
}

/// Values derived from the config and the data, saved next to it in `config.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolved {
    /// Training identities (classes of the head).
    pub num_classes: usize,
    /// Training images.
    pub train_images: usize,
    /// Steps per epoch.
    pub steps_per_epoch: u64,
    /// Steps of the run.
    pub total_steps: u64,
    /// Warmup steps.
    pub warmup_steps: u64,
    /// The loss in effect, e.g. `qmargin s=32 rho=0.05 alpha=1.5 base=unit`.
    pub loss: String,
    /// The data read.
    pub data: String,
}

/// `config.toml` of a run: the config as given (after overrides) and what it resolved to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunPlan {
    /// The config.
    pub config: TrainConfig,
    /// Derived values.
    pub resolved: Resolved,
}

/// Reads the config saved in a run directory's `config.toml` (for `--resume`).
pub fn config_of_run(run_dir: &Path) -> Result<TrainConfig> {
    let path = run_dir.join("config.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let plan: RunPlan = toml::from_str(&text)
        .with_context(|| format!("{}: not a face-app run plan", path.display()))?;
    plan.config.validate()?;
    Ok(plan.config)
}

/// Builds the backbone config: the preset plus the IResNet overrides of `[model]`.
pub fn backbone_config(cfg: &config::ModelConfig) -> Result<FaceModelConfig> {
    let mut model = FaceModelConfig::by_name(&cfg.backbone).context("model.backbone")?;
    match &mut model {
        FaceModelConfig::Iresnet(c) => {
            if let Some(d) = cfg.embedding_dim {
                c.embedding_dim = d;
            }
            if let Some(w) = cfg.base_width {
                c.base_width = w;
            }
            if let Some(l) = cfg.layers {
                c.layers = l;
            }
        }
        FaceModelConfig::Mobilefacenet(_) => {
            if cfg.embedding_dim.is_some() || cfg.base_width.is_some() || cfg.layers.is_some() {
                bail!("model.embedding_dim / base_width / layers apply to IResNet backbones only, not {}", cfg.backbone);
            }
        }
    }
    Ok(model)
}

/// Mean telemetry over the steps since the last metrics line.
#[derive(Default)]
struct TelemetryWindow {
    n: usize,
    p_target: f64,
    p_zero: f64,
    support: f64,
    support_max: usize,
}

impl TelemetryWindow {
    fn add(&mut self, t: &Telemetry) {
        self.n += 1;
        self.p_target += t.mean_p_target;
        self.p_zero += t.frac_target_zero;
        self.support += t.mean_support;
        self.support_max = self.support_max.max(t.max_support);
    }

    fn take(&mut self) -> serde_json::Map<String, serde_json::Value> {
        let w = std::mem::take(self);
        let mut m = serde_json::Map::new();
        if w.n > 0 {
            let n = w.n as f64;
            m.insert("p_target".into(), (w.p_target / n).into());
            m.insert("p_y_zero".into(), (w.p_zero / n).into());
            m.insert("support_mean".into(), (w.support / n).into());
            m.insert("support_max".into(), w.support_max.into());
        }
        m
    }
}

/// Trains as `cfg` says into `opts.out`; see the [module docs](self).
pub fn run(cfg: &TrainConfig, opts: &RunOptions) -> Result<TrainSummary> {
    let started = Instant::now();
    cfg.validate()?;
    let device = &opts.device;
    let data = data::open(&cfg.data)?;
    let num_classes = data.train.num_identities();
    let train_images = data.train.len();
    if num_classes < 2 || train_images < 2 {
        bail!("{}: {num_classes} training identities and {train_images} images; need at least 2 of each", data.description);
    }
    let val_sets = validate::open_sets(&cfg.eval.val_bins)?;

    let has_checkpoint = opts.out.join("checkpoints").is_dir()
        && std::fs::read_dir(opts.out.join("checkpoints"))
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
    if has_checkpoint && !opts.resume {
        bail!(
            "{} already holds checkpoints: pass --resume to continue that run, or choose another --out",
            opts.out.display()
        );
    }
    if opts.resume && !has_checkpoint {
        bail!(
            "--resume: {} has no checkpoint to continue from",
            opts.out.display()
        );
    }

    // Model and head.
    let model_cfg = backbone_config(&cfg.model)?;
    let embedding_dim = model_cfg.embedding_dim();
    let (model, model_vars) =
        FaceModel::fresh(&model_cfg, derived_seed(cfg.train.seed, "backbone"), device)
            .context("building the backbone")?;
    let margin = cfg
        .loss
        .margin()
        .map_err(|e| anyhow::anyhow!("[loss]: {e}"))?;
    let head_vars = VarMap::new();
    let head = MarginHead::new(
        margin,
        num_classes,
        embedding_dim,
        seeded_var_builder(
            &head_vars,
            derived_seed(cfg.train.seed, "head"),
            DType::F32,
            device,
        ),
    )
    .context("building the margin head")?;
    let mut policy = cfg.loss.reinit_policy();

    // Data loader.
    let train_images_arc = data.train.clone();
    let loader = Loader::new(
        FaceSource::new(data.train.clone(), FacePipeline::train()),
        LoaderConfig {
            batch_size: cfg.train.batch_size,
            shuffle: true,
            drop_last: true,
            seed: cfg.train.seed,
            num_workers: cfg.data.num_workers,
            prefetch: 2,
            shard: None,
            device: device.clone(),
        },
    )
    .context("data loader")?;
    let steps_per_epoch = loader.steps_per_epoch();
    if steps_per_epoch == 0 {
        bail!(
            "train.batch_size = {} is larger than the {train_images} training images",
            cfg.train.batch_size
        );
    }
    let total_steps = match (cfg.train.steps, cfg.train.epochs) {
        (Some(s), _) => s,
        (None, Some(e)) => ((e * steps_per_epoch as f64).ceil() as u64).max(1),
        (None, None) => bail!("set train.steps or train.epochs"),
    };
    let warmup_steps =
        ((cfg.train.warmup_epochs * steps_per_epoch as f64).round() as u64).min(total_steps - 1);
    let resolved = Resolved {
        num_classes,
        train_images,
        steps_per_epoch,
        total_steps,
        warmup_steps,
        loss: cfg.loss.describe(),
        data: data.description.clone(),
    };

    // Trainer.
    let trainer_cfg = TrainerConfig {
        total_steps,
        log_every_steps: cfg.train.log_every_steps,
        schedule: LrSchedule {
            base_lr: cfg.peak_lr(),
            warmup_steps,
            warmup_start_lr: 0.0,
            decay: Decay::Polynomial {
                decay_steps: (total_steps - warmup_steps).max(1),
                power: cfg.train.lr_power,
                end_lr: cfg.train.end_lr,
            },
        },
        checkpoint: CheckpointConfig {
            every_steps: cfg.train.checkpoint_every_steps,
            keep_last: cfg.train.keep_checkpoints,
        },
        non_finite: cfg.train.non_finite.clone(),
        seed: cfg.train.seed,
        progress_bar: cfg.train.progress_bar,
    };
    let run_dir = RunDir::create(&opts.out)?;
    run_dir.write_config(&RunPlan {
        config: cfg.clone(),
        resolved: resolved.clone(),
    })?;
    let sets = [("model", &model_vars), ("head", &head_vars)];
    let rules =
        [GroupRule::new("head", |n| n.starts_with("head/")).lr_scale(cfg.train.head_lr_scale)];
    let optimizer = cfg.optimizer.build(param_groups(&sets, &rules)?)?;
    let mut trainer = Trainer::new(
        trainer_cfg,
        run_dir,
        vec![("model", model_vars.clone()), ("head", head_vars.clone())],
        optimizer,
    )?;
    if opts.resume {
        if let Some(m) = trainer.resume_latest()? {
            eprintln!(
                "resuming at step {} of {total_steps} (epoch {})",
                m.step, m.epoch
            );
        }
    }
    eprintln!(
        "training {} on {} ({num_classes} classes, {train_images} images), {}, {total_steps} steps of {}",
        cfg.model.backbone, resolved.data, resolved.loss, cfg.train.batch_size
    );

    // The loop.
    let log_every = cfg.train.log_every_steps;
    let mut window = TelemetryWindow::default();
    let mut events = serde_json::Map::new();
    let mut pending_reinit: Option<ReinitReason> = None;
    let mut reinits = 0;
    while !trainer.is_done() {
        let step = trainer.step();
        let position = Position {
            epoch: step / steps_per_epoch,
            step: step % steps_per_epoch,
        };
        for batch in loader.resume(position) {
            let batch = batch.context("loading a training batch")?;
            let step = trainer.step();
            let epoch = step / steps_per_epoch;
            trainer.set_epoch(epoch);
            if let Some(p) = &policy {
                let epoch_start = (step % steps_per_epoch == 0).then_some(epoch);
                if let Some(reason) = pending_reinit.take().or(p.scheduled(step, epoch_start)) {
                    let means = a3mi::class_means(
                        &model,
                        &train_images_arc,
                        cfg.train.a3mi_images_per_class,
                        cfg.eval.batch_size,
                        device,
                    )?;
                    head.reinit_prototypes(&means, None)
                        .context("A3M-I: re-initializing prototypes")?;
                    let dropped = a3mi::clear_state_of(trainer.optimizer_mut(), "head/")?;
                    reinits += 1;
                    let why = match reason {
                        ReinitReason::Step(s) => format!("step {s}"),
                        ReinitReason::Epoch(e) => format!("epoch {e}"),
                        ReinitReason::Collapse => "collapse".to_string(),
                    };
                    eprintln!(
                        "A3M-I: prototypes re-initialized before step {step} ({why}), {dropped} optimizer buffer(s) cleared"
                    );
                    events.insert("a3mi_reinit".into(), why.into());
                }
            }
            trainer.set_loader_state(serde_json::json!({
                "epoch": batch.resume_from.epoch,
                "step": batch.resume_from.step,
            }));
            let logs_now = (step + 1).is_multiple_of(log_every) || step + 1 == total_steps;
            let mut telemetry = None;
            let samples = batch.len();
            trainer.train_step(|_ctx| -> Result<StepOutput, TrainError> {
                let emb = model.forward_t(&batch.inputs, true)?;
                let out = head.forward(&emb, &batch.labels)?;
                window.add(&out.telemetry);
                let mut output = StepOutput::new(out.loss, samples);
                if logs_now {
                    output.extra = window.take();
                    output.extra.append(&mut events);
                }
                telemetry = Some(out.telemetry);
                Ok(output)
            })?;
            if let (Some(t), Some(p)) = (&telemetry, policy.as_mut()) {
                if let Some(reason) = p.observe(t) {
                    pending_reinit = Some(reason);
                }
            }
            let done = trainer.step();
            let every = cfg.eval.val_every_steps;
            if every > 0 && done.is_multiple_of(every) && done < total_steps {
                for set in &val_sets {
                    let r = validate::validate(
                        &model,
                        set,
                        cfg.eval.batch_size,
                        cfg.eval.flip_tta,
                        device,
                    )?;
                    eprintln!(
                        "step {done}: {} accuracy {:.4} ± {:.4}",
                        r.name, r.accuracy, r.accuracy_std
                    );
                    events.insert(format!("val_{}", r.name), r.accuracy.into());
                }
            }
            if trainer.is_done() || opts.stop_after == Some(done) {
                break;
            }
        }
        if !trainer.is_done() && opts.stop_after == Some(trainer.step()) {
            trainer.save_checkpoint()?;
            return Ok(TrainSummary {
                run_dir: trainer.run_dir().root().to_path_buf(),
                model_dir: PathBuf::new(),
                heldout: None,
                validation: Vec::new(),
                steps: trainer.step(),
                reinits,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
    }
    finish(FinishArgs {
        cfg,
        trainer,
        model: &model,
        model_cfg: &model_cfg,
        model_vars: &model_vars,
        heldout: data.heldout.as_ref(),
        val_sets: &val_sets,
        resolved: &resolved,
        reinits,
        started,
        device,
    })
}

struct FinishArgs<'a> {
    cfg: &'a TrainConfig,
    trainer: Trainer,
    model: &'a FaceModel,
    model_cfg: &'a FaceModelConfig,
    model_vars: &'a VarMap,
    heldout: Option<&'a data::IdentitySubset>,
    val_sets: &'a [validate::ValSet],
    resolved: &'a Resolved,
    reinits: usize,
    started: Instant,
    device: &'a Device,
}

/// Final validation, held-out report, ROC plot, bundle and `report.json`.
fn finish(a: FinishArgs<'_>) -> Result<TrainSummary> {
    let cfg = a.cfg;
    let steps = a.trainer.step();
    let run_root = a.trainer.run_dir().root().to_path_buf();
    let mut validation = Vec::new();
    for set in a.val_sets {
        let r = validate::validate(
            a.model,
            set,
            cfg.eval.batch_size,
            cfg.eval.flip_tta,
            a.device,
        )?;
        eprintln!(
            "{}: 10-fold accuracy {:.4} ± {:.4}",
            r.name, r.accuracy, r.accuracy_std
        );
        validation.push(r);
    }
    let heldout = match a.heldout {
        Some(images) => Some(report::evaluate_heldout(
            a.model,
            images,
            &cfg.eval.fars,
            cfg.eval.batch_size,
            cfg.eval.flip_tta,
            a.device,
        )?),
        None => None,
    };
    let mut plot_error = None;
    let roc_path = run_root.join("roc.png");
    if let Some(h) = &heldout {
        let title = format!("held-out ROC, {}", a.resolved.loss);
        if let Err(e) = h.plot(&roc_path, &title) {
            eprintln!("warning: no ROC plot: {e:#}");
            plot_error = Some(format!("{e:#}"));
        }
    }
    let thresholds = heldout.as_ref().map(|h| h.thresholds()).unwrap_or_default();
    let model_dir = run_root.join("model");
    save_bundle(
        &model_dir,
        a.model_cfg,
        a.model_vars,
        serde_json::json!({
            "loss": a.resolved.loss,
            "embedding_dim": a.model_cfg.embedding_dim(),
            "thresholds": thresholds,
            "trained_steps": steps,
            "data": a.resolved.data,
        }),
    )?;
    let report = serde_json::json!({
        "loss": a.resolved.loss,
        "backbone": cfg.model.backbone,
        "embedding_dim": a.model_cfg.embedding_dim(),
        "data": a.resolved.data,
        "steps": steps,
        "num_classes": a.resolved.num_classes,
        "skipped_steps": a.trainer.skipped_steps(),
        "a3mi_reinits": a.reinits,
        "heldout": heldout.as_ref().map(|h| serde_json::json!({
            "identities": h.identities,
            "images": h.images,
            "flip_tta": cfg.eval.flip_tta,
            "score": "cosine",
            "metrics": h.report,
        })),
        "thresholds": thresholds,
        "validation": validation,
        "roc_plot": heldout.as_ref().and(plot_error.is_none().then_some("roc.png")),
        "roc_plot_error": plot_error,
        "model": "model",
    });
    a.trainer.finish(&report)?;
    Ok(TrainSummary {
        run_dir: run_root,
        model_dir,
        heldout,
        validation,
        steps,
        reinits: a.reinits,
        seconds: a.started.elapsed().as_secs_f64(),
    })
}
