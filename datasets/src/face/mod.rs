//! Face data: RecordIO, image folders, insightface `.bin`, the image pipeline, synthetic and ORL faces.
//!
//! Every face data set implements [`FaceImages`] (labelled RGB images); wrapping it in a
//! [`FaceSource`] with a [`FacePipeline`] makes it a [`Source`](crate::loader::Source) of
//! `(3, 112, 112)` samples normalised as `(x - 127.5) / 127.5`, ready for the
//! [`Loader`](crate::loader::Loader).
//!
//! ```
//! use datasets::face::{FacePipeline, FaceSource, SyntheticConfig, SyntheticFaces};
//! use datasets::loader::{Loader, LoaderConfig, Source};
//!
//! // Any FaceImages works the same: RecordDataset::open("faces_emore"), ImageFolder::open(..),
//! // OrlFaces::open(root, OrlSplit::Train), ...
//! let faces = SyntheticFaces::new(SyntheticConfig { identities: 4, images_per_identity: 4, ..Default::default() })?;
//! let source = FaceSource::new(faces, FacePipeline::train());
//! assert_eq!(source.num_classes(), 4);
//! let loader = Loader::new(source, LoaderConfig { batch_size: 8, seed: 1, ..LoaderConfig::default() })?;
//! for batch in loader.epoch(0) {
//!     let batch = batch?;
//!     assert_eq!(batch.inputs.dims(), &[8, 3, 112, 112]); // (x - 127.5) / 127.5, CHW
//!     assert_eq!(batch.labels.dims(), &[8]); // u32 identities
//! }
//! # Ok::<(), datasets::DataError>(())
//! ```

pub mod align;
pub mod check;
pub mod detect;
pub mod folder;
pub mod images;
pub mod jpeg;
pub mod open;
pub mod orl;
pub mod pack;
pub mod pipeline;
pub mod recordio;
pub mod subset;
pub mod synthetic;
pub mod valbin;

pub use align::{align_face, similarity_transform, Landmarks, ARCFACE_TEMPLATE};
pub use check::{check_path, DataReport};
pub use detect::{detect, open_images, FaceFormat};
pub use folder::ImageFolder;
pub use images::{FaceImages, FaceSource};
pub use open::{open, FaceData};
pub use orl::{orl_root, OrlFaces, OrlSplit};
pub use pack::{pack_folder, PackReport};
pub use pipeline::{decode_rgb, decode_rgb_lenient, image_to_chw, FacePipeline};
pub use recordio::{RecordDataset, RecordLayout, RecordWriter};
pub use subset::IdentitySubset;
pub use synthetic::{SyntheticConfig, SyntheticFaces};
pub use valbin::ValidationBin;
