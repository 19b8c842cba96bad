//! The commands and flags both binaries share: `train`, `sweep`, `verify` and `download`.

pub mod download;
pub mod sweep;
pub mod train;
pub mod verify;

use std::process::ExitCode;

/// The `main` of both binaries: tunes glibc's allocator (see `train_kit::alloc`), parses the
/// subcommand `C` of the command line for the binary `name`, runs `dispatch` on it, and prints
/// an error as `error: a: b: c` with exit code 1 (clap's own usage errors exit with 2).
pub fn main<C: clap::Subcommand>(
    name: &'static str,
    about: &'static str,
    version: &'static str,
    dispatch: impl FnOnce(C) -> anyhow::Result<()>,
) -> ExitCode {
    train_kit::alloc::tune_glibc_malloc();
    let mut command = C::augment_subcommands(
        clap::Command::new(name)
            .version(version)
            .about(about)
            .subcommand_required(true)
            .arg_required_else_help(true),
    );
    let matches = command.get_matches_mut();
    let parsed = match C::from_arg_matches(&matches) {
        Ok(parsed) => parsed,
        Err(e) => e.format(&mut command).exit(),
    };
    match dispatch(parsed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
