//! The baseline JPEG decoder against libjpeg-turbo: every pixel of Pillow's decode (libjpeg-turbo
//! defaults: islow IDCT, fancy upsampling) of the fixtures in `fixtures/face/jpeg/`, made by
//! `make_jpeg_fixtures.py`; the fallback to zune-jpeg for what it leaves out; corrupt data.

use std::path::PathBuf;

use datasets::face::jpeg::{self, normalise_value, JpegError, Sampling};
use datasets::face::{decode_rgb, image_to_chw, FacePipeline};
use datasets::loader::item_rng;
use rand::Rng;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/face/jpeg")
}

struct Case {
    name: String,
    fast: bool,
    gray: bool,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(fixture_dir().join("cases.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_string(),
            fast: c["fast"].as_bool().unwrap(),
            gray: c["mode"] == "L",
        })
        .collect()
}

fn jpeg_bytes(case: &Case) -> Vec<u8> {
    std::fs::read(fixture_dir().join(format!("{}.jpg", case.name))).unwrap()
}

/// libjpeg-turbo's decode as interleaved RGB (grayscale repeated).
fn reference_rgb(case: &Case) -> (u32, u32, Vec<u8>) {
    let img = image::open(fixture_dir().join(format!("{}.ref.png", case.name))).unwrap();
    let rgb = img.to_rgb8();
    (rgb.width(), rgb.height(), rgb.into_raw())
}

fn first_difference(got: &[u8], want: &[u8], width: u32) -> String {
    match got.iter().zip(want).position(|(a, b)| a != b) {
        Some(i) => {
            let px = i / 3;
            format!(
                "first difference at x={} y={} channel {}: {} vs {}",
                px % width as usize,
                px / width as usize,
                i % 3,
                got[i],
                want[i]
            )
        }
        None => format!("lengths {} vs {}", got.len(), want.len()),
    }
}

#[test]
fn baseline_jpegs_decode_to_libjpeg_turbos_exact_pixels() {
    let fast: Vec<Case> = cases().into_iter().filter(|c| c.fast).collect();
    assert!(fast.len() >= 10, "fixture list");
    for case in &fast {
        let bytes = jpeg_bytes(case);
        let planes = jpeg::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let (w, h, want) = reference_rgb(case);
        assert_eq!((planes.width(), planes.height()), (w as usize, h as usize));
        assert_eq!(
            planes.sampling() == Sampling::Gray,
            case.gray,
            "{}",
            case.name
        );
        let got = planes.to_rgb();
        assert!(
            got == want,
            "{}: {}",
            case.name,
            first_difference(&got, &want, w)
        );
        // The library entry point gives the same pixels.
        let image = decode_rgb(&bytes, &case.name).unwrap();
        assert!(image.as_raw() == &want, "{}: decode_rgb", case.name);
    }
}

#[test]
fn chw_output_is_the_normalised_reference_mirrored_on_request() {
    for case in cases().iter().filter(|c| c.fast) {
        let planes = jpeg::decode(&jpeg_bytes(case)).unwrap();
        let (w, h, want) = reference_rgb(case);
        let (w, h) = (w as usize, h as usize);
        for flip in [false, true] {
            let mut out = vec![7.0f32]; // appends after what is there
            planes.write_chw(flip, &mut out);
            assert_eq!(out.len(), 1 + 3 * w * h);
            for c in 0..3 {
                for y in 0..h {
                    for x in 0..w {
                        let src = if flip { w - 1 - x } else { x };
                        let expected = normalise_value(want[(y * w + src) * 3 + c]);
                        let got = out[1 + (c * h + y) * w + x];
                        assert_eq!(
                            got.to_bits(),
                            expected.to_bits(),
                            "{} flip {flip}: c{c} y{y} x{x}",
                            case.name
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn what_the_baseline_decoder_leaves_out_goes_to_zune_jpeg() {
    let left_out: Vec<Case> = cases().into_iter().filter(|c| !c.fast).collect();
    assert_eq!(left_out.len(), 2);
    for case in &left_out {
        let bytes = jpeg_bytes(case);
        match jpeg::decode(&bytes) {
            Err(JpegError::Unsupported(what)) => {
                assert!(!what.is_empty(), "{}", case.name)
            }
            other => panic!("{}: expected Unsupported, got {other:?}", case.name),
        }
        // The general decoder's output is close to libjpeg-turbo's (its IDCT and upsampling
        // differ in rounding only).
        let got = decode_rgb(&bytes, &case.name).unwrap();
        let (_, _, want) = reference_rgb(case);
        let mean_abs = got
            .as_raw()
            .iter()
            .zip(&want)
            .map(|(&a, &b)| f64::from((i16::from(a) - i16::from(b)).abs()))
            .sum::<f64>()
            / want.len() as f64;
        assert!(mean_abs < 1.5, "{}: mean |diff| {mean_abs}", case.name);
    }
}

fn face_q95() -> Vec<u8> {
    std::fs::read(fixture_dir().join("face_420_q95.jpg")).unwrap()
}

/// Offset of the first entropy-coded byte (after the SOS segment).
fn scan_start(bytes: &[u8]) -> usize {
    let sos = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    sos + 2 + usize::from(u16::from_be_bytes([bytes[sos + 2], bytes[sos + 3]]))
}

#[test]
fn truncated_and_corrupt_data_are_errors_never_panics() {
    let bytes = face_q95();
    let start = scan_start(&bytes);
    // Cut in the middle of the scan.
    let cut = &bytes[..start + (bytes.len() - start) / 2];
    assert_eq!(
        jpeg::decode(cut).unwrap_err(),
        JpegError::Corrupt("entropy-coded data ends early")
    );
    // Cut inside the headers.
    for end in [1, 2, 3, 10, 30, start - 1] {
        assert!(
            matches!(jpeg::decode(&bytes[..end]), Err(JpegError::Corrupt(_))),
            "cut at {end}"
        );
    }
    // A frame header claiming 60000 x 60000 pixels is refused before allocating.
    let mut huge = bytes.clone();
    let sof = huge.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    huge[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    assert_eq!(
        jpeg::decode(&huge).unwrap_err(),
        JpegError::Corrupt("image dimensions exceed what the data can hold")
    );
    // Random byte changes anywhere: an image or an error, never a panic.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..400 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut broken = bytes.clone();
        let region = if round % 4 == 0 {
            0..start
        } else {
            start..bytes.len()
        };
        for k in 0..1 + round % 3 {
            let at = region.start + (state as usize >> (8 * k)) % region.len();
            broken[at] = (state >> (40 + k)) as u8;
        }
        if let Ok(planes) = jpeg::decode(&broken) {
            let _ = planes.to_rgb();
        }
        // The library entry point names the item when nothing decodes it.
        if let Err(e) = decode_rgb(&broken, "broken.jpg") {
            assert!(e.to_string().contains("broken.jpg"), "{e}");
        }
    }
}

#[test]
fn apply_encoded_equals_decoding_then_applying() {
    let png = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/face/face112.png"),
    )
    .unwrap();
    let odd = std::fs::read(fixture_dir().join("odd_444_113x61.jpg")).unwrap();
    let progressive = std::fs::read(fixture_dir().join("face_progressive.jpg")).unwrap();
    let pipeline = FacePipeline::train();
    let mut flips = [0, 0];
    for (name, bytes) in [
        ("q95", face_q95()),
        ("png", png),
        ("odd", odd),
        ("progressive", progressive),
    ] {
        for index in 0..16 {
            let mut a = item_rng(3, 1, index);
            let mut b = item_rng(3, 1, index);
            let fused = pipeline.apply_encoded(&bytes, name, &mut a).unwrap();
            let reference = pipeline.apply(decode_rgb(&bytes, name).unwrap(), &mut b);
            assert_eq!(fused.shape, vec![3, 112, 112], "{name}");
            assert!(fused == reference, "{name} item {index}");
            // Same draws from the item's generator afterwards.
            assert_eq!(a.random::<u64>(), b.random::<u64>());
            let unflipped = image_to_chw(&pipeline.fit(decode_rgb(&bytes, name).unwrap()), false);
            flips[usize::from(fused.data != unflipped.data)] += 1;
        }
    }
    assert!(flips[0] > 0 && flips[1] > 0, "both flips seen: {flips:?}");
    let err = pipeline
        .apply_encoded(b"\xFF\xD8garbage", "item.jpg", &mut item_rng(0, 0, 0))
        .unwrap_err();
    assert!(err.to_string().contains("item.jpg"), "{err}");
}
