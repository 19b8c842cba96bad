//! Held-out evaluation after training: embed held-out speakers' utterances (the `embed`
//! module's evaluation frontend), score all pairs by cosine, compute EER / minDCF(0.01) /
//! TAR@FAR with eval-kit, pick score thresholds at given FARs and draw a DET plot.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use candle_core::Device;
use eval_kit::{MetricsConfig, ScoreCurve, VerificationReport, DEFAULT_FARS};
use serde::Serialize;

use crate::embed::{embed_waveform, eval_fbank, INT16_SCALE};
use crate::models::SpeakerModel;
use crate::train::config::EvalConfig;
use crate::train::data::Utterances;

/// One score threshold of the model bundle: accept when `cosine >= threshold` for at most
/// `far` false accepts on the held-out trials.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Threshold {
    /// The false-accept rate.
    pub far: f64,
    /// The cosine score threshold.
    pub threshold: f64,
}

/// The result of a held-out evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct HeldOutEval {
    /// Held-out speakers.
    pub speakers: usize,
    /// Utterances embedded.
    pub utterances: usize,
    /// Utterances skipped (unreadable or shorter than the model needs), with the reason.
    pub skipped: Vec<String>,
    /// EER, minDCF (p = 0.01) and TAR@FAR of all pairs.
    pub metrics: VerificationReport,
    /// Thresholds at the configured FARs.
    pub thresholds: Vec<Threshold>,
    /// Cosine scores of the trials (not serialized).
    #[serde(skip)]
    pub scores: Vec<f32>,
    /// Whether each trial pairs one speaker (not serialized).
    #[serde(skip)]
    pub is_target: Vec<bool>,
}

/// The utterances evaluated: up to `per_speaker` of each speaker, evenly spread over its list.
fn pick(utterances: &Utterances, per_speaker: usize) -> Vec<usize> {
    let mut by_speaker: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for i in 0..utterances.len() {
        by_speaker.entry(utterances.speaker(i)).or_default().push(i);
    }
    let mut out = Vec::new();
    for members in by_speaker.values() {
        let n = members.len();
        let k = per_speaker.min(n);
        out.extend((0..k).map(|j| members[j * n / k]));
    }
    out
}

/// Embeds the held-out utterances with `model` (eval mode, whole utterances cut to
/// `cfg.max_seconds`) and scores every pair.
pub fn evaluate(
    model: &SpeakerModel,
    utterances: &Utterances,
    cfg: &EvalConfig,
    device: &Device,
) -> anyhow::Result<HeldOutEval> {
    let fbank = eval_fbank(model.config())?;
    let max_samples = (cfg.max_seconds * 16_000.0) as usize;
    let mut embeddings: Vec<(u32, Vec<f32>)> = Vec::new();
    let mut skipped = Vec::new();
    for i in pick(utterances, cfg.utterances_per_speaker) {
        let embedded = utterances
            .waveform(i)
            .map_err(anyhow::Error::from)
            .and_then(|mut wave| {
                wave.truncate(max_samples);
                wave.iter_mut().for_each(|x| *x *= INT16_SCALE);
                embed_waveform(model, &fbank, &wave, device)
            });
        match embedded {
            Ok(e) => embeddings.push((utterances.speaker(i), unit(e))),
            Err(e) => skipped.push(format!("{}: {e:#}", utterances.describe(i))),
        }
    }
    let mut scores = Vec::new();
    let mut is_target = Vec::new();
    for (a, (sa, ea)) in embeddings.iter().enumerate() {
        for (sb, eb) in &embeddings[a + 1..] {
            scores.push(ea.iter().zip(eb).map(|(x, y)| x * y).sum::<f32>());
            is_target.push(sa == sb);
        }
    }
    let speakers = {
        let mut s: Vec<u32> = embeddings.iter().map(|(s, _)| *s).collect();
        s.dedup();
        s.len()
    };
    let metrics = VerificationReport::from_scores(&scores, &is_target, &metrics_config(cfg))
        .with_context(|| {
            format!(
                "scoring {} held-out utterances of {speakers} speakers ({} skipped)",
                embeddings.len(),
                skipped.len()
            )
        })?;
    let thresholds = cfg
        .threshold_fars
        .iter()
        .filter_map(|&far| {
            metrics
                .tar_at_far
                .iter()
                .find(|t| t.far == far)
                .map(|t| Threshold {
                    far,
                    threshold: t.threshold,
                })
        })
        .collect();
    Ok(HeldOutEval {
        speakers,
        utterances: embeddings.len(),
        skipped,
        metrics,
        thresholds,
        scores,
        is_target,
    })
}

/// wespeaker's minDCF (p = 0.01) and TAR at eval-kit's default FARs plus the threshold FARs.
fn metrics_config(cfg: &EvalConfig) -> MetricsConfig {
    let mut fars: Vec<f64> = DEFAULT_FARS.to_vec();
    for f in &cfg.threshold_fars {
        if !fars.contains(f) {
            fars.push(*f);
        }
    }
    fars.sort_by(f64::total_cmp);
    MetricsConfig {
        fars,
        ..MetricsConfig::default()
    }
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// Draws the DET curve of `eval` into `path` (PNG).
pub fn plot_det(
    path: &Path,
    eval: &HeldOutEval,
    cfg: &EvalConfig,
    title: &str,
) -> anyhow::Result<()> {
    let curve = ScoreCurve::new(&eval.scores, &eval.is_target)?;
    eval_kit::plot::plot_curve(
        path,
        &curve,
        &eval.metrics,
        &metrics_config(cfg),
        eval_kit::plot::CurveKind::Det,
        title,
    )?;
    Ok(())
}
