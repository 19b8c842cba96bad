//! MXNet RecordIO as insightface ships it (`train.rec` + `train.idx` + `property`), read and written.
//!
//! Framing (dmlc-core `recordio.h`): every record part is the little-endian u32 magic
//! `0xCED7230A`, a u32 `cflag << 29 | length`, `length` bytes and zero padding to 4 bytes. A
//! payload that contains the magic at a 4-aligned offset is split there into parts with cflag
//! 1 (start), 2 (middle), 3 (end) and the reader re-inserts the magic between them. Image
//! records start with an `IRHeader` (`<IfQQ`: flag u32, label f32, id u64, id2 u64) followed by
//! `flag` f32 labels when `flag > 0`, then the encoded image.

mod dataset;
mod framing;
mod header;
mod index;
mod property;
pub(crate) mod writer;

pub use dataset::{resolve_prefix, RecordDataset, RecordLayout};
pub use framing::{RecordFile, MAGIC};
pub use header::IrHeader;
pub use index::{read_index, write_index};
pub use property::{property_path, Property};
pub use writer::RecordWriter;
