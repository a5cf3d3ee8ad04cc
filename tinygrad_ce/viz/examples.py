"""The named graphs of the gallery (``viz/``) and of ``tinygrad-ce graph``.

Every example is deterministic: fixed inputs or a fixed seed, so the DOT it produces is the
same on every run and the committed ``viz/*.dot`` can be checked against the code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_ce.nn.checkpoint import model_from_checkpoint, run_record
from tinygrad_ce.random import manual_seed
from tinygrad_ce.tensor import Tensor
from tinygrad_ce.viz.compare import draw_comparison
from tinygrad_ce.viz.dot import draw_graph
from tinygrad_ce.viz.render import Graph

__all__ = ["EXAMPLES", "example", "training_step_graph", "checkpoint_step",
           "model_from_checkpoint"]

# two samples, three classes: few enough numbers that every value is printed
LOGITS = [[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]
TARGETS = [0, 1]


def _functional() -> Any:
    from tinygrad_ce.nn import functional as F

    return F


def _logits() -> tuple[Tensor, Tensor]:
    x = Tensor(np.array(LOGITS, dtype=np.float32), requires_grad=True, name="logits")
    y = Tensor(np.array(TARGETS, dtype=np.int64), name="target")
    return x, y


def _ce(fn: str, title: str) -> Graph:
    x, y = _logits()
    loss = getattr(_functional(), fn)(x, y)
    loss.name = "loss"
    return draw_graph(loss, grads="all", title=title)


def ce_fused() -> Graph:
    return _ce("cross_entropy", "F.cross_entropy: one fused node, gradient (softmax − onehot) / N")


def ce_unfused() -> Graph:
    return _ce("cross_entropy_unfused", "F.cross_entropy_unfused: the same loss from primitive ops")


def ce_compare() -> Graph:
    F = _functional()
    x, y = _logits()
    fused, unfused = F.cross_entropy(x, y), F.cross_entropy_unfused(x, y)
    fused.name, unfused.name = "loss (fused)", "loss (unfused)"
    return draw_comparison(fused, unfused, labels=("fused F.cross_entropy",
                                                   "unfused F.cross_entropy_unfused"),
                           title="Fused vs unfused cross-entropy: same loss, same gradient")


def ce_backward() -> Graph:
    x, y = _logits()
    loss = _functional().cross_entropy(x, y)
    loss.backward(create_graph=True)
    assert x.grad is not None
    x.grad.name = "logits.grad"
    return draw_graph(x.grad, title="The backward graph: loss.backward(create_graph=True), "
                                    "then draw_graph(logits.grad)")


def ce_flow() -> Graph:
    x, y = _logits()
    loss = _functional().cross_entropy_unfused(x, y)
    loss.name = "loss"
    return draw_graph(loss, grad_flow=True, show_grad=False,
                      title="Gradient flow: each edge carries the gradient it sends back (red)")


def ce_steps() -> Graph:
    x, y = _logits()
    loss = _functional().cross_entropy_unfused(x, y)
    loss.name = "loss"
    return draw_graph(loss, steps=True, title="Step through the backward pass: open the html "
                                              "page, press Next")


def _step_graph(model: Any, x: Tensor, y: Tensor, title: str) -> Graph:
    loss = _functional().cross_entropy(model(x), y)
    loss.name = "loss"
    return draw_graph(loss, model=model, grads="all", title=title)


def mlp_step() -> Graph:
    from tinygrad_ce import data, nn

    manual_seed(0)
    model = nn.MLP(2, 4, 3)
    xs, ys = data.make_spirals(n_samples=6, n_classes=3, seed=0)
    x, y = Tensor(xs, name="x"), Tensor(ys, name="y")
    return _step_graph(model, x, y, "One training step of an MLP: each layer is a cluster, "
                                    "each parameter shows its gradient")


def training_step_graph(model: Any, x: Any, y: Any, title: str | None = None) -> Graph:
    """The graph of one training step (forward, cross-entropy, gradients) of ``model`` on
    a batch ``x``, ``y``: what the demo writes beside its plots."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    y = y if isinstance(y, Tensor) else Tensor(y)
    x.name, y.name = x.name or "x", y.name or "y"
    return _step_graph(model, x, y, title or "One training step")


def _run_batch(config: dict[str, Any], batch: int) -> tuple[np.ndarray, np.ndarray, str]:
    """The first ``batch`` training points of the run recorded in ``config`` (the same data,
    seed and split as ``tinygrad-ce train``), and a phrase saying what they are."""
    from tinygrad_ce import data

    name = config.get("dataset", "spirals")
    dt = np.dtype(config.get("dtype", "float32"))
    seed = int(config.get("seed", 0))
    if name == "digits":
        x, y = data.load_digits(dtype=dt)
    else:
        kw: dict[str, Any] = dict(n_samples=int(config.get("samples", 1500)), seed=seed, dtype=dt)
        if config.get("noise") is not None:
            kw["noise"] = config["noise"]
        if name == "spirals":
            x, y = data.make_spirals(n_classes=int(config.get("classes", 3)), **kw)
        elif name == "blobs":
            if "noise" in kw:
                kw["cluster_std"] = kw.pop("noise")
            x, y = data.make_blobs(centers=int(config.get("classes", 3)), **kw)
        elif name in data.DATASETS:
            x, y = data.DATASETS[name](**kw)
        else:
            raise ValueError(f"the run's dataset {name!r} is not one of {', '.join(data.DATASETS)}")
    x_train, _, y_train, _ = data.train_test_split(x, y, float(config.get("test_size", 0.2)),
                                                   seed=seed)
    return x_train[:batch], y_train[:batch], f"its first {batch} {name} training points"


def checkpoint_step(path: str | os.PathLike[str], batch: int = 4, seed: int = 0,
                    activation: str | None = None) -> Graph:
    """One training step of the model saved at ``path``, as the run that saved it set it up:
    the activation and the data recorded in the ``metrics.json`` beside it, on a real batch
    with its real labels. Without that record it assumes ReLU (or ``activation``) and draws
    a random batch (fixed ``seed``) with random labels; ``graph.notes`` says what it assumed."""
    record = run_record(path)
    config = record["config"] if record else {}
    assumed: list[str] = []
    recorded = config.get("activation")
    if activation is None:
        activation = recorded or "relu"
        if not recorded:
            assumed.append("activation relu between the layers")
    elif recorded and recorded != activation:
        assumed.append(f"activation {activation} as asked (the run used {recorded})")
    model = model_from_checkpoint(path, activation)
    first = model[0]
    n_out = model[len(model) - 1].out_features
    where = Path(path)
    if record and record.get("architecture"):
        widths = "-".join(str(w) for w in (first.in_features, *(
            m.out_features for m in model if hasattr(m, "out_features"))))
        if widths != record["architecture"]:
            raise ValueError(f"{os.fspath(path)!r} holds an MLP {widths}, but the metrics.json "
                             f"beside it describes {record['architecture']}")
    if config.get("dataset"):
        xs, ys, what = _run_batch(config, batch)
    else:
        rng = np.random.default_rng(seed)
        xs = rng.standard_normal((batch, first.in_features)).astype(first.weight.numpy().dtype)
        ys = rng.integers(0, n_out, batch)
        what = f"a random batch of {batch} with random labels"
        assumed.append(what)
    if assumed:
        assumed = [f"no metrics.json beside {where.name} says how it was trained: assumed "
                   + ", ".join(assumed)] if not record else [f"assumed {a}" for a in assumed]
    g = _step_graph(model, Tensor(xs, name="x"), Tensor(ys, name="y"),
                    f"One training step of {where.parent.name + '/' if where.parent.name else ''}"
                    f"{where.name} ({activation}) on {what}")
    g.notes = assumed + g.notes
    return g


# name -> (builder, caption for the gallery)
EXAMPLES: dict[str, tuple[Callable[[], Graph], str]] = {
    "ce-fused": (ce_fused, "Fused cross-entropy: one node whose backward is the closed form "
                           "(softmax(x) − onehot(y)) / N."),
    "ce-unfused": (ce_unfused, "The same loss composed from primitive ops; the engine chains "
                               "their backward closures."),
    "ce-compare": (ce_compare, "Both side by side on the same logits, each tensor with the "
                               "gradient of its own loss, and the largest difference."),
    "mlp-step": (mlp_step, "One training step of a 2-4-3 MLP on six spiral points, layer by "
                           "layer in clusters named as named_modules() names them."),
    "ce-backward": (ce_backward, "The backward graph: after backward(create_graph=True), the "
                                 "gradient of the logits is itself a graph."),
    "ce-flow": (ce_flow, "Gradient flow: every edge of the unfused loss labelled with the "
                         "gradient it carries back to its input."),
    "ce-steps": (ce_steps, "The backward pass step by step (html: Next / Previous / Play): "
                           "each op's incoming gradient, rule, and what it sends each input."),
}


def example(name: str) -> Graph:
    """The graph of the named example (see ``EXAMPLES``)."""
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; expected one of {', '.join(EXAMPLES)}")
    return EXAMPLES[name][0]()
