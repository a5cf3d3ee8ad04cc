"""Numerically stable numpy kernels shared by softmax, log_softmax and cross-entropy: one
max-shift rule for all of them (exp never overflows; a row whose maximum is infinite is nan,
as in torch)."""

from __future__ import annotations

import math

import numpy as np


def row_max(x: np.ndarray, axis: int) -> tuple[np.ndarray, bool]:
    """The row maximum (keepdims) used to shift before exp, and whether every row's was
    finite: then each shifted row holds an exact 0, so sum(exp) >= 1 and its log is finite.
    With no classes at all the maximum is 0."""
    if x.shape[axis] == 0:
        return np.zeros(x.shape[:axis] + (1,) + x.shape[axis + 1:], dtype=x.dtype), False
    m = x.max(axis=axis, keepdims=True)
    return m, bool(np.isfinite(m).all())


def shifted(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """z = x - max(x) (a new array), the maximum and whether every row's was finite. A row
    whose maximum is +inf or -inf becomes all nan (inf - inf), as in torch: softmax,
    log_softmax and cross-entropy of such a row are nan, and so is its gradient."""
    m, finite = row_max(x, axis)
    if finite:
        return np.subtract(x, m), m, True
    with np.errstate(invalid="ignore"):
        return np.subtract(x, m), m, False


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """log p = z - log sum_c e^(z_c) with z = x - max: exp never overflows, and z is
    exact, so large logits do not lose log p to rounding in x - (max + log sum)."""
    z = shifted(x, axis)[0]
    s = np.exp(z).sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        np.log(s, out=s)
    z -= s
    return z


_erf = np.frompyfunc(math.erf, 1, 1)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function elementwise (numpy has none): the C library's double-precision
    ``erf`` for each element, rounded once to ``x``'s dtype."""
    return np.asarray(_erf(np.asarray(x, dtype=np.float64)), dtype=np.float64).astype(x.dtype)
