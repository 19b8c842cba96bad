//! RecordIO against fixtures written by `fixtures/face/make_fixtures.py` (an independent Python
//! writer following dmlc-core, mxnet `recordio.pack` and insightface `face2rec2.py`).

use std::path::{Path, PathBuf};

use datasets::face::recordio::{IrHeader, RecordFile, MAGIC};
use datasets::face::{
    FaceImages, FacePipeline, FaceSource, RecordDataset, RecordLayout, RecordWriter,
};
use datasets::loader::{Loader, LoaderConfig};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/face")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
        .unwrap()
}

/// Compares a decoded image with PIL's decoding (summary in expected.json): exact for PNG,
/// within JPEG decoder rounding (different IDCT/upsampling) for JPEG.
fn assert_matches_pil(image: &image::RgbImage, want: &Value, exact: bool) {
    assert_eq!(image.width() as u64, want["width"].as_u64().unwrap());
    assert_eq!(image.height() as u64, want["height"].as_u64().unwrap());
    let n = (image.width() * image.height()) as f64;
    for c in 0..3 {
        let mean = image.pixels().map(|p| p.0[c] as f64).sum::<f64>() / n;
        let want_mean = want["mean"][c].as_f64().unwrap();
        let tol = if exact { 1e-9 } else { 1.0 };
        assert!(
            (mean - want_mean).abs() <= tol,
            "channel {c} mean {mean} vs PIL {want_mean}"
        );
    }
    for probe in want["grid"].as_array().unwrap() {
        let p: Vec<i64> = probe
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let px = image.get_pixel(p[1] as u32, p[0] as u32).0;
        for c in 0..3 {
            let diff = (px[c] as i64 - p[2 + c]).abs();
            assert!(
                diff <= if exact { 0 } else { 12 },
                "pixel ({}, {}) channel {c}: {} vs PIL {}",
                p[0],
                p[1],
                px[c],
                p[2 + c]
            );
        }
    }
}

#[test]
fn insightface_layout_reads_header_labels_and_images() {
    let data = RecordDataset::open(&fixtures().join("insightface")).unwrap();
    assert_eq!(
        data.layout(),
        RecordLayout::InsightFace {
            images_end: 10,
            identities_end: 13
        }
    );
    assert_eq!(data.len(), 9);
    assert_eq!(data.num_identities(), 3);
    assert!(data.unreadable().is_empty());
    let property = data.property().unwrap();
    assert_eq!(
        (property.num_classes, property.height, property.width),
        (3, 32, 32)
    );
    let want = expected();
    for (i, img) in want["insightface"]["images"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        assert_eq!(data.key(i), img["key"].as_u64().unwrap());
        assert_eq!(data.label(i) as u64, img["label"].as_u64().unwrap());
        let exact = img["format"] == "png";
        assert_matches_pil(&data.image(i).unwrap(), img, exact);
    }
}

#[test]
fn a_record_split_at_an_embedded_magic_is_joined_with_the_magic() {
    let data = RecordDataset::open(&fixtures().join("insightface/train.rec")).unwrap();
    let split = expected()["insightface"]["split_key"].as_u64().unwrap();
    let index = (0..data.len()).find(|&i| data.key(i) == split).unwrap();
    let (header, bytes) = data.record(index).unwrap();
    assert_eq!(header.id2, u64::from(MAGIC));
    assert_eq!(header.id, split);
    assert!(
        bytes.starts_with(b"\x89PNG"),
        "the PNG payload follows the joined header"
    );
}

#[test]
fn im2rec_layout_without_header_uses_all_keys_and_the_first_of_several_labels() {
    let data = RecordDataset::open(&fixtures().join("im2rec/train")).unwrap();
    assert_eq!(data.layout(), RecordLayout::Flat);
    assert_eq!(data.len(), 6);
    assert_eq!(data.num_identities(), 3);
    assert!(data.property().is_none());
    let want = expected();
    for (i, img) in want["im2rec"]["images"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        assert_eq!(
            data.key(i),
            img["key"].as_u64().unwrap(),
            "keys in sorted order despite a shuffled .idx"
        );
        assert_eq!(data.label(i) as u64, img["label"].as_u64().unwrap());
        assert_matches_pil(&data.image(i).unwrap(), img, false);
    }
    let (header, _) = data.record(3).unwrap();
    assert_eq!((header.flag, header.labels.clone()), (2, vec![0.0, 7.0]));
}

#[test]
fn corrupt_records_are_reported_at_open_and_skipped_by_the_loader() {
    let data = RecordDataset::open(&fixtures().join("corrupt")).unwrap();
    let bad = data.unreadable();
    assert_eq!(bad.len(), 1);
    assert!(bad[0].0.ends_with("train.rec#3"), "{bad:?}");
    assert!(bad[0].1.contains("bad magic"), "{bad:?}");
    let keys: Vec<u64> = (0..data.len()).map(|i| data.key(i)).collect();
    assert_eq!(keys, vec![0, 1, 2, 4]);
    let err = data.image(1).unwrap_err().to_string();
    assert!(err.contains("train.rec#1") && err.contains("JPEG"), "{err}");

    let source = FaceSource::new(data, FacePipeline::eval());
    let loader = Loader::new(
        source,
        LoaderConfig {
            batch_size: 4,
            shuffle: false,
            ..LoaderConfig::default()
        },
    )
    .unwrap();
    let batches: Vec<_> = loader.epoch(0).map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].inputs.dims(), &[3, 3, 112, 112]);
    assert_eq!(batches[0].labels.to_vec1::<u32>().unwrap(), vec![0, 0, 0]);
    assert_eq!(loader.skipped().count, 1);
    assert!(loader.skipped().examples[0].item.ends_with("train.rec#1"));
}

#[test]
fn a_truncated_file_without_index_keeps_the_complete_records_and_reports_the_tail() {
    let want = expected();
    let data = RecordDataset::open(&fixtures().join("truncated")).unwrap();
    assert_eq!(
        data.len() as u64,
        want["truncated"]["complete_records"].as_u64().unwrap()
    );
    let bad = data.unreadable();
    assert_eq!(bad.len(), 1);
    assert!(bad[0].0.ends_with("train.rec#4"));
    assert!(bad[0].1.contains("truncated"), "{bad:?}");
    for i in 0..data.len() {
        assert_eq!(data.image(i).unwrap().dimensions(), (16, 16));
    }
}

#[test]
fn missing_files_and_a_broken_index_are_errors_naming_the_file() {
    let err = RecordDataset::open(Path::new("/nonexistent/train"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/train.rec"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("im2rec/train.rec"),
        dir.path().join("train.rec"),
    )
    .unwrap();
    std::fs::write(dir.path().join("train.idx"), "0\t0\nnot a line\n").unwrap();
    let err = RecordDataset::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("train.idx") && err.contains("line 2"), "{err}");
}

#[test]
fn the_writer_reproduces_the_python_fixture_byte_for_byte() {
    // Read every record of the fixture in file order and write it again with RecordWriter.
    let src = fixtures().join("insightface");
    let file = RecordFile::open(&src.join("train.rec")).unwrap();
    let (offsets, stopped) = file.scan_offsets();
    assert!(stopped.is_none());
    let index = datasets::face::recordio::read_index(&src.join("train.idx")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut writer = RecordWriter::create(&dir.path().join("copy")).unwrap();
    for (&offset, &(key, idx_offset)) in offsets.iter().zip(&index) {
        assert_eq!(offset, idx_offset);
        writer
            .write(key, &file.read_record(offset).unwrap().0)
            .unwrap();
    }
    let (rec, idx) = writer.finish().unwrap();
    assert_eq!(
        std::fs::read(rec).unwrap(),
        std::fs::read(src.join("train.rec")).unwrap()
    );
    assert_eq!(
        std::fs::read(idx).unwrap(),
        std::fs::read(src.join("train.idx")).unwrap()
    );
}

#[test]
fn payloads_round_trip_through_writer_and_reader() {
    let magic = MAGIC.to_le_bytes();
    let mut tricky = vec![1u8, 2, 3, 4];
    tricky.extend_from_slice(&magic); // aligned: split
    tricky.extend_from_slice(&[9, 9]);
    tricky.extend_from_slice(&magic); // unaligned (offset 10): not split
    tricky.extend_from_slice(&[0, 0]);
    tricky.extend_from_slice(&magic); // aligned again
    let payloads: Vec<Vec<u8>> = vec![vec![], vec![7], magic.to_vec(), tricky, (0..=255).collect()];
    let dir = tempfile::tempdir().unwrap();
    let mut writer = RecordWriter::create(&dir.path().join("t")).unwrap();
    for (k, p) in payloads.iter().enumerate() {
        writer.write(k as u64 * 10, p).unwrap();
    }
    let (rec, idx) = writer.finish().unwrap();
    let file = RecordFile::open(&rec).unwrap();
    for ((key, offset), p) in datasets::face::recordio::read_index(&idx)
        .unwrap()
        .into_iter()
        .zip(&payloads)
    {
        assert_eq!(file.read_record(offset).unwrap().0, *p, "key {key}");
    }
}

#[test]
fn ir_header_packs_like_mxnet() {
    // struct.pack('IfQQ', 0, 3.0, 5, 0) and pack with a label vector [1, 2] (flag 2, label 0).
    let scalar = IrHeader::scalar(3.0, 5).pack(b"xy");
    assert_eq!(&scalar[..8], &[0, 0, 0, 0, 0, 0, 0x40, 0x40]);
    assert_eq!(&scalar[8..16], &[5, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&scalar[24..], b"xy");
    let vector = IrHeader::vector(vec![1.0, 2.0], 9).pack(&[]);
    assert_eq!(vector.len(), 32);
    assert_eq!(&vector[..8], &[2, 0, 0, 0, 0, 0, 0, 0]);
    let (back, rest) = IrHeader::unpack(&vector).unwrap();
    assert_eq!(
        (back.flag, back.labels, back.id, rest.len()),
        (2, vec![1.0, 2.0], 9, 0)
    );
    assert!(IrHeader::unpack(&vector[..28])
        .unwrap_err()
        .contains("2 labels"));
}

#[test]
fn a_headerless_file_whose_first_image_has_a_label_vector_is_flat() {
    // im2rec with several labels per image: record 0 has flag 2 but carries an image, so it is
    // not an insightface header.
    let png = std::fs::read(fixtures().join("face112.png")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut writer = RecordWriter::create(&dir.path().join("train")).unwrap();
    writer
        .write(0, &IrHeader::vector(vec![2.0, 7.0], 0).pack(&png))
        .unwrap();
    writer
        .write(1, &IrHeader::scalar(0.0, 1).pack(&png))
        .unwrap();
    writer.finish().unwrap();
    let data = RecordDataset::open(dir.path()).unwrap();
    assert_eq!(data.layout(), RecordLayout::Flat);
    // Labels 2 and 0 are sparse: they become the dense ids 1 and 0.
    assert_eq!(
        (
            data.len(),
            data.label(0),
            data.label(1),
            data.num_identities()
        ),
        (2, 1, 0, 2)
    );
}

#[test]
fn a_huge_label_is_made_dense_and_sizes_nothing() {
    let png = std::fs::read(fixtures().join("face112.png")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut writer = RecordWriter::create(&dir.path().join("train")).unwrap();
    for (key, label) in [(0u64, 16_000_000.0f32), (1, 3.0), (2, 16_000_000.0)] {
        writer
            .write(key, &IrHeader::scalar(label, key).pack(&png))
            .unwrap();
    }
    writer.finish().unwrap();
    let data = RecordDataset::open(dir.path()).unwrap();
    assert_eq!(data.num_identities(), 2);
    assert_eq!((data.label(0), data.label(1), data.label(2)), (1, 0, 1));
}
