//! α-divergence Fenchel-Young losses with a reference measure (Roulet et al., ICML 2025), the
//! margins that biometric verification trains with (softmax, CosFace, ArcFace, combined,
//! Q-Margin, A3M) and the margin head that owns the class prototypes.
//!
//! See `README.md` in this crate for the mathematics and every decision taken where the paper
//! is silent.

mod cpu_op;
mod dense;
pub mod divergence;
mod generic;
mod kernels;
#[cfg(target_arch = "x86_64")]
mod kernels_avx512;
mod loss;
mod measure;
mod solver;

pub use loss::{
    alpha_divergence_loss, alpha_loss, alpha_softargmax, alpha_softargmax_with, Backend,
    LossOutput, Telemetry,
};
pub use measure::ReferenceMeasure;
mod class_means;
mod collapse;
mod config;
mod head;
mod margin;
mod margin_schedule;
mod telemetry;

pub use class_means::ClassMeans;
pub use collapse::{CollapseMonitor, CollapseMonitorConfig, ReinitPolicy, ReinitReason};
pub use config::{
    LossConfig, LossKind, MonitorSettings, ReinitConfig, DEFAULT_ALPHA, DEFAULT_REINIT_PER_CLASS,
    DEFAULT_SCALE,
};
pub use head::{l2_normalize, HeadOutput, MarginHead};
pub use margin::{
    apply_logit_margin, q_margin_prior, AngularGradient, BaseMeasure, LogitMargin, LossSpec,
    Margin, MarginSpec,
};
pub use margin_schedule::{IncreaseType, MarginSchedule, MarginScheduleConfig};
pub use telemetry::{TelemetryWindow, TELEMETRY_FIELDS};
