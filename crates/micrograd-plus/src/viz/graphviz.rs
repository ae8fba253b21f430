//! Rendering a [`Graph`] with a system Graphviz, when one is installed:
//! `dot` lays graphs out better than the built-in layered layout, and
//! writes SVG too. Nothing here is needed: without `dot` on `PATH`,
//! [`Graph::write_png`] draws the picture by itself.

use super::Graph;
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The picture formats `dot` is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A PNG image.
    Png,
    /// An SVG drawing.
    Svg,
}

impl Format {
    /// The file extension and `dot -T` name (`"png"`, `"svg"`).
    ///
    /// ```
    /// assert_eq!(micrograd_plus::viz::graphviz::Format::Svg.name(), "svg");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
}

/// The `dot` program on `PATH`, if there is one.
///
/// ```
/// // Some machines have Graphviz, some do not: either answer is fine.
/// let _maybe = micrograd_plus::viz::graphviz::find_dot();
/// ```
pub fn find_dot() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("dot"))
        .find(|candidate| candidate.is_file())
}

/// Renders `graph` with the `dot` program at `dot` into `out` as `format`
/// (written atomically; an error names `out` and says what `dot` said).
///
/// ```
/// use micrograd_plus::viz::{graphviz::{find_dot, render, Format}, Graph, Shape};
/// let mut g = Graph::new();
/// let a = g.add_node("a", Shape::Record, ["a", "data 1.0"]);
/// let b = g.add_node("b", Shape::Oval, ["tanh"]);
/// g.add_edge(a, b);
/// if let Some(dot) = find_dot() {
///     let out = std::env::temp_dir().join(format!("mgp-graphviz-doc-{}.svg", std::process::id()));
///     render(&g, &dot, &out, Format::Svg).unwrap();
///     assert!(std::fs::read_to_string(&out).unwrap().contains("<svg"));
///     # std::fs::remove_file(&out).unwrap();
/// }
/// ```
pub fn render(graph: &Graph, dot: &Path, out: &Path, format: Format) -> Result<()> {
    let fail = |msg: String| Error::File {
        path: out.display().to_string(),
        msg,
    };
    let mut child = Command::new(dot)
        .arg(format!("-T{}", format.name()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {}: {e}", dot.display())))?;
    // dot reads all of its input before it writes, so writing first
    // cannot dead-lock on a full output pipe.
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write as _;
        stdin
            .write_all(graph.to_dot().as_bytes())
            .map_err(|e| fail(format!("cannot feed {}: {e}", dot.display())))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| fail(format!("{} did not finish: {e}", dot.display())))?;
    if !output.status.success() || output.stdout.is_empty() {
        return Err(fail(format!(
            "{} failed ({}): {}",
            dot.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    crate::io::write_atomic(out, &output.stdout)
}
