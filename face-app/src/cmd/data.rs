//! `face-app data check PATH [--json]` and `face-app data pack FOLDER OUT_PREFIX`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use datasets::face::{check_path, pack_folder};

/// `face-app data ...`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Count identities and images of a RecordIO prefix/folder, an image folder
    /// (`root/<identity>/<image>`), an insightface validation `.bin` or `synthetic`, decoding
    /// every image. Unreadable images are counted and named, and the command still exits 0; it
    /// fails only when PATH cannot be read.
    Check {
        /// A RecordIO prefix or folder (`train.rec` + `train.idx`), an image folder, a `.bin`
        /// validation set (lfw.bin, ...), or `synthetic`.
        path: PathBuf,
        /// Print one JSON object: format, identities, images, unreadable, unreadable_examples.
        #[arg(long)]
        json: bool,
    },
    /// Pack an image folder (`<identity>/<image>`) into `OUT_PREFIX.rec`, `.idx` and `property`.
    Pack {
        /// The image folder.
        folder: PathBuf,
        /// Output prefix, e.g. `data/train` for `data/train.rec` and `data/train.idx`.
        out_prefix: PathBuf,
    },
}

/// Runs `face-app data`.
pub fn run(command: DataCommand) -> anyhow::Result<()> {
    match command {
        DataCommand::Check { path, json } => {
            let report = check_path(&path)?;
            if json {
                println!("{}", report.to_json());
            } else {
                println!("format      {}", report.format);
                println!("identities  {}", report.identities);
                println!("images      {}", report.images);
                println!("unreadable  {}", report.unreadable);
                for example in &report.unreadable_examples {
                    println!("  {example}");
                }
            }
            Ok(())
        }
        DataCommand::Pack { folder, out_prefix } => {
            let report = pack_folder(&folder, &out_prefix)
                .with_context(|| format!("packing {}", folder.display()))?;
            println!(
                "packed {} images of {} identities into {} ({} skipped)",
                report.images,
                report.identities,
                report.rec.display(),
                report.skipped
            );
            for example in &report.skipped_examples {
                println!("  skipped {example}");
            }
            Ok(())
        }
    }
}
