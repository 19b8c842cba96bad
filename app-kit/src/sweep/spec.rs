//! The sweep file: one recipe, the protocols (data + held-out split) it runs on, the variants
//! (losses) it compares, an optional grid over other config keys, the seeds, and the
//! statistics. Expanded into one run config per (protocol, grid point, variant, seed), every
//! one resolved and checked before anything trains.
//!
//! ```toml
//! [sweep]
//! name = "default"
//! config = "demo"                    # the app's built-in demo, or a path (relative to this file)
//! seeds = [1, 2, 3]
//! set = ["train.steps=150"]          # applied to every run
//! baselines = ["arcface", "cosface"] # every other variant is compared with these, pairwise
//! replicates = 1000                  # bootstrap replicates over held-out identities
//! confidence = 0.95
//!
//! [[protocol]]
//! name = "synthetic"
//! set = ["data.synthetic.identities = 150", "eval.heldout_identities = 100"]
//!
//! [[variant]]
//! name = "arcface"
//! loss = { kind = "arcface", s = 16.0, m = 0.5 }   # replaces the whole [loss] table
//! set = []                                          # any other keys of this variant
//!
//! [grid]                             # optional: every combination multiplies the variants
//! "optim.lr" = [0.1, 0.05]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::app::{config_from_toml, AppConfig, TrainApp};

/// `[sweep]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSection {
    /// Names the sweep's results (`results/<app>-<name>/`).
    pub name: String,
    /// The base run config: `demo` (the app's built-in) or a TOML path relative to the sweep
    /// file.
    #[serde(default = "demo")]
    pub config: String,
    /// Training seeds; each seed runs every variant (paired comparisons are per seed).
    pub seeds: Vec<u64>,
    /// `--set` items applied to every run, before the protocol's and the variant's.
    #[serde(default)]
    pub set: Vec<String>,
    /// Variants every other variant is compared with (`start`: the untrained weights).
    #[serde(default = "default_baselines")]
    pub baselines: Vec<String>,
    /// Bootstrap replicates over held-out identities.
    #[serde(default = "default_replicates")]
    pub replicates: usize,
    /// Coverage of the intervals.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Seed of the bootstrap draws.
    #[serde(default)]
    pub bootstrap_seed: u64,
}

fn demo() -> String {
    "demo".into()
}
fn default_baselines() -> Vec<String> {
    vec!["arcface".into(), "cosface".into()]
}
fn default_replicates() -> usize {
    1000
}
fn default_confidence() -> f64 {
    0.95
}

/// `[[protocol]]`: data and held-out split of one evaluation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSpec {
    /// Folder and table name.
    pub name: String,
    /// What it is, for RESULTS.md.
    #[serde(default)]
    pub about: String,
    /// `--set` items of this protocol.
    #[serde(default)]
    pub set: Vec<String>,
}

/// `[[variant]]`: one loss (or any other change) under comparison.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    /// Folder and table name.
    pub name: String,
    /// Replaces the whole `[loss]` table when given.
    #[serde(default)]
    pub loss: Option<toml::Table>,
    /// `--set` items of this variant, after the loss.
    #[serde(default)]
    pub set: Vec<String>,
}

/// A whole sweep file; see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// `[sweep]`.
    pub sweep: SweepSection,
    /// `[[protocol]]`.
    #[serde(rename = "protocol")]
    pub protocols: Vec<ProtocolSpec>,
    /// `[[variant]]`.
    #[serde(rename = "variant")]
    pub variants: Vec<VariantSpec>,
    /// `[grid]`: config key → values.
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<toml::Value>>,
    /// Where the file was read from (relative base configs resolve against it).
    #[serde(skip)]
    pub origin: PathBuf,
}

/// The name of the untrained-weights baseline.
pub const START: &str = "start";

/// One point of the grid: its label (`""` without a grid) and its `--set` items.
#[derive(Debug, Clone, PartialEq)]
pub struct GridPoint {
    /// `key=value,key=value`, or empty.
    pub label: String,
    /// The items.
    pub set: Vec<String>,
}

/// One training run of the sweep, resolved.
#[derive(Debug, Clone)]
pub struct PlannedRun<A: TrainApp> {
    /// Protocol name.
    pub protocol: String,
    /// Grid point label.
    pub grid: String,
    /// Variant name.
    pub variant: String,
    /// Training seed.
    pub seed: u64,
    /// The run config.
    pub config: AppConfig<A>,
    /// The run folder.
    pub dir: PathBuf,
}

fn check_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c));
    if !ok {
        bail!("{what} name {name:?}: use letters, digits and - _ . + (it names folders)");
    }
    Ok(())
}

fn check_unique<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for n in names {
        check_name(what, n)?;
        if !seen.insert(n) {
            bail!("{what} {n:?} is listed twice");
        }
    }
    Ok(())
}

impl SweepSpec {
    /// Parses a sweep file's `text`; `origin` names it in errors and anchors relative paths.
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        let shown = origin.display();
        let raw: toml::Table =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{shown}: not valid TOML: {e}"))?;
        let mut spec: SweepSpec = serde_path_to_error::deserialize(toml::Value::Table(raw))
            .map_err(|e| {
                let inner = e.inner().to_string();
                let first = inner.lines().next().unwrap_or_default().to_string();
                anyhow::anyhow!("{shown}: {}: {first}", e.path())
            })?;
        spec.origin = origin.to_path_buf();
        spec.validate()
            .map_err(|e| anyhow::anyhow!("{shown}: {e:#}"))?;
        Ok(spec)
    }

    /// Reads and parses a sweep file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading sweep file {}", path.display()))?;
        Self::parse(&text, path)
    }

    fn validate(&self) -> Result<()> {
        let s = &self.sweep;
        check_name("sweep", &s.name)?;
        if s.seeds.is_empty() {
            bail!("sweep.seeds is empty: list at least one training seed");
        }
        let mut seeds = s.seeds.clone();
        seeds.sort_unstable();
        seeds.dedup();
        if seeds.len() != s.seeds.len() {
            bail!("sweep.seeds lists a seed twice: {:?}", s.seeds);
        }
        if self.protocols.is_empty() {
            bail!("no [[protocol]]: a sweep needs at least one");
        }
        if self.variants.is_empty() {
            bail!("no [[variant]]: a sweep needs at least one");
        }
        check_unique("protocol", self.protocols.iter().map(|p| p.name.as_str()))?;
        check_unique("variant", self.variants.iter().map(|v| v.name.as_str()))?;
        if self.variants.iter().any(|v| v.name == START) {
            bail!("variant name {START:?} is reserved for the untrained weights");
        }
        for b in &s.baselines {
            if b != START && !self.variants.iter().any(|v| &v.name == b) {
                bail!(
                    "sweep.baselines names {b:?}, which is not a variant (variants: {}; or {START})",
                    self.variants
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        eval_kit::BootstrapConfig {
            replicates: s.replicates,
            confidence: s.confidence,
            seed: s.bootstrap_seed,
        }
        .validate()
        .map_err(|e| anyhow::anyhow!("[sweep]: {e}"))?;
        for (key, values) in &self.grid {
            if values.is_empty() {
                bail!("grid {key:?} has no values");
            }
        }
        Ok(())
    }

    /// The grid's points in a fixed order (one empty point without a grid).
    pub fn grid_points(&self) -> Vec<GridPoint> {
        let mut points = vec![GridPoint {
            label: String::new(),
            set: Vec::new(),
        }];
        for (key, values) in &self.grid {
            let mut next = Vec::new();
            for p in &points {
                for v in values {
                    let text = v.to_string();
                    let mut set = p.set.clone();
                    set.push(format!("{key}={text}"));
                    let part = format!("{key}={}", text.trim_matches('"'));
                    let label = if p.label.is_empty() {
                        part
                    } else {
                        format!("{},{part}", p.label)
                    };
                    next.push(GridPoint { label, set });
                }
            }
            points = next;
        }
        points
    }

    /// The base config's TOML and how errors name it.
    fn base<A: TrainApp>(&self) -> Result<(String, String)> {
        if self.sweep.config == "demo" {
            return Ok((A::DEMO.0.to_string(), A::DEMO.1.to_string()));
        }
        let dir = self.origin.parent().unwrap_or(Path::new("."));
        let path = dir.join(&self.sweep.config);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("sweep.config: reading {}", path.display()))?;
        Ok((text, path.display().to_string()))
    }

    /// The `--set` items of one run, in order: sweep, protocol, grid point, variant (its loss
    /// table first), seed, and the sweep's fixed ones (no progress bar).
    pub fn run_items(
        &self,
        protocol: &ProtocolSpec,
        grid: &GridPoint,
        variant: Option<&VariantSpec>,
        seed: u64,
    ) -> Vec<String> {
        let mut items = self.sweep.set.clone();
        items.extend(protocol.set.iter().cloned());
        items.extend(grid.set.iter().cloned());
        if let Some(v) = variant {
            if let Some(loss) = &v.loss {
                items.push(format!("loss={}", toml::Value::Table(loss.clone())));
            }
            items.extend(v.set.iter().cloned());
        }
        items.push(format!("train.seed={seed}"));
        items.push("train.progress_bar=false".into());
        items
    }

    /// Every run of the sweep under `out`, resolved and checked (an error names the run).
    pub fn plan<A: TrainApp>(&self, out: &Path) -> Result<Vec<PlannedRun<A>>> {
        let (text, origin) = self.base::<A>()?;
        let mut runs = Vec::new();
        for protocol in &self.protocols {
            for grid in self.grid_points() {
                for &seed in &self.sweep.seeds {
                    for variant in &self.variants {
                        let items = self.run_items(protocol, &grid, Some(variant), seed);
                        let config =
                            config_from_toml::<A>(&text, &origin, &items).with_context(|| {
                                format!(
                                    "sweep run {}/{}{} seed {seed}",
                                    protocol.name,
                                    variant.name,
                                    grid_suffix(&grid.label)
                                )
                            })?;
                        runs.push(PlannedRun {
                            dir: run_dir(out, &protocol.name, &grid.label, &variant.name, seed),
                            protocol: protocol.name.clone(),
                            grid: grid.label.clone(),
                            variant: variant.name.clone(),
                            seed,
                            config,
                        });
                    }
                }
            }
        }
        Ok(runs)
    }

    /// The config of the untrained baseline of `(protocol, grid point, seed)`: the first
    /// variant's (the starting weights depend on the seed and `[model]`, not on the loss).
    pub fn start_config<A: TrainApp>(
        &self,
        protocol: &ProtocolSpec,
        grid: &GridPoint,
        seed: u64,
    ) -> Result<AppConfig<A>> {
        let (text, origin) = self.base::<A>()?;
        let items = self.run_items(protocol, grid, self.variants.first(), seed);
        config_from_toml::<A>(&text, &origin, &items)
    }
}

/// ` @ label` for a grid point, nothing without a grid.
pub fn grid_suffix(label: &str) -> String {
    if label.is_empty() {
        String::new()
    } else {
        format!(" @ {label}")
    }
}

/// `<out>/<protocol>[/<grid>]/<variant>/seed-<seed>`.
pub fn run_dir(out: &Path, protocol: &str, grid: &str, variant: &str, seed: u64) -> PathBuf {
    let mut dir = out.join(protocol);
    if !grid.is_empty() {
        let folder: String = grid
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.+,".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        dir = dir.join(folder);
    }
    dir.join(variant).join(format!("seed-{seed}"))
}
