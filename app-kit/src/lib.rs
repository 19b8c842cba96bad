//! What the face and speaker binaries share, so each app only adds its modality.
//!
//! * [`config`]: the run config, one vocabulary for both apps (`[data]` `[model]` `[loss]`
//!   `[margin_schedule]` `[optim]` `[schedule]` `[train]` `[checkpoint]` `[eval]`).
//! * [`app`] and [`task`]: an app's [`TrainApp`](app::TrainApp) and the verification training
//!   task that runs it through train-kit's run loop.
//! * [`registry`]: backbone registries (one file and one line per backbone).
//! * [`bundle`]: trained models on disk; [`model`]: `--model` / `--hub` / `--pth` / `--device`;
//!   [`hub`]: the Hugging Face Hub cache; [`device`]: device choice.
//! * [`sweep`]: loss-comparison sweeps with identity-bootstrap intervals and their write-up.
//! * [`cli`]: the `train`, `sweep`, `verify` and `download` commands.

pub mod app;
pub mod bundle;
pub mod cli;
pub mod config;
pub mod device;
pub mod hub;
pub mod model;
pub mod registry;
pub mod sweep;
pub mod task;

pub use app::{config_from_toml, load_config, AppConfig, OpenedData, TrainApp};
pub use bundle::{BundleMeta, CONFIG_FILE, WEIGHTS_FILE};
pub use config::{AppSection, RunConfig};
pub use device::DeviceChoice;
pub use model::{LoadedModel, ModelArgs};
pub use registry::{Arch, Backbone, Preset, Registry};
pub use task::{train, TrainOptions, TrainOutcome, VerificationTask};
