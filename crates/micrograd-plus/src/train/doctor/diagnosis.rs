//! What the doctor says: a [`Diagnosis`] names the failure ([`Cause`]), the
//! step it was first seen at, the layer, the numbers behind it and a message
//! with the likely cause and the fix, printable as text or as one JSON object.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The failures the doctor recognises, after the course's diagnosis tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// Steps far too large: the loss climbs or each update rewrites the weights.
    LearningRateTooHigh,
    /// Steps far too small: the loss sits at its first value.
    LearningRateTooLow,
    /// The gradient norm has grown by orders of magnitude.
    ExplodingGradients,
    /// The first layers get almost no gradient compared to the last.
    VanishingGradients,
    /// Most units of a ReLU layer output 0 for every input.
    DyingRelu,
    /// Most outputs of a sigmoid or tanh sit in its flat tails.
    SaturatedActivation,
    /// A loss or gradient became inf or NaN without a divergence before it.
    NumericalInstability,
    /// Each step's gradient is mostly the previous steps' gradients.
    ForgottenZeroGrad,
    /// The very first loss is far above chance level.
    BadInitialisation,
    /// The inputs are far from mean 0 and unit spread.
    UnnormalisedInputs,
    /// The loss has not moved from its first value although the weights do.
    LossStuck,
}

impl Cause {
    /// Every cause, in a fixed order.
    pub const ALL: [Cause; 11] = [
        Cause::LearningRateTooHigh,
        Cause::LearningRateTooLow,
        Cause::ExplodingGradients,
        Cause::VanishingGradients,
        Cause::DyingRelu,
        Cause::SaturatedActivation,
        Cause::NumericalInstability,
        Cause::ForgottenZeroGrad,
        Cause::BadInitialisation,
        Cause::UnnormalisedInputs,
        Cause::LossStuck,
    ];

    /// The cause's name as the JSON and CSV write it (`"learning-rate-too-high"`).
    ///
    /// ```
    /// use micrograd_plus::train::doctor::Cause;
    /// assert_eq!(Cause::ForgottenZeroGrad.name(), "forgotten-zero-grad");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Cause::LearningRateTooHigh => "learning-rate-too-high",
            Cause::LearningRateTooLow => "learning-rate-too-low",
            Cause::ExplodingGradients => "exploding-gradients",
            Cause::VanishingGradients => "vanishing-gradients",
            Cause::DyingRelu => "dying-relu",
            Cause::SaturatedActivation => "saturated-activation",
            Cause::NumericalInstability => "numerical-instability",
            Cause::ForgottenZeroGrad => "forgotten-zero-grad",
            Cause::BadInitialisation => "bad-initialisation",
            Cause::UnnormalisedInputs => "unnormalised-inputs",
            Cause::LossStuck => "loss-stuck",
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One warning of the doctor.
///
/// ```
/// use micrograd_plus::train::doctor::{Cause, Diagnosis};
/// let d = Diagnosis {
///     cause: Cause::DyingRelu,
///     step: 120,
///     layer: Some("1".into()),
///     numbers: [("dead_fraction".to_string(), 0.99)].into(),
///     message: "99% of the units never fire".into(),
/// };
/// assert_eq!(d.to_string(), "doctor: dying-relu at step 120 in layer 1: 99% of the units never fire");
/// let json = d.to_json();
/// assert!(json.starts_with(r#"{"cause":"dying-relu","step":120,"layer":"1","#), "{json}");
/// assert_eq!(Diagnosis::from_json(&json).unwrap(), d);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// What went wrong.
    pub cause: Cause,
    /// The training step (1-based) at which it was first seen.
    pub step: usize,
    /// The layer (parameter path such as `"0"` or `"blocks.1.mlp"`), when
    /// one layer is concerned.
    pub layer: Option<String>,
    /// The measurements behind the diagnosis, by name (finite values only:
    /// an inf or NaN is told in the message).
    pub numbers: BTreeMap<String, f64>,
    /// The explanation: what was seen, the likely cause, the fix.
    pub message: String,
}

impl Diagnosis {
    /// The diagnosis as one line of JSON.
    pub fn to_json(&self) -> String {
        // Strings, integers and finite floats: nothing can fail.
        serde_json::to_string(self).expect("a diagnosis serialises")
    }

    /// Reads a diagnosis written by [`Diagnosis::to_json`].
    pub fn from_json(line: &str) -> crate::Result<Diagnosis> {
        serde_json::from_str(line)
            .map_err(|e| crate::Error::argument("Diagnosis::from_json", e.to_string()))
    }
}

impl std::fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "doctor: {} at step {}", self.cause, self.step)?;
        if let Some(layer) = &self.layer {
            write!(f, " in layer {layer}")?;
        }
        write!(f, ": {}", self.message)
    }
}
