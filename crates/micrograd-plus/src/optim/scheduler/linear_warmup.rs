//! LinearWarmup: a linear ramp from `start_factor * lr` up to the lr, then
//! optionally another schedule.

use super::{closed_form_state, invalid, read_closed_form, LrScheduler};
use crate::optim::{Optimizer, StateReader};
use crate::{Result, Tensor};

const NAME: &str = "LinearWarmup";

/// Linear warm-up over `warmup_steps` steps:
/// `lr = target * (start_factor + (1 - start_factor) * min(epoch, warmup_steps) / warmup_steps)`.
///
/// Alone ([`LinearWarmup::new`]) it is PyTorch's `LinearLR` with
/// `end_factor = 1` and `total_iters = warmup_steps`, and `target` is the
/// optimizer's lr. [`LinearWarmup::followed_by`] hands over to another
/// schedule after the warm-up, like PyTorch's
/// `SequentialLR([LinearLR(...), after], milestones=[warmup_steps])`: the
/// ramp climbs to the lr `after` starts from, and at epoch
/// `warmup_steps + k` the lr is `after`'s lr at its epoch `k`.
///
/// ```
/// use micrograd_plus::optim::scheduler::{LinearWarmup, LrScheduler};
/// use micrograd_plus::optim::{Optimizer, SGD, SGDConfig};
/// let mut opt = SGD::new(vec![], SGDConfig { lr: 1.0, ..Default::default() }).unwrap();
/// let mut sched = LinearWarmup::new(&mut opt, 0.25, 3).unwrap();
/// let mut lrs = vec![opt.lr()];
/// for _ in 0..4 {
///     sched.step(&mut opt);
///     lrs.push(opt.lr());
/// }
/// assert_eq!(lrs, vec![0.25, 0.5, 0.75, 1.0, 1.0]);
/// ```
pub struct LinearWarmup {
    target_lr: f64,
    start_factor: f64,
    warmup_steps: usize,
    last_epoch: usize,
    after: Option<Box<dyn LrScheduler>>,
}

impl LinearWarmup {
    /// Warms up to the optimizer's current lr.
    ///
    /// ```
    /// use micrograd_plus::optim::scheduler::LinearWarmup;
    /// use micrograd_plus::optim::{SGD, SGDConfig};
    /// let mut opt = SGD::new(vec![], SGDConfig::default()).unwrap();
    /// assert_eq!(
    ///     LinearWarmup::new(&mut opt, 0.0, 5).unwrap_err().to_string(),
    ///     "LinearWarmup: invalid start_factor 0: must be in (0, 1]"
    /// );
    /// ```
    pub fn new(
        opt: &mut dyn Optimizer,
        start_factor: f64,
        warmup_steps: usize,
    ) -> Result<LinearWarmup> {
        let target = opt.lr();
        LinearWarmup::build(opt, start_factor, warmup_steps, target, None)
    }

    /// Warms up to the lr `after` starts from (its epoch 0), then steps
    /// `after`. Build `after` on the same optimizer first.
    ///
    /// ```
    /// use micrograd_plus::optim::scheduler::{CosineAnnealingLR, LinearWarmup, LrScheduler};
    /// use micrograd_plus::optim::{Optimizer, SGD, SGDConfig};
    /// let mut opt = SGD::new(vec![], SGDConfig { lr: 1.0, ..Default::default() }).unwrap();
    /// let cosine = CosineAnnealingLR::new(&mut opt, 2, 0.0).unwrap();
    /// let mut sched = LinearWarmup::followed_by(&mut opt, 0.5, 2, Box::new(cosine)).unwrap();
    /// let mut lrs = vec![opt.lr()];
    /// for _ in 0..4 {
    ///     sched.step(&mut opt);
    ///     lrs.push(opt.lr());
    /// }
    /// assert!((lrs[3] - 0.5).abs() < 1e-15); // cosine's epoch 1
    /// assert_eq!((lrs[0], lrs[1], lrs[2], lrs[4]), (0.5, 0.75, 1.0, 0.0));
    /// ```
    pub fn followed_by(
        opt: &mut dyn Optimizer,
        start_factor: f64,
        warmup_steps: usize,
        after: Box<dyn LrScheduler>,
    ) -> Result<LinearWarmup> {
        let target = after.get_lr();
        LinearWarmup::build(opt, start_factor, warmup_steps, target, Some(after))
    }

    fn build(
        opt: &mut dyn Optimizer,
        start_factor: f64,
        warmup_steps: usize,
        target_lr: f64,
        after: Option<Box<dyn LrScheduler>>,
    ) -> Result<LinearWarmup> {
        if !(start_factor > 0.0 && start_factor <= 1.0) {
            return Err(invalid(
                NAME,
                "start_factor",
                start_factor,
                "must be in (0, 1]",
            ));
        }
        if warmup_steps == 0 {
            return Err(invalid(NAME, "warmup_steps", warmup_steps, "must be >= 1"));
        }
        let s = LinearWarmup {
            target_lr,
            start_factor,
            warmup_steps,
            last_epoch: 0,
            after,
        };
        opt.set_lr(s.get_lr());
        Ok(s)
    }

    fn warmup_lr(&self) -> f64 {
        let done = self.last_epoch.min(self.warmup_steps) as f64;
        self.target_lr
            * (self.start_factor + (1.0 - self.start_factor) * done / self.warmup_steps as f64)
    }
}

impl std::fmt::Debug for LinearWarmup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinearWarmup")
            .field("target_lr", &self.target_lr)
            .field("start_factor", &self.start_factor)
            .field("warmup_steps", &self.warmup_steps)
            .field("last_epoch", &self.last_epoch)
            .field("followed", &self.after.is_some())
            .finish()
    }
}

impl LrScheduler for LinearWarmup {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.last_epoch += 1;
        match &mut self.after {
            Some(after) if self.last_epoch > self.warmup_steps => after.step(opt),
            _ => opt.set_lr(self.warmup_lr()),
        }
    }

    fn get_lr(&self) -> f64 {
        match &self.after {
            Some(after) if self.last_epoch > self.warmup_steps => after.get_lr(),
            _ => self.warmup_lr(),
        }
    }

    fn last_epoch(&self) -> usize {
        self.last_epoch
    }

    /// `last_epoch`, `base_lr` (the target) and the wrapped schedule's
    /// entries prefixed with `after.`.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut out = closed_form_state(self.target_lr, self.last_epoch);
        if let Some(after) = &self.after {
            out.extend(
                after
                    .state_dict()
                    .into_iter()
                    .map(|(k, v)| (format!("after.{k}"), v)),
            );
        }
        out
    }

    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let (own, inner): (Vec<_>, Vec<_>) = state
            .iter()
            .cloned()
            .partition(|(k, _)| !(self.after.is_some() && k.starts_with("after.")));
        let mut r = StateReader::new(NAME, &own)?;
        let (target_lr, last_epoch) = read_closed_form(&mut r)?;
        r.finish()?;
        if let Some(after) = &mut self.after {
            let inner: Vec<_> = inner
                .into_iter()
                .map(|(k, v)| (k["after.".len()..].to_string(), v))
                .collect();
            after.load_state_dict(&inner)?;
        }
        self.target_lr = target_lr;
        self.last_epoch = last_epoch;
        Ok(())
    }
}
