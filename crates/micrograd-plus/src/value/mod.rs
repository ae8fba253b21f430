//! A scalar autograd engine: micrograd's `engine.py`, in Rust.
//!
//! A [`Value`] is one `f64` that remembers how it was computed. Every
//! arithmetic operation on values records a node in a graph; calling
//! [`Value::backward`] on the final result walks that graph in reverse
//! topological order and applies the chain rule, leaving in every node's
//! [`grad`](Value::grad) the derivative of the result with respect to it.
//!
//! ```
//! use micrograd_plus::value::Value;
//!
//! let a = Value::new(-4.0);
//! let b = Value::new(2.0);
//! let c = &a + &b; // -2
//! let d = &a * &b + b.pow(3.0); // -8 + 8 = 0
//! let e = (c - &d).relu() + 1.0; // relu(-2) + 1 = 1
//! e.backward();
//! assert_eq!(e.data(), 1.0);
//! // relu was inactive, so nothing upstream of it moves the output.
//! assert_eq!(a.grad(), 0.0);
//!
//! let f = &a * &a; // a used twice: both uses contribute
//! f.backward();
//! assert_eq!(f.data(), 16.0);
//! assert_eq!(a.grad(), 2.0 * -4.0);
//! ```
//!
//! # Read this file first
//!
//! It holds the whole idea, in two parts:
//!
//! 1. **The chain rule in one table.** Every operation is one row of
//!    [`Op::forward`]: the value it computes *and* its local derivatives
//!    with respect to each input, side by side.
//! 2. **A plain engine**, [`PlainValue`], about a hundred lines: nodes that
//!    own their children, a topological sort, and a backward pass that is
//!    one line per node, `child.grad += local · node.grad`. It is micrograd's
//!    design, kept for reading and as the oracle the fast engine is tested
//!    against.
//!
//! [`Value`] has the same semantics and computes the same numbers with the
//! same table, on a per-thread arena that makes it hundreds of times faster
//! (`tape.rs` says how and why; `handle.rs` holds its methods and operators).
//! [`nn`] builds micrograd's neurons and MLPs on it, and [`dot`] draws graphs.

use std::cell::Cell;
use std::collections::HashSet;
use std::rc::Rc;

pub mod dot;
mod handle;
pub mod nn;
mod tape;

pub use handle::{live_nodes, Value};

/// The operation that produced a [`Value`].
///
/// Binary operations have two children, the others one, [`Op::Leaf`] none.
/// Operations with an `f64` operand ([`Op::AddConst`], [`Op::MulConst`],
/// [`Op::Pow`]) keep it in the variant instead of turning it into a child
/// node, which is what `x + 1.0`, `2.0 * x` or `x / 3.0` produce.
///
/// ```
/// use micrograd_plus::value::{Op, Value};
///
/// let x = Value::new(3.0);
/// assert_eq!(x.op(), Op::Leaf);
/// assert_eq!((&x * 2.0).op(), Op::MulConst(2.0));
/// assert_eq!(x.tanh().op(), Op::Tanh);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// An input or parameter: created by [`Value::new`], not computed.
    Leaf,
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `a / b`
    Div,
    /// `-a`
    Neg,
    /// `a + c` for a constant `c` (also `c + a` and `a - c`).
    AddConst(f64),
    /// `a * c` for a constant `c` (also `c * a` and `a / c`).
    MulConst(f64),
    /// `a^k` for a constant exponent `k`.
    Pow(f64),
    /// `e^a`
    Exp,
    /// natural logarithm `ln a`
    Ln,
    /// `tanh a`
    Tanh,
    /// `max(a, 0)`
    Relu,
    /// `1 / (1 + e^-a)`
    Sigmoid,
}

impl Op {
    /// The heart of the engine: each operation's forward value and its local
    /// derivatives `(out, d out/d a, d out/d b)`, side by side.
    ///
    /// `b` is ignored by operations with one input (their `d out/d b` is 0).
    /// The backward pass multiplies these by the output's gradient (the chain
    /// rule) and adds them into the inputs' gradients.
    ///
    /// ```
    /// use micrograd_plus::value::Op;
    ///
    /// // d(a*b)/da = b and d(a*b)/db = a
    /// assert_eq!(Op::Mul.forward(3.0, 4.0), (12.0, 4.0, 3.0));
    /// // d(a^2)/da = 2a
    /// assert_eq!(Op::Pow(2.0).forward(3.0, 0.0), (9.0, 6.0, 0.0));
    /// ```
    #[inline(always)]
    pub fn forward(self, a: f64, b: f64) -> (f64, f64, f64) {
        match self {
            // Each row: (out, d out/da, d out/db).
            Op::Leaf => (a, 0.0, 0.0),
            Op::Add => (a + b, 1.0, 1.0),
            Op::Sub => (a - b, 1.0, -1.0),
            Op::Mul => (a * b, b, a),
            Op::Div => (a / b, 1.0 / b, -a / (b * b)),
            Op::Neg => (-a, -1.0, 0.0),
            Op::AddConst(c) => (a + c, 1.0, 0.0),
            Op::MulConst(c) => (a * c, c, 0.0),
            Op::Pow(k) => (a.powf(k), k * a.powf(k - 1.0), 0.0),
            Op::Exp => {
                let e = a.exp();
                (e, e, 0.0) // d e^a/da = e^a
            }
            Op::Ln => (a.ln(), 1.0 / a, 0.0),
            Op::Tanh => {
                let t = a.tanh();
                (t, 1.0 - t * t, 0.0) // d tanh/da = 1 - tanh^2
            }
            Op::Relu => {
                if a > 0.0 {
                    (a, 1.0, 0.0)
                } else {
                    (0.0, 0.0, 0.0)
                }
            }
            Op::Sigmoid => {
                // Two forms so that exp never overflows.
                let s = if a >= 0.0 {
                    1.0 / (1.0 + (-a).exp())
                } else {
                    let e = a.exp();
                    e / (1.0 + e)
                };
                (s, s * (1.0 - s), 0.0) // d sigma/da = sigma (1 - sigma)
            }
        }
    }

    /// Number of inputs (children) this operation takes: 0, 1 or 2.
    ///
    /// ```
    /// use micrograd_plus::value::Op;
    /// assert_eq!(Op::Leaf.arity(), 0);
    /// assert_eq!(Op::Exp.arity(), 1);
    /// assert_eq!(Op::Mul.arity(), 2);
    /// ```
    pub fn arity(self) -> usize {
        match self {
            Op::Leaf => 0,
            Op::Add | Op::Sub | Op::Mul | Op::Div => 2,
            _ => 1,
        }
    }

    /// Short label for diagrams, e.g. `"*"`, `"+1"`, `"**2"`, `"tanh"`;
    /// empty for a leaf.
    ///
    /// ```
    /// use micrograd_plus::value::Op;
    /// assert_eq!(Op::Mul.label(), "*");
    /// assert_eq!(Op::AddConst(1.0).label(), "+1");
    /// assert_eq!(Op::Pow(2.0).label(), "**2");
    /// ```
    pub fn label(self) -> String {
        match self {
            Op::Leaf => String::new(),
            Op::Add => "+".into(),
            Op::Sub => "-".into(),
            Op::Mul => "*".into(),
            Op::Div => "/".into(),
            Op::Neg => "neg".into(),
            Op::AddConst(c) if c < 0.0 => format!("{c}"),
            Op::AddConst(c) => format!("+{c}"),
            Op::MulConst(c) => format!("*{c}"),
            Op::Pow(k) => format!("**{k}"),
            Op::Exp => "exp".into(),
            Op::Ln => "ln".into(),
            Op::Tanh => "tanh".into(),
            Op::Relu => "ReLU".into(),
            Op::Sigmoid => "sigmoid".into(),
        }
    }
}

/// micrograd's engine as it is: each node owns its value, its gradient, the
/// [`Op`] that made it and its children (shared by reference counting).
/// Made for reading, and as the oracle [`Value`] is tested against; use
/// `Value` for real work (the sort here is recursive, so a graph a few
/// hundred thousand nodes deep would overflow the stack).
///
/// ```
/// use micrograd_plus::value::{Op, PlainValue};
/// let x = PlainValue::new(3.0);
/// let y = PlainValue::new(4.0);
/// let z = PlainValue::apply(Op::Mul, &x, Some(&y)).apply_unary(Op::Tanh); // tanh(x·y)
/// z.backward();
/// let t = 12f64.tanh();
/// assert_eq!(z.data(), t);
/// assert_eq!(x.grad(), (1.0 - t * t) * 4.0); // chain rule: tanh' · y
/// assert_eq!(y.grad(), (1.0 - t * t) * 3.0);
/// ```
#[derive(Clone)]
pub struct PlainValue(Rc<PlainNode>);

struct PlainNode {
    data: f64,
    grad: Cell<f64>,
    op: Op,
    /// The inputs, with d data / d input for each, from [`Op::forward`].
    children: Vec<(PlainValue, f64)>,
}

impl PlainValue {
    /// A leaf: an input or a parameter.
    pub fn new(data: f64) -> PlainValue {
        PlainValue(Rc::new(PlainNode {
            data,
            grad: Cell::new(0.0),
            op: Op::Leaf,
            children: Vec::new(),
        }))
    }

    /// The node `op(a, b)`, with its local derivatives (`b` only for the
    /// four binary operations).
    pub fn apply(op: Op, a: &PlainValue, b: Option<&PlainValue>) -> PlainValue {
        let (data, da, db) = op.forward(a.data(), b.map_or(0.0, PlainValue::data));
        let mut children = vec![(a.clone(), da)];
        if let (Some(b), 2) = (b, op.arity()) {
            children.push((b.clone(), db));
        }
        PlainValue(Rc::new(PlainNode {
            data,
            grad: Cell::new(0.0),
            op,
            children,
        }))
    }

    /// `op(self)` for a one-input operation.
    pub fn apply_unary(&self, op: Op) -> PlainValue {
        PlainValue::apply(op, self, None)
    }

    /// The value.
    pub fn data(&self) -> f64 {
        self.0.data
    }

    /// d(output of the last backward) / d(self).
    pub fn grad(&self) -> f64 {
        self.0.grad.get()
    }

    /// The operation that made this node.
    pub fn op(&self) -> Op {
        self.0.op
    }

    /// Backpropagation: this node's grad becomes 1, and every node below it
    /// gets d(self)/d(node) added to its grad (gradients accumulate across
    /// calls, as in micrograd and [`Value::backward`]).
    pub fn backward(&self) {
        // Topological order: every node after all of its children.
        fn visit(
            v: &PlainValue,
            seen: &mut HashSet<*const PlainNode>,
            order: &mut Vec<PlainValue>,
        ) {
            if !seen.insert(Rc::as_ptr(&v.0)) {
                return;
            }
            for (child, _) in &v.0.children {
                visit(child, seen, order);
            }
            order.push(v.clone());
        }
        let mut order = Vec::new();
        visit(self, &mut HashSet::new(), &mut order);

        // The chain rule, from the output down.
        self.0.grad.set(1.0);
        for node in order.iter().rev() {
            for (child, local) in &node.0.children {
                child.0.grad.set(child.grad() + local * node.grad());
            }
        }
    }
}
