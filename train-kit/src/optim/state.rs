//! Optimizer state as named tensors, saved to and loaded from safetensors.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::error::{Result, TrainError};

/// Everything an optimizer needs to continue exactly: named buffers plus counters.
///
/// Keys are `"<buffer>/<qualified param name>"` (e.g. `"momentum/model/fc1.weight"`), and
/// counters are stored as `i64` scalars.
#[derive(Debug, Clone, Default)]
pub struct OptimizerState {
    /// Buffers and counters by key.
    pub tensors: HashMap<String, Tensor>,
}

impl OptimizerState {
    /// Stores a counter as a 0-d `i64` tensor.
    pub fn insert_counter(&mut self, key: impl Into<String>, value: u64) -> Result<()> {
        let t = Tensor::new(value as i64, &Device::Cpu)?;
        self.tensors.insert(key.into(), t);
        Ok(())
    }

    /// Reads a counter stored by [`insert_counter`](Self::insert_counter).
    pub fn counter(&self, key: &str) -> Result<u64> {
        let t = self
            .tensors
            .get(key)
            .ok_or_else(|| TrainError::StateMismatch {
                problem: format!("missing counter {key}"),
            })?;
        if t.dtype() != DType::I64 || t.rank() != 0 {
            return Err(TrainError::StateMismatch {
                problem: format!(
                    "counter {key} is {:?} {:?}, expected a 0-d i64",
                    t.dtype(),
                    t.dims()
                ),
            });
        }
        let v = t.to_scalar::<i64>()?;
        u64::try_from(v).map_err(|_| TrainError::StateMismatch {
            problem: format!("counter {key} is negative ({v})"),
        })
    }

    /// Writes the state as one safetensors file (not atomic by itself; checkpoints make it so).
    pub fn save(&self, path: &Path) -> Result<()> {
        candle_core::safetensors::save(&self.tensors, path)
            .map_err(|e| TrainError::format(path, format!("writing optimizer state: {e}")))
    }

    /// Reads a state written by [`save`](Self::save) onto `device`.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let tensors = candle_core::safetensors::load(path, device)
            .map_err(|e| TrainError::format(path, format!("reading optimizer state: {e}")))?;
        Ok(Self { tensors })
    }

    /// Fails if any key is not in `expected` (e.g. loading SGD state into AdamW).
    pub(crate) fn reject_unknown_keys(&self, expected: &dyn Fn(&str) -> bool) -> Result<()> {
        let mut unknown: Vec<&String> = self.tensors.keys().filter(|k| !expected(k)).collect();
        unknown.sort();
        match unknown.first() {
            None => Ok(()),
            Some(first) => Err(TrainError::StateMismatch {
                problem: format!(
                    "{} unexpected key(s), first {first}: state of another optimizer or model?",
                    unknown.len()
                ),
            }),
        }
    }

    /// Takes the buffer `key`, checking it has the parameter's shape and dtype.
    pub(crate) fn take_buffer(&mut self, key: &str, like: &Tensor) -> Result<Option<Tensor>> {
        let Some(t) = self.tensors.remove(key) else {
            return Ok(None);
        };
        if t.dims() != like.dims() || t.dtype() != like.dtype() {
            return Err(TrainError::StateMismatch {
                problem: format!(
                    "{key} is {:?} {:?}, the parameter is {:?} {:?}",
                    t.dtype(),
                    t.dims(),
                    like.dtype(),
                    like.dims()
                ),
            });
        }
        Ok(Some(t.to_device(like.device())?))
    }
}
