//! Where a fused op meets the graph. An op states its math once, as a
//! [`Fused`] kernel pair over typed slices (`forward<T>` and `backward<T>`),
//! and [`record`] does the rest, the same way for every op:
//!
//! - promotes the operands to one dtype by PyTorch's rule
//!   ([`DType::result_type`]: f32 with f64 gives f64, and a 0-d operand
//!   does not widen one with dims); each operand's gradient comes back in
//!   its own dtype, through the conversion's backward;
//! - takes the operands' read locks and runs `forward` on the f32 or f64
//!   slices;
//! - records a backward that runs `backward` on the same slices, typed
//!   again, with the output's (for ops whose derivative is written in it,
//!   like softmax: borrowed from the graph, not copied), and wraps each
//!   gradient buffer into a tensor of its operand's shape.
//!
//! Operands are in the op's argument order; an optional argument that was
//! not given (a bias) is absent, takes no part in promotion or the graph,
//! and reads as `None`.

use crate::tensor::{DType, Element, Storage, Tensor};
use std::any::Any;
use std::ops::{AddAssign, Index};

/// The element types kernels run on (f32 and f64), with `+=` for the
/// kernels that accumulate.
pub(crate) trait Scalar: Element + AddAssign {}
impl<T: Element + AddAssign> Scalar for T {}

/// An op's operands as typed slices, in argument order.
pub(crate) struct Operands<'a, T>(&'a [Option<&'a [T]>]);

impl<'a, T> Operands<'a, T> {
    /// Operand `i`, or `None` for an optional argument not given.
    pub(crate) fn get(&self, i: usize) -> Option<&'a [T]> {
        self.0.get(i).copied().flatten()
    }
}

impl<T> Index<usize> for Operands<'_, T> {
    type Output = [T];
    /// A required operand (the op's signature guarantees it is there).
    fn index(&self, i: usize) -> &[T] {
        self.get(i).expect("a required operand is present")
    }
}

/// A fused op's chain rule over typed slices; `self` carries what the
/// shapes and arguments fixed (sizes, a plan, eps).
pub(crate) trait Fused: Send + Sync + 'static {
    /// What the forward hands to the backward (statistics, probabilities).
    type Saved<T: Scalar>: Send + Sync + 'static;
    /// The op's name, in the graph and in errors.
    fn name(&self) -> &'static str;
    /// The output (row-major, filling the recorded shape) and what the
    /// backward needs besides the operands.
    fn forward<T: Scalar>(&self, x: &Operands<'_, T>) -> (Vec<T>, Self::Saved<T>);
    /// The gradient of each operand from the output's `g`, in argument
    /// order, given the operands `x` and the output `y`; `want[i]` says
    /// whether operand `i` needs one (`None` where not computed).
    fn backward<T: Scalar>(
        &self,
        g: &[T],
        x: &Operands<'_, T>,
        y: &[T],
        saved: &Self::Saved<T>,
        want: &[bool],
    ) -> Vec<Option<Vec<T>>>;
}

/// The operands converted to their common dtype (PyTorch's
/// `torch.result_type`); tensors already in it are shared, not copied.
pub(crate) fn promote<const N: usize>(operands: [Option<&Tensor>; N]) -> [Option<Tensor>; N] {
    let present: Vec<&Tensor> = operands.iter().flatten().copied().collect();
    let to = DType::result_type(&present);
    operands.map(|t| t.map(|t| t.to_dtype(to)))
}

/// Runs `op` on `operands` (promoted to one dtype) and records its
/// backward; `shape` is the output's.
pub(crate) fn record<F: Fused, const N: usize>(
    op: F,
    operands: [Option<&Tensor>; N],
    shape: Vec<usize>,
) -> Tensor {
    let operands = promote(operands);
    let dtype = operands
        .iter()
        .flatten()
        .next()
        .map_or(DType::F32, Tensor::dtype);
    let (out, saved) = {
        let locked = operands.each_ref().map(|t| t.as_ref().map(Tensor::storage));
        let storages = locked.each_ref().map(|s| s.as_deref());
        match dtype {
            DType::F32 => forward_as::<F, f32, N>(&op, storages),
            DType::F64 => forward_as::<F, f64, N>(&op, storages),
        }
    };
    let present = operands.each_ref().map(Option::is_some);
    let name = op.name();
    Tensor::record(
        out,
        shape,
        name,
        operands.into_iter().flatten().collect(),
        move |g, inputs, y| {
            let mut given = inputs.iter();
            let at = present.map(|p| if p { given.next() } else { None });
            let want = at.map(|t| t.is_some_and(Tensor::is_requires_grad));
            let grads = {
                let (sg, sy) = (g.storage(), y.storage());
                let locked = at.map(|t| t.map(Tensor::storage));
                let storages = locked.each_ref().map(|s| s.as_deref());
                match dtype {
                    DType::F32 => backward_as::<F, f32, N>(&op, &sg, &sy, storages, &*saved, &want),
                    DType::F64 => backward_as::<F, f64, N>(&op, &sg, &sy, storages, &*saved, &want),
                }
            };
            Ok(at
                .into_iter()
                .zip(grads)
                .filter_map(|(t, d)| {
                    let t = t?;
                    Some(d.map(|d| Tensor::from_storage(d, t.shape().to_vec())))
                })
                .collect())
        },
    )
}

/// The operands' buffers as `T` slices (all hold `T` after promotion).
fn typed<T: Scalar, const N: usize>(storages: [Option<&Storage>; N]) -> [Option<&[T]>; N] {
    storages.map(|s| s.map(|s| T::slice(s).expect("operands share the promoted dtype")))
}

/// [`Fused::forward`] at `T`, its results type-erased for the graph.
fn forward_as<F: Fused, T: Scalar, const N: usize>(
    op: &F,
    storages: [Option<&Storage>; N],
) -> (Storage, Box<dyn Any + Send + Sync>) {
    let slices = typed::<T, N>(storages);
    let (y, saved) = op.forward(&Operands(&slices));
    (T::into_storage(y), Box::new(saved))
}

/// [`Fused::backward`] at `T`, one gradient buffer (or `None`) per operand.
fn backward_as<F: Fused, T: Scalar, const N: usize>(
    op: &F,
    g: &Storage,
    y: &Storage,
    storages: [Option<&Storage>; N],
    saved: &(dyn Any + Send + Sync),
    want: &[bool; N],
) -> Vec<Option<Storage>> {
    let slices = typed::<T, N>(storages);
    let g = T::slice(g).expect("the gradient has the output's dtype");
    let y = T::slice(y).expect("the output has the operands' dtype");
    let saved = saved
        .downcast_ref::<F::Saved<T>>()
        .expect("saved by the forward at the same dtype");
    let grads = op.backward(g, &Operands(&slices), y, saved, want);
    debug_assert_eq!(grads.len(), N, "{}: one gradient per operand", op.name());
    grads.into_iter().map(|d| d.map(T::into_storage)).collect()
}
