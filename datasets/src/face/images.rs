//! The [`FaceImages`] trait for labelled face images and the [`FaceSource`] adapter to the loader.

use image::RgbImage;

use crate::error::Result;
use crate::face::{align_face, FacePipeline, Landmarks};
use crate::loader::{ItemRng, Source, TensorSample};

/// A labelled collection of face images (a RecordIO file, an image folder, synthetic faces, ...).
pub trait FaceImages: Send + Sync + 'static {
    /// Number of images.
    fn len(&self) -> usize;

    /// Whether there are no images.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Identity of image `index`, in `0..num_identities()`.
    fn label(&self, index: usize) -> u32;

    /// Number of identities.
    fn num_identities(&self) -> usize;

    /// A name for image `index` (path or `file.rec#key`) for error messages and reports.
    fn describe(&self, index: usize) -> String;

    /// The name of identity `label` (a folder name, a label as a list or record wrote it), for
    /// the class map a training run saves; the label itself by default.
    fn identity_name(&self, label: u32) -> String {
        label.to_string()
    }

    /// Reads and decodes image `index` to RGB.
    fn image(&self, index: usize) -> Result<RgbImage>;

    /// The encoded bytes of image `index` (JPEG, PNG, ...) when it is stored encoded, so that
    /// [`FaceSource`] can decode it straight to the tensor; `None` (the default) when images
    /// only exist decoded, e.g. generated ones. Must decode to what [`image`](Self::image) returns.
    fn encoded(&self, _index: usize) -> Option<Result<Vec<u8>>> {
        None
    }

    /// Five landmarks (eyes, nose, mouth corners) of image `index` if known; the source then
    /// aligns the face to the ArcFace template before the pipeline.
    fn landmarks(&self, _index: usize) -> Option<Landmarks> {
        None
    }
}

/// A [`Source`] of `(3, size, size)` face samples: [`FaceImages`] followed by a [`FacePipeline`].
pub struct FaceSource<F: FaceImages> {
    images: F,
    pipeline: FacePipeline,
}

impl<F: FaceImages> FaceSource<F> {
    /// Wraps `images` with `pipeline`.
    pub fn new(images: F, pipeline: FacePipeline) -> Self {
        Self { images, pipeline }
    }

    /// The underlying images.
    pub fn images(&self) -> &F {
        &self.images
    }

    /// The pipeline applied to every image.
    pub fn pipeline(&self) -> &FacePipeline {
        &self.pipeline
    }
}

impl<F: FaceImages> Source for FaceSource<F> {
    type Sample = TensorSample;

    fn len(&self) -> usize {
        self.images.len()
    }

    fn label(&self, index: usize) -> u32 {
        self.images.label(index)
    }

    fn num_classes(&self) -> usize {
        self.images.num_identities()
    }

    fn describe(&self, index: usize) -> String {
        self.images.describe(index)
    }

    fn load(&self, index: usize, rng: &mut ItemRng) -> Result<TensorSample> {
        let landmarks = self.images.landmarks(index);
        if landmarks.is_none() {
            if let Some(bytes) = self.images.encoded(index) {
                let item = self.images.describe(index);
                return self.pipeline.apply_encoded(&bytes?, &item, rng);
            }
        }
        let mut image = self.images.image(index)?;
        if let Some(points) = landmarks {
            image = align_face(&image, &points, self.pipeline.size);
        }
        Ok(self.pipeline.apply(image, rng))
    }
}
