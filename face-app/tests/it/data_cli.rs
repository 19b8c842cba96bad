//! `face-app data check` / `data pack` on real files: a folder with a corrupt image, a pack
//! round trip, and the error for a path that does not exist.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn face_app(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_face-app"))
        .args(args)
        .output()
        .expect("face-app runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Two identities with two 8x8 PNGs each, plus one corrupt "image".
fn folder_with_a_corrupt_image(root: &Path) {
    for (id, shade) in [("alice", 40u8), ("bob", 200u8)] {
        std::fs::create_dir_all(root.join(id)).unwrap();
        for k in 0..2u8 {
            let img =
                image::GrayImage::from_fn(8, 8, |x, y| image::Luma([shade + k + (x + y) as u8]));
            img.save(root.join(id).join(format!("{k}.png"))).unwrap();
        }
    }
    std::fs::write(root.join("bob").join("broken.png"), b"not a png at all").unwrap();
}

#[test]
fn check_counts_and_names_unreadable_images_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    folder_with_a_corrupt_image(dir.path());
    let (ok, stdout, stderr) = face_app(&["data", "check", dir.path().to_str().unwrap(), "--json"]);
    assert!(ok, "stderr: {stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).expect("exactly one JSON object");
    assert_eq!(report["format"], "image-folder");
    assert_eq!(report["identities"], 2);
    assert_eq!(report["images"], 5);
    assert_eq!(report["unreadable"], 1);
    let examples = report["unreadable_examples"].as_array().unwrap();
    assert_eq!(examples.len(), 1);
    assert!(
        examples[0].as_str().unwrap().contains("broken.png"),
        "{examples:?}"
    );
}

#[test]
fn pack_then_check_round_trips_through_recordio() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    folder_with_a_corrupt_image(&images);
    let prefix = dir.path().join("packed").join("train");
    let (ok, stdout, stderr) = face_app(&[
        "data",
        "pack",
        images.to_str().unwrap(),
        prefix.to_str().unwrap(),
    ]);
    assert!(ok, "stderr: {stderr}");
    assert!(
        stdout.contains("packed 4 images of 2 identities"),
        "{stdout}"
    );
    assert!(stdout.contains("1 skipped"), "{stdout}");
    for file in ["train.rec", "train.idx", "property"] {
        assert!(
            dir.path().join("packed").join(file).is_file(),
            "{file} missing"
        );
    }
    let (ok, stdout, _) = face_app(&["data", "check", prefix.to_str().unwrap(), "--json"]);
    assert!(ok);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["format"], "recordio");
    assert_eq!(report["identities"], 2);
    assert_eq!(report["images"], 4);
    assert_eq!(report["unreadable"], 0);
}

#[test]
fn check_of_a_missing_path_fails_naming_it() {
    let (ok, stdout, stderr) = face_app(&["data", "check", "/no/such/face/data"]);
    assert!(!ok);
    assert!(stdout.is_empty());
    assert!(stderr.contains("/no/such/face/data"), "{stderr}");
}

#[test]
fn check_synthetic_reports_the_demo_set() {
    let (ok, stdout, stderr) = face_app(&["data", "check", "synthetic", "--json"]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["format"], "synthetic");
    assert_eq!(report["unreadable"], 0);
    assert!(report["identities"].as_u64().unwrap() > 1);
}
