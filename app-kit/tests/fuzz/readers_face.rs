//! Face readers: RecordIO (`.rec`, `.idx`, `property`), insightface `.bin`, image lists, and the
//! JPEG / PNG decoders.

use datasets::face::{
    decode_rgb, FaceImages, FacePipeline, ImageFolder, RecordDataset, ValidationBin,
};
use datasets::loader::item_rng;

use crate::mutate::{fixture, fuzz_bytes, fuzz_file};

fn read_all(images: &dyn FaceImages) -> Result<(), String> {
    for i in 0..images.len() {
        images.image(i).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[test]
fn recordio_files() {
    for (seed, layout) in [(1u64, "insightface"), (2, "im2rec")] {
        for (offset, file, text) in [
            (0u64, "train.rec", false),
            (10, "train.idx", true),
            (20, "property", true),
        ] {
            let source = fixture(&format!("face/{layout}"));
            if !source.join(file).exists() {
                continue;
            }
            let dir = tempfile::tempdir().unwrap();
            for f in ["train.rec", "train.idx", "property"] {
                if source.join(f).exists() {
                    std::fs::copy(source.join(f), dir.path().join(f)).unwrap();
                }
            }
            let input = std::fs::read(source.join(file)).unwrap();
            let prefix = dir.path().join("train");
            // The property file is named by its own name; index and records by `train.`.
            let expect = if file == "property" {
                "property"
            } else {
                "train."
            };
            fuzz_file(
                seed + offset,
                dir.path(),
                file,
                &input,
                text,
                expect,
                |_| {
                    let data = RecordDataset::open(&prefix).map_err(|e| e.to_string())?;
                    read_all(&data)
                },
            );
        }
    }
}

#[test]
fn validation_bins() {
    let input = std::fs::read(fixture("face/pairs_py3.bin")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    fuzz_file(
        3,
        dir.path(),
        "pairs.bin",
        &input,
        false,
        "pairs.bin",
        |path| {
            let bin = ValidationBin::open(path).map_err(|e| e.to_string())?;
            for i in 0..bin.num_images() {
                bin.image(i).map_err(|e| e.to_string())?;
            }
            Ok(())
        },
    );
}

#[test]
fn image_lists() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.png", "b.jpg"] {
        std::fs::copy(fixture("face/face112.png"), dir.path().join(name)).unwrap();
    }
    let list = "a.png 0 30 40 70 40 50 60 35 80 65 80\nb.jpg 7\n# comment\n0\t3\ta.png\n";
    fuzz_file(
        4,
        dir.path(),
        "list.txt",
        list.as_bytes(),
        true,
        "list.txt",
        |path| {
            let images = ImageFolder::from_list(path, None).map_err(|e| e.to_string())?;
            // Every listed file exists: only the list itself can be at fault.
            read_all(&images).map_err(|e| format!("list.txt entry: {e}"))
        },
    );
}

#[test]
fn jpeg_and_png_bytes() {
    for (seed, file) in [
        (5u64, "face/jpeg/face_420_q95.jpg"),
        (6, "face/jpeg/face_444_q90.jpg"),
        (7, "face/jpeg/face_progressive.jpg"),
        (8, "face/jpeg/face_420_restart.jpg"),
        (9, "face/face112.png"),
    ] {
        let input = std::fs::read(fixture(file)).unwrap();
        let pipeline = FacePipeline::train();
        fuzz_bytes(seed, "fuzz-image", &input, |bytes| {
            decode_rgb(bytes, "fuzz-image").map_err(|e| e.to_string())?;
            pipeline
                .apply_encoded(bytes, "fuzz-image", &mut item_rng(1, 0, 0))
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
    }
}
