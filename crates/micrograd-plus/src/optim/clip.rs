//! Gradient clipping, in place on the parameters' `.grad`: PyTorch's
//! `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`.

use crate::tensor::{with_slice, Element, SliceMut};
use crate::{Error, Result, Tensor};

/// The gradients of `params` that exist.
fn grads(params: &[Tensor]) -> impl Iterator<Item = Tensor> + '_ {
    params.iter().filter_map(Tensor::grad)
}

/// Scales all gradients together so that their joint `norm_type`-norm is at
/// most `max_norm`, and returns the norm they had before.
///
/// As PyTorch: the total norm is the norm of the per-gradient norms (for
/// `norm_type = inf`, the largest absolute value), parameters without a
/// gradient are ignored, and every gradient is multiplied by
/// `min(max_norm / (total + 1e-6), 1)`. `norm_type` is any finite `p > 0`
/// or `f64::INFINITY`. Sums are accumulated in f64. A non-finite total
/// (an inf or NaN gradient) is returned as is and the gradients are scaled by
/// it, as PyTorch does by default (`error_if_nonfinite=False`): check the
/// returned norm to skip such steps.
///
/// ```
/// use micrograd_plus::optim::clip_grad_norm;
/// use micrograd_plus::Tensor;
/// let w = Tensor::zeros(&[2]).requires_grad(true);
/// w.set_grad(Some(Tensor::new([3.0f32, 4.0]).unwrap()));
/// let total = clip_grad_norm(&[w.clone()], 1.0, 2.0).unwrap();
/// assert_eq!(total, 5.0);
/// let g = w.grad().unwrap().to_vec::<f32>();
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
///
/// let err = clip_grad_norm(&[w], 1.0, 0.0).unwrap_err();
/// assert_eq!(err.to_string(), "clip_grad_norm: invalid norm_type 0: must be > 0 (finite) or inf");
/// ```
pub fn clip_grad_norm(params: &[Tensor], max_norm: f64, norm_type: f64) -> Result<f64> {
    const OP: &str = "clip_grad_norm";
    if max_norm.is_nan() || max_norm < 0.0 {
        return Err(Error::argument(
            OP,
            format!("invalid max_norm {max_norm}: must be >= 0"),
        ));
    }
    if norm_type.is_nan() || norm_type <= 0.0 {
        return Err(Error::argument(
            OP,
            format!("invalid norm_type {norm_type}: must be > 0 (finite) or inf"),
        ));
    }
    let total = if norm_type == f64::INFINITY {
        let mut max = 0.0f64;
        for g in grads(params) {
            let m = with_slice!(&*g.storage(), |v: T| v
                .iter()
                .fold(0.0f64, |m, &x| nan_max(m, x.as_f64().abs())));
            max = nan_max(max, m);
        }
        max
    } else {
        let mut sum = 0.0f64;
        for g in grads(params) {
            // Per-gradient norm first, then the norm of those: PyTorch's order.
            let s = with_slice!(&*g.storage(), |v: T| p_sum(v, norm_type));
            sum += if norm_type == 2.0 {
                s
            } else {
                root(s, norm_type).powf(norm_type)
            };
        }
        root(sum, norm_type)
    };
    // clamp(max=1) that keeps a NaN (`f64::min` would turn it into 1).
    let coef = clamp(max_norm / (total + 1e-6), f64::NEG_INFINITY, 1.0);
    // PyTorch multiplies even when the coefficient is 1; skipping that is exact.
    if coef < 1.0 || coef.is_nan() {
        for g in grads(params) {
            g.update_any(|v| scale(v, coef));
        }
    }
    Ok(total)
}

/// `max` that keeps a NaN, like `torch.max` (`f64::max` would drop it).
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// `sum |x|^p` in f64 (`sum x^2` for p = 2, without calling powf).
fn p_sum<T: Element>(v: &[T], p: f64) -> f64 {
    if p == 2.0 {
        v.iter().map(|&x| x.as_f64() * x.as_f64()).sum()
    } else if p == 1.0 {
        v.iter().map(|&x| x.as_f64().abs()).sum()
    } else {
        v.iter().map(|&x| x.as_f64().abs().powf(p)).sum()
    }
}

fn root(s: f64, p: f64) -> f64 {
    if p == 2.0 {
        s.sqrt()
    } else if p == 1.0 {
        s
    } else {
        s.powf(1.0 / p)
    }
}

fn scale(v: SliceMut<'_>, coef: f64) {
    match v {
        SliceMut::F32(v) => {
            let c = coef as f32;
            v.iter_mut().for_each(|x| *x *= c);
        }
        SliceMut::F64(v) => v.iter_mut().for_each(|x| *x *= coef),
    }
}

/// Clamps every gradient element of `params` into `[-clip, clip]`
/// (PyTorch's `clip_grad_value_`); parameters without a gradient are skipped.
///
/// ```
/// use micrograd_plus::optim::clip_grad_value;
/// use micrograd_plus::Tensor;
/// let w = Tensor::zeros(&[3]).requires_grad(true);
/// w.set_grad(Some(Tensor::new([-2.0f32, 0.5, 7.0]).unwrap()));
/// clip_grad_value(&[w.clone()], 1.0).unwrap();
/// assert_eq!(w.grad().unwrap().to_vec::<f32>(), vec![-1.0, 0.5, 1.0]);
/// assert_eq!(
///     clip_grad_value(&[w], -1.0).unwrap_err().to_string(),
///     "clip_grad_value: invalid clip -1: must be >= 0"
/// );
/// ```
pub fn clip_grad_value(params: &[Tensor], clip: f64) -> Result<()> {
    if clip.is_nan() || clip < 0.0 {
        return Err(Error::argument(
            "clip_grad_value",
            format!("invalid clip {clip}: must be >= 0"),
        ));
    }
    for g in grads(params) {
        g.update_any(|v| match v {
            SliceMut::F32(v) => {
                let c = clip as f32;
                v.iter_mut().for_each(|x| *x = clamp(*x, -c, c));
            }
            SliceMut::F64(v) => v.iter_mut().for_each(|x| *x = clamp(*x, -clip, clip)),
        });
    }
    Ok(())
}

/// `torch.clamp`: NaN stays NaN.
fn clamp<T: Element>(x: T, lo: T, hi: T) -> T {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}
