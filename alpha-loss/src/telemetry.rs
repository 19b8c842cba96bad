//! The telemetry schema both apps log: the per-batch [`Telemetry`] of the α-posterior averaged
//! over the steps between two metrics lines, under one set of names.

use crate::loss::Telemetry;

/// Mean telemetry over the batches seen since the last [`take`](Self::take).
///
/// The fields, as logged: `p_target` (mean probability of the target class), `p_y_zero`
/// (fraction of rows whose target got p_y = 0), `support_mean` (mean number of classes with
/// p_j > 0) and `support_max` (the largest support of any row).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelemetryWindow {
    batches: usize,
    p_target: f64,
    p_zero: f64,
    support: f64,
    support_max: usize,
}

/// The names of the logged fields, in order.
pub const TELEMETRY_FIELDS: [&str; 4] = ["p_target", "p_y_zero", "support_mean", "support_max"];

impl TelemetryWindow {
    /// Adds one batch.
    pub fn add(&mut self, t: &Telemetry) {
        self.batches += 1;
        self.p_target += t.mean_p_target;
        self.p_zero += t.frac_target_zero;
        self.support += t.mean_support;
        self.support_max = self.support_max.max(t.max_support);
    }

    /// Batches added since the last take.
    pub fn batches(&self) -> usize {
        self.batches
    }

    /// The means as `(name, value)` pairs named by [`TELEMETRY_FIELDS`] (empty when no batch was
    /// added), and an empty window.
    pub fn take(&mut self) -> Vec<(&'static str, f64)> {
        let w = std::mem::take(self);
        if w.batches == 0 {
            return Vec::new();
        }
        let n = w.batches as f64;
        vec![
            (TELEMETRY_FIELDS[0], w.p_target / n),
            (TELEMETRY_FIELDS[1], w.p_zero / n),
            (TELEMETRY_FIELDS[2], w.support / n),
            (TELEMETRY_FIELDS[3], w.support_max as f64),
        ]
    }
}
