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

from tinygrad_ce.viz.compare import draw_comparison
from tinygrad_ce.viz.dot import draw_graph
from tinygrad_ce.viz.render import Graph, RendererMissing, available_renderers, render

__all__ = ["draw_graph", "draw_comparison", "render", "Graph", "RendererMissing",
           "available_renderers"]
