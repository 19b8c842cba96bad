//! The embedding store format: round trip, a file written by Python from
//! the format description, and invalid files.

use eval_kit::{EmbeddingStore, MetricError};

use crate::fixtures::path;

#[test]
fn save_load_round_trip() {
    let mut store = EmbeddingStore::new(3);
    store.push("a/1.wav", &[1.0, -2.5, 3.25]).unwrap();
    store.push("b", &[0.0, f32::MIN_POSITIVE, 7.0]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("emb.safetensors");
    store.save(&file).unwrap();
    let back = EmbeddingStore::load(&file).unwrap();
    assert_eq!(back, store);
    assert_eq!(back.get("b"), Some(&[0.0, f32::MIN_POSITIVE, 7.0][..]));
    assert_eq!(back.get("c"), None);
    assert_eq!(back.keys(), &["a/1.wav", "b"]);
}

#[test]
fn empty_store_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("empty.safetensors");
    EmbeddingStore::new(4).save(&file).unwrap();
    let back = EmbeddingStore::load(&file).unwrap();
    assert!(back.is_empty());
    assert_eq!(back.dim(), 4);
}

#[test]
fn reads_a_store_written_by_python() {
    let store = EmbeddingStore::load(&path("pairs_embeddings.safetensors")).unwrap();
    assert_eq!(store.len(), 406);
    assert_eq!(store.dim(), 8);
    assert_eq!(store.keys()[1], "img0_b");
}

#[test]
fn bad_keys_and_dimensions_are_errors() {
    let mut store = EmbeddingStore::new(2);
    store.push("k", &[1.0, 2.0]).unwrap();
    let err = store.push("k", &[1.0, 2.0]).unwrap_err();
    assert!(matches!(err, MetricError::DuplicateKey { .. }), "{err}");
    let err = store.push("x", &[1.0]).unwrap_err();
    assert_eq!(err.to_string(), "\"x\": expected dimension 2, got 1");
    let err = store.push("has space", &[1.0, 2.0]).unwrap_err();
    assert!(err.to_string().contains("no whitespace"), "{err}");
}

#[test]
fn invalid_files_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junk.safetensors");
    std::fs::write(&file, b"not a safetensors file").unwrap();
    let err = EmbeddingStore::load(&file).unwrap_err();
    assert!(matches!(err, MetricError::InvalidStore { .. }), "{err}");
    assert!(err.to_string().contains("junk.safetensors"), "{err}");
    let err = EmbeddingStore::load(&dir.path().join("absent")).unwrap_err();
    assert!(matches!(err, MetricError::Io { .. }), "{err}");
}
