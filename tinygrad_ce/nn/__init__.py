"""Layers, losses and functional ops with torch's names."""

from typing import Any

from tinygrad_ce.nn import functional, init, utils
from tinygrad_ce.nn.layers import (
    GELU,
    MLP,
    BatchNorm1d,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from tinygrad_ce.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from tinygrad_ce.nn.module import (
    IncompatibleKeys,
    Module,
    ModuleDict,
    ModuleList,
    Parameter,
    RemovableHandle,
    Sequential,
    load,
    save,
)
from tinygrad_ce.unsupported import missing

__all__ = [
    "functional", "init", "utils", "Module", "Parameter", "Sequential", "ModuleList",
    "ModuleDict", "RemovableHandle", "IncompatibleKeys", "save", "load",
    "Linear", "ReLU", "Tanh", "Sigmoid", "Dropout", "Identity", "Flatten", "Embedding",
    "LayerNorm", "BatchNorm1d", "MLP",
    "CrossEntropyLoss", "MSELoss", "NLLLoss", "L1Loss", "SmoothL1Loss", "BCELoss",
    "BCEWithLogitsLoss",
]
__all__ += ["LeakyReLU", "GELU", "SiLU", "Softmax", "LogSoftmax"]


def __getattr__(name: str) -> Any:
    raise missing("tinygrad_ce.nn", name, {})
