//! One module per subcommand.

pub mod data;
pub mod download;
pub mod embed;
pub mod eval;
pub mod fbank;
pub mod train;
pub mod verify;
