//! The [`Loader`]: batches from a [`Source`] on a pool of decode threads with bounded prefetch.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use candle_core::{Device, Tensor};
use rayon::prelude::*;

use crate::error::{DataError, Result};
use crate::loader::{
    epoch_order, item_rng, Batch, Collate, Position, SkipReport, SkippedItem, Source,
};

/// How a [`Loader`] forms batches.
#[derive(Debug, Clone)]
pub struct LoaderConfig {
    /// Samples per batch.
    pub batch_size: usize,
    /// Shuffle the items every epoch (from `seed` and the epoch number).
    pub shuffle: bool,
    /// Drop the last, incomplete batch of an epoch.
    pub drop_last: bool,
    /// The run's seed; with the epoch and item index it fixes order and augmentation.
    pub seed: u64,
    /// Threads that decode items in parallel.
    pub num_workers: usize,
    /// Batches decoded ahead of the consumer (the bound of the prefetch queue), at least 1.
    pub prefetch: usize,
    /// `Some((rank, world_size))` to read only this rank's share of every epoch.
    pub shard: Option<(usize, usize)>,
    /// Where the batch tensors are placed.
    pub device: Device,
}

impl Default for LoaderConfig {
    /// Batches of 128, shuffled, `drop_last`, seed 0, 2 workers, 4 batches of prefetch, on CPU.
    fn default() -> Self {
        Self {
            batch_size: 128,
            shuffle: true,
            drop_last: true,
            seed: 0,
            num_workers: 2,
            prefetch: 4,
            shard: None,
            device: Device::Cpu,
        }
    }
}

/// Turns a [`Source`] into batches; see the [module docs](crate::loader). Clones share the
/// source, the decode threads and the skip counts.
pub struct Loader<S: Source> {
    source: Arc<S>,
    config: LoaderConfig,
    pool: Arc<rayon::ThreadPool>,
    skipped: Arc<Mutex<SkipReport>>,
    dropped_batches: Arc<AtomicU64>,
}

impl<S: Source> Clone for Loader<S> {
    fn clone(&self) -> Self {
        Self {
            source: Arc::clone(&self.source),
            config: self.config.clone(),
            pool: Arc::clone(&self.pool),
            skipped: Arc::clone(&self.skipped),
            dropped_batches: Arc::clone(&self.dropped_batches),
        }
    }
}

impl<S: Source> Loader<S> {
    /// A loader over `source`; fails on a zero batch size, zero workers or a bad shard.
    pub fn new(source: S, config: LoaderConfig) -> Result<Self> {
        if config.batch_size == 0 {
            return Err(DataError::InvalidArgument(
                "batch_size must be at least 1".into(),
            ));
        }
        if config.num_workers == 0 {
            return Err(DataError::InvalidArgument(
                "num_workers must be at least 1".into(),
            ));
        }
        if let Some((rank, world)) = config.shard {
            if world == 0 || rank >= world {
                return Err(DataError::InvalidArgument(format!(
                    "shard rank {rank} is not below world size {world}"
                )));
            }
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.num_workers)
            .thread_name(|i| format!("datasets-loader-{i}"))
            .build()
            .map_err(|e| DataError::InvalidArgument(format!("cannot start decode threads: {e}")))?;
        Ok(Self {
            source: Arc::new(source),
            config,
            pool: Arc::new(pool),
            skipped: Arc::default(),
            dropped_batches: Arc::default(),
        })
    }

    /// The source batches are drawn from.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The configuration.
    pub fn config(&self) -> &LoaderConfig {
        &self.config
    }

    /// Items one epoch visits on this rank.
    pub fn items_per_epoch(&self) -> usize {
        match self.config.shard {
            Some((_, world)) if world > 1 => self.source.len() / world,
            _ => self.source.len(),
        }
    }

    /// Batches per epoch (the last one incomplete unless `drop_last`).
    pub fn steps_per_epoch(&self) -> u64 {
        let items = self.items_per_epoch();
        let full = items / self.config.batch_size;
        let partial = !self.config.drop_last && !items.is_multiple_of(self.config.batch_size);
        (full + usize::from(partial)) as u64
    }

    /// All skipped items so far, over every epoch iterated with this loader.
    pub fn skipped(&self) -> SkipReport {
        self.skipped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Batches [`stream`](Self::stream) dropped for having fewer readable samples than asked.
    pub fn dropped_batches(&self) -> u64 {
        self.dropped_batches.load(Ordering::Relaxed)
    }

    /// The batches from `from` on, epoch after epoch, without end: what a training run reads.
    ///
    /// A batch with fewer than `min_batch` readable samples (its other items unreadable) is
    /// dropped and counted ([`dropped_batches`](Self::dropped_batches)); its items are in the skip
    /// report. After an epoch in which no batch could be formed at all, the stream ends with an
    /// error rather than spinning over unreadable data.
    pub fn stream(&self, from: Position, min_batch: usize) -> Stream<S> {
        Stream {
            loader: self.clone(),
            next_epoch: from.epoch + 1,
            current: Some(self.resume(from)),
            yielded_this_epoch: false,
            whole_epoch: from.step == 0,
            min_batch: min_batch.max(1),
        }
    }

    /// The batches of `epoch`, from its first step.
    pub fn epoch(&self, epoch: u64) -> EpochIter {
        self.resume(Position { epoch, step: 0 })
    }

    /// The batches of `position.epoch` from `position.step` on: exactly those an uninterrupted
    /// run would have produced from that point.
    pub fn resume(&self, position: Position) -> EpochIter {
        let (sender, receiver) = sync_channel(self.config.prefetch.max(1));
        let job = EpochJob {
            source: Arc::clone(&self.source),
            config: self.config.clone(),
            pool: Arc::clone(&self.pool),
            skipped: Arc::clone(&self.skipped),
            steps: self.steps_per_epoch(),
            position,
        };
        let producer = std::thread::Builder::new()
            .name("datasets-loader".into())
            .spawn(move || job.run(|batch| sender.send(batch).is_ok()));
        match producer {
            Ok(handle) => EpochIter {
                receiver: Some(receiver),
                producer: Some(handle),
                spawn_error: None,
            },
            Err(e) => EpochIter {
                receiver: None,
                producer: None,
                spawn_error: Some(DataError::InvalidArgument(format!(
                    "cannot start loader thread: {e}"
                ))),
            },
        }
    }
}

/// Everything the producer thread needs for one epoch.
struct EpochJob<S: Source> {
    source: Arc<S>,
    config: LoaderConfig,
    pool: Arc<rayon::ThreadPool>,
    skipped: Arc<Mutex<SkipReport>>,
    steps: u64,
    position: Position,
}

impl<S: Source> EpochJob<S> {
    /// Produces the batches in order, handing each to `emit` until it returns false.
    fn run(self, mut emit: impl FnMut(Result<Batch>) -> bool) {
        let cfg = &self.config;
        let order = epoch_order(
            self.source.len(),
            cfg.seed,
            self.position.epoch,
            cfg.shuffle,
            cfg.shard,
        );
        for step in self.position.step..self.steps {
            let start = step as usize * cfg.batch_size;
            let end = (start + cfg.batch_size).min(order.len());
            let planned = &order[start..end];
            let position = Position {
                epoch: self.position.epoch,
                step,
            };
            let resume_from = if step + 1 < self.steps {
                Position {
                    epoch: position.epoch,
                    step: step + 1,
                }
            } else {
                Position {
                    epoch: position.epoch + 1,
                    step: 0,
                }
            };
            match self.load_batch(planned, position, resume_from) {
                // Every item failed: they are in the skip report, and there is nothing to yield.
                Ok(None) => continue,
                Ok(Some(batch)) => {
                    if !emit(Ok(batch)) {
                        return;
                    }
                }
                Err(e) => {
                    emit(Err(e));
                    return;
                }
            }
        }
    }

    /// Loads, collates and labels one batch; `None` when every planned item failed.
    fn load_batch(
        &self,
        planned: &[usize],
        position: Position,
        resume_from: Position,
    ) -> Result<Option<Batch>> {
        let (seed, epoch) = (self.config.seed, position.epoch);
        let source = &*self.source;
        let loaded: Vec<(usize, Result<S::Sample>)> = self.pool.install(|| {
            planned
                .par_iter()
                .map(|&i| (i, source.load(i, &mut item_rng(seed, epoch, i))))
                .collect()
        });
        let mut samples = Vec::with_capacity(loaded.len());
        let mut indices = Vec::with_capacity(loaded.len());
        let mut skipped = Vec::new();
        for (index, result) in loaded {
            match result {
                Ok(sample) => {
                    samples.push(sample);
                    indices.push(index);
                }
                Err(e) => skipped.push(SkippedItem {
                    index,
                    item: source.describe(index),
                    reason: e.to_string(),
                }),
            }
        }
        {
            let mut report = self.skipped.lock().unwrap_or_else(PoisonError::into_inner);
            for item in &skipped {
                report.record(item.clone());
            }
        }
        if samples.is_empty() {
            return Ok(None);
        }
        let labels: Vec<u32> = indices.iter().map(|&i| source.label(i)).collect();
        let labels = Tensor::from_vec(labels, indices.len(), &self.config.device)?;
        let inputs = S::Sample::collate(samples, &self.config.device)?;
        Ok(Some(Batch {
            inputs,
            labels,
            indices,
            position,
            resume_from,
            skipped,
        }))
    }
}

/// The batches of a run, epoch after epoch; see [`Loader::stream`].
pub struct Stream<S: Source> {
    loader: Loader<S>,
    current: Option<EpochIter>,
    next_epoch: u64,
    yielded_this_epoch: bool,
    whole_epoch: bool,
    min_batch: usize,
}

impl<S: Source> Iterator for Stream<S> {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let epoch = self.current.as_mut()?;
            match epoch.next() {
                Some(Ok(batch)) if batch.len() < self.min_batch => {
                    self.loader.dropped_batches.fetch_add(1, Ordering::Relaxed);
                }
                Some(Ok(batch)) => {
                    self.yielded_this_epoch = true;
                    return Some(Ok(batch));
                }
                Some(Err(e)) => {
                    self.current = None;
                    return Some(Err(e));
                }
                None => {
                    if self.whole_epoch
                        && !self.yielded_this_epoch
                        && self.loader.steps_per_epoch() > 0
                    {
                        self.current = None;
                        return Some(Err(DataError::InvalidArgument(format!(
                            "epoch {} gave no batch of at least {} readable item(s) ({} item(s) skipped so far): the data is unreadable",
                            self.next_epoch - 1,
                            self.min_batch,
                            self.loader.skipped().count
                        ))));
                    }
                    if self.loader.steps_per_epoch() == 0 {
                        self.current = None;
                        return None;
                    }
                    self.yielded_this_epoch = false;
                    self.whole_epoch = true;
                    self.current = Some(self.loader.epoch(self.next_epoch));
                    self.next_epoch += 1;
                }
            }
        }
    }
}

/// The batches of one epoch, decoded ahead on background threads.
///
/// Dropping it early stops the background work. A batch whose collation fails ends the
/// epoch with that error.
pub struct EpochIter {
    receiver: Option<Receiver<Result<Batch>>>,
    producer: Option<JoinHandle<()>>,
    spawn_error: Option<DataError>,
}

impl Iterator for EpochIter {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.spawn_error.take() {
            return Some(Err(e));
        }
        let received = self.receiver.as_ref()?.recv();
        match received {
            Ok(batch) => Some(batch),
            Err(_) => {
                self.receiver = None;
                let panicked = self
                    .producer
                    .take()
                    .map(|h| h.join().is_err())
                    .unwrap_or(false);
                panicked.then(|| {
                    Err(DataError::decode(
                        "loader",
                        "a source panicked while loading; epoch aborted",
                    ))
                })
            }
        }
    }
}

impl Drop for EpochIter {
    fn drop(&mut self) {
        // Closing the channel makes the producer stop at its next send.
        self.receiver = None;
        if let Some(handle) = self.producer.take() {
            let _ = handle.join();
        }
    }
}
