//! α-loss forward + backward against our softmax cross-entropy (the α = 1 path of the same
//! op) on face-classifier-sized logits, printed as a ratio. Run with `just bench` or
//! `cargo bench -p alpha-loss --bench alpha_loss`.

use std::time::Instant;

use alpha_loss::{alpha_loss, Backend, ReferenceMeasure};
use candle_core::{Device, Tensor, Var};

/// Face-like logits: s·cos with non-target cosines ~ N(0, 0.05²) and target cosines 0.5.
fn logits(batch: usize, classes: usize) -> (Tensor, Tensor) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut data = Vec::with_capacity(batch * classes);
    let mut targets = Vec::with_capacity(batch);
    for b in 0..batch {
        let y = (b * 104_729) % classes;
        targets.push(y as u32);
        for j in 0..classes {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Sum of two uniforms: a cheap bell shape with σ ≈ 0.05.
            let u1 = (state >> 40) as f64 / (1u64 << 24) as f64;
            let u2 = ((state >> 16) & 0xFF_FFFF) as f64 / (1u64 << 24) as f64;
            let cos = if j == y { 0.5 } else { (u1 + u2 - 1.0) * 0.12 };
            data.push((64.0 * cos) as f32);
        }
    }
    (
        Tensor::from_vec(data, (batch, classes), &Device::Cpu).unwrap(),
        Tensor::from_vec(targets, batch, &Device::Cpu).unwrap(),
    )
}

/// Median wall time in ms of forward + backward.
fn time_fwd_bwd(
    logits: &Tensor,
    targets: &Tensor,
    m: &ReferenceMeasure,
    alpha: f64,
    reps: usize,
) -> (f64, f64) {
    let var = Var::from_tensor(logits).unwrap();
    let mut times = Vec::with_capacity(reps);
    let mut support = 0.0;
    for _ in 0..reps + 1 {
        let start = Instant::now();
        let out = alpha_loss(var.as_tensor(), targets, m, alpha, Backend::CpuFast).unwrap();
        let grads = out.loss.sum_all().unwrap().backward().unwrap();
        let g = grads.get(var.as_tensor()).unwrap();
        std::hint::black_box(g);
        times.push(start.elapsed().as_secs_f64() * 1e3);
        support = out.stats.mean_support;
    }
    times.remove(0); // warm-up
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (times[times.len() / 2], support)
}

/// glibc mmaps every large tensor, so each step page-faults; keep freed memory in the heap
/// instead (the same fix the apps apply through train-kit).
fn tune_glibc_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning parameters; called before any threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, -1);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

fn main() {
    tune_glibc_malloc();
    // `cargo bench ... -- WORD` keeps only the shapes whose label contains WORD (e.g. 85742).
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let threads = rayon::current_num_threads();
    println!("alpha-loss fwd+bwd vs our softmax cross-entropy (same op, α = 1), {threads} threads, median ms");
    println!(
        "{:<18} {:<10} {:>6} {:>10} {:>10} {:>12}",
        "logits", "q", "α", "ms", "vs CE", "mean support"
    );
    for (batch, classes, reps) in [(128, 85_742, 9), (128, 1_000_000, 5)] {
        let shape = format!("[{batch}, {classes}]");
        if filter.as_ref().is_some_and(|f| !shape.contains(f.as_str())) {
            continue;
        }
        let (x, y) = logits(batch, classes);
        let (ce, ce_support) = time_fwd_bwd(&x, &y, &ReferenceMeasure::unit(), 1.0, reps);
        println!(
            "{:<18} {:<10} {:>6} {:>10.2} {:>10} {:>12.0}",
            shape, "unit", "1 (CE)", ce, "1.00x", ce_support
        );
        for alpha in [1.5, 2.0] {
            for (qname, m) in [
                ("unit", ReferenceMeasure::unit()),
                ("uniform", ReferenceMeasure::uniform(classes).unwrap()),
            ] {
                let (t, support) = time_fwd_bwd(&x, &y, &m, alpha, reps);
                println!(
                    "{:<18} {:<10} {:>6} {:>10.2} {:>9.2}x {:>12.1}",
                    shape,
                    qname,
                    alpha,
                    t,
                    t / ce,
                    support
                );
            }
        }
    }
}
