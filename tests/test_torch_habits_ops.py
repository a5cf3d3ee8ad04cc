"""torch's habits in the ops: type promotion (``torch.result_type``), float16 computed in
float32, integers through float ops, and the errors torch raises. Each test runs the same
small program on torch and on tinygrad_ce and compares dtypes, values, gradients, errors."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
from tests.helpers import compare

DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]
VALUES = {"bool": [True, False, True], "uint8": [0, 1, 200], "int32": [-3, 0, 7],
          "int64": [5, -2, 0], "float16": [-1.5, 0.25, 3.0], "float32": [0.5, -2.0, 0.0],
          "float64": [1.25, 0.0, -0.5]}
SCALARS = [True, 3, -1, 2.5, np.float64(0.1), np.int32(2)]


def tensor(lib: Any, dtype: str, zero_d: bool = False) -> Any:
    values = VALUES[dtype][:1] if zero_d else VALUES[dtype]
    arr = np.array(values[0] if zero_d else values, dtype=dtype)
    return torch.tensor(arr) if lib is torch else tg.tensor(arr)


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """("ok", (dtype name, values)) or ("error", exception type)."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = fn()
    except (RuntimeError, TypeError, ValueError, IndexError, NotImplementedError) as e:
        return "error", type(e).__name__
    if isinstance(out, torch.Tensor):
        return "ok", (str(out.dtype).removeprefix("torch."), out.numpy())
    return "ok", (str(out.dtype), out.numpy())


def same(ours: tuple[str, Any], theirs: tuple[str, Any], what: str, ulp: bool = False) -> None:
    assert ours[0] == theirs[0], f"{what}: ours {ours}, torch's {theirs}"
    if ours[0] == "error":
        assert ours[1] == theirs[1], f"{what}: we raise {ours[1]}, torch {theirs[1]}"
        return
    (dt_o, v_o), (dt_t, v_t) = ours[1], theirs[1]
    assert dt_o == dt_t, f"{what}: dtype {dt_o}, torch's {dt_t}"
    if ulp:  # one unit in the last place of float16
        np.testing.assert_allclose(v_o.astype(float), v_t.astype(float), rtol=1e-3, atol=1e-6,
                                   equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(v_o, v_t, err_msg=what)


BINARY: dict[str, Callable[[Any, Any, Any], Any]] = {
    "+": lambda lib, a, b: a + b,
    "-": lambda lib, a, b: a - b,
    "*": lambda lib, a, b: a * b,
    "/": lambda lib, a, b: a / b,
    "<": lambda lib, a, b: a < b,
    "==": lambda lib, a, b: a == b,
    "where": lambda lib, a, b: lib.where(lib.tensor([True, False, True]) if a.ndim else
                                         lib.tensor(False), a, b),
}
OPERANDS = [(d, z) for d in DTYPES for z in (False, True)]


@pytest.mark.parametrize("right", OPERANDS + SCALARS,
                         ids=lambda r: f"{r[0]}{'-0d' if r[1] else ''}"
                         if isinstance(r, tuple) else f"{type(r).__name__}({r})")
@pytest.mark.parametrize("left", OPERANDS, ids=lambda r: f"{r[0]}{'-0d' if r[1] else ''}")
def test_binary_promotion_matches_torch(left: tuple[str, bool], right: Any) -> None:
    """Every dtype pair, tensors with dimensions, 0-d tensors and Python or numpy numbers,
    through + - * / < == where: the result's dtype and values (or the error) are torch's,
    and so are the reflected forms ``number op tensor``."""
    def operand(lib: Any, r: Any) -> Any:
        return tensor(lib, *r) if isinstance(r, tuple) else r

    for name, fn in BINARY.items():
        what = f"{left} {name} {right!r}"
        ours = outcome(lambda: fn(tg, tensor(tg, *left), operand(tg, right)))  # noqa: B023
        theirs = outcome(lambda: fn(torch, tensor(torch, *left), operand(torch, right)))  # noqa: B023
        same(ours, theirs, what)
        if not isinstance(right, tuple) and name != "where":
            ours = outcome(lambda: fn(tg, right, tensor(tg, *left)))  # noqa: B023
            theirs = outcome(lambda: fn(torch, right, tensor(torch, *left)))  # noqa: B023
            same(ours, theirs, f"reflected {what}")


@pytest.mark.parametrize("right", OPERANDS + SCALARS[:4], ids=str)
@pytest.mark.parametrize("left", OPERANDS, ids=str)
def test_result_type_is_torchs(left: tuple[str, bool], right: Any) -> None:
    def operand(lib: Any, r: Any) -> Any:
        return tensor(lib, *r) if isinstance(r, tuple) else r

    ours = tg.result_type(operand(tg, left), operand(tg, right))
    theirs = torch.result_type(operand(torch, left), operand(torch, right))
    assert str(ours) == str(theirs).removeprefix("torch.")
    if isinstance(right, tuple):
        assert str(tg.promote_types(np.dtype(left[0]), np.dtype(right[0]))) == str(
            torch.promote_types(getattr(torch, left[0]), getattr(torch, right[0]))
        ).removeprefix("torch.")


@pytest.mark.parametrize("dtypes", list(itertools.combinations_with_replacement(DTYPES, 2)),
                         ids=str)
def test_cat_and_stack_promote(dtypes: tuple[str, str]) -> None:
    for lib_fn in ("cat", "stack"):
        ours = outcome(lambda: getattr(tg, lib_fn)([tensor(tg, d) for d in dtypes]))  # noqa: B023
        theirs = outcome(lambda: getattr(torch, lib_fn)([tensor(torch, d) for d in dtypes]))  # noqa: B023
        same(ours, theirs, f"{lib_fn}{dtypes}")


def test_cat_of_0d_tensors_raises_as_torch() -> None:
    with pytest.raises(RuntimeError, match="zero-dimensional tensor"):
        tg.cat([tg.tensor(1.0)])
    with pytest.raises(RuntimeError, match="zero-dimensional tensor"):
        torch.cat([torch.tensor(1.0)])


def test_integer_widths_are_kept_and_wrap() -> None:
    i32 = tg.tensor([1, 2], dtype=tg.int32)
    assert (i32 * 2).dtype == np.int32 and (2 * i32).dtype == np.int32
    u8 = tg.tensor([0, 1, 200], dtype=tg.uint8)
    np.testing.assert_array_equal((u8 - 1).numpy(), [255, 0, 199])
    np.testing.assert_array_equal((u8 + 256).numpy(), [0, 1, 200])
    np.testing.assert_array_equal((u8 < -1).numpy(), [True, True, True])  # -1 is 255 here
    for lib in (tg, torch):  # and what torch says
        t = lib.tensor(np.array([0, 1, 200], dtype=np.uint8))
        np.testing.assert_array_equal((t - 1).numpy(), [255, 0, 199])


CREATION = [[np.float64(1)], [np.float32(1), 2.0], [np.float16(1), 2], [np.float16(1), 2.0],
            [np.int32(1), 2], [np.uint8(1), 2], [np.int32(1), np.int32(2)], [True, 2],
            [[np.float64(1)], [2.0]], [1, 2.5], [], [[], []], 2.5, 3, True, np.float64(2.0),
            np.float32(2.0), np.int32(4), [np.bool_(True), 2.0]]


@pytest.mark.parametrize("data", CREATION, ids=repr)
def test_tensor_from_python_data_has_torchs_dtype(data: Any) -> None:
    same(outcome(lambda: tg.tensor(data)), outcome(lambda: torch.tensor(data)), repr(data))


# ----- float16: stored as float16, computed in float32, rounded once ----------------------
HALF = {
    "a + b": lambda a, b: a + b, "a - b": lambda a, b: a - b, "a * b": lambda a, b: a * b,
    "a / b": lambda a, b: a / b, "a * 0.1": lambda a, b: a * 0.1, "a + 0.1": lambda a, b: a + 0.1,
    "a - 1/3": lambda a, b: a - 1 / 3, "a / 0.3": lambda a, b: a / 0.3,
    "0.3 / a": lambda a, b: 0.3 / a, "0.1 * a": lambda a, b: 0.1 * a,
    "0.7 - a": lambda a, b: 0.7 - a, "a * 3001": lambda a, b: a * 3001,
    "a * 0-d float64": lambda a, b: a * (b[0] * 0 + 0.1).double(),
    "0-d float32 * a": lambda a, b: (b[0] * 0 + 0.1).float() * a,
    "a ** 2": lambda a, b: a ** 2, "|a| ** 1/3": lambda a, b: a.abs() ** (1 / 3),
    "maximum": lambda a, b: a.maximum(b), "clamp": lambda a, b: a.clamp(-0.1, 0.1),
    "a < 0.1": lambda a, b: a < 0.1, "where": lambda a, b: a.where(a > 0, 0.1),
}
HALF_ROUGH = {  # transcendental: float32 libraries differ in the last bit now and then
    "exp": lambda a, b: a.exp(), "log": lambda a, b: a.abs().log(),
    "sqrt": lambda a, b: a.abs().sqrt(), "tanh": lambda a, b: a.tanh(),
    "sigmoid": lambda a, b: a.sigmoid(), "sum": lambda a, b: a.sum(),
    "mean": lambda a, b: a.mean(), "var": lambda a, b: a.var(), "std": lambda a, b: a.std(),
    "softmax": lambda a, b: a.softmax(0), "log_softmax": lambda a, b: a.log_softmax(0),
    "logsumexp": lambda a, b: a.logsumexp(0),
}


@pytest.mark.parametrize("op", list(HALF) + list(HALF_ROUGH))
def test_float16_is_computed_in_float32_and_rounded_once(op: str) -> None:
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(2000).astype(np.float16) for _ in range(2))
    fn = HALF.get(op) or HALF_ROUGH[op]
    ours = outcome(lambda: fn(tg.tensor(a), tg.tensor(b)))
    theirs = outcome(lambda: fn(torch.tensor(a), torch.tensor(b)))
    same(ours, theirs, op, ulp=op in HALF_ROUGH)


@pytest.mark.parametrize("op", ["+", "*", "/", "sum", "exp", "tanh", "sigmoid", "softmax"])
def test_float16_gradients_stay_float16(op: str) -> None:
    fns = {"+": lambda a: a + a * 0.5, "*": lambda a: a * a, "/": lambda a: 1.0 / (a.abs() + 1),
           "sum": lambda a: a.sum(0) * a, "exp": lambda a: a.exp(), "tanh": lambda a: a.tanh(),
           "sigmoid": lambda a: a.sigmoid(), "softmax": lambda a: a.softmax(1)}
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float16)
    compare(fns[op], fns[op], [x], np.float16, double=False, rtol=2e-3, atol=1e-3)


# ----- integers through float ops -------------------------------------------------------
INT_TO_FLOAT = {
    "sigmoid": lambda lib, a: a.sigmoid(), "exp": lambda lib, a: a.exp(),
    "log": lambda lib, a: a.log(), "sqrt": lambda lib, a: a.sqrt(), "tanh": lambda lib, a: a.tanh(),
    "logsumexp": lambda lib, a: a.logsumexp(0), "/": lambda lib, a: a / 2,
    "rdiv": lambda lib, a: 2 / a, "* 0.5": lambda lib, a: a * 0.5,
    "clamp": lambda lib, a: a.clamp(0.5, 2.5), "clamp-int": lambda lib, a: a.clamp(0, 2),
    "** 0.5": lambda lib, a: a ** 0.5, "** 2": lambda lib, a: a ** 2,
    "2 ** a": lambda lib, a: 2 ** a, "2.0 ** a": lambda lib, a: 2.0 ** a,
    "** -1": lambda lib, a: a ** -1,
    "sum": lambda lib, a: a.sum(), "sum(dtype)": lambda lib, a: a.sum(0, dtype=lib.float64),
    "mean(dtype)": lambda lib, a: a.mean(dtype=lib.float64), "amax": lambda lib, a: a.amax(),
    "relu": lambda lib, a: a.relu(), "abs": lambda lib, a: a.abs(), "neg": lambda lib, a: -a,
    "square": lambda lib, a: a.square(), "maximum": lambda lib, a: a.maximum(a * 0),
    "mean": lambda lib, a: a.mean(), "var": lambda lib, a: a.var(), "std": lambda lib, a: a.std(1),
    "softmax": lambda lib, a: a.softmax(0), "log_softmax": lambda lib, a: a.log_softmax(-1),
    "softmax(dtype)": lambda lib, a: a.softmax(0, dtype=lib.float64),
    "~": lambda lib, a: ~a, "&": lambda lib, a: a & 1, "|": lambda lib, a: a | True,
}


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64"])
@pytest.mark.parametrize("op", INT_TO_FLOAT)
def test_integer_tensors_through_float_ops(op: str, dtype: str) -> None:
    arr = np.array([[1, 2, 0], [3, 1, 1]], dtype=dtype)
    fn = INT_TO_FLOAT[op]
    ours = outcome(lambda: fn(tg, tg.tensor(arr)))
    theirs = outcome(lambda: fn(torch, torch.tensor(arr)))
    assert ours[0] == theirs[0], f"{op}: ours {ours}, torch's {theirs}"
    if ours[0] == "ok":
        assert ours[1][0] == theirs[1][0], f"{op}: dtype {ours[1][0]}, torch's {theirs[1][0]}"
        np.testing.assert_allclose(ours[1][1].astype(float), theirs[1][1].astype(float),
                                   rtol=1e-6, equal_nan=True)
    else:
        assert ours[1] == theirs[1]


ERRORS = [("int32", "x.mean()"), ("uint8", "x.mean()"), ("int64", "x.var()"),
          ("int32", "x.std()"), ("int32", "x.var(1)"), ("int64", "x.softmax(0)"),
          ("int32", "x.softmax(1)"), ("bool", "x.log_softmax(1)"),
          ("int32", "x.mean(dtype=lib.int64)"), ("bool", "-x"), ("bool", "x - 1"),
          ("bool", "1.5 - x"), ("bool", "x - x"), ("bool", "x - True"), ("bool", "x.relu()"),
          ("bool", "x.abs()"), ("float32", "~x"), ("float32", "x & 1"),
          ("int32", "x ** -1"), ("float32", "x.reshape(()).size(0)")]


@pytest.mark.parametrize("dtype,expr", ERRORS, ids=[f"{d}: {e}" for d, e in ERRORS])
def test_errors_have_torchs_type_and_message(dtype: str, expr: str) -> None:
    arr = np.array([[1, 2], [3, 4]], dtype=dtype)[:1, :1] if "reshape" in expr else \
        np.array([[1, 2], [3, 4]], dtype=dtype)
    raised = []
    for lib in (tg, torch):
        with pytest.raises(Exception) as info:
            eval(expr, {"x": lib.tensor(arr), "lib": lib})
        raised.append((type(info.value), str(info.value)))
    assert raised[0] == raised[1]


# ----- gradients keep each input's dtype ------------------------------------------------------
MIXED = [("float32", "float64"), ("float64", "float32"), ("float16", "float32"),
         ("float32", "float16"), ("float64", "float16")]


@pytest.mark.parametrize("zero_d", [False, True], ids=["dims", "0-d"])
@pytest.mark.parametrize("dtypes", MIXED, ids=str)
@pytest.mark.parametrize("op", ["+", "-", "*", "/", "maximum", "where", "pow"])
def test_gradients_keep_each_inputs_dtype(op: str, dtypes: tuple[str, str], zero_d: bool) -> None:
    fns = {"+": lambda lib, a, b: a + b, "-": lambda lib, a, b: a - b,
           "*": lambda lib, a, b: a * b, "/": lambda lib, a, b: a / b,
           "maximum": lambda lib, a, b: lib.maximum(a, b),
           "where": lambda lib, a, b: lib.where(a > 0.5, a, b),
           "pow": lambda lib, a, b: a.abs() ** b}
    rng = np.random.default_rng(2)
    xs = [rng.uniform(0.5, 2, (2, 3)).astype(dtypes[0]),
          rng.uniform(0.5, 2, () if zero_d else (3,)).astype(dtypes[1])]
    results = []
    for lib in (torch, tg):
        ins = [lib.tensor(x, requires_grad=True) for x in xs]
        out = fns[op](lib, *ins)
        up = np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape))
        grads = lib.autograd.grad(out, ins, lib.tensor(up.astype(str(out.dtype).split(".")[-1])))
        results.append([(str(t.dtype).split(".")[-1], t.detach().numpy()) for t in [out, *grads]])
    for (dt_t, v_t), (dt_o, v_o) in zip(*results):
        assert dt_o == dt_t
        np.testing.assert_allclose(v_o.astype(float), v_t.astype(float), rtol=2e-3, atol=1e-4)


# ----- positional arguments in torch's order -------------------------------------------------
POSITIONAL = [
    "x.sum(1)", "x.sum(1, True)", "x.sum((0, 2), True)", "x.mean(1, True)", "x.mean((0, 1))",
    "x.var(1)", "x.var(1, False)", "x.var(1, False, True)", "x.var(2, True, True)",
    "x.var((0, 2), False)", "x.var(False)", "x.var(True)", "x.var(None, False)",
    "x.std(1, False)", "x.std(2, True, True)", "x.std(False)", "x.std((0, 1), False, True)",
    "x.max(1)", "x.max(1, True)", "x.min(0, True)", "x.max(y)", "x.amax(1)", "x.amax((0, 1), True)",
    "x.amin(2, True)", "x.argmax(1)", "x.argmax(1, True)", "x.argmin(2, True)", "x.argmax()",
    "x.clamp(-0.5, 0.5)", "x.clamp(None, 0.2)", "x.clamp(-0.1)", "x.clip(-0.5, 0.5)",
    "x.clamp(lo, hi)", "x.clamp(lo)", "x.clamp(None, hi)", "x.transpose(0, 2)",
    "x.permute(2, 0, 1)", "x.flatten(1)", "x.flatten(0, 1)", "x.unsqueeze(1)",
    "x.reshape(4, 6)", "x.view(6, 4)", "x.softmax(1)", "x.log_softmax(2)", "x.logsumexp(1)",
    "x.logsumexp(1, True)", "x.softmax(1, lib.float32)", "x.pow(2)", "x.maximum(y)",
    "x.minimum(y)", "x.where(x > 0, y)", "x.matmul(w)", "x.size(1)", "x.to(lib.float32)",
    "x.sum(1, True, dtype=lib.float32)", "x.mean(1, True, dtype=lib.float32)",
    "lib.sum(x, 1, True)", "lib.mean(x, (1, 2), True)", "lib.var(x, 1, False, True)",
    "lib.std(x, 1, False)", "lib.clamp(x, -0.5, 0.5)", "lib.clip(x, -0.5, 0.5)",
    "lib.transpose(x, 0, 1)", "lib.softmax(x, 1)", "lib.log_softmax(x, 1)",
    "lib.logsumexp(x, 2, True)", "lib.max(x, 1)", "lib.min(x, 2, True)", "lib.max(x, y)",
    "lib.argmax(x, 1, True)", "lib.argmin(x, 1)", "lib.amax(x, 1, True)", "lib.amin(x, 0)",
    "lib.flatten(x, 1)", "lib.flatten(x, 0, 1)", "lib.permute(x, (2, 0, 1))",
    "lib.reshape(x, (4, 6))", "lib.unsqueeze(x, 0)", "lib.squeeze(x[:1], 0)", "lib.pow(x, 2)",
    "lib.maximum(x, y)", "lib.minimum(x, y)", "lib.matmul(x, w)", "lib.where(x > 0, x, y)",
    "lib.cat([x, y], 1)", "lib.cat((x, y), -1)", "lib.stack([x, y], 2)", "lib.stack((x, y))",
    "lib.exp(x)", "lib.add(x, y)", "lib.mul(x, y)", "lib.div(x, y)", "lib.sub(x, y)",
    "lib.zeros(2, 3)", "lib.ones((2, 3))", "lib.full((2, 3), 1.5)", "lib.arange(1, 7, 2)",
    "lib.arange(5)", "lib.eye(3, 2)", "lib.zeros_like(x)", "lib.full_like(x, 2.0)",
]


@pytest.mark.parametrize("call", POSITIONAL)
def test_positional_arguments_are_in_torchs_order(call: str) -> None:
    """Every public method and function called with positional arguments in torch's
    documented order: the same values, dtypes and gradients as torch's."""
    rng = np.random.default_rng(3)
    arrays = {"x": rng.standard_normal((2, 3, 4)), "y": rng.standard_normal((2, 3, 4)),
              "w": rng.standard_normal((4, 2)), "lo": rng.uniform(-1, 0, (3, 4)),
              "hi": rng.uniform(0, 1, (4,))}
    results = []
    for lib in (torch, tg):
        env = {k: lib.tensor(v, requires_grad=True) for k, v in arrays.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = eval(call, {"lib": lib, **env})
        outs = list(out) if isinstance(out, tuple) else [out]  # (values, indices) too
        got = [o if not isinstance(o, (lib.Tensor)) else
               (str(o.dtype).removeprefix("torch."), o.detach().numpy()) for o in outs]
        first = outs[0]
        if isinstance(first, lib.Tensor) and first.requires_grad:
            ins = [t for t in env.values()]
            grads = lib.autograd.grad((first * lib.tensor(np.linspace(0.5, 2, first.numel()))
                                       .reshape(tuple(first.shape)).to(first.dtype)).sum(),
                                      ins, allow_unused=True)
            got += [None if g is None else g.detach().numpy() for g in grads]
        results.append(got)
    theirs, ours = results
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        if isinstance(t, tuple):
            assert o[0] == t[0], f"{call}: dtype {o[0]}, torch's {t[0]}"
            np.testing.assert_allclose(o[1], t[1], rtol=1e-4, atol=1e-6, err_msg=call)
        elif isinstance(t, np.ndarray) or isinstance(o, np.ndarray):
            zero = np.zeros_like(o if o is not None else t)
            np.testing.assert_allclose(zero if o is None else o, zero if t is None else t,
                                       rtol=1e-4, atol=1e-6, err_msg=f"{call}: gradient")
        else:
            assert o == t, call


def test_size_of_a_0d_tensor_raises_as_torch() -> None:
    for lib in (tg, torch):
        with pytest.raises(IndexError, match="Dimension specified as 0 but tensor has no "
                                             "dimensions"):
            lib.tensor(1.0).size(0)


# ----- var and std: one node each, torch's backward (double backward too) -------------------
MOMENTS = ["a.var()", "a.var(1)", "a.var(0, False, True)", "a.var(correction=2)",
           "a.var((0, 1), keepdim=True, correction=0)", "a.std()", "a.std(1, False)",
           "a.std(0, True, True)", "a.std(correction=0)", "a.var(unbiased=False)"]


@pytest.mark.parametrize("shape", [(3, 4), (1, 4), (1, 1), (2, 1)], ids=str)
@pytest.mark.parametrize("call", MOMENTS)
def test_var_and_std_match_torch_to_the_second_derivative(call: str, shape: tuple) -> None:
    """Including n <= correction, where torch's gradient is inf or nan and its second
    derivative 0 (over the whole tensor: the gradient has no graph) or nan (over dims)."""
    x = np.random.default_rng(4).standard_normal(shape)
    fn = eval(f"lambda a: {call}")
    compare(fn, fn, [x], np.float64)
    compare(fn, fn, [np.full(shape, 0.25)], np.float64)  # constant: std's gradient is 0


def test_var_and_std_are_single_nodes() -> None:
    x = tg.randn(3, 4, requires_grad=True)
    for name in ("var", "std"):
        out = getattr(x, name)(1, False)
        assert out.op == name and out.parents == (x,)
    assert tg.gradgradcheck(lambda a: a.std(1, keepdim=True) * a.var(0, keepdim=True),
                            [tg.randn(3, 4, dtype=tg.float64, requires_grad=True)])


# ----- grad mode: torch's set_grad_enabled, no_grad and enable_grad -----------------------------
def _grad_mode_program(lib: Any) -> list[bool]:
    """The grad mode seen at each step of a program that uses every form."""
    seen = []
    x = lib.ones(2, requires_grad=True)
    seen.append((x * 2).requires_grad)
    lib.set_grad_enabled(False)  # a plain call: takes effect at once
    seen.append((x * 2).requires_grad)
    lib.set_grad_enabled(True)
    seen.append((x * 2).requires_grad)
    with lib.set_grad_enabled(False):
        seen.append((x * 2).requires_grad)
    seen.append((x * 2).requires_grad)

    @lib.set_grad_enabled(False)
    def off() -> bool:
        return (x * 2).requires_grad

    seen.append(lib.is_grad_enabled())  # decorating changed nothing
    seen += [off(), lib.is_grad_enabled()]

    @lib.no_grad  # no parentheses
    def bare() -> bool:
        return (x * 2).requires_grad

    @lib.no_grad()
    def gen() -> Any:
        seen.append(lib.is_grad_enabled())  # inside the body: off
        received = yield 1
        seen.append(lib.is_grad_enabled())
        seen.append(received)
        try:
            yield 2
        except ValueError:
            seen.append(("caught", lib.is_grad_enabled()))
            yield 3
        return 4

    seen.append(bare())
    g = gen()
    seen.append(next(g))
    seen.append(lib.is_grad_enabled())  # between yields: the caller's mode
    seen.append(g.send("sent"))
    seen.append(g.throw(ValueError("in")))
    with pytest.raises(StopIteration) as stop:
        next(g)
    seen.append(stop.value.value)

    @lib.enable_grad
    def on() -> Any:
        yield lib.is_grad_enabled()

    with lib.no_grad():
        seen.append(list(on()))
        seen.append(lib.is_grad_enabled())
        with lib.enable_grad():
            seen.append((x * 2).requires_grad)
    seen.append(lib.is_grad_enabled())
    return seen


def test_grad_mode_forms_match_torch() -> None:
    assert _grad_mode_program(tg) == _grad_mode_program(torch)


def test_grad_mode_is_per_thread() -> None:
    import threading

    seen = []
    tg.set_grad_enabled(False)
    try:
        t = threading.Thread(target=lambda: seen.append(tg.is_grad_enabled()))
        t.start()
        t.join()
        assert seen == [True] and not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)


# ----- pow's higher derivatives, gradients at NaN, inf and ties --------------------------------
def _derivatives(lib: Any, fn: Callable[[Any], Any], x: np.ndarray, order: int) -> list[Any]:
    t = lib.tensor(x, requires_grad=True)
    y, out = fn(t), []
    for _ in range(order):
        if not y.requires_grad:  # a constant gradient: every higher derivative is 0
            out.append(np.zeros_like(x))
            continue
        (y,) = lib.autograd.grad(y.sum(), [t], create_graph=True, allow_unused=True)
        y = y if y is not None else lib.tensor(np.zeros_like(x))
        out.append(y.detach().numpy().copy())
    return out


POWERS = {"x ** 0.0": lambda a: a ** 0.0, "x ** 0": lambda a: a ** 0,
          "x ** 1.0": lambda a: a ** 1.0, "x ** 2": lambda a: a ** 2,
          "x ** 3.0": lambda a: a ** 3.0, "x ** 0.5": lambda a: a ** 0.5,
          "x ** -1": lambda a: a ** -1, "2.0 ** x": lambda a: 2.0 ** a,
          "0.0 ** x": lambda a: 0.0 ** a, "x ** x": lambda a: a ** a}


@pytest.mark.parametrize("op", POWERS)
def test_pow_derivatives_to_third_order_match_torch(op: str) -> None:
    x = np.array([0.0, 1.5, -2.0, 0.25])
    with np.errstate(all="ignore"):
        ours = _derivatives(tg, POWERS[op], x, 3)
    theirs = _derivatives(torch, POWERS[op], x, 3)
    for order, (o, t) in enumerate(zip(ours, theirs), 1):
        np.testing.assert_allclose(o, t, rtol=1e-12, equal_nan=True, err_msg=f"{op}: order {order}")


SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, np.nan, 2.0])
OTHER = np.array([1.0, np.nan, np.inf, 0.0, 0.0, 1.0, np.nan, np.nan, -np.inf])
AT_SPECIAL = {
    "relu": lambda lib, a, b: a.relu(), "abs": lambda lib, a, b: a.abs(),
    "maximum": lambda lib, a, b: lib.maximum(a, b), "minimum": lambda lib, a, b: lib.minimum(a, b),
    "max(dim)": lambda lib, a, b: lib.stack([a, b]).amax(0),
    "clamp": lambda lib, a, b: a.clamp(-1.0, 1.0), "clamp(tensor)": lambda lib, a, b: a.clamp(b),
    "sigmoid": lambda lib, a, b: a.sigmoid(), "tanh": lambda lib, a, b: a.tanh(),
    "where": lambda lib, a, b: lib.where(a > 0, a, b), "sqrt": lambda lib, a, b: a.sqrt(),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", AT_SPECIAL)
def test_gradients_at_nan_inf_and_ties_match_torch(op: str, dtype: str) -> None:
    """NaN, +-inf, signed zeros and ties as inputs, and an upstream gradient with inf in
    it: the values and each input's gradient are torch's, NaN for NaN."""
    up = np.array([1.0, 2.0, -1.0, 0.5, 1.5, -2.0, 1.0, 3.0, np.inf])
    results = []
    for lib in (torch, tg):
        a, b = (lib.tensor(v.astype(dtype), requires_grad=True) for v in (SPECIAL, OTHER))
        with np.errstate(all="ignore"):
            out = AT_SPECIAL[op](lib, a, b)
            grads = lib.autograd.grad(out, [a, b], lib.tensor(up.astype(dtype)),
                                      allow_unused=True)
        results.append([out.detach().numpy()] + [np.zeros(9) if g is None else g.numpy()
                                                 for g in grads])
    for what, t, o in zip(("value", "grad a", "grad b"), *results):
        np.testing.assert_allclose(o, t, rtol=1e-6, atol=0, equal_nan=True,
                                   err_msg=f"{op} {what}")


def test_gradcheck_restores_its_input_when_the_function_raises() -> None:
    x = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    calls = []

    def fails_on_second_call(t: tg.Tensor) -> tg.Tensor:
        calls.append(1)
        if len(calls) > 1:
            raise ValueError("boom")
        return t * 2

    with pytest.raises(ValueError, match="boom"):
        tg.gradcheck(fails_on_second_call, [x])
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])

