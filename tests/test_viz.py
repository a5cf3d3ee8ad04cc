"""The graph pictures: DOT structure, labels, clusters, rendering, fallback, gallery."""

from __future__ import annotations

import builtins
import json
import os
import re
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pygraphviz
import pytest
import torch

import tinygrad_ce as tg
from tests.system import which
from tinygrad_ce import nn
from tinygrad_ce.nn import functional as F
from tinygrad_ce.viz import (
    Graph,
    available_renderers,
    draw_comparison,
    draw_graph,
    render,
)
from tinygrad_ce.viz.dot import COLORS, FANOUT, fmt_number, summarize
from tinygrad_ce.viz.examples import EXAMPLES, example, model_from_checkpoint
from tinygrad_ce.viz.flow import edge_gradients

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


# ----- helpers -------------------------------------------------------------------------------
def parse(g: Graph) -> pygraphviz.AGraph:
    return pygraphviz.AGraph(string=g.source)


def tensor_nodes(a: pygraphviz.AGraph) -> list[str]:
    return [n for n in a.nodes() if re.fullmatch(r"(\w_)?t\d+", n)]


def op_nodes(a: pygraphviz.AGraph) -> list[str]:
    return [n for n in a.nodes() if re.fullmatch(r"(\w_)?o\d+", n)]


def label(a: pygraphviz.AGraph, name: str) -> str:
    return a.get_node(name).attr["label"]


def all_labels(a: pygraphviz.AGraph) -> str:
    return "\n".join(label(a, n) or "" for n in a.nodes())


def leaf(values: list[float] | float, name: str | None = None, dtype=np.float64) -> tg.Tensor:
    return tg.Tensor(np.array(values, dtype=dtype), requires_grad=True, name=name)


def clusters(a: pygraphviz.AGraph) -> dict[str, pygraphviz.AGraph]:
    """Every cluster, nested ones too, by its label (walked with a stack)."""
    found, stack = {}, list(a.subgraphs())
    while stack:
        s = stack.pop()
        found[s.graph_attr["label"]] = s
        stack.extend(s.subgraphs())
    return found


# ----- DOT structure -------------------------------------------------------------------------
def test_counts_of_a_known_graph():
    a, b = leaf([2.0], "a"), leaf([-3.0], "b")
    c = tg.Tensor(np.array([10.0]), name="c")
    y = (a * b + c).tanh()  # tensors y, a*b+c, a*b, a, b, c; ops tanh, add, mul
    g = parse(draw_graph(y))
    assert len(tensor_nodes(g)) == 6
    assert len(op_nodes(g)) == 3
    # op -> output for each op (3), inputs -> op: mul 2, add 2, tanh 1
    assert g.number_of_edges() == 3 + 2 + 2 + 1
    ops = sorted(label(g, n) for n in op_nodes(g))
    assert ops == ["add", "mul", "tanh"]


def test_a_value_used_twice_is_one_node_with_two_edges():
    x = leaf([3.0], "x")
    y = x * x + x  # tensors y, x*x, x; ops add, mul
    g = parse(draw_graph(y))
    assert len(tensor_nodes(g)) == 3 and len(op_nodes(g)) == 2
    xs = [n for n in tensor_nodes(g) if ">x<" in label(g, n)]
    assert len(xs) == 1
    assert len(g.out_edges(xs[0])) == 3  # twice into mul, once into add


def test_distinct_tensors_with_equal_values_stay_distinct():
    a, b = leaf([1.0]), leaf([1.0])
    g = parse(draw_graph(a + b))
    assert len(tensor_nodes(g)) == 3


def test_labels_carry_names_shapes_values_and_gradients_checked_with_torch():
    xs, ws = np.array([[1.0, -2.0, 0.5]]), np.array([[0.3], [-0.1], [0.7]])
    x, w = leaf(xs, "x"), leaf(ws, "w")
    y = (x @ w).tanh().sum()
    y.backward()
    tx, tw = torch.tensor(xs, requires_grad=True), torch.tensor(ws, requires_grad=True)
    (tx @ tw).tanh().sum().backward()
    g = parse(draw_graph(y))
    text = all_labels(g)
    for n in ("x", "w", "output"):
        assert f"<B>{n}</B>" in text
    assert "1×3 f64" in text and "3×1 f64" in text
    # exact values for a few elements, gradients from torch, in 4 significant digits
    for v in xs.ravel():
        assert fmt_number(v) in text
    for v in list(tx.grad.numpy().ravel()) + list(tw.grad.numpy().ravel()):
        assert fmt_number(v) in text
    assert "matmul" in text and "tanh" in text and "sum" in text
    assert "grad" in text and COLORS["output"][0] in g.string()


def test_summaries_of_large_tensors_and_their_tooltips():
    data = np.arange(400, dtype=np.float32).reshape(20, 20) - 200
    x = tg.Tensor(data, requires_grad=True, name="big")
    g = parse(draw_graph(x.tanh().sum(), show_grad=False))
    node = next(n for n in tensor_nodes(g) if ">big<" in label(g, n))
    assert "min -200 · mean -0.5 · max 199" in label(g, node)
    tip = g.get_node(node).attr["tooltip"]
    assert "(20, 20)" in tip and "-200." in tip and "..." in tip


def test_summary_marks_non_finite_values():
    assert summarize(np.array([1.0, np.nan, np.inf, 2.0, 3.0, 4.0, 5.0])) == (
        "min 1 · mean 3 · max 5 · 2 non-finite")
    assert summarize(np.ones(10)) == "all 1"
    cancelling = np.array([0.3, -0.1, -0.2, 0.25, -0.25, 1e-9, 0.0], np.float32)
    assert summarize(cancelling) == "min -0.25 · mean ≈0 · max 0.3"
    assert summarize(np.array([[1, 2], [3, 4]])) == "[[1, 2], [3, 4]]"


def test_show_data_and_show_grad_switch_the_rows_off():
    x = leaf([1.0, 2.0], "x")
    y = (x * 3).sum()
    y.backward()
    on, off = draw_graph(y).source, draw_graph(y, show_data=False, show_grad=False).source
    assert ">data<" in on and ">grad<" in on
    assert ">data<" not in off and ">grad<" not in off


def test_kinds_are_styled_apart_and_the_legend_lists_them():
    model = nn.Linear(2, 1)
    x = tg.Tensor(np.ones((1, 2), np.float32), name="x")
    z = leaf([0.5], "z", np.float32)
    loss = (model(x) * z).sum()
    g = parse(draw_graph(loss, model=model))
    fill = {label(g, n).split("<B>")[1].split("</B>")[0]: g.get_node(n).attr["fillcolor"]
            for n in tensor_nodes(g) if "<B>" in (label(g, n) or "")}
    assert fill["weight"] == COLORS["parameter"][0]
    assert fill["x"] == COLORS["constant"][0]
    assert fill["z"] == COLORS["leaf"][0]
    assert fill["output"] == COLORS["output"][0]
    legend = g.graph_attr["label"]
    for text in ("output", "parameter", "leaf (requires grad)", "constant / data", "op"):
        assert text in legend


def test_fused_cross_entropy_is_styled_as_fused_and_the_unfused_has_no_such_node():
    x = leaf([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]], "logits")
    y = tg.tensor([0, 1])
    fused = parse(draw_graph(F.cross_entropy(x, y)))
    unfused = parse(draw_graph(F.cross_entropy_unfused(x, y)))
    (op,) = op_nodes(fused)
    assert "cross_entropy" in label(fused, op) and "fused" in label(fused, op)
    attrs = fused.get_node(op).attr
    assert attrs["fillcolor"] == COLORS["fused"][0] and "bold" in attrs["style"]
    assert "fused op" in fused.graph_attr["label"]
    assert all(unfused.get_node(n).attr["fillcolor"] == COLORS["op"][0]
               for n in op_nodes(unfused))
    assert len(op_nodes(unfused)) > 5


def test_clusters_match_the_modules_and_hold_their_parameters():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    x = tg.Tensor(np.ones((4, 2), np.float32), name="x")
    loss = model(x).sum()
    g = parse(draw_graph(loss, model=model))
    found = clusters(g)
    assert set(found) == {"Sequential", "0: Linear(2→3)", "1: ReLU", "2: Linear(3→2)"}
    outer = found["Sequential"]
    assert {s.graph_attr["label"] for s in outer.subgraphs()} == {
        "0: Linear(2→3)", "1: ReLU", "2: Linear(3→2)"}
    for name, layer in (("0.weight", "0: Linear(2→3)"), ("2.bias", "2: Linear(3→2)")):
        members = found[layer].nodes()
        assert any(f"<B>{name}</B>" in (label(g, n) or "") for n in members)
    relu = found["1: ReLU"]
    assert [label(g, n) for n in op_nodes(relu)] == ["relu"]
    assert [label(g, n) for n in op_nodes(found["0: Linear(2→3)"])].count("addmm") == 1
    # the input sits at the door of the model that reads it (not in a layer, not off to the
    # side); the final sum was made outside every module
    assert any(">x<" in (label(g, n) or "") for n in outer.nodes())
    assert not any(">x<" in (label(g, n) or "") for n in found["0: Linear(2→3)"].nodes())
    assert not any("sum" == label(g, n) for n in op_nodes(outer))
    assert not clusters(parse(draw_graph(loss, model=model, clusters=False)))


def test_params_mapping_names_parameters_without_a_model():
    w = leaf([1.0, 2.0])
    g = draw_graph((w * 2).sum(), params={"encoder.w": w})
    assert "<B>encoder.w</B>" in g.source
    with pytest.raises(TypeError, match=r"params\['bad'\] is a list; expected a Tensor"):
        draw_graph((w * 2).sum(), params={"bad": [1.0]})


def test_node_cap_collapses_the_rest_with_a_note():
    x = leaf([1.0], "x")
    h = x
    for _ in range(50):
        h = h * 1.5 + 1.0  # each step: a mul, an add and two constants
    g = parse(draw_graph(h, max_nodes=10))
    assert len(tensor_nodes(g)) == 10
    total = 1 + 50 * 4  # x, and per step: mul output, add output, two constants
    note = g.get_node("collapsed").attr["label"]
    assert f"{total - 10} more tensors" in note and "max_nodes=10" in note
    assert "mul ×" in note and "add ×" in note
    assert g.out_edges("collapsed")
    assert "more tensors" in g.graph_attr["label"]


def test_deep_graph_draws_without_recursion():
    x = leaf([0.5], "x")
    h = x
    for _ in range(3000):
        h = h * 1.0001
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        g = draw_graph(h, max_nodes=None, show_data=False)
    finally:
        sys.setrecursionlimit(limit)
    a = parse(g)
    assert len(op_nodes(a)) == 3000
    assert len(tensor_nodes(a)) == 1 + 3000 * 2


def test_heavily_shared_tensors_get_one_reference_per_use():
    x, w = leaf([1.0, 2.0], "x"), leaf([0.5, 0.5], "w")
    h = x
    for _ in range(3 * FANOUT):
        h = (h + x) * w
    a = parse(draw_graph(h.sum(), max_nodes=None))
    refs = [n for n in a.nodes() if "_use" in n]
    uses_x, uses_w = 3 * FANOUT + 1, 3 * FANOUT  # the first add takes x twice
    assert len(refs) == (uses_x - 1) + (uses_w - 1)  # each use but one is a reference
    assert all("↑ " in label(a, n) for n in refs)


def test_the_same_graph_gives_the_same_dot_and_no_addresses():
    def build() -> str:
        tg.manual_seed(3)
        model = nn.MLP(2, 3, 2)
        x = tg.Tensor(np.ones((2, 2), np.float32))
        return draw_graph(model(x).sum(), model=model).source

    a, b = build(), build()
    assert a == b
    assert not re.search(r"0x[0-9a-f]{6,}", a)


# ----- gradients -----------------------------------------------------------------------------
def log_softmax_graph(xs: np.ndarray) -> tuple[tg.Tensor, tg.Tensor, tg.Tensor]:
    x = tg.Tensor(xs, requires_grad=True, name="x")
    lse = x.exp().sum(1, keepdim=True).log()
    z = x - lse  # x reaches the sub directly and through lse
    w = tg.Tensor(np.array([[1.0, -2.0, 0.5]]))
    return x, z, (z * w).sum()


def test_grads_all_match_torch_at_every_tensor():
    xs = np.array([[0.2, -1.0, 2.0], [1.0, 0.0, -0.5]])
    x, z, loss = log_softmax_graph(xs)
    tx = torch.tensor(xs, requires_grad=True)
    tz = tx - tx.exp().sum(1, keepdim=True).log()
    tz.retain_grad()
    (tz * torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)).sum().backward()
    from tinygrad_ce.viz.dot import collect, gradients_of

    grads = gradients_of(loss, collect([loss]))
    np.testing.assert_allclose(grads[id(x)], tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(grads[id(z)], tz.grad.numpy(), rtol=1e-10)
    a = parse(draw_graph(loss, grads="all"))
    made_by_sub = "tensor: (2, 3) float64, made by sub"
    z_label = next(label(a, n) for n in tensor_nodes(a)
                   if a.get_node(n).attr["tooltip"].startswith(made_by_sub))
    for v in tz.grad.numpy().ravel():  # six elements: each one is shown
        assert fmt_number(v) in z_label
    assert x.grad is None  # drawing computed gradients; it stored none


def test_grad_flow_edges_sum_to_each_tensors_gradient_and_split_at_the_sub():
    xs = np.array([[0.2, -1.0, 2.0], [1.0, 0.0, -0.5]])
    x, z, loss = log_softmax_graph(xs)
    tx = torch.tensor(xs, requires_grad=True)
    tlse = tx.exp().sum(1, keepdim=True).log()
    tlse.retain_grad()
    tz = tx - tlse
    tz.retain_grad()
    (tz * torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)).sum().backward()
    from tinygrad_ce.viz.dot import collect, gradients_of

    order = collect([loss])
    grads = gradients_of(loss, order)
    flow = edge_gradients(loss, order, grads)
    # the direct edge x -> sub carries dL/dz itself; the path through exp carries the rest
    np.testing.assert_allclose(flow[(id(x), id(z))], tz.grad.numpy(), rtol=1e-10)
    exp_node = next(t for t in order if t.op == "exp")
    np.testing.assert_allclose(flow[(id(x), id(z))] + flow[(id(x), id(exp_node))],
                               tx.grad.numpy(), rtol=1e-10)
    lse = next(t for t in order if t.op == "log")
    np.testing.assert_allclose(flow[(id(lse), id(z))], tlse.grad.numpy(), rtol=1e-10)
    g = draw_graph(loss, grad_flow=True)
    assert g.source.count(f'color="#64748b:{"#dc2626"}"') >= 8
    assert "red edge" in g.source


def test_backward_graph_is_drawn_from_the_gradient():
    xs = np.array([1.0, -2.0, 0.5])
    x = leaf(xs, "x")
    (x ** 3).sum().backward(create_graph=True)
    g = parse(draw_graph(x.grad))
    ops = {label(g, n) for n in op_nodes(g)}
    assert ops and ops <= {"mul", "pow", "expand", "reshape", "add", "sum"}
    root = g.get_node("t0")
    for v in 3 * xs ** 2:  # d/dx sum x^3 = 3 x^2
        assert fmt_number(v) in root.attr["label"]
    assert root.attr["fillcolor"] == COLORS["output"][0]


def test_gradients_it_cannot_compute_after_backward_are_said_not_shown():
    x = leaf([1.0, 2.0], "x")
    y = (x * x).sum()
    y.backward()  # frees the graph
    g = draw_graph(y, grads="all")  # draws what is left and says what is not shown
    assert any("not shown" in n and "retain_graph=True" in n for n in g.notes)
    assert "not shown" in g.source and "keep_graph()" in g.source


def test_comparison_shows_both_graphs_and_the_largest_gradient_difference():
    xs = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]], np.float32)
    x = tg.Tensor(xs, requires_grad=True, name="logits")
    y = tg.tensor([0, 1])
    g = draw_comparison(F.cross_entropy(x, y), F.cross_entropy_unfused(x, y))
    a = parse(g)
    found = clusters(a)
    assert any(k.startswith("fused: 1 op,") for k in found)
    unfused = next(k for k in found if k.startswith("unfused:"))
    assert int(unfused.split(": ")[1].split(" op")[0]) > 5
    tx = torch.tensor(xs, requires_grad=True)
    torch.nn.functional.cross_entropy(tx, torch.tensor([0, 1])).backward()
    logits = [n for n in tensor_nodes(a) if ">logits<" in label(a, n)]
    assert len(logits) == 2  # one on each side, each with the gradient of its own loss
    for n in logits:
        for v in tx.grad.numpy().ravel():
            assert fmt_number(v) in label(a, n)
    ((name, diff),) = g.comparison
    assert name == "logits" and diff < 1e-6
    assert "max |Δ|" in a.graph_attr["label"] and "gradient at logits" in a.graph_attr["label"]


# ----- bad input -----------------------------------------------------------------------------
def test_bad_arguments_are_named():
    x = leaf([1.0, 2.0])
    y = (x * 2).sum()
    with pytest.raises(TypeError, match=r"root is a str; expected a Tensor"):
        draw_graph("x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"root\[1\] is a int; expected a Tensor"):
        draw_graph([y, 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"rankdir='UP'"):
        draw_graph(y, rankdir="UP")
    with pytest.raises(ValueError, match=r"max_nodes=0"):
        draw_graph(y, max_nodes=0)
    with pytest.raises(ValueError, match=r"grads='some'"):
        draw_graph(y, grads="some")
    with pytest.raises(ValueError, match=r"needs a scalar output; got one of shape \(2,\)"):
        draw_graph(x * 2, grads="all")
    with pytest.raises(TypeError, match=r"model=int has no named_parameters"):
        draw_graph(y, model=3)
    with pytest.raises(ValueError, match=r"format='gif'"):
        render(draw_graph(y), "out.gif")
    with pytest.raises(ValueError, match=r"renderer='cairo'"):
        render(draw_graph(y), "out.svg", renderer="cairo")
    with pytest.raises(ValueError, match=r"unknown example 'nope'"):
        example("nope")


# ----- rendering -----------------------------------------------------------------------------
def small_model_graph() -> Graph:
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    x = tg.Tensor(np.ones((4, 2), np.float32), name="x")
    loss = F.cross_entropy(model(x), tg.tensor([0, 1, 1, 0]))
    loss.backward()
    return draw_graph(loss, model=model)


def test_pygraphviz_is_installed_and_dot_where_it_is_on_path():
    # the demo extra's pygraphviz renders with pip alone; Graphviz's dot is a system program
    assert "pygraphviz" in available_renderers()
    which("dot", debian="graphviz")
    assert available_renderers() == ["dot", "pygraphviz"]


def _renderer(renderer: str) -> str:
    if renderer == "dot":
        which("dot", debian="graphviz")
    return renderer


@pytest.mark.parametrize("renderer", ["dot", "pygraphviz"])
def test_svg_parses_and_carries_tooltips_and_labels(tmp_path: Path, renderer: str):
    renderer = _renderer(renderer)
    g = small_model_graph()
    path = render(g, tmp_path / "graph.svg", renderer=renderer)
    assert path == tmp_path / "graph.svg"
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    nodes = [e for e in root.iter(f"{SVG}g") if e.get("class") == "node"]
    assert len(nodes) == len(g.node_data)
    titles = {e.find(f"{SVG}title").text for e in nodes}
    assert titles == set(g.node_data)
    tips = [a.get(f"{XLINK}title") for a in root.iter(f"{SVG}a")]
    assert any(t and "data:" in t and "grad:" in t for t in tips)
    assert any(t and "op cross_entropy (fused" in t for t in tips)
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for word in ("0.weight", "2.bias", "addmm", "relu", "cross_entropy", "grad", "data"):
        assert word in text
    clusters_ = [e for e in root.iter(f"{SVG}g") if e.get("class") == "cluster"]
    assert len(clusters_) == 4


@pytest.mark.parametrize("renderer", ["dot", "pygraphviz"])
def test_png_and_pdf(tmp_path: Path, renderer: str):
    renderer = _renderer(renderer)
    g = small_model_graph()
    png = render(g, tmp_path / "graph.png", renderer=renderer)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = render(g, tmp_path / "graph", format="pdf", renderer=renderer)
    assert pdf.name == "graph.pdf" and pdf.read_bytes()[:5] == b"%PDF-"


def test_dot_format_needs_no_renderer(tmp_path: Path):
    g = small_model_graph()
    path = render(g, tmp_path / "graph.dot")
    assert path.read_text() == g.source


def test_html_page_is_self_contained(tmp_path: Path):
    g = small_model_graph()
    path = render(g, tmp_path / "graph.html")
    page = path.read_text()
    assert "<svg" in page and "<script" in page
    assert not re.search(r"""(src|href)=["']https?://""", page)
    blob = page.split('id="graph-data">', 1)[1].split("</script>", 1)[0]
    data = json.loads(blob)
    assert data["nodes"] == json.loads(json.dumps(g.node_data))
    assert data["clusters"] == json.loads(json.dumps(g.clusters)) and data["clusters"]


def test_render_draws_a_tensor_with_drawing_options(tmp_path: Path):
    x = leaf([1.0, 2.0], "x")
    path = render((x * 2).sum(), tmp_path / "t", format="svg", rankdir="LR")
    assert path.suffix == ".svg" and "x" in path.read_text()
    with pytest.raises(TypeError, match="apply to a Tensor, not a graph"):
        render(draw_graph(x * 2), tmp_path / "u.svg", rankdir="LR")


def hide_renderers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setitem(sys.modules, "pygraphviz", None)  # import pygraphviz -> ImportError
    real_import = builtins.__import__

    def no_pygraphviz(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "pygraphviz" or name.startswith("pygraphviz."):
            raise ImportError("pygraphviz hidden by the test")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pygraphviz)


def test_without_any_renderer_the_dot_file_is_written_and_one_line_says_how(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    g = small_model_graph()
    hide_renderers(monkeypatch, tmp_path)
    assert available_renderers() == []
    path = render(g, tmp_path / "out" / "graph.svg")
    assert path == tmp_path / "out" / "graph.dot"
    assert path.read_text() == g.source
    assert not (tmp_path / "out" / "graph.svg").exists()
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1
    assert out.startswith("no Graphviz renderer found") and f"dot -Tsvg {path}" in out
    assert "pip install pygraphviz" in out
    bundle = g._repr_mimebundle_()
    assert "image/svg+xml" not in bundle and "digraph" in bundle["text/plain"]


def test_jupyter_display_works_with_only_pygraphviz(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch):
    g = small_model_graph()
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on PATH
    assert available_renderers() == ["pygraphviz"]
    bundle = g._repr_mimebundle_()
    svg = bundle["image/svg+xml"]
    assert ET.fromstring(svg[svg.index("<svg"):]).tag == f"{SVG}svg"
    assert "<svg" in g._repr_svg_()


def test_a_2000_node_graph_renders_in_seconds(tmp_path: Path, capsys):
    tg.manual_seed(0)
    h = tg.randn(4, requires_grad=True)
    params = {}
    for i in range(250):  # per layer: w, b, mul, add, tanh tensors and three ops
        w, b = tg.randn(4, requires_grad=True), tg.randn(4, requires_grad=True)
        params[f"w{i}"], params[f"b{i}"] = w, b
        h = (h * w + b).tanh()
    start = time.perf_counter()
    g = draw_graph(h.sum(), params=params, max_nodes=None, grads="all")
    drawn = time.perf_counter()
    path = render(g, tmp_path / "big.svg")
    done = time.perf_counter()
    assert len(g.node_data) >= 2000
    root = ET.parse(path).getroot()
    assert sum(1 for e in root.iter(f"{SVG}g") if e.get("class") == "node") == len(g.node_data)
    with capsys.disabled():
        print(f"\n{len(g.node_data)}-node graph: draw {drawn - start:.2f} s, "
              f"{available_renderers()[0]} svg {done - drawn:.2f} s")


# ----- the command and the gallery -----------------------------------------------------------
def test_graph_command_writes_examples_in_every_format(tmp_path: Path, capsys):
    from tinygrad_ce.viz.command import main

    assert main(["ce-fused", "ce-compare", "--format", "svg,dot,html", "--out",
                 str(tmp_path)]) == 0
    for stem in ("ce-fused", "ce-compare"):
        for fmt in ("svg", "dot", "html"):
            assert (tmp_path / f"{stem}.{fmt}").stat().st_size > 0
    capsys.readouterr()
    assert main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in EXAMPLES)
    assert main(["nope", "--out", str(tmp_path)]) == 2
    assert main(["ce-fused", "--format", "gif", "--out", str(tmp_path)]) == 2
    assert "expected a comma-separated list" in capsys.readouterr().err


def test_graph_command_draws_a_saved_models_training_step(tmp_path: Path, capsys):
    from tinygrad_ce.viz.command import main

    tg.manual_seed(1)
    model = nn.MLP(3, (5, 4), 2)
    model.save(tmp_path / "model.npz")
    again = model_from_checkpoint(tmp_path / "model.npz")
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        np.testing.assert_array_equal(a, b)
    assert main([str(tmp_path / "model.npz"), "--format", "svg", "--out", str(tmp_path)]) == 0
    svg = (tmp_path / f"{tmp_path.name}-model-step.svg").read_text()
    assert "assumed activation relu" in capsys.readouterr().err  # no metrics.json beside it
    for name in ("0.weight", "2.weight", "4.bias", "Linear(3→5)", "Linear(4→2)"):
        assert name in svg
    nn.save({"conv.kernel": np.ones((2, 2))}, tmp_path / "other.npz")
    assert main([str(tmp_path / "other.npz"), "--out", str(tmp_path)]) == 1
    assert "'<index>.weight'" in capsys.readouterr().err


def test_gallery_is_fresh():
    """viz/ holds what the code draws now: regenerate with the command in viz/README.md."""
    readme = (ROOT / "viz" / "README.md").read_text()
    assert "tinygrad-ce graph all --format svg,dot --out viz" in readme
    stale = []
    for name in EXAMPLES:
        assert (ROOT / "viz" / f"{name}.svg").exists(), f"viz/{name}.svg is missing"
        assert f"({name}.svg)" in readme, f"viz/README.md does not show {name}.svg"
        if (ROOT / "viz" / f"{name}.dot").read_text() != example(name).source:
            stale.append(name)
    assert not stale, (f"viz/ is stale for {stale}: run "
                       "`tinygrad-ce graph all --format svg,dot --out viz`")


def test_grad_flow_labels_a_repeated_input_once_with_the_sum():
    x = leaf([3.0, -1.0], "x")
    y = (x * x).sum()  # both inputs of mul are x: together they send 2 x g back
    a = parse(draw_graph(y, grad_flow=True))
    (mul,) = [n for n in op_nodes(a) if label(a, n) == "mul"]
    labels = [e.attr["label"] for e in a.in_edges(mul)]
    assert len(labels) == 2
    labelled = [t for t in labels if t]
    assert len(labelled) == 1 and "[6, -2] (sum of 2 uses)" in labelled[0]


def test_several_outputs_and_named_scopes():
    x = leaf([1.0, 2.0], "x")
    with tg.autograd.scope("encoder"):
        h = x.tanh()
    a, b = h * 2, h.exp()
    g = parse(draw_graph([a, b]))
    outputs = [n for n in tensor_nodes(g)
               if g.get_node(n).attr["fillcolor"] == COLORS["output"][0]]
    assert len(outputs) == 2
    assert len(tensor_nodes(g)) == 5  # a, b, h, x, the literal 2
    (encoder,) = clusters(g).values()
    assert encoder.graph_attr["label"] == "encoder"
    assert [label(g, n) for n in op_nodes(encoder)] == ["tanh"]


def test_comparison_rejects_what_it_cannot_compare():
    x = leaf([[1.0, 2.0], [0.5, -1.0]], "logits")
    y = tg.tensor([1, 0])
    with pytest.raises(ValueError, match="one fused and one unfused loss"):
        draw_comparison([F.cross_entropy(x, y)] * 2, F.cross_entropy_unfused(x, y))
    with pytest.raises(ValueError, match=r"scalar output; got one of shape \(2,\)"):
        draw_comparison(F.cross_entropy(x, y, reduction="none"),
                        F.cross_entropy_unfused(x, y, reduction="none"))
    with pytest.raises(TypeError, match=r"fused is a float; expected a Tensor"):
        draw_comparison(1.0, F.cross_entropy_unfused(x, y))  # type: ignore[arg-type]


def test_tinygrad_ce_graph_runs_through_the_command_line(tmp_path: Path, capsys):
    from tinygrad_ce.cli import main

    code = main(["graph", "mlp-step", "ce-backward", "--format", "dot,png", "--out",
                 str(tmp_path)])
    assert code == 0
    for stem in ("mlp-step", "ce-backward"):
        assert (tmp_path / f"{stem}.dot").read_text() == example(stem).source
        assert (tmp_path / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
    assert str(tmp_path / "mlp-step.png") in capsys.readouterr().out


def test_edges_into_an_op_with_several_inputs_say_which_input_they_are():
    a, b = leaf([5.0], "a"), leaf([2.0], "b")
    g = parse(draw_graph(a - b))
    (sub,) = op_nodes(g)
    tips = {label(g, e[0]).split("<B>")[1].split("</B>")[0]: e.attr["tooltip"]
            for e in g.in_edges(sub)}
    assert tips == {"a": "input 1 of 2 of sub", "b": "input 2 of 2 of sub"}


@pytest.mark.parametrize("system_dot", [True, False])
def test_the_graph_renders_pipes_and_views_like_a_graphviz_digraph(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, system_dot: bool):
    if system_dot:
        which("dot", debian="graphviz")
    else:
        monkeypatch.setenv("PATH", str(tmp_path))  # no dot on PATH: pygraphviz lays it out
    g = small_model_graph()
    svg = g.pipe(format="svg", encoding="utf-8")
    assert ET.fromstring(svg).tag == f"{SVG}svg"
    assert g.pipe(format="png")[:8] == b"\x89PNG\r\n\x1a\n"
    out = g.render(tmp_path / "model", format="pdf")
    assert out == str(tmp_path / "model.pdf")
    assert (tmp_path / "model.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "model").read_text() == g.source  # the source beside it, as graphviz
    out = g.render(outfile=tmp_path / "other.svg", cleanup=True)
    assert out == str(tmp_path / "other.svg") and not (tmp_path / "other.gv").exists()
    opened = []
    monkeypatch.setattr(type(g), "_view", lambda self, path, *, format, quiet: opened.append(
        (os.fspath(path), format)), raising=True)
    g.format = "svg"
    path = g.view(tmp_path / "shown")
    assert opened == [(path, "svg")] and path.endswith("shown.svg")
    assert "image/svg+xml" in g._repr_mimebundle_()


def test_an_op_marks_itself_fused_and_the_renderer_draws_it_so():
    from tinygrad_ce import record

    x = leaf([1.0, 2.0, 3.0], "x")
    for fused in (True, False):
        y = record(x.numpy() ** 3, (x,), "cube", lambda g, out: (g * 3 * x * x,), fused=fused)
        g = parse(draw_graph(y.sum()))
        (node,) = [n for n in op_nodes(g) if "cube" in label(g, n)]
        assert y.fused is fused
        assert (g.get_node(node).attr["fillcolor"] == COLORS["fused"][0]) is fused
