//! The procedural synthetic faces: determinism, layout, variation, and the folder round trip.

use datasets::face::{
    FaceImages, FacePipeline, FaceSource, ImageFolder, SyntheticConfig, SyntheticFaces,
};
use datasets::loader::{Loader, LoaderConfig};
use image::RgbImage;

fn faces(identities: usize, images: usize, seed: u64) -> SyntheticFaces {
    SyntheticFaces::new(SyntheticConfig {
        identities,
        images_per_identity: images,
        size: 112,
        seed,
    })
    .unwrap()
}

fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (x as f64 - y as f64).abs())
        .sum::<f64>()
        / a.as_raw().len() as f64
}

#[test]
fn rendering_is_deterministic_and_seeded() {
    let a = faces(3, 4, 7);
    let b = faces(3, 4, 7);
    let c = faces(3, 4, 8);
    for i in 0..12 {
        assert_eq!(a.render(i), b.render(i));
    }
    assert!(mean_abs_diff(&a.render(0), &c.render(0)) > 1.0);
}

#[test]
fn labels_follow_the_identity_blocks() {
    let set = faces(5, 3, 0);
    assert_eq!((set.len(), set.num_identities()), (15, 5));
    assert_eq!(
        (0..15).map(|i| set.label(i)).collect::<Vec<_>>(),
        [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    );
    assert_eq!(set.describe(4), "synthetic:id1/img1");
    assert!(SyntheticFaces::new(SyntheticConfig {
        identities: 0,
        ..SyntheticConfig::default()
    })
    .is_err());
}

#[test]
fn images_of_one_identity_vary_and_are_not_blank() {
    let set = faces(4, 6, 1);
    for i in 0..24 {
        let img = set.render(i);
        assert_eq!(img.dimensions(), (112, 112));
        let mean = img.as_raw().iter().map(|&v| v as f64).sum::<f64>() / img.as_raw().len() as f64;
        let var = img
            .as_raw()
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / img.as_raw().len() as f64;
        assert!(
            var.sqrt() > 10.0,
            "image {i} is nearly flat (std {})",
            var.sqrt()
        );
    }
    for id in 0..4 {
        for k in 1..6 {
            assert!(
                mean_abs_diff(&set.render(id * 6), &set.render(id * 6 + k)) > 3.0,
                "id {id} image {k} repeats image 0"
            );
        }
    }
}

#[test]
fn other_sizes_render_at_that_size() {
    let set = SyntheticFaces::new(SyntheticConfig {
        identities: 1,
        images_per_identity: 1,
        size: 64,
        seed: 0,
    })
    .unwrap();
    assert_eq!(set.render(0).dimensions(), (64, 64));
}

#[test]
fn written_folders_read_back_identically() {
    let set = faces(3, 2, 5);
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(set.write_folder(dir.path()).unwrap(), 6);
    let folder = ImageFolder::open(dir.path()).unwrap();
    assert_eq!(folder.identities(), ["id_00000", "id_00001", "id_00002"]);
    for i in 0..6 {
        assert_eq!(folder.label(i), set.label(i));
        assert_eq!(folder.image(i).unwrap(), set.render(i));
    }
}

#[test]
fn synthetic_faces_feed_the_loader() {
    let source = FaceSource::new(faces(4, 4, 0), FacePipeline::train());
    let loader = Loader::new(
        source,
        LoaderConfig {
            batch_size: 8,
            seed: 1,
            ..LoaderConfig::default()
        },
    )
    .unwrap();
    let batch = loader.epoch(0).next().unwrap().unwrap();
    assert_eq!(batch.inputs.dims(), &[8, 3, 112, 112]);
    let max = batch
        .inputs
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(max <= 1.0);
}
