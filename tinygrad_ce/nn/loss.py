"""Loss modules: thin wrappers over ``tinygrad_ce.nn.functional`` with torch's arguments."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_ce.nn import functional as F
from tinygrad_ce.nn.arguments import legacy_reduction
from tinygrad_ce.nn.module import Module
from tinygrad_ce.tensor import Tensor


def _weight(weight: Any) -> tuple[Tensor | None, bool]:
    """The class weights as a buffer, and whether they came as a Python list or tuple (such
    weights take the input's dtype at each call; a Tensor or array keeps its own and must
    match, as in torch). Shapes and dtypes are checked when the loss is called, as torch
    does."""
    if weight is None or isinstance(weight, Tensor):
        return weight, False
    return Tensor(np.asarray(weight)), isinstance(weight, (list, tuple))


class _Loss(Module):
    def __init__(self, size_average: bool | None, reduce: bool | None, reduction: str) -> None:
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)


class _WeightedLoss(_Loss):
    weight: Tensor | None
    def __init__(self, weight: Any, size_average: bool | None, reduce: bool | None,
                 reduction: str) -> None:
        super().__init__(size_average, reduce, reduction)
        weight, self._weight_follows_input = _weight(weight)
        self.register_buffer("weight", weight)

    def _weight_for(self, input: Any) -> Tensor | None:
        w = self.weight
        if w is not None and self._weight_follows_input and isinstance(input, Tensor):
            return w.to(input.dtype)
        return w


class CrossEntropyLoss(_WeightedLoss):
    """``F.cross_entropy`` as a module: the fused op by default (one node, closed-form
    gradient ``softmax - target``); ``fused=False`` records the same loss from primitives.
    Arguments are checked when the loss is called, as torch does."""

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                 label_smoothing: float = 0.0, *, fused: bool = True) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.fused = bool(fused)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        fn = F.cross_entropy if self.fused else F.cross_entropy_unfused
        return fn(input, target, weight=self._weight_for(input),
                  ignore_index=self.ignore_index, reduction=self.reduction,
                  label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        return "" if self.fused else "fused=False"


class NLLLoss(_WeightedLoss):
    """``F.nll_loss`` as a module: ``-input[i, target_i]``, weighted and reduced."""

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(input, target, weight=self._weight_for(input),
                          ignore_index=self.ignore_index, reduction=self.reduction)


class MSELoss(_Loss):
    """``F.mse_loss`` as a module: ``(input - target)^2``, reduced."""

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """``F.l1_loss`` as a module: ``|input - target|``, reduced."""

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """``F.smooth_l1_loss`` as a module: quadratic below ``beta``, linear above."""

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class BCELoss(_WeightedLoss):
    """``F.binary_cross_entropy`` as a module: probabilities in, weighted and reduced."""

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self._weight_for(input),
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``F.binary_cross_entropy_with_logits`` as a module: logits in, stable for any size;
    ``weight`` and ``pos_weight`` are buffers, as torch's."""

    weight: Tensor | None
    pos_weight: Tensor | None

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean",
                 pos_weight: Any = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  pos_weight=self.pos_weight,
                                                  reduction=self.reduction)
