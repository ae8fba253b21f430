//! Opt-in observation of activation outputs, for the training doctor
//! ([`crate::train::doctor`]): while [`record_activations`] runs a forward
//! pass, every `ReLU`, `Sigmoid` and `Tanh` module summarises its output
//! (which units were ever positive, how many outputs sit in a flat tail),
//! named by its path in the [`super::Sequential`] containers around it.
//!
//! Off (the normal case), an activation or a container pays one
//! thread-local lookup per forward and measures nothing. The recording is
//! per thread, so a model running on another thread is never observed by
//! accident.
//!
//! ```
//! use micrograd_plus::nn::{observe::{record_activations, ActivationKind}, Linear, Module, ReLU, Sequential};
//! use micrograd_plus::Tensor;
//! let net = Sequential::new().layer(Linear::from_parts(Tensor::new([[1.0f32], [-1.0]]).unwrap(), None)).layer(ReLU);
//! let (out, records) = record_activations(|| net.forward(&Tensor::new([[1.0f32], [2.0]]).unwrap()));
//! assert_eq!(out.unwrap().shape(), &[2, 2]);
//! assert_eq!(records.len(), 1);
//! assert_eq!((records[0].layer.as_str(), records[0].kind), ("1", ActivationKind::ReLU));
//! // Unit 0 is positive for both inputs, unit 1 (weight -1) never.
//! assert_eq!(records[0].ever_positive, vec![true, false]);
//! ```

use crate::tensor::{with_slice, Tensor};
use std::cell::RefCell;

/// The activations the doctor watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ActivationKind {
    /// Can die: a unit whose input is never positive gets no gradient.
    ReLU,
    /// Saturates near 0 and 1, where its gradient vanishes.
    Sigmoid,
    /// Saturates near -1 and 1, where its gradient vanishes.
    Tanh,
}

impl ActivationKind {
    /// The kind of the activation module named `name` (its type name), if watched.
    ///
    /// ```
    /// use micrograd_plus::nn::observe::ActivationKind;
    /// assert_eq!(ActivationKind::of_module("Tanh"), Some(ActivationKind::Tanh));
    /// assert_eq!(ActivationKind::of_module("SiLU"), None);
    /// ```
    pub fn of_module(name: &str) -> Option<ActivationKind> {
        match name {
            "ReLU" => Some(ActivationKind::ReLU),
            "Sigmoid" => Some(ActivationKind::Sigmoid),
            "Tanh" => Some(ActivationKind::Tanh),
            _ => None,
        }
    }

    /// Whether `y`, an output of this activation, lies where its slope is
    /// nearly 0 (below 2% of its largest slope).
    fn saturated(self, y: f64) -> bool {
        match self {
            ActivationKind::ReLU => false,
            ActivationKind::Sigmoid => !(0.02..=0.98).contains(&y),
            ActivationKind::Tanh => y.abs() > 0.99,
        }
    }
}

/// What one activation module's output looked like in one forward pass.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationRecord {
    /// Dotted path of the module (`"1"`, `"features.3"`), as its parameters
    /// would be named.
    pub layer: String,
    /// Which activation.
    pub kind: ActivationKind,
    /// Per unit (the channel of a 4-D `(N, C, H, W)` output, the last
    /// dimension otherwise): whether any output of that unit was above 0.
    pub ever_positive: Vec<bool>,
    /// Outputs in a flat tail of the activation (see [`ActivationKind`]).
    pub saturated: usize,
    /// Outputs in all.
    pub outputs: usize,
}

#[derive(Default)]
struct Recorder {
    path: Vec<String>,
    records: Vec<ActivationRecord>,
}

thread_local! {
    static RECORDER: RefCell<Option<Recorder>> = const { RefCell::new(None) };
}

/// Runs `f` (a forward pass) with activation recording on for this thread
/// and returns its result with what every watched activation saw, in call
/// order. Calls may nest; the inner one gets only its own records.
pub fn record_activations<R>(f: impl FnOnce() -> R) -> (R, Vec<ActivationRecord>) {
    let outer = RECORDER.with(|r| r.replace(Some(Recorder::default())));
    let out = f();
    let mine = RECORDER.with(|r| r.replace(outer));
    (out, mine.map(|r| r.records).unwrap_or_default())
}

/// Runs `f` (a child module's forward) with `name` appended to the path of
/// the activations it records; just `f()` when nothing records.
pub(crate) fn within<R>(name: usize, f: impl FnOnce() -> R) -> R {
    let recording = RECORDER.with(|r| match r.borrow_mut().as_mut() {
        Some(rec) => {
            rec.path.push(name.to_string());
            true
        }
        None => false,
    });
    let out = f();
    if recording {
        RECORDER.with(|r| {
            if let Some(rec) = r.borrow_mut().as_mut() {
                rec.path.pop();
            }
        });
    }
    out
}

/// Records `output` of the activation module `module` (its type name) when
/// recording is on and the kind is watched.
pub(crate) fn activation(module: &str, output: &Tensor) {
    RECORDER.with(|r| {
        if let Some(rec) = r.borrow_mut().as_mut()
            && let Some(kind) = ActivationKind::of_module(module)
        {
            let layer = rec.path.join(".");
            rec.records.push(summarise(layer, kind, output));
        }
    });
}

/// One pass over `output`: which units were positive, how many outputs saturated.
fn summarise(layer: String, kind: ActivationKind, output: &Tensor) -> ActivationRecord {
    let shape = output.shape();
    // Channels of an image batch; features (the last dim) otherwise.
    let (units, inner) = match shape.len() {
        4 => (shape[1], shape[2] * shape[3]),
        0 => (1, 1),
        _ => (shape[shape.len() - 1], 1),
    };
    let mut ever_positive = vec![false; units.max(1)];
    let mut saturated = 0usize;
    with_slice!(&*output.storage(), |v: T| {
        for (i, &y) in v.iter().enumerate() {
            let y = y.as_f64();
            if y > 0.0 {
                ever_positive[(i / inner) % units.max(1)] = true;
            }
            saturated += usize::from(kind.saturated(y));
        }
    });
    ActivationRecord {
        layer,
        kind,
        ever_positive,
        saturated,
        outputs: output.numel(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Module, ReLU, Sequential, Sigmoid, Tanh};

    #[test]
    fn nothing_is_recorded_outside_a_recording() {
        let (_, records) = record_activations(|| ());
        assert!(records.is_empty());
        // A forward outside any recording leaves nothing for the next one.
        ReLU.forward(&Tensor::ones(&[2, 3])).unwrap();
        let (_, records) = record_activations(|| ());
        assert!(records.is_empty());
    }

    #[test]
    fn nested_containers_name_the_path_and_channels_are_units() {
        let inner = Sequential::new().layer(Tanh).layer(ReLU);
        let net = Sequential::new().layer(Sigmoid).layer(inner);
        // (N=1, C=2, H=1, W=2): channel 0 positive, channel 1 not.
        let x = Tensor::new([[[[1.0f32, -1.0]], [[-8.0, -9.0]]]]).unwrap();
        let (_, records) = record_activations(|| net.forward(&x).unwrap());
        let names: Vec<(&str, ActivationKind)> =
            records.iter().map(|r| (r.layer.as_str(), r.kind)).collect();
        assert_eq!(
            names,
            [
                ("0", ActivationKind::Sigmoid),
                ("1.0", ActivationKind::Tanh),
                ("1.1", ActivationKind::ReLU)
            ]
        );
        // sigmoid(-8), sigmoid(-9) are below 0.02; sigmoid(±1) are not.
        assert_eq!((records[0].saturated, records[0].outputs), (2, 4));
        // Every sigmoid output is positive: both channels alive.
        assert_eq!(records[0].ever_positive, vec![true, true]);
        // tanh(sigmoid(x)) lies in (0, 0.77): positive, not saturated.
        assert_eq!(records[1].saturated, 0);
        assert_eq!(records[2].ever_positive, vec![true, true]);
        let (_, relu_only) = record_activations(|| ReLU.forward(&x).unwrap());
        assert_eq!(relu_only[0].ever_positive, vec![true, false]);
        assert_eq!(relu_only[0].layer, "");
    }
}
