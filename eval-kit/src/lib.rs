//! Verification metrics and protocols for face and speaker verification.
//!
//! eval-kit reads scores, labels and embeddings; it knows nothing about
//! models. Convention everywhere: a higher score means "same identity".
//!
//! - Metrics: [`ScoreCurve`] sorts once; [`eer`], [`min_dcf`] (wespeaker),
//!   [`tar_at_far`] (strict or insightface rule), [`Roc`] (scikit-learn),
//!   [`det_points`], all gathered by [`VerificationReport`].
//! - Inputs: scored trial files and Kaldi / VoxCeleb trial lists ([`trials`]),
//!   the embedding store ([`store`], format documented there).
//! - Protocols: cosine scoring with mean subtraction and AS-norm
//!   ([`scoring`]), LFW-style 10-fold pairs ([`pairs`]), IJB-B/C 1:1 ([`ijb`]), and
//!   held-out all-pairs verification after training ([`heldout`]) with confidence intervals
//!   from resampled identities ([`bootstrap`]).
//! - Plots (feature `plot`): ROC and DET curves as PNG or SVG.
//!
//! Every failure is a [`MetricError`] naming the file, line, key or value.

pub mod bootstrap;
pub mod curve;
pub mod det;
pub mod error;
pub mod far;
pub mod heldout;
pub mod ijb;
pub mod pairs;
#[cfg(feature = "plot")]
pub mod plot;
mod radix;
pub mod report;
pub mod roc;
pub mod scoring;
pub mod store;
pub mod trials;

pub use bootstrap::{BootstrapConfig, IdentityPairs, Interval, Replicates, MIN_FALSE_ACCEPTS};
pub use curve::ScoreCurve;
pub use det::{det_points, eer, min_dcf, DcfParams, DetPoint, Eer, MinDcf};
pub use error::MetricError;
pub use far::{tar_at_far, FarRule, TarAtFar, DEFAULT_FARS};
pub use heldout::{FarThreshold, HeldoutEmbeddings, HeldoutReport};
pub use report::{MetricsConfig, VerificationReport};
pub use roc::Roc;
pub use store::{EmbeddingStore, MappedEmbeddings};
