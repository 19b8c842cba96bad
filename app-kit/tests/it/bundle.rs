//! Bundles: atomic replacement, typed thresholds and their lookup, one version policy, and no
//! NaN/Inf weights written or loaded.

use app_kit::bundle::{
    load_weights, read_meta, save_bundle, write_meta, BundleMeta, BUNDLE_VERSION,
};
use candle_core::{DType, Device, Tensor};
use candle_nn::{Init, VarMap};
use eval_kit::FarThreshold;

fn vars(value: f32) -> VarMap {
    let map = VarMap::new();
    map.get(
        3,
        "w",
        Init::Const(f64::from(value)),
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    map
}

fn meta() -> BundleMeta {
    let mut m = BundleMeta::new("face", serde_json::json!({"arch": "tiny"}));
    m.thresholds = vec![
        FarThreshold {
            far: 1e-3,
            threshold: 0.4,
        },
        FarThreshold {
            far: 1e-2,
            threshold: 0.3,
        },
    ];
    m
}

#[test]
fn a_bundle_is_replaced_whole_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    save_bundle(&model, &meta(), &vars(1.0)).unwrap();
    save_bundle(&model, &meta(), &vars(2.0)).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("model")],
        "no temporary folders left"
    );
    let read = read_meta(&model, "face").unwrap();
    assert_eq!(read, meta());
    let loaded = vars(0.0);
    load_weights(&model, &loaded).unwrap();
    let w = loaded.data().lock().unwrap()["w"]
        .as_tensor()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(w, vec![2.0; 3]);

    assert_eq!(read.threshold_for(1e-2, "m").unwrap(), 0.3);
    let e = read.threshold_for(1e-4, "m").unwrap_err().to_string();
    assert!(
        e.contains("no threshold for FAR 1e-4") && e.contains("1e-3, 1e-2"),
        "{e}"
    );
    let mut updated = read.clone();
    updated.thresholds.clear();
    write_meta(&model, &updated).unwrap();
    let e = read_meta(&model, "face")
        .unwrap()
        .threshold_for(1e-3, "m")
        .unwrap_err()
        .to_string();
    assert!(e.contains("has no `thresholds`"), "{e}");
}

#[test]
fn versions_newer_than_this_release_and_other_formats_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    save_bundle(dir.path(), &meta(), &vars(1.0)).unwrap();
    let mut m = meta();
    m.version = BUNDLE_VERSION + 1;
    write_meta(dir.path(), &m).unwrap();
    let e = read_meta(dir.path(), "face").unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "version {} is not one this release reads",
            BUNDLE_VERSION + 1
        )),
        "{e}"
    );
    m.version = BUNDLE_VERSION;
    write_meta(dir.path(), &m).unwrap();
    let e = read_meta(dir.path(), "speaker").unwrap_err().to_string();
    assert!(
        e.contains(
            "format is \"alpha-verify.face-model\", expected \"alpha-verify.speaker-model\""
        ),
        "{e}"
    );
}

#[test]
fn non_finite_weights_are_never_written_nor_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    let e = save_bundle(&model, &meta(), &vars(f32::NAN))
        .unwrap_err()
        .to_string();
    assert!(e.contains("tensor w contains NaN or Inf"), "{e}");
    assert!(!model.exists(), "nothing written");
    // A file written elsewhere with a NaN is refused on load.
    std::fs::create_dir_all(&model).unwrap();
    write_meta(&model, &meta()).unwrap();
    let bad = Tensor::new(&[1f32, f32::INFINITY, 0.0], &Device::Cpu).unwrap();
    candle_core::safetensors::save(
        &std::collections::HashMap::from([("w".to_string(), bad)]),
        model.join("model.safetensors"),
    )
    .unwrap();
    let e = load_weights(&model, &vars(0.0)).unwrap_err().to_string();
    assert!(
        e.contains("model.safetensors") && e.contains("tensor w contains NaN or Inf"),
        "{e}"
    );
}
