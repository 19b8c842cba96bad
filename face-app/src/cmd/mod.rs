//! One module per subcommand.

pub mod data;
pub mod download;
pub mod embed;
pub mod eval;
pub mod eval_ijb;
pub mod train;
pub mod verify;
