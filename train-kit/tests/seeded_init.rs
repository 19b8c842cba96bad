//! Seeded initialization: reproducible, order-independent, and candle's (PyTorch's) distributions.

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::init::{FanInOut, NonLinearity, NormalOrUniform};
use candle_nn::{Init, VarMap};
use train_kit::seeded_var_builder;

fn values(t: &Tensor) -> Vec<f64> {
    t.flatten_all()
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (
        mean,
        v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n,
    )
}

const KAIMING_NORMAL: Init = Init::Kaiming {
    dist: NormalOrUniform::Normal,
    fan: FanInOut::FanIn,
    non_linearity: NonLinearity::ReLU,
};

#[test]
fn same_seed_same_weights_in_any_build_order() -> Result<()> {
    let (a, b, c) = (VarMap::new(), VarMap::new(), VarMap::new());
    let va = seeded_var_builder(&a, 7, DType::F32, &Device::Cpu);
    let x1 = va.get_with_hints((16, 8, 3, 3), "conv1.weight", KAIMING_NORMAL)?;
    let y1 = va.get_with_hints((4, 5), "fc.weight", Init::Uniform { lo: -1.0, up: 1.0 })?;
    // The other order: a variable's values depend on its name, not on when it is built.
    let vb = seeded_var_builder(&b, 7, DType::F32, &Device::Cpu);
    let y2 = vb.get_with_hints((4, 5), "fc.weight", Init::Uniform { lo: -1.0, up: 1.0 })?;
    let x2 = vb.get_with_hints((16, 8, 3, 3), "conv1.weight", KAIMING_NORMAL)?;
    assert_eq!(values(&x1), values(&x2));
    assert_eq!(values(&y1), values(&y2));
    // Another seed, other weights; another name, other weights.
    let vc = seeded_var_builder(&c, 8, DType::F32, &Device::Cpu);
    let x3 = vc.get_with_hints((16, 8, 3, 3), "conv1.weight", KAIMING_NORMAL)?;
    assert_ne!(values(&x1), values(&x3));
    let z = va.get_with_hints((16, 8, 3, 3), "conv2.weight", KAIMING_NORMAL)?;
    assert_ne!(values(&x1), values(&z));
    // The map holds the variables, so an optimizer sees them.
    assert_eq!(a.all_vars().len(), 3);
    Ok(())
}

#[test]
fn draws_follow_the_requested_distribution() -> Result<()> {
    let map = VarMap::new();
    let vb = seeded_var_builder(&map, 1, DType::F64, &Device::Cpu);
    let n = 64 * 64 * 3 * 3;
    // Kaiming normal, fan-in 576, ReLU gain sqrt(2): std = sqrt(2/576).
    let k = values(&vb.get_with_hints((64, 64, 3, 3), "k", KAIMING_NORMAL)?);
    let (m, v) = mean_var(&k);
    let want = 2.0 / 576.0;
    let se_var = want * (2.0 / n as f64).sqrt();
    assert!(m.abs() < 4.0 * (want / n as f64).sqrt(), "mean {m}");
    assert!((v - want).abs() < 4.0 * se_var, "variance {v} vs {want}");
    // Uniform on [-3, 5]: mean 1, variance 64/12, every value inside.
    let u = values(&vb.get_with_hints(n, "u", Init::Uniform { lo: -3.0, up: 5.0 })?);
    assert!(u.iter().all(|x| (-3.0..5.0).contains(x)));
    let (m, v) = mean_var(&u);
    assert!(
        (m - 1.0).abs() < 4.0 * (64.0 / 12.0 / n as f64).sqrt(),
        "mean {m}"
    );
    assert!((v - 64.0 / 12.0).abs() < 0.1, "variance {v}");
    // Randn with a mean; constants are exact.
    let r = values(&vb.get_with_hints(
        n,
        "r",
        Init::Randn {
            mean: 2.0,
            stdev: 0.5,
        },
    )?);
    let (m, v) = mean_var(&r);
    assert!((m - 2.0).abs() < 4.0 * 0.5 / (n as f64).sqrt(), "mean {m}");
    assert!(
        (v - 0.25).abs() < 4.0 * 0.25 * (2.0 / n as f64).sqrt(),
        "variance {v}"
    );
    let c = values(&vb.get_with_hints(5, "c", Init::Const(0.25))?);
    assert_eq!(c, vec![0.25; 5]);
    Ok(())
}

#[test]
fn an_existing_variable_is_reused_and_a_wrong_shape_is_named() -> Result<()> {
    let map = VarMap::new();
    let vb = seeded_var_builder(&map, 3, DType::F32, &Device::Cpu);
    let first = vb.get_with_hints((2, 3), "w", KAIMING_NORMAL)?;
    let again = seeded_var_builder(&map, 99, DType::F32, &Device::Cpu).get_with_hints(
        (2, 3),
        "w",
        KAIMING_NORMAL,
    )?;
    assert_eq!(values(&first), values(&again));
    let err = vb
        .get_with_hints((3, 2), "w", KAIMING_NORMAL)
        .unwrap_err()
        .to_string();
    assert!(err.contains("shape mismatch on w"), "{err}");
    Ok(())
}
