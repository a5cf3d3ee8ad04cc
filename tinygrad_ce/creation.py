"""Constructors with torch's names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_ce import random
from tinygrad_ce.dtypes import as_dtype
from tinygrad_ce.random import Generator, stream
from tinygrad_ce.tensor import (
    Tensor,
    TensorLike,
    check_device,
    float32,
    int64,
    record,
)

# the global generator (re-created by manual_seed), for what draws from it directly
generator = random.generator


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


def tensor(data: TensorLike, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new leaf holding a copy of ``data`` (an array keeps its dtype unless ``dtype`` says)."""
    check_device(device)
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.ndarray) and dtype is None:
        data = data.copy()
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*size: Any, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    check_device(device)
    return Tensor(np.zeros(_size(size), dtype=_float(dtype)), requires_grad=requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    check_device(device)
    return Tensor(np.ones(_size(size), dtype=_float(dtype)), requires_grad=requires_grad)


def full(size: Sequence[int], fill_value: float, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    check_device(device)
    if dtype is None:
        dtype = int64 if isinstance(fill_value, (int, np.integer)) else float32
        dtype = np.bool_ if isinstance(fill_value, bool) else dtype
    return Tensor(np.full(_size((size,)), fill_value, dtype=as_dtype(dtype)),
                  requires_grad=requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    check_device(device)
    return Tensor(np.zeros(t.shape, dtype=t.dtype if dtype is None else as_dtype(dtype)),
                  requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    check_device(device)
    return Tensor(np.ones(t.shape, dtype=t.dtype if dtype is None else as_dtype(dtype)),
                  requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: float, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    check_device(device)
    return Tensor(np.full(t.shape, fill_value, dtype=t.dtype if dtype is None else dtype),
                  requires_grad=requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers give int64, any float gives float32, as in torch."""
    check_device(device)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if ints else float32
    return Tensor(np.arange(start, end, step).astype(as_dtype(dtype)),
                  requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    check_device(device)
    return Tensor(np.eye(n, m, dtype=_float(dtype)), requires_grad=requires_grad)


def randn(*size: Any, generator: Generator | None = None, dtype: Any = None,
          device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the global generator."""
    check_device(device)
    dt = _float(dtype)
    return Tensor(stream(generator).standard_normal(_size(size)).astype(dt),
                  requires_grad=requires_grad)


def rand(*size: Any, generator: Generator | None = None, dtype: Any = None,
         device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from the global generator."""
    check_device(device)
    dt = _float(dtype)
    return Tensor(stream(generator).random(_size(size)).astype(dt), requires_grad=requires_grad)


def randint(low: int, high: int | None = None, size: Sequence[int] = (), *,
            generator: Generator | None = None, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """Integers in [low, high) (``randint(high, size)`` too), int64 by default."""
    check_device(device)
    if high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    dt = int64 if dtype is None else as_dtype(dtype)
    return Tensor(stream(generator).integers(low, high, size=_size((size,))).astype(dt),
                  requires_grad=requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          pin_memory: bool = False, memory_format: Any = None) -> Tensor:
    """Uninitialised in torch; zeros here (reading it before writing is a bug either way)."""
    check_device(device)
    return Tensor(np.zeros(_size(size), dtype=_float(dtype)), requires_grad=requires_grad)


def empty_like(t: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return zeros_like(t, dtype, device, requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (float32 by
    default)."""
    check_device(device)
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool):
        raise TypeError(f"linspace(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError("linspace(): number of steps must be non-negative")
    dt = _float(dtype)
    return Tensor(np.linspace(float(start), float(end), int(steps)).astype(dt),
                  requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return randn(t.shape, dtype=t.dtype if dtype is None else dtype, device=device,
                 requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return rand(t.shape, dtype=t.dtype if dtype is None else dtype, device=device,
                requires_grad=requires_grad)


def randint_like(t: Tensor, low: int, high: int | None = None, dtype: Any = None,
                 device: Any = None) -> Tensor:
    return randint(low, high, t.shape, dtype=t.dtype if dtype is None else dtype, device=device)


def randperm(n: int, *, generator: Generator | None = None, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0..n-1 (int64 by default) from the global generator."""
    check_device(device)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise RuntimeError(f"randperm(n={n!r}): n must be a non-negative int")
    dt = int64 if dtype is None else as_dtype(dtype)
    return Tensor(stream(generator).permutation(int(n)).astype(dt), requires_grad=requires_grad)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """``num_samples`` indices per row, drawn with probability proportional to ``input``
    (``Tensor.multinomial``)."""
    return input.multinomial(num_samples, replacement, generator=generator)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Sequence[int] | None = None, *,
           generator: Generator | None = None, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Samples of N(mean, std^2): ``mean``/``std`` numbers (with ``size``) or tensors
    (broadcast; the result has their shape)."""
    check_device(device)
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if np.any(np.asarray(s) < 0):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if tensors:
        if size is not None:
            raise RuntimeError("normal(): pass size only with numbers for mean and std")
        dt = tensors[0].dtype if dtype is None else as_dtype(dtype)
        shape = np.broadcast_shapes(*(np.shape(x) for x in (m, s)))
    else:
        if size is None:
            raise TypeError("normal(mean, std) with numbers needs size=")
        dt, shape = _float(dtype), _size((size,))
    values = stream(generator).normal(m, s, shape).astype(dt)
    if tensors:  # a sample: zero gradient for mean and std, as torch's
        return record(values, tuple(tensors), "normal", lambda g, out: tuple(
            Tensor(np.zeros(t.shape, t.dtype)) for t in tensors))
    return Tensor(values, requires_grad=requires_grad)


def bernoulli(input: Tensor, p: float | None = None, *,
              generator: Generator | None = None) -> Tensor:
    """1 with probability ``input`` (or ``p``), else 0 (``Tensor.bernoulli``)."""
    return input.bernoulli(p, generator=generator)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor without copying when it can (a tensor of that dtype is returned
    as is; a numpy array of that dtype shares its memory), as torch's."""
    check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return from_numpy(data)
    return Tensor(data, dtype=dtype)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing ``ndarray``'s memory: writes through either are seen by both."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype.kind not in "fiub":
        raise TypeError(f"can't convert np.ndarray of type {ndarray.dtype}. The only supported "
                        "types are: float64, float32, float16, int64, int32, int16, int8, "
                        "uint8, and bool.")
    return Tensor(ndarray)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()


def get_default_dtype() -> np.dtype:
    """The dtype floats get when none is named: float32."""
    return float32


def set_default_dtype(d: Any) -> None:
    """Only float32 (the default) is supported: anything else raises, as a changed default
    would not reach every op."""
    if as_dtype(d) != float32:
        raise NotImplementedError(
            f"set_default_dtype({d!r}): the default dtype here is always float32; pass "
            "dtype=tinygrad_ce.float64 where you create tensors, or call .double()")

