//! RMSprop (PyTorch's `torch.optim.RMSprop`).
//!
//! Per parameter, with `g` its gradient:
//! ```text
//! g   = g + weight_decay * p                  (if weight_decay != 0)
//! sq  = alpha * sq + (1 - alpha) * g * g
//! avg = sqrt(sq - ga * ga) + eps, with ga = lerp(ga, g, 1 - alpha)   (centered)
//! avg = sqrt(sq) + eps                                                (otherwise)
//! buf = momentum * buf + g / avg;  p = p - lr * buf                  (momentum > 0)
//! p   = p - lr * g / avg                                              (otherwise)
//! ```

use super::{
    buffer_entry, check_non_negative, check_params, check_positive, flush_subnormal,
    for_each_with_grad, invalid, scalar_entry, state_mut, zeros_like, Optimizer, StateReader,
};
use crate::tensor::{Element, SlicePair, Storage};
use crate::{Result, Tensor};

const NAME: &str = "RMSprop";

/// [`RMSprop`]'s settings; `Default` is PyTorch's (lr 1e-2, alpha 0.99,
/// eps 1e-8, no momentum, not centered, no weight decay).
///
/// ```
/// use micrograd_plus::optim::RMSpropConfig;
/// let c = RMSpropConfig { centered: true, ..Default::default() };
/// assert_eq!((c.lr, c.alpha), (1e-2, 0.99));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RMSpropConfig {
    /// Learning rate.
    pub lr: f64,
    /// Smoothing constant of the squared-gradient average, in [0, 1].
    pub alpha: f64,
    /// Added to the denominator for numerical stability (> 0).
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Momentum factor (0 = none).
    pub momentum: f64,
    /// Normalise by the estimated variance instead of the raw second moment.
    pub centered: bool,
}

impl Default for RMSpropConfig {
    fn default() -> Self {
        RMSpropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

/// One parameter's running averages, created on its first update.
#[derive(Clone)]
struct State {
    step: u64,
    square_avg: Storage,
    /// Running mean of the gradient, when centered.
    grad_avg: Option<Storage>,
    /// When momentum > 0.
    momentum_buffer: Option<Storage>,
}

/// RMSprop (PyTorch's `torch.optim.RMSprop`).
///
/// ```
/// use micrograd_plus::optim::{Optimizer, RMSprop, RMSpropConfig};
/// use micrograd_plus::Tensor;
/// let w = Tensor::new([1.0f64]).unwrap().requires_grad(true);
/// let cfg = RMSpropConfig { lr: 0.01, alpha: 0.75, ..Default::default() };
/// let mut opt = RMSprop::new(vec![w.clone()], cfg).unwrap();
/// w.set_grad(Some(Tensor::new([2.0f64]).unwrap()));
/// opt.step().unwrap();
/// // sq = 0.25 * 4 = 1, so the step is lr * 2 / (1 + eps).
/// assert!((w.item().unwrap() - (1.0 - 0.02 / (1.0 + 1e-8))).abs() < 1e-15);
///
/// let err = RMSprop::new(vec![], RMSpropConfig { alpha: 1.5, ..Default::default() }).unwrap_err();
/// assert_eq!(err.to_string(), "RMSprop: invalid alpha 1.5: must be in [0, 1]");
/// ```
pub struct RMSprop {
    params: Vec<Tensor>,
    config: RMSpropConfig,
    states: Vec<Option<State>>,
    steps: u64,
}

impl RMSprop {
    /// An optimizer over `params` with `config`, checked.
    ///
    /// ```
    /// use micrograd_plus::optim::{RMSprop, RMSpropConfig};
    /// let err = RMSprop::new(vec![], RMSpropConfig { momentum: -0.5, ..Default::default() }).unwrap_err();
    /// assert_eq!(err.to_string(), "RMSprop: invalid momentum -0.5: must be a finite number >= 0");
    /// ```
    pub fn new(params: Vec<Tensor>, config: RMSpropConfig) -> Result<RMSprop> {
        check_non_negative(NAME, "lr", config.lr)?;
        if !(0.0..=1.0).contains(&config.alpha) {
            return Err(invalid(NAME, "alpha", config.alpha, "must be in [0, 1]"));
        }
        check_positive(NAME, "eps", config.eps)?;
        check_non_negative(NAME, "weight_decay", config.weight_decay)?;
        check_non_negative(NAME, "momentum", config.momentum)?;
        check_params(NAME, &params)?;
        let n = params.len();
        Ok(RMSprop {
            params,
            config,
            states: vec![None; n],
            steps: 0,
        })
    }

    /// The settings (with the current lr).
    ///
    /// ```
    /// use micrograd_plus::optim::{RMSprop, RMSpropConfig};
    /// assert_eq!(RMSprop::new(vec![], RMSpropConfig::default()).unwrap().config().alpha, 0.99);
    /// ```
    pub fn config(&self) -> &RMSpropConfig {
        &self.config
    }
}

/// Settings and progress only: the state buffers can be large.
impl std::fmt::Debug for RMSprop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RMSprop")
            .field("config", &self.config)
            .field("params", &self.params.len())
            .field("steps", &self.steps)
            .finish()
    }
}

struct Coeffs<T> {
    neg_lr: T,
    alpha: T,
    one_minus_alpha: T,
    /// lerp weight for the centered average, and its form (see Adam's lerp).
    w: T,
    one_minus_w: T,
    low_weight: bool,
    eps: T,
    weight_decay: T,
    momentum: T,
}

fn coeffs<T: Element>(c: &RMSpropConfig) -> Coeffs<T> {
    let w = T::of(1.0 - c.alpha);
    Coeffs {
        neg_lr: T::of(-c.lr),
        alpha: T::of(c.alpha),
        one_minus_alpha: T::of(1.0 - c.alpha),
        w,
        one_minus_w: T::one() - w,
        low_weight: w.abs() < T::of(0.5),
        eps: T::of(c.eps),
        weight_decay: T::of(c.weight_decay),
        momentum: T::of(c.momentum),
    }
}

/// The update of one parameter; `ga` is `Some` when centered, `buf` with momentum.
fn update<T: Element>(
    p: &mut [T],
    g: &[T],
    sq: &mut [T],
    mut ga: Option<&mut [T]>,
    mut buf: Option<&mut [T]>,
    decay: bool,
    c: &Coeffs<T>,
) {
    let n = p.len();
    let (g, sq) = (&g[..n], &mut sq[..n]);
    for i in 0..n {
        let gi = if decay {
            g[i] + c.weight_decay * p[i]
        } else {
            g[i]
        };
        let s = sq[i] * c.alpha + c.one_minus_alpha * gi * gi;
        sq[i] = flush_subnormal(s);
        let avg = match ga.as_deref_mut() {
            Some(ga) => {
                let a = if c.low_weight {
                    ga[i] + c.w * (gi - ga[i])
                } else {
                    gi - (gi - ga[i]) * c.one_minus_w
                };
                ga[i] = a;
                (s - a * a).sqrt()
            }
            None => s.sqrt(),
        } + c.eps;
        match buf.as_deref_mut() {
            Some(buf) => {
                let b = buf[i] * c.momentum + gi / avg;
                buf[i] = flush_subnormal(b);
                p[i] = p[i] + c.neg_lr * b;
            }
            None => p[i] = p[i] + c.neg_lr * gi / avg,
        }
    }
}

impl Optimizer for RMSprop {
    fn step(&mut self) -> Result<()> {
        let cfg = self.config;
        let decay = cfg.weight_decay != 0.0;
        let (c32, c64) = (coeffs::<f32>(&cfg), coeffs::<f64>(&cfg));
        let states = &mut self.states;
        for_each_with_grad(NAME, &self.params, |i, p| {
            let state = states[i].get_or_insert_with(|| State {
                step: 0,
                square_avg: zeros_like(&p),
                grad_avg: cfg.centered.then(|| zeros_like(&p)),
                momentum_buffer: (cfg.momentum > 0.0).then(|| zeros_like(&p)),
            });
            state.step += 1;
            let n = p.len();
            let State {
                square_avg,
                grad_avg,
                momentum_buffer,
                ..
            } = state;
            match p {
                SlicePair::F32(p, g) => {
                    let sq = state_mut(NAME, i, n, square_avg)?;
                    let ga = grad_avg.as_mut().map(|s| state_mut(NAME, i, n, s));
                    let buf = momentum_buffer.as_mut().map(|s| state_mut(NAME, i, n, s));
                    update(p, g, sq, ga.transpose()?, buf.transpose()?, decay, &c32);
                }
                SlicePair::F64(p, g) => {
                    let sq = state_mut(NAME, i, n, square_avg)?;
                    let ga = grad_avg.as_mut().map(|s| state_mut(NAME, i, n, s));
                    let buf = momentum_buffer.as_mut().map(|s| state_mut(NAME, i, n, s));
                    update(p, g, sq, ga.transpose()?, buf.transpose()?, decay, &c64);
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
            out.push(buffer_entry(
                format!("state.{i}.square_avg"),
                &s.square_avg,
                p.shape(),
            ));
            if let Some(ga) = &s.grad_avg {
                out.push(buffer_entry(format!("state.{i}.grad_avg"), ga, p.shape()));
            }
            if let Some(buf) = &s.momentum_buffer {
                out.push(buffer_entry(
                    format!("state.{i}.momentum_buffer"),
                    buf,
                    p.shape(),
                ));
            }
        }
        out
    }

    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let mut r = StateReader::new(NAME, state)?;
        let lr = r.scalar("lr")?;
        check_non_negative(NAME, "lr", lr)?;
        let steps = r.count("step")?;
        let cfg = self.config;
        let mut states = Vec::with_capacity(self.params.len());
        for (i, p) in self.params.iter().enumerate() {
            let key = |b: &str| format!("state.{i}.{b}");
            if !r.has(&key("step")) {
                states.push(None);
                continue;
            }
            let (shape, dtype) = (p.shape(), p.dtype());
            let step = r.count(&key("step"))?;
            let square_avg = r.buffer(&key("square_avg"), shape, dtype)?;
            let grad_avg = match cfg.centered {
                true => Some(r.buffer(&key("grad_avg"), shape, dtype)?),
                false => None,
            };
            let momentum_buffer = match cfg.momentum > 0.0 {
                true => Some(r.buffer(&key("momentum_buffer"), shape, dtype)?),
                false => None,
            };
            states.push(Some(State {
                step,
                square_avg,
                grad_avg,
                momentum_buffer,
            }));
        }
        r.finish()?;
        self.config.lr = lr;
        self.steps = steps;
        self.states = states;
        Ok(())
    }
}
