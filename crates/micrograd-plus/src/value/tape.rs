//! The memory behind [`Value`](super::Value): a per-thread arena ("tape")
//! of nodes, and why it exists.
//!
//! The plain engine in [`super`] ([`PlainValue`](super::PlainValue)) is
//! micrograd's design: one heap object per node, children held by reference
//! counts, a recursive sort. It is right and easy to read, and slow: every
//! node is an allocation, every traversal chases pointers. `Value` computes
//! exactly the same numbers (the tests compare the two on random graphs) on
//! this arena instead, which makes micrograd's two-moons demo 250 times
//! faster than PyPI's micrograd (68 ms against 17.1 s for 100 steps,
//! README's figures; `bench/micrograd_moons.py`). How:
//!
//! * a `Value` is a 4-byte handle into the arena; nodes live in flat
//!   arrays, split by use: the numbers (`data`, `grad`, local derivatives)
//!   apart from the links (children, reference count, visit mark), so a
//!   traversal streams 16 bytes per node;
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
//! The arena is thread-local, so a `Value` cannot be sent to another thread
//! (it is neither `Send` nor `Sync`).

use super::Op;
use std::cell::RefCell;

/// Marks an absent child.
pub(super) const NONE: u32 = u32::MAX;
/// `Link::refs` of a free slot. (0 only occurs briefly, for a node being
/// freed.)
pub(super) const FREE: u32 = u32::MAX;
/// High bit of a DFS stack entry: "children done, emit this node".
pub(super) const POST: u32 = 1 << 31;

/// The numbers of one node: what the forward and backward passes touch.
#[derive(Clone, Copy)]
pub(super) struct Num {
    pub(super) data: f64,
    pub(super) grad: f64,
    /// d data / d child, filled in by [`Op::forward`].
    pub(super) local: [f64; 2],
}

/// The bookkeeping of one node: what graph traversals touch. Kept apart
/// from [`Num`] so a traversal streams 16 bytes per node, not 64.
#[derive(Clone, Copy)]
pub(super) struct Link {
    pub(super) children: [u32; 2],
    /// Handles plus parent nodes that point here; [`FREE`] marks a free
    /// slot.
    pub(super) refs: u32,
    /// Generation of the last traversal that visited this node.
    pub(super) mark: u32,
}

/// The arena. Node `i` is `nums[i]`, `links[i]` and `ops[i]`.
pub(super) struct Tape {
    pub(super) nums: Vec<Num>,
    pub(super) links: Vec<Link>,
    /// Only read to describe a node (`Value::op`, DOT export).
    pub(super) ops: Vec<Op>,
    /// Slots released by dropped graphs, reused before growing the arena.
    /// May hold stale entries, which `alloc` skips.
    pub(super) free: Vec<u32>,
    pub(super) generation: u32,
    /// No live node below this index has a child above itself (see
    /// `alloc`); `usize::MAX` when there is none at all.
    pub(super) lowest_inverted: usize,
    /// Scratch buffers kept between calls so traversals don't allocate.
    pub(super) stack: Vec<u32>,
    pub(super) order: Vec<u32>,
}

thread_local! {
    // `const` init: no lazy-initialisation check on every access.
    pub(super) static TAPE: RefCell<Tape> = const {
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
pub(super) fn with_tape<R>(f: impl FnOnce(&mut Tape) -> R) -> R {
    TAPE.with(|t| f(&mut t.borrow_mut()))
}

impl Tape {
    #[inline(always)]
    pub(super) fn alloc(&mut self, num: Num, children: [u32; 2], op: Op) -> u32 {
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

    pub(super) fn leaf(&mut self, data: f64) -> u32 {
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
    pub(super) fn record(&mut self, op: Op, a: u32, b: u32, take_a: bool, take_b: bool) -> u32 {
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
    pub(super) fn release(&mut self, id: u32) {
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
    pub(super) fn free_node(&mut self, w: usize, mut dying: impl FnMut(u32)) {
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
    pub(super) fn free_detour(
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
    pub(super) fn free_cascade(&mut self, id: u32) {
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

    pub(super) fn next_generation(&mut self) -> u32 {
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
    pub(super) fn topo_sort(&mut self, root: u32) {
        let r#gen = self.next_generation();
        if !self.topo_sweep(root, r#gen) {
            let r#gen = self.next_generation();
            self.topo_dfs(root, r#gen);
        }
    }

    /// The general topological sort, micrograd's `build_topo` without the
    /// recursion: an iterative depth-first search in which a node is pushed
    /// once to open it and once more, flagged `POST`, to emit it after all
    /// its children. Visited nodes carry the current generation in `mark`,
    /// which replaces micrograd's `visited` set.
    pub(super) fn topo_dfs(&mut self, root: u32, r#gen: u32) {
        self.topo_dfs_from(&[root], r#gen);
    }

    /// [`topo_dfs`](Tape::topo_dfs) from several roots at once.
    pub(super) fn topo_dfs_from(&mut self, roots: &[u32], r#gen: u32) {
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
            if l.mark == r#gen {
                continue;
            }
            l.mark = r#gen;
            let children = l.children;
            stack.push(top | POST);
            for c in children {
                if c != NONE && self.links[c as usize].mark != r#gen {
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
    pub(super) fn topo_sweep(&mut self, root: u32, r#gen: u32) -> bool {
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        self.links[root as usize].mark = r#gen;
        // Marked nodes the sweep has not reached yet; all below `i`.
        let mut pending = 1usize;
        let mut i = root as usize;
        let mut skipped = 0usize;
        let ok = loop {
            let l = self.links[i];
            if l.mark == r#gen {
                order.push(i as u32);
                pending -= 1;
                let mut in_order = true;
                for c in l.children {
                    if c != NONE {
                        in_order &= (c as usize) < i;
                        let cl = &mut self.links[c as usize];
                        if cl.mark != r#gen {
                            cl.mark = r#gen;
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

    pub(super) fn backward(&mut self, root: u32) {
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
    pub(super) fn propagate(&mut self, order: &[u32]) {
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
    pub(super) fn backward_sweep(&mut self, root: u32) {
        let r#gen = self.next_generation();
        self.links[root as usize].mark = r#gen;
        self.nums[root as usize].grad = 1.0;
        let top = root as usize;
        let mut pending = 1usize; // reached, not yet swept; all below `i`
        let mut i = top;
        let mut done = 0usize;
        let mut skipped = 0usize;
        loop {
            let l = self.links[i];
            if l.mark == r#gen {
                let n = self.nums[i];
                for (c, local) in l.children.into_iter().zip(n.local) {
                    if c != NONE {
                        self.nums[c as usize].grad += local * n.grad;
                        let cl = &mut self.links[c as usize];
                        if cl.mark != r#gen {
                            cl.mark = r#gen;
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
            if l.mark == r#gen {
                for c in l.children {
                    if c != NONE && (c as usize) < i && self.links[c as usize].mark == r#gen {
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
