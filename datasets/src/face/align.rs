//! Five-point similarity alignment to the ArcFace 112 x 112 template (insightface `face_align.norm_crop`).

use image::{Rgb, RgbImage};

/// Five facial landmarks `(x, y)` in pixels: left eye, right eye, nose tip, left and right mouth corner.
pub type Landmarks = [[f32; 2]; 5];

/// Where [`align_face`] puts the five landmarks in a 112 x 112 crop (insightface `arcface_dst`).
pub const ARCFACE_TEMPLATE: Landmarks = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// The 2 x 3 similarity transform (rotation, uniform scale, translation; no reflection) that maps
/// `src` onto `dst` with least squared error, as `[[a, -b, tx], [b, a, ty]]`.
///
/// This is Umeyama's estimate restricted to proper rotations, the transform scikit-image's
/// `SimilarityTransform.estimate` returns for non-degenerate face landmarks. Degenerate input
/// (all `src` points equal) gives the translation between the centroids.
pub fn similarity_transform(src: &Landmarks, dst: &Landmarks) -> [[f32; 3]; 2] {
    let n = src.len() as f64;
    let mean = |pts: &Landmarks, k: usize| pts.iter().map(|p| p[k] as f64).sum::<f64>() / n;
    let (sx, sy, dx, dy) = (mean(src, 0), mean(src, 1), mean(dst, 0), mean(dst, 1));
    let (mut num_a, mut num_b, mut den) = (0f64, 0f64, 0f64);
    for (s, d) in src.iter().zip(dst) {
        let (px, py) = (s[0] as f64 - sx, s[1] as f64 - sy);
        let (qx, qy) = (d[0] as f64 - dx, d[1] as f64 - dy);
        num_a += px * qx + py * qy;
        num_b += px * qy - py * qx;
        den += px * px + py * py;
    }
    let (a, b) = if den > 0.0 {
        (num_a / den, num_b / den)
    } else {
        (1.0, 0.0)
    };
    let tx = dx - (a * sx - b * sy);
    let ty = dy - (b * sx + a * sy);
    [
        [a as f32, -b as f32, tx as f32],
        [b as f32, a as f32, ty as f32],
    ]
}

/// Warps `image` with the affine map `m` (source to output pixel coordinates) into a
/// `size x size` image, bilinear, with black outside the source (OpenCV `warpAffine`, border 0).
pub fn warp_affine(image: &RgbImage, m: &[[f32; 3]; 2], size: u32) -> RgbImage {
    let [[a, b, c], [d, e, f]] = m.map(|row| row.map(f64::from));
    let det = a * e - b * d;
    let mut out = RgbImage::new(size, size);
    if det.abs() < 1e-12 {
        return out;
    }
    // Inverse map: output (u, v) -> source (x, y).
    let (ia, ib, id, ie) = (e / det, -b / det, -d / det, a / det);
    let (w, h) = (image.width() as i64, image.height() as i64);
    let pixel = |x: i64, y: i64| -> [f64; 3] {
        if x < 0 || y < 0 || x >= w || y >= h {
            [0.0; 3]
        } else {
            image.get_pixel(x as u32, y as u32).0.map(f64::from)
        }
    };
    for (u, v, px) in out.enumerate_pixels_mut() {
        let (du, dv) = (u as f64 - c, v as f64 - f);
        let x = ia * du + ib * dv;
        let y = id * du + ie * dv;
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let (p00, p10, p01, p11) = (
            pixel(x0, y0),
            pixel(x0 + 1, y0),
            pixel(x0, y0 + 1),
            pixel(x0 + 1, y0 + 1),
        );
        let mix = |k: usize| {
            let top = p00[k] * (1.0 - fx) + p10[k] * fx;
            let bottom = p01[k] * (1.0 - fx) + p11[k] * fx;
            (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
        };
        *px = Rgb([mix(0), mix(1), mix(2)]);
    }
    out
}

/// Aligns a face given its five `landmarks` to the ArcFace template scaled to `size x size`.
pub fn align_face(image: &RgbImage, landmarks: &Landmarks, size: u32) -> RgbImage {
    let scale = size as f32 / 112.0;
    let template = ARCFACE_TEMPLATE.map(|[x, y]| [x * scale, y * scale]);
    warp_affine(image, &similarity_transform(landmarks, &template), size)
}
