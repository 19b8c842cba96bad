//! `train`: flags → run config (a file, the run's own `config.toml` on `--resume`, or the app's
//! built-in demo; then `--set` overrides, then the shortcut flags) → [`train`](crate::task::train)
//! → a summary on stdout.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use crate::app::{config_from_toml, load_config, AppConfig, TrainApp};
use crate::device::DeviceChoice;
use crate::task::{train, TrainOptions};

/// The flags of `train` in both apps.
#[derive(Debug, Clone, Default, Args)]
pub struct TrainArgs {
    /// TOML config file (default: the app's built-in demo; on --resume, the run's config.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Training data (sets data.source): `synthetic`, a named real set, or a path.
    #[arg(long, value_name = "SOURCE")]
    pub data: Option<String>,
    /// Loss: softmax, cosface, arcface, combined, qmargin, a3m, a3m-i (sets loss.kind; the
    /// other [loss] parameters are kept, unset ones take the kind's defaults).
    #[arg(long, value_name = "NAME")]
    pub loss: Option<String>,
    /// α of the α-loss kinds (sets loss.alpha).
    #[arg(long, value_name = "A")]
    pub alpha: Option<f64>,
    /// Training steps (sets train.steps and removes train.epochs).
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,
    /// Samples per step (sets train.batch_size).
    #[arg(long, value_name = "B")]
    pub batch_size: Option<usize>,
    /// Peak learning rate (sets optim.lr).
    #[arg(long, value_name = "LR")]
    pub lr: Option<f64>,
    /// Backbone preset (sets model.backbone).
    #[arg(long, value_name = "NAME")]
    pub backbone: Option<String>,
    /// Seed of initialization, batch order and augmentation (sets train.seed).
    #[arg(long, value_name = "SEED")]
    pub seed: Option<u64>,
    /// Run folder (default: runs/<app>-<loss>-<unix time>).
    #[arg(long, value_name = "RUN_DIR")]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its newest valid checkpoint, with its config.toml unless
    /// --config is given (settings that change the computation must stay the same).
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Override any config key: `--set section.key=value` (value parsed as TOML), repeatable;
    /// `--set '!section.key'` removes a key.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Don't draw the progress bar (sets train.progress_bar = false).
    #[arg(long)]
    pub no_progress: bool,
    /// Device: auto (a GPU when the build has `cuda` and one is present), cpu, cuda or cuda:N.
    #[arg(long, value_name = "DEVICE", default_value = "auto")]
    pub device: DeviceChoice,
}

fn finite(flag: &str, v: f64) -> Result<f64> {
    if !v.is_finite() {
        bail!("{flag} {v}: must be a finite number");
    }
    Ok(v)
}

impl TrainArgs {
    /// The `--set` items the flags amount to: `--set`s first, then the shortcut flags, then
    /// `extra` (the app's own flags).
    pub fn overrides(&self, extra: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        if self.steps.is_some() {
            out.push("!train.epochs".to_string());
        }
        out.extend(self.set.iter().cloned());
        let quoted = |s: &str| format!("{s:?}");
        if let Some(d) = &self.data {
            out.push(format!("data.source={}", quoted(d)));
        }
        if let Some(l) = &self.loss {
            let kind: alpha_loss::LossKind =
                l.parse().map_err(|e| anyhow::anyhow!("--loss: {e}"))?;
            out.push(format!("loss.kind={}", quoted(kind.name())));
        }
        if let Some(a) = self.alpha {
            out.push(format!("loss.alpha={:?}", finite("--alpha", a)?));
        }
        if let Some(s) = self.steps {
            out.push(format!("train.steps={s}"));
        }
        if let Some(b) = self.batch_size {
            out.push(format!("train.batch_size={b}"));
        }
        if let Some(lr) = self.lr {
            out.push(format!("optim.lr={:?}", finite("--lr", lr)?));
        }
        if let Some(b) = &self.backbone {
            out.push(format!("model.backbone={}", quoted(b)));
        }
        if let Some(s) = self.seed {
            out.push(format!("train.seed={s}"));
        }
        if self.no_progress {
            out.push("train.progress_bar=false".into());
        }
        out.extend(extra.iter().cloned());
        Ok(out)
    }

    /// The config the flags describe for app `A` (`extra`: the app's own flags as `--set`
    /// items). On `--resume` the run's `config.toml` is the base and the result must keep every
    /// setting that changes the computation.
    pub fn resolve<A: TrainApp>(&self, extra: &[String]) -> Result<AppConfig<A>> {
        let sets = self.overrides(extra)?;
        if !self.resume {
            return load_config::<A>(self.config.as_deref(), &sets);
        }
        let out = self
            .out
            .as_ref()
            .expect("clap requires --out with --resume");
        let saved_path = out.join("config.toml");
        let saved_text = std::fs::read_to_string(&saved_path).map_err(|e| {
            anyhow::anyhow!(
                "--resume: reading {}: {e} (is {} a run folder?)",
                saved_path.display(),
                out.display()
            )
        })?;
        let origin = saved_path.display().to_string();
        let saved = config_from_toml::<A>(&saved_text, &origin, &[])?;
        let cfg = match &self.config {
            Some(path) => load_config::<A>(Some(path), &sets)?,
            None => config_from_toml::<A>(&saved_text, &origin, &sets)?,
        };
        cfg.check_resumable(&saved, &saved_path)?;
        Ok(cfg)
    }
}

/// Runs `train` for app `A` (`extra`: the app's own flags as `--set` items): resolves the
/// config, trains, prints where everything went and the held-out table.
pub fn run<A: TrainApp>(args: &TrainArgs, extra: &[String]) -> Result<()> {
    let cfg = args.resolve::<A>(extra)?;
    let out = match &args.out {
        Some(o) => o.clone(),
        None => {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            PathBuf::from(format!("runs/{}-{}-{secs}", A::NAME, cfg.loss.kind))
        }
    };
    let outcome = train::<A>(
        &cfg,
        &TrainOptions {
            out,
            resume: args.resume,
            device: args.device.open()?,
            stop_after: None,
        },
    )?;
    println!("run directory {}", outcome.fit.run_dir.display());
    println!("model bundle  {}", outcome.fit.model_dir.display());
    if let Some(validation) = outcome
        .fit
        .evaluation
        .as_ref()
        .and_then(|e| e.get("validation"))
        .and_then(|v| v.as_array())
    {
        for v in validation {
            println!(
                "{}: 10-fold accuracy {:.4} ± {:.4} ({} pairs)",
                v["name"].as_str().unwrap_or("?"),
                v["accuracy"].as_f64().unwrap_or(f64::NAN),
                v["accuracy_std"].as_f64().unwrap_or(f64::NAN),
                v["pairs"]
            );
        }
    }
    match &outcome.heldout {
        Some(h) => println!("{}", h.table()),
        None => println!("no held-out identities (eval.heldout_identities = 0)"),
    }
    println!(
        "{} steps ({} skipped for NaN/Inf) in {:.1} s",
        outcome.fit.steps, outcome.fit.skipped_steps, outcome.seconds
    );
    Ok(())
}
