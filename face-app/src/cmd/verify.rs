//! `face-app verify A B`: the cosine score of two face images and the decision at a threshold,
//! either given (`--threshold`) or the one the trainer stored for a FAR (`--far`, default 1e-3).
//!
//! The trainer writes `"thresholds": [{"far": 1e-4, "threshold": t}, ...]` into the model's
//! `config.json`; a pair is "same person" when `score >= threshold` (eval-kit's convention).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use face_app::embed::embed_images;
use face_app::model_source::{default_device, ModelArgs};
use serde::Serialize;

use super::embed::{read_image, EmbedFlags};

/// Arguments of `face-app verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// First face image (aligned 112x112; other sizes are resized).
    pub a: PathBuf,
    /// Second face image.
    pub b: PathBuf,
    /// Which model.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Decide at the threshold stored in the model's config.json for this false accept rate.
    #[arg(long, default_value_t = 1e-3, conflicts_with = "threshold")]
    pub far: f64,
    /// Decide at this cosine threshold (same person when score >= threshold; may be negative).
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f64>,
    /// Batch size and flip TTA.
    #[command(flatten)]
    pub embed: EmbedFlags,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The result, as printed with `--json`.
#[derive(Debug, Serialize)]
struct Verdict {
    a: String,
    b: String,
    score: f64,
    threshold: f64,
    /// The FAR the threshold was chosen for (absent with `--threshold`).
    far: Option<f64>,
    /// `config.json` or `--threshold`.
    threshold_source: String,
    same_person: bool,
    decision: &'static str,
    model: String,
}

/// The stored threshold for `far` from the `thresholds` field of a bundle's config.json.
pub fn stored_threshold(
    extra: &serde_json::Map<String, serde_json::Value>,
    far: f64,
    origin: &str,
) -> Result<f64> {
    let Some(list) = extra.get("thresholds") else {
        bail!(
            "the model ({origin}) has no `thresholds` in its config.json; give --threshold T \
             (same person when cosine >= T)"
        );
    };
    let entries = list.as_array().with_context(|| {
        format!("the model's ({origin}) `thresholds` is not a list of {{far, threshold}}")
    })?;
    let mut available = Vec::new();
    for entry in entries {
        let (Some(f), Some(t)) = (
            entry.get("far").and_then(serde_json::Value::as_f64),
            entry.get("threshold").and_then(serde_json::Value::as_f64),
        ) else {
            bail!("the model's ({origin}) `thresholds` has an entry without numeric far and threshold: {entry}");
        };
        if (f - far).abs() <= 1e-9 * far.abs().max(f.abs()) {
            return Ok(t);
        }
        available.push(f);
    }
    let list: Vec<String> = available.iter().map(|f| format!("{f:e}")).collect();
    bail!(
        "the model ({origin}) stores no threshold for FAR {far:e} (it has: {}); choose one \
         with --far or give --threshold",
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    )
}

/// Runs `face-app verify`.
pub fn run(args: VerifyArgs) -> Result<()> {
    if !(args.far > 0.0 && args.far <= 1.0) {
        bail!("--far {} must be in (0, 1]", args.far);
    }
    let device = default_device()?;
    let resolved = args.model.load(&device)?;
    let (threshold, far, source) = match args.threshold {
        Some(t) => (t, None, "--threshold".to_string()),
        None => (
            stored_threshold(&resolved.extra, args.far, &resolved.origin)?,
            Some(args.far),
            "config.json".to_string(),
        ),
    };
    let images = [&args.a, &args.b]
        .into_iter()
        .map(|p| read_image(p).map_err(|reason| anyhow::anyhow!("{}: {reason}", p.display())))
        .collect::<Result<Vec<_>>>()?;
    let emb = embed_images(
        &resolved.model,
        &images,
        args.embed.options(),
        &device,
        |_| {},
    )
    .context("running the model")?;
    let dim = emb.len() / 2;
    let score: f64 = emb[..dim]
        .iter()
        .zip(&emb[dim..])
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let same = score >= threshold;
    let verdict = Verdict {
        a: args.a.display().to_string(),
        b: args.b.display().to_string(),
        score,
        threshold,
        far,
        threshold_source: source,
        same_person: same,
        decision: if same {
            "same person"
        } else {
            "different people"
        },
        model: resolved.origin,
    };
    if args.json {
        println!("{}", serde_json::to_string(&verdict)?);
    } else {
        println!("score      {:.6}", verdict.score);
        match verdict.far {
            Some(f) => println!(
                "threshold  {:.6}  (FAR {f:e}, from config.json)",
                verdict.threshold
            ),
            None => println!("threshold  {:.6}  (--threshold)", verdict.threshold),
        }
        println!("decision   {}", verdict.decision);
    }
    Ok(())
}
