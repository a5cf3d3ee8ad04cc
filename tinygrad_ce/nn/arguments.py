"""Argument checks shared by the losses (functional and modules): one place each."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tinygrad_ce.tensor import Tensor

ArrayOrTensor = Tensor | np.ndarray
REDUCTIONS = ("none", "mean", "sum")


def as_tensor_arg(x: Any, name: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple, int, float, np.number)) and not isinstance(x, bool):
        return Tensor(x)
    raise TypeError(f"{name} must be a Tensor or a numpy array, not {type(x).__name__}")


def check_reduction(reduction: Any) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"reduction={reduction!r}: {reduction} is not a valid value for reduction; "
            "expected 'none', 'mean' or 'sum'"
        )
    return reduction


def legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """torch's deprecated ``size_average``/``reduce`` pair, when either is given, decides
    the reduction (with torch's warning): reduce=False is 'none', size_average=False
    'sum', otherwise 'mean'."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    legacy = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  f"reduction='{legacy}' instead.", UserWarning, stacklevel=3)
    return legacy


def missing_name(module: str, name: str) -> AttributeError:
    """What a module-level ``__getattr__`` raises for a name torch has and we don't: an
    AttributeError (so ``hasattr`` and ``getattr(m, name, default)`` keep working) that
    says so."""
    if name.startswith("__"):
        return AttributeError(f"module {module!r} has no attribute {name!r}")
    torch_name = module.replace("tinygrad_ce", "torch", 1)
    return AttributeError(
        f"module {module!r} has no attribute {name!r}: {torch_name}.{name} is not supported "
        "here (the README's API section lists what is)")
