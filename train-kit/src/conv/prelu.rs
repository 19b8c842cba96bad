//! `PReLU`: candle-nn's per-channel PReLU as one fused CPU op with a closed-form backward.
//! Same VarBuilder name (`weight`) and init as `candle_nn::prelu`; a scalar weight, other
//! devices and other dtypes use candle-nn's layer.

use candle_core::{
    bail, CpuStorage, CustomOp2, CustomOp3, DType, Layout, Module, Result, Shape, Tensor, WithDType,
};
use candle_nn::VarBuilder;
use rayon::prelude::*;

use super::elem::ConvElem;
use super::storage::contiguous;
use super::switch::fast_selected;

/// `y = max(x, 0) + weight[c] * min(x, 0)` over dim 1 of an `(N, C, ...)` tensor.
#[derive(Debug, Clone)]
pub struct PReLU {
    inner: candle_nn::PReLU,
}

/// A [`PReLU`] with one weight per channel (`Some(c)`) or a single one (`None`), created or
/// loaded exactly as [`candle_nn::prelu`] does.
pub fn prelu(num_channels: Option<usize>, vb: VarBuilder) -> Result<PReLU> {
    Ok(PReLU {
        inner: candle_nn::prelu(num_channels, vb)?,
    })
}

impl PReLU {
    /// The candle-nn layer sharing this weight.
    pub fn inner(&self) -> &candle_nn::PReLU {
        &self.inner
    }
}

impl Module for PReLU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let w = self.inner.weight();
        let fast = fast_selected()
            && !self.inner.is_scalar()
            && x.device().is_cpu()
            && matches!(x.dtype(), DType::F32 | DType::F64)
            && x.dtype() == w.dtype()
            && x.rank() >= 2
            && x.dim(1)? == w.elem_count();
        if !fast {
            return self.inner.forward(x);
        }
        let shape = PlaneShape {
            channels: w.elem_count(),
            plane: x.dims()[2..].iter().product(),
        };
        x.contiguous()?.apply_op2(w, Forward { shape })
    }
}

/// `(N, C, S)`: channels and elements per `(image, channel)` plane.
#[derive(Debug, Clone, Copy)]
struct PlaneShape {
    channels: usize,
    plane: usize,
}

fn forward<T: ConvElem>(x: &[T], w: &[T], s: PlaneShape) -> Vec<T> {
    let mut y = vec![T::zero(); x.len()];
    if s.plane == 0 {
        return y;
    }
    y.par_chunks_mut(s.plane)
        .zip(x.par_chunks(s.plane))
        .enumerate()
        .for_each(|(plane, (y_p, x_p))| {
            let a = w[plane % s.channels];
            for (o, &v) in y_p.iter_mut().zip(x_p) {
                *o = if v > T::zero() { v } else { a * v };
            }
        });
    y
}

/// `[dweight (C), dx (flat)]`: `dx = dy * (x > 0 ? 1 : w)`, `dweight = sum(dy * min(x, 0))`.
fn backward<T: ConvElem>(x: &[T], dy: &[T], w: &[T], s: PlaneShape) -> Vec<T> {
    let mut out = vec![T::zero(); s.channels + x.len()];
    if s.plane == 0 {
        return out;
    }
    let (d_weight, dx) = out.split_at_mut(s.channels);
    let per_plane: Vec<f64> = dx
        .par_chunks_mut(s.plane)
        .zip(dy.par_chunks(s.plane).zip(x.par_chunks(s.plane)))
        .enumerate()
        .map(|(plane, (dx_p, (dy_p, x_p)))| {
            let a = w[plane % s.channels];
            let mut lanes = [T::zero(); 8];
            for (i, ((o, &g), &v)) in dx_p.iter_mut().zip(dy_p).zip(x_p).enumerate() {
                let negative = v <= T::zero();
                *o = if negative { a * g } else { g };
                lanes[i % 8] += if negative { g * v } else { T::zero() };
            }
            lanes.iter().map(|v| v.to_f64()).sum()
        })
        .collect();
    for (plane, sum) in per_plane.into_iter().enumerate() {
        d_weight[plane % s.channels] += T::from_f64(sum);
    }
    out
}

/// `(x, weight) -> y`; backward through [`Backward`].
struct Forward {
    shape: PlaneShape,
}

impl CustomOp2 for Forward {
    fn name(&self) -> &'static str {
        "train-kit-prelu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let n = self.name();
        let storage =
            match (s1, s2) {
                (CpuStorage::F32(_), CpuStorage::F32(_)) => f32::to_cpu_storage_owned(
                    forward::<f32>(contiguous(s1, l1, n)?, contiguous(s2, l2, n)?, self.shape),
                ),
                (CpuStorage::F64(_), CpuStorage::F64(_)) => f64::to_cpu_storage_owned(
                    forward::<f64>(contiguous(s1, l1, n)?, contiguous(s2, l2, n)?, self.shape),
                ),
                _ => bail!("{n}: needs x and weight of one dtype, f32 or f64"),
            };
        Ok((storage, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let c = self.shape.channels;
        let packed = x.apply_op3(&dy.contiguous()?, w, Backward { shape: self.shape })?;
        let d_weight = packed.narrow(0, 0, c)?.reshape(w.shape())?;
        let dx = packed.narrow(0, c, x.elem_count())?.reshape(x.shape())?;
        Ok((Some(dx), Some(d_weight)))
    }
}

/// `(x, dy, weight) -> [dweight (C), dx (flat)]`. Has no backward of its own.
struct Backward {
    shape: PlaneShape,
}

impl CustomOp3 for Backward {
    fn name(&self) -> &'static str {
        "train-kit-prelu-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let n = self.name();
        let storage = match (s1, s2, s3) {
            (CpuStorage::F32(_), CpuStorage::F32(_), CpuStorage::F32(_)) => {
                f32::to_cpu_storage_owned(backward::<f32>(
                    contiguous(s1, l1, n)?,
                    contiguous(s2, l2, n)?,
                    contiguous(s3, l3, n)?,
                    self.shape,
                ))
            }
            (CpuStorage::F64(_), CpuStorage::F64(_), CpuStorage::F64(_)) => {
                f64::to_cpu_storage_owned(backward::<f64>(
                    contiguous(s1, l1, n)?,
                    contiguous(s2, l2, n)?,
                    contiguous(s3, l3, n)?,
                    self.shape,
                ))
            }
            _ => bail!("{n}: needs x, output gradient and weight of one dtype, f32 or f64"),
        };
        Ok((
            storage,
            Shape::from(self.shape.channels + l1.shape().elem_count()),
        ))
    }
}
