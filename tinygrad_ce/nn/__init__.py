"""Layers, losses and functional ops with torch's names."""

from tinygrad_ce.nn import functional
from tinygrad_ce.nn.layers import (
    GELU,
    MLP,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from tinygrad_ce.nn.loss import CrossEntropyLoss, MSELoss, NLLLoss
from tinygrad_ce.nn.module import IncompatibleKeys, Module, Parameter, Sequential, load, save

__all__ = [
    "functional", "Module", "Parameter", "Sequential", "IncompatibleKeys", "save", "load",
    "Linear", "ReLU", "Tanh", "Sigmoid", "Dropout", "Identity", "MLP",
    "CrossEntropyLoss", "MSELoss", "NLLLoss",
]
__all__ += ["LeakyReLU", "GELU", "SiLU", "Softmax", "LogSoftmax"]
