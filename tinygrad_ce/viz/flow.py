"""The gradient flowing back along each edge of the forward graph.

An op ``c`` with upstream gradient ``dL/dc`` sends each input ``p`` the part of dL/dp that
goes through the edge ``p -> c`` alone. ``autograd.grad(c, p, dL/dc)`` gives the sum over
*every* path from ``p`` to ``c``; the paths that enter ``c`` through another input ``u``
(log_softmax's ``x - logsumexp(x)`` is one) are taken off:

    direct(p) = vjp_{c->p}(dL/dc) - sum_{u != p} vjp_{u->p}(direct(u))

with the inputs handled latest-first in topological order, so each ``direct(u)`` is known.
Only the public ``autograd.grad`` and ``topological_order`` are used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinygrad_ce import autograd
from tinygrad_ce.tensor import Tensor

MAX_FLOW_NODES = 600  # one vjp per op: quadratic in the depth, so only for graphs people read


def edge_gradients(root: Tensor, order: Sequence[Tensor],
                   grads: dict[int, np.ndarray]) -> dict[tuple[int, int], np.ndarray]:
    """``{(id(parent), id(op output)): gradient along that edge}`` and, for each op's output
    edge, ``{(id(output), -1): dL/d(output)}``."""
    if len(order) > MAX_FLOW_NODES:
        raise ValueError(
            f"grad_flow draws at most {MAX_FLOW_NODES} tensors; this graph has {len(order)}"
        )
    position = {id(t): i for i, t in enumerate(autograd.topological_order([root]))}
    out: dict[tuple[int, int], np.ndarray] = {}
    for c in order:
        gc = grads.get(id(c))
        if c.is_leaf or gc is None:
            continue
        out[(id(c), -1)] = gc
        inputs: list[Tensor] = []
        for p in c.parents:
            if p.requires_grad and all(p is not q for q in inputs):
                inputs.append(p)
        if not inputs:
            continue
        total = autograd.grad(c, inputs, grad_outputs=Tensor(gc), retain_graph=True,
                              allow_unused=True)
        direct: dict[int, np.ndarray] = {}
        for p, g in sorted(zip(inputs, total), key=lambda pg: -position.get(id(pg[0]), -1)):
            d = np.zeros_like(p.numpy()) if g is None else g.numpy()
            for u in inputs:
                if u is p or u.is_leaf or id(u) not in direct:
                    continue
                through, = autograd.grad(u, p, grad_outputs=Tensor(direct[id(u)]),
                                         retain_graph=True, allow_unused=True)
                if through is not None:
                    d = d - through.numpy()
            direct[id(p)] = d
            out[(id(p), id(c))] = d
    return out
