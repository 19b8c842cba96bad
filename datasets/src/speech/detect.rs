//! What a speech data path holds, decided in one place for `data check` and for training: a
//! Kaldi data dir (`wav.scp` + `utt2spk`), a VoxCeleb-layout folder, or a wespeaker raw list.

use std::path::Path;

use crate::error::{DataError, Result};
use crate::speech::lists::{
    read_kaldi_dir, read_voxceleb_dir, read_wespeaker_raw_list, UtteranceList,
};

/// Reads the utterance list `path` holds and names its format (`kaldi`, `voxceleb` or
/// `wespeaker-raw`). A missing path, a folder of neither layout, or a list without utterances
/// is an error naming the path.
pub fn read_list(path: &Path) -> Result<(UtteranceList, &'static str)> {
    if crate::speech::check::is_audio_file(path) {
        return Err(DataError::format(
            path,
            "an audio file, not a data set (expected a VoxCeleb folder, a wespeaker raw list or a Kaldi data dir)",
        ));
    }
    let metadata = std::fs::metadata(path).map_err(|e| {
        DataError::io(
            path,
            std::io::Error::new(
                e.kind(),
                "no such file or folder (expected a VoxCeleb folder, a wespeaker raw list, a Kaldi data dir, `synthetic` or `debian`)",
            ),
        )
    })?;
    let (list, format) = if metadata.is_dir() && path.join("wav.scp").is_file() {
        (read_kaldi_dir(path)?, "kaldi")
    } else if metadata.is_dir() {
        (read_voxceleb_dir(path)?, "voxceleb")
    } else {
        (read_wespeaker_raw_list(path)?, "wespeaker-raw")
    };
    if list.is_empty() {
        return Err(DataError::format(path, "no utterances found"));
    }
    Ok((list, format))
}
