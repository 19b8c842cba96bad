//! Unit tests of the pieces; bit-exactness against libjpeg-turbo is in `tests/face_jpeg.rs`.

use super::huffman::extend;
use super::idct;

#[test]
fn extend_follows_t81() {
    // size 3: 0..=3 are -7..=-4, 4..=7 are 4..=7.
    let got: Vec<i32> = (0..8).map(|b| extend(b, 3)).collect();
    assert_eq!(got, [-7, -6, -5, -4, 4, 5, 6, 7]);
    assert_eq!(extend(0, 0), 0);
    assert_eq!(extend(1, 1), 1);
    assert_eq!(extend(0, 1), -1);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_idct_equals_the_portable_one() {
    if !std::arch::is_x86_feature_detected!("avx2") {
        eprintln!("skipped: no AVX2");
        return;
    }
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for case in 0..2000 {
        // Dequantized coefficients: up to 11 bits times an 8-bit quantizer, some out of range
        // to exercise libjpeg's wrap-around limiting; sparse and dense blocks.
        let span = [64i64, 2048, 1 << 19][case % 3];
        let density = [4u64, 16, 64][case % 3];
        let block: [i32; 64] = std::array::from_fn(|_| {
            let r = next();
            if r % 64 < density {
                ((r >> 8) as i64 % (2 * span) - span) as i32
            } else {
                0
            }
        });
        let mut a = [0u8; 64];
        let mut b = [0u8; 64];
        idct::idct_scalar(&block, &mut a, 8);
        // SAFETY: AVX2 detected above; `b` holds 8 rows of 8.
        unsafe { idct::avx2::idct(&block, &mut b, 8) };
        assert_eq!(a, b, "case {case}: {block:?}");
    }
}

#[test]
fn dc_only_blocks_match_the_full_transform() {
    for dc in (-2048 * 16..2048 * 16).step_by(37) {
        let mut block = [0i32; 64];
        block[0] = dc;
        let (mut full, mut short) = ([0u8; 64], [0u8; 64]);
        idct::idct_scalar(&block, &mut full, 8);
        idct::idct_dc_only(dc, &mut short, 8);
        assert_eq!(full, short, "dc {dc}");
    }
}
