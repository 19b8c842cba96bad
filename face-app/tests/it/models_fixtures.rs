//! Shared helpers for the model parity tests (fixtures from `tests/fixtures/models/*.py`).

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Result, Tensor};

/// Largest absolute deviation allowed from the PyTorch outputs (fp32 both sides).
pub const TOL: f32 = 1e-4;

/// Path of a file in `tests/fixtures/models`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/models")
        .join(name)
}

/// The parity input: `x[k] = 0.9 sin(0.7311 k)` over the flat index of a `(B, 3, 112, 112)`
/// tensor, computed in f64 and rounded to f32, as `parity_input` in the Python scripts.
pub fn parity_input(batch: usize) -> Result<Tensor> {
    let n = batch * 3 * 112 * 112;
    let data: Vec<f32> = (0..n)
        .map(|k| (0.9 * (0.7311 * k as f64).sin()) as f32)
        .collect();
    Tensor::from_vec(data, (batch, 3, 112, 112), &Device::Cpu)
}

/// `max |a - b| / max(1, max |b|)` over all elements; panics on a shape mismatch.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f32> {
    assert_eq!(a.dims(), b.dims());
    // f32 spacing grows with magnitude (eval outputs reach ~30), so the difference is taken
    // relative to max(1, max |b|); for values up to 1 it is the plain absolute difference.
    let scale = b.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?.max(1.0);
    Ok((a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()? / scale)
}

/// Tensors of a safetensors fixture.
pub fn load(name: &str) -> Result<HashMap<String, Tensor>> {
    candle_core::safetensors::load(fixture(name), &Device::Cpu)
}

/// Reads a `*_q8.safetensors` fixture written by `quantize_8bit` in `make_iresnet_parity.py`:
/// each uint8 tensor `w` with a `w.q8_scale` becomes `(f32(w) - 128) * scale`, bit-identical to
/// the values the PyTorch reference ran with; other tensors are kept.
pub fn load_q8(name: &str) -> Result<HashMap<String, Tensor>> {
    let raw = load(name)?;
    let mut out = HashMap::new();
    for (key, t) in &raw {
        if key.ends_with(".q8_scale") {
            continue;
        }
        let t = match raw.get(&format!("{key}.q8_scale")) {
            Some(scale) => (t.to_dtype(DType::F32)? - 128.0)?.broadcast_mul(scale)?,
            None => t.clone(),
        };
        out.insert(key.clone(), t);
    }
    Ok(out)
}
