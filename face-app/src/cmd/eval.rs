//! `face-app eval --bin lfw.bin [--bin cfp_fp.bin ...]`: insightface's validation protocol on
//! `.bin` pair sets: embed every image with flip TTA, 10-fold accuracy on the squared L2
//! distances (eval-kit `ten_fold_accuracy`), and EER / TAR@FAR of the cosine pair scores.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use app_kit::ModelArgs;
use clap::Args;
use datasets::face::ValidationBin;
use eval_kit::pairs::{ten_fold_accuracy, TenFoldConfig, TenFoldResult};
use eval_kit::plot::{plot_curve, CurveKind};
use eval_kit::{MetricsConfig, ScoreCurve, VerificationReport};
use face_app::models::REGISTRY;
use face_app::valbin::{embed_bin, pair_distances, set_name};
use serde::Serialize;

use super::embed::{progress_bar, EmbedFlags};

/// Arguments of `face-app eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// An insightface validation set (lfw.bin, cfp_fp.bin, agedb_30.bin, ...); repeat for several.
    #[arg(long = "bin", value_name = "FILE", required = true)]
    pub bins: Vec<PathBuf>,
    /// Which model.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Batch size and flip TTA.
    #[command(flatten)]
    pub embed: EmbedFlags,
    /// FARs of the TAR@FAR columns, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1e-4, 1e-3, 1e-2, 1e-1])]
    pub far: Vec<f64>,
    /// Write all results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write a ROC curve (PNG or SVG) to FILE; with several sets, FILE_<set>.png per set.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Print the JSON results on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Results of one `.bin` set.
#[derive(Debug, Serialize)]
pub struct SetResult {
    /// File stem, e.g. `lfw`.
    pub name: String,
    /// The `.bin` file.
    pub path: String,
    /// Number of pairs.
    pub pairs: usize,
    /// insightface's 10-fold accuracy.
    pub ten_fold: TenFoldResult,
    /// EER, minDCF and TAR@FAR of the cosine scores (`1 - d / 2`).
    pub metrics: VerificationReport,
    /// The ROC written for this set, if any.
    pub plot: Option<String>,
}

/// Everything `eval` reports.
#[derive(Debug, Serialize)]
struct EvalResults {
    model: String,
    flip_tta: bool,
    sets: Vec<SetResult>,
}

/// Squared L2 distances between the halves of each pair of L2-normalized embeddings
/// (`emb[2i]`, `emb[2i + 1]`).
/// Where the ROC of set `name` goes: `plot` itself for one set, else `<stem>_<name>.<ext>`.
fn plot_path(plot: &Path, name: &str, several: bool) -> PathBuf {
    if !several {
        return plot.to_path_buf();
    }
    let stem = plot
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = plot
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    plot.with_file_name(format!("{stem}_{name}{ext}"))
}

/// Formats a TAR@FAR table.
pub fn tar_table(report: &VerificationReport) -> String {
    let mut s = String::from("      FAR        TAR   threshold\n");
    for row in &report.tar_at_far {
        s += &format!(
            "  {:>7.0e}  {:>8.4}%  {:>10.5}\n",
            row.far,
            100.0 * row.tar,
            row.threshold
        );
    }
    s
}

/// Writes `value` as pretty JSON to `path`, creating its folder.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, serde_json::to_string_pretty(value)? + "\n")
        .with_context(|| format!("writing {}", path.display()))
}

/// Runs `face-app eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let metrics_config = MetricsConfig {
        fars: args.far.clone(),
        ..MetricsConfig::default()
    };
    eval_kit::far::check_fars(&args.far)?;
    let sets = args
        .bins
        .iter()
        .map(|p| ValidationBin::open(p).map_err(anyhow::Error::from))
        .collect::<Result<Vec<_>>>()?;
    let resolved = args.model.load("face", &REGISTRY)?;
    let options = args.embed.options();
    let mut results = Vec::new();
    for set in &sets {
        let path = set.path();
        let name = set_name(path);
        let bar = progress_bar(set.num_images(), &format!("{name} images"));
        let emb = embed_bin(
            resolved.net.as_ref(),
            set,
            options,
            &resolved.device,
            |done| {
                bar.set_position(done as u64);
            },
        )?;
        bar.finish_and_clear();
        let dim = emb.len() / set.num_images().max(1);
        let distances = pair_distances(&emb, dim);
        let ten_fold = ten_fold_accuracy(&distances, set.issame(), &TenFoldConfig::default())
            .with_context(|| format!("10-fold accuracy of {}", path.display()))?;
        let scores: Vec<f64> = distances.iter().map(|d| 1.0 - d / 2.0).collect();
        let curve = ScoreCurve::new(&scores, set.issame())
            .with_context(|| format!("scoring {}", path.display()))?;
        let metrics = VerificationReport::new(&curve, &metrics_config)?;
        let plot = match &args.plot {
            Some(plot) => {
                let file = plot_path(plot, &name, sets.len() > 1);
                plot_curve(
                    &file,
                    &curve,
                    &metrics,
                    &metrics_config,
                    CurveKind::Roc,
                    &format!("ROC {name}"),
                )
                .with_context(|| format!("plotting {}", file.display()))?;
                Some(file.display().to_string())
            }
            None => None,
        };
        results.push(SetResult {
            name,
            path: path.display().to_string(),
            pairs: set.num_pairs(),
            ten_fold,
            metrics,
            plot,
        });
    }
    if results.is_empty() {
        bail!("no .bin set given");
    }
    let results = EvalResults {
        model: resolved.origin,
        flip_tta: options.flip_tta,
        sets: results,
    };
    if let Some(out) = &args.out {
        write_json(out, &results)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&results)?);
        return Ok(());
    }
    let mut header = format!(
        "{:<14} {:>6}  {:>17}  {:>7}",
        "set", "pairs", "accuracy", "EER"
    );
    for far in &args.far {
        header += &format!("  {:>9}", format!("TAR@{far:.0e}"));
    }
    println!("{header}");
    for set in &results.sets {
        let mut line = format!(
            "{:<14} {:>6}  {:>7.2}% ± {:>5.2}%  {:>6.2}%",
            set.name,
            set.pairs,
            100.0 * set.ten_fold.accuracy_mean,
            100.0 * set.ten_fold.accuracy_std,
            100.0 * set.metrics.eer
        );
        for row in &set.metrics.tar_at_far {
            line += &format!("  {:>8.2}%", 100.0 * row.tar);
        }
        println!("{line}");
    }
    Ok(())
}
