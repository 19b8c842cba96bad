//! `speaker-app download` and `--hub` against a fake Hugging Face cache laid out as the hub lays
//! it out (`models--owner--name/{blobs/<etag>, snapshots/<commit>/<file> -> ../../blobs/<etag>,
//! refs/main}`), found through `--cache-dir`, `HF_HUB_CACHE` or `HF_HOME`; never the network.

use std::path::{Path, PathBuf};

use eval_kit::EmbeddingStore;
use serde_json::Value;

use crate::embed_cli::{max_abs_diff, small_bundle, speaker_app, speaker_app_env, write_wav};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// A 64-hex-digit content hash standing in for the blob's etag (the hub uses the sha256 of LFS
/// files; the cache lookup only follows the snapshot links).
fn etag(bytes: &[u8]) -> String {
    (0..4u64)
        .map(|seed| {
            let mut h: u64 = 0xcbf29ce484222325 ^ seed;
            for b in bytes {
                h = (h ^ u64::from(*b)).wrapping_mul(0x100000001b3);
            }
            format!("{h:016x}")
        })
        .collect()
}

/// Puts the files of `bundle` (those named in `files`) into `cache` as `owner/name` at COMMIT and
/// returns the snapshot folder.
fn cache_repo(cache: &Path, repo: &str, bundle: &Path, files: &[&str]) -> PathBuf {
    let folder = cache.join(format!("models--{}", repo.replace('/', "--")));
    let snapshot = folder.join("snapshots").join(COMMIT);
    std::fs::create_dir_all(folder.join("blobs")).unwrap();
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(folder.join("refs")).unwrap();
    std::fs::write(folder.join("refs/main"), COMMIT).unwrap();
    for file in files {
        let bytes = std::fs::read(bundle.join(file)).unwrap();
        let tag = etag(&bytes);
        std::fs::write(folder.join("blobs").join(&tag), &bytes).unwrap();
        std::os::unix::fs::symlink(format!("../../blobs/{tag}"), snapshot.join(file)).unwrap();
    }
    snapshot
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn download_offline_finds_cached_bundles_by_flag_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    small_bundle(&bundle, Value::Null);
    let home = dir.path().join("hf-home");
    let cache = home.join("hub");
    let snapshot = cache_repo(
        &cache,
        "alpha/spk-small",
        &bundle,
        &["config.json", "model.safetensors"],
    );

    let (ok, stdout, stderr) = speaker_app(&[
        "download",
        "alpha/spk-small",
        "--offline",
        "--cache-dir",
        s(&cache),
    ]);
    assert!(ok, "stderr: {stderr}");
    assert_eq!(stdout.trim(), s(&snapshot));
    assert!(stderr.contains("cached"), "{stderr}");

    let (ok, stdout, stderr) = speaker_app_env(
        &["download", "alpha/spk-small"],
        &[("HF_HUB_CACHE", s(&cache)), ("HF_HUB_OFFLINE", "1")],
    );
    assert!(ok, "stderr: {stderr}");
    assert_eq!(stdout.trim(), s(&snapshot));

    let (ok, stdout, stderr) = speaker_app_env(
        &[
            "download",
            "alpha/spk-small",
            "--offline",
            "--revision",
            COMMIT,
        ],
        &[("HF_HOME", s(&home))],
    );
    assert!(ok, "stderr: {stderr}");
    assert_eq!(stdout.trim(), s(&snapshot));

    let with_rev = format!("alpha/spk-small@{COMMIT}");
    let (ok, stdout, _) = speaker_app_env(
        &["download", with_rev.as_str(), "--offline"],
        &[("HF_HOME", s(&home))],
    );
    assert!(ok);
    assert_eq!(stdout.trim(), s(&snapshot));
}

#[test]
fn download_offline_names_the_missing_file_and_repository() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    small_bundle(&bundle, Value::Null);
    let cache = dir.path().join("cache");
    cache_repo(&cache, "alpha/half", &bundle, &["config.json"]);

    let (ok, stdout, stderr) = speaker_app(&[
        "download",
        "other/missing",
        "--offline",
        "--cache-dir",
        s(&cache),
    ]);
    assert!(!ok);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("config.json of Hub repository other/missing"),
        "{stderr}"
    );
    assert!(stderr.contains("not in the Hugging Face cache"), "{stderr}");

    let (ok, _, stderr) = speaker_app(&[
        "download",
        "alpha/half",
        "--offline",
        "--cache-dir",
        s(&cache),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("model.safetensors of Hub repository alpha/half"),
        "{stderr}"
    );

    let (ok, _, stderr) = speaker_app(&[
        "download",
        "no-slash",
        "--offline",
        "--cache-dir",
        s(&cache),
    ]);
    assert!(!ok);
    assert!(stderr.contains("expected `owner/name`"), "{stderr}");
}

#[test]
fn embed_from_the_hub_cache_equals_embed_from_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    small_bundle(&bundle, Value::Null);
    let cache = dir.path().join("cache");
    cache_repo(
        &cache,
        "alpha/spk-small",
        &bundle,
        &["config.json", "model.safetensors"],
    );
    let wav = dir.path().join("a.wav");
    write_wav(&wav, 1.0, 3);
    let from_hub = dir.path().join("hub.safetensors");
    let (ok, _, stderr) = speaker_app(&[
        "embed",
        s(&wav),
        "--hub",
        "alpha/spk-small",
        "--offline",
        "--cache-dir",
        s(&cache),
        "--out",
        s(&from_hub),
    ]);
    assert!(ok, "stderr: {stderr}");
    let from_dir = dir.path().join("dir.safetensors");
    let (ok, _, stderr) = speaker_app(&[
        "embed",
        s(&wav),
        "--model",
        s(&bundle),
        "--out",
        s(&from_dir),
    ]);
    assert!(ok, "stderr: {stderr}");
    let (a, b) = (
        EmbeddingStore::load(&from_hub).unwrap(),
        EmbeddingStore::load(&from_dir).unwrap(),
    );
    assert_eq!(a.keys(), b.keys());
    assert_eq!(max_abs_diff(a.row(0), b.row(0)), 0.0);

    let (ok, _, stderr) = speaker_app_env(
        &[
            "embed",
            s(&wav),
            "--hub",
            "other/missing",
            "--out",
            s(&from_hub),
        ],
        &[("HF_HUB_CACHE", s(&cache)), ("HF_HUB_OFFLINE", "1")],
    );
    assert!(!ok);
    assert!(
        stderr.contains("config.json of Hub repository other/missing"),
        "{stderr}"
    );
}

#[test]
fn download_without_network_falls_back_to_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    small_bundle(&bundle, Value::Null);
    let cache = dir.path().join("cache");
    let snapshot = cache_repo(
        &cache,
        "alpha/spk-small",
        &bundle,
        &["config.json", "model.safetensors"],
    );
    // Nothing listens on port 9: the hub cannot be reached, the cached bundle is used.
    let (ok, stdout, stderr) = speaker_app_env(
        &["download", "alpha/spk-small", "--cache-dir", s(&cache)],
        &[("HF_ENDPOINT", "http://127.0.0.1:9")],
    );
    assert!(ok, "stderr: {stderr}");
    assert_eq!(stdout.trim(), s(&snapshot));
    let (ok, _, stderr) = speaker_app_env(
        &["download", "other/missing", "--cache-dir", s(&cache)],
        &[("HF_ENDPOINT", "http://127.0.0.1:9")],
    );
    assert!(!ok);
    assert!(
        stderr.contains("config.json of Hub repository other/missing"),
        "{stderr}"
    );
}
