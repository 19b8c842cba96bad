//! Marker segments up to the first scan (ITU T.81 B.2): tables, frame and scan headers.

use super::huffman::HuffmanTable;
use super::{JpegError, Sampling};

/// One frame component (SOF).
#[derive(Debug, Clone)]
pub(crate) struct Component {
    pub id: u8,
    pub h: usize,
    pub v: usize,
    pub quant: usize,
}

/// The frame header of a baseline (SOF0) or extended Huffman 8-bit (SOF1) image.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub width: usize,
    pub height: usize,
    pub sampling: Sampling,
    pub components: Vec<Component>,
}

/// A scan component and its Huffman table selectors.
#[derive(Debug, Clone)]
pub(crate) struct ScanComponent {
    pub component: u8,
    pub dc: usize,
    pub ac: usize,
}

/// Everything the scan decoder needs.
pub(crate) struct Headers {
    pub frame: Frame,
    /// Quantization tables in zigzag order.
    pub quant: [Option<[i32; 64]>; 4],
    pub dc: [Option<HuffmanTable>; 4],
    pub ac: [Option<HuffmanTable>; 4],
    pub scan: Vec<ScanComponent>,
    /// MCUs per restart interval (0: none).
    pub restart_interval: usize,
    /// Offset of the first entropy-coded byte.
    pub scan_start: usize,
}

const CORRUPT_SEGMENT: JpegError = JpegError::Corrupt("marker segment runs past the end");

fn be16(bytes: &[u8], at: usize) -> Result<usize, JpegError> {
    bytes
        .get(at..at + 2)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        .ok_or(CORRUPT_SEGMENT)
}

/// Reads the markers from SOI to the first SOS.
pub(crate) fn read_headers(bytes: &[u8]) -> Result<Headers, JpegError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(JpegError::Corrupt("no SOI marker"));
    }
    let mut pos = 2;
    let mut quant: [Option<[i32; 64]>; 4] = [None; 4];
    let mut dc: [Option<HuffmanTable>; 4] = Default::default();
    let mut ac: [Option<HuffmanTable>; 4] = Default::default();
    let mut frame = None;
    let mut restart_interval = 0;
    let mut jfif = false;
    let mut adobe_transform = None;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let marker = match bytes.get(pos..pos + 2) {
            Some([0xFF, m]) => *m,
            _ => return Err(JpegError::Corrupt("expected a marker")),
        };
        pos += 2;
        if marker == 0xD8 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            continue;
        }
        if marker == 0xD9 {
            return Err(JpegError::Corrupt("EOI before any scan"));
        }
        let len = be16(bytes, pos)?;
        if len < 2 {
            return Err(JpegError::Corrupt(
                "marker segment shorter than its length field",
            ));
        }
        let seg = bytes.get(pos + 2..pos + len).ok_or(CORRUPT_SEGMENT)?;
        match marker {
            0xC0 | 0xC1 => frame = Some(read_frame(seg)?),
            0xC2 | 0xC6 | 0xCA | 0xCE => return Err(JpegError::Unsupported("progressive coding")),
            0xC3 | 0xC7 | 0xCB | 0xCF => return Err(JpegError::Unsupported("lossless coding")),
            0xC5 => return Err(JpegError::Unsupported("hierarchical coding")),
            0xC9 | 0xCD => return Err(JpegError::Unsupported("arithmetic coding")),
            0xC4 => read_huffman(seg, &mut dc, &mut ac)?,
            0xDB => read_quant(seg, &mut quant)?,
            0xDD => restart_interval = be16(seg, 0)?,
            0xE0 => jfif |= seg.starts_with(b"JFIF\0"),
            0xEE if seg.starts_with(b"Adobe") && seg.len() >= 12 => {
                adobe_transform = Some(seg[11]);
            }
            0xDA => {
                let frame = frame.ok_or(JpegError::Corrupt("scan before the frame header"))?;
                if frame.components.len() == 3 && !jfif {
                    let ids: Vec<u8> = frame.components.iter().map(|c| c.id).collect();
                    if adobe_transform == Some(0) || (adobe_transform.is_none() && ids == b"RGB") {
                        return Err(JpegError::Unsupported("RGB-coded (not YCbCr) colour"));
                    }
                }
                let scan = read_scan(seg, &frame)?;
                return Ok(Headers {
                    frame,
                    quant,
                    dc,
                    ac,
                    scan,
                    restart_interval,
                    scan_start: pos + len,
                });
            }
            _ => {}
        }
        pos += len;
    }
}

fn read_frame(seg: &[u8]) -> Result<Frame, JpegError> {
    let precision = *seg.first().ok_or(CORRUPT_SEGMENT)?;
    if precision != 8 {
        return Err(JpegError::Unsupported("sample precision other than 8 bits"));
    }
    let height = be16(seg, 1)?;
    let width = be16(seg, 3)?;
    if height == 0 {
        return Err(JpegError::Unsupported("height given by a DNL marker"));
    }
    if width == 0 {
        return Err(JpegError::Corrupt("zero image width"));
    }
    let n = usize::from(*seg.get(5).ok_or(CORRUPT_SEGMENT)?);
    if seg.len() < 6 + 3 * n {
        return Err(CORRUPT_SEGMENT);
    }
    let mut components: Vec<Component> = (0..n)
        .map(|i| {
            let c = &seg[6 + 3 * i..9 + 3 * i];
            Component {
                id: c[0],
                h: usize::from(c[1] >> 4),
                v: usize::from(c[1] & 15),
                quant: usize::from(c[2]),
            }
        })
        .collect();
    if components
        .iter()
        .any(|c| c.quant > 3 || c.h == 0 || c.v == 0)
    {
        return Err(JpegError::Corrupt("bad component in the frame header"));
    }
    let factors: Vec<(usize, usize)> = components.iter().map(|c| (c.h, c.v)).collect();
    let sampling = match factors.as_slice() {
        [_] => {
            // A lone component is never interleaved: its factors do not matter.
            components[0].h = 1;
            components[0].v = 1;
            Sampling::Gray
        }
        [(1, 1), (1, 1), (1, 1)] => Sampling::Yuv444,
        [(2, 2), (1, 1), (1, 1)] => Sampling::Yuv420,
        [_, _, _] => {
            return Err(JpegError::Unsupported(
                "chroma subsampling other than 4:2:0",
            ))
        }
        _ => return Err(JpegError::Unsupported("component count other than 1 or 3")),
    };
    if sampling == Sampling::Yuv420 && width < 3 {
        return Err(JpegError::Unsupported("4:2:0 image narrower than 3 pixels"));
    }
    Ok(Frame {
        width,
        height,
        sampling,
        components,
    })
}

fn read_huffman(
    mut seg: &[u8],
    dc: &mut [Option<HuffmanTable>; 4],
    ac: &mut [Option<HuffmanTable>; 4],
) -> Result<(), JpegError> {
    while !seg.is_empty() {
        let class_id = seg[0];
        let counts: [u8; 16] = seg
            .get(1..17)
            .and_then(|c| c.try_into().ok())
            .ok_or(CORRUPT_SEGMENT)?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let symbols = seg.get(17..17 + total).ok_or(CORRUPT_SEGMENT)?;
        let (class, id) = (class_id >> 4, usize::from(class_id & 15));
        if class > 1 || id > 3 {
            return Err(JpegError::Corrupt("bad Huffman table class or id"));
        }
        let table = HuffmanTable::new(&counts, symbols, class == 1).map_err(JpegError::Corrupt)?;
        if class == 0 {
            dc[id] = Some(table);
        } else {
            ac[id] = Some(table);
        }
        seg = &seg[17 + total..];
    }
    Ok(())
}

fn read_quant(mut seg: &[u8], quant: &mut [Option<[i32; 64]>; 4]) -> Result<(), JpegError> {
    while !seg.is_empty() {
        let (precision, id) = (seg[0] >> 4, usize::from(seg[0] & 15));
        if id > 3 || precision > 1 {
            return Err(JpegError::Corrupt("bad quantization table precision or id"));
        }
        let size = if precision == 0 { 64 } else { 128 };
        let values = seg.get(1..1 + size).ok_or(CORRUPT_SEGMENT)?;
        let table: [i32; 64] = std::array::from_fn(|k| {
            if precision == 0 {
                i32::from(values[k])
            } else {
                i32::from(u16::from_be_bytes([values[2 * k], values[2 * k + 1]]))
            }
        });
        quant[id] = Some(table);
        seg = &seg[1 + size..];
    }
    Ok(())
}

fn read_scan(seg: &[u8], frame: &Frame) -> Result<Vec<ScanComponent>, JpegError> {
    let n = usize::from(*seg.first().ok_or(CORRUPT_SEGMENT)?);
    if seg.len() < 1 + 2 * n + 3 {
        return Err(CORRUPT_SEGMENT);
    }
    let scan: Vec<ScanComponent> = (0..n)
        .map(|i| ScanComponent {
            component: seg[1 + 2 * i],
            dc: usize::from(seg[2 + 2 * i] >> 4),
            ac: usize::from(seg[2 + 2 * i] & 15),
        })
        .collect();
    if scan.iter().any(|s| s.dc > 3 || s.ac > 3) {
        return Err(JpegError::Corrupt(
            "bad Huffman table selector in the scan header",
        ));
    }
    let (ss, se, a) = (seg[1 + 2 * n], seg[2 + 2 * n], seg[3 + 2 * n]);
    if ss != 0 || se != 63 || a != 0 {
        return Err(JpegError::Corrupt(
            "sequential scan with spectral selection",
        ));
    }
    if n != frame.components.len() {
        return Err(JpegError::Unsupported("components in separate scans"));
    }
    Ok(scan)
}
