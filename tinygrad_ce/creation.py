"""Constructors with torch's names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_ce.dtypes import as_dtype
from tinygrad_ce.random import generator
from tinygrad_ce.tensor import Tensor, TensorLike, float32, int64


def _size(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list, np.ndarray)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"size={tuple(size)}: expected non-negative ints")
        if s < 0:
            raise RuntimeError(f"size={tuple(size)}: expected non-negative ints")
    return tuple(int(s) for s in size)


def _float(dtype: Any) -> np.dtype:
    return float32 if dtype is None else as_dtype(dtype)


def tensor(data: TensorLike, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf holding a copy of ``data`` (an array keeps its dtype unless ``dtype`` says)."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.ndarray) and dtype is None:
        data = data.copy()
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_size(size), dtype=_float(dtype)), requires_grad=requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_size(size), dtype=_float(dtype)), requires_grad=requires_grad)


def full(size: Sequence[int], fill_value: float, dtype: Any = None,
         requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = int64 if isinstance(fill_value, (int, np.integer)) else float32
        dtype = np.bool_ if isinstance(fill_value, bool) else dtype
    return Tensor(np.full(_size((size,)), fill_value, dtype=as_dtype(dtype)),
                  requires_grad=requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(t.shape, dtype=t.dtype if dtype is None else as_dtype(dtype)),
                  requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(t.shape, dtype=t.dtype if dtype is None else as_dtype(dtype)),
                  requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: float, dtype: Any = None,
              requires_grad: bool = False) -> Tensor:
    return Tensor(np.full(t.shape, fill_value, dtype=t.dtype if dtype is None else dtype),
                  requires_grad=requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Integers give int64, any float gives float32, as in torch."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if ints else float32
    return Tensor(np.arange(start, end, step).astype(as_dtype(dtype)),
                  requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.eye(n, m, dtype=_float(dtype)), requires_grad=requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the global generator."""
    dt = _float(dtype)
    return Tensor(generator().standard_normal(_size(size)).astype(dt), requires_grad=requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from the global generator."""
    dt = _float(dtype)
    return Tensor(generator().random(_size(size)).astype(dt), requires_grad=requires_grad)


def randint(low: int, high: int | None = None, size: Sequence[int] = (),
            dtype: Any = None) -> Tensor:
    """Integers in [low, high) (``randint(high, size)`` too), int64 by default."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    dt = int64 if dtype is None else as_dtype(dtype)
    return Tensor(generator().integers(low, high, size=_size((size,))).astype(dt))
