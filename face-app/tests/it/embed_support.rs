//! Shared helpers of the embed / verify / eval / eval-ijb / download tests: running the binary,
//! a small saved model, and deterministic face-sized test images.

use std::path::{Path, PathBuf};
use std::process::Command;

use app_kit::bundle::{save_bundle, BundleMeta};
use app_kit::model::load_bundle;
use candle_core::{DType, Device};
use candle_nn::VarMap;
use face_app::embed::{embed_images, EmbedOptions};
use face_app::models::REGISTRY;
use image::RgbImage;

/// Runs `face-app ARGS` with extra environment variables (an empty value removes the
/// variable); returns (success, stdout, stderr). `HF_HUB_OFFLINE` is unset unless given.
pub fn face_app_env(args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_face-app"));
    cmd.args(args).env_remove("HF_HUB_OFFLINE");
    for (k, v) in envs {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let out = cmd.output().expect("face-app runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `face-app ARGS`; returns (success, stdout, stderr).
pub fn face_app(args: &[&str]) -> (bool, String, String) {
    face_app_env(args, &[])
}

/// Runs `face-app ARGS`, asserts success and parses stdout as one JSON object.
pub fn face_app_json(args: &[&str]) -> serde_json::Value {
    let (ok, stdout, stderr) = face_app(args);
    assert!(ok, "face-app {args:?} failed: {stderr}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// Saves a fresh `small` IResNet into `dir`, with `config.json` fields from `extra` (e.g.
/// `thresholds`); returns `dir`.
pub fn small_bundle(dir: &Path, extra: serde_json::Value) -> PathBuf {
    let config = REGISTRY.from_spec("small").unwrap();
    let varmap = VarMap::new();
    let vb = train_kit::seeded_var_builder(&varmap, 0, DType::F32, &Device::Cpu);
    REGISTRY.build(&config, vb).unwrap();
    let mut meta = serde_json::to_value(BundleMeta::new("face", config)).unwrap();
    if let serde_json::Value::Object(fields) = extra {
        meta.as_object_mut().unwrap().extend(fields);
    }
    save_bundle(dir, &serde_json::from_value(meta).unwrap(), &varmap).unwrap();
    dir.to_path_buf()
}

/// A deterministic `side x side` colour pattern; different seeds give clearly different images.
pub fn pattern(seed: u32, side: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let (fx, fy, phase) = (1 + next() % 7, 1 + next() % 5, next() % 256);
    let base = [next() % 256, next() % 256, next() % 256];
    RgbImage::from_fn(side, side, |x, y| {
        let wave = (x * fx + y * fy + phase) % 64;
        image::Rgb(std::array::from_fn(|c| {
            ((base[c] + wave * 3 * (c as u32 + 1)) % 256) as u8
        }))
    })
}

/// Library embeddings (flip TTA per `flip`) of images, row-major.
pub fn library_embeddings(model_dir: &Path, images: &[RgbImage], flip: bool) -> Vec<f32> {
    let bundle = load_bundle(model_dir, "face", &REGISTRY, &Device::Cpu, "test".into()).unwrap();
    let options = EmbedOptions {
        batch_size: 64,
        flip_tta: flip,
    };
    embed_images(bundle.net.as_ref(), images, options, &Device::Cpu, |_| {}).unwrap()
}

/// Dot product in f64.
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

/// Largest absolute difference.
pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
