//! Damaged images are errors, not partly decoded faces: a JPEG cut in half is refused by the
//! baseline decoder and by the general one, skipped and counted by `data check` (also inside
//! RecordIO), and decoded as far as it goes only in lenient mode.

use datasets::face::recordio::{IrHeader, RecordWriter};
use datasets::face::{check_path, decode_rgb, decode_rgb_lenient, FacePipeline};
use datasets::loader::item_rng;

fn face_jpeg(quality: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(112, 112, |x, y| {
        image::Rgb([(x * 2) as u8, (y * 2) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&img)
        .unwrap();
    out
}

#[test]
fn a_jpeg_cut_in_half_is_an_error_unless_lenient() {
    let whole = face_jpeg(90);
    let half = &whole[..whole.len() / 2];
    decode_rgb(&whole, "whole.jpg").unwrap();
    let e = decode_rgb(half, "half.jpg").unwrap_err().to_string();
    assert!(e.starts_with("half.jpg: corrupt JPEG"), "{e}");
    let recovered = decode_rgb_lenient(half, "half.jpg").unwrap();
    assert_eq!(recovered.dimensions(), (112, 112));

    let strict = FacePipeline::eval();
    let e = strict
        .apply_encoded(half, "half.jpg", &mut item_rng(1, 0, 0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("half.jpg") && e.contains("corrupt JPEG"), "{e}");
    let lenient = FacePipeline {
        lenient: true,
        ..FacePipeline::eval()
    };
    let sample = lenient
        .apply_encoded(half, "half.jpg", &mut item_rng(1, 0, 0))
        .unwrap();
    assert_eq!(sample.shape, vec![3, 112, 112]);

    // A JPEG whose start of scan is cut: the general decoder (strict) refuses it too.
    let header_only = &whole[..whole.len().min(700)];
    assert!(decode_rgb(header_only, "short.jpg").is_err());
}

#[test]
fn recordio_counts_a_corrupt_and_a_half_cut_record_as_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("train");
    let whole = face_jpeg(90);
    let mut writer = RecordWriter::create(&prefix).unwrap();
    writer
        .write(0, &IrHeader::scalar(0.0, 0).pack(&whole))
        .unwrap();
    writer
        .write(1, &IrHeader::scalar(0.0, 1).pack(&whole[..whole.len() / 2]))
        .unwrap();
    writer
        .write(
            2,
            &IrHeader::scalar(1.0, 2).pack(b"\xFF\xD8 definitely not a jpeg"),
        )
        .unwrap();
    writer
        .write(3, &IrHeader::scalar(1.0, 3).pack(&whole))
        .unwrap();
    writer.finish().unwrap();
    let report = check_path(&prefix).unwrap();
    assert_eq!(
        (report.format.as_str(), report.images, report.unreadable),
        ("recordio", 4, 2)
    );
    assert!(
        report
            .unreadable_examples
            .iter()
            .any(|e| e.contains("train.rec#1")),
        "{report:?}"
    );
    assert!(
        report
            .unreadable_examples
            .iter()
            .any(|e| e.contains("train.rec#2")),
        "{report:?}"
    );
}
