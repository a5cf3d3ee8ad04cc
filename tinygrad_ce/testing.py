"""Checking gradients in your own tests: plain asserts for pytest, with a table when they fail.

``assert_grads_close(loss_a, loss_b)``: two losses (fused and unfused, yours and the engine's)
have the same gradients with respect to the inputs they share.

``check_backward(forward, backward, *arrays)``: a hand-written numpy backward agrees with
central finite differences in float64 (and with the engine's autodiff of ``reference``); a
failure says where, by how much, and names the usual mistake when it sees one (a missing
``1/N``, a transposed weight gradient, a sum over the wrong axis, an exp that overflowed).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_ce.autograd import grad, topological_order
from tinygrad_ce.tensor import Tensor

__all__ = ["assert_grads_close", "check_backward", "BackwardReport", "GradientRow",
           "default_tolerances"]

# torch.testing.assert_close's defaults, by the lower-precision dtype of the two
_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7)}


def default_tolerances(*dtypes: Any) -> tuple[float, float]:
    """``(rtol, atol)`` for comparing values of these dtypes: the loosest of theirs
    (torch.testing's table: float16 1e-3/1e-5, float32 1.3e-6/1e-5, float64 1e-7/1e-7)."""
    tols = [_TOLERANCES.get(np.dtype(d), _TOLERANCES[np.dtype(np.float32)]) for d in dtypes]
    return max(t[0] for t in tols), max(t[1] for t in tols)


@dataclass
class GradientRow:
    """One compared gradient: the worst element and how far apart it is."""

    name: str
    against: str
    ok: bool
    max_abs: float = float("nan")
    max_rel: float = float("nan")
    index: tuple[int, ...] | None = None
    got: float = float("nan")
    expected: float = float("nan")
    hint: str = ""


@dataclass
class BackwardReport:
    """What a check found, one row per compared gradient; ``str()`` is the table."""

    title: str
    rows: list[GradientRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def __str__(self) -> str:
        bad = sum(not r.ok for r in self.rows)
        n = len(self.rows)
        head = (f"{self.title}: {bad} of {n} checks failed" if bad
                else f"{self.title}: {'all ' if n > 1 else ''}{n} check{'s' * (n > 1)} passed")
        cols = ["input", "against", "max abs err", "max rel err", "worst index", "got",
                "expected", ""]
        lines = []
        for r in self.rows:
            shown = r.index is not None  # no worst element: the shapes differ
            lines.append([r.name, r.against, format(r.max_abs, ".3g") if shown else "",
                          format(r.max_rel, ".3g") if shown else "",
                          str(r.index) if shown else "", format(r.got, ".6g") if shown else "",
                          format(r.expected, ".6g") if shown else "", "ok" if r.ok else "FAIL"])
        widths = [max(len(c), *(len(x[i]) for x in lines)) for i, c in enumerate(cols)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        out = [head, fmt.format(*cols).rstrip()]
        out += [fmt.format(*x).rstrip() for x in lines]
        hints = list(dict.fromkeys(f"  {r.name}: {r.hint}" for r in self.rows
                                   if r.hint and not r.ok))
        return "\n".join(out + (["hints:"] + hints if hints else []))


def _compare(name: str, against: str, got: np.ndarray, expected: np.ndarray, rtol: float,
             atol: float) -> GradientRow:
    """The row for ``got`` vs ``expected`` (same shape): worst element by how much it
    exceeds ``atol + rtol * |expected|``; nan and inf count as wrong unless equal."""
    if got.size == 0:
        return GradientRow(name, against, True)
    g, e = got.astype(np.float64), expected.astype(np.float64)
    with np.errstate(all="ignore"):
        diff = np.abs(g - e)
        same_inf = (g == e) & np.isinf(e)
        diff = np.where(same_inf, 0.0, diff)
        diff = np.where(np.isnan(diff), np.inf, diff)
        rel = np.where(e != 0, diff / np.abs(e), 0.0)  # over the nonzero expected values
        excess = diff / (atol + rtol * np.abs(np.where(np.isfinite(e), e, 0)))
    worst = np.unravel_index(int(np.argmax(excess)), got.shape)
    ok = bool(np.all(np.isfinite(diff)) and np.all(diff <= atol + rtol * np.abs(e)))
    return GradientRow(name, against, ok, float(np.max(diff)), float(np.max(rel)),
                       tuple(int(i) for i in worst), float(g[worst]), float(e[worst]))


# ----- two losses, one set of inputs ---------------------------------------------------------
def _leaves(loss: Tensor) -> list[Tensor]:
    return [t for t in topological_order([loss]) if not t.parents]


def assert_grads_close(loss_a: Tensor, loss_b: Tensor,
                       inputs: Sequence[Tensor] | Mapping[str, Tensor] | None = None,
                       rtol: float | None = None, atol: float | None = None) -> None:
    """Assert that two scalar losses have the same gradients with respect to ``inputs``
    (default: every leaf requiring grad that both depend on; a mapping names them, e.g.
    ``dict(model.named_parameters())``). ``.grad`` is left alone; call it before
    ``backward()`` or after ``backward(retain_graph=True)``. Tolerances default to
    torch.testing's for the gradients' dtypes. A failure is an AssertionError whose message
    is a table: per input, the largest absolute and relative difference (relative to the
    nonzero values of loss_b's gradient), the worst element's index and both values there."""
    for what, loss in (("loss_a", loss_a), ("loss_b", loss_b)):
        if not isinstance(loss, Tensor):
            raise TypeError(f"assert_grads_close: {what} must be a Tensor, got "
                            f"{type(loss).__name__}")
        if loss.numel() != 1:
            raise ValueError(f"assert_grads_close: {what} must be a scalar loss; got shape "
                             f"{loss.shape} (reduce it, e.g. .sum())")
        if not loss.requires_grad:
            raise ValueError(f"assert_grads_close: {what} does not require grad: it depends "
                             "on no tensor with requires_grad=True")
    if inputs is None:
        b_leaves = {id(t) for t in _leaves(loss_b)}
        shared = [t for t in _leaves(loss_a) if id(t) in b_leaves]
        if not shared:
            raise ValueError("assert_grads_close: loss_a and loss_b share no input that "
                             "requires grad; pass inputs=[...]")
        named = [(t.name or f"input {i} {list(t.shape)}", t) for i, t in enumerate(shared)]
    elif isinstance(inputs, Mapping):
        named = list(inputs.items())
    else:
        named = [(t.name or f"inputs[{i}]", t) for i, t in enumerate(inputs)]
    ts = [t for _, t in named]
    grads = []
    for what, loss in (("loss_a", loss_a), ("loss_b", loss_b)):
        try:
            grads.append(grad(loss, ts, retain_graph=True, allow_unused=True))
        except RuntimeError as e:
            if "second time" not in str(e):
                raise
            raise RuntimeError(
                f"assert_grads_close: the graph of {what} was freed by a backward() without "
                "retain_graph=True, so its gradients can't be computed again: call "
                "assert_grads_close before backward(), or use backward(retain_graph=True)"
            ) from None
    report = BackwardReport("assert_grads_close(loss_a, loss_b)")
    for (name, t), ga, gb in zip(named, *grads):
        a = np.zeros(t.shape, t.dtype) if ga is None else ga.numpy()
        b = np.zeros(t.shape, t.dtype) if gb is None else gb.numpy()
        r, at = default_tolerances(a.dtype, b.dtype)
        row = _compare(name, "a vs b", a, b, r if rtol is None else rtol,
                       at if atol is None else atol)
        if ga is None or gb is None:
            row.hint = f"only loss_{'b' if ga is None else 'a'} depends on it"
        report.rows.append(row)
    if not report.ok:
        raise AssertionError("\n" + str(report) + "\n(got: loss_a's gradient, expected: "
                             "loss_b's)")


# ----- a hand-written backward ---------------------------------------------------------------
def _names(fn: Callable[..., Any], n: int) -> list[str]:
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i].name if i < len(params) else f"arrays[{i}]" for i in range(n)]


def _hint(got: np.ndarray, expected: np.ndarray, arrays: Sequence[np.ndarray]) -> str:
    """The usual mistake behind ``got`` (same shape as ``expected``), when it is one."""
    finite = np.isfinite(expected)
    if not np.all(np.isfinite(got)[finite]):
        return ("not finite (nan/inf) where the expected gradient is finite: an exp that "
                "overflowed? Shift by the max before exp (softmax(x) = softmax(x - max x))")
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    if scale == 0.0:
        return ""
    close = 1e-6 * scale
    if got.ndim == 2 and got.shape[0] == got.shape[1] and np.max(
            np.abs(got - expected.T)) <= close and np.max(np.abs(got - expected)) > close:
        return "it equals the expected gradient transposed (for y = x @ W.T, dW = g.T @ x)"
    ratio = float(np.sum(got * expected) / np.sum(expected * expected))
    if abs(ratio - 1) > 1e-6 and np.max(np.abs(got - ratio * expected)) <= close:
        sizes = sorted({n for a in arrays for n in a.shape if n > 1})
        for n in sizes:
            if abs(ratio - n) <= 1e-6 * n:
                return (f"{n} times the expected gradient: a missing 1/{n} (a mean over "
                        f"{n} rows is a sum divided by {n}, its gradient too)?")
            if abs(ratio * n - 1) <= 1e-6:
                return f"1/{n} of the expected gradient: divided by {n} once too often?"
        return f"off by a constant factor {ratio:.6g}"
    return ""


def _shape_hint(got: tuple[int, ...], expected: tuple[int, ...]) -> str:
    if got == expected[::-1]:
        return (f"shape {got} is the transpose of the input's {expected}: for y = x @ W.T, "
                "dW = g.T @ x (a gradient has the shape of its input)")
    if tuple(n for n in got if n != 1) == tuple(n for n in expected if n != 1):
        return f"shape {got}, the input's is {expected}: a kept or missing size-1 axis"
    return (f"shape {got}, the input's is {expected}: summed over the wrong axis? A "
            "parameter used by every row sums its gradient over the batch axis (axis 0)")


def check_backward(forward: Callable[..., Any], backward: Callable[..., Any],
                   *arrays: Any, grad_output: Any = None,
                   reference: Callable[..., Tensor] | None = None, eps: float = 1e-6,
                   rtol: float = 1e-5, atol: float = 1e-7, seed: int = 0) -> BackwardReport:
    """Check a hand-written gradient. ``forward(*arrays)`` computes in numpy;
    ``backward(grad_output, *arrays)`` returns one gradient per array (None for integer
    arrays such as class targets, which are not perturbed). Both run in float64.

    ``grad_output`` defaults to a seeded random array of the output's shape (ones can hide
    mistakes). The gradients are compared with central finite differences of
    ``sum(grad_output * forward(...))`` and, when ``reference`` (a function on Tensors) is
    given, with the engine's autodiff of it (and the forward values with its values).
    Finite differences call ``forward`` twice per element: keep the arrays small.
    Returns the report; raises AssertionError with its table when anything is off."""
    names = _names(forward, len(arrays))
    xs = []
    for a in arrays:
        a = np.asarray(a.numpy() if isinstance(a, Tensor) else a)
        xs.append(a.astype(np.float64) if a.dtype.kind in "fc" else a.copy())
    floats = [i for i, a in enumerate(xs) if a.dtype.kind == "f"]
    report = BackwardReport(f"check_backward({getattr(forward, '__name__', 'forward')}, "
                            f"{getattr(backward, '__name__', 'backward')})")
    with np.errstate(all="ignore"):
        out = np.asarray(forward(*xs), dtype=np.float64)
        if grad_output is None:
            # a stream of its own: not the one default_rng(seed) gives the user's data
            go = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7,))
                                       ).standard_normal(out.shape)
        else:
            go = np.asarray(grad_output, dtype=np.float64)
            if go.shape != out.shape:
                raise ValueError(f"check_backward: grad_output has shape {go.shape}; the "
                                 f"output of forward has shape {out.shape}")
        if reference is not None:
            ts = [Tensor(a, requires_grad=i in floats) for i, a in enumerate(xs)]
            ref_out = reference(*ts)
            expected_out = ref_out.numpy()
            if expected_out.shape != out.shape:
                report.rows.append(GradientRow("forward", "reference", False, hint=(
                    f"forward gives shape {out.shape}, reference {expected_out.shape}")))
            else:
                row = _compare("forward", "reference", out, expected_out, rtol, atol)
                if not np.all(np.isfinite(out)) and np.all(np.isfinite(expected_out)):
                    row.hint = ("the forward is not finite where the reference is: an exp "
                                "that overflowed? Shift by the max before exp")
                report.rows.append(row)
            used = [ts[i] for i in floats]
            ref_grads = dict(zip(floats, grad(ref_out, used, Tensor(go), allow_unused=True)))
        hand = backward(go, *xs)
        hand = tuple(hand) if isinstance(hand, (tuple, list)) else (hand,)
        if len(hand) != len(xs):
            raise AssertionError(
                f"{report.title}: backward returned {len(hand)} gradient(s) for "
                f"{len(xs)} array(s) ({', '.join(names)}): one per array, None for integer ones")
        for i, (name, x, h) in enumerate(zip(names, xs, hand)):
            if i not in floats:
                if h is not None:
                    raise AssertionError(
                        f"{report.title}: backward returned a gradient for {name}, an array "
                        f"of dtype {x.dtype}: return None for integer arrays")
                continue
            if h is None:
                report.rows.append(GradientRow(name, "finite diff", False,
                                               hint="backward returned None for a float array"))
                continue
            h = np.asarray(h.numpy() if isinstance(h, Tensor) else h, dtype=np.float64)
            numeric = _finite_differences(forward, xs, i, go, eps)
            checks = [("finite diff", numeric)]
            if reference is not None:
                g = ref_grads[i]
                checks.append(("reference", np.zeros_like(x) if g is None else g.numpy()))
            for against, expected in checks:
                if h.shape != x.shape:
                    report.rows.append(GradientRow(name, against, False,
                                                   hint=_shape_hint(h.shape, x.shape)))
                    continue
                row = _compare(name, against, h, expected, rtol, atol)
                if not row.ok:
                    row.hint = _hint(h, expected, xs)
                    if not np.all(np.isfinite(expected)):
                        row.hint = ("the expected gradient is not finite: the forward "
                                    "overflows at these inputs (shift by the max before exp)")
                report.rows.append(row)
    if not report.ok:
        raise AssertionError("\n" + str(report))
    return report


def _finite_differences(forward: Callable[..., Any], xs: list[np.ndarray], i: int,
                        go: np.ndarray, eps: float) -> np.ndarray:
    """d sum(go * forward(xs)) / d xs[i] by central differences, element by element."""
    x = xs[i]
    out = np.zeros(x.shape)
    args = list(xs)
    args[i] = x = x.copy()
    for m in range(x.size):
        orig = x.flat[m]
        x.flat[m] = orig + eps
        hi = float(np.sum(go * np.asarray(forward(*args), dtype=np.float64)))
        x.flat[m] = orig - eps
        lo = float(np.sum(go * np.asarray(forward(*args), dtype=np.float64)))
        x.flat[m] = orig
        out.flat[m] = (hi - lo) / (2 * eps)
    return out
