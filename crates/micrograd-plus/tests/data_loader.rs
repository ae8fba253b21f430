//! DataLoader: coverage, drop_last, determinism across loaders and resumes,
//! fresh orders per epoch, transforms on the worker, clean early drop and
//! error propagation.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use micrograd_plus::data::{Batch, BatchTransform, DataLoader, Dataset, TensorDataset};
use micrograd_plus::{Result, Tensor};
use rand::rngs::StdRng;
use rand::Rng;

/// Sample i has input i (one feature) and target 2i.
fn numbered(n: usize) -> Arc<TensorDataset> {
    let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let y: Vec<f32> = x.iter().map(|v| 2.0 * v).collect();
    Arc::new(TensorDataset::from_vecs(x, &[1], y).unwrap())
}

fn epoch_ids(loader: &DataLoader, epoch: u64) -> Vec<Vec<usize>> {
    loader
        .epoch(epoch)
        .map(|b| {
            let b = b.unwrap();
            let x = b.inputs.to_vec::<f32>();
            assert_eq!(
                b.targets.to_vec::<f32>(),
                x.iter().map(|v| 2.0 * v).collect::<Vec<_>>(),
                "targets travel with their inputs"
            );
            x.iter().map(|&v| v as usize).collect()
        })
        .collect()
}

#[test]
fn every_index_once_per_epoch() {
    for shuffle in [false, true] {
        let loader = DataLoader::new(numbered(103), 10)
            .unwrap()
            .shuffle(shuffle)
            .seed(9);
        assert_eq!(loader.num_batches(), 11);
        for epoch in 0..3 {
            let batches = epoch_ids(&loader, epoch);
            assert_eq!(batches.len(), 11);
            assert!(batches[..10].iter().all(|b| b.len() == 10));
            assert_eq!(batches[10].len(), 3);
            let mut all: Vec<usize> = batches.concat();
            if !shuffle {
                assert_eq!(all, (0..103).collect::<Vec<_>>());
            }
            all.sort();
            assert_eq!(all, (0..103).collect::<Vec<_>>());
        }
    }
}

#[test]
fn drop_last_skips_the_short_batch() {
    let loader = DataLoader::new(numbered(103), 10)
        .unwrap()
        .shuffle(true)
        .seed(1)
        .drop_last(true);
    assert_eq!(loader.num_batches(), 10);
    let batches = epoch_ids(&loader, 0);
    assert_eq!(batches.len(), 10);
    assert!(batches.iter().all(|b| b.len() == 10));
    let mut all = batches.concat();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 100);
    // The 3 left out are exactly the tail of the epoch's order.
    let order = loader.order(0);
    assert_eq!(batches.concat(), order[..100].to_vec());

    // Fewer samples than one batch: nothing at all.
    let tiny = DataLoader::new(numbered(3), 10).unwrap().drop_last(true);
    assert_eq!(tiny.epoch(0).count(), 0);
}

#[test]
fn same_seed_same_batches_new_epoch_new_order() {
    let make = |seed| {
        DataLoader::new(numbered(64), 8)
            .unwrap()
            .shuffle(true)
            .seed(seed)
    };
    let (a, b) = (make(42), make(42));
    for epoch in [0, 1, 7] {
        assert_eq!(epoch_ids(&a, epoch), epoch_ids(&b, epoch));
    }
    assert_ne!(epoch_ids(&a, 0), epoch_ids(&a, 1));
    assert_ne!(epoch_ids(&a, 0), epoch_ids(&make(43), 0));
    // Epoch e's order does not depend on which epochs were drawn before:
    // a fresh loader asked for epoch 7 first agrees.
    assert_eq!(epoch_ids(&make(42), 7), epoch_ids(&a, 7));
    // Background thread and inline preparation give the same batches.
    assert_eq!(epoch_ids(&a.clone().prefetch(0), 3), epoch_ids(&a, 3));
    assert_eq!(epoch_ids(&a.clone().prefetch(5), 3), epoch_ids(&a, 3));
}

#[test]
fn resume_mid_epoch_matches_uninterrupted_run() {
    let noisy: BatchTransform = Arc::new(|b: Batch, rng: &mut StdRng| {
        let n = b.len();
        let noise: Vec<f32> = (0..n).map(|_| rng.r#gen::<f32>()).collect();
        Ok(Batch {
            inputs: b.inputs.add(&Tensor::from_vec(noise, &[n, 1])?)?,
            targets: b.targets,
        })
    });
    let loader = DataLoader::new(numbered(50), 6)
        .unwrap()
        .shuffle(true)
        .seed(3)
        .transform(noisy);
    let full: Vec<Vec<f32>> = loader
        .epoch(2)
        .map(|b| b.unwrap().inputs.to_vec())
        .collect();
    let tail: Vec<Vec<f32>> = loader
        .epoch_from(2, 4)
        .map(|b| b.unwrap().inputs.to_vec())
        .collect();
    assert_eq!(tail, full[4..].to_vec());
    // The transform's randomness really varies between batches and epochs.
    assert_ne!(full[0], full[1]);
    let other: Vec<f32> = loader.epoch(3).next().unwrap().unwrap().inputs.to_vec();
    assert_ne!(other, full[0]);
    assert_eq!(loader.epoch_from(2, 99).count(), 0);
}

#[test]
fn transform_runs_on_the_worker_thread() {
    let main = std::thread::current().id();
    let ran_elsewhere = Arc::new(AtomicUsize::new(0));
    let flag = ran_elsewhere.clone();
    let loader = DataLoader::new(numbered(20), 5)
        .unwrap()
        .transform(Arc::new(move |b: Batch, _: &mut StdRng| {
            if std::thread::current().id() != main {
                flag.fetch_add(1, Ordering::SeqCst);
            }
            Ok(b)
        }));
    assert_eq!(loader.epoch(0).count(), 4);
    assert_eq!(ran_elsewhere.load(Ordering::SeqCst), 4);
}

/// Counts batches built and can be slowed down, to watch the worker.
struct Counting {
    inner: Arc<TensorDataset>,
    built: Arc<AtomicUsize>,
    delay: Duration,
}

impl Dataset for Counting {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn get_batch(&self, indices: &[usize]) -> Result<Batch> {
        std::thread::sleep(self.delay);
        self.built.fetch_add(1, Ordering::SeqCst);
        self.inner.get_batch(indices)
    }
}

#[test]
fn dropping_mid_epoch_stops_the_worker() {
    let built = Arc::new(AtomicUsize::new(0));
    let ds = Arc::new(Counting {
        inner: numbered(10_000),
        built: built.clone(),
        delay: Duration::from_millis(1),
    });
    let loader = DataLoader::new(ds, 10).unwrap().prefetch(2);
    let mut it = loader.epoch(0);
    for _ in 0..3 {
        it.next().unwrap().unwrap();
    }
    drop(it); // joins the worker: returns only once it has stopped
    let after_drop = built.load(Ordering::SeqCst);
    // 3 consumed + at most 2 queued + 1 in preparation + 1 blocked on send.
    assert!(after_drop <= 7, "worker built {after_drop} batches");
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        built.load(Ordering::SeqCst),
        after_drop,
        "worker kept running"
    );

    // Dropping before the first batch, and a worker blocked on a full queue.
    let slow_consumer = loader.epoch(1);
    std::thread::sleep(Duration::from_millis(20));
    drop(slow_consumer);
    drop(loader.epoch(2));
}

/// Fails at one index, to check that errors reach the training thread.
struct FailsAt(usize);

impl Dataset for FailsAt {
    fn len(&self) -> usize {
        10
    }
    fn get_batch(&self, indices: &[usize]) -> Result<Batch> {
        if indices.contains(&self.0) {
            return Err(micrograd_plus::Error::argument("FailsAt", "broken sample"));
        }
        numbered(10).get_batch(indices)
    }
}

#[test]
fn errors_and_panics_end_the_epoch_with_an_error() {
    let loader = DataLoader::new(Arc::new(FailsAt(5)), 2).unwrap();
    let items: Vec<_> = loader.epoch(0).collect();
    assert_eq!(items.len(), 3); // batches [0,1], [2,3], then the error
    assert!(items[0].is_ok() && items[1].is_ok());
    assert_eq!(
        items[2].as_ref().unwrap_err().to_string(),
        "FailsAt: broken sample"
    );

    let panicking = DataLoader::new(numbered(10), 2)
        .unwrap()
        .transform(Arc::new(|_: Batch, _: &mut StdRng| -> Result<Batch> {
            panic!("augmentation bug")
        }));
    let items: Vec<_> = panicking.epoch(0).collect();
    assert_eq!(items.len(), 1);
    let msg = items[0].as_ref().unwrap_err().to_string();
    assert!(msg.contains("augmentation bug"), "{msg}");
    assert!(msg.contains("batch 0"), "{msg}");
}
