//! `speaker-app train`: train a speaker model and evaluate it on held-out speakers.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use speaker_app::train::{train, Overrides, RunOptions, TrainConfig};

/// Arguments of `speaker-app train`.
///
/// Without arguments: a small ResNet on synthetic voices with Q-Margin (the built-in
/// `speaker-app/configs/demo_synthetic.toml`), then EER and minDCF on held-out voices.
/// Flags override the config file; `--set key=value` overrides any key (`--set loss.m=0.3`,
/// `--set data.speed_perturb=false`, `--set train.epochs=10`).
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// TOML config (default: the built-in synthetic demo); e.g.
    /// speaker-app/configs/voxceleb2_resnet34.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// `synthetic`, `debian` (the Debian voice packages), or a VoxCeleb folder, a wespeaker raw
    /// list or a Kaldi data dir.
    #[arg(long)]
    data: Option<String>,
    /// Loss: softmax, cosface, arcface, combined, qmargin, a3m, a3m-i.
    #[arg(long)]
    loss: Option<String>,
    /// α of the α-loss kinds (qmargin, a3m, a3m-i).
    #[arg(long)]
    alpha: Option<f64>,
    /// Optimizer steps (instead of the config's steps or epochs).
    #[arg(long)]
    steps: Option<u64>,
    /// Chunks per batch.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Backbone: resnet34, resnet18, ecapa-c512, ecapa-c1024, small.
    #[arg(long)]
    model: Option<String>,
    /// MUSAN folder (music/ noise/ speech/) for additive noise.
    #[arg(long)]
    musan: Option<PathBuf>,
    /// Folder of room impulse responses for reverberation.
    #[arg(long)]
    rir: Option<PathBuf>,
    /// Run directory (default runs/speaker-<unix time>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in --out from its newest checkpoint.
    #[arg(long, requires = "out")]
    resume: bool,
    /// Override any config key, e.g. `--set loss.m=0.3` (repeatable; values are TOML).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

/// Runs `speaker-app train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        data: args.data,
        loss: args.loss,
        alpha: args.alpha,
        steps: args.steps,
        batch_size: args.batch_size,
        lr: args.lr,
        model: args.model,
        musan: args.musan,
        rir: args.rir,
        set: args.set,
    };
    let cfg = TrainConfig::load(args.config.as_deref(), &overrides)?;
    let out = args.out.unwrap_or_else(|| {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        PathBuf::from(format!("runs/speaker-{secs}"))
    });
    let started = Instant::now();
    let summary = train(
        &cfg,
        &RunOptions {
            out,
            resume: args.resume,
        },
    )?;
    println!("run         {}", summary.run_dir.display());
    println!(
        "steps       {} ({} per epoch)",
        summary.steps, summary.steps_per_epoch
    );
    println!("loss        {}", cfg.loss.describe());
    match &summary.eval {
        Some(e) => {
            let m = &e.metrics;
            println!(
                "held out    {} speakers, {} utterances, {} target / {} non-target trials",
                e.speakers, e.utterances, m.n_target, m.n_nontarget
            );
            println!("EER         {:.2} %", 100.0 * m.eer);
            println!("minDCF      {:.4} (p_target 0.01)", m.min_dcf);
            for t in &m.tar_at_far {
                if t.far >= 1e-3 {
                    println!("TAR@FAR={:<6} {:.2} %", t.far, 100.0 * t.tar);
                }
            }
        }
        None => println!("held out    none (eval.held_out_speakers = 0)"),
    }
    println!(
        "time        {:.1} s ({:.1} s training)",
        started.elapsed().as_secs_f64(),
        summary.train_seconds
    );
    Ok(())
}
