"""Loss modules: thin wrappers over ``tinygrad_ce.nn.functional`` with torch's arguments."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_ce.nn import functional as F
from tinygrad_ce.nn.module import Module
from tinygrad_ce.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction; "
                         f"expected one of {', '.join(map(repr, REDUCTIONS))}")
    return reduction


def _weight(weight: Any) -> Tensor | None:
    if weight is None:
        return None
    w = weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight))
    if w.ndim != 1 or w.dtype.kind != "f":
        raise RuntimeError(f"weight must be a 1-D float tensor (one value per class); "
                         f"got shape {w.shape} and dtype {w.dtype}")
    return w


class CrossEntropyLoss(Module):
    """``F.cross_entropy`` as a module: the fused op by default (one node, closed-form
    gradient ``softmax - target``); ``fused=False`` records the same loss from primitives."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0, fused: bool = True) -> None:
        super().__init__()
        self.register_buffer("weight", _weight(weight))
        self.ignore_index = int(ignore_index)
        self.reduction = _reduction(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. "
                             f"Got: {label_smoothing}")
        self.label_smoothing = float(label_smoothing)
        self.fused = bool(fused)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        fn = F.cross_entropy if self.fused else F.cross_entropy_unfused
        return fn(input, target, weight=self.weight, ignore_index=self.ignore_index,
                  reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        return "" if self.fused else "fused=False"


class NLLLoss(Module):
    """``F.nll_loss`` as a module: ``-input[i, target_i]``, weighted and reduced."""

    def __init__(self, weight: Any = None, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__()
        self.register_buffer("weight", _weight(weight))
        self.ignore_index = int(ignore_index)
        self.reduction = _reduction(reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class MSELoss(Module):
    """``F.mse_loss`` as a module: ``(input - target)^2``, reduced."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _reduction(reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)
