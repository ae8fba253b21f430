//! What a training run measures: a confusion matrix (and the accuracy it
//! implies), one record per epoch, and the run's history as CSV.

use crate::tensor::Tensor;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Counts of (true class, predicted class) pairs.
///
/// ```
/// use micrograd_plus::{train::metrics::ConfusionMatrix, Tensor};
/// let mut cm = ConfusionMatrix::new(3);
/// let logits = Tensor::new([[2.0f32, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 3.0, 0.0]]).unwrap();
/// cm.add(&logits, &Tensor::new([0.0f32, 1.0, 1.0]).unwrap()).unwrap();
/// assert_eq!(cm.count(1, 2), 1); // a true 1 predicted as 2
/// assert_eq!(cm.total(), 3);
/// assert!((cm.accuracy() - 2.0 / 3.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    classes: usize,
    /// Row-major `counts[true * classes + predicted]`.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// An empty matrix for `classes` classes.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::train::metrics::ConfusionMatrix::new(10).total(), 0);
    /// ```
    pub fn new(classes: usize) -> ConfusionMatrix {
        ConfusionMatrix {
            classes,
            counts: vec![0; classes * classes],
        }
    }

    /// Adds a batch: `logits` `(N, classes)` (the prediction is the arg-max
    /// of each row) and `targets` `(N,)` class indices.
    ///
    /// ```
    /// use micrograd_plus::{train::metrics::ConfusionMatrix, Tensor};
    /// let err = ConfusionMatrix::new(2).add(&Tensor::zeros(&[3, 2]), &Tensor::zeros(&[2])).unwrap_err();
    /// assert!(err.to_string().starts_with("confusion matrix:"));
    /// ```
    pub fn add(&mut self, logits: &Tensor, targets: &Tensor) -> Result<()> {
        let (ls, ts) = (logits.shape(), targets.shape());
        if ls.len() != 2 || ls[1] != self.classes || ts != [ls[0]] {
            return Err(Error::shape(
                "confusion matrix",
                format!(
                    "expected logits (N, {}) and targets (N,), got {ls:?} and {ts:?}",
                    self.classes
                ),
            ));
        }
        let predicted = logits.argmax(Some(1), false)?.to_vec::<f64>();
        for (p, t) in predicted.iter().zip(targets.to_vec::<f64>()) {
            let t = t as usize;
            if t >= self.classes {
                return Err(Error::index(
                    "confusion matrix",
                    format!("target class {t} out of range for {} classes", self.classes),
                ));
            }
            self.counts[t * self.classes + *p as usize] += 1;
        }
        Ok(())
    }

    /// Number of classes.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::train::metrics::ConfusionMatrix::new(4).classes(), 4);
    /// ```
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How many samples of class `truth` were predicted as `predicted`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::train::metrics::ConfusionMatrix::new(2).count(0, 1), 0);
    /// ```
    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        self.counts[truth * self.classes + predicted]
    }

    /// Number of samples counted.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::train::metrics::ConfusionMatrix::new(2).total(), 0);
    /// ```
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Fraction predicted correctly (0 when empty).
    ///
    /// ```
    /// assert_eq!(micrograd_plus::train::metrics::ConfusionMatrix::new(2).accuracy(), 0.0);
    /// ```
    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..self.classes).map(|c| self.count(c, c)).sum();
        correct as f64 / self.total().max(1) as f64
    }
}

/// One epoch's figures, as `mgp train --json` prints them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by batch size).
    pub train_loss: f64,
    /// Training accuracy over the epoch (as measured while training).
    pub train_acc: f64,
    /// Mean loss on the evaluation set.
    pub test_loss: f64,
    /// Accuracy on the evaluation set.
    pub test_acc: f64,
    /// Wall time of the training part of the epoch.
    pub epoch_seconds: f64,
    /// Training samples per second.
    pub samples_per_second: f64,
}

/// One training step: its loss and the learning rate it used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 1-based step over the whole run.
    pub step: usize,
    /// 1-based epoch the step belongs to.
    pub epoch: usize,
    /// The step's batch loss.
    pub loss: f64,
    /// The learning rate of the step's update.
    pub lr: f64,
}

/// Every epoch of a run, in order, and every training step.
///
/// ```
/// use micrograd_plus::train::metrics::{EpochMetrics, History, StepRecord};
/// let mut h = History::default();
/// h.steps.push(StepRecord { step: 1, epoch: 1, loss: 0.5, lr: 0.01 });
/// h.push(EpochMetrics { epoch: 1, train_loss: 0.5, train_acc: 0.8, test_loss: 0.4,
///     test_acc: 0.85, epoch_seconds: 0.1, samples_per_second: 1e5 });
/// assert!(h.to_csv().starts_with("epoch,train_loss,train_acc,test_loss,test_acc"));
/// assert!(h.to_csv().lines().nth(1).unwrap().ends_with(",0.01"));
/// assert_eq!(h.steps_to_csv(), "step,epoch,loss,lr\n1,1,0.5,0.01\n");
/// assert_eq!(h.best_test_acc(), Some(0.85));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The epochs so far.
    pub epochs: Vec<EpochMetrics>,
    /// Every training step so far (absent from checkpoints written before
    /// steps were recorded).
    #[serde(default)]
    pub steps: Vec<StepRecord>,
}

impl History {
    /// Records an epoch.
    pub fn push(&mut self, m: EpochMetrics) {
        self.epochs.push(m);
    }

    /// The best evaluation accuracy so far.
    pub fn best_test_acc(&self) -> Option<f64> {
        self.epochs.iter().map(|m| m.test_acc).reduce(f64::max)
    }

    /// The learning rate of an epoch's last step, when steps were recorded.
    pub fn last_lr_of(&self, epoch: usize) -> Option<f64> {
        self.steps
            .iter()
            .rev()
            .find(|s| s.epoch == epoch)
            .map(|s| s.lr)
    }

    /// The history as CSV with a header line, one row per epoch; `lr` is
    /// the learning rate of the epoch's last step (empty when unknown).
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "epoch,train_loss,train_acc,test_loss,test_acc,epoch_seconds,samples_per_second,lr\n",
        );
        for m in &self.epochs {
            let lr = self
                .last_lr_of(m.epoch)
                .map_or(String::new(), |lr| lr.to_string());
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{lr}",
                m.epoch,
                m.train_loss,
                m.train_acc,
                m.test_loss,
                m.test_acc,
                m.epoch_seconds,
                m.samples_per_second
            );
        }
        s
    }

    /// Every step as CSV (`step,epoch,loss,lr`), the run's `steps.csv`.
    pub fn steps_to_csv(&self) -> String {
        let mut s = String::from("step,epoch,loss,lr\n");
        for r in &self.steps {
            let _ = writeln!(s, "{},{},{},{}", r.step, r.epoch, r.loss, r.lr);
        }
        s
    }
}
