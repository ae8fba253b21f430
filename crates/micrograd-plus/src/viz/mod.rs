//! Pictures of computation graphs: a [`Graph`] of boxes and arrows, as
//! Graphviz DOT text and as a PNG drawn without Graphviz (a layered
//! layout of its own, [`layout`]). [`crate::value::dot`] builds one from a
//! `Value` (micrograd's `draw_dot`), [`tensor_graph()`] from a `Tensor`.
//! With a system Graphviz installed, [`graphviz::render`] draws it with
//! `dot` instead (PNG or SVG).
//!
//! ```
//! use micrograd_plus::viz::{Graph, Shape};
//! let mut g = Graph::new();
//! let x = g.add_node("x", Shape::Record, ["x", "data 2.0000"]);
//! let op = g.add_node("xop", Shape::Oval, ["tanh"]);
//! g.add_edge(x, op);
//! assert!(g.to_dot().contains("x -> xop;"));
//! let path = std::env::temp_dir().join(format!("mgp-viz-mod-doc-{}.png", std::process::id()));
//! g.write_png(&path).unwrap();
//! assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"));
//! # std::fs::remove_file(&path).unwrap();
//! ```

pub mod graphviz;
pub mod layout;
mod png;
pub mod tensor_graph;

pub use tensor_graph::{retain_grads, tensor_graph};

use crate::Result;
use std::fmt::Write as _;
use std::path::Path;

/// How a node is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A box of fields side by side (a value: its label, data, grad).
    Record,
    /// An oval (an operation).
    Oval,
}

/// Which way a DOT graph flows, inputs first (Graphviz's `rankdir`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Inputs on the left (`LR`), as micrograd draws.
    #[default]
    LeftToRight,
    /// Inputs at the top (`TB`).
    TopToBottom,
}

/// One box of a [`Graph`].
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Its DOT identifier.
    pub id: String,
    /// How it is drawn.
    pub shape: Shape,
    /// Its text: the fields of a record, or an oval's lines.
    pub fields: Vec<String>,
}

/// Boxes and the arrows between them, drawn left to right (inputs first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    /// The boxes, in the order added.
    pub nodes: Vec<Node>,
    /// Arrows as `(from, to)` indices into `nodes`.
    pub edges: Vec<(usize, usize)>,
}

impl Graph {
    /// An empty graph.
    ///
    /// ```
    /// assert!(micrograd_plus::viz::Graph::new().nodes.is_empty());
    /// ```
    pub fn new() -> Graph {
        Graph::default()
    }

    /// Adds a node and returns its index.
    ///
    /// ```
    /// use micrograd_plus::viz::{Graph, Shape};
    /// let mut g = Graph::new();
    /// assert_eq!(g.add_node("a", Shape::Oval, ["+"]), 0);
    /// ```
    pub fn add_node<S: Into<String>>(
        &mut self,
        id: impl Into<String>,
        shape: Shape,
        fields: impl IntoIterator<Item = S>,
    ) -> usize {
        self.nodes.push(Node {
            id: id.into(),
            shape,
            fields: fields.into_iter().map(Into::into).collect(),
        });
        self.nodes.len() - 1
    }

    /// Adds an arrow from node `from` to node `to` (indices).
    ///
    /// ```
    /// use micrograd_plus::viz::{Graph, Shape};
    /// let mut g = Graph::new();
    /// let (a, b) = (g.add_node("a", Shape::Oval, ["a"]), g.add_node("b", Shape::Oval, ["b"]));
    /// g.add_edge(a, b);
    /// assert_eq!(g.edges, [(0, 1)]);
    /// ```
    pub fn add_edge(&mut self, from: usize, to: usize) {
        self.edges.push((from, to));
    }

    /// Graphviz DOT text, left to right (`dot -Tsvg g.dot -o g.svg`).
    ///
    /// ```
    /// use micrograd_plus::viz::{Graph, Shape};
    /// let mut g = Graph::new();
    /// g.add_node("n1", Shape::Record, ["w1", "data -3.0000"]);
    /// assert!(g.to_dot().contains(r#"n1 [shape=record, label="{ w1 | data -3.0000 }"];"#));
    /// ```
    pub fn to_dot(&self) -> String {
        self.to_dot_towards(Direction::LeftToRight)
    }

    /// Graphviz DOT text laid out in `direction` (micrograd's `rankdir`).
    ///
    /// ```
    /// use micrograd_plus::viz::{Direction, Graph};
    /// assert!(Graph::new().to_dot_towards(Direction::TopToBottom).contains("rankdir=TB;"));
    /// ```
    pub fn to_dot_towards(&self, direction: Direction) -> String {
        let rankdir = match direction {
            Direction::LeftToRight => "LR",
            Direction::TopToBottom => "TB",
        };
        let mut out = format!("digraph G {{\n  rankdir={rankdir};\n");
        for n in &self.nodes {
            let fields: Vec<String> = n.fields.iter().map(|f| escape(f)).collect();
            // `writeln!` into a String cannot fail.
            let _ = match n.shape {
                Shape::Record => writeln!(
                    out,
                    "  {} [shape=record, label=\"{{ {} }}\"];",
                    n.id,
                    fields.join(" | ")
                ),
                Shape::Oval => writeln!(out, "  {} [label=\"{}\"];", n.id, fields.join("\\n")),
            };
        }
        for &(a, b) in &self.edges {
            let _ = writeln!(out, "  {} -> {};", self.nodes[a].id, self.nodes[b].id);
        }
        out.push_str("}\n");
        out
    }

    /// Writes [`Graph::to_dot`] to `path` atomically.
    ///
    /// ```
    /// use micrograd_plus::viz::Graph;
    /// let path = std::env::temp_dir().join(format!("mgp-viz-doc-{}.dot", std::process::id()));
    /// Graph::new().write_dot(&path).unwrap();
    /// assert!(std::fs::read_to_string(&path).unwrap().starts_with("digraph"));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn write_dot(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::write_atomic(path.as_ref(), self.to_dot().as_bytes())
    }

    /// Draws the graph, laid out by [`layout::layout`], and writes it to
    /// `path` as a PNG (atomically; errors name the file).
    ///
    /// ```
    /// use micrograd_plus::viz::{Graph, Shape};
    /// let mut g = Graph::new();
    /// g.add_node("a", Shape::Record, ["x1", "data 2.0000"]);
    /// let path = std::env::temp_dir().join(format!("mgp-viz-doc-{}.png", std::process::id()));
    /// g.write_png(&path).unwrap();
    /// assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"));
    /// # std::fs::remove_file(&path).unwrap();
    /// let err = g.write_png("/nonexistent-dir/g.png").unwrap_err().to_string();
    /// assert!(err.contains("/nonexistent-dir/g.png"), "{err}");
    /// ```
    pub fn write_png(&self, path: impl AsRef<Path>) -> Result<()> {
        png::write(self, path.as_ref())
    }
}

/// `text` safe inside a DOT record label.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\\"{}|<>".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
