//! The fast convolutions' gradients against central finite differences in f64, independent of
//! candle's own backward.

mod conv_common;

use candle_core::{DType, Result, Tensor, Var};
use conv_common::{assert_close, Rng};
use train_kit::conv::ops;

/// Central differences of `f` with respect to every entry of `t` (the other argument fixed).
fn numeric_gradient(t: &Tensor, f: impl Fn(&Tensor) -> Result<f64>) -> Result<Tensor> {
    const EPS: f64 = 1e-6;
    let base = t.flatten_all()?.to_vec1::<f64>()?;
    let mut grad = Vec::with_capacity(base.len());
    for i in 0..base.len() {
        let mut shifted = base.clone();
        shifted[i] = base[i] + EPS;
        let up = f(&Tensor::from_vec(shifted.clone(), t.dims(), t.device())?)?;
        shifted[i] = base[i] - EPS;
        let down = f(&Tensor::from_vec(shifted, t.dims(), t.device())?)?;
        grad.push((up - down) / (2.0 * EPS));
    }
    Tensor::from_vec(grad, t.dims(), t.device())
}

/// Compares analytic and numeric gradients of `sum(conv(x, w) * r)`.
fn check_gradients(
    rng: &mut Rng,
    x_dims: &[usize],
    w_dims: &[usize],
    conv: &dyn Fn(&Tensor, &Tensor) -> Result<Tensor>,
) -> Result<()> {
    let x = rng.tensor(x_dims, DType::F64)?;
    let w = rng.tensor(w_dims, DType::F64)?;
    let r = rng.tensor(conv(&x, &w)?.dims(), DType::F64)?;
    let objective = |x: &Tensor, w: &Tensor| -> Result<Tensor> { (conv(x, w)? * &r)?.sum_all() };
    let (xv, wv) = (Var::from_tensor(&x)?, Var::from_tensor(&w)?);
    let grads = objective(xv.as_tensor(), wv.as_tensor())?.backward()?;
    let scalar = |t: Tensor| t.to_scalar::<f64>();
    let numeric_x = numeric_gradient(&x, |x| scalar(objective(x, &w)?))?;
    let numeric_w = numeric_gradient(&w, |w| scalar(objective(&x, w)?))?;
    let what = format!("x {x_dims:?}, w {w_dims:?}");
    assert_close(
        &format!("input gradient, {what}"),
        grads.get(&xv).unwrap(),
        &numeric_x,
        1e-6,
    );
    assert_close(
        &format!("weight gradient, {what}"),
        grads.get(&wv).unwrap(),
        &numeric_w,
        1e-6,
    );
    Ok(())
}

/// Input dims, weight dims, padding, stride, dilation, groups.
type Case = (
    &'static [usize],
    &'static [usize],
    usize,
    usize,
    usize,
    usize,
);

#[test]
fn conv2d_gradients_match_finite_differences() -> Result<()> {
    let mut rng = Rng::new(17);
    let cases: [Case; 6] = [
        (&[2, 3, 6, 5], &[4, 3, 3, 3], 1, 1, 1, 1),
        (&[1, 4, 7, 7], &[2, 2, 3, 2], 0, 2, 1, 2),
        (&[2, 2, 6, 6], &[3, 2, 2, 3], 2, 3, 1, 1),
        (&[1, 3, 7, 6], &[3, 1, 3, 3], 1, 2, 2, 3),
        (&[2, 4, 5, 5], &[2, 4, 1, 1], 0, 1, 1, 1),
        (&[2, 4, 5, 5], &[8, 1, 3, 3], 1, 1, 1, 4),
    ];
    for (x, w, p, s, d, g) in cases {
        check_gradients(&mut rng, x, w, &|x, w| ops::conv2d(x, w, p, s, d, g))?;
    }
    Ok(())
}

#[test]
fn conv1d_gradients_match_finite_differences() -> Result<()> {
    let mut rng = Rng::new(19);
    let cases: [Case; 3] = [
        (&[2, 3, 11], &[4, 3, 3], 2, 1, 2, 1),
        (&[1, 4, 13], &[2, 2, 5], 2, 2, 1, 2),
        (&[2, 2, 9], &[2, 1, 3], 3, 1, 3, 2),
    ];
    for (x, w, p, s, d, g) in cases {
        check_gradients(&mut rng, x, w, &|x, w| ops::conv1d(x, w, p, s, d, g))?;
    }
    Ok(())
}
