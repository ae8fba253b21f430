//! Anomaly mode inside a training loop ([`crate::tensor::anomaly`]): the
//! two places a step hands what it found to the doctor, shared by the
//! classifiers' [`crate::train::trainer::Trainer`] and the GPT loop.
//!
//! A step runs with anomaly mode on when asked (`mgp train --anomaly`) or
//! when the doctor is strict. After the forward pass, the first op that
//! made an inf or a NaN becomes a numerical-instability warning naming the
//! op and its input shapes (an error in strict mode, or without a doctor);
//! a backward rule that makes one stops the backward pass, and the doctor
//! records it before the error ends the run.

use super::{Doctor, DoctorMode};
use crate::tensor::anomaly::take_anomaly;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Whether a step runs in anomaly mode: asked for, or a strict doctor.
///
/// ```
/// use micrograd_plus::train::doctor::{anomaly_steps::wanted, Doctor, DoctorConfig, DoctorMode};
/// let strict = Doctor::new(DoctorConfig::new(DoctorMode::Strict, Some(10)));
/// assert!(wanted(false, Some(&strict)));
/// assert!(!wanted(false, None));
/// ```
pub fn wanted(asked: bool, doctor: Option<&Doctor>) -> bool {
    asked || doctor.is_some_and(|d| d.config().mode == DoctorMode::Strict)
}

/// After the forward pass and the loss: reports the first op that made an
/// inf or a NaN, if one did, to the doctor (an error when it is strict),
/// or, without a doctor, returns it as an error.
///
/// ```
/// use micrograd_plus::tensor::anomaly::detect_anomaly;
/// use micrograd_plus::train::doctor::anomaly_steps::after_forward;
/// use micrograd_plus::Tensor;
/// let _anomaly = detect_anomaly();
/// let _loss = Tensor::new([0.0f32]).unwrap().log().sum();
/// let err = after_forward(None).unwrap_err().to_string();
/// assert!(err.starts_with("anomaly mode: the forward of log"), "{err}");
/// ```
pub fn after_forward(doctor: Option<&mut Doctor>) -> Result<()> {
    let Some(anomaly) = take_anomaly() else {
        return Ok(());
    };
    match doctor {
        Some(d) => d.report_anomaly(&anomaly).map(drop),
        None => Err(Error::Training(format!("anomaly mode: {anomaly}"))),
    }
}

/// `loss.backward()`; when it fails in anomaly mode, the doctor first
/// records the op that made the inf or NaN (a strict doctor's error is the
/// one returned then).
///
/// ```
/// use micrograd_plus::tensor::anomaly::detect_anomaly;
/// use micrograd_plus::train::doctor::{anomaly_steps::backward, Cause, Doctor, DoctorConfig, DoctorMode};
/// use micrograd_plus::Tensor;
/// let mut doctor = Doctor::new(DoctorConfig::new(DoctorMode::Warn, None));
/// let _anomaly = detect_anomaly();
/// let x = Tensor::new([0.0f32]).unwrap().requires_grad(true);
/// let loss = doctor.watch(|| x.sqrt().sum()); // sqrt(0) = 0, its slope is inf
/// assert!(backward(&loss, Some(&mut doctor)).is_err());
/// assert_eq!(doctor.diagnoses()[0].cause, Cause::NumericalInstability);
/// ```
pub fn backward(loss: &Tensor, doctor: Option<&mut Doctor>) -> Result<()> {
    let Err(error) = loss.backward() else {
        return Ok(());
    };
    if let (Some(d), Some(anomaly)) = (doctor, take_anomaly()) {
        d.report_anomaly(&anomaly)?;
    }
    Err(error)
}
