//! The backbones with train-kit's fast layers against the same backbones with candle's own ops
//! (`train_kit::conv::Implementation`), on the same weights: train-mode forward, updated
//! running statistics, and the gradient of a scalar loss w.r.t. every variable. Both run in f64:
//! in f32, candle sums BatchNorm statistics in f32 while the fast layers sum in f64, and small
//! gradients then differ by up to their own size, which would hide a real error.
//!
//! Inputs are square, so candle's conv2d backward (which applies the height's output padding
//! to the width) is correct here.

use std::collections::BTreeMap;

use candle_core::{DType, Device, ModuleT, Result, Tensor};
use candle_nn::{VarBuilder, VarMap};
use face_app::models::{IResNet, IResNetConfig, MobileFaceNet, MobileFaceNetConfig};
use train_kit::conv::{with_implementation, Implementation};

use crate::models_fixtures::parity_input;

/// Largest `max |fast - candle| / max |candle|` allowed, per tensor: in f64 the two differ only
/// by summation order, while a wrong formula or a missing term is off by O(1).
const REL_TOL: f64 = 1e-9;

/// Tensors whose exact value is zero (the bias gradient of a BatchNorm feeding another
/// BatchNorm) hold only rounding noise; they are compared against this scale.
const SCALE_FLOOR: f64 = 1e-3;

/// Everything one implementation produced: output, then every variable's gradient and value
/// after the step (running statistics included), by name.
type Results = BTreeMap<String, Tensor>;

/// Runs `forward` in train mode under `choice` on a fresh copy of `initial`, then backward of
/// `sum(y * r)`.
fn run<M>(
    choice: Implementation,
    initial: &BTreeMap<String, Tensor>,
    build: &dyn Fn(VarBuilder) -> Result<M>,
    x: &Tensor,
) -> Result<Results>
where
    M: ModuleT,
{
    with_implementation(choice, || {
        let mut varmap = VarMap::new();
        let model = build(VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu))?;
        for (name, value) in initial {
            varmap.set_one(name, value)?;
        }
        let y = model.forward_t(x, true)?;
        let r = Tensor::arange(0f64, y.elem_count() as f64, y.device())?
            .affine(0.37, 0.0)?
            .sin()?
            .reshape(y.shape())?;
        let grads = (&y * &r)?.sum_all()?.backward()?;
        let mut out = Results::new();
        out.insert("output".into(), y);
        let data = varmap.data().lock().unwrap();
        for (name, var) in data.iter() {
            out.insert(format!("value {name}"), var.as_tensor().copy()?);
            if let Some(g) = grads.get(var.as_tensor()) {
                out.insert(format!("grad {name}"), g.clone());
            }
        }
        Ok(out)
    })
}

/// Random initial values of every variable `build` creates.
fn initial_weights<M>(build: &dyn Fn(VarBuilder) -> Result<M>) -> Result<BTreeMap<String, Tensor>> {
    let varmap = VarMap::new();
    build(VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu))?;
    let data = varmap.data().lock().unwrap();
    data.iter()
        .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
        .collect()
}

fn assert_same(candle: &Results, fast: &Results) -> Result<()> {
    assert_eq!(
        candle.keys().collect::<Vec<_>>(),
        fast.keys().collect::<Vec<_>>(),
        "the two implementations produced different outputs or gradients"
    );
    let grads = candle.keys().filter(|k| k.starts_with("grad ")).count();
    assert!(grads > 10, "only {grads} gradients");
    for (name, c) in candle {
        let f = &fast[name];
        assert_eq!(c.dims(), f.dims(), "{name}");
        let scale = c.abs()?.flatten_all()?.max(0)?.to_scalar::<f64>()?;
        let diff = (c - f)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f64>()?;
        assert!(
            diff <= REL_TOL * scale.max(SCALE_FLOOR),
            "{name}: max |fast - candle| = {diff}, max |candle| = {scale}"
        );
    }
    Ok(())
}

fn compare<M: ModuleT>(build: &dyn Fn(VarBuilder) -> Result<M>, batch: usize) -> Result<()> {
    let initial = initial_weights(build)?;
    let x = parity_input(batch)?.to_dtype(DType::F64)?;
    let candle = run(Implementation::Candle, &initial, build, &x)?;
    let fast = run(Implementation::Fast, &initial, build, &x)?;
    assert_same(&candle, &fast)
}

#[test]
fn iresnet_small_fast_layers_match_candle_in_training() -> Result<()> {
    compare(&|vb| IResNet::new(&IResNetConfig::small(), vb), 4)
}

#[test]
fn mobilefacenet_fast_layers_match_candle_in_training() -> Result<()> {
    let cfg = MobileFaceNetConfig {
        blocks: [2, 1, 1, 1],
        scale: 1,
        embedding_dim: 32,
    };
    compare(&|vb| MobileFaceNet::new(&cfg, vb), 4)
}
