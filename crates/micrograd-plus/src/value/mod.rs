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
//! # Reading the chain rule in one place
//!
//! Every operation is one row of [`Op::forward`]: the value it computes *and*
//! its local derivatives with respect to each input, side by side. The
//! backward pass is then one line: `child.grad += local * node.grad`.
//!
//! # Why it is fast
//!
//! micrograd allocates a Python object, a set and a closure per node and
//! finds the topological order with a recursive DFS over a `set`. Here a
//! `Value` is a 4-byte handle into a per-thread arena ("tape"):
//!
//! * nodes live in flat arrays, split by use: the numbers (`data`, `grad`,
//!   local derivatives) apart from the links (children, reference count,
//!   visit mark), so a traversal streams 16 bytes per node;
//! * local derivatives are computed in the forward pass, while the inputs
//!   are in cache, so backward needs no dispatch on the operation;
//! * visited nodes carry a generation number instead of going into a hash
//!   set;
//! * a node is normally created after its children, so the arena's creation
//!   order already is a topological order: the sort sweeps down the arena
//!   from the output, reading memory in order, and falls back to an
//!   iterative depth-first search when a node reuses an older slot below
//!   one of its children;
//! * handles are reference counted inside the arena. When the last handle
//!   to a graph goes, its nodes are freed by the same kind of downward
//!   sweep (never recursion, so dropping a million-deep chain is fine), and
//!   free slots at the top are cut off: each training step builds its graph
//!   in the same consecutive slots, with no allocation after the first step.
//!
//! Together this makes micrograd's two-moons demo well over 100 times faster
//! than micrograd itself (see `bench/micrograd_moons.py`).
//!
//! The arena is thread-local, so a `Value` cannot be sent to another thread
//! (it is neither `Send` nor `Sync`).

use std::cell::RefCell;
use std::fmt;
use std::iter::Sum;
use std::marker::PhantomData;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

pub mod dot;
pub mod nn;

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

// ---------------------------------------------------------------------------
// The tape: a per-thread arena of nodes.
// ---------------------------------------------------------------------------

/// Marks an absent child.
const NONE: u32 = u32::MAX;
/// `Link::refs` of a free slot. (0 only occurs briefly, for a node being
/// freed.)
const FREE: u32 = u32::MAX;
/// High bit of a DFS stack entry: "children done, emit this node".
const POST: u32 = 1 << 31;

/// The numbers of one node: what the forward and backward passes touch.
#[derive(Clone, Copy)]
struct Num {
    data: f64,
    grad: f64,
    /// d data / d child, filled in by [`Op::forward`].
    local: [f64; 2],
}

/// The bookkeeping of one node: what graph traversals touch. Kept apart
/// from [`Num`] so a traversal streams 16 bytes per node, not 64.
#[derive(Clone, Copy)]
struct Link {
    children: [u32; 2],
    /// Handles plus parent nodes that point here; [`FREE`] marks a free
    /// slot.
    refs: u32,
    /// Generation of the last traversal that visited this node.
    mark: u32,
}

/// The arena. Node `i` is `nums[i]`, `links[i]` and `ops[i]`.
struct Tape {
    nums: Vec<Num>,
    links: Vec<Link>,
    /// Only read to describe a node (`Value::op`, DOT export).
    ops: Vec<Op>,
    /// Slots released by dropped graphs, reused before growing the arena.
    /// May hold stale entries, which `alloc` skips.
    free: Vec<u32>,
    generation: u32,
    /// No live node below this index has a child above itself (see
    /// `alloc`); `usize::MAX` when there is none at all.
    lowest_inverted: usize,
    /// Scratch buffers kept between calls so traversals don't allocate.
    stack: Vec<u32>,
    order: Vec<u32>,
}

thread_local! {
    // `const` init: no lazy-initialisation check on every access.
    static TAPE: RefCell<Tape> = const {
        RefCell::new(Tape {
            nums: Vec::new(),
            links: Vec::new(),
            ops: Vec::new(),
            free: Vec::new(),
            generation: 0,
            lowest_inverted: usize::MAX,
            stack: Vec::new(),
            order: Vec::new(),
        })
    };
}

#[inline(always)]
fn with_tape<R>(f: impl FnOnce(&mut Tape) -> R) -> R {
    TAPE.with(|t| f(&mut t.borrow_mut()))
}

impl Tape {
    #[inline(always)]
    fn alloc(&mut self, num: Num, children: [u32; 2], op: Op) -> u32 {
        let link = Link {
            children,
            refs: 1,
            mark: 0,
        };
        // Reuse a hole left by a graph freed below live nodes. Entries can
        // be stale (the slot was since cut off the end, or reused): skip
        // those.
        while let Some(i) = self.free.pop() {
            let iu = i as usize;
            if iu < self.links.len() && self.links[iu].refs == FREE {
                self.nums[iu] = num;
                self.links[iu] = link;
                self.ops[iu] = op;
                // A recycled slot can lie below its children, breaking
                // "creation order is topological order" for graphs that
                // reach it. Remember the lowest such slot.
                if children.iter().any(|&c| c != NONE && c > i) {
                    self.lowest_inverted = self.lowest_inverted.min(iu);
                }
                return i;
            }
        }
        let i = self.links.len();
        // Indices share their top bit with the DFS `POST` flag.
        assert!(i < POST as usize, "value tape full: 2^31 live nodes");
        self.nums.push(num);
        self.links.push(link);
        self.ops.push(op);
        i as u32
    }

    fn leaf(&mut self, data: f64) -> u32 {
        let num = Num {
            data,
            grad: 0.0,
            local: [0.0, 0.0],
        };
        self.alloc(num, [NONE, NONE], Op::Leaf)
    }

    /// Records `op(a, b)`. `take_a`/`take_b` say whether the caller hands
    /// over its handle's reference (an owned `Value` operand) or whether the
    /// new node needs one of its own (a borrowed operand).
    #[inline(always)]
    fn record(&mut self, op: Op, a: u32, b: u32, take_a: bool, take_b: bool) -> u32 {
        let da = self.nums[a as usize].data;
        let db = if b == NONE {
            0.0
        } else {
            self.nums[b as usize].data
        };
        let (data, la, lb) = op.forward(da, db);
        if !take_a {
            self.links[a as usize].refs += 1;
        }
        if b != NONE && !take_b {
            self.links[b as usize].refs += 1;
        }
        let num = Num {
            data,
            grad: 0.0,
            local: [la, lb],
        };
        self.alloc(num, [a, b], op)
    }

    /// Drops one reference to `id`; frees it, and transitively any child
    /// left without references.
    #[inline(always)]
    fn release(&mut self, id: u32) {
        let l = &mut self.links[id as usize];
        l.refs -= 1;
        if l.refs == 0 {
            self.free_cascade(id);
        }
    }

    /// Marks node `w` free and drops its references to its children,
    /// handing each child left without references to `dying`. The one step
    /// every freeing path below shares.
    #[inline(always)]
    fn free_node(&mut self, w: usize, mut dying: impl FnMut(u32)) {
        self.links[w].refs = FREE;
        for c in self.links[w].children {
            if c != NONE {
                let cl = &mut self.links[c as usize];
                cl.refs -= 1;
                if cl.refs == 0 {
                    dying(c);
                }
            }
        }
    }

    /// Frees node `w` (count 0) found during the sweep at position `i`:
    /// children reaching 0 above `i` go on `work`, those below are counted
    /// in `pending` and listed in `below`.
    fn free_detour(
        &mut self,
        w: u32,
        i: usize,
        work: &mut Vec<u32>,
        below: &mut Vec<u32>,
        pending: &mut usize,
    ) {
        self.free.push(w);
        self.free_node(w as usize, |c| {
            if (c as usize) < i {
                *pending += 1;
                below.push(c);
            } else {
                work.push(c);
            }
        });
    }

    /// Frees `id` (already at zero references) and everything only it kept
    /// alive, without recursion, so dropping a million-deep chain cannot
    /// overflow the stack.
    ///
    /// Like [`topo_sweep`](Tape::topo_sweep) this walks down the arena from
    /// `id`, freeing nodes whose count reached zero and counting how many
    /// such nodes lie below. A training step's graph sits in one run at the
    /// top of the arena, so this reads memory in order and ends by cutting
    /// the whole run off the end. Unusual layouts are handled depth-first:
    /// a dying child above the sweep at once, and everything left if the
    /// sweep passes too many live nodes.
    #[inline(never)]
    fn free_cascade(&mut self, id: u32) {
        let first_new = self.free.len();
        // Dying nodes above the sweep position, freed depth-first at once.
        let mut work = std::mem::take(&mut self.stack);
        // Dying nodes below it found by those detours (the sweep itself
        // only counts the ones it finds).
        let mut below = std::mem::take(&mut self.order);
        work.clear();
        below.clear();
        let top = id as usize;
        let mut i = top;
        // Dying nodes at or below `i`.
        let mut pending = 1usize;
        // Whether every slot above `i` is free: then freed slots need no
        // free-list entry, since they will be cut off the end.
        let mut top_run = i + 1 == self.links.len();
        let mut skipped = 0usize;
        let mut freed = 0usize;
        let swept = loop {
            let l = self.links[i];
            if l.refs == 0 {
                if !top_run {
                    self.free.push(i as u32);
                }
                pending -= 1;
                freed += 1;
                self.free_node(i, |c| {
                    if (c as usize) < i {
                        pending += 1;
                    } else {
                        work.push(c);
                    }
                });
                // Children above `i` (a recycled slot): the sweep has
                // passed them, so free them now.
                while let Some(w) = work.pop() {
                    self.free_detour(w, i, &mut work, &mut below, &mut pending);
                }
                if pending == 0 {
                    break true;
                }
            } else {
                // A live node, or an old hole.
                top_run &= l.refs == FREE;
                skipped += 1;
                if skipped > 1024 + 2 * freed {
                    break false;
                }
            }
            i -= 1; // `pending > 0`: a dying node lies below
        };
        if !swept {
            // Too sparse to sweep: finish depth-first. A count of 0 means
            // "dying, not yet freed"; such nodes below `i` are children of
            // slots freed in `i..=top` or were listed in `below`. (Old
            // holes in that range add stale children, but a stale child
            // with count 0 is dying all the same.)
            for j in i..=top {
                if self.links[j].refs == FREE {
                    for c in self.links[j].children {
                        if c != NONE && (c as usize) < i && self.links[c as usize].refs == 0 {
                            work.push(c);
                        }
                    }
                }
            }
            work.extend_from_slice(&below);
            while let Some(w) = work.pop() {
                if self.links[w as usize].refs != 0 {
                    continue; // listed twice, already freed
                }
                self.free.push(w);
                self.free_node(w as usize, |c| work.push(c));
            }
        }
        self.stack = work;
        self.order = below;

        // Cut free slots off the end of the arena and drop the free-list
        // entries just added for them.
        let mut len = if swept && top_run {
            i
        } else {
            self.links.len()
        };
        while len > 0 && self.links[len - 1].refs == FREE {
            len -= 1;
        }
        if len <= self.lowest_inverted {
            self.lowest_inverted = usize::MAX;
        }
        if len < self.links.len() {
            self.nums.truncate(len);
            self.links.truncate(len);
            self.ops.truncate(len);
            let mut k = first_new;
            for j in first_new..self.free.len() {
                if (self.free[j] as usize) < len {
                    self.free[k] = self.free[j];
                    k += 1;
                }
            }
            self.free.truncate(k);
        }
    }

    fn next_generation(&mut self) -> u32 {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Wrapped after 2^32 traversals: old marks could collide.
            for l in &mut self.links {
                l.mark = 0;
            }
            self.generation = 1;
        }
        self.generation
    }

    /// Fills `self.order` with the nodes reachable from `root`, parents
    /// before children: reverse topological order, the order in which
    /// backward visits them.
    fn topo_sort(&mut self, root: u32) {
        let gen = self.next_generation();
        if !self.topo_sweep(root, gen) {
            let gen = self.next_generation();
            self.topo_dfs(root, gen);
        }
    }

    /// The general topological sort, micrograd's `build_topo` without the
    /// recursion: an iterative depth-first search in which a node is pushed
    /// once to open it and once more, flagged `POST`, to emit it after all
    /// its children. Visited nodes carry the current generation in `mark`,
    /// which replaces micrograd's `visited` set.
    fn topo_dfs(&mut self, root: u32, gen: u32) {
        self.topo_dfs_from(&[root], gen);
    }

    /// [`topo_dfs`](Tape::topo_dfs) from several roots at once.
    fn topo_dfs_from(&mut self, roots: &[u32], gen: u32) {
        let mut stack = std::mem::take(&mut self.stack);
        let mut order = std::mem::take(&mut self.order);
        stack.clear();
        order.clear();
        stack.extend_from_slice(roots);
        while let Some(top) = stack.pop() {
            if top & POST != 0 {
                order.push(top & !POST);
                continue;
            }
            let l = &mut self.links[top as usize];
            if l.mark == gen {
                continue;
            }
            l.mark = gen;
            let children = l.children;
            stack.push(top | POST);
            for c in children {
                if c != NONE && self.links[c as usize].mark != gen {
                    stack.push(c);
                }
            }
        }
        // Post-order lists children first; callers want parents first.
        order.reverse();
        self.stack = stack;
        self.order = order;
    }

    /// Fast path of [`topo_sort`](Tape::topo_sort). A node is normally
    /// created after its children, so it sits at a higher index, and
    /// descending index order is already a reverse topological order: one
    /// downward sweep from `root`, marking the children of marked nodes,
    /// finds the reachable nodes in order while reading memory sequentially.
    ///
    /// Gives up (returns `false`) if a node reuses a slot below one of its
    /// children, or if the sweep passes many more unrelated nodes than it
    /// collects (a small graph on top of a large live one), so the DFS
    /// takes over.
    fn topo_sweep(&mut self, root: u32, gen: u32) -> bool {
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        self.links[root as usize].mark = gen;
        // Marked nodes the sweep has not reached yet; all below `i`.
        let mut pending = 1usize;
        let mut i = root as usize;
        let mut skipped = 0usize;
        let ok = loop {
            let l = self.links[i];
            if l.mark == gen {
                order.push(i as u32);
                pending -= 1;
                let mut in_order = true;
                for c in l.children {
                    if c != NONE {
                        in_order &= (c as usize) < i;
                        let cl = &mut self.links[c as usize];
                        if cl.mark != gen {
                            cl.mark = gen;
                            pending += 1;
                        }
                    }
                }
                if !in_order {
                    break false;
                }
                if pending == 0 {
                    break true;
                }
            } else {
                skipped += 1;
                if skipped > 1024 + 2 * order.len() {
                    break false;
                }
            }
            if i == 0 {
                break false; // unreachable while the invariant holds
            }
            i -= 1;
        };
        self.order = order;
        ok
    }

    fn backward(&mut self, root: u32) {
        if (root as usize) < self.lowest_inverted {
            self.backward_sweep(root);
            return;
        }
        self.topo_sort(root);
        let order = std::mem::take(&mut self.order);
        self.nums[root as usize].grad = 1.0;
        self.propagate(&order);
        self.order = order;
    }

    /// The chain rule, one edge at a time, over nodes in reverse
    /// topological order: a node's grad is complete before it is pushed to
    /// its children.
    fn propagate(&mut self, order: &[u32]) {
        for &i in order {
            let n = self.nums[i as usize];
            let [c0, c1] = self.links[i as usize].children;
            if c0 != NONE {
                self.nums[c0 as usize].grad += n.local[0] * n.grad;
            }
            if c1 != NONE {
                self.nums[c1 as usize].grad += n.local[1] * n.grad;
            }
        }
    }

    /// Backward in one pass, for a graph known to be in creation order
    /// (`root < lowest_inverted`: every node sits above its children).
    /// Then descending index order is reverse topological order, so the
    /// downward sweep of [`topo_sweep`](Tape::topo_sweep) can apply the
    /// chain rule as it goes instead of writing the order down first.
    ///
    /// If the sweep passes too many unrelated nodes, the reachable nodes
    /// it has not reached yet are all below it; they are finished by a
    /// depth-first sort started from them.
    fn backward_sweep(&mut self, root: u32) {
        let gen = self.next_generation();
        self.links[root as usize].mark = gen;
        self.nums[root as usize].grad = 1.0;
        let top = root as usize;
        let mut pending = 1usize; // reached, not yet swept; all below `i`
        let mut i = top;
        let mut done = 0usize;
        let mut skipped = 0usize;
        loop {
            let l = self.links[i];
            if l.mark == gen {
                let n = self.nums[i];
                for (c, local) in l.children.into_iter().zip(n.local) {
                    if c != NONE {
                        self.nums[c as usize].grad += local * n.grad;
                        let cl = &mut self.links[c as usize];
                        if cl.mark != gen {
                            cl.mark = gen;
                            pending += 1;
                        }
                    }
                }
                pending -= 1;
                done += 1;
                if pending == 0 {
                    return;
                }
            } else {
                skipped += 1;
                if skipped > 1024 + 2 * done {
                    break;
                }
            }
            i -= 1; // `pending > 0`: a reached node lies below
        }
        // Sparse graph: collect the reached-but-unswept nodes (children of
        // swept ones, below `i`) and sort what hangs below them.
        let mut roots = Vec::with_capacity(pending);
        for j in i..=top {
            let l = self.links[j];
            if l.mark == gen {
                for c in l.children {
                    if c != NONE && (c as usize) < i && self.links[c as usize].mark == gen {
                        roots.push(c);
                    }
                }
            }
        }
        let gen2 = self.next_generation();
        self.topo_dfs_from(&roots, gen2);
        let order = std::mem::take(&mut self.order);
        self.propagate(&order);
        self.order = order;
    }
}

// ---------------------------------------------------------------------------
// Value: a handle to a node.
// ---------------------------------------------------------------------------

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
