//! Graphviz export of a [`Value`] graph, like micrograd's `draw_dot`.
//!
//! Every value becomes a record node `{ data … | grad … }`; every computed
//! value also gets a small oval node with its operation, so the picture
//! reads "inputs → op → result" from left to right. Render the text with
//! `dot -Tsvg graph.dot -o graph.svg`.
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

use std::fmt::Write as _;
use std::path::Path;

use super::{Op, Value};
use crate::error::{Error, Result};

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
    let mut out = String::from("digraph G {\n  rankdir=LR;\n");
    let order = root.topological_order();
    for v in &order {
        let id = v.id();
        // `writeln!` into a String cannot fail.
        let _ = writeln!(
            out,
            "  n{id} [shape=record, label=\"{{ data {:.4} | grad {:.4} }}\"];",
            v.data(),
            v.grad()
        );
        let op = v.op();
        if op != Op::Leaf {
            let _ = writeln!(
                out,
                "  n{id}op [label=\"{}\"];\n  n{id}op -> n{id};",
                op.label().replace('"', "\\\"")
            );
            for c in v.children() {
                let _ = writeln!(out, "  n{} -> n{id}op;", c.id());
            }
        }
    }
    out.push_str("}\n");
    out
}

/// Writes [`to_dot`]'s text to `path`.
///
/// ```
/// use micrograd_plus::value::{dot::write_dot, Value};
/// let path = std::env::temp_dir().join("mgp_doc_write_dot.dot");
/// write_dot(&Value::new(1.0).exp(), &path)?;
/// assert!(std::fs::read_to_string(&path)?.contains("exp"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_dot(root: &Value, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, to_dot(root)).map_err(|e| Error::File {
        path: path.display().to_string(),
        msg: e.to_string(),
    })
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
