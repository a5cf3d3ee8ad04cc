"""torch.optim's names: the optimizers (``optim.SGD``, ``optim.Adam``, ...) and, in
``optim.lr_scheduler`` as in torch (and here too, as before), the learning-rate schedules.
A torch name that is not implemented raises an error saying so and what to use instead."""

from __future__ import annotations

from typing import Any

from tinygrad_ce.optim import lr_scheduler
from tinygrad_ce.optim.lr_scheduler import (
    ChainedScheduler,
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiplicativeLR,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)
from tinygrad_ce.optim.optimizer import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    NotSupportedError,
    Optimizer,
    RMSprop,
)

# torch.optim names that are not implemented, and what to use instead
MISSING = {name: "use SGD, Adam, AdamW, RMSprop or Adagrad" for name in (
    "Adadelta", "Adafactor", "Adamax", "ASGD", "LBFGS", "NAdam", "RAdam", "Rprop",
    "SparseAdam", "Muon")}


def __getattr__(name: str) -> Any:
    if name in MISSING:
        raise NotSupportedError(f"torch.optim.{name} is not implemented in tinygrad_ce.optim; "
                                f"{MISSING[name]}")
    if name in lr_scheduler.MISSING:
        return lr_scheduler.__getattr__(name)
    raise AttributeError(f"module 'tinygrad_ce.optim' has no attribute {name!r}")


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler",
           "LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
           "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "SequentialLR",
           "ChainedScheduler", "ReduceLROnPlateau", "OneCycleLR"]
