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
from tinygrad_ce.tensor import Tensor, float32, int64


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
        xd = x._data
        if xd.ndim == 0 or xd.shape[-1] != self.in_features:
            raise RuntimeError(
                f"Linear(in_features={self.in_features}): input of shape {x.shape} has "
                f"{x.shape[-1] if x.ndim else 'no'} features in its last dim; "
                f"expected {self.in_features}"
            )
        return F.linear_nodes(x, self.weight, self.bias)  # without F.linear's checks again

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
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Flatten(Module):
    """``x.flatten(start_dim, end_dim)``: by default every dim but the batch's."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


def _float_dtype(dtype: Any, layer: str) -> np.dtype:
    dt = float32 if dtype is None else as_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{layer}(dtype={dt}): expected a floating point dtype")
    return dt


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by index:
    ``weight[input]`` (``F.embedding``). Initialised ``N(0, 1)`` from the global generator,
    the ``padding_idx`` row zero (it gets no gradient)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Tensor | None = None, _freeze: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        _check_device(device)
        self.num_embeddings = _count(num_embeddings, "num_embeddings")
        self.embedding_dim = _count(embedding_dim, "embedding_dim")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError("Padding_idx must be within num_embeddings "
                                     f"(padding_idx={padding_idx}, "
                                     f"num_embeddings={num_embeddings})")
            padding_idx = padding_idx % num_embeddings
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if sparse:
            raise RuntimeError("Embedding(sparse=True): sparse gradients are not supported; "
                               "use sparse=False (a dense gradient of the same values)")
        if _weight is None:
            dt = _float_dtype(dtype, "Embedding")
            w = creation.generator().standard_normal((num_embeddings, embedding_dim)).astype(dt)
            if padding_idx is not None:
                w[padding_idx] = 0
        else:
            w = _weight._data if isinstance(_weight, Tensor) else np.asarray(_weight)
            if w.shape != (num_embeddings, embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and "
                                     f"embedding_dim (weight {w.shape}, expected "
                                     f"{(num_embeddings, embedding_dim)})")
        self.weight = Parameter(w, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding holding a copy of the 2-D ``embeddings`` (not trained if ``freeze``)."""
        data = embeddings._data if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        if data.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional "
                                 f"(got shape {data.shape})")
        return cls(data.shape[0], data.shape[1], padding_idx, max_norm, norm_type,
                   scale_grad_by_freq, sparse, _weight=Tensor(data.copy()), _freeze=freeze)

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm,
                           self.norm_type, self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s


class LayerNorm(Module):
    """``F.layer_norm`` over the last dims (``normalized_shape``), with a learned
    elementwise ``weight`` (ones) and ``bias`` (zeros) when ``elementwise_affine``."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        _check_device(device)
        shape = ((int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer))
                 else tuple(int(s) for s in normalized_shape))
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        dt = _float_dtype(dtype, "LayerNorm")
        if elementwise_affine:
            self.weight = Parameter(np.ones(shape, dtype=dt))
            if bias:
                self.bias = Parameter(np.zeros(shape, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class BatchNorm1d(Module):
    """``F.batch_norm`` of ``(N, C)`` or ``(N, C, L)`` inputs over each channel, with
    torch's parameters (``weight`` ones, ``bias`` zeros, if ``affine``) and buffers
    (``running_mean`` zeros, ``running_var`` ones, ``num_batches_tracked`` an int64 0, if
    ``track_running_stats``). Training uses the batch's statistics and moves the running
    ones by ``momentum``, or, with ``momentum=None``, to their cumulative average over
    ``num_batches_tracked`` batches; eval uses the running ones (or the batch's when none
    are tracked)."""

    running_mean: Any
    running_var: Any
    num_batches_tracked: Any

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        _check_device(device)
        self.num_features = _count(num_features, "num_features")
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dt = _float_dtype(dtype, type(self).__name__)
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dt))
            if bias:
                self.bias = Parameter(np.zeros(num_features, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dt)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dt)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.write_(np.zeros(self.num_features))
            self.running_var.write_(np.ones(self.num_features))
            self.num_batches_tracked.write_(np.array(0))

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            self.weight.write_(np.ones(self.num_features))
            if self.bias is not None:
                self.bias.write_(np.zeros(self.num_features))

    def _check_input_dim(self, x: Tensor) -> None:
        if x.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.ndim}D input)")

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        self._check_input_dim(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            n = self.num_batches_tracked
            n.write_(n.numpy() + 1)
            factor = 1.0 / float(n.item()) if self.momentum is None else self.momentum
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if keep else None,
                            self.running_var if keep else None, self.weight, self.bias,
                            use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


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
