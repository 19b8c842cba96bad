//! Order-preserving `f32` keys and an LSD radix sort of `u32` keys.

/// Maps a non-NaN `f32` to a `u32` whose unsigned order is the float order.
///
/// `-0.0` and `+0.0` map to the same key, so equal scores stay equal.
pub(crate) fn key_of(score: f32) -> u32 {
    let bits = (score + 0.0).to_bits();
    if bits & 0x8000_0000 != 0 {
        !bits
    } else {
        bits | 0x8000_0000
    }
}

/// Inverse of [`key_of`].
pub(crate) fn score_of(key: u32) -> f32 {
    let bits = if key & 0x8000_0000 != 0 {
        key & 0x7fff_ffff
    } else {
        !key
    };
    f32::from_bits(bits)
}

/// Bits of the key used for the first (bucketing) pass.
pub(crate) const HIGH_BITS: u32 = 16;
/// Bits of the key left for sorting within a bucket.
pub(crate) const LOW_BITS: u32 = 32 - HIGH_BITS;

/// Sorts values of the form `(low_key << 1) | label` by `low_key`
/// (`LOW_BITS` = 16 bits) with two LSD counting passes of 8 bits (buckets
/// are small, so both passes run in cache); the label bit is ignored.
pub(crate) fn sort_low_bits(values: &mut [u32]) {
    if values.len() < 128 {
        values.sort_unstable_by_key(|v| v >> 1);
        return;
    }
    let mut scratch = vec![0u32; values.len()];
    let passes = [(1u32, 8u32), (9, 8)];
    let mut in_scratch = false;
    for (shift, bits) in passes {
        let mask = (1u32 << bits) - 1;
        let (src, dst): (&[u32], &mut [u32]) = if in_scratch {
            (&scratch[..], &mut *values)
        } else {
            (&*values, &mut scratch[..])
        };
        let mut offsets = vec![0usize; 1 << bits];
        for &v in src {
            offsets[((v >> shift) & mask) as usize] += 1;
        }
        if offsets.contains(&src.len()) {
            continue;
        }
        let mut total = 0;
        for o in offsets.iter_mut() {
            let c = *o;
            *o = total;
            total += c;
        }
        for &v in src {
            let d = ((v >> shift) & mask) as usize;
            dst[offsets[d]] = v;
            offsets[d] += 1;
        }
        in_scratch = !in_scratch;
    }
    if in_scratch {
        values.copy_from_slice(&scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_preserve_float_order() {
        let values = [
            f32::NEG_INFINITY,
            -3.5,
            -1e-30,
            -0.0,
            0.0,
            1e-30,
            0.25,
            7.0,
            f32::INFINITY,
        ];
        for pair in values.windows(2) {
            assert!(key_of(pair[0]) <= key_of(pair[1]), "{pair:?}");
        }
        assert_eq!(key_of(-0.0), key_of(0.0));
        for v in values {
            assert_eq!(score_of(key_of(v)), v + 0.0);
        }
    }

    #[test]
    fn low_bit_sort_matches_std_sort() {
        let mut state = 12345u64;
        let mut values: Vec<u32> = (0..10_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> (63 - LOW_BITS)) as u32
            })
            .collect();
        let mut expected: Vec<u32> = values.iter().map(|v| v >> 1).collect();
        expected.sort_unstable();
        sort_low_bits(&mut values);
        let got: Vec<u32> = values.iter().map(|v| v >> 1).collect();
        assert_eq!(got, expected);
    }
}
