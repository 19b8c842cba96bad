//! `speaker-app eval --trials FILE... --embeddings STORE`: VoxCeleb-style speaker verification
//! evaluation as wespeaker's recipe does it: cosine scores after mean subtraction, rounded to 5
//! decimals, optional AS-norm against a cohort (top-N 300), then EER, minDCF(p = 0.01,
//! c_miss = c_fa = 1) and TAR@FAR per trial list, a table, JSON and DET plots.
//!
//! Mean subtraction uses the mean of `--mean-from STORE` (wespeaker: all VoxCeleb2-dev
//! embeddings); without it, the mean of the evaluation embeddings themselves (a fallback that
//! needs no training data); `--no-mean` turns it off.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use app_kit::ModelArgs;
use clap::Args;
use eval_kit::plot::{plot_curve, CurveKind};
use eval_kit::scoring::{as_norm, cosine_scores, round_scores, AsNormConfig};
use eval_kit::trials::{for_each_line, read_trials, write_score_file, Trial};
use eval_kit::{DcfParams, EmbeddingStore, FarRule, MetricsConfig, ScoreCurve, VerificationReport};
use serde::Serialize;
use speaker_app::inputs::Utterance;
use speaker_app::models::REGISTRY;

use crate::cmd::embed::{embed_utterances, report_skipped, save_store};

/// Arguments of `speaker-app eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Trial list (repeatable): `1 id1/vid/utt.wav id2/vid/utt.wav` (VoxCeleb) or
    /// `enroll test target|nontarget` (wespeaker / Kaldi).
    #[arg(long = "trials", value_name = "FILE", required = true)]
    pub trials: Vec<PathBuf>,
    /// Embedding store holding every key of the trial lists.
    #[arg(long, value_name = "STORE", required_unless_present = "wav_root")]
    pub embeddings: Option<PathBuf>,
    /// Embed the trial lists' utterances first, from WAV_ROOT/<key> (needs a model).
    #[arg(long, value_name = "DIR", conflicts_with = "embeddings")]
    pub wav_root: Option<PathBuf>,
    /// With --wav-root: also save the embeddings as a store.
    #[arg(long, value_name = "STORE", requires = "wav_root")]
    pub save_embeddings: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Subtract the mean of this store (default: the mean of the evaluation embeddings).
    #[arg(long, value_name = "STORE", conflicts_with = "no_mean")]
    pub mean_from: Option<PathBuf>,
    /// No mean subtraction.
    #[arg(long)]
    pub no_mean: bool,
    /// AS-norm with this cohort store (wespeaker: one mean embedding per VoxCeleb2-dev speaker).
    #[arg(long, value_name = "STORE")]
    pub cohort: Option<PathBuf>,
    /// AS-norm: number of best cohort scores per side.
    #[arg(long, default_value_t = 300)]
    pub top_n: usize,
    /// Scores are rounded to this many decimals before AS-norm and metrics (wespeaker: 5).
    #[arg(long, default_value_t = 5)]
    pub decimals: usize,
    /// False-accept rates of the TAR@FAR columns (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1e-3, 1e-2, 1e-1])]
    pub far: Vec<f64>,
    /// minDCF target prior (c_miss = c_fa = 1).
    #[arg(long, default_value_t = 0.01)]
    pub p_target: f64,
    /// Write every result as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// DET plot (PNG or SVG) of the final scores; with several trial lists, the list's name is
    /// added before the extension.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Write wespeaker score files `<name>.score` (`enroll test score target|nontarget`) here.
    #[arg(long, value_name = "DIR")]
    pub scores_dir: Option<PathBuf>,
    /// Print the JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// A labelled trial list with the line number of each trial.
struct TrialList {
    path: PathBuf,
    name: String,
    trials: Vec<Trial>,
    lines: Vec<usize>,
    labels: Vec<bool>,
}

#[derive(Debug, Serialize)]
struct ListResult {
    trials: String,
    name: String,
    n_trials: usize,
    cosine: VerificationReport,
    as_norm: Option<VerificationReport>,
}

#[derive(Debug, Serialize)]
struct EvalResults {
    embeddings: String,
    mean: String,
    cohort: Option<String>,
    top_n: Option<usize>,
    decimals: usize,
    lists: Vec<ListResult>,
}

/// Reads a trial list and checks that every trial is labelled (errors name the file and line).
fn read_list(path: &Path) -> anyhow::Result<TrialList> {
    let trials = read_trials(path)?;
    let mut lines = Vec::with_capacity(trials.len());
    for_each_line(path, |n, _| {
        lines.push(n);
        Ok(())
    })?;
    let mut labels = Vec::with_capacity(trials.len());
    for (trial, line) in trials.iter().zip(&lines) {
        match trial.is_target {
            Some(l) => labels.push(l),
            None => anyhow::bail!(
                "{}:{line}: trial has no label (expected `<1|0> <enroll> <test>` or `<enroll> <test> <target|nontarget>`)",
                path.display()
            ),
        }
    }
    if trials.is_empty() {
        anyhow::bail!("{}: no trials", path.display())
    }
    let name = path.file_stem().map_or_else(
        || "trials".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    Ok(TrialList {
        path: path.to_path_buf(),
        name,
        trials,
        lines,
        labels,
    })
}

/// Errors at the first trial whose key has no embedding, naming the file, line and key.
fn check_keys(list: &TrialList, store: &EmbeddingStore) -> anyhow::Result<()> {
    let mut missing: HashSet<&str> = HashSet::new();
    let mut first: Option<(usize, &str)> = None;
    for (trial, &line) in list.trials.iter().zip(&list.lines) {
        for key in [&trial.enroll, &trial.test] {
            if store.index_of(key).is_none() {
                first.get_or_insert((line, key));
                missing.insert(key);
            }
        }
    }
    match first {
        None => Ok(()),
        Some((line, key)) => anyhow::bail!(
            "{}:{line}: no embedding for key {key:?} ({} key(s) of this list have none)",
            list.path.display(),
            missing.len()
        ),
    }
}

fn load_store(path: &Path) -> anyhow::Result<EmbeddingStore> {
    EmbeddingStore::load(path).with_context(|| format!("reading embeddings {}", path.display()))
}

/// The evaluation embeddings: a store, or the trial utterances embedded from `--wav-root`.
fn evaluation_store(
    args: &EvalArgs,
    lists: &[TrialList],
) -> anyhow::Result<(EmbeddingStore, String)> {
    if let Some(path) = &args.embeddings {
        return Ok((load_store(path)?, path.display().to_string()));
    }
    let root = args
        .wav_root
        .as_ref()
        .context("give --embeddings or --wav-root")?;
    if !args.model.is_given() {
        anyhow::bail!(
            "--wav-root needs a model: --model DIR, --hub OWNER/NAME or --pth FILE --backbone NAME"
        )
    }
    let mut seen = HashSet::new();
    let mut utts = Vec::new();
    for list in lists {
        for trial in &list.trials {
            for key in [&trial.enroll, &trial.test] {
                if seen.insert(key.clone()) {
                    utts.push(Utterance {
                        key: key.clone(),
                        path: root.join(key),
                    });
                }
            }
        }
    }
    let loaded = args.model.load("speaker", &REGISTRY)?;
    let (store, skipped) = embed_utterances(&loaded, &utts)?;
    report_skipped(&skipped);
    if !skipped.is_empty() {
        anyhow::bail!(
            "{} of {} trial utterances could not be embedded (first: {}); every trial needs both embeddings",
            skipped.len(),
            utts.len(),
            skipped[0].path
        )
    }
    if let Some(path) = &args.save_embeddings {
        save_store(&store, path)?;
    }
    Ok((
        store,
        format!("{} embedded with {}", root.display(), loaded.origin),
    ))
}

/// `path` with `-name` added before its extension.
fn with_name(path: &Path, name: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let file = match path.extension() {
        Some(ext) => format!("{stem}-{name}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{name}"),
    };
    path.with_file_name(file)
}

/// Runs `speaker-app eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let lists = args
        .trials
        .iter()
        .map(|p| read_list(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (store, store_origin) = evaluation_store(&args, &lists)?;
    for list in &lists {
        check_keys(list, &store)?;
    }
    let (mean, mean_origin) = if args.no_mean {
        (None, "none".to_string())
    } else if let Some(path) = &args.mean_from {
        let m = load_store(path)?;
        if m.is_empty() {
            anyhow::bail!("{}: the mean store is empty", path.display())
        }
        (Some(m.mean()), path.display().to_string())
    } else {
        (Some(store.mean()), "evaluation embeddings".to_string())
    };
    let cohort = args.cohort.as_deref().map(load_store).transpose()?;
    let metrics = MetricsConfig {
        dcf: DcfParams {
            p_target: args.p_target,
            c_miss: 1.0,
            c_fa: 1.0,
        },
        fars: args.far.clone(),
        far_rule: FarRule::AtMost,
    };
    if let Some(dir) = &args.scores_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut results = Vec::new();
    for list in &lists {
        let context = || format!("scoring {}", list.path.display());
        let mut scores =
            cosine_scores(&list.trials, &store, mean.as_deref()).with_context(context)?;
        round_scores(&mut scores, args.decimals);
        let cosine = VerificationReport::from_scores(&scores, &list.labels, &metrics)
            .with_context(context)?;
        let as_norm_report = match &cohort {
            Some(c) => {
                let config = AsNormConfig { top_n: args.top_n };
                scores = as_norm(&list.trials, &store, &scores, c, mean.as_deref(), config)
                    .with_context(context)?;
                round_scores(&mut scores, args.decimals);
                Some(
                    VerificationReport::from_scores(&scores, &list.labels, &metrics)
                        .with_context(context)?,
                )
            }
            None => None,
        };
        if let Some(dir) = &args.scores_dir {
            let path = dir.join(format!("{}.score", list.name));
            write_score_file(&path, &list.trials, &scores, args.decimals)?;
        }
        if let Some(plot) = &args.plot {
            let path = if lists.len() == 1 {
                plot.clone()
            } else {
                with_name(plot, &list.name)
            };
            let curve = ScoreCurve::new(&scores, &list.labels)?;
            let report = as_norm_report.as_ref().unwrap_or(&cosine);
            let title = format!(
                "{} ({})",
                list.name,
                if cohort.is_some() {
                    "AS-norm"
                } else {
                    "cosine"
                }
            );
            plot_curve(&path, &curve, report, &metrics, CurveKind::Det, &title)
                .with_context(|| format!("plotting {}", path.display()))?;
        }
        results.push(ListResult {
            trials: list.path.display().to_string(),
            name: list.name.clone(),
            n_trials: list.trials.len(),
            cosine,
            as_norm: as_norm_report,
        });
    }
    let results = EvalResults {
        embeddings: store_origin,
        mean: mean_origin,
        cohort: args.cohort.as_ref().map(|p| p.display().to_string()),
        top_n: args.cohort.as_ref().map(|_| args.top_n),
        decimals: args.decimals,
        lists: results,
    };
    if let Some(path) = &args.out {
        let text = serde_json::to_string_pretty(&results)? + "\n";
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&results)?);
    } else {
        print!("{}", table(&results, &args.far));
    }
    Ok(())
}

/// The results as a text table, one row per trial list and scoring.
fn table(results: &EvalResults, fars: &[f64]) -> String {
    let mut s = format!(
        "embeddings: {}\nmean subtraction: {}\n",
        results.embeddings, results.mean
    );
    if let (Some(c), Some(n)) = (&results.cohort, results.top_n) {
        s += &format!("AS-norm: cohort {c}, top {n}\n");
    }
    let name_width = results
        .lists
        .iter()
        .map(|l| l.name.len())
        .max()
        .unwrap_or(0)
        .max("trials".len());
    s += &format!(
        "{:<name_width$}  {:<7}  {:>8}  {:>8}  {:>8}  {:>8}",
        "trials", "scoring", "targets", "nontgts", "EER%", "minDCF"
    );
    for far in fars {
        let header = format!("TAR@{far:.0e}");
        s += &format!("  {header:>11}");
    }
    s.push('\n');
    for list in &results.lists {
        let rows = std::iter::once(("cosine", &list.cosine))
            .chain(list.as_norm.as_ref().map(|r| ("as-norm", r)));
        for (scoring, r) in rows {
            s += &format!(
                "{:<name_width$}  {:<7}  {:>8}  {:>8}  {:>8.3}  {:>8.4}",
                list.name,
                scoring,
                r.n_target,
                r.n_nontarget,
                100.0 * r.eer,
                r.min_dcf
            );
            for row in &r.tar_at_far {
                s += &format!("  {:>10.2}%", 100.0 * row.tar);
            }
            s.push('\n');
        }
    }
    s
}
