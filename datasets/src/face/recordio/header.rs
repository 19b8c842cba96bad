//! The image record header `IRHeader` (`<IfQQ` plus optional f32 labels).

/// Size of the fixed part of the header: `flag` u32, `label` f32, `id` u64, `id2` u64.
pub const IR_HEADER_LEN: usize = 24;

/// The header at the start of an image record (mxnet `recordio.IRHeader`).
#[derive(Debug, Clone, PartialEq)]
pub struct IrHeader {
    /// Number of f32 labels that follow the fixed header (0: the scalar `label` is used).
    pub flag: u32,
    /// The scalar label (0 when `flag > 0`).
    pub label: f32,
    /// The record id (insightface: the image or identity key).
    pub id: u64,
    /// A second id (unused by insightface, 0).
    pub id2: u64,
    /// The `flag` labels that follow the fixed header.
    pub labels: Vec<f32>,
}

impl IrHeader {
    /// A header with a single scalar label.
    pub fn scalar(label: f32, id: u64) -> Self {
        Self {
            flag: 0,
            label,
            id,
            id2: 0,
            labels: Vec::new(),
        }
    }

    /// A header with a label vector (mxnet `pack` sets `flag = len`, `label = 0`).
    pub fn vector(labels: Vec<f32>, id: u64) -> Self {
        Self {
            flag: labels.len() as u32,
            label: 0.0,
            id,
            id2: 0,
            labels,
        }
    }

    /// The class label as insightface reads it: the first vector label, else the scalar.
    pub fn class_label(&self) -> f32 {
        self.labels.first().copied().unwrap_or(self.label)
    }

    /// Bytes the header occupies in a record.
    pub fn encoded_len(&self) -> usize {
        IR_HEADER_LEN + 4 * self.labels.len()
    }

    /// Splits a record payload into its header and the bytes after it.
    pub fn unpack(record: &[u8]) -> Result<(Self, &[u8]), String> {
        if record.len() < IR_HEADER_LEN {
            return Err(format!(
                "record of {} bytes is shorter than the 24-byte IRHeader",
                record.len()
            ));
        }
        let u32_at =
            |o: usize| u32::from_le_bytes([record[o], record[o + 1], record[o + 2], record[o + 3]]);
        let u64_at = |o: usize| u64::from(u32_at(o)) | (u64::from(u32_at(o + 4)) << 32);
        let flag = u32_at(0);
        let extra = 4 * flag as usize;
        if record.len() < IR_HEADER_LEN + extra {
            return Err(format!(
                "IRHeader announces {flag} labels but the record has only {} bytes",
                record.len()
            ));
        }
        let labels = (0..flag as usize)
            .map(|k| f32::from_bits(u32_at(IR_HEADER_LEN + 4 * k)))
            .collect();
        let header = Self {
            flag,
            label: f32::from_bits(u32_at(4)),
            id: u64_at(8),
            id2: u64_at(16),
            labels,
        };
        Ok((header, &record[IR_HEADER_LEN + extra..]))
    }

    /// The header followed by `payload`, as mxnet `recordio.pack` writes it.
    pub fn pack(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len() + payload.len());
        out.extend_from_slice(&(self.labels.len() as u32).to_le_bytes());
        let label = if self.labels.is_empty() {
            self.label
        } else {
            0.0
        };
        out.extend_from_slice(&label.to_le_bytes());
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.id2.to_le_bytes());
        for l in &self.labels {
            out.extend_from_slice(&l.to_le_bytes());
        }
        out.extend_from_slice(payload);
        out
    }
}
