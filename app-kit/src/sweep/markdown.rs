//! The write-up of a sweep: `sweep.json` (every number), overlaid ROC and DET plots per
//! protocol, and this app's section of a markdown file (`RESULTS.md`), replaced between its
//! markers so both apps' sweeps share one file. Never edited by hand: rerun the command.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use eval_kit::plot::{plot_overlay, CurveKind};
use serde_json::json;

use super::analysis::{Difference, ProtocolResult, Summary};
use super::spec::SweepSpec;
use super::SweepOptions;
use crate::app::TrainApp;

/// How long the sweep took in this invocation.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Wall time of the whole command.
    pub sweep_seconds: f64,
    /// Runs trained now (the others were done earlier).
    pub trained_runs: usize,
    /// Wall time of those runs.
    pub train_seconds: f64,
}

/// The machine, as one line: CPU model, logical cores, memory.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "? GiB".into());
    format!("{cpu}, {cores} logical cores, {mem} RAM")
}

/// The machine's timing noise as the sweep saw it: the spread over seeds of the training time
/// of one variant (same recipe, same work), averaged over variants.
fn time_noise(results: &[ProtocolResult]) -> String {
    let mut spreads = Vec::new();
    for r in results {
        for v in &r.variants {
            let t: Vec<f64> = v
                .seeds
                .iter()
                .filter_map(|s| s.diagnostics.as_ref().map(|d| d.train_seconds))
                .filter(|&t| t > 0.0)
                .collect();
            if t.len() > 1 {
                let (mean, std) = eval_kit::bootstrap::mean_std(&t);
                spreads.push(std / mean);
            }
        }
    }
    if spreads.is_empty() {
        return "timing noise not measured (one seed)".into();
    }
    format!(
        "training times of one variant vary by {:.1}% between seeds (mean relative std over {} variant(s); the runs do the same work)",
        100.0 * spreads.iter().sum::<f64>() / spreads.len() as f64,
        spreads.len()
    )
}

/// `git describe`-like: the commit and whether the tree had changes.
fn commit() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short", "HEAD"]) {
        Some(c) => match run(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(s) if !s.is_empty() => format!("{c} with uncommitted changes"),
            _ => c,
        },
        None => "unknown (not a git checkout)".into(),
    }
}

fn pct(v: f64) -> String {
    format!("{:.2}", 100.0 * v)
}

fn summary_cell(s: &Summary, percent: bool, seeds: usize) -> String {
    let f = |v: f64| if percent { pct(v) } else { format!("{v:.4}") };
    let spread = if seeds > 1 {
        format!(" ± {}", f(s.seed_std))
    } else {
        String::new()
    };
    format!("{} [{}, {}]{spread}", f(s.mean), f(s.ci.low), f(s.ci.high))
}

fn diff_cell(d: &Difference, percent: bool) -> String {
    let f = |v: f64| {
        if percent {
            format!("{:+.2}", 100.0 * v)
        } else {
            format!("{v:+.4}")
        }
    };
    let text = format!("{} [{}, {}]", f(d.mean), f(d.ci.low), f(d.ci.high));
    if d.exceeds_interval {
        format!("**{text}**")
    } else {
        text
    }
}

fn opt_pair(p: (Option<f64>, Option<f64>), digits: usize) -> String {
    match p {
        (Some(a), Some(b)) => format!("{a:.digits$} → {b:.digits$}"),
        _ => "-".into(),
    }
}

fn far_label(far: f64) -> String {
    format!("{far:.0e}")
}

/// The markdown of one protocol.
fn protocol_section(r: &ProtocolResult, seeds: usize, assets: &str, confidence: f64) -> String {
    let mut s = String::new();
    let grid = if r.grid.is_empty() {
        String::new()
    } else {
        format!(" @ `{}`", r.grid)
    };
    let _ = writeln!(s, "### Protocol `{}`{grid}\n", r.protocol);
    if !r.about.is_empty() {
        let _ = writeln!(s, "{}\n", r.about);
    }
    let _ = writeln!(
        s,
        "{} held-out identities never trained on, {} items: {} genuine and {} impostor pairs (all pairs).\n",
        r.identities, r.items, r.genuine_pairs, r.impostor_pairs
    );
    let resolved: Vec<usize> = (0..r.fars.len()).filter(|&k| r.fars[k].resolved).collect();
    let unresolved: Vec<String> = r
        .fars
        .iter()
        .filter(|f| !f.resolved)
        .map(|f| {
            format!(
                "{} ({} false accepts allowed)",
                far_label(f.far),
                f.false_accepts_allowed
            )
        })
        .collect();
    let fa: Vec<String> = resolved
        .iter()
        .map(|&k| {
            format!(
                "{}: {} false accepts allowed",
                far_label(r.fars[k].far),
                r.fars[k].false_accepts_allowed
            )
        })
        .collect();
    let _ = writeln!(s, "TAR is reported at {}.", fa.join("; "));
    if !unresolved.is_empty() {
        let _ = writeln!(
            s,
            " Not reported (fewer than {} false accepts behind them): {}.",
            eval_kit::MIN_FALSE_ACCEPTS,
            unresolved.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "\nMean over {seeds} seed(s) [{:.0}% bootstrap interval] ± standard deviation over seeds; EER and TAR in %.\n",
        100.0 * confidence
    );
    let mut header = "| variant | loss | EER | minDCF |".to_string();
    let mut rule = "|---|---|---|---|".to_string();
    for &k in &resolved {
        let _ = write!(header, " TAR@{} |", far_label(r.fars[k].far));
        rule.push_str("---|");
    }
    let _ = writeln!(s, "{header}\n{rule}");
    for v in &r.variants {
        let mut row = format!(
            "| {} | {} | {} | {} |",
            v.name,
            v.loss,
            summary_cell(&v.eer, true, seeds),
            summary_cell(&v.min_dcf, false, seeds)
        );
        for &k in &resolved {
            let cell = v.tar[k]
                .as_ref()
                .map(|t| summary_cell(t, true, seeds))
                .unwrap_or_else(|| "-".into());
            let _ = write!(row, " {cell} |");
        }
        let _ = writeln!(s, "{row}");
    }
    let mut baselines: Vec<&str> = r.comparisons.iter().map(|c| c.baseline.as_str()).collect();
    baselines.dedup();
    for baseline in baselines {
        let _ = writeln!(
            s,
            "\nPaired differences against `{baseline}` (same seeds, same held-out identities, same bootstrap draws; **bold**: the interval excludes 0). ΔEER < 0 and ΔTAR > 0 favour the variant; in percentage points.\n"
        );
        let mut header = "| variant | ΔEER | ΔminDCF |".to_string();
        let mut rule = "|---|---|---|".to_string();
        for &k in &resolved {
            let _ = write!(header, " ΔTAR@{} |", far_label(r.fars[k].far));
            rule.push_str("---|");
        }
        let _ = writeln!(s, "{header}\n{rule}");
        for c in r.comparisons.iter().filter(|c| c.baseline == baseline) {
            let mut row = format!(
                "| {} | {} | {} |",
                c.variant,
                diff_cell(&c.eer, true),
                diff_cell(&c.min_dcf, false)
            );
            for &k in &resolved {
                let cell = c.tar[k]
                    .as_ref()
                    .map(|d| diff_cell(d, true))
                    .unwrap_or_else(|| "-".into());
                let _ = write!(row, " {cell} |");
            }
            let _ = writeln!(s, "{row}");
        }
    }
    let _ = writeln!(
        s,
        "\nTraining diagnostics (first → last logged step of the first seed; A3M-I events and mean training time over seeds):\n"
    );
    let _ = writeln!(
        s,
        "| variant | p_target | p(y) = 0 rate | support size | A3M-I re-inits | train s |\n|---|---|---|---|---|---|"
    );
    for v in r.variants.iter().filter(|v| v.name != super::spec::START) {
        let diags: Vec<_> = v
            .seeds
            .iter()
            .filter_map(|x| x.diagnostics.as_ref())
            .collect();
        let Some(d) = diags.first() else { continue };
        let reinits: usize = diags.iter().map(|d| d.a3mi_reinits.len()).sum();
        let seconds = diags.iter().map(|d| d.train_seconds).sum::<f64>() / diags.len() as f64;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.0} |",
            v.name,
            opt_pair(d.p_target, 4),
            opt_pair(d.p_y_zero, 3),
            opt_pair(d.support_mean, 1),
            if reinits == 0 {
                "0".to_string()
            } else {
                format!("{reinits} ({})", d.a3mi_reinits.join("; "))
            },
            seconds
        );
    }
    let stem = plot_stem(r);
    let _ = writeln!(
        s,
        "\n![ROC, {p}]({assets}/{stem}-roc.png) ![DET, {p}]({assets}/{stem}-det.png)\n",
        p = r.protocol
    );
    let _ = writeln!(
        s,
        "<details><summary>Recipe (every run of this protocol; each variant replaces [loss])</summary>\n\n```toml\n{}```\n</details>\n",
        r.recipe
    );
    s
}

fn plot_stem(r: &ProtocolResult) -> String {
    if r.grid.is_empty() {
        r.protocol.clone()
    } else {
        format!(
            "{}-{}",
            r.protocol,
            r.grid
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '-'
                })
                .collect::<String>()
        )
    }
}

/// The headline: every difference whose interval excludes zero, per protocol.
fn headline(results: &[ProtocolResult]) -> String {
    let mut s = String::new();
    for r in results {
        let mut found = Vec::new();
        for c in &r.comparisons {
            let mut metrics = Vec::new();
            if c.eer.exceeds_interval {
                metrics.push(format!("EER {:+.2} pp", 100.0 * c.eer.mean));
            }
            if c.min_dcf.exceeds_interval {
                metrics.push(format!("minDCF {:+.4}", c.min_dcf.mean));
            }
            for (k, d) in c.tar.iter().enumerate() {
                if let Some(d) = d.as_ref().filter(|d| d.exceeds_interval) {
                    metrics.push(format!(
                        "TAR@{} {:+.2} pp",
                        far_label(r.fars[k].far),
                        100.0 * d.mean
                    ));
                }
            }
            if !metrics.is_empty() {
                found.push(format!(
                    "`{}` vs `{}`: {}",
                    c.variant,
                    c.baseline,
                    metrics.join(", ")
                ));
            }
        }
        let _ = writeln!(
            s,
            "- `{}`: {}",
            r.protocol,
            if found.is_empty() {
                "no difference to a baseline exceeds its interval.".to_string()
            } else {
                found.join("; ")
            }
        );
    }
    s
}

/// Replaces the text between `begin` and `end` in `path` (or appends it), creating the file
/// with a title when absent.
fn replace_section(path: &Path, begin: &str, end: &str, body: &str) -> Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| {
        "# Results\n\nEvery section of this file is written by a sweep command (`face-app sweep`, `speaker-app sweep`, see the README), none by hand. Rerun the command a section names to refresh it.\n".to_string()
    });
    let block = format!("{begin}\n{body}{end}\n");
    let new = match (old.find(begin), old.find(end)) {
        (Some(a), Some(b)) if b > a => {
            format!(
                "{}{block}{}",
                &old[..a],
                old[b + end.len()..].trim_start_matches('\n')
            )
        }
        _ => format!("{}\n{block}", old.trim_end()),
    };
    train_kit::atomic_file::write_atomic(path, new.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Writes `sweep.json`, the plots and the app's section of `opts.results`; returns the
/// markdown file's path.
pub fn write_up<A: TrainApp>(
    spec: &SweepSpec,
    results: &[ProtocolResult],
    opts: &SweepOptions,
    timing: &Timing,
) -> Result<PathBuf> {
    let key = format!("{}-{}", A::NAME, spec.sweep.name);
    let base = opts
        .results
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let assets_rel = format!("results/{key}");
    let assets = base.join(&assets_rel);
    std::fs::create_dir_all(&assets).with_context(|| format!("creating {}", assets.display()))?;
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let meta = json!({
        "app": A::NAME,
        "sweep": spec.sweep.name,
        "command": opts.command,
        "machine": machine(),
        "commit": commit(),
        "date": date,
        "sweep_seconds": timing.sweep_seconds,
        "trained_runs": timing.trained_runs,
        "train_seconds": timing.train_seconds,
        "seeds": spec.sweep.seeds,
        "replicates": spec.sweep.replicates,
        "confidence": spec.sweep.confidence,
        "protocols": results,
    });
    let json_path = assets.join("sweep.json");
    train_kit::atomic_file::write_atomic(
        &json_path,
        serde_json::to_string_pretty(&meta)?.as_bytes(),
    )
    .with_context(|| format!("writing {}", json_path.display()))?;
    for r in results {
        let curves: Vec<(String, &eval_kit::ScoreCurve)> =
            r.curves.iter().map(|(n, c)| (n.clone(), c)).collect();
        for (suffix, kind) in [("roc", CurveKind::Roc), ("det", CurveKind::Det)] {
            let file = assets.join(format!("{}-{suffix}.png", plot_stem(r)));
            let title = format!("{} {} · seed {}", A::NAME, r.protocol, spec.sweep.seeds[0]);
            if let Err(e) = plot_overlay(&file, &curves, kind, &title) {
                eprintln!("warning: no plot {}: {e}", file.display());
            }
        }
    }
    let mut body = String::new();
    let title = if A::NAME.is_empty() {
        String::new()
    } else {
        let mut c = A::NAME.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    let _ = writeln!(body, "## {title}: sweep `{}`\n", spec.sweep.name);
    let _ = writeln!(
        body,
        "- Command: `{}`\n- Machine: {}; {}\n- Commit {}, {date}\n- Time: {:.0} min for this invocation ({} run(s) trained, {:.0} min of training; runs done earlier were skipped)\n- Seeds {:?}; {} bootstrap replicates over held-out identities (seeds resampled too for means), {:.0}% percentile intervals\n- Every number: [`{assets_rel}/sweep.json`]({assets_rel}/sweep.json)\n",
        opts.command,
        machine(),
        time_noise(results),
        commit(),
        timing.sweep_seconds / 60.0,
        timing.trained_runs,
        timing.train_seconds / 60.0,
        spec.sweep.seeds,
        spec.sweep.replicates,
        100.0 * spec.sweep.confidence,
    );
    let _ = writeln!(
        body,
        "Differences beyond their intervals:\n\n{}",
        headline(results)
    );
    for r in results {
        body.push_str(&protocol_section(
            r,
            spec.sweep.seeds.len(),
            &assets_rel,
            spec.sweep.confidence,
        ));
    }
    replace_section(
        &opts.results,
        &format!("<!-- sweep {key}: begin -->"),
        &format!("<!-- sweep {key}: end -->"),
        &body,
    )?;
    Ok(opts.results.clone())
}
