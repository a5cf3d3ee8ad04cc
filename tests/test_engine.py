"""The engine against torch: accumulation, graph shapes, grad modes, freeing, errors."""

from __future__ import annotations

import gc
import sys
import threading
import time

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
from tests.helpers import assert_close


def both(values: list[float]) -> tuple[tg.Tensor, torch.Tensor]:
    return (tg.tensor(values, dtype=tg.float64, requires_grad=True),
            torch.tensor(values, dtype=torch.float64, requires_grad=True))


def test_diamond_and_reuse() -> None:
    # y = x*x + x: x used three times; a diamond through two branches
    def f(x):  # type: ignore[no-untyped-def]
        a = x * x + x
        b, c = a.exp(), a.tanh()
        return (b * c + a).sum()

    x, xt = both([0.3, -0.2, 0.5])
    f(x).backward()
    f(xt).backward()
    assert_close(x.grad, xt.grad)


def test_value_used_many_times() -> None:
    x, xt = both([0.7])
    y, yt = x, xt
    for _ in range(50):
        y = y * x + x
        yt = yt * xt + xt
    y.sum().backward()
    yt.sum().backward()
    assert_close(x.grad, xt.grad)


def test_gradients_accumulate_over_backward_calls_and_zero() -> None:
    x, xt = both([1.0, 2.0])
    for _ in range(2):
        (x * x).sum().backward()
        (xt * xt).sum().backward()
    assert_close(x.grad, xt.grad)
    x.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_leaf_grads_never_share_memory() -> None:
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    g = tg.tensor([1.0, 1.0])
    (a + b).backward(g)
    a.grad.zero_()
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(g.numpy(), [1.0, 1.0])


def test_non_leaf_grad_is_none_unless_retained() -> None:
    x, xt = both([1.0, 2.0])
    h, ht = x * 2, xt * 2
    r, rt = h * h, ht * ht
    h.retain_grad()
    ht.retain_grad()
    r.sum().backward()
    rt.sum().backward()
    assert r.grad is None and not rt.retains_grad  # torch keeps no .grad there either
    assert h.retains_grad and not r.retains_grad
    assert_close(h.grad, ht.grad)
    assert not h.is_leaf and x.is_leaf


def test_non_scalar_output_needs_gradient() -> None:
    x, xt = both([1.0, 2.0])
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    (x * x).backward(gradient=tg.tensor([1.0, 10.0], dtype=tg.float64))
    (xt * xt).backward(gradient=torch.tensor([1.0, 10.0], dtype=torch.float64))
    assert_close(x.grad, xt.grad)
    with pytest.raises(RuntimeError, match=r"shape"):
        (x * x).backward(gradient=tg.tensor([1.0, 2.0, 3.0]))


def test_backward_on_tensor_without_grad_raises() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.tensor(1.0).backward()


def test_second_backward_through_freed_graph_raises() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    first = x.grad.numpy().copy()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), first)  # the failed call changed nothing


def test_retain_graph_allows_second_backward() -> None:
    x, xt = both([1.0, 2.0])
    y, yt = (x.exp() * x).sum(), (xt.exp() * xt).sum()
    y.backward(retain_graph=True)
    y.backward()
    yt.backward(retain_graph=True)
    yt.backward()
    assert_close(x.grad, xt.grad)


def test_no_grad_records_nothing_and_is_a_decorator() -> None:
    x = tg.tensor([1.0], requires_grad=True)
    with tg.no_grad():
        y = x * 2
        with tg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.is_leaf and z.requires_grad

    @tg.no_grad()
    def f(t: tg.Tensor) -> tg.Tensor:
        return t * 3

    assert not f(x).requires_grad
    assert tg.is_grad_enabled()


def test_no_grad_is_thread_local() -> None:
    x = tg.tensor([1.0], requires_grad=True)
    seen: dict[str, bool] = {}
    ready = threading.Event()
    go_on = threading.Event()

    def recorder() -> None:
        ready.wait()
        seen["other thread"] = (x * 2).requires_grad
        go_on.set()

    t = threading.Thread(target=recorder)
    t.start()
    with tg.no_grad():
        ready.set()
        go_on.wait()
        seen["this thread"] = (x * 2).requires_grad
    t.join()
    assert seen == {"other thread": True, "this thread": False}


def test_detach_shares_data_and_cuts_graph() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    y = (x * d).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_autograd_grad_semantics() -> None:
    x, xt = both([0.5, 1.5])
    w, wt = both([2.0, -1.0])
    u, ut = both([1.0, 1.0])
    y, yt = (x * w).exp().sum(), (xt * wt).exp().sum()
    gx, gw = tg.autograd.grad(y, [x, w])
    gxt, gwt = torch.autograd.grad(yt, [xt, wt])
    assert_close(gx, gxt)
    assert_close(gw, gwt)
    assert x.grad is None and w.grad is None  # grad() leaves .grad alone
    with pytest.raises(RuntimeError, match="not used"):
        tg.autograd.grad((x * 2).sum(), [x, u])
    gx2, gu = tg.autograd.grad((x * 2).sum(), [x, u], allow_unused=True)
    assert gu is None
    # gradient with respect to an intermediate
    h = x * w
    (gh,) = tg.autograd.grad((h * h).sum(), h)
    assert_close(gh, 2 * (xt * wt))


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_higher_order_hessian_vector_product_and_gradient_penalty() -> None:
    x, xt = both([0.3, -0.8, 1.1])
    v = [0.5, -1.0, 2.0]

    def f(t):  # type: ignore[no-untyped-def]
        return (t.tanh() * t * t).sum() + (t.sigmoid() * t.exp()).sum()

    (g,) = tg.autograd.grad(f(x), x, create_graph=True)
    (gt,) = torch.autograd.grad(f(xt), xt, create_graph=True)
    (hv,) = tg.autograd.grad((g * tg.tensor(v, dtype=tg.float64)).sum(), x)
    (hvt,) = torch.autograd.grad((gt * torch.tensor(v, dtype=torch.float64)).sum(), xt)
    assert_close(hv, hvt)
    # third order, through backward(create_graph=True) and .grad
    x2, xt2 = both([0.3, -0.8, 1.1])
    (x2 ** 4).sum().backward(create_graph=True)
    (xt2 ** 4).sum().backward(create_graph=True)
    assert x2.grad.requires_grad
    (g2,) = tg.autograd.grad(x2.grad.sum(), x2, create_graph=True)
    (g2t,) = torch.autograd.grad(xt2.grad.sum(), xt2, create_graph=True)
    (g3,) = tg.autograd.grad(g2.sum(), x2)
    (g3t,) = torch.autograd.grad(g2t.sum(), xt2)
    assert_close(g3, g3t)


def test_micrograd_sanity_programs() -> None:
    # micrograd's own test programs, on 0-d tensors
    def sanity(x):  # type: ignore[no-untyped-def]
        z = 2 * x + 2 + x
        q = z.relu() + z * x
        h = (z * z).relu()
        return h + q + q * x

    def more_ops(a, b):  # type: ignore[no-untyped-def]
        c = a + b
        d = a * b + b ** 3
        c = c + c + 1
        c = c + 1 + c + (-a)
        d = d + d * 2 + (b + a).relu()
        d = d + 3 * d + (b - a).relu()
        e = c - d
        f = e ** 2
        g = f / 2.0
        return g + 10.0 / f

    x, xt = tg.tensor(-4.0, dtype=tg.float64, requires_grad=True), \
        torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    y, yt = sanity(x), sanity(xt)
    y.backward()
    yt.backward()
    assert_close(y, yt)
    assert_close(x.grad, xt.grad)
    a, at = tg.tensor(-4.0, dtype=tg.float64, requires_grad=True), \
        torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    b, bt = tg.tensor(2.0, dtype=tg.float64, requires_grad=True), \
        torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    g, gt = more_ops(a, b), more_ops(at, bt)
    g.backward()
    gt.backward()
    assert_close(g, gt)
    assert_close(a.grad, at.grad)
    assert_close(b.grad, bt.grad)


def test_long_chain_has_no_recursion() -> None:
    x = tg.tensor(1.0, dtype=tg.float64, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    y.backward()
    assert_close(x.grad, 1.0001 ** 20_000, rtol=1e-9)
    assert len(repr(y)) < 200


@pytest.mark.slow
def test_million_op_chain_builds_backpropagates_and_frees() -> None:
    # no recursion anywhere: all of it runs with only 50 frames to spare above this one
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    limit = sys.getrecursionlimit()
    alive = sum(1 for o in gc.get_objects() if issubclass(type(o), tg.Tensor))
    x = tg.tensor(1.0, dtype=tg.float64, requires_grad=True)
    sys.setrecursionlimit(depth + 50)
    try:
        start = time.perf_counter()
        y = x
        for _ in range(1_000_000):
            y = y * 1.0000001
        y.backward()
        del y
        elapsed = time.perf_counter() - start
    finally:
        sys.setrecursionlimit(limit)
    assert_close(x.grad, 1.0000001 ** 1_000_000, rtol=1e-7)
    # freed: only x and its gradient are new
    assert sum(1 for o in gc.get_objects() if issubclass(type(o), tg.Tensor)) <= alive + 2
    print(f"1,000,000-op chain: build + backward + free in {elapsed:.1f} s")


def test_freed_graph_leaves_nothing_for_the_cyclic_collector() -> None:
    gc.collect()
    gc.disable()
    try:
        w = tg.randn(8, 4, requires_grad=True)
        for _ in range(3):
            x = tg.randn(16, 8)
            loss = ((x @ w).relu().softmax(1) * 2).logsumexp(1).mean()
            loss.backward()
            del x, loss
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_setitem_on_plain_tensor_and_error_on_grad_tensor() -> None:
    n, target = 4, np.array([2, 0, 1, 2])
    one_hot = tg.zeros(n, 3)
    one_hot[range(n), target] = 1.0
    np.testing.assert_array_equal(one_hot.numpy(), np.eye(3)[target])
    w = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        w[0] = 5.0
    np.testing.assert_array_equal(w.numpy(), [1.0, 1.0, 1.0])
    with tg.no_grad():
        w[0] = 5.0  # initialisation under no_grad is allowed, as in torch
    assert w.numpy()[0] == 5.0


def test_inplace_change_of_a_saved_tensor_is_refused_at_backward() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    c = tg.tensor([3.0, 4.0])
    view = c[:]
    y = (x * c).sum()
    c[0] = 100.0
    np.testing.assert_array_equal(view.numpy(), [100.0, 4.0])  # a view shares memory
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    assert x.grad is None
    c2 = tg.tensor([3.0, 4.0])
    c2[0] = 5.0  # before use: fine
    (x * c2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 4.0])


def test_bad_inputs() -> None:
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        tg.arange(3).requires_grad_()
    with pytest.raises(TypeError, match="data="):
        tg.tensor(["a", "b"])
    with pytest.raises(TypeError, match="data="):
        tg.Tensor(object())
    with pytest.raises(TypeError, match="dtype"):
        tg.tensor([1.0], dtype="complex128")
    with pytest.raises(ValueError, match=r"\(2,3\).*\(4,\)|\(2, ?3\).*\(4,?\)"):
        tg.ones(2, 3) * tg.ones(4)
    with pytest.raises(RuntimeError, match=r"\(2, 3\) @ \(4, 5\)"):
        tg.ones(2, 3) @ tg.ones(4, 5)
    with pytest.raises(IndexError, match="Dimension out of range"):
        tg.ones(2, 3).sum(dim=2)
    with pytest.raises(RuntimeError, match="invalid for input of size 6"):
        tg.ones(2, 3).reshape(4, 2)


def test_log_and_sqrt_of_negatives_follow_torch() -> None:
    x = np.array([-1.0, 0.0, 4.0])
    for name in ("log", "sqrt"):
        ours = getattr(tg.tensor(x), name)()
        theirs = getattr(torch.tensor(x), name)()
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_tensor_basics_match_torch() -> None:
    a = np.arange(6.0).reshape(2, 3)
    t, tt = tg.tensor(a.tolist()), torch.tensor(a.tolist())
    assert t.dtype == np.float32 and tt.dtype == torch.float32
    assert tg.tensor(a).dtype == np.float64  # numpy float64 stays float64
    assert tg.tensor([1, 2]).dtype == np.int64 and torch.tensor([1, 2]).dtype == torch.int64
    assert t.shape == tuple(tt.shape) and t.ndim == tt.ndim and len(t) == len(tt)
    assert t.size() == tuple(tt.size()) and t.size(1) == tt.size(1) and t.size(-1) == 3
    assert t.tolist() == tt.tolist() and t[1, 2].item() == tt[1, 2].item()
    np.testing.assert_array_equal(np.asarray(t), a)
    assert np.shares_memory(t.numpy(), t.data.numpy()) and isinstance(t.data, tg.Tensor)
    c = t.clone()
    c[0, 0] = 9.0
    assert t.numpy()[0, 0] == 0.0
    x = tg.tensor([1.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "op='mul'" in repr(x * 2)
    assert repr(tg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "dtype=float64" in repr(tg.tensor([1.0], dtype=tg.float64))


def test_constructors_match_torch() -> None:
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).dtype == np.float32
    assert tg.ones(2, dtype=tg.float64).dtype == np.float64
    np.testing.assert_array_equal(tg.full((2,), 7.0).numpy(), torch.full((2,), 7.0).numpy())
    np.testing.assert_array_equal(tg.arange(5).numpy(), torch.arange(5).numpy())
    assert tg.arange(5).dtype == np.int64 and tg.arange(0.0, 1.0, 0.25).dtype == np.float32
    np.testing.assert_array_equal(tg.arange(0.0, 1.0, 0.25).numpy(),
                                  torch.arange(0.0, 1.0, 0.25).numpy())
    np.testing.assert_array_equal(tg.eye(3).numpy(), torch.eye(3).numpy())
    x = tg.randn(3, 4)
    assert tg.zeros_like(x).shape == (3, 4) and tg.ones_like(x).numpy().sum() == 12
    tg.manual_seed(0)
    a = tg.randn(3, 4)
    tg.manual_seed(0)
    b = tg.randn((3, 4))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    r = tg.randint(0, 5, (100,))
    assert r.dtype == np.int64 and r.numpy().min() >= 0 and r.numpy().max() < 5
    u = tg.rand(1000)
    assert 0.0 <= u.numpy().min() and u.numpy().max() < 1.0


def test_gradcheck_and_gradgradcheck() -> None:
    x = tg.randn(3, dtype=tg.float64, requires_grad=True)
    w = tg.randn(3, 2, dtype=tg.float64, requires_grad=True)
    assert tg.gradcheck(lambda a, b: (a @ b).tanh(), [x, w])
    assert tg.gradgradcheck(lambda a, b: (a @ b).tanh(), [x, w])

    def wrong(a: tg.Tensor) -> tg.Tensor:  # the value is a^2, the recorded gradient 1.5
        return a.detach() ** 2 + a * 1.5 - (a * 1.5).detach()

    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        tg.gradcheck(wrong, [x])
    with pytest.raises(TypeError, match="float64"):
        tg.gradcheck(lambda a: a * 2, [tg.randn(2, requires_grad=True)])
