//! ReduceLROnPlateau: divide the lr when a metric stops improving.

use super::{invalid, LrScheduler};
use crate::optim::{scalar_entry, Optimizer, StateReader};
use crate::{Result, Tensor};

const NAME: &str = "ReduceLROnPlateau";

/// Whether the metric should go down (a loss) or up (an accuracy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlateauMode {
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

/// How `threshold` defines a significant improvement over the best value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdMode {
    /// Better than `best * (1 -/+ threshold)`.
    Rel,
    /// Better than `best -/+ threshold`.
    Abs,
}

/// [`ReduceLROnPlateau`]'s settings; `Default` is PyTorch's (min mode,
/// factor 0.1, patience 10, threshold 1e-4 relative, no cooldown, min_lr 0,
/// eps 1e-8).
///
/// ```
/// use micrograd_plus::optim::scheduler::{PlateauConfig, PlateauMode};
/// let c = PlateauConfig { mode: PlateauMode::Max, patience: 2, ..Default::default() };
/// assert_eq!(c.factor, 0.1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlateauConfig {
    /// Minimise or maximise the metric.
    pub mode: PlateauMode,
    /// The lr is multiplied by this on a plateau, in [0, 1).
    pub factor: f64,
    /// Epochs without improvement tolerated before reducing.
    pub patience: usize,
    /// Minimum significant improvement.
    pub threshold: f64,
    /// Relative or absolute threshold.
    pub threshold_mode: ThresholdMode,
    /// Epochs to wait after a reduction before counting bad epochs again.
    pub cooldown: usize,
    /// The lr never goes below this.
    pub min_lr: f64,
    /// Reductions smaller than this are skipped.
    pub eps: f64,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        PlateauConfig {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

/// PyTorch's `ReduceLROnPlateau`: call [`LrScheduler::step_with_metric`]
/// once per epoch with the validation metric. A plain
/// [`LrScheduler::step`] only counts the epoch and never changes the lr.
/// Unlike the other schedules, this one scales the optimizer's current lr.
///
/// ```
/// use micrograd_plus::optim::scheduler::{LrScheduler, PlateauConfig, ReduceLROnPlateau};
/// use micrograd_plus::optim::{Optimizer, SGD, SGDConfig};
/// let mut opt = SGD::new(vec![], SGDConfig { lr: 1.0, ..Default::default() }).unwrap();
/// let cfg = PlateauConfig { patience: 1, factor: 0.5, ..Default::default() };
/// let mut sched = ReduceLROnPlateau::new(&mut opt, cfg).unwrap();
/// for loss in [3.0, 2.0, 2.0, 2.0] {
///     sched.step_with_metric(loss, &mut opt);
/// }
/// assert_eq!(opt.lr(), 0.5); // two epochs without improvement > patience 1
/// ```
#[derive(Debug, Clone)]
pub struct ReduceLROnPlateau {
    config: PlateauConfig,
    best: f64,
    num_bad_epochs: usize,
    cooldown_counter: usize,
    last_epoch: usize,
    last_lr: f64,
}

impl ReduceLROnPlateau {
    /// Watches `opt`'s lr with `config`, checked.
    ///
    /// ```
    /// use micrograd_plus::optim::scheduler::{PlateauConfig, ReduceLROnPlateau};
    /// use micrograd_plus::optim::{SGD, SGDConfig};
    /// let mut opt = SGD::new(vec![], SGDConfig::default()).unwrap();
    /// let cfg = PlateauConfig { factor: 1.0, ..Default::default() };
    /// assert_eq!(
    ///     ReduceLROnPlateau::new(&mut opt, cfg).unwrap_err().to_string(),
    ///     "ReduceLROnPlateau: invalid factor 1: must be in [0, 1)"
    /// );
    /// ```
    pub fn new(opt: &mut dyn Optimizer, config: PlateauConfig) -> Result<ReduceLROnPlateau> {
        if !(0.0..1.0).contains(&config.factor) {
            return Err(invalid(NAME, "factor", config.factor, "must be in [0, 1)"));
        }
        for (setting, v) in [
            ("threshold", config.threshold),
            ("min_lr", config.min_lr),
            ("eps", config.eps),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(NAME, setting, v, "must be a finite number >= 0"));
            }
        }
        Ok(ReduceLROnPlateau {
            config,
            best: Self::worst(config.mode),
            num_bad_epochs: 0,
            cooldown_counter: 0,
            last_epoch: 0,
            last_lr: opt.lr(),
        })
    }

    fn worst(mode: PlateauMode) -> f64 {
        match mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        }
    }

    /// Whether `metric` improves significantly on the best so far.
    fn is_better(&self, metric: f64) -> bool {
        let (best, t) = (self.best, self.config.threshold);
        match (self.config.mode, self.config.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => metric < best * (1.0 - t),
            (PlateauMode::Min, ThresholdMode::Abs) => metric < best - t,
            (PlateauMode::Max, ThresholdMode::Rel) => metric > best * (t + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => metric > best + t,
        }
    }

    /// The best metric seen so far.
    ///
    /// ```
    /// use micrograd_plus::optim::scheduler::{LrScheduler, PlateauConfig, ReduceLROnPlateau};
    /// use micrograd_plus::optim::{SGD, SGDConfig};
    /// let mut opt = SGD::new(vec![], SGDConfig::default()).unwrap();
    /// let mut sched = ReduceLROnPlateau::new(&mut opt, PlateauConfig::default()).unwrap();
    /// sched.step_with_metric(0.5, &mut opt);
    /// assert_eq!(sched.best(), 0.5);
    /// ```
    pub fn best(&self) -> f64 {
        self.best
    }
}

impl LrScheduler for ReduceLROnPlateau {
    /// Counts an epoch without a metric: the lr is left alone.
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.last_epoch += 1;
        self.last_lr = opt.lr();
    }

    fn get_lr(&self) -> f64 {
        self.last_lr
    }

    fn last_epoch(&self) -> usize {
        self.last_epoch
    }

    fn needs_metric(&self) -> bool {
        true
    }

    fn step_with_metric(&mut self, metric: f64, opt: &mut dyn Optimizer) {
        self.last_epoch += 1;
        if self.is_better(metric) {
            self.best = metric;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0; // bad epochs in cooldown do not count
        }
        if self.num_bad_epochs > self.config.patience {
            let old = opt.lr();
            let new = (old * self.config.factor).max(self.config.min_lr);
            if old - new > self.config.eps {
                opt.set_lr(new);
            }
            self.cooldown_counter = self.config.cooldown;
            self.num_bad_epochs = 0;
        }
        self.last_lr = opt.lr();
    }

    /// `last_epoch`, `best`, `num_bad_epochs`, `cooldown_counter`, `last_lr`.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        vec![
            scalar_entry("last_epoch", self.last_epoch as f64),
            scalar_entry("best", self.best),
            scalar_entry("num_bad_epochs", self.num_bad_epochs as f64),
            scalar_entry("cooldown_counter", self.cooldown_counter as f64),
            scalar_entry("last_lr", self.last_lr),
        ]
    }

    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let mut r = StateReader::new(NAME, state)?;
        let last_epoch = r.count("last_epoch")? as usize;
        let best = r.scalar("best")?;
        let num_bad_epochs = r.count("num_bad_epochs")? as usize;
        let cooldown_counter = r.count("cooldown_counter")? as usize;
        let last_lr = r.scalar("last_lr")?;
        r.finish()?;
        self.last_epoch = last_epoch;
        self.best = best;
        self.num_bad_epochs = num_bad_epochs;
        self.cooldown_counter = cooldown_counter;
        self.last_lr = last_lr;
        Ok(())
    }
}
