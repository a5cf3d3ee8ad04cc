"""Weight initialisation with torch's names (``torch.nn.init``), drawn from the global
generator (``tinygrad_ce.manual_seed``). Each function fills its tensor in place, outside
the graph (``Tensor.write_``, so a leaf that requires grad may be filled), and returns it.

The scaled schemes: ``fan_in``/``fan_out`` are ``size(1) * receptive`` and
``size(0) * receptive`` (``receptive`` the product of the dims after the second);
xavier: ``std = gain * sqrt(2 / (fan_in + fan_out))``; kaiming:
``std = gain(nonlinearity, a) / sqrt(fan)``; a uniform draw on ``[-b, b]`` uses
``b = sqrt(3) * std``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from tinygrad_ce.random import generator
from tinygrad_ce.tensor import Tensor
from tinygrad_ce.unsupported import missing

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for ``nonlinearity``: 1 for linear, conv and sigmoid, 5/3 for
    tanh, sqrt(2) for relu, sqrt(2 / (1 + a^2)) for leaky_relu (slope ``param``, default
    0.01), 3/4 for selu."""
    if nonlinearity in _LINEAR:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _check(tensor: Any, fn: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: tensor is a {type(tensor).__name__}; expected a Tensor")
    if tensor.dtype.kind != "f":
        raise TypeError(f"{fn}: tensor has dtype {tensor.dtype}; expected a floating point "
                        "tensor")
    return tensor


def _fill(tensor: Tensor, values: Any) -> Tensor:
    tensor.write_(np.asarray(values, dtype=np.float64).astype(tensor.dtype))
    return tensor


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         f"2 dimensions (got shape {tensor.shape})")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower() if isinstance(mode, str) else mode
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _no_generator(generator_: Any) -> None:
    if generator_ is not None:
        raise TypeError("generator=: per-call generators are not supported; seed the global "
                        "one with tinygrad_ce.manual_seed")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with draws from U(a, b)."""
    _no_generator(generator)
    return _fill(_check(tensor, "uniform_"), _rng().uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Any = None) -> Tensor:
    """Fill with draws from N(mean, std^2)."""
    _no_generator(generator)
    return _fill(_check(tensor, "normal_"), _rng().normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(_check(tensor, "constant_"), np.full(tensor.shape, val))


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (a 2-D tensor only)."""
    if _check(tensor, "eye_").ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported "
                         f"(got shape {tensor.shape})")
    rows, cols = tensor.shape
    return _fill(tensor, np.eye(rows, cols))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """U(-b, b) with b = gain sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    _no_generator(generator)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_uniform_"))
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _fill(tensor, _rng().uniform(-bound, bound, tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """N(0, std^2) with std = gain sqrt(2 / (fan_in + fan_out))."""
    _no_generator(generator)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_normal_"))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _fill(tensor, _rng().normal(0.0, std, tensor.shape))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator: Any = None) -> Tensor:
    """U(-b, b) with b = gain sqrt(3 / fan) (He et al., 2015); ``a`` is leaky_relu's
    negative slope, ``mode`` picks fan_in (forward) or fan_out (backward)."""
    _no_generator(generator)
    _check(tensor, "kaiming_uniform_")
    if 0 in tensor.shape:
        return tensor  # torch warns and leaves an empty tensor alone
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return _fill(tensor, _rng().uniform(-bound, bound, tensor.shape))


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator: Any = None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan)."""
    _no_generator(generator)
    _check(tensor, "kaiming_normal_")
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return _fill(tensor, _rng().normal(0.0, std, tensor.shape))


def _rng() -> np.random.Generator:
    return generator()


__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
]


def __getattr__(name: str) -> Any:
    raise missing("tinygrad_ce.nn.init", name, {})
