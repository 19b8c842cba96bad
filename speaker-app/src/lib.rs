//! `speaker-app` as a library: the parts the binary, the tests and the benchmarks share.
//!
//! * [`fbank`]: Kaldi-compatible log-mel filterbank features (wespeaker's frontend).

pub mod fbank;
