//! Seeded mutations and the harness that runs a reader on each.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Mutations per input (a few hundred each keeps the whole suite well under two minutes).
pub const ROUNDS: usize = 300;

/// The datasets crate's fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../datasets/tests/fixtures")
        .join(rel)
}

/// Values that break length fields and numbers: zero, all ones, sign bits, NaN and Inf bits.
const EXTREMES: [u32; 8] = [
    0,
    u32::MAX,
    0x7FFF_FFFF,
    0x8000_0000,
    0x7FC0_0000, // f32 NaN
    0x7F80_0000, // f32 +Inf
    0x0100_0000,
    0xFFFF_0000,
];

/// Words that break text formats' numbers and fields.
const BAD_WORDS: [&str; 10] = [
    "nan",
    "inf",
    "-inf",
    "1e40",
    "-1",
    "99999999999999999999",
    "",
    "\u{0}",
    "\"",
    "[[",
];

/// One mutation of `input`: `text` inputs also get word-level edits.
pub fn mutate(input: &[u8], rng: &mut ChaCha8Rng, text: bool) -> Vec<u8> {
    let mut out = input.to_vec();
    let kinds = if text { 7 } else { 5 };
    let edits = 1 + rng.random_range(0..3);
    for _ in 0..edits {
        if out.is_empty() {
            out.push(rng.random());
            continue;
        }
        let at = rng.random_range(0..out.len());
        match rng.random_range(0..kinds) {
            0 => out[at] ^= 1 << rng.random_range(0..8),
            1 => out.truncate(at),
            2 => {
                let word = EXTREMES[rng.random_range(0..EXTREMES.len())].to_le_bytes();
                let end = (at + 4).min(out.len());
                out[at..end].copy_from_slice(&word[..end - at]);
            }
            3 => {
                let n = rng.random_range(1..16);
                let mut junk = vec![0u8; n];
                rng.fill_bytes(&mut junk);
                out.splice(at..at, junk);
            }
            4 => {
                let len = rng.random_range(1..64).min(out.len() - at);
                let chunk: Vec<u8> = out[at..at + len].to_vec();
                let to = rng.random_range(0..out.len());
                out.splice(to..to, chunk);
            }
            5 => {
                // Replace a token (a run of non-space bytes) with a bad word.
                let start = out[..at]
                    .iter()
                    .rposition(|b| b.is_ascii_whitespace())
                    .map_or(0, |i| i + 1);
                let end = out[at..]
                    .iter()
                    .position(|b| b.is_ascii_whitespace())
                    .map_or(out.len(), |i| at + i);
                let word = BAD_WORDS[rng.random_range(0..BAD_WORDS.len())]
                    .as_bytes()
                    .to_vec();
                out.splice(start..end, word);
            }
            _ => {
                // A byte that is not UTF-8.
                out[at] = 0xFF;
            }
        }
    }
    out
}

/// Runs `read` on `ROUNDS` mutations of `input`, each written to `dir/<name>` first; `read`
/// returns `Err(message)` for a refused input, which must contain `expect_in_error` (the
/// input's name). A panic fails with the seed and the round.
pub fn fuzz_file(
    seed: u64,
    dir: &Path,
    name: &str,
    input: &[u8],
    text: bool,
    expect_in_error: &str,
    read: impl Fn(&Path) -> Result<(), String>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let path = dir.join(name);
    let (mut refused, mut accepted) = (0, 0);
    for round in 0..ROUNDS {
        let bytes = mutate(input, &mut rng, text);
        std::fs::write(&path, &bytes).unwrap();
        match catch_unwind(AssertUnwindSafe(|| read(&path))) {
            Ok(Ok(())) => accepted += 1,
            Ok(Err(message)) => {
                refused += 1;
                assert!(
                    message.contains(expect_in_error),
                    "{name}, seed {seed} round {round}: the error does not name {expect_in_error:?}: {message}"
                );
            }
            Err(_) => {
                let kept = std::env::temp_dir().join(format!("fuzz-panic-{name}"));
                let _ = std::fs::write(&kept, &bytes);
                panic!(
                    "{name}, seed {seed} round {round}: the reader panicked (input kept at {})",
                    kept.display()
                )
            }
        }
    }
    assert!(
        refused > 0,
        "{name}: no mutation was refused, the harness is not reaching the reader"
    );
    eprintln!("{name}: {refused} refused, {accepted} read");
}

/// [`fuzz_file`] for readers of bytes in memory.
pub fn fuzz_bytes(seed: u64, name: &str, input: &[u8], read: impl Fn(&[u8]) -> Result<(), String>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut refused = 0;
    for round in 0..ROUNDS {
        let bytes = mutate(input, &mut rng, false);
        match catch_unwind(AssertUnwindSafe(|| read(&bytes))) {
            Ok(Ok(())) => {}
            Ok(Err(message)) => {
                refused += 1;
                assert!(message.contains(name), "{name}, seed {seed} round {round}: the error does not name the input: {message}");
            }
            Err(_) => panic!("{name}, seed {seed} round {round}: the decoder panicked"),
        }
    }
    assert!(refused > 0, "{name}: no mutation was refused");
}
