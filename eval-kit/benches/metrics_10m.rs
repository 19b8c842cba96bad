//! EER + minDCF + TAR@FAR on 10M synthetic trials, ours against numpy +
//! scikit-learn on the same data in the same run.
//!
//! Run through `bash eval-kit/benches/compare_sklearn.sh`, which provides a
//! Python with numpy + scikit-learn in `EVAL_KIT_PYTHON`; without it only
//! our time is printed. `EVAL_KIT_BENCH_TRIALS` overrides the trial count.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use eval_kit::{MetricsConfig, VerificationReport};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn synthetic(n: usize) -> (Vec<f64>, Vec<bool>) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut scores = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let target = rng.random::<f64>() < 0.1;
        // Box-Muller normal; cosine-like scores.
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let s = if target {
            0.6 + 0.15 * z
        } else {
            0.05 + 0.1 * z
        };
        scores.push(s);
        labels.push(target);
    }
    (scores, labels)
}

fn write_inputs(dir: &Path, scores: &[f64], labels: &[bool]) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("scores.f64"))?);
    for s in scores {
        f.write_all(&s.to_le_bytes())?;
    }
    f.flush()?;
    let bytes: Vec<u8> = labels.iter().map(|&l| u8::from(l)).collect();
    std::fs::write(dir.join("labels.u8"), bytes)
}

fn main() {
    let n: usize = std::env::var("EVAL_KIT_BENCH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let (scores, labels) = synthetic(n);
    let config = MetricsConfig::default();
    let mut times = Vec::new();
    let mut report = None;
    for _ in 0..5 {
        let start = Instant::now();
        let r = VerificationReport::from_scores(&scores, &labels, &config).expect("valid input");
        times.push(start.elapsed().as_secs_f64());
        report = Some(r);
    }
    times.sort_by(f64::total_cmp);
    let ours = times[times.len() / 2];
    let report = report.expect("ran at least once");
    println!(
        "eval-kit: {n} trials, EER + minDCF + TAR@FAR: median {ours:.3} s (min {:.3} s, {} threads)",
        times[0],
        rayon::current_num_threads()
    );
    println!(
        "  eer {:.6}  min_dcf {:.6}  tar@1e-4 {:.6}",
        report.eer, report.min_dcf, report.tar_at_far[2].tar
    );

    let Ok(python) = std::env::var("EVAL_KIT_PYTHON") else {
        println!("EVAL_KIT_PYTHON not set: skipping numpy + scikit-learn");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    write_inputs(dir.path(), &scores, &labels).expect("write inputs");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/sklearn_metrics.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(dir.path())
        .output()
        .expect("run python");
    if !out.status.success() {
        println!("python failed: {}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python JSON");
    let seconds = theirs["seconds"].as_f64().expect("seconds");
    println!(
        "numpy + scikit-learn {}: {seconds:.3} s (roc_curve {:.3} s, minDCF sort {:.3} s)",
        theirs["sklearn_version"], theirs["roc_seconds"], theirs["dcf_seconds"]
    );
    println!("speed-up: {:.1}x", seconds / ours);
    let diff_eer = (theirs["eer"].as_f64().unwrap_or(f64::NAN) - report.eer).abs();
    let diff_dcf = (theirs["min_dcf"].as_f64().unwrap_or(f64::NAN) - report.min_dcf).abs();
    let diff_tar = report
        .tar_at_far
        .iter()
        .zip(theirs["tar"].as_array().expect("tar list"))
        .map(|(a, b)| (a.tar - b.as_f64().unwrap_or(f64::NAN)).abs())
        .fold(0.0, f64::max);
    println!(
        "agreement: |d eer| {diff_eer:.1e}  |d min_dcf| {diff_dcf:.1e}  max |d tar| {diff_tar:.1e}"
    );
}
