//! The commands and flags both binaries share: `train`, `verify` and `download`.

pub mod download;
pub mod train;
pub mod verify;
