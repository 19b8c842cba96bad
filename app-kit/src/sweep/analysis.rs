//! Scoring a finished sweep: every run's held-out embeddings rescored (f64, all pairs), its
//! metrics on identity-bootstrap replicates (eval-kit's [`bootstrap`](eval_kit::bootstrap)),
//! means and spreads over seeds, and paired differences against the baselines.
//!
//! Replicate `b` of seed `s` draws the same identities for every variant (the stream is seeded
//! by the sweep's bootstrap seed and `s`), so a difference between two variants is computed
//! replicate by replicate on the same draw. Intervals of a mean over seeds resample the seeds
//! too (a two-stage bootstrap: seeds, then identities), so they cover training noise as well
//! as the choice of held-out identities. A TAR is reported only at FARs the protocol resolves
//! ([`eval_kit::MIN_FALSE_ACCEPTS`] false accepts allowed).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use eval_kit::bootstrap::{
    far_resolved, mean_over_runs, mean_std, percentile_interval, resample, Replicates,
};
use eval_kit::{
    BootstrapConfig, HeldoutEmbeddings, IdentityPairs, Interval, MetricsConfig, ScoreCurve,
    VerificationReport,
};
use serde::Serialize;

use super::spec::{run_dir, PlannedRun, SweepSpec, START};
use crate::app::TrainApp;
use crate::task::HELDOUT_EMBEDDINGS;

/// A metric over seeds: the mean of the per-seed values, their spread, and the interval of the
/// mean.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Mean over seeds.
    pub mean: f64,
    /// Sample standard deviation over seeds (0 with one seed).
    pub seed_std: f64,
    /// Bootstrap interval of the mean.
    pub ci: Interval,
}

/// A paired difference `variant - baseline` over seeds.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    /// Mean over seeds of the per-seed differences.
    pub mean: f64,
    /// Bootstrap interval of that mean.
    pub ci: Interval,
    /// Whether the interval excludes zero.
    pub exceeds_interval: bool,
}

/// What training left besides the model: telemetry at the first and last logged steps, A3M-I
/// re-initializations, time.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diagnostics {
    /// Mean target posterior, first and last logged.
    pub p_target: (Option<f64>, Option<f64>),
    /// Rate of rows whose target got zero mass, first and last logged.
    pub p_y_zero: (Option<f64>, Option<f64>),
    /// Mean support size of the posterior, first and last logged.
    pub support_mean: (Option<f64>, Option<f64>),
    /// A3M-I re-initializations (`step: reason`).
    pub a3mi_reinits: Vec<String>,
    /// Steps skipped for NaN/Inf.
    pub skipped_steps: u64,
    /// Training time, seconds.
    pub train_seconds: f64,
}

/// One seed of one variant.
#[derive(Debug, Clone, Serialize)]
pub struct SeedResult {
    /// Training seed.
    pub seed: u64,
    /// EER, a fraction.
    pub eer: f64,
    /// minDCF.
    pub min_dcf: f64,
    /// TAR at each FAR of the protocol (`None` where not resolved).
    pub tar: Vec<Option<f64>>,
    /// Training diagnostics (`None` for the untrained baseline).
    pub diagnostics: Option<Diagnostics>,
}

/// One variant over all seeds.
#[derive(Debug, Clone, Serialize)]
pub struct VariantResult {
    /// Variant name (`start`: the untrained weights).
    pub name: String,
    /// The loss as the run describes it.
    pub loss: String,
    /// Per seed.
    pub seeds: Vec<SeedResult>,
    /// EER over seeds.
    pub eer: Summary,
    /// minDCF over seeds.
    pub min_dcf: Summary,
    /// TAR at each FAR over seeds (`None` where not resolved).
    pub tar: Vec<Option<Summary>>,
}

/// `variant - baseline` on every metric.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The variant.
    pub variant: String,
    /// The baseline.
    pub baseline: String,
    /// EER difference (negative: the variant errs less).
    pub eer: Difference,
    /// minDCF difference.
    pub min_dcf: Difference,
    /// TAR differences (positive: the variant accepts more genuine pairs).
    pub tar: Vec<Option<Difference>>,
}

/// How well a protocol resolves one FAR.
#[derive(Debug, Clone, Serialize)]
pub struct FarResolution {
    /// The FAR.
    pub far: f64,
    /// Impostor pairs of the protocol.
    pub impostor_pairs: u64,
    /// False accepts the FAR allows (`floor(far * impostor pairs)`).
    pub false_accepts_allowed: u64,
    /// Whether that is at least [`eval_kit::MIN_FALSE_ACCEPTS`].
    pub resolved: bool,
}

/// Everything about one protocol at one grid point.
#[derive(Debug, Clone, Serialize)]
pub struct ProtocolResult {
    /// Protocol name.
    pub protocol: String,
    /// Its description.
    pub about: String,
    /// Grid point label (empty without a grid).
    pub grid: String,
    /// Held-out identities.
    pub identities: usize,
    /// Held-out items.
    pub items: usize,
    /// Genuine pairs.
    pub genuine_pairs: u64,
    /// Impostor pairs.
    pub impostor_pairs: u64,
    /// Per FAR of the config.
    pub fars: Vec<FarResolution>,
    /// Every variant, `start` first.
    pub variants: Vec<VariantResult>,
    /// Every variant against every baseline.
    pub comparisons: Vec<Comparison>,
    /// The recipe (the first variant's config, loss aside), as TOML.
    pub recipe: String,
    /// Curves of the first seed, one per variant, for the plots.
    #[serde(skip)]
    pub curves: Vec<(String, ScoreCurve)>,
}

/// A scored run: point metrics, replicates, identities.
struct Scored {
    report: VerificationReport,
    replicates: Replicates,
    identities: Vec<u32>,
    items: usize,
    /// Kept for the plots (the first seed only).
    curve: Option<ScoreCurve>,
}

fn score(
    file: &Path,
    metrics: &MetricsConfig,
    boot: &BootstrapConfig,
    keep_curve: bool,
) -> Result<Scored> {
    let emb = HeldoutEmbeddings::load(file)?;
    let pairs = IdentityPairs::new(&emb);
    let ones = vec![1; pairs.identities().len()];
    let curve = pairs
        .curve(&ones)
        .with_context(|| format!("scoring {}", file.display()))?;
    let report = VerificationReport::new(&curve, metrics)?;
    let replicates = resample(&pairs, metrics, boot)
        .with_context(|| format!("bootstrap of {}", file.display()))?;
    Ok(Scored {
        report,
        replicates,
        identities: pairs.identities().to_vec(),
        items: emb.len(),
        curve: keep_curve.then_some(curve),
    })
}

/// Telemetry, A3M-I events and timing of a finished run folder.
fn diagnostics(dir: &Path) -> Diagnostics {
    let mut d = Diagnostics::default();
    if let Ok(text) = std::fs::read_to_string(dir.join("metrics.jsonl")) {
        let lines: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let first_last = |key: &str| {
            let values: Vec<f64> = lines.iter().filter_map(|l| l[key].as_f64()).collect();
            (values.first().copied(), values.last().copied())
        };
        d.p_target = first_last("p_target");
        d.p_y_zero = first_last("p_y_zero");
        d.support_mean = first_last("support_mean");
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("report.json")) {
        if let Ok(r) = serde_json::from_str::<serde_json::Value>(&text) {
            d.skipped_steps = r["skipped_steps"].as_u64().unwrap_or(0);
            d.train_seconds = r["train_seconds"].as_f64().unwrap_or(0.0);
            if let Some(events) = r["a3mi_reinits"].as_array() {
                d.a3mi_reinits = events
                    .iter()
                    .map(|e| format!("{}: {}", e["step"], e["reason"].as_str().unwrap_or("?")))
                    .collect();
            }
        }
    }
    d
}

fn summary(per_seed: &[f64], replicates: &[&[f64]], seed: u64, confidence: f64) -> Result<Summary> {
    let (mean, seed_std) = mean_std(per_seed);
    let samples = mean_over_runs(replicates, seed)?;
    Ok(Summary {
        mean,
        seed_std,
        ci: percentile_interval(&samples, confidence),
    })
}

fn difference(
    a: &[f64],
    b: &[f64],
    reps_a: &[&[f64]],
    reps_b: &[&[f64]],
    seed: u64,
    confidence: f64,
) -> Result<Difference> {
    let per_seed: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let diffs: Vec<Vec<f64>> = reps_a
        .iter()
        .zip(reps_b)
        .map(|(x, y)| x.iter().zip(y.iter()).map(|(p, q)| p - q).collect())
        .collect();
    let refs: Vec<&[f64]> = diffs.iter().map(Vec::as_slice).collect();
    let samples = mean_over_runs(&refs, seed)?;
    let ci = percentile_interval(&samples, confidence);
    Ok(Difference {
        mean: mean_std(&per_seed).0,
        exceeds_interval: ci.excludes_zero(),
        ci,
    })
}

/// One metric of a variant: its value per seed and its bootstrap replicates per seed.
type PerSeed<'a> = (Vec<f64>, Vec<&'a [f64]>);

/// A variant's runs, one per seed in the sweep's seed order.
struct VariantRuns {
    name: String,
    loss: String,
    runs: Vec<(u64, Scored, Option<Diagnostics>)>,
}

impl VariantRuns {
    fn eer(&self) -> PerSeed<'_> {
        (
            self.runs.iter().map(|r| r.1.report.eer).collect(),
            self.runs
                .iter()
                .map(|r| r.1.replicates.eer.as_slice())
                .collect(),
        )
    }
    fn min_dcf(&self) -> PerSeed<'_> {
        (
            self.runs.iter().map(|r| r.1.report.min_dcf).collect(),
            self.runs
                .iter()
                .map(|r| r.1.replicates.min_dcf.as_slice())
                .collect(),
        )
    }
    fn tar(&self, k: usize) -> PerSeed<'_> {
        (
            self.runs
                .iter()
                .map(|r| r.1.report.tar_at_far[k].tar)
                .collect(),
            self.runs
                .iter()
                .map(|r| r.1.replicates.tar[k].as_slice())
                .collect(),
        )
    }
}

/// Scores every protocol and grid point of a finished sweep.
pub fn analyse<A: TrainApp>(
    spec: &SweepSpec,
    runs: &[PlannedRun<A>],
    out: &Path,
) -> Result<Vec<ProtocolResult>> {
    let s = &spec.sweep;
    let mut results = Vec::new();
    for protocol in &spec.protocols {
        for grid in spec.grid_points() {
            let planned: Vec<&PlannedRun<A>> = runs
                .iter()
                .filter(|r| r.protocol == protocol.name && r.grid == grid.label)
                .collect();
            let Some(first) = planned.first() else {
                continue;
            };
            let fars = first.config.eval.fars.clone();
            let metrics = MetricsConfig {
                fars: fars.clone(),
                ..MetricsConfig::default()
            };
            let boot_of = |seed: u64| BootstrapConfig {
                replicates: s.replicates,
                confidence: s.confidence,
                seed: train_kit::derived_seed(s.bootstrap_seed, &format!("identities/{seed}")),
            };
            let mut variants: Vec<VariantRuns> = Vec::new();
            let mut start = VariantRuns {
                name: START.into(),
                loss: "untrained (seeded initial weights)".into(),
                runs: Vec::new(),
            };
            for &seed in &s.seeds {
                let dir = run_dir(out, &protocol.name, &grid.label, START, seed);
                let scored = score(
                    &dir.join(HELDOUT_EMBEDDINGS),
                    &metrics,
                    &boot_of(seed),
                    seed == s.seeds[0],
                )?;
                start.runs.push((seed, scored, None));
            }
            variants.push(start);
            for variant in &spec.variants {
                let mut v = VariantRuns {
                    name: variant.name.clone(),
                    loss: String::new(),
                    runs: Vec::new(),
                };
                for run in planned.iter().filter(|r| r.variant == variant.name) {
                    v.loss = run.config.loss.describe();
                    let scored = score(
                        &run.dir.join(HELDOUT_EMBEDDINGS),
                        &metrics,
                        &boot_of(run.seed),
                        run.seed == s.seeds[0],
                    )?;
                    v.runs.push((run.seed, scored, Some(diagnostics(&run.dir))));
                }
                variants.push(v);
            }
            // Paired runs must share their held-out identities.
            for (k, &seed) in s.seeds.iter().enumerate() {
                let reference = &variants[0].runs[k].1;
                for v in &variants[1..] {
                    let here = &v.runs[k].1;
                    if here.identities != reference.identities || here.items != reference.items {
                        bail!(
                            "{}/{} seed {seed}: held out {} items of {} identities, the untrained baseline {} of {}; paired comparisons need one split",
                            protocol.name,
                            v.name,
                            here.items,
                            here.identities.len(),
                            reference.items,
                            reference.identities.len()
                        );
                    }
                }
            }
            let base = &variants[0].runs[0].1;
            let impostors = base.report.n_nontarget;
            let resolution: Vec<FarResolution> = fars
                .iter()
                .map(|&far| FarResolution {
                    far,
                    impostor_pairs: impostors,
                    false_accepts_allowed: (far * impostors as f64).floor() as u64,
                    resolved: far_resolved(far, impostors),
                })
                .collect();
            let summary_seed = train_kit::derived_seed(s.bootstrap_seed, "seeds");
            let mut out_variants = Vec::new();
            for v in &variants {
                let (eer, eer_r) = v.eer();
                let (dcf, dcf_r) = v.min_dcf();
                let mut tar = Vec::new();
                for (k, res) in resolution.iter().enumerate() {
                    tar.push(if res.resolved {
                        let (t, t_r) = v.tar(k);
                        Some(summary(&t, &t_r, summary_seed, s.confidence)?)
                    } else {
                        None
                    });
                }
                out_variants.push(VariantResult {
                    name: v.name.clone(),
                    loss: v.loss.clone(),
                    seeds: v
                        .runs
                        .iter()
                        .map(|(seed, sc, diag)| SeedResult {
                            seed: *seed,
                            eer: sc.report.eer,
                            min_dcf: sc.report.min_dcf,
                            tar: sc
                                .report
                                .tar_at_far
                                .iter()
                                .zip(&resolution)
                                .map(|(t, r)| r.resolved.then_some(t.tar))
                                .collect(),
                            diagnostics: diag.clone(),
                        })
                        .collect(),
                    eer: summary(&eer, &eer_r, summary_seed, s.confidence)?,
                    min_dcf: summary(&dcf, &dcf_r, summary_seed, s.confidence)?,
                    tar,
                });
            }
            let by_name: BTreeMap<&str, &VariantRuns> =
                variants.iter().map(|v| (v.name.as_str(), v)).collect();
            let mut comparisons = Vec::new();
            for baseline in &s.baselines {
                let b = by_name[baseline.as_str()];
                for v in variants.iter().filter(|v| &v.name != baseline) {
                    if v.name == START {
                        continue;
                    }
                    let pair = |f: &dyn Fn(&VariantRuns) -> PerSeed<'_>| {
                        let (x, xr) = f(v);
                        let (y, yr) = f(b);
                        difference(&x, &y, &xr, &yr, summary_seed, s.confidence)
                    };
                    let mut tar = Vec::new();
                    for (k, res) in resolution.iter().enumerate() {
                        tar.push(if res.resolved {
                            Some(pair(&|r: &VariantRuns| r.tar(k))?)
                        } else {
                            None
                        });
                    }
                    comparisons.push(Comparison {
                        variant: v.name.clone(),
                        baseline: baseline.clone(),
                        eer: pair(&|r: &VariantRuns| r.eer())?,
                        min_dcf: pair(&|r: &VariantRuns| r.min_dcf())?,
                        tar,
                    });
                }
            }
            let mut recipe = toml::Table::try_from(&first.config)?;
            recipe.remove("loss");
            if let Some(train) = recipe.get_mut("train").and_then(|t| t.as_table_mut()) {
                train.remove("seed");
                train.remove("progress_bar");
            }
            results.push(ProtocolResult {
                protocol: protocol.name.clone(),
                about: protocol.about.clone(),
                grid: grid.label.clone(),
                identities: base.identities.len(),
                items: base.items,
                genuine_pairs: base.report.n_target,
                impostor_pairs: impostors,
                fars: resolution,
                variants: out_variants,
                comparisons,
                recipe: toml::to_string_pretty(&recipe)?,
                curves: variants
                    .iter_mut()
                    .filter_map(|v| {
                        let curve = v.runs.first_mut()?.1.curve.take()?;
                        Some((v.name.clone(), curve))
                    })
                    .collect(),
            });
        }
    }
    Ok(results)
}
