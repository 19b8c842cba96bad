//! `face-app train`: command-line flags → [`TrainConfig`] (file or demo default, then `--set`
//! overrides, then the shortcut flags) → [`face_app::train::run`].

use std::path::PathBuf;

use alpha_loss::LossKind;
use anyhow::{bail, Result};
use candle_core::Device;
use clap::Args;
use face_app::train::{config_of_run, run, RunOptions, TrainConfig};

/// Arguments of `face-app train`.
#[derive(Debug, Args)]
#[command(after_help = "\
Without --config the embedded demo (face-app/configs/demo_synthetic.toml) runs: a small IResNet
on synthetic faces with Q-Margin, reported on held-out synthetic identities in about 2-3 minutes.
The arcface_torch recipes ship as face-app/configs/ms1mv2_r100.toml and webface4m_r100.toml.

Any config key can be overridden with --set, e.g. --set loss.m=0.35 --set train.epochs=2
--set eval.val_bins='[\"lfw.bin\"]'. The run directory gets config.toml (resolved),
metrics.jsonl, checkpoints/, report.json, roc.png and model/ (a bundle for embed/verify/eval).")]
pub struct TrainArgs {
    /// TOML config file (default: the embedded synthetic demo).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Training data: `synthetic`, `orl`, a RecordIO prefix or folder, an image folder or list
    /// (sets data.source).
    #[arg(long, value_name = "SOURCE")]
    pub data: Option<String>,
    /// Loss: softmax, cosface, arcface, combined, qmargin, a3m, a3m-i (sets loss.kind; the
    /// other [loss] parameters are kept, unset ones take the kind's defaults).
    #[arg(long, value_name = "NAME")]
    pub loss: Option<String>,
    /// α of the α-loss kinds (sets loss.alpha).
    #[arg(long, value_name = "A")]
    pub alpha: Option<f64>,
    /// Training steps (sets train.steps and clears train.epochs).
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,
    /// Images per step (sets train.batch_size).
    #[arg(long, value_name = "B")]
    pub batch_size: Option<usize>,
    /// Peak learning rate (sets optimizer.lr).
    #[arg(long, value_name = "LR")]
    pub lr: Option<f64>,
    /// Backbone: r18, r34, r50, r100, small, mbf, mbf-large (sets model.backbone).
    #[arg(long, value_name = "NAME")]
    pub backbone: Option<String>,
    /// Seed of initialization, shuffling and augmentation (sets train.seed).
    #[arg(long, value_name = "SEED")]
    pub seed: Option<u64>,
    /// Run directory (default: runs/face-<loss>-<unix time>).
    #[arg(long, value_name = "RUN_DIR")]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its newest checkpoint (with its saved config.toml unless
    /// --config is given).
    #[arg(long)]
    pub resume: bool,
    /// Override any config key: `--set section.key=value` (value parsed as TOML), repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Don't draw the progress bar (sets train.progress_bar = false).
    #[arg(long)]
    pub no_progress: bool,
}

impl TrainArgs {
    /// The `--set` list the flags amount to: explicit `--set`s first, then the shortcut flags.
    pub fn overrides(&self) -> Vec<String> {
        let mut out = self.set.clone();
        let quoted = |s: &str| format!("{s:?}");
        if let Some(d) = &self.data {
            out.push(format!("data.source={}", quoted(d)));
        }
        if let Some(l) = &self.loss {
            let name = l.parse::<LossKind>().map(|k| k.name().to_string());
            out.push(format!(
                "loss.kind={}",
                quoted(&name.unwrap_or_else(|_| l.clone()))
            ));
        }
        if let Some(a) = self.alpha {
            out.push(format!("loss.alpha={a:?}"));
        }
        if let Some(s) = self.steps {
            out.push(format!("train.steps={s}"));
        }
        if let Some(b) = self.batch_size {
            out.push(format!("train.batch_size={b}"));
        }
        if let Some(lr) = self.lr {
            out.push(format!("optimizer.lr={lr:?}"));
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
        out
    }

    /// The config the flags describe.
    pub fn resolve(&self) -> Result<TrainConfig> {
        if let Some(name) = &self.loss {
            name.parse::<LossKind>()
                .map_err(|e| anyhow::anyhow!("--loss: {e}"))?;
        }
        let mut overrides = self.overrides();
        if self.steps.is_some() {
            overrides.insert(0, "!train.epochs".into());
        }
        match (&self.config, self.resume, &self.out) {
            (Some(path), _, _) => TrainConfig::load(Some(path), &overrides),
            (None, true, Some(out)) => {
                let saved = toml::to_string(&config_of_run(out)?)?;
                let origin = format!("{}/config.toml", out.display());
                TrainConfig::from_toml(&saved, &origin, &overrides)
            }
            (None, true, None) => bail!("--resume needs --out RUN_DIR (the run to continue)"),
            (None, false, _) => TrainConfig::load(None, &overrides),
        }
    }
}

/// Runs `face-app train`.
pub fn run_cmd(args: TrainArgs) -> Result<()> {
    let cfg = args.resolve()?;
    let out = match &args.out {
        Some(o) => o.clone(),
        None => {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            PathBuf::from(format!("runs/face-{}-{secs}", cfg.loss.kind))
        }
    };
    let summary = run(
        &cfg,
        &RunOptions {
            out,
            resume: args.resume,
            device: Device::cuda_if_available(0)?,
            stop_after: None,
        },
    )?;
    println!("run directory {}", summary.run_dir.display());
    println!("model bundle  {}", summary.model_dir.display());
    for v in &summary.validation {
        println!(
            "{}: 10-fold accuracy {:.4} ± {:.4} ({} pairs)",
            v.name, v.accuracy, v.accuracy_std, v.pairs
        );
    }
    match &summary.heldout {
        Some(h) => println!("{}", h.table()),
        None => println!("no held-out identities (data.heldout_identities = 0)"),
    }
    println!("{} steps in {:.1} s", summary.steps, summary.seconds);
    Ok(())
}
