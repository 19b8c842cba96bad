//! `speaker-app verify A B`: are two recordings the same speaker? Cosine score of their raw
//! whole-utterance embeddings against a threshold, accepted when `score >= threshold`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use speaker_app::embed::{embed_file, eval_fbank};
use speaker_app::model_source::ModelArgs;

/// Arguments of `speaker-app verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// First recording.
    pub a: PathBuf,
    /// Second recording.
    pub b: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Use the bundle's threshold for this false-accept rate (config.json "thresholds").
    #[arg(long, default_value_t = 1e-2, conflicts_with = "threshold")]
    pub far: f64,
    /// Accept when the cosine score is at least this (instead of a bundle threshold).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Verdict {
    a: String,
    b: String,
    score: f64,
    threshold: f64,
    far: Option<f64>,
    same_speaker: bool,
}

/// The threshold stored for `far` in a bundle's `config.json` extra fields
/// (`"thresholds": [{"far": 1e-3, "threshold": t}, ...]`); FARs match to a relative 1e-6.
pub fn bundle_threshold(extra: &serde_json::Value, far: f64, origin: &str) -> anyhow::Result<f64> {
    let Some(list) = extra.get("thresholds").and_then(|t| t.as_array()) else {
        anyhow::bail!("model {origin} has no \"thresholds\" in its config.json; pass --threshold T")
    };
    let mut available = Vec::new();
    for entry in list {
        let (Some(f), Some(t)) = (
            entry.get("far").and_then(|v| v.as_f64()),
            entry.get("threshold").and_then(|v| v.as_f64()),
        ) else {
            anyhow::bail!("model {origin}: bad \"thresholds\" entry {entry}; expected {{\"far\": F, \"threshold\": T}}")
        };
        if (f - far).abs() <= 1e-6 * far.abs().max(f64::MIN_POSITIVE) {
            return Ok(t);
        }
        available.push(format!("{f:e}"));
    }
    anyhow::bail!(
        "model {origin} has no threshold for FAR {far:e} (it has: {}); pass --far with one of them or --threshold T",
        if available.is_empty() { "none".to_string() } else { available.join(", ") }
    )
}

/// Cosine similarity in f64.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Runs `speaker-app verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let loaded = args.model.load()?;
    let (threshold, far) = match args.threshold {
        Some(t) => (t, None),
        None => (
            bundle_threshold(&loaded.extra, args.far, &loaded.origin)?,
            Some(args.far),
        ),
    };
    let fbank = eval_fbank(loaded.model.config())?;
    let embed = |p: &PathBuf| {
        embed_file(&loaded.model, &fbank, p, &loaded.device)
            .with_context(|| format!("embedding {}", p.display()))
    };
    let ea = embed(&args.a)?;
    let eb = embed(&args.b)?;
    let score = cosine(&ea, &eb);
    let verdict = Verdict {
        a: args.a.display().to_string(),
        b: args.b.display().to_string(),
        score,
        threshold,
        far,
        same_speaker: score >= threshold,
    };
    if args.json {
        println!("{}", serde_json::to_string(&verdict)?);
    } else {
        println!("score      {:.5}", verdict.score);
        match far {
            Some(f) => println!("threshold  {threshold:.5}  (FAR {f:e})"),
            None => println!("threshold  {threshold:.5}"),
        }
        println!(
            "decision   {}",
            if verdict.same_speaker {
                "same speaker"
            } else {
                "different speakers"
            }
        );
    }
    Ok(())
}
