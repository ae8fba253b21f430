//! AdamW (PyTorch's `torch.optim.AdamW`): Adam with decoupled weight decay.
//! Each update first shrinks the parameter, `p = p * (1 - lr * weight_decay)`,
//! then applies Adam's step to the raw gradient; the moment code is
//! [`Adam`](super::Adam)'s.

use super::adam::{forward_optimizer, AdamConfig, AdamCore};
use crate::{Result, Tensor};

/// [`AdamW`]'s settings; `Default` is PyTorch's (lr 1e-3, betas (0.9, 0.999),
/// eps 1e-8, weight decay 0.01, no amsgrad).
///
/// ```
/// use micrograd_plus::optim::AdamWConfig;
/// assert_eq!(AdamWConfig::default().weight_decay, 0.01);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first and second moment averages, each in [0, 1).
    pub betas: (f64, f64),
    /// Added to the denominator for numerical stability (> 0).
    pub eps: f64,
    /// Decoupled weight decay: the parameter is scaled by `1 - lr * weight_decay`.
    pub weight_decay: f64,
    /// Use the running maximum of the second moment (AMSGrad).
    pub amsgrad: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 1e-2,
            amsgrad: false,
        }
    }
}

/// AdamW (PyTorch's `torch.optim.AdamW`).
///
/// ```
/// use micrograd_plus::optim::{AdamW, AdamWConfig, Optimizer};
/// use micrograd_plus::Tensor;
/// let w = Tensor::new([1.0f64]).unwrap().requires_grad(true);
/// let cfg = AdamWConfig { lr: 0.1, weight_decay: 0.5, ..Default::default() };
/// let mut opt = AdamW::new(vec![w.clone()], cfg).unwrap();
/// w.set_grad(Some(Tensor::new([0.0f64]).unwrap()));
/// opt.step().unwrap();
/// // A zero gradient leaves only the decay: 1 * (1 - 0.1 * 0.5).
/// assert!((w.item().unwrap() - 0.95).abs() < 1e-12);
///
/// let err = AdamW::new(vec![], AdamWConfig { weight_decay: -1.0, ..Default::default() }).unwrap_err();
/// assert_eq!(err.to_string(), "AdamW: invalid weight_decay -1: must be a finite number >= 0");
/// ```
pub struct AdamW(AdamCore);

impl AdamW {
    /// An optimizer over `params` with `config`, checked.
    ///
    /// ```
    /// use micrograd_plus::optim::{AdamW, AdamWConfig};
    /// let err = AdamW::new(vec![], AdamWConfig { betas: (0.9, 1.0), ..Default::default() }).unwrap_err();
    /// assert_eq!(err.to_string(), "AdamW: invalid beta2 1: must be in [0, 1)");
    /// ```
    pub fn new(params: Vec<Tensor>, config: AdamWConfig) -> Result<AdamW> {
        let AdamWConfig {
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
        } = config;
        let core = AdamConfig {
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
        };
        AdamCore::new("AdamW", params, core, true).map(AdamW)
    }

    /// The settings (with the current lr).
    ///
    /// ```
    /// use micrograd_plus::optim::{AdamW, AdamWConfig};
    /// assert_eq!(AdamW::new(vec![], AdamWConfig::default()).unwrap().config().weight_decay, 0.01);
    /// ```
    pub fn config(&self) -> AdamWConfig {
        let AdamConfig {
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
        } = self.0.config;
        AdamWConfig {
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
        }
    }
}

/// Settings and progress only: the state buffers can be large.
impl std::fmt::Debug for AdamW {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdamW")
            .field("config", &self.config())
            .field("params", &self.0.params.len())
            .field("steps", &self.0.steps)
            .finish()
    }
}

forward_optimizer!(AdamW);
