"""Every differentiable op against torch: forward, gradient and second derivative,
over the broadcasting shape matrix and both float dtypes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
from tests.helpers import compare, inputs

DTYPES = [np.float32, np.float64]
SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1)]
PAIRS = list(itertools.product(SHAPES, SHAPES)) + [((2, 1, 4, 3), (4, 1)), ((3,), (2, 1, 4, 3))]

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "pow": (lambda a, b: a ** b, lambda a, b: a ** b),
    "maximum": (torch.maximum, tg.Tensor.maximum),
    "minimum": (torch.minimum, tg.Tensor.minimum),
    "where": (lambda a, b: torch.where(a > 0.9, a, b), lambda a, b: tg.where(a > 0.9, a, b)),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shapes", PAIRS, ids=str)
@pytest.mark.parametrize("op", BINARY)
def test_binary(op: str, shapes: tuple, dtype: type) -> None:
    torch_fn, our_fn = BINARY[op]
    positive = op in ("pow", "div")
    compare(torch_fn, our_fn, inputs(shapes, dtype, positive=positive), dtype, what=op)


SCALARS = {
    "add": (lambda a: a + 2.5, lambda a: a + 2.5),
    "radd": (lambda a: 2.5 + a, lambda a: 2.5 + a),
    "rsub": (lambda a: 2.5 - a, lambda a: 2.5 - a),
    "rmul": (lambda a: 3 * a, lambda a: 3 * a),
    "rdiv": (lambda a: 2.0 / a, lambda a: 2.0 / a),
    "pow2": (lambda a: a ** 2, lambda a: a ** 2),
    "pow-half": (lambda a: a ** -0.5, lambda a: a ** -0.5),
    "pow0": (lambda a: a ** 0, lambda a: a ** 0),
    "rpow": (lambda a: 2.0 ** a, lambda a: 2.0 ** a),
    "np-scalar": (lambda a: a * np.float64(1.5), lambda a: a * np.float64(1.5)),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(), (2, 3)], ids=str)
@pytest.mark.parametrize("op", SCALARS)
def test_scalar_operands_keep_dtype(op: str, shape: tuple, dtype: type) -> None:
    torch_fn, our_fn = SCALARS[op]
    compare(torch_fn, our_fn, inputs([shape], dtype, positive=True), dtype, what=op)


UNARY = {
    "neg": (lambda a: -a, lambda a: -a, False),
    "exp": (torch.exp, tg.Tensor.exp, False),
    "log": (torch.log, tg.Tensor.log, True),
    "sqrt": (torch.sqrt, tg.Tensor.sqrt, True),
    "abs": (torch.abs, tg.Tensor.abs, False),
    "tanh": (torch.tanh, tg.Tensor.tanh, False),
    "sigmoid": (torch.sigmoid, tg.Tensor.sigmoid, False),
    "relu": (torch.relu, tg.Tensor.relu, False),
    "square": (torch.square, tg.Tensor.square, False),
    "clamp": (lambda a: a.clamp(-0.5, 0.7), lambda a: a.clamp(-0.5, 0.7), False),
    "clamp-min": (lambda a: a.clamp(min=0.1), lambda a: a.clamp(min=0.1), False),
    "clone": (torch.clone, tg.Tensor.clone, False),
    "softmax": (lambda a: a.softmax(-1), lambda a: a.softmax(-1), False),
    "log_softmax": (lambda a: a.log_softmax(-1), lambda a: a.log_softmax(-1), False),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 1, 4, 3)], ids=str)
@pytest.mark.parametrize("op", UNARY)
def test_unary(op: str, shape: tuple, dtype: type) -> None:
    torch_fn, our_fn, positive = UNARY[op]
    compare(torch_fn, our_fn, inputs([shape], dtype, positive=positive), dtype, what=op)


def _red(name: str, dim, keepdim: bool):  # type: ignore[no-untyped-def]
    def torch_fn(a: torch.Tensor) -> torch.Tensor:
        if dim is None:
            return getattr(a, name)()
        return getattr(a, name)(dim=dim, keepdim=keepdim)

    def our_fn(a: tg.Tensor) -> tg.Tensor:
        if dim is None:
            return getattr(a, name)()
        return getattr(a, name)(dim=dim, keepdim=keepdim)

    return torch_fn, our_fn


REDUCTIONS = ["sum", "mean", "amax", "amin", "logsumexp", "var", "std"]
DIMS = [None, 0, -1, (0, 2), (1,)]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction(name: str, dim, keepdim: bool, dtype: type) -> None:  # type: ignore[no-untyped-def]
    if name == "logsumexp" and dim is None:
        dim = (0, 1, 2)
    torch_fn, our_fn = _red(name, dim, keepdim)
    compare(torch_fn, our_fn, inputs([(3, 2, 4)], dtype), dtype, what=name)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "logsumexp"])
def test_reduction_axis_keepdims_aliases(name: str, dtype: type) -> None:
    compare(lambda a: getattr(a, name)(dim=1, keepdim=True),
            lambda a: getattr(a, name)(axis=1, keepdims=True),
            inputs([(2, 3)], dtype), dtype, what=name)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_whole_and_ties(name: str, dtype: type) -> None:
    compare(lambda a: getattr(a, name)(), lambda a: getattr(a, name)(),
            inputs([(2, 3)], dtype), dtype, what=name)
    tied = np.array([[1.0, 3.0, 3.0], [3.0, 0.0, 1.0]], dtype)
    compare(lambda a: getattr(a, name)(), lambda a: getattr(a, name)(), [tied], dtype)
    compare(lambda a: a.amax(1), lambda a: a.amax(1), [tied], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_dim_values_and_indices(name: str, dim: int, keepdim: bool, dtype: type) -> None:
    (x,) = inputs([(3, 4)], dtype)
    compare(lambda a: getattr(a, name)(dim, keepdim=keepdim).values,
            lambda a: getattr(a, name)(dim, keepdim=keepdim).values, [x], dtype)
    ours = getattr(tg.Tensor(x), name)(dim=dim, keepdim=keepdim)
    theirs = getattr(torch.tensor(x), name)(dim=dim, keepdim=keepdim)
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    assert ours.indices.dtype == np.int64
    values, indices = ours  # unpacks like torch's named tuple
    assert values.shape == indices.shape


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_argmax_argmin(dim) -> None:  # type: ignore[no-untyped-def]
    (x,) = inputs([(3, 4)], np.float32)
    for name in ("argmax", "argmin"):
        ours = getattr(tg.Tensor(x), name)(dim)
        theirs = getattr(torch.tensor(x), name)(dim)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert not ours.requires_grad and ours.dtype == np.int64


MATMUL = [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
          ((2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)), ((4, 3), (2, 1, 3, 2)),
          ((3,), (2, 3, 4)), ((2, 2, 3), (3,))]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shapes", MATMUL, ids=str)
def test_matmul(shapes: tuple, dtype: type) -> None:
    compare(lambda a, b: a @ b, lambda a, b: a @ b, inputs(shapes, dtype), dtype, what="matmul")
    compare(torch.matmul, tg.matmul, inputs(shapes, dtype), dtype, what="matmul function")


MOVEMENT = {
    "reshape": ((2, 3, 4), lambda a: a.reshape(4, 6), lambda a: a.reshape(4, 6)),
    "reshape-tuple": ((2, 3, 4), lambda a: a.reshape((6, -1)), lambda a: a.reshape((6, -1))),
    "view": ((2, 3, 4), lambda a: a.view(24), lambda a: a.view(24)),
    "flatten": ((2, 3, 4), lambda a: a.flatten(), lambda a: a.flatten()),
    "flatten-1": ((2, 3, 4), lambda a: a.flatten(1), lambda a: a.flatten(1)),
    "transpose": ((2, 3, 4), lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2)),
    "permute": ((2, 3, 4), lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1)),
    "T": ((2, 3), lambda a: a.T, lambda a: a.T),
    "mT": ((2, 3, 4), lambda a: a.mT, lambda a: a.mT),
    "unsqueeze": ((2, 3), lambda a: a.unsqueeze(1), lambda a: a.unsqueeze(1)),
    "unsqueeze-neg": ((2, 3), lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(-1)),
    "squeeze": ((2, 1, 3, 1), lambda a: a.squeeze(), lambda a: a.squeeze()),
    "squeeze-dim": ((2, 1, 3, 1), lambda a: a.squeeze(1), lambda a: a.squeeze(1)),
    "expand": ((2, 1), lambda a: a.expand(3, 2, 4), lambda a: a.expand(3, 2, 4)),
    "expand-neg": ((2, 1), lambda a: a.expand(-1, 5), lambda a: a.expand(-1, 5)),
    "slice": ((4, 5), lambda a: a[1:3, ::2], lambda a: a[1:3, ::2]),
    "int": ((4, 5), lambda a: a[2], lambda a: a[2]),
    "neg-int": ((4, 5), lambda a: a[-1, 1:], lambda a: a[-1, 1:]),
    "ellipsis-none": ((2, 3, 4), lambda a: a[..., None, 1], lambda a: a[..., None, 1]),
    "repeated-index": ((4, 5), lambda a: a[[0, 2, 0, 0]], lambda a: a[[0, 2, 0, 0]]),
    "pairs": ((4, 5), lambda a: a[[0, 1, 1], [2, 2, 4]], lambda a: a[[0, 1, 1], [2, 2, 4]]),
    "tensor-index": ((4, 5), lambda a: a[torch.tensor([3, 3])],
                     lambda a: a[tg.tensor([3, 3])]),
    "bool-mask": ((4, 5), lambda a: a[a > 0], lambda a: a[a > 0]),
    "mixed": ((3, 4, 5), lambda a: a[1:, [0, 0, 3]], lambda a: a[1:, [0, 0, 3]]),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("op", MOVEMENT)
def test_movement(op: str, dtype: type) -> None:
    shape, torch_fn, our_fn = MOVEMENT[op]
    # square the result so the second derivative is not trivially zero
    compare(lambda a: torch_fn(a) ** 2, lambda a: our_fn(a) ** 2,
            inputs([shape], dtype), dtype, what=op)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_stack(dim: int, dtype: type) -> None:
    arrays = inputs([(2, 3), (2, 3), (2, 3)], dtype)
    compare(lambda *a: torch.stack(a, dim) ** 2, lambda *a: tg.stack(a, dim) ** 2,
            arrays, dtype, what="stack")
    if dim == 0:
        arrays = inputs([(1, 3), (4, 3)], dtype)
    elif dim in (1, -1):
        arrays = inputs([(2, 1), (2, 5)], dtype)
    compare(lambda *a: torch.cat(a, dim) ** 2, lambda *a: tg.cat(a, dim) ** 2,
            arrays, dtype, what="cat")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_cast_is_differentiable(dtype: type) -> None:
    other = np.float64 if dtype == np.float32 else np.float32
    compare(lambda a: a.to(getattr(torch, np.dtype(other).name)).to(a.dtype) ** 2,
            lambda a: a.to(other).to(a.dtype) ** 2, inputs([(2, 3)], dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_composite_program(dtype: type) -> None:
    """A small network: matmul, broadcasting bias, tanh, log-sum-exp, mean."""
    def fn(x, w, b):  # type: ignore[no-untyped-def]
        h = (x @ w + b).tanh()
        return (h.logsumexp(1) - h.mean(1)).sum() / 3.0

    compare(fn, fn, inputs([(4, 3), (3, 5), (5,)], dtype), dtype)


def test_comparisons_are_not_differentiable() -> None:
    a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = torch.tensor([1.0, 2.0, 3.0])
    for name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
        ours = getattr(a, name)(2.0)
        np.testing.assert_array_equal(ours.numpy(), getattr(b, name)(2.0).numpy())
        assert ours.dtype == np.bool_ and not ours.requires_grad


def test_top_level_functions_match_methods() -> None:
    x = tg.tensor([[0.5, -1.0], [2.0, 0.1]])
    for name in ("exp", "tanh", "sigmoid", "relu", "abs", "neg"):
        np.testing.assert_array_equal(getattr(tg, name)(x).numpy(), getattr(x, name)().numpy())
    np.testing.assert_array_equal(tg.sum(x, dim=1).numpy(), x.sum(1).numpy())
    np.testing.assert_array_equal(tg.maximum(x, 0.0).numpy(), x.maximum(0.0).numpy())
