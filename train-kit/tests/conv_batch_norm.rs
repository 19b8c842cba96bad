//! The fused train-mode batch norm against candle-nn's: outputs, gradients, running statistics,
//! variable names, and a finite-difference check in f64.

mod conv_common;

use candle_core::{DType, Device, ModuleT, Result, Tensor, Var};
use candle_nn::{BatchNormConfig, VarBuilder, VarMap};
use conv_common::{assert_close, Rng};
use train_kit::conv;

/// A VarMap with batch-norm variables `bn.*` for `c` channels, all randomised (variance positive).
fn random_varmap(c: usize, seed: u64, dtype: DType) -> Result<VarMap> {
    let map = VarMap::new();
    let vb = VarBuilder::from_varmap(&map, dtype, &Device::Cpu);
    candle_nn::batch_norm(c, 1e-5, vb.pp("bn"))?;
    let mut rng = Rng::new(seed);
    let data = map.data().lock().unwrap();
    let mut names: Vec<_> = data.keys().collect();
    names.sort();
    for name in names {
        let var = &data[name];
        let values = rng.tensor(&[c], dtype)?;
        let values = if name.ends_with("running_var") {
            (values.abs()? + 0.5)?
        } else {
            values
        };
        var.set(&values)?;
    }
    drop(data);
    Ok(map)
}

fn sorted_tensors(map: &VarMap) -> Vec<(String, Tensor)> {
    let mut v: Vec<_> = map
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Output, input/weight/bias gradients and updated running statistics agree with candle-nn's.
#[test]
fn train_mode_matches_candle_nn() -> Result<()> {
    let mut rng = Rng::new(43);
    for (dims, momentum) in [
        (vec![4, 6, 5, 7], 0.1),
        (vec![3, 5, 11], 0.3),
        (vec![8, 3], 0.1),
    ] {
        let c = dims[1];
        let cfg = BatchNormConfig {
            eps: 1e-5,
            momentum,
            ..Default::default()
        };
        let (ours_map, theirs_map) = (
            random_varmap(c, 1, DType::F32)?,
            random_varmap(c, 1, DType::F32)?,
        );
        let vb = |m: &VarMap| VarBuilder::from_varmap(m, DType::F32, &Device::Cpu).pp("bn");
        let ours = conv::batch_norm(c, cfg, vb(&ours_map))?;
        let theirs = candle_nn::batch_norm(c, cfg, vb(&theirs_map))?;
        // An offset mean checks the variance is not lost to cancellation.
        let x = Var::from_tensor(&rng.tensor(&dims, DType::F32)?.affine(3.0, 20.0)?)?;
        let (y_ours, y_theirs) = (ours.forward_t(&x, true)?, theirs.forward_t(&x, true)?);
        assert_close(&format!("output {dims:?}"), &y_ours, &y_theirs, 1e-4);
        let r = rng.tensor(&dims, DType::F32)?;
        let g_ours = (&y_ours * &r)?.sum_all()?.backward()?;
        let g_theirs = (&y_theirs * &r)?.sum_all()?.backward()?;
        assert_close(
            "input gradient",
            g_ours.get(&x).unwrap(),
            g_theirs.get(&x).unwrap(),
            1e-4,
        );
        let (w_ours, b_ours) = ours.inner().weight_and_bias().unwrap();
        let (w_theirs, b_theirs) = theirs.weight_and_bias().unwrap();
        assert_close(
            "weight gradient",
            g_ours.get(w_ours).unwrap(),
            g_theirs.get(w_theirs).unwrap(),
            1e-4,
        );
        assert_close(
            "bias gradient",
            g_ours.get(b_ours).unwrap(),
            g_theirs.get(b_theirs).unwrap(),
            1e-4,
        );
        let (after_ours, after_theirs) = (sorted_tensors(&ours_map), sorted_tensors(&theirs_map));
        assert_eq!(after_ours.len(), 4);
        for ((name, a), (name_b, b)) in after_ours.iter().zip(&after_theirs) {
            assert_eq!(name, name_b);
            assert_close(&format!("{name} after one step"), a, b, 1e-5);
        }
        // Eval mode reads the (updated, shared) running statistics.
        assert_close(
            "eval output",
            &ours.forward_t(&x, false)?,
            &theirs.forward_t(&x, false)?,
            1e-5,
        );
    }
    Ok(())
}

#[test]
fn running_statistics_move_and_are_the_varmap_variables() -> Result<()> {
    let map = VarMap::new();
    let bn = conv::batch_norm(
        3,
        1e-5,
        VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu),
    )?;
    let x = (Rng::new(47).tensor(&[4, 3, 6], DType::F32)? + 2.0)?;
    bn.forward_t(&x, true)?;
    let stored = map.data().lock().unwrap()["running_mean"]
        .as_tensor()
        .clone();
    assert_close("shared running mean", bn.running_mean(), &stored, 0.0);
    let mean = stored.to_vec1::<f32>()?;
    assert!(
        mean.iter().all(|m| (0.1..0.3).contains(m)),
        "momentum 0.1 towards ~2: {mean:?}"
    );
    Ok(())
}

#[test]
fn gradients_match_finite_differences_in_f64() -> Result<()> {
    let mut rng = Rng::new(53);
    let map = random_varmap(3, 2, DType::F64)?;
    let bn = conv::batch_norm(
        3,
        1e-5,
        VarBuilder::from_varmap(&map, DType::F64, &Device::Cpu).pp("bn"),
    )?;
    let x = rng.tensor(&[2, 3, 4], DType::F64)?;
    let r = rng.tensor(&[2, 3, 4], DType::F64)?;
    let objective =
        |x: &Tensor| -> Result<f64> { (bn.forward_t(x, true)? * &r)?.sum_all()?.to_scalar() };
    let xv = Var::from_tensor(&x)?;
    let grads = (bn.forward_t(&xv, true)? * &r)?.sum_all()?.backward()?;
    let base = x.flatten_all()?.to_vec1::<f64>()?;
    let eps = 1e-5;
    let mut numeric = Vec::new();
    for i in 0..base.len() {
        let mut v = base.clone();
        v[i] += eps;
        let up = objective(&Tensor::from_vec(v.clone(), x.dims(), &Device::Cpu)?)?;
        v[i] -= 2.0 * eps;
        let down = objective(&Tensor::from_vec(v, x.dims(), &Device::Cpu)?)?;
        numeric.push((up - down) / (2.0 * eps));
    }
    let numeric = Tensor::from_vec(numeric, x.dims(), &Device::Cpu)?;
    assert_close(
        "input gradient vs finite differences",
        grads.get(&xv).unwrap(),
        &numeric,
        1e-6,
    );
    Ok(())
}

#[test]
fn wrong_channel_count_is_an_error() -> Result<()> {
    let map = VarMap::new();
    let bn = conv::batch_norm(
        3,
        1e-5,
        VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu),
    )?;
    let x = Tensor::zeros((2, 4, 5), DType::F32, &Device::Cpu)?;
    let err = bn.forward_t(&x, true).unwrap_err().to_string();
    assert!(err.contains("3 channels"), "{err}");
    Ok(())
}
