//! glibc default vs [`train_kit::alloc::tune_glibc_malloc`] on the face head's matmul,
//! `(256×512)·(512×85742)` forward + backward, in ms/step.
//!
//! `cargo bench -p train-kit --bench alloc_matmul` runs each mode in a fresh child process
//! (allocator settings are process-wide). `ALLOC_BENCH_STEPS` sets the timed steps (default 5).
#![allow(clippy::print_stdout)]

use std::process::Command;
use std::time::Instant;

use candle_core::{Device, Tensor, Var};

const MODE: &str = "ALLOC_BENCH_MODE";

fn main() {
    match std::env::var(MODE).ok().as_deref() {
        Some(mode) => measure(mode == "tuned"),
        None => {
            let exe = std::env::current_exe().expect("own executable path");
            for mode in ["default", "tuned"] {
                let status = Command::new(&exe)
                    .env(MODE, mode)
                    .status()
                    .expect("spawning the bench child");
                assert!(status.success(), "{mode} run failed: {status}");
            }
        }
    }
}

fn measure(tuned: bool) {
    if tuned {
        assert!(
            train_kit::alloc::tune_glibc_malloc(),
            "mallopt refused (not glibc?)"
        );
    }
    let steps: usize = std::env::var("ALLOC_BENCH_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let dev = Device::Cpu;
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (256, 512), &dev).unwrap()).unwrap();
    let w = Var::from_tensor(&Tensor::randn(0f32, 0.02, (512, 85742), &dev).unwrap()).unwrap();
    let mut times = Vec::with_capacity(steps);
    for i in 0..=steps {
        let start = Instant::now();
        let loss = x
            .as_tensor()
            .matmul(w.as_tensor())
            .unwrap()
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap();
        let grads = loss.backward().unwrap();
        let g = grads.get(w.as_tensor()).unwrap();
        w.set(&(w.as_tensor() - (g * 1e-3).unwrap()).unwrap())
            .unwrap();
        if i > 0 {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let mode = if tuned {
        "tune_glibc_malloc"
    } else {
        "glibc default   "
    };
    println!(
        "{mode}: median {median:7.1} ms/step over {steps} steps (min {:.1}, max {:.1})",
        times[0],
        times[times.len() - 1]
    );
}
