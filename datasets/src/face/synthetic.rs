//! Procedural synthetic faces: `N` identities x `K` images, deterministic from a seed.
//!
//! Identity lives in stable traits (face shape, eye/brow/nose/mouth geometry, skin, hair and
//! eye colours, hair style, beard, glasses); every image varies in nuisances (in-plane rotation,
//! scale, shift, yaw, expression, blink, lighting direction and colour, background, noise,
//! blur). Rendering is a per-pixel evaluation of soft shapes, well under a millisecond per
//! 112 x 112 face.

use std::path::Path;

use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::face::FaceImages;

/// How many synthetic faces to make, and how.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SyntheticConfig {
    /// Number of identities.
    pub identities: usize,
    /// Images per identity.
    pub images_per_identity: usize,
    /// Output side in pixels.
    pub size: u32,
    /// Seed of identities and nuisances.
    pub seed: u64,
}

impl Default for SyntheticConfig {
    /// 100 identities x 20 images, 112 x 112, seed 0.
    fn default() -> Self {
        Self {
            identities: 100,
            images_per_identity: 20,
            size: 112,
            seed: 0,
        }
    }
}

/// Stable per-identity traits, in canonical face coordinates (`[-1, 1]` across the image).
#[derive(Debug, Clone)]
struct Traits {
    skin: [f32; 3],
    hair: [f32; 3],
    iris: [f32; 3],
    lips: [f32; 3],
    face_rx: f32,
    face_ry: f32,
    chin: f32,
    hairline: f32,
    hair_volume: f32,
    bangs: f32,
    long_hair: bool,
    eye_y: f32,
    eye_dx: f32,
    eye_w: f32,
    eye_h: f32,
    brow_gap: f32,
    brow_thick: f32,
    brow_arch: f32,
    nose_len: f32,
    nose_w: f32,
    mouth_y: f32,
    mouth_w: f32,
    lip_thick: f32,
    beard: f32,
    glasses: bool,
}

/// Per-image nuisances.
#[derive(Debug, Clone)]
struct Nuisance {
    angle: f32,
    scale: f32,
    shift: [f32; 2],
    yaw: f32,
    smile: f32,
    mouth_open: f32,
    eye_open: f32,
    light_dir: [f32; 2],
    light_strength: f32,
    gain: f32,
    tint: [f32; 3],
    background: [f32; 3],
    background_slope: f32,
    noise: f32,
    blur: u32,
}

fn rng_for(seed: u64, a: u64, b: u64, tag: &[u8; 8]) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&a.to_le_bytes());
    key[16..24].copy_from_slice(&b.to_le_bytes());
    key[24..].copy_from_slice(tag);
    ChaCha8Rng::from_seed(key)
}

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn jitter(rng: &mut ChaCha8Rng, c: [f32; 3], amount: f32) -> [f32; 3] {
    c.map(|v| (v + rng.random_range(-amount..amount)).clamp(0.0, 1.0))
}

impl Traits {
    fn draw(rng: &mut ChaCha8Rng) -> Self {
        let tone = rng.random::<f32>();
        let skin = jitter(
            rng,
            lerp3([0.96, 0.82, 0.72], [0.36, 0.23, 0.15], tone),
            0.04,
        );
        const HAIR: [[f32; 3]; 6] = [
            [0.08, 0.06, 0.05],
            [0.30, 0.18, 0.10],
            [0.55, 0.38, 0.20],
            [0.85, 0.72, 0.45],
            [0.60, 0.25, 0.10],
            [0.65, 0.65, 0.65],
        ];
        const IRIS: [[f32; 3]; 4] = [
            [0.35, 0.20, 0.10],
            [0.25, 0.45, 0.70],
            [0.30, 0.50, 0.30],
            [0.45, 0.45, 0.50],
        ];
        let hair = HAIR[rng.random_range(0..HAIR.len())];
        let hair = jitter(rng, hair, 0.05);
        let iris = IRIS[rng.random_range(0..IRIS.len())];
        let iris = jitter(rng, iris, 0.05);
        let lips = jitter(rng, lerp3(skin, [0.75, 0.25, 0.30], 0.45), 0.04);
        Self {
            skin,
            hair,
            iris,
            lips,
            face_rx: rng.random_range(0.50..0.66),
            face_ry: rng.random_range(0.66..0.82),
            chin: rng.random_range(0.75..1.05),
            hairline: rng.random_range(-0.62..-0.38),
            hair_volume: rng.random_range(1.02..1.30),
            bangs: rng.random_range(0.0..0.12),
            long_hair: rng.random_bool(0.35),
            eye_y: rng.random_range(-0.16..0.0),
            eye_dx: rng.random_range(0.20..0.30),
            eye_w: rng.random_range(0.09..0.14),
            eye_h: rng.random_range(0.035..0.065),
            brow_gap: rng.random_range(0.08..0.15),
            brow_thick: rng.random_range(0.02..0.05),
            brow_arch: rng.random_range(-0.01..0.04),
            nose_len: rng.random_range(0.16..0.30),
            nose_w: rng.random_range(0.06..0.12),
            mouth_y: rng.random_range(0.34..0.48),
            mouth_w: rng.random_range(0.12..0.24),
            lip_thick: rng.random_range(0.018..0.04),
            beard: if rng.random_bool(0.2) {
                rng.random_range(0.4..0.9)
            } else {
                0.0
            },
            glasses: rng.random_bool(0.15),
        }
    }
}

impl Nuisance {
    fn draw(rng: &mut ChaCha8Rng) -> Self {
        let theta = rng.random_range(0.0..std::f32::consts::TAU);
        Self {
            angle: rng.random_range(-0.35..0.35),
            scale: rng.random_range(0.80..1.12),
            shift: [rng.random_range(-0.12..0.12), rng.random_range(-0.12..0.12)],
            yaw: rng.random_range(-0.35..0.35),
            smile: rng.random_range(-0.5..1.0),
            mouth_open: if rng.random_bool(0.3) {
                rng.random_range(0.2..1.0)
            } else {
                0.0
            },
            eye_open: if rng.random_bool(0.15) {
                rng.random_range(0.1..0.4)
            } else {
                rng.random_range(0.7..1.1)
            },
            light_dir: [theta.cos(), theta.sin()],
            light_strength: rng.random_range(0.0..0.6),
            gain: rng.random_range(0.55..1.3),
            tint: [
                rng.random_range(0.85..1.15),
                1.0,
                rng.random_range(0.85..1.15),
            ],
            background: [rng.random(), rng.random(), rng.random()],
            background_slope: rng.random_range(-0.3..0.3),
            noise: rng.random_range(0.0..0.08),
            blur: rng.random_range(0..3),
        }
    }
}

/// Soft coverage of a signed distance `d` (negative inside) with edge width `edge`.
fn cover(d: f32, edge: f32) -> f32 {
    (0.5 - d / edge).clamp(0.0, 1.0)
}

/// Approximate signed distance to an axis-aligned ellipse.
fn ellipse(x: f32, y: f32, rx: f32, ry: f32) -> f32 {
    ((x / rx).powi(2) + (y / ry).powi(2))
        .sqrt()
        .mul_add(rx.min(ry), -rx.min(ry))
}

fn blend(c: &mut [f32; 3], top: [f32; 3], alpha: f32) {
    for k in 0..3 {
        c[k] += (top[k] - c[k]) * alpha;
    }
}

/// The colour at canonical point `(x, y)` of face `t` under nuisances `n`.
fn shade(t: &Traits, n: &Nuisance, x: f32, y: f32, edge: f32) -> [f32; 3] {
    let mut c = n
        .background
        .map(|v| (v * (1.0 + n.background_slope * y)).clamp(0.0, 1.0));
    // Yaw: features move sideways more than the outline, and the face narrows on the far side.
    let fx = x - n.yaw * 0.12;
    let face_x = x - n.yaw * 0.04;
    let (hair_rx, hair_ry) = (
        t.face_rx * t.hair_volume,
        t.face_ry * if t.long_hair { 1.25 } else { 0.95 },
    );
    let hair_back = cover(
        ellipse(
            face_x,
            y - if t.long_hair { 0.12 } else { -0.06 },
            hair_rx,
            hair_ry,
        ),
        edge,
    );
    blend(&mut c, t.hair, hair_back);
    let neck = cover((face_x.abs() - t.face_rx * 0.45).max(0.45 - y), edge);
    blend(&mut c, t.skin.map(|v| v * 0.85), neck);
    for side in [-1.0f32, 1.0] {
        let ear = cover(
            ellipse(
                face_x - side * t.face_rx * 0.98,
                y - t.eye_y - 0.06,
                0.07,
                0.13,
            ),
            edge,
        );
        blend(&mut c, t.skin.map(|v| v * 0.9), ear);
    }
    let ry = if y > 0.0 {
        t.face_ry * t.chin
    } else {
        t.face_ry
    };
    let squeeze = 1.0 + n.yaw * face_x.signum() * 0.15;
    let face_d = ellipse(face_x * squeeze, y, t.face_rx, ry);
    let face = cover(face_d, edge);
    let rim = ((face_x / t.face_rx).powi(2) + (y / ry).powi(2)).min(1.0);
    blend(&mut c, t.skin.map(|v| v * (1.0 - 0.22 * rim * rim)), face);
    // Fringe: hair above a wavy hairline, inside the hair mass.
    let hairline = t.hairline + t.bangs * (fx * 9.0).cos();
    let fringe = cover(y - hairline, edge)
        * cover(ellipse(face_x, y + 0.06, hair_rx, t.face_ry * 0.98), edge);
    blend(&mut c, t.hair, fringe);
    if t.beard > 0.0 {
        let below = cover(t.mouth_y - 0.1 - y, edge) * face;
        blend(&mut c, t.hair, below * t.beard * 0.8);
    }
    // Every feature below has zero coverage far from its row; skip the rows it cannot touch.
    let near_eyes = (y - t.eye_y).abs() < 0.3;
    for side in [-1.0f32, 1.0].into_iter().filter(|_| near_eyes) {
        let ex = fx - side * t.eye_dx;
        let ey = y - t.eye_y;
        // Brow: an arched bar above the eye.
        let bx = ex / (t.eye_w * 1.3);
        let curve = -t.brow_gap - t.brow_arch * (1.0 - bx * bx);
        let brow = cover((ey - curve).abs() - t.brow_thick * 0.5, edge)
            * cover(bx.abs() - 1.0, edge * 4.0);
        blend(&mut c, t.hair.map(|v| v * 0.8), brow * face);
        // Eye: sclera, iris, pupil, upper lid line.
        let open = t.eye_h * n.eye_open;
        let sclera = cover(ellipse(ex, ey, t.eye_w, open.max(0.004)), edge);
        blend(&mut c, [0.93, 0.92, 0.90], sclera);
        let iris = cover(ellipse(ex, ey, t.eye_h * 0.85, t.eye_h * 0.85), edge) * sclera;
        blend(&mut c, t.iris, iris);
        let pupil = cover(ellipse(ex, ey, t.eye_h * 0.35, t.eye_h * 0.35), edge) * sclera;
        blend(&mut c, [0.03, 0.03, 0.03], pupil);
        let lid = cover(
            ellipse(ex, ey, t.eye_w, open.max(0.004)).abs() - 0.006,
            edge,
        ) * cover(ey, edge);
        blend(&mut c, [0.1, 0.07, 0.06], lid * 0.8);
        if t.glasses {
            let ring = cover(
                ellipse(ex, ey, t.eye_w * 1.5, t.eye_w * 1.15).abs() - 0.012,
                edge,
            );
            blend(&mut c, [0.1, 0.1, 0.12], ring);
        }
    }
    if t.glasses && near_eyes {
        let bridge = cover(
            (fx.abs() - (t.eye_dx - t.eye_w * 1.5)).max((y - t.eye_y).abs() - 0.01),
            edge,
        );
        blend(&mut c, [0.1, 0.1, 0.12], bridge);
    }
    // Nose: shading along one side of the bridge and two nostrils.
    let nose_tip = t.eye_y + t.nose_len;
    if y < t.eye_y - 0.05 || y > nose_tip + 0.1 {
        return mouth(t, n, fx, y, edge, c);
    }
    let bridge = cover((fx - t.nose_w * 0.45).abs() - 0.012, edge)
        * cover(
            (y - (t.eye_y + nose_tip) * 0.5).abs() - t.nose_len * 0.4,
            edge,
        );
    blend(&mut c, t.skin.map(|v| v * 0.75), bridge * 0.6);
    for side in [-1.0f32, 1.0] {
        let nostril = cover(
            ellipse(
                fx - side * t.nose_w * 0.5,
                y - nose_tip,
                t.nose_w * 0.35,
                t.nose_w * 0.2,
            ),
            edge,
        );
        blend(&mut c, t.skin.map(|v| v * 0.45), nostril);
    }
    mouth(t, n, fx, y, edge, c)
}

/// Adds the mouth, a curved lip band that bends with the smile and opens, to colour `c`.
fn mouth(t: &Traits, n: &Nuisance, fx: f32, y: f32, edge: f32, mut c: [f32; 3]) -> [f32; 3] {
    let mx = fx / t.mouth_w;
    if mx.abs() < 1.2 && (y - t.mouth_y).abs() < 0.25 {
        let curve = t.mouth_y - n.smile * 0.05 * (1.0 - mx * mx);
        let opening = n.mouth_open * 0.05 * (1.0 - mx * mx).max(0.0);
        let inner = cover((y - curve - opening * 0.5).abs() - opening * 0.5, edge)
            * cover(mx.abs() - 1.0, edge * 5.0);
        let lips = cover(
            (y - curve - opening * 0.5).abs() - opening * 0.5 - t.lip_thick,
            edge,
        ) * cover(mx.abs() - 1.05, edge * 5.0);
        blend(&mut c, t.lips, lips);
        blend(
            &mut c,
            [0.25, 0.05, 0.05],
            inner * if opening > 0.002 { 1.0 } else { 0.7 },
        );
    }
    c
}

/// Renders face `image` of identity `identity` at `size x size`.
fn render(config: &SyntheticConfig, identity: u64, image: u64) -> RgbImage {
    let traits = Traits::draw(&mut rng_for(config.seed, identity, 0, b"identity"));
    let mut rng = rng_for(config.seed, identity, image, b"nuisance");
    let n = Nuisance::draw(&mut rng);
    let size = config.size.max(1);
    let (sin, cos) = n.angle.sin_cos();
    let edge = 2.5 / size as f32 / n.scale;
    let mut pixels = vec![[0f32; 3]; (size * size) as usize];
    for (i, px) in pixels.iter_mut().enumerate() {
        let u = ((i as u32 % size) as f32 + 0.5) / size as f32 * 2.0 - 1.0 - n.shift[0];
        let v = ((i as u32 / size) as f32 + 0.5) / size as f32 * 2.0 - 1.0 - n.shift[1];
        let (x, y) = (
            (cos * u + sin * v) / n.scale,
            (-sin * u + cos * v) / n.scale,
        );
        let c = shade(&traits, &n, x, y, edge);
        let light = n.gain * (1.0 + n.light_strength * (n.light_dir[0] * u + n.light_dir[1] * v));
        *px = std::array::from_fn(|k| c[k] * light * n.tint[k]);
    }
    if n.blur > 0 {
        pixels = box_blur(&pixels, size as usize, n.blur as usize);
    }
    let mut out = RgbImage::new(size, size);
    for (px, c) in out.pixels_mut().zip(&pixels) {
        let noisy = c.map(|v| {
            let noise = (rng.random::<f32>() + rng.random::<f32>() - 1.0) * n.noise * 1.7;
            ((v + noise) * 255.0).round().clamp(0.0, 255.0) as u8
        });
        *px = Rgb(noisy);
    }
    out
}

/// Separable box blur of radius `r` with clamped borders.
fn box_blur(src: &[[f32; 3]], size: usize, r: usize) -> Vec<[f32; 3]> {
    let pass = |src: &[[f32; 3]], step: usize, line: usize| -> Vec<[f32; 3]> {
        let mut out = vec![[0f32; 3]; src.len()];
        for a in 0..size {
            for b in 0..size {
                let mut acc = [0f32; 3];
                for k in b.saturating_sub(r)..=(b + r).min(size - 1) {
                    let s = src[a * line + k * step];
                    acc = std::array::from_fn(|c| acc[c] + s[c]);
                }
                let count = ((b + r).min(size - 1) - b.saturating_sub(r) + 1) as f32;
                out[a * line + b * step] = acc.map(|v| v / count);
            }
        }
        out
    };
    let horizontal = pass(src, 1, size);
    pass(&horizontal, size, 1)
}

/// `identities x images_per_identity` synthetic faces, rendered on demand; image `i` shows identity `i / images_per_identity`.
#[derive(Debug, Clone)]
pub struct SyntheticFaces {
    config: SyntheticConfig,
}

impl SyntheticFaces {
    /// Faces as `config` describes; fails on zero identities, images or size.
    pub fn new(config: SyntheticConfig) -> Result<Self> {
        if config.identities == 0 || config.images_per_identity == 0 || config.size == 0 {
            return Err(DataError::InvalidArgument(format!(
                "synthetic faces need non-zero counts and size, got {config:?}"
            )));
        }
        Ok(Self { config })
    }

    /// The configuration.
    pub fn config(&self) -> &SyntheticConfig {
        &self.config
    }

    /// Renders image `index` (infallible, unlike [`FaceImages::image`] in general).
    pub fn render(&self, index: usize) -> RgbImage {
        let k = self.config.images_per_identity;
        render(&self.config, (index / k) as u64, (index % k) as u64)
    }

    /// Writes every face as `root/id_XXXXX/img_XXXX.png` (the image-folder layout); returns the count.
    pub fn write_folder(&self, root: &Path) -> Result<usize> {
        for index in 0..self.len() {
            let k = self.config.images_per_identity;
            let dir = root.join(format!("id_{:05}", index / k));
            if index % k == 0 {
                std::fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
            }
            let path = dir.join(format!("img_{:04}.png", index % k));
            self.render(index).save(&path).map_err(|e| {
                DataError::decode(path.display().to_string(), format!("cannot write PNG: {e}"))
            })?;
        }
        Ok(self.len())
    }
}

impl FaceImages for SyntheticFaces {
    fn len(&self) -> usize {
        self.config.identities * self.config.images_per_identity
    }

    fn label(&self, index: usize) -> u32 {
        (index / self.config.images_per_identity) as u32
    }

    fn num_identities(&self) -> usize {
        self.config.identities
    }

    fn describe(&self, index: usize) -> String {
        let k = self.config.images_per_identity;
        format!("synthetic:id{}/img{}", index / k, index % k)
    }

    fn image(&self, index: usize) -> Result<RgbImage> {
        Ok(self.render(index))
    }
}
