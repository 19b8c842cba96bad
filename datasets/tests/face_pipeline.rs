//! Decoding, normalisation, flip and alignment against values computed by `make_fixtures.py` (numpy + PIL).

use std::path::{Path, PathBuf};

use datasets::face::align::warp_affine;
use datasets::face::{
    align_face, decode_rgb, image_to_chw, similarity_transform, FacePipeline, ARCFACE_TEMPLATE,
};
use datasets::loader::item_rng;
use image::{Rgb, RgbImage};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/face")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
        .unwrap()
}

#[test]
fn chw_values_and_flip_match_numpy() {
    let bytes = std::fs::read(fixtures().join("face112.png")).unwrap();
    let image = decode_rgb(&bytes, "face112.png").unwrap();
    let plain = image_to_chw(&image, false);
    let flipped = image_to_chw(&image, true);
    assert_eq!(plain.shape, vec![3, 112, 112]);
    let want = &expected()["face112"];
    for probe in want["probes"].as_array().unwrap() {
        let p = probe.as_array().unwrap();
        let (c, y, x) = (
            p[0].as_u64().unwrap() as usize,
            p[1].as_u64().unwrap() as usize,
            p[2].as_u64().unwrap() as usize,
        );
        let at = c * 112 * 112 + y * 112 + x;
        assert_eq!(
            plain.data[at],
            p[3].as_f64().unwrap() as f32,
            "value at {c},{y},{x}"
        );
        assert_eq!(
            flipped.data[at],
            p[4].as_f64().unwrap() as f32,
            "flipped value at {c},{y},{x}"
        );
    }
    let sum: f64 = plain.data.iter().map(|&v| v as f64).sum();
    assert!((sum - want["sum"].as_f64().unwrap()).abs() < 1e-3);
}

#[test]
fn normalisation_maps_0_and_255_to_minus_one_and_one() {
    let mut image = RgbImage::new(2, 1);
    image.put_pixel(0, 0, Rgb([0, 255, 128]));
    let sample = image_to_chw(&image, false);
    assert_eq!(sample.data[0], -1.0);
    assert_eq!(sample.data[2], 1.0);
    assert_eq!(sample.data[4], 0.5 / 127.5);
    // Every byte value, against the division done here at run time.
    let mut all = RgbImage::new(256, 1);
    for v in 0..=255u8 {
        all.put_pixel(u32::from(v), 0, Rgb([v, 255 - v, v]));
    }
    let sample = image_to_chw(&all, false);
    for v in 0..256 {
        let expect = |x: usize| (x as f32 - 127.5) / 127.5;
        assert_eq!(sample.data[v], expect(v), "R {v}");
        assert_eq!(sample.data[256 + v], expect(255 - v), "G {v}");
    }
}

#[test]
fn grayscale_pgm_becomes_three_equal_channels() {
    let bytes = std::fs::read(fixtures().join("folder/alice/2.pgm")).unwrap();
    let image = decode_rgb(&bytes, "2.pgm").unwrap();
    assert_eq!(image.dimensions(), (20, 20));
    assert!(image.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]));
    let want = &expected()["folder"]["images"]["alice/2.pgm"];
    assert!(
        (image.pixels().map(|p| p.0[0] as f64).sum::<f64>() / 400.0
            - want["mean"][0].as_f64().unwrap())
        .abs()
            < 1e-9
    );
}

#[test]
fn undecodable_bytes_give_an_error_naming_the_item() {
    let err = decode_rgb(b"definitely not an image", "some/file.jpg")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("some/file.jpg:"), "{err}");
    let err = decode_rgb(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], "x.rec#4")
        .unwrap_err()
        .to_string();
    assert!(err.contains("x.rec#4") && err.contains("JPEG"), "{err}");
}

#[test]
fn the_pipeline_resizes_and_flips_from_the_item_generator_only() {
    let mut image = RgbImage::new(56, 56);
    image.put_pixel(0, 0, Rgb([255, 255, 255]));
    let pipeline = FacePipeline::train();
    let flips: Vec<bool> = (0..64)
        .map(|i| {
            let sample = pipeline.apply(image.clone(), &mut item_rng(3, 0, i));
            assert_eq!(sample.shape, vec![3, 112, 112]);
            // The bright corner lands on the right when flipped.
            sample.data[111] > sample.data[0]
        })
        .collect();
    let again: Vec<bool> = (0..64)
        .map(|i| {
            let s = pipeline.apply(image.clone(), &mut item_rng(3, 0, i));
            s.data[111] > s.data[0]
        })
        .collect();
    assert_eq!(flips, again);
    let flipped = flips.iter().filter(|&&f| f).count();
    assert!((16..=48).contains(&flipped), "{flipped} of 64 flipped");
    let eval = FacePipeline::eval().apply(image, &mut item_rng(3, 0, 0));
    assert!(eval.data[0] > eval.data[111]);
}

#[test]
fn similarity_transform_recovers_a_known_rotation_scale_and_shift() {
    // src = template mapped by x -> s R(θ) x + t; the estimate must map src back onto the template.
    let (s, theta, t) = (1.7f32, 0.3f32, [12.0f32, -5.0]);
    let (sin, cos) = theta.sin_cos();
    let src = ARCFACE_TEMPLATE.map(|[x, y]| {
        [
            s * (cos * x - sin * y) + t[0],
            s * (sin * x + cos * y) + t[1],
        ]
    });
    let m = similarity_transform(&src, &ARCFACE_TEMPLATE);
    for (p, q) in src.iter().zip(&ARCFACE_TEMPLATE) {
        let x = m[0][0] * p[0] + m[0][1] * p[1] + m[0][2];
        let y = m[1][0] * p[0] + m[1][1] * p[1] + m[1][2];
        assert!(
            (x - q[0]).abs() < 1e-3 && (y - q[1]).abs() < 1e-3,
            "({x}, {y}) vs {q:?}"
        );
    }
    let scale = (m[0][0].powi(2) + m[1][0].powi(2)).sqrt();
    assert!((scale - 1.0 / s).abs() < 1e-5);
    assert!((m[1][0].atan2(m[0][0]) + theta).abs() < 1e-5);
}

#[test]
fn alignment_moves_marked_landmarks_onto_the_template() {
    // A 200 x 160 image with white 3 x 3 dots at the template scaled by 1.5 and shifted by (20, 10).
    let landmarks = ARCFACE_TEMPLATE.map(|[x, y]| [x * 1.5 + 20.0, y * 1.5 + 10.0]);
    let mut image = RgbImage::new(200, 160);
    for [x, y] in landmarks {
        for dy in -1..=1 {
            for dx in -1..=1 {
                image.put_pixel(
                    (x.round() as i32 + dx) as u32,
                    (y.round() as i32 + dy) as u32,
                    Rgb([255, 255, 255]),
                );
            }
        }
    }
    let aligned = align_face(&image, &landmarks, 112);
    assert_eq!(aligned.dimensions(), (112, 112));
    for [x, y] in ARCFACE_TEMPLATE {
        assert!(
            aligned.get_pixel(x.round() as u32, y.round() as u32).0[0] > 100,
            "no dot at ({x}, {y})"
        );
    }
    assert_eq!(aligned.get_pixel(5, 5).0, [0, 0, 0]);
}

#[test]
fn warp_fills_outside_the_source_with_black() {
    let image = RgbImage::from_pixel(10, 10, Rgb([200, 100, 50]));
    let shift = [[1.0, 0.0, 5.0], [0.0, 1.0, 0.0]];
    let out = warp_affine(&image, &shift, 20);
    assert_eq!(out.get_pixel(7, 3).0, [200, 100, 50]);
    assert_eq!(out.get_pixel(2, 3).0, [0, 0, 0]);
    assert_eq!(out.get_pixel(7, 15).0, [0, 0, 0]);
}

#[test]
fn a_grayscale_jpeg_decodes_to_three_equal_channels() {
    let bytes = std::fs::read(fixtures().join("gray.jpg")).unwrap();
    let image = decode_rgb(&bytes, "gray.jpg").unwrap();
    let want = &expected()["gray_jpeg"];
    assert_eq!(image.dimensions(), (24, 24));
    assert!(image.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]));
    let mean = image.pixels().map(|p| p.0[0] as f64).sum::<f64>() / 576.0;
    assert!(
        (mean - want["mean"][0].as_f64().unwrap()).abs() < 1.0,
        "{mean} vs PIL {}",
        want["mean"][0]
    );
}
