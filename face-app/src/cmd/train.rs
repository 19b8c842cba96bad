//! `face-app train`: app-kit's `train` command over [`FaceApp`].

use anyhow::Result;
use app_kit::cli::train::TrainArgs;
use clap::Args;
use face_app::train::FaceApp;

/// Arguments of `face-app train`.
#[derive(Debug, Args)]
#[command(after_help = "\
Without --config the embedded demo (face-app/configs/demo_synthetic.toml) runs: a small IResNet
on synthetic faces with Q-Margin, reported on held-out synthetic identities in about 2-3 minutes.
--data takes synthetic, orl (the AT&T/ORL faces), a RecordIO prefix or folder, an image folder
or an image list. The arcface_torch recipes ship as face-app/configs/ms1mv2_r100.toml and
webface4m_r100.toml.

Any config key can be overridden with --set, e.g. --set loss.m=0.35 --set train.epochs=2
--set eval.val_bins='[\"lfw.bin\"]'. The run directory gets config.toml, metrics.jsonl,
checkpoints/, model/ (a bundle for embed/verify/eval), report.json, roc.png and det.png.")]
pub struct TrainCmd {
    #[command(flatten)]
    args: TrainArgs,
}

/// Runs `face-app train`.
pub fn run(cmd: TrainCmd) -> Result<()> {
    app_kit::cli::train::run::<FaceApp>(&cmd.args, &[])
}
