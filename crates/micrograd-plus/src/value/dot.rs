//! Graphviz export of a [`Value`] graph, like micrograd's `draw_dot`.
//!
//! Every value becomes a record node `{ label | data … | grad … }` (the
//! label only when one is given, like micrograd's `x1`, `w1`); every
//! computed value also gets a small oval node with its operation, so the
//! picture reads "inputs → op → result" from left to right. Render the DOT
//! text with `dot -Tsvg graph.dot -o graph.svg`, or draw it without
//! Graphviz with [`crate::viz::Graph::write_png`].
//!
//! ```
//! use micrograd_plus::value::{dot::to_dot, Value};
//!
//! let x = Value::new(2.0);
//! let y = (&x * 3.0).tanh();
//! y.backward();
//! let dot = to_dot(&y);
//! assert!(dot.starts_with("digraph"));
//! assert!(dot.contains("tanh") && dot.contains("*3"));
//! ```

use std::path::Path;

use super::{Op, Value};
use crate::error::Result;
use crate::viz::{Graph, Shape};

/// The graph of `root` as a [`Graph`], with `labels` naming some of its
/// values (micrograd's `Value(2.0, label='x1')`).
///
/// ```
/// use micrograd_plus::value::{dot::graph, Value};
/// let x1 = Value::new(2.0);
/// let w1 = Value::new(-3.0);
/// let y = &x1 * &w1;
/// let g = graph(&y, &[(&x1, "x1"), (&w1, "w1"), (&y, "x1*w1")]);
/// assert_eq!(g.nodes.len(), 4); // three values and the op
/// assert!(g.to_dot().contains(r#"label="{ x1 | data 2.0000 | grad 0.0000 }""#));
/// ```
pub fn graph(root: &Value, labels: &[(&Value, &str)]) -> Graph {
    let mut g = Graph::new();
    let mut index = std::collections::HashMap::new();
    // Reversed, so a value named twice keeps its first name.
    let labels: std::collections::HashMap<usize, &str> =
        labels.iter().rev().map(|(v, s)| (v.id(), *s)).collect();
    for v in root.topological_order() {
        let id = v.id();
        let label = labels.get(&id).copied();
        let fields = label.map(str::to_string).into_iter().chain([
            format!("data {:.4}", v.data()),
            format!("grad {:.4}", v.grad()),
        ]);
        let node = g.add_node(format!("n{id}"), Shape::Record, fields);
        index.insert(id, node);
        let op = v.op();
        if op != Op::Leaf {
            let op_node = g.add_node(format!("n{id}op"), Shape::Oval, [op.label()]);
            g.add_edge(op_node, node);
            for c in v.children() {
                g.add_edge(index[&c.id()], op_node);
            }
        }
    }
    g
}

/// The DOT text for `root`'s graph, left to right.
///
/// ```
/// use micrograd_plus::value::{dot::to_dot, Value};
/// let a = Value::new(1.5);
/// let b = &a + &a;
/// let dot = to_dot(&b);
/// assert!(dot.contains("data 1.5000"));
/// assert!(dot.contains("label=\"+\""));
/// ```
pub fn to_dot(root: &Value) -> String {
    graph(root, &[]).to_dot()
}

/// Writes [`to_dot`]'s text to `path` (atomically).
///
/// ```
/// use micrograd_plus::value::{dot::write_dot, Value};
/// let path = std::env::temp_dir().join("mgp_doc_write_dot.dot");
/// write_dot(&Value::new(1.0).exp(), &path)?;
/// assert!(std::fs::read_to_string(&path)?.contains("exp"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_dot(root: &Value, path: impl AsRef<Path>) -> Result<()> {
    graph(root, &[]).write_dot(path)
}

impl Value {
    /// Shorthand for [`to_dot(self)`](to_dot).
    ///
    /// ```
    /// use micrograd_plus::value::Value;
    /// assert!(Value::new(1.0).relu().to_dot().contains("ReLU"));
    /// ```
    pub fn to_dot(&self) -> String {
        to_dot(self)
    }
}
