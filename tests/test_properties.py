"""Property-based tests against torch: random programs, random cross-entropy configurations,
random small MLPs and optimizers.

Hypothesis draws the cases; torch (same inputs, same dtype) is the oracle. Each property
compares the forward value, the gradient of every input under a non-uniform upstream
gradient, and (for programs and losses) a second derivative: the Hessian-vector product
d/dx sum(v * grad) for a random v.

Tolerances, per dtype (``TOL``): a value ``a`` matches torch's ``b`` when

    |a - b| <= atol * scale + rtol * |b|,   scale = max(1, max |b|)   (over the whole array)

so the absolute part is relative to the largest entry of torch's result: sums, matmuls and
log-sum-exps are rounded in a different order by numpy and by torch, which costs a few ulps
of the largest term, not of each entry. nan and inf must appear in the same places. Where a
value computed by earlier ops lands within rounding of a kink (relu's 0, a clamp bound, a
tie in maximum or amax), the side it falls on is rounding's choice, and the gradients may
legitimately differ: those examples are left out (``rounding_decides``); exact ties and
zeros among the inputs stay in.

The properties: random programs (small values; huge values through the stable ops), leaf
gradients owning their memory, cross-entropy configurations (fused, unfused, numpy, torch),
soft targets that require grad, MLP + optimizer + schedule trajectories, checkpoint and
optimizer-state resume, broadcasting of every binary op, mixed float dtypes.

The number of examples comes from the hypothesis profile (``tests/conftest.py``): the
default one is small and deterministic; ``--hypothesis-profile=thorough`` runs many more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_ce as tg
import tinygrad_ce.nn.functional as F
from tests.helpers import compare
from tinygrad_ce import optim

TOL: dict[Any, dict[str, float]] = {
    np.float32: dict(rtol=2e-4, atol=2e-5),
    np.float64: dict(rtol=1e-9, atol=1e-11),
}
#: MLP trajectories compound rounding over several steps (Adam divides by sqrt(v) + eps)
TRAJECTORY_TOL: dict[Any, dict[str, float]] = {
    np.float32: dict(rtol=1e-3, atol=1e-4),
    np.float64: dict(rtol=1e-8, atol=1e-10),
}

EXAMPLES = settings().max_examples  # the loaded profile's count; slow properties use a share


def _share(fraction: float) -> settings:
    return settings(max_examples=max(3, int(EXAMPLES * fraction)))


# ----- comparison ------------------------------------------------------------------------
def _numpy(t: torch.Tensor) -> np.ndarray:
    # torch returns some structurally zero second derivatives (abs, sign) as "zero tensors"
    # with no storage; .numpy() on one crashes the process, so materialise it first
    if torch._is_zerotensor(t):
        return np.zeros(tuple(t.shape), dtype=str(t.dtype).removeprefix("torch."))
    return t.detach().numpy(force=True)


def close(ours: Any, theirs: Any, dtype: Any, what: str,
          tol: dict[Any, dict[str, float]] = TOL) -> None:
    a = np.asarray(ours.numpy() if isinstance(ours, tg.Tensor) else ours)
    b = _numpy(theirs) if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    t = tol[np.dtype(dtype).type]
    finite = b[np.isfinite(b)]
    scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=t["rtol"],
                               atol=t["atol"] * scale, equal_nan=True, err_msg=what)


def against_torch(torch_fn: Callable[..., Any], our_fn: Callable[..., Any],
                  arrays: Sequence[np.ndarray], dtype: Any, double: bool = True,
                  what: str = "") -> None:
    """Forward, gradients and the Hessian-vector product, ours vs torch, with ``close``."""
    compare(torch_fn, our_fn, arrays, dtype, double=double, what=what, close=close)


# ----- random programs ---------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One op of a program; ``args`` are the drawn parameters (dims, shapes, indices)."""

    op: str
    args: tuple[Any, ...] = ()

    def __repr__(self) -> str:
        return f"{self.op}{self.args!r}"


def _reduce(name: str) -> Callable[..., Any]:
    def apply(lib: Any, v: Any, leaves: Any, dim: Any, keepdim: bool) -> Any:
        if dim is None:
            return getattr(v, name)()
        return getattr(v, name)(dim=dim, keepdim=keepdim)
    return apply


def _select(name: str) -> Callable[..., Any]:
    return lambda lib, v, leaves, dim, keepdim: getattr(v, name)(dim, keepdim=keepdim).values


def _unary(name: str) -> Callable[..., Any]:
    return lambda lib, v, leaves: getattr(v, name)()


# every op, written once for both libraries: ``lib`` is torch or tinygrad_ce, ``leaves`` an
# iterator over the program's further inputs (binary ops take the next one)
APPLY: dict[str, Callable[..., Any]] = {
    "neg": lambda lib, v, leaves: -v,
    **{name: _unary(name) for name in ("exp", "tanh", "sigmoid", "relu", "abs")},
    "square": lambda lib, v, leaves: v * v,
    "log": lambda lib, v, leaves: (v.abs() + 0.5).log(),
    "sqrt": lambda lib, v, leaves: (v * v + 0.25).sqrt(),
    "clamp": lambda lib, v, leaves, lo, hi: v.clamp(lo, hi),
    "affine": lambda lib, v, leaves, a, b: a * v + b,
    "add": lambda lib, v, leaves: v + next(leaves),
    "sub": lambda lib, v, leaves: v - next(leaves),
    "rsub": lambda lib, v, leaves: next(leaves) - v,
    "mul": lambda lib, v, leaves: v * next(leaves),
    "div": lambda lib, v, leaves: v / (next(leaves).abs() + 0.5),
    "rdiv": lambda lib, v, leaves: next(leaves) / (v * v + 0.5),
    "pow": lambda lib, v, leaves: (v.abs() + 0.5) ** next(leaves),
    "maximum": lambda lib, v, leaves: v.maximum(next(leaves)),
    "minimum": lambda lib, v, leaves: v.minimum(next(leaves)),
    "where": lambda lib, v, leaves: lib.where(v > 0, v, next(leaves)),
    "matmul": lambda lib, v, leaves: v @ next(leaves),
    **{name: _reduce(name) for name in ("sum", "mean", "amax", "amin", "var")},
    # std is not differentiable at a constant input; where values are equal only up to
    # rounding the two libraries' gradients are rounding noise, so a ramp keeps them apart
    # (the constant case itself: tests/test_bad_input.py)
    "std": lambda lib, v, leaves, dim, keepdim: _reduce("std")(
        lib, v + lib.arange(v.numel(), dtype=v.dtype).reshape(v.shape), leaves, dim, keepdim),
    "logsumexp": lambda lib, v, leaves, dim, keepdim: v.logsumexp(dim, keepdim=keepdim),
    "max": _select("max"),
    "min": _select("min"),
    "softmax": lambda lib, v, leaves, dim: v.softmax(dim),
    "log_softmax": lambda lib, v, leaves, dim: v.log_softmax(dim),
    "reshape": lambda lib, v, leaves, shape: v.reshape(shape),
    "flatten": lambda lib, v, leaves: v.flatten(),
    "transpose": lambda lib, v, leaves, a, b: v.transpose(a, b),
    "permute": lambda lib, v, leaves, perm: v.permute(perm),
    "unsqueeze": lambda lib, v, leaves, d: v.unsqueeze(d),
    "squeeze": lambda lib, v, leaves, d: v.squeeze(d),
    "expand": lambda lib, v, leaves, shape: v.expand(shape),
    "index": lambda lib, v, leaves, idx: v[idx],
    "cat": lambda lib, v, leaves, d: lib.cat([v, next(leaves)], dim=d),
    "stack": lambda lib, v, leaves, d: lib.stack([v, next(leaves)], dim=d),
}
BINARY = {"add", "sub", "rsub", "mul", "div", "rdiv", "pow", "maximum", "minimum", "where"}
# ops whose values and gradients stay finite and well-conditioned for inputs of any size
STABLE = {"neg", "tanh", "sigmoid", "relu", "abs", "clamp", "add", "sub", "rsub", "maximum",
          "minimum", "where", "sum", "mean", "amax", "amin", "logsumexp", "max", "min",
          "softmax", "log_softmax", "reshape", "flatten", "transpose", "permute", "unsqueeze",
          "squeeze", "expand", "index", "cat", "stack"}
SIDES = st.sampled_from((1, 2, 3, 4, 0, 2, 3))


def run(lib: Any, steps: Sequence[Step], leaves: Sequence[Any]) -> Any:
    rest = iter(leaves[1:])
    v = leaves[0]
    for s in steps:
        v = APPLY[s.op](lib, v, rest, *s.args)
    return v


CONSUMES = BINARY | {"matmul", "cat", "stack"}  # ops that bring in the next input
KINKS = {"relu", "abs", "log", "pow", "where", "clamp", "maximum", "minimum", "amax", "amin",
         "max", "min"}
NEAR = {np.float32: 1e-5, np.float64: 1e-12}


def rounding_decides(steps: Sequence[Step], arrays: Sequence[np.ndarray], dtype: Any) -> bool:
    """Does a kink (relu's and abs' 0, a clamp bound, where's sign, a tie in maximum or in an
    amax) meet a value that earlier ops computed, within rounding? Which side of the kink it
    falls on is then decided by rounding, which numpy and torch do in different orders, and
    so is the gradient. Such examples are left out; ties and zeros among the inputs
    themselves are exact and stay in (their gradients follow torch's conventions)."""
    tol = NEAR[np.dtype(dtype).type]
    leaves = [tg.Tensor(a) for a in arrays]
    v, used = leaves[0], 1
    with np.errstate(all="ignore"):
        for i, s in enumerate(steps):
            if i and s.op in KINKS:
                x = v.numpy().astype(np.float64)
                finite = np.abs(x[np.isfinite(x)])
                eps = tol * max(1.0, float(finite.max()) if finite.size else 1.0)
                if s.op == "clamp":
                    gap = np.min([np.abs(x - b) for b in s.args if b is not None], axis=0)
                elif s.op in ("maximum", "minimum"):
                    gap = np.abs(x - leaves[used].numpy())
                elif s.op in ("amax", "amin", "max", "min"):
                    axes = _axes(s.args[0], x.ndim)
                    top = (x.max if s.op in ("amax", "max") else x.min)(axis=axes, keepdims=True)
                    if ((np.abs(x - top) <= eps).sum(axis=axes) > 1).any():
                        return True
                    gap = np.array([np.inf])
                else:
                    gap = np.abs(x)
                if (gap <= eps).any():
                    return True
            v = APPLY[s.op](tg, v, iter(leaves[used:]), *s.args)
            used += s.op in CONSUMES
    return False


def _broadcast_partner(draw: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts with ``shape``: each axis kept, set to 1, or (where ``shape``
    has a 1) widened; leading axes dropped or added."""
    out = []
    for n in shape:
        choice = draw(st.sampled_from(("same", "one", "wide" if n == 1 else "same")))
        out.append(n if choice == "same" else 1 if choice == "one" else draw(SIDES))
    lead = draw(st.integers(-len(out), 1)) if len(shape) < 4 else draw(st.integers(-len(out), 0))
    return tuple(out[-lead:] if lead < 0 else [draw(SIDES)] * lead + out)


def _dim_arg(draw: Any, ndim: int, allow_tuple: bool = True, allow_empty: bool = True) -> Any:
    """None, an int, or a tuple of distinct dims; ``()`` means every dim, as in torch."""
    n = max(ndim, 1)
    single = st.integers(-n, n - 1)
    if not allow_tuple or ndim == 0:
        return draw(single)
    subsets = st.lists(st.integers(0, ndim - 1), min_size=0 if allow_empty else 1,
                       max_size=ndim, unique=True)
    return draw(st.one_of(st.none(), single, subsets.map(tuple)))


def _axes(dim: Any, ndim: int) -> tuple[int, ...]:
    if dim is None or dim == ():
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else dim
    return tuple(d % max(ndim, 1) for d in dims) if ndim else ()


@st.composite
def programs(draw: Any, stable_only: bool = False) -> tuple[list[Step], list[tuple[int, ...]]]:
    """A chain of 1-4 ops on a first input; binary ops bring in further inputs."""
    shape = tuple(draw(st.lists(SIDES, max_size=3)))
    shapes = [shape]
    steps: list[Step] = []
    ops = sorted(STABLE if stable_only else APPLY)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(ops))
        before = len(shapes)
        nd = len(shape)
        args: tuple[Any, ...] = ()
        if op in BINARY:
            shapes.append(_broadcast_partner(draw, shape))
        elif op == "clamp":
            lo, hi = sorted(draw(st.lists(st.floats(-2, 2), min_size=2, max_size=2)))
            lo, hi = draw(st.sampled_from([(lo, hi), (lo, None), (None, hi)]))
            args = (lo, hi)
        elif op == "affine":
            args = (draw(st.sampled_from([2.5, -0.5, 3])), draw(st.sampled_from([1.0, -2])))
        elif op == "matmul":
            if nd == 0:
                continue
            k = shape[-1]
            shapes.append(draw(st.sampled_from([(k,), (k, draw(SIDES))])))
        elif op in ("sum", "mean", "amax", "amin", "var", "std", "logsumexp", "max", "min"):
            # dim=(): torch's logsumexp refuses it, and torch's var/std backward treats it as
            # no dim at all (a gradient of +-inf; docs/bad_input.md)
            dim = _dim_arg(draw, nd, allow_tuple=op not in ("max", "min"),
                           allow_empty=op not in ("logsumexp", "var", "std"))
            if op == "logsumexp" and dim is None:
                dim = tuple(range(nd)) if nd else 0
            counted = int(np.prod([shape[a] for a in _axes(dim, nd)]))
            if op in ("amax", "amin", "max", "min"):
                assume(counted > 0)  # an empty max is an error (tests/test_bad_input.py)
            if op in ("var", "std"):
                assume(counted > 1)  # n <= correction: nan (docs/bad_input.md)
            args = (dim, draw(st.booleans()))
        elif op in ("softmax", "log_softmax", "unsqueeze", "squeeze"):
            n = nd + 1 if op == "unsqueeze" else max(nd, 1)
            args = (draw(st.integers(-n, n - 1)),)
        elif op == "reshape":
            size = int(np.prod(shape))
            options = [(size,), (-1,), (1, size), (size, 1)] if size else [(0,), (0, 2)]
            if nd >= 2:
                options.append(shape[:-2] + (shape[-2] * shape[-1],))
            args = (draw(st.sampled_from(options)),)
        elif op == "transpose":
            n = max(nd, 1)
            if nd < 2:
                args = (draw(st.integers(-1, 0)), draw(st.integers(-1, 0)))
            else:
                args = (draw(st.integers(-n, n - 1)), draw(st.integers(-n, n - 1)))
        elif op == "permute":
            args = (tuple(draw(st.permutations(range(nd)))),)
        elif op == "expand":
            new = tuple(draw(SIDES) if n == 1 and draw(st.booleans()) else n for n in shape)
            args = (tuple(draw(st.lists(SIDES, max_size=max(0, 4 - nd)))) + new,)
        elif op == "index":
            if nd == 0 or shape[0] == 0:
                continue
            first = draw(st.one_of(
                st.integers(-shape[0], shape[0] - 1),
                st.builds(slice, st.integers(-5, 5) | st.none(), st.integers(-5, 5) | st.none(),
                          st.sampled_from([None, 1, 2])),  # torch has no negative steps
                st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=5),
            ))
            args = ((first, Ellipsis) if draw(st.booleans()) else first,)
        elif op in ("cat", "stack"):
            n = nd + 1 if op == "stack" else max(nd, 1)
            d = draw(st.integers(-n, n - 1))
            if op == "cat":
                if nd == 0:
                    continue
                other = list(shape)
                other[d % nd] = draw(SIDES)
                shapes.append(tuple(other))
            else:
                shapes.append(shape)
            args = (d,)
        step = Step(op, args)
        # the next op's shape, from our own forward on zeros (cheap, no recording)
        try:
            with tg.no_grad(), np.errstate(all="ignore"):
                probe = run(tg, [step], [tg.zeros(s) for s in [shape, *shapes[before:]]])
        except Exception as e:  # noqa: BLE001 - reported with the program
            raise AssertionError(f"{step} on shape {shape} raised {e!r}") from e
        shape = probe.shape
        steps.append(step)
    assume(steps)
    return steps, shapes


def _values(dtype: Any, shape: tuple[int, ...], bound: float) -> st.SearchStrategy[np.ndarray]:
    width = 32 if dtype == np.float32 else 64
    return hnp.arrays(dtype, shape, elements=st.floats(-bound, bound, width=width))


DTYPES = st.sampled_from([np.float32, np.float64])


@given(program=programs(), dtype=DTYPES, data=st.data())
def test_random_programs_match_torch(program: Any, dtype: Any, data: Any) -> None:
    steps, shapes = program
    arrays = [data.draw(_values(dtype, s, 3.0), label=f"input {i}") for i, s in enumerate(shapes)]
    note(f"program: {steps}")
    assume(not rounding_decides(steps, arrays, dtype))
    against_torch(lambda *t: run(torch, steps, t), lambda *t: run(tg, steps, t), arrays, dtype,
                  what=repr(steps))


@given(program=programs(stable_only=True), dtype=DTYPES, data=st.data())
def test_random_programs_with_large_magnitudes_match_torch(program: Any, dtype: Any,
                                                           data: Any) -> None:
    """Inputs far beyond exp's overflow (up to 2^100 in float32, 2^1000 in float64): the
    max-shifted log-sum-exp, softmax and sigmoid stay finite, exactly like torch's."""
    steps, shapes = program
    bound = 2.0 ** 100 if dtype == np.float32 else 2.0 ** 1000
    arrays = [data.draw(_values(dtype, s, bound), label=f"input {i}") for i, s in
              enumerate(shapes)]
    note(f"program: {steps}")
    assume(not rounding_decides(steps, arrays, dtype))
    against_torch(lambda *t: run(torch, steps, t), lambda *t: run(tg, steps, t), arrays, dtype,
                  what=repr(steps))


@given(program=programs(), dtype=DTYPES, data=st.data())
def test_leaf_gradients_own_their_memory(program: Any, dtype: Any, data: Any) -> None:
    """After backward(), writing into one leaf's .grad in place (gradient clipping, an
    optimizer) changes nothing else: no other .grad, no input, no output, not the upstream
    gradient handed to backward."""
    steps, shapes = program
    arrays = [data.draw(_values(dtype, s, 3.0), label=f"input {i}") for i, s in enumerate(shapes)]
    leaves = [tg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    with np.errstate(all="ignore"):
        out = run(tg, steps, leaves)
        out_before = out.numpy().copy()
        up = tg.Tensor(np.random.default_rng(1).standard_normal(out.shape).astype(dtype) + 1.5)
        up_before = up.numpy().copy()
        out.backward(up)
    grads = [leaf.grad for leaf in leaves if leaf.grad is not None]
    before = [g.numpy().copy() for g in grads]
    for i, g in enumerate(grads):
        assert g.numpy().flags.writeable, f"gradient {i} is read-only"
        g.numpy()[...] = 7.0
        for j, h in enumerate(grads):
            if j != i:
                np.testing.assert_array_equal(h.numpy(), before[j], err_msg=f"grad {j} aliased")
        g.numpy()[...] = before[i]
    for leaf, a in zip(leaves, arrays):
        np.testing.assert_array_equal(leaf.numpy(), a)
    np.testing.assert_array_equal(out.numpy(), out_before)
    np.testing.assert_array_equal(up.numpy(), up_before)


# ----- random cross-entropy configurations --------------------------------------------------
@dataclass
class CE:
    x: np.ndarray
    target: np.ndarray
    kw: dict[str, Any]
    weight: np.ndarray | None

    def torch_kw(self) -> dict[str, Any]:
        w = None if self.weight is None else torch.tensor(self.weight)
        return {**self.kw, "weight": w}

    def our_kw(self) -> dict[str, Any]:
        return {**self.kw, "weight": self.weight}


@st.composite
def ce_configs(draw: Any, dtype: Any) -> CE:
    """Every option of cross_entropy, every shape form: (C,), (N, C), (N, C, d1[, d2])."""
    C = draw(st.integers(1, 5))
    form = draw(st.sampled_from(["1d", "2d", "kd"]))
    if form == "1d":
        shape: tuple[int, ...] = (C,)
    elif form == "2d":
        shape = (draw(st.integers(0, 5)), C)
    else:
        shape = (draw(st.integers(0, 3)), C) + tuple(draw(st.lists(st.integers(0, 3),
                                                                   min_size=1, max_size=2)))
    bound = draw(st.sampled_from([3.0, 3.0, 2.0 ** 14 if dtype == np.float32 else 2.0 ** 30]))
    x = draw(_values(dtype, shape, bound), label="logits")
    rows = () if form == "1d" else shape[:1] + shape[2:]
    probabilities = draw(st.booleans())
    kw: dict[str, Any] = dict(reduction=draw(st.sampled_from(["mean", "sum", "none"])),
                              label_smoothing=draw(st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0])))
    if probabilities:
        raw = draw(hnp.arrays(dtype, shape, elements=st.floats(0, 1, width=32)))
        if draw(st.booleans()) and C:  # normalised rows, as a softmax would give
            raw = raw / np.maximum(raw.sum(axis=0 if form == "1d" else 1, keepdims=True), 1e-3)
        target = raw.astype(dtype)
    else:
        target = draw(hnp.arrays(np.int64, rows, elements=st.integers(0, C - 1)))
        if draw(st.booleans()):
            ignore = draw(st.sampled_from([-100, 0, C - 1, -1]))
            kw["ignore_index"] = ignore
            mask = draw(hnp.arrays(np.bool_, rows))
            target = np.where(mask, ignore, target).astype(np.int64)
    weight = None
    if draw(st.booleans()):
        # no subnormal weights: 1 / (sum of weights) would overflow, and what inf * 0 makes
        # of it depends on the order of operations
        weight = draw(hnp.arrays(dtype, (C,), elements=st.floats(0.0, 3.0, width=32,
                                                                 allow_subnormal=False)))
    return CE(x, target, kw, weight)


@given(data=st.data(), dtype=DTYPES)
def test_random_cross_entropy_fused_unfused_numpy_and_torch_agree(data: Any, dtype: Any) -> None:
    cfg = data.draw(ce_configs(dtype), label="config")
    note(f"shape {cfg.x.shape}, target {cfg.target.dtype}{cfg.target.shape}, {cfg.kw}, "
         f"weighted={cfg.weight is not None}")
    t_target = torch.tensor(cfg.target)

    def theirs(x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(x, t_target, **cfg.torch_kw())

    for name, fn in (("fused", F.cross_entropy), ("unfused", F.cross_entropy_unfused)):
        against_torch(theirs, lambda x, fn=fn: fn(x, tg.Tensor(cfg.target), **cfg.our_kw()),
                      [cfg.x], dtype, what=name)
    # the plain numpy gradient, under the same upstream gradient as torch's
    xt = torch.tensor(cfg.x, requires_grad=True)
    loss = theirs(xt)
    up = (np.random.default_rng(2).standard_normal(tuple(loss.shape)) + 1.5).astype(dtype)
    (gt,) = torch.autograd.grad(loss, xt, torch.tensor(up))
    with np.errstate(all="ignore"):
        g = F.cross_entropy_grad(cfg.x, cfg.target, grad_output=up, **cfg.our_kw())
    assert g.dtype == np.dtype(dtype)
    close(g, gt, dtype, "cross_entropy_grad")


@given(data=st.data(), dtype=DTYPES)
def test_random_probability_targets_get_torch_gradients_too(data: Any, dtype: Any) -> None:
    """Soft targets that require grad (distillation): d loss / d target matches torch's."""
    C = data.draw(st.integers(1, 4))
    shape = data.draw(st.sampled_from([(C,), (3, C), (2, C, 2)]))
    x = data.draw(_values(dtype, shape, 3.0))
    q = data.draw(hnp.arrays(dtype, shape, elements=st.floats(0, 1, width=32)))
    kw = dict(reduction=data.draw(st.sampled_from(["mean", "sum", "none"])),
              label_smoothing=data.draw(st.sampled_from([0.0, 0.2])))
    for fn in (F.cross_entropy, F.cross_entropy_unfused):
        against_torch(lambda a, b: torch.nn.functional.cross_entropy(a, b, **kw),
                      lambda a, b, fn=fn: fn(a, b, **kw), [x, q], dtype, what=fn.__name__)


# ----- random small MLPs and optimizers: short trajectories ----------------------------------
OPTIMIZERS = {
    "sgd": lambda lib, ps, o: lib.SGD(ps, lr=o["lr"]),
    "sgd-momentum": lambda lib, ps, o: lib.SGD(ps, lr=o["lr"], momentum=0.9,
                                               weight_decay=o["wd"]),
    "sgd-nesterov": lambda lib, ps, o: lib.SGD(ps, lr=o["lr"], momentum=0.8, nesterov=True),
    "sgd-dampening": lambda lib, ps, o: lib.SGD(ps, lr=o["lr"], momentum=0.5, dampening=0.3),
    "adam": lambda lib, ps, o: lib.Adam(ps, lr=o["lr"], weight_decay=o["wd"]),
    "adam-amsgrad": lambda lib, ps, o: lib.Adam(ps, lr=o["lr"], betas=(0.8, 0.99),
                                                amsgrad=True),
    "adamw": lambda lib, ps, o: lib.AdamW(ps, lr=o["lr"], weight_decay=max(o["wd"], 0.01)),
    "rmsprop": lambda lib, ps, o: lib.RMSprop(ps, lr=o["lr"] / 10, momentum=0.5,
                                              weight_decay=o["wd"]),
    "adagrad": lambda lib, ps, o: lib.Adagrad(ps, lr=o["lr"], lr_decay=0.01,
                                              weight_decay=o["wd"]),
}
ACTIVATIONS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}


def _torch_mlp(model: Any, activation: str, dtype: Any) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    linears = [m for m in model if isinstance(m, tg.nn.Linear)]
    for i, lin in enumerate(linears):
        layers.append(torch.nn.Linear(lin.in_features, lin.out_features,
                                      dtype=getattr(torch, np.dtype(dtype).name)))
        if i < len(linears) - 1:
            layers.append(ACTIVATIONS[activation]())
    net = torch.nn.Sequential(*layers)
    net.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})
    return net


@_share(0.5)
@given(
    dtype=DTYPES,
    sizes=st.tuples(st.integers(1, 4), st.lists(st.integers(1, 6), min_size=1, max_size=2),
                    st.integers(2, 4), st.integers(1, 8)),
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    optimizer=st.sampled_from(sorted(OPTIMIZERS)),
    hyper=st.fixed_dictionaries({"lr": st.sampled_from([1e-3, 0.05, 0.3]),
                                 "wd": st.sampled_from([0.0, 0.0, 1e-2])}),
    loss=st.sampled_from(["fused", "unfused", "mse"]),
    schedule=st.sampled_from([None, "StepLR", "CosineAnnealingLR"]),
    seed=st.integers(0, 2**16),
)
def test_random_mlp_training_trajectories_match_torch(dtype: Any, sizes: Any, activation: str,
                                                      optimizer: str, hyper: dict[str, float],
                                                      loss: str, schedule: str | None,
                                                      seed: int) -> None:
    """A few steps of (forward, loss, backward, step, schedule) in both libraries from the
    same weights: losses, parameters and learning rates agree after every step."""
    n_in, hidden, n_out, batch = sizes
    tg.manual_seed(seed)
    model = tg.nn.MLP(n_in, hidden, n_out, activation=activation, dtype=dtype)
    net = _torch_mlp(model, activation, dtype)
    rng = np.random.default_rng(seed)
    opt = OPTIMIZERS[optimizer](optim, list(model.parameters()), hyper)
    opt_t = OPTIMIZERS[optimizer](torch.optim, list(net.parameters()), hyper)
    schedules = []
    if schedule is not None:
        kw = {"step_size": 2, "gamma": 0.5} if schedule == "StepLR" else {"T_max": 3}
        schedules = [getattr(optim, schedule)(opt, **kw),
                     getattr(torch.optim.lr_scheduler, schedule)(opt_t, **kw)]
    for step in range(4):
        x = rng.standard_normal((batch, n_in)).astype(dtype)
        y = rng.integers(0, n_out, batch)
        out, out_t = model(tg.Tensor(x)), net(torch.tensor(x))
        if loss == "mse":
            target = np.eye(n_out, dtype=dtype)[y]
            value = F.mse_loss(out, tg.Tensor(target))
            value_t = torch.nn.functional.mse_loss(out_t, torch.tensor(target))
        else:
            fn = F.cross_entropy if loss == "fused" else F.cross_entropy_unfused
            value, value_t = fn(out, tg.Tensor(y)), torch.nn.functional.cross_entropy(
                out_t, torch.tensor(y))
        close(value, value_t, dtype, f"loss at step {step}", TRAJECTORY_TOL)
        opt.zero_grad()
        opt_t.zero_grad()
        value.backward()
        value_t.backward()
        opt.step()
        opt_t.step()
        for sched in schedules:
            sched.step()
        if schedules:
            np.testing.assert_allclose(schedules[0].get_last_lr(), schedules[1].get_last_lr(),
                                       rtol=1e-12)
        theirs = net.state_dict()
        for key, arr in model.state_dict().items():
            assert arr.dtype == np.dtype(dtype), f"{key} changed dtype to {arr.dtype}"
            close(arr, theirs[key], dtype, f"{key} after step {step}", TRAJECTORY_TOL)


@_share(0.5)
@given(dtype=DTYPES, optimizer=st.sampled_from(sorted(OPTIMIZERS)),
       before=st.integers(0, 3), after=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_checkpoint_and_optimizer_state_resume_exactly(dtype: Any, optimizer: str, before: int,
                                                       after: int, seed: int,
                                                       tmp_path_factory: Any) -> None:
    """Nothing lost: train, save the weights (Module.save) and the optimizer state
    (state_dict), load both into a fresh model and optimizer, train on: bit for bit the
    run that never stopped."""
    hyper = {"lr": 0.05, "wd": 0.01}
    rng = np.random.default_rng(seed)
    batches = [(rng.standard_normal((6, 3)).astype(dtype), rng.integers(0, 3, 6))
               for _ in range(before + after)]

    def train(model: Any, opt: Any, steps: Sequence[Any]) -> None:
        for x, y in steps:
            opt.zero_grad()
            F.cross_entropy(model(tg.Tensor(x)), tg.Tensor(y)).backward()
            opt.step()

    def fresh() -> tuple[Any, Any]:
        tg.manual_seed(seed)
        model = tg.nn.MLP(3, [5], 3, activation="tanh", dtype=dtype)
        return model, OPTIMIZERS[optimizer](optim, list(model.parameters()), hyper)

    straight, opt = fresh()
    train(straight, opt, batches)
    first, opt1 = fresh()
    train(first, opt1, batches[:before])
    path = tmp_path_factory.mktemp("ckpt") / "model.npz"
    first.save(path)
    state = opt1.state_dict()
    tg.manual_seed(seed + 1)  # a different initialisation, overwritten by the load
    resumed = tg.nn.MLP(3, [5], 3, activation="tanh", dtype=dtype)
    resumed.load(path)
    opt2 = OPTIMIZERS[optimizer](optim, list(resumed.parameters()), {"lr": 1.0, "wd": 0.0})
    opt2.load_state_dict(state)
    train(resumed, opt2, batches[before:])
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert a.dtype == b.dtype == np.dtype(dtype), k
        np.testing.assert_array_equal(a, b, err_msg=k)


# ----- the shape matrix itself: a property over every pairing --------------------------------
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                 min_side=0, max_side=3),
       op=st.sampled_from(sorted(BINARY - {"where"})), dtype=DTYPES, data=st.data())
def test_binary_ops_broadcast_like_torch(shapes: Any, op: str, dtype: Any, data: Any) -> None:
    a_shape, b_shape = shapes.input_shapes
    arrays = [data.draw(_values(dtype, s, 3.0)) for s in (a_shape, b_shape)]
    against_torch(lambda *t: run(torch, [Step(op)], t), lambda *t: run(tg, [Step(op)], t),
                  arrays, dtype, what=op)


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3,
                                                 min_side=0, max_side=3),
       op=st.sampled_from(sorted(BINARY)), first_is_double=st.booleans(), data=st.data())
def test_mixed_float_dtypes_promote_and_keep_each_gradient_dtype(
        shapes: Any, op: str, first_is_double: bool, data: Any) -> None:
    """float32 with float64: the result is float64 as in torch, and each input's gradient
    has that input's own dtype (torch casts it back, so do we)."""
    dtypes = (np.float64, np.float32) if first_is_double else (np.float32, np.float64)
    # 0-d operands, which promote as scalars, are tests/test_torch_habits_ops.py's
    arrays = [data.draw(_values(dt, s, 3.0)) for dt, s in zip(dtypes, shapes.input_shapes)]
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    oo = [tg.Tensor(a, requires_grad=True) for a in arrays]
    out_t, out_o = run(torch, [Step(op)], tt), run(tg, [Step(op)], oo)
    assert out_o.dtype == np.float64
    close(out_o, out_t, np.float32, f"{op}: forward")
    up = np.random.default_rng(1).standard_normal(tuple(out_t.shape)) + 1.5
    gt = torch.autograd.grad(out_t, tt, torch.tensor(up), allow_unused=True)
    go = tg.autograd.grad(out_o, oo, tg.Tensor(up), allow_unused=True)
    for i, (a, b, dt) in enumerate(zip(go, gt, dtypes)):
        if b is None:
            continue
        assert a is not None and a.dtype == np.dtype(dt), f"{op}: gradient {i} is {a.dtype}"
        close(a, b, np.float32, f"{op}: gradient of input {i}")
