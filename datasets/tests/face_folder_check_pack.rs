//! Image folders, list files, `data check` reports and `data pack` round trips.

use std::path::{Path, PathBuf};

use datasets::face::{
    check_path, pack_folder, FaceImages, ImageFolder, RecordDataset, RecordLayout,
};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/face")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
        .unwrap()
}

#[test]
fn a_folder_lists_identities_in_sorted_order_and_ignores_other_files() {
    let folder = ImageFolder::open(&fixtures().join("folder")).unwrap();
    assert_eq!(folder.identities(), ["alice", "bob"]);
    assert_eq!(folder.len(), 7);
    let names: Vec<String> = (0..7)
        .map(|i| {
            folder
                .path(i)
                .strip_prefix(fixtures().join("folder"))
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "alice/0.jpg",
            "alice/1.png",
            "alice/2.pgm",
            "bob/0.jpg",
            "bob/1.png",
            "bob/2.pgm",
            "bob/3.jpg"
        ]
    );
    assert_eq!(
        (0..7).map(|i| folder.label(i)).collect::<Vec<_>>(),
        [0, 0, 0, 1, 1, 1, 1]
    );
    let want = expected();
    let png = folder.image(1).unwrap();
    let info = &want["folder"]["images"]["alice/1.png"];
    assert!(
        (png.pixels().map(|p| p.0[2] as f64).sum::<f64>() / 400.0
            - info["mean"][2].as_f64().unwrap())
        .abs()
            < 1e-9
    );
    let err = folder.image(6).unwrap_err().to_string();
    assert!(err.contains("bob/3.jpg"), "{err}");
}

#[test]
fn list_files_in_both_formats_resolve_paths_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let root = fixtures().join("folder");
    let lst = dir.path().join("train.lst");
    std::fs::write(&lst, "0\t1\tbob/0.jpg\n1\t0.000000\talice/1.png\n").unwrap();
    let list = ImageFolder::from_list(&lst, Some(&root)).unwrap();
    assert_eq!((list.len(), list.num_identities()), (2, 2));
    assert_eq!((list.label(0), list.label(1)), (1, 0));
    assert_eq!(list.image(0).unwrap().dimensions(), (20, 20));

    let plain = dir.path().join("faces.txt");
    std::fs::write(
        &plain,
        "# path label landmarks\nalice/0.jpg 4 1 2 3 4 5 6 7 8 9 10\n\nbob/1.png 2\n",
    )
    .unwrap();
    let list = ImageFolder::from_list(&plain, Some(&root)).unwrap();
    // Labels 4 and 2 become the dense ids 1 and 0; the written labels are the identity names.
    assert_eq!(list.num_identities(), 2);
    assert_eq!((list.label(0), list.label(1)), (1, 0));
    assert_eq!(list.identities(), ["2", "4"]);
    assert_eq!(
        list.landmarks(0),
        Some([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0]])
    );
    assert_eq!(list.landmarks(1), None);

    std::fs::write(&plain, "alice/0.jpg minus-one\n").unwrap();
    let err = ImageFolder::from_list(&plain, Some(&root))
        .unwrap_err()
        .to_string();
    assert!(err.contains("faces.txt") && err.contains("line 1"), "{err}");
}

#[test]
fn check_reports_each_format_and_counts_unreadable_items() {
    let folder = check_path(&fixtures().join("folder")).unwrap();
    assert_eq!(
        (
            folder.format.as_str(),
            folder.identities,
            folder.images,
            folder.unreadable
        ),
        ("image-folder", 2, 7, 1)
    );
    assert!(folder.unreadable_examples[0].contains("bob/3.jpg"));

    let rec = check_path(&fixtures().join("insightface")).unwrap();
    assert_eq!(
        (
            rec.format.as_str(),
            rec.identities,
            rec.images,
            rec.unreadable
        ),
        ("recordio", 3, 9, 0)
    );

    let corrupt = check_path(&fixtures().join("corrupt/train")).unwrap();
    assert_eq!((corrupt.images, corrupt.unreadable), (5, 2));
    assert!(corrupt
        .unreadable_examples
        .iter()
        .any(|e| e.contains("train.rec#3") && e.contains("bad magic")));
    assert!(corrupt
        .unreadable_examples
        .iter()
        .any(|e| e.contains("train.rec#1")));

    let truncated = check_path(&fixtures().join("truncated")).unwrap();
    assert_eq!((truncated.images, truncated.unreadable), (5, 1));

    let json: Value = serde_json::from_str(&corrupt.to_json()).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "format",
            "identities",
            "images",
            "unreadable",
            "unreadable_examples"
        ]
    );
    assert_eq!(json["unreadable"], 2);
}

#[test]
fn check_of_synthetic_and_of_a_missing_path() {
    let report = check_path(Path::new("synthetic")).unwrap();
    assert_eq!(
        (
            report.format.as_str(),
            report.identities,
            report.images,
            report.unreadable
        ),
        ("synthetic", 100, 2000, 0)
    );
    let err = check_path(Path::new("/no/such/place"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/no/such/place"), "{err}");
}

#[test]
fn pack_then_read_gives_back_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let report = pack_folder(&fixtures().join("folder"), &dir.path().join("out/train")).unwrap();
    assert_eq!(
        (report.images, report.identities, report.skipped),
        (6, 2, 1)
    );
    assert!(report.skipped_examples[0].contains("bob/3.jpg"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/property")).unwrap(),
        "2,20,20\n6\n"
    );
    // A second prefix in the same folder keeps its own property file.
    let val = pack_folder(&fixtures().join("folder"), &dir.path().join("out/val")).unwrap();
    assert_eq!(val.property, dir.path().join("out/val.property"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/property")).unwrap(),
        "2,20,20\n6\n",
        "train's property is untouched"
    );

    let packed = RecordDataset::open(&dir.path().join("out")).unwrap();
    assert_eq!(
        packed.layout(),
        RecordLayout::InsightFace {
            images_end: 7,
            identities_end: 9
        }
    );
    let folder = ImageFolder::open(&fixtures().join("folder")).unwrap();
    assert_eq!(packed.len(), 6);
    for i in 0..6 {
        assert_eq!(packed.label(i), folder.label(i));
        assert_eq!(
            packed.image(i).unwrap(),
            folder.image(i).unwrap(),
            "image {i} survives packing unchanged"
        );
    }
    // JPEG and PNG bytes are stored as they are; the PGM is stored as PNG.
    let (_, bytes) = packed.record(0).unwrap();
    assert_eq!(bytes, std::fs::read(folder.path(0)).unwrap());
    let (_, bytes) = packed.record(2).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    // Identity records hold each identity's key range.
    let check = check_path(&dir.path().join("out/train.rec")).unwrap();
    assert_eq!(
        (check.images, check.identities, check.unreadable),
        (6, 2, 0)
    );
}
