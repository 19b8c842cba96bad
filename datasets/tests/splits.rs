//! Opening a training run's data: format detection shared with `data check`, identity splits
//! (generated data hold out extra identities, files a seeded draw), the per-identity cap spread
//! over an identity's items, and labels of lists remapped to dense ids.

use std::path::Path;

use datasets::face::{self, FaceImages, SyntheticConfig};
use datasets::speech::corpus;
use datasets::speech::synthetic::SyntheticVoicesConfig;
use datasets::split::HeldoutSpec;

fn heldout(identities: usize, per_identity: usize) -> HeldoutSpec {
    HeldoutSpec {
        identities,
        per_identity,
        seed: 3,
    }
}

fn write_png(path: &Path, shade: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_pixel(8, 8, image::Rgb([shade, shade, shade]))
        .save(path)
        .unwrap();
}

#[test]
fn synthetic_faces_hold_out_the_last_identities() {
    let cfg = SyntheticConfig {
        identities: 6,
        images_per_identity: 5,
        ..SyntheticConfig::default()
    };
    let data = face::open("synthetic", cfg, heldout(2, 3)).unwrap();
    assert_eq!((data.train.num_identities(), data.train.len()), (4, 20));
    let held = data.heldout.unwrap();
    assert_eq!(held.counts(), vec![3, 3]);
    // The cap is spread over the 5 images of each: 0, 1, 3.
    assert_eq!(
        held.describe(2),
        face::open("synthetic", cfg, heldout(2, 5))
            .unwrap()
            .heldout
            .unwrap()
            .describe(3)
    );
    let e = face::open("synthetic", cfg, heldout(5, 3))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("fewer than 2 to train on"), "{e}");
}

#[test]
fn a_folder_holds_out_a_seeded_draw_of_identities() {
    let dir = tempfile::tempdir().unwrap();
    for id in 0..6 {
        for img in 0..4 {
            write_png(
                &dir.path().join(format!("id{id}/{img}.png")),
                (id * 40 + img) as u8,
            );
        }
    }
    assert_eq!(
        face::detect(dir.path()).unwrap(),
        face::FaceFormat::ImageFolder
    );
    let a = face::open(
        dir.path().to_str().unwrap(),
        SyntheticConfig::default(),
        heldout(2, 4),
    )
    .unwrap();
    let b = face::open(
        dir.path().to_str().unwrap(),
        SyntheticConfig::default(),
        heldout(2, 4),
    )
    .unwrap();
    assert_eq!(a.format, "image-folder");
    assert_eq!(
        (
            a.train.num_identities(),
            a.heldout.as_ref().unwrap().num_identities()
        ),
        (4, 2)
    );
    let names = |d: &face::FaceData| -> Vec<String> {
        let h = d.heldout.as_ref().unwrap();
        (0..h.len()).map(|i| h.describe(i)).collect()
    };
    assert_eq!(names(&a), names(&b), "the draw depends on the seed only");
    let train: Vec<String> = (0..a.train.len()).map(|i| a.train.describe(i)).collect();
    assert!(
        names(&a).iter().all(|n| !train.contains(n)),
        "held-out identities are never trained on"
    );
}

#[test]
fn list_labels_are_made_dense_whatever_their_size() {
    let dir = tempfile::tempdir().unwrap();
    for (i, label) in [(0, 4294967295u32), (1, 7), (2, 4294967295), (3, 7)] {
        write_png(&dir.path().join(format!("{i}.png")), i as u8);
        let line = format!("{i}.png {label}\n");
        let list = dir.path().join("list.txt");
        let mut text = std::fs::read_to_string(&list).unwrap_or_default();
        text.push_str(&line);
        std::fs::write(&list, text).unwrap();
    }
    let list = dir.path().join("list.txt");
    assert_eq!(face::detect(&list).unwrap(), face::FaceFormat::ImageList);
    let (images, _) = face::open_images(&list).unwrap();
    assert_eq!(images.num_identities(), 2);
    let labels: Vec<u32> = (0..4).map(|i| images.label(i)).collect();
    assert_eq!(labels, vec![1, 0, 1, 0], "7 -> 0, 4294967295 -> 1");
    let report = face::check_path(&list).unwrap();
    assert_eq!(
        (report.format.as_str(), report.identities, report.images),
        ("image-list", 2, 4)
    );
}

#[test]
fn a_missing_path_and_a_bin_used_for_training_are_named() {
    let e = face::detect(Path::new("/no/such/faces"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("/no/such/faces: no such data set"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("lfw.bin");
    std::fs::write(&bin, b"x").unwrap();
    let e = face::open_images(&bin).err().unwrap().to_string();
    assert!(e.contains("holds pairs, not labelled identities"), "{e}");
}

#[test]
fn synthetic_voices_hold_out_extra_voices_with_their_first_utterances() {
    let cfg = SyntheticVoicesConfig {
        num_speakers: 5,
        utterances_per_speaker: 4,
        ..SyntheticVoicesConfig::default()
    };
    let c = corpus::open("synthetic", cfg, heldout(2, 3)).unwrap();
    assert_eq!((c.train.num_speakers(), c.train.len()), (3, 12));
    assert_eq!(c.heldout.counts(), vec![3, 3]);
    assert_eq!(c.heldout.describe(0), "synthetic voice 3 utterance 0");
    let e = corpus::open("synthetic", cfg, heldout(4, 3))
        .unwrap_err()
        .to_string();
    assert!(e.contains("fewer than 2 to train on"), "{e}");
    let e = corpus::open(
        "/no/such/voices",
        SyntheticVoicesConfig::default(),
        heldout(2, 3),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("/no/such/voices") && e.contains("expected a VoxCeleb folder"),
        "{e}"
    );
}

#[test]
fn speaker_lists_split_by_seed_and_cap_by_spread() {
    use datasets::speech::lists::{UtteranceEntry, UtteranceList};
    let entries: Vec<UtteranceEntry> = (0..30)
        .map(|i| UtteranceEntry {
            key: format!("u{i}"),
            speaker: format!("spk{}", i % 6),
            path: format!("u{i}.wav").into(),
        })
        .collect();
    let list = UtteranceList::new(entries);
    let (train, test) = list.split_speakers(2, 9).unwrap();
    assert_eq!((train.speakers.len(), test.speakers.len()), (4, 2));
    assert!(test.speakers.iter().all(|s| !train.speakers.contains(s)));
    let capped = test.cap_per_speaker(2);
    assert_eq!(capped.len(), 4);
    // Each speaker has 5 utterances (u_s, u_{s+6}, ...); two spread picks are the 1st and 3rd.
    let s = &test.speakers[0];
    let keys: Vec<&str> = capped
        .entries
        .iter()
        .filter(|e| &e.speaker == s)
        .map(|e| e.key.as_str())
        .collect();
    let n: usize = s.trim_start_matches("spk").parse().unwrap();
    assert_eq!(keys, vec![format!("u{n}"), format!("u{}", n + 12)]);
    assert!(
        list.split_speakers(5, 9).is_err(),
        "two speakers must remain"
    );
}
