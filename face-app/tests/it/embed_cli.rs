//! `face-app embed`: folders, lists and files to an embedding store whose rows equal the
//! library's flip-TTA embeddings; unreadable images are skipped and reported; `--pth` loads an
//! arcface_torch state_dict.

use std::path::Path;

use candle_core::Device;
use eval_kit::EmbeddingStore;
use face_app::embed::{embed_images, EmbedOptions};
use face_app::models::{IResNet, IResNetConfig};

use crate::embed_support::{
    face_app, face_app_json, library_embeddings, max_diff, pattern, small_bundle,
};

/// `root/alice/1.png`, `root/bob/deep/2.png`, a
/// corrupt `root/bob/broken.png` and a non-image `root/notes.md`.
fn faces_folder(root: &Path) {
    std::fs::create_dir_all(root.join("alice")).unwrap();
    std::fs::create_dir_all(root.join("bob/deep")).unwrap();
    pattern(1, 112).save(root.join("alice/1.png")).unwrap();
    pattern(2, 112).save(root.join("bob/deep/2.png")).unwrap();
    std::fs::write(root.join("bob/broken.png"), b"not a png").unwrap();
    std::fs::write(root.join("notes.md"), b"ignored").unwrap();
}

#[test]
fn embed_folder_keys_rows_and_skips() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_bundle(&dir.path().join("model"), serde_json::Value::Null);
    let faces = dir.path().join("faces");
    faces_folder(&faces);
    let out = dir.path().join("out/emb.safetensors");
    let (ok, stdout, stderr) = face_app(&[
        "embed",
        faces.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--batch-size",
        "1",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["embedded"], 2);
    assert_eq!(summary["dim"], 128);
    assert_eq!(summary["flip_tta"], true);
    assert_eq!(summary["skipped"], 1);
    let broken = summary["skipped_items"][0]["path"].as_str().unwrap();
    assert!(broken.ends_with("broken.png"), "{summary}");
    assert!(stderr.contains("broken.png"), "{stderr}");

    let store = EmbeddingStore::load(&out).unwrap();
    assert_eq!(store.keys(), ["alice/1.png", "bob/deep/2.png"]);
    let want = library_embeddings(&model, &[pattern(1, 112), pattern(2, 112)], true);
    assert!(max_diff(store.data(), &want) < 1e-5);
    for i in 0..2 {
        let norm: f32 = store.row(i).iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "row {i} norm {norm}");
    }

    // --no-flip gives the plain embeddings, which differ from the flip-TTA ones.
    let plain = dir.path().join("plain.safetensors");
    face_app_json(&[
        "embed",
        faces.join("alice/1.png").to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        plain.to_str().unwrap(),
        "--no-flip",
        "--json",
    ]);
    let store = EmbeddingStore::load(&plain).unwrap();
    // A file given directly is keyed by its path as given.
    assert_eq!(
        store.keys(),
        [faces.join("alice/1.png").display().to_string()]
    );
    let want_plain = library_embeddings(&model, &[pattern(1, 112)], false);
    assert!(max_diff(store.data(), &want_plain) < 1e-5);
    assert!(max_diff(&want_plain, &want[..128]) > 1e-3);
}

#[test]
fn embed_list_with_root_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_bundle(&dir.path().join("model"), serde_json::Value::Null);
    let faces = dir.path().join("faces");
    faces_folder(&faces);
    let list = dir.path().join("list.txt");
    std::fs::write(
        &list,
        "# comment\nbob/deep/2.png 1\n\nalice/1.png 0\nmissing/3.png 0\n",
    )
    .unwrap();
    let out = dir.path().join("list.safetensors");
    let summary = face_app_json(&[
        "embed",
        list.to_str().unwrap(),
        "--root",
        faces.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(summary["embedded"], 2);
    assert_eq!(summary["skipped"], 1);
    let missing = summary["skipped_items"][0]["path"].as_str().unwrap();
    assert!(missing.ends_with("missing/3.png"), "{summary}");
    let store = EmbeddingStore::load(&out).unwrap();
    assert_eq!(store.keys(), ["bob/deep/2.png", "alice/1.png"]);
    let want = library_embeddings(&model, &[pattern(2, 112), pattern(1, 112)], true);
    assert!(max_diff(store.data(), &want) < 1e-5);

    // The same folder twice repeats keys: an error naming the key.
    let (ok, _, stderr) = face_app(&[
        "embed",
        faces.to_str().unwrap(),
        faces.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("alice/1.png"), "{stderr}");
    // A missing input is named.
    let nowhere = dir.path().join("nowhere");
    let (ok, _, stderr) = face_app(&[
        "embed",
        nowhere.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("nowhere") && stderr.contains("no such file"),
        "{stderr}"
    );
    // A model folder without config.json is named.
    let (ok, _, stderr) = face_app(&[
        "embed",
        faces.to_str().unwrap(),
        "--model",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("config.json"), "{stderr}");
    // Two model sources at once are refused by the parser.
    let (ok, _, stderr) = face_app(&[
        "embed",
        faces.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--hub",
        "owner/name",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("--hub"), "{stderr}");
}

#[test]
fn embed_from_an_arcface_torch_pth() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let cfg = IResNetConfig {
        layers: [1, 1, 1, 1],
        base_width: 4,
        embedding_dim: 8,
        dropout: 0.0,
    };
    let cfg_file = dir.path().join("tiny.json");
    std::fs::write(
        &cfg_file,
        r#"{"arch": "iresnet", "layers": [1, 1, 1, 1], "base_width": 4, "embedding_dim": 8, "dropout": 0.0}"#,
    )
    .unwrap();
    let image = dir.path().join("face.png");
    pattern(7, 112).save(&image).unwrap();
    let out = dir.path().join("pth.safetensors");
    let pth = fixtures.join("iresnet_tiny.pth");
    face_app_json(&[
        "embed",
        image.to_str().unwrap(),
        "--pth",
        pth.to_str().unwrap(),
        "--backbone",
        cfg_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let store = EmbeddingStore::load(&out).unwrap();
    // The same weights from the safetensors copy of the fixture.
    let reference = IResNet::from_safetensors(
        &cfg,
        fixtures.join("iresnet_tiny.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    let want = embed_images(
        &reference,
        &[pattern(7, 112)],
        EmbedOptions::default(),
        &Device::Cpu,
        |_| {},
    )
    .unwrap();
    assert_eq!(store.dim(), 8);
    assert!(max_diff(store.data(), &want) < 1e-5);

    // --pth without --backbone is refused with a message naming --backbone.
    let (ok, _, stderr) = face_app(&[
        "embed",
        image.to_str().unwrap(),
        "--pth",
        pth.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("--backbone"), "{stderr}");
}
