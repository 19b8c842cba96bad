//! A3M-I triggers: a monitor of target starvation (p_y = 0) and the re-initialization policy.
//! The paper gives no schedule, so both "at step/epoch N" and "when the monitor fires" exist.

use std::collections::VecDeque;

use crate::loss::Telemetry;

/// Settings of the [`CollapseMonitor`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollapseMonitorConfig {
    /// Fires when the fraction of samples with p_y = 0 over the window exceeds this.
    pub threshold: f64,
    /// Number of recent batches the fraction is taken over.
    pub window: usize,
    /// Batches to wait after firing before it may fire again.
    pub cooldown: usize,
}

impl Default for CollapseMonitorConfig {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            window: 50,
            cooldown: 500,
        }
    }
}

/// Watches the fraction of samples whose target got p_y = 0 and says when to re-initialize.
#[derive(Debug, Clone)]
pub struct CollapseMonitor {
    config: CollapseMonitorConfig,
    recent: VecDeque<(usize, usize)>,
    zero_total: usize,
    row_total: usize,
    since_fire: usize,
}

impl CollapseMonitor {
    /// A monitor with an empty window.
    pub fn new(config: CollapseMonitorConfig) -> Self {
        Self {
            config,
            recent: VecDeque::with_capacity(config.window.max(1)),
            zero_total: 0,
            row_total: 0,
            since_fire: usize::MAX,
        }
    }

    /// The fraction of starved targets over the current window (0 when empty).
    pub fn rate(&self) -> f64 {
        if self.row_total == 0 {
            0.0
        } else {
            self.zero_total as f64 / self.row_total as f64
        }
    }

    /// Records one batch; true when the window is full, its starvation rate exceeds the
    /// threshold and the cooldown has passed. Firing clears the window.
    pub fn observe(&mut self, telemetry: &Telemetry) -> bool {
        let zeros = (telemetry.frac_target_zero * telemetry.rows as f64).round() as usize;
        self.recent.push_back((zeros, telemetry.rows));
        self.zero_total += zeros;
        self.row_total += telemetry.rows;
        while self.recent.len() > self.config.window.max(1) {
            if let Some((z, r)) = self.recent.pop_front() {
                self.zero_total -= z;
                self.row_total -= r;
            }
        }
        self.since_fire = self.since_fire.saturating_add(1);
        let full = self.recent.len() >= self.config.window.max(1);
        if full && self.rate() > self.config.threshold && self.since_fire > self.config.cooldown {
            self.recent.clear();
            self.zero_total = 0;
            self.row_total = 0;
            self.since_fire = 0;
            true
        } else {
            false
        }
    }
}

/// Why a re-initialization is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReinitReason {
    /// A scheduled step was reached.
    Step(u64),
    /// A scheduled epoch started.
    Epoch(u64),
    /// The collapse monitor fired.
    Collapse,
}

/// When A3M-I re-initializes prototypes: at given steps, at the start of given epochs, and/or
/// when the collapse monitor fires.
#[derive(Debug, Clone, Default)]
pub struct ReinitPolicy {
    /// Global steps (0-based, before the step runs) at which to re-initialize.
    pub at_steps: Vec<u64>,
    /// Epochs (0-based) at whose start to re-initialize.
    pub at_epochs: Vec<u64>,
    /// The monitor, if re-initialization on collapse is wanted.
    pub monitor: Option<CollapseMonitor>,
}

impl ReinitPolicy {
    /// Checks the schedule before step `step`; `epoch_start` is `Some(epoch)` on the first step
    /// of an epoch.
    pub fn scheduled(&self, step: u64, epoch_start: Option<u64>) -> Option<ReinitReason> {
        if self.at_steps.contains(&step) {
            return Some(ReinitReason::Step(step));
        }
        match epoch_start {
            Some(e) if self.at_epochs.contains(&e) => Some(ReinitReason::Epoch(e)),
            _ => None,
        }
    }

    /// Feeds a batch's telemetry to the monitor; `Some(Collapse)` when it fires.
    pub fn observe(&mut self, telemetry: &Telemetry) -> Option<ReinitReason> {
        let fired = self.monitor.as_mut().is_some_and(|m| m.observe(telemetry));
        fired.then_some(ReinitReason::Collapse)
    }
}
