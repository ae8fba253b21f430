//! A layered layout for a [`Graph`], left to right, the classic way
//! (Sugiyama's): put every node in a column after all of its inputs
//! (longest-path layering, with inputs then moved up next to their first
//! use), order each column by the mean position of its neighbours
//! (barycentre ordering, a few sweeps each way), then stack the columns.
//! Not Graphviz, but enough for the graphs a learner draws.
//!
//! ```
//! use micrograd_plus::viz::{layout::layout, Graph, Shape};
//! let mut g = Graph::new();
//! let a = g.add_node("a", Shape::Record, ["a"]);
//! let b = g.add_node("b", Shape::Record, ["b"]);
//! let c = g.add_node("c", Shape::Oval, ["+"]);
//! g.add_edge(a, c);
//! g.add_edge(b, c);
//! let l = layout(&g, &|text: &str| 7.0 * text.len() as f64);
//! assert_eq!(l.layer, [0, 0, 1]);
//! assert!(l.boxes[c].x > l.boxes[a].x + l.boxes[a].w);
//! ```

use super::{Graph, Shape};

/// Height of the text in pixels.
pub const FONT_PX: f64 = 15.0;
/// Space left and right of a record's field.
pub const FIELD_PAD: f64 = 8.0;
/// Height of a line of text in a box.
pub const LINE_H: f64 = 20.0;
const GAP_X: f64 = 50.0;
const GAP_Y: f64 = 18.0;
const MARGIN: f64 = 12.0;
const SWEEPS: usize = 6;

/// A node's box: top-left corner and size, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// Where every node of a graph goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Each node's column, 0 at the left.
    pub layer: Vec<usize>,
    /// Each node's box.
    pub boxes: Vec<Rect>,
    /// Width of the whole picture.
    pub width: f64,
    /// Height of the whole picture.
    pub height: f64,
}

/// The width and height `fields` need in a box of `shape`, with
/// `measure` giving a text's width.
fn size(shape: Shape, fields: &[String], measure: &dyn Fn(&str) -> f64) -> (f64, f64) {
    match shape {
        // Fields side by side, each padded, one line high.
        Shape::Record => (
            fields
                .iter()
                .map(|f| measure(f) + 2.0 * FIELD_PAD)
                .sum::<f64>()
                .max(2.0 * FIELD_PAD),
            LINE_H + 8.0,
        ),
        // Lines stacked in an oval a little wider than the longest.
        Shape::Oval => (
            fields.iter().map(|f| measure(f)).fold(0.0, f64::max) + 4.0 * FIELD_PAD,
            LINE_H * fields.len().max(1) as f64 + 8.0,
        ),
    }
}

/// Lays `graph` out (see the module's description), with `measure` giving
/// the width of a text in pixels. Edges that would make a cycle are
/// ignored for layering (computation graphs have none).
pub fn layout(graph: &Graph, measure: &dyn Fn(&str) -> f64) -> Layout {
    let n = graph.nodes.len();
    let mut preds = vec![Vec::new(); n];
    let mut succs = vec![Vec::new(); n];
    for &(a, b) in &graph.edges {
        if a < n && b < n && a != b {
            preds[b].push(a);
            succs[a].push(b);
        }
    }
    let layer = layers(&preds, &succs);
    let depth = layer.iter().max().map_or(0, |&d| d + 1);
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (v, &l) in layer.iter().enumerate() {
        columns[l].push(v);
    }
    order_columns(&mut columns, &preds, &succs);

    let sizes: Vec<(f64, f64)> = graph
        .nodes
        .iter()
        .map(|nd| size(nd.shape, &nd.fields, measure))
        .collect();
    let col_w: Vec<f64> = columns
        .iter()
        .map(|c| c.iter().map(|&v| sizes[v].0).fold(0.0, f64::max))
        .collect();
    let col_h: Vec<f64> = columns
        .iter()
        .map(|c| c.iter().map(|&v| sizes[v].1 + GAP_Y).sum::<f64>() - GAP_Y)
        .collect();
    let height = col_h.iter().copied().fold(0.0, f64::max) + 2.0 * MARGIN;
    let mut boxes = vec![
        Rect {
            x: 0.0,
            y: 0.0,
            w: 0.0,
            h: 0.0
        };
        n
    ];
    let mut x = MARGIN;
    for (c, column) in columns.iter().enumerate() {
        // Each column centred vertically, each box centred in its column.
        let mut y = (height - col_h[c]) / 2.0;
        for &v in column {
            let (w, h) = sizes[v];
            boxes[v] = Rect {
                x: x + (col_w[c] - w) / 2.0,
                y,
                w,
                h,
            };
            y += h + GAP_Y;
        }
        x += col_w[c] + GAP_X;
    }
    let width = (x - GAP_X + MARGIN).max(2.0 * MARGIN);
    Layout {
        layer,
        boxes,
        width,
        height,
    }
}

/// Longest-path layers: a node sits one column after its latest input;
/// then a node with no inputs moves right to just before its first use,
/// so a weight is drawn next to the op that reads it.
fn layers(preds: &[Vec<usize>], succs: &[Vec<usize>]) -> Vec<usize> {
    let n = preds.len();
    let mut indegree: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut ready: Vec<usize> = (0..n).filter(|&v| indegree[v] == 0).collect();
    let mut topo = Vec::with_capacity(n);
    while let Some(v) = ready.pop() {
        topo.push(v);
        for &s in &succs[v] {
            indegree[s] -= 1;
            if indegree[s] == 0 {
                ready.push(s);
            }
        }
    }
    // Nodes on a cycle never became ready: they go in the first column.
    let mut layer = vec![0usize; n];
    for &v in &topo {
        for &s in &succs[v] {
            layer[s] = layer[s].max(layer[v] + 1);
        }
    }
    for v in 0..n {
        if preds[v].is_empty()
            && let Some(first_use) = succs[v].iter().map(|&s| layer[s]).min()
        {
            layer[v] = first_use.saturating_sub(1);
        }
    }
    layer
}

/// Barycentre ordering: each column sorted by the mean row of its
/// neighbours in the column before (sweeping right) or after (left).
fn order_columns(columns: &mut [Vec<usize>], preds: &[Vec<usize>], succs: &[Vec<usize>]) {
    let n = preds.len();
    let mut row = vec![0.0f64; n];
    let set_rows = |columns: &[Vec<usize>], row: &mut Vec<f64>| {
        for column in columns {
            for (i, &v) in column.iter().enumerate() {
                row[v] = i as f64;
            }
        }
    };
    set_rows(columns, &mut row);
    for sweep in 0..SWEEPS {
        let rightward = sweep % 2 == 0;
        let indices: Vec<usize> = if rightward {
            (0..columns.len()).collect()
        } else {
            (0..columns.len()).rev().collect()
        };
        for c in indices {
            let key = |v: usize| {
                let nbrs = if rightward { &preds[v] } else { &succs[v] };
                if nbrs.is_empty() {
                    row[v]
                } else {
                    nbrs.iter().map(|&u| row[u]).sum::<f64>() / nbrs.len() as f64
                }
            };
            let mut keyed: Vec<(f64, usize)> = columns[c].iter().map(|&v| (key(v), v)).collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            columns[c] = keyed.into_iter().map(|(_, v)| v).collect();
            for (i, &v) in columns[c].iter().enumerate() {
                row[v] = i as f64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character 7 pixels wide.
    fn chars(text: &str) -> f64 {
        7.0 * text.chars().count() as f64
    }

    #[test]
    fn inputs_sit_next_to_their_first_use() {
        // x -> f -> g, and w used only by g: w goes in g's previous column.
        let mut g = Graph::new();
        let x = g.add_node("x", Shape::Record, ["x"]);
        let f = g.add_node("f", Shape::Oval, ["f"]);
        let h = g.add_node("g", Shape::Oval, ["g"]);
        let w = g.add_node("w", Shape::Record, ["w"]);
        g.add_edge(x, f);
        g.add_edge(f, h);
        g.add_edge(w, h);
        assert_eq!(layout(&g, &chars).layer, [0, 1, 2, 1]);
    }

    #[test]
    fn barycentre_ordering_removes_a_crossing() {
        // a->d and b->c, with c listed before d: ordering puts c beside b.
        let mut g = Graph::new();
        let a = g.add_node("a", Shape::Oval, ["a"]);
        let b = g.add_node("b", Shape::Oval, ["b"]);
        let c = g.add_node("c", Shape::Oval, ["c"]);
        let d = g.add_node("d", Shape::Oval, ["d"]);
        g.add_edge(a, d);
        g.add_edge(b, c);
        let l = layout(&g, &chars);
        let above = |u: usize, v: usize| l.boxes[u].y < l.boxes[v].y;
        assert_eq!(above(a, b), above(d, c));
    }

    #[test]
    fn boxes_fit_their_text_and_do_not_overlap() {
        let mut g = Graph::new();
        for i in 0..5 {
            g.add_node(
                format!("n{i}"),
                Shape::Record,
                [format!("v{i}"), "data 1.0000".into()],
            );
        }
        let l = layout(&g, &chars);
        let want = (2.0 + 11.0) * 7.0 + 4.0 * FIELD_PAD;
        assert!((l.boxes[0].w - want).abs() < 1e-9);
        for i in 0..5 {
            for j in i + 1..5 {
                let (p, q) = (l.boxes[i], l.boxes[j]);
                assert!(p.y + p.h <= q.y || q.y + q.h <= p.y, "{p:?} {q:?}");
            }
        }
        assert!(l
            .boxes
            .iter()
            .all(|b| b.x + b.w <= l.width && b.y + b.h <= l.height));
    }
}
