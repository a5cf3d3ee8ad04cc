"""Functional ops with torch's names: softmax, log_softmax, one_hot and the losses.

The centrepiece is cross-entropy, three ways (``docs/cross_entropy.md`` derives each formula):

* ``cross_entropy``: fused. One node in the graph; its backward is the closed form
  ``s_i * (Q_i * softmax(x)_i - q_i)``, the familiar ``p - y`` with weights, ignored elements,
  label smoothing, probability targets and the reduction folded into ``q`` and ``s``.
* ``cross_entropy_unfused``: the same loss built from primitive ops (exp, log, sum, mul,
  indexing), so the graph shows every step and the engine derives the gradient.
* ``cross_entropy_grad``: the same gradient in plain numpy, for hand-written backward passes.

Notation used throughout: ``x`` is the input of shape ``(N, C, d1, ..., dk)`` (a ``(C,)`` input
is handled as ``(1, C)``), the class axis is 1, and a "row" ``i`` is one position
``(n, d1, ..., dk)``: the rows have the shape of the class-index target, ``R = (N, d1, ..., dk)``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_ce.engine import state
from tinygrad_ce.tensor import Tensor, _row_max, _shifted, record, where

ArrayOrTensor = Tensor | np.ndarray
_REDUCTIONS = ("none", "mean", "sum")


# ----- small helpers --------------------------------------------------------------------
def _tensor(x: Any, name: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple, int, float, np.number)) and not isinstance(x, bool):
        return Tensor(x)
    raise TypeError(f"{name} must be a Tensor or a numpy array, not {type(x).__name__}")


def _check_reduction(reduction: Any) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"reduction={reduction!r}: {reduction} is not a valid value for reduction; "
            "expected 'none', 'mean' or 'sum'"
        )
    return reduction


def _legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """torch's deprecated ``size_average``/``reduce`` pair, when either is given, decides
    the reduction (with torch's warning): reduce=False is 'none', size_average=False
    'sum', otherwise 'mean'."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    legacy = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  f"reduction='{legacy}' instead.", UserWarning, stacklevel=3)
    return legacy


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
    x = _tensor(input, "input")
    return x.softmax(_softmax_dim(x.ndim) if dim is None else dim, dtype)


def log_softmax(input: ArrayOrTensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    """log p_c = x_c - logsumexp(x), max-shifted: ``Tensor.log_softmax``, one node."""
    x = _tensor(input, "input")
    return x.log_softmax(_softmax_dim(x.ndim) if dim is None else dim, dtype)


def one_hot(tensor: ArrayOrTensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape ``(*tensor.shape, num_classes)`` with a 1 at each class index."""
    t = _tensor(tensor, "tensor")
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
    x, y = _tensor(input, "input"), _tensor(target, "target")
    reduction = _check_reduction(_legacy_reduction(size_average, reduce, reduction))
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
        w = _tensor(weight, "weight")
        if w.shape != x.shape:
            raise ValueError(f"Weights and input must have the same size. (weight has shape "
                             f"{w.shape}; the input {x.shape})")
        sq = sq * w
        if reduction == "mean":
            return sq.sum() / w.sum()
    if reduction == "none":
        return sq
    return sq.sum() if reduction == "sum" else sq.mean()


# ----- argument checks shared by the cross-entropy family -------------------------------
@dataclass
class _Targets:
    """Checked arguments, in the canonical ``(N, C, d...)`` layout (a ``(C,)`` input is
    ``(1, C)``). Everything here is plain numpy, computed once, before any node exists."""

    x: Tensor  # the input (cast to the common dtype when probability targets differ)
    xd: np.ndarray  # its data, canonical layout
    one_d: bool  # the input was (C,): the unreduced loss is 0-d
    C: int
    eps: float
    reduction: str
    w: np.ndarray | None  # class weights (C,), input dtype
    # class indices
    t: np.ndarray | None = None  # (R) int64, 0 where ignored
    mask: np.ndarray | None = None  # (R) bool, False where ignored
    all_counted: bool = True  # no row is ignored
    # probability targets
    target: Tensor | None = None  # the target Tensor (parent of the fused node)
    td: np.ndarray | None = None  # its data, canonical layout
    weight_total: float | None = None  # sum of weight[target_i], once computed

    @property
    def rows(self) -> tuple[int, ...]:
        return self.xd.shape[:1] + self.xd.shape[2:]

    @property
    def plain(self) -> bool:
        """Class indices, every row counted, no weight, no smoothing: q is one-hot, Q = 1."""
        return self.t is not None and self.all_counted and self.w is None and not self.eps

    def wb(self) -> np.ndarray | None:
        """Weights broadcastable against the canonical input: (C, 1, ..., 1)."""
        if self.w is None:
            return None
        return self.w.reshape((self.C,) + (1,) * (self.xd.ndim - 2))

    def w_t(self) -> np.ndarray:
        """weight[target_i], 0 where ignored (1 for every counted row without weights)."""
        if self.w is None:
            return self.mask.astype(self.xd.dtype)
        return np.where(self.mask, self.w[self.t], 0).astype(self.xd.dtype)

    def denominator(self) -> float:
        """What ``reduction='mean'`` divides by: sum of weight[target_i] over counted rows
        (their count without weights); with probability targets, the number of rows."""
        if self.t is None or (self.w is None and self.all_counted):
            return float(self.xd.size // self.C) if self.C else float(np.prod(self.rows))
        if self.w is None:
            return float(np.count_nonzero(self.mask))
        if self.weight_total is None:
            self.weight_total = float(self.w_t().sum(dtype=np.float64))
        return self.weight_total

    def mass(self) -> np.ndarray:
        """Q_i = sum_c q_ic, the total weight of row i's target distribution."""
        dt = self.xd.dtype
        if self.t is not None:
            w_sum = self.C if self.w is None else float(self.w.sum(dtype=np.float64))
            q = self.w_t() * dt.type(1 - self.eps)
            if self.eps:
                q += dt.type(self.eps / self.C * w_sum) * self.mask
            return q
        return self.q().sum(axis=1)

    def q(self) -> np.ndarray:
        """The (weighted, smoothed) target distribution q as a dense array (prob targets)."""
        dt = self.xd.dtype
        q = self.td * dt.type(1 - self.eps) if self.eps else self.td.copy()
        if self.eps:
            q += dt.type(self.eps / self.C)
        if self.w is not None:
            q *= self.wb()
        return q


def _check_targets(input: Any, target: Any, weight: Any, ignore_index: Any, reduction: Any,
                   label_smoothing: Any, fn: str, probabilities: bool = True) -> _Targets:
    """Validate every argument (raising before anything is recorded) and lay them out."""
    x = _tensor(input, "input")
    if x.dtype.kind != "f":
        raise TypeError(
            f"{fn}: input has dtype {x.dtype}; expected a floating point tensor of logits"
        )
    if x.ndim == 0:
        raise RuntimeError(
            f"{fn}: input is 0-d; expected shape (C,), (N, C) or (N, C, d1, ..., dk)"
        )
    _check_reduction(reduction)
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"{fn}: ignore_index={ignore_index!r} must be an int")
    ignore_index = int(ignore_index)
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float,
                                                                            np.floating,
                                                                            np.integer)):
        raise TypeError(f"{fn}: label_smoothing={label_smoothing!r} must be a float in [0, 1]")
    eps = float(label_smoothing)
    if eps > 1.0:  # torch checks only the upper bound, and smooths only when eps > 0
        raise RuntimeError(
            f"{fn}: label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
        )
    if not eps > 0.0:
        eps = 0.0
    C = x.shape[1] if x.ndim > 1 else x.shape[0]
    one_d = x.ndim == 1

    if isinstance(target, bool):
        raise TypeError(f"{fn}: target={target!r}: expected class indices or probabilities")
    tt = _tensor(target, "target")
    td = tt._data
    if td.dtype.kind not in "iufb":
        raise RuntimeError(
            f"{fn}: target has dtype {td.dtype}; expected integer class indices (int64) or "
            f"floating point class probabilities of the input's shape {x.shape}"
        )
    # torch's order: a target of the input's shape holds probabilities (cross_entropy);
    # anything else is class indices
    is_prob = probabilities and td.shape == x.shape
    if is_prob and td.dtype.kind != "f":
        raise RuntimeError(
            f"{fn}: Expected floating point type for target with class probabilities, got "
            f"{_torch_name(td.dtype)} (target has dtype {td.dtype} and the input's shape "
            f"{x.shape}; class indices have shape {_index_shape(x.shape)})"
        )
    if not is_prob:
        _check_index_target_shape(x.shape, td.shape, fn)
        if td.dtype.kind not in "iu":
            raise RuntimeError(
                f"{fn}: expected target dtype to be Long or Byte, but got "
                f"{_torch_name(td.dtype)} (target has dtype {td.dtype} and shape {td.shape}: "
                f"class indices are an integer tensor of shape {_index_shape(x.shape)}"
                + (f", class probabilities a float tensor of the input's shape {x.shape})"
                   if probabilities else ")")
            )

    w = None
    if weight is not None:
        wt = weight if isinstance(weight, Tensor) else None
        if wt is not None and wt.requires_grad:
            raise RuntimeError(
                f"{fn}: weight requires grad, but the loss is not differentiable with respect "
                "to weight; pass weight.detach()"
            )
        wd = wt._data if wt is not None else np.asarray(weight)
        if wd.ndim != 1 or wd.shape[0] != C:
            raise RuntimeError(
                f"{fn}: weight tensor should be defined either for all {C} classes or no "
                f"classes but got weight tensor of shape: {list(wd.shape)}"
            )
        if isinstance(weight, (list, tuple)) and wd.dtype.kind in "iuf":
            wd = wd.astype(x.dtype)  # a Python list of weights takes the input's dtype
        if wd.dtype != x.dtype and not is_prob:  # probabilities promote, as in torch
            raise RuntimeError(
                f"{fn}: expected scalar type {_torch_name(x.dtype)} but found "
                f"{_torch_name(wd.dtype)} (weight has dtype {wd.dtype}; the input {x.dtype})"
            )
        w = wd

    if is_prob:
        if ignore_index >= 0:
            raise RuntimeError(
                f"{fn}: ignore_index={ignore_index}: ignore_index is not supported for "
                "floating point target (probabilities); leave it negative"
            )
        common = np.result_type(x.dtype, tt.dtype, *([] if w is None else [w.dtype]))
        if x.dtype != common:
            x = x.to(common)
        if tt.dtype != common:
            tt = tt.to(common)
        if w is not None:
            w = w.astype(common, copy=False)
        xd, tdc = x._data, tt._data
        if one_d:
            xd, tdc = xd.reshape(1, C), tdc.reshape(1, C)
        return _Targets(x, xd, one_d, C, eps, reduction, w, target=tt, td=tdc)

    t = td.astype(np.int64, copy=False).reshape(1) if one_d else td.astype(np.int64,
                                                                           copy=False)
    mask = t != ignore_index
    all_counted = bool(mask.all())
    counted = t if all_counted else t[mask]
    if counted.size and (counted.min() < 0 or counted.max() >= C):
        bad = counted[(counted < 0) | (counted >= C)]
        raise IndexError(
            f"{fn}: Target {int(bad[0])} is out of bounds: target values must be in "
            f"[0, {C}) or equal ignore_index={ignore_index}"
        )
    if not all_counted:
        t = np.where(mask, t, 0)
    xd = x._data.reshape(1, C) if one_d else x._data
    return _Targets(x, xd, one_d, C, eps, reduction, w, t=t, mask=mask,
                    all_counted=all_counted)


def _own_shape(arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    # a fresh array, not a view: the engine would copy a view before storing it in .grad
    return arr if arr.shape == shape else arr.reshape(shape).copy()


def _check_index_target_shape(shape: tuple[int, ...], target: tuple[int, ...], fn: str) -> None:
    """Class indices of the wrong shape raise torch's error for that case (torch's words
    first, then what was given and expected)."""
    expected = _index_shape(shape)
    if target == expected or (len(shape) == 1 and target == (1,)):
        return
    given = f" (target of shape {target} for an input of shape {shape}; expected {expected})"
    batch = target[0] if target else 0
    if len(shape) > 1 and batch != shape[0]:
        raise ValueError(f"{fn}: Expected input batch_size ({shape[0]}) to match target "
                         f"batch_size ({batch}).{given}")
    if len(shape) <= 2 and len(target) > 1:
        raise RuntimeError(f"{fn}: 0D or 1D target tensor expected, multi-target not "
                           f"supported{given}")
    if len(shape) == 1:
        raise ValueError(f"{fn}: For 1D input, 1D target must have size 1, but got target "
                         f"size: {target[0]}{given}")
    if len(shape) == 4 and len(target) != 3:
        raise RuntimeError(f"{fn}: only batches of spatial targets supported (3D tensors) "
                           f"but got targets of dimension: {len(target)}{given}")
    if len(shape) == 4:
        raise RuntimeError(f"{fn}: size mismatch (got input: {list(shape)} , target: "
                           f"{list(target)}{given}")
    raise RuntimeError(f"{fn}: Expected target size {list(expected)}, got {list(target)}"
                       f"{given}")


_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                "uint8": "Byte", "bool": "Bool", "float64": "Double", "float32": "Float",
                "float16": "Half"}


def _torch_name(dtype: np.dtype) -> str:
    """A dtype as torch's error messages name it (Long, Float, Double, ...)."""
    return _TORCH_NAMES.get(np.dtype(dtype).name, np.dtype(dtype).name)


def _index_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return () if len(shape) == 1 else shape[:1] + shape[2:]


def _at_target(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """a[i, t_i] for every row i: gather along the class axis."""
    if a.ndim == 2:
        return a[np.arange(a.shape[0]), t]
    return np.take_along_axis(a, t[:, None], axis=1)[:, 0]


def _sub_at_target(a: np.ndarray, t: np.ndarray, v: Any) -> None:
    """a[i, t_i] -= v_i in place (each row has exactly one target: no repeats)."""
    if a.ndim == 2:
        a[np.arange(a.shape[0]), t] -= v
        return
    idx = t[:, None]
    np.put_along_axis(a, idx, np.take_along_axis(a, idx, axis=1) - _col(v), axis=1)


def _col(v: Any) -> Any:
    """A per-row value (R) as a column against (N, C, d...); a scalar stays a scalar."""
    return v if np.ndim(v) == 0 else v.reshape(v.shape[:1] + (1,) + v.shape[1:])


def _row_factor(a: _Targets) -> Any:
    """c_i with s_i = g_i c_i: 1 per counted row (0 where ignored), divided by the
    denominator for 'mean'. Ignored rows get an exact 0, never 0 * inf = nan. A scalar
    when every row counts."""
    dt = a.xd.dtype
    if a.reduction == "mean":
        d = a.denominator()
        inv = dt.type(1 / d) if d else dt.type(np.inf)
    else:
        inv = dt.type(1)
    if a.all_counted:
        return inv
    return np.where(a.mask, inv, dt.type(0))


def _per_row_scale(a: _Targets, g: np.ndarray) -> Any:
    """s_i: how much row i's loss counts: the upstream gradient (per row for 'none')
    times the row factor; a scalar when that is the same for every row."""
    g = np.asarray(g, dtype=a.xd.dtype)
    g = g.reshape(a.rows) if a.reduction == "none" else g.reshape(())[()]
    return g * _row_factor(a)


# ----- the fused loss: forward -----------------------------------------------------------
Saved = list[tuple[np.ndarray, np.ndarray]]
Shift = tuple[np.ndarray, np.ndarray]  # (row max m, kept dims; log S_i): lse_i = m_i + log S_i


def _log_p(a: _Targets, shift: Shift) -> np.ndarray:
    """log p = (x - m) - log S, a new array (two steps: no cancellation at large logits)."""
    m, log_s = shift
    with np.errstate(invalid="ignore"):  # an infinite maximum makes its row nan
        out = np.subtract(a.xd, m)
    out -= _col(log_s)
    return out


def _forward(a: _Targets) -> tuple[np.ndarray, Shift, Saved]:
    """Per-row losses l_i = sum_c q_ic (lse_i - x_ic), lse_i = log sum_c e^(x_ic) kept as
    (max, log S), and the forward's one (N, C) array for the backward to reuse.

    With z = x - max and S_i = sum_c e^(z_ic): lse_i - x_ic = log S_i - z_ic. One array
    holds z, then e^z in place; it is kept (with S) because e^z / S is softmax(x), the
    start of the gradient."""
    xd, dt = a.xd, a.xd.dtype
    e, m, finite = _shifted(xd, 1)
    if a.t is not None:
        zt = _at_target(e, a.t)  # z_{i, t_i}
        if a.eps:  # sum_c w_c z_ic for the smoothing term
            zw = e.sum(axis=1) if a.w is None else np.tensordot(e, a.w, axes=([1], [0]))
    else:
        q = a.q()
        qz = np.einsum("nc...,nc...->n...", q, e)  # sum_c q_ic z_ic
        big_q = q.sum(axis=1)
        del q
    np.exp(e, out=e)
    big_s = e.sum(axis=1)
    if finite:
        log_s = np.log(big_s)
    else:
        with np.errstate(divide="ignore"):
            log_s = np.log(big_s)
    if a.plain:
        losses = log_s - zt
    elif a.t is not None:
        with np.errstate(invalid="ignore"):  # inf * 0 (a -inf logit weighted 0) is nan
            losses = (log_s - zt) * (a.w_t() * dt.type(1 - a.eps))
            if a.eps:
                w_sum = dt.type(a.C if a.w is None else a.w.sum())
                losses += (w_sum * log_s - zw) * dt.type(a.eps / a.C)
        if not a.all_counted:  # an ignored row is 0, even a nan one (torch's nll skips it)
            losses = np.where(a.mask, losses, dt.type(0))
    else:
        with np.errstate(invalid="ignore"):
            losses = big_q * log_s - qz
    return losses.astype(dt, copy=False), (m, log_s.astype(dt, copy=False)), [(e, big_s)]


def _reduce(a: _Targets, losses: np.ndarray) -> np.ndarray:
    dt = a.xd.dtype
    if a.reduction == "none":
        return losses.reshape(()) if a.one_d else losses
    total = losses.sum(dtype=dt)
    if a.reduction == "mean":
        d = a.denominator()  # 0 when nothing counts: 0 / 0 is nan, as in torch
        total = total / dt.type(d) if d else dt.type(np.nan)
    return np.asarray(total, dtype=dt)


# ----- the fused loss: backward ----------------------------------------------------------
def _grad_numpy(a: _Targets, shift: Shift, g: np.ndarray, saved: Saved | None = None,
                ) -> np.ndarray:
    """d(loss)/dx = s_i (Q_i p_ic - q_ic), p = softmax(x), built in one array in place.

    ``saved`` holds the forward's e^z and S (p = e^z / S): the first backward turns that
    array into the gradient; a later one (``retain_graph=True``) recomputes p = e^(log p)."""
    if a.reduction == "mean" and not a.denominator():
        # the mean of rows that all weigh 0 is 0 / 0: s is inf on the counted rows and
        # their gradient nan (inf * 0), as torch's, without numpy's warning
        with np.errstate(invalid="ignore"):
            return _grad_rows(a, shift, g, saved)
    return _grad_rows(a, shift, g, saved)


def _grad_rows(a: _Targets, shift: Shift, g: np.ndarray, saved: Saved | None) -> np.ndarray:
    dt = a.xd.dtype
    s = _per_row_scale(a, g)
    if a.plain:
        mass = 1
    elif a.t is not None:
        mass = a.mass()
    else:
        q = a.q()
        mass = q.sum(axis=1)
    if saved:
        p, big_s = saved.pop()
        coef = s * mass / big_s  # p = e^z / S
    else:
        p = _log_p(a, shift)
        np.exp(p, out=p)  # p = softmax(x)
        coef = s * mass
    p *= _col(coef)  # s_i Q_i p_ic
    if a.t is None:
        p -= _col(s) * q
        return p
    if a.eps:  # the smoothing part of q: (eps / C) w_c on every counted row
        smooth = _col(s * dt.type(a.eps / a.C))
        p -= smooth if a.w is None else smooth * a.wb()
    one_hot_part = s if a.plain else s * a.w_t() * dt.type(1 - a.eps)
    _sub_at_target(p, a.t, one_hot_part)  # the one-hot part of q
    return p


def _grad_target_numpy(a: _Targets, shift: Shift, g: np.ndarray) -> np.ndarray:
    """d(loss)/dt_ic = -s_i (1 - eps) w_c log p_ic (probability targets)."""
    dt = a.xd.dtype
    s = _per_row_scale(a, g)
    log_p = _log_p(a, shift)
    log_p *= _col(s * dt.type(-(1 - a.eps)))
    if a.w is not None:
        log_p *= a.wb()
    return log_p


def _grad_graph(a: _Targets, x: Tensor, g: Tensor) -> tuple[Tensor, Tensor | None]:
    """The same closed form written with Tensor ops, so it can be differentiated again:
    d/dx of s Q p(x) is s Q (diag(p) - p p^T), the Hessian of cross-entropy."""
    dt = a.xd.dtype
    rows = a.rows
    xc = x.reshape(a.xd.shape) if a.one_d else x
    factor = np.broadcast_to(_row_factor(a), rows)
    s = (g.reshape(rows) if a.reduction == "none" else g.reshape(())) * factor
    p = softmax(xc, 1)
    if a.t is not None:
        q = np.zeros(a.xd.shape, dtype=dt)
        np.put_along_axis(q, a.t[:, None], (a.w_t() * dt.type(1 - a.eps))[:, None], axis=1)
        if a.eps:
            smooth = a.mask.astype(dt)[:, None] * dt.type(a.eps / a.C)
            q = q + (smooth if a.w is None else smooth * a.wb())
        q_t: Tensor | np.ndarray = q.astype(dt)
        big_q = a.mass()
        grad_t = None
    else:
        tc = a.target.reshape(a.xd.shape) if a.one_d else a.target
        q_t = tc * (1 - a.eps) + a.eps / a.C if a.eps else tc
        if a.w is not None:
            q_t = q_t * a.wb()
        big_q = q_t.sum(1)
        grad_t = None
        if a.target.requires_grad:
            coef = s.unsqueeze(1) * (-(1 - a.eps))
            grad_t = coef * log_softmax(xc, 1)
            if a.w is not None:
                grad_t = grad_t * a.wb()
            if a.one_d:
                grad_t = grad_t.reshape(a.target.shape)
    grad_x = p * (s * big_q).unsqueeze(1) - s.unsqueeze(1) * q_t
    if a.one_d:
        grad_x = grad_x.reshape(x.shape)
    return grad_x, grad_t


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
    reduction = _legacy_reduction(size_average, reduce, reduction)
    a = _check_targets(input, target, weight, ignore_index, reduction, label_smoothing,
                       "cross_entropy")
    losses, shift, saved = _forward(a)
    out = _reduce(a, losses)
    x, tt = a.x, a.target
    parents = (x,) if tt is None else (x, tt)

    def backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, ...]:
        # dl/dx = s (Q softmax(x) - q): the closed form, never the chain of primitives
        if state.enabled:  # create_graph: a differentiable gradient
            gx, gt = _grad_graph(a, x, g)
        else:
            gx = Tensor(_own_shape(_grad_numpy(a, shift, g._data, saved), x.shape)) \
                if x.requires_grad else None
            gt = Tensor(_own_shape(_grad_target_numpy(a, shift, g._data), tt.shape)) \
                if tt is not None and tt.requires_grad else None
        return (gx,) if tt is None else (gx, gt)

    # what torch's log_softmax + nll_loss save that is not the logits: target and weight
    return record(out, parents, "cross_entropy", backward, fused=True,
                  saved=tuple(t for t in (target, weight) if isinstance(t, Tensor)))


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
    reduction = _legacy_reduction(size_average, reduce, reduction)
    a = _check_targets(input, target, weight, ignore_index, reduction, label_smoothing,
                       "cross_entropy_grad")
    loss_shape = (() if a.one_d else a.rows) if a.reduction == "none" else ()
    dt = a.xd.dtype
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
    _, shift, saved = _forward(a)
    return _own_shape(_grad_numpy(a, shift, g, saved), a.x.shape)


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
    reduction = _legacy_reduction(size_average, reduce, reduction)
    a = _check_targets(input, target, weight, ignore_index, reduction, label_smoothing,
                       "cross_entropy_unfused")
    dt = a.xd.dtype
    x = a.x.reshape(a.xd.shape) if a.one_d else a.x
    m, finite = _row_max(x._data, 1)
    if finite:
        z = x - m
    else:  # inf - inf: the row is nan, as in torch
        with np.errstate(invalid="ignore"):
            z = x - m
    log_p = z - z.exp().sum(1, keepdim=True).log()
    wb = a.wb()
    if a.t is not None and not a.all_counted:
        # ignored rows count 0 and pass back 0, even where log p is nan or -inf (torch's
        # nll skips them); the shape (N, 1, d...) broadcasts over the classes
        log_p = where(a.mask.reshape(a.rows[:1] + (1,) + a.rows[1:]), log_p, 0.0)
    if a.t is not None:
        picked = log_p[_target_index(a.t, a.C)]  # log p_{i, t_i}
        losses = picked * (a.w_t() * dt.type(-(1 - a.eps)))
        if a.eps:
            weighted = log_p if wb is None else log_p * wb
            losses = losses - weighted.sum(1) * (a.mask * dt.type(a.eps / a.C))
    else:
        tc = a.target.reshape(a.xd.shape) if a.one_d else a.target
        q = tc * (1 - a.eps) + a.eps / a.C if a.eps else tc
        if wb is not None:
            q = q * wb
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


def _target_index(t: np.ndarray, C: int) -> tuple[np.ndarray, ...]:
    """The advanced index that picks x[n, t[n, d...], d...] for every row."""
    grid = np.indices(t.shape, sparse=True)
    return (grid[0], t) + tuple(grid[1:])


def nll_loss(input: ArrayOrTensor, target: ArrayOrTensor | int,
             weight: ArrayOrTensor | None = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input``: l_i = -w_t input_{i, t_i},
    composed from getitem and mul; 'mean' divides by the summed weights of counted rows."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    a = _check_targets(input, target, weight, ignore_index, reduction, 0.0, "nll_loss",
                       probabilities=False)
    dt = a.xd.dtype
    x = a.x.reshape(a.xd.shape) if a.one_d else a.x
    losses = x[_target_index(a.t, a.C)] * (-a.w_t())
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
