//! The parallel ReLU and add-then-ReLU against candle's `relu` and `add`: outputs and gradients
//! (f32 and f64, contiguous and transposed inputs), the switch back to candle, NaN, bad input.

mod conv_common;

use candle_core::{DType, Device, Result, Tensor, Var};
use conv_common::Rng;
use train_kit::conv::{self, Implementation};

fn values(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Bit-for-bit equal (ReLU and its mask are exact in both implementations).
fn assert_equal(what: &str, a: &Tensor, b: &Tensor) {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes");
    let (a, b) = (values(a), values(b));
    let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert_eq!(
        differing,
        0,
        "{what}: {differing} of {} values differ",
        a.len()
    );
}

#[test]
fn relu_and_add_relu_equal_candles_ops_and_gradients() -> Result<()> {
    let mut rng = Rng::new(71);
    for dtype in [DType::F32, DType::F64] {
        // Large enough for several parallel chunks; random values are never exactly 0.
        for dims in [vec![3, 7, 40, 50], vec![5, 3]] {
            let a = Var::from_tensor(&rng.tensor(&dims, dtype)?)?;
            let b = Var::from_tensor(&rng.tensor(&dims, dtype)?)?;
            let r = rng.tensor(&dims, dtype)?;

            let ours = conv::relu(&a)?;
            let theirs = a.relu()?;
            assert_equal("relu", &ours, &theirs);
            let g_ours = (&ours * &r)?.sum_all()?.backward()?;
            let g_theirs = (&theirs * &r)?.sum_all()?.backward()?;
            assert_equal(
                "relu gradient",
                g_ours.get(&a).unwrap(),
                g_theirs.get(&a).unwrap(),
            );

            let ours = conv::add_relu(&a, &b)?;
            let theirs = (a.as_tensor() + b.as_tensor())?.relu()?;
            assert_equal("add_relu", &ours, &theirs);
            let g_ours = (&ours * &r)?.sum_all()?.backward()?;
            let g_theirs = (&theirs * &r)?.sum_all()?.backward()?;
            for (name, v) in [("a", &a), ("b", &b)] {
                assert_equal(
                    &format!("add_relu gradient of {name}"),
                    g_ours.get(v).unwrap(),
                    g_theirs.get(v).unwrap(),
                );
            }
            // The gradient is r where the output is positive, 0 elsewhere.
            let expected: Vec<f64> = values(&ours)
                .iter()
                .zip(values(&r))
                .map(|(&y, g)| if y > 0.0 { g } else { 0.0 })
                .collect();
            assert_eq!(values(g_ours.get(&a).unwrap()), expected);
        }
    }
    Ok(())
}

#[test]
fn strided_inputs_and_a_shared_input_are_handled() -> Result<()> {
    let mut rng = Rng::new(73);
    let x = Var::from_tensor(&rng.tensor(&[6, 9], DType::F32)?)?;
    let t = x.t()?; // not contiguous
    assert_equal("relu of a transpose", &conv::relu(&t)?, &t.relu()?);
    // add_relu(x, x): both gradient contributions reach x.
    let y = conv::add_relu(&x, &x)?;
    let grads = y.sum_all()?.backward()?;
    let expected: Vec<f64> = values(&x)
        .iter()
        .map(|&v| if v > 0.0 { 2.0 } else { 0.0 })
        .collect();
    assert_eq!(values(grads.get(&x).unwrap()), expected);
    Ok(())
}

#[test]
fn nan_stays_nan_and_zero_has_no_gradient() -> Result<()> {
    let x = Var::new(&[f32::NAN, -1.0, 0.0, 2.0], &Device::Cpu)?;
    let y = conv::relu(&x)?;
    let v = y.to_vec1::<f32>()?;
    assert!(v[0].is_nan(), "{v:?}");
    assert_eq!(&v[1..], &[0.0, 0.0, 2.0]);
    let g = y.sum_all()?.backward()?;
    let g = g.get(&x).unwrap().to_vec1::<f32>()?;
    // PyTorch's threshold_backward: no gradient where the output is not positive.
    assert_eq!(&g[1..], &[0.0, 0.0, 1.0]);
    Ok(())
}

#[test]
fn the_candle_implementation_and_other_dtypes_use_candles_ops() -> Result<()> {
    let mut rng = Rng::new(79);
    let a = rng.tensor(&[4, 5], DType::F32)?;
    let b = rng.tensor(&[4, 5], DType::F32)?;
    conv::with_implementation(Implementation::Candle, || -> Result<()> {
        let y = conv::add_relu(&a, &b)?;
        assert_equal("candle path", &y, &(&a + &b)?.relu()?);
        Ok(())
    })?;
    // f16 is not a fast dtype: candle's ops give the same values.
    let h = a.to_dtype(DType::F16)?;
    assert_equal("f16 relu", &conv::relu(&h)?, &h.relu()?);
    // Shapes that differ: candle's broadcasting add decides (and names the problem).
    let c = rng.tensor(&[4, 6], DType::F32)?;
    let err = conv::add_relu(&a, &c).unwrap_err();
    assert!(err.to_string().contains("shape"), "{err}");
    Ok(())
}
