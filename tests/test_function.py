"""Custom ops (``tinygrad_ce.autograd.Function``) against torch's ``torch.autograd.Function``:
the same Functions, written once and built for both libraries, compared on values, gradients
and second derivatives; torch's ctx API; errors; the version check; the graph picture."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pygraphviz
import pytest
import torch

import tinygrad_ce as tg
from tests.helpers import assert_close, compare, tol
from tinygrad_ce.autograd import Function, once_differentiable
from tinygrad_ce.viz import draw_graph
from tinygrad_ce.viz.dot import COLORS

DTYPES = [np.float32, np.float64]


def build(base: type, lib: Any) -> SimpleNamespace:
    """The test Functions, one source for both libraries: ``base`` is the Function class and
    ``lib`` the module (torch or tinygrad_ce); the bodies use methods both Tensors share."""

    class Exp(base):  # type: ignore[valid-type, misc]
        @staticmethod
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            result = x.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):  # type: ignore[no-untyped-def]
            (result,) = ctx.saved_tensors
            return grad_output * result

    class Linear(base):  # type: ignore[valid-type, misc]
        @staticmethod
        def forward(ctx, x, w, b):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(x, w)
            return x @ w.T + b

        @staticmethod
        def backward(ctx, g):  # type: ignore[no-untyped-def]
            x, w = ctx.saved_tensors
            gx = g @ w if ctx.needs_input_grad[0] else None
            gw = g.T @ x if ctx.needs_input_grad[1] else None
            gb = g.sum(0) if ctx.needs_input_grad[2] else None
            return gx, gw, gb

    class CrossEntropy(base):  # type: ignore[valid-type, misc]
        """The seed's cross-entropy: mean of logsumexp - the target's logit; gradient
        (softmax - onehot) / N."""

        @staticmethod
        def forward(ctx, logits, target):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(logits, target)
            n = logits.shape[0]
            return (logits.logsumexp(1) - logits[lib.arange(n), target]).mean()

        @staticmethod
        def backward(ctx, g):  # type: ignore[no-untyped-def]
            logits, target = ctx.saved_tensors
            n, c = logits.shape
            onehot = lib.eye(c, dtype=logits.dtype)[target]
            return (logits.softmax(1) - onehot) / n * g, None

    class MulAndSquares(base):  # type: ignore[valid-type, misc]
        """Two outputs of different shapes: x * y and sum(x^2) per row."""

        @staticmethod
        def forward(ctx, x, y):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(x, y)
            return x * y, (x * x).sum(1)

        @staticmethod
        def backward(ctx, g_prod, g_sq):  # type: ignore[no-untyped-def]
            x, y = ctx.saved_tensors
            return g_prod * y + 2 * x * g_sq.reshape(-1, 1), g_prod * x

    return SimpleNamespace(Exp=Exp, Linear=Linear, CrossEntropy=CrossEntropy,
                           MulAndSquares=MulAndSquares)


OURS = build(Function, tg)
THEIRS = build(torch.autograd.Function, torch)
TARGET = np.array([2, 0, 1, 2])


def cases() -> dict[str, tuple[list[tuple[int, ...]], Any]]:
    """name: (input shapes, fn(lib_functions, lib, *inputs) -> one tensor)."""
    return {
        "exp": ([(3, 4)], lambda f, lib, x: f.Exp.apply(x)),
        "linear": ([(4, 3), (5, 3), (5,)], lambda f, lib, x, w, b: f.Linear.apply(x, w, b)),
        "cross_entropy": ([(4, 3)], lambda f, lib, x: f.CrossEntropy.apply(
            x, lib.tensor(TARGET))),
        # both outputs used, each non-linearly
        "two_outputs": ([(4, 3), (4, 3)], lambda f, lib, x, y: (
            lambda a, b: (a * a).sum() + (b * b).sum())(*f.MulAndSquares.apply(x, y))),
        "first_output_only": ([(4, 3), (4, 3)], lambda f, lib, x, y: (
            f.MulAndSquares.apply(x, y)[0] ** 2)),
        "second_output_only": ([(4, 3), (4, 3)], lambda f, lib, x, y: (
            f.MulAndSquares.apply(x, y)[1] ** 2)),
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(cases()))
def test_values_gradients_and_second_derivatives_match_torch(name: str, dtype: Any) -> None:
    shapes, fn = cases()[name]
    arrays = [a.astype(dtype) for a in
              (np.random.default_rng(3).standard_normal(s) for s in shapes)]
    compare(lambda *t: fn(THEIRS, torch, *t), lambda *t: fn(OURS, tg, *t), arrays, dtype,
            what=name)


@pytest.mark.parametrize("name", list(cases()))
def test_gradcheck_and_gradgradcheck(name: str) -> None:
    shapes, fn = cases()[name]
    rng = np.random.default_rng(4)
    xs = [tg.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert tg.gradcheck(lambda *t: fn(OURS, tg, *t), xs)
    assert tg.gradgradcheck(lambda *t: fn(OURS, tg, *t), xs)
    # the check can fail: the same op with a backward off by a factor
    wrong = build(Function, tg)
    wrong.Exp.backward = staticmethod(lambda ctx, g: 1.01 * g * ctx.saved_tensors[0])
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        tg.gradcheck(wrong.Exp.apply, [xs[0]])


def pair(arrays: list[np.ndarray], requires: list[bool] | None = None
         ) -> tuple[list[tg.Tensor], list[torch.Tensor]]:
    requires = requires or [True] * len(arrays)
    return ([tg.Tensor(a, requires_grad=r) for a, r in zip(arrays, requires)],
            [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, requires)])


# ----- ctx: what forward and backward see, as in torch --------------------------------------
def recording(base: type) -> tuple[type, list[Any]]:
    """A Function that writes down what its ctx says and which gradients backward gets."""
    seen: list[Any] = []

    class Probe(base):  # type: ignore[valid-type, misc]
        @staticmethod
        def forward(ctx, x, k, y, scale=1.0):  # type: ignore[no-untyped-def]
            seen.append(("needs_input_grad", ctx.needs_input_grad))
            ctx.k = k
            return x * scale, (y * k).sum(), int(k)

        @staticmethod
        def backward(ctx, ga, gb, gc):  # type: ignore[no-untyped-def]
            seen.append(("grads", [None if g is None else g.numpy().tolist() for g in (ga, gb)],
                         gc))
            return ga * 1.0, None, ctx.k * gb.expand(3) if gb is not None else None, None

    return Probe, seen


@pytest.mark.parametrize("use", ["first", "second", "both"])
def test_needs_input_grad_attributes_kwargs_several_outputs_and_unused_ones(use: str) -> None:
    (xo, yo), (xt, yt) = pair([np.arange(3.0), np.ones(3)], [True, False])
    results = []
    for (x, y), base in (((xo, yo), Function), ((xt, yt), torch.autograd.Function)):
        probe, seen = recording(base)
        a, b, c = probe.apply(x, 2, y, scale=3.0)
        assert c == 2
        loss = {"first": a.sum(), "second": a.sum() * 0 + b, "both": a.sum() + b}[use]
        loss.backward()
        results.append((seen, x.grad.numpy().tolist(), a.requires_grad, b.requires_grad))
    assert results[0] == results[1]


@pytest.mark.parametrize("materialize", [True, False])
def test_set_materialize_grads_and_non_differentiable_outputs(materialize: bool) -> None:
    def build_op(base: type) -> tuple[type, list[Any]]:
        seen: list[Any] = []

        class Op(base):  # type: ignore[valid-type, misc]
            @staticmethod
            def forward(ctx, x):  # type: ignore[no-untyped-def]
                ctx.set_materialize_grads(materialize)
                mask = x > 0
                doubled = x * 2
                ctx.mark_non_differentiable(doubled)
                return x.exp(), x.sum(), doubled, mask

            @staticmethod
            def backward(ctx, ga, gb, gc, gd):  # type: ignore[no-untyped-def]
                seen.append([None if g is None else
                             (g.numpy().tolist(), str(g.dtype).split(".")[-1])
                             for g in (ga, gb, gc, gd)])
                return ga if ga is not None else gb.expand(2)
        return Op, seen

    (xo,), (xt,) = pair([np.array([0.5, -1.0])])
    outs = []
    for x, base in ((xo, Function), (xt, torch.autograd.Function)):
        op, seen = build_op(base)
        a, b, c, d = op.apply(x)
        outs.append((c.requires_grad, d.requires_grad, str(d.dtype).endswith("bool")))
        b.backward()
        outs.append((seen, x.grad.numpy().tolist()))
    assert outs[0] == outs[2] and outs[1] == outs[3]


def test_forward_runs_without_recording_and_outputs_join_the_graph_only_when_needed() -> None:
    class Probe(Function):
        @staticmethod
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            assert not tg.is_grad_enabled()
            return x * 2

        @staticmethod
        def backward(ctx, g):  # type: ignore[no-untyped-def]
            return g * 2

    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    assert Probe.apply(x).requires_grad and Probe.apply(x).op == "Probe"
    with tg.no_grad():
        assert not Probe.apply(x).requires_grad
    assert not Probe.apply(tg.Tensor([1.0])).requires_grad


def test_new_style_setup_context_matches_torch() -> None:
    def build_op(base: type) -> type:
        class Cube(base):  # type: ignore[valid-type, misc]
            @staticmethod
            def forward(x):  # type: ignore[no-untyped-def]
                return x ** 3

            @staticmethod
            def setup_context(ctx, inputs, output):  # type: ignore[no-untyped-def]
                (x,) = inputs
                ctx.save_for_backward(x)

            @staticmethod
            def backward(ctx, g):  # type: ignore[no-untyped-def]
                (x,) = ctx.saved_tensors
                return 3 * x * x * g
        return Cube

    compare(lambda x: build_op(torch.autograd.Function).apply(x),
            lambda x: build_op(Function).apply(x), [np.array([0.5, -1.5, 2.0])])


# ----- backward in numpy; once_differentiable ---------------------------------------------
class NumpyTanh(Function):
    """A layer as the people this is for write it: numpy in, numpy out."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        y = np.tanh(x.numpy())
        ctx.y = y
        return tg.Tensor(y)

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        return g.numpy() * (1 - ctx.y ** 2)  # d/dx tanh x = 1 - tanh^2 x


class OnceExp(Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        r = x.exp()
        ctx.save_for_backward(r)
        return r

    @staticmethod
    @once_differentiable
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        assert not tg.is_grad_enabled()
        return g * ctx.saved_tensors[0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_numpy_backward_gives_first_derivatives_like_torch(dtype: Any) -> None:
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(dtype)
    compare(torch.tanh, NumpyTanh.apply, [a], dtype, double=False)
    compare(torch.exp, OnceExp.apply, [a], dtype, double=False)


@pytest.mark.parametrize("op, message", [
    (NumpyTanh, "NumpyTanh.backward returned numpy arrays, which are not differentiable"),
    (OnceExp, "differentiate twice a function that was marked with @once_differentiable"),
])
def test_a_second_derivative_through_a_numpy_backward_says_why_it_cant(op: type,
                                                                      message: str) -> None:
    x = tg.Tensor([0.5, -0.2], requires_grad=True)
    (g,) = tg.autograd.grad(op.apply(x).sum(), x, create_graph=True)
    xt = torch.tensor([0.5, -0.2], requires_grad=True)
    (xt.tanh() if op is NumpyTanh else xt.exp()).sum().backward()
    assert_close(g, xt.grad, np.float32)
    with pytest.raises(RuntimeError, match=message):
        tg.autograd.grad(g.sum(), x)
    # without create_graph nothing is recorded for it
    (g,) = tg.autograd.grad(op.apply(x).sum(), x)
    assert not g.requires_grad


# ----- errors: named after the Function and the input ---------------------------------------
def returning(value: Any, nargs: int = 1) -> type:
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, k=2):  # type: ignore[no-untyped-def]
            return x * 2

        @staticmethod
        def backward(ctx, g):  # type: ignore[no-untyped-def]
            return value(g)
    return Bad


@pytest.mark.parametrize("grads, message", [
    (lambda g: (g, g), r"function Bad.backward returned an incorrect number of gradients "
                       r"\(expected 1, got 2\)"),
    (lambda g: (), r"incorrect number of gradients \(expected 1, got 0\)"),
    (lambda g: g[:2], r"Function Bad returned an invalid gradient for input 0 \(x\) - got \[2\] "
                      r"but expected shape compatible with \[3\]"),
    (lambda g: "a", r"function Bad.backward returned a str for input 0 \(x\)"),
])
def test_wrong_gradients_name_the_function_and_the_input(grads: Any, message: str) -> None:
    x = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = returning(grads).apply(x).sum()
    with pytest.raises(RuntimeError, match=message):
        y.backward()
    assert x.grad is None


def test_a_gradient_for_a_value_that_is_not_a_tensor_is_refused_as_torch_does() -> None:
    x = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"different than None for input 1 \(k\)"):
        returning(lambda g: (g, g)).apply(x, 2).sum().backward()
    # extra Nones, broadcastable gradients (summed, as torch's sum_to) are accepted
    returning(lambda g: (g, None, None)).apply(x).sum().backward()
    x.grad = None
    returning(lambda g: g.reshape(1, 3).expand(2, 3)).apply(x).sum().backward()
    assert_close(x.grad, np.full(3, 2.0))


def test_bad_definitions_and_forward_outputs() -> None:
    x = tg.Tensor([1.0], requires_grad=True)

    class NotStatic(Function):
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            return x

    with pytest.raises(RuntimeError, match="NotStatic.forward must be a @staticmethod"):
        NotStatic.apply(x)
    with pytest.raises(RuntimeError, match=r"called through its class: Exp.apply\(...\)"):
        OURS.Exp()(x)

    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            return x * 1

    y = NoBackward.apply(x)
    with pytest.raises(NotImplementedError, match="must implement either the backward"):
        y.backward()

    class ReturnsArray(Function):
        @staticmethod
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            return x.numpy() * 2

    with pytest.raises(TypeError, match=r"ReturnsArray.forward returned a numpy array .*"
                                        r"return Tensor\(array\)"):
        ReturnsArray.apply(x)

    class SavesInt(Function):
        @staticmethod
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(x, 3)
            return x

    with pytest.raises(TypeError, match="argument 1 is of type int"):
        SavesInt.apply(x)


# ----- saved tensors and in-place changes (torch's version check) ---------------------------
def test_changing_a_saved_output_in_place_makes_backward_refuse_as_torch() -> None:
    for lib, f in ((tg, OURS), (torch, THEIRS)):
        x = lib.tensor([0.5, 1.0], requires_grad=True)
        y = f.Exp.apply(x)
        with lib.no_grad():
            y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_changing_an_input_that_was_not_saved_is_fine_as_in_torch() -> None:
    grads = []
    for lib, f in ((tg, OURS), (torch, THEIRS)):
        x = lib.tensor([0.5, 1.0], requires_grad=True)
        h = x * 1
        y = f.Exp.apply(h)  # saves its output, not its input
        with lib.no_grad():
            h.mul_(2)
        y.sum().backward()
        grads.append(x.grad.numpy().tolist())
    assert grads[0] == pytest.approx(grads[1])


def test_changing_a_saved_input_or_a_saved_output_of_several_refuses_as_torch() -> None:
    for lib, f in ((tg, OURS), (torch, THEIRS)):
        x = lib.tensor([[0.5, 1.0]], requires_grad=True)
        h = x * 1
        a, b = f.MulAndSquares.apply(h, x)
        with lib.no_grad():
            h.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            (a.sum() + b.sum()).backward()


def test_a_saved_output_of_several_comes_back_connected_and_checked() -> None:
    def build_op(base: type) -> type:
        class TanhExp(base):  # type: ignore[valid-type, misc]
            @staticmethod
            def forward(ctx, x):  # type: ignore[no-untyped-def]
                t, e = x.tanh(), x.exp()
                ctx.save_for_backward(t, e)
                return t, e

            @staticmethod
            def backward(ctx, gt, ge):  # type: ignore[no-untyped-def]
                t, e = ctx.saved_tensors
                return gt * (1 - t * t) + ge * e
        return TanhExp

    def loss(op: type) -> Any:
        return lambda x: (lambda s, c: (s * c * c).sum())(*op.apply(x))

    compare(lambda x: loss(build_op(torch.autograd.Function))(x),
            lambda x: loss(build_op(Function))(x), [np.array([0.3, -1.2, 2.0])])
    for lib, base in ((tg, Function), (torch, torch.autograd.Function)):
        s, c = build_op(base).apply(lib.tensor([0.3], requires_grad=True))
        with lib.no_grad():
            c.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            s.sum().backward()


def test_backward_twice_needs_retain_graph() -> None:
    x = tg.Tensor([0.5], requires_grad=True)
    y = OURS.Exp.apply(x)
    y.backward(retain_graph=True)
    y.backward()
    assert_close(x.grad, 2 * np.exp([0.5]), np.float32)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


# ----- the picture: one fused node named after the class ------------------------------------
def test_a_function_is_drawn_as_one_fused_node_with_its_class_name() -> None:
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    loss = OURS.CrossEntropy.apply(OURS.Exp.apply(x), tg.tensor(TARGET))
    a = pygraphviz.AGraph(string=draw_graph(loss).source)
    ops = [n for n in a.nodes() if n.attr.get("shape") == "box"
           and "fused" in (n.attr.get("tooltip") or "") + (n.attr.get("label") or "")]
    labels = [n.attr["label"] for n in ops]
    assert len(ops) == 2, labels
    assert any("CrossEntropy" in s for s in labels) and any("Exp" in s for s in labels)
    for n in ops:
        assert n.attr["fillcolor"] == COLORS["fused"][0] and "bold" in n.attr["style"]


def test_dtypes_are_kept() -> None:
    for dtype in DTYPES:
        x = tg.Tensor(np.ones(3, dtype), requires_grad=True)
        y = NumpyTanh.apply(x)
        y.sum().backward()
        assert y.dtype == dtype and x.grad.dtype == dtype
        assert_close(x.grad, 1 - np.tanh(np.ones(3)) ** 2, dtype, **tol(dtype))


def test_only_the_numpy_gradients_refuse_a_second_derivative() -> None:
    class Half(Function):
        """x * y; the gradient for x in numpy, the one for y with Tensor ops."""

        @staticmethod
        def forward(ctx, x, y):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, g):  # type: ignore[no-untyped-def]
            x, y = ctx.saved_tensors
            return g.numpy() * y.numpy(), g * x

    x, y = tg.Tensor([0.5, 2.0], requires_grad=True), tg.Tensor([1.5, -1.0], requires_grad=True)
    gx, gy = tg.autograd.grad((Half.apply(x, y) ** 2).sum(), [x, y], create_graph=True)
    xt, yt = torch.tensor([0.5, 2.0], requires_grad=True), torch.tensor([1.5, -1.0],
                                                                        requires_grad=True)
    gxt, gyt = torch.autograd.grad(((xt * yt) ** 2).sum(), [xt, yt], create_graph=True)
    assert_close(gx, gxt, np.float32)
    (ours,) = tg.autograd.grad(gy.sum(), x, retain_graph=True)
    assert_close(ours, torch.autograd.grad(gyt.sum(), xt)[0], np.float32)
    with pytest.raises(RuntimeError, match="Half.backward returned numpy arrays"):
        tg.autograd.grad(gx.sum(), y)


def test_an_output_that_is_an_input_or_its_view_gradient_reversal() -> None:
    def build_op(base: type) -> type:
        class ReverseGradient(base):  # type: ignore[valid-type, misc]
            @staticmethod
            def forward(ctx, x, same):  # type: ignore[no-untyped-def]
                return x if same else x.view(x.shape)

            @staticmethod
            def backward(ctx, g):  # type: ignore[no-untyped-def]
                return -g, None
        return ReverseGradient

    for same in (True, False):
        compare(lambda x: build_op(torch.autograd.Function).apply(x * x, same),  # noqa: B023
                lambda x: build_op(Function).apply(x * x, same), [np.array([0.5, -1.5, 2.0])])  # noqa: B023
    # the output has memory of its own: a write through it leaves the input's saved values be
    x = tg.Tensor([0.5, -1.5], requires_grad=True)
    h = x.exp()
    y = build_op(Function).apply(h, True)
    with tg.no_grad():
        y.mul_(3)
    h.sum().backward()
    assert_close(x.grad, np.exp([0.5, -1.5]), np.float32)
