//! The candle custom op that runs the fast kernels, with its own backward.

use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, WithDType};

use super::elem::ConvElem;
use super::geometry::{ConvGeometry, ConvParams};
use super::storage::contiguous;
use super::{depthwise, gemm_conv};

/// Which of the three convolution products an op computes.
#[derive(Debug, Clone)]
pub(crate) enum Pass {
    /// `(input, weight) -> output`.
    Forward,
    /// `(output gradient, weight) -> input gradient`, for an input of this shape.
    GradInput { input: Shape },
    /// `(input, output gradient) -> weight gradient`, for a weight of this shape.
    GradWeight { weight: Shape },
}

/// A 2-D convolution pass on CPU f32/f64 tensors. Only `Forward` has a backward.
#[derive(Debug, Clone)]
pub(crate) struct FastConv {
    pub pass: Pass,
    pub params: ConvParams,
}

impl FastConv {
    /// Checks the two argument shapes and returns the geometry and the result shape.
    fn geometry(&self, lhs: &Shape, rhs: &Shape) -> Result<(ConvGeometry, Shape)> {
        let (g, given_out) = match &self.pass {
            Pass::Forward => (ConvGeometry::new(lhs, rhs, self.params)?, None),
            Pass::GradInput { input } => (ConvGeometry::new(input, rhs, self.params)?, Some(lhs)),
            Pass::GradWeight { weight } => {
                (ConvGeometry::new(lhs, weight, self.params)?, Some(rhs))
            }
        };
        if let Some(given) = given_out {
            if given != &g.out_shape() {
                bail!(
                    "{}: output gradient has shape {:?}, expected {:?}",
                    self.name(),
                    given.dims(),
                    g.out_shape().dims()
                );
            }
        }
        let result = match &self.pass {
            Pass::Forward => g.out_shape(),
            Pass::GradInput { input } => input.clone(),
            Pass::GradWeight { weight } => weight.clone(),
        };
        Ok((g, result))
    }

    fn compute<T: ConvElem>(&self, lhs: &[T], rhs: &[T], g: &ConvGeometry) -> Vec<T> {
        match (&self.pass, g.is_depthwise()) {
            (Pass::Forward, true) => depthwise::forward(lhs, rhs, g),
            (Pass::Forward, false) => gemm_conv::forward(lhs, rhs, g),
            (Pass::GradInput { .. }, true) => depthwise::grad_input(lhs, rhs, g),
            (Pass::GradInput { .. }, false) => gemm_conv::grad_input(lhs, rhs, g),
            (Pass::GradWeight { .. }, true) => depthwise::grad_weight(lhs, rhs, g),
            (Pass::GradWeight { .. }, false) => gemm_conv::grad_weight(lhs, rhs, g),
        }
    }
}

impl CustomOp2 for FastConv {
    fn name(&self) -> &'static str {
        match self.pass {
            Pass::Forward => "train-kit-conv2d",
            Pass::GradInput { .. } => "train-kit-conv2d-grad-input",
            Pass::GradWeight { .. } => "train-kit-conv2d-grad-weight",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (g, shape) = self.geometry(l1.shape(), l2.shape())?;
        let name = self.name();
        let storage = match (s1, s2) {
            (CpuStorage::F32(_), CpuStorage::F32(_)) => {
                let out = self.compute(contiguous(s1, l1, name)?, contiguous(s2, l2, name)?, &g);
                f32::to_cpu_storage_owned(out)
            }
            (CpuStorage::F64(_), CpuStorage::F64(_)) => {
                let out = self.compute(contiguous(s1, l1, name)?, contiguous(s2, l2, name)?, &g);
                f64::to_cpu_storage_owned(out)
            }
            _ => bail!(
                "{name}: needs two f32 or two f64 tensors, got {:?} and {:?}",
                s1.dtype(),
                s2.dtype()
            ),
        };
        Ok((storage, shape))
    }

    fn bwd(
        &self,
        input: &Tensor,
        weight: &Tensor,
        _output: &Tensor,
        grad_output: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        if !matches!(self.pass, Pass::Forward) {
            return Err(candle_core::Error::BackwardNotSupported { op: self.name() });
        }
        let grad_output = grad_output.contiguous()?;
        // Skip a product nobody reads: the input of the first layer (an image batch) and frozen
        // weights are not tracked, so their gradients would be dropped by backprop anyway.
        let grad_input = if input.track_op() {
            Some(grad_output.apply_op2(
                weight,
                FastConv {
                    pass: Pass::GradInput {
                        input: input.shape().clone(),
                    },
                    params: self.params,
                },
            )?)
        } else {
            None
        };
        let grad_weight = if weight.track_op() {
            Some(input.apply_op2(
                &grad_output,
                FastConv {
                    pass: Pass::GradWeight {
                        weight: weight.shape().clone(),
                    },
                    params: self.params,
                },
            )?)
        } else {
            None
        };
        Ok((grad_input, grad_weight))
    }
}
