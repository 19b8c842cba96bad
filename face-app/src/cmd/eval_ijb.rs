//! `face-app eval-ijb --root IJB_release/IJBC --dataset IJBC`: IJB-B / IJB-C 1:1 verification as
//! insightface's `eval_ijbc.py`: every `loose_crop/` image is aligned to 112x112 with the five
//! landmarks of `meta/<prefix>_name_5pts_score.txt`, embedded with and without mirroring (raw,
//! unnormalized features stored as `[f(img) | f(flip(img))]`), then eval-kit's template scoring
//! (flip sum, norms kept, detector-score weighting, media mean, template sum) gives the TAR@FAR
//! table.
//!
//! An image that cannot be read gets a zero feature (it adds nothing to its template), is listed
//! on stderr and counted in the results; the run goes on.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use app_kit::{Backbone, ModelArgs};
use candle_core::{Device, Tensor};
use clap::{Args, ValueEnum};
use datasets::face::{align_face, image_to_chw, Landmarks};
use eval_kit::ijb::{ijb_scores, write_pair_scores, FlipMode, IjbConfig, IjbDataset, IjbPaths};
use eval_kit::plot::{plot_curve, CurveKind};
use eval_kit::{
    EmbeddingStore, FarRule, MappedEmbeddings, MetricsConfig, ScoreCurve, VerificationReport,
    DEFAULT_FARS,
};
use face_app::embed::flip_horizontal;
use face_app::inputs::SkippedItem;
use face_app::models::REGISTRY;
use rayon::prelude::*;
use serde::Serialize;

use super::embed::{progress_bar, read_image};
use super::eval::{tar_table, write_json};

/// IJB release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dataset {
    /// IJB-B (meta files `ijbb_*`).
    #[value(name = "IJBB")]
    IjbB,
    /// IJB-C (meta files `ijbc_*`).
    #[value(name = "IJBC")]
    IjbC,
}

/// Arguments of `face-app eval-ijb`.
#[derive(Debug, Args)]
pub struct EvalIjbArgs {
    /// IJB root holding `loose_crop/` and `meta/` (e.g. `IJB_release/IJBC`).
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// Which release (selects the meta file prefix).
    #[arg(long, value_enum, ignore_case = true, default_value = "IJBC")]
    pub dataset: Dataset,
    /// Which model.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Images per forward pass.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// Use only the original image's feature (insightface F1) instead of adding the mirror's.
    #[arg(long)]
    pub no_flip: bool,
    /// L2-normalize image features (insightface use_norm_score=False).
    #[arg(long)]
    pub no_norm_score: bool,
    /// Do not weight image features by the detector score.
    #[arg(long)]
    pub no_detector_score: bool,
    /// FARs of the TAR@FAR table, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_FARS)]
    pub far: Vec<f64>,
    /// Choose each TAR@FAR point as eval_ijbc.py does (nearest FAR on scikit-learn's ROC)
    /// instead of the largest TAR with FAR <= target.
    #[arg(long)]
    pub ijb_convention: bool,
    /// Keep the image features in this embedding store (default: a temporary file, removed).
    #[arg(long, value_name = "FILE")]
    pub features: Option<PathBuf>,
    /// Write the scored pairs (`<template_1> <template_2> <score> target|nontarget`) to FILE.
    #[arg(long, value_name = "FILE")]
    pub scores: Option<PathBuf>,
    /// Write the results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write a ROC curve (PNG or SVG) to FILE.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Print the JSON results on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One line of the landmark file.
struct FaceLine {
    name: String,
    landmarks: Landmarks,
}

/// Reads `<image> x1 y1 ... x5 y5 <score>` lines (the detector score is read by eval-kit).
fn read_landmarks(path: &Path) -> Result<Vec<FaceLine>> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut faces = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
        if tokens.is_empty() {
            continue;
        }
        if tokens.len() != 12 {
            bail!(
                "{} line {}: expected `<image> x1 y1 ... x5 y5 <score>` (12 fields), got {}",
                path.display(),
                i + 1,
                tokens.len()
            );
        }
        let mut coords = [0f32; 10];
        for (c, token) in coords.iter_mut().zip(&tokens[1..11]) {
            *c = token.parse().with_context(|| {
                format!(
                    "{} line {}: landmark {token:?} is not a number",
                    path.display(),
                    i + 1
                )
            })?;
        }
        let landmarks = std::array::from_fn(|k| [coords[2 * k], coords[2 * k + 1]]);
        faces.push(FaceLine {
            name: tokens[0].to_string(),
            landmarks,
        });
    }
    if faces.is_empty() {
        bail!("{}: no faces listed", path.display());
    }
    Ok(faces)
}

/// Raw features `(n, 2D)` (`[f(img) | f(flip(img))]`) or `(n, D)` without flip, row-major.
fn raw_features(model: &dyn Backbone, batch: &Tensor, flip: bool) -> Result<Vec<f32>> {
    let plain = model.forward_t(batch, false)?;
    let rows = if flip {
        let mirrored = model.forward_t(&flip_horizontal(batch)?, false)?;
        Tensor::cat(&[&plain, &mirrored], 1)?
    } else {
        plain
    };
    Ok(rows
        .to_dtype(candle_core::DType::F32)?
        .flatten_all()?
        .to_vec1()?)
}

/// Features of every listed face, in list order; unreadable images get zero rows.
fn embed_faces(
    model: &dyn Backbone,
    root: &Path,
    faces: &[FaceLine],
    args: &EvalIjbArgs,
    device: &Device,
) -> Result<(Vec<f32>, usize, Vec<SkippedItem>)> {
    let batch_size = args.batch_size as usize;
    let bar = progress_bar(faces.len(), "faces");
    let mut data = Vec::new();
    let mut width = 0;
    let mut skipped = Vec::new();
    for chunk in faces.chunks(batch_size) {
        let aligned: Vec<Result<Vec<f32>, String>> = chunk
            .par_iter()
            .map(|face| {
                let image = read_image(&root.join("loose_crop").join(&face.name))?;
                Ok(image_to_chw(&align_face(&image, &face.landmarks, 112), false).data)
            })
            .collect();
        let mut ok = Vec::with_capacity(chunk.len());
        let mut flat = Vec::new();
        for (face, result) in chunk.iter().zip(aligned) {
            match result {
                Ok(pixels) => {
                    flat.extend(pixels);
                    ok.push(true);
                }
                Err(reason) => {
                    skipped.push(SkippedItem {
                        path: root
                            .join("loose_crop")
                            .join(&face.name)
                            .display()
                            .to_string(),
                        reason,
                    });
                    ok.push(false);
                }
            }
        }
        let n_ok = ok.iter().filter(|&&k| k).count();
        let rows = if n_ok > 0 {
            let batch = Tensor::from_vec(flat, (n_ok, 3, 112, 112), device)?;
            raw_features(model, &batch, !args.no_flip).context("running the model")?
        } else {
            Vec::new()
        };
        if width == 0 && n_ok > 0 {
            width = rows.len() / n_ok;
        }
        if width == 0 {
            let dim = model.embedding_dim();
            width = if args.no_flip { dim } else { 2 * dim };
        }
        let mut k = 0;
        for good in ok {
            if good {
                data.extend_from_slice(&rows[k * width..(k + 1) * width]);
                k += 1;
            } else {
                data.extend(std::iter::repeat_n(0f32, width));
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok((data, width, skipped))
}

/// Everything `eval-ijb` reports.
#[derive(Debug, Serialize)]
struct IjbResults {
    dataset: &'static str,
    root: String,
    model: String,
    images: usize,
    unreadable: usize,
    unreadable_items: Vec<SkippedItem>,
    pairs: usize,
    flip: bool,
    norm_score: bool,
    detector_score: bool,
    far_rule: FarRule,
    metrics: VerificationReport,
    plot: Option<String>,
    scores: Option<String>,
}

/// Removes a temporary feature file when dropped.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Runs `face-app eval-ijb`.
pub fn run(args: EvalIjbArgs) -> Result<()> {
    let (dataset, name) = match args.dataset {
        Dataset::IjbB => (IjbDataset::IjbB, "IJBB"),
        Dataset::IjbC => (IjbDataset::IjbC, "IJBC"),
    };
    eval_kit::far::check_fars(&args.far)?;
    let paths = IjbPaths::under(&args.root, dataset);
    for file in [
        &paths.face_tid_mid,
        &paths.template_pair_label,
        &paths.name_5pts_score,
    ] {
        if !file.is_file() {
            bail!(
                "{}: no such file (an {name} root holds meta/ and loose_crop/)",
                file.display()
            );
        }
    }
    let faces = read_landmarks(&paths.name_5pts_score)?;
    let resolved = args.model.load("face", &REGISTRY)?;
    let (data, width, skipped) = embed_faces(
        resolved.net.as_ref(),
        &args.root,
        &faces,
        &args,
        &resolved.device,
    )?;
    for item in &skipped {
        eprintln!("unreadable {}: {}", item.path, item.reason);
    }
    let keys: Vec<String> = faces.iter().map(|f| f.name.clone()).collect();
    let store = EmbeddingStore::from_rows(keys, width, data)?;
    let (features_path, _cleanup) = match &args.features {
        Some(path) => (path.clone(), TempFile(None)),
        None => {
            let path = std::env::temp_dir().join(format!(
                "face-app-ijb-{}-{}.safetensors",
                std::process::id(),
                name.to_ascii_lowercase()
            ));
            (path.clone(), TempFile(Some(path)))
        }
    };
    store
        .save(&features_path)
        .with_context(|| format!("writing features {}", features_path.display()))?;
    drop(store);
    let features = MappedEmbeddings::open(&features_path)
        .with_context(|| format!("reading features {}", features_path.display()))?;
    let config = IjbConfig {
        flip: if args.no_flip {
            FlipMode::AsIs
        } else {
            FlipMode::Sum
        },
        keep_norm: !args.no_norm_score,
        detector_score: !args.no_detector_score,
    };
    let trials = ijb_scores(&paths, &features, &config)?;
    drop(features);
    if let Some(path) = &args.scores {
        write_pair_scores(path, &paths.template_pair_label, &trials)?;
    }
    let curve = ScoreCurve::new(&trials.scores, &trials.is_target)?;
    let metrics_config = MetricsConfig {
        fars: args.far.clone(),
        far_rule: if args.ijb_convention {
            FarRule::Nearest
        } else {
            FarRule::AtMost
        },
        ..MetricsConfig::default()
    };
    let metrics = VerificationReport::new(&curve, &metrics_config)?;
    if let Some(path) = &args.plot {
        plot_curve(
            path,
            &curve,
            &metrics,
            &metrics_config,
            CurveKind::Roc,
            &format!("ROC {name}"),
        )
        .with_context(|| format!("plotting {}", path.display()))?;
    }
    let results = IjbResults {
        dataset: name,
        root: args.root.display().to_string(),
        model: resolved.origin,
        images: faces.len(),
        unreadable: skipped.len(),
        unreadable_items: skipped,
        pairs: trials.scores.len(),
        flip: !args.no_flip,
        norm_score: !args.no_norm_score,
        detector_score: !args.no_detector_score,
        far_rule: metrics_config.far_rule,
        metrics,
        plot: args.plot.as_ref().map(|p| p.display().to_string()),
        scores: args.scores.as_ref().map(|p| p.display().to_string()),
    };
    if let Some(out) = &args.out {
        write_json(out, &results)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&results)?);
        return Ok(());
    }
    println!(
        "{name}: {} images ({} unreadable), {} pairs ({} genuine, {} impostor)",
        results.images,
        results.unreadable,
        results.pairs,
        results.metrics.n_target,
        results.metrics.n_nontarget
    );
    println!(
        "EER {:.3}%  (threshold {:.5})",
        100.0 * results.metrics.eer,
        results.metrics.eer_threshold
    );
    print!("{}", tar_table(&results.metrics));
    Ok(())
}
