//! The verification training task both apps run through train-kit's [`fit`]: an app's backbone
//! and alpha-loss's margin head over the app's loader source, with A3M-I re-initializations,
//! wespeaker's margin schedule and the telemetry window as step hooks; the model bundle as
//! export; the held-out all-pairs report (eval-kit) with ROC and DET plots and the bundle's
//! score thresholds as evaluation.

use std::path::{Path, PathBuf};
use std::time::Instant;

use alpha_loss::{MarginHead, MarginSchedule, ReinitPolicy, ReinitReason, TelemetryWindow};
use anyhow::{Context, Result};
use candle_core::{DType, Device, ModuleT, Tensor};
use candle_nn::VarMap;
use datasets::loader::{Loader, LoaderConfig, Position};
use eval_kit::heldout::{check_split, HeldoutReport};
use eval_kit::HeldoutEmbeddings;
use serde_json::json;
use train_kit::{
    derived_seed, fit, seeded_var_builder, Batches, FitOptions, FitSummary, Hooks, Positioned,
    StepInfo, StepOutput, Task, TaskResult,
};

use crate::app::{AppConfig, OpenedData, TrainApp};
use crate::bundle::{save_bundle, write_meta, BundleMeta};
use crate::registry::Backbone;

/// Where a run writes and whether it continues an earlier one.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The run folder.
    pub out: PathBuf,
    /// Continue from the newest valid checkpoint in `out`.
    pub resume: bool,
    /// Where tensors live.
    pub device: Device,
    /// Stop after this many steps with a checkpoint, as an interrupted run would (tests of
    /// `--resume`).
    pub stop_after: Option<u64>,
}

/// What a run produced.
pub struct TrainOutcome {
    /// train-kit's summary of the run.
    pub fit: FitSummary,
    /// The held-out verification (`None` without held-out identities or when stopped early).
    pub heldout: Option<HeldoutReport>,
    /// A3M-I re-initializations in this process.
    pub reinits: usize,
    /// Classes of the head.
    pub num_classes: usize,
    /// What the run read.
    pub data: String,
    /// Wall time of this process's part of the run, seconds.
    pub seconds: f64,
}

/// The held-out embeddings a finished run leaves in its folder (eval-kit's store, keys
/// `<identity>/<row>`), so a sweep can score it again.
pub const HELDOUT_EMBEDDINGS: &str = "heldout_embeddings.safetensors";

/// Samples a batch needs for BatchNorm statistics; smaller ones (unreadable items) are dropped.
const MIN_BATCH: usize = 2;

/// An app's model and margin head with the run's hooks; see the [module docs](self).
pub struct VerificationTask<A: TrainApp> {
    cfg: AppConfig<A>,
    data: OpenedData<A>,
    net: Box<A::Net>,
    model_config: serde_json::Value,
    model_vars: VarMap,
    head: MarginHead,
    head_vars: VarMap,
    loader: Loader<A::Source>,
    policy: Option<ReinitPolicy>,
    pending: Option<ReinitReason>,
    schedule: Option<MarginSchedule>,
    margin: Option<f64>,
    telemetry: TelemetryWindow,
    last_telemetry: Option<alpha_loss::Telemetry>,
    reinits: Vec<serde_json::Value>,
    heldout: Option<HeldoutReport>,
    device: Device,
}

impl<A: TrainApp> VerificationTask<A> {
    /// Opens the data, builds backbone and head from the run's seed and the loader.
    pub fn new(cfg: &AppConfig<A>, device: &Device) -> Result<Self> {
        let data = A::open_data(cfg)?;
        if cfg.eval.heldout_identities > 0 && data.heldout.is_some() {
            check_split(&data.heldout_counts).with_context(|| {
                format!(
                    "{}: eval.heldout_identities = {}",
                    data.description, cfg.eval.heldout_identities
                )
            })?;
        }
        if data.num_classes < 2 {
            anyhow::bail!(
                "{}: {} training classes; need at least 2",
                data.description,
                data.num_classes
            );
        }
        let registry = A::registry();
        let model_config = registry.resolve(&cfg.model.backbone, &cfg.model.overrides)?;
        let model_vars = VarMap::new();
        let net = registry.build(
            &model_config,
            seeded_var_builder(
                &model_vars,
                derived_seed(cfg.train.seed, "backbone"),
                DType::F32,
                device,
            ),
        )?;
        let head_vars = VarMap::new();
        let head = MarginHead::new(
            cfg.loss
                .margin()
                .map_err(|e| anyhow::anyhow!("[loss]: {e}"))?,
            data.num_classes,
            net.embedding_dim(),
            seeded_var_builder(
                &head_vars,
                derived_seed(cfg.train.seed, "head"),
                DType::F32,
                device,
            ),
        )
        .context("building the margin head")?;
        let source = A::source(&data.train, cfg)?;
        let loader = Loader::new(
            source,
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
        )
        .context("data loader")?;
        if loader.steps_per_epoch() == 0 {
            anyhow::bail!(
                "train.batch_size = {} is larger than the {} training items of an epoch",
                cfg.train.batch_size,
                loader.items_per_epoch()
            );
        }
        let schedule = match &cfg.margin_schedule {
            Some(_) if !cfg.loss.has_margin() => {
                eprintln!(
                    "note: [margin_schedule] ignored: loss {} has no margin to schedule",
                    cfg.loss.kind
                );
                None
            }
            other => other.clone(),
        };
        let steps_per_epoch = (data.epoch_items / cfg.train.batch_size).max(1) as u64;
        Ok(Self {
            policy: cfg.loss.reinit_policy(),
            schedule: schedule.map(|s| MarginSchedule::new(s, steps_per_epoch)),
            cfg: cfg.clone(),
            data,
            net,
            model_config,
            model_vars,
            head,
            head_vars,
            loader,
            pending: None,
            margin: None,
            telemetry: TelemetryWindow::default(),
            last_telemetry: None,
            reinits: Vec::new(),
            heldout: None,
            device: device.clone(),
        })
    }

    /// The backbone.
    pub fn net(&self) -> &A::Net {
        self.net.as_ref()
    }

    /// The opened data.
    pub fn data(&self) -> &OpenedData<A> {
        &self.data
    }

    /// The held-out embeddings of the model as it is now (before training: the seeded starting
    /// weights); `None` when nothing is held out.
    pub fn heldout_embeddings(&self) -> Result<Option<HeldoutEmbeddings>> {
        let Some(heldout) = &self.data.heldout else {
            return Ok(None);
        };
        Ok(Some(A::embed_heldout(
            self.net.as_ref(),
            heldout,
            &self.cfg,
            &self.device,
        )?))
    }

    /// The held-out report of the model as it is now (before training: the seeded starting
    /// weights, for a paired comparison); `None` when nothing is held out.
    pub fn heldout_report(&self) -> Result<Option<HeldoutReport>> {
        match self.heldout_embeddings()? {
            Some(emb) => Ok(Some(eval_kit::heldout::evaluate(
                &emb,
                &self.cfg.eval.fars,
            )?)),
            None => Ok(None),
        }
    }

    fn reinitialize(&mut self, hooks: &mut Hooks<'_>, reason: ReinitReason) -> Result<()> {
        let step = hooks.info.step;
        let per_class = self.cfg.loss.reinit.per_class;
        let means = A::class_means(
            self.net.as_ref(),
            &self.data.train,
            &self.cfg,
            per_class,
            (1 << 40) + step,
            &self.device,
        )
        .context("A3M-I: class means")?;
        self.head
            .reinit_prototypes(&means, None)
            .context("A3M-I: re-initializing prototypes")?;
        let dropped = hooks.reset_optimizer_state("head")?;
        let why = match reason {
            ReinitReason::Step(s) => format!("step {s}"),
            ReinitReason::Epoch(e) => format!("epoch {e}"),
            ReinitReason::Collapse => "collapse".to_string(),
        };
        hooks.note(&format!(
            "A3M-I: prototypes re-initialized from class means before step {step} ({why}), {dropped} head optimizer buffer(s) cleared"
        ));
        hooks.event("a3mi_reinit", why.clone());
        self.reinits.push(json!({ "step": step, "reason": why }));
        Ok(())
    }
}

impl<A: TrainApp> Task for VerificationTask<A> {
    type Batch = (Tensor, Tensor);

    fn var_sets(&self) -> Vec<(String, VarMap)> {
        vec![
            ("model".into(), self.model_vars.clone()),
            ("head".into(), self.head_vars.clone()),
        ]
    }

    fn steps_per_epoch(&self) -> u64 {
        (self.data.epoch_items / self.cfg.train.batch_size).max(1) as u64
    }

    fn batches(&mut self, resume: &serde_json::Value) -> TaskResult<Batches<Self::Batch>> {
        let from: Position = if resume.is_null() {
            Position::default()
        } else {
            serde_json::from_value(resume.clone())
                .map_err(|e| format!("checkpoint's loader position {resume}: {e}"))?
        };
        let device = self.device.clone();
        let stream = self.loader.stream(from, MIN_BATCH).map(move |batch| {
            let batch = batch.map_err(|e| format!("loading a training batch: {e}"))?;
            let inputs = batch.inputs.to_device(&device)?;
            let labels = batch.labels.to_device(&device)?;
            Ok(Positioned {
                batch: (inputs, labels),
                resume_from: serde_json::to_value(batch.resume_from)?,
            })
        });
        Ok(Box::new(stream))
    }

    fn before_step(&mut self, hooks: &mut Hooks<'_>) -> TaskResult<()> {
        if let Some(policy) = &self.policy {
            let info = hooks.info;
            if let Some(reason) = policy
                .scheduled(info.step, info.epoch_start)
                .or(self.pending.take())
            {
                self.reinitialize(hooks, reason)?;
            }
        }
        if let Some(schedule) = &self.schedule {
            let m = schedule.margin_at(hooks.info.step);
            self.cfg.loss.apply_scheduled_margin(&mut self.head, m)?;
            self.margin = Some(m);
        }
        Ok(())
    }

    fn forward(
        &mut self,
        (inputs, labels): &Self::Batch,
        info: &StepInfo,
    ) -> TaskResult<StepOutput> {
        let emb = self.net.forward_t(inputs, true)?;
        let out = self.head.forward(&emb, labels)?;
        self.telemetry.add(&out.telemetry);
        self.last_telemetry = Some(out.telemetry);
        let mut output = StepOutput::new(out.loss, inputs.dim(0)?);
        if info.logs_metrics {
            for (name, value) in self.telemetry.take() {
                output = output.with_metric(name, value);
            }
            if let Some(m) = self.margin {
                output = output.with_metric("margin", m);
            }
        }
        Ok(output)
    }

    fn after_step(&mut self, hooks: &mut Hooks<'_>, _applied: bool) -> TaskResult<()> {
        if let (Some(policy), Some(t)) = (self.policy.as_mut(), self.last_telemetry.take()) {
            if let Some(reason) = policy.observe(&t) {
                self.pending = Some(reason);
            }
        }
        let done = hooks.info.step + 1;
        if done < hooks.info.total_steps {
            let fields = A::validate_during(
                self.net.as_ref(),
                &self.data.train,
                &self.cfg,
                done,
                &self.device,
            )?;
            for (k, v) in fields {
                hooks.note(&format!("step {done}: {k} {v}"));
                hooks.event(k, v);
            }
        }
        Ok(())
    }

    fn export(&mut self, run_dir: &Path, dir: &Path, steps: u64) -> TaskResult<()> {
        let mut classes = String::from("class\tname\n");
        for (id, name) in self.data.class_names.iter().enumerate() {
            classes.push_str(&format!("{id}\t{name}\n"));
        }
        train_kit::atomic_file::write_atomic(&run_dir.join("classes.tsv"), classes.as_bytes())?;
        let mut meta = BundleMeta::new(A::NAME, self.model_config.clone());
        meta.embedding_dim = Some(self.net.embedding_dim());
        meta.loss = Some(self.cfg.loss.describe());
        meta.trained_steps = Some(steps);
        meta.data = Some(self.data.description.clone());
        save_bundle(dir, &meta, &self.model_vars)?;
        Ok(())
    }

    fn evaluate(&mut self, run_dir: &Path, model_dir: &Path) -> TaskResult<serde_json::Value> {
        let validation =
            A::validate_final(self.net.as_ref(), &self.data.train, &self.cfg, &self.device)?;
        let Some(emb) = self.heldout_embeddings()? else {
            return Ok(json!({ "validation": validation }));
        };
        emb.save(&run_dir.join(HELDOUT_EMBEDDINGS))?;
        let report = eval_kit::heldout::evaluate(&emb, &self.cfg.eval.fars)?;
        let mut plots = serde_json::Map::new();
        let title = format!(
            "held-out, {} · {}",
            self.cfg.model.backbone,
            self.cfg.loss.describe()
        );
        for (file, kind) in [
            ("roc.png", eval_kit::plot::CurveKind::Roc),
            ("det.png", eval_kit::plot::CurveKind::Det),
        ] {
            let curve = report.curve.as_ref().expect("evaluate keeps the curve");
            let config = eval_kit::MetricsConfig {
                fars: self.cfg.eval.fars.clone(),
                ..eval_kit::MetricsConfig::default()
            };
            let value = match eval_kit::plot::plot_curve(
                &run_dir.join(file),
                curve,
                &report.metrics,
                &config,
                kind,
                &title,
            ) {
                Ok(()) => json!(file),
                Err(e) => {
                    eprintln!("warning: no {file}: {e}");
                    json!({ "error": e.to_string() })
                }
            };
            plots.insert(file.trim_end_matches(".png").to_string(), value);
        }
        let mut meta = crate::bundle::read_meta(model_dir, A::NAME)?;
        meta.thresholds = report.thresholds.clone();
        write_meta(model_dir, &meta)?;
        let mut value = serde_json::to_value(&report)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("score".into(), "cosine".into());
            map.insert("embeddings".into(), HELDOUT_EMBEDDINGS.into());
            map.insert("plots".into(), serde_json::Value::Object(plots));
            map.insert("validation".into(), validation);
        }
        self.heldout = Some(report);
        Ok(value)
    }

    fn report(&self) -> serde_json::Map<String, serde_json::Value> {
        let skipped = self.loader.skipped();
        let mut m = serde_json::Map::new();
        m.insert("data".into(), self.data.description.clone().into());
        m.insert("backbone".into(), self.cfg.model.backbone.clone().into());
        m.insert("embedding_dim".into(), self.net.embedding_dim().into());
        m.insert("loss".into(), self.cfg.loss.describe().into());
        m.insert("num_classes".into(), self.data.num_classes.into());
        m.insert("classes".into(), "classes.tsv".into());
        m.insert("skipped_items".into(), skipped.count.into());
        m.insert(
            "skipped_examples".into(),
            serde_json::to_value(&skipped.examples).unwrap_or_default(),
        );
        m.insert(
            "dropped_small_batches".into(),
            self.loader.dropped_batches().into(),
        );
        m.insert("a3mi_reinits".into(), self.reinits.clone().into());
        m
    }
}

/// Trains app `A` as `cfg` says into `opts.out`: train-kit's [`fit`] over a
/// [`VerificationTask`]. `config_text` is written to the run's `config.toml`.
pub fn train<A: TrainApp>(cfg: &AppConfig<A>, opts: &TrainOptions) -> Result<TrainOutcome> {
    let started = Instant::now();
    cfg.validate()?;
    let mut task = VerificationTask::<A>::new(cfg, &opts.device)?;
    eprintln!(
        "training {} on {} ({} classes), {}, batch {}",
        cfg.model.backbone,
        task.data.description,
        task.data.num_classes,
        cfg.loss.describe(),
        cfg.train.batch_size
    );
    let mut fit_opts = FitOptions::new(&opts.out, opts.resume, cfg.to_toml()?);
    fit_opts.stop_after = opts.stop_after;
    let summary = fit(&cfg.fit_plan(), &mut task, &fit_opts)?;
    Ok(TrainOutcome {
        heldout: task.heldout.take(),
        reinits: task.reinits.len(),
        num_classes: task.data.num_classes,
        data: task.data.description.clone(),
        fit: summary,
        seconds: started.elapsed().as_secs_f64(),
    })
}
