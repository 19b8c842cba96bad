//! `face-app embed INPUT... --out emb.safetensors`: images, folders and lists to an eval-kit
//! embedding store (L2-normalized, with flip test-time augmentation unless `--no-flip`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use app_kit::{Backbone, ModelArgs};
use candle_core::Device;
use clap::Args;
use datasets::face::decode_rgb;
use eval_kit::EmbeddingStore;
use face_app::embed::{embed_images, EmbedOptions};
use face_app::inputs::{expand_inputs, ImageEntry, SkippedItem};
use face_app::models::REGISTRY;
use image::RgbImage;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

/// Arguments of `face-app embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Image files, folders (searched recursively) or list files (`.txt` / `.lst`, one path per line).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Where relative paths in list files start (default: the list's folder).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Output embedding store (safetensors, eval-kit format).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Which model.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Batch size and flip TTA.
    #[command(flatten)]
    pub embed: EmbedFlags,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// How images are embedded, shared by the commands that embed.
#[derive(Debug, Clone, Copy, Args)]
pub struct EmbedFlags {
    /// Images per forward pass.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// Do not add the mirrored image's embedding (flip test-time augmentation is on by default).
    #[arg(long)]
    pub no_flip: bool,
}

impl EmbedFlags {
    /// The library options.
    pub fn options(&self) -> EmbedOptions {
        EmbedOptions {
            batch_size: self.batch_size as usize,
            flip_tta: !self.no_flip,
        }
    }
}

/// What `embed` did, as printed with `--json`.
#[derive(Debug, Serialize)]
struct EmbedSummary {
    out: String,
    model: String,
    embedded: usize,
    dim: usize,
    flip_tta: bool,
    skipped: usize,
    skipped_items: Vec<SkippedItem>,
}

/// A progress bar on stderr (drawn only on a terminal) counting `what`.
pub fn progress_bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    let template = format!(
        "{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {what} ({{per_sec}}, eta {{eta}})"
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Embeddings of `entries` in order, decoded `batch_size * 8` at a time; unreadable images are
/// left out and returned with the reason. Returns the keys, the row-major matrix and the skips.
pub fn embed_entries(
    model: &dyn Backbone,
    entries: &[ImageEntry],
    options: EmbedOptions,
    device: &Device,
    bar: &ProgressBar,
) -> Result<(Vec<String>, Vec<f32>, Vec<SkippedItem>)> {
    let mut keys = Vec::with_capacity(entries.len());
    let mut data = Vec::new();
    let mut skipped = Vec::new();
    for chunk in entries.chunks(options.batch_size.max(1) * 8) {
        let decoded: Vec<(usize, Result<RgbImage, String>)> = chunk
            .par_iter()
            .enumerate()
            .map(|(i, entry)| (i, read_image(&entry.path)))
            .collect();
        let mut images = Vec::with_capacity(chunk.len());
        for (i, result) in decoded {
            match result {
                Ok(image) => {
                    keys.push(chunk[i].key.clone());
                    images.push(image);
                }
                Err(reason) => skipped.push(SkippedItem {
                    path: chunk[i].path.display().to_string(),
                    reason,
                }),
            }
        }
        let base = bar.position();
        let emb = embed_images(model, &images, options, device, |done| {
            bar.set_position(base + done as u64);
        })
        .context("running the model")?;
        data.extend(emb);
        bar.set_position(base + chunk.len() as u64);
    }
    Ok((keys, data, skipped))
}

/// Reads and decodes one image file; the error says why it cannot be used.
pub fn read_image(path: &Path) -> Result<RgbImage, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    decode_rgb(&bytes, &path.display().to_string()).map_err(|e| e.to_string())
}

/// Runs `face-app embed`.
pub fn run(args: EmbedArgs) -> Result<()> {
    let expanded = expand_inputs(&args.inputs, args.root.as_deref())?;
    let resolved = args.model.load("face", &REGISTRY)?;
    let options = args.embed.options();
    let bar = progress_bar(expanded.images.len(), "images");
    let (keys, data, unreadable) = embed_entries(
        resolved.net.as_ref(),
        &expanded.images,
        options,
        &resolved.device,
        &bar,
    )?;
    bar.finish_and_clear();
    let mut skipped = expanded.skipped;
    skipped.extend(unreadable);
    for item in &skipped {
        eprintln!("skipped {}: {}", item.path, item.reason);
    }
    if keys.is_empty() {
        bail!(
            "no image could be embedded ({} skipped); nothing written to {}",
            skipped.len(),
            args.out.display()
        );
    }
    let dim = data.len() / keys.len();
    let embedded = keys.len();
    let store = EmbeddingStore::from_rows(keys, dim, data)?;
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    store.save(&args.out).map_err(anyhow::Error::from)?;
    let summary = EmbedSummary {
        out: args.out.display().to_string(),
        model: resolved.origin,
        embedded,
        dim,
        flip_tta: options.flip_tta,
        skipped: skipped.len(),
        skipped_items: skipped,
    };
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "embedded {} images ({}-d{}) into {}; {} skipped",
            summary.embedded,
            summary.dim,
            if summary.flip_tta { ", flip TTA" } else { "" },
            summary.out,
            summary.skipped
        );
    }
    Ok(())
}
