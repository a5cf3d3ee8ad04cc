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
import numbers
import warnings
from collections.abc import Sequence
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
from tinygrad_ce.random import generator
from tinygrad_ce.stable import row_max
from tinygrad_ce.tensor import Tensor, record, where
from tinygrad_ce.unsupported import FUNCTIONAL_HINTS, missing


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
    diff = x - _same_shape_target(x, y, "mse_loss")
    return _weighted_reduce(diff * diff, weight, x, reduction)


def _weighted_reduce(losses: Tensor, weight: ArrayOrTensor | None, x: Tensor,
                     reduction: str) -> Tensor:
    """mse_loss's and l1_loss's ``weight`` (of the input's shape): sum(w l) / sum(w) for
    'mean'; the plain reduction without it."""
    if weight is None:
        return _reduce(losses, reduction)
    w = as_tensor_arg(weight, "weight")
    if w.shape != x.shape:
        raise ValueError(f"Weights and input must have the same size. (weight has shape "
                         f"{w.shape}; the input {x.shape})")
    losses = losses * w
    return losses.sum() / w.sum() if reduction == "mean" else _reduce(losses, reduction)


def cross_entropy(input: ArrayOrTensor, target: ArrayOrTensor | int,
                  weight: ArrayOrTensor | None = None, size_average: bool | None = None,
                  ignore_index: int = -100, reduce: bool | None = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` and ``target``, fused: one node in the graph.

    ``input``: ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dk)`` logits. ``target``: class
    indices (an integer tensor of shape ``()``, ``(N,)`` or ``(N, d1, ..., dk)``) or class
    probabilities (a float tensor of the input's shape). Options as in torch.

    Forward: l_i = sum_c q_ic (logsumexp(x_i) - x_ic), max-shifted (the row-block kernel of
    the common case skips the shift where its row sums show that is safe: see
    ``nn.cross_entropy._block``).
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
            fast = _cross_entropy_rows(x, target, t, reduction, ignore_index)
            if fast is not None:
                return fast
    reduction = legacy_reduction(size_average, reduce, reduction)
    a = check_targets(input, target, weight, ignore_index, reduction, label_smoothing,
                       "cross_entropy")
    losses, shift, saved = forward(a)
    out = reduce_losses(a, losses)
    x, tt = a.x, a.target
    parents = (x,) if tt is None else (x, tt)

    def backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, ...]:
        # dl/dx = s (Q softmax(x) - q): the closed form, never the chain of primitives
        gx: Tensor | None
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
    m_array, finite = row_max(x._data, 1)
    m = Tensor(m_array, name="max")  # a constant: no gradient flows through the shift
    if finite:
        z = x - m
    else:  # inf - inf: the row is nan, as in torch
        with np.errstate(invalid="ignore"):
            z = x - m
    e = z.exp()
    s = e.sum(1, keepdim=True)
    log_s = s.log()
    log_p = z - log_s
    # named after docs/cross_entropy.md, so a picture of the graph reads as the math
    z.name, e.name, s.name, log_s.name, log_p.name = (
        "z = x − max", "e^z", "S = Σ e^z", "log S", "log p = z − log S")
    weight_b = a.weight_broadcast()
    if a.t is not None and not a.all_counted:
        # ignored rows count 0 and pass back 0, even where log p is nan or -inf (torch's
        # nll skips them); the shape (N, 1, d...) broadcasts over the classes
        log_p = where(a.mask.reshape(a.rows[:1] + (1,) + a.rows[1:]), log_p, 0.0)
    if a.t is not None:
        picked = log_p[target_index(a.t, a.C)]  # log p_{i, t_i}
        picked.name = "log p[i, y_i]"
        if picked.parents and isinstance(target, Tensor):  # the picture shows what it picks
            picked.extra_inputs, picked.op_label = (target,), "getitem [i, target_i]"
        losses = picked * Tensor(a.target_weight() * dt.type(-(1 - a.eps)), name="−w[y_i]")
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
    losses.name, total.name = "l_i", "Σ l_i"  # inside the graph only: the result is unnamed
    if not (a.mask.any() if a.mask is not None else losses._data.size):
        return total + dt.type(np.nan)  # nothing counted: 0 / 0 is nan, the gradient stays 0
    if not a.denominator():
        # every counted target has weight 0: torch's mean is 0 / 0 = nan, with a nan
        # gradient on the counted rows and 0 on the ignored ones (x / 0 would give inf)
        return (losses * np.where(a.mask, np.nan, 0).astype(dt)).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return total / Tensor(np.asarray(a.denominator(), dt), name="N")


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


# ----- layers as functions -------------------------------------------------------------
def linear(input: ArrayOrTensor, weight: ArrayOrTensor,
           bias: ArrayOrTensor | None = None) -> Tensor:
    """y = x W^T + b, with ``W`` of shape ``(out_features, in_features)``. A matrix input
    with a bias makes one ``addmm`` node (b + x @ W.t()) after the view W.t(), as in torch."""
    x, w = as_tensor_arg(input, "input"), as_tensor_arg(weight, "weight")
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[-1]:
        raise RuntimeError(f"linear: input of shape {x.shape} and weight of shape {w.shape} "
                           "cannot be multiplied: expected input (..., in_features) and "
                           "weight (out_features, in_features)")
    return linear_nodes(x, w, None if bias is None else as_tensor_arg(bias, "bias"))


def linear_nodes(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    """``linear``'s nodes for checked arguments (``nn.Linear`` checks its own): torch's,
    ``W.t()`` then one ``addmm`` for a matrix with a bias, else ``matmul`` (and ``add``)."""
    if b is None:
        return x @ w.t()
    if x.ndim == 2 and b.dtype == x.dtype == w.dtype:
        return b.addmm(x, w.t())
    return x @ w.t() + b


def dropout(input: ArrayOrTensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """In training, zero each element with probability ``p`` and scale the rest by
    ``1 / (1 - p)``; otherwise the identity. The mask comes from the global generator."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
    x = as_tensor_arg(input, "input")
    if not training or p == 0:
        return x
    keep = generator().random(x.shape) >= p
    mask = Tensor((keep * (0.0 if p == 1 else 1 / (1 - p))).astype(x.dtype))
    return x.mul_(mask) if inplace else x * mask


def _grad_scaled(x: Tensor, scale: np.ndarray) -> Tensor:
    # the identity whose backward multiplies the gradient by ``scale`` (broadcast)
    s = scale.astype(x.dtype)
    return record(x._data.copy(), (x,), "embedding_backward_scale", lambda g, out: (g * s,))


def embedding(input: ArrayOrTensor, weight: ArrayOrTensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``: ``weight[input]``; the gradient
    is scattered back, summed where an index repeats. ``padding_idx``'s row gets no
    gradient; ``scale_grad_by_freq`` divides each row's gradient by its count in ``input``;
    ``max_norm`` first renormalises, in place, the picked rows longer than it, as torch's."""
    idx, w = as_tensor_arg(input, "input"), as_tensor_arg(weight, "weight")
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {idx.dtype} instead "
                           "(embedding: input holds row indices)")
    if w.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D (embedding: got shape {w.shape})")
    if sparse:
        raise RuntimeError("embedding(sparse=True): sparse gradients are not supported; "
                           "use sparse=False (a dense gradient of the same values)")
    n = w.shape[0]
    ids = idx._data
    if ids.size and (ids.min() < 0 or ids.max() >= n):  # negative ones too, as torch
        bad = ids.max() if ids.max() >= n else ids.min()
        raise IndexError(f"index out of range in self (embedding: input contains {bad}; "
                         f"expected values in [0, {n}))")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise AssertionError("Padding_idx must be within num_embeddings "
                                 f"(padding_idx={padding_idx}, num_embeddings={n})")
        padding_idx = padding_idx + n if padding_idx < 0 else padding_idx
    if max_norm is not None:
        rows = np.unique(ids)
        a = w.numpy()
        norms = np.linalg.norm(a[rows], ord=norm_type, axis=1)
        big = norms > max_norm
        if big.any():
            a[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(a.dtype)
            w.write_(a)
    out = w[idx]  # getitem scatters the gradient back and saves the index, as torch
    if (padding_idx is None and not scale_grad_by_freq) or not out.requires_grad:
        return out
    scale = np.ones(ids.shape)
    if scale_grad_by_freq:
        counts = np.bincount(ids.ravel(), minlength=n)
        scale = 1.0 / counts[ids]
    if padding_idx is not None:
        scale = np.where(ids == padding_idx, 0.0, scale)
    return _grad_scaled(out, scale[..., None])


def layer_norm(input: ArrayOrTensor, normalized_shape: int | Sequence[int],
               weight: ArrayOrTensor | None = None, bias: ArrayOrTensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias, the mean and the (biased) variance
    taken over the last ``len(normalized_shape)`` dims; composed of Tensor ops."""
    x = as_tensor_arg(input, "input")
    shape = _shape(normalized_shape)
    k = len(shape)
    if k == 0 or x.shape[x.ndim - k:] != shape or x.ndim < k:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size{list(x.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"layer_norm: {name} of shape {tuple(t.shape)}; expected "
                               f"normalized_shape {shape}")
    _same_dtype(x, "layer_norm", weight=weight, bias=bias)
    dims = tuple(range(x.ndim - k, x.ndim))
    centred = x - x.mean(dims, keepdim=True)
    y = centred / (centred.square().mean(dims, keepdim=True) + eps).sqrt()
    if weight is not None:
        y = y * as_tensor_arg(weight, "weight")
    return y if bias is None else y + as_tensor_arg(bias, "bias")


def _shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


def batch_norm(input: ArrayOrTensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: ArrayOrTensor | None = None, bias: ArrayOrTensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) over the batch and any further dims:
    (x - mean) / sqrt(var + eps) * weight + bias. In training the batch's statistics are
    used (the biased variance) and the running ones, when given, move towards them in
    place: r = (1 - momentum) r + momentum * batch (the unbiased variance, as torch's);
    otherwise ``running_mean`` and ``running_var`` are used."""
    x = as_tensor_arg(input, "input")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of 2 or more dims (N, C, ...), "
                         f"got shape {x.shape}")
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:  # type: ignore[union-attr]
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")  # type: ignore[union-attr]
    _same_dtype(x, "batch_norm", running_mean=running_mean, running_var=running_var,
                weight=weight, bias=bias)
    dims = (0, *range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    mean: Any
    if training:
        n = x.numel() // c
        if n <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got "
                             f"input size {list(x.shape)}")
        mean = x.mean(dims, keepdim=True)
        centred = x - mean
        var = centred.square().mean(dims, keepdim=True)
        batch_mean, batch_var = mean._data.reshape(c), var._data.reshape(c) * (n / (n - 1))
        for r, value in ((running_mean, batch_mean), (running_var, batch_var)):
            if r is not None:
                a = r.numpy()
                r.write_(a * (1 - momentum) + value.astype(a.dtype) * momentum)
        y = centred / (var + eps).sqrt()
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be given "
                               "when training=False")
        mean = running_mean._data.reshape(shape).astype(x.dtype)
        std = np.sqrt(running_var._data.reshape(shape).astype(x.dtype) + x.dtype.type(eps))
        y = (x - mean) / std
    if weight is not None:
        y = y * as_tensor_arg(weight, "weight").reshape(shape)
    return y if bias is None else y + as_tensor_arg(bias, "bias").reshape(shape)


# ----- more losses ----------------------------------------------------------------------
def _same_shape_target(x: Tensor, y: Tensor, name: str) -> Tensor:
    """mse_loss's and l1_loss's target: broadcast to the input with torch's warning."""
    if y.dtype.kind != "f":
        y = y.to(x.dtype)
    if x.shape != y.shape:
        try:
            np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            raise RuntimeError(
                f"{name}: target of shape {y.shape} cannot be broadcast to input of "
                f"shape {x.shape}"
            ) from None
        warnings.warn(
            f"Using a target size ({y.shape}) that is different to the input size "
            f"({x.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", UserWarning, stacklevel=3)
    return y


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def l1_loss(input: ArrayOrTensor, target: ArrayOrTensor, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = "mean",
            weight: ArrayOrTensor | None = None) -> Tensor:
    """|x - y|, reduced; d/dx = sign(x - y) (0 where x == y, as torch's). With ``weight``
    (of the input's shape): sum(w |x - y|) / sum(w) for 'mean'."""
    x, y = as_tensor_arg(input, "input"), as_tensor_arg(target, "target")
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    return _weighted_reduce((x - _same_shape_target(x, y, "l1_loss")).abs(), weight, x,
                            reduction)


def smooth_l1_loss(input: ArrayOrTensor, target: ArrayOrTensor,
                   size_average: bool | None = None, reduce: bool | None = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - y); beta = 0 is l1."""
    x, y = as_tensor_arg(input, "input"), as_tensor_arg(target, "target")
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta. "
                           f"(beta={beta})")
    d = x - _same_shape_target(x, y, "smooth_l1_loss")
    if beta == 0:
        return _reduce(d.abs(), reduction)
    a = d.abs()
    return _reduce(where(a < beta, d.square() * (0.5 / beta), a - 0.5 * beta), reduction)


def _torch_name(dt: np.dtype) -> str:
    return {"float16": "Half", "float32": "Float", "float64": "Double", "int64": "Long",
            "int32": "Int", "bool": "Bool"}.get(dt.name, dt.name)


def _same_dtype(x: Tensor, fn: str, **others: Any) -> None:
    for name, t in others.items():
        if isinstance(t, Tensor) and t.dtype != x.dtype:
            raise RuntimeError(f"mixed dtype (CPU): all inputs must share same datatype. "
                               f"({fn}: input has dtype {x.dtype}, {name} {t.dtype}; cast "
                               "the module or the input, e.g. module.to(input.dtype))")


def _not_differentiable(name: str, **args: Any) -> None:
    for arg, t in args.items():
        if isinstance(t, Tensor) and t.requires_grad and state.enabled:
            raise RuntimeError(f"The function '{name}' is not differentiable with respect to "
                               f"argument '{arg}'. This input cannot have requires_grad True.")


def _bce_target(x: Tensor, y: Tensor, name: str, message: str) -> None:
    if x.dtype.kind != "f":
        raise RuntimeError(f"{name}: input has dtype {x.dtype}; expected a floating point "
                           "tensor")
    if y.shape != x.shape:
        raise ValueError(message.format(t=list(y.shape), i=list(x.shape)))


def binary_cross_entropy(input: ArrayOrTensor, target: ArrayOrTensor,
                         weight: ArrayOrTensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """-w (y log p + (1 - y) log(1 - p)) of probabilities ``p``, each log clamped at -100 as
    torch's; d/dp = w (p - y) / max(p (1 - p), 1e-12), d/dy = w (log(1 - p) - log p)
    (unclamped: infinite at p = 0 or 1, as torch's)."""
    x, y = as_tensor_arg(input, "input"), as_tensor_arg(target, "target")
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    _bce_target(x, y, "binary_cross_entropy",
                "Using a target size ({t}) that is different to the input size ({i}) is "
                "deprecated. Please ensure they have the same size.")
    _not_differentiable("binary_cross_entropy", weight=weight)
    if y.dtype != x.dtype:
        raise RuntimeError(f"Found dtype {_torch_name(y.dtype)} but expected "
                           f"{_torch_name(x.dtype)} (binary_cross_entropy: target has dtype "
                           f"{y.dtype}, input {x.dtype}; convert the target with "
                           ".to(input.dtype))")
    p = x._data
    if p.size and not ((p >= 0) & (p <= 1)).all():
        raise RuntimeError("all elements of input should be between 0 and 1 "
                           f"(binary_cross_entropy: input holds values in "
                           f"[{p.min()}, {p.max()}]; apply sigmoid first, or use "
                           "binary_cross_entropy_with_logits)")
    with np.errstate(divide="ignore"):
        log_p, log_q = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
    tv = y._data
    data = -(tv * log_p + (1 - tv) * log_q)

    def backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, Tensor | None]:
        # torch's floor is the float 1e-12, even in float64
        gx = g * (x - y) / (x * (1 - x)).clamp(min=float(np.float32(1e-12))) \
            if x.requires_grad else None
        gy = None
        if y.requires_grad:
            with np.errstate(divide="ignore"):
                gy = g * ((1 - x).log() - x.log())  # unclamped, as torch's
        return gx, gy

    losses = record(data.astype(x.dtype), (x, y), "binary_cross_entropy", backward)
    if weight is not None:
        losses = losses * as_tensor_arg(weight, "weight")
    return _reduce(losses, reduction)


def _softplus_neg(x: Tensor) -> Tensor:
    # log(1 + e^-x), never overflowing; d/dx = -sigmoid(-x) = sigmoid(x) - 1
    return record(np.logaddexp(0, -x._data).astype(x.dtype), (x,), "softplus_neg",
                  lambda g, out: (g * (x.sigmoid() - 1),))


def binary_cross_entropy_with_logits(input: ArrayOrTensor, target: ArrayOrTensor,
                                     weight: ArrayOrTensor | None = None,
                                     size_average: bool | None = None,
                                     reduce: bool | None = None, reduction: str = "mean",
                                     pos_weight: ArrayOrTensor | None = None) -> Tensor:
    """binary_cross_entropy(sigmoid(x), y) without forming sigmoid(x):
    l = (1 - y) x + (1 + (pw - 1) y) log(1 + e^-x), stable for any x; with no
    ``pos_weight`` d/dx = sigmoid(x) - y. ``weight`` and ``pos_weight`` broadcast."""
    x, y = as_tensor_arg(input, "input"), as_tensor_arg(target, "target")
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    _bce_target(x, y, "binary_cross_entropy_with_logits",
                "Target size ({t}) must be the same as input size ({i})")
    _not_differentiable("binary_cross_entropy_with_logits", weight=weight,
                        pos_weight=pos_weight)
    if y.dtype.kind != "f":
        raise RuntimeError(f"result type {_torch_name(x.dtype)} can't be cast to the desired "
                           f"output type {_torch_name(y.dtype)} (binary_cross_entropy_with_"
                           f"logits: the target has dtype {y.dtype}; expected probabilities, "
                           "a floating point tensor: .float() it)")
    if pos_weight is None:
        losses = (1 - y) * x + _softplus_neg(x)
    else:
        pw = as_tensor_arg(pos_weight, "pos_weight")
        losses = (1 - y) * x + (1 + (pw - 1) * y) * _softplus_neg(x)
    if weight is not None:
        losses = losses * as_tensor_arg(weight, "weight")
    return _reduce(losses, reduction)


__all__ = [
    "softmax", "log_softmax", "one_hot", "mse_loss", "nll_loss", "cross_entropy",
    "cross_entropy_unfused", "cross_entropy_grad", "linear", "dropout", "embedding",
    "layer_norm", "batch_norm", "l1_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]


# ----- activations: Tensor's one-node ops, with torch's functional signatures -------------
def _activation(input: ArrayOrTensor, inplace: bool, fn: Any) -> Tensor:
    x = as_tensor_arg(input, "input")
    return x._apply_inplace(fn) if inplace else fn(x)


def relu(input: ArrayOrTensor, inplace: bool = False) -> Tensor:
    """max(x, 0); d/dx = 1 where x > 0."""
    x = as_tensor_arg(input, "input")
    return x.relu_() if inplace else x.relu()


def sigmoid(input: ArrayOrTensor) -> Tensor:
    return as_tensor_arg(input, "input").sigmoid()


def tanh(input: ArrayOrTensor) -> Tensor:
    return as_tensor_arg(input, "input").tanh()


def gelu(input: ArrayOrTensor, approximate: str = "none") -> Tensor:
    """x Phi(x) (``approximate='tanh'``: the tanh approximation)."""
    return as_tensor_arg(input, "input").gelu(approximate)


def leaky_relu(input: ArrayOrTensor, negative_slope: float = 0.01,
               inplace: bool = False) -> Tensor:
    return _activation(input, inplace, lambda x: x.leaky_relu(negative_slope))


def silu(input: ArrayOrTensor, inplace: bool = False) -> Tensor:
    return _activation(input, inplace, lambda x: x.silu())


def mish(input: ArrayOrTensor, inplace: bool = False) -> Tensor:
    return _activation(input, inplace, lambda x: x.mish())


def elu(input: ArrayOrTensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _activation(input, inplace, lambda x: x.elu(alpha))


def relu6(input: ArrayOrTensor, inplace: bool = False) -> Tensor:
    return _activation(input, inplace, lambda x: x.relu6())


def hardtanh(input: ArrayOrTensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    return _activation(input, inplace, lambda x: x.hardtanh(min_val, max_val))


def softplus(input: ArrayOrTensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return as_tensor_arg(input, "input").softplus(beta, threshold)


def logsigmoid(input: ArrayOrTensor) -> Tensor:
    return as_tensor_arg(input, "input").logsigmoid()


# ----- shape and scale --------------------------------------------------------------------
_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input: ArrayOrTensor, pad: Any, mode: str = "constant", value: float | None = None
        ) -> Tensor:
    """Pad the last ``len(pad) // 2`` dimensions, last first: ``(left, right, top, bottom,
    ...)``; negative amounts crop. ``mode``: 'constant' (``value``), 'reflect',
    'replicate' or 'circular'. The gradient is the padded region's, cropped (summed where
    an element was copied)."""
    x = as_tensor_arg(input, "input")
    pads = [int(p) for p in pad]
    if len(pads) % 2:
        raise RuntimeError(f"Padding length must be divisible by 2: pad={tuple(pad)} has "
                           f"{len(pads)} amounts, expected two per padded dimension")
    if len(pads) // 2 > x.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pads)} and input of "
                           f"dimension {x.ndim}")
    if mode not in ("constant", *_PAD_MODES):
        raise NotImplementedError(f"pad(mode={mode!r}): expected 'constant', 'reflect', "
                                  "'replicate' or 'circular'")
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"Padding mode \"{mode}\" doesn't take in value argument")
    k = len(pads) // 2
    amounts = [(0, 0)] * (x.ndim - k) + [(pads[2 * i], pads[2 * i + 1])
                                        for i in reversed(range(k))]
    # negative amounts crop first
    crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(amounts, x.shape))
    if any(lo < 0 or hi < 0 for lo, hi in amounts):
        x = x[crop]
    amounts = [(max(lo, 0), max(hi, 0)) for lo, hi in amounts]
    if mode == "constant":
        shape = tuple(n + lo + hi for (lo, hi), n in zip(amounts, x.shape))
        inside = tuple(slice(lo, lo + n) for (lo, _), n in zip(amounts, x.shape))
        data = np.full(shape, 0 if value is None else value, dtype=x.dtype)
        data[inside] = x.numpy()
        return record(data, (x,), "constant_pad_nd", lambda g, out: (g[inside],))
    if mode == "reflect":
        for (lo, hi), n in zip(amounts, x.shape):
            if lo >= n or hi >= n:
                raise RuntimeError(f"Argument #4: Padding size should be less than the "
                                   f"corresponding input dimension, but got: padding ({lo}, "
                                   f"{hi}) at dimension of size {n}")
    index = tuple(np.pad(np.arange(n), (lo, hi), mode=_PAD_MODES[mode])  # type: ignore[call-overload]
                  for (lo, hi), n in zip(amounts, x.shape))
    return x[np.ix_(*index)]


def normalize(input: ArrayOrTensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Any = None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``, as torch's (the norm's gradient included)."""
    if out is not None:
        raise NotImplementedError("normalize(out=...): assign the result instead")
    x = as_tensor_arg(input, "input")
    return x / x.norm(p, dim, keepdim=True).clamp(min=eps).expand_as(x)


def kl_div(input: ArrayOrTensor, target: ArrayOrTensor, size_average: bool | None = None,
           reduce: bool | None = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Pointwise t (log t - x) with x = log q (t log t taken as 0 at t = 0), or
    e^t (t - x) with ``log_target``. ``reduction='batchmean'`` divides the sum by the batch
    size (the KL divergence); 'mean' by the number of elements, as torch's."""
    x, t = as_tensor_arg(input, "input"), as_tensor_arg(target, "target")
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"reduction={reduction!r}: {reduction} is not a valid value for "
                         "reduction; expected 'none', 'batchmean', 'mean' or 'sum'")
    if log_target:
        losses = t.exp() * (t - x)
    else:
        pos = t.numpy() > 0
        safe = where(pos, t, 1.0)
        losses = where(pos, t * safe.log(), 0.0) - t * x
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                      "the support size.'batchmean' divides only by the batch size, and "
                      "aligns with the KL div math definition.'mean' will be changed to "
                      "behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=2)
        return losses.mean()
    if reduction == "batchmean":
        return losses.sum() / (x.shape[0] if x.ndim else 1)
    return losses.sum() if reduction == "sum" else losses


def huber_loss(input: ArrayOrTensor, target: ArrayOrTensor, reduction: str = "mean",
               delta: float = 1.0, weight: ArrayOrTensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - delta / 2), with d = x - y."""
    x, y = as_tensor_arg(input, "input"), as_tensor_arg(target, "target")
    reduction = check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta "
                           f"(got delta={delta})")
    d = np.subtract(x.numpy(), y.numpy())
    a = np.abs(d)
    data = np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)).astype(d.dtype)

    def backward(g: Tensor, out: Tensor) -> tuple[Tensor, Tensor]:
        # d/dx = d clamped to [-delta, delta]; d/dy = its negative
        gd = g * (x - y).clamp(-delta, delta)
        return gd, -gd

    losses = record(data, (x, y), "huber_loss", backward)
    if weight is not None:
        losses = losses * as_tensor_arg(weight, "weight")
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def __getattr__(name: str) -> object:
    # a torch.nn.functional name we do not have: say so, and what to use instead
    raise missing("tinygrad_ce.nn.functional", name, FUNCTIONAL_HINTS)
