//! The [`Graph`] of a tensor computation: one box per tensor, with the op
//! that made it (or its parameter name), its shape and, after a backward
//! pass, the norm of its gradient.
//!
//! ```
//! use micrograd_plus::{viz, Tensor};
//! let w = Tensor::ones(&[3, 2]).requires_grad(true);
//! let x = Tensor::ones(&[4, 3]);
//! let loss = x.matmul(&w).unwrap().relu().sum();
//! viz::retain_grads(&loss); // keep the intermediate gradients for the picture
//! // d loss/d w = xᵀ·1 = 4 in each of its 6 entries: norm √96; the matmul's is √8.
//! loss.backward().unwrap();
//! let g = viz::tensor_graph(&loss, &[("w".to_string(), w.clone())]);
//! let fields: Vec<&[String]> = g.nodes.iter().map(|n| n.fields.as_slice()).collect();
//! assert!(fields.contains(&&["w".to_string(), "[3, 2]".into(), "‖grad‖ 9.7980".into()][..]));
//! assert!(fields.contains(&&["matmul".to_string(), "[4, 2]".into(), "‖grad‖ 2.8284".into()][..]));
//! assert_eq!(g.edges.len(), 4); // x, w -> matmul -> relu -> sum
//! ```

use super::{Graph, Shape};
use crate::Tensor;
use std::collections::HashMap;

/// Asks every tensor `root` was computed from to keep its gradient in the
/// coming backward pass (PyTorch's `retain_grad` on each), so that
/// [`tensor_graph`] can show gradients of intermediate results, not only
/// of the parameters.
///
/// ```
/// use micrograd_plus::{viz, Tensor};
/// let x = Tensor::ones(&[2]).requires_grad(true);
/// let h = &x * 3.0;
/// let y = h.sum();
/// viz::retain_grads(&y);
/// y.backward().unwrap();
/// assert_eq!(h.grad().unwrap().to_vec::<f32>(), vec![1.0, 1.0]);
/// ```
pub fn retain_grads(root: &Tensor) {
    for t in reachable(root) {
        if t.is_requires_grad() && !t.is_leaf() {
            t.retain_grad();
        }
    }
}

/// The graph that computed `root`: every tensor reachable through recorded
/// ops, inputs included. Leaves found in `names` (say, a model's
/// `named_parameters()`) are labelled with their name, other leaves
/// `input`; each box shows the shape and the gradient's 2-norm when there
/// is one.
pub fn tensor_graph(root: &Tensor, names: &[(String, Tensor)]) -> Graph {
    let names: HashMap<u64, &str> = names.iter().map(|(n, t)| (t.id(), n.as_str())).collect();
    let tensors = reachable(root);
    let mut index = HashMap::new();
    let mut graph = Graph::new();
    for t in &tensors {
        let label = match (t.op_name(), names.get(&t.id())) {
            (_, Some(name)) => name.to_string(),
            (Some(op), None) => op.to_string(),
            (None, None) => "input".to_string(),
        };
        let grad = match t.grad().map(|g| g.to_vec::<f64>()) {
            Some(g) => format!("‖grad‖ {:.4}", g.iter().map(|v| v * v).sum::<f64>().sqrt()),
            None if t.is_requires_grad() => "grad -".to_string(),
            None => "no grad".to_string(),
        };
        let shape = format!("{:?}", t.shape());
        let i = graph.add_node(format!("t{}", t.id()), Shape::Record, [label, shape, grad]);
        index.insert(t.id(), i);
    }
    for t in &tensors {
        for input in t.inputs() {
            graph.add_edge(index[&input.id()], index[&t.id()]);
        }
    }
    graph
}

/// `root` and every tensor reachable through recorded nodes' inputs, in
/// creation order (inputs before the results computed from them).
fn reachable(root: &Tensor) -> Vec<Tensor> {
    let mut found = root.graph_tensors(|_| true);
    found.sort_by_key(Tensor::id);
    found
}
