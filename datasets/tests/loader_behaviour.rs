//! The generic loader on a toy source: order, drop_last, determinism across workers, resume, skips, shards.

use std::collections::BTreeSet;

use datasets::loader::{
    class_indices, epoch_order, ItemRng, Loader, LoaderConfig, Position, Source, TensorSample,
};
use datasets::DataError;
use rand::Rng;

/// Item `i` is `[i, noise]` where `noise` comes from the item generator; items in `broken` fail.
struct Toy {
    len: usize,
    classes: u32,
    broken: Vec<usize>,
}

impl Source for Toy {
    type Sample = TensorSample;
    fn len(&self) -> usize {
        self.len
    }
    fn label(&self, index: usize) -> u32 {
        index as u32 % self.classes
    }
    fn num_classes(&self) -> usize {
        self.classes as usize
    }
    fn describe(&self, index: usize) -> String {
        format!("toy#{index}")
    }
    fn load(&self, index: usize, rng: &mut ItemRng) -> Result<TensorSample, DataError> {
        if self.broken.contains(&index) {
            return Err(DataError::decode(
                format!("toy#{index}"),
                "deliberately broken",
            ));
        }
        // Uneven work so that threads finish out of order.
        std::thread::sleep(std::time::Duration::from_micros((index as u64 * 37) % 200));
        TensorSample::new(vec![index as f32, rng.random::<f32>()], vec![2])
    }
}

fn toy(len: usize) -> Toy {
    Toy {
        len,
        classes: 3,
        broken: Vec::new(),
    }
}

fn config(batch_size: usize, workers: usize) -> LoaderConfig {
    LoaderConfig {
        batch_size,
        seed: 42,
        num_workers: workers,
        prefetch: 2,
        ..LoaderConfig::default()
    }
}

/// Every batch of an epoch as (indices, input values, labels).
fn collect(
    iter: impl Iterator<Item = Result<datasets::loader::Batch, DataError>>,
) -> Vec<(Vec<usize>, Vec<f32>, Vec<u32>)> {
    iter.map(|b| {
        let b = b.expect("batch");
        let inputs = b.inputs.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let labels = b.labels.to_vec1::<u32>().unwrap();
        (b.indices, inputs, labels)
    })
    .collect()
}

#[test]
fn an_epoch_visits_every_item_once_with_matching_labels_and_inputs() {
    let loader = Loader::new(
        toy(23),
        LoaderConfig {
            drop_last: false,
            ..config(5, 2)
        },
    )
    .unwrap();
    assert_eq!(loader.steps_per_epoch(), 5);
    let batches = collect(loader.epoch(0));
    assert_eq!(
        batches.iter().map(|b| b.0.len()).collect::<Vec<_>>(),
        vec![5, 5, 5, 5, 3]
    );
    let seen: BTreeSet<usize> = batches.iter().flat_map(|b| b.0.clone()).collect();
    assert_eq!(seen, (0..23).collect());
    for (indices, inputs, labels) in &batches {
        for (k, &i) in indices.iter().enumerate() {
            assert_eq!(inputs[2 * k], i as f32, "input row {k} belongs to item {i}");
            assert_eq!(labels[k], i as u32 % 3);
        }
    }
    let order: Vec<usize> = batches.iter().flat_map(|b| b.0.clone()).collect();
    assert_ne!(order, (0..23).collect::<Vec<_>>(), "shuffled");
}

#[test]
fn drop_last_drops_the_incomplete_batch() {
    let loader = Loader::new(toy(23), config(5, 1)).unwrap();
    assert_eq!(loader.steps_per_epoch(), 4);
    assert_eq!(collect(loader.epoch(3)).len(), 4);
}

#[test]
fn unshuffled_order_is_the_index_order() {
    let loader = Loader::new(
        toy(10),
        LoaderConfig {
            shuffle: false,
            ..config(4, 2)
        },
    )
    .unwrap();
    let batches = collect(loader.epoch(0));
    assert_eq!(batches[0].0, vec![0, 1, 2, 3]);
    assert_eq!(batches[1].0, vec![4, 5, 6, 7]);
}

#[test]
fn batches_and_augmentation_do_not_depend_on_thread_count() {
    let one = collect(Loader::new(toy(40), config(8, 1)).unwrap().epoch(2));
    let four = collect(Loader::new(toy(40), config(8, 4)).unwrap().epoch(2));
    assert_eq!(one, four);
}

#[test]
fn order_changes_with_epoch_and_seed_but_repeats_for_the_same_pair() {
    let a = epoch_order(100, 1, 0, true, None);
    assert_eq!(a, epoch_order(100, 1, 0, true, None));
    assert_ne!(a, epoch_order(100, 1, 1, true, None));
    assert_ne!(a, epoch_order(100, 2, 0, true, None));
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
}

#[test]
fn resuming_from_a_saved_position_repeats_the_uninterrupted_run() {
    let loader = Loader::new(toy(30), config(4, 3)).unwrap();
    let full: Vec<_> = loader.epoch(1).map(|b| b.unwrap()).collect();
    // Stop after step 2 of epoch 1, keeping the position the batch says to save.
    let saved = full[2].resume_from;
    assert_eq!(saved, Position { epoch: 1, step: 3 });
    let saved: Position = serde_json::from_str(&serde_json::to_string(&saved).unwrap()).unwrap();
    let fresh = Loader::new(toy(30), config(4, 1)).unwrap();
    let resumed = collect(fresh.resume(saved));
    let expected = collect(full[3..].iter().cloned().map(Ok));
    assert_eq!(resumed, expected);
    assert_eq!(
        full.last().unwrap().resume_from,
        Position { epoch: 2, step: 0 }
    );
}

#[test]
fn broken_items_are_skipped_counted_and_named() {
    let source = Toy {
        len: 12,
        classes: 3,
        broken: vec![3, 7],
    };
    let loader = Loader::new(
        source,
        LoaderConfig {
            shuffle: false,
            ..config(4, 2)
        },
    )
    .unwrap();
    let batches: Vec<_> = loader.epoch(0).map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 3);
    assert_eq!(batches[0].indices, vec![0, 1, 2]);
    assert_eq!(batches[0].inputs.dims(), &[3, 2]);
    assert_eq!(batches[0].skipped.len(), 1);
    assert_eq!(batches[0].skipped[0].item, "toy#3");
    assert!(batches[0].skipped[0].reason.contains("deliberately broken"));
    assert_eq!(batches[1].indices, vec![4, 5, 6]);
    assert_eq!(batches[2].skipped.len(), 0);
    let report = loader.skipped();
    assert_eq!(report.count, 2);
    assert_eq!(
        report.examples.iter().map(|s| s.index).collect::<Vec<_>>(),
        vec![3, 7]
    );
}

#[test]
fn a_batch_whose_items_all_fail_is_left_out_but_counted() {
    let source = Toy {
        len: 8,
        classes: 2,
        broken: vec![4, 5, 6, 7],
    };
    let loader = Loader::new(
        source,
        LoaderConfig {
            shuffle: false,
            ..config(4, 2)
        },
    )
    .unwrap();
    let batches: Vec<_> = loader.epoch(0).map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 1);
    assert_eq!(loader.skipped().count, 4);
}

#[test]
fn shards_split_an_epoch_without_overlap() {
    let shards: Vec<Vec<usize>> = (0..3)
        .map(|rank| epoch_order(20, 42, 0, true, Some((rank, 3))))
        .collect();
    let all: BTreeSet<usize> = shards.iter().flatten().copied().collect();
    assert!(shards.iter().all(|s| s.len() == 6));
    assert_eq!(all.len(), 18);
    let loader = Loader::new(
        toy(20),
        LoaderConfig {
            shard: Some((1, 3)),
            ..config(4, 1)
        },
    )
    .unwrap();
    assert_eq!(loader.items_per_epoch(), 6);
    let seen: Vec<usize> = collect(loader.epoch(0))
        .into_iter()
        .flat_map(|b| b.0)
        .collect();
    assert_eq!(seen, shards[1][..4].to_vec());
}

#[test]
fn class_indices_group_items_by_label() {
    let classes = class_indices(&toy(7));
    assert_eq!(classes, vec![vec![0, 3, 6], vec![1, 4], vec![2, 5]]);
}

#[test]
fn invalid_settings_are_rejected() {
    assert!(Loader::new(toy(4), config(0, 1)).is_err());
    assert!(Loader::new(toy(4), config(2, 0)).is_err());
    assert!(Loader::new(
        toy(4),
        LoaderConfig {
            shard: Some((3, 3)),
            ..config(2, 1)
        }
    )
    .is_err());
}

#[test]
fn dropping_an_epoch_early_stops_the_background_work() {
    let loader = Loader::new(toy(1000), config(10, 2)).unwrap();
    let mut epoch = loader.epoch(0);
    assert!(epoch.next().is_some());
    drop(epoch); // must return promptly, not decode the remaining 99 batches
    assert!(loader.skipped().count == 0);
}

#[test]
fn a_stream_runs_epoch_after_epoch_and_drops_small_batches() {
    // 10 items, batches of 4 (drop_last): 2 per epoch. Items 4..8 are broken, so the second
    // batch of an epoch that shuffles them together can lose samples.
    let loader = Loader::new(toy(10), config(4, 2)).unwrap();
    let epochs: Vec<Vec<Vec<usize>>> = (0..3)
        .map(|e| loader.epoch(e).map(|b| b.unwrap().indices).collect())
        .collect();
    let streamed: Vec<(Position, Vec<usize>)> = loader
        .stream(Position { epoch: 0, step: 1 }, 1)
        .take(5)
        .map(|b| {
            let b = b.unwrap();
            (b.position, b.indices)
        })
        .collect();
    let expected: Vec<(Position, Vec<usize>)> = [(0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
        .iter()
        .map(|&(e, s)| {
            (
                Position { epoch: e, step: s },
                epochs[e as usize][s as usize].clone(),
            )
        })
        .collect();
    assert_eq!(streamed, expected);

    // Item 0 is broken: a batch holding it has 3 readable items and is dropped at min_batch 4.
    let broken = Toy {
        broken: vec![0],
        ..toy(10)
    };
    let loader = Loader::new(broken, config(4, 2)).unwrap();
    let kept: Vec<Vec<usize>> = loader
        .stream(Position::default(), 4)
        .take(6)
        .map(|b| b.unwrap().indices)
        .collect();
    assert!(
        kept.iter().all(|b| b.len() == 4 && !b.contains(&0)),
        "{kept:?}"
    );
    let with_zero = (0..4)
        .flat_map(|e| {
            Loader::new(toy(10), config(4, 2))
                .unwrap()
                .epoch(e)
                .collect::<Vec<_>>()
        })
        .filter(|b| b.as_ref().unwrap().indices.contains(&0))
        .count() as u64;
    assert!(with_zero > 0);
    assert!(
        loader.dropped_batches() >= 1,
        "the batches holding item 0 were dropped"
    );
}

#[test]
fn a_stream_over_unreadable_data_ends_with_an_error() {
    let all_broken = Toy {
        broken: (0..8).collect(),
        ..toy(8)
    };
    let loader = Loader::new(all_broken, config(4, 1)).unwrap();
    let first = loader.stream(Position::default(), 1).next().unwrap();
    let e = first.unwrap_err().to_string();
    assert!(
        e.contains("epoch 0 gave no batch") && e.contains("8 item(s) skipped"),
        "{e}"
    );
}

#[test]
fn a_map_stage_runs_on_the_loaded_samples() {
    use datasets::loader::Mapped;
    let mapped = Mapped::new(toy(8), |s: TensorSample, _rng: &mut ItemRng| {
        TensorSample::new(s.data.iter().map(|x| x * 2.0).collect(), s.shape)
    });
    let loader = Loader::new(mapped, config(4, 2)).unwrap();
    let plain = Loader::new(toy(8), config(4, 2)).unwrap();
    for (a, b) in loader.epoch(0).zip(plain.epoch(0)) {
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.indices, b.indices);
        let doubled = (b.inputs * 2.0).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(a.inputs.to_vec2::<f32>().unwrap(), doubled);
    }
}
