//! How samples are stacked into a batch tensor.

use candle_core::{Device, Tensor};

use crate::error::{DataError, Result};

/// A sample type that can be stacked into one batch tensor `(B, ...)`.
pub trait Collate: Send + Sized + 'static {
    /// Stacks `samples` (at least one) along a new leading batch axis on `device`.
    fn collate(samples: Vec<Self>, device: &Device) -> Result<Tensor>;
}

/// A dense f32 sample with its shape, e.g. an image `(3, 112, 112)` or an audio chunk `(T,)`.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSample {
    /// Row-major values; `data.len()` is the product of `shape`.
    pub data: Vec<f32>,
    /// The sample's shape without the batch axis.
    pub shape: Vec<usize>,
}

impl TensorSample {
    /// A sample, checking that `data` holds exactly `shape`'s number of values.
    pub fn new(data: Vec<f32>, shape: Vec<usize>) -> Result<Self> {
        let expected: usize = shape.iter().product();
        if data.len() != expected {
            return Err(DataError::InvalidArgument(format!(
                "sample of shape {shape:?} needs {expected} values, got {}",
                data.len()
            )));
        }
        Ok(Self { data, shape })
    }
}

impl Collate for TensorSample {
    /// Concatenates the samples into one buffer and makes a `(B, ...shape)` tensor; all samples
    /// must share one shape.
    fn collate(samples: Vec<Self>, device: &Device) -> Result<Tensor> {
        let Some(first) = samples.first() else {
            return Err(DataError::InvalidArgument(
                "cannot collate an empty batch".into(),
            ));
        };
        let shape = first.shape.clone();
        let per_sample = first.data.len();
        let mut data = Vec::with_capacity(per_sample * samples.len());
        for sample in &samples {
            if sample.shape != shape {
                return Err(DataError::InvalidArgument(format!(
                    "samples of one batch differ in shape: {:?} vs {shape:?}",
                    sample.shape
                )));
            }
            data.extend_from_slice(&sample.data);
        }
        let mut dims = Vec::with_capacity(shape.len() + 1);
        dims.push(samples.len());
        dims.extend_from_slice(&shape);
        Ok(Tensor::from_vec(data, dims, device)?)
    }
}
