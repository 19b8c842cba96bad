//! `speaker-app embed`: folders (VoxCeleb keys), lists with `--root`, unreadable files skipped and
//! reported, and stored vectors equal to the library's `embed_file`. Also the helpers the other
//! inference tests share (binary runner, WAV writer, a small saved bundle).

use std::path::{Path, PathBuf};
use std::process::Command;

use app_kit::bundle::{save_bundle, BundleMeta};
use app_kit::model::load_bundle;
use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use eval_kit::EmbeddingStore;
use serde_json::Value;
use speaker_app::embed::{embed_file, eval_fbank};
use speaker_app::models::{SpeakerModel, REGISTRY};

/// Runs the binary with `args` and extra environment variables; (success, stdout, stderr).
pub fn speaker_app_env(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_speaker-app"));
    cmd.args(args);
    for key in ["HF_HUB_OFFLINE", "HF_HOME", "HF_HUB_CACHE", "HF_ENDPOINT"] {
        cmd.env_remove(key);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("speaker-app runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the binary with `args`.
pub fn speaker_app(args: &[&str]) -> (bool, String, String) {
    speaker_app_env(args, &[])
}

/// A 16 kHz mono 16-bit WAV: `seconds` of two tones whose frequencies depend on `voice`.
pub fn write_wav(path: &Path, seconds: f64, voice: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let f1 = 150.0 + 37.0 * f64::from(voice);
    let f2 = 900.0 + 113.0 * f64::from(voice);
    for i in 0..(seconds * 16_000.0) as usize {
        let t = i as f64 / 16_000.0;
        let v = 6000.0 * (2.0 * std::f64::consts::PI * f1 * t).sin()
            + 3000.0 * (2.0 * std::f64::consts::PI * f2 * t).sin();
        w.write_sample(v as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// Saves a randomly initialised small ResNet as a bundle in `dir` with `extra` config fields.
pub fn small_bundle(dir: &Path, extra: Value) {
    let cfg = REGISTRY.from_spec("small").unwrap();
    let varmap = VarMap::new();
    SpeakerModel::new(
        &cfg,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let mut meta = serde_json::to_value(BundleMeta::new("speaker", cfg)).unwrap();
    if let Value::Object(fields) = extra {
        meta.as_object_mut().unwrap().extend(fields);
    }
    save_bundle(dir, &serde_json::from_value(meta).unwrap(), &varmap).unwrap();
}

/// The library's embedding of `path` with the bundle in `bundle`.
pub fn library_embedding(bundle: &Path, path: &Path) -> Vec<f32> {
    let model = load_bundle(bundle, "speaker", &REGISTRY, &Device::Cpu, "test".into()).unwrap();
    let fbank = eval_fbank(&model.net).unwrap();
    embed_file(&model.net, &fbank, path, &Device::Cpu).unwrap()
}

/// Largest absolute difference.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn embed_folder_gives_voxceleb_keys_and_skips_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    small_bundle(&bundle, Value::Null);
    let wav = dir.path().join("wav");
    write_wav(&wav.join("id10001/vidA/00001.wav"), 1.0, 1);
    write_wav(&wav.join("id10001/vidA/00002.wav"), 1.5, 2);
    write_wav(&wav.join("id10002/vidB/00001.wav"), 0.8, 3);
    std::fs::write(wav.join("id10002/vidB/00002.wav"), b"RIFF junk").unwrap();
    std::fs::write(wav.join("id10002/vidB/notes.txt"), b"not audio").unwrap();
    let out = dir.path().join("emb.safetensors");
    let (ok, stdout, stderr) = speaker_app(&[
        "embed",
        s(&wav),
        "--model",
        s(&bundle),
        "--out",
        s(&out),
        "--json",
    ]);
    assert!(ok, "stderr: {stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(summary["embedded"], 3, "{summary}");
    assert_eq!(summary["skipped"], 1, "{summary}");
    assert_eq!(summary["dim"], 128, "{summary}");
    assert_eq!(summary["skipped_files"][0]["key"], "id10002/vidB/00002.wav");
    assert!(stderr.contains("id10002/vidB/00002.wav"), "{stderr}");

    let store = EmbeddingStore::load(&out).unwrap();
    assert_eq!(
        store.keys(),
        [
            "id10001/vidA/00001.wav",
            "id10001/vidA/00002.wav",
            "id10002/vidB/00001.wav"
        ]
    );
    for key in store.keys() {
        let want = library_embedding(&bundle, &wav.join(key));
        let got = store.get(key).unwrap();
        assert!(max_abs_diff(got, &want) < 1e-5, "{key}");
    }
    // Different recordings give different embeddings.
    assert!(max_abs_diff(store.row(0), store.row(2)) > 1e-3);
}

#[test]
fn embed_lists_resolve_paths_under_root_and_keep_scp_keys() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    small_bundle(&bundle, Value::Null);
    let root = dir.path().join("audio");
    write_wav(&root.join("a/1.wav"), 1.0, 4);
    write_wav(&root.join("b/2.wav"), 1.0, 5);
    let plain = dir.path().join("list.txt");
    std::fs::write(&plain, "a/1.wav\n\n# comment\nb/2.wav\n").unwrap();
    let scp = dir.path().join("wav.scp");
    std::fs::write(
        &scp,
        format!(
            "utt-one {}\nutt-two b/2.wav\n",
            root.join("a/1.wav").display()
        ),
    )
    .unwrap();
    let out = dir.path().join("emb.safetensors");
    let (ok, _, stderr) = speaker_app(&[
        "embed",
        s(&plain),
        s(&scp),
        "--root",
        s(&root),
        "--model",
        s(&bundle),
        "--out",
        s(&out),
    ]);
    assert!(ok, "stderr: {stderr}");
    let store = EmbeddingStore::load(&out).unwrap();
    assert_eq!(store.keys(), ["a/1.wav", "b/2.wav", "utt-one", "utt-two"]);
    assert!(max_abs_diff(store.get("a/1.wav").unwrap(), store.get("utt-one").unwrap()) < 1e-6);
    assert!(max_abs_diff(store.get("b/2.wav").unwrap(), store.get("utt-two").unwrap()) < 1e-6);
}

#[test]
fn embed_rejects_duplicate_keys_and_bad_list_lines() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    small_bundle(&bundle, Value::Null);
    let wav = dir.path().join("x.wav");
    write_wav(&wav, 1.0, 1);
    let list = dir.path().join("bad.scp");
    std::fs::write(&list, format!("k1 {}\nk2 sox {} |\n", s(&wav), s(&wav))).unwrap();
    let out: PathBuf = dir.path().join("emb.safetensors");
    let (ok, _, stderr) =
        speaker_app(&["embed", s(&list), "--model", s(&bundle), "--out", s(&out)]);
    assert!(!ok);
    assert!(stderr.contains("bad.scp:2:"), "{stderr}");

    let dup = dir.path().join("dup.scp");
    std::fs::write(&dup, format!("k1 {}\nk1 {}\n", s(&wav), s(&wav))).unwrap();
    let (ok, _, stderr) = speaker_app(&["embed", s(&dup), "--model", s(&bundle), "--out", s(&out)]);
    assert!(!ok);
    assert!(stderr.contains("\"k1\" is given twice"), "{stderr}");
    assert!(!out.exists());
}
