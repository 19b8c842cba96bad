//! `speaker-app` as a library: the parts the binary, the tests and the benchmarks share.
//!
//! * [`fbank`]: Kaldi-compatible log-mel filterbank features (wespeaker's frontend).
//! * [`models`]: speaker backbones with wespeaker names (ResNet34, ECAPA-TDNN c512/c1024, a small
//!   CPU ResNet), model bundles and `.pth` import.
//! * [`embed`]: whole-utterance embeddings for evaluation (fbank without dither, CMN, batch 1).
//! * [`inputs`]: the utterances to embed from files, folders and lists, with their store keys.
//! * [`train`]: the training loop of `speaker-app train` (config, data, augmentation, margin
//!   schedule, A3M-I, held-out evaluation).
//! * [`model_source`]: `--model DIR` / `--hub OWNER/NAME` / `--pth FILE`, and the HF cache.

pub mod embed;
pub mod fbank;
pub mod inputs;
pub mod model_source;
pub mod models;
pub mod train;
