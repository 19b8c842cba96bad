//! The per-thread implementation switch: the same layers run candle's ops or the fast kernels,
//! with matching outputs and gradients, and flipping it leaves other threads alone.

use candle_core::{DType, Device, Module, ModuleT, Result, Tensor, Var};
use candle_nn::{BatchNormConfig, Conv2dConfig, VarBuilder, VarMap};
use train_kit::conv::{self, Implementation};

/// Output of a conv → BN → PReLU stack and the gradients of `sum(y * r)` w.r.t. the input
/// and the conv weight, under `choice`.
fn run(choice: Implementation, map: &VarMap, x: &Var, r: &Tensor) -> Result<Vec<Tensor>> {
    conv::with_implementation(choice, || {
        assert_eq!(conv::implementation(), choice);
        let vb = VarBuilder::from_varmap(map, DType::F32, &Device::Cpu);
        let cfg = Conv2dConfig {
            padding: 1,
            ..Default::default()
        };
        let c = conv::conv2d_no_bias(8, 16, 3, cfg, vb.pp("conv"))?;
        let bn = conv::batch_norm(16, BatchNormConfig::default(), vb.pp("bn"))?;
        let p = conv::prelu(Some(16), vb.pp("prelu"))?;
        let y = p.forward(&bn.forward_t(&c.forward(x.as_tensor())?, true)?)?;
        let grads = (&y * r)?.sum_all()?.backward()?;
        let gx = grads.get(x).expect("input gradient").clone();
        let gw = grads.get(c.weight()).expect("weight gradient").clone();
        Ok(vec![y, gx, gw])
    })
}

#[test]
fn switch_selects_candle_or_fast_with_equal_results() -> Result<()> {
    assert_eq!(conv::implementation(), Implementation::Fast, "default");
    let dev = Device::Cpu;
    let map = VarMap::new();
    let x = Var::from_tensor(&Tensor::randn(0f32, 1., (4, 8, 20, 20), &dev)?)?;
    let r = Tensor::randn(0f32, 1., (4, 16, 20, 20), &dev)?;
    let candle = run(Implementation::Candle, &map, &x, &r)?;
    assert_eq!(conv::implementation(), Implementation::Fast, "restored");
    let fast = run(Implementation::Fast, &map, &x, &r)?;
    let mut bit_identical = true;
    for (name, (c, f)) in ["output", "input grad", "weight grad"]
        .iter()
        .zip(candle.iter().zip(&fast))
    {
        let scale = c.abs()?.max_all()?.to_scalar::<f32>()?;
        let diff = (c - f)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(
            diff <= 1e-4 * scale,
            "{name}: max diff {diff} (scale {scale})"
        );
        bit_identical &= diff == 0.0;
    }
    // Different kernels round differently: bit-identical results would mean the switch did
    // nothing.
    assert!(!bit_identical, "Candle and Fast gave bit-identical results");

    assert_eq!(
        conv::set_implementation(Implementation::Candle),
        Implementation::Fast
    );
    let elsewhere = std::thread::spawn(conv::implementation).join().unwrap();
    assert_eq!(
        elsewhere,
        Implementation::Fast,
        "another thread is unaffected"
    );
    assert_eq!(
        conv::set_implementation(Implementation::Fast),
        Implementation::Candle
    );
    Ok(())
}
