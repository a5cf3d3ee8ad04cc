"""Pictures that teach: drawing at any time (after backward too), keep_graph, accumulated
gradients, targets and names, the backward rule on every op, exact constants."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pygraphviz
import pytest
import torch

import tinygrad_ce as tg
from tests.system import which
from tinygrad_ce.engine import grad_passes
from tinygrad_ce.nn import functional as F
from tinygrad_ce.viz import Graph, draw_comparison, draw_graph, keep_graph, render
from tinygrad_ce.viz.dot import exact_number, summarize
from tinygrad_ce.viz.rules import rule_of

ROOT = Path(__file__).resolve().parents[1]
LOGITS = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]], np.float32)


def parse(g: Graph) -> pygraphviz.AGraph:
    return pygraphviz.AGraph(string=g.source)


def by_title(a: pygraphviz.AGraph, g: Graph) -> dict[str, str]:
    """{title: node name} for the tensors and ops drawn."""
    return {d["title"]: n for n, d in g.node_data.items()}


def logits_and_target() -> tuple[tg.Tensor, tg.Tensor]:
    return (tg.Tensor(LOGITS, requires_grad=True, name="logits"),
            tg.Tensor(np.array([0, 1]), name="target"))


# ----- drawing after backward ----------------------------------------------------------------
def test_comparison_after_both_backwards_draws_and_says_what_it_cannot_show():
    x, y = logits_and_target()
    fused, unfused = F.cross_entropy(x, y), F.cross_entropy_unfused(x, y)
    fused.backward()
    unfused.backward()  # x.grad now holds the sum of both losses' gradients
    g = draw_comparison(fused, unfused)
    assert any("freed" in n for n in g.notes)
    assert any("not compared" in n for n in g.notes)
    # the legend says the gradient shown at the logits is a sum of two backward passes
    assert grad_passes(x) == 2
    assert "accumulated over 2 backward passes" in g.source
    tx = torch.tensor(LOGITS, requires_grad=True)
    ty = torch.tensor([0, 1])
    (torch.nn.functional.cross_entropy(tx, ty) * 2).backward()
    assert np.allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-6)
    assert summarize(x.grad.numpy()) in g.source


@pytest.mark.parametrize("kwargs", [{"grads": "all"}, {"grad_flow": True}, {"steps": True}, {}])
def test_draw_graph_after_backward_never_raises_and_names_what_is_missing(kwargs):
    x, y = logits_and_target()
    loss = F.cross_entropy_unfused(x, y)
    loss.backward()
    g = draw_graph(loss, **kwargs)
    assert any("keep_graph()" in n for n in g.notes)
    if kwargs:
        assert any(n.startswith("not shown") and "freed" in n for n in g.notes)
        assert not g.steps
    # the leaf still shows its value and its gradient (torch's)
    tx = torch.tensor(LOGITS, requires_grad=True)
    torch.nn.functional.cross_entropy(tx, torch.tensor([0, 1])).backward()
    assert np.allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-6)
    assert summarize(x.grad.numpy()) in g.source
    assert "grad = .grad, as backward() stored it" in g.source


def test_after_a_plain_backward_released_intermediates_show_name_op_and_shape():
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((8, 5)), name="x")
    w = tg.Tensor(rng.standard_normal((5, 4)), requires_grad=True, name="w")
    h = (x @ w).tanh()
    h.name = "h"
    loss = h.sum()
    loss.backward()
    g = draw_graph(loss)
    assert any("released by backward()" in n and "keep_graph()" in n for n in g.notes)
    a = parse(g)
    node = by_title(a, g)["h"]
    assert "8×4 f64" in a.get_node(node).attr["label"]
    assert g.node_data[node]["op"] == "tanh"
    assert g.node_data[by_title(a, g)["w"]]["grad"] is not None


def test_keep_graph_keeps_every_value_and_gradient_as_torch_computes_them():
    rng = np.random.default_rng(1)
    xs, ws = rng.standard_normal((8, 5)), rng.standard_normal((5, 4))
    x = tg.Tensor(xs, name="x")
    w = tg.Tensor(ws, requires_grad=True, name="w")
    hm = x @ w
    h = hm.tanh()
    loss = (h * h).mean()
    with keep_graph():
        loss.backward()
    tw = torch.tensor(ws, requires_grad=True)
    thm = torch.tensor(xs) @ tw
    th = thm.tanh()
    thm.retain_grad()
    th.retain_grad()
    (th * th).mean().backward()
    for ours, theirs in ((hm, thm), (h, th), (w, tw)):
        assert ours.grad is not None and np.allclose(ours.grad.numpy(), theirs.grad.numpy())
    g = draw_graph(loss)
    assert not g.notes  # nothing left out
    for t in (hm, h):
        assert summarize(t.grad.numpy()) in g.source
        assert summarize(t.numpy()) in g.source
    # and the graph was kept: grads="all" after it computes d(loss)/d(tensor) again
    g2 = draw_graph(loss, grads="all")
    assert not g2.notes and "∂output/∂tensor" in g2.source


def test_grads_all_after_backward_with_retain_graph_still_computes():
    x, y = logits_and_target()
    loss = F.cross_entropy_unfused(x, y)
    loss.backward(retain_graph=True)
    g = draw_graph(loss, grads="all")
    assert not g.notes and "grad = ∂output/∂tensor" in g.source


def test_grad_passes_count_backward_calls_and_zero_grad_resets_them():
    w = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert grad_passes(w) == 0
    (w * w).sum().backward()
    assert grad_passes(w) == 1
    loss = (w * 3).sum()
    loss.backward()
    assert grad_passes(w) == 2
    assert "accumulated over 2 backward passes" in draw_graph(loss).source
    tg.engine.zero_grad(w, set_to_none=False)
    assert grad_passes(w) == 0
    (w * 3).sum().backward()
    assert grad_passes(w) == 1
    w.grad = None
    (w * 3).sum().backward()
    assert grad_passes(w) == 1


# ----- targets, names, indices, transposes ---------------------------------------------------
def _edges_into(a: pygraphviz.AGraph, op_title: str, g: Graph) -> list[tuple[str, dict]]:
    op = next(n for n, d in g.node_data.items() if d.get("op") and d["title"].startswith(op_title)
              and "inputs" in d)
    return [(e[0], dict(e.attr)) for e in a.in_edges(op)]


@pytest.mark.parametrize("fn", ["cross_entropy", "cross_entropy_unfused"])
def test_class_targets_are_drawn_as_inputs_with_their_values(fn):
    x = tg.Tensor(LOGITS, requires_grad=True, name="logits")
    y = tg.tensor([0, 1])  # unnamed: the picture calls it by its role
    loss = getattr(F, fn)(x, y)
    g = draw_graph(loss)
    a = parse(g)
    op = "cross_entropy" if fn == "cross_entropy" else "getitem"
    edges = _edges_into(a, op, g)
    target = [(tail, at) for tail, at in edges if at.get("style") == "dashed"]
    assert len(target) == 1
    tail, at = target[0]
    assert at["xlabel"] == "target"
    assert g.node_data[tail]["title"] == "target" and g.node_data[tail]["data"] == "[0, 1]"
    assert "[0, 1]" in a.get_node(tail).attr["label"]


def test_fused_weight_and_probability_targets_are_inputs_too():
    x = tg.Tensor(LOGITS, requires_grad=True)
    w = tg.Tensor(np.array([1.0, 2.0, 0.5], np.float32), name="w")
    g = draw_graph(F.cross_entropy(x, tg.tensor([2, 0]), weight=w))
    a = parse(g)  # held: its edges read from it
    edges = [dict(e.attr) for e in a.edges()]
    roles = {e["xlabel"] for e in edges if e.get("style") == "dashed"}
    assert roles == {"target", "weight"}
    q = tg.Tensor(np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], np.float32), name="q")
    g = draw_graph(F.cross_entropy(x, q))
    assert any(d["title"] == "q" for d in g.node_data.values())


def test_unfused_cross_entropy_names_its_intermediates_after_the_math():
    doc = (ROOT / "docs" / "cross_entropy.md").read_text()
    x, y = logits_and_target()
    g = draw_graph(F.cross_entropy_unfused(x, y))
    titles = {d["title"] for d in g.node_data.values()}
    for name in ("z = x − max", "e^z", "S = Σ e^z", "log S", "log p = z − log S",
                 "log p[i, y_i]", "l_i", "Σ l_i", "N", "max"):
        assert name in titles, name
    for symbol in ("z = x - m", "S = Σ_k e^{x_k}", "log p", "1/N"):
        assert symbol in doc  # the names come from the note's math
    # the values are the math's: S is the row sum of e^z, N the batch size
    n = next(k for k, d in g.node_data.items() if d["title"] == "N")
    assert g.node_data[n]["data"] == "2."


def test_getitem_says_which_indices_it_picks_and_transposes_read_as_written():
    x = tg.Tensor(np.ones((2, 3)), requires_grad=True)
    rows = tg.Tensor(np.array([1, 0]), name="rows")
    cases = {
        "getitem [[0, 1], [1, 2]]": x[[0, 1], [1, 2]],
        "getitem [:, 1:]": x[:, 1:],
        "getitem [rows]": x[rows],
        ".T": x.T,
        ".t()": x.t(),
        "transpose(0, 1)": x.transpose(0, 1),
    }
    for text, out in cases.items():
        g = draw_graph(out)
        ops = [d["title"] for d in g.node_data.values() if "inputs" in d]
        assert ops == [text]
    # the named index tensor is drawn as an input of the getitem
    g = draw_graph(x[rows])
    assert any(d["title"] == "rows" for d in g.node_data.values())
    # and a layer's addmm(b, x, W.t()) shows .t()
    lin = tg.nn.Linear(3, 2)
    g = draw_graph(lin(tg.Tensor(np.ones((1, 3), np.float32))))
    assert ".t()" in {d["title"] for d in g.node_data.values()}


# ----- rules and constants -------------------------------------------------------------------
def test_every_op_shows_the_backward_rule_written_beside_its_code():
    source = (ROOT / "tinygrad_ce" / "tensor.py").read_text()
    x = tg.Tensor(np.array([0.5, 1.5]), requires_grad=True)
    g = draw_graph((x.exp() * x).log().sum())
    rules = {d["op"]: d["rule"] for d in g.node_data.values() if "inputs" in d}
    assert rules["exp"] == "d/dx e^x = e^x"
    assert rules["log"] == "d/dx log x = 1 / x"
    assert rules["mul"] == "d/da (a * b) = b, d/db = a"
    for rule in rules.values():
        assert rule and rule in " ".join(source.replace("#", " ").split()), rule
    assert "backward: d/dx e^x = e^x" in g.source  # the SVG tooltip
    assert rule_of("cross_entropy").startswith("dl/dx_ic = s_i (Q_i softmax(x_i)_c - q_ic)")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_constant_shows_enough_digits_to_tell_it_from_a_round_number(dtype):
    x = tg.Tensor(np.array([2.0], dtype), requires_grad=True)
    g = draw_graph(x * 1.0001)
    assert re.search(r"<FONT POINT-SIZE=\"10\">1\.0001</FONT>", g.source)
    assert exact_number(1.0, dtype) == "1" and exact_number(0.1, dtype) == "0.1"
    assert exact_number(1 / 3, np.float64) == repr(1 / 3)
    assert float(exact_number(np.float32(1 / 3), np.float32)) == pytest.approx(1 / 3, rel=1e-7)


# ----- big graphs ----------------------------------------------------------------------------
@pytest.mark.parametrize("renderer", ["dot", "pygraphviz"])
@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_a_big_png_or_pdf_gets_one_line_of_advice_and_no_graphviz_message(tmp_path, capfd, fmt,
                                                                          renderer):
    if renderer == "dot":
        which("dot", debian="graphviz")
    h = tg.Tensor(np.ones(3), requires_grad=True)
    for _ in range(120):
        h = (h * 1.5).tanh()
    g = draw_graph(h.sum(), max_nodes=None)
    assert len(g.node_data) > 300
    path = render(g, tmp_path / f"big.{fmt}", renderer=renderer)
    assert path.stat().st_size > 1000
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "svg" in lines[0] and "html" in lines[0] and "max_nodes" in lines[0]
    assert "too large" not in err.replace("too large to read", "")
    # a small one says nothing
    render(draw_graph((h * 2).sum(), max_nodes=20), tmp_path / f"small.{fmt}", renderer=renderer)
    assert not capfd.readouterr().err.strip()


# ----- checkpoints ---------------------------------------------------------------------------
def test_a_checkpoint_is_drawn_as_its_run_recorded_it(tmp_path, capsys):
    from tinygrad_ce.cli import main as cli
    from tinygrad_ce.nn.checkpoint import model_from_checkpoint, run_record
    from tinygrad_ce.viz.command import main

    runs = tmp_path / "runs"
    for _ in range(2):  # two runs, each with its weights.npz
        assert cli(["train", "--samples", "150", "--epochs", "25", "--hidden", "8",
                    "--activation", "tanh", "--classes", "2", "--dataset", "moons",
                    "--no-graph", "--quiet", "--out", str(runs)]) == 0
    capsys.readouterr()
    first, second = sorted(runs.iterdir())
    config = run_record(first / "weights.npz")["config"]
    assert config["activation"] == "tanh" and config["dataset"] == "moons"
    out = tmp_path / "graphs"
    for run in (first, second):
        assert main([str(run / "weights.npz"), "--format", "dot,svg", "--batch", "6",
                     "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "assumed" not in printed.err
    # each picture is named after its run's folder: neither overwrites the other
    dots = sorted(p.name for p in out.glob("*.dot"))
    assert dots == [f"{first.name}-weights-step.dot", f"{second.name}-weights-step.dot"]
    source = (out / dots[0]).read_text()
    assert "1: Tanh" in source and "ReLU" not in source and "moons" in source
    # the batch is the run's own training data with its labels: torch computes the loss shown
    from tinygrad_ce import data

    x, y = data.make_moons(n_samples=150, seed=0)
    xtr, _, ytr, _ = data.train_test_split(x, y, 0.2, seed=0)
    model = model_from_checkpoint(first / "weights.npz", "tanh")
    w0, b0, w2, b2 = (torch.tensor(a.numpy()) for a in (model[0].weight, model[0].bias,
                                                         model[2].weight, model[2].bias))
    logits = torch.tanh(torch.tensor(xtr[:6]) @ w0.T + b0) @ w2.T + b2
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(ytr[:6])).item()
    assert f">{summarize(np.float32(loss))}<" in source
    assert loss < 0.6  # a trained model on its real labels, not random ones (log 2 ≈ 0.69)


def test_the_backward_graph_of_cross_entropy_names_p_one_over_n_and_the_one_hot():
    x, y = logits_and_target()
    F.cross_entropy(x, y).backward(create_graph=True)
    g = draw_graph(x.grad)
    titles = {d["title"] for d in g.node_data.values()}
    assert {"p = softmax(x)", "1/N", "p / N", "onehot(y) / N"} <= titles
    onehot = next(d for d in g.node_data.values() if d["title"] == "onehot(y) / N")
    expected = np.eye(3, dtype=np.float32)[[0, 1]] / 2
    assert onehot["data"] == np.array2string(expected, precision=6, threshold=1000,
                                             edgeitems=3, max_line_width=78, separator=", ",
                                             suppress_small=True)
    # and the gradient it computes is torch's
    tx = torch.tensor(LOGITS, requires_grad=True)
    (gx,) = torch.autograd.grad(torch.nn.functional.cross_entropy(tx, torch.tensor([0, 1])), tx)
    assert np.allclose(x.grad.numpy(), gx.numpy(), atol=1e-6)


def test_backward_steps_follow_the_engine_and_end_at_torchs_gradients():
    from tinygrad_ce.viz.dot import page_text

    rng = np.random.default_rng(2)
    xs, ws = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    x = tg.Tensor(xs, requires_grad=True, name="x")
    w = tg.Tensor(ws, requires_grad=True, name="w")
    h = x @ w
    loss = (h.tanh() * h).sum()  # h feeds two ops: its gradient arrives in two parts
    g = draw_graph(loss, steps=True)
    engine = [t for t in reversed(tg.autograd.topological_order([loss])) if t.parents]
    assert len(g.steps) == len(engine)
    for step, t in zip(g.steps, engine):
        (expected,) = tg.autograd.grad(loss, t, retain_graph=True)
        assert step["arrived"] == page_text(expected.numpy())
        assert g.node_data[step["op"]]["op"] == t.op
    tx, tw = torch.tensor(xs, requires_grad=True), torch.tensor(ws, requires_grad=True)
    th = tx @ tw
    (th.tanh() * th).sum().backward()
    finals: dict[str, str] = {}
    for step in g.steps:
        for sent in step["sent"]:
            finals[g.node_data[sent["to"]]["title"]] = sent["total"]
    assert finals["x"] == page_text(tx.grad.numpy())
    assert finals["w"] == page_text(tw.grad.numpy())


def test_a_custom_function_shows_the_rule_its_backward_states():
    from tinygrad_ce.autograd import Function
    from tinygrad_ce.viz.rules import describe

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            """d/dx x^3 = 3 x^2."""
            (x,) = ctx.saved_tensors
            return g * 3 * x * x

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x)
    assert y.op == "Cube" and y.fused
    assert describe(y) == "d/dx x^3 = 3 x^2"
    assert describe(x * 2) is not None  # an engine op still reads its own comment


def test_a_custom_function_without_a_stated_derivative_shows_its_docstring():
    from tinygrad_ce.autograd import Function
    from tinygrad_ce.viz.rules import describe

    class Swish(Function):
        """x * sigmoid(x), with a hand-written backward.

        More text that is not shown."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x.sigmoid()

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            s = x.sigmoid()
            return g * (s + x * s * (1 - s))

    y = Swish.apply(tg.tensor([0.5, -1.0], requires_grad=True))
    assert describe(y) == "x * sigmoid(x), with a hand-written backward."
