//! Order-preserving `f64` keys and an LSD radix sort of `u64` keys.

/// Maps a non-NaN `f64` to a `u64` whose unsigned order is the float order.
///
/// `-0.0` and `+0.0` map to the same key, so equal scores stay equal.
pub(crate) fn key_of(score: f64) -> u64 {
    let bits = (score + 0.0).to_bits();
    if bits & (1 << 63) != 0 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Inverse of [`key_of`].
pub(crate) fn score_of(key: u64) -> f64 {
    let bits = if key & (1 << 63) != 0 {
        key & !(1 << 63)
    } else {
        !key
    };
    f64::from_bits(bits)
}

/// Bits sorted per counting pass.
const DIGIT_BITS: u32 = 16;

/// Sorts `keys` ascending with LSD counting passes of 16 bits, skipping a pass when every
/// key has the same digit there (scores of one range share their top bits).
pub(crate) fn sort_keys(keys: &mut Vec<u64>) {
    if keys.len() < 256 {
        keys.sort_unstable();
        return;
    }
    let mask = (1u64 << DIGIT_BITS) - 1;
    let mut scratch = vec![0u64; keys.len()];
    let mut counts = vec![0usize; 1 << DIGIT_BITS];
    for pass in 0..64 / DIGIT_BITS {
        let shift = pass * DIGIT_BITS;
        counts.iter_mut().for_each(|c| *c = 0);
        for &k in keys.iter() {
            counts[((k >> shift) & mask) as usize] += 1;
        }
        if counts.contains(&keys.len()) {
            continue;
        }
        let mut total = 0;
        for c in counts.iter_mut() {
            let here = *c;
            *c = total;
            total += here;
        }
        for &k in keys.iter() {
            let digit = ((k >> shift) & mask) as usize;
            scratch[counts[digit]] = k;
            counts[digit] += 1;
        }
        std::mem::swap(keys, &mut scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_preserve_float_order() {
        let values = [
            f64::NEG_INFINITY,
            -3.5,
            -1e-300,
            -0.0,
            0.0,
            1e-300,
            0.25,
            0.25 + f64::EPSILON / 4.0,
            7.0,
            f64::INFINITY,
        ];
        for pair in values.windows(2) {
            assert!(key_of(pair[0]) <= key_of(pair[1]), "{pair:?}");
        }
        assert!(key_of(0.25) < key_of(0.25 + f64::EPSILON / 4.0));
        assert_eq!(key_of(-0.0), key_of(0.0));
        for v in values {
            assert_eq!(score_of(key_of(v)), v + 0.0);
        }
    }

    #[test]
    fn radix_sort_matches_std_sort() {
        let mut state = 12345u64;
        for (n, spread) in [(10_000, 64), (3_000, 20), (100, 64)] {
            let mut keys: Vec<u64> = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (1u64 << 62) | (state >> (64 - spread))
                })
                .collect();
            let mut expected = keys.clone();
            expected.sort_unstable();
            sort_keys(&mut keys);
            assert_eq!(keys, expected);
        }
    }
}
