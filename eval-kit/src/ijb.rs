//! IJB-B / IJB-C 1:1 verification as insightface's `eval_ijbc.py` does it.
//!
//! Inputs (under `<root>/meta/`, prefix `ijbb` or `ijbc`):
//! - `<prefix>_face_tid_mid.txt`: `<image> <template_id> <media_id>`;
//! - `<prefix>_template_pair_label.txt`: `<template_1> <template_2> <0|1>`;
//! - `<prefix>_name_5pts_score.txt`: `<image> x1 y1 ... x5 y5 <detector_score>`
//!   (read only for detector-score weighting);
//! - an embedding store (see [`crate::store`]) whose row `i` is the feature
//!   of line `i` of the face list (keys must equal the image names, which is
//!   checked). With [`FlipMode::Sum`] each row is `[f(img) | f(flip(img))]`.
//!
//! Per image: flip handling, optional L2 normalization (insightface's
//! `use_norm_score=False`), optional multiplication by the detector score.
//! Per template: the mean of each media's images, summed over media, then
//! L2-normalized. Pair score: dot product of template features. Computed
//! as one weighted sum per template (weight `1 / images in its media`), so
//! memory stays at one template matrix whatever the number of images.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::MetricError;
use crate::scoring::dot;
use crate::store::MappedEmbeddings;
use crate::trials::{for_each_line, ScoredTrials};

/// Which IJB release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IjbDataset {
    /// IJB-B (file prefix `ijbb`).
    IjbB,
    /// IJB-C (file prefix `ijbc`).
    IjbC,
}

/// The three meta files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IjbPaths {
    /// `<image> <template_id> <media_id>` lines.
    pub face_tid_mid: PathBuf,
    /// `<template_1> <template_2> <label>` lines.
    pub template_pair_label: PathBuf,
    /// `<image> <10 landmark coordinates> <detector_score>` lines.
    pub name_5pts_score: PathBuf,
}

impl IjbPaths {
    /// insightface's layout: `<root>/meta/<prefix>_*.txt` (root is e.g. `IJB_release/IJBC`).
    pub fn under(root: &Path, dataset: IjbDataset) -> Self {
        let prefix = match dataset {
            IjbDataset::IjbB => "ijbb",
            IjbDataset::IjbC => "ijbc",
        };
        let meta = root.join("meta");
        Self {
            face_tid_mid: meta.join(format!("{prefix}_face_tid_mid.txt")),
            template_pair_label: meta.join(format!("{prefix}_template_pair_label.txt")),
            name_5pts_score: meta.join(format!("{prefix}_name_5pts_score.txt")),
        }
    }
}

/// How image features relate to the stored rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlipMode {
    /// Rows are `[original | flipped]`; the feature is their sum (insightface F2).
    #[default]
    Sum,
    /// Rows are `[original | flipped]`; only the original half is used.
    FirstHalf,
    /// Rows are the features.
    AsIs,
}

/// insightface's evaluation switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IjbConfig {
    /// How to get an image feature from its row.
    pub flip: FlipMode,
    /// Keep each image feature's norm as a quality weight (insightface
    /// `use_norm_score=True`); when false, image features are L2-normalized.
    pub keep_norm: bool,
    /// Multiply each image feature by its detector score.
    pub detector_score: bool,
}

impl Default for IjbConfig {
    /// insightface's defaults ("N1D1F2"): flip sum, norms kept, detector weighting.
    fn default() -> Self {
        Self {
            flip: FlipMode::Sum,
            keep_norm: true,
            detector_score: true,
        }
    }
}

/// Template of each face-list line and the weight of its image.
struct FaceList {
    template_of_image: Vec<u32>,
    weight_of_image: Vec<f64>,
    template_index: HashMap<i64, u32>,
}

fn parse_int(token: &str, what: &str) -> Result<i64, String> {
    token
        .parse()
        .map_err(|_| format!("{what} {token:?} is not an integer"))
}

/// Reads the face list, checking its names against the feature keys.
fn read_face_list(path: &Path, features: &MappedEmbeddings) -> Result<FaceList, MetricError> {
    let mut template_index: HashMap<i64, u32> = HashMap::new();
    let mut media_index: HashMap<(u32, i64), usize> = HashMap::new();
    let mut media_count: Vec<u32> = Vec::new();
    let mut template_of_image = Vec::with_capacity(features.len());
    let mut media_of_image = Vec::with_capacity(features.len());
    let keys = features.keys();
    for_each_line(path, |_, tokens| {
        let [name, tid, mid] = tokens else {
            return Err(format!(
                "expected `<image> <template_id> <media_id>`, got {} fields",
                tokens.len()
            ));
        };
        let row = template_of_image.len();
        match keys.get(row) {
            Some(key) if key == name => {}
            Some(key) => {
                return Err(format!(
                    "image {name:?} but row {row} of the features is {key:?}; features must follow the face list"
                ))
            }
            None => {
                return Err(format!(
                    "image {name:?} has no feature row: the features hold only {} rows",
                    keys.len()
                ))
            }
        }
        let tid = parse_int(tid, "template id")?;
        let mid = parse_int(mid, "media id")?;
        let next = template_index.len() as u32;
        let t = *template_index.entry(tid).or_insert(next);
        let next = media_count.len();
        let m = *media_index.entry((t, mid)).or_insert(next);
        if m == media_count.len() {
            media_count.push(0);
        }
        media_count[m] += 1;
        template_of_image.push(t);
        media_of_image.push(m);
        Ok(())
    })?;
    if template_of_image.len() != keys.len() {
        return Err(MetricError::LengthMismatch {
            what: "feature rows (one per face-list line)",
            expected: template_of_image.len(),
            actual: keys.len(),
        });
    }
    let weight_of_image = media_of_image
        .iter()
        .map(|&m| 1.0 / f64::from(media_count[m]))
        .collect();
    Ok(FaceList {
        template_of_image,
        weight_of_image,
        template_index,
    })
}

/// Reads the detector score (last field) of each line, checking names.
fn read_detector_scores(path: &Path, features: &MappedEmbeddings) -> Result<Vec<f64>, MetricError> {
    let keys = features.keys();
    let mut scores = Vec::with_capacity(keys.len());
    let file = std::fs::File::open(path).map_err(|e| MetricError::io(path, e))?;
    let reader = BufReader::new(file);
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| MetricError::io(path, e))?;
        let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
        if tokens.is_empty() {
            continue;
        }
        let fail = |message: String| MetricError::parse(path, i + 1, message);
        if tokens.len() != 12 {
            return Err(fail(format!(
                "expected `<image> x1 y1 ... x5 y5 <score>` (12 fields), got {}",
                tokens.len()
            )));
        }
        let row = scores.len();
        if keys.get(row).map(String::as_str) != Some(tokens[0]) {
            return Err(fail(format!(
                "image {:?} does not match line {} of the face list",
                tokens[0],
                row + 1
            )));
        }
        let score: f64 = tokens[11]
            .parse()
            .map_err(|_| fail(format!("detector score {:?} is not a number", tokens[11])))?;
        scores.push(score);
    }
    if scores.len() != keys.len() {
        return Err(MetricError::LengthMismatch {
            what: "detector scores (one per face-list line)",
            expected: keys.len(),
            actual: scores.len(),
        });
    }
    Ok(scores)
}

/// Unit-norm template features (row-major, `templates x dim`) from image features.
fn template_features(
    features: &MappedEmbeddings,
    faces: &FaceList,
    detector: Option<&[f64]>,
    config: &IjbConfig,
) -> Result<(Vec<f64>, usize), MetricError> {
    let stored = features.dim();
    let dim = match config.flip {
        FlipMode::AsIs => stored,
        FlipMode::Sum | FlipMode::FirstHalf => {
            if !stored.is_multiple_of(2) {
                return Err(MetricError::InvalidStore {
                    path: features.path().to_path_buf(),
                    message: format!("flip modes need an even dimension, got {stored}"),
                });
            }
            stored / 2
        }
    };
    let n_templates = faces.template_index.len();
    let mut sums = vec![0f64; n_templates * dim];
    let mut feature = vec![0f64; dim];
    features.for_each_row(|i, row| {
        for (k, f) in feature.iter_mut().enumerate() {
            *f = match config.flip {
                FlipMode::Sum => f64::from(row[k]) + f64::from(row[k + dim]),
                FlipMode::FirstHalf | FlipMode::AsIs => f64::from(row[k]),
            };
        }
        let mut scale = faces.weight_of_image[i];
        if !config.keep_norm {
            let norm = feature.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                scale /= norm;
            }
        }
        if let Some(d) = detector {
            scale *= d[i];
        }
        let t = faces.template_of_image[i] as usize;
        for (s, f) in sums[t * dim..(t + 1) * dim].iter_mut().zip(&feature) {
            *s += scale * f;
        }
    })?;
    let unit: Vec<f64> = sums
        .par_chunks(dim.max(1))
        .flat_map_iter(|t| {
            let norm = t.iter().map(|x| x * x).sum::<f64>().sqrt();
            let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
            t.iter().map(move |x| x * inv)
        })
        .collect();
    Ok((unit, dim))
}

/// Template index pairs and their labels.
type TemplatePairs = (Vec<(u32, u32)>, Vec<bool>);

/// Pair template indices and labels, read with a byte parser (IJB-C has 15.7M lines).
fn read_pairs(path: &Path, templates: &HashMap<i64, u32>) -> Result<TemplatePairs, MetricError> {
    let file = std::fs::File::open(path).map_err(|e| MetricError::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut pairs = Vec::new();
    let mut labels = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| MetricError::io(path, e))?;
        if n == 0 {
            break;
        }
        number += 1;
        let fail = |message: String| MetricError::parse(path, number, message);
        let text = std::str::from_utf8(&line).map_err(|_| fail("not UTF-8".to_string()))?;
        let mut tokens = text.split_ascii_whitespace();
        let (Some(a), Some(b), Some(label), None) =
            (tokens.next(), tokens.next(), tokens.next(), tokens.next())
        else {
            if text.trim().is_empty() {
                continue;
            }
            return Err(fail(
                "expected `<template_1> <template_2> <label>`".to_string(),
            ));
        };
        let lookup = |token: &str| -> Result<u32, MetricError> {
            let tid = parse_int(token, "template id").map_err(fail)?;
            templates
                .get(&tid)
                .copied()
                .ok_or_else(|| MetricError::Protocol {
                    path: path.to_path_buf(),
                    line: number,
                    message: format!("template {tid} is not in the face list"),
                })
        };
        let pair = (lookup(a)?, lookup(b)?);
        let label = match label {
            "1" => true,
            "0" => false,
            other => return Err(fail(format!("label {other:?} is not 0 or 1"))),
        };
        pairs.push(pair);
        labels.push(label);
    }
    Ok((pairs, labels))
}

/// Scores every template pair of an IJB protocol.
pub fn ijb_scores(
    paths: &IjbPaths,
    features: &MappedEmbeddings,
    config: &IjbConfig,
) -> Result<ScoredTrials, MetricError> {
    let faces = read_face_list(&paths.face_tid_mid, features)?;
    let detector = if config.detector_score {
        Some(read_detector_scores(&paths.name_5pts_score, features)?)
    } else {
        None
    };
    let (templates, dim) = template_features(features, &faces, detector.as_deref(), config)?;
    let (pairs, is_target) = read_pairs(&paths.template_pair_label, &faces.template_index)?;
    let scores = pair_scores(&templates, dim, &pairs);
    Ok(ScoredTrials { scores, is_target })
}

/// Writes the pairs scored by [`ijb_scores`] as `<template_1> <template_2> <score>
/// target|nontarget` lines, in the order of `pairs_file`, each score printed exactly (the
/// shortest decimal that reads back to the same f64).
pub fn write_pair_scores(
    path: &Path,
    pairs_file: &Path,
    trials: &ScoredTrials,
) -> Result<(), MetricError> {
    let text = std::fs::read_to_string(pairs_file).map_err(|e| MetricError::io(pairs_file, e))?;
    let io = |e| MetricError::io(path, e);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    let lines = text.lines().filter(|l| !l.trim().is_empty());
    let mut written = 0;
    for ((line, score), &target) in lines.zip(&trials.scores).zip(&trials.is_target) {
        let mut tokens = line.split_ascii_whitespace();
        let (a, b) = (tokens.next().unwrap_or(""), tokens.next().unwrap_or(""));
        let label = if target { "target" } else { "nontarget" };
        writeln!(out, "{a} {b} {score} {label}").map_err(io)?;
        written += 1;
    }
    if written != trials.scores.len() {
        return Err(MetricError::LengthMismatch {
            what: "pair lines for the scores",
            expected: trials.scores.len(),
            actual: written,
        });
    }
    out.flush().map_err(io)
}

/// Templates per side of a tile: two tiles of 512 rows of 512 f64 (4 MB) stay in L3.
const TILE: u32 = 512;

/// Dot products of template pairs, computed tile by tile (pairs grouped by
/// `(a / TILE, b / TILE)` with a counting sort) so both rows are usually in
/// cache, and returned in the original pair order.
fn pair_scores(templates: &[f64], dim: usize, pairs: &[(u32, u32)]) -> Vec<f64> {
    let n_templates = (templates.len() / dim.max(1)) as u32;
    let side = n_templates.div_ceil(TILE).max(1) as usize;
    let tile_of = |&(a, b): &(u32, u32)| (a / TILE) as usize * side + (b / TILE) as usize;
    let mut starts = vec![0usize; side * side + 1];
    for p in pairs {
        starts[tile_of(p) + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut order = vec![0u32; pairs.len()];
    for (i, p) in pairs.iter().enumerate() {
        let t = tile_of(p);
        order[starts[t]] = i as u32;
        starts[t] += 1;
    }
    let row = |t: u32| &templates[t as usize * dim..(t as usize + 1) * dim];
    let tiled: Vec<f64> = order
        .par_iter()
        .with_min_len(4096)
        .map(|&i| {
            let (a, b) = pairs[i as usize];
            dot(row(a), row(b))
        })
        .collect();
    let mut scores = vec![0f64; pairs.len()];
    for (&i, &s) in order.iter().zip(&tiled) {
        scores[i as usize] = s;
    }
    scores
}
