//! Learning-rate schedules (PyTorch's `torch.optim.lr_scheduler`), one per file.
//!
//! A scheduler reads the optimizer's lr once, at construction (the base lr),
//! sets the lr for epoch 0 right away (as PyTorch's constructors do), and on
//! each [`LrScheduler::step`] advances one epoch (or one batch, as you call
//! it) and sets the optimizer's lr for it. Call it after `optimizer.step()`.
//!
//! Every schedule except [`ReduceLROnPlateau`] is computed in **closed form**
//! from the base lr and the epoch (PyTorch's `_get_closed_form_lr`), rather
//! than by PyTorch's chainable "multiply the current lr" rules: the values
//! agree to rounding (~1e-15 relative, checked against PyTorch in
//! `tests/optim_reference.rs`), the state to resume is just the epoch, and
//! an lr set by hand in between is replaced at the next step.
//!
//! ```
//! use micrograd_plus::optim::scheduler::{LrScheduler, StepLR};
//! use micrograd_plus::optim::{Optimizer, SGD, SGDConfig};
//! let mut opt = SGD::new(vec![], SGDConfig { lr: 1.0, ..Default::default() }).unwrap();
//! let mut sched = StepLR::new(&mut opt, 2, 0.5).unwrap();
//! let mut lrs = vec![opt.lr()];
//! for _ in 0..4 {
//!     opt.step().unwrap();
//!     sched.step(&mut opt);
//!     lrs.push(opt.lr());
//! }
//! assert_eq!(lrs, vec![1.0, 1.0, 0.5, 0.5, 0.25]);
//! ```

mod cosine_annealing_lr;
mod exponential_lr;
mod linear_warmup;
mod multi_step_lr;
mod one_cycle_lr;
mod reduce_lr_on_plateau;
mod step_lr;

pub use cosine_annealing_lr::CosineAnnealingLR;
pub use exponential_lr::ExponentialLR;
pub use linear_warmup::LinearWarmup;
pub use multi_step_lr::MultiStepLR;
pub use one_cycle_lr::{Anneal, OneCycleConfig, OneCycleLR};
pub use reduce_lr_on_plateau::{PlateauConfig, PlateauMode, ReduceLROnPlateau, ThresholdMode};
pub use step_lr::StepLR;

use super::{scalar_entry, Optimizer, StateReader};
use crate::{Error, Result, Tensor};

/// What every schedule does: set the optimizer's lr, one epoch at a time.
///
/// State save/restore mirrors [`Optimizer`]'s: named 0-d f64 tensors
/// (`"last_epoch"`, `"base_lr"`, ...) that a checkpoint stores next to the
/// optimizer's; restoring them into a scheduler built with the same settings
/// continues the schedule exactly.
///
/// ```
/// use micrograd_plus::optim::scheduler::{ExponentialLR, LrScheduler};
/// use micrograd_plus::optim::{Optimizer, SGD, SGDConfig};
/// let mut opt = SGD::new(vec![], SGDConfig { lr: 1.0, ..Default::default() }).unwrap();
/// let mut sched = ExponentialLR::new(&mut opt, 0.5).unwrap();
/// sched.step(&mut opt);
/// let saved = sched.state_dict();
/// sched.step(&mut opt);
/// let mut resumed = ExponentialLR::new(&mut opt, 0.5).unwrap();
/// resumed.load_state_dict(&saved).unwrap();
/// resumed.step(&mut opt);
/// assert_eq!((resumed.last_epoch(), resumed.get_lr()), (2, 0.25));
/// ```
pub trait LrScheduler: Send {
    /// Advances one epoch and sets the optimizer's lr for it.
    fn step(&mut self, opt: &mut dyn Optimizer);

    /// The lr this scheduler set last (PyTorch's `get_last_lr()`).
    fn get_lr(&self) -> f64;

    /// Epochs stepped so far (0 right after construction).
    fn last_epoch(&self) -> usize;

    /// The state needed to resume exactly.
    fn state_dict(&self) -> Vec<(String, Tensor)>;

    /// Restores a [`LrScheduler::state_dict`]; a missing, unexpected or
    /// malformed entry is an error naming it, and leaves the scheduler unchanged.
    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<()>;

    /// Whether [`LrScheduler::step_with_metric`] is the step to call
    /// ([`ReduceLROnPlateau`]).
    fn needs_metric(&self) -> bool {
        false
    }

    /// A step that also reports a validation metric; schedules that do not
    /// use one ignore it and [`LrScheduler::step`].
    fn step_with_metric(&mut self, metric: f64, opt: &mut dyn Optimizer) {
        let _ = metric;
        self.step(opt);
    }
}

/// The state of a closed-form schedule: its base lr and epoch.
fn closed_form_state(base_lr: f64, last_epoch: usize) -> Vec<(String, Tensor)> {
    vec![
        scalar_entry("last_epoch", last_epoch as f64),
        scalar_entry("base_lr", base_lr),
    ]
}

/// Reads [`closed_form_state`]'s entries from the front of a reader.
fn read_closed_form(r: &mut StateReader<'_>) -> Result<(f64, usize)> {
    let last_epoch = r.count("last_epoch")? as usize;
    let base_lr = r.scalar("base_lr")?;
    Ok((base_lr, last_epoch))
}

/// Loads a closed-form schedule's state: `(base_lr, last_epoch)`.
fn load_closed_form(op: &'static str, state: &[(String, Tensor)]) -> Result<(f64, usize)> {
    let mut r = StateReader::new(op, state)?;
    let out = read_closed_form(&mut r)?;
    r.finish()?;
    Ok(out)
}

/// `"{op}: invalid {setting} {value}: {why}"`.
fn invalid(op: &'static str, setting: &str, value: impl std::fmt::Display, why: &str) -> Error {
    Error::argument(op, format!("invalid {setting} {value}: {why}"))
}

/// Positive and finite (decay factors).
fn check_gamma(op: &'static str, gamma: f64) -> Result<()> {
    if gamma.is_finite() && gamma > 0.0 {
        Ok(())
    } else {
        Err(invalid(op, "gamma", gamma, "must be a finite number > 0"))
    }
}
