//! `BatchNorm`: candle-nn's batch norm with a fused train-mode forward and closed-form backward
//! on CPU. Same VarBuilder names (`weight`, `bias`, `running_mean`, `running_var`), config and
//! running-stat updates as `candle_nn::batch_norm`; eval mode and other devices use candle-nn's.

use candle_core::backend::BackendStorage;
use candle_core::{
    bail, CpuStorage, CustomOp1, CustomOp3, DType, Layout, ModuleT, Result, Shape, Tensor, Var,
    WithDType,
};
use candle_nn::{BatchNormConfig, VarBuilder};

use super::bn_kernels::{self, BnShape};
use super::elem::ConvElem;
use super::storage::contiguous;
use super::switch::fast_selected;

/// Batch normalisation over dim 1 of an `(N, C, ...)` tensor.
#[derive(Debug, Clone)]
pub struct BatchNorm {
    inner: candle_nn::BatchNorm,
    running_mean: Var,
    running_var: Var,
    remove_mean: bool,
}

/// A [`BatchNorm`] over `num_features` channels, created or loaded exactly as
/// [`candle_nn::batch_norm`] does (the running statistics are the VarMap's variables).
pub fn batch_norm<C: Into<BatchNormConfig>>(
    num_features: usize,
    config: C,
    vb: VarBuilder,
) -> Result<BatchNorm> {
    let config = config.into();
    let inner = candle_nn::batch_norm(num_features, config, vb)?;
    Ok(BatchNorm {
        running_mean: Var::from_tensor(inner.running_mean())?,
        running_var: Var::from_tensor(inner.running_var())?,
        remove_mean: config.remove_mean,
        inner,
    })
}

impl BatchNorm {
    /// Wraps a layer made by one of `candle_nn::BatchNorm::new*` (which all remove the mean),
    /// sharing its parameters and running-stat variables; for custom parameters such as a
    /// frozen scale. Layers from [`candle_nn::batch_norm`] come through [`batch_norm`] instead.
    pub fn from_candle(inner: candle_nn::BatchNorm) -> Result<Self> {
        Ok(BatchNorm {
            running_mean: Var::from_tensor(inner.running_mean())?,
            running_var: Var::from_tensor(inner.running_var())?,
            remove_mean: true,
            inner,
        })
    }

    /// The candle-nn layer sharing these parameters (used in eval mode and off CPU).
    pub fn inner(&self) -> &candle_nn::BatchNorm {
        &self.inner
    }

    /// Running mean, `(C,)`.
    pub fn running_mean(&self) -> &Tensor {
        self.running_mean.as_tensor()
    }

    /// Running (unbiased) variance, `(C,)`.
    pub fn running_var(&self) -> &Tensor {
        self.running_var.as_tensor()
    }

    fn runs_fast(&self, x: &Tensor, train: bool) -> bool {
        train
            && fast_selected()
            && self.remove_mean
            && x.device().is_cpu()
            && matches!(x.dtype(), DType::F32 | DType::F64)
            && x.rank() >= 2
    }

    fn forward_train(&self, x: &Tensor) -> Result<Tensor> {
        let channels = self.running_mean.dim(0)?;
        let dims = x.dims();
        if dims[1] != channels {
            bail!("batch_norm: input {dims:?} must have {channels} channels in dim 1");
        }
        let shape = BnShape {
            batch: dims[0],
            channels,
            spatial: dims[2..].iter().product(),
        };
        let x = x.contiguous()?;
        let stats = x
            .apply_op1_no_bwd(&ChannelStats { shape })?
            .to_vec2::<f64>()?;
        let (mean, var) = (&stats[0], &stats[1]);
        self.update_running_stats(mean, var, shape.per_channel())?;
        let eps = self.inner.eps();
        let inv_std = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let (gamma, beta) = match self.inner.weight_and_bias() {
            Some((w, b)) => (w.clone(), b.clone()),
            None => (
                Tensor::ones(channels, x.dtype(), x.device())?,
                Tensor::zeros(channels, x.dtype(), x.device())?,
            ),
        };
        let op = TrainForward {
            shape,
            mean: mean.clone(),
            inv_std,
        };
        x.apply_op3(&gamma.to_dtype(x.dtype())?, &beta.to_dtype(x.dtype())?, op)
    }

    /// candle-nn's update: `r = (1 - m) r + m stat`, with the variance made unbiased.
    fn update_running_stats(&self, mean: &[f64], var: &[f64], count: usize) -> Result<()> {
        let m = self.inner.momentum();
        let unbias = count as f64 / (count as f64 - 1.0);
        for (running, stat, factor) in [
            (&self.running_mean, mean, 1.0),
            (&self.running_var, var, unbias),
        ] {
            let stat = Tensor::new(stat, running.device())?.to_dtype(running.dtype())?;
            let updated = ((running.as_tensor() * (1.0 - m))? + (stat * (m * factor))?)?;
            running.set(&updated.detach())?;
        }
        Ok(())
    }
}

impl ModuleT for BatchNorm {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if self.runs_fast(x, train) {
            self.forward_train(x)
        } else {
            self.inner.forward_t(x, train)
        }
    }
}

fn cast<T: ConvElem>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::from_f64(x)).collect()
}

/// `(N, C, ...) -> (2, C)` f64: per-channel mean and biased variance. No backward.
struct ChannelStats {
    shape: BnShape,
}

impl CustomOp1 for ChannelStats {
    fn name(&self) -> &'static str {
        "train-kit-bn-stats"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let stats = match s {
            CpuStorage::F32(_) => {
                bn_kernels::mean_var(contiguous::<f32>(s, l, self.name())?, self.shape)
            }
            CpuStorage::F64(_) => {
                bn_kernels::mean_var(contiguous::<f64>(s, l, self.name())?, self.shape)
            }
            _ => bail!("{}: needs f32 or f64, got {:?}", self.name(), s.dtype()),
        };
        let (mean, var): (Vec<f64>, Vec<f64>) = stats.into_iter().unzip();
        let data = [mean, var].concat();
        Ok((CpuStorage::F64(data), Shape::from((2, self.shape.channels))))
    }
}

/// `(x, gamma, beta) -> gamma * (x - mean) * inv_std + beta` with the batch statistics fixed
/// at construction; its backward is the closed form through the statistics.
struct TrainForward {
    shape: BnShape,
    mean: Vec<f64>,
    inv_std: Vec<f64>,
}

impl TrainForward {
    fn run<T: ConvElem>(&self, x: &[T], gamma: &[T], beta: &[T]) -> Vec<T> {
        let scale: Vec<T> = (0..self.shape.channels)
            .map(|c| T::from_f64(gamma[c].to_f64() * self.inv_std[c]))
            .collect();
        let shift: Vec<T> = (0..self.shape.channels)
            .map(|c| T::from_f64(beta[c].to_f64() - self.mean[c] * scale[c].to_f64()))
            .collect();
        bn_kernels::affine(x, &scale, &shift, self.shape)
    }
}

impl CustomOp3 for TrainForward {
    fn name(&self) -> &'static str {
        "train-kit-bn-train"
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
                let (x, g, b) = (
                    contiguous(s1, l1, n)?,
                    contiguous(s2, l2, n)?,
                    contiguous(s3, l3, n)?,
                );
                f32::to_cpu_storage_owned(self.run::<f32>(x, g, b))
            }
            (CpuStorage::F64(_), CpuStorage::F64(_), CpuStorage::F64(_)) => {
                let (x, g, b) = (
                    contiguous(s1, l1, n)?,
                    contiguous(s2, l2, n)?,
                    contiguous(s3, l3, n)?,
                );
                f64::to_cpu_storage_owned(self.run::<f64>(x, g, b))
            }
            _ => bail!("{n}: needs x, weight and bias of one dtype, f32 or f64"),
        };
        Ok((storage, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let c = self.shape.channels;
        let op = TrainBackward {
            shape: self.shape,
            mean: self.mean.clone(),
            inv_std: self.inv_std.clone(),
        };
        let packed = x.apply_op3(&dy.contiguous()?, gamma, op)?;
        let d_beta = packed.narrow(0, 0, c)?;
        let d_gamma = packed.narrow(0, c, c)?;
        let dx = packed
            .narrow(0, 2 * c, x.elem_count())?
            .reshape(x.shape())?;
        Ok((Some(dx), Some(d_gamma), Some(d_beta)))
    }
}

/// `(x, dy, gamma) -> [dbeta (C), dgamma (C), dx (flat)]`. Has no backward of its own.
struct TrainBackward {
    shape: BnShape,
    mean: Vec<f64>,
    inv_std: Vec<f64>,
}

impl CustomOp3 for TrainBackward {
    fn name(&self) -> &'static str {
        "train-kit-bn-train-backward"
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
                let (x, dy, g) = (
                    contiguous(s1, l1, n)?,
                    contiguous(s2, l2, n)?,
                    contiguous(s3, l3, n)?,
                );
                let (mean, inv_std) = (cast::<f32>(&self.mean), cast::<f32>(&self.inv_std));
                f32::to_cpu_storage_owned(bn_kernels::backward(
                    x, dy, &mean, &inv_std, g, self.shape,
                ))
            }
            (CpuStorage::F64(_), CpuStorage::F64(_), CpuStorage::F64(_)) => {
                let (x, dy, g) = (
                    contiguous(s1, l1, n)?,
                    contiguous(s2, l2, n)?,
                    contiguous(s3, l3, n)?,
                );
                f64::to_cpu_storage_owned(bn_kernels::backward(
                    x,
                    dy,
                    &self.mean,
                    &self.inv_std,
                    g,
                    self.shape,
                ))
            }
            _ => bail!("{n}: needs x, output gradient and weight of one dtype, f32 or f64"),
        };
        let len = 2 * self.shape.channels + l1.shape().elem_count();
        Ok((storage, Shape::from(len)))
    }
}
