//! insightface validation `.bin` pickles made by `make_fixtures.py`: Python 2 style (str images,
//! protocol 2), Python 3 protocol 2 (bytes via `_codecs.encode`) and protocol 4.

use std::path::{Path, PathBuf};

use candle_core::Device;
use datasets::face::ValidationBin;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/face")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
        .unwrap()
}

#[test]
fn all_pickle_flavours_give_the_same_pairs_and_images() {
    let want = expected();
    let issame: Vec<bool> = want["bin"]["issame"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    let reference = ValidationBin::open(&fixtures().join("pairs_py3.bin")).unwrap();
    for name in ["pairs_py2.bin", "pairs_py3_proto2.bin", "pairs_py3.bin"] {
        let set = ValidationBin::open(&fixtures().join(name)).unwrap();
        assert_eq!(set.issame(), issame.as_slice(), "{name}");
        assert_eq!(set.num_pairs(), 3);
        assert_eq!(set.num_images(), 6);
        for i in 0..6 {
            assert_eq!(set.encoded(i), reference.encoded(i), "{name} image {i}");
            let image = set.image(i).unwrap();
            let info = &want["bin"]["images"][i];
            assert_eq!(image.dimensions(), (112, 112));
            for c in 0..3 {
                let mean = image.pixels().map(|p| p.0[c] as f64).sum::<f64>() / (112.0 * 112.0);
                assert!(
                    (mean - info["mean"][c].as_f64().unwrap()).abs() < 1.0,
                    "{name} image {i} channel {c}"
                );
            }
        }
    }
}

#[test]
fn batches_are_normalised_and_flipped() {
    let set = ValidationBin::open(&fixtures().join("pairs_py2.bin")).unwrap();
    let plain = set.batch(0..4, false, &Device::Cpu).unwrap();
    let flipped = set.batch(0..4, true, &Device::Cpu).unwrap();
    assert_eq!(plain.dims(), &[4, 3, 112, 112]);
    let back = flipped.flip(&[3]).unwrap();
    let diff = (plain - back)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert_eq!(diff, 0.0);
    assert!(set.batch(4..7, false, &Device::Cpu).is_err());
}

#[test]
fn a_truncated_or_foreign_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixtures().join("pairs_py3.bin")).unwrap();
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = ValidationBin::open(&cut).unwrap_err().to_string();
    assert!(err.contains("cut.bin") && err.contains("pickle"), "{err}");
    let rec = fixtures().join("im2rec/train.rec");
    assert!(ValidationBin::open(&rec)
        .unwrap_err()
        .to_string()
        .contains("train.rec"));
}

#[test]
fn data_check_reads_a_validation_bin() {
    let want = expected();
    let images = want["bin"]["images"].as_array().unwrap().len();
    let report = datasets::face::check_path(&fixtures().join("pairs_py3.bin")).unwrap();
    assert_eq!(report.format, "validation-bin");
    assert_eq!(report.identities, 0);
    assert_eq!(report.images, images);
    assert_eq!(report.unreadable, 0);
}
