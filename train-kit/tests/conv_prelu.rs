//! The fused PReLU against candle-nn's: outputs and gradients, plus finite differences in f64.

mod conv_common;

use candle_core::{DType, Device, Module, Result, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use conv_common::{assert_close, Rng};
use train_kit::conv;

/// A VarMap holding a random PReLU weight `weight` of `c` values.
fn random_weight(c: usize, dtype: DType) -> Result<VarMap> {
    let map = VarMap::new();
    candle_nn::prelu(Some(c), VarBuilder::from_varmap(&map, dtype, &Device::Cpu))?;
    let values = Rng::new(59).tensor(&[c], dtype)?;
    map.data().lock().unwrap()["weight"].set(&values)?;
    Ok(map)
}

#[test]
fn output_and_gradients_match_candle_nn() -> Result<()> {
    let mut rng = Rng::new(61);
    for dims in [vec![3, 5, 6, 7], vec![4, 5, 9], vec![6, 5]] {
        let map = random_weight(5, DType::F32)?;
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        let ours = conv::prelu(Some(5), vb.clone())?;
        let theirs = candle_nn::prelu(Some(5), vb)?;
        let x = Var::from_tensor(&rng.tensor(&dims, DType::F32)?)?;
        let (y_ours, y_theirs) = (ours.forward(&x)?, theirs.forward(&x)?);
        assert_close(&format!("output {dims:?}"), &y_ours, &y_theirs, 1e-6);
        let r = rng.tensor(&dims, DType::F32)?;
        let g_ours = (&y_ours * &r)?.sum_all()?.backward()?;
        let g_theirs = (&y_theirs * &r)?.sum_all()?.backward()?;
        let w = theirs.weight();
        assert_close(
            "input gradient",
            g_ours.get(&x).unwrap(),
            g_theirs.get(&x).unwrap(),
            1e-5,
        );
        assert_close(
            "weight gradient",
            g_ours.get(w).unwrap(),
            g_theirs.get(w).unwrap(),
            1e-5,
        );
    }
    Ok(())
}

#[test]
fn weight_gradient_matches_finite_differences_in_f64() -> Result<()> {
    let mut rng = Rng::new(67);
    let map = random_weight(3, DType::F64)?;
    let layer = conv::prelu(
        Some(3),
        VarBuilder::from_varmap(&map, DType::F64, &Device::Cpu),
    )?;
    let x = rng.tensor(&[2, 3, 4], DType::F64)?;
    let r = rng.tensor(&[2, 3, 4], DType::F64)?;
    let w = layer.inner().weight().clone();
    let grads = (layer.forward(&x)? * &r)?.sum_all()?.backward()?;
    let base = w.to_vec1::<f64>()?;
    let eps = 1e-6;
    let mut numeric = Vec::new();
    for i in 0..base.len() {
        let at = |delta: f64| -> Result<f64> {
            let mut v = base.clone();
            v[i] += delta;
            let shifted = candle_nn::PReLU::new(Tensor::new(v, &Device::Cpu)?, false);
            (shifted.forward(&x)? * &r)?.sum_all()?.to_scalar::<f64>()
        };
        numeric.push((at(eps)? - at(-eps)?) / (2.0 * eps));
    }
    let numeric = Tensor::new(numeric, &Device::Cpu)?;
    assert_close(
        "weight gradient vs finite differences",
        grads.get(&w).unwrap(),
        &numeric,
        1e-6,
    );
    Ok(())
}

#[test]
fn wrong_channel_count_is_an_error() -> Result<()> {
    let map = VarMap::new();
    let layer = conv::prelu(
        Some(3),
        VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu),
    )?;
    let x = Tensor::zeros((2, 4, 5), DType::F32, &Device::Cpu)?;
    assert!(layer.forward(&x).is_err());
    Ok(())
}
