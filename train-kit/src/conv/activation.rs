//! ReLU and a residual block's "add, then ReLU" as parallel CPU ops with a one-pass backward.
//!
//! candle's CPU `relu` and same-shape `add` run on one thread, and its ReLU backward takes four
//! passes (zeros, compare, cast, multiply); these take one pass each, on every core. The gradient
//! is `dy` where the output is positive and 0 elsewhere, as PyTorch's `threshold_backward` (candle
//! also passes it where the input is exactly 0). NaN inputs stay NaN. Other devices, dtypes and
//! [`Implementation::Candle`](super::Implementation) use candle's ops.

use candle_core::backend::BackendStorage;
use candle_core::{
    bail, CpuStorage, CustomOp1, CustomOp2, DType, Layout, Result, Shape, Tensor, WithDType,
};
use rayon::prelude::*;

use super::elem::ConvElem;
use super::storage::contiguous;
use super::switch::fast_selected;

/// Elements per parallel task.
const CHUNK: usize = 1 << 15;

/// `max(x, 0)`.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    if !eligible(x) {
        return x.relu();
    }
    x.contiguous()?.apply_op1(Relu)
}

/// `max(a + b, 0)`, the end of a ResNet basic block: one op instead of an add and a ReLU.
pub fn add_relu(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if !(eligible(a) && eligible(b) && a.shape() == b.shape() && a.dtype() == b.dtype()) {
        return (a + b)?.relu();
    }
    a.contiguous()?.apply_op2(&b.contiguous()?, AddRelu)
}

fn eligible(x: &Tensor) -> bool {
    fast_selected() && x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64)
}

#[inline(always)]
fn clamp_negative<T: ConvElem>(v: T) -> T {
    // `<` keeps NaN (a comparison with NaN is false), unlike `max`.
    if v < T::zero() {
        T::zero()
    } else {
        v
    }
}

fn relu_values<T: ConvElem>(x: &[T]) -> Vec<T> {
    let mut y = vec![T::zero(); x.len()];
    y.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(y, x)| {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = clamp_negative(v);
            }
        });
    y
}

fn add_relu_values<T: ConvElem>(a: &[T], b: &[T]) -> Vec<T> {
    let mut y = vec![T::zero(); a.len()];
    y.par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
        .for_each(|(y, (a, b))| {
            for ((o, &u), &v) in y.iter_mut().zip(a).zip(b) {
                *o = clamp_negative(u + v);
            }
        });
    y
}

/// `dy` where `y > 0`, else 0.
fn masked_gradient<T: ConvElem>(dy: &[T], y: &[T]) -> Vec<T> {
    let mut dx = vec![T::zero(); dy.len()];
    dx.par_chunks_mut(CHUNK)
        .zip(dy.par_chunks(CHUNK).zip(y.par_chunks(CHUNK)))
        .for_each(|(dx, (dy, y))| {
            for ((o, &g), &v) in dx.iter_mut().zip(dy).zip(y) {
                *o = if v > T::zero() { g } else { T::zero() };
            }
        });
    dx
}

/// Runs `f32_op` or `f64_op` on two same-dtype contiguous arguments.
fn binary_storage(
    name: &str,
    (s1, l1): (&CpuStorage, &Layout),
    (s2, l2): (&CpuStorage, &Layout),
    f32_op: fn(&[f32], &[f32]) -> Vec<f32>,
    f64_op: fn(&[f64], &[f64]) -> Vec<f64>,
) -> Result<(CpuStorage, Shape)> {
    if l1.shape() != l2.shape() {
        bail!("{name}: shapes {:?} and {:?} differ", l1.dims(), l2.dims());
    }
    let storage = match (s1, s2) {
        (CpuStorage::F32(_), CpuStorage::F32(_)) => {
            f32::to_cpu_storage_owned(f32_op(contiguous(s1, l1, name)?, contiguous(s2, l2, name)?))
        }
        (CpuStorage::F64(_), CpuStorage::F64(_)) => {
            f64::to_cpu_storage_owned(f64_op(contiguous(s1, l1, name)?, contiguous(s2, l2, name)?))
        }
        _ => bail!(
            "{name}: needs two f32 or two f64 tensors, got {:?} and {:?}",
            s1.dtype(),
            s2.dtype()
        ),
    };
    Ok((storage, l1.shape().clone()))
}

/// The gradient of a ReLU output `y` for output gradient `dy`.
fn relu_backward(y: &Tensor, dy: &Tensor) -> Result<Tensor> {
    dy.contiguous()?.apply_op2_no_bwd(y, &MaskedGradient)
}

struct Relu;

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        "train-kit-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let n = self.name();
        let storage = match s {
            CpuStorage::F32(_) => f32::to_cpu_storage_owned(relu_values(contiguous(s, l, n)?)),
            CpuStorage::F64(_) => f64::to_cpu_storage_owned(relu_values(contiguous(s, l, n)?)),
            _ => bail!("{n}: needs an f32 or f64 tensor, got {:?}", s.dtype()),
        };
        Ok((storage, l.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(relu_backward(y, dy)?))
    }
}

struct AddRelu;

impl CustomOp2 for AddRelu {
    fn name(&self) -> &'static str {
        "train-kit-add-relu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        binary_storage(
            self.name(),
            (s1, l1),
            (s2, l2),
            add_relu_values::<f32>,
            add_relu_values::<f64>,
        )
    }

    fn bwd(
        &self,
        _a: &Tensor,
        _b: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let d = relu_backward(y, dy)?;
        Ok((Some(d.clone()), Some(d)))
    }
}

/// `(dy, y) -> dy * (y > 0)`; no backward of its own.
struct MaskedGradient;

impl CustomOp2 for MaskedGradient {
    fn name(&self) -> &'static str {
        "train-kit-relu-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        binary_storage(
            self.name(),
            (s1, l1),
            (s2, l2),
            masked_gradient::<f32>,
            masked_gradient::<f64>,
        )
    }
}
