"""One torch comparison for every test: same inputs, same upstream gradient, both libraries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

import tinygrad_ce as tg

TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def tol(dtype: Any) -> dict[str, float]:
    return TOL[np.dtype(dtype).type]


def assert_close(ours: Any, theirs: Any, dtype: Any = np.float64, what: str = "",
                 **kw: float) -> None:
    a = np.asarray(ours.data if isinstance(ours, tg.Tensor) else ours)
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
            grad: bool = True, what: str = "", **kw: float) -> None:
    """Run ``fn`` in torch and in tinygrad_ce on the same float ``arrays``; compare the output,
    each input's gradient under a non-uniform upstream gradient, and (``double``) the second
    derivative: d/dx of sum(v * grad) for a random v, i.e. a Hessian-vector product."""
    tt = [torch.tensor(a, requires_grad=grad) for a in arrays]
    oo = [tg.Tensor(a, requires_grad=grad) for a in arrays]
    out_t, out_o = torch_fn(*tt), our_fn(*oo)
    assert out_o.dtype == np.dtype(dtype), f"{what}: dtype {out_o.dtype}, expected {dtype}"
    assert_close(out_o, out_t, dtype, f"{what} forward", **kw)
    if not grad or not out_t.requires_grad:
        return
    rng = np.random.default_rng(1)
    up = rng.standard_normal(out_t.shape).astype(dtype) + 1.5
    gt = torch.autograd.grad(out_t, tt, torch.tensor(up), create_graph=double, allow_unused=True)
    go = tg.autograd.grad(out_o, oo, tg.Tensor(up), create_graph=double, allow_unused=True)
    for i, (a, b) in enumerate(zip(go, gt)):
        if b is None:
            assert a is None or np.all(a.data == 0), f"{what}: torch has no grad for input {i}"
            continue
        assert a is not None, f"{what}: no gradient for input {i}"
        assert a.dtype == np.dtype(dtype), f"{what}: grad dtype {a.dtype}"
        assert_close(a, b, dtype, f"{what} grad of input {i}", **kw)
    if not double:
        return
    vs = [rng.standard_normal(a.shape).astype(dtype) for a in arrays]
    st = sum((g * torch.tensor(v)).sum() for g, v in zip(gt, vs) if g is not None)
    so = sum((g * tg.Tensor(v)).sum() for g, v in zip(go, vs) if g is not None)
    # where a gradient does not depend on the inputs (linear ops, relu, ...), the second
    # derivative is zero: torch records no graph for it, nor do we
    hvp_t = (torch.autograd.grad(st, tt, allow_unused=True)
             if isinstance(st, torch.Tensor) and st.requires_grad else [None] * len(tt))
    hvp_o = (tg.autograd.grad(so, oo, allow_unused=True)
             if isinstance(so, tg.Tensor) and so.requires_grad else [None] * len(oo))
    for i, (a, b, x) in enumerate(zip(hvp_o, hvp_t, arrays)):
        a_data = np.zeros(x.shape, dtype) if a is None else a
        b_data = np.zeros(x.shape, dtype) if b is None else b
        assert_close(a_data, b_data, dtype, f"{what} second derivative of input {i}", **kw)
