//! The candle-op path of the conv layers (what CUDA runs, and `Implementation::Candle` on CPU):
//! outputs and gradients equal those of a convolution built from elementary ops, on the shapes
//! where candle 0.11's own conv backward is wrong: conv2d with H and W leaving different
//! remainders at stride > 1; conv1d with kernel size 1 and a batch > 1, or an input slice.

mod conv_common;

use candle_core::{DType, Result, Tensor, Var};
use conv_common::{assert_close, reference_conv1d, reference_conv2d, Rng};
use train_kit::conv::ops;

type Conv = dyn Fn(&Tensor, &Tensor) -> Result<Tensor>;

/// Output and both gradients of `sum(conv(x, w) * r)` for `ours` and `reference`, in f64.
fn compare(rng: &mut Rng, xs: &[usize], ws: &[usize], ours: &Conv, reference: &Conv, what: &str) {
    let x = Var::from_tensor(&rng.tensor(xs, DType::F64).unwrap()).unwrap();
    let w = Var::from_tensor(&rng.tensor(ws, DType::F64).unwrap()).unwrap();
    let run = |f: &Conv| {
        let y = f(x.as_tensor(), w.as_tensor()).unwrap_or_else(|e| panic!("{what}: {e}"));
        let r = Tensor::ones(y.dims(), DType::F64, y.device())
            .unwrap()
            .cumsum(y.rank() - 1)
            .unwrap();
        let grads = (&y * &r)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap_or_else(|e| panic!("{what} backward: {e}"));
        (
            y,
            grads.get(&x).unwrap().clone(),
            grads.get(&w).unwrap().clone(),
        )
    };
    let (y, gx, gw) = run(ours);
    let (ry, rgx, rgw) = run(reference);
    assert_close(&format!("{what} output"), &y, &ry, 1e-12);
    assert_close(&format!("{what} input gradient"), &gx, &rgx, 1e-12);
    assert_close(&format!("{what} weight gradient"), &gw, &rgw, 1e-12);
}

type Case = (
    &'static [usize],
    &'static [usize],
    usize,
    usize,
    usize,
    usize,
);

#[test]
fn conv2d_candle_path_is_right_where_candle_backward_is_not() {
    let mut rng = Rng::new(23);
    // (x, w, padding, stride, dilation, groups); H and W leave different remainders.
    let cases: [Case; 5] = [
        (&[2, 3, 8, 9], &[4, 3, 3, 3], 1, 2, 1, 1),
        (&[2, 3, 9, 8], &[4, 3, 3, 3], 1, 2, 1, 1),
        (&[2, 4, 8, 11], &[4, 4, 1, 1], 0, 2, 1, 1),
        (&[1, 4, 10, 7], &[4, 1, 3, 3], 1, 3, 1, 4),
        (&[2, 2, 6, 6], &[3, 2, 3, 3], 1, 1, 1, 1),
    ];
    for (xs, ws, p, s, d, g) in cases {
        compare(
            &mut rng,
            xs,
            ws,
            &move |x, w| ops::candle_conv2d(x, w, p, s, d, g, None),
            &move |x, w| reference_conv2d(x, w, p, s, d, g),
            &format!("conv2d {xs:?} {ws:?} p{p} s{s}"),
        );
    }
}

#[test]
fn conv1d_candle_path_is_right_on_a_channel_slice() {
    let mut rng = Rng::new(31);
    compare(
        &mut rng,
        &[2, 16, 13],
        &[4, 4, 3],
        &|x, w| ops::candle_conv1d(&x.narrow(1, 4, 4)?, w, 2, 1, 2, 1, None),
        &|x, w| reference_conv1d(&x.narrow(1, 4, 4)?, w, 2, 1, 2, 1),
        "conv1d on channels 4..8",
    );
}

#[test]
fn candle_own_conv1d_backward_still_fails_on_kernel_size_one() {
    // The reason for `candle_conv1d`: if this starts failing, candle fixed its backward.
    let mut rng = Rng::new(37);
    let x = Var::from_tensor(&rng.tensor(&[2, 8, 13], DType::F64).unwrap()).unwrap();
    let w = rng.tensor(&[16, 8, 1], DType::F64).unwrap();
    let r = rng.tensor(&[2, 16, 13], DType::F64).unwrap();
    let grad = |y: Tensor| {
        (y * &r)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap()
            .get(&x)
            .unwrap()
            .clone()
    };
    let candle = grad(x.as_tensor().conv1d(&w, 0, 1, 1, 1).unwrap());
    let reference = grad(reference_conv1d(x.as_tensor(), &w, 0, 1, 1, 1).unwrap());
    assert!(conv_common::relative_error(&candle, &reference).unwrap() > 0.1);
}

#[test]
fn candle_own_backward_still_fails_on_odd_widths() {
    // The reason for `candle_conv2d`: if this starts passing, candle fixed its backward.
    let x = Var::from_tensor(
        &Tensor::ones((1, 1, 8, 9), DType::F32, &candle_core::Device::Cpu).unwrap(),
    )
    .unwrap();
    let w = Tensor::ones((1, 1, 3, 3), DType::F32, &candle_core::Device::Cpu).unwrap();
    let y = x.as_tensor().conv2d(&w, 1, 2, 1, 1).unwrap();
    assert!(y.sum_all().unwrap().backward().is_err());
}

#[test]
fn conv1d_candle_path_is_right_on_batches_and_kernel_size_one() {
    let mut rng = Rng::new(29);
    let cases: [Case; 6] = [
        (&[2, 8, 13], &[16, 8, 1], 0, 1, 1, 1),
        (&[3, 4, 5], &[6, 4, 1], 0, 1, 1, 1),
        (&[3, 4, 13], &[5, 4, 3], 1, 1, 1, 1),
        (&[2, 4, 14], &[4, 2, 5], 2, 2, 1, 2),
        (&[2, 3, 11], &[4, 3, 3], 2, 1, 2, 1),
        (&[4, 6, 9], &[6, 1, 3], 3, 1, 3, 6),
    ];
    for (xs, ws, p, s, d, g) in cases {
        compare(
            &mut rng,
            xs,
            ws,
            &move |x, w| ops::candle_conv1d(x, w, p, s, d, g, None),
            &move |x, w| reference_conv1d(x, w, p, s, d, g),
            &format!("conv1d {xs:?} {ws:?} p{p} s{s} d{d} g{g}"),
        );
    }
}

#[test]
fn an_empty_kernel_is_an_error_not_a_panic() {
    let dev = candle_core::Device::Cpu;
    let x = Tensor::zeros((1, 1, 8, 9), DType::F32, &dev).unwrap();
    let w = Tensor::zeros((1, 1, 0, 0), DType::F32, &dev).unwrap();
    assert!(ops::candle_conv2d(&x, &w, 1, 2, 1, 1, None).is_err());
}
