//! [`Loader`]: cuts a [`Split`] into shuffled, augmented, normalised [`Batch`]es, made by
//! background threads ahead of the consumer through bounded queues.
//!
//! Determinism: the order of an epoch depends only on `(seed, epoch)`, and the augmentation
//! of the image at position `p` of that order only on `(seed, epoch, p)`. Worker `w` of `n`
//! makes batches `start + w`, `start + w + n`, … into its own queue, and the iterator takes
//! them round-robin, so batches arrive in order and equal whatever the thread timing, the
//! worker count, or the batch an epoch starts at (resume with [`Loader::epoch_from`]).

use super::{Augment, Rng, Split};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A batch of `shape = [B, C, H, W]` images and their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// `B·C·H·W` values, augmented and (if asked) normalised.
    pub images: Vec<f32>,
    pub labels: Vec<u32>,
    pub shape: [usize; 4],
    /// The batch's position in its epoch (0-based).
    pub index: usize,
}

impl Batch {
    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the batch holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Makes the batches of a split, epoch after epoch.
#[derive(Clone, Debug)]
pub struct Loader {
    split: Arc<Split>,
    batch: usize,
    shuffle: bool,
    augment: Augment,
    mean: Arc<[f32]>,
    std: Arc<[f32]>,
    seed: u64,
    workers: usize,
    drop_last: bool,
    queue: usize,
}

impl Loader {
    /// A loader over `split` making batches of `batch` images (at least 1), shuffled each
    /// epoch if `shuffle`, augmented by `augment` and normalised with `mean`/`std` (one per
    /// channel; the dataset's). `workers` background threads make the batches (0: the
    /// iterating thread makes them itself). The last batch of an epoch may be smaller unless
    /// [`Loader::drop_last`] is set.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        split: Arc<Split>,
        batch: usize,
        shuffle: bool,
        augment: Augment,
        mean: Vec<f32>,
        std: Vec<f32>,
        seed: u64,
        workers: usize,
    ) -> Loader {
        Loader {
            split,
            batch: batch.max(1),
            shuffle,
            augment,
            mean: mean.into(),
            std: std.into(),
            seed,
            workers,
            drop_last: false,
            queue: 2,
        }
    }

    /// Leaves out the last, smaller batch of each epoch.
    pub fn drop_last(mut self, drop_last: bool) -> Loader {
        self.drop_last = drop_last;
        self
    }

    /// How many finished batches each worker may hold ahead of the consumer (default 2).
    pub fn queue_depth(mut self, depth: usize) -> Loader {
        self.queue = depth.max(1);
        self
    }

    /// The split batches are made from.
    pub fn split(&self) -> &Split {
        &self.split
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch
    }

    /// The number of batches in an epoch.
    pub fn batches_per_epoch(&self) -> usize {
        let n = self.split.len();
        if self.drop_last {
            n / self.batch
        } else {
            n.div_ceil(self.batch)
        }
    }

    /// The number of images an epoch yields.
    pub fn images_per_epoch(&self) -> usize {
        if self.drop_last {
            self.batches_per_epoch() * self.batch
        } else {
            self.split.len()
        }
    }

    /// The order in which epoch `epoch` visits the split's images.
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.split.len()).collect();
        if self.shuffle {
            Rng::stream(&[self.seed, SHUFFLE_KEY, epoch]).shuffle(&mut order);
        }
        order
    }

    /// Batch `index` of epoch `epoch`, made on the calling thread.
    pub fn batch(&self, epoch: u64, index: usize) -> Batch {
        self.producer(epoch).make(index)
    }

    /// The batches of epoch `epoch`.
    pub fn epoch(&self, epoch: u64) -> Batches {
        self.epoch_from(epoch, 0)
    }

    /// The batches of epoch `epoch` from batch `start` on (to resume mid-epoch); the same
    /// batches as the tail of [`Loader::epoch`].
    pub fn epoch_from(&self, epoch: u64, start: usize) -> Batches {
        let producer = Arc::new(self.producer(epoch));
        let end = self.batches_per_epoch();
        let start = start.min(end);
        let workers = self.workers.min(end - start);
        let mut receivers = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let (sender, receiver) = sync_channel(self.queue);
            let producer = Arc::clone(&producer);
            let spawned = std::thread::Builder::new()
                .name(format!("resc-data-{w}"))
                .spawn(move || {
                    for index in (start + w..end).step_by(workers) {
                        if sender.send(producer.make(index)).is_err() {
                            return; // The consumer went away.
                        }
                    }
                });
            match spawned {
                Ok(handle) => {
                    receivers.push(receiver);
                    handles.push(handle);
                }
                // No thread to be had: make the batches on the consumer's thread instead.
                Err(_) => {
                    receivers.clear();
                    break;
                }
            }
        }
        Batches {
            producer,
            receivers,
            handles,
            start,
            next: start,
            end,
        }
    }

    fn producer(&self, epoch: u64) -> Producer {
        Producer {
            split: Arc::clone(&self.split),
            order: self.order(epoch),
            batch: self.batch,
            augment: self.augment,
            mean: Arc::clone(&self.mean),
            std: Arc::clone(&self.std),
            seed: self.seed,
            epoch,
        }
    }
}

const SHUFFLE_KEY: u64 = 0x5348_5546;
const AUGMENT_KEY: u64 = 0x4155_474D;

/// Everything needed to make any batch of one epoch.
struct Producer {
    split: Arc<Split>,
    order: Vec<usize>,
    batch: usize,
    augment: Augment,
    mean: Arc<[f32]>,
    std: Arc<[f32]>,
    seed: u64,
    epoch: u64,
}

impl Producer {
    fn make(&self, index: usize) -> Batch {
        let first = (index * self.batch).min(self.order.len());
        let last = (first + self.batch).min(self.order.len());
        let shape = self.split.shape;
        let mut images = Vec::with_capacity((last - first) * self.split.image_len());
        let mut labels = Vec::with_capacity(last - first);
        let mut out = Vec::new();
        for (position, &sample) in self.order[first..last].iter().enumerate() {
            let position = (first + position) as u64;
            let mut rng = Rng::stream(&[self.seed, AUGMENT_KEY, self.epoch, position]);
            self.augment.apply(
                self.split.image(sample),
                shape,
                &mut rng,
                &self.mean,
                &self.std,
                &mut out,
            );
            images.extend_from_slice(&out);
            labels.push(self.split.labels[sample]);
        }
        Batch {
            images,
            shape: [labels.len(), shape[0], shape[1], shape[2]],
            labels,
            index,
        }
    }
}

/// The batches of one epoch, in order (an iterator; dropping it stops the workers).
pub struct Batches {
    producer: Arc<Producer>,
    receivers: Vec<Receiver<Batch>>,
    handles: Vec<JoinHandle<()>>,
    start: usize,
    next: usize,
    end: usize,
}

impl Iterator for Batches {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.next >= self.end {
            return None;
        }
        let index = self.next;
        self.next += 1;
        let worker = (index - self.start).checked_rem(self.receivers.len());
        let received = worker.and_then(|w| self.receivers[w].recv().ok());
        // A worker that died (it cannot, short of a bug) is replaced by this thread.
        Some(received.unwrap_or_else(|| self.producer.make(index)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches {}

impl Drop for Batches {
    fn drop(&mut self) {
        // Closing the queues makes every blocked worker's `send` fail, so it returns.
        self.receivers.clear();
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(n: usize) -> Arc<Split> {
        let shape = [2, 3, 3];
        let images = (0..n * 18).map(|v| (v % 97) as f32 / 97.0).collect();
        let labels = (0..n as u32).map(|i| i % 3).collect();
        Arc::new(Split {
            images,
            labels,
            shape,
        })
    }

    fn loader(workers: usize) -> Loader {
        Loader::new(
            split(23),
            4,
            true,
            Augment {
                pad: 1,
                ..Augment::cifar()
            },
            vec![0.5, 0.4],
            vec![0.2, 0.3],
            9,
            workers,
        )
    }

    #[test]
    fn epochs_cover_the_split_once() {
        let l = loader(2);
        assert_eq!(l.batches_per_epoch(), 6);
        let batches: Vec<Batch> = l.epoch(0).collect();
        assert_eq!(batches.len(), 6);
        assert_eq!(batches[5].shape, [3, 2, 3, 3]);
        assert_eq!(batches[0].shape, [4, 2, 3, 3]);
        let labels: Vec<u32> = batches.iter().flat_map(|b| b.labels.clone()).collect();
        let order = l.order(0);
        let expected: Vec<u32> = order.iter().map(|&i| i as u32 % 3).collect();
        assert_eq!(labels, expected);
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, (0..23).collect::<Vec<_>>());
        assert_ne!(l.order(0), l.order(1));
        assert_eq!(l.clone().drop_last(true).epoch(0).count(), 5);
    }

    #[test]
    fn same_batches_whatever_the_workers() {
        let reference: Vec<Batch> = loader(0).epoch(3).collect();
        for workers in [1, 2, 5, 16] {
            let got: Vec<Batch> = loader(workers).queue_depth(1).epoch(3).collect();
            assert_eq!(got, reference, "{workers} workers");
        }
        let other: Vec<Batch> = loader(2).epoch(4).collect();
        assert_ne!(other, reference);
    }

    #[test]
    fn resume_mid_epoch() {
        let l = loader(3);
        let all: Vec<Batch> = l.epoch(1).collect();
        let tail: Vec<Batch> = l.epoch_from(1, 4).collect();
        assert_eq!(tail, all[4..]);
        assert_eq!(l.batch(1, 2), all[2]);
        assert_eq!(l.epoch_from(1, 99).count(), 0);
    }

    #[test]
    fn dropping_early_stops_the_workers() {
        let l = loader(2);
        let mut batches = l.epoch(0);
        assert_eq!(batches.next().map(|b| b.index), Some(0));
        drop(batches); // Must return: the workers see their queues closed.
    }

    #[test]
    fn without_shuffle_or_augmentation_batches_are_the_normalised_split() {
        let s = split(5);
        let l = Loader::new(
            s.clone(),
            2,
            false,
            Augment::none(),
            vec![0.5, 0.5],
            vec![0.5, 0.5],
            0,
            1,
        );
        let images: Vec<f32> = l.epoch(7).flat_map(|b| b.images).collect();
        let expected: Vec<f32> = s.images.iter().map(|v| (v - 0.5) / 0.5).collect();
        assert_eq!(images, expected);
    }
}
