//! The ORL faces (Olivetti Research Laboratory, AT&T Laboratories Cambridge), when present at
//! `../shared/data/orl` or `$ALPHA_VERIFY_ORL`; each test says so and passes when it is absent.

use datasets::face::{orl_root, FaceImages, FacePipeline, FaceSource, OrlFaces, OrlSplit};
use datasets::loader::{Loader, LoaderConfig};

fn root_or_skip(test: &str) -> Option<std::path::PathBuf> {
    let root = orl_root();
    if root.is_none() {
        eprintln!("{test}: skipped, ORL faces not found (set ALPHA_VERIFY_ORL or put them at ../shared/data/orl)");
    }
    root
}

#[test]
fn splits_are_by_person_with_ten_images_each() {
    let Some(root) = root_or_skip("splits_are_by_person_with_ten_images_each") else {
        return;
    };
    let train = OrlFaces::open(&root, OrlSplit::Train).unwrap();
    let test = OrlFaces::open(&root, OrlSplit::Test).unwrap();
    assert_eq!((train.len(), train.num_identities()), (300, 30));
    assert_eq!((test.len(), test.num_identities()), (100, 10));
    assert!(train.describe(0).ends_with("s1/1.pgm"));
    assert!(test.describe(0).ends_with("s31/1.pgm"));
    assert!(train.describe(299).ends_with("s30/10.pgm"));
    assert_eq!((train.label(9), train.label(10), test.label(99)), (0, 1, 9));
}

#[test]
fn images_are_padded_to_112_with_the_original_pixels_in_the_middle() {
    let Some(root) =
        root_or_skip("images_are_padded_to_112_with_the_original_pixels_in_the_middle")
    else {
        return;
    };
    let faces = OrlFaces::open(&root, OrlSplit::All).unwrap();
    let padded = faces.image(0).unwrap();
    assert_eq!(padded.dimensions(), (112, 112));
    let original = image::open(root.join("s1/1.pgm")).unwrap().into_luma8();
    assert_eq!(original.dimensions(), (92, 112));
    for (x, y) in [(0u32, 0u32), (45, 60), (91, 111)] {
        let v = original.get_pixel(x, y).0[0];
        assert_eq!(padded.get_pixel(x + 10, y).0, [v, v, v]);
    }
    assert_eq!(padded.get_pixel(3, 50).0, [0, 0, 0]);
    assert_eq!(padded.get_pixel(108, 50).0, [0, 0, 0]);
}

#[test]
fn the_test_split_loads_through_the_loader() {
    let Some(root) = root_or_skip("the_test_split_loads_through_the_loader") else {
        return;
    };
    let source = FaceSource::new(
        OrlFaces::open(&root, OrlSplit::Test).unwrap(),
        FacePipeline::eval(),
    );
    let loader = Loader::new(
        source,
        LoaderConfig {
            batch_size: 32,
            ..LoaderConfig::default()
        },
    )
    .unwrap();
    let batches: Vec<_> = loader.epoch(0).map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 3);
    assert_eq!(batches[0].inputs.dims(), &[32, 3, 112, 112]);
    assert_eq!(loader.skipped().count, 0);
}
