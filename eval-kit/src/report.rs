//! All metrics of one scored trial list in one serializable report.

use serde::Serialize;

use crate::curve::ScoreCurve;
use crate::det::{eer, min_dcf, DcfParams, Eer, MinDcf};
use crate::error::MetricError;
use crate::far::{tar_at_far, FarRule, TarAtFar, DEFAULT_FARS};

/// What [`VerificationReport::new`] computes.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    /// minDCF parameters.
    pub dcf: DcfParams,
    /// FARs of the TAR@FAR table.
    pub fars: Vec<f64>,
    /// How each TAR@FAR point is chosen.
    pub far_rule: FarRule,
}

impl Default for MetricsConfig {
    /// wespeaker's minDCF (0.01, 1, 1), FARs 1e-6..1e-1, strict FAR rule.
    fn default() -> Self {
        Self {
            dcf: DcfParams::default(),
            fars: DEFAULT_FARS.to_vec(),
            far_rule: FarRule::AtMost,
        }
    }
}

/// EER, minDCF and TAR@FAR of a trial list. Serializes to the JSON object
/// printed by `eval-kit metrics --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerificationReport {
    /// Number of target trials.
    pub n_target: u64,
    /// Number of nontarget trials.
    pub n_nontarget: u64,
    /// Equal error rate, a fraction.
    pub eer: f64,
    /// Threshold of the EER (accept when score > threshold).
    pub eer_threshold: f64,
    /// Normalized minDCF.
    pub min_dcf: f64,
    /// The minDCF target prior.
    pub p_target: f64,
    /// TAR at each requested FAR.
    pub tar_at_far: Vec<TarAtFar>,
}

impl VerificationReport {
    /// Computes every metric from one sorted curve.
    pub fn new(curve: &ScoreCurve, config: &MetricsConfig) -> Result<Self, MetricError> {
        let Eer { rate, threshold } = eer(curve);
        let MinDcf { value, .. } = min_dcf(curve, config.dcf)?;
        Ok(Self {
            n_target: curve.n_target(),
            n_nontarget: curve.n_nontarget(),
            eer: rate,
            eer_threshold: threshold,
            min_dcf: value,
            p_target: config.dcf.p_target,
            tar_at_far: tar_at_far(curve, &config.fars, config.far_rule)?,
        })
    }

    /// Sorts `scores` and computes every metric.
    pub fn from_scores(
        scores: &[f64],
        is_target: &[bool],
        config: &MetricsConfig,
    ) -> Result<Self, MetricError> {
        Self::new(&ScoreCurve::new(scores, is_target)?, config)
    }
}
