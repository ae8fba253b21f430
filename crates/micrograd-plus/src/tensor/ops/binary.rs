//! Binary elementwise ops with NumPy/PyTorch broadcasting.
//!
//! Each op is a [`BinaryFn`]: its value and both partial derivatives in a few
//! lines. One forward and one backward routine serve them all; the backward
//! walks the broadcast output once and adds `grad * ∂y/∂a` straight into a
//! buffer of `a`'s own shape, which is how a broadcast operand's gradient
//! comes out summed back to that operand's shape.

use super::{zip_fill, BinaryFn};
use crate::tensor::shape::{
    broadcast_shapes, broadcast_strides, contiguous_strides, for_each_offset,
};
use crate::tensor::{with_slice, DType, Element, Storage, Tensor};
use crate::Result;

/// `a + b`.
#[derive(Clone, Copy)]
pub struct Add;
impl BinaryFn for Add {
    const NAME: &'static str = "add";
    const PASSES_GRAD: [bool; 2] = [true, true];
    fn f<T: Element>(&self, a: T, b: T) -> T {
        a + b
    }
    fn da<T: Element>(&self, _: T, _: T, _: T) -> T {
        T::one()
    }
    fn db<T: Element>(&self, _: T, _: T, _: T) -> T {
        T::one()
    }
}

/// `a - b`.
#[derive(Clone, Copy)]
pub struct Sub;
impl BinaryFn for Sub {
    const NAME: &'static str = "sub";
    const PASSES_GRAD: [bool; 2] = [true, false];
    fn f<T: Element>(&self, a: T, b: T) -> T {
        a - b
    }
    fn da<T: Element>(&self, _: T, _: T, _: T) -> T {
        T::one()
    }
    fn db<T: Element>(&self, _: T, _: T, _: T) -> T {
        -T::one()
    }
}

/// `a * b`.
#[derive(Clone, Copy)]
pub struct Mul;
impl BinaryFn for Mul {
    const NAME: &'static str = "mul";
    fn f<T: Element>(&self, a: T, b: T) -> T {
        a * b
    }
    fn da<T: Element>(&self, _: T, b: T, _: T) -> T {
        b
    }
    fn db<T: Element>(&self, a: T, _: T, _: T) -> T {
        a
    }
}

/// `a / b`.
#[derive(Clone, Copy)]
pub struct Div;
impl BinaryFn for Div {
    const NAME: &'static str = "div";
    fn f<T: Element>(&self, a: T, b: T) -> T {
        a / b
    }
    fn da<T: Element>(&self, _: T, b: T, _: T) -> T {
        T::one() / b
    }
    fn db<T: Element>(&self, _: T, b: T, y: T) -> T {
        // d(a/b)/db = -a/b² = -y/b
        -y / b
    }
}

/// `a ** b`.
#[derive(Clone, Copy)]
pub struct Pow;
impl BinaryFn for Pow {
    const NAME: &'static str = "pow";
    fn f<T: Element>(&self, a: T, b: T) -> T {
        a.powf(b)
    }
    fn da<T: Element>(&self, a: T, b: T, _: T) -> T {
        // b·a^(b-1); written this way (not y·b/a) so a = 0 gives the right limit.
        if b == T::zero() {
            T::zero()
        } else {
            b * a.powf(b - T::one())
        }
    }
    fn db<T: Element>(&self, a: T, b: T, y: T) -> T {
        // d(a^b)/db = a^b·ln a; PyTorch defines it as 0 where a = 0 and
        // b >= 0 (there 0·(-inf)); with b < 0 it is inf·(-inf) = -inf.
        if a == T::zero() && b >= T::zero() {
            T::zero()
        } else {
            y * a.ln()
        }
    }
    // PyTorch *selects* 0 for the base where b = 0, so a NaN or infinite
    // upstream gradient stays out there; everywhere else, and for the
    // exponent even where its partial is defined as 0, it multiplies (0^2's
    // base gradient times NaN is NaN), which is why pow is no gate.
    fn grad_a<T: Element>(&self, g: T, a: T, b: T, y: T) -> T {
        if b == T::zero() {
            T::zero()
        } else {
            g * self.da(a, b, y)
        }
    }
}

/// Elementwise `max(a, b)`; on ties the gradient is split evenly (PyTorch).
#[derive(Clone, Copy)]
pub struct Maximum;
impl BinaryFn for Maximum {
    const NAME: &'static str = "maximum";
    fn f<T: Element>(&self, a: T, b: T) -> T {
        if a.is_nan() || b.is_nan() {
            T::nan()
        } else {
            a.max(b)
        }
    }
    fn gate(&self) -> bool {
        true
    }
    fn da<T: Element>(&self, a: T, b: T, _: T) -> T {
        tie_split(a < b, a == b)
    }
    fn db<T: Element>(&self, a: T, b: T, _: T) -> T {
        tie_split(b < a, a == b)
    }
}

/// Elementwise `min(a, b)`; on ties the gradient is split evenly (PyTorch).
#[derive(Clone, Copy)]
pub struct Minimum;
impl BinaryFn for Minimum {
    const NAME: &'static str = "minimum";
    fn f<T: Element>(&self, a: T, b: T) -> T {
        if a.is_nan() || b.is_nan() {
            T::nan()
        } else {
            a.min(b)
        }
    }
    fn gate(&self) -> bool {
        true
    }
    fn da<T: Element>(&self, a: T, b: T, _: T) -> T {
        tie_split(a > b, a == b)
    }
    fn db<T: Element>(&self, a: T, b: T, _: T) -> T {
        tie_split(b > a, a == b)
    }
}

/// An operand's share of a maximum's or minimum's gradient: half on a tie,
/// none when it lost, all otherwise. (With a NaN neither loses, so both get
/// all of it, as in PyTorch.)
fn tie_split<T: Element>(loses: bool, tie: bool) -> T {
    if tie {
        T::of(0.5)
    } else if loses {
        T::zero()
    } else {
        T::one()
    }
}

impl Tensor {
    /// Elementwise `self + other` with broadcasting.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let a = Tensor::new([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]).unwrap().requires_grad(true);
    /// let b = Tensor::new([10.0f32, 20.0, 30.0]).unwrap().requires_grad(true);
    /// let y = a.add(&b).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
    /// y.sum().backward().unwrap();
    /// assert_eq!(b.grad().unwrap().shape(), &[3]); // summed back over the broadcast rows
    /// assert_eq!(b.grad().unwrap().to_vec::<f32>(), vec![2.0, 2.0, 2.0]);
    /// ```
    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        binary(self, other, Add)
    }
    /// Elementwise `self - other` with broadcasting.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let y = Tensor::new([5.0f32]).unwrap().sub(&Tensor::new([2.0f32]).unwrap()).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![3.0]);
    /// ```
    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        binary(self, other, Sub)
    }
    /// Elementwise `self * other` with broadcasting.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let y = Tensor::new([2.0f32, 3.0]).unwrap().mul(&Tensor::scalar(4.0f32)).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![8.0, 12.0]);
    /// ```
    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        binary(self, other, Mul)
    }
    /// Elementwise `self / other` with broadcasting.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let y = Tensor::new([3.0f32]).unwrap().div(&Tensor::new([2.0f32]).unwrap()).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![1.5]);
    /// ```
    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        binary(self, other, Div)
    }
    /// Elementwise `self ** exponent` with a tensor exponent (broadcasting).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let y = Tensor::new([2.0f32, 3.0]).unwrap().pow(&Tensor::new([3.0f32, 2.0]).unwrap()).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![8.0, 9.0]);
    /// ```
    pub fn pow(&self, exponent: &Tensor) -> Result<Tensor> {
        binary(self, exponent, Pow)
    }
    /// Elementwise maximum with broadcasting (ties split the gradient).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let y = Tensor::new([1.0f32, 5.0]).unwrap().maximum(&Tensor::new([3.0f32]).unwrap()).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![3.0, 5.0]);
    /// ```
    pub fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        binary(self, other, Maximum)
    }
    /// Elementwise minimum with broadcasting (ties split the gradient).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let y = Tensor::new([1.0f32, 5.0]).unwrap().minimum(&Tensor::new([3.0f32]).unwrap()).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![1.0, 3.0]);
    /// ```
    pub fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        binary(self, other, Minimum)
    }
}

/// Forward of every broadcasting binary op, and its recorded backward.
pub(crate) fn binary<F: BinaryFn>(a: &Tensor, b: &Tensor, op: F) -> Result<Tensor> {
    // Mixed f32/f64 operands promote as in PyTorch (a 0-d f64 does not
    // widen an f32 tensor with dims).
    if a.dtype() != b.dtype() {
        let to = DType::result_type(&[a, b]);
        return binary(&a.to_dtype(to), &b.to_dtype(to), op);
    }
    let out_shape = broadcast_shapes(F::NAME, a.shape(), b.shape())?;
    let out = {
        let (sa, sb) = (a.storage(), b.storage());
        if a.shape() == b.shape() {
            super::zip_map(&sa, &sb, &op)
        } else {
            with_slice!(&*sa, |x: T| {
                let y = T::slice(&sb).expect("same dtype");
                T::into_storage(broadcast_forward(
                    x,
                    a.shape(),
                    y,
                    b.shape(),
                    &out_shape,
                    &op,
                ))
            })
        }
    };
    Ok(Tensor::record(
        out,
        out_shape,
        F::NAME,
        vec![a.clone(), b.clone()],
        move |g, inputs, y| {
            let (a, b) = (&inputs[0], &inputs[1]);
            // An operand whose gradient is `g` itself (a residual add's)
            // gets `g`, shared: the engine copies a shared gradient before
            // anything adds into it in place. Computing `g · 1` instead
            // cost the GPT step 1 ms (a 1 MiB buffer per operand per add).
            let passes = F::PASSES_GRAD.map(|p| p && a.shape() == b.shape());
            let (want_a, want_b) = (
                a.is_requires_grad() && !passes[0],
                b.is_requires_grad() && !passes[1],
            );
            let (sa, sb, sg, sy) = (a.storage(), b.storage(), g.storage(), y.storage());
            let (ga, gb) = with_slice!(&*sg, |g: T| {
                let (av, bv, yv) = (
                    T::slice(&sa).expect("dtype"),
                    T::slice(&sb).expect("dtype"),
                    T::slice(&sy).expect("dtype"),
                );
                let (ga, gb) = broadcast_backward(
                    g,
                    av,
                    a.shape(),
                    bv,
                    b.shape(),
                    yv,
                    y.shape(),
                    &op,
                    want_a,
                    want_b,
                );
                (ga.map(T::into_storage), gb.map(T::into_storage))
            });
            let grad = |passed: bool, computed: Option<Storage>, input: &Tensor| {
                if passed {
                    input.is_requires_grad().then(|| g.clone())
                } else {
                    computed.map(|s| Tensor::from_storage(s, input.shape().to_vec()))
                }
            };
            Ok(vec![grad(passes[0], ga, a), grad(passes[1], gb, b)])
        },
    ))
}

fn broadcast_forward<T: Element, F: BinaryFn>(
    a: &[T],
    a_shape: &[usize],
    b: &[T],
    b_shape: &[usize],
    out_shape: &[usize],
    op: &F,
) -> Vec<T> {
    // Common cases first: a tensor with a scalar.
    if b.len() == 1 {
        return a.iter().map(|&x| op.f(x, b[0])).collect();
    }
    if a.len() == 1 {
        return b.iter().map(|&y| op.f(a[0], y)).collect();
    }
    // One operand repeats as a whole block of the other (a bias row added to
    // every row of a batch): zip block by block.
    let n = crate::tensor::shape::numel(out_shape);
    if repeats_as_block(b_shape, out_shape) && a.len() == n {
        return zip_blocks(a, b, |x, y| op.f(x, y));
    }
    if repeats_as_block(a_shape, out_shape) && b.len() == n {
        return zip_blocks(b, a, |y, x| op.f(x, y));
    }
    let (sa, sb) = (
        broadcast_strides(a_shape, out_shape),
        broadcast_strides(b_shape, out_shape),
    );
    let mut out = Vec::with_capacity(crate::tensor::shape::numel(out_shape));
    for_each_offset(out_shape, [&sa, &sb], |[i, j]| out.push(op.f(a[i], b[j])));
    out
}

/// `f(x, y)` for every element `x` of `big`, with `y` the element of `block`
/// at the same place within its repeat (`big` is `block` repeated whole, as a
/// bias row is over a batch). Vectorised by [`crate::kernels::simd::wide`].
fn zip_blocks<T: Element>(big: &[T], block: &[T], f: impl Fn(T, T) -> T) -> Vec<T> {
    let (n, m) = (big.len(), block.len());
    if m == 0 {
        return Vec::new(); // a zero-size block repeats into nothing
    }
    let mut out = Vec::with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    crate::kernels::simd::wide(
        #[inline(always)]
        || {
            for (o, c) in spare.chunks_exact_mut(m).zip(big.chunks_exact(m)) {
                for ((o, &x), &y) in o.iter_mut().zip(&c[..m]).zip(block) {
                    o.write(f(x, y));
                }
            }
        },
    );
    // SAFETY: `big` is a whole number of blocks, so the chunks cover all `n`
    // elements and each was written above.
    unsafe { out.set_len(n) };
    out
}

/// True when `shape`, broadcast to `out`, is a block repeated whole: after
/// any leading 1s, its dims equal `out`'s trailing dims.
fn repeats_as_block(shape: &[usize], out: &[usize]) -> bool {
    let lead = shape.iter().take_while(|&&d| d == 1).count();
    let trimmed = &shape[lead..];
    !trimmed.is_empty() && trimmed.iter().all(|&d| d > 0) && out.ends_with(trimmed)
}

#[allow(clippy::too_many_arguments)]
fn broadcast_backward<T: Element, F: BinaryFn>(
    g: &[T],
    a: &[T],
    a_shape: &[usize],
    b: &[T],
    b_shape: &[usize],
    y: &[T],
    out_shape: &[usize],
    op: &F,
    want_a: bool,
    want_b: bool,
) -> (Option<Vec<T>>, Option<Vec<T>>) {
    let op = *op;
    if a_shape == b_shape {
        // The common case (a residual add, say): one vectorised, threaded
        // loop per operand.
        let ga = want_a.then(|| {
            zip_fill(
                [g, a, b, y],
                #[inline(always)]
                move |[g, a, b, y]| op.grad_a(g, a, b, y),
            )
        });
        let gb = want_b.then(|| {
            zip_fill(
                [g, a, b, y],
                #[inline(always)]
                move |[g, a, b, y]| op.grad_b(g, a, b, y),
            )
        });
        return (ga, gb);
    }
    if repeats_as_block(b_shape, out_shape) && a.len() == g.len() && !b.is_empty() {
        // a has the output's shape; b's gradient sums over its repeats.
        let m = b.len();
        let blocks = || {
            g.chunks_exact(m)
                .zip(a.chunks_exact(m))
                .zip(y.chunks_exact(m))
        };
        let ga = want_a.then(|| {
            let mut ga = Vec::with_capacity(g.len());
            let spare = &mut ga.spare_capacity_mut()[..g.len()];
            crate::kernels::simd::wide(
                #[inline(always)]
                || {
                    for (o, ((gc, ac), yc)) in spare.chunks_exact_mut(m).zip(blocks()) {
                        let (gc, ac, yc) = (&gc[..m], &ac[..m], &yc[..m]);
                        for (j, o) in o.iter_mut().enumerate() {
                            o.write(op.grad_a(gc[j], ac[j], b[j], yc[j]));
                        }
                    }
                },
            );
            // SAFETY: the blocks cover all `g.len()` elements, each written above.
            unsafe { ga.set_len(g.len()) };
            ga
        });
        let gb = want_b.then(|| {
            let mut gb = vec![T::zero(); m];
            crate::kernels::simd::wide(
                #[inline(always)]
                || {
                    for ((gc, ac), yc) in blocks() {
                        let (gc, ac, yc) = (&gc[..m], &ac[..m], &yc[..m]);
                        for (j, acc) in gb.iter_mut().enumerate() {
                            *acc = *acc + op.grad_b(gc[j], ac[j], b[j], yc[j]);
                        }
                    }
                },
            );
            gb
        });
        return (ga, gb);
    }
    let mut ga = want_a.then(|| vec![T::zero(); a.len()]);
    let mut gb = want_b.then(|| vec![T::zero(); b.len()]);
    let (sa, sb) = (
        broadcast_strides(a_shape, out_shape),
        broadcast_strides(b_shape, out_shape),
    );
    let so = contiguous_strides(out_shape);
    for_each_offset(out_shape, [&sa, &sb, &so], |[i, j, o]| {
        if let Some(ga) = ga.as_mut() {
            ga[i] = ga[i] + op.grad_a(g[o], a[i], b[j], y[o]);
        }
        if let Some(gb) = gb.as_mut() {
            gb[j] = gb[j] + op.grad_b(g[o], a[i], b[j], y[o]);
        }
    });
    (ga, gb)
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    pub(crate) fn binary_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let ops: [(&'static str, BinaryOp, Domain); 7] = [
            ("add", Tensor::add, Domain::Any),
            ("sub", Tensor::sub, Domain::Any),
            ("mul", Tensor::mul, Domain::Any),
            ("div", Tensor::div, Domain::NonZeroRhs),
            ("pow", Tensor::pow, Domain::PositiveLhs),
            ("maximum", Tensor::maximum, Domain::Separated),
            ("minimum", Tensor::minimum, Domain::Separated),
        ];
        let pairs: [(&[usize], &[usize], &str); 6] = [
            (&[2, 3], &[2, 3], "same shape"),
            (&[2, 3], &[3], "broadcast rhs rows"),
            (&[2, 1, 4], &[3, 1], "broadcast both"),
            (&[3, 1], &[1, 4], "outer broadcast"),
            (&[2, 3], &[], "0-d rhs"),
            (&[], &[2, 3], "0-d lhs"),
        ];
        for (name, op, domain) in ops {
            for (sa, sb, detail) in pairs {
                let inputs = g.pair(domain, sa, sb).to_vec();
                out.push(OpCheck::new(name, detail, inputs, move |t| {
                    op(&t[0], &t[1])
                }));
            }
            // One operand not requiring grad: only the other gradient is computed.
            let [a, c] = g.pair(domain, &[2, 3], &[3]);
            out.push(OpCheck::new(name, "constant rhs (3,)", vec![a], move |t| {
                op(&t[0], &c)
            }));
            let [c, b] = g.pair(domain, &[2, 3], &[3]);
            out.push(OpCheck::new(
                name,
                "constant lhs (2,3)",
                vec![b],
                move |t| op(&c, &t[0]),
            ));
        }
    }
}
