//! Images per second per core for JPEG decode + random flip + `(x - 127.5) / 127.5` to CHW f32,
//! against PIL + numpy and torchvision doing the same on the same files in the same run.
//!
//! `cargo bench -p datasets --bench image_pipeline` writes 112 x 112 quality-95 JPEGs of
//! synthetic faces to `target/bench-image-pipeline/`, times the Rust pipeline on one thread,
//! then runs `benches/image_pipeline_baseline.py` with `$BENCH_PYTHON` (default: the workspace's
//! `.venv-py/bin/python`, else `python3`). Also reports the multi-threaded loader's rate.
#![allow(clippy::print_stdout, missing_docs)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use datasets::face::recordio::IrHeader;
use datasets::face::{
    decode_rgb, FaceImages, FacePipeline, FaceSource, RecordDataset, RecordWriter, SyntheticConfig,
    SyntheticFaces,
};
use datasets::loader::{item_rng, Loader, LoaderConfig};
use image::codecs::jpeg::JpegEncoder;

const IMAGES: usize = 1000;
const ROUNDS: usize = 20;

/// Writes the synthetic faces as PNGs, has PIL encode them as quality-95 JPEGs (4:2:0, like
/// insightface's recs) or, without Python, encodes them here (quality 95, the image crate's
/// sampling); returns the JPEG bytes and who encoded them.
fn write_jpegs(dir: &Path, python: &Path, script: &Path) -> (Vec<Vec<u8>>, &'static str) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("bench folder");
    let faces = SyntheticFaces::new(SyntheticConfig {
        identities: 100,
        images_per_identity: IMAGES / 100,
        size: 112,
        seed: 0,
    })
    .expect("faces");
    for i in 0..IMAGES {
        faces
            .render(i)
            .save(dir.join(format!("{i:05}.png")))
            .expect("png");
    }
    let by_pil = std::process::Command::new(python)
        .arg(script)
        .arg("encode")
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    let blobs = (0..IMAGES)
        .map(|i| {
            let jpg = dir.join(format!("{i:05}.jpg"));
            if by_pil {
                return std::fs::read(jpg).expect("PIL JPEG");
            }
            let mut bytes = Vec::new();
            JpegEncoder::new_with_quality(&mut bytes, 95)
                .encode_image(&faces.render(i))
                .expect("encode");
            std::fs::write(jpg, &bytes).expect("write");
            bytes
        })
        .collect();
    (blobs, if by_pil { "PIL" } else { "image crate" })
}

/// What one timed pass over the JPEGs does.
#[derive(Clone, Copy)]
enum Work {
    /// `decode_rgb`: bytes to an interleaved RGB image.
    DecodeRgb,
    /// zune-jpeg alone (the general decoder, for JPEGs the baseline one leaves out).
    ZuneRgb,
    /// The training pipeline: `FacePipeline::apply_encoded` (decode, random flip, normalise).
    Full,
}

/// Best rate over the rounds of `work` on this thread.
fn rust_rate(blobs: &[Vec<u8>], work: Work) -> f64 {
    use zune_jpeg::zune_core::{
        bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions,
    };
    let pipeline = FacePipeline::train();
    let mut best = 0f64;
    for round in 0..ROUNDS {
        let start = Instant::now();
        let mut checksum = 0f32;
        for (i, b) in blobs.iter().enumerate() {
            checksum += match work {
                Work::DecodeRgb => f32::from(decode_rgb(b, "bench").expect("decode").as_raw()[0]),
                Work::ZuneRgb => {
                    let options =
                        DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
                    let mut decoder =
                        zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(b), options);
                    f32::from(decoder.decode().expect("zune")[0])
                }
                Work::Full => {
                    let mut rng = item_rng(0, round as u64, i);
                    pipeline
                        .apply_encoded(b, "bench", &mut rng)
                        .expect("pipeline")
                        .data[0]
                }
            };
        }
        std::hint::black_box(checksum);
        best = best.max(blobs.len() as f64 / start.elapsed().as_secs_f64());
    }
    best
}

fn loader_rate(dir: &Path, blobs: &[Vec<u8>], workers: usize) -> f64 {
    let prefix = dir.join("train");
    let mut writer = RecordWriter::create(&prefix).expect("rec");
    for (i, b) in blobs.iter().enumerate() {
        writer
            .write(
                i as u64,
                &IrHeader::scalar((i % 100) as f32, i as u64).pack(b),
            )
            .expect("write");
    }
    writer.finish().expect("finish");
    let data = RecordDataset::open(&prefix).expect("open");
    assert_eq!(data.len(), blobs.len());
    let config = LoaderConfig {
        batch_size: 100,
        num_workers: workers,
        ..LoaderConfig::default()
    };
    let loader = Loader::new(FaceSource::new(data, FacePipeline::train()), config).expect("loader");
    let mut best = 0f64;
    for epoch in 0..ROUNDS as u64 {
        let start = Instant::now();
        let n: usize = loader.epoch(epoch).map(|b| b.expect("batch").len()).sum();
        best = best.max(n as f64 / start.elapsed().as_secs_f64());
    }
    best
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("BENCH_PYTHON") {
        return p.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-py/bin/python");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-image-pipeline");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/image_pipeline_baseline.py");
    let py = python();
    let faces = SyntheticFaces::new(SyntheticConfig::default()).expect("faces");
    let start = Instant::now();
    for i in 0..faces.len() {
        std::hint::black_box(faces.render(i));
    }
    let render_rate = faces.len() as f64 / start.elapsed().as_secs_f64();
    let (blobs, encoder) = write_jpegs(&dir, &py, &script);
    let mean_kb = blobs.iter().map(Vec::len).sum::<usize>() as f64 / blobs.len() as f64 / 1024.0;
    println!("image_pipeline: {IMAGES} synthetic 112x112 JPEGs (q95 by {encoder}, mean {mean_kb:.1} KiB), best of {ROUNDS} rounds");
    println!(
        "  zune-jpeg decode to RGB, 1 thread         : {:>8.0} img/s",
        rust_rate(&blobs, Work::ZuneRgb)
    );
    println!(
        "  rust decode to RGB (decode_rgb), 1 thread : {:>8.0} img/s",
        rust_rate(&blobs, Work::DecodeRgb)
    );
    let rust = rust_rate(&blobs, Work::Full);
    println!("  rust decode + flip + normalise, 1 thread  : {rust:>8.0} img/s   (FacePipeline::apply_encoded)");
    let output = std::process::Command::new(&py)
        .arg(&script)
        .arg(&dir)
        .arg(ROUNDS.to_string())
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            for (name, key) in [
                ("PIL + numpy", "pil_numpy"),
                ("torchvision, lean tensor ops", "torchvision"),
                ("torchvision, v2 transforms", "torchvision_transforms"),
            ] {
                match json[key].as_f64() {
                    Some(rate) => println!(
                        "  {name:<30}, 1 thread: {rate:>8.0} img/s   rust is {:.2}x",
                        rust / rate
                    ),
                    None => println!(
                        "  {name:<28}: unavailable ({})",
                        json["torchvision_error"].as_str().unwrap_or("no result")
                    ),
                }
            }
        }
        Ok(out) => println!(
            "  python baseline failed ({}): {}",
            py.display(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => println!("  python baseline not run ({}: {e})", py.display()),
    }
    println!("  synthetic faces rendered (112x112), 1 thread: {render_rate:>8.0} img/s");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for workers in [1, threads] {
        println!(
            "  loader (.rec -> batches of 100), {workers} worker(s): {:>8.0} img/s",
            loader_rate(&dir, &blobs, workers)
        );
    }
}
