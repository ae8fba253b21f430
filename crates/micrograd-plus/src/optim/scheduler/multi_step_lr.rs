//! MultiStepLR: the lr decays by `gamma` at each milestone epoch.

use super::{check_gamma, closed_form_state, invalid, load_closed_form, LrScheduler};
use crate::optim::Optimizer;
use crate::{Result, Tensor};

const NAME: &str = "MultiStepLR";

/// `lr = base_lr * gamma^(number of milestones <= epoch)`, PyTorch's
/// `MultiStepLR` (a milestone listed twice counts twice, as there).
///
/// ```
/// use micrograd_plus::optim::scheduler::{LrScheduler, MultiStepLR};
/// use micrograd_plus::optim::{Optimizer, SGD, SGDConfig};
/// let mut opt = SGD::new(vec![], SGDConfig { lr: 1.0, ..Default::default() }).unwrap();
/// let mut sched = MultiStepLR::new(&mut opt, &[1, 3], 0.5).unwrap();
/// let mut lrs = vec![opt.lr()];
/// for _ in 0..3 {
///     sched.step(&mut opt);
///     lrs.push(opt.lr());
/// }
/// assert_eq!(lrs, vec![1.0, 0.5, 0.5, 0.25]);
/// ```
#[derive(Debug, Clone)]
pub struct MultiStepLR {
    base_lr: f64,
    /// Sorted.
    milestones: Vec<usize>,
    gamma: f64,
    last_epoch: usize,
}

impl MultiStepLR {
    /// Reads the base lr from `opt`; `milestones` may come in any order.
    ///
    /// ```
    /// use micrograd_plus::optim::scheduler::MultiStepLR;
    /// use micrograd_plus::optim::{SGD, SGDConfig};
    /// let mut opt = SGD::new(vec![], SGDConfig::default()).unwrap();
    /// assert_eq!(
    ///     MultiStepLR::new(&mut opt, &[0, 5], 0.1).unwrap_err().to_string(),
    ///     "MultiStepLR: invalid milestone 0: must be >= 1"
    /// );
    /// ```
    pub fn new(opt: &mut dyn Optimizer, milestones: &[usize], gamma: f64) -> Result<MultiStepLR> {
        check_gamma(NAME, gamma)?;
        if milestones.contains(&0) {
            return Err(invalid(NAME, "milestone", 0, "must be >= 1"));
        }
        let mut milestones = milestones.to_vec();
        milestones.sort_unstable();
        let s = MultiStepLR {
            base_lr: opt.lr(),
            milestones,
            gamma,
            last_epoch: 0,
        };
        opt.set_lr(s.get_lr());
        Ok(s)
    }
}

impl LrScheduler for MultiStepLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.last_epoch += 1;
        opt.set_lr(self.get_lr());
    }

    fn get_lr(&self) -> f64 {
        let passed = self.milestones.partition_point(|&m| m <= self.last_epoch);
        self.base_lr * self.gamma.powf(passed as f64)
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
