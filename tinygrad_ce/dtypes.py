"""Type promotion, torch's rules (``torch.result_type``, ``torch.promote_types``).

Operands come in three classes, strongest first: tensors with dimensions, 0-d tensors, and
Python or numpy scalars ("wrapped numbers"). Categories are ordered bool < integer < float.
Within a class dtypes promote as ``promote_types`` says; a weaker class changes the result
only if its category is higher (``int32 tensor * 2.5`` is a float, ``int32 tensor * 2`` stays
int32, ``float32 tensor * float64 0-d tensor`` stays float32). A Python float counts as the
default dtype (float32), a Python int as int64, a Python bool as bool.

float16 is stored as float16 and computed in float32, rounded once per op, as torch does on
the CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

DEFAULT_FLOAT = float32  # torch.get_default_dtype()

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}
# torch's names for dtypes in messages ("not implemented for 'Int'")
TORCH_NAMES = {bool_: "Bool", uint8: "Byte", int8: "Char", int16: "Short", int32: "Int",
               int64: "Long", float16: "Half", float32: "Float", float64: "Double"}


def category(dt: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floats."""
    return _CATEGORY[dt.kind]


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """The smallest dtype both ``a`` and ``b`` convert to, as ``torch.promote_types``: a float
    with an integer is that float (``int64`` with ``float16`` is ``float16``), integers widen
    as numpy's do (``uint8`` with ``int8`` is ``int16``), bool gives way to anything."""
    if a is b or a == b:
        return a
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def is_scalar(x: Any) -> bool:
    """A Python or numpy number: it takes part in promotion as a wrapped number."""
    return isinstance(x, (bool, int, float, np.bool_, np.integer, np.floating))


def scalar_dtype(x: Any) -> np.dtype:
    """The dtype a wrapped number counts as: bool, int64, or the default float dtype."""
    if isinstance(x, (bool, np.bool_)):
        return bool_
    if isinstance(x, (int, np.integer)):
        return int64
    return DEFAULT_FLOAT


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    # a weaker class only matters if its category is higher (torch's combine_categories)
    if higher is None:
        return lower
    if lower is None or _CATEGORY[lower.kind] <= _CATEGORY[higher.kind]:
        return higher
    return promote_types(higher, lower)


def result_type(*operands: Any) -> np.dtype:
    """The dtype an op over ``operands`` computes and returns, as ``torch.result_type``.
    Tensors (and numpy arrays, which torch counts as tensors with dimensions) by their
    dtype and dimension count; Python and numpy scalars as wrapped numbers."""
    dim = zero = wrapped = None
    for x in operands:
        if x is None:
            continue
        if is_scalar(x):
            dt = scalar_dtype(x)
            wrapped = dt if wrapped is None else promote_types(wrapped, dt)
            continue
        dt = x.dtype
        if isinstance(x, np.ndarray) or x.ndim:
            dim = dt if dim is None else promote_types(dim, dt)
        else:
            zero = dt if zero is None else promote_types(zero, dt)
    result = _combine(dim, _combine(zero, wrapped))
    if result is None:
        raise TypeError("result_type() needs at least one tensor or number")
    return result


def scalar_result(dt: np.dtype, x: Any) -> np.dtype:
    """``result_type(tensor, x)`` for a tensor of dtype ``dt`` and a wrapped number ``x``."""
    if dt.kind == "f" or isinstance(x, (bool, np.bool_)):
        return dt
    if isinstance(x, (int, np.integer)):
        return dt if dt.kind != "b" else int64
    return DEFAULT_FLOAT


def scalar_array(x: Any, dt: np.dtype) -> np.ndarray:
    """A wrapped number as a 0-d array of ``dt``; an int out of the dtype's range wraps
    around, as torch's does (``uint8 tensor - 1`` subtracts 255 modulo 256)."""
    if dt.kind in "iu" and isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        info = np.iinfo(dt)
        if not info.min <= x <= info.max:
            if not -2 ** 63 <= x < 2 ** 64:
                raise OverflowError("int too big to convert")
            return np.asarray(int(x) % 2 ** info.bits, dtype=np.uint64).astype(dt)
    return np.asarray(x, dtype=dt)


def torch_name(dt: np.dtype) -> str:
    return TORCH_NAMES.get(dt, str(dt))


def compute_dtype(dt: np.dtype) -> np.dtype:
    """The dtype an op on ``dt`` computes in: float16 math is done in float32."""
    return float32 if dt is float16 or dt == float16 else dt


def infer(data: Any) -> np.dtype | None:
    """torch's dtype for nested Python data (``torch.tensor([...])``): Python floats are the
    default float dtype, ints int64, bools bool; numpy scalars and arrays and tensors keep
    theirs; everything found promotes together. None if there is nothing to go by."""
    result: np.dtype | None = None
    dt: np.dtype
    stack = [data]
    while stack:
        seq = stack.pop()
        for kind in {type(v) for v in seq}:
            if kind is float:
                dt = DEFAULT_FLOAT
            elif kind is int:
                dt = int64
            elif kind is bool:
                dt = bool_
            elif issubclass(kind, (list, tuple)):
                stack.extend(v for v in seq if type(v) is kind)
                continue
            elif issubclass(kind, np.generic):
                dt = np.dtype(kind)
            elif hasattr(kind, "dtype"):  # an ndarray or a Tensor: each has its own dtype
                for v in seq:
                    if type(v) is kind:
                        result = v.dtype if result is None else promote_types(result, v.dtype)
                continue
            else:
                return None
            result = dt if result is None else promote_types(result, dt)
    return result


KINDS = "fiub"  # float, signed and unsigned int, bool: what a Tensor may hold


def as_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """``dtype`` as a numpy dtype a Tensor may hold, or a TypeError naming the argument."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"{name}={dtype!r} is not a dtype; expected e.g. tinygrad_ce.float32"
        ) from None
    if dt.kind not in KINDS:
        raise TypeError(f"{name}={dtype!r} is not supported; expected a float, int or bool dtype")
    return dt
