//! End-to-end tests of the `speaker-app` binary.

mod data_cli;
mod fbank;
mod fbank_cli;
