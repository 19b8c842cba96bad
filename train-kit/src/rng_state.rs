//! The trainer's random generator and its serialisable position.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// The exact position of a [`ChaCha8Rng`]: seed, stream and word position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RngState {
    /// The 32-byte seed as 64 hex digits.
    pub seed_hex: String,
    /// The stream number.
    pub stream: u64,
    /// Words consumed so far, as decimal text (a u128 does not fit JSON numbers).
    pub word_pos: String,
}

impl RngState {
    /// Captures the position of `rng`.
    pub fn capture(rng: &ChaCha8Rng) -> Self {
        let seed_hex = rng.get_seed().iter().map(|b| format!("{b:02x}")).collect();
        Self {
            seed_hex,
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// Rebuilds the generator at the captured position.
    pub fn restore(&self) -> Result<ChaCha8Rng> {
        let bad = |reason| TrainError::InvalidConfig {
            field: "rng",
            value: format!("{self:?}"),
            reason,
        };
        if self.seed_hex.len() != 64 || !self.seed_hex.is_ascii() {
            return Err(bad("seed_hex must be 64 hex digits"));
        }
        let mut seed = [0u8; 32];
        for (i, byte) in seed.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&self.seed_hex[2 * i..2 * i + 2], 16)
                .map_err(|_| bad("seed_hex must be 64 hex digits"))?;
        }
        let word_pos: u128 = self
            .word_pos
            .parse()
            .map_err(|_| bad("word_pos must be a decimal u128"))?;
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(word_pos);
        Ok(rng)
    }
}
