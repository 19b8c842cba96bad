//! Writes an IJB-C-sized synthetic protocol for `benches/ijb_scale.sh`:
//! 469,375 images in 23,124 templates, 15,658,489 pairs (19,557 genuine;
//! impostor pairs that hit the same subject are moved off it),
//! 1024-d `[original | flipped]` features.
//!
//! Usage: `cargo run --release -p eval-kit --example synthetic_ijbc -- DIR`.
//! Creates `DIR/meta/ijbc_*.txt` and `DIR/features.safetensors`; the feature
//! file is streamed in the embedding-store format (see `eval_kit::store`).
#![allow(clippy::print_stdout)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const IMAGES: usize = 469_375;
const TEMPLATES: usize = 23_124;
const GENUINE: usize = 19_557;
const PAIRS: usize = 15_658_489;
const DIM: usize = 1024;
const SUBJECTS: usize = 3_531;

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).expect("usage: synthetic_ijbc DIR");
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir.join("meta"))?;
    let mut rng = StdRng::seed_from_u64(2026);
    let subject_of_template: Vec<usize> = (0..TEMPLATES).map(|t| t % SUBJECTS).collect();

    // Face list: images spread over templates, 1 to 5 per media.
    let mut faces = BufWriter::new(File::create(dir.join("meta/ijbc_face_tid_mid.txt"))?);
    let mut scores = BufWriter::new(File::create(dir.join("meta/ijbc_name_5pts_score.txt"))?);
    let mut template_of_image = Vec::with_capacity(IMAGES);
    let (mut media, mut left_in_media) = (0usize, 0usize);
    for i in 0..IMAGES {
        let t = if i < TEMPLATES {
            i
        } else {
            rng.random_range(0..TEMPLATES)
        };
        if left_in_media == 0 {
            media += 1;
            left_in_media = rng.random_range(1..=5);
        }
        left_in_media -= 1;
        writeln!(faces, "{}.jpg {} {}", i + 1, t + 1, media)?;
        writeln!(
            scores,
            "{}.jpg 38.3 51.7 73.5 51.5 56.0 71.7 41.5 92.4 70.7 92.2 {:.6}",
            i + 1,
            rng.random_range(0.5..1.0)
        )?;
        template_of_image.push(t);
    }
    faces.flush()?;
    scores.flush()?;

    // Pairs: genuine pairs share a subject.
    let mut pairs = BufWriter::new(File::create(dir.join("meta/ijbc_template_pair_label.txt"))?);
    for k in 0..PAIRS {
        let a = rng.random_range(0..TEMPLATES);
        let s = subject_of_template[a];
        let b = if k < GENUINE {
            // Templates of subject s are s, s + SUBJECTS, s + 2 SUBJECTS, ...
            let count = (TEMPLATES - 1 - s) / SUBJECTS + 1;
            s + SUBJECTS * rng.random_range(0..count)
        } else {
            let b = rng.random_range(0..TEMPLATES);
            if subject_of_template[b] == s {
                (b + 1) % TEMPLATES
            } else {
                b
            }
        };
        let label = u8::from(subject_of_template[b] == s);
        writeln!(pairs, "{} {} {}", a + 1, b + 1, label)?;
    }
    pairs.flush()?;

    // Features: subject center plus noise, written as the store format.
    let centers: Vec<f32> = (0..SUBJECTS * DIM / 2)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    // A per-template offset makes genuine template pairs imperfect.
    let offsets: Vec<f32> = (0..TEMPLATES * DIM / 2)
        .map(|_| rng.random_range(-2.0..2.0))
        .collect();
    let keys: Vec<String> = (1..=IMAGES).map(|i| format!("{i}.jpg")).collect();
    let key_bytes = keys.join("\n").into_bytes();
    let data_len = IMAGES * DIM * 4;
    let mut header = format!(
        "{{\"__metadata__\":{{\"format\":\"eval-kit.embeddings\",\"version\":\"1\"}},\
         \"embeddings\":{{\"dtype\":\"F32\",\"shape\":[{IMAGES},{DIM}],\"data_offsets\":[0,{data_len}]}},\
         \"keys\":{{\"dtype\":\"U8\",\"shape\":[{}],\"data_offsets\":[{data_len},{}]}}}}",
        key_bytes.len(),
        data_len + key_bytes.len()
    );
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out =
        BufWriter::with_capacity(1 << 22, File::create(dir.join("features.safetensors"))?);
    out.write_all(&(header.len() as u64).to_le_bytes())?;
    out.write_all(header.as_bytes())?;
    for &t in &template_of_image {
        let center = &centers[subject_of_template[t] * DIM / 2..][..DIM / 2];
        let offset = &offsets[t * DIM / 2..][..DIM / 2];
        for _half in 0..2 {
            for (&c, &o) in center.iter().zip(offset) {
                let x = c + o + rng.random_range(-1.5f32..1.5);
                out.write_all(&x.to_le_bytes())?;
            }
        }
    }
    out.write_all(&key_bytes)?;
    out.flush()?;
    println!("wrote {}", dir.display());
    Ok(())
}
