"""softmax, log_softmax, one_hot, mse_loss and nll_loss against torch."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
import tinygrad_ce.nn.functional as F
from tests.helpers import assert_close, compare, inputs

DTYPES = [np.float32, np.float64]
TF = torch.nn.functional


# ----- softmax and log_softmax ------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -1),
                                       ((2, 3, 4), 1), ((0, 4), 1)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family(name: str, shape: tuple[int, ...], dim: int, dtype: Any) -> None:
    (x,) = inputs([shape], dtype)
    compare(lambda t: getattr(TF, name)(t, dim), lambda t: getattr(F, name)(t, dim), [x * 3],
            dtype, what=f"{name} {shape} dim={dim}")


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_is_one_node_and_stable(name: str) -> None:
    x = np.array([[1e4, -1e4, 0.0], [88.0, 89.0, 90.0]], np.float32)
    out = getattr(F, name)(tg.Tensor(x, requires_grad=True), 1)
    assert out.op == name and all(p.is_leaf for p in out.parents)
    assert np.isfinite(out.numpy()).all()
    assert_close(out, getattr(TF, name)(torch.tensor(x), 1), np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_keeps_precision_far_from_zero(dtype: Any) -> None:
    # x - (max + log sum) would round log p to the spacing of 1e4 in float32 (~1e-3)
    (x,) = inputs([(4, 6)], dtype)
    compare(lambda t: TF.log_softmax(t, 1), lambda t: F.log_softmax(t, 1),
            [(x + 1e4).astype(dtype)], dtype, what="log_softmax at 1e4")


def test_softmax_dtype_argument_and_implicit_dim() -> None:
    x = tg.randn(2, 3)
    assert F.softmax(x, 1, dtype=tg.float64).dtype == np.float64
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        implicit = F.softmax(x)
    with pytest.warns(UserWarning):
        implicit_t = TF.softmax(torch.tensor(x.numpy()))
    assert_close(implicit, implicit_t, np.float32)
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.softmax(x, 2)


# ----- one_hot ------------------------------------------------------------------------------
@pytest.mark.parametrize("values,num_classes", [([0, 2, 1], -1), ([0, 2], 5), (3, 4),
                                                ([[1, 0], [2, 2]], 3), ([], 3)])
def test_one_hot(values: Any, num_classes: int) -> None:
    t = np.array(values, dtype=np.int64)
    ours = F.one_hot(tg.Tensor(t), num_classes)
    theirs = TF.one_hot(torch.tensor(t), num_classes)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("values,num_classes,pattern", [
    ([0, -1], 3, "Class values must be non-negative"),
    ([0, 3], 3, "Class values must be smaller than num_classes"),
    ([], -1, "Can not infer total number of classes"),
])
def test_one_hot_errors(values: list[int], num_classes: int, pattern: str) -> None:
    t = np.array(values, dtype=np.int64)
    for fn, mk in ((F.one_hot, tg.Tensor), (TF.one_hot, torch.tensor)):
        with pytest.raises(RuntimeError, match=pattern):
            fn(mk(t), num_classes)
    with pytest.raises(RuntimeError, match="index tensor"):
        F.one_hot(tg.tensor([0.0, 1.0]), 2)


# ----- mse_loss -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("shape", [(5,), (3, 4)])
def test_mse_loss(shape: tuple[int, ...], reduction: str, dtype: Any) -> None:
    compare(lambda a, b: TF.mse_loss(a, b, reduction=reduction),
            lambda a, b: F.mse_loss(a, b, reduction=reduction), inputs([shape, shape], dtype),
            dtype, what=f"mse {shape} {reduction}")


def test_mse_loss_broadcast_warns_like_torch_and_errors() -> None:
    a, b = np.ones(3, np.float32), np.zeros((2, 3), np.float32)
    with pytest.warns(UserWarning, match="different to the input size"):
        ours = F.mse_loss(tg.Tensor(a), tg.Tensor(b))
    with pytest.warns(UserWarning):
        theirs = TF.mse_loss(torch.tensor(a), torch.tensor(b))
    assert_close(ours, theirs, np.float32)
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        F.mse_loss(tg.ones(3), tg.zeros(4))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(tg.ones(3), tg.zeros(3), reduction="avg")


# ----- nll_loss -----------------------------------------------------------------------------
NLL = list(itertools.product([(5,), (4, 5), (3, 5, 2)], ["none", "mean", "sum"],
                             [False, True], [False, True], DTYPES))


@pytest.mark.parametrize("shape,reduction,weighted,ignored,dtype", NLL)
def test_nll_loss(shape: tuple[int, ...], reduction: str, weighted: bool, ignored: bool,
                  dtype: Any) -> None:
    rng = np.random.default_rng(len(shape) * 7 + weighted * 2 + ignored)
    rows = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = rng.integers(0, 5, rows)
    kw: dict[str, Any] = dict(reduction=reduction)
    if ignored and len(shape) > 1:
        kw["ignore_index"] = 1
        t.flat[0] = 1
    w = rng.uniform(0.5, 2, 5).astype(dtype) if weighted else None
    (x,) = inputs([shape], dtype)
    compare(lambda a: TF.nll_loss(a, torch.tensor(t), None if w is None else torch.tensor(w),
                                  **kw),
            lambda a: F.nll_loss(a, tg.Tensor(t), None if w is None else tg.Tensor(w), **kw),
            [x], dtype, what=f"nll {shape} {kw}")


def test_nll_loss_all_ignored_and_errors() -> None:
    x = tg.randn(3, 4, requires_grad=True)
    loss = F.nll_loss(x, tg.tensor([-100, -100, -100]))
    assert np.isnan(loss.item())
    loss.backward()
    assert not x.grad.numpy().any()
    with pytest.raises(IndexError, match="Target 9 is out of bounds"):
        F.nll_loss(x, tg.tensor([0, 1, 9]))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target"):
        F.nll_loss(x, tg.tensor(np.full((3, 4), 0.25, np.float32)))  # torch's words
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte"):
        F.nll_loss(x, tg.tensor(np.full(3, 1.0, np.float32)))
    with pytest.raises(ValueError, match="batch_size"):
        F.nll_loss(x, tg.tensor([0, 1]))
