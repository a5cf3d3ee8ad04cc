"""The backward pass, step by step, for the html page: the engine's own order (the reverse
of ``autograd.topological_order``), and at each op the gradient that arrived, the rule
applied, the gradient sent to each input and the running value of each input's ``.grad``.

Computed from the public graph with ``autograd.grad`` (``flow.edge_gradients``), so the
graph must still hold what it saved: draw before ``backward()``, or keep it (``keep_graph``,
``retain_graph=True``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tinygrad_ce import autograd
from tinygrad_ce.tensor import Tensor
from tinygrad_ce.viz.flow import MAX_FLOW_NODES, edge_gradients
from tinygrad_ce.viz.rules import describe

Text = Callable[[np.ndarray], str]


def backward_steps(root: Tensor, order: Sequence[Tensor], grads: Mapping[int, np.ndarray],
                   node_names: Mapping[int, tuple[str, str | None]], page_text: Text,
                   summarize: Text) -> list[dict[str, Any]]:
    """One entry per op the backward pass runs, in the engine's order. ``node_names`` maps
    ``id(tensor)`` to its (tensor node, op node) names in the drawing; ``page_text`` and
    ``summarize`` write an array in full and in short."""
    if len(order) > MAX_FLOW_NODES:
        raise ValueError(f"a step-through draws at most {MAX_FLOW_NODES} tensors; this graph "
                         f"has {len(order)}")
    edges = edge_gradients(root, order, dict(grads))
    running: dict[int, np.ndarray] = {}
    steps: list[dict[str, Any]] = []
    for node in reversed(autograd.topological_order([root])):
        if node.is_leaf or id(node) not in node_names or id(node) not in grads:
            continue
        tname, oname = node_names[id(node)]
        sent = []
        seen: set[int] = set()
        for p in node.parents:
            if id(p) in seen or not p.requires_grad or id(p) not in node_names:
                continue
            seen.add(id(p))
            g = edges.get((id(p), id(node)))
            if g is None:
                continue
            running[id(p)] = g if id(p) not in running else running[id(p)] + g
            sent.append({"to": node_names[id(p)][0], "grad": page_text(g),
                         "short": summarize(g), "total": page_text(running[id(p)]),
                         "leaf": p.is_leaf})
        steps.append({"node": tname, "op": oname, "arrived": page_text(grads[id(node)]),
                      "short": summarize(grads[id(node)]), "rule": describe(node),
                      "sent": sent})
    return steps
