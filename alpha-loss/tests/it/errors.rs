//! Bad input returns an error naming the problem; never a panic, never a silent NaN.

use alpha_loss::{alpha_divergence_loss, alpha_loss, alpha_softargmax, Backend, ReferenceMeasure};
use candle_core::{Device, Tensor};

fn logits() -> Tensor {
    Tensor::new(&[[0.5f32, 1.0, -1.0], [2.0, 0.0, 0.1]], &Device::Cpu).unwrap()
}

fn targets() -> Tensor {
    Tensor::new(&[0u32, 2], &Device::Cpu).unwrap()
}

fn q() -> Tensor {
    Tensor::new(&[1f32, 1.0, 1.0], &Device::Cpu).unwrap()
}

#[track_caller]
fn expect_error<T: std::fmt::Debug>(r: candle_core::Result<T>, needle: &str) {
    match r {
        Ok(v) => panic!("expected an error mentioning {needle:?}, got {v:?}"),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(needle),
                "error {msg:?} does not mention {needle:?}"
            );
        }
    }
}

#[test]
fn alpha_below_one_or_not_finite() {
    expect_error(
        alpha_divergence_loss(&logits(), &targets(), &q(), 0.5),
        "α must be",
    );
    expect_error(
        alpha_divergence_loss(&logits(), &targets(), &q(), f64::NAN),
        "α must be",
    );
    expect_error(
        alpha_softargmax(&logits(), &q(), f64::INFINITY),
        "α must be",
    );
}

#[test]
fn q_not_strictly_positive_or_not_finite() {
    for bad in [0.0f32, -1.0, f32::NAN, f32::INFINITY] {
        let q = Tensor::new(&[1f32, bad, 1.0], &Device::Cpu).unwrap();
        expect_error(
            alpha_divergence_loss(&logits(), &targets(), &q, 1.5),
            "strictly positive",
        );
    }
    assert!(ReferenceMeasure::constant(0.0).is_err());
    assert!(ReferenceMeasure::uniform(0).is_err());
    assert!(ReferenceMeasure::unit().with_target_factor(-0.5).is_err());
}

#[test]
fn nan_or_infinite_logits_on_both_paths() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let l = Tensor::new(&[[0.5f32, 1.0, -1.0], [2.0, bad, 0.1]], &Device::Cpu).unwrap();
        expect_error(alpha_divergence_loss(&l, &targets(), &q(), 1.5), "logits");
        expect_error(alpha_divergence_loss(&l, &targets(), &q(), 1.0), "logits");
        for backend in [Backend::CpuFast, Backend::Generic] {
            expect_error(
                alpha_loss(&l, &targets(), &ReferenceMeasure::unit(), 2.0, backend),
                "finite",
            );
        }
    }
    // The CPU path names the row and column.
    let l = Tensor::new(&[[0.5f32, 1.0, -1.0], [2.0, f32::NAN, 0.1]], &Device::Cpu).unwrap();
    expect_error(
        alpha_divergence_loss(&l, &targets(), &q(), 1.5),
        "logits[1, 1]",
    );
}

#[test]
fn targets_out_of_range_or_wrong_type() {
    let t = Tensor::new(&[0u32, 3], &Device::Cpu).unwrap();
    expect_error(
        alpha_divergence_loss(&logits(), &t, &q(), 1.5),
        "out of range",
    );
    let t = Tensor::new(&[0i64, -1], &Device::Cpu).unwrap();
    expect_error(
        alpha_divergence_loss(&logits(), &t, &q(), 1.5),
        "out of range",
    );
    let t = Tensor::new(&[0f32, 1.0], &Device::Cpu).unwrap();
    expect_error(alpha_divergence_loss(&logits(), &t, &q(), 1.5), "integer");
}

#[test]
fn shape_mismatches() {
    let q4 = Tensor::new(&[1f32, 1.0, 1.0, 1.0], &Device::Cpu).unwrap();
    expect_error(
        alpha_divergence_loss(&logits(), &targets(), &q4, 1.5),
        "expected [3]",
    );
    let t3 = Tensor::new(&[0u32, 1, 2], &Device::Cpu).unwrap();
    expect_error(
        alpha_divergence_loss(&logits(), &t3, &q(), 1.5),
        "targets must be [2]",
    );
    let flat = Tensor::new(&[0.5f32, 1.0], &Device::Cpu).unwrap();
    expect_error(alpha_softargmax(&flat, &q(), 1.5), "must be [B, C]");
    let q_rows = Tensor::ones((3, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
    expect_error(
        alpha_softargmax(&logits(), &q_rows, 1.5),
        "expected [3] or [2, 3]",
    );
    let m = ReferenceMeasure::from_tensor(&q(), 2, 3).unwrap();
    let wide = Tensor::zeros((2, 5), candle_core::DType::F32, &Device::Cpu).unwrap();
    expect_error(
        alpha_loss(&wide, &targets(), &m, 1.5, Backend::CpuFast),
        "3 classes",
    );
}
