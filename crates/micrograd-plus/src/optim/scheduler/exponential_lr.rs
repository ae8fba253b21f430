//! ExponentialLR: the lr decays by `gamma` every epoch.

use super::{check_gamma, closed_form_state, load_closed_form, LrScheduler};
use crate::optim::Optimizer;
use crate::{Result, Tensor};

const NAME: &str = "ExponentialLR";

/// `lr = base_lr * gamma^epoch`, PyTorch's `ExponentialLR`.
///
/// ```
/// use micrograd_plus::optim::scheduler::{ExponentialLR, LrScheduler};
/// use micrograd_plus::optim::{Optimizer, SGD, SGDConfig};
/// let mut opt = SGD::new(vec![], SGDConfig { lr: 1.0, ..Default::default() }).unwrap();
/// let mut sched = ExponentialLR::new(&mut opt, 0.5).unwrap();
/// sched.step(&mut opt);
/// sched.step(&mut opt);
/// assert_eq!(opt.lr(), 0.25);
/// assert_eq!(
///     ExponentialLR::new(&mut opt, 0.0).unwrap_err().to_string(),
///     "ExponentialLR: invalid gamma 0: must be a finite number > 0"
/// );
/// ```
#[derive(Debug, Clone)]
pub struct ExponentialLR {
    base_lr: f64,
    gamma: f64,
    last_epoch: usize,
}

impl ExponentialLR {
    /// Reads the base lr from `opt` (epoch 0's lr is the base lr).
    ///
    /// ```
    /// use micrograd_plus::optim::scheduler::{ExponentialLR, LrScheduler};
    /// use micrograd_plus::optim::{SGD, SGDConfig};
    /// let mut opt = SGD::new(vec![], SGDConfig { lr: 0.1, ..Default::default() }).unwrap();
    /// assert_eq!(ExponentialLR::new(&mut opt, 0.9).unwrap().get_lr(), 0.1);
    /// ```
    pub fn new(opt: &mut dyn Optimizer, gamma: f64) -> Result<ExponentialLR> {
        check_gamma(NAME, gamma)?;
        let s = ExponentialLR {
            base_lr: opt.lr(),
            gamma,
            last_epoch: 0,
        };
        opt.set_lr(s.get_lr());
        Ok(s)
    }
}

impl LrScheduler for ExponentialLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.last_epoch += 1;
        opt.set_lr(self.get_lr());
    }

    fn get_lr(&self) -> f64 {
        self.base_lr * self.gamma.powf(self.last_epoch as f64)
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
