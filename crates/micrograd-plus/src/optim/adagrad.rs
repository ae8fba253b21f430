//! Adagrad (PyTorch's `torch.optim.Adagrad`).
//!
//! Per parameter, at its `t`-th update, with `g` its gradient:
//! ```text
//! g   = g + weight_decay * p                  (if weight_decay != 0)
//! clr = lr / (1 + (t - 1) * lr_decay)
//! sum = sum + g * g                           (sum starts at initial_accumulator_value)
//! p   = p - clr * g / (sqrt(sum) + eps)
//! ```

use super::{
    buffer_entry, check_non_negative, check_params, check_positive, for_each_with_grad,
    scalar_entry, state_mut, Optimizer, StateReader,
};
use crate::tensor::{Element, SlicePair, Storage};
use crate::{Result, Tensor};

const NAME: &str = "Adagrad";

/// [`Adagrad`]'s settings; `Default` is PyTorch's (lr 1e-2, eps 1e-10,
/// everything else 0).
///
/// ```
/// use micrograd_plus::optim::AdagradConfig;
/// let c = AdagradConfig { lr_decay: 1e-3, ..Default::default() };
/// assert_eq!((c.lr, c.eps), (1e-2, 1e-10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdagradConfig {
    /// Learning rate.
    pub lr: f64,
    /// The lr at update `t` is `lr / (1 + (t - 1) * lr_decay)`.
    pub lr_decay: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Starting value of the sum of squared gradients.
    pub initial_accumulator_value: f64,
    /// Added to the denominator for numerical stability (> 0).
    pub eps: f64,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
        }
    }
}

/// One parameter's accumulator, created on its first update.
#[derive(Clone)]
struct State {
    step: u64,
    sum: Storage,
}

/// Adagrad (PyTorch's `torch.optim.Adagrad`).
///
/// ```
/// use micrograd_plus::optim::{Adagrad, AdagradConfig, Optimizer};
/// use micrograd_plus::Tensor;
/// let w = Tensor::new([1.0f64]).unwrap().requires_grad(true);
/// let mut opt = Adagrad::new(vec![w.clone()], AdagradConfig { lr: 0.5, ..Default::default() }).unwrap();
/// w.set_grad(Some(Tensor::new([3.0f64]).unwrap()));
/// opt.step().unwrap();
/// // sum = 9: the step is lr * 3 / (3 + eps).
/// assert!((w.item().unwrap() - 0.5).abs() < 1e-9);
///
/// let err = Adagrad::new(vec![], AdagradConfig { lr_decay: -1.0, ..Default::default() }).unwrap_err();
/// assert_eq!(err.to_string(), "Adagrad: invalid lr_decay -1: must be a finite number >= 0");
/// ```
pub struct Adagrad {
    params: Vec<Tensor>,
    config: AdagradConfig,
    states: Vec<Option<State>>,
    steps: u64,
}

impl Adagrad {
    /// An optimizer over `params` with `config`, checked.
    ///
    /// ```
    /// use micrograd_plus::optim::{Adagrad, AdagradConfig};
    /// let cfg = AdagradConfig { initial_accumulator_value: -0.1, ..Default::default() };
    /// let err = Adagrad::new(vec![], cfg).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "Adagrad: invalid initial_accumulator_value -0.1: must be a finite number >= 0"
    /// );
    /// ```
    pub fn new(params: Vec<Tensor>, config: AdagradConfig) -> Result<Adagrad> {
        check_non_negative(NAME, "lr", config.lr)?;
        check_non_negative(NAME, "lr_decay", config.lr_decay)?;
        check_non_negative(NAME, "weight_decay", config.weight_decay)?;
        check_non_negative(
            NAME,
            "initial_accumulator_value",
            config.initial_accumulator_value,
        )?;
        check_positive(NAME, "eps", config.eps)?;
        check_params(NAME, &params)?;
        let n = params.len();
        Ok(Adagrad {
            params,
            config,
            states: vec![None; n],
            steps: 0,
        })
    }

    /// The settings (with the current lr).
    ///
    /// ```
    /// use micrograd_plus::optim::{Adagrad, AdagradConfig};
    /// assert_eq!(Adagrad::new(vec![], AdagradConfig::default()).unwrap().config().lr, 1e-2);
    /// ```
    pub fn config(&self) -> &AdagradConfig {
        &self.config
    }
}

/// Settings and progress only: the state buffers can be large.
impl std::fmt::Debug for Adagrad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adagrad")
            .field("config", &self.config)
            .field("params", &self.params.len())
            .field("steps", &self.steps)
            .finish()
    }
}

fn update<T: Element>(p: &mut [T], g: &[T], sum: &mut [T], wd: Option<T>, neg_clr: T, eps: T) {
    let n = p.len();
    let (g, sum) = (&g[..n], &mut sum[..n]);
    for i in 0..n {
        let gi = match wd {
            Some(wd) => g[i] + wd * p[i],
            None => g[i],
        };
        let s = sum[i] + gi * gi;
        sum[i] = s;
        p[i] = p[i] + neg_clr * gi / (s.sqrt() + eps);
    }
}

impl Optimizer for Adagrad {
    fn step(&mut self) -> Result<()> {
        let cfg = self.config;
        let decay = cfg.weight_decay != 0.0;
        let states = &mut self.states;
        for_each_with_grad(NAME, &self.params, |i, p| {
            let state = states[i].get_or_insert_with(|| State {
                step: 0,
                sum: Storage::filled(p.dtype(), p.len(), cfg.initial_accumulator_value),
            });
            state.step += 1;
            let clr = cfg.lr / (1.0 + (state.step as f64 - 1.0) * cfg.lr_decay);
            let n = p.len();
            match p {
                SlicePair::F32(p, g) => {
                    let sum = state_mut(NAME, i, n, &mut state.sum)?;
                    let wd = decay.then_some(cfg.weight_decay as f32);
                    update(p, g, sum, wd, -clr as f32, cfg.eps as f32);
                }
                SlicePair::F64(p, g) => {
                    let sum = state_mut(NAME, i, n, &mut state.sum)?;
                    let wd = decay.then_some(cfg.weight_decay);
                    update(p, g, sum, wd, -clr, cfg.eps);
                }
            }
            Ok(())
        })?;
        self.steps += 1;
        Ok(())
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    fn params(&self) -> &[Tensor] {
        &self.params
    }

    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![
            scalar_entry("lr", self.config.lr),
            scalar_entry("step", self.steps as f64),
        ];
        for (i, (p, s)) in self.params.iter().zip(&self.states).enumerate() {
            let Some(s) = s else { continue };
            out.push(scalar_entry(format!("state.{i}.step"), s.step as f64));
            out.push(buffer_entry(format!("state.{i}.sum"), &s.sum, p.shape()));
        }
        out
    }

    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let mut r = StateReader::new(NAME, state)?;
        let lr = r.scalar("lr")?;
        check_non_negative(NAME, "lr", lr)?;
        let steps = r.count("step")?;
        let mut states = Vec::with_capacity(self.params.len());
        for (i, p) in self.params.iter().enumerate() {
            let key = |b: &str| format!("state.{i}.{b}");
            if !r.has(&key("step")) {
                states.push(None);
                continue;
            }
            states.push(Some(State {
                step: r.count(&key("step"))?,
                sum: r.buffer(&key("sum"), p.shape(), p.dtype())?,
            }));
        }
        r.finish()?;
        self.config.lr = lr;
        self.steps = steps;
        self.states = states;
        Ok(())
    }
}
