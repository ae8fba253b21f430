//! The training loop for classifiers: train an epoch, evaluate (no graph
//! recorded), keep a history, stop early, and write a checkpoint atomically
//! at the end of every epoch so a run can resume exactly where it stopped.
//!
//! A resumed run gives the same numbers as an uninterrupted one because
//! everything that shapes the next epoch is restored: the parameters, the
//! optimizer's state (moments, step counts), the scheduler's position, the
//! dropout layers' generators, and the loader's order, which depends only
//! on `(seed, epoch)`.
//!
//! ```
//! use micrograd_plus::data::{synthetic, DataLoader};
//! use micrograd_plus::nn::{loss::CrossEntropyLoss, Linear, Module, ReLU, Sequential};
//! use micrograd_plus::optim::{Adam, AdamConfig};
//! use micrograd_plus::train::trainer::Trainer;
//! use std::sync::Arc;
//! micrograd_plus::manual_seed(0);
//! let data = Arc::new(synthetic::make_moons_dataset(200, 0.1, 0)?);
//! let loader = DataLoader::new(data, 32)?.shuffle(true).seed(1);
//! let model = Sequential::new().layer(Linear::new(2, 16, true)).layer(ReLU).layer(Linear::new(16, 2, true));
//! let opt = Adam::new(model.parameters(), AdamConfig { lr: 0.05, ..Default::default() })?;
//! let ce = CrossEntropyLoss::new();
//! let mut trainer = Trainer::new(Box::new(model), Box::new(opt), Box::new(move |y, t| ce.forward(y, t)), 2);
//! for epoch in 1..=20 {
//!     trainer.train_epoch(&loader, epoch, &mut |_| {})?;
//! }
//! let eval = trainer.evaluate(&loader)?;
//! assert!(eval.accuracy > 0.95, "{}", eval.accuracy);
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use super::doctor::{anomaly_steps, Doctor};
use super::metrics::{ConfusionMatrix, EpochMetrics, History, StepRecord};
use crate::data::{Batch, DataLoader};
use crate::io::{load_tensors, save_tensors};
use crate::nn::dropout::{generators, GeneratorState};
use crate::nn::Module;
use crate::optim::{LrScheduler, Optimizer};
use crate::profiler;
use crate::tensor::anomaly::detect_anomaly;
use crate::tensor::{no_grad, Tensor};
use crate::{Error, Result};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// A loss: `(model output, targets) -> scalar`.
pub type LossFn = Box<dyn Fn(&Tensor, &Tensor) -> Result<Tensor> + Send + Sync>;

/// What the loop reports after each training batch (for progress bars).
#[derive(Debug, Clone, Copy)]
pub struct BatchReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// 0-based batch index within the epoch.
    pub batch: usize,
    /// Batches in the epoch.
    pub batches: usize,
    /// This batch's loss.
    pub loss: f64,
    /// Mean loss over the epoch so far.
    pub running_loss: f64,
}

/// The result of [`Trainer::evaluate`].
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Mean loss per sample.
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: f64,
    /// Counts of (true, predicted) classes.
    pub confusion: ConfusionMatrix,
}

/// Options for [`Trainer::fit`].
#[derive(Debug, Clone, Default)]
pub struct FitOptions {
    /// Stop when the test loss has not improved for this many epochs.
    pub early_stopping_patience: Option<usize>,
    /// Write a checkpoint here at the end of every epoch.
    pub checkpoint: Option<std::path::PathBuf>,
}

/// A model, its optimizer (and optional per-epoch scheduler), its loss and
/// the run's history.
pub struct Trainer {
    /// The model being trained.
    pub model: Box<dyn Module>,
    /// Updates the model's parameters.
    pub optimizer: Box<dyn Optimizer>,
    /// Stepped once per epoch, after the epoch, if present (or once per
    /// batch, see `scheduler_per_batch`).
    pub scheduler: Option<Box<dyn LrScheduler>>,
    /// Step the scheduler after every optimizer step instead of after every
    /// epoch (one-cycle and cosine schedules over the whole run's batches).
    pub scheduler_per_batch: bool,
    /// The training objective.
    pub loss: LossFn,
    /// Number of classes, for accuracy and the confusion matrix.
    pub classes: usize,
    /// Every completed epoch.
    pub history: History,
    /// Watches every training step when set (see [`Doctor`]); it only
    /// reads, so the numbers are the same with or without it.
    pub doctor: Option<Doctor>,
    /// Run every step in anomaly mode ([`crate::tensor::anomaly`]): the
    /// first op that makes an inf or a NaN is named (a doctor's warning,
    /// or an error without a doctor). A strict doctor turns it on too.
    pub anomaly: bool,
    /// Clear the gradients before each step (true). False only reproduces
    /// the forgotten-`zero_grad` failure ([`super::doctor::Breakage`]).
    pub zero_grad: bool,
    /// Written into every checkpoint's metadata besides the training
    /// state: what the model is (see [`super::saved`]), set by the recipes.
    pub metadata: HashMap<String, String>,
    /// Whether the first step's graph was checked for tensors the model
    /// does not register ([`check_registered`]).
    registration_checked: bool,
}

/// Tensors that the loss depends on and that want a gradient, but that the
/// model does not register, are neither trained nor saved (a hand-written
/// `visit_parameters` that forgot a layer): an error in debug builds, a
/// warning on stderr in release builds, where the run may be deliberate.
fn check_registered(model: &dyn Module, loss: &Tensor) -> Result<()> {
    let stray = model.unregistered_parameters(loss);
    if stray.is_empty() {
        return Ok(());
    }
    let shapes: Vec<Vec<usize>> = stray.iter().map(|t| t.shape().to_vec()).collect();
    let msg = format!(
        "{} tensor(s) of shape {shapes:?} get gradients but are not parameters of the model, \
         so the optimizer never updates them and checkpoints leave them out: register them \
         in visit_parameters, or use #[derive(Module)]",
        stray.len()
    );
    if cfg!(debug_assertions) {
        Err(Error::Training(msg))
    } else {
        eprintln!("warning: {msg}");
        Ok(())
    }
}

/// How many rows' largest-logit class equals the target.
pub(crate) fn count_correct(logits: &Tensor, targets: &Tensor) -> Result<usize> {
    let predicted = logits.argmax(Some(-1), false)?.to_vec::<f64>();
    Ok(predicted
        .iter()
        .zip(targets.to_vec::<f64>())
        .filter(|(p, t)| **p == *t)
        .count())
}

/// Loss, accuracy and confusion matrix of `model` over `loader`'s batches
/// of `classes` classes, in evaluation mode with no graph recorded;
/// training mode is restored afterwards.
///
/// ```
/// use micrograd_plus::data::{synthetic, DataLoader};
/// use micrograd_plus::nn::{loss::CrossEntropyLoss, Linear};
/// use micrograd_plus::train::trainer::{evaluate, LossFn};
/// let data = std::sync::Arc::new(synthetic::make_moons_dataset(8, 0.1, 0)?);
/// let loader = DataLoader::new(data, 4)?;
/// let ce = CrossEntropyLoss::new();
/// let loss: LossFn = Box::new(move |y, t| ce.forward(y, t));
/// let eval = evaluate(&mut Linear::new(2, 2, true), &loss, 2, &loader)?;
/// assert_eq!(eval.confusion.total(), 8);
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn evaluate(
    model: &mut dyn Module,
    loss: &LossFn,
    classes: usize,
    loader: &DataLoader,
) -> Result<Evaluation> {
    model.eval();
    let result = no_grad(|| {
        let mut confusion = ConfusionMatrix::new(classes);
        let (mut loss_sum, mut seen) = (0.0, 0usize);
        for batch in loader.epoch(0) {
            let batch = batch?;
            let output = model.forward(&batch.inputs)?;
            let n = batch.inputs.shape()[0];
            loss_sum += loss(&output, &batch.targets)?.item()? * n as f64;
            seen += n;
            confusion.add(&output, &batch.targets)?;
        }
        Ok(Evaluation {
            loss: loss_sum / seen.max(1) as f64,
            accuracy: confusion.accuracy(),
            confusion,
        })
    });
    model.train();
    result
}

impl Trainer {
    /// A trainer with an empty history and no scheduler.
    pub fn new(
        model: Box<dyn Module>,
        optimizer: Box<dyn Optimizer>,
        loss: LossFn,
        classes: usize,
    ) -> Trainer {
        Trainer {
            model,
            optimizer,
            scheduler: None,
            scheduler_per_batch: false,
            loss,
            classes,
            history: History::default(),
            doctor: None,
            anomaly: false,
            zero_grad: true,
            metadata: HashMap::new(),
            registration_checked: false,
        }
    }

    /// One pass over `loader`'s batches for epoch `epoch` (1-based; the
    /// shuffle order depends on it): forward, loss, backward, step.
    /// Returns `(mean loss, accuracy, seconds)`; calls `on_batch` after
    /// every step.
    pub fn train_epoch(
        &mut self,
        loader: &DataLoader,
        epoch: usize,
        on_batch: &mut dyn FnMut(BatchReport),
    ) -> Result<(f64, f64, f64)> {
        self.model.train();
        let start = Instant::now();
        let batches = loader.num_batches();
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0usize, 0usize);
        for (i, batch) in loader.epoch(epoch as u64).enumerate() {
            let batch = batch?;
            // The lr this step's update uses (a per-batch scheduler moves it after).
            let lr = self.optimizer.lr();
            let (output, value) = self.train_step(&batch)?;
            self.history.steps.push(StepRecord {
                step: self.history.steps.len() + 1,
                epoch,
                loss: value,
                lr,
            });
            if !value.is_finite() {
                return Err(Error::Training(format!(
                    "training diverged: loss is {value} at epoch {epoch}, batch {i} \
                     (try a lower learning rate or gradient clipping)"
                )));
            }
            let n = batch.inputs.shape()[0];
            loss_sum += value * n as f64;
            correct += count_correct(&output, &batch.targets)?;
            seen += n;
            on_batch(BatchReport {
                epoch,
                batch: i,
                batches,
                loss: value,
                running_loss: loss_sum / seen as f64,
            });
        }
        let seen = seen.max(1) as f64;
        Ok((
            loss_sum / seen,
            correct as f64 / seen,
            start.elapsed().as_secs_f64(),
        ))
    }

    /// One step on `batch`: zero the gradients, forward, loss, backward,
    /// optimizer (and per-batch scheduler) step, each a [`profiler::scope`]
    /// of its own. Returns the model's output and the loss; the caller
    /// decides what a non-finite loss means.
    ///
    /// ```
    /// use micrograd_plus::data::{synthetic, DataLoader};
    /// use micrograd_plus::nn::{loss::CrossEntropyLoss, Linear, Module};
    /// use micrograd_plus::optim::{SGD, SGDConfig};
    /// use micrograd_plus::train::trainer::Trainer;
    /// let data = std::sync::Arc::new(synthetic::make_moons_dataset(8, 0.1, 0)?);
    /// let batch = DataLoader::new(data, 8)?.epoch(1).next().unwrap()?;
    /// let model = Linear::new(2, 2, true);
    /// let opt = SGD::new(model.parameters(), SGDConfig { lr: 0.1, ..Default::default() })?;
    /// let ce = CrossEntropyLoss::new();
    /// let mut trainer = Trainer::new(Box::new(model), Box::new(opt), Box::new(move |y, t| ce.forward(y, t)), 2);
    /// let (output, first) = trainer.train_step(&batch)?;
    /// assert_eq!(output.shape(), &[8, 2]);
    /// assert!(trainer.train_step(&batch)?.1 < first);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn train_step(&mut self, batch: &Batch) -> Result<(Tensor, f64)> {
        let anomaly = anomaly_steps::wanted(self.anomaly, self.doctor.as_ref());
        let _anomaly = anomaly.then(detect_anomaly);
        if self.zero_grad {
            let _zero = profiler::scope("zero_grad");
            self.optimizer.zero_grad();
        }
        let output = {
            let _forward = profiler::scope("forward");
            match self.doctor.as_mut() {
                Some(doctor) => doctor.forward(self.model.as_ref(), &batch.inputs)?,
                None => self.model.forward(&batch.inputs)?,
            }
        };
        let loss = {
            let _loss = profiler::scope("loss");
            (self.loss)(&output, &batch.targets)?
        };
        if anomaly {
            anomaly_steps::after_forward(self.doctor.as_mut())?;
        }
        if !self.registration_checked {
            check_registered(self.model.as_ref(), &loss)?;
            self.registration_checked = true;
        }
        anomaly_steps::backward(&loss, self.doctor.as_mut())?;
        if let Some(doctor) = self.doctor.as_mut() {
            doctor.after_backward(self.model.as_ref());
        }
        {
            let _step = profiler::scope("optimizer.step");
            self.optimizer.step()?;
            if self.scheduler_per_batch
                && let Some(s) = self.scheduler.as_mut()
            {
                s.step(self.optimizer.as_mut());
            }
        }
        let value = loss.item()?;
        if let Some(doctor) = self.doctor.as_mut() {
            // Before the caller's divergence check: the doctor explains it.
            doctor.after_update(self.model.as_ref(), value)?;
        }
        Ok((output, value))
    }

    /// Loss, accuracy and confusion matrix over `loader` (see
    /// [`evaluate`]).
    pub fn evaluate(&mut self, loader: &DataLoader) -> Result<Evaluation> {
        evaluate(self.model.as_mut(), &self.loss, self.classes, loader)
    }

    /// Trains epochs `history.len()+1 ..= epochs`, evaluating on `test`
    /// after each, stepping the scheduler, writing the checkpoint and
    /// calling `on_epoch`. Stops early if asked. Returns the last
    /// evaluation.
    pub fn fit(
        &mut self,
        train: &DataLoader,
        test: &DataLoader,
        epochs: usize,
        options: &FitOptions,
        on_batch: &mut dyn FnMut(BatchReport),
        on_epoch: &mut dyn FnMut(&EpochMetrics, &Evaluation),
    ) -> Result<Option<Evaluation>> {
        let mut last = None;
        let mut best = (f64::INFINITY, 0usize);
        for m in &self.history.epochs {
            if m.test_loss < best.0 {
                best = (m.test_loss, m.epoch);
            }
        }
        if let Some(doctor) = self.doctor.as_mut() {
            // A resumed run's doctor continues at the checkpoint's step.
            doctor.rewind_to(self.history.epochs.len() * train.num_batches());
        }
        for epoch in self.history.epochs.len() + 1..=epochs {
            let (train_loss, train_acc, seconds) = self.train_epoch(train, epoch, on_batch)?;
            let eval = self.evaluate(test)?;
            // The last step can make the weights non-finite while its own
            // loss was finite: never checkpoint such a model.
            if !eval.loss.is_finite() {
                return Err(Error::Training(format!(
                    "training diverged: test loss is {} after epoch {epoch} \
                     (try a lower learning rate or gradient clipping)",
                    eval.loss
                )));
            }
            if let (Some(s), false) = (self.scheduler.as_mut(), self.scheduler_per_batch) {
                s.step_with_metric(eval.loss, self.optimizer.as_mut());
            }
            let metrics = EpochMetrics {
                epoch,
                train_loss,
                train_acc,
                test_loss: eval.loss,
                test_acc: eval.accuracy,
                epoch_seconds: seconds,
                samples_per_second: train.dataset().len() as f64 / seconds.max(1e-9),
            };
            self.history.push(metrics.clone());
            if let Some(path) = &options.checkpoint {
                self.save_checkpoint(path)?;
            }
            on_epoch(&metrics, &eval);
            if eval.loss < best.0 {
                best = (eval.loss, epoch);
            }
            last = Some(eval);
            if let Some(patience) = options.early_stopping_patience
                && epoch - best.1 >= patience
            {
                break;
            }
        }
        Ok(last)
    }

    /// Writes model, optimizer and scheduler state, the dropout generators'
    /// positions and the history to one safetensors file, atomically.
    /// (`&mut`: finding the dropout layers walks the model.)
    pub fn save_checkpoint(&mut self, path: &Path) -> Result<()> {
        let mut tensors = Vec::new();
        let prefixed = |prefix: &str, state: Vec<(String, Tensor)>| {
            state
                .into_iter()
                .map(move |(n, t)| (format!("{prefix}.{n}"), t))
                .collect::<Vec<_>>()
        };
        tensors.extend(prefixed("model", self.model.state_dict()));
        tensors.extend(prefixed("optimizer", self.optimizer.state_dict()));
        if let Some(s) = &self.scheduler {
            tensors.extend(prefixed("scheduler", s.state_dict()));
        }
        let history = serde_json::to_string(&self.history)
            .map_err(|e| Error::argument("save_checkpoint", e.to_string()))?;
        let dropout: Vec<GeneratorState> = generators(self.model.as_mut())
            .iter()
            .map(|g| g.state())
            .collect();
        let dropout = serde_json::to_string(&dropout)
            .map_err(|e| Error::argument("save_checkpoint", e.to_string()))?;
        let mut meta = self.metadata.clone();
        meta.extend([
            (
                "format".to_string(),
                "micrograd-plus checkpoint 1".to_string(),
            ),
            ("history".to_string(), history),
            ("dropout".to_string(), dropout),
        ]);
        save_tensors(path, &tensors, &meta)
    }

    /// Restores everything [`Trainer::save_checkpoint`] wrote; `fit` then
    /// continues with the next epoch.
    pub fn load_checkpoint(&mut self, path: &Path) -> Result<()> {
        let (tensors, meta) = load_tensors(path)?;
        let file_err = |msg: String| Error::File {
            path: path.display().to_string(),
            msg,
        };
        let part = |prefix: &str| crate::io::under_prefix(&tensors, prefix);
        let history = meta
            .get("history")
            .ok_or_else(|| file_err("not a training checkpoint (no history)".into()))?;
        let history: History =
            serde_json::from_str(history).map_err(|e| file_err(format!("corrupt history: {e}")))?;
        // Checkpoints written before the generators were saved have no
        // "dropout" entry: they load, and dropout continues from wherever
        // the fresh model's generators stand.
        let dropout: Option<Vec<GeneratorState>> = meta
            .get("dropout")
            .map(|d| serde_json::from_str(d))
            .transpose()
            .map_err(|e| file_err(format!("corrupt dropout generator states: {e}")))?;
        let gens = generators(self.model.as_mut());
        if let Some(states) = &dropout
            && states.len() != gens.len()
        {
            return Err(file_err(format!(
                "the checkpoint has {} dropout generators, the model {} dropout layers",
                states.len(),
                gens.len()
            )));
        }
        let in_file = |e: Error| file_err(e.to_string());
        self.model
            .load_state_dict(&part("model"))
            .map_err(in_file)?;
        self.optimizer
            .load_state_dict(&part("optimizer"))
            .map_err(in_file)?;
        if let Some(s) = self.scheduler.as_mut() {
            s.load_state_dict(&part("scheduler")).map_err(in_file)?;
        }
        for (g, state) in gens.iter().zip(dropout.iter().flatten()) {
            g.set_state(state).map_err(in_file)?;
        }
        self.history = history;
        Ok(())
    }
}

/// A recipe ready to train: its [`Trainer`], its loaders and how many epochs
/// it runs for. Every milestone recipe builds one.
pub struct TrainingRun {
    /// Model, optimizer, loss and history.
    pub trainer: Trainer,
    /// Shuffled (and possibly augmented) training batches.
    pub train: DataLoader,
    /// The evaluation set in order.
    pub test: DataLoader,
    /// Train up to this epoch.
    pub epochs: usize,
}

impl TrainingRun {
    /// Trains the remaining epochs up to `epochs` (see [`Trainer::fit`]).
    pub fn fit(
        &mut self,
        options: &FitOptions,
        on_batch: &mut dyn FnMut(BatchReport),
        on_epoch: &mut dyn FnMut(&EpochMetrics, &Evaluation),
    ) -> Result<Option<Evaluation>> {
        self.trainer.fit(
            &self.train,
            &self.test,
            self.epochs,
            options,
            on_batch,
            on_epoch,
        )
    }

    /// Numbers of training and evaluation samples.
    pub fn sizes(&self) -> (usize, usize) {
        (self.train.dataset().len(), self.test.dataset().len())
    }
}
