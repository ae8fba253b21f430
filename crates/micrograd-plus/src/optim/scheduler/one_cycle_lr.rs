//! OneCycleLR: warm up from `max_lr / div_factor` to `max_lr`, then anneal
//! down to `max_lr / (div_factor * final_div_factor)` (Smith's 1cycle policy).

use super::{invalid, LrScheduler};
use crate::optim::{scalar_entry, Optimizer, StateReader};
use crate::{Result, Tensor};

const NAME: &str = "OneCycleLR";

/// How [`OneCycleLR`] moves between two lrs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anneal {
    /// Half a cosine (PyTorch's default, `"cos"`).
    Cos,
    /// A straight line (`"linear"`).
    Linear,
}

/// [`OneCycleLR`]'s settings beyond `max_lr` and `total_steps`; `Default`
/// is PyTorch's (pct_start 0.3, cosine, div_factor 25, final_div_factor 1e4,
/// two phases).
///
/// ```
/// use micrograd_plus::optim::scheduler::{Anneal, OneCycleConfig};
/// let c = OneCycleConfig { anneal: Anneal::Linear, ..Default::default() };
/// assert_eq!((c.pct_start, c.div_factor), (0.3, 25.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneCycleConfig {
    /// Fraction of the steps spent warming up.
    pub pct_start: f64,
    /// The curve of each phase.
    pub anneal: Anneal,
    /// The first lr is `max_lr / div_factor`.
    pub div_factor: f64,
    /// The last lr is the first one divided by `final_div_factor`.
    pub final_div_factor: f64,
    /// Three phases: up, back down to the first lr symmetrically, then down
    /// to the last lr (fast.ai's variant has two).
    pub three_phase: bool,
}

impl Default for OneCycleConfig {
    fn default() -> Self {
        OneCycleConfig {
            pct_start: 0.3,
            anneal: Anneal::Cos,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
        }
    }
}

/// PyTorch's `OneCycleLR`, stepped once per batch for `total_steps` steps.
///
/// Differences from PyTorch, both deliberate:
/// - **no momentum cycling**: PyTorch also cycles SGD's momentum or Adam's
///   beta1 inversely to the lr (`cycle_momentum=True`); here only the lr
///   changes, as with PyTorch's `cycle_momentum=False`.
/// - stepping past the end holds the final lr (epoch `total_steps - 1`),
///   where PyTorch raises an error one step later.
///
/// ```
/// use micrograd_plus::optim::scheduler::{LrScheduler, OneCycleConfig, OneCycleLR};
/// use micrograd_plus::optim::{Optimizer, SGD, SGDConfig};
/// let mut opt = SGD::new(vec![], SGDConfig::default()).unwrap();
/// let mut sched = OneCycleLR::new(&mut opt, 1.0, 11, OneCycleConfig::default()).unwrap();
/// assert!((opt.lr() - 1.0 / 25.0).abs() < 1e-15);
/// let mut lrs = vec![];
/// for _ in 0..10 {
///     sched.step(&mut opt);
///     lrs.push(opt.lr());
/// }
/// let peak = lrs.iter().cloned().fold(0.0, f64::max);
/// assert!((peak - 1.0).abs() < 0.05);
/// assert!((lrs[9] - 1.0 / 25.0 / 1e4).abs() < 1e-15);
/// ```
#[derive(Debug, Clone)]
pub struct OneCycleLR {
    total_steps: usize,
    anneal: Anneal,
    /// `(end_step, start_lr, end_lr)` of each phase, PyTorch's table.
    phases: Vec<(f64, f64, f64)>,
    last_epoch: usize,
}

impl OneCycleLR {
    /// A schedule of `total_steps` steps peaking at `max_lr`; sets the
    /// optimizer's lr to the first value, `max_lr / div_factor`.
    ///
    /// ```
    /// use micrograd_plus::optim::scheduler::{OneCycleConfig, OneCycleLR};
    /// use micrograd_plus::optim::{SGD, SGDConfig};
    /// let mut opt = SGD::new(vec![], SGDConfig::default()).unwrap();
    /// let cfg = OneCycleConfig { pct_start: 1.0, ..Default::default() };
    /// assert_eq!(
    ///     OneCycleLR::new(&mut opt, 0.1, 100, cfg).unwrap_err().to_string(),
    ///     "OneCycleLR: invalid pct_start 1: leaves phase 2 of 100 steps empty"
    /// );
    /// ```
    pub fn new(
        opt: &mut dyn Optimizer,
        max_lr: f64,
        total_steps: usize,
        config: OneCycleConfig,
    ) -> Result<OneCycleLR> {
        if !(max_lr.is_finite() && max_lr > 0.0) {
            return Err(invalid(
                NAME,
                "max_lr",
                max_lr,
                "must be a finite number > 0",
            ));
        }
        if total_steps == 0 {
            return Err(invalid(NAME, "total_steps", total_steps, "must be >= 1"));
        }
        let OneCycleConfig {
            pct_start,
            anneal,
            div_factor,
            final_div_factor,
            three_phase,
        } = config;
        if !(0.0..=1.0).contains(&pct_start) {
            return Err(invalid(NAME, "pct_start", pct_start, "must be in [0, 1]"));
        }
        for (setting, v) in [
            ("div_factor", div_factor),
            ("final_div_factor", final_div_factor),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(invalid(NAME, setting, v, "must be a finite number > 0"));
            }
        }
        let initial = max_lr / div_factor;
        let min = initial / final_div_factor;
        let total = total_steps as f64;
        let up = pct_start * total - 1.0;
        let last = total - 1.0;
        let phases = if three_phase {
            vec![
                (up, initial, max_lr),
                (2.0 * pct_start * total - 2.0, max_lr, initial),
                (last, initial, min),
            ]
        } else {
            vec![(up, initial, max_lr), (last, max_lr, min)]
        };
        // Each phase must span at least part of a step, or its slope divides by 0.
        let mut start = 0.0;
        for (k, &(end, _, _)) in phases.iter().enumerate() {
            if end <= start {
                return Err(invalid(
                    NAME,
                    "pct_start",
                    pct_start,
                    &format!("leaves phase {} of {total_steps} steps empty", k + 1),
                ));
            }
            start = end;
        }
        let s = OneCycleLR {
            total_steps,
            anneal,
            phases,
            last_epoch: 0,
        };
        opt.set_lr(s.get_lr());
        Ok(s)
    }
}

impl LrScheduler for OneCycleLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.last_epoch += 1;
        opt.set_lr(self.get_lr());
    }

    fn get_lr(&self) -> f64 {
        let step = self.last_epoch.min(self.total_steps - 1) as f64;
        let last = self.phases.len() - 1;
        let k = self.phases.iter().position(|p| step <= p.0).unwrap_or(last);
        let start = if k == 0 { 0.0 } else { self.phases[k - 1].0 };
        let (end, from, to) = self.phases[k];
        let pct = (step - start) / (end - start);
        match self.anneal {
            Anneal::Cos => to + (from - to) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0),
            Anneal::Linear => (to - from) * pct + from,
        }
    }

    fn last_epoch(&self) -> usize {
        self.last_epoch
    }

    fn state_dict(&self) -> Vec<(String, Tensor)> {
        vec![scalar_entry("last_epoch", self.last_epoch as f64)]
    }

    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let mut r = StateReader::new(NAME, state)?;
        let last_epoch = r.count("last_epoch")? as usize;
        r.finish()?;
        self.last_epoch = last_epoch;
        Ok(())
    }
}
