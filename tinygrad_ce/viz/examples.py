"""The named graphs of the gallery (``viz/``) and of ``tinygrad-ce graph``.

Every example is deterministic: fixed inputs or a fixed seed, so the DOT it produces is the
same on every run and the committed ``viz/*.dot`` can be checked against the code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_ce.random import manual_seed
from tinygrad_ce.tensor import Tensor
from tinygrad_ce.viz.compare import draw_comparison
from tinygrad_ce.viz.dot import draw_graph
from tinygrad_ce.viz.render import Graph

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


def model_from_checkpoint(path: str | os.PathLike[str], activation: str = "relu") -> Any:
    """Rebuild a ``Sequential`` of ``Linear`` layers (an ``nn.MLP``) from a checkpoint saved
    by ``Module.save``: keys ``"<i>.weight"`` of shape (out, in), optional ``"<i>.bias"``,
    with ``activation`` between consecutive layers."""
    from tinygrad_ce import nn

    state = nn.load(path)
    layers: dict[int, tuple[int, int, bool]] = {}
    for key, arr in state.items():
        index, _, what = key.partition(".")
        if not index.isdigit() or what not in ("weight", "bias"):
            raise ValueError(
                f"{os.fspath(path)!r}: key {key!r} is not '<index>.weight' or '<index>.bias'; "
                "expected a checkpoint of an nn.MLP / Sequential of Linear layers"
            )
        if what == "weight":
            if arr.ndim != 2:
                raise ValueError(f"{os.fspath(path)!r}: {key} has shape {arr.shape}; "
                                 "expected (out_features, in_features)")
            layers[int(index)] = (arr.shape[1], arr.shape[0], f"{index}.bias" in state)
    if not layers:
        raise ValueError(f"{os.fspath(path)!r} holds no '<index>.weight'; expected an nn.MLP")
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    if activation not in acts:
        raise ValueError(f"activation={activation!r}: expected one of {', '.join(acts)}")
    modules: list[Any] = []
    last = max(layers)
    for i in range(last + 1):
        if i in layers:
            fin, fout, bias = layers[i]
            dt = state[f"{i}.weight"].dtype
            modules.append(nn.Linear(fin, fout, bias=bias, dtype=dt))
        elif i - 1 in layers:
            modules.append(acts[activation]())
        else:
            modules.append(nn.Identity())
    model = nn.Sequential(*modules)
    model.load_state_dict(state)
    return model


def checkpoint_step(path: str | os.PathLike[str], batch: int = 4, seed: int = 0,
                    activation: str = "relu") -> Graph:
    """One training step of the model saved at ``path`` on a random batch (fixed seed)."""
    model = model_from_checkpoint(path, activation)
    first = model[0]
    rng = np.random.default_rng(seed)
    dt = first.weight.numpy().dtype
    xs = rng.standard_normal((batch, first.in_features)).astype(dt)
    ys = rng.integers(0, model[len(model) - 1].out_features, batch)
    return _step_graph(model, Tensor(xs, name="x"), Tensor(ys, name="y"),
                       f"One training step of {os.path.basename(os.fspath(path))} "
                       f"on a random batch of {batch}")


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
}


def example(name: str) -> Graph:
    """The graph of the named example (see ``EXAMPLES``)."""
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; expected one of {', '.join(EXAMPLES)}")
    return EXAMPLES[name][0]()
