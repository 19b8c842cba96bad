//! The fast convolutions against candle's: outputs against candle's conv ops, gradients against
//! candle's autodiff of an elementary-op convolution (`reference_conv2d`) over random shapes,
//! strides, paddings, dilations and groups (depthwise included), and against candle's own conv
//! backward on backbone layers, where candle 0.11.1's backward is right.

mod conv_common;

use candle_core::{DType, Result, Tensor, Var};
use conv_common::{assert_close, reference_conv1d, reference_conv2d, Rng};
use train_kit::conv::ops;

const TOL: f64 = 1e-4;

/// One random convolution problem.
#[derive(Debug, Clone, Copy)]
struct Case {
    batch: usize,
    in_channels: usize,
    out_channels: usize,
    groups: usize,
    size: [usize; 2],
    kernel: [usize; 2],
    padding: usize,
    stride: usize,
    dilation: usize,
}

impl Case {
    fn random(rng: &mut Rng, one_d: bool) -> Self {
        let depthwise = rng.range(0, 4) == 0;
        let groups = if depthwise {
            rng.range(2, 6)
        } else {
            rng.pick(&[1, 1, 2, 3])
        };
        let (cin_g, cout_g) = if depthwise {
            (1, 1)
        } else {
            (rng.range(1, 4), rng.range(1, 4))
        };
        let kw = rng.pick(&[1, 2, 3, 3, 5]);
        let kh = if one_d {
            1
        } else if rng.range(0, 3) == 0 {
            rng.pick(&[1, 3])
        } else {
            kw
        };
        let dilation = rng.pick(&[1, 1, 2, 3]);
        let padding = rng.range(0, 2);
        let size = [kh, kw].map(|k: usize| {
            let span = dilation * (k - 1) + 1;
            span.saturating_sub(2 * padding).max(1) + rng.range(0, 7)
        });
        Self {
            batch: rng.range(1, 3),
            in_channels: cin_g * groups,
            out_channels: cout_g * groups,
            groups,
            size: if one_d { [1, size[1]] } else { size },
            kernel: [kh, kw],
            padding,
            stride: rng.pick(&[1, 1, 2, 3]),
            dilation,
        }
    }
}

/// Output and the gradients of `sum(y * r)` with respect to `x` and `w`.
fn run(
    conv: impl Fn(&Tensor, &Tensor) -> Result<Tensor>,
    x: &Tensor,
    w: &Tensor,
    r_seed: u64,
) -> Result<[Tensor; 3]> {
    let (xv, wv) = (Var::from_tensor(x)?, Var::from_tensor(w)?);
    let y = conv(xv.as_tensor(), wv.as_tensor())?;
    let r = Rng::new(r_seed).tensor(y.dims(), y.dtype())?;
    let grads = (&y * &r)?.sum_all()?.backward()?;
    let gx = grads.get(xv.as_tensor()).expect("input gradient").clone();
    let gw = grads.get(wv.as_tensor()).expect("weight gradient").clone();
    Ok([y, gx, gw])
}

/// Compares outputs with candle's conv and gradients with the elementary-op reference, and
/// with candle's own conv backward too when `candle_backward`.
fn check_against_candle(
    case: Case,
    rng: &mut Rng,
    one_d: bool,
    candle_backward: bool,
) -> Result<()> {
    let [h, w] = case.size;
    let [kh, kw] = case.kernel;
    let cin_g = case.in_channels / case.groups;
    let (x, wt) = if one_d {
        let x = rng.tensor(&[case.batch, case.in_channels, w], DType::F32)?;
        (x, rng.tensor(&[case.out_channels, cin_g, kw], DType::F32)?)
    } else {
        let x = rng.tensor(&[case.batch, case.in_channels, h, w], DType::F32)?;
        (
            x,
            rng.tensor(&[case.out_channels, cin_g, kh, kw], DType::F32)?,
        )
    };
    let (p, s, d, g) = (case.padding, case.stride, case.dilation, case.groups);
    let seed = rng.next_u64();
    let (ours, reference, candle) = if one_d {
        (
            run(|x, w| ops::conv1d(x, w, p, s, d, g), &x, &wt, seed)?,
            run(|x, w| reference_conv1d(x, w, p, s, d, g), &x, &wt, seed)?,
            x.conv1d(&wt, p, s, d, g)?,
        )
    } else {
        (
            run(|x, w| ops::conv2d(x, w, p, s, d, g), &x, &wt, seed)?,
            run(|x, w| reference_conv2d(x, w, p, s, d, g), &x, &wt, seed)?,
            x.conv2d(&wt, p, s, d, g)?,
        )
    };
    assert_close(&format!("output of {case:?}"), &ours[0], &candle, TOL);
    assert_close(
        &format!("reference output of {case:?}"),
        &reference[0],
        &candle,
        TOL,
    );
    assert_close(
        &format!("input gradient of {case:?}"),
        &ours[1],
        &reference[1],
        TOL,
    );
    assert_close(
        &format!("weight gradient of {case:?}"),
        &ours[2],
        &reference[2],
        TOL,
    );
    if candle_backward {
        let theirs = run(|x, w| x.conv2d(w, p, s, d, g), &x, &wt, seed)?;
        assert_close(
            &format!("candle input gradient, {case:?}"),
            &ours[1],
            &theirs[1],
            TOL,
        );
        assert_close(
            &format!("candle weight gradient, {case:?}"),
            &ours[2],
            &theirs[2],
            TOL,
        );
    }
    Ok(())
}

#[test]
fn conv2d_matches_candle_on_random_shapes() -> Result<()> {
    let mut rng = Rng::new(7);
    for _ in 0..80 {
        let case = Case::random(&mut rng, false);
        check_against_candle(case, &mut rng, false, false)?;
    }
    Ok(())
}

#[test]
fn conv1d_matches_candle_on_random_shapes() -> Result<()> {
    let mut rng = Rng::new(11);
    for _ in 0..60 {
        let case = Case::random(&mut rng, true);
        check_against_candle(case, &mut rng, true, false)?;
    }
    Ok(())
}

/// Backbone-sized layers: 64 channels (GEMM blocking kicks in), a batch larger than the
/// thread count, a single image (parallel GEMM path), stride 2, 1x1 and depthwise.
#[test]
fn conv2d_matches_candle_on_backbone_layers() -> Result<()> {
    let mut rng = Rng::new(3);
    let layer = |batch, c_in, c_out, groups, size, k, padding, stride| Case {
        batch,
        in_channels: c_in,
        out_channels: c_out,
        groups,
        size: [size, size],
        kernel: [k, k],
        padding,
        stride,
        dilation: 1,
    };
    for case in [
        layer(5, 64, 64, 1, 14, 3, 1, 1),
        layer(1, 64, 64, 1, 14, 3, 1, 1),
        layer(3, 64, 128, 1, 14, 3, 1, 2),
        layer(3, 64, 128, 1, 14, 1, 0, 2),
        layer(3, 96, 48, 1, 9, 1, 0, 1),
        layer(3, 64, 64, 64, 14, 3, 1, 1),
        layer(3, 64, 64, 64, 14, 3, 1, 2),
    ] {
        check_against_candle(case, &mut rng, false, true)?;
    }
    Ok(())
}

/// ECAPA-TDNN's layers: kernel 5, and kernel 3 with dilation 2, 3 and 4, at 80 frames.
#[test]
fn conv1d_matches_candle_on_ecapa_layers() -> Result<()> {
    let mut rng = Rng::new(5);
    for (k, dilation) in [(5, 1), (3, 2), (3, 3), (3, 4), (1, 1)] {
        let case = Case {
            batch: 3,
            in_channels: 32,
            out_channels: 48,
            groups: 1,
            size: [1, 80],
            kernel: [1, k],
            padding: dilation * (k - 1) / 2,
            stride: 1,
            dilation,
        };
        check_against_candle(case, &mut rng, true, false)?;
    }
    Ok(())
}
