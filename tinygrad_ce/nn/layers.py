"""Layers with torch's names, arguments, initialisation and state-dict keys."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_ce import creation
from tinygrad_ce.dtypes import as_dtype
from tinygrad_ce.nn import functional as F
from tinygrad_ce.nn.module import Module, Parameter, Sequential
from tinygrad_ce.tensor import Tensor, float32


def _count(value: Any, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name}={value!r}: expected a non-negative int")
    return int(value)


class Linear(Module):
    """``y = x W^T + b`` with ``W`` of shape ``(out_features, in_features)``.

    Initialised as torch does: ``W, b ~ U(-1/sqrt(in_features), 1/sqrt(in_features))``
    (kaiming-uniform with ``a = sqrt(5)``), drawn from the global generator
    (``tinygrad_ce.manual_seed``). d/dx = G W, d/dW = G^T x, d/db = sum of G over the batch."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_device(device)
        self.in_features = _count(in_features, "in_features")
        self.out_features = _count(out_features, "out_features")
        dt = float32 if dtype is None else as_dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"Linear(dtype={dt}): expected a floating point dtype")
        bound = 1 / math.sqrt(in_features) if in_features > 0 else 0.0
        rng = creation.generator()
        # held column-major: x @ W.T then reads W.T row by row, BLAS's fastest case, and the
        # in-place updates keep that layout (the values and the API are torch's)
        self.weight = Parameter(np.asfortranarray(
            rng.uniform(-bound, bound, (out_features, in_features)).astype(dt)))
        if bias:
            self.bias = Parameter(rng.uniform(-bound, bound, (out_features,)).astype(dt))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise RuntimeError(
                f"Linear(in_features={self.in_features}): input of shape {x.shape} has "
                f"{x.shape[-1] if x.ndim else 'no'} features in its last dim; "
                f"expected {self.in_features}"
            )
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def _check_device(device: Any) -> None:
    if device is not None and str(device) != "cpu":
        raise RuntimeError(f"device={device!r}: the only device is 'cpu'")


class ReLU(Module):
    """max(x, 0); d/dx = 1 where x > 0. ``inplace=True`` overwrites the input, as torch's
    ``relu_`` (recorded in the graph like any in-place op)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return x.relu_() if self.inplace else x.relu()

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Tanh(Module):
    """tanh x; d/dx = 1 - tanh^2 x."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Sigmoid(Module):
    """1 / (1 + e^-x); d/dx = s (1 - s)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class LeakyReLU(Module):
    """x where x > 0, else ``negative_slope`` x."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace:
            return x._apply_inplace(lambda t: t.leaky_relu(self.negative_slope))
        return x.leaky_relu(self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")


class GELU(Module):
    """x Phi(x) (``approximate='tanh'``: its tanh approximation)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return x.gelu(self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x sigmoid(x)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return x._apply_inplace(lambda t: t.silu()) if self.inplace else x.silu()

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Softmax(Module):
    """softmax over ``dim`` (torch's implicit choice, with its warning, when None)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log_softmax over ``dim`` (torch's implicit choice, with its warning, when None)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Identity(Module):
    """x; any arguments are accepted and ignored, as torch's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Dropout(Module):
    """In training, zero each element with probability ``p`` and scale the rest by
    ``1 / (1 - p)`` (so the expectation is unchanged); in eval, the identity.
    The mask comes from the global generator."""

    p: float
    inplace: bool

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
        self.p = float(p)
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        keep = creation.generator().random(x.shape) >= self.p
        scale = 0.0 if self.p == 1 else 1 / (1 - self.p)
        mask = (keep * scale).astype(x.dtype)
        return x.mul_(Tensor(mask)) if self.inplace else x * Tensor(mask)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


ACTIVATIONS: dict[str, type[Module]] = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


class MLP(Sequential):
    """``Linear -> activation`` for each hidden size, then a last ``Linear``.

    A ``Sequential`` underneath, so its state-dict keys are those of the same
    ``torch.nn.Sequential`` (``"0.weight"``, ``"2.weight"``, ...). ``dropout > 0`` adds a
    ``Dropout`` after each activation."""

    def __init__(self, in_features: int, hidden: int | Sequence[int], out_features: int,
                 activation: str = "relu", dropout: float = 0.0, dtype: Any = None) -> None:
        sizes = [hidden] if isinstance(hidden, (int, np.integer)) else list(hidden)
        for h in sizes:
            _count(h, "hidden")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation={activation!r}: expected one of {', '.join(ACTIVATIONS)}"
            )
        Dropout(dropout)  # checks p before any weight is drawn
        layers: list[Module] = []
        widths = [in_features, *sizes]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [Linear(a, b, dtype=dtype), ACTIVATIONS[activation]()]
            if dropout:
                layers.append(Dropout(dropout))
        layers.append(Linear(widths[-1], out_features, dtype=dtype))
        super().__init__(*layers)
