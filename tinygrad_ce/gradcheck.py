"""Finite-difference checks of gradients, like ``torch.autograd.gradcheck``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_ce.autograd import grad
from tinygrad_ce.tensor import Tensor


def _outputs(fn: Callable[..., Any], inputs: Sequence[Tensor]) -> list[Tensor]:
    out = fn(*inputs)
    return [out] if isinstance(out, Tensor) else [o for o in out if isinstance(o, Tensor)]


def _numeric_jacobian(fn: Callable[..., Any], inputs: Sequence[Tensor], k: int, t: Tensor,
                      eps: float) -> np.ndarray:
    """d(output k)/d(t) by central differences: one column per element of ``t``."""
    size = _outputs(fn, inputs)[k]._data.size
    jac = np.zeros((size, t._data.size))
    for m in range(t._data.size):
        orig = t._data.flat[m]  # .flat writes through, whatever the layout
        try:
            t._data.flat[m] = orig + eps
            hi = _outputs(fn, inputs)[k]._data.reshape(-1).copy()
            t._data.flat[m] = orig - eps
            lo = _outputs(fn, inputs)[k]._data.reshape(-1)
        finally:  # the input gets its value back even when fn raises
            t._data.flat[m] = orig
        jac[:, m] = (hi - lo) / (2 * eps)
    return jac


def _check(fn: Callable[..., Any], inputs: Sequence[Tensor], eps: float, atol: float,
           rtol: float, raise_exception: bool, what: str) -> bool:
    ins = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    for t in ins:
        if t.dtype != np.float64:
            raise TypeError(f"{what}: input of dtype {t.dtype}; finite differences need float64")
    outs = _outputs(fn, inputs)
    for k, out in enumerate(outs):
        if not out.requires_grad:
            continue
        numeric = [_numeric_jacobian(fn, inputs, k, t, eps) for t in ins]
        for j in range(out._data.size):  # one backward per output element: a Jacobian row
            seed = np.zeros_like(out._data)
            seed.flat[j] = 1.0
            analytic = grad([out], ins, [Tensor(seed)], retain_graph=True, allow_unused=True)
            for i, t in enumerate(ins):
                got = analytic[i]
                a = np.zeros(t._data.size) if got is None else got._data.reshape(-1)
                if not np.allclose(a, numeric[i][j], atol=atol, rtol=rtol, equal_nan=True):
                    if raise_exception:
                        raise RuntimeError(
                            f"{what}: Jacobian mismatch for output {k} element {j} with respect "
                            f"to input {i},\nnumerical:{numeric[i][j]}\nanalytical:{a}"
                        )
                    return False
    return True


def gradcheck(fn: Callable[..., Any], inputs: Tensor | Sequence[Tensor], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compare backward's gradients of ``fn`` with central differences (float64 inputs)."""
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    return _check(fn, ins, eps, atol, rtol, raise_exception, "gradcheck")


def gradgradcheck(fn: Callable[..., Any], inputs: Tensor | Sequence[Tensor],
                  grad_outputs: Sequence[Tensor] | None = None, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """gradcheck of the first derivative (built with ``create_graph=True``): checks second order."""
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    outs = _outputs(fn, ins)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [Tensor(rng.standard_normal(o.shape)) for o in outs]
    gos = list(grad_outputs)

    def first_derivative(*xs: Tensor) -> tuple[Tensor, ...]:
        o = _outputs(fn, xs)
        gs = grad(o, [x for x in xs if x.requires_grad], gos, create_graph=True,
                  allow_unused=True)
        return tuple(g for g in gs if g is not None and g.requires_grad)

    return _check(first_derivative, ins, eps, atol, rtol, raise_exception, "gradgradcheck")
