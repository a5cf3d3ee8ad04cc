"""Cross-entropy three ways (fused, unfused, plain numpy) against torch, over every option.

The matrix: reduction x weight x ignored elements x label smoothing x index or probability
targets x input shape x dtype. In each cell the fused op, the unfused op, ``cross_entropy_grad``
and torch agree on the loss and the gradient, and both ops' double backward (a
Hessian-vector product) agrees with torch's.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
import tinygrad_ce.nn.functional as F
from tests.helpers import assert_close, compare
from tinygrad_ce import autograd

C = 5
SHAPES = [(C,), (4, C), (3, C, 2), (2, C, 2, 3)]
REDUCTIONS = ["none", "mean", "sum"]
DTYPES = [np.float32, np.float64]
OURS = {"fused": F.cross_entropy, "unfused": F.cross_entropy_unfused}
ROOT = Path(__file__).resolve().parent.parent


# ----- one cell of the matrix -------------------------------------------------------------
@dataclass
class Cell:
    shape: tuple[int, ...]
    reduction: str
    weighted: bool
    ignored: bool
    smoothed: bool
    kind: str  # "index" or "prob"
    dtype: Any
    x: np.ndarray = field(init=False)
    target: np.ndarray = field(init=False)
    kw: dict[str, Any] = field(init=False)
    weight: np.ndarray | None = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(abs(hash(self.id())) % 2**32)
        dt = self.dtype
        self.x = (rng.standard_normal(self.shape) * 2).astype(dt)
        self.weight = rng.uniform(0.5, 2.0, C).astype(dt) if self.weighted else None
        self.kw = dict(reduction=self.reduction, label_smoothing=0.3 if self.smoothed else 0.0)
        rows = self.shape[:1] + self.shape[2:] if len(self.shape) > 1 else ()
        if self.kind == "index":
            self.target = rng.integers(0, C, rows)
            if self.ignored and self.shape == (C,):
                self.target = np.array(-100)  # the only element ignored: mean is nan
            elif self.ignored:  # an in-range ignore_index: class 2 is not counted
                self.kw["ignore_index"] = 2
                self.target.flat[0] = 2
        else:
            p = rng.dirichlet(np.ones(C), size=int(np.prod(rows, dtype=int))).astype(dt)
            self.target = np.ascontiguousarray(np.moveaxis(p.reshape(rows + (C,)), -1,
                                                           1 if rows else 0))
            if self.ignored:  # a negative ignore_index is allowed, and changes nothing
                self.kw["ignore_index"] = -1

    def id(self) -> str:
        return (f"{'x'.join(map(str, self.shape))}-{self.reduction}"
                f"{'-weight' if self.weighted else ''}{'-ignore' if self.ignored else ''}"
                f"{'-smooth' if self.smoothed else ''}-{self.kind}-{np.dtype(self.dtype).name}")

    @property
    def arrays(self) -> list[np.ndarray]:
        """The float inputs (the gradient is taken with respect to each)."""
        return [self.x] if self.kind == "index" else [self.x, self.target]

    def torch_fn(self):  # type: ignore[no-untyped-def]
        w = None if self.weight is None else torch.tensor(self.weight)
        t = torch.tensor(self.target)
        if self.kind == "index":
            return lambda x: torch.nn.functional.cross_entropy(x, t, weight=w, **self.kw)
        return lambda x, t: torch.nn.functional.cross_entropy(x, t, weight=w, **self.kw)

    def our_fn(self, fn):  # type: ignore[no-untyped-def]
        w = None if self.weight is None else tg.Tensor(self.weight)
        t = tg.Tensor(self.target)
        if self.kind == "index":
            return lambda x: fn(x, t, weight=w, **self.kw)
        return lambda x, t: fn(x, t, weight=w, **self.kw)

    def upstream(self, shape: tuple[int, ...]) -> np.ndarray:
        return (np.random.default_rng(7).standard_normal(shape) + 1.5).astype(self.dtype)


CELLS = [Cell(*c) for c in itertools.product(SHAPES, REDUCTIONS, [False, True], [False, True],
                                             [False, True], ["index", "prob"], DTYPES)]


@pytest.mark.parametrize("cell", CELLS, ids=Cell.id)
def test_matrix(cell: Cell) -> None:
    # fused and unfused: loss, gradient and Hessian-vector product (create_graph=True)
    for name, fn in OURS.items():
        compare(cell.torch_fn(), cell.our_fn(fn), cell.arrays, cell.dtype,
                what=f"{name} {cell.id()}")

    # torch's loss and gradient under a non-uniform upstream gradient
    tt = [torch.tensor(a, requires_grad=True) for a in cell.arrays]
    loss_t = cell.torch_fn()(*tt)
    up = cell.upstream(tuple(loss_t.shape))
    grads_t = torch.autograd.grad(loss_t, tt, torch.tensor(up))

    # the fused op's default backward (the numpy fast path, no create_graph): the first
    # turns the forward's buffer into the gradient, a second one recomputes it
    oo = [tg.Tensor(a, requires_grad=True) for a in cell.arrays]
    loss_o = cell.our_fn(F.cross_entropy)(*oo)
    loss_o.backward(tg.Tensor(up), retain_graph=True)
    for i, (o, g) in enumerate(zip(oo, grads_t)):
        assert o.grad is not None and o.grad.dtype == np.dtype(cell.dtype)
        assert_close(o.grad, g, cell.dtype, f"fused backward, input {i}")
    loss_o.backward(tg.Tensor(up))
    for i, (o, g) in enumerate(zip(oo, grads_t)):
        assert_close(o.grad, 2 * g, cell.dtype, f"fused second backward, input {i}")

    # the plain numpy gradient, with arrays in and an array out
    g_np = F.cross_entropy_grad(cell.x, cell.target, weight=cell.weight, grad_output=up,
                                **cell.kw)
    assert isinstance(g_np, np.ndarray) and g_np.dtype == np.dtype(cell.dtype)
    assert_close(g_np, grads_t[0], cell.dtype, "cross_entropy_grad")


def test_matrix_size() -> None:
    assert len(CELLS) == 4 * 3 * 2 * 2 * 2 * 2 * 2 == 384


# ----- the graphs ---------------------------------------------------------------------------
def ops(loss: tg.Tensor) -> Counter[str]:
    return Counter(n.op for n in autograd.topological_order([loss]) if n.parents)


def test_fused_graph_is_one_node() -> None:
    x = tg.randn(4, C, requires_grad=True)
    for kw in ({}, dict(weight=tg.rand(C), ignore_index=1, label_smoothing=0.2,
                        reduction="none")):
        loss = F.cross_entropy(x, tg.tensor([0, 1, 2, 3]), **kw)
        assert ops(loss) == Counter({"cross_entropy": 1})
        assert loss.parents == (x,)
    probs = tg.randn(4, C).softmax(1).requires_grad_()
    loss = F.cross_entropy(x, probs, label_smoothing=0.1)
    assert ops(loss) == Counter({"cross_entropy": 1}) and loss.parents == (x, probs)


def test_unfused_graph_has_one_node_per_primitive() -> None:
    x = tg.randn(4, C, requires_grad=True)
    t = tg.tensor([0, 1, 2, 3])
    # z = x - max, log p = z - log(sum(exp(z))), picked = log p[i, t_i], * -1, sum, / N
    assert ops(F.cross_entropy_unfused(x, t)) == Counter(
        sub=2, exp=1, sum=2, log=1, getitem=1, mul=1, div=1)
    assert sum(ops(F.cross_entropy_unfused(x, t)).values()) == 9
    # smoothing with weights adds log p * w, its sum over classes, the scale and the sub
    assert ops(F.cross_entropy_unfused(x, t, weight=tg.rand(C), label_smoothing=0.1)) == \
        Counter(sub=3, exp=1, sum=3, log=1, getitem=1, mul=3, div=1)


# ----- finite differences ---------------------------------------------------------------------
GRADCHECK_CASES = [
    dict(target=np.array([0, 3, 1]), reduction="mean"),
    dict(target=np.array([0, 3, 1]), reduction="none", ignore_index=3, label_smoothing=0.2,
         weight=np.array([0.5, 1.0, 2.0, 1.5])),
    dict(target=np.array([[0, 2], [1, 1], [3, -100]]), reduction="sum", label_smoothing=0.1,
         shape=(3, 4, 2)),
    dict(target="prob", reduction="mean", label_smoothing=0.25,
         weight=np.array([0.5, 1.0, 2.0, 1.5])),
]


@pytest.mark.parametrize("name", OURS)
@pytest.mark.parametrize("case", GRADCHECK_CASES, ids=lambda c: f"{c['reduction']}")
def test_gradcheck_and_gradgradcheck(name: str, case: dict[str, Any]) -> None:
    case = dict(case)
    shape = case.pop("shape", (3, 4))
    rng = np.random.default_rng(3)
    x = tg.Tensor(rng.standard_normal(shape), requires_grad=True)
    w = case.pop("weight", None)
    w = None if w is None else tg.Tensor(w.astype(np.float64))
    target = case.pop("target")
    inputs = [x]
    if isinstance(target, str):  # probabilities: differentiate with respect to them too
        t = tg.Tensor(rng.dirichlet(np.ones(shape[1]), shape[0]), requires_grad=True)
        inputs.append(t)
        fn = lambda x, t: OURS[name](x, t, weight=w, **case)  # noqa: E731
    else:
        fn = lambda x: OURS[name](x, tg.Tensor(target), weight=w, **case)  # noqa: E731
    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


# ----- numerics -------------------------------------------------------------------------------
def textbook(x: tg.Tensor, y: np.ndarray) -> tg.Tensor:
    """The formula as first written down: no shift, so exp overflows float32 above ~88.7."""
    one_hot = F.one_hot(tg.Tensor(y), x.shape[1]).float()
    return -(one_hot * (x - x.exp().sum(1, keepdim=True).log())).sum(1).mean()


def test_textbook_formula_overflows_in_float32_and_ours_do_not() -> None:
    y = np.array([0, 2, 1])
    near = np.array([[89.0, 0.0, 0.0], [0.0, 1.0, 2.0], [3.0, 0.0, -1.0]], np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(textbook(tg.Tensor(near), y).item())  # exp(89) > float32 max
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((6, 4)) * 1e4).astype(np.float32)
    y = rng.integers(0, 4, 6)
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(textbook(tg.Tensor(x), y).item())
    xt = torch.tensor(x, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(xt, torch.tensor(y), label_smoothing=0.1)
    (grad_t,) = torch.autograd.grad(loss_t, xt)
    for fn in OURS.values():
        xo = tg.Tensor(x, requires_grad=True)
        loss = fn(xo, tg.Tensor(y), label_smoothing=0.1)
        loss.backward()
        assert np.isfinite(loss.item()) and np.isfinite(xo.grad.numpy()).all()
        assert_close(loss, loss_t, np.float32, "loss at 1e4")
        assert_close(xo.grad, grad_t, np.float32, "grad at 1e4")
    g = F.cross_entropy_grad(x, y, label_smoothing=0.1)
    assert_close(g, grad_t, np.float32, "numpy grad at 1e4")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_backward_path_keeps_precision_far_from_zero(dtype: Any) -> None:
    # logits near 1e4 with spread ~1: the first backward, a second one (recomputed from the
    # saved shift), the target's gradient and the double backward all agree with torch
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((5, 4)) + 1e4).astype(dtype)
    t = rng.dirichlet(np.ones(4), 5).astype(dtype)
    kw = dict(label_smoothing=0.2, weight=np.array([1.0, 2.0, 0.5, 1.5], dtype))
    xt, tt = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(xt, tt, weight=torch.tensor(kw["weight"]),
                                               label_smoothing=0.2)
    gx_t, gt_t = torch.autograd.grad(loss_t, (xt, tt))
    xo, to = tg.Tensor(x, requires_grad=True), tg.Tensor(t, requires_grad=True)
    loss = F.cross_entropy(xo, to, **kw)
    loss.backward(retain_graph=True)
    assert_close(loss, loss_t, dtype, "loss")
    assert_close(xo.grad, gx_t, dtype, "grad of x")
    assert_close(to.grad, gt_t, dtype, "grad of target")
    loss.backward()
    assert_close(xo.grad, 2 * gx_t, dtype, "second backward, x")
    assert_close(to.grad, 2 * gt_t, dtype, "second backward, target")
    compare(lambda a, b: torch.nn.functional.cross_entropy(
                a, b, weight=torch.tensor(kw["weight"]), label_smoothing=0.2),
            lambda a, b: F.cross_entropy(a, b, **kw), [x, t], dtype, what="at 1e4")


def test_float64_agrees_with_torch_to_1e12() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 10)) * 3, rng.integers(0, 10, 16)
    xt = torch.tensor(x, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(xt, torch.tensor(y))
    (grad_t,) = torch.autograd.grad(loss_t, xt)
    for fn in OURS.values():
        xo = tg.Tensor(x, requires_grad=True)
        loss = fn(xo, tg.Tensor(y))
        loss.backward()
        assert loss.dtype == np.float64 and xo.grad.dtype == np.float64
        assert abs(loss.item() - loss_t.item()) < 1e-12
        assert np.abs(xo.grad.numpy() - grad_t.numpy()).max() < 1e-12


# ----- torch's semantics at the edges ----------------------------------------------------------
def both(fn_t, fn_o, x: np.ndarray, target: Any, what: str, **kw: Any) -> None:  # type: ignore[no-untyped-def]
    """Loss and gradient of ours against torch's for one call."""
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(target)
    loss_t = fn_t(xt, tt, **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                             for k, v in kw.items()})
    xo = tg.Tensor(x, requires_grad=True)
    loss_o = fn_o(xo, tg.Tensor(target), **kw)
    assert_close(loss_o, loss_t, x.dtype, f"{what} loss")
    up = np.ones(loss_t.shape, x.dtype)
    (grad_t,) = torch.autograd.grad(loss_t, xt, torch.tensor(up))
    loss_o.backward(tg.Tensor(up))
    assert_close(xo.grad, grad_t, x.dtype, f"{what} grad")
    if fn_o is F.cross_entropy:
        g = F.cross_entropy_grad(x, target, grad_output=up, **kw)
        assert_close(g, grad_t, x.dtype, f"{what} numpy grad")


EDGES = {
    "empty batch, indices": (np.zeros((0, 4)), np.zeros(0, np.int64), {}),
    "empty batch, probabilities": (np.zeros((0, 4)), np.zeros((0, 4)), {}),
    "empty batch, smoothing, weight": (np.zeros((0, 4)), np.zeros(0, np.int64),
                                       dict(label_smoothing=0.1, weight=np.ones(4))),
    "all ignored (nan mean, zero gradient)": (np.arange(12.0).reshape(3, 4) / 7,
                                              np.full(3, -100), {}),
    "all ignored, smoothing": (np.arange(12.0).reshape(3, 4) / 7, np.full(3, 1),
                               dict(ignore_index=1, label_smoothing=0.2)),
    "ignore_index out of [0, C) does not raise": (np.arange(12.0).reshape(3, 4) / 7,
                                                  np.array([0, 7, 3]), dict(ignore_index=7)),
    "negative ignore_index with probabilities": (np.arange(12.0).reshape(3, 4) / 7,
                                                 np.full((3, 4), 0.25), dict(ignore_index=-5)),
    "probabilities that are not a distribution": (np.arange(12.0).reshape(3, 4) / 7,
                                                  -np.ones((3, 4)), {}),
    "(C,) input, 0-d target": (np.arange(4.0) / 3, np.array(2), {}),
    "(C,) input, probabilities, weight": (np.arange(4.0) / 3, np.full(4, 0.25),
                                          dict(weight=np.arange(1.0, 5.0),
                                               label_smoothing=0.3)),
    "uint8 targets": (np.arange(12.0).reshape(3, 4) / 7, np.array([0, 3, 1], np.uint8), {}),
    "one class has zero weight": (np.arange(12.0).reshape(3, 4) / 7, np.array([0, 3, 1]),
                                  dict(weight=np.array([1.0, 1.0, 1.0, 0.0]))),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("name", OURS)
def test_edges_match_torch(name: str, edge: str, reduction: str) -> None:
    x, target, kw = EDGES[edge]
    both(torch.nn.functional.cross_entropy, OURS[name], x, target, edge, reduction=reduction,
         **kw)


def test_one_sample_target_of_shape_1_is_a_0d_target() -> None:
    # torch accepts a (1,) target for a (C,) input (its reduction='none' backward then fails)
    x = tg.randn(4)
    for fn in OURS.values():
        for reduction in REDUCTIONS:
            a = fn(x, np.array([2]), reduction=reduction)
            b = fn(x, np.array(2), reduction=reduction)
            assert a.shape == b.shape == () and a.item() == b.item()


def test_all_ignored_mean_is_nan_with_zero_gradient() -> None:
    for fn in OURS.values():
        x = tg.randn(3, 4, requires_grad=True)
        loss = fn(x, tg.tensor([-100, -100, -100]))
        assert np.isnan(loss.item())
        loss.backward()
        assert np.array_equal(x.grad.numpy(), np.zeros((3, 4), np.float32))


def test_probability_targets_promote_like_torch() -> None:
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    t = np.full((3, 4), 0.25)  # float64
    loss_t = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t))
    for fn in OURS.values():
        xo = tg.Tensor(x, requires_grad=True)
        loss = fn(xo, tg.Tensor(t))
        assert loss.dtype == np.float64 == loss_t.numpy().dtype
        assert_close(loss, loss_t, np.float32)  # torch takes log-softmax in float32 first
        loss.backward()
        assert xo.grad.dtype == np.float32


def test_integer_targets_of_any_width() -> None:
    x = tg.randn(3, 4)
    ref = F.cross_entropy(x, np.array([0, 3, 1])).item()
    for dt in (np.int8, np.int16, np.int32, np.uint8, np.uint16):
        assert F.cross_entropy(x, np.array([0, 3, 1], dt)).item() == ref
    assert F.cross_entropy(x, [0, 3, 1]).item() == ref


def test_cross_entropy_grad_inputs_and_grad_output() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    # the short answer: softmax minus one-hot, over N
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = (p - np.eye(3)[y]) / 5
    for xx, yy in ((x, y), (tg.Tensor(x), tg.Tensor(y))):
        g = F.cross_entropy_grad(xx, yy)
        assert isinstance(g, np.ndarray)
        np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-15)
    # reduction='none' with grad_output defaulting to ones: the gradient of the summed losses
    np.testing.assert_allclose(F.cross_entropy_grad(x, y, reduction="none"), expected * 5,
                               rtol=1e-12)
    np.testing.assert_allclose(F.cross_entropy_grad(x, y, grad_output=2.0), expected * 2,
                               rtol=1e-12)
    with pytest.raises(ValueError, match=r"grad_output has shape \(3,\); expected .*\(5,\)"):
        F.cross_entropy_grad(x, y, reduction="none", grad_output=np.ones(3))
    with pytest.raises(ValueError, match="grad_output"):
        F.cross_entropy_grad(x, y, grad_output=np.ones(5))


def test_backward_twice_with_retain_graph_and_under_no_grad() -> None:
    x = tg.randn(4, 3, requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([0, 1, 2, 0]))
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)
    with tg.no_grad():
        assert F.cross_entropy(x, tg.tensor([0, 1, 2, 0])).parents == ()


# ----- bad input --------------------------------------------------------------------------------
X = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
Y = np.array([0, 1, 2])
BAD: list[tuple[str, dict[str, Any], type[Exception], str, bool]] = [
    # (id, arguments, error type, message pattern, torch raises the same type)
    ("label_smoothing above 1", dict(label_smoothing=1.5), RuntimeError,
     r"label_smoothing must be between 0.0 and 1.0. Got: 1.5", True),
    ("label_smoothing not a number", dict(label_smoothing="0.1"), TypeError,
     r"label_smoothing='0.1'", True),
    ("weight of the wrong length", dict(weight=np.ones(3, np.float32)), RuntimeError,
     r"weight tensor should be defined either for all 4 classes .* shape: \[3\]", True),
    ("weight not 1-D", dict(weight=np.ones((1, 4), np.float32)), RuntimeError,
     r"weight tensor .* shape: \[1, 4\]", True),
    ("weight of another dtype", dict(weight=np.ones(4)), RuntimeError,
     r"expected scalar type Float but found Double \(weight has dtype float64", True),
    ("weight that requires grad", dict(weight="requires_grad"), RuntimeError,
     r"weight requires grad", True),
    ("float class-index targets", dict(target=Y.astype(np.float32)), RuntimeError,
     r"expected target dtype to be Long or Byte, but got Float \(target has dtype float32",
     True),
    ("integer targets of the input's shape", dict(target=np.zeros((3, 4), np.int64)),
     RuntimeError, r"Expected floating point type for target with class probabilities, "
     r"got Long", True),
    ("bool targets", dict(target=np.array([True, False, True])), RuntimeError,
     r"target has dtype bool", True),
    ("batch size mismatch", dict(target=np.array([0, 1])), ValueError,
     r"Expected input batch_size \(3\) to match target batch_size \(2\)", True),
    ("spatial shape mismatch", dict(input=np.zeros((2, 4, 5), np.float32),
                                    target=np.zeros((2, 6), np.int64)), RuntimeError,
     r"Expected target size \[2, 5\], got \[2, 6\]", True),
    ("spatial dims missing", dict(input=np.zeros((2, 4, 5), np.float32),
                                  target=np.zeros(2, np.int64)), RuntimeError,
     r"Expected target size \[2, 5\], got \[2\]", True),
    ("probabilities of another shape", dict(target=np.full((3, 5), 0.2, np.float32)),
     RuntimeError, r"0D or 1D target tensor expected, multi-target not supported "
     r"\(target of shape \(3, 5\)", True),
    ("(C,) input with a batch of targets", dict(input=X[0], target=Y), ValueError,
     r"For 1D input, 1D target must have size 1, but got target size: 3", True),
    ("target above the classes", dict(target=np.array([0, 4, 1])), IndexError,
     r"Target 4 is out of bounds: target values must be in \[0, 4\)", True),
    ("negative target", dict(target=np.array([0, -1, 1])), IndexError,
     r"Target -1 is out of bounds", True),
    ("ignore_index with probabilities", dict(target=np.full((3, 4), 0.25, np.float32),
                                             ignore_index=1), RuntimeError,
     r"ignore_index=1: ignore_index is not supported for floating point target", True),
    ("ignore_index not an int", dict(ignore_index=1.0), TypeError,
     r"ignore_index=1.0 must be an int", True),
    ("unknown reduction", dict(reduction="avg"), ValueError,
     r"reduction='avg': avg is not a valid value for reduction", True),
    ("integer input", dict(input=np.zeros((3, 4), np.int64)), TypeError,
     r"input has dtype int64; expected a floating point tensor", False),
    ("0-d input", dict(input=np.float32(1.0), target=np.array(0)), RuntimeError,
     r"input is 0-d", False),
]


def call(fn, args: dict[str, Any], torch_side: bool = False):  # type: ignore[no-untyped-def]
    args = dict(args)
    x = args.pop("input", X)
    t = args.pop("target", Y)
    mk = torch.tensor if torch_side else tg.Tensor
    if isinstance(args.get("weight"), str):
        args["weight"] = mk(np.ones(4, np.float32), requires_grad=True)
    elif isinstance(args.get("weight"), np.ndarray):
        args["weight"] = mk(args["weight"])
    xt = mk(x, requires_grad=x.dtype.kind == "f")
    return fn(xt, mk(t), **args)


@pytest.mark.parametrize("name", list(OURS) + ["grad"])
@pytest.mark.parametrize("bad", BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_before_recording(name: str, bad: tuple, monkeypatch) -> None:  # type: ignore[no-untyped-def,type-arg]
    _, args, error, pattern, torch_same = bad
    fn = {"grad": F.cross_entropy_grad, **OURS}[name]
    recorded: list[str] = []
    tensor_module = sys.modules["tinygrad_ce.tensor"]
    real = tensor_module.record

    def spy(data, parents, op, backward, **kw):  # type: ignore[no-untyped-def]
        recorded.append(op)
        return real(data, parents, op, backward, **kw)

    monkeypatch.setattr(tensor_module, "record", spy)
    monkeypatch.setattr(F, "record", spy)
    with pytest.raises(error, match=pattern) as info:
        call(fn, args)
    assert recorded == [], f"recorded {recorded} before raising"
    argument = re.search(r"label_smoothing|weight|target|ignore_index|reduction|input",
                         str(info.value))
    assert argument, f"the message does not name the argument: {info.value}"
    if torch_same:
        with pytest.raises(error):
            call(torch.nn.functional.cross_entropy, args, torch_side=True)


@pytest.mark.parametrize("name", list(OURS))
def test_negative_label_smoothing_means_none_as_in_torch(name: str) -> None:
    # torch checks only the upper bound and smooths only when label_smoothing > 0
    x, y = torch.tensor(X), torch.tensor(Y)
    theirs = torch.nn.functional.cross_entropy(x, y, label_smoothing=-0.1)
    assert theirs == torch.nn.functional.cross_entropy(x, y)
    ours = OURS[name](tg.Tensor(X), tg.Tensor(Y), label_smoothing=-0.1)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)


# ----- the example ------------------------------------------------------------------------------
def test_example_script_three_columns_agree() -> None:
    script = ROOT / "examples" / "cross_entropy_backward.py"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(script), "--steps", "12", "--every", "5"],
                         capture_output=True, text=True, env=env, timeout=120, check=True)
    rows = [line.split() for line in out.stdout.splitlines()
            if re.match(r"^\s*\d+\s+[-\d.e+]+\s+[-\d.e+]+\s+[-\d.e+]+\s*$", line)]
    assert len(rows) >= 2, out.stdout
    losses = np.array([[float(v) for v in r[1:]] for r in rows])
    assert np.abs(losses[:, 1] - losses[:, 0]).max() < 1e-5
    assert np.abs(losses[:, 2] - losses[:, 0]).max() < 1e-5
    assert "max |grad difference|" in out.stdout
    assert "hand-written backward matches the engine" in out.stdout



def test_example_script_says_it_needs_torch(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['torch'] = None\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "cross_entropy_backward.py")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip() == ("this example runs torch beside tinygrad_ce: install it with "
                                  'the test extra, pip install -c constraints.txt -e ".[test]"')
