//! Checkpoint store: atomic layout, retention, `latest`, strict loading, NaN refusal.

use std::fs;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Init, VarMap};
use train_kit::{
    param_groups, CheckpointManifest, CheckpointStore, OptimizerConfig, RngState, SgdConfig,
    TrainError,
};

fn model(values: &[f32]) -> VarMap {
    let map = VarMap::new();
    map.get(
        values.len(),
        "w",
        Init::Const(0.0),
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    map.data().lock().unwrap()["w"]
        .set(&Tensor::new(values, &Device::Cpu).unwrap())
        .unwrap();
    map
}

fn manifest(step: u64) -> CheckpointManifest {
    use rand_chacha::rand_core::SeedableRng;
    CheckpointManifest {
        format_version: 0,
        step,
        epoch: 2,
        lr: 0.05,
        var_sets: vec![],
        rng: RngState::capture(&rand_chacha::ChaCha8Rng::seed_from_u64(3)),
        skipped_steps: 1,
        loader_state: serde_json::json!({"offset": step * 10}),
    }
}

fn sgd(map: &VarMap) -> Box<dyn train_kit::Optimizer> {
    OptimizerConfig::Sgd(SgdConfig::arcface())
        .build(param_groups(&[("model", map)], &[]).unwrap())
        .unwrap()
}

fn read_w(map: &VarMap) -> Vec<f32> {
    map.data().lock().unwrap()["w"]
        .as_tensor()
        .to_vec1()
        .unwrap()
}

#[test]
fn save_then_load_restores_vars_optimizer_and_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::new(dir.path().join("ckpt"), 3).unwrap();
    let map = model(&[1.0, -2.0, 3.5]);
    let mut opt = sgd(&map);
    let loss = (map.all_vars()[0].as_tensor()
        * Tensor::new(&[1f32, 2.0, 3.0], &Device::Cpu).unwrap())
    .unwrap()
    .sum_all()
    .unwrap();
    opt.backward_step(&loss).unwrap();
    let saved_w = read_w(&map);
    let path = store
        .save(&manifest(40), &[("model", &map)], &opt.state().unwrap())
        .unwrap();
    assert_eq!(path, dir.path().join("ckpt/step-00000040"));
    let mut files: Vec<String> = fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "manifest.json",
            "model.safetensors",
            "optimizer.safetensors"
        ]
    );

    let other = model(&[0.0, 0.0, 0.0]);
    let mut other_opt = sgd(&other);
    let restored = CheckpointStore::load(&path, &[("model", &other)], other_opt.as_mut()).unwrap();
    assert_eq!(read_w(&other), saved_w);
    assert_eq!(restored.step, 40);
    assert_eq!(restored.loader_state, serde_json::json!({"offset": 400}));
    assert_eq!(restored.var_sets, ["model"]);
    assert_eq!(
        restored.format_version,
        train_kit::checkpoint::FORMAT_VERSION
    );
    // Momentum buffer after one coupled-decay step is g + λ·p = [1, 2, 3] + 5e-4·[1, -2, 3.5].
    let state = other_opt.state().unwrap();
    let buf: Vec<f32> = state.tensors["momentum/model/w"].to_vec1().unwrap();
    assert_eq!(buf, [1.0 + 5e-4, 2.0 - 1e-3, 3.0 + 1.75e-3]);
}

#[test]
fn only_the_newest_k_are_kept_and_latest_ignores_incomplete_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::new(dir.path(), 2).unwrap();
    let map = model(&[1.0]);
    let opt = sgd(&map);
    assert_eq!(store.latest().unwrap(), None);
    for step in [5, 10, 15, 20] {
        store
            .save(&manifest(step), &[("model", &map)], &opt.state().unwrap())
            .unwrap();
    }
    let steps: Vec<u64> = store.list().unwrap().into_iter().map(|(s, _)| s).collect();
    assert_eq!(steps, [15, 20]);
    // A crash mid-write leaves a temporary directory or one without a manifest: never "latest".
    fs::create_dir_all(dir.path().join(".tmp-step-00000030-1")).unwrap();
    fs::create_dir_all(dir.path().join("step-00000025")).unwrap();
    fs::write(
        dir.path().join("step-00000025/model.safetensors"),
        b"partial",
    )
    .unwrap();
    assert_eq!(
        store.latest().unwrap(),
        Some(dir.path().join("step-00000020"))
    );
}

#[test]
fn a_checkpoint_with_nan_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::new(dir.path(), 2).unwrap();
    let map = model(&[1.0, f32::NAN]);
    let opt = sgd(&map);
    let err = store
        .save(&manifest(7), &[("model", &map)], &opt.state().unwrap())
        .unwrap_err();
    assert!(
        matches!(err, TrainError::NonFiniteCheckpoint { ref name, .. } if name == "model/w"),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with("step-00000007: tensor model/w contains NaN or Inf"),
        "{err}"
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);

    let inf = model(&[f32::NEG_INFINITY]);
    assert!(store
        .save(
            &manifest(8),
            &[("model", &inf)],
            &sgd(&inf).state().unwrap()
        )
        .is_err());
    let big_but_finite = model(&[f32::MAX, -f32::MAX]);
    store
        .save(
            &manifest(9),
            &[("model", &big_but_finite)],
            &sgd(&big_but_finite).state().unwrap(),
        )
        .unwrap();
}

#[test]
fn loading_into_a_different_model_names_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::new(dir.path(), 2).unwrap();
    let map = model(&[1.0, 2.0]);
    let path = store
        .save(
            &manifest(1),
            &[("model", &map)],
            &sgd(&map).state().unwrap(),
        )
        .unwrap();

    let wider = model(&[0.0, 0.0, 0.0]);
    let err = CheckpointStore::load(&path, &[("model", &wider)], sgd(&wider).as_mut())
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("model.safetensors: w is F32 [2], the model has F32 [3]"),
        "{err}"
    );

    let renamed = VarMap::new();
    renamed
        .get(2, "weight", Init::Const(0.0), DType::F32, &Device::Cpu)
        .unwrap();
    let err = CheckpointStore::load(&path, &[("model", &renamed)], sgd(&renamed).as_mut())
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("model.safetensors: no tensor weight"),
        "{err}"
    );

    let err = CheckpointStore::load(&path, &[("backbone", &map)], sgd(&map).as_mut())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds variable sets [\"model\"], the trainer has [\"backbone\"]"),
        "{err}"
    );

    fs::write(path.join("manifest.json"), "{\"step\": 1}").unwrap();
    let err = CheckpointStore::load(&path, &[("model", &map)], sgd(&map).as_mut())
        .unwrap_err()
        .to_string();
    assert!(err.contains("manifest.json: missing field"), "{err}");
}

#[test]
fn rng_state_round_trips_through_json() {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    rng.set_stream(4);
    for _ in 0..37 {
        rng.next_u32();
    }
    let state: RngState =
        serde_json::from_str(&serde_json::to_string(&RngState::capture(&rng)).unwrap()).unwrap();
    let mut restored = state.restore().unwrap();
    let a: Vec<u32> = (0..5).map(|_| rng.next_u32()).collect();
    let b: Vec<u32> = (0..5).map(|_| restored.next_u32()).collect();
    assert_eq!(a, b);
    let bad = RngState {
        seed_hex: "zz".into(),
        ..state
    };
    assert!(bad
        .restore()
        .unwrap_err()
        .to_string()
        .contains("seed_hex must be 64 hex digits"));
}
