//! `face-app download` and `--hub` against a Hugging Face cache laid out here as the Hub lays it
//! out (`models--owner--name/{blobs/<hash>, refs/main, snapshots/<commit>/<file> -> blob}`), with
//! no network: offline lookups succeed, and a repository or file that is not cached is an error
//! naming it.

use std::path::{Path, PathBuf};

use eval_kit::EmbeddingStore;

use crate::embed_support::{face_app, face_app_env, face_app_json, pattern, small_bundle};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// A 64-hex-digit content name for a blob (the Hub names blobs by SHA-256 or git SHA-1; the
/// cache lookup only follows the snapshot links, so any content-derived name works).
fn blob_name(bytes: &[u8]) -> String {
    (0..4u64)
        .map(|seed| {
            let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
            for b in bytes {
                h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
            }
            format!("{h:016x}")
        })
        .collect()
}

/// Puts the bundle in `bundle` into `cache` as Hub repository `repo_id` at commit [`COMMIT`]
/// (files as symlinks into `blobs/`, as hf-hub writes them), `refs/main` pointing at it.
fn cache_repo(cache: &Path, repo_id: &str, bundle: &Path) -> PathBuf {
    let repo = cache.join(format!("models--{}", repo_id.replace('/', "--")));
    let snapshot = repo.join("snapshots").join(COMMIT);
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::create_dir_all(&snapshot).unwrap();
    for file in ["config.json", "model.safetensors"] {
        let bytes = std::fs::read(bundle.join(file)).unwrap();
        let blob = blob_name(&bytes);
        std::fs::write(repo.join("blobs").join(&blob), &bytes).unwrap();
        std::os::unix::fs::symlink(format!("../../blobs/{blob}"), snapshot.join(file)).unwrap();
    }
    std::fs::write(repo.join("refs/main"), COMMIT).unwrap();
    snapshot
}

#[test]
fn download_offline_finds_cached_models_and_embed_uses_them() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = small_bundle(
        &dir.path().join("bundle"),
        serde_json::json!({"loss": "a3m"}),
    );
    let cache = dir.path().join("hub");
    let snapshot = cache_repo(&cache, "owner/name", &bundle);
    let c = cache.to_str().unwrap();

    let got = face_app_json(&[
        "download",
        "owner/name",
        "--cache-dir",
        c,
        "--offline",
        "--json",
    ]);
    assert_eq!(got["snapshot"], snapshot.display().to_string());
    assert_eq!(got["revision"], "main");
    assert_eq!(got["backbone"]["arch"], "iresnet");
    assert_eq!(got["backbone"]["embedding_dim"], 128);
    assert_eq!(got["offline"], true);

    // Plain output is the snapshot folder; HF_HUB_CACHE and HF_HUB_OFFLINE work like the flags.
    let (ok, stdout, stderr) = face_app_env(
        &["download", "owner/name"],
        &[("HF_HUB_CACHE", c), ("HF_HUB_OFFLINE", "1")],
    );
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), snapshot.display().to_string());
    // HF_HOME/hub is the cache when HF_HUB_CACHE is unset.
    let home = dir.path().join("hfhome");
    std::fs::create_dir_all(&home).unwrap();
    std::os::unix::fs::symlink(&cache, home.join("hub")).unwrap();
    let (ok, stdout, stderr) = face_app_env(
        &["download", "owner/name", "--offline"],
        &[("HF_HOME", home.to_str().unwrap()), ("HF_HUB_CACHE", "")],
    );
    assert!(ok && stdout.contains(COMMIT), "{stderr}");

    // A commit revision resolves without refs; an unknown branch names its missing ref.
    let at_commit = format!("owner/name@{COMMIT}");
    face_app_json(&[
        "download",
        &at_commit,
        "--cache-dir",
        c,
        "--offline",
        "--json",
    ]);
    let (ok, _, stderr) = face_app(&[
        "download",
        "owner/name",
        "--revision",
        "v2",
        "--cache-dir",
        c,
        "--offline",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("refs/v2") && stderr.contains("owner/name@v2"),
        "{stderr}"
    );

    // embed --hub gives exactly what embed --model gives.
    let image = dir.path().join("face.png");
    pattern(21, 112).save(&image).unwrap();
    let via_hub = dir.path().join("hub.safetensors");
    let via_dir = dir.path().join("dir.safetensors");
    let summary = face_app_json(&[
        "embed",
        image.to_str().unwrap(),
        "--hub",
        "owner/name",
        "--cache-dir",
        c,
        "--offline",
        "--out",
        via_hub.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        summary["model"]
            .as_str()
            .unwrap()
            .contains("owner/name@main"),
        "{summary}"
    );
    face_app_json(&[
        "embed",
        image.to_str().unwrap(),
        "--model",
        bundle.to_str().unwrap(),
        "--out",
        via_dir.to_str().unwrap(),
        "--json",
    ]);
    let (a, b) = (
        EmbeddingStore::load(&via_hub).unwrap(),
        EmbeddingStore::load(&via_dir).unwrap(),
    );
    assert_eq!(a.data(), b.data());
}

#[test]
fn uncached_repositories_and_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = small_bundle(&dir.path().join("bundle"), serde_json::Value::Null);
    let cache = dir.path().join("hub");
    let snapshot = cache_repo(&cache, "owner/partial", &bundle);
    std::fs::remove_file(snapshot.join("model.safetensors")).unwrap();
    let c = cache.to_str().unwrap();

    let (ok, _, stderr) = face_app(&["download", "other/missing", "--cache-dir", c, "--offline"]);
    assert!(!ok);
    assert!(
        stderr.contains("other/missing")
            && stderr.contains("config.json")
            && stderr.contains("models--other--missing")
            && stderr.contains("offline"),
        "{stderr}"
    );
    let (ok, _, stderr) = face_app(&["download", "owner/partial", "--cache-dir", c, "--offline"]);
    assert!(!ok);
    assert!(
        stderr.contains("model.safetensors") && stderr.contains("owner/partial"),
        "{stderr}"
    );
    let image = dir.path().join("face.png");
    pattern(22, 112).save(&image).unwrap();
    let out = dir.path().join("out.safetensors");
    let (ok, _, stderr) = face_app_env(
        &[
            "embed",
            image.to_str().unwrap(),
            "--hub",
            "other/missing",
            "--out",
            out.to_str().unwrap(),
        ],
        &[("HF_HUB_CACHE", c), ("HF_HUB_OFFLINE", "true")],
    );
    assert!(!ok);
    assert!(stderr.contains("other/missing"), "{stderr}");
    assert!(!out.exists());
    // A malformed repository id is refused before any lookup.
    let (ok, _, stderr) = face_app(&["download", "not a repo", "--cache-dir", c, "--offline"]);
    assert!(!ok);
    assert!(stderr.contains("owner/name"), "{stderr}");
}
