//! IResNet: parameter counts, parity with the PyTorch reference in
//! `tests/fixtures/models/make_iresnet_parity.py`, and loading errors.

use std::path::PathBuf;

use candle_core::{DType, Device, ModuleT, Result};
use candle_nn::{VarBuilder, VarMap};
use face_app::models::{IResNet, IResNetConfig};
use train_kit::trainable_parameter_count;

use crate::models_fixtures::{fixture, load, load_q8, max_abs_diff, parity_input, TOL};

fn tiny_config() -> IResNetConfig {
    IResNetConfig {
        layers: [1, 1, 1, 1],
        base_width: 4,
        embedding_dim: 8,
        dropout: 0.0,
    }
}

fn count(cfg: &IResNetConfig) -> Result<usize> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    IResNet::new(cfg, vb)?;
    Ok(trainable_parameter_count(&varmap))
}

/// Counts from the PyTorch reference (`requires_grad` parameters, so without the frozen
/// `features.weight`); they match the arcface_torch README sizes (r50 43.6 M, r100 65.2 M).
#[test]
fn iresnet_parameter_counts_match_pytorch() -> Result<()> {
    assert_eq!(count(&IResNetConfig::small())?, 1_111_664);
    assert_eq!(count(&IResNetConfig::r18())?, 24_025_088);
    assert_eq!(count(&IResNetConfig::r34())?, 34_138_816);
    assert_eq!(count(&IResNetConfig::r50())?, 43_590_336);
    assert_eq!(count(&IResNetConfig::r100())?, 65_155_648);
    Ok(())
}

#[test]
fn iresnet_small_eval_matches_pytorch() -> Result<()> {
    let dev = Device::Cpu;
    let vb = VarBuilder::from_tensors(load_q8("iresnet_small_q8.safetensors")?, DType::F32, &dev);
    let model = IResNet::new(&IResNetConfig::small(), vb)?;
    let expected = load("iresnet_small_io.safetensors")?;
    let y = model.forward_t(&parity_input(4)?, false)?;
    let diff = max_abs_diff(&y, &expected["eval_output"])?;
    assert!(diff < TOL, "eval-mode max |candle - torch| = {diff}");
    Ok(())
}

/// Train mode: batch statistics in every BatchNorm, and the running statistics updated with
/// momentum 0.1 and the unbiased batch variance, as PyTorch does. The weights go into a `VarMap`
/// (the training setup), so the updated running statistics can be read back.
#[test]
fn iresnet_small_train_mode_matches_pytorch() -> Result<()> {
    let dev = Device::Cpu;
    let mut varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let model = IResNet::new(&IResNetConfig::small(), vb)?;
    let weights = load_q8("iresnet_small_q8.safetensors")?;
    let names: Vec<String> = varmap.data().lock().unwrap().keys().cloned().collect();
    for name in names {
        varmap.set_one(&name, &weights[&name])?;
    }
    let expected = load("iresnet_small_io.safetensors")?;
    let y = model.forward_t(&parity_input(4)?, true)?;
    let diff = max_abs_diff(&y, &expected["train_output"])?;
    assert!(diff < TOL, "train-mode max |candle - torch| = {diff}");

    let data = varmap.data().lock().unwrap();
    for name in [
        "features.running_mean",
        "features.running_var",
        "layer1.0.bn1.running_var",
    ] {
        let got = data[name].as_tensor();
        let diff = max_abs_diff(got, &expected[&format!("after_train.{name}")])?;
        assert!(diff < TOL, "{name} after one train step: max diff {diff}");
    }
    Ok(())
}

#[test]
fn iresnet_tiny_safetensors_matches_pytorch() -> Result<()> {
    let dev = Device::Cpu;
    let model =
        IResNet::from_safetensors(&tiny_config(), fixture("iresnet_tiny.safetensors"), &dev)?;
    let expected = load("iresnet_tiny_io.safetensors")?;
    let x = parity_input(4)?;
    let diff = max_abs_diff(&model.forward_t(&x, false)?, &expected["eval_output"])?;
    assert!(diff < TOL, "eval-mode max |candle - torch| = {diff}");
    Ok(())
}

/// arcface_torch saves `backbone.pth` with `torch.save(model.state_dict())`; candle's pickle
/// reader loads it directly.
#[test]
fn iresnet_tiny_pth_matches_pytorch() -> Result<()> {
    let dev = Device::Cpu;
    let model = IResNet::from_pth(&tiny_config(), fixture("iresnet_tiny.pth"), &dev)?;
    let expected = load("iresnet_tiny_io.safetensors")?;
    let x = parity_input(4)?;
    let diff = max_abs_diff(&model.forward_t(&x, false)?, &expected["eval_output"])?;
    assert!(diff < TOL, "eval-mode max |candle - torch| = {diff}");
    let diff = max_abs_diff(&model.forward_t(&x, true)?, &expected["train_output"])?;
    assert!(diff < TOL, "train-mode max |candle - torch| = {diff}");
    Ok(())
}

#[test]
fn iresnet_load_errors_name_the_tensor() {
    let dev = Device::Cpu;
    let file = fixture("iresnet_tiny.safetensors");
    // A deeper config needs `layer1.1.*`, which the file lacks.
    let mut deeper = tiny_config();
    deeper.layers[0] = 2;
    let err = IResNet::from_safetensors(&deeper, &file, &dev)
        .unwrap_err()
        .to_string();
    assert!(err.contains("layer1.1."), "{err}");
    assert!(err.contains("iresnet_tiny.safetensors"), "{err}");

    // A wider embedding mis-shapes `fc.weight` (the file has [8, 1568]).
    let mut wider = tiny_config();
    wider.embedding_dim = 16;
    let err = IResNet::from_safetensors(&wider, &file, &dev)
        .unwrap_err()
        .to_string();
    assert!(err.contains("fc.weight"), "{err}");
    assert!(err.contains("[16, 1568]"), "{err}");

    let err = IResNet::from_pth(&wider, fixture("iresnet_tiny.pth"), &dev)
        .unwrap_err()
        .to_string();
    assert!(err.contains("fc.weight"), "{err}");
    assert!(err.contains("iresnet_tiny.pth"), "{err}");

    let err = IResNet::from_safetensors(&wider, fixture("no_such_file.safetensors"), &dev)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no_such_file.safetensors"), "{err}");
}

/// r50 / r100 parity against locally generated fixtures (about 175 / 261 MB, not committed):
///
/// ```text
/// .venv-py/bin/python face-app/tests/fixtures/models/make_iresnet_parity.py \
///     --configs r50 r100 --out /tmp/alpha-verify-iresnet-parity
/// FACE_IRESNET_PARITY_DIR=/tmp/alpha-verify-iresnet-parity \
///     cargo test -p face-app --test it -- --ignored iresnet_large
/// ```
///
/// Configs whose files are absent are skipped; the test fails if none is present.
#[test]
#[ignore = "needs fixtures generated locally by make_iresnet_parity.py --configs r50 r100"]
fn iresnet_large_eval_matches_pytorch() -> Result<()> {
    let dir = std::env::var_os("FACE_IRESNET_PARITY_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("alpha-verify-iresnet-parity"));
    let dev = Device::Cpu;
    let mut checked = 0;
    for (name, cfg) in [
        ("r18", IResNetConfig::r18()),
        ("r34", IResNetConfig::r34()),
        ("r50", IResNetConfig::r50()),
        ("r100", IResNetConfig::r100()),
    ] {
        let weights = dir.join(format!("iresnet_{name}.safetensors"));
        let io_path = dir.join(format!("iresnet_{name}_io.safetensors"));
        if !weights.exists() || !io_path.exists() {
            continue;
        }
        let model = IResNet::from_safetensors(&cfg, &weights, &dev)?;
        let expected = candle_core::safetensors::load(&io_path, &dev)?;
        let target = &expected["eval_output"];
        let y = model.forward_t(&parity_input(target.dim(0)?)?, false)?;
        let diff = max_abs_diff(&y, target)?;
        // fp32 sums over 25k-wide `fc` rows and 100 blocks: relative to the output scale.
        let scale = target
            .abs()?
            .flatten_all()?
            .max(0)?
            .to_scalar::<f32>()?
            .max(1.0);
        println!("{name}: eval-mode max |candle - torch| = {diff} (output max |y| {scale})");
        assert!(
            diff < TOL * scale,
            "{name}: eval-mode max |candle - torch| = {diff}"
        );
        checked += 1;
    }
    assert!(
        checked > 0,
        "no iresnet_<r18|r34|r50|r100>{{,_io}}.safetensors in {}",
        dir.display()
    );
    Ok(())
}

/// Prints the eval-mode forward time of `IResNetConfig::small()` (the number quoted in its
/// docs): `cargo test -p face-app --release --test it -- --ignored --nocapture iresnet_small_forward_time`.
#[test]
#[ignore = "timing only; run with --nocapture"]
fn iresnet_small_forward_time() -> Result<()> {
    let dev = Device::Cpu;
    let model = IResNet::new(&IResNetConfig::small(), VarBuilder::zeros(DType::F32, &dev))?;
    let batch = 8;
    let x = parity_input(batch)?;
    model.forward_t(&x, false)?;
    let runs = 5;
    let start = std::time::Instant::now();
    for _ in 0..runs {
        model.forward_t(&x, false)?;
    }
    let per_image = start.elapsed().as_secs_f64() * 1e3 / (runs * batch) as f64;
    println!("IResNet small: {per_image:.1} ms per image (eval, batch {batch})");
    Ok(())
}
