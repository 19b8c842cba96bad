//! MobileFaceNet: parameter count and parity with the PyTorch reference in
//! `tests/fixtures/models/make_mobilefacenet_parity.py`.

use candle_core::{DType, Device, ModuleT, Result, Tensor};
use candle_nn::{VarBuilder, VarMap};
use face_app::models::{MobileFaceNet, MobileFaceNetConfig};
use train_kit::trainable_parameter_count;

use crate::models_fixtures::{load, load_q8, max_abs_diff, parity_input, TOL};

/// The PyTorch reference's `sum(p.numel() for p in model.parameters())` for "mbf".
#[test]
fn mobilefacenet_parameter_count_matches_pytorch() -> Result<()> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    MobileFaceNet::new(&MobileFaceNetConfig::mbf(), vb)?;
    assert_eq!(trainable_parameter_count(&varmap), 2_059_520);
    Ok(())
}

#[test]
fn mobilefacenet_small_matches_pytorch() -> Result<()> {
    let dev = Device::Cpu;
    let cfg = MobileFaceNetConfig {
        blocks: [2, 1, 1, 1],
        scale: 1,
        embedding_dim: 32,
    };
    let weights = load_q8("mobilefacenet_small_q8.safetensors")?;
    let model = MobileFaceNet::new(&cfg, VarBuilder::from_tensors(weights, DType::F32, &dev))?;
    let expected = load("mobilefacenet_small_io.safetensors")?;
    let x = parity_input(4)?;
    let diff = max_abs_diff(&model.forward_t(&x, false)?, &expected["eval_output"])?;
    assert!(diff < TOL, "eval-mode max |candle - torch| = {diff}");
    let diff = max_abs_diff(&model.forward_t(&x, true)?, &expected["train_output"])?;
    assert!(diff < TOL, "train-mode max |candle - torch| = {diff}");

    let bad = Tensor::zeros((2, 3, 112, 96), DType::F32, &dev)?;
    let err = model.forward_t(&bad, false).unwrap_err().to_string();
    assert!(
        err.contains("MobileFaceNet: expected input (B, 3, 112, 112)"),
        "{err}"
    );
    Ok(())
}
