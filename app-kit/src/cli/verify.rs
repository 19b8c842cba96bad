//! `verify A B`: the cosine score of two inputs and the decision at a threshold, either given
//! (`--threshold`) or the one training stored in the model for a FAR (`--far`, default 1e-3).
//! Same identity when `score >= threshold` (eval-kit's convention).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;

use crate::model::{LoadedModel, ModelArgs};
use crate::registry::Registry;

/// Arguments of `verify`; `X` are the app's embedding flags.
#[derive(Debug, Args)]
pub struct VerifyArgs<X: Args> {
    /// First input.
    pub a: PathBuf,
    /// Second input.
    pub b: PathBuf,
    /// Which model.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Decide at the threshold stored in the model's config.json for this false-accept rate.
    #[arg(long, default_value_t = 1e-3, conflicts_with = "threshold")]
    pub far: f64,
    /// Decide at this cosine threshold (same identity when score >= threshold; may be negative).
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f64>,
    /// The app's embedding flags.
    #[command(flatten)]
    pub embed: X,
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
    threshold_source: &'static str,
    same: bool,
    decision: &'static str,
    model: String,
}

/// How an app names the two decisions, e.g. `("same person", "different people")`.
pub type Decisions = (&'static str, &'static str);

/// Cosine similarity in f64 (0 when either vector is zero).
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

/// Runs `verify` for `app`: `embed` gives the embedding of one input with the loaded model.
pub fn run<M: ?Sized, X: Args>(
    args: &VerifyArgs<X>,
    app: &str,
    registry: &Registry<M>,
    decisions: Decisions,
    embed: impl Fn(&LoadedModel<M>, &Path, &X) -> Result<Vec<f32>>,
) -> Result<()> {
    if !(args.far > 0.0 && args.far <= 1.0) {
        bail!("--far {}: must be in (0, 1]", args.far);
    }
    if let Some(t) = args.threshold {
        if !t.is_finite() {
            bail!("--threshold {t}: must be a finite number");
        }
    }
    let model = args.model.load(app, registry)?;
    let (threshold, far, source) = match args.threshold {
        Some(t) => (t, None, "--threshold"),
        None => (
            model.threshold_for(args.far)?,
            Some(args.far),
            "config.json",
        ),
    };
    let ea = embed(&model, &args.a, &args.embed)?;
    let eb = embed(&model, &args.b, &args.embed)?;
    let score = cosine(&ea, &eb);
    let same = score >= threshold;
    let verdict = Verdict {
        a: args.a.display().to_string(),
        b: args.b.display().to_string(),
        score,
        threshold,
        far,
        threshold_source: source,
        same,
        decision: if same { decisions.0 } else { decisions.1 },
        model: model.origin.clone(),
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
