//! Reverse-mode autograd: the graph node every recorded op leaves behind, the
//! backward pass that walks those nodes, and the no-grad scope.
//!
//! An op computes its output and, when gradients are wanted, attaches a
//! `Node`: its name, its inputs, and its backward rule, a closure mapping the
//! gradient of the output to the gradients of the inputs (local derivative
//! times upstream gradient). `backward` visits nodes in reverse creation order
//! (a topological order, since an output is always created after its inputs),
//! summing the gradients of tensors used more than once.

use super::{shape, Tensor};
use crate::{Error, Result};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A backward rule: `(grad_of_output, inputs, output) -> grad_of_each_input`.
/// `None` means "no gradient flows to this input" (an index, a mask).
pub(crate) type BackwardFn =
    dyn Fn(&Tensor, &[Tensor], &Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync;

/// How a tensor was computed. Inputs are held here, not inside the closure,
/// so the graph can be walked (and freed) without recursion.
pub(crate) struct Node {
    pub(crate) op: &'static str,
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) backward: Box<BackwardFn>,
    /// The inputs' versions added up when the op ran. Versions only grow, so
    /// an unchanged sum at backward time means no input was modified since.
    pub(crate) input_versions: u64,
    /// Set once a backward pass without `retain_graph` went through this
    /// node: a second pass would add the same gradients again.
    pub(crate) used: AtomicBool,
}

/// The sum of the tensors' in-place modification counters.
fn version_sum(tensors: &[Tensor]) -> u64 {
    tensors.iter().map(Tensor::version).sum()
}

/// Names of Python- or user-defined ops, leaked once each so that a node can
/// hold them as `&'static str` like the built-in ops' names.
fn intern(name: &str) -> &'static str {
    use std::sync::Mutex;
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&known) = names.iter().find(|&&n| n == name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.push(leaked);
    leaked
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops on this thread currently record the graph.
///
/// ```
/// use micrograd_plus::tensor::{is_grad_enabled, no_grad};
/// assert!(is_grad_enabled());
/// no_grad(|| assert!(!is_grad_enabled()));
/// ```
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Turns graph recording on or off on this thread and returns the previous
/// setting (PyTorch's `torch.set_grad_enabled`); prefer [`no_grad`] or
/// [`NoGradGuard`], which restore it by themselves.
///
/// ```
/// use micrograd_plus::tensor::{is_grad_enabled, set_grad_enabled};
/// assert!(set_grad_enabled(false));
/// assert!(!is_grad_enabled());
/// set_grad_enabled(true);
/// ```
pub fn set_grad_enabled(on: bool) -> bool {
    GRAD_ENABLED.with(|g| g.replace(on))
}

/// Switches graph recording off until dropped (PyTorch's `torch.no_grad()`).
///
/// ```
/// use micrograd_plus::{tensor::NoGradGuard, Tensor};
/// let w = Tensor::ones(&[2]).requires_grad(true);
/// let _guard = NoGradGuard::new();
/// assert!(!(&w * 2.0).is_requires_grad());
/// ```
pub struct NoGradGuard {
    previous: bool,
}

impl NoGradGuard {
    /// Turns recording off on this thread.
    ///
    /// ```
    /// let _g = micrograd_plus::tensor::NoGradGuard::new();
    /// ```
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let previous = GRAD_ENABLED.with(|g| g.replace(false));
        NoGradGuard { previous }
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Runs `f` with graph recording off (evaluation, parameter updates).
///
/// ```
/// use micrograd_plus::{no_grad, Tensor};
/// let w = Tensor::ones(&[2]).requires_grad(true);
/// let y = no_grad(|| w.exp());
/// assert!(y.is_leaf() && !y.is_requires_grad());
/// ```
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _guard = NoGradGuard::new();
    f()
}

/// Tensor ids are unique integers already, so hashing them is the identity.
#[derive(Default)]
struct IdHasher(u64);
impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("IdHasher only hashes u64 ids")
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;
type IdSet = HashSet<u64, BuildHasherDefault<IdHasher>>;

impl Tensor {
    /// Builds an op's output and, if grad mode is on and any input needs a
    /// gradient, records `backward` for it. Every differentiable op ends here.
    pub(crate) fn record(
        data: super::Storage,
        shape: Vec<usize>,
        op: &'static str,
        inputs: Vec<Tensor>,
        backward: impl Fn(&Tensor, &[Tensor], &Tensor) -> Result<Vec<Option<Tensor>>>
            + Send
            + Sync
            + 'static,
    ) -> Tensor {
        debug_assert_eq!(
            data.len(),
            shape::numel(&shape),
            "{op}: output storage does not fill {shape:?}"
        );
        // The profiler and anomaly mode: one flag read when both are off.
        let hooks = super::hooks::active();
        if hooks != 0 {
            forward_hooks(hooks, op, &inputs, &data, &shape);
        }
        let track = is_grad_enabled() && inputs.iter().any(Tensor::is_requires_grad);
        if track {
            inputs.iter().for_each(Tensor::sync_external_writes);
        }
        let node = track.then(|| Node {
            op,
            used: AtomicBool::new(false),
            input_versions: version_sum(&inputs),
            inputs,
            backward: Box::new(backward),
        });
        Tensor::build(data, shape, node)
    }

    /// An op defined outside the library (a Python function, a user's own
    /// layer): `data` and `shape` are its output, and `backward(grad, inputs,
    /// output)` returns each input's gradient (or `None`) from the output's.
    /// The node joins the graph like a built-in op: backward runs through it
    /// in the middle of a chain, and its errors stop the backward pass.
    ///
    /// ```
    /// use micrograd_plus::{tensor::Storage, Tensor};
    /// let x = Tensor::new([1.0f64, -2.0]).unwrap().requires_grad(true);
    /// // x², written by hand: d(x²)/dx = 2x
    /// let out = Tensor::custom_op(
    ///     Storage::F64(vec![1.0, 4.0]), vec![2], "my_square", vec![x.clone()],
    ///     |g, inputs, _| Ok(vec![Some(g.mul(&inputs[0].mul_scalar(2.0))?)]),
    /// ).unwrap();
    /// assert_eq!(out.op_name(), Some("my_square"));
    /// (&out * 3.0).sum().backward().unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec::<f64>(), vec![6.0, -12.0]);
    /// ```
    pub fn custom_op(
        data: super::Storage,
        shape: Vec<usize>,
        name: &str,
        inputs: Vec<Tensor>,
        backward: impl Fn(&Tensor, &[Tensor], &Tensor) -> Result<Vec<Option<Tensor>>>
            + Send
            + Sync
            + 'static,
    ) -> Result<Tensor> {
        let n = shape::checked_numel(&shape).ok_or_else(|| {
            Error::shape(
                "custom_op",
                format!("{name}: shape {shape:?} has too many elements"),
            )
        })?;
        if data.len() != n {
            return Err(Error::shape(
                "custom_op",
                format!(
                    "{name}: {} values do not fill shape {shape:?} ({n} elements)",
                    data.len()
                ),
            ));
        }
        Ok(Tensor::record(data, shape, intern(name), inputs, backward))
    }

    /// Backpropagates from a scalar: fills `.grad` of every leaf that requires
    /// a gradient with d(self)/d(leaf), adding to what is already there.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([2.0f64, 3.0]).unwrap().requires_grad(true);
    /// let y = (&x * &x).sum(); // a tensor used twice gets both paths
    /// y.backward().unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec::<f64>(), vec![4.0, 6.0]);
    ///
    /// let err = (&x * 1.0).backward().unwrap_err().to_string();
    /// assert!(err.starts_with("Gradient must be specified for non-scalar outputs"));
    /// ```
    pub fn backward(&self) -> Result<()> {
        self.run_backward(None, false)
    }

    /// [`Tensor::backward`] (with `grad` `None`) or
    /// [`Tensor::backward_with`], keeping the graph usable for another pass
    /// (PyTorch's `retain_graph=True`): a second pass then adds the same
    /// gradients again, as it does in PyTorch.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([3.0f64]).unwrap().requires_grad(true);
    /// let y = (&x * &x).sum();
    /// y.backward_retain_graph(None).unwrap();
    /// y.backward().unwrap(); // the second pass may still run
    /// assert_eq!(x.grad().unwrap().to_vec::<f64>(), vec![12.0]);
    /// let err = y.backward().unwrap_err().to_string();
    /// assert!(err.contains("a second time"), "{err}");
    /// ```
    pub fn backward_retain_graph(&self, grad: Option<&Tensor>) -> Result<()> {
        self.run_backward(grad, true)
    }

    fn run_backward(&self, grad: Option<&Tensor>, retain_graph: bool) -> Result<()> {
        let seed;
        let grad = match grad {
            Some(g) => g,
            None => {
                if self.numel() != 1 {
                    return Err(Error::Autograd(format!(
                        "Gradient must be specified for non-scalar outputs: this tensor has shape {:?}; \
                         reduce it to a scalar with .sum() or .mean() first, or pass a gradient of the \
                         same shape to backward_with()",
                        self.shape()
                    )));
                }
                seed = Tensor::from_storage(
                    super::Storage::filled(self.dtype(), 1, 1.0),
                    self.shape().to_vec(),
                );
                &seed
            }
        };
        self.backward_from(grad, retain_graph)
    }

    /// Backpropagates from any tensor, seeding it with `grad` (same shape):
    /// the result is the gradient of `sum(self * grad)`.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([1.0f32, 2.0]).unwrap().requires_grad(true);
    /// let y = &x * 3.0;
    /// y.backward_with(&Tensor::new([1.0f32, 10.0]).unwrap()).unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>(), vec![3.0, 30.0]);
    /// ```
    pub fn backward_with(&self, grad: &Tensor) -> Result<()> {
        self.run_backward(Some(grad), false)
    }

    /// The leaf tensors that require a gradient and that a backward pass
    /// from this tensor would reach: the parameters this result depends on,
    /// in creation order. A model can compare them with the parameters it
    /// registered ([`crate::nn::Module::unregistered_parameters`]).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let w = Tensor::ones(&[2]).requires_grad(true);
    /// let b = Tensor::ones(&[2]).requires_grad(true);
    /// let x = Tensor::ones(&[2]); // data: no gradient wanted
    /// let y = (&(&x * &w) + &b).sum();
    /// let ids: Vec<u64> = y.graph_leaves().iter().map(Tensor::id).collect();
    /// assert_eq!(ids, [w.id(), b.id()]);
    /// ```
    pub fn graph_leaves(&self) -> Vec<Tensor> {
        let mut leaves: Vec<Tensor> = self
            .graph_tensors(Tensor::is_requires_grad)
            .into_iter()
            .filter(|t| t.0.node.is_none() && t.is_requires_grad())
            .collect();
        leaves.sort_unstable_by_key(Tensor::id);
        leaves
    }

    /// This tensor and every tensor reachable from it through recorded
    /// nodes along the inputs `follow` accepts, depth first, without
    /// recursion. Following the inputs that require a gradient gives the
    /// part of the graph a backward pass visits; following all of them,
    /// the whole computation (for pictures).
    pub(crate) fn graph_tensors(&self, follow: impl Fn(&Tensor) -> bool) -> Vec<Tensor> {
        let mut found = Vec::new();
        let mut seen = IdSet::default();
        let mut stack = vec![self.clone()];
        seen.insert(self.id());
        while let Some(t) = stack.pop() {
            if let Some(node) = &t.0.node {
                for input in &node.inputs {
                    if follow(input) && seen.insert(input.id()) {
                        stack.push(input.clone());
                    }
                }
            }
            found.push(t);
        }
        found
    }

    fn backward_from(&self, grad: &Tensor, retain_graph: bool) -> Result<()> {
        if grad.shape() != self.shape() {
            return Err(Error::shape(
                "backward",
                format!(
                    "gradient has shape {:?} but the output has shape {:?}",
                    grad.shape(),
                    self.shape()
                ),
            ));
        }
        if !self.is_requires_grad() {
            return Err(Error::Autograd(
                "element 0 of tensors does not require grad and does not have a grad_fn".into(),
            ));
        }
        let _no_grad = NoGradGuard::new();
        let hooks = super::hooks::active();
        let profiling = hooks & super::hooks::PROFILER != 0;
        let anomaly = hooks & super::hooks::ANOMALY != 0;
        let _scope = profiling.then(|| crate::profiler::scope("backward"));
        // Ops inside backward rules are not forward ops: anomaly mode
        // checks the gradients the rules return instead.
        let _paused = anomaly.then(super::anomaly::ForwardChecksPaused::new);

        // 1. Collect every tensor reachable through nodes.
        let mut order = self.graph_tensors(Tensor::is_requires_grad);
        if let Some(node) = order
            .iter()
            .filter_map(|t| t.0.node.as_ref())
            .find(|node| node.used.load(Ordering::Relaxed))
        {
            return Err(Error::Autograd(format!(
                "Trying to backward through the graph a second time (through {}): \
                 its gradients were already added to the leaves; run the forward pass \
                 again, or use backward_retain_graph for the first pass",
                node.op
            )));
        }
        // 2. Reverse creation order is a topological order.
        order.sort_unstable_by_key(|t| std::cmp::Reverse(t.id()));

        // 3. Push gradients from outputs to inputs, summing over paths.
        let mut grads: IdMap<Tensor> = IdMap::default();
        grads.insert(self.id(), grad.to_dtype(self.dtype()));
        for t in order {
            let Some(g) = grads.remove(&t.id()) else {
                continue;
            };
            let Some(node) = &t.0.node else {
                t.accumulate_grad(g)?;
                continue;
            };
            node.inputs.iter().for_each(Tensor::sync_external_writes);
            t.sync_external_writes();
            let now = version_sum(&node.inputs) + t.version();
            if now != node.input_versions {
                return Err(Error::Autograd(format!(
                    "one of the tensors needed to compute the gradient of {} (its inputs of shapes {:?}, \
                     or its output) was modified in place after {} ran (version {} now, {} then); \
                     run the forward pass again after changing it",
                    node.op,
                    node.inputs
                        .iter()
                        .map(|i| i.shape().to_vec())
                        .collect::<Vec<_>>(),
                    node.op,
                    now,
                    node.input_versions
                )));
            }
            let span = profiling.then(|| crate::profiler::begin_backward(node.op));
            let input_grads = (node.backward)(&g, &node.inputs, &t)?;
            if let Some(span) = span {
                end_backward_span(span, node, &t, &g, &input_grads);
            }
            if anomaly {
                super::anomaly::check_backward(node.op, &node.inputs, &t, &g, &input_grads)?;
            }
            if !retain_graph {
                node.used.store(true, Ordering::Relaxed);
            }
            for (input, ig) in node.inputs.iter().zip(input_grads) {
                let Some(ig) = ig else { continue };
                if !input.is_requires_grad() {
                    continue;
                }
                if ig.shape() != input.shape() {
                    return Err(Error::Autograd(format!(
                        "internal error: backward of {} produced a gradient of shape {:?} for an input of shape {:?}",
                        node.op,
                        ig.shape(),
                        input.shape()
                    )));
                }
                match grads.remove(&input.id()) {
                    Some(prev) => grads.insert(input.id(), sum_of_paths(prev, &ig)),
                    None => grads.insert(input.id(), ig),
                };
            }
            // Kept last: unless the rule passed `g` on to an input (as add
            // does), nothing else holds it now, and it becomes `.grad`
            // without a copy.
            if t.0.retains_grad.load(Ordering::Relaxed) {
                t.accumulate_grad(g)?;
            }
        }
        Ok(())
    }

    /// Adds `g` into this tensor's `.grad`: in place when a gradient is
    /// there (so every handle to it sees the sum, as in PyTorch; in its
    /// dtype), otherwise `g` becomes the gradient. A `.grad` of another shape
    /// (set by hand) is an error rather than a silently truncated sum.
    fn accumulate_grad(&self, g: Tensor) -> Result<()> {
        let mut slot = self.0.grad.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some(prev) if prev.shape() != g.shape() => Err(Error::Autograd(format!(
                "the .grad of a tensor of shape {:?} has shape {:?}, so the gradient of shape {:?} \
                 cannot be added to it; set .grad to None or to a tensor of the tensor's shape",
                self.shape(),
                prev.shape(),
                g.shape()
            ))),
            Some(prev) if prev.id() == g.id() => {
                *slot = Some(sum_of_paths(prev.clone(), &g));
                Ok(())
            }
            Some(prev) => {
                prev.0
                    .data
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .add_assign(&g.storage());
                Ok(())
            }
            // A gradient may be shared with other tensors (add passes its
            // upstream gradient through); own it before optimizers edit it in place.
            None if Arc::strong_count(&g.0) > 1 => {
                *slot = Some(g.detach());
                Ok(())
            }
            None => {
                *slot = Some(g);
                Ok(())
            }
        }
    }
}

/// What the instruments switched on in `hooks` do with an op's output as
/// it is recorded: the profiler times it, anomaly mode checks it.
fn forward_hooks(
    hooks: u8,
    op: &'static str,
    inputs: &[Tensor],
    data: &super::Storage,
    shape: &[usize],
) {
    if hooks & super::hooks::PROFILER != 0 {
        let shapes: Vec<&[usize]> = inputs.iter().map(Tensor::shape).collect();
        let bytes = data.len() * data.dtype().itemsize();
        crate::profiler::record_forward(op, &shapes, shape, bytes);
    }
    if hooks & super::hooks::ANOMALY != 0 {
        super::anomaly::check_forward(op, inputs, data, shape);
    }
}

/// Hands the profiler what the backward rule of `node` (output `out`,
/// gradient `upstream`) did: the shapes it saw, which inputs got a
/// gradient, and the bytes of those it allocated (not of `upstream` passed
/// on as it is, as add does).
fn end_backward_span(
    span: crate::profiler::BackwardSpan,
    node: &Node,
    out: &Tensor,
    upstream: &Tensor,
    grads: &[Option<Tensor>],
) {
    let shapes: Vec<&[usize]> = node.inputs.iter().map(Tensor::shape).collect();
    let wants: Vec<bool> = grads.iter().map(Option::is_some).collect();
    let bytes = grads
        .iter()
        .flatten()
        .filter(|g| g.id() != upstream.id())
        .map(|g| g.numel() * g.dtype().itemsize())
        .sum();
    span.end(&shapes, out.shape(), &wants, bytes);
}

/// `a + b` for two gradients of one tensor that arrived by different paths,
/// never recorded. Sums into `a`'s buffer when nothing else holds `a` (the
/// usual case: a gradient only the backward pass has seen), otherwise into
/// a new tensor, since an op may hand one gradient to several inputs.
fn sum_of_paths(a: Tensor, b: &Tensor) -> Tensor {
    if Arc::strong_count(&a.0) == 1 {
        a.0.data
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .add_assign(&b.storage());
        return a;
    }
    let mut sum = a.storage().clone();
    sum.add_assign(&b.storage());
    Tensor::from_storage(sum, a.shape().to_vec())
}

/// Frees a graph iteratively: dropping the last handle to a million-node chain
/// would otherwise recurse once per node and overflow the stack.
impl Drop for super::TensorImpl {
    fn drop(&mut self) {
        let Some(node) = self.node.take() else { return };
        let mut stack = node.inputs;
        while let Some(t) = stack.pop() {
            if let Ok(mut inner) = Arc::try_unwrap(t.0)
                && let Some(n) = inner.node.take()
            {
                stack.extend(n.inputs);
            }
        }
    }
}
