"""Cross-entropy's machinery: argument checks into one canonical layout, the fused
forward and its closed-form gradient, in numpy and as a graph. ``nn.functional`` builds the
torch-named ops on it (``cross_entropy``, ``cross_entropy_grad``, ``nll_loss``);
``docs/cross_entropy.md`` derives each formula.

Notation: ``x`` is the input of shape ``(N, C, d1, ..., dk)`` (a ``(C,)`` input is handled as
``(1, C)``), the class axis is 1, and a "row" ``i`` is one position ``(n, d1, ..., dk)``: the
rows have the shape of the class-index target, ``R = (N, d1, ..., dk)``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_ce.nn.arguments import as_tensor_arg, check_reduction
from tinygrad_ce.stable import shifted
from tinygrad_ce.tensor import Tensor
from tinygrad_ce.threads import get_num_threads, map_ranges, split


# ----- argument checks shared by the cross-entropy family -------------------------------
@dataclass
class Checked:
    """Checked arguments, in the canonical ``(N, C, d...)`` layout (a ``(C,)`` input is
    ``(1, C)``). Everything here is plain numpy, computed once, before any node exists."""

    x: Tensor  # the input (cast to the common dtype when probability targets differ)
    x_array: np.ndarray  # its data, canonical layout
    one_d: bool  # the input was (C,): the unreduced loss is 0-d
    C: int
    eps: float
    reduction: str
    w: np.ndarray | None  # class weights (C,), input dtype
    # class indices
    t: Any = None  # (R) int64, 0 where ignored
    mask: Any = None  # (R) bool, False where ignored
    all_counted: bool = True  # no row is ignored
    # probability targets
    target: Any = None  # the target Tensor (parent of the fused node)
    target_array: Any = None  # its data, canonical layout
    weight_total: float | None = None  # sum of weight[target_i], once computed

    @property
    def rows(self) -> tuple[int, ...]:
        return self.x_array.shape[:1] + self.x_array.shape[2:]

    @property
    def one_hot_unweighted(self) -> bool:
        """Class indices, every row counted, no weight, no smoothing: q is one-hot, Q = 1."""
        return self.t is not None and self.all_counted and self.w is None and not self.eps

    def weight_broadcast(self) -> np.ndarray | None:
        """Weights broadcastable against the canonical input: (C, 1, ..., 1)."""
        if self.w is None:
            return None
        return self.w.reshape((self.C,) + (1,) * (self.x_array.ndim - 2))

    def target_weight(self) -> np.ndarray:
        """weight[target_i], 0 where ignored (1 for every counted row without weights)."""
        if self.w is None:
            return self.mask.astype(self.x_array.dtype)
        return np.where(self.mask, self.w[self.t], 0).astype(self.x_array.dtype)

    def denominator(self) -> float:
        """What ``reduction='mean'`` divides by: sum of weight[target_i] over counted rows
        (their count without weights); with probability targets, the number of rows."""
        if self.t is None or (self.w is None and self.all_counted):
            return float(self.x_array.size // self.C) if self.C else float(np.prod(self.rows))
        if self.w is None:
            return float(np.count_nonzero(self.mask))
        if self.weight_total is None:
            self.weight_total = float(self.target_weight().sum(dtype=np.float64))
        return self.weight_total

    def mass(self) -> np.ndarray:
        """Q_i = sum_c q_ic, the total weight of row i's target distribution."""
        dt = self.x_array.dtype
        if self.t is not None:
            w_sum = self.C if self.w is None else float(self.w.sum(dtype=np.float64))
            q = self.target_weight() * dt.type(1 - self.eps)
            if self.eps:
                q += dt.type(self.eps / self.C * w_sum) * self.mask
            return q
        return self.q().sum(axis=1)

    def q(self) -> np.ndarray:
        """The (weighted, smoothed) target distribution q as a dense array (prob targets)."""
        dt = self.x_array.dtype
        q = self.target_array * dt.type(1 - self.eps) if self.eps else self.target_array.copy()
        if self.eps:
            q += dt.type(self.eps / self.C)
        if self.w is not None:
            q *= self.weight_broadcast()
        return q


def check_targets(input: Any, target: Any, weight: Any, ignore_index: Any, reduction: Any,
                   label_smoothing: Any, fn: str, probabilities: bool = True) -> Checked:
    """Validate every argument (raising before anything is recorded) and lay them out."""
    x = as_tensor_arg(input, "input")
    if x.dtype.kind != "f":
        raise TypeError(
            f"{fn}: input has dtype {x.dtype}; expected a floating point tensor of logits"
        )
    if x.ndim == 0:
        raise RuntimeError(
            f"{fn}: input is 0-d; expected shape (C,), (N, C) or (N, C, d1, ..., dk)"
        )
    check_reduction(reduction)
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
    tt = as_tensor_arg(target, "target")
    tgt = tt._data
    if tgt.dtype.kind not in "iufb":
        raise RuntimeError(
            f"{fn}: target has dtype {tgt.dtype}; expected integer class indices (int64) or "
            f"floating point class probabilities of the input's shape {x.shape}"
        )
    # torch's order: a target of the input's shape holds probabilities (cross_entropy);
    # anything else is class indices
    is_prob = probabilities and tgt.shape == x.shape
    if is_prob and tgt.dtype.kind != "f":
        raise RuntimeError(
            f"{fn}: Expected floating point type for target with class probabilities, got "
            f"{_torch_name(tgt.dtype)} (target has dtype {tgt.dtype} and the input's shape "
            f"{x.shape}; class indices have shape {_index_shape(x.shape)})"
        )
    if not is_prob:
        _check_index_target_shape(x.shape, tgt.shape, fn)
        if tgt.dtype.kind not in "iu":
            raise RuntimeError(
                f"{fn}: expected target dtype to be Long or Byte, but got "
                f"{_torch_name(tgt.dtype)} (target has dtype {tgt.dtype} and shape {tgt.shape}: "
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
        x_array, tdc = x._data, tt._data
        if one_d:
            x_array, tdc = x_array.reshape(1, C), tdc.reshape(1, C)
        return Checked(x, x_array, one_d, C, eps, reduction, w, target=tt, target_array=tdc)

    t = tgt.astype(np.int64, copy=False).reshape(1) if one_d else tgt.astype(np.int64,
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
    x_array = x._data.reshape(1, C) if one_d else x._data
    return Checked(x, x_array, one_d, C, eps, reduction, w, t=t, mask=mask,
                    all_counted=all_counted)


def own_shape(arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
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


def row_factor(a: Checked) -> Any:
    """c_i with s_i = g_i c_i: 1 per counted row (0 where ignored), divided by the
    denominator for 'mean'. Ignored rows get an exact 0, never 0 * inf = nan. A scalar
    when every row counts."""
    dt = a.x_array.dtype
    if a.reduction == "mean":
        d = a.denominator()
        inv = dt.type(1 / d) if d else dt.type(np.inf)
    else:
        inv = dt.type(1)
    if a.all_counted:
        return inv
    return np.where(a.mask, inv, dt.type(0))


def per_row_scale(a: Checked, g: np.ndarray) -> Any:
    """s_i: how much row i's loss counts: the upstream gradient (per row for 'none')
    times the row factor; a scalar when that is the same for every row."""
    g = np.asarray(g, dtype=a.x_array.dtype)
    g = g.reshape(a.rows) if a.reduction == "none" else g.reshape(())[()]
    return g * row_factor(a)


# ----- the fused loss: forward -----------------------------------------------------------
Saved = list[tuple[np.ndarray, np.ndarray]]
Shift = tuple[np.ndarray, np.ndarray]  # (row max m, kept dims; log S_i): lse_i = m_i + log S_i


def log_probabilities(a: Checked, shift: Shift) -> np.ndarray:
    """log p = (x - m) - log S, a new array (two steps: no cancellation at large logits)."""
    m, log_s = shift
    with np.errstate(invalid="ignore"):  # an infinite maximum makes its row nan
        out = np.subtract(a.x_array, m)
    out -= _col(log_s)
    return out


def forward(a: Checked) -> tuple[np.ndarray, Shift, Saved]:
    """Per-row losses l_i = sum_c q_ic (lse_i - x_ic), lse_i = log sum_c e^(x_ic) kept as
    (max, log S), and the forward's one (N, C) array for the backward to reuse.

    With z = x - max and S_i = sum_c e^(z_ic): lse_i - x_ic = log S_i - z_ic. One array
    holds z, then e^z in place; it is kept (with S) because e^z / S is softmax(x), the
    start of the gradient."""
    x_array, dt = a.x_array, a.x_array.dtype
    e, m, finite = shifted(x_array, 1)
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
    if a.one_hot_unweighted:
        losses = log_s - zt
    elif a.t is not None:
        with np.errstate(invalid="ignore"):  # inf * 0 (a -inf logit weighted 0) is nan
            losses = (log_s - zt) * (a.target_weight() * dt.type(1 - a.eps))
            if a.eps:
                w_sum = dt.type(a.C if a.w is None else a.w.sum())
                losses += (w_sum * log_s - zw) * dt.type(a.eps / a.C)
        if not a.all_counted:  # an ignored row is 0, even a nan one (torch's nll skips it)
            losses = np.where(a.mask, losses, dt.type(0))
    else:
        with np.errstate(invalid="ignore"):
            losses = big_q * log_s - qz
    return losses.astype(dt, copy=False), (m, log_s.astype(dt, copy=False)), [(e, big_s)]


def reduce_losses(a: Checked, losses: np.ndarray) -> np.ndarray:
    dt = a.x_array.dtype
    if a.reduction == "none":
        return losses.reshape(()) if a.one_d else losses
    total = losses.sum(dtype=dt)
    if a.reduction == "mean":
        d = a.denominator()  # 0 when nothing counts: 0 / 0 is nan, as in torch
        total = total / dt.type(d) if d else dt.type(np.nan)
    return np.asarray(total, dtype=dt)


# ----- the fused loss: backward ----------------------------------------------------------
def grad_numpy(a: Checked, shift: Shift, g: np.ndarray, saved: Saved | None = None,
                ) -> np.ndarray:
    """d(loss)/dx = s_i (Q_i p_ic - q_ic), p = softmax(x), built in one array in place.

    ``saved`` holds the forward's e^z and S (p = e^z / S): the first backward turns that
    array into the gradient; a later one (``retain_graph=True``) recomputes p = e^(log p)."""
    if a.reduction == "mean" and not a.denominator():
        # the mean of rows that all weigh 0 is 0 / 0: s is inf on the counted rows and
        # their gradient nan (inf * 0), as torch's, without numpy's warning
        with np.errstate(invalid="ignore"):
            return grad_rows(a, shift, g, saved)
    return grad_rows(a, shift, g, saved)


def grad_rows(a: Checked, shift: Shift, g: np.ndarray, saved: Saved | None) -> np.ndarray:
    dt = a.x_array.dtype
    s = per_row_scale(a, g)
    mass: Any
    if a.one_hot_unweighted:
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
        p = log_probabilities(a, shift)
        np.exp(p, out=p)  # p = softmax(x)
        coef = s * mass
    p *= _col(coef)  # s_i Q_i p_ic
    if a.t is None:
        p -= _col(s) * q
        return p
    if a.eps:  # the smoothing part of q: (eps / C) w_c on every counted row
        smooth = _col(s * dt.type(a.eps / a.C))
        p -= smooth if a.w is None else smooth * a.weight_broadcast()
    one_hot_part = s if a.one_hot_unweighted else s * a.target_weight() * dt.type(1 - a.eps)
    _sub_at_target(p, a.t, one_hot_part)  # the one-hot part of q
    return p


def grad_target_numpy(a: Checked, shift: Shift, g: np.ndarray) -> np.ndarray:
    """d(loss)/dt_ic = -s_i (1 - eps) w_c log p_ic (probability targets)."""
    dt = a.x_array.dtype
    s = per_row_scale(a, g)
    log_p = log_probabilities(a, shift)
    log_p *= _col(s * dt.type(-(1 - a.eps)))
    if a.w is not None:
        log_p *= a.weight_broadcast()
    return log_p


def grad_graph(a: Checked, x: Tensor, g: Tensor) -> tuple[Tensor, Tensor | None]:
    """The same closed form written with Tensor ops, so it can be differentiated again:
    d/dx of s Q p(x) is s Q (diag(p) - p p^T), the Hessian of cross-entropy."""
    dt = a.x_array.dtype
    rows = a.rows
    xc = x.reshape(a.x_array.shape) if a.one_d else x
    plain = a.w is None and not a.eps and (a.t is None or a.all_counted)
    # named after docs/cross_entropy.md, so a picture of this graph reads as the math
    factor = Tensor(np.broadcast_to(row_factor(a), rows),
                    name="1/N" if plain and a.reduction == "mean" else "s_i")
    s = (g.reshape(rows) if a.reduction == "none" else g.reshape(())) * factor
    p = xc.softmax(1)
    q_t: Any  # the target distribution, weighted: an array, or a Tensor for probabilities
    big_q: Any
    grad_t: Any = None
    p.name = "p = softmax(x)"
    if a.t is not None:
        q = np.zeros(a.x_array.shape, dtype=dt)
        picked = a.target_weight() * dt.type(1 - a.eps)
        np.put_along_axis(q, a.t[:, None], picked[:, None], axis=1)
        if a.eps:
            smooth = a.mask.astype(dt)[:, None] * dt.type(a.eps / a.C)
            q = q + (smooth if a.w is None else smooth * a.weight_broadcast())
        q_t = Tensor(q.astype(dt), name="onehot(y)" if plain else "q")
        big_q = a.mass()
    else:
        tc = a.target.reshape(a.x_array.shape) if a.one_d else a.target
        q_t = tc * (1 - a.eps) + a.eps / a.C if a.eps else tc
        if a.w is not None:
            q_t = q_t * a.weight_broadcast()
        big_q = q_t.sum(1)
        if a.target.requires_grad:
            coef = s.unsqueeze(1) * (-(1 - a.eps))
            grad_t = coef * xc.log_softmax(1)
            if a.w is not None:
                grad_t = grad_t * a.weight_broadcast()
            if a.one_d:
                grad_t = grad_t.reshape(a.target.shape)
    scale, target = (s * big_q).unsqueeze(1), s.unsqueeze(1) * q_t
    mean = plain and a.reduction == "mean"
    scale.name, target.name = ("1/N", "onehot(y) / N") if mean else ("s_i Q_i", "s_i q_i")
    p_scaled = p * scale
    p_scaled.name = "p / N" if mean else "s_i Q_i p"
    grad_x = p_scaled - target
    if a.one_d:
        grad_x = grad_x.reshape(x.shape)
    return grad_x, grad_t



def target_index(t: np.ndarray, C: int) -> tuple[np.ndarray, ...]:
    """The advanced index that picks x[n, t[n, d...], d...] for every row."""
    grid = np.indices(t.shape, sparse=True)
    return (grid[0], t) + tuple(grid[1:])  # type: ignore[misc]


# ----- the gradient's memory, reused ---------------------------------------------------------
# A fresh (N, C) array costs a page fault per page written whenever the allocator has given
# the last one back to the system (large arrays are mapped and unmapped), which at these
# sizes costs as much as the arithmetic. So the array the last backward handed out as a
# gradient is kept here, and the next call of the same shape and dtype takes it back, but
# only when nothing else refers to it any more (its ``.grad`` was set to None, or it was
# added into another one): an array is never handed out while anyone still holds it.
SPARE_MIN_BYTES = 1 << 20  # smaller arrays come back from the allocator's free lists
_spares: dict[tuple[tuple[int, ...], np.dtype], np.ndarray] = {}


_alone: list[int] = []  # the count of an array held by one local name only, once measured


def _refs(a: np.ndarray) -> int:
    return sys.getrefcount(a)


def _measure_alone() -> int:
    # the count is the interpreter's business: measured (at the first use, not at import)
    # the way gradient_buffer reads it, for an array nothing else holds
    a = np.empty(1)
    return _refs(a)


def gradient_buffer(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised C-contiguous array for a gradient: the spare of that shape and
    dtype if nothing else holds it, else a new one."""
    a = _spares.pop((shape, dtype), None)  # one atomic step: no two callers get it
    if a is not None:
        if not _alone:
            _alone.append(_measure_alone())
        if _refs(a) <= _alone[0]:
            return a
    return np.empty(shape, dtype)


def keep_spare(a: np.ndarray) -> None:
    """Remember ``a``, just handed out as a gradient, for a later ``gradient_buffer``."""
    if a.nbytes >= SPARE_MIN_BYTES and a.base is None:
        if len(_spares) >= 2:  # the last two shapes: a training and an evaluation batch
            _spares.clear()
        _spares[(a.shape, a.dtype)] = a


# ----- the common case, row block by row block -------------------------------------------
# (N, C) logits, class indices, no weight, nothing ignored, no smoothing: the loss and its
# gradient in one pass over the input, a block of rows at a time, each block small enough
# to stay in a core's cache from the max to the scaled gradient. Blocks are independent:
# with more than one thread (``tinygrad_ce.set_num_threads``), threads take a share each.
BLOCK_BYTES = 2 << 20  # rows per block: about this many bytes of logits
PARALLEL_BYTES = 1 << 20  # smaller inputs stay in one thread: handing out work costs more
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def plain_index_targets(x: Tensor, target: Any, ignore_index: int) -> np.ndarray | None:
    """The class indices as int64 when ``cross_entropy(x, target)`` is the common case that
    ``index_rows`` computes: (N, C) float32 or float64 logits with N, C > 0 and (N,)
    integer targets, every one in [0, C) and none equal to ``ignore_index``. Otherwise None:
    the general path decides (and raises on bad input)."""
    xd = x._data
    if isinstance(target, Tensor):
        td = target._data
    elif isinstance(target, np.ndarray):
        td = target
    else:  # a list: as a Tensor holds it (the general path raises on bad data)
        try:
            td = Tensor(target)._data
        except (TypeError, ValueError, OverflowError):
            return None
    if xd.ndim != 2 or td.ndim != 1 or xd.dtype not in _FLOATS or td.dtype.kind not in "iu":
        return None
    n, c = xd.shape
    if not n or not c or td.shape[0] != n or 0 <= ignore_index < c:
        return None
    t = td if td.dtype == np.int64 else td.astype(np.int64)
    if np.maximum.reduce(t.view(np.uint64)) >= c:  # one pass: a negative is a huge unsigned
        return None
    return t


def index_rows(x: np.ndarray, t: np.ndarray, scale: float, grad: np.ndarray | None) -> float:
    """sum_i (logsumexp(x_i) - x_{i, t_i}), and, when ``grad`` (a C-contiguous array of
    x's shape) is given, ``scale * (softmax(x_i) - onehot(t_i))`` written into it: the
    gradient of ``scale`` times that sum. Row block by row block, in place in ``grad`` (only
    per-row temporaries beside it; without ``grad``, one block-sized scratch array per
    thread). Not finite when a row's maximum is not (the caller then takes the general
    path, which makes such rows nan as torch does)."""
    n, c = x.shape
    if x.nbytes <= SMALL_BYTES and c <= SMALL_C:
        out = grad if grad is not None else np.empty((n, c), x.dtype)
        return _small_block(x, t, out, scale, grad is not None)
    rows = max(1, BLOCK_BYTES // (c * x.itemsize))
    threads = get_num_threads() if x.nbytes >= PARALLEL_BYTES else 1

    def work(start: int, stop: int) -> float:
        total = 0.0
        scratch = None if grad is not None else np.empty((min(rows, stop - start), c), x.dtype)
        for a in range(start, stop, rows):
            b = min(stop, a + rows)
            out = grad[a:b] if grad is not None else scratch[:b - a]  # type: ignore[index]
            total += _block(x[a:b], t[a:b], out, scale, grad is not None,
                            np.arange(0, (b - a) * c, c), _einsum_sums)
        return total

    return sum(map_ranges(work, split(n, threads)))


def _einsum_sums(e: np.ndarray) -> np.ndarray:
    # einsum's loop is 2-3x faster than add.reduce's pairwise one along rows (within about
    # 10 ulps of it at C = 32000), and unlike np.dot it never calls a multi-threaded BLAS
    # from inside one of our threads
    return np.einsum("ij->i", e)


def _block(x: np.ndarray, t: np.ndarray, out: np.ndarray, scale: float, want_grad: bool,
           starts: np.ndarray, sums: Callable[[np.ndarray], np.ndarray]) -> float:
    """One block of ``index_rows``: e = exp(x) in ``out``, its row sums S, the summed losses
    log S - x_t, and (``want_grad``) scale * (e / S - onehot(t)) written into ``out``.

    Without a shift: e / S is softmax whatever the shift, and skipping it saves two of the
    five passes over the block (the row maximum and the subtraction). The sums tell whether
    that was safe: S >= eps means an exp that fell to a subnormal (or to 0) is off by less
    than the smallest normal number relative to S, and S <= scale / tiny means no exp
    overflowed and scale / S, the gradient's factor, is a normal number (a subnormal one
    would lose digits). A finite total of the losses rules out nan and inf logits. The
    losses are taken in float64 (log S - x_t), so large logits do not cost digits to
    cancellation. A block that fails the test (large, very negative, infinite or nan
    logits) is done again with the max shift, as ``stable.shifted`` does it. ``starts`` is
    where each row starts in the flattened block (arange(len(x)) * C: one flat index picks
    the targets, faster than [rows, t]); ``sums`` makes the row sums."""
    at = starts + t
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        np.exp(x, out=out)
        s = sums(out)
        total = math.nan
        eps, tiny = _LIMITS[out.dtype]
        if (np.minimum.reduce(s) >= eps and float(np.maximum.reduce(s)) * tiny <= scale
                and x.shape[1] > 1):  # one class: the shift makes each loss exactly 0
            losses = np.log(s, dtype=np.float64)
            losses -= x.reshape(-1)[at] if x.flags.c_contiguous else x[np.arange(len(t)), t]
            # S >= e^x_t, but each exp rounds: a loss a rounding below 0 is 0, as shifted
            np.maximum(losses, 0.0, out=losses)
            total = float(np.add.reduce(losses))  # inf or nan if some S is (or a logit)
        if not math.isfinite(total):
            s, losses = _shifted_block(x, at, out, sums)
            total = float(np.add.reduce(losses))
    if want_grad:
        out *= (scale / s)[:, None]
        out.reshape(-1)[at] -= out.dtype.type(scale)
    return total


def _shifted_block(x: np.ndarray, at: np.ndarray, out: np.ndarray,
                   sums: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``_block``'s e and S with the max shift: e = exp(x - max) in ``out``; the row sums
    and the losses log S - (x_t - max). An infinite maximum makes its row nan (inf - inf):
    the caller sees a nan total."""
    np.subtract(x, np.maximum.reduce(x, axis=1, keepdims=True), out=out)
    zt = out.reshape(-1)[at]
    np.exp(out, out=out)
    s = sums(out)
    losses = np.log(s)
    losses -= zt
    return s, losses


_LIMITS = {np.dtype(d): (float(np.finfo(d).eps), float(np.finfo(d).tiny))
           for d in (np.float32, np.float64)}


# Small inputs: each numpy call's fixed cost is what counts, so the row sums are a product
# with ones (one BLAS call, not a reduction per row) and nothing is split into blocks.
SMALL_BYTES = 64 << 10
SMALL_C = 1024
_ones: dict[tuple[int, np.dtype], np.ndarray] = {}  # (C,) ones, read-only, by C and dtype
_starts: dict[tuple[int, int], np.ndarray] = {}  # arange(N) * C, read-only, by (N, C)


def _small_block(x: np.ndarray, t: np.ndarray, out: np.ndarray, scale: float,
                 want_grad: bool) -> float:
    n, c = x.shape
    ones, starts = _ones.get((c, x.dtype)), _starts.get((n, c))
    if ones is None:
        if len(_ones) > 64:
            _ones.clear()
        ones = _ones[(c, x.dtype)] = np.ones(c, x.dtype)
        ones.flags.writeable = False
    if starts is None:
        if len(_starts) > 64:
            _starts.clear()
        starts = _starts[(n, c)] = np.arange(0, n * c, c)
        starts.flags.writeable = False
    return _block(x, t, out, scale, want_grad, starts, lambda e: e @ ones)
