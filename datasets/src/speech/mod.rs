//! Speech data: audio decoding and resampling, VoxCeleb / wespeaker / Kaldi lists, chunks,
//! synthetic and Debian voices, loader sources and the `data check` report.
//!
//! The usual path: a list ([`lists::read_voxceleb_dir`], [`lists::read_wespeaker_raw_list`],
//! [`lists::read_kaldi_dir`], [`debian::discover_debian_voices`]) becomes a
//! [`source::SpeechFileSource`]; [`synthetic::SyntheticVoices`] becomes a
//! [`source::SyntheticSource`]. Either goes into [`crate::loader::Loader`], which yields
//! `(B, chunk_samples)` 16 kHz waveform batches with `(B,)` speaker labels.
//!
//! Training reads a [`corpus::Corpus`] ([`corpus::open`]: format detected by
//! [`detect::read_list`], speakers split by [`crate::split`]) and cuts
//! [`training::TrainChunks`]: speed perturbation as extra classes ([`labels::SpeedLabels`]) and
//! MUSAN / RIR augmentation ([`augment`]).

pub mod audio;
pub mod augment;
pub mod check;
pub mod chunk;
pub mod corpus;
pub mod debian;
pub mod detect;
pub mod labels;
pub mod lists;
pub mod source;
pub mod synthetic;
pub mod training;
