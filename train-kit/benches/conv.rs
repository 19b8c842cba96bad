//! Candle's convolutions against train-kit's fast ones on this machine, in one run:
//! per layer (forward, input gradient, weight gradient) and an IResNet block (fwd, fwd+bwd),
//! then PyTorch's figures for the same when a Python with torch is found.
//!
//! `cargo bench -p train-kit --bench conv` (after `--`: `--quick` for fewer repetitions,
//! `--no-torch` to skip PyTorch, and words such as `3x3` or `block` to pick cases by name).
//! Every figure is the median of interleaved runs (candle, ours, candle, ...), so machine noise
//! hits both sides alike; compare the ratio column rather than absolute times.
//! PyTorch: `$CONV_BENCH_PYTHON`, else `.venv-py/bin/python` at the workspace root.

#![allow(clippy::print_stdout, missing_docs)]

#[path = "../tests/conv_common/block.rs"]
mod block;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use block::{ConvKind, IResNetBlock};
use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use train_kit::conv::ops;

/// glibc otherwise mmaps (and page-faults) every large tensor; see `shared/refs/rust_stack.md`.
fn tune_allocator() {
    // SAFETY: mallopt only changes allocator tunables; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, -1);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

/// One convolution layer to time.
struct Layer {
    name: &'static str,
    batch: usize,
    c_in: usize,
    c_out: usize,
    size: usize,
    kernel: usize,
    stride: usize,
    groups: usize,
}

/// The layers our backbones spend their time in (IResNet, MobileFaceNet).
const LAYERS: &[Layer] = &[
    Layer {
        name: "3x3 64->64 @56 b32",
        batch: 32,
        c_in: 64,
        c_out: 64,
        size: 56,
        kernel: 3,
        stride: 1,
        groups: 1,
    },
    Layer {
        name: "3x3/2 64->128 @56 b32",
        batch: 32,
        c_in: 64,
        c_out: 128,
        size: 56,
        kernel: 3,
        stride: 2,
        groups: 1,
    },
    Layer {
        name: "1x1/2 64->128 @56 b32",
        batch: 32,
        c_in: 64,
        c_out: 128,
        size: 56,
        kernel: 1,
        stride: 2,
        groups: 1,
    },
    Layer {
        name: "1x1 128->128 @28 b32",
        batch: 32,
        c_in: 128,
        c_out: 128,
        size: 28,
        kernel: 1,
        stride: 1,
        groups: 1,
    },
    Layer {
        name: "dw3x3 64 @56 b32",
        batch: 32,
        c_in: 64,
        c_out: 64,
        size: 56,
        kernel: 3,
        stride: 1,
        groups: 64,
    },
];

/// Medians (ms) of `reps` interleaved runs of each closure, after one warm-up run each.
fn race<const N: usize>(
    reps: usize,
    mut runs: [&mut dyn FnMut() -> Result<()>; N],
) -> Result<[f64; N]> {
    let mut times = vec![Vec::with_capacity(reps); N];
    for rep in 0..=reps {
        for (run, samples) in runs.iter_mut().zip(times.iter_mut()) {
            let start = Instant::now();
            run()?;
            if rep > 0 {
                samples.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    Ok(std::array::from_fn(|i| {
        let mut t = times[i].clone();
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    }))
}

/// candle's input gradient exactly as its backward computes it (per group, conv_transpose2d).
fn candle_input_grad(gy: &Tensor, w: &Tensor, x_size: usize, l: &Layer) -> Result<Tensor> {
    let pad = l.kernel / 2;
    let per_group = |gy: &Tensor, w: &Tensor| {
        let out_size = (gy.dim(2)? - 1) * l.stride + (l.kernel - 1) + 1 - 2 * pad;
        gy.conv_transpose2d(w, pad, x_size - out_size, l.stride, 1)
    };
    if l.groups == 1 {
        return per_group(gy, w);
    }
    let (gys, ws) = (gy.chunk(l.groups, 1)?, w.chunk(l.groups, 0)?);
    let parts = gys
        .iter()
        .zip(&ws)
        .map(|(g, w)| per_group(g, w))
        .collect::<Result<Vec<_>>>()?;
    Tensor::cat(&parts, 1)
}

/// candle's weight gradient exactly as its backward computes it (per group, a transposed conv2d).
fn candle_weight_grad(x: &Tensor, gy: &Tensor, l: &Layer) -> Result<Tensor> {
    let per_group = |x: &Tensor, gy: &Tensor| -> Result<Tensor> {
        let g = x
            .transpose(0, 1)?
            .conv2d(&gy.transpose(0, 1)?, l.kernel / 2, 1, l.stride, 1)?;
        g.transpose(0, 1)?
            .narrow(2, 0, l.kernel)?
            .narrow(3, 0, l.kernel)
    };
    if l.groups == 1 {
        return per_group(x, gy);
    }
    let (xs, gys) = (x.chunk(l.groups, 1)?, gy.chunk(l.groups, 1)?);
    let parts = xs
        .iter()
        .zip(&gys)
        .map(|(x, g)| per_group(x, g))
        .collect::<Result<Vec<_>>>()?;
    Tensor::cat(&parts, 0)
}

fn row(name: &str, what: &str, candle: f64, ours: f64) {
    println!(
        "{name:<24} {what:<18} {candle:>10.1} {ours:>10.1} {:>8.1}x",
        candle / ours
    );
}

fn bench_layer(l: &Layer, reps: usize) -> Result<()> {
    let dev = Device::Cpu;
    let pad = l.kernel / 2;
    let x = Tensor::randn(0f32, 1., (l.batch, l.c_in, l.size, l.size), &dev)?;
    let w = Tensor::randn(
        0f32,
        0.1,
        (l.c_out, l.c_in / l.groups, l.kernel, l.kernel),
        &dev,
    )?;
    let y = ops::conv2d(&x, &w, pad, l.stride, 1, l.groups)?;
    let gy = Tensor::randn(0f32, 1., y.dims(), &dev)?;
    let (s, g) = (l.stride, l.groups);
    let [c, o] = race(
        reps,
        [&mut || x.conv2d(&w, pad, s, 1, g).map(drop), &mut || {
            ops::conv2d(&x, &w, pad, s, 1, g).map(drop)
        }],
    )?;
    row(l.name, "forward", c, o);
    let [c, o] = race(
        reps,
        [
            &mut || candle_input_grad(&gy, &w, l.size, l).map(drop),
            &mut || ops::conv2d_input_grad(&gy, &w, x.dims(), pad, s, 1, g).map(drop),
        ],
    )?;
    row(l.name, "grad-input", c, o);
    let [c, o] = race(
        reps,
        [
            &mut || candle_weight_grad(&x, &gy, l).map(drop),
            &mut || ops::conv2d_weight_grad(&x, &gy, w.dims(), pad, s, 1, g).map(drop),
        ],
    )?;
    row(l.name, "grad-weight", c, o);
    Ok(())
}

/// One IResNet block, 64 channels at 56x56, batch 32, train mode: candle-nn's layers, the fast
/// convolutions with candle-nn's batch norm, and the fast convolutions and batch norm.
fn bench_block(reps: usize) -> Result<()> {
    let dev = Device::Cpu;
    let map = VarMap::new();
    let vb = VarBuilder::from_varmap(&map, DType::F32, &dev);
    let candle = IResNetBlock::new(64, 64, 1, ConvKind::Candle, vb.clone())?;
    let fast_conv = IResNetBlock::new(64, 64, 1, ConvKind::FastConv, vb.clone())?;
    let fast = IResNetBlock::new(64, 64, 1, ConvKind::Fast, vb)?;
    let x = Var::from_tensor(&Tensor::randn(0f32, 1., (32, 64, 56, 56), &dev)?)?;
    let name = "IResNet block 64@56 b32";
    let forward = |b: &IResNetBlock| b.forward_t(&x, true).map(drop);
    let step = |b: &IResNetBlock| -> Result<()> {
        b.forward_t(&x, true)?
            .sqr()?
            .mean_all()?
            .backward()
            .map(drop)
    };
    let [c, oc, o] = race(
        reps,
        [
            &mut || forward(&candle),
            &mut || forward(&fast_conv),
            &mut || forward(&fast),
        ],
    )?;
    row(name, "fwd, conv", c, oc);
    row(name, "fwd, conv+bn", c, o);
    let [c, oc, o] = race(
        reps,
        [&mut || step(&candle), &mut || step(&fast_conv), &mut || {
            step(&fast)
        }],
    )?;
    row(name, "fwd+bwd, conv", c, oc);
    row(name, "fwd+bwd, conv+bn", c, o);
    Ok(())
}

/// Runs the PyTorch twin of this bench, if a Python with torch is around.
fn bench_torch(quick: bool) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var_os("CONV_BENCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv-py/bin/python"));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/conv_torch.py");
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .env("GLIBC_TUNABLES", "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=18446744073709551615:glibc.malloc.top_pad=67108864");
    if quick {
        cmd.arg("--quick");
    }
    match cmd.status() {
        Ok(status) if status.success() => {}
        Ok(status) => println!(
            "(PyTorch run failed: {status}; is torch installed for {}?)",
            python.display()
        ),
        Err(e) => println!("(no PyTorch figures: cannot run {}: {e})", python.display()),
    }
}

fn main() -> Result<()> {
    tune_allocator();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let torch = !args.iter().any(|a| a == "--no-torch");
    // Other words filter cases by name ("3x3", "dw", "block"); cargo's own `--bench` is ignored.
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let selected = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(*f));
    let reps = if quick { 3 } else { 7 };
    println!(
        "threads: {} (RAYON_NUM_THREADS)",
        rayon::current_num_threads()
    );
    println!(
        "{:<24} {:<18} {:>10} {:>10} {:>9}",
        "case", "pass", "candle ms", "ours ms", "speedup"
    );
    for layer in LAYERS.iter().filter(|l| selected(l.name)) {
        bench_layer(layer, reps)?;
    }
    if selected("IResNet block") {
        bench_block(reps.min(5))?;
    }
    if torch {
        bench_torch(quick);
    }
    Ok(())
}
