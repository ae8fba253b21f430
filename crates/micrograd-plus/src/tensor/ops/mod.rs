//! Every differentiable op, one family per file, each forward beside its
//! backward rule:
//!
//! | file | ops |
//! |---|---|
//! | [`binary`] | add, sub, mul, div, pow, maximum, minimum (broadcasting) |
//! | [`unary`] | neg, exp, log, log1p, expm1, log2, sqrt, rsqrt, square, sign, abs, sin, cos, tan, erf, clamp, activations (relu, relu6, hardtanh, hardswish, hardsigmoid, selu, celu, elu, mish, logsigmoid, softsign, softplus, ...), scalar arithmetic |
//! | [`ternary`] | clamp with tensor bounds, lerp (three broadcasting operands) |
//! | [`reduce`] | sum, mean, max, min (also over a dim with indices), var, std, logsumexp, argmax, argmin |
//! | [`norm`] | vector_norm / norm (any order, ±∞, 0), normalize |
//! | [`dropout`] | dropout (functional; `nn::Dropout` uses it) |
//! | [`similarity`] | cosine_similarity, pairwise_distance |
//! | [`scan`] | cumsum, cumprod, prod |
//! | [`softmax`] | softmax, log_softmax, glu |
//! | [`sort`] | sort, topk (values and indices) |
//! | [`matmul`] | matmul (1-D, 2-D, batched with broadcast batch dims), bmm, outer |
//! | [`linear`] | linear (`x·Wᵀ + b`, the fully connected layer) |
//! | [`layout`] | reshape, permute, transpose, squeeze, unsqueeze, flatten, expand |
//! | [`rearrange`] | flip, roll, repeat, tril, triu, pixel_shuffle |
//! | [`padding`] | pad_with: constant, reflect and replicate padding, negative pads |
//! | [`index`] | cat, stack, split, chunk, narrow, slice, index_select, gather, pad |
//! | [`select`] | comparisons, where, masked_fill, one_hot |
//! | [`conv`] | conv2d (im2col + matrix product, stride, padding, dilation, groups) |
//! | [`pool`] | max_pool2d, avg_pool2d, adaptive_avg_pool2d |
//! | [`batch_norm`] | batch_norm (fused, training and evaluation) |
//! | [`operators`] | `+ - * /` and negation on tensors and scalars |
//! | [`attention`] | scaled dot-product attention (fused, causal and padding masks), also over packed q, k, v |
//! | [`heads`] | split_heads, merge_heads (`(B, T, H·d) ↔ (B, H, T, d)`) |
//! | [`layer_norm`] | layer_norm (fused) |
//!
//! `record` is where the fused ops (linear, matmul, attention, layer_norm,
//! batch_norm, the convolutions) meet the graph: dtype promotion, locking,
//! dtype dispatch and gradient shapes, written once.

pub mod attention;
pub mod batch_norm;
pub mod binary;
pub mod conv;
pub mod conv1d;
pub mod conv_padding;
pub mod conv_transpose;
pub mod dropout;
pub mod group_norm;
pub mod heads;
pub mod index;
pub mod interpolate;
pub mod layer_norm;
pub mod layout;
pub mod linear;
pub mod matmul;
pub mod norm;
pub mod operators;
pub mod padding;
pub mod pool;
pub mod rearrange;
pub(crate) mod record;
pub mod reduce;
pub mod scan;
pub mod select;
pub mod similarity;
pub mod softmax;
pub mod sort;
pub mod ternary;
pub mod unary;

use super::{with_slice, Element, Storage};
use std::mem::MaybeUninit;

/// A scalar function of one variable with its derivative: the whole chain
/// rule of an elementwise unary op.
pub trait UnaryFn: Copy + Send + Sync + 'static {
    /// Op name, used in the graph and in error messages.
    const NAME: &'static str;
    /// y = f(x).
    fn f<T: Element>(&self, x: T) -> T;
    /// dy/dx at x, given y = f(x) too (cheaper for exp, tanh, sigmoid).
    fn df<T: Element>(&self, x: T, y: T) -> T;
    /// [`UnaryFn::f`] in a loop that may use fused multiply-adds (`fused`,
    /// see [`crate::kernels::simd::wide_fused`]); the same values up to
    /// rounding. `unary_op!` defines every op through this form (GELU's
    /// polynomials use the flag); the default is for ops written by hand.
    #[inline(always)]
    fn f_fused<T: Element>(&self, x: T, fused: bool) -> T {
        let _ = fused;
        self.f(x)
    }
    /// [`UnaryFn::df`] in a loop that may use fused multiply-adds.
    #[inline(always)]
    fn df_fused<T: Element>(&self, x: T, y: T, fused: bool) -> T {
        let _ = fused;
        self.df(x, y)
    }
    /// Whether the backward *selects* rather than multiplies where the
    /// derivative is 0 (a gate: relu, clamp, `x^0`), as PyTorch's
    /// `where(mask, grad, 0)` does: an infinite or NaN upstream gradient then
    /// stays out of the blocked elements instead of becoming `0 · inf = NaN`.
    fn gate(&self) -> bool {
        false
    }
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
    /// Whether a 0 partial derivative blocks the gradient by selection (see
    /// [`UnaryFn::gate`]): maximum and minimum, like PyTorch's `masked_fill`.
    fn gate(&self) -> bool {
        false
    }
    /// Which operands' partial derivative is exactly 1 everywhere (`a` and
    /// `b` of an add, `a` of a subtraction): with no broadcasting, such an
    /// operand's gradient is the output's gradient itself, handed on
    /// without a copy (`g · 1 = g`, bit for bit).
    const PASSES_GRAD: [bool; 2] = [false, false];
    /// The chain rule for `a`: `g · ∂y/∂a`.
    #[inline(always)]
    fn grad_a<T: Element>(&self, g: T, a: T, b: T, y: T) -> T {
        chain(g, self.da(a, b, y), self.gate())
    }
    /// The chain rule for `b`: `g · ∂y/∂b`.
    #[inline(always)]
    fn grad_b<T: Element>(&self, g: T, a: T, b: T, y: T) -> T {
        chain(g, self.db(a, b, y), self.gate())
    }
}

/// `g · d`, except that a gate's 0 (where it blocks) gives exactly 0 even
/// for an infinite or NaN `g`.
#[inline(always)]
fn chain<T: Element>(g: T, d: T, gate: bool) -> T {
    if gate && d == T::zero() {
        T::zero()
    } else {
        g * d
    }
}

/// Below this many elements an elementwise loop (or copy) stays on the
/// calling thread: handing work to rayon costs a few microseconds.
pub(super) const PARALLEL_MIN: usize = 1 << 15;

/// Sets every element of `dst` to `value` and hands it back initialised:
/// for a task that zeroes its own part of an output (in its core's cache,
/// in parallel) instead of the caller zeroing all of it first.
pub(super) fn filled<T: Copy>(dst: &mut [MaybeUninit<T>], value: T) -> &mut [T] {
    dst.fill(MaybeUninit::new(value));
    // SAFETY: every element was just written.
    unsafe { dst.assume_init_mut() }
}

/// `f([a[i], b[i], …])` for every index of `K` equal-length buffers: the
/// one loop behind every elementwise op. Each chunk of the loop is compiled
/// for the CPU's widest vectors ([`crate::kernels::simd::wide`]) and, for
/// large buffers, chunks are split across threads.
fn zip_fill<T: Element, const K: usize>(
    inputs: [&[T]; K],
    f: impl Fn([T; K]) -> T + Sync + Send + Copy,
) -> Vec<T> {
    zip_fill_fused(
        inputs,
        #[inline(always)]
        move |x, _| f(x),
    )
}

/// [`zip_fill`] for an `f` that may use fused multiply-adds: it gets the
/// flag [`crate::kernels::simd::wide_fused`] hands each compiled copy.
fn zip_fill_fused<T: Element, const K: usize>(
    inputs: [&[T]; K],
    f: impl Fn([T; K], bool) -> T + Sync + Send + Copy,
) -> Vec<T> {
    let n = inputs.first().map_or(0, |s| s.len());
    debug_assert!(inputs.iter().all(|s| s.len() == n));
    // Every element is written below, so the buffer is not zeroed first
    // (a memset of the whole output was ~5% of a GPT step).
    let mut out = Vec::with_capacity(n);
    let run = |start: usize, chunk: &mut [MaybeUninit<T>]| {
        let ins = inputs.map(|s| &s[start..start + chunk.len()]);
        crate::kernels::simd::wide_fused(
            #[inline(always)]
            |fused| fill_chunk(ins, chunk, move |x| f(x, fused)),
        )
    };
    let spare = &mut out.spare_capacity_mut()[..n];
    if n >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        let chunk = PARALLEL_MIN / 4;
        spare
            .par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(c, o)| run(c * chunk, o));
    } else {
        run(0, spare);
    }
    // SAFETY: `fill_chunk` wrote all `n` elements (the chunks cover `spare`).
    unsafe { out.set_len(n) };
    out
}

/// The loop of [`zip_fill`] over one chunk. Forced inline, with `f`, so
/// that it is compiled into the AVX-512 copy that [`crate::kernels::simd::wide`]
/// makes; the inputs are re-sliced to the output's length and passed by
/// value so that the loop has no bounds checks and vectorises. `f` comes by
/// value too: what it captured (an op's parameter, a gate flag) is then a
/// register, not a load through a pointer that the stores to `out` might
/// alias, which kept LLVM from vectorising the loop (GELU's backward ran
/// one element at a time: 6x its forward).
#[inline(always)]
fn fill_chunk<T: Copy, const K: usize>(
    ins: [&[T]; K],
    out: &mut [MaybeUninit<T>],
    f: impl Fn([T; K]) -> T,
) {
    let ins = ins.map(|s| &s[..out.len()]);
    for (i, o) in out.iter_mut().enumerate() {
        o.write(f(ins.map(|s| s[i])));
    }
}

/// Applies `op.f` to every element.
pub(crate) fn map<F: UnaryFn>(x: &Storage, op: &F) -> Storage {
    let op = *op;
    with_slice!(x, |v: T| T::into_storage(zip_fill_fused(
        [v],
        #[inline(always)]
        move |[x], fused| op.f_fused(x, fused)
    )))
}

/// `f(a[i], b[i])` for two buffers of one length and dtype.
pub(crate) fn zip_map<F: BinaryFn>(a: &Storage, b: &Storage, op: &F) -> Storage {
    let op = *op;
    with_slice!(a, |a: T| {
        let b = T::slice(b).expect("zip_map: operands share a dtype");
        T::into_storage(zip_fill(
            [a, b],
            #[inline(always)]
            move |[a, b]| op.f(a, b),
        ))
    })
}

/// `g[i] * op.df(x[i], y[i])`: the backward of an elementwise unary op.
pub(crate) fn chain_unary<F: UnaryFn>(g: &Storage, x: &Storage, y: &Storage, op: &F) -> Storage {
    let (op, gate) = (*op, op.gate());
    with_slice!(g, |g: T| {
        let (x, y) = (
            T::slice(x).expect("same dtype"),
            T::slice(y).expect("same dtype"),
        );
        T::into_storage(zip_fill_fused(
            [g, x, y],
            #[inline(always)]
            move |[g, x, y], fused| chain(g, op.df_fused(x, y, fused), gate),
        ))
    })
}
