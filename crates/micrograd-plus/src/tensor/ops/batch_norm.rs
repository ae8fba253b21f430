//! Batch normalisation (`torch.nn.functional.batch_norm`) as one fused op,
//! for `(N, C)`, `(N, C, L)` and `(N, C, H, W)` inputs (any `(N, C, ...)`):
//! statistics are per channel, over every dim but C.
//!
//! Forward, per channel, with `M` the number of values in the channel:
//! `x̂ = (x − μ) / √(σ² + ε)` and `y = γ·x̂ + β`. In training μ and σ² are
//! the batch mean and biased variance, and the running statistics move
//! towards them in place: `running_mean ← (1 − m)·running_mean + m·μ` and
//! `running_var ← (1 − m)·running_var + m·σ²·M/(M − 1)` (the unbiased
//! variance, as PyTorch). In evaluation μ and σ² are the running statistics.
//!
//! Backward in closed form, with `g` the upstream gradient and sums over
//! the channel: `dβ = Σg`, `dγ = Σ g·x̂`, and
//! - training (μ, σ² depend on x): `dx = γ/√(σ²+ε) · (g − Σg/M − x̂·Σ(g·x̂)/M)`;
//! - evaluation (constants): `dx = γ/√(σ²+ε) · g`.
//!
//! Both directions take two sweeps over the data: one for the per-channel
//! sums (channels in parallel, accumulated in f64), one elementwise with
//! per-channel coefficients (images in parallel).

use super::record::{promote, record, Fused, Operands, Scalar};
use crate::kernels::simd;
use crate::tensor::shape::{sum_slice, zip_sum};
use crate::tensor::{with_slice, Element, SliceMut, Tensor};
use crate::{Error, Result};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Below this many elements the sweeps run on the calling thread.
const PARALLEL_MIN: usize = 1 << 15;

/// The input seen as `(n, c, s)`: element `(i, ch, j)` is at `(i·c + ch)·s + j`.
#[derive(Debug, Clone, Copy)]
struct Layout {
    n: usize,
    c: usize,
    s: usize,
}

impl Layout {
    /// Values per channel.
    fn m(&self) -> usize {
        self.n * self.s
    }
    fn parallel(&self) -> bool {
        self.n * self.c * self.s >= PARALLEL_MIN && rayon::current_num_threads() > 1
    }

    /// `f(channel)` for every channel, collected in order; `f` is compiled
    /// for the widest vectors (pass it `#[inline(always)]`).
    fn per_channel<R: Send>(&self, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
        let wide = |ch| {
            simd::wide(
                #[inline(always)]
                || f(ch),
            )
        };
        if self.parallel() {
            (0..self.c).into_par_iter().map(wide).collect()
        } else {
            (0..self.c).map(wide).collect()
        }
    }

    /// Σ over the channel's rows (contiguous runs of `s` values) of
    /// `f(row of u, row of v)`, each row's part computed in `T` and the
    /// total in f64.
    #[inline(always)]
    fn channel_sum<T: Element>(
        &self,
        ch: usize,
        u: &[T],
        v: &[T],
        f: impl Fn(&[T], &[T]) -> T,
    ) -> f64 {
        let mut total = 0.0;
        for i in 0..self.n {
            let at = (i * self.c + ch) * self.s;
            total += f(&u[at..at + self.s], &v[at..at + self.s]).as_f64();
        }
        total
    }

    /// `out[k] = a[ch]·u[k] + b[ch]·(v[k] − mean[ch]) + c0[ch]` for every
    /// element, where `ch` is the element's channel.
    #[allow(clippy::too_many_arguments)]
    fn affine<T: Element>(
        &self,
        u: &[T],
        v: &[T],
        mean: &[T],
        a: &[T],
        b: &[T],
        c0: &[T],
    ) -> Vec<T> {
        // Not zeroed first: every element is stored below (a memset of the
        // output was 2.6% of a CIFAR-10 training step).
        let mut out = Vec::with_capacity(u.len());
        let row = self.c * self.s;
        let one = |i: usize, o: &mut [MaybeUninit<T>]| {
            simd::wide(
                #[inline(always)]
                || {
                    for ch in 0..self.c {
                        let at = i * row + ch * self.s;
                        let (uu, vv) = (&u[at..at + self.s], &v[at..at + self.s]);
                        let (a, b, c0, m) = (a[ch], b[ch], c0[ch], mean[ch]);
                        let o = &mut o[ch * self.s..][..self.s];
                        for ((o, &u), &v) in o.iter_mut().zip(uu).zip(vv) {
                            o.write(a * u + b * (v - m) + c0);
                        }
                    }
                },
            )
        };
        if row == 0 {
            return out;
        }
        assert_eq!(u.len(), self.n * row, "batch_norm: input size");
        let spare = &mut out.spare_capacity_mut()[..u.len()];
        if self.parallel() {
            spare
                .par_chunks_mut(row)
                .enumerate()
                .for_each(|(i, o)| one(i, o));
        } else {
            spare
                .chunks_mut(row)
                .enumerate()
                .for_each(|(i, o)| one(i, o));
        }
        // SAFETY: the `n` chunks of `row` elements cover all of `u.len()`,
        // and `one` stored every element of each (its channels tile the row).
        unsafe { out.set_len(u.len()) };
        out
    }
}

/// Per-channel `(mean, biased variance)`, two-pass for accuracy (the
/// variance sums squared deviations from the mean).
fn batch_stats<T: Element>(x: &[T], l: &Layout) -> (Vec<f64>, Vec<f64>) {
    let m = l.m() as f64;
    l.per_channel(
        #[inline(always)]
        |ch| {
            let mean = l.channel_sum(ch, x, x, |r, _| sum_slice(r)) / m;
            let mt = T::of(mean);
            let var = l.channel_sum(ch, x, x, |r, _| zip_sum(r, r, |a, _| (a - mt) * (a - mt))) / m;
            (mean, var)
        },
    )
    .into_iter()
    .unzip()
}

fn cast<T: Element>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::of(x)).collect()
}

/// The recorded op: the layout and the statistics it normalises with
/// (the batch's in training, else the running ones).
#[derive(Debug, Clone)]
struct BatchNorm {
    layout: Layout,
    training: bool,
    mean: Vec<f64>,
    inv_std: Vec<f64>,
}

impl Fused for BatchNorm {
    type Saved<T: Scalar> = ();
    fn name(&self) -> &'static str {
        "batch_norm"
    }
    /// y = γ·is·(x − μ) + β: the `b` term of `affine` with u unused.
    fn forward<T: Scalar>(&self, x: &Operands<'_, T>) -> (Vec<T>, ()) {
        let l = self.layout;
        let scale: Vec<f64> = (0..l.c)
            .map(|ch| x.get(1).map_or(1.0, |w| w[ch].as_f64()) * self.inv_std[ch])
            .collect();
        let shift: Vec<f64> = (0..l.c)
            .map(|ch| x.get(2).map_or(0.0, |b| b[ch].as_f64()))
            .collect();
        let zeros = vec![T::zero(); l.c];
        let y = l.affine(
            &x[0],
            &x[0],
            &cast::<T>(&self.mean),
            &zeros,
            &cast::<T>(&scale),
            &cast::<T>(&shift),
        );
        (y, ())
    }
    fn backward<T: Scalar>(
        &self,
        g: &[T],
        x: &Operands<'_, T>,
        _y: &[T],
        _: &(),
        want: &[bool],
    ) -> Vec<Option<Vec<T>>> {
        let (dx, dw, db) = backward(g, &x[0], x.get(1), self, (want[0], want[1], want[2]));
        vec![dx, dw, db]
    }
}

/// `(dx, dweight, dbias)`, each when wanted.
type Grads<T> = (Option<Vec<T>>, Option<Vec<T>>, Option<Vec<T>>);

/// The three gradients of batch_norm, each only when wanted.
fn backward<T: Element>(
    g: &[T],
    x: &[T],
    weight: Option<&[T]>,
    sv: &BatchNorm,
    want: (bool, bool, bool),
) -> Grads<T> {
    let l = sv.layout;
    // Σg and Σ g·x̂ per channel (needed by dγ, dβ, and dx in training).
    let need_sums = want.1 || want.2 || (want.0 && sv.training);
    let (sg, sgx): (Vec<f64>, Vec<f64>) = if need_sums {
        l.per_channel(
            #[inline(always)]
            |ch| {
                let mu = T::of(sv.mean[ch]);
                let sg = l.channel_sum(ch, g, g, |r, _| sum_slice(r));
                let sgx = l.channel_sum(ch, g, x, |gr, xr| zip_sum(gr, xr, |a, b| a * (b - mu)));
                (sg, sgx * sv.inv_std[ch])
            },
        )
        .into_iter()
        .unzip()
    } else {
        (vec![0.0; l.c], vec![0.0; l.c])
    };
    let dx = want.0.then(|| {
        let m = l.m() as f64;
        let gamma = |ch: usize| weight.map_or(1.0, |w| w[ch].as_f64());
        let k: Vec<f64> = (0..l.c).map(|ch| gamma(ch) * sv.inv_std[ch]).collect();
        let (b, c0): (Vec<f64>, Vec<f64>) = if sv.training {
            // dx = k·g − k·is·Σ(g·x̂)/M · (x − μ) − k·Σg/M
            (0..l.c)
                .map(|ch| (-k[ch] * sv.inv_std[ch] * sgx[ch] / m, -k[ch] * sg[ch] / m))
                .unzip()
        } else {
            (vec![0.0; l.c], vec![0.0; l.c])
        };
        l.affine(
            g,
            x,
            &cast::<T>(&sv.mean),
            &cast::<T>(&k),
            &cast::<T>(&b),
            &cast::<T>(&c0),
        )
    });
    (
        dx,
        want.1.then(|| cast::<T>(&sgx)),
        want.2.then(|| cast::<T>(&sg)),
    )
}

/// Checks an optional per-channel parameter: shape `[c]` and the dtype of
/// the (promoted) input.
fn check_param(name: &str, t: Option<&Tensor>, x: &Tensor, c: usize) -> Result<()> {
    let Some(t) = t else { return Ok(()) };
    if t.shape() != [c] {
        return Err(Error::shape(
            "batch_norm",
            format!(
                "{name} must have shape [{c}] for input of shape {:?}, got {:?}",
                x.shape(),
                t.shape()
            ),
        ));
    }
    if t.dtype() != x.dtype() {
        return Err(Error::argument(
            "batch_norm",
            format!(
                "{name} has dtype {} but the input, weight and bias compute in {}",
                t.dtype().name(),
                x.dtype().name()
            ),
        ));
    }
    Ok(())
}

impl Tensor {
    /// Batch normalisation over the channel dim (dim 1) of an `(N, C, ...)`
    /// tensor, like `torch.nn.functional.batch_norm`; see the [module
    /// docs](self) for the formulas.
    ///
    /// In `training` the batch statistics are used and, when given,
    /// `running_mean` and `running_var` (shape `[C]`, never part of the
    /// graph) are updated in place with `momentum`. Otherwise the running
    /// statistics are used and must be given. `weight` (γ) and `bias` (β)
    /// are the optional affine parameters, shape `[C]`.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[1.0f64, 10.0], [3.0, 30.0]]).unwrap();
    /// let (rm, rv) = (Tensor::zeros(&[2]).to_dtype(x.dtype()), Tensor::ones(&[2]).to_dtype(x.dtype()));
    /// let y = x.batch_norm(Some(&rm), Some(&rv), None, None, true, 0.1, 0.0).unwrap();
    /// assert_eq!(y.to_vec::<f64>(), vec![-1.0, -1.0, 1.0, 1.0]);
    /// assert_eq!(rm.to_vec::<f64>(), vec![0.2, 2.0]);           // 0.9·0 + 0.1·mean
    /// assert_eq!(rv.to_vec::<f64>(), vec![0.9 + 0.2, 0.9 + 20.0]); // unbiased variance 2, 200
    ///
    /// let err = x.batch_norm(None, None, None, None, false, 0.1, 1e-5).unwrap_err();
    /// assert!(err.to_string().contains("running_mean and running_var are required"));
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm(
        &self,
        running_mean: Option<&Tensor>,
        running_var: Option<&Tensor>,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        training: bool,
        momentum: f64,
        eps: f64,
    ) -> Result<Tensor> {
        let op = "batch_norm";
        let shape = self.shape();
        if shape.len() < 2 {
            return Err(Error::shape(
                op,
                format!("expected an (N, C, ...) input of at least 2 dims, got shape {shape:?}"),
            ));
        }
        let layout = Layout {
            n: shape[0],
            c: shape[1],
            s: shape[2..].iter().product(),
        };
        // Input, weight and bias promote to one dtype, as every op's
        // operands do; the running statistics, updated in place and never
        // part of the graph, must already have it.
        let [x, weight, bias] = promote([Some(self), weight, bias]);
        let x = x.expect("the input is given");
        let (weight, bias) = (weight.as_ref(), bias.as_ref());
        for (name, t) in [
            ("running_mean", running_mean),
            ("running_var", running_var),
            ("weight", weight),
            ("bias", bias),
        ] {
            check_param(name, t, &x, layout.c)?;
        }
        if training && layout.m() <= 1 {
            return Err(Error::shape(
                op,
                format!("expected more than 1 value per channel when training, got input of shape {shape:?}"),
            ));
        }
        let (mean, var) = if training {
            with_slice!(&*x.storage(), |xv: T| batch_stats(xv, &layout))
        } else {
            match (running_mean, running_var) {
                (Some(rm), Some(rv)) => (rm.to_vec::<f64>(), rv.to_vec::<f64>()),
                _ => return Err(Error::argument(
                    op,
                    "running_mean and running_var are required in evaluation (training = false)",
                )),
            }
        };
        if training {
            let unbias = layout.m() as f64 / (layout.m() - 1) as f64;
            for (t, stat, factor) in [(running_mean, &mean, 1.0), (running_var, &var, unbias)] {
                if let Some(t) = t {
                    t.update_any(|r| match r {
                        SliceMut::F32(r) => blend(r, stat, momentum, factor),
                        SliceMut::F64(r) => blend(r, stat, momentum, factor),
                    });
                }
            }
        }
        let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let bn = BatchNorm {
            layout,
            training,
            mean,
            inv_std,
        };
        Ok(record(bn, [Some(&x), weight, bias], shape.to_vec()))
    }
}

/// A running statistic's update `r = (1 - momentum)·r + momentum·factor·stat`,
/// computed in f64 whatever `r`'s dtype, in place.
fn blend<T: Element>(r: &mut [T], stat: &[f64], momentum: f64, factor: f64) {
    for (r, &v) in r.iter_mut().zip(stat) {
        *r = T::of((1.0 - momentum) * r.as_f64() + momentum * v * factor);
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    /// batch_norm on 2-D, 3-D and 4-D input, training and evaluation, with and
    /// without the affine parameters.
    pub(crate) fn batch_norm_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        for (shape, affine) in [
            (&[4usize, 3][..], true),
            (&[5, 2][..], false),
            (&[2, 3, 5][..], true),
            (&[3, 2, 3, 4][..], true),
            (&[2, 3, 2, 3][..], false),
        ] {
            let c = shape[1];
            let mut inputs = vec![g.randn(shape)];
            if affine {
                inputs.extend([g.positive(&[c]), g.randn(&[c])]);
            }
            out.push(OpCheck::new(
                "batch_norm",
                format!("training, affine={affine}"),
                inputs,
                move |t| t[0].batch_norm(None, None, t.get(1), t.get(2), true, 0.1, 1e-5),
            ));
        }
        // Training with running statistics: they change in place between the
        // checker's evaluations, but the output must not depend on them.
        let (rm, rv) = (g.randn(&[3]), g.positive(&[3]));
        out.push(OpCheck::new(
            "batch_norm",
            "training, affine=true, with running stats",
            vec![g.randn(&[2, 3, 2, 2]), g.positive(&[3]), g.randn(&[3])],
            move |t| {
                t[0].batch_norm(
                    Some(&rm),
                    Some(&rv),
                    Some(&t[1]),
                    Some(&t[2]),
                    true,
                    0.1,
                    1e-5,
                )
            },
        ));
        for (shape, affine) in [(&[4usize, 3][..], true), (&[2, 3, 2, 3][..], false)] {
            let c = shape[1];
            let (rm, rv) = (g.randn(&[c]), g.positive(&[c]));
            let mut inputs = vec![g.randn(shape)];
            if affine {
                inputs.extend([g.positive(&[c]), g.randn(&[c])]);
            }
            out.push(OpCheck::new(
                "batch_norm",
                format!("eval, affine={affine}"),
                inputs,
                move |t| {
                    t[0].batch_norm(Some(&rm), Some(&rv), t.get(1), t.get(2), false, 0.1, 1e-5)
                },
            ));
        }
    }
}
