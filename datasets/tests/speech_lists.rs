//! Speech lists (VoxCeleb folders, wespeaker raw lists, Kaldi dirs) and the `data check` report.

use datasets::speech::audio::write_wav_pcm16;
use datasets::speech::check::{check_speech_data, DataCheckReport};
use datasets::speech::lists::{read_kaldi_dir, read_voxceleb_dir, read_wespeaker_raw_list};
use std::fs;
use std::path::Path;

/// Writes a 16 kHz mono WAV of `samples` zero-ish samples at `path`, creating folders.
fn write_clip(path: &Path, samples: usize) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let wave: Vec<f32> = (0..samples)
        .map(|n| 0.1 * (n as f32 * 0.05).sin())
        .collect();
    write_wav_pcm16(path, &wave, 16_000).unwrap();
}

/// A VoxCeleb-layout tree: id2 has 2 utterances, id1 one, plus a stray text file.
fn voxceleb_tree(root: &Path) {
    write_clip(&root.join("id2/vidB/00001.wav"), 16_000);
    write_clip(&root.join("id2/vidA/00002.wav"), 8_000);
    write_clip(&root.join("id1/vidC/00001.wav"), 24_000);
    fs::write(root.join("id1/vidC/notes.txt"), "not audio").unwrap();
}

#[test]
fn voxceleb_dir_gives_sorted_keys_and_wespeaker_labels() {
    let dir = tempfile::tempdir().unwrap();
    voxceleb_tree(dir.path());
    let list = read_voxceleb_dir(dir.path()).unwrap();
    let keys: Vec<&str> = list.entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "id1/vidC/00001.wav",
            "id2/vidA/00002.wav",
            "id2/vidB/00001.wav"
        ]
    );
    assert_eq!(list.speakers, ["id1", "id2"]);
    assert_eq!(list.labels, [0, 1, 1]);
    assert_eq!(list.entries[1].path, dir.path().join("id2/vidA/00002.wav"));
}

#[test]
fn empty_voxceleb_dir_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("id1/vid")).unwrap();
    let message = read_voxceleb_dir(dir.path()).unwrap_err().to_string();
    assert!(message.contains("no utterances"), "{message}");
}

#[test]
fn wespeaker_raw_list_resolves_paths_and_ignores_extra_fields() {
    let dir = tempfile::tempdir().unwrap();
    let list_path = dir.path().join("raw.list");
    let text = concat!(
        r#"{"key": "a/1.wav", "spk": "spkB", "wav": "/abs/a1.wav"}"#,
        "\n\n",
        r#"{"key": "b/1.wav", "spk": "spkA", "wav": "audio/b1.wav", "vad": [[0.0, 1.5]]}"#,
        "\n"
    );
    fs::write(&list_path, text).unwrap();
    let list = read_wespeaker_raw_list(&list_path).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list.entries[0].path, Path::new("/abs/a1.wav"));
    assert_eq!(list.entries[1].path, dir.path().join("audio/b1.wav"));
    assert_eq!(
        (list.entries[0].speaker.as_str(), list.labels.as_slice()),
        ("spkB", &[1, 0][..])
    );
}

#[test]
fn malformed_raw_list_lines_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let list_path = dir.path().join("raw.list");
    let good = r#"{"key": "k1", "spk": "s", "wav": "x.wav"}"#;
    for (bad, expected) in [
        (r#"{"key": "k2", "spk": "s"}"#, "missing field `wav`"),
        ("k2 s x.wav", "line 3"),
        (
            r#"{"key": "k2", "spk": "s", "wav": "sox x.flac -t wav - |"}"#,
            "piped commands",
        ),
    ] {
        fs::write(&list_path, format!("{good}\n{good}\n{bad}\n")).unwrap();
        let message = read_wespeaker_raw_list(&list_path).unwrap_err().to_string();
        assert!(
            message.contains("raw.list") && message.contains("line 3"),
            "{message}"
        );
        assert!(message.contains(expected), "{message}");
    }
}

#[test]
fn kaldi_dir_joins_wav_scp_and_utt2spk() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("wav.scp"),
        "u2 wavs/u2.wav\nu1 /data/u 1.wav\n",
    )
    .unwrap();
    fs::write(dir.path().join("utt2spk"), "u1 bob\nu2 alice\n").unwrap();
    let list = read_kaldi_dir(dir.path()).unwrap();
    assert_eq!(list.entries[0].key, "u2");
    assert_eq!(list.entries[0].path, dir.path().join("wavs/u2.wav"));
    assert_eq!(
        list.entries[1].path,
        Path::new("/data/u 1.wav"),
        "the rest of the line is the path"
    );
    assert_eq!(list.speakers, ["alice", "bob"]);
    assert_eq!(list.labels, [0, 1]);
}

#[test]
fn kaldi_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "u1 a.wav\nu2\n",
            "u1 s\nu2 s\n",
            "wav.scp: line 2: expected `key value`",
        ),
        (
            "u1 a.wav\nu2 b.wav\n",
            "u1 s\n",
            "wav.scp: line 2: key \"u2\" has no speaker",
        ),
        (
            "u1 a.wav\n",
            "u1 s\nu1 t\n",
            "utt2spk: line 2: duplicate key \"u1\" (first on line 1)",
        ),
        (
            "u1 gunzip -c a.wav.gz |\n",
            "u1 s\n",
            "wav.scp: line 1: piped commands",
        ),
    ];
    for (scp, utt2spk, expected) in cases {
        fs::write(dir.path().join("wav.scp"), scp).unwrap();
        fs::write(dir.path().join("utt2spk"), utt2spk).unwrap();
        let message = read_kaldi_dir(dir.path()).unwrap_err().to_string();
        assert!(
            message.contains(expected),
            "{message:?} should contain {expected:?}"
        );
    }
}

#[test]
fn check_report_counts_readable_and_unreadable_utterances() {
    let dir = tempfile::tempdir().unwrap();
    voxceleb_tree(dir.path());
    fs::create_dir_all(dir.path().join("id3/vidD")).unwrap();
    fs::write(dir.path().join("id3/vidD/broken.wav"), b"RIFF....WAVEjunk").unwrap();
    let report = check_speech_data(dir.path().to_str().unwrap(), 0.0).unwrap();
    assert_eq!(report.format, "voxceleb");
    assert_eq!(
        (report.speakers, report.utterances, report.unreadable),
        (2, 3, 1)
    );
    assert!(
        (report.seconds - 3.0).abs() < 1e-9,
        "16000 + 8000 + 24000 samples at 16 kHz = 3 s, got {}",
        report.seconds
    );
    assert_eq!(report.unreadable_examples.len(), 1);
    assert!(
        report.unreadable_examples[0].contains("broken.wav"),
        "{:?}",
        report.unreadable_examples
    );
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "format",
            "min_seconds",
            "seconds",
            "speakers",
            "too_short",
            "too_short_examples",
            "unreadable",
            "unreadable_examples",
            "utterances"
        ]
    );
}

#[test]
fn check_detects_kaldi_and_raw_lists() {
    let dir = tempfile::tempdir().unwrap();
    write_clip(&dir.path().join("a.wav"), 4_000);
    fs::write(dir.path().join("wav.scp"), "u1 a.wav\nu2 missing.wav\n").unwrap();
    fs::write(dir.path().join("utt2spk"), "u1 s1\nu2 s2\n").unwrap();
    let report = check_speech_data(dir.path().to_str().unwrap(), 0.0).unwrap();
    assert_eq!(
        (
            report.format.as_str(),
            report.speakers,
            report.utterances,
            report.unreadable
        ),
        ("kaldi", 1, 1, 1)
    );
    assert!(report.unreadable_examples[0].contains("missing.wav"));

    let raw = dir.path().join("raw.list");
    fs::write(&raw, r#"{"key": "u1", "spk": "s1", "wav": "a.wav"}"#).unwrap();
    let report = check_speech_data(raw.to_str().unwrap(), 0.0).unwrap();
    let expected = DataCheckReport {
        format: "wespeaker-raw".into(),
        speakers: 1,
        utterances: 1,
        seconds: 0.25,
        unreadable: 0,
        unreadable_examples: vec![],
        too_short: 0,
        too_short_examples: vec![],
        min_seconds: 0.0,
    };
    assert_eq!(report, expected);
}

#[test]
fn check_fails_only_when_the_path_itself_is_unreadable() {
    let message = check_speech_data("/no/such/speech/data", 0.0)
        .unwrap_err()
        .to_string();
    assert!(message.contains("/no/such/speech/data"), "{message}");
}

#[test]
fn check_synthetic_reports_the_default_corpus() {
    let report = check_speech_data("synthetic", 1.0).unwrap();
    assert_eq!(
        (
            report.format.as_str(),
            report.speakers,
            report.utterances,
            report.unreadable
        ),
        ("synthetic", 40, 400, 0)
    );
    // Utterances last 2-4 s each.
    assert!(
        (800.0..=1600.0).contains(&report.seconds),
        "{} s",
        report.seconds
    );
}
