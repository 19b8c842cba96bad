//! Model folders: save, load back to the same outputs, and clear errors for bad folders.

use candle_core::{DType, Device, Tensor};
use face_app::bundle::{
    load_bundle, read_bundle_config, save_bundle, FaceModel, FaceModelConfig, CONFIG_FILE,
    WEIGHTS_FILE,
};

#[test]
fn a_saved_bundle_loads_to_the_same_embeddings() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = FaceModelConfig::by_name("small").unwrap();
    let (model, varmap) = FaceModel::fresh(&cfg, 0, &Device::Cpu).unwrap();
    let x = Tensor::randn(0f32, 1.0, (2, 3, 112, 112), &Device::Cpu).unwrap();
    let before = model.forward_t(&x, false).unwrap();
    save_bundle(
        dir.path(),
        &cfg,
        &varmap,
        serde_json::json!({"loss": "qmargin"}),
    )
    .unwrap();
    assert_eq!(read_bundle_config(dir.path()).unwrap(), cfg);
    let loaded = load_bundle(dir.path(), &Device::Cpu).unwrap();
    assert_eq!(loaded.extra["loss"], "qmargin");
    let after = loaded.model.forward_t(&x, false).unwrap();
    let diff = (before - after)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert_eq!(diff, 0.0);
}

#[test]
fn config_json_names_the_architecture() {
    let json = serde_json::to_value(FaceModelConfig::by_name("mbf").unwrap()).unwrap();
    assert_eq!(json["arch"], "mobilefacenet");
    assert_eq!(json["embedding_dim"], 512);
    let err = FaceModelConfig::by_name("r200").unwrap_err().to_string();
    assert!(err.contains("r200") && err.contains("r100"), "{err}");
}

#[test]
fn bad_folders_give_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = format!("{:#}", load_bundle(dir.path(), &Device::Cpu).err().unwrap());
    assert!(err.contains(CONFIG_FILE), "{err}");
    std::fs::write(
        dir.path().join(CONFIG_FILE),
        "{\"format\": \"something-else\"}",
    )
    .unwrap();
    let err = format!("{:#}", load_bundle(dir.path(), &Device::Cpu).err().unwrap());
    assert!(err.contains("not a face-app model config"), "{err}");
    let cfg = FaceModelConfig::by_name("small").unwrap();
    let (_, varmap) = FaceModel::fresh(&cfg, 0, &Device::Cpu).unwrap();
    save_bundle(dir.path(), &cfg, &varmap, serde_json::Value::Null).unwrap();
    std::fs::remove_file(dir.path().join(WEIGHTS_FILE)).unwrap();
    let err = format!("{:#}", load_bundle(dir.path(), &Device::Cpu).err().unwrap());
    assert!(err.contains(WEIGHTS_FILE), "{err}");
    std::fs::write(dir.path().join(WEIGHTS_FILE), b"not safetensors").unwrap();
    let err = format!("{:#}", load_bundle(dir.path(), &Device::Cpu).err().unwrap());
    assert!(err.contains("loading weights"), "{err}");
}
