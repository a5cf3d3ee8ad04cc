"""One torch comparison for every test: same inputs, same upstream gradient, both libraries."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

import tinygrad_ce as tg

TOL = {np.float16: dict(rtol=2e-3, atol=1e-3), np.float32: dict(rtol=2e-4, atol=2e-5),
       np.float64: dict(rtol=1e-9, atol=1e-11)}


def tol(dtype: Any) -> dict[str, float]:
    return TOL[np.dtype(dtype).type]


def assert_close(ours: Any, theirs: Any, dtype: Any = np.float64, what: str = "",
                 **kw: float) -> None:
    a = np.asarray(ours.numpy() if isinstance(ours, tg.Tensor) else ours)
    b = (theirs.detach().numpy(force=True) if isinstance(theirs, torch.Tensor)
         else np.asarray(theirs))
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    np.testing.assert_allclose(a, b, err_msg=what, equal_nan=True, **{**tol(dtype), **kw})


def inputs(shapes: Sequence[tuple[int, ...]], dtype: Any, seed: int = 0,
           positive: bool = False) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return [np.abs(a) + 0.5 if positive else a for a in arrays]


def compare(torch_fn: Callable[..., Any], our_fn: Callable[..., Any],
            arrays: Sequence[np.ndarray], dtype: Any = np.float64, double: bool = True,
            grad: bool = True, what: str = "", close: Callable[..., None] = assert_close,
            **kw: float) -> None:
    """Run ``fn`` in torch and in tinygrad_ce on the same float ``arrays``; compare the output,
    each input's gradient under a non-uniform upstream gradient, and (``double``) the second
    derivative: d/dx of sum(v * grad) for a random v, i.e. a Hessian-vector product.
    ``close(ours, theirs, dtype, what, **kw)`` asserts agreement (``assert_close`` unless
    told otherwise). numpy's floating-point warnings and torch's are silenced: values are
    compared, nan and inf included."""
    tt = [torch.tensor(a, requires_grad=grad) for a in arrays]
    oo = [tg.Tensor(a, requires_grad=grad) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. torch's degrees-of-freedom warning for var
        out_t = torch_fn(*tt)
    with np.errstate(all="ignore"):
        out_o = our_fn(*oo)
    assert out_o.dtype == np.dtype(dtype), f"{what}: dtype {out_o.dtype}, expected {dtype}"
    close(out_o, out_t, dtype, f"{what} forward", **kw)
    if not grad or not out_t.requires_grad:
        return
    rng = np.random.default_rng(1)
    up = (rng.standard_normal(tuple(out_t.shape)) + 1.5).astype(dtype)
    gt = torch.autograd.grad(out_t, tt, torch.tensor(up), create_graph=double, allow_unused=True)
    with np.errstate(all="ignore"):
        go = tg.autograd.grad(out_o, oo, tg.Tensor(up), create_graph=double, allow_unused=True)
    for i, (a, b, x) in enumerate(zip(go, gt, arrays)):
        if a is not None:
            assert a.dtype == np.dtype(dtype), f"{what}: grad {i} has dtype {a.dtype}"
        close(_or_zeros(a, x, dtype), _or_zeros(b, x, dtype), dtype,
              f"{what} grad of input {i}", **kw)
    if not double:
        return
    vs = [rng.standard_normal(x.shape).astype(dtype) for x in arrays]
    st = sum((g * torch.tensor(v)).sum() for g, v in zip(gt, vs) if g is not None)
    # where a gradient does not depend on the inputs (linear ops, relu, ...), the second
    # derivative is zero: torch records no graph for it, nor do we
    hvp_t = (torch.autograd.grad(st, tt, allow_unused=True)
             if isinstance(st, torch.Tensor) and st.requires_grad else [None] * len(tt))
    with np.errstate(all="ignore"):
        so = sum((g * tg.Tensor(v)).sum() for g, v in zip(go, vs) if g is not None)
        hvp_o = (tg.autograd.grad(so, oo, allow_unused=True)
                 if isinstance(so, tg.Tensor) and so.requires_grad else [None] * len(oo))
    for i, (a, b, x) in enumerate(zip(hvp_o, hvp_t, arrays)):
        close(_or_zeros(a, x, dtype), _or_zeros(b, x, dtype), dtype,
              f"{what} second derivative of input {i}", **kw)


def _or_zeros(g: Any, like: np.ndarray, dtype: Any) -> Any:
    """A missing gradient (input unused, or a derivative that is structurally zero) as zeros."""
    return np.zeros(like.shape, dtype) if g is None else g
