//! Which items an epoch visits, in which order, and where a run stands.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// Where a run stands: the next batch to produce is batch `step` of `epoch`.
///
/// Save it with a checkpoint and pass it to [`Loader::resume`](crate::loader::Loader::resume) to
/// see exactly the batches an uninterrupted run would have seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Position {
    /// Epoch number, from 0.
    pub epoch: u64,
    /// Batch number within the epoch, from 0.
    pub step: u64,
}

/// The item indices epoch `epoch` visits, in order, for a source of `len` items.
///
/// With `shuffle`, the order is a permutation drawn from `(seed, epoch)` alone. With
/// `shard = Some((rank, world_size))`, the permutation is cut to a multiple of `world_size` and
/// rank `rank` keeps every `world_size`-th item starting at `rank`, so ranks never overlap.
pub fn epoch_order(
    len: usize,
    seed: u64,
    epoch: u64,
    shuffle: bool,
    shard: Option<(usize, usize)>,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    if shuffle {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&epoch.to_le_bytes());
        key[16..].copy_from_slice(b"epoch-shuffle!!!");
        order.shuffle(&mut rand_chacha::ChaCha8Rng::from_seed(key));
    }
    match shard {
        Some((rank, world)) if world > 1 => {
            let usable = len - len % world;
            order.truncate(usable);
            order.into_iter().skip(rank).step_by(world).collect()
        }
        _ => order,
    }
}
