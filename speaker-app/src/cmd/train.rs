//! `speaker-app train`: app-kit's `train` command over [`SpeakerApp`], plus `--musan` / `--rir`.

use std::path::PathBuf;

use anyhow::Result;
use app_kit::cli::train::TrainArgs;
use clap::Args;
use speaker_app::train::SpeakerApp;

/// Arguments of `speaker-app train`.
#[derive(Debug, Args)]
#[command(after_help = "\
Without --config the built-in demo (speaker-app/configs/demo_synthetic.toml) runs: a small ResNet
on synthetic voices with Q-Margin, then EER and minDCF on held-out voices. --data takes
synthetic, debian (the Debian voice packages), a VoxCeleb folder, a wespeaker raw list or a Kaldi
data dir; speaker-app/configs/voxceleb2_resnet34.toml is wespeaker's ResNet34 recipe.

Any config key can be overridden with --set, e.g. --set loss.m=0.3 --set data.speed_perturb=false
--set train.epochs=10. The run directory gets config.toml, metrics.jsonl, checkpoints/, model/
(a bundle for embed/verify/eval), report.json, roc.png and det.png.")]
pub struct TrainCmd {
    #[command(flatten)]
    args: TrainArgs,
    /// MUSAN folder (music/ noise/ speech/) for additive noise (sets data.musan).
    #[arg(long, value_name = "DIR")]
    musan: Option<PathBuf>,
    /// Folder of room impulse responses for reverberation (sets data.rir).
    #[arg(long, value_name = "DIR")]
    rir: Option<PathBuf>,
}

/// Runs `speaker-app train`.
pub fn run(cmd: TrainCmd) -> Result<()> {
    let mut extra = Vec::new();
    if let Some(dir) = &cmd.musan {
        extra.push(format!("data.musan={:?}", dir.display().to_string()));
    }
    if let Some(dir) = &cmd.rir {
        extra.push(format!("data.rir={:?}", dir.display().to_string()));
    }
    app_kit::cli::train::run::<SpeakerApp>(&cmd.args, &extra)
}
