//! [`Value`]: the fast engine's handle, its methods and operators. Each
//! call records one node on the tape ([`super::tape`]) with the local
//! derivatives from [`Op::forward`]; `backward` applies them in reverse.

use super::tape::{with_tape, FREE, NONE, TAPE};
use super::Op;
use std::fmt;
use std::iter::Sum;
use std::marker::PhantomData;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A scalar in a computation graph: its `data`, its `grad`, the [`Op`] that
/// made it and its children.
///
/// `Value` is a cheap, reference-counted handle: `clone()` gives another
/// handle to the *same* node (like assigning a Python object), so updating
/// a parameter through one handle is seen through all of them.
///
/// ```
/// use micrograd_plus::value::Value;
///
/// let x = Value::new(2.0);
/// let y = (&x * &x + 1.0).ln(); // ln(x^2 + 1)
/// y.backward();
/// assert!((y.data() - 5f64.ln()).abs() < 1e-12);
/// assert!((x.grad() - 2.0 * 2.0 / 5.0).abs() < 1e-12); // 2x / (x^2 + 1)
/// ```
pub struct Value {
    id: u32,
    /// The index only means something on this thread's tape.
    _not_send: PhantomData<*const ()>,
}

impl Value {
    #[inline(always)]
    fn from_id(id: u32) -> Value {
        Value {
            id,
            _not_send: PhantomData,
        }
    }

    /// Gives up this handle without releasing its reference; the caller
    /// passes the reference on to a new node.
    #[inline(always)]
    fn into_id(self) -> u32 {
        let id = self.id;
        std::mem::forget(self);
        id
    }

    /// A leaf value (an input or a parameter) with zero gradient.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// let w = Value::new(0.5);
    /// assert_eq!((w.data(), w.grad()), (0.5, 0.0));
    /// ```
    pub fn new(data: f64) -> Value {
        Value::from_id(with_tape(|t| t.leaf(data)))
    }

    /// The scalar this value holds.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// assert_eq!((Value::new(2.0) * 3.0).data(), 6.0);
    /// ```
    pub fn data(&self) -> f64 {
        with_tape(|t| t.nums[self.id as usize].data)
    }

    /// d(output)/d(self) after the last [`backward`](Value::backward) call(s)
    /// (gradients accumulate until [`zero_grad`](Value::zero_grad)).
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// let x = Value::new(3.0);
    /// let y = &x * 4.0;
    /// y.backward();
    /// assert_eq!(x.grad(), 4.0);
    /// ```
    pub fn grad(&self) -> f64 {
        with_tape(|t| t.nums[self.id as usize].grad)
    }

    /// Overwrites the data, e.g. for a gradient-descent step on a parameter.
    ///
    /// Nodes computed earlier from this value keep their old results (and
    /// local derivatives): rebuild the graph after changing inputs, as every
    /// training loop does.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// let w = Value::new(1.0);
    /// let loss = &w * &w;
    /// loss.backward();
    /// w.set_data(w.data() - 0.1 * w.grad());
    /// assert!((w.data() - 0.8).abs() < 1e-12);
    /// ```
    pub fn set_data(&self, data: f64) {
        with_tape(|t| t.nums[self.id as usize].data = data)
    }

    /// Overwrites the gradient.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// let x = Value::new(1.0);
    /// x.set_grad(5.0);
    /// assert_eq!(x.grad(), 5.0);
    /// ```
    pub fn set_grad(&self, grad: f64) {
        with_tape(|t| t.nums[self.id as usize].grad = grad)
    }

    /// Sets this value's gradient to 0 (micrograd's `p.grad = 0`), so the
    /// next backward pass does not add to a stale one.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// let x = Value::new(1.0);
    /// (&x * 3.0).backward();
    /// x.zero_grad();
    /// assert_eq!(x.grad(), 0.0);
    /// ```
    pub fn zero_grad(&self) {
        self.set_grad(0.0)
    }

    /// Sets the gradient of every node in this value's graph to 0.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// let x = Value::new(1.0);
    /// let h = x.exp();
    /// let y = &h * 2.0;
    /// y.backward();
    /// y.zero_grad_graph();
    /// assert_eq!((x.grad(), h.grad(), y.grad()), (0.0, 0.0, 0.0));
    /// ```
    pub fn zero_grad_graph(&self) {
        with_tape(|t| {
            t.topo_sort(self.id);
            let order = std::mem::take(&mut t.order);
            for &i in &order {
                t.nums[i as usize].grad = 0.0;
            }
            t.order = order;
        })
    }

    /// The operation that produced this value.
    ///
    /// ```
    /// use micrograd_plus::value::{Op, Value};
    /// let x = Value::new(1.0);
    /// assert_eq!((&x + &x).op(), Op::Add);
    /// ```
    pub fn op(&self) -> Op {
        with_tape(|t| t.ops[self.id as usize])
    }

    /// The values this one was computed from (micrograd's `_prev`), in
    /// operand order.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// let a = Value::new(1.0);
    /// let b = Value::new(2.0);
    /// let c = &a - &b;
    /// let kids = c.children();
    /// assert!(kids[0].same_node(&a) && kids[1].same_node(&b));
    /// ```
    pub fn children(&self) -> Vec<Value> {
        with_tape(|t| {
            let mut out = Vec::with_capacity(2);
            for c in t.links[self.id as usize].children {
                if c != NONE {
                    t.links[c as usize].refs += 1;
                    out.push(Value::from_id(c));
                }
            }
            out
        })
    }

    /// An id for this node, unique among the nodes alive on this thread
    /// (a freed node's id is reused later).
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// let a = Value::new(1.0);
    /// assert_eq!(a.id(), a.clone().id());
    /// assert_ne!(a.id(), Value::new(1.0).id());
    /// ```
    pub fn id(&self) -> usize {
        self.id as usize
    }

    /// Whether two handles point to the same node (Python's `is`).
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// let a = Value::new(1.0);
    /// assert!(a.same_node(&a.clone()));
    /// assert!(!a.same_node(&Value::new(1.0)));
    /// ```
    pub fn same_node(&self, other: &Value) -> bool {
        self.id == other.id
    }

    /// Every node of this value's graph, children before parents, ending
    /// with `self`: the order micrograd's `backward` builds.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// let x = Value::new(2.0);
    /// let y = x.exp();
    /// let z = &y + &x;
    /// let order = z.topological_order();
    /// assert_eq!(order.len(), 3);
    /// assert!(order[0].same_node(&x) && order[2].same_node(&z));
    /// ```
    pub fn topological_order(&self) -> Vec<Value> {
        with_tape(|t| {
            t.topo_sort(self.id);
            let order = std::mem::take(&mut t.order);
            let out = order
                .iter()
                .rev()
                .map(|&i| {
                    t.links[i as usize].refs += 1;
                    Value::from_id(i)
                })
                .collect();
            t.order = order;
            out
        })
    }

    /// Backpropagation: sets this value's grad to 1 and adds
    /// d(self)/d(node) into the grad of every node of its graph.
    ///
    /// Gradients accumulate across calls, as in micrograd; reset parameters
    /// with [`zero_grad`](Value::zero_grad) between steps. The traversal is
    /// iterative, so graphs of any depth work.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// let x = Value::new(0.0);
    /// let y = x.sigmoid();
    /// y.backward();
    /// assert_eq!(y.grad(), 1.0);
    /// assert_eq!(x.grad(), 0.25); // sigma'(0) = 1/4
    /// ```
    pub fn backward(&self) {
        with_tape(|t| t.backward(self.id))
    }

    #[inline(always)]
    fn unary(&self, op: Op) -> Value {
        Value::from_id(with_tape(|t| t.record(op, self.id, NONE, false, false)))
    }

    /// `self^k` for a constant exponent.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// let x = Value::new(3.0);
    /// let y = x.pow(2.0);
    /// y.backward();
    /// assert_eq!((y.data(), x.grad()), (9.0, 6.0));
    /// ```
    pub fn pow(&self, k: f64) -> Value {
        self.unary(Op::Pow(k))
    }

    /// `e^self`.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// assert_eq!(Value::new(0.0).exp().data(), 1.0);
    /// ```
    pub fn exp(&self) -> Value {
        self.unary(Op::Exp)
    }

    /// Natural logarithm (NaN for negative data, as with `f64::ln`).
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// assert_eq!(Value::new(1.0).ln().data(), 0.0);
    /// ```
    pub fn ln(&self) -> Value {
        self.unary(Op::Ln)
    }

    /// Hyperbolic tangent.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// assert_eq!(Value::new(0.0).tanh().data(), 0.0);
    /// ```
    pub fn tanh(&self) -> Value {
        self.unary(Op::Tanh)
    }

    /// Rectified linear unit: `max(self, 0)`; gradient 1 where positive.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// assert_eq!(Value::new(-2.0).relu().data(), 0.0);
    /// assert_eq!(Value::new(2.0).relu().data(), 2.0);
    /// ```
    pub fn relu(&self) -> Value {
        self.unary(Op::Relu)
    }

    /// Logistic sigmoid `1 / (1 + e^-self)`.
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// assert_eq!(Value::new(0.0).sigmoid().data(), 0.5);
    /// ```
    pub fn sigmoid(&self) -> Value {
        self.unary(Op::Sigmoid)
    }
}

/// Number of graph nodes alive on this thread's tape (all values not yet
/// dropped, plus the nodes they were computed from). Useful to check that a
/// training loop frees each step's graph.
///
/// ```
/// use micrograd_plus::value::{live_nodes, Value};
/// let before = live_nodes();
/// {
///     let x = Value::new(1.0);
///     let _y = x.exp() + 1.0;
///     assert_eq!(live_nodes(), before + 3);
/// }
/// assert_eq!(live_nodes(), before);
/// ```
pub fn live_nodes() -> usize {
    // The free list may hold stale entries, so count instead of subtracting.
    with_tape(|t| t.links.iter().filter(|l| l.refs != FREE).count())
}

impl Clone for Value {
    /// Another handle to the same node.
    #[inline(always)]
    fn clone(&self) -> Value {
        with_tape(|t| t.links[self.id as usize].refs += 1);
        Value::from_id(self.id)
    }
}

impl Drop for Value {
    #[inline(always)]
    fn drop(&mut self) {
        // During thread teardown the tape may already be gone; then there is
        // nothing left to free.
        let _ = TAPE.try_with(|t| {
            if let Ok(mut t) = t.try_borrow_mut() {
                t.release(self.id);
            }
        });
    }
}

impl fmt::Debug for Value {
    /// micrograd's repr: `Value(data=2.0, grad=0.0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value(data={:?}, grad={:?})", self.data(), self.grad())
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<f64> for Value {
    fn from(data: f64) -> Value {
        Value::new(data)
    }
}

// ---------------------------------------------------------------------------
// Operators. Owned operands hand their reference to the new node, borrowed
// ones add one, so `a + b * c` does no reference-count traffic for the
// temporary `b * c`.
// ---------------------------------------------------------------------------

macro_rules! binary_op {
    ($Trait:ident, $method:ident, $op:expr) => {
        impl $Trait<Value> for Value {
            type Output = Value;
            #[inline(always)]
            fn $method(self, rhs: Value) -> Value {
                let (a, b) = (self.into_id(), rhs.into_id());
                Value::from_id(with_tape(|t| t.record($op, a, b, true, true)))
            }
        }
        impl $Trait<&Value> for Value {
            type Output = Value;
            #[inline(always)]
            fn $method(self, rhs: &Value) -> Value {
                let a = self.into_id();
                Value::from_id(with_tape(|t| t.record($op, a, rhs.id, true, false)))
            }
        }
        impl $Trait<Value> for &Value {
            type Output = Value;
            #[inline(always)]
            fn $method(self, rhs: Value) -> Value {
                let b = rhs.into_id();
                Value::from_id(with_tape(|t| t.record($op, self.id, b, false, true)))
            }
        }
        impl $Trait<&Value> for &Value {
            type Output = Value;
            #[inline(always)]
            fn $method(self, rhs: &Value) -> Value {
                Value::from_id(with_tape(|t| t.record($op, self.id, rhs.id, false, false)))
            }
        }
    };
}

binary_op!(Add, add, Op::Add);
binary_op!(Sub, sub, Op::Sub);
binary_op!(Mul, mul, Op::Mul);
binary_op!(Div, div, Op::Div);

/// `value (op) constant`, as a one-input node.
macro_rules! scalar_op {
    ($Trait:ident, $method:ident, |$c:ident| $op:expr) => {
        impl $Trait<f64> for Value {
            type Output = Value;
            #[inline(always)]
            fn $method(self, $c: f64) -> Value {
                let a = self.into_id();
                Value::from_id(with_tape(|t| t.record($op, a, NONE, true, true)))
            }
        }
        impl $Trait<f64> for &Value {
            type Output = Value;
            #[inline(always)]
            fn $method(self, $c: f64) -> Value {
                Value::from_id(with_tape(|t| t.record($op, self.id, NONE, false, false)))
            }
        }
    };
}

scalar_op!(Add, add, |c| Op::AddConst(c));
scalar_op!(Sub, sub, |c| Op::AddConst(-c));
scalar_op!(Mul, mul, |c| Op::MulConst(c));
scalar_op!(Div, div, |c| Op::MulConst(1.0 / c));

// `constant (op) value`: addition and multiplication commute; subtraction
// and division are built from negation and the reciprocal.
impl Add<Value> for f64 {
    type Output = Value;
    fn add(self, rhs: Value) -> Value {
        rhs + self
    }
}
impl Add<&Value> for f64 {
    type Output = Value;
    fn add(self, rhs: &Value) -> Value {
        rhs + self
    }
}
impl Mul<Value> for f64 {
    type Output = Value;
    fn mul(self, rhs: Value) -> Value {
        rhs * self
    }
}
impl Mul<&Value> for f64 {
    type Output = Value;
    fn mul(self, rhs: &Value) -> Value {
        rhs * self
    }
}
impl Sub<Value> for f64 {
    type Output = Value;
    fn sub(self, rhs: Value) -> Value {
        -rhs + self
    }
}
impl Sub<&Value> for f64 {
    type Output = Value;
    fn sub(self, rhs: &Value) -> Value {
        -rhs + self
    }
}
impl Div<Value> for f64 {
    type Output = Value;
    fn div(self, rhs: Value) -> Value {
        rhs.pow(-1.0) * self
    }
}
impl Div<&Value> for f64 {
    type Output = Value;
    fn div(self, rhs: &Value) -> Value {
        rhs.pow(-1.0) * self
    }
}

impl Neg for Value {
    type Output = Value;
    fn neg(self) -> Value {
        let a = self.into_id();
        Value::from_id(with_tape(|t| t.record(Op::Neg, a, NONE, true, true)))
    }
}
impl Neg for &Value {
    type Output = Value;
    fn neg(self) -> Value {
        self.unary(Op::Neg)
    }
}

/// `x += y` rebinds `x` to a new node `x + y` (the old node stays in the
/// graph as its child), exactly like Python's `x = x + y`. The handle's
/// reference moves to the new node, so no counts change hands.
macro_rules! assign_op {
    ($Trait:ident, $method:ident, $op:expr, |$c:ident| $cop:expr) => {
        impl $Trait<Value> for Value {
            #[inline(always)]
            fn $method(&mut self, rhs: Value) {
                let b = rhs.into_id();
                self.id = with_tape(|t| t.record($op, self.id, b, true, true));
            }
        }
        impl $Trait<&Value> for Value {
            #[inline(always)]
            fn $method(&mut self, rhs: &Value) {
                self.id = with_tape(|t| t.record($op, self.id, rhs.id, true, false));
            }
        }
        impl $Trait<f64> for Value {
            #[inline(always)]
            fn $method(&mut self, $c: f64) {
                self.id = with_tape(|t| t.record($cop, self.id, NONE, true, true));
            }
        }
    };
}

assign_op!(AddAssign, add_assign, Op::Add, |c| Op::AddConst(c));
assign_op!(SubAssign, sub_assign, Op::Sub, |c| Op::AddConst(-c));
assign_op!(MulAssign, mul_assign, Op::Mul, |c| Op::MulConst(c));
assign_op!(DivAssign, div_assign, Op::Div, |c| Op::MulConst(1.0 / c));

impl Sum<Value> for Value {
    /// Adds the values left to right; an empty sum is a new leaf `0.0`.
    fn sum<I: Iterator<Item = Value>>(mut iter: I) -> Value {
        match iter.next() {
            None => Value::new(0.0),
            Some(first) => iter.fold(first, |acc, v| acc + v),
        }
    }
}

impl<'a> Sum<&'a Value> for Value {
    /// Adds the values left to right; an empty sum is a new leaf `0.0`.
    fn sum<I: Iterator<Item = &'a Value>>(mut iter: I) -> Value {
        match iter.next() {
            None => Value::new(0.0),
            Some(first) => iter.fold(first.clone(), |acc, v| acc + v),
        }
    }
}
