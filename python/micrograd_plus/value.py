"""micrograd's scalar engine: `Value`, and `draw_dot` to picture its graph.

`Value` runs on the MicroGrad+ scalar engine in Rust (the same operations
and local derivatives as micrograd's ``engine.py``)::

    >>> from micrograd_plus import Value
    >>> x = Value(2.0)
    >>> y = x * x + 1
    >>> y.backward()
    >>> x.grad
    4.0
"""

import shutil
import subprocess

from . import _core
from ._core import Value

__all__ = ["Value", "draw_dot", "Graph"]


class Graph:
    """Graphviz DOT text of a computation graph.

    ``str(graph)`` / ``graph.source`` is the DOT text. In a notebook the
    graph shows as a picture when Graphviz's ``dot`` program is installed,
    and as the text otherwise. ``graph.render(path)`` writes an SVG or PNG.
    """

    def __init__(self, source):
        self.source = source

    def __str__(self):
        return self.source

    def __repr__(self):
        return f"Graph({len(self.source.splitlines())} lines of DOT)"

    def _pipe(self, fmt):
        dot = shutil.which("dot")
        if dot is None:
            return None
        done = subprocess.run([dot, f"-T{fmt}"], input=self.source.encode(), capture_output=True, check=False)
        return done.stdout if done.returncode == 0 else None

    def _repr_svg_(self):
        svg = self._pipe("svg")
        return svg.decode() if svg is not None else None

    def _repr_markdown_(self):
        if shutil.which("dot") is not None:
            return None
        return "```dot\n" + self.source + "```"

    def render(self, path, fmt=None):
        """Writes the picture to `path` (format from its extension: svg, png, pdf)."""
        fmt = fmt or str(path).rsplit(".", 1)[-1]
        data = self._pipe(fmt)
        if data is None:
            raise RuntimeError("draw_dot: rendering needs Graphviz's `dot` program (apt-get install graphviz)")
        with open(path, "wb") as f:
            f.write(data)
        return path


def draw_dot(root, rankdir="LR"):
    """The graph that computed `root` (a Value) as a `Graph`, as micrograd
    draws it: one record per value (its label, data and grad) and one oval per
    op. DOT text, and a picture in Jupyter when Graphviz is installed."""
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot expects a Value, got {type(root).__name__}")
    return Graph(_core.value_dot(root, rankdir))
