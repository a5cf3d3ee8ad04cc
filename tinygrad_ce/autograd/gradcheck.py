"""Finite-difference checks of gradients, like ``torch.autograd.gradcheck``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_ce.autograd.gradients import grad
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
           rtol: float, raise_exception: bool, what: str, check_grad_dtypes: bool = False
           ) -> bool:
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
                if check_grad_dtypes and got is not None and got.dtype != t.dtype:
                    if raise_exception:
                        raise RuntimeError(f"{what}: Gradient has dtype mismatch: input {i} "
                                           f"is {t.dtype}, its gradient {got.dtype}")
                    return False
                a = np.zeros(t._data.size) if got is None else got._data.reshape(-1)
                if not np.allclose(a, numeric[i][j], atol=atol, rtol=rtol, equal_nan=True):
                    if raise_exception:
                        raise RuntimeError(
                            f"{what}: Jacobian mismatch for output {k} element {j} with respect "
                            f"to input {i},\nnumerical:{numeric[i][j]}\nanalytical:{a}"
                        )
                    return False
    return True


# torch's keywords that ask for checks of machinery this engine does not have
_NOT_HERE = {
    "check_batched_grad": "vmap (batched gradients)",
    "check_batched_forward_grad": "vmap (batched forward gradients)",
    "check_forward_ad": "forward-mode AD",
    "check_fwd_over_rev": "forward-mode AD",
}


def _refuse(what: str, **flags: bool) -> None:
    for name, value in flags.items():
        if value:
            raise NotImplementedError(
                f"{what}({name}=True): there is no {_NOT_HERE[name]} here to check; leave it "
                "False (the reverse-mode gradients are checked)")


def gradcheck(func: Callable[..., Any], inputs: Tensor | Sequence[Tensor], *,
              eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked: bool | None = None) -> bool:
    """Compare backward's gradients of ``func`` with central differences (float64 inputs),
    with torch's keywords. Every Jacobian entry is checked (``fast_mode`` too: the full
    check is the stricter one); ``nondet_tol`` widens ``atol``; checks of machinery that
    does not exist here (forward AD, batched gradients) raise when asked for."""
    _refuse("gradcheck", check_batched_grad=check_batched_grad,
            check_batched_forward_grad=check_batched_forward_grad,
            check_forward_ad=check_forward_ad)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not check_backward_ad:
        return True
    return _check(func, ins, eps, atol + nondet_tol, rtol, raise_exception, "gradcheck",
                  check_grad_dtypes)


def gradgradcheck(func: Callable[..., Any], inputs: Tensor | Sequence[Tensor],
                  grad_outputs: Sequence[Tensor] | Tensor | None = None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3,
                  gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True,
                  check_grad_dtypes: bool = False, check_batched_grad: bool = False,
                  check_fwd_over_rev: bool = False, check_rev_over_rev: bool = True,
                  fast_mode: bool = False, masked: bool = False) -> bool:
    """gradcheck of the first derivative (built with ``create_graph=True``): checks second
    order, with torch's keywords (see ``gradcheck``)."""
    _refuse("gradgradcheck", check_batched_grad=check_batched_grad,
            check_fwd_over_rev=check_fwd_over_rev)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not check_rev_over_rev:
        return True
    outs = _outputs(func, ins)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [Tensor(rng.standard_normal(o.shape)) for o in outs]
    gos = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)

    def first_derivative(*xs: Tensor) -> tuple[Tensor, ...]:
        o = _outputs(func, xs)
        gs = grad(o, [x for x in xs if x.requires_grad], gos, create_graph=True,
                  allow_unused=True)
        return tuple(g for g in gs if g is not None and g.requires_grad)

    return _check(first_derivative, ins, eps, atol + nondet_tol, rtol, raise_exception,
                  "gradgradcheck", check_grad_dtypes)
