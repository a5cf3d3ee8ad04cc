"""Functional ops with torch's names: softmax, log_softmax, one_hot and the losses.

The centrepiece is cross-entropy, three ways (``docs/cross_entropy.md`` derives each formula):

* ``cross_entropy``: fused. One node in the graph; its backward is the closed form
  ``s_i * (Q_i * softmax(x)_i - q_i)``, the familiar ``p - y`` with weights, ignored elements,
  label smoothing, probability targets and the reduction folded into ``q`` and ``s``.
* ``cross_entropy_unfused``: the same loss built from primitive ops (exp, log, sum, mul,
  indexing), so the graph shows every step and the engine derives the gradient.
* ``cross_entropy_grad``: the same gradient in plain numpy, for hand-written backward passes.

Their shared machinery (argument checks, the numpy forward and gradient) is
``tinygrad_ce.nn.cross_entropy``, with the notation used here.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from tinygrad_ce.engine import state
from tinygrad_ce.nn.arguments import (
    ArrayOrTensor,
    as_tensor_arg,
    check_reduction,
    legacy_reduction,
)
from tinygrad_ce.nn.cross_entropy import (
    check_targets,
    forward,
    grad_graph,
    grad_numpy,
    grad_target_numpy,
    gradient_buffer,
    index_rows,
    keep_spare,
    own_shape,
    plain_index_targets,
    reduce_losses,
    target_index,
)
from tinygrad_ce.stable import row_max
from tinygrad_ce.tensor import Tensor, record, where


def _softmax_dim(ndim: int) -> int:
    # torch's implicit choice when dim is not given (deprecated there, as here)
    warnings.warn(
        "Implicit dimension choice for softmax has been deprecated. Change the call to "
        "include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


# ----- softmax and friends ---------------------------------------------------------------
def softmax(input: ArrayOrTensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """p_c = e^(x_c) / sum_k e^(x_k), max-shifted: ``Tensor.softmax``, one node."""
    x = as_tensor_arg(input, "input")
    return x.softmax(_softmax_dim(x.ndim) if dim is None else dim, dtype)


def log_softmax(input: ArrayOrTensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    """log p_c = x_c - logsumexp(x), max-shifted: ``Tensor.log_softmax``, one node."""
    x = as_tensor_arg(input, "input")
    return x.log_softmax(_softmax_dim(x.ndim) if dim is None else dim, dtype)


def one_hot(tensor: ArrayOrTensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape ``(*tensor.shape, num_classes)`` with a 1 at each class index."""
    t = as_tensor_arg(tensor, "tensor")
    if t.dtype.kind not in "iu":
        raise RuntimeError(
            f"one_hot is only applicable to index tensor: tensor has dtype {t.dtype}; "
            "expected an integer tensor of class indices"
        )
    if num_classes == -1:
        if t._data.size == 0:
            raise RuntimeError(
                "Can not infer total number of classes from empty tensor: pass num_classes"
            )
        num_classes = int(t._data.max()) + 1
    if t._data.size and t._data.min() < 0:
        raise RuntimeError(
            f"Class values must be non-negative: tensor contains {int(t._data.min())}"
        )
    if num_classes < 0 or (t._data.size and t._data.max() >= num_classes):
        raise RuntimeError(
            f"Class values must be smaller than num_classes: num_classes={num_classes}, "
            f"tensor contains {int(t._data.max()) if t._data.size else 'nothing'}"
        )
    out = np.zeros(t.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, t._data[..., None].astype(np.int64), 1, axis=-1)
    return Tensor(out)


def mse_loss(input: ArrayOrTensor, target: ArrayOrTensor, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean",
             weight: ArrayOrTensor | None = None) -> Tensor:
    """mean((x - y)^2); d/dx = 2 (x - y) / n (the hand-written form: -2 (y - x) / n).

    With ``weight`` (of the input's shape): sum(w (x - y)^2) / sum(w) for 'mean'."""
    x, y = as_tensor_arg(input, "input"), as_tensor_arg(target, "target")
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if y.dtype.kind != "f":
        y = y.to(x.dtype)
    if x.shape != y.shape:
        try:
            np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            raise RuntimeError(
                f"mse_loss: target of shape {y.shape} cannot be broadcast to input of "
                f"shape {x.shape}"
            ) from None
        warnings.warn(
            f"Using a target size ({y.shape}) that is different to the input size "
            f"({x.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", UserWarning, stacklevel=2)
    diff = x - y
    sq = diff * diff
    if weight is not None:
        w = as_tensor_arg(weight, "weight")
        if w.shape != x.shape:
            raise ValueError(f"Weights and input must have the same size. (weight has shape "
                             f"{w.shape}; the input {x.shape})")
        sq = sq * w
        if reduction == "mean":
            return sq.sum() / w.sum()
    if reduction == "none":
        return sq
    return sq.sum() if reduction == "sum" else sq.mean()


def cross_entropy(input: ArrayOrTensor, target: ArrayOrTensor | int,
                  weight: ArrayOrTensor | None = None, size_average: bool | None = None,
                  ignore_index: int = -100, reduce: bool | None = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` and ``target``, fused: one node in the graph.

    ``input``: ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dk)`` logits. ``target``: class
    indices (an integer tensor of shape ``()``, ``(N,)`` or ``(N, d1, ..., dk)``) or class
    probabilities (a float tensor of the input's shape). Options as in torch.

    Forward: l_i = sum_c q_ic (logsumexp(x_i) - x_ic), max-shifted.
    Backward: dl/dx_ic = s_i (Q_i softmax(x_i)_c - q_ic), written out in numpy, or with
    Tensor ops when the gradient itself is being recorded (``create_graph=True``).
    """
    if (weight is None and size_average is None and reduce is None
            and type(reduction) is str and reduction in ("mean", "sum")
            and type(ignore_index) is int
            and type(label_smoothing) is float and label_smoothing == 0.0
            and isinstance(input, (Tensor, np.ndarray))
            and isinstance(target, (Tensor, np.ndarray, list, tuple))):
        x = input if isinstance(input, Tensor) else Tensor(input)
        t = plain_index_targets(x, target, ignore_index)
        if t is not None:
            out = _cross_entropy_rows(x, target, t, reduction, ignore_index)
            if out is not None:
                return out
    reduction = legacy_reduction(size_average, reduce, reduction)
    a = check_targets(input, target, weight, ignore_index, reduction, label_smoothing,
                       "cross_entropy")
    losses, shift, saved = forward(a)
    out = reduce_losses(a, losses)
    x, tt = a.x, a.target
    parents = (x,) if tt is None else (x, tt)

    def backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, ...]:
        # dl/dx = s (Q softmax(x) - q): the closed form, never the chain of primitives
        if state.enabled:  # create_graph: a differentiable gradient
            gx, gt = grad_graph(a, x, g)
        else:
            gx = Tensor(own_shape(grad_numpy(a, shift, g._data, saved), x.shape)) \
                if x.requires_grad else None
            gt = Tensor(own_shape(grad_target_numpy(a, shift, g._data), tt.shape)) \
                if tt is not None and tt.requires_grad else None
        return (gx,) if tt is None else (gx, gt)

    # what torch's log_softmax + nll_loss save that is not the logits: target and weight
    return record(out, parents, "cross_entropy", backward, fused=True,
                  saved=tuple(t for t in (target, weight) if isinstance(t, Tensor)))


def _cross_entropy_rows(x: Tensor, target: Any, t: np.ndarray, reduction: str,
                        ignore_index: int) -> Tensor | None:
    """``cross_entropy`` in the common case (see ``plain_index_targets``): the loss and,
    when a gradient will be wanted, the gradient too, in one cache-blocked pass
    (``index_rows``). The backward hands that array out once, scaled by the upstream
    gradient in place; a later backward (``retain_graph=True``) or one that records
    (``create_graph=True``) computes a fresh one as the general path does. None when a loss
    is not finite: the general path makes such rows what torch makes them."""
    xd = x._data
    scale = 1.0 / xd.shape[0] if reduction == "mean" else 1.0
    grad = gradient_buffer(xd.shape, xd.dtype) if state.enabled and x.requires_grad else None
    total = index_rows(xd, t, scale, grad)
    if not math.isfinite(total):
        return None
    held = [] if grad is None else [grad]  # handed out by the first backward, then gone

    def backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
        # dl/dx = scale * (softmax(x) - onehot(t)), times the upstream gradient
        if held and not state.enabled:  # the first backward: the forward's array, once
            gx = held.pop()
            gv = g._data.item()
            if gv != 1:
                np.multiply(gx, gv, out=gx)
            keep_spare(gx)
            return (Tensor(gx),)
        # create_graph (a differentiable gradient) or a later backward: the general path's
        a = check_targets(x, target, None, ignore_index, reduction, 0.0, "cross_entropy")
        if state.enabled:
            return (grad_graph(a, x, g)[0],)
        _, shift, saved = forward(a)
        return (Tensor(grad_numpy(a, shift, g._data, saved)),)

    return record(np.asarray(total * scale, dtype=xd.dtype), (x,), "cross_entropy", backward,
                  fused=True, saved=(target,) if isinstance(target, Tensor) else ())


def cross_entropy_grad(input: ArrayOrTensor, target: ArrayOrTensor | int,
                       weight: ArrayOrTensor | None = None, size_average: bool | None = None,
                       ignore_index: int = -100, reduce: bool | None = None,
                       reduction: str = "mean", label_smoothing: float = 0.0,
                       *, grad_output: ArrayOrTensor | float | None = None) -> np.ndarray:
    """d(loss)/d(input) of ``cross_entropy`` in plain numpy: arrays (or Tensors) in, an array
    out. The plain case is ``p = softmax(x); p[range(N), y] -= 1; p / N``.

    With ``reduction='none'`` it is the gradient of ``sum(grad_output * losses)``;
    ``grad_output`` defaults to ones (a scalar 1 for 'mean' and 'sum').
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    a = check_targets(input, target, weight, ignore_index, reduction, label_smoothing,
                       "cross_entropy_grad")
    loss_shape = (() if a.one_d else a.rows) if a.reduction == "none" else ()
    dt = a.x_array.dtype
    if grad_output is None:
        g = np.ones(loss_shape, dtype=dt)
    else:
        g = np.asarray(grad_output._data if isinstance(grad_output, Tensor) else grad_output,
                       dtype=dt)
        if g.shape != loss_shape:
            raise ValueError(
                f"cross_entropy_grad: grad_output has shape {g.shape}; expected the loss's "
                f"shape {loss_shape} (reduction={reduction!r})"
            )
    _, shift, saved = forward(a)
    return own_shape(grad_numpy(a, shift, g, saved), a.x.shape)


# ----- the same loss from primitive ops ----------------------------------------------------
def cross_entropy_unfused(input: ArrayOrTensor, target: ArrayOrTensor | int,
                          weight: ArrayOrTensor | None = None, size_average: bool | None = None,
                          ignore_index: int = -100, reduce: bool | None = None,
                          reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """``cross_entropy`` composed from primitive ops (sub, exp, sum, log, getitem, mul, div),
    so the graph shows every step and the engine chains their backward closures:

        z = x - max(x)             (the shift is a constant: it cancels in log p)
        log p = z - log(sum(exp(z)))
        l_i = -(1 - eps) w_t log p_{i,t} - (eps / C) sum_c w_c log p_ic
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    a = check_targets(input, target, weight, ignore_index, reduction, label_smoothing,
                       "cross_entropy_unfused")
    dt = a.x_array.dtype
    x = a.x.reshape(a.x_array.shape) if a.one_d else a.x
    m, finite = row_max(x._data, 1)
    if finite:
        z = x - m
    else:  # inf - inf: the row is nan, as in torch
        with np.errstate(invalid="ignore"):
            z = x - m
    log_p = z - z.exp().sum(1, keepdim=True).log()
    weight_b = a.weight_broadcast()
    if a.t is not None and not a.all_counted:
        # ignored rows count 0 and pass back 0, even where log p is nan or -inf (torch's
        # nll skips them); the shape (N, 1, d...) broadcasts over the classes
        log_p = where(a.mask.reshape(a.rows[:1] + (1,) + a.rows[1:]), log_p, 0.0)
    if a.t is not None:
        picked = log_p[target_index(a.t, a.C)]  # log p_{i, t_i}
        losses = picked * (a.target_weight() * dt.type(-(1 - a.eps)))
        if a.eps:
            weighted = log_p if weight_b is None else log_p * weight_b
            losses = losses - weighted.sum(1) * (a.mask * dt.type(a.eps / a.C))
    else:
        tc = a.target.reshape(a.x_array.shape) if a.one_d else a.target
        q = tc * (1 - a.eps) + a.eps / a.C if a.eps else tc
        if weight_b is not None:
            q = q * weight_b
        losses = -(log_p * q).sum(1)
    if a.reduction == "none":
        return losses.reshape(()) if a.one_d else losses
    total = losses.sum()
    if a.reduction == "sum":
        return total
    if not (a.mask.any() if a.mask is not None else losses._data.size):
        return total + dt.type(np.nan)  # nothing counted: 0 / 0 is nan, the gradient stays 0
    if not a.denominator():
        # every counted target has weight 0: torch's mean is 0 / 0 = nan, with a nan
        # gradient on the counted rows and 0 on the ignored ones (x / 0 would give inf)
        return (losses * np.where(a.mask, np.nan, 0).astype(dt)).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return total / dt.type(a.denominator())


def nll_loss(input: ArrayOrTensor, target: ArrayOrTensor | int,
             weight: ArrayOrTensor | None = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input``: l_i = -w_t input_{i, t_i},
    composed from getitem and mul; 'mean' divides by the summed weights of counted rows."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    a = check_targets(input, target, weight, ignore_index, reduction, 0.0, "nll_loss",
                       probabilities=False)
    dt = a.x_array.dtype
    x = a.x.reshape(a.x_array.shape) if a.one_d else a.x
    losses = x[target_index(a.t, a.C)] * (-a.target_weight())
    if reduction == "none":
        return losses.reshape(()) if a.one_d else losses
    total = losses.sum()
    if reduction == "sum":
        return total
    if not a.mask.any():
        return total + dt.type(np.nan)  # nothing counted: 0 / 0 is nan, the gradient stays 0
    if not a.denominator():
        # every counted target has weight 0: torch's mean is 0 / 0 = nan, with a nan
        # gradient at the counted targets and 0 on the ignored rows (x / 0 would give inf)
        return (losses * np.where(a.mask, np.nan, 0).astype(dt)).sum()
    return total / dt.type(a.denominator())


__all__ = [
    "softmax", "log_softmax", "one_hot", "mse_loss", "nll_loss", "cross_entropy",
    "cross_entropy_unfused", "cross_entropy_grad",
]
