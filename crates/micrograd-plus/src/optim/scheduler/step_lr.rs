//! StepLR: the lr decays by `gamma` every `step_size` epochs.

use super::{check_gamma, closed_form_state, invalid, load_closed_form, LrScheduler};
use crate::optim::Optimizer;
use crate::{Result, Tensor};

const NAME: &str = "StepLR";

/// `lr = base_lr * gamma^(epoch / step_size)` (integer division), PyTorch's `StepLR`.
///
/// ```
/// use micrograd_plus::optim::scheduler::{LrScheduler, StepLR};
/// use micrograd_plus::optim::{Optimizer, SGD, SGDConfig};
/// let mut opt = SGD::new(vec![], SGDConfig { lr: 0.1, ..Default::default() }).unwrap();
/// let mut sched = StepLR::new(&mut opt, 3, 0.1).unwrap();
/// for _ in 0..3 {
///     sched.step(&mut opt);
/// }
/// assert!((opt.lr() - 0.01).abs() < 1e-15);
/// assert_eq!(
///     StepLR::new(&mut opt, 0, 0.1).unwrap_err().to_string(),
///     "StepLR: invalid step_size 0: must be >= 1"
/// );
/// ```
#[derive(Debug, Clone)]
pub struct StepLR {
    base_lr: f64,
    step_size: usize,
    gamma: f64,
    last_epoch: usize,
}

impl StepLR {
    /// Reads the base lr from `opt` (and sets epoch 0's lr, which is the base lr).
    ///
    /// ```
    /// use micrograd_plus::optim::scheduler::StepLR;
    /// use micrograd_plus::optim::{SGD, SGDConfig};
    /// let mut opt = SGD::new(vec![], SGDConfig::default()).unwrap();
    /// assert!(StepLR::new(&mut opt, 10, -0.5).is_err());
    /// ```
    pub fn new(opt: &mut dyn Optimizer, step_size: usize, gamma: f64) -> Result<StepLR> {
        if step_size == 0 {
            return Err(invalid(NAME, "step_size", step_size, "must be >= 1"));
        }
        check_gamma(NAME, gamma)?;
        let s = StepLR {
            base_lr: opt.lr(),
            step_size,
            gamma,
            last_epoch: 0,
        };
        opt.set_lr(s.get_lr());
        Ok(s)
    }
}

impl LrScheduler for StepLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.last_epoch += 1;
        opt.set_lr(self.get_lr());
    }

    fn get_lr(&self) -> f64 {
        self.base_lr * self.gamma.powf((self.last_epoch / self.step_size) as f64)
    }

    fn last_epoch(&self) -> usize {
        self.last_epoch
    }

    fn state_dict(&self) -> Vec<(String, Tensor)> {
        closed_form_state(self.base_lr, self.last_epoch)
    }

    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        (self.base_lr, self.last_epoch) = load_closed_form(NAME, state)?;
        Ok(())
    }
}
