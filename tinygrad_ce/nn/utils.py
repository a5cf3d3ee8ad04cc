"""Gradient clipping and flat parameter vectors with torch's names (``torch.nn.utils``).

The clipping functions change each ``.grad`` in place (a gradient you hold sees the change,
as in torch) and outside the graph."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_ce.tensor import Tensor, cat
from tinygrad_ce.unsupported import missing


def _tensors(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [p.grad for p in _tensors(parameters) if p.grad is not None]


def _scale_in_place(g: Tensor, factor: Any) -> None:
    a = g.numpy()
    with np.errstate(invalid="ignore"):  # inf * 0 is nan, as torch's
        if a.flags.writeable:
            g.write_(np.multiply(a, factor, out=a, casting="unsafe"))
        else:
            g.write_(a * factor, assign=True)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale the gradients together so that their joint ``norm_type``-norm (the norm of the
    vector of each gradient's norm; ``inf`` the largest absolute value) is at most
    ``max_norm``: each is multiplied by min(1, max_norm / (total + 1e-6)). Returns the
    total norm before clipping, a 0-d tensor."""
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor(np.array(0.0, dtype=np.float32))
    dt = np.result_type(*[g.dtype for g in grads])
    if norm_type == math.inf:
        norms = [np.max(np.abs(g.numpy()), initial=0) for g in grads]
        total = np.max(np.asarray(norms, dtype=dt))
    else:
        norms = [_norm(g.numpy(), norm_type) for g in grads]
        total = _norm(np.asarray(norms, dtype=dt), norm_type)
    total = np.asarray(total, dtype=dt)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = np.minimum(dt.type(max_norm) / (total + dt.type(1e-6)), dt.type(1.0))
    for g in grads:
        _scale_in_place(g, coef.astype(g.dtype))
    return Tensor(total)


def _norm(a: np.ndarray, p: float) -> Any:
    a = np.abs(a.ravel())
    if p == 2:
        return np.sqrt(np.dot(a, a))
    if p == 1:
        return a.sum()
    if p == 0:
        return a.dtype.type(np.count_nonzero(a))
    if p == -math.inf:
        return a.min(initial=math.inf)
    return np.sum(a**p) ** (1 / p)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient into ``[-clip_value, clip_value]``, in place."""
    c = float(clip_value)
    for g in _grads(parameters):
        a = g.numpy()
        if a.flags.writeable:
            g.write_(np.clip(a, -c, c, out=a))
        else:
            g.write_(np.clip(a, -c, c), assign=True)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Every parameter flattened and concatenated, in order (recorded: differentiable)."""
    params = _tensors(parameters)
    if not params:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors "
                           "(parameters_to_vector: no parameters)")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Rebind each parameter's data to its slice of ``vec`` (``p.data = ...``, as torch)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = _tensors(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise RuntimeError(f"vector_to_parameters: vec has shape {vec.shape}; expected a "
                           f"1-D tensor of {total} elements (the parameters' total)")
    pointer = 0
    for p in params:
        n = p.numel()
        p.data = vec[pointer:pointer + n].detach().view(p.shape)
        pointer += n


__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]


def __getattr__(name: str) -> Any:
    raise missing("tinygrad_ce.nn.utils", name, {})
