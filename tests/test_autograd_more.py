"""torch.autograd's helpers against torch: functional (jacobian, hessian, vjp, jvp, hvp,
vhp), gradcheck/gradgradcheck with torch's keywords, inference_mode and tensor hooks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.autograd.functional as TAF

import tinygrad_ce as tg
import tinygrad_ce.autograd.functional as AF
from tests.helpers import assert_close


def _same(ours: Any, theirs: Any, dtype: Any = np.float64) -> None:
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, tg.Tensor), type(ours)
        assert_close(ours, theirs, dtype)
        return
    assert isinstance(ours, tuple) and len(ours) == len(theirs), (ours, theirs)
    for a, b in zip(ours, theirs):
        _same(a, b, dtype)


def _lib_inputs(lib: Any, arrays: list[np.ndarray]) -> list[Any]:
    return [lib.tensor(a) for a in arrays]


FUNCS = {
    "elementwise": (lambda lib, x: (x.sin() * x).exp(), [(3,)]),
    "matrix-out": (lambda lib, x: x.unsqueeze(1) * x.tanh().unsqueeze(0), [(3,)]),
    "two-inputs": (lambda lib, x, w: (x @ w).tanh(), [(2, 3), (3, 2)]),
    "tuple-out": (lambda lib, x, w: ((x * w).sum(), x.exp() * 2), [(3,), (3,)]),
    "unused-input": (lambda lib, x, w: x * 3, [(2,), (2,)]),
    "scalar": (lambda lib, x: (x ** 3).sum() + x.prod(), [(2, 2)]),
}


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", FUNCS)
def test_jacobian_matches_torch(name: str, create_graph: bool) -> None:
    fn, shapes = FUNCS[name]
    arrays = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    single = len(arrays) == 1
    ti, oi = _lib_inputs(torch, arrays), _lib_inputs(tg, arrays)
    theirs = TAF.jacobian(lambda *a: fn(torch, *a), ti[0] if single else tuple(ti),
                          create_graph=create_graph)
    ours = AF.jacobian(lambda *a: fn(tg, *a), oi[0] if single else tuple(oi),
                       create_graph=create_graph)
    _same(ours, theirs)


@pytest.mark.parametrize("name", ["scalar", "elementwise-sum", "two-inputs-sum"])
def test_hessian_hvp_vhp_match_torch(name: str) -> None:
    fns = {
        "scalar": FUNCS["scalar"],
        "elementwise-sum": (lambda lib, x: (x.sin() * x).exp().sum(), [(3,)]),
        "two-inputs-sum": (lambda lib, x, w: (x @ w).tanh().sum(), [(2, 3), (3, 2)]),
    }
    fn, shapes = fns[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    vs = [rng.standard_normal(s) for s in shapes]
    single = len(arrays) == 1
    ti, oi = _lib_inputs(torch, arrays), _lib_inputs(tg, arrays)
    tv, ov = _lib_inputs(torch, vs), _lib_inputs(tg, vs)
    def pack(xs: Any) -> Any:
        return xs[0] if single else tuple(xs)

    _same(AF.hessian(lambda *a: fn(tg, *a), pack(oi)),
          TAF.hessian(lambda *a: fn(torch, *a), pack(ti)))
    for ours_fn, their_fn in ((AF.hvp, TAF.hvp), (AF.vhp, TAF.vhp)):
        o = ours_fn(lambda *a: fn(tg, *a), pack(oi), pack(ov))
        t = their_fn(lambda *a: fn(torch, *a), pack(ti), pack(tv))
        _same(o, t)


@pytest.mark.parametrize("name", ["elementwise", "matrix-out", "two-inputs", "tuple-out",
                                  "unused-input"])
def test_vjp_and_jvp_match_torch(name: str) -> None:
    fn, shapes = FUNCS[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    single = len(arrays) == 1
    def pack(xs: Any) -> Any:
        return xs[0] if single else tuple(xs)

    ti, oi = _lib_inputs(torch, arrays), _lib_inputs(tg, arrays)
    out_t = fn(torch, *ti)
    outs = out_t if isinstance(out_t, tuple) else (out_t,)
    us = [rng.standard_normal(tuple(o.shape)) for o in outs]
    upack = (lambda xs: tuple(xs) if isinstance(out_t, tuple) else xs[0])  # noqa: E731
    _same(AF.vjp(lambda *a: fn(tg, *a), pack(oi), upack(_lib_inputs(tg, us))),
          TAF.vjp(lambda *a: fn(torch, *a), pack(ti), upack(_lib_inputs(torch, us))))
    vs = [rng.standard_normal(s) for s in shapes]
    _same(AF.jvp(lambda *a: fn(tg, *a), pack(oi), pack(_lib_inputs(tg, vs))),
          TAF.jvp(lambda *a: fn(torch, *a), pack(ti), pack(_lib_inputs(torch, vs))))


def test_create_graph_results_are_differentiable() -> None:
    results = []
    for lib, F in ((torch, TAF), (tg, AF)):
        x = lib.tensor([0.3, -1.2, 0.7], dtype=lib.float64, requires_grad=True)
        _, h = F.hvp(lambda a: (a.sin() * a).sum(), x, lib.ones(3, dtype=lib.float64),
                     create_graph=True)
        j = F.jacobian(lambda a: a.exp() * a, x, create_graph=True)
        (h.sum() + j.sum()).backward()
        results.append(x.grad.numpy().copy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-10)


def test_strict_and_bad_vectors_raise_as_torch() -> None:
    for lib, F in ((torch, TAF), (tg, AF)):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64)
        with pytest.raises(RuntimeError, match="does not require gradients"):
            F.vjp(lambda a: lib.ones(2, dtype=lib.float64), x, lib.ones(2, dtype=lib.float64),  # noqa: B023
                  strict=True)
        with pytest.raises(RuntimeError, match="independent of input 1"):
            F.vjp(lambda a, b: a * 2, (x, x), lib.ones(2, dtype=lib.float64), strict=True)
        with pytest.raises(RuntimeError, match="v can only be None"):
            F.vjp(lambda a: a * 2, x)
        with pytest.raises(RuntimeError, match="invalid size"):
            F.jvp(lambda a: a * 2, x, lib.ones(3, dtype=lib.float64))
        with pytest.raises(TypeError):
            F.jacobian(lambda a: a, [1.0, 2.0])
        with pytest.raises(RuntimeError, match="single element"):
            F.hvp(lambda a: a * 2, x, x)
        assert F.jacobian(lambda a: a * 2, x, vectorize=True).shape == (2, 2)


def test_gradcheck_accepts_torchs_keywords() -> None:
    x = tg.randn(3, dtype=tg.float64, requires_grad=True)
    assert tg.autograd.gradcheck(lambda a: a.sin() * a, (x,), eps=1e-6, atol=1e-5, rtol=1e-3,
                                 raise_exception=True, nondet_tol=0.0, fast_mode=True,
                                 check_undefined_grad=True, check_grad_dtypes=True,
                                 check_backward_ad=True, masked=None)
    assert tg.autograd.gradgradcheck(lambda a: a.sin() * a, (x,), None, eps=1e-6,
                                     gen_non_contig_grad_outputs=False, fast_mode=False,
                                     check_rev_over_rev=True, masked=False)
    wrong = lambda a: tg.record(a.numpy() ** 2, (a,), "sq", lambda g, o: (g * 3,))  # noqa: E731
    assert tg.autograd.gradcheck(wrong, (x,), raise_exception=False) is False
    assert torch.autograd.gradcheck(lambda a: a.sin(), (torch.randn(2, dtype=torch.float64,
                                                                  requires_grad=True),))
    for kw in ("check_forward_ad", "check_batched_grad"):
        with pytest.raises(NotImplementedError, match=kw):
            tg.autograd.gradcheck(lambda a: a * 2, (x,), **{kw: True})
    with pytest.raises(TypeError):
        tg.autograd.gradcheck(lambda a: a * 2, (x,), 1e-6)  # keywords only, as torch's
    assert tg.gradcheck is tg.autograd.gradcheck


def test_inference_mode_as_torch() -> None:
    for lib in (torch, tg):
        x = lib.ones(2, requires_grad=True)
        with lib.inference_mode():
            assert not (x * 2).requires_grad
            assert lib.is_inference_mode_enabled() and not lib.is_grad_enabled()
        assert not lib.is_inference_mode_enabled() and lib.is_grad_enabled()
        with lib.inference_mode(False):
            assert (x * 2).requires_grad

        @lib.inference_mode()
        def f(a: Any) -> Any:
            return a * 2

        @lib.inference_mode
        def g(a: Any) -> Any:
            return a * 2

        assert not f(x).requires_grad and not g(x).requires_grad
        assert (x * 2).requires_grad


def _hook_program(lib: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    seen: list[Any] = []
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * x
    hy = y.register_hook(lambda g: seen.append(g.clone()))
    y.register_hook(lambda g: g * 10)  # replaces the gradient flowing on
    hx = x.register_hook(lambda g: g + 1)
    y.retain_grad()
    (y * 2).sum().backward(retain_graph=True)
    out.update(x_grad=x.grad.clone(), y_grad=y.grad.clone(), seen=seen[0])
    hy.remove()
    hx.remove()
    x.grad = None
    (y * 2).sum().backward()
    out.update(x_grad2=x.grad.clone(), n_seen=len(seen))
    z = lib.tensor([1.0, 2.0], requires_grad=True)
    z.register_hook(lambda g: g * 0)
    out["autograd_grad"] = lib.autograd.grad((z * z).sum(), z)[0]
    return out


def test_tensor_hooks_as_torch() -> None:
    ours, theirs = _hook_program(tg), _hook_program(torch)
    assert sorted(ours) == sorted(theirs)
    for k, v in theirs.items():
        if isinstance(v, torch.Tensor):
            assert_close(ours[k], v, np.float32, what=k)
        else:
            assert ours[k] == v, k
    for lib in (torch, tg):
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.ones(2).register_hook(lambda g: g)
        x = lib.ones(2, requires_grad=True)
        x.register_hook(lambda g: lib.ones(3))  # noqa: B023
        with pytest.raises(RuntimeError, match="size"):
            (x * 2).sum().backward()
