//! `speaker-app` as a library: the parts the binary, the tests and the benchmarks share.
//!
//! * [`fbank`]: Kaldi-compatible log-mel filterbank features (wespeaker's frontend).
//! * [`models`]: speaker backbones with wespeaker names (ResNet34, ECAPA-TDNN c512/c1024, a small
//!   CPU ResNet) and their registry.
//! * [`embed`]: whole-utterance embeddings for evaluation (fbank without dither, CMN, batch 1).
//! * [`inputs`]: the utterances to embed from files, folders and lists, with their store keys.
//! * [`train`]: voices as app-kit's training app (data, chunks, features, evaluation embeddings);
//!   its own config keys are in [`config`].

pub mod config;
pub mod embed;
pub mod fbank;
pub mod inputs;
pub mod models;
pub mod train;

/// A speaker model loaded by `--model` / `--hub` / `--pth`.
pub type LoadedModel = app_kit::LoadedModel<models::SpeakerModel>;
