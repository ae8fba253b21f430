//! Every differentiable op, one family per file, each forward beside its
//! backward rule:
//!
//! | file | ops |
//! |---|---|
//! | [`binary`] | add, sub, mul, div, pow, maximum, minimum (broadcasting) |
//! | [`unary`] | neg, exp, log, sqrt, abs, sin, cos, clamp, activations, scalar arithmetic |
//! | [`reduce`] | sum, mean, max, min, var, std, logsumexp, argmax, argmin |
//! | [`softmax`] | softmax, log_softmax |
//! | [`matmul`] | matmul (1-D, 2-D, batched with broadcast batch dims) |
//! | [`linear`] | linear (`x·Wᵀ + b`, the fully connected layer) |
//! | [`layout`] | reshape, permute, transpose, squeeze, unsqueeze, flatten, expand |
//! | [`index`] | cat, stack, split, chunk, narrow, slice, index_select, gather, pad |
//! | [`select`] | comparisons, where, masked_fill, one_hot |
//! | [`conv`] | conv2d (im2col + matrix product, stride, padding, dilation, groups) |
//! | [`pool`] | max_pool2d, avg_pool2d, adaptive_avg_pool2d |
//! | [`batch_norm`] | batch_norm (fused, training and evaluation) |
//! | [`operators`] | `+ - * /` and negation on tensors and scalars |
//! | [`attention`] | scaled dot-product attention (fused, causal and padding masks) |
//! | [`heads`] | split_heads, merge_heads (`(B, T, H·d) ↔ (B, H, T, d)`) |
//! | [`layer_norm`] | layer_norm (fused) |

pub mod attention;
pub mod batch_norm;
pub mod binary;
pub mod conv;
pub mod heads;
pub mod index;
pub mod layer_norm;
pub mod layout;
pub mod linear;
pub mod matmul;
pub mod operators;
pub mod pool;
pub mod reduce;
pub mod select;
pub mod softmax;
pub mod unary;

use super::{with_slice, Element, Storage};

/// A scalar function of one variable with its derivative: the whole chain
/// rule of an elementwise unary op.
pub trait UnaryFn: Copy + Send + Sync + 'static {
    /// Op name, used in the graph and in error messages.
    const NAME: &'static str;
    /// y = f(x).
    fn f<T: Element>(&self, x: T) -> T;
    /// dy/dx at x, given y = f(x) too (cheaper for exp, tanh, sigmoid).
    fn df<T: Element>(&self, x: T, y: T) -> T;
}

/// A scalar function of two variables with its partial derivatives.
pub trait BinaryFn: Copy + Send + Sync + 'static {
    /// Op name, used in the graph and in error messages.
    const NAME: &'static str;
    /// y = f(a, b).
    fn f<T: Element>(&self, a: T, b: T) -> T;
    /// ∂y/∂a at (a, b), given y.
    fn da<T: Element>(&self, a: T, b: T, y: T) -> T;
    /// ∂y/∂b at (a, b), given y.
    fn db<T: Element>(&self, a: T, b: T, y: T) -> T;
}

/// Below this many elements an elementwise loop stays on the calling
/// thread: handing work to rayon costs a few microseconds.
const PARALLEL_MIN: usize = 1 << 15;

/// `f(i)` for every `i < n`, split across threads for large `n`.
fn fill<T: Element>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    if n >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        (0..n)
            .into_par_iter()
            .with_min_len(PARALLEL_MIN / 4)
            .map(f)
            .collect()
    } else {
        (0..n).map(f).collect()
    }
}

/// Applies `op.f` to every element.
pub(crate) fn map<F: UnaryFn>(x: &Storage, op: &F) -> Storage {
    with_slice!(x, |v: T| T::into_storage(fill(v.len(), |i| op.f(v[i]))))
}

/// `f(a[i], b[i])` for two buffers of one length and dtype.
pub(crate) fn zip_map<F: BinaryFn>(a: &Storage, b: &Storage, op: &F) -> Storage {
    with_slice!(a, |a: T| {
        let b = T::slice(b).expect("zip_map: operands share a dtype");
        T::into_storage(fill(a.len(), |i| op.f(a[i], b[i])))
    })
}

/// `g[i] * op.df(x[i], y[i])`: the backward of an elementwise unary op.
pub(crate) fn chain_unary<F: UnaryFn>(g: &Storage, x: &Storage, y: &Storage, op: &F) -> Storage {
    with_slice!(g, |g: T| {
        let (x, y) = (
            T::slice(x).expect("same dtype"),
            T::slice(y).expect("same dtype"),
        );
        T::into_storage(fill(g.len(), |i| g[i] * op.df(x[i], y[i])))
    })
}
