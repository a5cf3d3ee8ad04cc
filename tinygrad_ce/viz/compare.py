"""A fused loss beside its unfused twin: both graphs in one picture, each tensor with the
gradient of its own loss, and the largest difference of the gradients at the shared inputs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from tinygrad_ce.tensor import Tensor
from tinygrad_ce.viz.dot import (
    GRAD_COLOR,
    _as_roots,
    _e,
    _param_names,
    build,
    collect,
    fmt_number,
    grad_legend,
    legend_label,
    new_graph,
    notes,
    summarize,
    try_gradients,
)
from tinygrad_ce.viz.render import Graph


def draw_comparison(
    fused: Tensor,
    unfused: Tensor,
    *,
    labels: tuple[str, str] = ("fused", "unfused"),
    params: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None,
    model: Any = None,
    rankdir: str = "TB",
    show_data: bool = True,
    title: str | None = None,
) -> Graph:
    """Draw ``fused`` and ``unfused`` (two scalar losses of the same inputs) side by side.
    Each tensor shows the gradient of its own loss (computed with ``autograd.grad``: draw
    before ``backward`` or keep the graph with ``retain_graph=True``); the legend lists, for
    each input the two graphs share, both gradients and their largest absolute difference."""
    fused_roots, unfused_roots = _as_roots(fused, "fused"), _as_roots(unfused, "unfused")
    if len(fused_roots) != 1 or len(unfused_roots) != 1:
        raise ValueError("draw_comparison takes one fused and one unfused loss tensor")
    f, u = fused_roots[0], unfused_roots[0]
    names, modules = _param_names(params, model)
    f_order, u_order = collect([f]), collect([u])
    (f_grads, f_why), (u_grads, u_why) = try_gradients(f, f_order), try_gradients(u, u_order)
    g = new_graph(rankdir, title)
    kinds: set[str] = set()
    lines: list[str] = []
    passes = 0
    for prefix, root, order, grads, label, why in (
        ("f_", f, f_order, f_grads, labels[0], f_why),
        ("u_", u, u_order, u_grads, labels[1], u_why),
    ):
        side = Graph(name=f"cluster_{prefix}side")
        ops = sum(1 for t in order if t.op)
        side.attr(label=f"{label}: {ops} op{'s' if ops != 1 else ''}, {len(order)} tensors",
                  labeljust="l", fontname="Helvetica", fontsize="13", style="rounded,dashed",
                  color="#94a3b8", margin="12")
        b = build(side, [root], names=names, modules=modules, show_data=show_data,
                  show_grad=True, grads=grads, clusters=True, max_nodes=None, prefix=prefix)
        kinds |= b.kinds
        passes = max(passes, b.passes)
        same = why is not None and why == f_why == u_why
        if same and prefix == "f_":  # both sides for the same reason: said once
            lines.append(f"not shown: each loss's own gradients: {why}")
        lines += [f"{label}: {n}" for n in notes(b, True, None if same else why,
                                                  "each tensor's gradient")]
        g.subgraph(side)
        g.node_data.update(side.node_data)
    u_ids = {id(t) for t in u_order}
    shared = [t for t in f_order if id(t) in u_ids and t.requires_grad]
    if not shared:  # separate copies of the inputs: pair the leaves that require grad in order
        fl = [t for t in f_order if t.is_leaf and t.requires_grad]
        ul = [t for t in u_order if t.is_leaf and t.requires_grad]
        pairs = list(zip(fl, ul))
    else:
        pairs = [(t, t) for t in shared]
    rows = []
    for a, b2 in pairs[:4] if f_grads is not None and u_grads is not None else ():
        ga, gb = f_grads.get(id(a)), u_grads.get(id(b2))  # type: ignore[union-attr]
        if ga is None or gb is None or ga.shape != gb.shape:
            continue
        name = a.name or names.get(id(a)) or "input"
        diff = float(np.max(np.abs(ga.astype(np.float64) - gb.astype(np.float64))))
        rows.append((name, ga, gb, diff))
    g.comparison = [(n, d) for n, _, _, d in rows]
    table = []
    for n, ga, gb, d in rows:
        shown = f"{fmt_number(d)}" if d else "0 (identical)"
        cells = "".join(
            f'<TR><TD ALIGN="LEFT">{_e(side)}</TD>'
            f'<TD ALIGN="LEFT"><FONT COLOR="{GRAD_COLOR}">{_e(summarize(v))}</FONT></TD></TR>'
            for side, v in ((labels[0], ga), (labels[1], gb))
        )
        table.append(
            f'<TABLE ALIGN="LEFT" BORDER="0" CELLBORDER="0" CELLSPACING="2">'
            f'<TR><TD ALIGN="LEFT" COLSPAN="2"><B>gradient at {_e(n)}</B></TD></TR>{cells}'
            f'<TR><TD ALIGN="LEFT"><B>max |Δ|</B></TD><TD ALIGN="LEFT"><B>{shown}</B></TD></TR>'
            "</TABLE>"
        )
    if f_grads is None or u_grads is None:
        lines.append("not compared: the gradients of each loss at the shared inputs (a .grad "
                     "shared by both losses holds their sum)")
    g.notes = lines
    grad_text = (grad_legend(passes) if f_grads is None or u_grads is None
                 else "grad = ∂(its own loss)/∂tensor")
    g.attr(label=legend_label(kinds, True, title, lines, rows_html=table, grad_text=grad_text))
    return g
