//! Stochastic gradient descent with momentum, dampening, Nesterov momentum
//! and L2 weight decay: PyTorch's `torch.optim.SGD`.
//!
//! Per parameter, with `g` its gradient:
//! ```text
//! g   = g + weight_decay * p                      (if weight_decay != 0)
//! buf = g                                          (first step)
//! buf = momentum * buf + (1 - dampening) * g       (later steps)
//! g   = g + momentum * buf  if nesterov, else buf  (if momentum != 0)
//! p   = p - lr * g
//! ```

use super::{
    buffer_entry, check_non_negative, check_params, flush_subnormal, for_each_with_grad, invalid,
    scalar_entry, state_mut, Optimizer, StateReader,
};
use crate::tensor::{Element, SlicePair, Storage};
use crate::{Error, Result, Tensor};

const NAME: &str = "SGD";

/// [`SGD`]'s settings; `Default` is PyTorch's (lr 1e-3, everything else off).
///
/// ```
/// use micrograd_plus::optim::SGDConfig;
/// let c = SGDConfig { momentum: 0.9, nesterov: true, ..Default::default() };
/// assert_eq!((c.lr, c.dampening), (1e-3, 0.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SGDConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (0 = plain SGD).
    pub momentum: f64,
    /// Dampening of the gradient added to the momentum buffer.
    pub dampening: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Nesterov momentum (needs momentum > 0 and dampening 0).
    pub nesterov: bool,
}

impl Default for SGDConfig {
    fn default() -> Self {
        SGDConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

impl SGDConfig {
    fn validate(&self) -> Result<()> {
        check_non_negative(NAME, "lr", self.lr)?;
        check_non_negative(NAME, "momentum", self.momentum)?;
        check_non_negative(NAME, "weight_decay", self.weight_decay)?;
        if !self.dampening.is_finite() {
            return Err(invalid(NAME, "dampening", self.dampening, "must be finite"));
        }
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::argument(
                NAME,
                format!(
                    "invalid nesterov with momentum {} and dampening {}: \
                     Nesterov momentum requires a momentum and zero dampening",
                    self.momentum, self.dampening
                ),
            ));
        }
        Ok(())
    }
}

/// Stochastic gradient descent (PyTorch's `torch.optim.SGD`).
///
/// ```
/// use micrograd_plus::optim::{Optimizer, SGD, SGDConfig};
/// use micrograd_plus::Tensor;
/// let w = Tensor::new([1.0f64]).unwrap().requires_grad(true);
/// let cfg = SGDConfig { lr: 0.1, momentum: 0.9, ..Default::default() };
/// let mut opt = SGD::new(vec![w.clone()], cfg).unwrap();
/// for _ in 0..2 {
///     w.set_grad(Some(Tensor::new([1.0f64]).unwrap()));
///     opt.step().unwrap();
/// }
/// // buf = 1, then 0.9 * 1 + 1 = 1.9: w = 1 - 0.1 - 0.19
/// assert!((w.item().unwrap() - 0.71).abs() < 1e-12);
///
/// let err = SGD::new(vec![], SGDConfig { nesterov: true, ..Default::default() }).unwrap_err();
/// assert!(err.to_string().starts_with("SGD: invalid nesterov with momentum 0"));
/// ```
pub struct SGD {
    params: Vec<Tensor>,
    config: SGDConfig,
    /// One momentum buffer per parameter, created on its first update.
    momentum_buffers: Vec<Option<Storage>>,
    steps: u64,
}

impl SGD {
    /// An optimizer over `params` with `config`, checked.
    ///
    /// ```
    /// use micrograd_plus::optim::{SGD, SGDConfig};
    /// let err = SGD::new(vec![], SGDConfig { lr: -1.0, ..Default::default() }).unwrap_err();
    /// assert_eq!(err.to_string(), "SGD: invalid lr -1: must be a finite number >= 0");
    /// ```
    pub fn new(params: Vec<Tensor>, config: SGDConfig) -> Result<SGD> {
        config.validate()?;
        check_params(NAME, &params)?;
        let n = params.len();
        Ok(SGD {
            params,
            config,
            momentum_buffers: vec![None; n],
            steps: 0,
        })
    }

    /// The settings (with the current lr).
    ///
    /// ```
    /// use micrograd_plus::optim::{SGD, SGDConfig};
    /// assert_eq!(SGD::new(vec![], SGDConfig::default()).unwrap().config().lr, 1e-3);
    /// ```
    pub fn config(&self) -> &SGDConfig {
        &self.config
    }
}

/// Settings and progress only: the state buffers can be large.
impl std::fmt::Debug for SGD {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SGD")
            .field("config", &self.config)
            .field("params", &self.params.len())
            .field("steps", &self.steps)
            .finish()
    }
}

/// Scalars of one update, converted to the element type once.
#[derive(Clone, Copy)]
struct Coeffs<T> {
    neg_lr: T,
    weight_decay: T,
    momentum: T,
    one_minus_dampening: T,
}

/// The update of one parameter; `buf` is `None` without momentum, and
/// `first` says it is the buffer's first step (it is then set to the grad).
/// Inlined into [`crate::kernels::simd::wide`]'s copies by its caller; the
/// coefficients come by value so that the loop reads them from registers
/// (see Adam's `update`).
#[inline(always)]
fn update<T: Element>(
    p: &mut [T],
    g: &[T],
    buf: Option<&mut [T]>,
    first: bool,
    nesterov: bool,
    decay: bool,
    c: Coeffs<T>,
) {
    let n = p.len();
    let g = &g[..n];
    match buf {
        None => {
            for i in 0..n {
                let d = if decay {
                    g[i] + c.weight_decay * p[i]
                } else {
                    g[i]
                };
                p[i] = p[i] + c.neg_lr * d;
            }
        }
        Some(buf) => {
            let buf = &mut buf[..n];
            for i in 0..n {
                let d = if decay {
                    g[i] + c.weight_decay * p[i]
                } else {
                    g[i]
                };
                let b = if first {
                    d
                } else {
                    buf[i] * c.momentum + c.one_minus_dampening * d
                };
                buf[i] = flush_subnormal(b);
                let step = if nesterov { d + c.momentum * b } else { b };
                p[i] = p[i] + c.neg_lr * step;
            }
        }
    }
}

fn coeffs<T: Element>(c: &SGDConfig) -> Coeffs<T> {
    Coeffs {
        neg_lr: T::of(-c.lr),
        weight_decay: T::of(c.weight_decay),
        momentum: T::of(c.momentum),
        one_minus_dampening: T::of(1.0 - c.dampening),
    }
}

impl Optimizer for SGD {
    fn step(&mut self) -> Result<()> {
        let cfg = self.config;
        let with_momentum = cfg.momentum != 0.0;
        let decay = cfg.weight_decay != 0.0;
        let (c32, c64) = (coeffs::<f32>(&cfg), coeffs::<f64>(&cfg));
        let bufs = &mut self.momentum_buffers;
        for_each_with_grad(NAME, &self.params, |i, p| {
            let first = with_momentum && bufs[i].is_none();
            if first {
                bufs[i] = Some(super::zeros_like(&p));
            }
            let n = p.len();
            let buf = if with_momentum {
                bufs[i].as_mut()
            } else {
                None
            };
            crate::kernels::simd::wide(
                #[inline(always)]
                || -> Result<()> {
                    match p {
                        SlicePair::F32(p, g) => {
                            let b = buf.map(|b| state_mut(NAME, i, n, b)).transpose()?;
                            update(p, g, b, first, cfg.nesterov, decay, c32)
                        }
                        SlicePair::F64(p, g) => {
                            let b = buf.map(|b| state_mut(NAME, i, n, b)).transpose()?;
                            update(p, g, b, first, cfg.nesterov, decay, c64)
                        }
                    }
                    Ok(())
                },
            )
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
        for (i, (p, buf)) in self.params.iter().zip(&self.momentum_buffers).enumerate() {
            if let Some(buf) = buf {
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
        let mut bufs = Vec::with_capacity(self.params.len());
        for (i, p) in self.params.iter().enumerate() {
            let name = format!("state.{i}.momentum_buffer");
            bufs.push(if r.has(&name) {
                Some(r.buffer(&name, p.shape(), p.dtype())?)
            } else {
                None
            });
        }
        r.finish()?;
        self.config.lr = lr;
        self.steps = steps;
        self.momentum_buffers = bufs;
        Ok(())
    }
}
