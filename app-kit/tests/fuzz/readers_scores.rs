//! eval-kit's readers: trial lists, score files and embedding stores.

use eval_kit::trials::{read_score_map, read_scored_trials, read_trials};
use eval_kit::{EmbeddingStore, MappedEmbeddings};

use crate::mutate::fuzz_file;

#[test]
fn trial_and_score_files() {
    let dir = tempfile::tempdir().unwrap();
    let trials = "1 id1/a.wav id1/b.wav\n0 id1/a.wav id2/c.wav\nid2/c.wav id2/d.wav target\n";
    fuzz_file(
        31,
        dir.path(),
        "trials.txt",
        trials.as_bytes(),
        true,
        "trials.txt",
        |path| read_trials(path).map(|_| ()).map_err(|e| e.to_string()),
    );
    let scores = "a b 0.71 target\nc d -0.2 nontarget\ne f 0.15 1\ng h 0.3 0\n";
    fuzz_file(
        32,
        dir.path(),
        "scores.txt",
        scores.as_bytes(),
        true,
        "scores.txt",
        |path| {
            read_scored_trials(path).map_err(|e| e.to_string())?;
            read_score_map(path).map(|_| ()).map_err(|e| e.to_string())
        },
    );
}

#[test]
fn embedding_stores() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddingStore::from_rows(
        vec!["a".into(), "b".into(), "c".into()],
        4,
        (0..12).map(|i| i as f32 * 0.25).collect(),
    )
    .unwrap();
    let path = dir.path().join("valid.safetensors");
    store.save(&path).unwrap();
    let input = std::fs::read(&path).unwrap();
    fuzz_file(
        33,
        dir.path(),
        "store.safetensors",
        &input,
        false,
        "store.safetensors",
        |path| {
            let loaded = EmbeddingStore::load(path).map_err(|e| e.to_string())?;
            let mapped = MappedEmbeddings::open(path).map_err(|e| e.to_string())?;
            if loaded.len() != mapped.len() {
                return Err(format!("{}: the two readers disagree", path.display()));
            }
            Ok(())
        },
    );
}
