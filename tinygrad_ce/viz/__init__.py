"""Pictures of the graph: tensors with their values and gradients, ops, module clusters.

``draw_graph(root)`` returns a ``graphviz.Digraph`` (it displays itself in Jupyter);
``render(graph_or_root, "graph.svg")`` writes svg, png, pdf, dot or a self-contained html
page; ``draw_comparison(fused, unfused)`` puts a fused loss beside its unfused twin.
"""

from __future__ import annotations

try:
    import graphviz  # noqa: F401
except ImportError:
    raise ImportError('tinygrad_ce.viz draws with the graphviz package, which the demo extra '
                      'installs: pip install "tinygrad-ce[demo]"', name="graphviz") from None

import os  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from tinygrad_ce.engine import keep_graph  # noqa: E402
from tinygrad_ce.tensor import Tensor  # noqa: E402
from tinygrad_ce.viz.compare import draw_comparison  # noqa: E402
from tinygrad_ce.viz.dot import draw_graph  # noqa: E402
from tinygrad_ce.viz.render import Graph, RendererMissing, available_renderers, write  # noqa: E402

__all__ = ["draw_graph", "draw_comparison", "render", "keep_graph", "Graph", "RendererMissing",
           "available_renderers", "write"]


def render(graph_or_root: Any, path: str | os.PathLike[str], format: str | None = None, *,
           renderer: str | None = None, quiet: bool = False, **draw_kwargs: Any) -> Path:
    """Write ``graph_or_root`` (a :class:`Graph`, a ``graphviz.Digraph``, or a Tensor, drawn
    with ``draw_graph(root, **draw_kwargs)``) to ``path`` as svg, png, pdf, dot or html
    (``format``, else the suffix of ``path``, else svg). Returns the path written: with no
    renderer, that is the ``.dot`` file, and one line on stdout says how to render it."""
    if isinstance(graph_or_root, Tensor):
        g = draw_graph(graph_or_root, **draw_kwargs)
    elif draw_kwargs:
        raise TypeError(f"drawing options {sorted(draw_kwargs)} apply to a Tensor, not a graph")
    else:
        g = graph_or_root
    return write(g, path, format, renderer=renderer, quiet=quiet)
