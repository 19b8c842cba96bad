//! The fuzz suite: every reader of the workspace (RecordIO, insightface `.bin`, image lists,
//! JPEG / PNG, WAV / FLAC / Ogg / M4A, Kaldi and wespeaker lists, trial and score files,
//! embedding stores, run configs, bundles, checkpoints) gets a few hundred seeded mutations of a
//! valid input: bit flips, truncations, overwritten length fields, NaN / huge numbers. Each
//! must give a value or an error naming the input; a panic fails the test with the seed and the
//! round, and an abort (an allocation sized by a corrupt length) would kill the run.
//!
//! app-kit runs it because it depends on every library crate. Fixtures are the libraries' own.

mod mutate;
mod readers_face;
mod readers_run;
mod readers_scores;
mod readers_speech;
