//! The fast layers as drop-in replacements: same parameter names and shapes as candle-nn, the
//! same block outputs and gradients, and errors (not panics) on bad input.

mod conv_common;

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Conv1dConfig, Conv2dConfig, VarBuilder, VarMap};
use conv_common::block::{ConvKind, IResNetBlock};
use conv_common::{assert_close, Rng};
use train_kit::conv::{self, ops};

/// Names and shapes of every variable in `map`, sorted.
fn names_and_shapes(map: &VarMap) -> Vec<(String, Vec<usize>)> {
    let data = map.data().lock().unwrap();
    let mut v: Vec<_> = data
        .iter()
        .map(|(k, t)| (k.clone(), t.dims().to_vec()))
        .collect();
    v.sort();
    v
}

#[test]
fn layers_create_the_same_variables_as_candle_nn() -> Result<()> {
    let cfg2 = Conv2dConfig {
        padding: 1,
        stride: 2,
        groups: 2,
        ..Default::default()
    };
    let cfg1 = Conv1dConfig {
        padding: 2,
        dilation: 2,
        ..Default::default()
    };
    let (ours, theirs) = (VarMap::new(), VarMap::new());
    let vb = VarBuilder::from_varmap(&ours, DType::F32, &Device::Cpu);
    conv::conv2d(4, 6, 3, cfg2, vb.pp("a"))?;
    conv::conv2d_no_bias(4, 6, 1, cfg2, vb.pp("b"))?;
    conv::conv1d(4, 8, 3, cfg1, vb.pp("c"))?;
    conv::conv1d_no_bias(4, 8, 5, cfg1, vb.pp("d"))?;
    let vb = VarBuilder::from_varmap(&theirs, DType::F32, &Device::Cpu);
    candle_nn::conv2d(4, 6, 3, cfg2, vb.pp("a"))?;
    candle_nn::conv2d_no_bias(4, 6, 1, cfg2, vb.pp("b"))?;
    candle_nn::conv1d(4, 8, 3, cfg1, vb.pp("c"))?;
    candle_nn::conv1d_no_bias(4, 8, 5, cfg1, vb.pp("d"))?;
    assert_eq!(names_and_shapes(&ours), names_and_shapes(&theirs));
    assert_eq!(names_and_shapes(&ours).len(), 6);
    Ok(())
}

#[test]
fn layers_with_bias_match_candle_nn_on_shared_weights() -> Result<()> {
    let map = VarMap::new();
    let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
    let mut rng = Rng::new(23);
    let cfg2 = Conv2dConfig {
        padding: 1,
        stride: 2,
        groups: 2,
        ..Default::default()
    };
    let x = rng.tensor(&[2, 4, 9, 9], DType::F32)?;
    let ours = conv::conv2d(4, 6, 3, cfg2, vb.pp("a"))?.forward(&x)?;
    let theirs = candle_nn::conv2d(4, 6, 3, cfg2, vb.pp("a"))?.forward(&x)?;
    assert_close("conv2d layer", &ours, &theirs, 1e-4);
    let cfg1 = Conv1dConfig {
        padding: 3,
        dilation: 3,
        ..Default::default()
    };
    let x = rng.tensor(&[2, 4, 30], DType::F32)?;
    let ours = conv::conv1d(4, 8, 3, cfg1, vb.pp("c"))?.forward(&x)?;
    let theirs = candle_nn::conv1d(4, 8, 3, cfg1, vb.pp("c"))?.forward(&x)?;
    assert_close("conv1d layer", &ours, &theirs, 1e-4);
    Ok(())
}

/// An IResNet block (train mode) gives the same output and parameter gradients with the fast
/// layers as with candle-nn's, on the same weights.
#[test]
fn iresnet_block_forward_and_gradients_match_candle() -> Result<()> {
    let cases = [(16, 16, 1), (16, 32, 2)];
    for ((c_in, c_out, stride), kind) in cases
        .into_iter()
        .flat_map(|c| [(c, ConvKind::FastConv), (c, ConvKind::Fast)])
    {
        let map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        let theirs = IResNetBlock::new(c_in, c_out, stride, ConvKind::Candle, vb.clone())?;
        let ours = IResNetBlock::new(c_in, c_out, stride, kind, vb)?;
        let mut rng = Rng::new(29);
        let x = candle_core::Var::from_tensor(&rng.tensor(&[4, c_in, 12, 12], DType::F32)?)?;
        let y_theirs = theirs.forward_t(&x, true)?;
        let y_ours = ours.forward_t(&x, true)?;
        assert_close("block output", &y_ours, &y_theirs, 1e-4);
        let r = rng.tensor(y_ours.dims(), DType::F32)?;
        let g_theirs = (&y_theirs * &r)?.sum_all()?.backward()?;
        let g_ours = (&y_ours * &r)?.sum_all()?.backward()?;
        let vars = map.all_vars();
        let mut compared = 0;
        for v in vars.iter().chain([&x]) {
            if let (Some(a), Some(b)) = (g_ours.get(v), g_theirs.get(v)) {
                assert_close(&format!("gradient of {:?}", v.dims()), a, b, 1e-4);
                compared += 1;
            }
        }
        // input, 3 + downsample convs, PReLU, 3 BNs x (weight, bias) (+ downsample BN).
        let expected = if stride == 1 {
            1 + 2 + 1 + 6
        } else {
            1 + 3 + 1 + 8
        };
        assert_eq!(compared, expected, "every trainable tensor has a gradient");
    }
    Ok(())
}

#[test]
fn non_contiguous_input_gives_the_same_result() -> Result<()> {
    let mut rng = Rng::new(31);
    let x = rng.tensor(&[2, 3, 8, 7], DType::F32)?;
    let w = rng.tensor(&[4, 3, 3, 3], DType::F32)?;
    let xt = x.transpose(2, 3)?.contiguous()?.transpose(2, 3)?;
    assert!(!xt.is_contiguous());
    assert_close(
        "transposed input",
        &ops::conv2d(&xt, &w, 1, 1, 1, 1)?,
        &x.conv2d(&w, 1, 1, 1, 1)?,
        1e-4,
    );
    Ok(())
}

#[test]
fn bad_input_returns_errors_that_name_the_problem() -> Result<()> {
    let mut rng = Rng::new(37);
    let x = rng.tensor(&[2, 4, 8, 8], DType::F32)?;
    let message = |r: Result<Tensor>| r.expect_err("should fail").to_string();
    let w = rng.tensor(&[6, 3, 3, 3], DType::F32)?;
    assert!(message(ops::conv2d(&x, &w, 1, 1, 1, 1)).contains("input channels"));
    let w = rng.tensor(&[6, 2, 3, 3], DType::F32)?;
    assert!(message(ops::conv2d(&x, &w, 1, 1, 1, 0)).contains("groups"));
    let w = rng.tensor(&[5, 2, 3, 3], DType::F32)?;
    assert!(message(ops::conv2d(&x, &w, 1, 1, 1, 2)).contains("groups=2 must divide"));
    let w = rng.tensor(&[6, 4, 11, 11], DType::F32)?;
    assert!(message(ops::conv2d(&x, &w, 0, 1, 1, 1)).contains("smaller than the dilated kernel"));
    let w = rng.tensor(&[6, 4, 3, 3], DType::F32)?;
    assert!(message(ops::conv2d(&x, &w, 1, 0, 1, 1)).contains("stride"));
    assert!(message(ops::conv2d(&x.flatten_from(2)?, &w, 1, 1, 1, 1)).contains("(N, C_in, H, W)"));
    assert!(message(ops::conv1d(&x, &w, 1, 1, 1, 1)).contains("(N, C_in, L)"));
    let w64 = w.to_dtype(DType::F64)?;
    assert!(ops::conv2d(&x, &w64, 1, 1, 1, 1).is_err(), "mixed dtypes");
    Ok(())
}

/// Second derivatives are not implemented: asking for one is an error, not a wrong answer.
#[test]
fn double_backward_is_an_error() -> Result<()> {
    let mut rng = Rng::new(41);
    let x = candle_core::Var::from_tensor(&rng.tensor(&[1, 2, 5, 5], DType::F32)?)?;
    let w = candle_core::Var::from_tensor(&rng.tensor(&[2, 2, 3, 3], DType::F32)?)?;
    let grads = ops::conv2d(&x, &w, 1, 1, 1, 1)?
        .sqr()?
        .sum_all()?
        .backward()?;
    let gx = grads.get(&x).expect("input gradient");
    assert!(gx.sum_all()?.backward().is_err());
    Ok(())
}
