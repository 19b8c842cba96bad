//! A baseline JPEG decoder for the face pipeline's hot path, bit-exact with libjpeg-turbo.
//!
//! Face datasets (insightface's RecordIO packs, WebFace folders) are baseline, Huffman-coded,
//! 8-bit JPEGs in 4:2:0, 4:4:4 or grayscale. For those, [`decode`] reproduces libjpeg-turbo's
//! default output (islow IDCT, "fancy" triangle upsampling, jdcolor.c's YCbCr conversion; tested
//! pixel for pixel against PIL's decode), the library behind PIL, OpenCV and torchvision's
//! decoders, and [`Planes::write_chw`] converts straight to the normalised CHW tensor, mirrored if
//! asked, without an interleaved RGB image in between. Anything else (progressive or
//! arithmetic coding, 12-bit, CMYK, other subsampling, several scans) is
//! [`JpegError::Unsupported`], and callers fall back to zune-jpeg.

mod color;
mod huffman;
mod idct;
mod parse;

pub use color::normalise_value;

use huffman::{BitReader, HuffmanTable};
use parse::{Frame, Headers};

/// Why [`decode`] did not produce planes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JpegError {
    /// A valid JPEG feature this decoder leaves to the general one (named).
    Unsupported(&'static str),
    /// The data is not a decodable JPEG (what is wrong).
    Corrupt(&'static str),
}

impl std::fmt::Display for JpegError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unsupported(what) => write!(f, "unsupported JPEG feature: {what}"),
            Self::Corrupt(what) => write!(f, "corrupt JPEG: {what}"),
        }
    }
}

impl std::error::Error for JpegError {}

/// Chroma layout of a decoded image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// One luma plane.
    Gray,
    /// Full-resolution chroma.
    Yuv444,
    /// Chroma at half width and half height.
    Yuv420,
}

/// The decoded component planes of an image, before upsampling and colour conversion.
#[derive(Debug, Clone)]
pub struct Planes {
    width: usize,
    height: usize,
    sampling: Sampling,
    /// Luma, then Cb and Cr (absent for grayscale); each `stride` wide, whole blocks high.
    planes: Vec<Vec<u8>>,
    strides: Vec<usize>,
}

impl Planes {
    /// Image width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Image height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Chroma layout.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }

    /// Interleaved 8-bit RGB (`width * height * 3`), as libjpeg-turbo decodes to `JCS_RGB`.
    pub fn to_rgb(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.width * self.height * 3];
        color::convert_rows(self, |y, r, g, b| {
            let row = &mut out[y * self.width * 3..(y + 1) * self.width * 3];
            for (x, px) in row.chunks_exact_mut(3).enumerate() {
                px[0] = r[x];
                px[1] = g[x];
                px[2] = b[x];
            }
        });
        out
    }

    /// Appends the image as CHW f32 `(v - 127.5) / 127.5` (grayscale repeated in all three
    /// channels) to `out`, mirrored left-right if `flip`.
    pub fn write_chw(&self, flip: bool, out: &mut Vec<f32>) {
        let plane = self.width * self.height;
        let start = out.len();
        out.resize(start + 3 * plane, 0.0);
        let (r_plane, rest) = out[start..].split_at_mut(plane);
        let (g_plane, b_plane) = rest.split_at_mut(plane);
        let w = self.width;
        color::convert_rows(self, |y, r, g, b| {
            let rows = [
                &mut r_plane[y * w..(y + 1) * w],
                &mut g_plane[y * w..(y + 1) * w],
                &mut b_plane[y * w..(y + 1) * w],
            ];
            for (dst, src) in rows.into_iter().zip([r, g, b]) {
                color::normalise_row(src, dst, flip);
            }
        });
    }
}

/// Decodes a baseline JPEG to its component planes (see the module docs for what is supported).
pub fn decode(bytes: &[u8]) -> Result<Planes, JpegError> {
    let headers = parse::read_headers(bytes)?;
    decode_scan(bytes, &headers)
}

/// Which component plane, quantization table and Huffman tables a block uses.
struct ComponentPlan<'t> {
    plane: usize,
    h: usize,
    v: usize,
    quant: &'t [i32; 64],
    dc: &'t HuffmanTable,
    ac: &'t HuffmanTable,
}

fn decode_scan(bytes: &[u8], headers: &Headers) -> Result<Planes, JpegError> {
    let frame: &Frame = &headers.frame;
    let sampling = frame.sampling;
    let (hmax, vmax) = match sampling {
        Sampling::Yuv420 => (2, 2),
        _ => (1, 1),
    };
    let mcu_w = 8 * hmax;
    let mcu_h = 8 * vmax;
    let mcus_x = frame.width.div_ceil(mcu_w);
    let mcus_y = frame.height.div_ceil(mcu_h);
    let mut plans = Vec::with_capacity(frame.components.len());
    // Blocks come in the scan's component order.
    for s in &headers.scan {
        let (i, c) = frame
            .components
            .iter()
            .enumerate()
            .find(|(_, c)| c.id == s.component)
            .ok_or(JpegError::Corrupt("scan names a component the frame lacks"))?;
        plans.push(ComponentPlan {
            plane: i,
            h: c.h,
            v: c.v,
            quant: headers.quant[c.quant].as_ref().ok_or(JpegError::Corrupt(
                "component uses an undefined quantization table",
            ))?,
            dc: headers.dc[s.dc].as_ref().ok_or(JpegError::Corrupt(
                "scan uses an undefined DC Huffman table",
            ))?,
            ac: headers.ac[s.ac].as_ref().ok_or(JpegError::Corrupt(
                "scan uses an undefined AC Huffman table",
            ))?,
        });
    }
    // Every block costs at least two bits (a DC code and an end-of-block code): a header
    // promising more blocks than the data can hold is corrupt (and would allocate for nothing).
    let blocks_per_unit: usize = plans.iter().map(|p| p.h * p.v).sum();
    let units = if plans.len() == 1 {
        frame.width.div_ceil(8) * frame.height.div_ceil(8)
    } else {
        mcus_x * mcus_y
    };
    if units.saturating_mul(blocks_per_unit) > 4 * (bytes.len() - headers.scan_start) {
        return Err(JpegError::Corrupt(
            "image dimensions exceed what the data can hold",
        ));
    }
    let strides: Vec<usize> = frame.components.iter().map(|c| mcus_x * 8 * c.h).collect();
    let mut planes: Vec<Vec<u8>> = frame
        .components
        .iter()
        .zip(&strides)
        .map(|(c, stride)| vec![0u8; stride * mcus_y * 8 * c.v])
        .collect();
    let idct = idct_fn();
    let mut reader = BitReader::new(&bytes[headers.scan_start..]);
    let mut preds = vec![0i32; plans.len()];
    let mut block = [0i32; 64];
    let restart = headers.restart_interval;
    let single = plans.len() == 1;
    // A lone component is coded in its own block grid (T.81 A.2.2), not in MCUs.
    let (grid_x, grid_y) = if single {
        (frame.width.div_ceil(8), frame.height.div_ceil(8))
    } else {
        (mcus_x, mcus_y)
    };
    let mut unit = 0usize;
    for my in 0..grid_y {
        for mx in 0..grid_x {
            if restart > 0 && unit > 0 && unit.is_multiple_of(restart) {
                reader.restart().map_err(JpegError::Corrupt)?;
                preds.iter_mut().for_each(|p| *p = 0);
            }
            unit += 1;
            for (plan, pred) in plans.iter().zip(preds.iter_mut()) {
                let (bh, bv) = if single { (1, 1) } else { (plan.h, plan.v) };
                let stride = strides[plan.plane];
                for by in 0..bv {
                    for bx in 0..bh {
                        let any_ac = reader
                            .block(&mut block, plan.dc, plan.ac, plan.quant, pred)
                            .map_err(JpegError::Corrupt)?;
                        let x = (mx * bh + bx) * 8;
                        let y = (my * bv + by) * 8;
                        let out = &mut planes[plan.plane][y * stride + x..];
                        if any_ac {
                            idct(&block, out, stride);
                            block = [0; 64];
                        } else {
                            idct::idct_dc_only(block[0], out, stride);
                        }
                    }
                }
            }
        }
    }
    if reader.overran() {
        return Err(JpegError::Corrupt("entropy-coded data ends early"));
    }
    Ok(Planes {
        width: frame.width,
        height: frame.height,
        sampling,
        planes,
        strides,
    })
}

type IdctFn = fn(&[i32; 64], &mut [u8], usize);

fn idct_fn() -> IdctFn {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            return |block, out, stride| {
                // SAFETY: AVX2 was detected; `out` spans 8 rows (the planes cover whole MCUs).
                unsafe { idct::avx2::idct(block, out, stride) }
            };
        }
    }
    idct::idct_scalar
}

#[cfg(test)]
mod tests;
