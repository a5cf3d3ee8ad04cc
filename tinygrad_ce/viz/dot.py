"""The computation graph as DOT: tensors, ops, values, gradients and module clusters.

``draw_graph`` reads only the public graph (``parents``, ``op``, ``data``, ``grad``,
``name``, ``requires_grad``, ``is_leaf``, ``scope``) and returns a :class:`Graph`, a
``graphviz.Digraph`` that is not rendered yet (``render`` does that; in Jupyter it draws
itself). The walk is iterative, so a graph of any depth draws; nodes are numbered in the
order of a breadth-first walk from the output, so the same graph always gives the same DOT.

Legend:

=========  =======  ===================================================================
kind       colour   meaning
=========  =======  ===================================================================
output     amber    the tensor(s) the drawing starts from
parameter  green    a named parameter (``params=`` or ``model=``)
leaf       blue     a leaf tensor that requires grad
constant   grey     data without grad: inputs, targets, literals
tensor     white    an intermediate result
op         violet   the op that made the tensor it points to
fused op   orange   one node doing the work of many (``cross_entropy``), closed-form backward
=========  =======  ===================================================================

Each tensor shows its name, shape and dtype, its value (the numbers when there are at most
six, else min, mean and max) and its gradient the same way, in red: ``grad`` is
d(output)/d(tensor) when computed (``grads="all"``), else ``.grad`` as backward() stored it
(the legend says when that is a sum of several backward passes). Hover a node (SVG, HTML)
for the full arrays, an op for its backward rule. A dashed edge brings an input the op reads
without differentiating it (a target, an index). Drawing never fails because backward()
ran: what cannot be shown is said in the picture's notes (``graph.notes``), with the way
to keep it (``keep_graph()``, ``retain_graph=True``).
"""

from __future__ import annotations

import html
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import graphviz
import numpy as np

from tinygrad_ce.engine import grad_passes
from tinygrad_ce.tensor import Tensor
from tinygrad_ce.viz.render import Graph
from tinygrad_ce.viz.rules import describe

# kind -> (fill, border)
COLORS = {
    "output": ("#fde68a", "#b45309"),
    "parameter": ("#bbf7d0", "#15803d"),
    "leaf": ("#bfdbfe", "#1d4ed8"),
    "constant": ("#f1f5f9", "#94a3b8"),
    "tensor": ("#ffffff", "#64748b"),
    "op": ("#ede9fe", "#7c3aed"),
    "fused": ("#fed7aa", "#c2410c"),
}
LEGEND_TEXT = {
    "output": "output", "parameter": "parameter", "leaf": "leaf (requires grad)",
    "constant": "constant / data", "tensor": "intermediate", "op": "op",
    "fused": "fused op",
}
GRAD_COLOR = "#dc2626"
INK = "#1e293b"
MUTED = "#64748b"
FONT = "Helvetica"
CLUSTER_FILLS = ("#f8fafc", "#eef2ff", "#f0fdf4", "#fff7ed")

SPINE = "4"  # edge weight of the data path (activations), so it runs straight
SPINE_UP_TO = 300  # tensors: past this, no weights
FANOUT = 8  # a tensor with more uses than this gets a reference node per use
EXACT = 6  # at most this many elements are shown one by one; more get min/mean/max
DTYPE_SHORT = {"float16": "f16", "float32": "f32", "float64": "f64", "int32": "i32",
               "int64": "i64", "bool": "bool", "uint8": "u8", "int8": "i8", "int16": "i16"}


# ----- numbers -------------------------------------------------------------------------------
def fmt_number(v: Any) -> str:
    """A number in at most four significant digits; integers and bools as they are."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    v = float(v)
    if v == 0:
        return "0"
    return f"{v:.4g}"


def exact_number(v: Any, dtype: Any) -> str:
    """A number with as many digits as it takes to tell it from a round one in its dtype
    (``1.0001``, not ``1``), up to the dtype's precision."""
    if isinstance(v, (bool, np.bool_, int, np.integer)) or np.dtype(dtype).kind != "f":
        return fmt_number(v)
    v = np.dtype(dtype).type(v)
    if v == 0 or not np.isfinite(v):
        return fmt_number(v)
    for digits in range(4, 18):
        text = f"{float(v):.{digits}g}"
        if np.dtype(dtype).type(text) == v:
            return text
    return repr(float(v))


def summarize(a: np.ndarray) -> str:
    """The values themselves when there are at most six, else ``min · mean · max``."""
    a = np.asarray(a)
    if a.size == 0:
        return "empty"
    if a.size <= EXACT:
        if a.ndim == 0:
            return fmt_number(a.item())
        if a.ndim == 2:
            return "[" + ", ".join("[" + ", ".join(fmt_number(v) for v in row) + "]"
                                   for row in a) + "]"
        return "[" + ", ".join(fmt_number(v) for v in a.ravel()) + "]"
    if a.dtype.kind == "b":
        return f"{int(a.sum())} of {a.size} true"
    f = a.astype(np.float64)
    finite = np.isfinite(f)
    text = ""
    if not finite.all():
        text = f" · {int((~finite).sum())} non-finite"
        f = f[finite]
        if f.size == 0:
            return text[3:]
    lo, hi = fmt_number(f.min()), fmt_number(f.max())
    if lo == hi:
        return f"all {lo}" + text
    mean = f.mean()
    # a mean that cancels to rounding noise (a gradient summing to zero) says so, rather than
    # printing digits that change with the order of summation
    scale = max(abs(f.min()), abs(f.max()))
    mean_text = "≈0" if abs(mean) <= scale * 1e-6 else fmt_number(mean)
    return f"min {lo} · mean {mean_text} · max {hi}" + text


def full_text(a: np.ndarray, threshold: int = 120, precision: int = 4) -> str:
    """The whole array (summarised with ``...`` past ``threshold`` elements)."""
    return np.array2string(np.asarray(a), precision=precision, threshold=threshold,
                           edgeitems=3, max_line_width=78, separator=", ",
                           suppress_small=True)


def page_text(a: np.ndarray) -> str:
    """The array as the html page shows it on a click: up to 1,000 elements, 6 decimals."""
    return full_text(a, threshold=1000, precision=6)


def shape_text(t: Tensor) -> str:
    shape = "scalar" if t.ndim == 0 else "×".join(str(n) for n in t.shape)
    return f"{shape} {DTYPE_SHORT.get(t.dtype.name, t.dtype.name)}"


RELEASED = "released by backward()"


def constant_text(t: Tensor) -> str:
    """A one-element constant, exactly enough to tell it from a round number."""
    return RELEASED if t.released else exact_number(t.numpy().item(), t.dtype)


def values_text(t: Tensor, text: Callable[[np.ndarray], str] = summarize) -> str:
    """The values as ``text`` writes them; an intermediate that backward() released (the
    graph keeps its op, shape and dtype) says so."""
    return RELEASED if t.released else text(t.numpy())


# ----- names ---------------------------------------------------------------------------------
def module_label(name: str | None, module: Any) -> str:
    """``0: Linear(2→16)``: the name from ``named_modules`` and what the module is
    (a plain string owner, ``autograd.scope("attention")``, is its own label)."""
    if isinstance(module, str):
        return f"{name}: {module}" if name else module
    kind = type(module).__name__
    fin, fout = getattr(module, "in_features", None), getattr(module, "out_features", None)
    if isinstance(fin, int) and isinstance(fout, int):
        kind += f"({fin}→{fout})"
    return f"{name}: {kind}" if name else kind


def _param_names(params: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None,
                 model: Any) -> tuple[dict[int, str], dict[int, str]]:
    """``{id(tensor): name}`` for the parameters and ``{id(module): name}`` for the modules."""
    names: dict[int, str] = {}
    modules: dict[int, str] = {}
    if model is not None:
        if not hasattr(model, "named_parameters"):
            raise TypeError(
                f"model={type(model).__name__} has no named_parameters(); "
                "expected an nn.Module (or anything with named_parameters and named_modules)"
            )
        for n, p in model.named_parameters():
            names.setdefault(id(p), n)
        if hasattr(model, "named_modules"):
            for n, m in model.named_modules():
                modules.setdefault(id(m), n)
    if params is not None:
        items = params.items() if isinstance(params, Mapping) else params
        for n, p in items:
            if not isinstance(p, Tensor):
                raise TypeError(f"params[{n!r}] is a {type(p).__name__}; expected a Tensor")
            names[id(p)] = str(n)
    return names, modules


# ----- the walk ------------------------------------------------------------------------------
def collect(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every tensor reachable from ``roots`` through ``parents``, breadth first, each once
    (identity is the object; the list keeps them alive so ``id`` stays unique)."""
    order: list[Tensor] = []
    seen: set[int] = set()
    for r in roots:
        if id(r) not in seen:
            seen.add(id(r))
            order.append(r)
    queue = deque(order)
    while queue:
        t = queue.popleft()
        for p in t.parents + t.extra_inputs:
            if id(p) not in seen:
                seen.add(id(p))
                order.append(p)
                queue.append(p)
    return order


def _as_roots(root: Tensor | Sequence[Tensor], what: str = "root") -> list[Tensor]:
    if not isinstance(root, (Tensor, list, tuple)):
        raise TypeError(f"{what} is a {type(root).__name__}; expected a Tensor or a sequence "
                        "of Tensors")
    roots = [root] if isinstance(root, Tensor) else list(root)
    if not roots:
        raise ValueError(f"{what} is empty; expected a Tensor or a sequence of Tensors")
    for i, r in enumerate(roots):
        if not isinstance(r, Tensor):
            raise TypeError(f"{what}[{i}] is a {type(r).__name__}; expected a Tensor")
    return roots


FREED = ("backward() already ran and freed what the graph saved: draw before backward(), "
         "pass retain_graph=True to it, or run it inside keep_graph()")


def try_gradients(root: Tensor, nodes: Sequence[Tensor]
                  ) -> tuple[dict[int, np.ndarray] | None, str | None]:
    """``gradients_of``, or None and why it cannot be computed (the graph was freed)."""
    try:
        return gradients_of(root, nodes), None
    except RuntimeError as e:
        text = str(e)
        return None, FREED if "second time" in text else text


def gradients_of(root: Tensor, nodes: Sequence[Tensor]) -> dict[int, np.ndarray]:
    """d(root)/d(node) for every node that requires grad, through the public ``autograd.grad``
    (the graph must still hold its saved data: draw before ``backward``, or pass
    ``retain_graph=True`` to it)."""
    from tinygrad_ce import autograd

    if root.numel() != 1:
        raise ValueError(
            f"grads='all' needs a scalar output; got one of shape {root.shape}"
        )
    wanted = [t for t in nodes if t.requires_grad]
    if not root.requires_grad or not wanted:
        return {}
    try:
        gs = autograd.grad(root, wanted, retain_graph=True, allow_unused=True)
    except RuntimeError as e:
        raise RuntimeError(
            f"cannot compute the gradients to draw: {e} (draw the graph before backward(), "
            "or call backward(retain_graph=True))"
        ) from None
    return {id(t): g.numpy() for t, g in zip(wanted, gs) if g is not None}


# ----- labels --------------------------------------------------------------------------------
def _e(s: str) -> str:
    return html.escape(s, quote=True)


def tensor_label(title: str | None, t: Tensor, grad: np.ndarray | None, show_data: bool,
                 show_grad: bool, kind: str) -> str:
    """An HTML-like label: title and shape, then a data row and a grad row."""
    meta = f'<FONT COLOR="{MUTED}" POINT-SIZE="9">{_e(shape_text(t))}</FONT>'
    if kind == "constant" and not title and t.numel() == 1:
        return f'<<FONT POINT-SIZE="10">{_e(constant_text(t))}</FONT>>'
    rows = []
    head = f"<B>{_e(title)}</B>  {meta}" if title else meta
    rows.append(f'<TR><TD ALIGN="LEFT" COLSPAN="2">{head}</TD></TR>')
    if show_data:
        rows.append(
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="{MUTED}" POINT-SIZE="9">data</FONT></TD>'
            f'<TD ALIGN="LEFT">{_e(values_text(t))}</TD></TR>'
        )
    if show_grad and grad is not None:
        rows.append(
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="{GRAD_COLOR}" POINT-SIZE="9">grad</FONT></TD>'
            f'<TD ALIGN="LEFT"><FONT COLOR="{GRAD_COLOR}">{_e(summarize(grad))}</FONT></TD></TR>'
        )
    return ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
            + "".join(rows) + "</TABLE>>")


def _tooltip(*parts: str) -> str:
    text = "\n".join(parts).replace("\\", "\\\\")
    return graphviz.nohtml(text.replace("\n", "\\n"))


GRAD_COMPUTED = "grad = ∂output/∂tensor"
GRAD_STORED = "grad = .grad, as backward() stored it"


def grad_legend(passes: int) -> str:
    """What the grad rows mean when they show stored ``.grad``: one backward pass, or a sum."""
    if passes > 1:
        return (f"grad = .grad, accumulated over {passes} backward passes (several backward() "
                "calls or several losses): their sum, not ∂output/∂tensor")
    return GRAD_STORED


def legend_label(kinds: Iterable[str], show_grad: bool, title: str | None = None,
                 extra: Sequence[str] = (), rows_html: Sequence[str] = (),
                 flow: bool = False, grad_text: str = GRAD_COMPUTED) -> str:
    """The graph's label: title, a row of colour swatches for the kinds drawn, notes, and
    any extra rows (``rows_html``: each an HTML-like ``<TABLE>``)."""
    cells = []
    for k in COLORS:
        if k in kinds:
            fill, border = COLORS[k]
            cells.append(f'<TD BGCOLOR="{fill}" COLOR="{border}" BORDER="1" CELLPADDING="3">'
                         f'<FONT POINT-SIZE="10">{LEGEND_TEXT[k]}</FONT></TD>')
    if show_grad:
        cells.append(f'<TD CELLPADDING="3"><FONT POINT-SIZE="10" COLOR="{GRAD_COLOR}">'
                     f"{_e(grad_text)}</FONT></TD>")
    if flow:
        cells.append(f'<TD CELLPADDING="3"><FONT POINT-SIZE="10" COLOR="{GRAD_COLOR}">red edge: '
                     "the gradient it carries back to its input</FONT></TD>")
    rows = []
    if title:
        rows.append(f'<FONT POINT-SIZE="14"><B>{_e(title)}</B></FONT>')
    rows.append(f'<TABLE ALIGN="LEFT" BORDER="0" CELLBORDER="0" CELLSPACING="4"><TR>'
                f'{"".join(cells)}</TR></TABLE>')
    rows += [f'<FONT POINT-SIZE="10">{_e(line)}</FONT>' for line in extra]
    rows += list(rows_html)
    return ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
            + "".join(f'<TR><TD ALIGN="LEFT">{r}</TD></TR>' for r in rows) + "</TABLE>>")


# ----- the drawing ---------------------------------------------------------------------------
class _Builder:
    """Holds one drawing's state: node names, clusters, node data for the HTML page."""

    collapsed_note: str | None = None

    def __init__(self, roots: list[Tensor], *, names: dict[int, str], modules: dict[int, str],
                 show_data: bool, show_grad: bool, grads: dict[int, np.ndarray] | None,
                 clusters: bool, prefix: str = "") -> None:
        self.roots = roots
        self.root_ids = {id(r) for r in roots}
        self.names = names
        self.modules = modules
        self.show_data = show_data
        self.show_grad = show_grad
        self.grads = grads
        self.use_clusters = clusters
        self.prefix = prefix
        self.kinds: set[str] = set()
        self.node_data: dict[str, dict[str, Any]] = {}
        self.passes = 0  # the most backward passes summed in a stored .grad drawn
        self.released = 0  # tensors drawn whose values backward() released
        self.stored_leaf_grads = 0  # leaves drawn with a stored .grad
        self.roles: dict[int, str] = {}  # unnamed extra inputs -> what they are (target)
        self.drawn_as: dict[int, tuple[str, str | None]] = {}  # id -> (tensor node, op node)
        self.clusters: dict[str, dict[str, Any]] = {}  # DOT cluster name -> label, members
        self.missing_grads = 0  # intermediates that require grad drawn without one
        # cluster key (tuple of module ids) -> (label, list of DOT statements)
        self.cluster_members: dict[tuple[int, ...], list[tuple[str, str, dict[str, Any]]]] = {}
        self.cluster_label: dict[tuple[int, ...], str] = {}
        self.top: list[tuple[str, str, dict[str, Any]]] = []

    def grad_of(self, t: Tensor) -> np.ndarray | None:
        if self.grads is not None:
            return self.grads.get(id(t))
        if t.grad is None or t.grad.released:
            return None
        self.passes = max(self.passes, grad_passes(t))
        return t.grad.numpy()

    def kind(self, t: Tensor) -> str:
        if id(t) in self.root_ids:
            return "output"
        if id(t) in self.names:
            return "parameter"
        if t.is_leaf:
            return "leaf" if t.requires_grad else "constant"
        return "tensor"

    def title(self, t: Tensor, kind: str) -> str | None:
        if t.name:
            return str(t.name)
        if id(t) in self.names:
            return self.names[id(t)]
        if id(t) in self.roles:
            return self.roles[id(t)]
        return "output" if kind == "output" and len(self.roots) == 1 else None

    def cluster_key(self, scope: tuple[Any, ...]) -> tuple[int, ...]:
        if not self.use_clusters or not scope:
            return ()
        key = tuple(id(m) for m in scope)
        for depth in range(1, len(scope) + 1):
            k = key[:depth]
            if k not in self.cluster_label:
                m = scope[depth - 1]
                self.cluster_label[k] = module_label(self.modules.get(id(m)), m)
                self.cluster_members[k] = []
        return key

    def place(self, key: tuple[int, ...], name: str, label: str, attrs: dict[str, Any]) -> None:
        (self.cluster_members[key] if key else self.top).append((name, label, attrs))

    def tensor_node(self, t: Tensor, name: str, key: tuple[int, ...]) -> None:
        kind = self.kind(t)
        self.kinds.add(kind)
        title = self.title(t, kind)
        grad = self.grad_of(t)
        self.released += t.released
        if t.requires_grad and grad is None and not t.is_leaf:
            self.missing_grads += 1
        elif t.is_leaf and grad is not None and self.grads is None:
            self.stored_leaf_grads += 1
        fill, border = COLORS[kind]
        label = tensor_label(title, t, grad, self.show_data, self.show_grad, kind)
        tip = [f"{title or 'tensor'}: {t.shape} {t.dtype}"
               + (f", made by {t.op}" if t.op else ""), "data:", values_text(t, full_text)]
        if grad is not None:
            tip += ["grad:", full_text(grad)]
        attrs = {"shape": "box", "style": "rounded,filled", "fillcolor": fill, "color": border,
                 "tooltip": _tooltip(*tip)}
        if kind == "output":
            attrs["penwidth"] = "2"
        if kind == "constant" and not title and t.numel() == 1:  # a literal: small
            attrs.update(height="0.3", width="0.3", margin="0.06,0.02")
        self.place(key, name, label, attrs)
        self.node_data[name] = {
            "title": title or "tensor", "kind": LEGEND_TEXT[kind], "shape": list(t.shape),
            "dtype": str(t.dtype), "op": t.op or None,
            "data": values_text(t, page_text),
            "grad": None if grad is None else page_text(grad),
        }
        if self.grads is None and grad is not None and grad_passes(t) > 1:
            self.node_data[name]["passes"] = grad_passes(t)

    def reference_node(self, name: str, target: str, t: Tensor, key: tuple[int, ...],
                       n_uses: int) -> None:
        """A small stand-in for ``target`` where one of its many uses sits."""
        kind = self.kind(t)
        fill, border = COLORS[kind]
        title = self.title(t, kind) or shape_text(t)
        self.place(key, name, f"↑ {title}", {
            "shape": "box", "style": "rounded,filled,dashed", "fillcolor": fill,
            "color": border, "fontsize": "9", "height": "0.25", "margin": "0.06,0.02",
            "tooltip": _tooltip(f"the tensor drawn as {target} ({title}), used {n_uses} times: "
                                "drawn once per use to keep a large layout fast")})
        self.node_data[name] = dict(self.node_data[target], reference=target)

    def op_node(self, t: Tensor, name: str, key: tuple[int, ...]) -> None:
        fused = t.fused  # the op marked itself: record(..., fused=True)
        kind = "fused" if fused else "op"
        self.kinds.add(kind)
        fill, border = COLORS[kind]
        shown = t.op_label or t.op
        rule = describe(t)
        if fused:
            # a table, not <BR/>: Graphviz then sizes each line by its own font
            label = (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
                     f"<TR><TD><B>{_e(shown)}</B></TD></TR>"
                     f'<TR><TD><FONT POINT-SIZE="9" COLOR="{border}">fused: one node</FONT>'
                     "</TD></TR></TABLE>>")
            attrs = {"shape": "box", "style": "rounded,filled,bold", "penwidth": "2.5",
                     "fontsize": "12", "margin": "0.2,0.08"}
        else:
            label, attrs = shown, {"shape": "box", "style": "rounded,filled", "fontsize": "10",
                                  "height": "0.3", "margin": "0.08,0.03"}
        attrs.update(fillcolor=fill, color=border, tooltip=_tooltip(
            f"op {shown}{' (fused: one node, closed-form backward)' if fused else ''}",
            f"inputs: {len(t.parents)}"
            + (f", and {len(t.extra_inputs)} read without a gradient" if t.extra_inputs else ""),
            f"backward: {rule}" if rule else "backward: (its code states no rule)"))
        self.place(key, name, label, attrs)
        self.node_data[name] = {"title": shown, "kind": LEGEND_TEXT[kind], "op": t.op,
                                "inputs": len(t.parents), "rule": rule}

    def emit(self, g: graphviz.Digraph) -> None:
        """Add the nodes to ``g``: top-level ones directly, clusters innermost first (each
        cluster subgraph is complete before its parent takes it in), no recursion."""
        for name, label, attrs in self.top:
            g.node(name, label, **attrs)
        built: dict[tuple[int, ...], graphviz.Digraph] = {}
        number = {k: i for i, k in enumerate(self.cluster_label)}
        members: dict[tuple[int, ...], list[str]] = {}
        for key in sorted(self.cluster_label, key=len, reverse=True):
            depth = len(key)
            cname = f"cluster_{self.prefix}{number[key]}"
            inside = [m[0] for m in self.cluster_members[key]]
            for child in (k for k in members if k[:-1] == key):
                inside += members[child]
            members[key] = inside
            self.clusters[cname] = {"label": self.cluster_label[key], "members": inside,
                                    "depth": depth}
            sub = graphviz.Digraph(name=cname)
            sub.attr(label=self.cluster_label[key], labeljust="l", fontname=FONT, fontsize="11",
                     fontcolor=INK, style="rounded,filled", color="#94a3b8",
                     fillcolor=CLUSTER_FILLS[(depth - 1) % len(CLUSTER_FILLS)], margin="10")
            for name, label, attrs in self.cluster_members[key]:
                sub.node(name, label, **attrs)
            for child in sorted((k for k in built if k[:-1] == key), key=number.__getitem__):
                sub.subgraph(built.pop(child))
            built[key] = sub
        for key in sorted(built, key=number.__getitem__):
            g.subgraph(built[key])


def _common_scope(scopes: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    common = scopes[0]
    for s in scopes[1:]:
        n = 0
        while n < min(len(common), len(s)) and common[n] is s[n]:
            n += 1
        common = common[:n]
    return common


def build(g: Graph, roots: list[Tensor], *, names: dict[int, str], modules: dict[int, str],
          show_data: bool, show_grad: bool, grads: dict[int, np.ndarray] | None,
          clusters: bool, max_nodes: int | None, prefix: str = "",
          edge_grads: dict[tuple[int, int], np.ndarray] | None = None) -> _Builder:
    """Add the tensors and ops reachable from ``roots`` to ``g``; returns the builder."""
    order = collect(roots)
    shown = order if max_nodes is None or len(order) <= max_nodes else order[:max_nodes]
    hidden = order[len(shown):]
    number = {id(t): i for i, t in enumerate(shown)}
    b = _Builder(roots, names=names, modules=modules, show_data=show_data, show_grad=show_grad,
                 grads=grads, clusters=clusters, prefix=prefix)
    consumers: dict[int, list[tuple[Any, ...]]] = {}
    for t in shown:
        for p in t.parents + t.extra_inputs:
            consumers.setdefault(id(p), []).append(t.scope)
        for role, p in _roles(t):
            if not p.name and id(p) not in names:
                b.roles.setdefault(id(p), role)
    # weights lengthen Graphviz's layout a lot on large graphs: only where a reader reads it
    spine = data_path(shown, names) if len(shown) <= SPINE_UP_TO else set()
    edges: list[tuple[str, str, dict[str, str]]] = []
    cut: list[str] = []
    uses: dict[int, int] = {}
    refs: list[tuple[str, str, Tensor, tuple[int, ...], int]] = []
    for t in shown:
        i = number[id(t)]
        tname = f"{prefix}t{i}"
        scope = t.scope
        if t.is_leaf and id(t) in names and id(t) in consumers:
            scope = _common_scope(consumers[id(t)])  # a parameter sits in the layer using it
        elif t.is_leaf and id(t) in consumers:
            # an input sits at the door of the outermost module that reads it, not off to
            # the side of the whole picture
            scope = _common_scope(consumers[id(t)])[:1]
        key = b.cluster_key(scope)
        b.tensor_node(t, tname, key)
        b.drawn_as[id(t)] = (tname, None if t.is_leaf else f"{prefix}o{i}")
        if t.is_leaf:
            continue
        oname = f"{prefix}o{i}"
        b.op_node(t, oname, key)
        attrs = _edge_attrs(edge_grads, id(t), None)
        if id(t) in spine:
            attrs["weight"] = SPINE
        edges.append((oname, tname, attrs))
        missing = False
        for j, p in enumerate(t.parents):
            if id(p) not in number:
                missing = True
                continue
            pname = f"{prefix}t{number[id(p)]}"
            n_uses = len(consumers[id(p)])
            use = uses[id(p)] = uses.get(id(p), 0) + 1
            if n_uses > FANOUT and use < n_uses:
                # a tensor used all over a large graph: one small reference per use instead
                # of edges across the whole picture (they make Graphviz's layout quadratic)
                ref = f"{pname}_use{use}"
                refs.append((ref, pname, p, key, n_uses))
                pname = ref
            same = sum(1 for q in t.parents if q is p)
            # which operand an edge is matters for sub, div, matmul...: hover an edge to see
            where = f"input {j + 1} of {len(t.parents)} of {t.op}" if len(t.parents) > 1 else None
            if any(q is p for q in t.parents[:j]):
                # x * x: the first of the parallel edges carries the sum
                attrs = {"tooltip": _tooltip(where)} if where else {}
            else:
                attrs = _edge_attrs(edge_grads, id(p), id(t), same, where)
            if id(p) in spine:
                attrs["weight"] = SPINE  # the data path runs straight down
            edges.append((pname, oname, attrs))
        for role, p in _roles(t):
            if id(p) in number:  # read, not differentiated: a dashed edge named by its role
                edges.append((f"{prefix}t{number[id(p)]}", oname, {
                    # xlabel, not label: one edge label makes dot double every rank
                    "style": "dashed", "xlabel": role, "fontsize": "9",
                    "fontcolor": MUTED, "tooltip": _tooltip(
                        f"{role} of {t.op}: read by the op, no gradient flows back to it")}))
        if missing:
            cut.append(oname)
    for ref, target, p, key, n_uses in refs:
        b.reference_node(ref, target, p, key, n_uses)
    b.emit(g)
    # inputs first: Graphviz then places the first layer's input at the top left and the
    # layers follow it down, rather than stair-stepping from the output's side
    for tail, head, attrs in edges[::-1] if len(shown) <= SPINE_UP_TO else edges:
        g.edge(tail, head, **attrs)
    if hidden:
        ops = Counter(t.op for t in hidden if t.op)
        common = sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))[:6]
        top = ", ".join(f"{op} ×{n}" for op, n in common)
        note = (f"{len(hidden)} more tensors and {sum(ops.values())} ops not drawn"
                + (f" ({top}{', …' if len(ops) > 6 else ''})" if top else "")
                + f": max_nodes={max_nodes}")
        g.node(f"{prefix}collapsed", note, shape="note", style="filled", fillcolor="#fef9c3",
               color="#a16207", fontsize="10",
               tooltip=_tooltip(note, "pass a larger max_nodes (or None) to draw them all"))
        for oname in cut:
            g.edge(f"{prefix}collapsed", oname, style="dashed", color="#a16207")
        b.collapsed_note = note
    else:
        b.collapsed_note = None
    g.node_data.update(b.node_data)
    g.clusters.update(b.clusters)
    return b


def data_path(shown: Sequence[Tensor], names: dict[int, str]) -> set[int]:
    """The tensors computed from the data (inputs that are not parameters): their edges get
    weight, so the path from input to output runs straight and the parameters join it."""
    ids = {id(t) for t in shown}
    on: dict[int, bool] = {}
    for start in shown:
        stack = [(start, False)]
        while stack:
            t, done = stack.pop()
            if id(t) in on:
                continue
            parents = [p for p in t.parents if id(p) in ids]
            if not done and any(id(p) not in on for p in parents):
                stack.append((t, True))
                stack.extend((p, False) for p in parents if id(p) not in on)
                continue
            if not t.parents:
                on[id(t)] = id(t) not in names and not t.requires_grad and t.numel() > 1
            else:
                on[id(t)] = any(on.get(id(p), False) for p in parents)
    return {i for i, v in on.items() if v}


def _roles(t: Tensor) -> list[tuple[str, Tensor]]:
    """What each extra input (read, not differentiated) is to the op that read it."""
    extra = t.extra_inputs
    if not extra:
        return []
    if "cross_entropy" in t.op:
        names = ["target", "weight"]
    elif "getitem" in t.op:
        names = ["target" if "target" in (t.op_label or "") else "index"] * len(extra)
    else:
        names = ["input"] * len(extra)
    return [(names[i] if i < len(names) else "input", p) for i, p in enumerate(extra)]


def _edge_attrs(edge_grads: dict[tuple[int, int], np.ndarray] | None, tail: int,
                head: int | None, parallel: int = 1, where: str | None = None) -> dict[str, str]:
    """Edge style and tooltip (``where``: which input of the op); with ``edge_grads``, the
    gradient flowing back along the edge, in red (``parallel`` > 1: the op takes the input
    that many times, the label sums them)."""
    g = None if edge_grads is None else edge_grads.get((tail, -1 if head is None else head))
    if g is None:
        return {"tooltip": _tooltip(where)} if where else {}
    text = " " + summarize(g) + (f" (sum of {parallel} uses)" if parallel > 1 else "")
    return {"color": f"{MUTED}:{GRAD_COLOR}", "dir": "both", "arrowtail": "normal",
            "fontcolor": GRAD_COLOR, "fontsize": "9", "label": text,
            "tooltip": _tooltip(*([where] if where else []),
                                "gradient flowing back along this edge:", full_text(g))}


KEEP = "run backward() inside tinygrad_ce.viz.keep_graph() to keep them"


def notes(b: _Builder, show_grad: bool, why: str | None, wanted: str) -> list[str]:
    """What the picture does not show and why, and how to have it shown."""
    out = []
    if why:
        out.append(f"not shown: {wanted}: {why}")
    if b.released:
        out.append(f"values not shown: {b.released} intermediate"
                   f"{'s' if b.released > 1 else ''} released by backward() (op, name and "
                   f"shape stay); {KEEP}, or pass retain_graph=True")
    if show_grad and b.grads is None and b.missing_grads and (b.stored_leaf_grads or b.passes):
        out.append(f"gradients not shown: {b.missing_grads} intermediate"
                   f"{'s' if b.missing_grads > 1 else ''}: backward() stores .grad on leaves "
                   f"only; {KEEP} (or call retain_grad() on them)")
    return out


def new_graph(rankdir: str, title: str | None) -> Graph:
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir={rankdir!r}; expected one of 'LR', 'TB', 'RL', 'BT'")
    g = Graph(name="tinygrad_ce")
    g.attr(rankdir=rankdir, fontname=FONT, bgcolor="white", nodesep="0.25", ranksep="0.3",
           labelloc="t", labeljust="l", pad="0.2")
    g.attr("node", fontname=FONT, fontsize="11", fontcolor=INK)
    g.attr("edge", color=MUTED, arrowsize="0.6", penwidth="1.1", fontname=FONT)
    if title:
        g.title = title
    return g


def draw_graph(
    root: Tensor | Sequence[Tensor],
    *,
    params: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None,
    model: Any = None,
    show_data: bool = True,
    show_grad: bool = True,
    grads: str = "stored",
    grad_flow: bool = False,
    steps: bool = False,
    rankdir: str = "TB",
    max_nodes: int | None = 400,
    clusters: bool = True,
    legend: bool = True,
    title: str | None = None,
) -> Graph:
    """Draw the graph that computed ``root`` (a Tensor, or several) as DOT.

    - ``params`` (``{name: tensor}``) or ``model`` (anything with ``named_parameters`` and
      ``named_modules``, e.g. an ``nn.Module``) names the parameters and the module clusters.
    - ``show_data`` / ``show_grad``: the value and gradient rows.
    - ``grads``: ``"stored"`` shows each tensor's ``.grad``; ``"all"`` computes
      d(root)/d(tensor) for every tensor with ``autograd.grad`` (the graph must not be freed).
    - ``grad_flow``: also label each edge with the gradient flowing back along it
      (implies ``grads="all"``).
    - ``steps``: record the backward pass step by step for the html page's Next / Previous
      / Play (implies ``grads="all"``; at most 600 tensors).
    - ``max_nodes``: tensors drawn at most (nearest the output first); the rest are
      collapsed into one note that says what was left out. ``None`` draws everything.
    - ``clusters``: group the nodes made inside each ``nn.Module`` call.

    After ``loss.backward(create_graph=True)``, ``draw_graph(x.grad)`` shows the graph that
    computed the gradient.
    """
    roots = _as_roots(root)
    if grads not in ("stored", "all"):
        raise ValueError(f"grads={grads!r}; expected 'stored' or 'all'")
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 1):
        raise ValueError(f"max_nodes={max_nodes!r}; expected a positive int or None")
    names, modules = _param_names(params, model)
    g = new_graph(rankdir, title)
    computed = None
    edge_grads = None
    why = None
    if grads == "all" or grad_flow or steps:
        if len(roots) != 1:
            raise ValueError(f"grads='all', grad_flow and steps need one output; got "
                             f"{len(roots)}")
        order = collect(roots)
        computed, why = try_gradients(roots[0], order)
        if grad_flow and computed is not None:
            from tinygrad_ce.viz.flow import edge_gradients

            edge_grads = edge_gradients(roots[0], order, computed)
    b = build(g, roots, names=names, modules=modules, show_data=show_data, show_grad=show_grad,
              grads=computed, clusters=clusters, max_nodes=max_nodes, edge_grads=edge_grads)
    extra = [b.collapsed_note] if b.collapsed_note else []
    wanted = ("gradient flow (grad_flow=True)" if grad_flow else
              "the backward pass step by step (steps=True)" if steps else
              "d(output)/d(tensor) for every tensor (grads='all')")
    extra += notes(b, show_grad, why, wanted)
    g.notes = extra
    if steps and computed is not None:
        from tinygrad_ce.viz.steps import backward_steps

        g.steps = backward_steps(roots[0], order, computed, b.drawn_as, page_text, summarize)
    grad_text = GRAD_COMPUTED if computed is not None else grad_legend(b.passes)
    if legend:
        g.attr(label=legend_label(b.kinds, show_grad, title, extra,
                                  flow=grad_flow and edge_grads is not None,
                                  grad_text=grad_text))
    elif title or extra:
        g.attr(label=graphviz.nohtml("\\n".join(([title] if title else []) + extra)))
    return g
