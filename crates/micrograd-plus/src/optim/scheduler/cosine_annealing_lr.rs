//! CosineAnnealingLR: half a cosine from the base lr down to `eta_min`.

use super::{closed_form_state, invalid, load_closed_form, LrScheduler};
use crate::optim::Optimizer;
use crate::{Result, Tensor};

const NAME: &str = "CosineAnnealingLR";

/// `lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / t_max)) / 2`
/// for `epoch <= t_max`, then **held at `eta_min`**.
///
/// Within `t_max` this is PyTorch's `CosineAnnealingLR` (its closed form;
/// the values match PyTorch's recursive ones to rounding). Past `t_max` the
/// schedules differ on purpose: PyTorch's recursive form keeps following the
/// cosine, so the lr climbs back to the base lr by `2 * t_max` and oscillates
/// (the formula the course derives rises again the same way). Nobody wants a
/// learning rate that warms back up because training ran a few epochs longer
/// than planned, so this one stays at the bottom; use warm restarts
/// explicitly if you want them.
///
/// ```
/// use micrograd_plus::optim::scheduler::{CosineAnnealingLR, LrScheduler};
/// use micrograd_plus::optim::{Optimizer, SGD, SGDConfig};
/// let mut opt = SGD::new(vec![], SGDConfig { lr: 1.0, ..Default::default() }).unwrap();
/// let mut sched = CosineAnnealingLR::new(&mut opt, 2, 0.1).unwrap();
/// let mut lrs = vec![opt.lr()];
/// for _ in 0..4 {
///     sched.step(&mut opt);
///     lrs.push(opt.lr());
/// }
/// assert!((lrs[1] - 0.55).abs() < 1e-15);
/// assert_eq!(&lrs[2..], &[0.1, 0.1, 0.1]); // held at eta_min after t_max
/// ```
#[derive(Debug, Clone)]
pub struct CosineAnnealingLR {
    base_lr: f64,
    t_max: usize,
    eta_min: f64,
    last_epoch: usize,
}

impl CosineAnnealingLR {
    /// Reads the base lr from `opt`.
    ///
    /// ```
    /// use micrograd_plus::optim::scheduler::CosineAnnealingLR;
    /// use micrograd_plus::optim::{SGD, SGDConfig};
    /// let mut opt = SGD::new(vec![], SGDConfig::default()).unwrap();
    /// assert_eq!(
    ///     CosineAnnealingLR::new(&mut opt, 0, 0.0).unwrap_err().to_string(),
    ///     "CosineAnnealingLR: invalid t_max 0: must be >= 1"
    /// );
    /// ```
    pub fn new(opt: &mut dyn Optimizer, t_max: usize, eta_min: f64) -> Result<CosineAnnealingLR> {
        if t_max == 0 {
            return Err(invalid(NAME, "t_max", t_max, "must be >= 1"));
        }
        if !(eta_min.is_finite() && eta_min >= 0.0) {
            return Err(invalid(
                NAME,
                "eta_min",
                eta_min,
                "must be a finite number >= 0",
            ));
        }
        let s = CosineAnnealingLR {
            base_lr: opt.lr(),
            t_max,
            eta_min,
            last_epoch: 0,
        };
        opt.set_lr(s.get_lr());
        Ok(s)
    }
}

impl LrScheduler for CosineAnnealingLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.last_epoch += 1;
        opt.set_lr(self.get_lr());
    }

    fn get_lr(&self) -> f64 {
        if self.last_epoch >= self.t_max {
            return self.eta_min;
        }
        let phase = std::f64::consts::PI * self.last_epoch as f64 / self.t_max as f64;
        self.eta_min + (self.base_lr - self.eta_min) * (1.0 + phase.cos()) / 2.0
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
