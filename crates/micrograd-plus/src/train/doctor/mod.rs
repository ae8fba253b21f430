//! The training doctor: watches cheap signals while a model trains and says,
//! once and the moment it is first seen, what is going wrong, why, and how
//! to fix it: a learning rate too high or too low, exploding or vanishing
//! gradients, dying ReLUs, saturated sigmoids, numerical instability in a
//! softmax or log, a forgotten `zero_grad`, a bad initialisation scale,
//! unnormalised inputs, a loss stuck at its first value.
//!
//! | file | contents |
//! |---|---|
//! | [`anomaly_steps`] | anomaly mode in a training step: the first op that made an inf or NaN |
//! | [`diagnosis`] | `Cause` and `Diagnosis`: the typed warnings, as text and JSON |
//! | [`signals`] | what is measured (norms, update ratios, input statistics) and `doctor.csv` |
//! | [`detectors`] | the rules from measurements to diagnoses |
//! | [`breakage`] | `Breakage`: each failure reproduced on purpose |
//! | [`report`] | reading a run folder back: text report and `doctor.png` |
//!
//! A loop calls three methods per step: [`Doctor::forward`] (or
//! [`Doctor::watch`]) around the forward pass, [`Doctor::after_backward`]
//! before the optimizer's step and [`Doctor::after_update`] after it. Every
//! step costs a pass over the gradients (their norms); every
//! [`DoctorConfig::probe_every`] steps a probe step also copies the weights
//! (update ratios) and the previous step's gradients, and reads the inputs
//! and the ReLU/sigmoid/tanh outputs. The doctor only reads: a run with it
//! gives the same numbers as one without. [`super::trainer::Trainer`] runs
//! one when its `doctor` field is set.
//!
//! ```
//! use micrograd_plus::nn::{loss::CrossEntropyLoss, Linear, Module, ReLU, Sequential};
//! use micrograd_plus::optim::{Optimizer, SGD, SGDConfig};
//! use micrograd_plus::train::doctor::{Cause, Doctor, DoctorConfig, DoctorMode};
//! use micrograd_plus::Tensor;
//! micrograd_plus::manual_seed(0);
//! let model = Sequential::new().layer(Linear::new(4, 16, true)).layer(ReLU).layer(Linear::new(16, 3, true));
//! // A learning rate of 100: far too high.
//! let mut opt = SGD::new(model.parameters(), SGDConfig { lr: 100.0, ..Default::default() })?;
//! let mut doctor = Doctor::new(DoctorConfig::new(DoctorMode::Warn, Some(3)));
//! let (x, y) = (Tensor::rand(&[8, 4], 1), Tensor::new([0.0f32, 1., 2., 0., 1., 2., 0., 1.])?);
//! for _ in 0..3 {
//!     opt.zero_grad();
//!     let logits = doctor.forward(&model, &x)?;
//!     let loss = CrossEntropyLoss::new().forward(&logits, &y)?;
//!     loss.backward()?;
//!     doctor.after_backward(&model);
//!     opt.step()?;
//!     for d in doctor.after_update(&model, loss.item()?)? {
//!         eprintln!("{d}");
//!     }
//! }
//! assert_eq!(doctor.diagnoses()[0].cause, Cause::LearningRateTooHigh);
//! assert_eq!(doctor.diagnoses()[0].step, 1);
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

pub mod anomaly_steps;
pub mod breakage;
pub mod detectors;
pub mod diagnosis;
pub mod report;
pub mod signals;

pub use breakage::Breakage;
pub use diagnosis::{Cause, Diagnosis};

use crate::nn::observe::{record_activations, ActivationKind, ActivationRecord};
use crate::nn::Module;
use crate::tensor::anomaly::Anomaly;
use crate::tensor::Tensor;
use crate::{Error, Result};
use detectors::{ActivationSummary, Detectors, Observation};
use signals::Signal;
use std::collections::BTreeMap;
use std::path::Path;

/// How the doctor reacts to a problem.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DoctorMode {
    /// No doctor: nothing is measured.
    #[default]
    Off,
    /// Report each problem once and carry on.
    Warn,
    /// Report the first problem and stop the run with an error.
    Strict,
}

impl std::str::FromStr for DoctorMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "off" => Ok(DoctorMode::Off),
            "warn" => Ok(DoctorMode::Warn),
            "strict" => Ok(DoctorMode::Strict),
            _ => Err(Error::argument(
                "doctor",
                format!("unknown mode {s:?}: expected off, warn or strict"),
            )),
        }
    }
}

/// The doctor's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoctorConfig {
    /// Off, warn or strict.
    pub mode: DoctorMode,
    /// Number of classes of a classifier (the chance level is `ln classes`);
    /// `None` for other losses.
    pub classes: Option<usize>,
    /// A probe step every this many steps (and the first step).
    pub probe_every: usize,
    /// Probe steps per activation window (a unit is dead when it is never
    /// positive over a whole window).
    pub activation_window: usize,
}

impl DoctorConfig {
    /// The defaults: a probe every 10 steps, windows of 5 probes.
    ///
    /// ```
    /// use micrograd_plus::train::doctor::{DoctorConfig, DoctorMode};
    /// assert_eq!(DoctorConfig::new(DoctorMode::Warn, Some(10)).probe_every, 10);
    /// ```
    pub fn new(mode: DoctorMode, classes: Option<usize>) -> DoctorConfig {
        DoctorConfig {
            mode,
            classes,
            probe_every: 10,
            activation_window: 5,
        }
    }
}

/// One activation layer's window in progress.
struct Window {
    kind: ActivationKind,
    ever_positive: Vec<bool>,
    batches: usize,
    saturated: usize,
    outputs: usize,
}

impl Window {
    fn new(kind: ActivationKind, units: usize) -> Window {
        Window {
            kind,
            ever_positive: vec![false; units],
            batches: 0,
            saturated: 0,
            outputs: 0,
        }
    }
}

/// What one step has measured so far.
#[derive(Default)]
struct StepState {
    observation: Observation,
    activations: Vec<ActivationRecord>,
    weights_before: Option<Vec<(String, Vec<f64>)>>,
}

/// Called with every new diagnosis, as it happens.
pub type Listener = Box<dyn FnMut(&Diagnosis) + Send>;

/// Watches a training loop; see the [module docs](self).
pub struct Doctor {
    config: DoctorConfig,
    detectors: Detectors,
    step: usize,
    current: StepState,
    previous_gradients: Option<Vec<Vec<f64>>>,
    windows: BTreeMap<String, Window>,
    signals: Vec<Signal>,
    diagnoses: Vec<Diagnosis>,
    listener: Option<Listener>,
}

impl Doctor {
    /// A doctor that has seen no step.
    pub fn new(config: DoctorConfig) -> Doctor {
        let detectors = Detectors::new(config.classes);
        let signals = detectors
            .chance_level()
            .map(|c| Signal {
                step: 0,
                name: signals::CHANCE_LEVEL.into(),
                layer: String::new(),
                value: c,
            })
            .into_iter()
            .collect();
        Doctor {
            config: DoctorConfig {
                probe_every: config.probe_every.max(1),
                activation_window: config.activation_window.max(1),
                ..config
            },
            detectors,
            step: 0,
            current: StepState::default(),
            previous_gradients: None,
            windows: BTreeMap::new(),
            signals,
            diagnoses: Vec::new(),
            listener: None,
        }
    }

    /// Calls `f` with each new diagnosis the moment it is made (to print it).
    pub fn on_diagnosis(mut self, f: impl FnMut(&Diagnosis) + Send + 'static) -> Doctor {
        self.listener = Some(Box::new(f));
        self
    }

    /// The settings.
    pub fn config(&self) -> &DoctorConfig {
        &self.config
    }

    /// Whether the doctor measures anything (its mode is not off).
    pub fn is_on(&self) -> bool {
        self.config.mode != DoctorMode::Off
    }

    /// Every diagnosis so far, in order.
    pub fn diagnoses(&self) -> &[Diagnosis] {
        &self.diagnoses
    }

    /// Every signal recorded so far.
    pub fn signals(&self) -> &[Signal] {
        &self.signals
    }

    /// Takes over what an earlier session of the same run recorded (read
    /// back by [`report::DoctorReport::load`]): its signals and warnings are
    /// kept, and its causes are not reported again.
    pub fn continue_from(&mut self, earlier: report::DoctorReport) {
        self.step = earlier.signals.iter().map(|s| s.step).max().unwrap_or(0);
        self.signals = earlier.signals;
        for d in &earlier.diagnoses {
            self.detectors.mark_reported(d.cause);
        }
        self.diagnoses = earlier.diagnoses;
    }

    /// Sets the steps completed so far (a resumed run's loop calls it with
    /// its checkpoint's step), forgetting anything recorded after that step
    /// by a session that was killed before its next checkpoint.
    ///
    /// ```
    /// use micrograd_plus::train::doctor::{Doctor, DoctorConfig, DoctorMode};
    /// let mut doctor = Doctor::new(DoctorConfig::new(DoctorMode::Warn, Some(10)));
    /// doctor.rewind_to(300);
    /// assert_eq!(doctor.steps(), 300);
    /// ```
    pub fn rewind_to(&mut self, completed_steps: usize) {
        self.step = completed_steps;
        self.signals.retain(|s| s.step <= completed_steps);
        self.diagnoses.retain(|d| d.step <= completed_steps);
    }

    /// Steps seen (the number of the last step begun).
    pub fn steps(&self) -> usize {
        self.step
    }

    fn is_probe(&self, step: usize) -> bool {
        step == 1 || step.is_multiple_of(self.config.probe_every)
    }

    /// Starts a step and runs `f`, its forward pass; on a probe step the
    /// ReLU, sigmoid and tanh modules it runs are observed.
    pub fn watch<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.step += 1;
        self.current = StepState::default();
        if !self.is_on() || !self.is_probe(self.step) {
            return f();
        }
        let (out, records) = record_activations(f);
        self.current.activations = records;
        out
    }

    /// [`Doctor::watch`] of `model.forward(inputs)`, also measuring the
    /// inputs' mean and spread on probe steps.
    pub fn forward(&mut self, model: &dyn Module, inputs: &Tensor) -> Result<Tensor> {
        let out = self.watch(|| model.forward(inputs));
        if self.is_on() && self.is_probe(self.step) {
            self.current.observation.input_mean_std = Some(signals::mean_std(inputs));
        }
        out
    }

    /// Measures the gradients (call after `backward`, before the optimizer's step).
    pub fn after_backward(&mut self, model: &dyn Module) {
        if !self.is_on() {
            return;
        }
        let probe = self.is_probe(self.step);
        let (total, per_layer) = signals::grad_norms(model);
        let o = &mut self.current.observation;
        o.grad_norm = total;
        if probe {
            o.layer_grad_norms = per_layer;
            if let Some(before) = self.previous_gradients.take() {
                o.fresh_grad_ratio = signals::fresh_grad_ratio(model, &before);
            }
            self.current.weights_before = Some(signals::weights(model));
        }
        // The next probe compares its gradients with this step's.
        self.previous_gradients = self
            .is_probe(self.step + 1)
            .then(|| signals::gradients(model));
    }

    /// Finishes the step whose loss was `loss` (call after the optimizer's
    /// step): measures the updates, applies the rules, records the signals
    /// and returns the new diagnoses, each also given to the listener. In
    /// strict mode a diagnosis is an error that stops the run.
    pub fn after_update(&mut self, model: &dyn Module, loss: f64) -> Result<Vec<Diagnosis>> {
        if !self.is_on() {
            return Ok(Vec::new());
        }
        let mut state = std::mem::take(&mut self.current);
        let o = &mut state.observation;
        o.step = self.step;
        o.loss = loss;
        if let Some(before) = &state.weights_before {
            o.update_ratios = signals::update_ratios(model, before);
        }
        o.activations = self.fold_activations(state.activations);
        self.record(o);
        let found = self.detectors.check(o);
        for d in &found {
            if let Some(listener) = self.listener.as_mut() {
                listener(d);
            }
        }
        self.diagnoses.extend(found.iter().cloned());
        match (self.config.mode, found.first()) {
            (DoctorMode::Strict, Some(d)) => Err(Error::Training(format!(
                "stopped by the doctor (strict mode): {d}"
            ))),
            _ => Ok(found),
        }
    }

    /// Reports the first op that made an inf or a NaN in this step, found
    /// by anomaly mode ([`crate::tensor::anomaly`]), as a
    /// numerical-instability diagnosis (once per run, given to the
    /// listener); in strict mode it is an error that stops the run.
    ///
    /// ```
    /// use micrograd_plus::tensor::anomaly::{detect_anomaly, take_anomaly};
    /// use micrograd_plus::train::doctor::{Cause, Doctor, DoctorConfig, DoctorMode};
    /// use micrograd_plus::Tensor;
    /// let mut doctor = Doctor::new(DoctorConfig::new(DoctorMode::Warn, None));
    /// let _anomaly = detect_anomaly();
    /// let _loss = doctor.watch(|| (Tensor::new([1000.0f32]).unwrap().exp()).sum());
    /// let d = doctor.report_anomaly(&take_anomaly().unwrap()).unwrap().unwrap();
    /// assert_eq!((d.cause, d.step), (Cause::NumericalInstability, 1));
    /// assert!(d.message.starts_with("anomaly mode: the forward of exp"), "{}", d.message);
    /// ```
    pub fn report_anomaly(&mut self, anomaly: &Anomaly) -> Result<Option<Diagnosis>> {
        let Some(d) = self.detectors.anomaly(self.step.max(1), anomaly) else {
            return Ok(None);
        };
        if let Some(listener) = self.listener.as_mut() {
            listener(&d);
        }
        self.diagnoses.push(d.clone());
        if self.config.mode == DoctorMode::Strict {
            return Err(Error::Training(format!(
                "stopped by the doctor (strict mode): {d}"
            )));
        }
        Ok(Some(d))
    }

    /// Adds this probe's activation records to their windows; returns the
    /// windows that are complete.
    fn fold_activations(&mut self, records: Vec<ActivationRecord>) -> Vec<ActivationSummary> {
        let mut done = Vec::new();
        for r in records {
            let units = r.ever_positive.len();
            let w = self
                .windows
                .entry(r.layer.clone())
                .or_insert_with(|| Window::new(r.kind, units));
            // A layer whose width changed (another input size) starts afresh.
            if w.ever_positive.len() != units || w.kind != r.kind {
                *w = Window::new(r.kind, units);
            }
            for (alive, now) in w.ever_positive.iter_mut().zip(&r.ever_positive) {
                *alive |= now;
            }
            w.batches += 1;
            w.saturated += r.saturated;
            w.outputs += r.outputs;
            if w.batches == self.config.activation_window {
                let units = w.ever_positive.len();
                let dead = w.ever_positive.iter().filter(|a| !**a).count();
                done.push(ActivationSummary {
                    layer: r.layer.clone(),
                    kind: w.kind,
                    units,
                    batches: w.batches,
                    dead_fraction: dead as f64 / units.max(1) as f64,
                    saturated_fraction: w.saturated as f64 / w.outputs.max(1) as f64,
                });
                self.windows.remove(&r.layer);
            }
        }
        done
    }

    /// Keeps the step's measurements as signals.
    fn record(&mut self, o: &Observation) {
        let step = o.step;
        let mut push = |name: &str, layer: &str, value: f64| {
            self.signals.push(Signal {
                step,
                name: name.to_string(),
                layer: layer.to_string(),
                value,
            })
        };
        push(signals::LOSS, "", o.loss);
        push(signals::GRAD_NORM, "", o.grad_norm);
        for (layer, v) in &o.layer_grad_norms {
            push(signals::GRAD_NORM, layer, *v);
        }
        for (layer, v) in &o.update_ratios {
            push(signals::UPDATE_RATIO, layer, *v);
        }
        if let Some(v) = o.fresh_grad_ratio {
            push(signals::FRESH_GRAD_RATIO, "", v);
        }
        if let Some((m, s)) = o.input_mean_std {
            push(signals::INPUT_MEAN, "", m);
            push(signals::INPUT_STD, "", s);
        }
        for a in &o.activations {
            match a.kind {
                ActivationKind::ReLU => push(signals::DEAD_FRACTION, &a.layer, a.dead_fraction),
                _ => push(signals::SATURATED_FRACTION, &a.layer, a.saturated_fraction),
            }
        }
    }

    /// Writes `doctor.csv` (the signals) and `warnings.jsonl` (one diagnosis
    /// per line) into `dir`, each atomically.
    pub fn write_files(&self, dir: &Path) -> Result<()> {
        crate::io::write_atomic(
            &dir.join(report::SIGNALS_FILE),
            signals::signals_to_csv(&self.signals).as_bytes(),
        )?;
        let lines: String = self.diagnoses.iter().map(|d| d.to_json() + "\n").collect();
        crate::io::write_atomic(&dir.join(report::WARNINGS_FILE), lines.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::loss::CrossEntropyLoss;
    use crate::nn::{Linear, Sequential, Sigmoid};
    use crate::optim::{Optimizer, SGDConfig, SGD};

    #[test]
    fn a_sigmoid_fed_huge_inputs_is_reported_saturated_from_its_real_outputs() {
        crate::manual_seed(0);
        let model = Sequential::new()
            .layer(Linear::new(4, 8, true))
            .layer(Sigmoid)
            .layer(Linear::new(8, 3, true));
        let mut opt = SGD::new(
            model.parameters(),
            SGDConfig {
                lr: 1e-3,
                ..Default::default()
            },
        )
        .unwrap();
        let mut doctor = Doctor::new(DoctorConfig::new(DoctorMode::Warn, Some(3)));
        // Inputs of size ~100 put every pre-activation deep in a tail.
        let x = &Tensor::randn(&[16, 4], 1) * 100.0;
        let y = Tensor::from_vec((0..16).map(|i| (i % 3) as f32).collect(), &[16]).unwrap();
        for _ in 0..40 {
            opt.zero_grad();
            let logits = doctor.forward(&model, &x).unwrap();
            let loss = CrossEntropyLoss::new().forward(&logits, &y).unwrap();
            loss.backward().unwrap();
            doctor.after_backward(&model);
            opt.step().unwrap();
            doctor.after_update(&model, loss.item().unwrap()).unwrap();
        }
        let causes: Vec<(Cause, usize, Option<&str>)> = doctor
            .diagnoses()
            .iter()
            .map(|d| (d.cause, d.step, d.layer.as_deref()))
            .collect();
        // Inputs this large are the cause, told first; the window of 5
        // probes (steps 1, 10, 20, 30, 40) ends at step 40.
        assert_eq!(
            causes,
            [
                (Cause::UnnormalisedInputs, 1, None),
                (Cause::SaturatedActivation, 40, Some("1"))
            ]
        );
        let saturated = doctor.diagnoses()[1].numbers["saturated_fraction"];
        assert!(saturated > 0.9, "{saturated}");
        // Signals: a loss and a global gradient norm every step.
        let losses = doctor.signals().iter().filter(|s| s.name == signals::LOSS);
        assert_eq!(losses.count(), 40);
    }
}
