//! `speaker_app::models` against PyTorch references of wespeaker's ResNet and ECAPA-TDNN.
//!
//! `tests/fixtures/models/make_speaker_parity.py` builds reduced models with the same code path
//! as ResNet34 / ECAPA c512 (ResNet blocks `[3, 4, 6, 3]`, width 4, embed 32; ECAPA channels 32,
//! pool 48, attention 16, SE 16, embed 24, global context), with seeded random weights and random
//! BatchNorm statistics, and saves:
//! * `resnet_tiny.pt`: a flat state dict plus a `projection.weight` head, like `avg_model.pt`;
//! * `ecapa_tiny.pt`: the state dict under `"state_dict"` with `module.` prefixes;
//! * `parity.safetensors`: input `feats (2, 50, 80)`, eval- and train-mode outputs, and some
//!   running statistics after the train-mode forward (momentum 0.1, unbiased variance).

use std::path::{Path, PathBuf};

use anyhow::Result;
use app_kit::bundle::{save_bundle, BundleMeta};
use app_kit::model::load_bundle;
use candle_core::{Device, ModuleT, Tensor};
use candle_nn::VarMap;
use speaker_app::models::{tagged, EcapaConfig, ResNetConfig, SpeakerModel, REGISTRY};

/// A wespeaker checkpoint loaded into the backbone `cfg` (app-kit's `--pth` path).
fn from_pth(cfg: &serde_json::Value, path: &Path) -> Result<(Box<SpeakerModel>, VarMap)> {
    app_kit::model::load_pth(path, cfg, &REGISTRY, &Device::Cpu)
}

/// Largest allowed |ours − reference| / max(1, |reference|).
const TOLERANCE: f32 = 1e-4;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models")
}

fn reference(name: &str) -> Result<Tensor> {
    let path = fixtures().join("parity.safetensors");
    let mut all = candle_core::safetensors::load(&path, &Device::Cpu)?;
    all.remove(name)
        .ok_or_else(|| anyhow::anyhow!("{}: no tensor {name}", path.display()))
}

/// Max relative difference; fails on shape mismatch or a non-finite value.
fn max_rel_diff(ours: &Tensor, theirs: &Tensor) -> Result<f32> {
    assert_eq!(ours.dims(), theirs.dims(), "shape mismatch");
    let a = ours.flatten_all()?.to_vec1::<f32>()?;
    let b = theirs.flatten_all()?.to_vec1::<f32>()?;
    let mut worst = 0f32;
    for (x, y) in a.iter().zip(&b) {
        assert!(x.is_finite(), "non-finite output {x}");
        worst = worst.max((x - y).abs() / y.abs().max(1.0));
    }
    Ok(worst)
}

fn assert_close(what: &str, ours: &Tensor, theirs: &Tensor) -> Result<()> {
    let diff = max_rel_diff(ours, theirs)?;
    eprintln!("{what}: max relative difference {diff:.3e}");
    assert!(
        diff <= TOLERANCE,
        "{what}: max relative difference {diff} > {TOLERANCE}"
    );
    Ok(())
}

fn var(varmap: &VarMap, name: &str) -> Tensor {
    let data = varmap.data().lock().unwrap();
    data.get(name)
        .unwrap_or_else(|| panic!("no variable {name}"))
        .as_tensor()
        .clone()
}

/// The reduced ResNet of the fixture (same code path as ResNet34).
fn resnet_tiny() -> serde_json::Value {
    tagged(
        "resnet",
        &ResNetConfig {
            num_blocks: [3, 4, 6, 3],
            m_channels: 4,
            feat_dim: 80,
            embed_dim: 32,
        },
    )
}

/// The reduced ECAPA-TDNN of the fixture (same code path as ECAPA_TDNN_GLOB_c512).
fn ecapa_tiny() -> serde_json::Value {
    tagged(
        "ecapa",
        &EcapaConfig {
            channels: 32,
            embed_dim: 24,
            pool_channels: 48,
            attention_dim: 16,
            se_bottleneck: 16,
            ..EcapaConfig::c512()
        },
    )
}

/// Eval, then train mode (on a fresh copy of the weights), against the reference; then the
/// running statistics the train-mode forward left behind.
fn check_model(cfg: &serde_json::Value, pth: &str, prefix: &str, bns: &[&str]) -> Result<()> {
    let feats = reference("feats")?;
    let (model, _) = from_pth(cfg, &fixtures().join(pth))?;
    let eval = model.forward_t(&feats, false)?;
    assert_close(
        &format!("{prefix} eval"),
        &eval,
        &reference(&format!("{prefix}.eval"))?,
    )?;

    let (model, varmap) = from_pth(cfg, &fixtures().join(pth))?;
    let train = model.forward_t(&feats, true)?;
    assert_close(
        &format!("{prefix} train"),
        &train,
        &reference(&format!("{prefix}.train"))?,
    )?;
    for bn in bns {
        for stat in ["running_mean", "running_var"] {
            let name = format!("{bn}.{stat}");
            let want = reference(&format!("{prefix}.after_train.{name}"))?;
            assert_close(&format!("{prefix} {name}"), &var(&varmap, &name), &want)?;
        }
    }
    Ok(())
}

#[test]
fn resnet_pth_matches_pytorch() -> Result<()> {
    check_model(
        &resnet_tiny(),
        "resnet_tiny.pt",
        "resnet",
        &["bn1", "layer4.0.shortcut.1"],
    )
}

#[test]
fn ecapa_nested_module_pth_matches_pytorch() -> Result<()> {
    check_model(
        &ecapa_tiny(),
        "ecapa_tiny.pt",
        "ecapa",
        &["bn", "layer3.se_res2block.1.bns.6"],
    )
}

#[test]
fn bundle_round_trip_keeps_outputs_and_extra_fields() -> Result<()> {
    let feats = reference("feats")?;
    let want = reference("ecapa.eval")?;
    let cfg = ecapa_tiny();
    let (_, varmap) = from_pth(&cfg, &fixtures().join("ecapa_tiny.pt"))?;
    let dir = tempfile::tempdir()?;
    let bundle = dir.path().join("bundle");
    let mut meta = BundleMeta::new("speaker", cfg.clone());
    meta.loss = Some("aam".into());
    meta.extra.insert("epoch".into(), 3.into());
    save_bundle(&bundle, &meta, &varmap)?;

    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json"))?)?;
    assert_eq!(config["format"], "alpha-verify.speaker-model");
    assert_eq!(config["version"], 1);
    assert_eq!(config["model"]["arch"], "ecapa");
    assert_eq!(config["model"]["channels"], 32);
    assert_eq!(config["epoch"], 3);

    let loaded = load_bundle(&bundle, "speaker", &REGISTRY, &Device::Cpu, "t".into())?;
    assert_eq!(loaded.config, cfg);
    let meta = loaded.meta.as_ref().unwrap();
    assert_eq!(
        (meta.loss.as_deref(), &meta.extra["epoch"]),
        (Some("aam"), &serde_json::json!(3))
    );
    assert_close(
        "ecapa from bundle",
        &loaded.net.forward_t(&feats, false)?,
        &want,
    )?;
    Ok(())
}

#[test]
fn pth_with_wrong_shapes_is_an_error_naming_the_tensor() -> Result<()> {
    let cfg = tagged(
        "resnet",
        &ResNetConfig {
            m_channels: 8,
            ..ResNetConfig::small()
        },
    );
    let err = from_pth(&cfg, &fixtures().join("resnet_tiny.pt"))
        .err()
        .unwrap_or_else(|| panic!("width 8 must not load width-4 weights"));
    let msg = format!("{err:#}");
    assert!(
        msg.contains("resnet_tiny.pt") && msg.contains("shape"),
        "{msg}"
    );

    let err = from_pth(&ecapa_tiny(), &fixtures().join("resnet_tiny.pt"))
        .err()
        .unwrap_or_else(|| panic!("a ResNet checkpoint has no ECAPA tensors"));
    let msg = format!("{err:#}");
    assert!(
        msg.contains("resnet_tiny.pt") && msg.contains("no tensor") && msg.contains("ecapa"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn load_bundle_errors_name_the_file() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let load = || load_bundle(dir.path(), "speaker", &REGISTRY, &Device::Cpu, "t".into());
    let err = load().err().unwrap_or_else(|| panic!("empty dir"));
    assert!(format!("{err:#}").contains("config.json"), "{err:#}");

    std::fs::write(
        dir.path().join("config.json"),
        r#"{"format": "something-else", "version": 1, "model": {}}"#,
    )?;
    let err = load().err().unwrap_or_else(|| panic!("wrong format"));
    assert!(format!("{err:#}").contains("something-else"), "{err:#}");

    let cfg = REGISTRY.from_spec("small").unwrap();
    save_bundle(dir.path(), &BundleMeta::new("speaker", cfg), &VarMap::new())?;
    // The weights file holds no tensors, so the model's variables are missing.
    let err = load().err().unwrap_or_else(|| panic!("missing tensors"));
    assert!(format!("{err:#}").contains("model.safetensors"), "{err:#}");
    Ok(())
}
