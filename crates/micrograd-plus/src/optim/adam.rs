//! Adam (PyTorch's `torch.optim.Adam`), and the moment code it shares with
//! [`AdamW`](super::AdamW): the two differ only in how weight decay enters.
//!
//! Per parameter, at its `t`-th update, with `g` its gradient:
//! ```text
//! g     = g + weight_decay * p            (Adam: L2 penalty in the gradient)
//! p     = p * (1 - lr * weight_decay)     (AdamW: decoupled decay instead)
//! m     = lerp(m, g, 1 - beta1)           (= beta1 * m + (1 - beta1) * g)
//! v     = beta2 * v + (1 - beta2) * g * g
//! v_hat = max(v_hat, v)                   (amsgrad; v_hat replaces v below)
//! p     = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//! ```

use super::{
    buffer_entry, check_non_negative, check_params, check_positive, check_unit_open,
    flush_subnormal, for_each_with_grad, scalar_entry, state_mut, zeros_like, StateReader,
};
use crate::tensor::{Element, SlicePair, Storage};
use crate::{Result, Tensor};

/// [`Adam`]'s settings; `Default` is PyTorch's (lr 1e-3, betas (0.9, 0.999),
/// eps 1e-8, no weight decay, no amsgrad).
///
/// ```
/// use micrograd_plus::optim::AdamConfig;
/// let c = AdamConfig { lr: 3e-4, amsgrad: true, ..Default::default() };
/// assert_eq!(c.betas, (0.9, 0.999));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first and second moment averages, each in [0, 1).
    pub betas: (f64, f64),
    /// Added to the denominator for numerical stability (> 0).
    pub eps: f64,
    /// L2 penalty, added to the gradient (see [`AdamW`](super::AdamW) for decoupled decay).
    pub weight_decay: f64,
    /// Use the running maximum of the second moment (AMSGrad).
    pub amsgrad: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
        }
    }
}

/// Adam (PyTorch's `torch.optim.Adam`), with L2 weight decay.
///
/// ```
/// use micrograd_plus::optim::{Adam, AdamConfig, Optimizer};
/// use micrograd_plus::Tensor;
/// let w = Tensor::new([1.0f64, -1.0]).unwrap().requires_grad(true);
/// let mut opt = Adam::new(vec![w.clone()], AdamConfig { lr: 0.1, ..Default::default() }).unwrap();
/// w.set_grad(Some(Tensor::new([2.0f64, -0.5]).unwrap()));
/// opt.step().unwrap();
/// // The first step moves every element by about lr, against its gradient's sign.
/// let v = w.to_vec::<f64>();
/// assert!((v[0] - 0.9).abs() < 1e-6 && (v[1] + 0.9).abs() < 1e-6);
///
/// let err = Adam::new(vec![], AdamConfig { betas: (1.5, 0.999), ..Default::default() }).unwrap_err();
/// assert_eq!(err.to_string(), "Adam: invalid beta1 1.5: must be in [0, 1)");
/// ```
pub struct Adam(pub(crate) AdamCore);

impl Adam {
    /// An optimizer over `params` with `config`, checked.
    ///
    /// ```
    /// use micrograd_plus::optim::{Adam, AdamConfig};
    /// let err = Adam::new(vec![], AdamConfig { eps: 0.0, ..Default::default() }).unwrap_err();
    /// assert_eq!(err.to_string(), "Adam: invalid eps 0: must be a finite number > 0");
    /// ```
    pub fn new(params: Vec<Tensor>, config: AdamConfig) -> Result<Adam> {
        AdamCore::new("Adam", params, config, false).map(Adam)
    }

    /// The settings (with the current lr).
    ///
    /// ```
    /// use micrograd_plus::optim::{Adam, AdamConfig};
    /// assert_eq!(Adam::new(vec![], AdamConfig::default()).unwrap().config().eps, 1e-8);
    /// ```
    pub fn config(&self) -> &AdamConfig {
        &self.0.config
    }
}

/// Settings and progress only: the state buffers can be large.
impl std::fmt::Debug for Adam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adam")
            .field("config", self.config())
            .field("params", &self.0.params.len())
            .field("steps", &self.0.steps)
            .finish()
    }
}

/// Forwards the [`Optimizer`] methods to the shared [`AdamCore`].
macro_rules! forward_optimizer {
    ($T:ty) => {
        impl $crate::optim::Optimizer for $T {
            fn step(&mut self) -> $crate::Result<()> {
                self.0.step()
            }
            fn lr(&self) -> f64 {
                self.0.config.lr
            }
            fn set_lr(&mut self, lr: f64) {
                self.0.config.lr = lr;
            }
            fn params(&self) -> &[$crate::Tensor] {
                &self.0.params
            }
            fn state_dict(&self) -> Vec<(String, $crate::Tensor)> {
                self.0.state_dict()
            }
            fn load_state_dict(
                &mut self,
                state: &[(String, $crate::Tensor)],
            ) -> $crate::Result<()> {
                self.0.load_state_dict(state)
            }
        }
    };
}
pub(crate) use forward_optimizer;
forward_optimizer!(Adam);

/// One parameter's moments, created on its first update.
#[derive(Clone)]
struct MomentState {
    /// Updates so far (bias correction uses it; per parameter, as PyTorch).
    step: u64,
    exp_avg: Storage,
    exp_avg_sq: Storage,
    /// Running max of `exp_avg_sq`, with amsgrad only.
    max_exp_avg_sq: Option<Storage>,
}

/// Adam's machinery, shared by [`Adam`] (L2 decay) and
/// [`AdamW`](super::AdamW) (decoupled decay).
pub(crate) struct AdamCore {
    name: &'static str,
    pub(crate) params: Vec<Tensor>,
    pub(crate) config: AdamConfig,
    decoupled: bool,
    states: Vec<Option<MomentState>>,
    pub(crate) steps: u64,
}

/// The scalars of one update, converted to the element type once, the way
/// PyTorch converts its Python-float arguments.
#[derive(Clone, Copy)]
struct Coeffs<T> {
    /// `1 - beta1`, lerp's weight.
    w: T,
    /// `1 - w`, used by lerp when `w >= 0.5`.
    one_minus_w: T,
    /// lerp's form: PyTorch switches formula at `|w| = 0.5` for accuracy.
    low_weight: bool,
    beta2: T,
    one_minus_beta2: T,
    bc2_sqrt: T,
    eps: T,
    neg_step_size: T,
    /// L2 penalty added to the gradient (Adam), or 0.
    l2: T,
    /// `1 - lr * weight_decay` applied to the parameter (AdamW), or 1.
    decay_factor: T,
}

#[inline(always)]
fn lerp<T: Element>(m: T, g: T, c: &Coeffs<T>) -> T {
    if c.low_weight {
        m + c.w * (g - m)
    } else {
        g - (g - m) * c.one_minus_w
    }
}

/// The update of one parameter: `vmax` is `Some` with amsgrad. `L2` and
/// `DECOUPLED` are compile-time so the loop has no per-element branch on them.
///
/// The coefficients come by value, so the loop reads them from registers:
/// through a reference (a closure's capture) LLVM could not prove that the
/// stores to p, m and v leave them unchanged, and under AVX2 compiled the
/// loop one element at a time (the MNIST MLP's update: 251 µs, 64 by value).
#[inline(always)]
fn update<T: Element, const L2: bool, const DECOUPLED: bool>(
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    vmax: Option<&mut [T]>,
    c: Coeffs<T>,
) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    let c = &c;
    match vmax {
        None => {
            for i in 0..n {
                if DECOUPLED {
                    p[i] = p[i] * c.decay_factor;
                }
                let gi = if L2 { g[i] + c.l2 * p[i] } else { g[i] };
                let mi = lerp(m[i], gi, c);
                let vi = v[i] * c.beta2 + c.one_minus_beta2 * gi * gi;
                m[i] = flush_subnormal(mi);
                v[i] = flush_subnormal(vi);
                let denom = vi.sqrt() / c.bc2_sqrt + c.eps;
                p[i] = p[i] + c.neg_step_size * mi / denom;
            }
        }
        Some(vmax) => {
            let vmax = &mut vmax[..n];
            for i in 0..n {
                if DECOUPLED {
                    p[i] = p[i] * c.decay_factor;
                }
                let gi = if L2 { g[i] + c.l2 * p[i] } else { g[i] };
                let mi = lerp(m[i], gi, c);
                let vi = v[i] * c.beta2 + c.one_minus_beta2 * gi * gi;
                // NaN propagates, as torch.maximum (f32::max would drop it).
                let vh = if vmax[i] >= vi || vmax[i].is_nan() {
                    vmax[i]
                } else {
                    vi
                };
                m[i] = flush_subnormal(mi);
                v[i] = flush_subnormal(vi);
                vmax[i] = flush_subnormal(vh);
                let denom = vh.sqrt() / c.bc2_sqrt + c.eps;
                p[i] = p[i] + c.neg_step_size * mi / denom;
            }
        }
    }
}

/// How weight decay enters the update (none when it is 0).
#[derive(Clone, Copy)]
enum Decay {
    None,
    /// Adam: `g + weight_decay * p`.
    L2,
    /// AdamW: `p * (1 - lr * weight_decay)`.
    Decoupled,
}

/// Parameters with fewer elements are updated on the calling thread. A
/// helper would leave its half of the weights (and the state) in its own
/// core's cache, and the next forward pass, on the calling thread, pulls
/// them back core to core: sharing MNIST's 784×256 first layer made the
/// update itself faster but the Python training epoch 12% slower (the first
/// layer's forward went from 228 to 316 µs, zero_grad from 33 to 74). From
/// 4 MiB per buffer on, the parameter outgrows the caches anyway and the
/// update streams from memory, where two cores draw more bandwidth than one.
const PARALLEL_ELEMENTS: usize = 1 << 20;
/// Elements per piece of a parameter shared out across threads (64 KiB of
/// each f32 buffer).
const PIECE: usize = 1 << 14;

/// Picks the monomorphised loop for the weight-decay mode, and shares a
/// large parameter out across threads.
///
/// The update reads and writes four or five buffers once each, so on a big
/// weight it waits on memory, and two cores draw more bandwidth than one.
/// Each element's arithmetic is the same whichever thread does it, so the
/// result is too.
fn update_any<T: Element>(
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    vmax: Option<&mut [T]>,
    c: &Coeffs<T>,
    decay: Decay,
) {
    use rayon::prelude::*;
    let n = p.len();
    if n < PARALLEL_ELEMENTS || rayon::current_num_threads() == 1 {
        return update_piece(p, g, m, v, vmax, c, decay);
    }
    let vmax_pieces: Vec<Option<&mut [T]>> = match vmax {
        Some(vmax) => vmax[..n].chunks_mut(PIECE).map(Some).collect(),
        None => (0..n.div_ceil(PIECE)).map(|_| None).collect(),
    };
    p.par_chunks_mut(PIECE)
        .zip(g[..n].par_chunks(PIECE))
        .zip(m[..n].par_chunks_mut(PIECE))
        .zip(v[..n].par_chunks_mut(PIECE))
        .zip(vmax_pieces)
        .for_each(|((((p, g), m), v), vmax)| update_piece(p, g, m, v, vmax, c, decay));
}

/// [`update`] of one piece.
fn update_piece<T: Element>(
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    vmax: Option<&mut [T]>,
    c: &Coeffs<T>,
    decay: Decay,
) {
    // One pass over four buffers with a square root and a division per
    // element: worth the CPU's widest vectors.
    crate::kernels::simd::wide(
        #[inline(always)]
        || match decay {
            Decay::L2 => update::<T, true, false>(p, g, m, v, vmax, *c),
            Decay::Decoupled => update::<T, false, true>(p, g, m, v, vmax, *c),
            Decay::None => update::<T, false, false>(p, g, m, v, vmax, *c),
        },
    )
}

impl AdamCore {
    pub(crate) fn new(
        name: &'static str,
        params: Vec<Tensor>,
        config: AdamConfig,
        decoupled: bool,
    ) -> Result<AdamCore> {
        check_non_negative(name, "lr", config.lr)?;
        check_unit_open(name, "beta1", config.betas.0)?;
        check_unit_open(name, "beta2", config.betas.1)?;
        check_positive(name, "eps", config.eps)?;
        check_non_negative(name, "weight_decay", config.weight_decay)?;
        check_params(name, &params)?;
        let n = params.len();
        Ok(AdamCore {
            name,
            params,
            config,
            decoupled,
            states: vec![None; n],
            steps: 0,
        })
    }

    fn coeffs<T: Element>(&self, step: u64) -> Coeffs<T> {
        let c = &self.config;
        let (beta1, beta2) = c.betas;
        // As PyTorch: Python floats (f64) here, cast to the element type by the ops.
        let t = step as f64;
        let bias_correction1 = 1.0 - beta1.powf(t);
        let bias_correction2 = 1.0 - beta2.powf(t);
        let w = T::of(1.0 - beta1);
        let decay = c.weight_decay != 0.0;
        Coeffs {
            w,
            one_minus_w: T::one() - w,
            low_weight: w.abs() < T::of(0.5),
            beta2: T::of(beta2),
            one_minus_beta2: T::of(1.0 - beta2),
            bc2_sqrt: T::of(bias_correction2.sqrt()),
            eps: T::of(c.eps),
            neg_step_size: T::of(-(c.lr / bias_correction1)),
            l2: T::of(if decay && !self.decoupled {
                c.weight_decay
            } else {
                0.0
            }),
            decay_factor: T::of(if decay && self.decoupled {
                1.0 - c.lr * c.weight_decay
            } else {
                1.0
            }),
        }
    }

    pub(crate) fn step(&mut self) -> Result<()> {
        let name = self.name;
        let amsgrad = self.config.amsgrad;
        let decay = match (self.config.weight_decay != 0.0, self.decoupled) {
            (false, _) => Decay::None,
            (true, false) => Decay::L2,
            (true, true) => Decay::Decoupled,
        };
        let mut states = std::mem::take(&mut self.states);
        let result = for_each_with_grad(name, &self.params, |i, p| {
            let state = states[i].get_or_insert_with(|| MomentState {
                step: 0,
                exp_avg: zeros_like(&p),
                exp_avg_sq: zeros_like(&p),
                max_exp_avg_sq: amsgrad.then(|| zeros_like(&p)),
            });
            state.step += 1;
            let n = p.len();
            let MomentState {
                step,
                exp_avg,
                exp_avg_sq,
                max_exp_avg_sq,
            } = state;
            match p {
                SlicePair::F32(p, g) => {
                    let c = self.coeffs::<f32>(*step);
                    let m = state_mut(name, i, n, exp_avg)?;
                    let v = state_mut(name, i, n, exp_avg_sq)?;
                    let vmax = max_exp_avg_sq
                        .as_mut()
                        .map(|s| state_mut(name, i, n, s))
                        .transpose()?;
                    update_any(p, g, m, v, vmax, &c, decay);
                }
                SlicePair::F64(p, g) => {
                    let c = self.coeffs::<f64>(*step);
                    let m = state_mut(name, i, n, exp_avg)?;
                    let v = state_mut(name, i, n, exp_avg_sq)?;
                    let vmax = max_exp_avg_sq
                        .as_mut()
                        .map(|s| state_mut(name, i, n, s))
                        .transpose()?;
                    update_any(p, g, m, v, vmax, &c, decay);
                }
            }
            Ok(())
        });
        self.states = states;
        result?;
        self.steps += 1;
        Ok(())
    }

    pub(crate) fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![
            scalar_entry("lr", self.config.lr),
            scalar_entry("step", self.steps as f64),
        ];
        for (i, (p, s)) in self.params.iter().zip(&self.states).enumerate() {
            let Some(s) = s else { continue };
            out.push(scalar_entry(format!("state.{i}.step"), s.step as f64));
            out.push(buffer_entry(
                format!("state.{i}.exp_avg"),
                &s.exp_avg,
                p.shape(),
            ));
            out.push(buffer_entry(
                format!("state.{i}.exp_avg_sq"),
                &s.exp_avg_sq,
                p.shape(),
            ));
            if let Some(vmax) = &s.max_exp_avg_sq {
                out.push(buffer_entry(
                    format!("state.{i}.max_exp_avg_sq"),
                    vmax,
                    p.shape(),
                ));
            }
        }
        out
    }

    pub(crate) fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let name = self.name;
        let mut r = StateReader::new(name, state)?;
        let lr = r.scalar("lr")?;
        check_non_negative(name, "lr", lr)?;
        let steps = r.count("step")?;
        let mut states = Vec::with_capacity(self.params.len());
        for (i, p) in self.params.iter().enumerate() {
            let key = |b: &str| format!("state.{i}.{b}");
            if !r.has(&key("step")) {
                states.push(None);
                continue;
            }
            let (shape, dtype) = (p.shape(), p.dtype());
            states.push(Some(MomentState {
                step: r.count(&key("step"))?,
                exp_avg: r.buffer(&key("exp_avg"), shape, dtype)?,
                exp_avg_sq: r.buffer(&key("exp_avg_sq"), shape, dtype)?,
                max_exp_avg_sq: if self.config.amsgrad {
                    Some(r.buffer(&key("max_exp_avg_sq"), shape, dtype)?)
                } else {
                    None
                },
            }));
        }
        r.finish()?;
        self.config.lr = lr;
        self.steps = steps;
        self.states = states;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::{AdamW, AdamWConfig, Optimizer};

    /// Three steps of `make`'s optimizer on a parameter big enough to be
    /// shared out across threads (plus a ragged last piece), in a pool of
    /// `threads`; the parameter and its state afterwards.
    fn three_steps(threads: usize, make: fn(Tensor) -> Box<dyn Optimizer>) -> Vec<f32> {
        let n = PARALLEL_ELEMENTS + 5;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let values = |seed: usize| -> Vec<f32> {
                (0..n)
                    .map(|i| ((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5 - 1.0)
                    .collect()
            };
            let w = Tensor::from_vec(values(0), &[n])
                .unwrap()
                .requires_grad(true);
            let mut opt = make(w.clone());
            for step in 1..=3 {
                w.set_grad(Some(Tensor::from_vec(values(step), &[n]).unwrap()));
                opt.step().unwrap();
            }
            let mut out = w.to_vec::<f32>();
            for (_, t) in opt.state_dict() {
                out.extend(t.to_dtype(crate::tensor::DType::F32).to_vec::<f32>());
            }
            out
        })
    }

    #[test]
    fn a_parameter_shared_out_across_threads_gets_the_same_bits_as_on_one() {
        let makers: [fn(Tensor) -> Box<dyn Optimizer>; 3] = [
            |w| {
                let config = AdamConfig {
                    weight_decay: 0.01,
                    ..Default::default()
                };
                Box::new(Adam::new(vec![w], config).unwrap())
            },
            |w| {
                let config = AdamConfig {
                    amsgrad: true,
                    ..Default::default()
                };
                Box::new(Adam::new(vec![w], config).unwrap())
            },
            |w| Box::new(AdamW::new(vec![w], AdamWConfig::default()).unwrap()),
        ];
        for make in makers {
            let (one, two) = (three_steps(1, make), three_steps(2, make));
            assert_eq!(one.len(), two.len());
            assert!(one
                .iter()
                .zip(&two)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
            // And the steps moved it: element 0 starts at -1, and each
            // Adam step moves it by up to lr = 1e-3.
            assert!((one[0] + 1.0).abs() > 5e-4, "{}", one[0]);
        }
    }

    #[test]
    fn moments_that_decay_below_the_normal_range_are_stored_as_zero() {
        assert_eq!(flush_subnormal(1e-40f32), 0.0);
        assert_eq!(flush_subnormal(-1e-40f32), 0.0);
        assert_eq!(flush_subnormal(1e-310f64), 0.0);
        assert_eq!(flush_subnormal(f32::MIN_POSITIVE), f32::MIN_POSITIVE);
        assert_eq!(flush_subnormal(-3.5f32), -3.5);
        assert!(flush_subnormal(f32::NAN).is_nan());

        // One gradient of 1e-3, then none: m = 1e-4 * 0.9^t falls below
        // 1.2e-38 after about 800 steps and must then read exactly 0, never
        // a subnormal; v (0.999^t) is still normal.
        let w = Tensor::from_vec(vec![0.5f32], &[1])
            .unwrap()
            .requires_grad(true);
        let mut opt = Adam::new(vec![w.clone()], AdamConfig::default()).unwrap();
        let state = |opt: &Adam, key: &str| {
            opt.state_dict()
                .into_iter()
                .find(|(k, _)| k == key)
                .map(|(_, t)| t.to_vec::<f32>()[0])
                .unwrap()
        };
        for step in 0..900 {
            let g: f32 = if step == 0 { 1e-3 } else { 0.0 };
            w.set_grad(Some(Tensor::from_vec(vec![g], &[1]).unwrap()));
            opt.step().unwrap();
            let m = state(&opt, "state.0.exp_avg");
            assert!(m == 0.0 || m.is_normal(), "step {step}: m = {m:e}");
            if step == 700 {
                assert!(m > 0.0, "still normal at step 700: {m:e}");
            }
        }
        assert_eq!(state(&opt, "state.0.exp_avg"), 0.0);
        assert!(state(&opt, "state.0.exp_avg_sq").is_normal());
    }
}
