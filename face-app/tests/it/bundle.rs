//! Face model folders through app-kit's bundles and the face registry: save and load back to the
//! same embeddings, preset configs naming their architecture, clear errors for bad folders.

use app_kit::bundle::{save_bundle, BundleMeta, CONFIG_FILE, WEIGHTS_FILE};
use app_kit::model::load_bundle;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use face_app::models::REGISTRY;

fn fresh(name: &str) -> (Box<dyn app_kit::Backbone>, VarMap, serde_json::Value) {
    let config = REGISTRY.from_spec(name).unwrap();
    let varmap = VarMap::new();
    let vb = train_kit::seeded_var_builder(&varmap, 0, DType::F32, &Device::Cpu);
    (REGISTRY.build(&config, vb).unwrap(), varmap, config)
}

#[test]
fn a_saved_bundle_loads_to_the_same_embeddings() {
    let dir = tempfile::tempdir().unwrap();
    let (model, varmap, config) = fresh("small");
    let x = Tensor::randn(0f32, 1.0, (2, 3, 112, 112), &Device::Cpu).unwrap();
    let before = model.forward_t(&x, false).unwrap();
    let mut meta = BundleMeta::new("face", config.clone());
    meta.loss = Some("qmargin".into());
    save_bundle(dir.path(), &meta, &varmap).unwrap();
    let loaded = load_bundle(dir.path(), "face", &REGISTRY, &Device::Cpu, "test".into()).unwrap();
    assert_eq!(loaded.config, config);
    assert_eq!(
        loaded.meta.as_ref().unwrap().loss.as_deref(),
        Some("qmargin")
    );
    let after = loaded.net.forward_t(&x, false).unwrap();
    let diff = (before - after)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert_eq!(diff, 0.0);
}

#[test]
fn preset_configs_name_their_architecture() {
    let json = REGISTRY.from_spec("mbf").unwrap();
    assert_eq!(json["arch"], "mobilefacenet");
    assert_eq!(json["embedding_dim"], 512);
    assert_eq!(
        REGISTRY.from_spec("R50").unwrap()["layers"],
        serde_json::json!([3, 4, 14, 3])
    );
    let err = REGISTRY.from_spec("r200").unwrap_err().to_string();
    assert!(
        err.contains("r200") && err.contains("r100") && err.contains("mbf-large"),
        "{err}"
    );
    let mut overrides = serde_json::Map::new();
    overrides.insert("embedding_dim".into(), 64.into());
    assert_eq!(
        REGISTRY.resolve("small", &overrides).unwrap()["embedding_dim"],
        64
    );
    overrides.insert("widht".into(), 8.into());
    let err = REGISTRY
        .resolve("small", &overrides)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.widht") && err.contains("base_width"),
        "{err}"
    );
}

#[test]
fn bad_folders_give_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let load = || load_bundle(dir.path(), "face", &REGISTRY, &Device::Cpu, "test".into());
    let err = format!("{:#}", load().err().unwrap());
    assert!(err.contains(CONFIG_FILE), "{err}");
    std::fs::write(
        dir.path().join(CONFIG_FILE),
        "{\"format\": \"something-else\"}",
    )
    .unwrap();
    let err = format!("{:#}", load().err().unwrap());
    assert!(err.contains("not a model config"), "{err}");
    let (_, varmap, config) = fresh("small");
    save_bundle(dir.path(), &BundleMeta::new("face", config), &varmap).unwrap();
    std::fs::remove_file(dir.path().join(WEIGHTS_FILE)).unwrap();
    let err = format!("{:#}", load().err().unwrap());
    assert!(
        err.contains(WEIGHTS_FILE) && err.contains("no such file"),
        "{err}"
    );
    std::fs::write(dir.path().join(WEIGHTS_FILE), b"not safetensors").unwrap();
    let err = format!("{:#}", load().err().unwrap());
    assert!(
        err.contains(WEIGHTS_FILE) && err.contains("reading tensors"),
        "{err}"
    );
    let speaker = load_bundle(dir.path(), "speaker", &REGISTRY, &Device::Cpu, "t".into());
    let err = format!("{:#}", speaker.err().unwrap());
    assert!(
        err.contains("expected \"alpha-verify.speaker-model\""),
        "{err}"
    );
}
