//! Identity splits: which identities a run holds out of training for its final verification,
//! and which of their items are scored. One rule for faces and voices.
//!
//! File-based data hold out `identities` identities drawn with the run's seed (a shuffle of the
//! identity indices by ChaCha8, the first ones held out); generated data (synthetic faces and
//! voices) hold out extra identities beyond the training ones; ORL holds out s31-s40. At most
//! `per_identity` items of each held-out identity are scored, spread evenly over its items
//! (real lists are often ordered by session, so the first items would be the easiest pairs).

use std::collections::BTreeSet;

use rand::seq::SliceRandom;
use rand::SeedableRng;

/// How many identities and items a run holds out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldoutSpec {
    /// Identities held out of training (0: none, no final verification).
    pub identities: usize,
    /// At most this many items of each are scored (all pairs among them).
    pub per_identity: usize,
    /// Seed of the choice (the run's seed).
    pub seed: u64,
}

/// The `held` identities of `0..count` drawn with `seed`: the first `held` of a seeded shuffle.
pub fn held_out_identities(count: usize, held: usize, seed: u64) -> BTreeSet<u32> {
    let mut ids: Vec<u32> = (0..count as u32).collect();
    ids.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    ids.into_iter().take(held).collect()
}

/// At most `k` of `members`, spread evenly: `members[j·n/k]` for `j < k` (all of them when
/// `k >= n`).
pub fn spread_pick(members: &[usize], k: usize) -> Vec<usize> {
    let n = members.len();
    let k = k.min(n);
    (0..k).map(|j| members[j * n / k]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_pick_takes_all_or_an_even_spread() {
        let m: Vec<usize> = (10..20).collect();
        assert_eq!(spread_pick(&m, 20), m);
        assert_eq!(spread_pick(&m, 4), vec![10, 12, 15, 17]);
        assert!(spread_pick(&m, 0).is_empty());
    }

    #[test]
    fn the_choice_depends_on_the_seed_only() {
        let a = held_out_identities(30, 5, 7);
        assert_eq!(a.len(), 5);
        assert_eq!(a, held_out_identities(30, 5, 7));
        assert_ne!(a, held_out_identities(30, 5, 8));
        assert!(a.iter().all(|&i| i < 30));
    }
}
