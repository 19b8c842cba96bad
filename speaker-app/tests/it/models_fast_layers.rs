//! The speaker backbones with train-kit's fast layers against the same backbones with candle's
//! own ops (what CUDA runs), on the same weights, in f64: train-mode forward and the gradient of
//! a scalar loss w.r.t. every variable. Frame counts are odd, so 2-D inputs reach the stride-2
//! convolutions with an even height and an odd width (the shape on which candle's own conv2d
//! backward fails; train-kit pads around it).

use std::collections::BTreeMap;

use candle_core::{DType, Device, ModuleT, Result, Tensor};
use candle_nn::{VarBuilder, VarMap};
use speaker_app::models::{tagged, EcapaConfig, SpeakerModel, REGISTRY};
use train_kit::conv::{with_implementation, Implementation};

/// Largest `max |fast - candle| / max(|candle|, 1e-3)` allowed per tensor: in f64 the two differ
/// only by summation order; a wrong formula is off by O(1).
const REL_TOL: f64 = 1e-9;

/// Output and every gradient of `sum(y * r)`, by name.
fn run(
    choice: Implementation,
    cfg: &serde_json::Value,
    initial: &BTreeMap<String, Tensor>,
    x: &Tensor,
) -> Result<BTreeMap<String, Tensor>> {
    with_implementation(choice, || {
        let mut varmap = VarMap::new();
        let model = SpeakerModel::new(
            cfg,
            VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu),
        )?;
        for (name, value) in initial {
            varmap.set_one(name, value)?;
        }
        let y = model.forward_t(x, true)?;
        let r = Tensor::arange(0f64, y.elem_count() as f64, y.device())?
            .affine(0.37, 0.0)?
            .sin()?
            .reshape(y.shape())?;
        let grads = (&y * &r)?.sum_all()?.backward()?;
        let mut out = BTreeMap::new();
        out.insert("output".to_string(), y);
        let data = varmap.data().lock().unwrap();
        for (name, var) in data.iter() {
            if let Some(g) = grads.get(var.as_tensor()) {
                out.insert(format!("grad {name}"), g.clone());
            }
        }
        Ok(out)
    })
}

fn compare(cfg: &serde_json::Value, frames: usize) -> Result<()> {
    let varmap = VarMap::new();
    SpeakerModel::new(
        cfg,
        VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu),
    )?;
    let initial: BTreeMap<String, Tensor> = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
        .collect::<Result<_>>()?;
    let x = Tensor::randn(
        0f64,
        1.0,
        (2, frames, cfg["feat_dim"].as_u64().unwrap() as usize),
        &Device::Cpu,
    )?;
    let candle = run(Implementation::Candle, cfg, &initial, &x)?;
    let fast = run(Implementation::Fast, cfg, &initial, &x)?;
    assert_eq!(
        candle.keys().collect::<Vec<_>>(),
        fast.keys().collect::<Vec<_>>()
    );
    assert!(candle.len() > 10, "only {} tensors", candle.len());
    let mut bad = Vec::new();
    for (name, c) in &candle {
        let f = &fast[name];
        assert_eq!(c.dims(), f.dims(), "{name}");
        let scale = c.abs()?.flatten_all()?.max(0)?.to_scalar::<f64>()?;
        let diff = (c - f)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f64>()?;
        if diff > REL_TOL * scale.max(1e-3) {
            bad.push(format!(
                "{name}: max |fast - candle| = {diff:e}, max |candle| = {scale:e}"
            ));
        }
    }
    assert!(bad.is_empty(), "{frames} frames:\n{}", bad.join("\n"));
    Ok(())
}

#[test]
fn resnet_fast_layers_match_candle_on_odd_frame_counts() -> Result<()> {
    let cfg = REGISTRY.from_spec("small").expect("preset");
    for frames in [57, 99] {
        compare(&cfg, frames)?;
    }
    Ok(())
}

#[test]
fn ecapa_fast_layers_match_candle() -> Result<()> {
    let cfg = tagged(
        "ecapa",
        &EcapaConfig {
            channels: 32,
            feat_dim: 20,
            embed_dim: 16,
            pool_channels: 48,
            attention_dim: 8,
            se_bottleneck: 8,
            res2_scale: 4,
            global_context: true,
            emb_bn: false,
        },
    );
    compare(&cfg, 41)
}
