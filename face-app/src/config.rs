//! Face-app's own keys of the run config: `[data.synthetic]` (generated faces) and the `[eval]`
//! settings of its embeddings and validation sets. The shared keys are app-kit's.

use std::path::PathBuf;

use anyhow::{bail, Result};
use app_kit::AppSection;
use serde::{Deserialize, Serialize};

/// Face-app's own `[data]` keys.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FaceData {
    /// `[data.synthetic]`: the generated faces (`data.source = "synthetic"`).
    #[serde(default)]
    pub synthetic: SyntheticSettings,
    /// Train on damaged JPEGs as far as they decode (the missing part grey) instead of skipping
    /// and counting them; off by default, as PIL refuses such files.
    #[serde(default)]
    pub lenient_jpeg: bool,
}

/// `[data.synthetic]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticSettings {
    /// All identities, the held-out ones (the last `eval.heldout_identities`) included.
    pub identities: usize,
    /// Images per identity.
    pub images_per_identity: usize,
    /// Seed of the faces (independent of the training seed).
    #[serde(default)]
    pub seed: u64,
}

impl Default for SyntheticSettings {
    fn default() -> Self {
        Self {
            identities: 100,
            images_per_identity: 20,
            seed: 0,
        }
    }
}

impl AppSection for FaceData {
    fn validate(&self) -> Result<()> {
        let s = &self.synthetic;
        if s.identities < 2 || s.images_per_identity < 2 {
            bail!(
                "data.synthetic: identities ({}) and images_per_identity ({}) must be at least 2",
                s.identities,
                s.images_per_identity
            );
        }
        Ok(())
    }
}

/// Face-app's own `[eval]` keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceEval {
    /// insightface validation sets (`lfw.bin`, ...): 10-fold accuracy with flip TTA.
    #[serde(default)]
    pub val_bins: Vec<PathBuf>,
    /// Validate every this many steps (0: only at the end).
    #[serde(default)]
    pub val_every_steps: u64,
    /// Add the mirrored image's embedding (insightface's evaluation).
    #[serde(default = "yes")]
    pub flip_tta: bool,
    /// Images per forward pass when embedding.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
}

fn yes() -> bool {
    true
}
fn default_batch() -> usize {
    64
}

impl Default for FaceEval {
    fn default() -> Self {
        Self {
            val_bins: Vec::new(),
            val_every_steps: 0,
            flip_tta: true,
            batch_size: default_batch(),
        }
    }
}

impl AppSection for FaceEval {
    fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            bail!("eval.batch_size = 0: must be at least 1");
        }
        Ok(())
    }
}
