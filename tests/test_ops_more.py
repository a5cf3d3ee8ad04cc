"""The everyday ops against torch: forward, gradient and second derivative, float32 and
float64 (shapes include 0-d and broadcasting where the op broadcasts)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinygrad_ce as tg
import tinygrad_ce.nn.functional as F
from tests.helpers import assert_close, compare, inputs

DTYPES = [np.float32, np.float64]
IDS = ["f32", "f64"]

# name: (torch fn, our fn, positive inputs?)
UNARY = {
    "leaky_relu": (TF.leaky_relu, F.leaky_relu, False),
    "leaky_relu-0.2": (lambda a: TF.leaky_relu(a, 0.2), lambda a: F.leaky_relu(a, 0.2), False),
    "gelu": (TF.gelu, F.gelu, False),
    "gelu-tanh": (lambda a: TF.gelu(a, approximate="tanh"),
                  lambda a: F.gelu(a, approximate="tanh"), False),
    "softplus": (TF.softplus, F.softplus, False),
    "softplus-beta": (lambda a: TF.softplus(a, 2.0, 1.0), lambda a: F.softplus(a, 2.0, 1.0),
                      False),
    "elu": (TF.elu, F.elu, False),
    "elu-alpha": (lambda a: TF.elu(a, 0.5), lambda a: F.elu(a, 0.5), False),
    "silu": (TF.silu, F.silu, False),
    "mish": (TF.mish, F.mish, False),
    "relu6": (lambda a: TF.relu6(a * 4), lambda a: F.relu6(a * 4), False),
    "hardtanh": (TF.hardtanh, F.hardtanh, False),
    "hardtanh-range": (lambda a: TF.hardtanh(a, -0.3, 0.6),
                       lambda a: F.hardtanh(a, -0.3, 0.6), False),
    "logsigmoid": (TF.logsigmoid, F.logsigmoid, False),
    "F.relu": (TF.relu, F.relu, False),
    "F.sigmoid": (torch.sigmoid, F.sigmoid, False),
    "F.tanh": (torch.tanh, F.tanh, False),
    "sign": (torch.sign, tg.sign, False),
    "sin": (torch.sin, tg.sin, False),
    "cos": (torch.cos, tg.cos, False),
    "log1p": (torch.log1p, tg.log1p, True),
    "expm1": (torch.expm1, tg.expm1, False),
    "log2": (torch.log2, tg.log2, True),
    "log10": (torch.log10, tg.log10, True),
    "rsqrt": (torch.rsqrt, tg.rsqrt, True),
    "reciprocal": (torch.reciprocal, tg.reciprocal, True),
    "erf": (torch.erf, tg.erf, False),
    "floor": (lambda a: torch.floor(a * 3), lambda a: tg.floor(a * 3), False),
    "ceil": (lambda a: torch.ceil(a * 3), lambda a: tg.ceil(a * 3), False),
    "round": (lambda a: torch.round(a * 3), lambda a: tg.round(a * 3), False),
    "trunc": (lambda a: torch.trunc(a * 3), lambda a: tg.trunc(a * 3), False),
    "frac": (lambda a: torch.frac(a * 3), lambda a: tg.frac(a * 3), False),
    "nan_to_num": (torch.nan_to_num, tg.nan_to_num, False),
    "prod": (torch.prod, tg.prod, False),
    "norm": (torch.norm, tg.norm, False),
    "norm-1": (lambda a: a.norm(1), lambda a: a.norm(1), False),
    "norm-3": (lambda a: a.norm(3), lambda a: a.norm(3), True),
    "norm-inf": (lambda a: a.norm(float("inf")), lambda a: a.norm(float("inf")), False),
    "flip0": (lambda a: a.flip(0) if a.ndim else a.flip(()),
              lambda a: a.flip(0) if a.ndim else a.flip(()), False),
    "clone-contiguous": (lambda a: a.contiguous(), lambda a: a.contiguous(), False),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("shape", [(), (5,), (2, 3)], ids=str)
@pytest.mark.parametrize("op", UNARY)
def test_unary(op: str, shape: tuple, dtype: type) -> None:
    torch_fn, our_fn, positive = UNARY[op]
    compare(torch_fn, our_fn, inputs([shape], dtype, positive=positive), dtype, what=op)


def test_activations_at_large_and_special_values() -> None:
    x = np.array([-100.0, -20.0, -1.0, 0.0, 1e-8, 1.0, 10.0, 20.0, 50.0, 100.0])
    for dtype in DTYPES:
        for op in ("gelu", "gelu-tanh", "softplus", "softplus-beta", "elu", "silu", "mish",
                   "logsigmoid", "leaky_relu", "hardtanh", "relu6", "erf"):
            torch_fn, our_fn, _ = UNARY[op]
            compare(torch_fn, our_fn, [x.astype(dtype)], dtype, what=op, double=False)


REDUCE = {
    "prod-dim": (lambda a: a.prod(1), lambda a: a.prod(1)),
    "prod-keepdim": (lambda a: a.prod(0, keepdim=True), lambda a: a.prod(0, keepdim=True)),
    "cumsum": (lambda a: a.cumsum(1), lambda a: a.cumsum(1)),
    "cumsum-0": (lambda a: a.cumsum(-2), lambda a: a.cumsum(-2)),
    "norm-dim": (lambda a: a.norm(dim=1), lambda a: a.norm(dim=1)),
    "norm-keepdim": (lambda a: a.norm(2, 0, True), lambda a: a.norm(2, 0, True)),
    "norm-1-dim": (lambda a: a.norm(1, dim=1), lambda a: a.norm(1, dim=1)),
    "std_mean": (lambda a: sum(torch.std_mean(a, 1)), lambda a: sum(tg.std_mean(a, 1))),
    "var_mean": (lambda a: sum(torch.var_mean(a, 0, keepdim=True)),
                 lambda a: sum(tg.var_mean(a, 0, keepdim=True))),
    "median": (torch.median, tg.median),
    "median-dim": (lambda a: a.median(1).values, lambda a: a.median(1).values),
    "sort": (lambda a: a.sort(1).values, lambda a: a.sort(1).values),
    "sort-desc": (lambda a: a.sort(0, descending=True)[0],
                  lambda a: a.sort(0, descending=True)[0]),
    "topk": (lambda a: a.topk(2).values, lambda a: a.topk(2).values),
    "topk-smallest": (lambda a: a.topk(2, 0, largest=False)[0],
                      lambda a: a.topk(2, 0, largest=False)[0]),
    "flip": (lambda a: a.flip(0, 1), lambda a: a.flip(0, 1)),
    "fliplr": (torch.fliplr, tg.fliplr),
    "roll": (lambda a: a.roll(1, 1), lambda a: a.roll(1, 1)),
    "roll-2": (lambda a: a.roll((1, -2), (0, 1)), lambda a: a.roll((1, -2), (0, 1))),
    "roll-flat": (lambda a: a.roll(2), lambda a: a.roll(2)),
    "repeat": (lambda a: a.repeat(2, 1, 3), lambda a: a.repeat(2, 1, 3)),
    "tile": (lambda a: a.tile((2,)), lambda a: a.tile((2,))),
    "repeat_interleave": (lambda a: a.repeat_interleave(2, 1),
                          lambda a: a.repeat_interleave(2, 1)),
    "repeat_interleave-flat": (lambda a: a.repeat_interleave(3),
                               lambda a: a.repeat_interleave(3)),
    "repeat_interleave-tensor": (
        lambda a: a.repeat_interleave(torch.tensor([1, 0, 2, 1]), dim=1),
        lambda a: a.repeat_interleave(tg.tensor([1, 0, 2, 1]), dim=1)),
    "tril": (torch.tril, tg.tril),
    "triu-1": (lambda a: a.triu(1), lambda a: a.triu(1)),
    "tril--1": (lambda a: a.tril(-1), lambda a: a.tril(-1)),
    "diag": (torch.diag, tg.diag),
    "diag-1": (lambda a: a.diag(1), lambda a: a.diag(1)),
    "trace": (torch.trace, tg.trace),
    "movedim": (lambda a: a.movedim(0, 1), lambda a: a.movedim(0, 1)),
    "unflatten": (lambda a: a.unflatten(1, (2, 2)), lambda a: a.unflatten(1, (2, 2))),
    "chunk": (lambda a: a.chunk(3, 1)[1] * 2 + a.chunk(3, 1)[0],
              lambda a: a.chunk(3, 1)[1] * 2 + a.chunk(3, 1)[0]),
    "split": (lambda a: a.split(3, 1)[1], lambda a: a.split(3, 1)[1]),
    "split-sizes": (lambda a: a.split([1, 3], 1)[1] ** 2, lambda a: a.split([1, 3], 1)[1] ** 2),
    "narrow": (lambda a: a.narrow(1, 1, 2), lambda a: a.narrow(1, 1, 2)),
    "unbind": (lambda a: a.unbind(1)[2], lambda a: a.unbind(1)[2]),
    "gather": (lambda a: a.gather(1, torch.tensor([[0, 0, 3], [2, 1, 1], [3, 3, 3]])),
               lambda a: a.gather(1, tg.tensor([[0, 0, 3], [2, 1, 1], [3, 3, 3]]))),
    "gather-small": (lambda a: a.gather(0, torch.tensor([[2, 0]])),
                     lambda a: a.gather(0, tg.tensor([[2, 0]]))),
    "index_select": (lambda a: a.index_select(1, torch.tensor([3, 0, 0])),
                     lambda a: a.index_select(1, tg.tensor([3, 0, 0]))),
    "masked_fill": (lambda a: a.masked_fill(a > 0.3, -2.0),
                    lambda a: a.masked_fill(a > 0.3, -2.0)),
    "masked_fill-row": (lambda a: a.masked_fill(torch.tensor([True, False, True, False]), 0.5),
                        lambda a: a.masked_fill(tg.tensor([True, False, True, False]), 0.5)),
    "scatter-value": (lambda a: a.scatter(1, torch.tensor([[0], [2], [1]]), 3.0),
                      lambda a: a.scatter(1, tg.tensor([[0], [2], [1]]), 3.0)),
    "normalize": (TF.normalize, F.normalize),
    "normalize-dim0-p1": (lambda a: TF.normalize(a, 1.0, 0), lambda a: F.normalize(a, 1.0, 0)),
    "pad": (lambda a: TF.pad(a, (1, 2)), lambda a: F.pad(a, (1, 2))),
    "pad-value": (lambda a: TF.pad(a, (1, 0, 0, 2), value=1.5),
                  lambda a: F.pad(a, (1, 0, 0, 2), value=1.5)),
    "pad-crop": (lambda a: TF.pad(a, (-1, 2)), lambda a: F.pad(a, (-1, 2))),
    "pad-reflect": (lambda a: TF.pad(a, (2, 1), mode="reflect"),
                    lambda a: F.pad(a, (2, 1), mode="reflect")),
    "pad-replicate": (lambda a: TF.pad(a, (2, 3), mode="replicate"),
                      lambda a: F.pad(a, (2, 3), mode="replicate")),
    "pad-circular": (lambda a: TF.pad(a[None], (1, 2), mode="circular")[0],
                     lambda a: F.pad(a[None], (1, 2), mode="circular")[0]),
    "T.contiguous": (lambda a: a.T.contiguous(), lambda a: a.T.contiguous()),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("op", REDUCE)
def test_shaped_op(op: str, dtype: type) -> None:
    torch_fn, our_fn = REDUCE[op]
    shape = (4,) if op in ("diag", "diag-1") else (3, 4)
    compare(torch_fn, our_fn, inputs([shape], dtype), dtype, what=op)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_trace_and_diag_of_a_matrix(dtype: type) -> None:
    compare(lambda a: a.diag(-1), lambda a: a.diag(-1), inputs([(3, 4)], dtype), dtype)
    compare(lambda a: torch.trace(a), lambda a: tg.trace(a), inputs([(4, 3)], dtype), dtype)


def test_prod_with_zeros_matches_torch() -> None:
    for arr in ([[1.0, 0.0, 3.0], [2.0, 5.0, -1.0]], [[0.0, 0.0, 3.0], [2.0, 0.0, 4.0]]):
        a = np.array(arr)
        compare(torch.prod, tg.prod, [a], np.float64)
        compare(lambda t: t.prod(1), lambda t: t.prod(1), [a], np.float64)
        compare(lambda t: t.prod(0, True), lambda t: t.prod(0, True), [a], np.float64)


def test_norm_of_zero_has_zero_gradient() -> None:
    z = np.zeros((2, 3))
    compare(lambda t: t.norm(), lambda t: t.norm(), [z], np.float64, double=False)
    # (torch's second derivative there is nan, ours 0: see docs/bad_input.md)
    compare(lambda t: TF.normalize(t), lambda t: F.normalize(t), [z], np.float64, double=False)


BINARY = {
    "mm": ((2, 3), (3, 4), torch.mm, tg.mm),
    "bmm": ((2, 2, 3), (2, 3, 4), torch.bmm, tg.bmm),
    "mv": ((2, 3), (3,), torch.mv, tg.mv),
    "dot": ((3,), (3,), torch.dot, tg.dot),
    "outer": ((3,), (4,), torch.outer, tg.outer),
    "einsum-matmul": ((2, 3), (3, 4), lambda a, b: torch.einsum("ij,jk->ik", a, b),
                      lambda a, b: tg.einsum("ij,jk->ik", a, b)),
    "einsum-implicit": ((2, 3), (4, 3), lambda a, b: torch.einsum("ij,kj", a, b),
                        lambda a, b: tg.einsum("ij,kj", a, b)),
    "einsum-batch": ((2, 2, 3), (2, 3, 4), lambda a, b: torch.einsum("bij,bjk->bik", a, b),
                     lambda a, b: tg.einsum("bij,bjk->bik", a, b)),
    "einsum-ellipsis": ((2, 2, 3), (3,), lambda a, b: torch.einsum("...j,j->...", a, b),
                        lambda a, b: tg.einsum("...j,j->...", a, b)),
    "einsum-sum-out": ((2, 3), (3,), lambda a, b: torch.einsum("ij,k->", a, b),
                       lambda a, b: tg.einsum("ij,k->", a, b)),
    "einsum-diag": ((3, 3), (3,), lambda a, b: torch.einsum("ii,i->i", a, b),
                    lambda a, b: tg.einsum("ii,i->i", a, b)),
    "einsum-list": ((2, 3), (2, 3), lambda a, b: torch.einsum("ij,ij->i", [a, b]),
                    lambda a, b: tg.einsum("ij,ij->i", [a, b])),
    "remainder": ((2, 3), (2, 3), torch.remainder, tg.remainder),
    "%": ((2, 3), (3,), lambda a, b: a % b, lambda a, b: a % b),
    "% 0.7": ((2, 3), (3,), lambda a, b: a % 0.7 + b, lambda a, b: a % 0.7 + b),
    "kl_div": ((2, 3), (2, 3), lambda a, b: TF.kl_div(a, b.abs(), reduction="batchmean"),
               lambda a, b: F.kl_div(a, b.abs(), reduction="batchmean")),
    "kl_div-sum": ((2, 3), (2, 3), lambda a, b: TF.kl_div(a, b.abs(), reduction="sum"),
                   lambda a, b: F.kl_div(a, b.abs(), reduction="sum")),
    "kl_div-none": ((2, 3), (2, 3), lambda a, b: TF.kl_div(a, b.abs(), reduction="none"),
                    lambda a, b: F.kl_div(a, b.abs(), reduction="none")),
    "kl_div-log": ((2, 3), (2, 3), lambda a, b: TF.kl_div(a, b, reduction="batchmean",
                                                         log_target=True),
                   lambda a, b: F.kl_div(a, b, reduction="batchmean", log_target=True)),
    "kl_div-mean": ((2, 3), (2, 3), lambda a, b: TF.kl_div(a, b.abs(), reduction="mean"),
                    lambda a, b: F.kl_div(a, b.abs(), reduction="mean")),
    "huber": ((2, 3), (2, 3), TF.huber_loss, F.huber_loss),
    "huber-delta": ((2, 3), (2, 3), lambda a, b: TF.huber_loss(a, b, "sum", 0.5),
                    lambda a, b: F.huber_loss(a, b, "sum", 0.5)),
    "huber-none": ((2, 3), (3,), lambda a, b: TF.huber_loss(a, b.expand(2, 3), "none", 2.0),
                   lambda a, b: F.huber_loss(a, b.expand(2, 3), "none", 2.0)),
    "scatter_add": ((3, 4), (2, 4), lambda a, b: a.scatter_add(
        0, torch.tensor([[0, 1, 2, 0], [0, 0, 2, 2]]), b),
        lambda a, b: a.scatter_add(0, tg.tensor([[0, 1, 2, 0], [0, 0, 2, 2]]), b)),
    "scatter_add-dim1": ((3, 4), (2, 2), lambda a, b: a.scatter_add(
        1, torch.tensor([[0, 3], [1, 1]]), b),
        lambda a, b: a.scatter_add(1, tg.tensor([[0, 3], [1, 1]]), b)),
    "scatter": ((3, 4), (2, 4), lambda a, b: a.scatter(
        0, torch.tensor([[0, 1, 2, 0], [1, 0, 1, 2]]), b) * a,
        lambda a, b: a.scatter(0, tg.tensor([[0, 1, 2, 0], [1, 0, 1, 2]]), b) * a),
    "masked_fill-tensor": ((2, 3), (), lambda a, b: a.masked_fill(a > 0, b) * b,
                           lambda a, b: a.masked_fill(a > 0, b) * b),
}


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("op", BINARY)
def test_binary(op: str, dtype: type) -> None:
    sa, sb, torch_fn, our_fn = BINARY[op]
    positive = op.startswith("kl_div") and op != "kl_div-log"
    arrays = inputs([sa, sb], dtype, positive=positive or op in ("2.5 %",))
    compare(torch_fn, our_fn, arrays, dtype, what=op)


@pytest.mark.parametrize("dtype", DTYPES + [np.int64], ids=IDS + ["i64"])
def test_floor_divide_and_remainder_values(dtype: type) -> None:
    a = np.array([7, -7, 7, -7, 5, 0]).astype(dtype)
    b = np.array([2, 2, -2, -2, 5, 3]).astype(dtype)
    ta, tb, oa, ob = torch.tensor(a), torch.tensor(b), tg.tensor(a), tg.tensor(b)
    for t, o in ((ta // tb, oa // ob), (ta % tb, oa % ob), (ta // 2, oa // 2),
                 (7 // tb, 7 // ob), (ta % 3, oa % 3), (torch.floor_divide(ta, tb),
                                                        tg.floor_divide(oa, ob))):
        assert str(o.dtype) == str(t.dtype).replace("torch.", "")
        assert_close(o, t, dtype if dtype != np.int64 else np.float64)


def test_floor_divide_and_scalar_remainder_backward_raise_as_torch() -> None:
    for lib in (torch, tg):
        a = lib.tensor([3.0, 5.0], requires_grad=True)
        for y, what in ((a // 2, "floor_divide"), (2.5 % a, "remainder")):
            assert y.requires_grad
            with pytest.raises(RuntimeError, match=what):
                y.sum().backward()


PREDICATES = {
    "isnan": lambda lib, a: a.isnan(),
    "isinf": lambda lib, a: lib.isinf(a),
    "isfinite": lambda lib, a: a.isfinite(),
    "all": lambda lib, a: (a > -1).all(),
    "all-dim": lambda lib, a: (a > 0).all(1),
    "any": lambda lib, a: (a > 5).any(),
    "any-dim-keepdim": lambda lib, a: (a > 1).any(0, keepdim=True),
    "logical_and": lambda lib, a: lib.logical_and(a > 0, a < 2),
    "logical_or": lambda lib, a: (a > 0).logical_or(a < -1),
    "logical_not": lambda lib, a: lib.logical_not(a > 0),
    "logical_xor": lambda lib, a: lib.logical_xor(a > 0, a < 2),
    "isclose": lambda lib, a: lib.isclose(a, a + 1e-6),
    "isclose-nan": lambda lib, a: a.isclose(a, equal_nan=True),
    "count_nonzero": lambda lib, a: lib.count_nonzero(a),
    "count_nonzero-dim": lambda lib, a: a.count_nonzero(1),
    "argsort": lambda lib, a: a.argsort(1),
    "argsort-desc": lambda lib, a: lib.argsort(a, 0, descending=True),
    "sort-indices": lambda lib, a: a.sort(1, descending=True).indices,
    "topk-indices": lambda lib, a: a.topk(2, 1).indices,
    "median-indices": lambda lib, a: a.median(0).indices,
    "sign-nan": lambda lib, a: a.sign(),
    "nan_to_num-args": lambda lib, a: a.nan_to_num(1.0, 9.0, -9.0),
    "cumsum-int": lambda lib, a: (a > 0).long().cumsum(1),
    "prod-int": lambda lib, a: (a > 0).long().prod(),
    "all-float": lambda lib, a: a.all(),
    "new_zeros": lambda lib, a: a.new_zeros(2, 3),
    "new_ones": lambda lib, a: a.new_ones((2,)),
    "new_full": lambda lib, a: a.new_full((2,), 4.0),
    "new_tensor": lambda lib, a: a.new_tensor([1, 2]),
    "type_as": lambda lib, a: (a > 0).type_as(a),
    "is_contiguous": lambda lib, a: [a.is_contiguous(), a.T.is_contiguous()],
    "device": lambda lib, a: [str(a.device), repr(a.device), str(a.to("cpu").device),
                              a.cpu() is a, a.to("cpu") is a, a.device.type],
    "numel": lambda lib, a: lib.numel(a),
    "is_tensor": lambda lib, a: [lib.is_tensor(a), lib.is_tensor(a.numpy())],
    "allclose": lambda lib, a: [lib.allclose(a, a + 1e-9), a.allclose(a + 1)],
}


@pytest.mark.parametrize("op", PREDICATES)
def test_values_without_gradient(op: str) -> None:
    a = np.array([[0.5, np.nan, -2.0, 3.0], [np.inf, 0.0, 1.5, -np.inf],
                  [1.0, 2.0, -0.5, 0.25]], dtype=np.float32)
    if op in ("argsort", "argsort-desc", "sort-indices", "topk-indices", "median-indices",
              "is_contiguous"):
        a = np.array([[0.5, 4.0, -2.0, 3.0], [7.0, 0.0, 1.5, -1.0], [1.0, 2.0, -0.5, 0.25]],
                     dtype=np.float32)
    ours = PREDICATES[op](tg, tg.tensor(a))
    theirs = PREDICATES[op](torch, torch.tensor(a))
    if isinstance(theirs, torch.Tensor):
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), op
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    else:
        assert ours == theirs


def test_device_and_to() -> None:
    x = tg.tensor([1.0, 2.0])
    assert str(tg.device("cpu")) == "cpu" and repr(tg.device("cpu")) == "device(type='cpu')"
    assert x.device == tg.device("cpu") and x.is_cuda is False
    assert x.to("cpu", tg.float64).dtype == np.float64
    assert x.to(device="cpu", dtype=tg.float64).dtype == np.float64
    assert x.to(tg.device("cpu")) is x
    assert x.to(tg.zeros(1, dtype=tg.float64)).dtype == np.float64
    assert x.to("cpu", copy=True) is not x
    assert tg.zeros(2, device="cpu").device == x.device
    assert tg.tensor([1.0], device=tg.device("cpu")).device.type == "cpu"
    assert not tg.cuda.is_available()
    device = "cuda" if tg.cuda.is_available() else "cpu"
    assert tg.randn(2, device=device).to(device).shape == (2,)
    for bad in ("cuda", "cuda:0", "mps"):
        with pytest.raises(RuntimeError, match="only device"):
            x.to(bad)
        with pytest.raises(RuntimeError, match="only device"):
            tg.zeros(2, device=bad)
    with pytest.raises(RuntimeError, match="no CUDA"):
        x.cuda()


def test_grad_fn_names_the_op() -> None:
    for lib in (torch, tg):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.sin() * 2
        assert x.grad_fn is None and lib.tensor([1.0]).grad_fn is None
        assert y.grad_fn is not None and y.grad_fn.name() == "MulBackward0"
        nxt = y.grad_fn.next_functions
        assert nxt[0][0].name() == "SinBackward0"
        assert nxt[0][0].next_functions[0][0].variable is x
        with lib.no_grad():
            assert (x * 2).grad_fn is None


def test_from_numpy_and_as_tensor_share_memory() -> None:
    for lib in (torch, tg):
        a = np.arange(3.0)
        t = lib.from_numpy(a)
        a[0] = 9.0
        assert t[0].item() == 9.0
        u = lib.as_tensor(a)
        u[1] = 7.0
        assert a[1] == 7.0
        v = lib.as_tensor(a, dtype=lib.float32)
        v[2] = 5.0
        assert a[2] == 2.0
        assert lib.as_tensor([1, 2]).dtype == lib.int64
        w = lib.tensor([1.0])
        assert lib.as_tensor(w) is w


def test_creation_functions_shapes_and_dtypes() -> None:
    for lib in (torch, tg):
        lib.manual_seed(0)
        cases = {
            "linspace": lib.linspace(0, 1, 5),
            "linspace64": lib.linspace(-1, 2, 4, dtype=lib.float64),
            "randn_like": lib.randn_like(lib.zeros(2, 3, dtype=lib.float64)),
            "rand_like": lib.rand_like(lib.zeros(4)),
            "randperm": lib.randperm(6),
            "multinomial": lib.multinomial(lib.tensor([0.1, 0.0, 0.9]), 2),
            "multinomial-repl": lib.multinomial(lib.tensor([[1.0, 3.0], [2.0, 0.0]]), 5, True),
            "normal": lib.normal(0.0, 1.0, size=(2, 3)),
            "normal-tensor": lib.normal(lib.zeros(3), lib.ones(3)),
            "bernoulli": lib.bernoulli(lib.full((3,), 0.5)),
            "empty": lib.empty(2, 3),
            "empty_like": lib.empty_like(lib.zeros(2, dtype=lib.float64)),
        }
        if lib is torch:
            theirs = {k: (tuple(v.shape), str(v.dtype).replace("torch.", ""))
                      for k, v in cases.items()}
        else:
            ours = {k: (tuple(v.shape), str(v.dtype)) for k, v in cases.items()}
    assert ours == theirs
    np.testing.assert_allclose(tg.linspace(0, 1, 5).numpy(), torch.linspace(0, 1, 5).numpy())
    assert sorted(tg.randperm(10).tolist()) == list(range(10))
    assert tg.multinomial(tg.tensor([0.0, 1.0, 0.0]), 1).item() == 1
    assert set(tg.bernoulli(tg.tensor([0.0, 1.0])).tolist()) == {0.0, 1.0}
    assert tg.get_default_dtype() == np.float32 and torch.get_default_dtype() == torch.float32
    tg.set_default_dtype(tg.float32)
    with pytest.raises(NotImplementedError, match="float32"):
        tg.set_default_dtype(tg.float64)


def test_dtype_aliases_are_torch_names() -> None:
    for name, dt in (("float", np.float32), ("double", np.float64), ("long", np.int64),
                     ("int", np.int32), ("half", np.float16), ("bool", np.bool_)):
        assert getattr(tg, name) == np.dtype(dt)
        assert str(tg.tensor([1]).to(getattr(tg, name)).dtype) == str(
            torch.tensor([1]).to(getattr(torch, name)).dtype).replace("torch.", "")


def test_split_chunk_and_friends_return_views_as_torch() -> None:
    for lib in (torch, tg):
        x = lib.arange(10.0)
        parts = x.chunk(3)
        assert [tuple(p.shape) for p in parts] == [(4,), (4,), (2,)]
        assert [tuple(p.shape) for p in x.split([2, 8])] == [(2,), (8,)]
        assert [tuple(p.shape) for p in lib.arange(6.0).chunk(4)] == [(2,), (2,), (2,)]
        parts[1][0] = 100.0
        assert x[4].item() == 100.0
        assert x.narrow(0, 2, 3).tolist() == [2.0, 3.0, 100.0]


def test_in_place_scatter_and_masked_fill() -> None:
    for lib in (torch, tg):
        z = lib.zeros(2, 3)
        z.scatter_(1, lib.tensor([[2], [0]]), 1.0)
        z.masked_fill_(lib.tensor([[False, True, False], [False, False, False]]), 5.0)
        z.scatter_add_(0, lib.tensor([[1, 1, 1]]), lib.ones(1, 3))
        if lib is torch:
            theirs = z.numpy().copy()
        else:
            np.testing.assert_array_equal(z.numpy(), theirs)
    # recorded in the graph, as torch's
    results = []
    for lib in (torch, tg):
        a = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        b = a * 2
        b.masked_fill_(lib.tensor([[True, False], [False, True]]), 0.0)
        b.scatter_add_(1, lib.tensor([[0], [1]]), a[:, :1] * 3)
        (b * b).sum().backward()
        results.append(a.grad.numpy().copy())
    np.testing.assert_allclose(results[1], results[0])


def test_errors_as_torch() -> None:
    x, t = tg.randn(3, 4), torch.randn(3, 4)
    cases = [
        (lambda lib, a: a.gather(1, lib.tensor([[5]])), RuntimeError),
        (lambda lib, a: a.gather(1, lib.tensor([[1]], dtype=lib.int16)), RuntimeError),
        (lambda lib, a: a.gather(1, lib.tensor([1])), RuntimeError),
        (lambda lib, a: a.masked_fill(lib.ones(3, 4), 0.0), RuntimeError),
        (lambda lib, a: a.topk(5), RuntimeError),
        (lambda lib, a: a.mm(a), RuntimeError),
        (lambda lib, a: a.split([1, 1], 1), RuntimeError),
        (lambda lib, a: a.narrow(1, 3, 2), RuntimeError),
        (lambda lib, a: a.repeat(2), RuntimeError),
        (lambda lib, a: a.flatten().tril(), RuntimeError),
        (lambda lib, a: a.chunk(0), RuntimeError),
        (lambda lib, a: lib.einsum("ij,jk", a, a), RuntimeError),
        (lambda lib, a: lib.einsum("ijk", a), RuntimeError),
        (lambda lib, a: a.unflatten(1, (3, 2)), RuntimeError),
        (lambda lib, a: a.gelu(approximate="foo") if lib is tg else
         torch.nn.functional.gelu(a, approximate="foo"), RuntimeError),
        (lambda lib, a: a.roll((1, 2), 0), RuntimeError),
        (lambda lib, a: lib.multinomial(lib.tensor([1.0, 0.0]), 3), RuntimeError),
        (lambda lib, a: lib.linspace(0, 1, -1), RuntimeError),
    ]
    for fn, err in cases:
        with pytest.raises(err):
            fn(torch, t)
        with pytest.raises(err):
            fn(tg, x)


def test_unsupported_torch_names_say_so() -> None:
    with pytest.raises(NotImplementedError, match="tinygrad_ce.compile: not supported"):
        tg.compile  # noqa: B018
    with pytest.raises(NotImplementedError, match="instead"):
        tg.nn.functional.conv2d  # noqa: B018
    with pytest.raises(NotImplementedError, match="README"):
        tg.some_torch_name  # noqa: B018
    assert not hasattr(tg, "compile") and getattr(tg, "vmap", None) is None
    for module in (tg, tg.nn.functional):
        for probe in ("__wrapped__", "__path__x__"):
            with pytest.raises(AttributeError) as info:
                getattr(module, probe)
            assert not isinstance(info.value, NotImplementedError)


@pytest.mark.parametrize("op", ["gelu", "silu", "leaky_relu", "softplus", "elu", "mish",
                                "logsigmoid"])
def test_activations_refuse_integers_as_torch(op: str) -> None:
    for lib, fn in ((torch, getattr(TF, op)), (tg, getattr(F, op))):
        with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
            fn(lib.tensor([1, 2]))


@pytest.mark.parametrize("op", ["sign", "relu6", "hardtanh", "floor", "sin", "erf", "cumsum",
                                "prod", "flip", "roll", "tril"])
def test_integer_inputs_give_torchs_dtype(op: str) -> None:
    calls = {"relu6": lambda lib, x: lib.nn.functional.relu6(x),
             "hardtanh": lambda lib, x: lib.nn.functional.hardtanh(x),
             "cumsum": lambda lib, x: x.cumsum(0), "flip": lambda lib, x: x.flip(0),
             "roll": lambda lib, x: x.roll(1, 0), "tril": lambda lib, x: x.tril()}
    fn = calls.get(op, lambda lib, x: getattr(x, op)())
    a = np.array([[3, -1, 0], [2, 5, -4]], dtype=np.int32)
    ours, theirs = fn(tg, tg.tensor(a)), fn(torch, torch.tensor(a))
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


MODULES = {
    "LeakyReLU": lambda nn: nn.LeakyReLU(),
    "LeakyReLU-0.2": lambda nn: nn.LeakyReLU(0.2),
    "GELU": lambda nn: nn.GELU(),
    "GELU-tanh": lambda nn: nn.GELU("tanh"),
    "SiLU": lambda nn: nn.SiLU(),
    "Softmax": lambda nn: nn.Softmax(dim=1),
    "LogSoftmax": lambda nn: nn.LogSoftmax(dim=-1),
    "Softmax-implicit": lambda nn: nn.Softmax(),
}


@pytest.mark.filterwarnings("ignore:Implicit dimension choice")
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("name", MODULES)
def test_activation_modules(name: str, dtype: type) -> None:
    theirs, ours = MODULES[name](torch.nn), MODULES[name](tg.nn)
    assert repr(ours) == repr(theirs)
    compare(theirs, ours, inputs([(2, 3)], dtype), dtype, what=name)


@pytest.mark.parametrize("name", ["leaky_relu", "silu", "elu", "relu6", "hardtanh", "mish",
                                  "relu", "LeakyReLU", "SiLU"])
def test_inplace_activations_as_torch(name: str) -> None:
    def program(lib: Any) -> tuple[Any, ...]:
        fn = (getattr(lib.nn, name)(inplace=True) if name[0].isupper() else
              lambda t: getattr(lib.nn.functional, name)(t, inplace=True))
        x = lib.tensor([[1.5, -2.0, 0.5], [7.0, -0.3, 3.0]], requires_grad=True)
        y = x * 2
        z = fn(y)
        (z * z).sum().backward()
        free = lib.tensor([1.0, -1.0])
        r = fn(free)
        return z, x.grad, free, r is free, z is y, y._version

    ours, theirs = program(tg), program(torch)
    for a, b in zip(ours, theirs):
        if isinstance(b, torch.Tensor):
            assert_close(a, b, np.float32)
        else:
            assert a == b


@pytest.mark.parametrize("op", ["gelu", "gelu-tanh", "silu", "mish", "leaky_relu", "elu",
                                "softplus", "logsigmoid", "hardtanh", "sin", "erf", "expm1"])
def test_float16_as_torch(op: str) -> None:
    torch_fn, our_fn, _ = UNARY[op]
    compare(torch_fn, our_fn, inputs([(3, 4)], np.float16), np.float16, what=op, double=False)


def test_float16_cumsum_accumulates_as_torch() -> None:
    compare(lambda a: a.cumsum(1), lambda a: a.cumsum(1), inputs([(2, 50)], np.float16),
            np.float16, double=False)


def test_generators_give_their_own_reproducible_streams() -> None:
    for lib in (torch, tg):
        g = lib.Generator().manual_seed(2147483647)
        first = [lib.randn((3, 2), generator=g), lib.rand(2, generator=g),
                 lib.randint(0, 5, (4,), generator=g), lib.randperm(5, generator=g),
                 lib.multinomial(lib.tensor([0.2, 0.8]), 3, True, generator=g),
                 lib.normal(0.0, 1.0, (2,), generator=g),
                 lib.bernoulli(lib.full((3,), 0.5), generator=g)]
        lib.manual_seed(0)
        lib.randn(5)  # the global stream does not touch g's
        g.manual_seed(2147483647)
        again = [lib.randn((3, 2), generator=g), lib.rand(2, generator=g),
                 lib.randint(0, 5, (4,), generator=g), lib.randperm(5, generator=g),
                 lib.multinomial(lib.tensor([0.2, 0.8]), 3, True, generator=g),
                 lib.normal(0.0, 1.0, (2,), generator=g),
                 lib.bernoulli(lib.full((3,), 0.5), generator=g)]
        for a, b in zip(first, again):
            assert (a == b).all()
        assert g.initial_seed() == 2147483647


def test_every_public_top_level_name_is_torchs() -> None:
    ours_only = {"record", "data", "bool_", "gradcheck", "gradgradcheck"}  # ours, before
    for name in tg.__all__:
        assert hasattr(tg, name), name
        if name not in ours_only:
            assert hasattr(torch, name), f"tinygrad_ce.{name} is not a torch name"
    for name in ("relu", "sigmoid", "tanh", "gelu", "leaky_relu", "silu", "softplus", "elu",
                 "mish", "relu6", "hardtanh", "logsigmoid", "pad", "normalize", "kl_div",
                 "huber_loss"):
        assert callable(getattr(tg.nn.functional, name)) and hasattr(TF, name), name


def test_sampling_methods_as_torch() -> None:
    for lib in (torch, tg):
        probs = lib.tensor([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
        idx = probs.multinomial(1)
        assert idx.dtype == lib.int64 and tuple(idx.shape) == (2, 1) and idx[0, 0].item() == 1
        assert idx[1, 0].item() in (0, 2)
        b = lib.tensor([0.0, 1.0, 1.0]).bernoulli()
        assert b.tolist() == [0.0, 1.0, 1.0] and b.dtype == lib.float32
        with pytest.raises(RuntimeError):
            lib.tensor([-1.0, 2.0]).multinomial(1)


def test_samples_have_zero_gradient_as_torch() -> None:
    for lib in (torch, tg):
        m = lib.zeros(3, requires_grad=True)
        s = lib.ones(3, requires_grad=True)
        p = lib.full((3,), 0.5, requires_grad=True)
        y = lib.normal(m, s)
        b = lib.bernoulli(p)
        assert y.requires_grad and b.requires_grad
        (y.sum() + b.sum()).backward()
        assert m.grad.tolist() == s.grad.tolist() == p.grad.tolist() == [0.0, 0.0, 0.0]


BAD = {
    "pad odd": lambda L: L.nn.functional.pad(L.ones(2, 2), (1,)),
    "pad too many": lambda L: L.nn.functional.pad(L.ones(2), (1, 1, 1, 1)),
    "pad bad mode": lambda L: L.nn.functional.pad(L.ones(1, 2, 2), (1, 1), mode="foo"),
    "reflect too big": lambda L: L.nn.functional.pad(L.ones(1, 2), (2, 2), mode="reflect"),
    "kl_div bad reduction": lambda L: L.nn.functional.kl_div(L.ones(2), L.ones(2),
                                                             reduction="foo"),
    "huber bad reduction": lambda L: L.nn.functional.huber_loss(L.ones(2), L.ones(2),
                                                                reduction="foo"),
    "huber delta<=0": lambda L: L.nn.functional.huber_loss(L.ones(2), L.ones(2), delta=0.0),
    "hardtanh min>max": lambda L: L.nn.functional.hardtanh(L.ones(2), 2.0, 1.0),
    "split neg": lambda L: L.ones(4).split(-1),
    "movedim mismatch": lambda L: L.ones(2, 3).movedim((0, 1), 0),
    "repeat_interleave neg": lambda L: L.ones(3).repeat_interleave(-1),
    "diag 3d": lambda L: L.ones(2, 2, 2).diag(),
    "trace 1d": lambda L: L.ones(3).trace(),
    "dot mismatch": lambda L: L.dot(L.ones(3), L.ones(2)),
    "bmm batch": lambda L: L.bmm(L.ones(2, 2, 3), L.ones(3, 3, 2)),
    "mv shape": lambda L: L.mv(L.ones(2, 3), L.ones(2)),
    "addmm shapes": lambda L: L.addmm(L.ones(3), L.ones(2, 4), L.ones(5, 3)),
    "addmm self shape": lambda L: L.addmm(L.ones(4), L.ones(2, 4), L.ones(4, 3)),
    "addmm 1-d mat1": lambda L: L.addmm(L.ones(3), L.ones(4), L.ones(4, 3)),
    "addmm 3-d self": lambda L: L.addmm(L.ones(2, 1, 3), L.ones(2, 4), L.ones(4, 3)),
    "addmm dtypes": lambda L: L.addmm(L.ones(3, dtype=L.float64), L.ones(2, 4),
                                      L.ones(4, 3)),
    "outer 2d": lambda L: L.outer(L.ones(2, 2), L.ones(2)),
    "scatter_add bad index": lambda L: L.zeros(3).scatter_add(0, L.tensor([5]), L.ones(1)),
    "masked_fill 1-d value": lambda L: L.zeros(3).masked_fill(L.tensor([True, False, True]),
                                                              L.ones(2)),
    "linspace float steps": lambda L: L.linspace(0, 1, 2.5),
    "randperm negative": lambda L: L.randperm(-1),
    "normal std<0": lambda L: L.normal(0.0, -1.0, (2,)),
    "bernoulli p>1": lambda L: L.bernoulli(L.full((2,), 2.0)),
    "topk negative k": lambda L: L.ones(3).topk(-1),
    "narrow start": lambda L: L.ones(3).narrow(0, 5, 1),
    "unflatten sizes": lambda L: L.ones(6).unflatten(0, (4, -1)),
    "multinomial 3-d": lambda L: L.multinomial(L.ones(2, 2, 2), 1),
    "prod tuple dim": lambda L: L.ones(2, 2).prod((0, 1)),
    "cumsum without dim": lambda L: L.ones(2).cumsum(),
    "from_numpy list": lambda L: L.from_numpy([1, 2]),
    "device gpu": lambda L: L.device("gpu"),
    "einsum unknown output": lambda L: L.einsum("ij->k", L.ones(2, 2)),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_raises_torchs_type(case: str) -> None:
    kinds = []
    for lib in (torch, tg):
        with pytest.raises(Exception) as info:
            BAD[case](lib)
        kinds.append(type(info.value))
    assert issubclass(kinds[1], kinds[0]), f"torch {kinds[0]}, ours {kinds[1]}"


# ----- addmm: the node a linear layer records -------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("double", [True, False])  # False: the plain backward (numpy only)
@pytest.mark.parametrize("self_shape", [(4,), (3, 4), (1, 4), (3, 1), (), (1, 1)])
@pytest.mark.parametrize("beta, alpha", [(1, 1), (0.5, -2.0), (0, 1), (2, 0)])
def test_addmm_matches_torch(self_shape: tuple[int, ...], beta: float, alpha: float,
                             double: bool, dtype: Any) -> None:
    rng = np.random.default_rng(len(self_shape))
    arrays = [rng.standard_normal(s).astype(dtype) for s in (self_shape, (3, 5), (5, 4))]
    compare(lambda i, a, b: torch.addmm(i, a, b, beta=beta, alpha=alpha),
            lambda i, a, b: tg.addmm(i, a, b, beta=beta, alpha=alpha), arrays, dtype,
            double=double, what=f"addmm {self_shape} beta={beta} alpha={alpha}")


def test_addmm_with_beta_0_ignores_nan_in_self_as_torch_does() -> None:
    i = np.full(3, np.nan)
    a, b = np.ones((2, 4)), np.ones((4, 3))
    ours = tg.tensor(i).addmm(tg.tensor(a), tg.tensor(b), beta=0)
    np.testing.assert_array_equal(ours.numpy(), torch.addmm(torch.tensor(i), torch.tensor(a),
                                                            torch.tensor(b), beta=0).numpy())


@pytest.mark.parametrize("wants", [(True, False, False), (False, True, False),
                                   (False, False, True), (True, True, True)])
def test_addmm_computes_only_the_gradients_wanted(wants: tuple[bool, bool, bool]) -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in ((4,), (3, 5), (5, 4))]
    tt = [torch.tensor(a, requires_grad=w) for a, w in zip(arrays, wants)]
    oo = [tg.tensor(a, requires_grad=w) for a, w in zip(arrays, wants)]
    torch.addmm(*tt).square().sum().backward()
    tg.addmm(*oo).square().sum().backward()
    for o, t in zip(oo, tt):
        assert (o.grad is None) == (t.grad is None)
        if o.grad is not None:
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("layout", ["C", "F"])
def test_addmm_of_a_transposed_weight_gives_the_weights_layout_and_torchs_gradient(
        layout: str) -> None:
    # F.linear's addmm(b, x, W.T): W's gradient comes back in W's own memory order
    rng = np.random.default_rng(1)
    w = np.asarray(rng.standard_normal((4, 5)), order=layout)
    x, b = rng.standard_normal((3, 5)), rng.standard_normal(4)
    wo, wt = tg.from_numpy(w).requires_grad_(), torch.tensor(w, requires_grad=True)
    assert wo.numpy().flags.f_contiguous == (layout == "F")
    tg.addmm(tg.tensor(b), tg.tensor(x), wo.T).sum().backward()
    torch.addmm(torch.tensor(b), torch.tensor(x), wt.T).sum().backward()
    np.testing.assert_allclose(wo.grad.numpy(), wt.grad.numpy(), rtol=1e-12)
    assert wo.grad.numpy().flags.f_contiguous == (layout == "F")


@pytest.mark.parametrize("x_shape, bias", [((3, 5), True), ((3, 5), False), ((2, 3, 5), True),
                                           ((5,), True)])
def test_linear_records_torchs_nodes(x_shape: tuple[int, ...], bias: bool) -> None:
    # a matrix with a bias: AddmmBackward0 after TBackward0 (W.T), as torch's F.linear
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal((4, 5)), rng.standard_normal(4)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    xo, wo, bo = (tg.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = TF.linear(xt, wt, bt if bias else None)
    yo = F.linear(xo, wo, bo if bias else None)
    if len(x_shape) == 2 and bias:
        assert yo.grad_fn.name() == yt.grad_fn.name() == "AddmmBackward0"
        names = [[f.name() for f, _ in y.grad_fn.next_functions] for y in (yo, yt)]
        assert names[0] == names[1]
    compare(lambda *a: TF.linear(*a) if bias else TF.linear(*a[:2]),
            lambda *a: F.linear(*a) if bias else F.linear(*a[:2]), [x, w, b], np.float64,
            what=f"linear {x_shape} bias={bias}")


@pytest.mark.parametrize("changed", [0, 1, 2])
def test_addmm_refuses_backward_exactly_when_torchs_does(changed: int) -> None:
    # torch's addmm saves mat1 and mat2, not self: changing self in place is fine
    results = []
    for lib in (torch, tg):
        rng = np.random.default_rng(3)
        leaves = [lib.tensor(rng.standard_normal(s), requires_grad=True)
                  for s in ((4,), (3, 5), (5, 4))]
        inputs = [t * 1 for t in leaves]
        out = lib.addmm(*inputs)
        with lib.no_grad():
            inputs[changed].add_(1)
        try:
            out.sum().backward()
            results.append([t.grad.numpy() for t in leaves])
        except RuntimeError as e:
            assert "modified by an inplace operation" in str(e)
            results.append("refused")
    theirs, ours = results
    assert (theirs == "refused") == (ours == "refused") == (changed != 0)
    if changed == 0:
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-12)
