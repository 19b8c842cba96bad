//! Speech readers: audio decoding and resampling (WAV, FLAC, Ogg Vorbis, M4A), Kaldi data dirs and
//! wespeaker raw lists.

use datasets::speech::audio::load_mono;
use datasets::speech::lists::{read_kaldi_dir, read_wespeaker_raw_list};

use crate::mutate::{fixture, fuzz_file};

#[test]
fn audio_files() {
    for (seed, file) in [
        (11u64, "speech16k.wav"),
        (12, "speech8k.wav"),
        (13, "speech16k.flac"),
        (14, "speech16k.ogg"),
        (15, "speech16k.m4a"),
        (16, "stereo44k.flac"),
    ] {
        let input = std::fs::read(fixture(&format!("speech/{file}"))).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let name = format!("fuzz-{file}");
        fuzz_file(seed, dir.path(), &name, &input, false, &name, |path| {
            let wave = load_mono(path, 16_000).map_err(|e| e.to_string())?;
            if wave.iter().any(|x| !x.is_finite()) {
                return Err(format!(
                    "{}: a non-finite sample slipped through",
                    path.display()
                ));
            }
            Ok(())
        });
    }
}

#[test]
fn kaldi_dirs_and_raw_lists() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("speech/speech16k.wav"), dir.path().join("a.wav")).unwrap();
    let scp = "utt1 a.wav\nutt2 a.wav\nutt3 /abs/missing.wav\n";
    let spk = "utt1 spk1\nutt2 spk2\nutt3 spk2\n";
    std::fs::write(dir.path().join("utt2spk"), spk).unwrap();
    fuzz_file(
        21,
        dir.path(),
        "wav.scp",
        scp.as_bytes(),
        true,
        "wav.scp",
        |_| {
            read_kaldi_dir(dir.path())
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    );
    std::fs::write(dir.path().join("wav.scp"), scp).unwrap();
    fuzz_file(
        22,
        dir.path(),
        "utt2spk",
        spk.as_bytes(),
        true,
        "utt2spk",
        |_| {
            read_kaldi_dir(dir.path())
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    );
    let raw = "{\"key\": \"u1\", \"spk\": \"s1\", \"wav\": \"a.wav\"}\n{\"key\": \"u2\", \"spk\": \"s2\", \"wav\": \"a.wav\", \"vad\": [0.1, 0.5]}\n";
    fuzz_file(
        23,
        dir.path(),
        "raw.list",
        raw.as_bytes(),
        true,
        "raw.list",
        |path| {
            read_wespeaker_raw_list(path)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    );
}
