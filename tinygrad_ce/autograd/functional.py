"""torch's ``torch.autograd.functional``: Jacobians, Hessians and their products with
vectors, from the engine's reverse mode (``jvp`` and ``hvp`` by double backward)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_ce.autograd.gradients import grad
from tinygrad_ce.engine import enable_grad
from tinygrad_ce.tensor import Tensor, stack

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

Inputs = Tensor | Sequence[Tensor]


def _as_tuple(x: Any, arg: str, fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    """(was it a tuple, the tensors as a tuple), checked as torch checks them."""
    is_tuple = isinstance(x, (tuple, list))
    xs = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(xs):
        if not isinstance(t, Tensor):
            where = f"{arg}[{i}]" if is_tuple else arg
            raise TypeError(f"The {where} given to {fn} must be either a Tensor or a tuple of "
                            f"Tensors but the value at index {i} has type {type(t).__name__}.")
    return is_tuple, xs


def _prepare(inputs: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    # fresh leaves that require grad (kept in the caller's graph under create_graph)
    return tuple(t.view(t.shape) if create_graph and t.requires_grad
                 else t.detach().requires_grad_(True) for t in inputs)


def _outputs(func: Callable[..., Any], inputs: tuple[Tensor, ...], fn: str
             ) -> tuple[bool, tuple[Tensor, ...]]:
    with enable_grad():
        out = func(*inputs)
    return _as_tuple(out, "outputs of the user-provided function", fn)


def _grads(outputs: tuple[Tensor, ...], inputs: tuple[Tensor, ...],
           grad_outputs: tuple[Tensor, ...], create_graph: bool, strict: bool,
           fn: str) -> tuple[Tensor, ...]:
    """d(outputs)/d(inputs) seeded with ``grad_outputs``; zeros where an input is unused
    (strict: an error, as torch's)."""
    if strict:
        for i, o in enumerate(outputs):
            if not o.requires_grad:
                raise RuntimeError(f"Output {i} of the user-provided function does not "
                                   "require gradients. The outputs must be computed in a "
                                   "differentiable manner from the input when running in "
                                   "strict mode.")
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if pairs:
        with enable_grad():
            gs = grad([o for o, _ in pairs], inputs, [g for _, g in pairs], retain_graph=True,
                      create_graph=create_graph, allow_unused=True)
    else:
        gs = (None,) * len(inputs)
    result = []
    for i, (g, x) in enumerate(zip(gs, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent "
                                   f"of input {i}. This is not allowed in strict mode.")
            g = Tensor(np.zeros(x.shape, x.dtype))
        result.append(g if create_graph else g.detach())
    return tuple(result)


def _vectors(v: Any, like: tuple[Tensor, ...], arg: str, fn: str) -> tuple[Tensor, ...]:
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(f"The vector v can only be None if the {arg} to the "
                               "user-provided function is a single Tensor with a single "
                               "element.")
        return (Tensor(np.ones(like[0].shape, like[0].dtype)),)
    _, vs = _as_tuple(v, "v", fn)
    if len(vs) != len(like):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got "
                           f"{len(vs)}.")
    for i, (a, b) in enumerate(zip(vs, like)):
        if a.shape != b.shape:
            raise RuntimeError(f"Entry {i} in v has invalid size: should be {list(b.shape)} "
                               f"but got {list(a.shape)}.")
    return vs


def _finish(xs: tuple[Tensor, ...], is_tuple: bool, create_graph: bool) -> Any:
    xs = tuple(x if create_graph else x.detach() for x in xs)
    return xs if is_tuple else xs[0]


def vjp(func: Callable[..., Any], inputs: Inputs, v: Inputs | None = None,
        create_graph: bool = False, strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), v^T J)``: the vector-Jacobian product, one backward."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
    ins = _prepare(ins, create_graph)
    out_tuple, outs = _outputs(func, ins, "vjp")
    vs = _vectors(v, outs, "outputs", "vjp")
    gs = _grads(outs, ins, vs, create_graph, strict, "vjp")
    return _finish(outs, out_tuple, create_graph), _finish(gs, in_tuple, create_graph)


def jvp(func: Callable[..., Any], inputs: Inputs, v: Inputs | None = None,
        create_graph: bool = False, strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), J v)``: the Jacobian-vector product by double backward. The
    vector-Jacobian product u -> u^T J is linear in u; its gradient with respect to u,
    seeded with v, is J v."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "jvp")
    ins = _prepare(ins, create_graph)
    vs = _vectors(v, ins, "input", "jvp")
    out_tuple, outs = _outputs(func, ins, "jvp")
    us = tuple(Tensor(np.zeros(o.shape, o.dtype), requires_grad=True) for o in outs)
    gs = _grads(outs, ins, us, True, strict, "jvp")
    used = [(g, v) for g, v in zip(gs, vs) if g.requires_grad]
    if used:
        with enable_grad():
            jv = grad([g for g, _ in used], us, [v for _, v in used],
                      create_graph=create_graph, allow_unused=True)
    else:
        jv = (None,) * len(us)
    result = []
    for i, (j, o) in enumerate(zip(jv, outs)):
        if j is None:
            if strict:
                raise RuntimeError(f"The gradient with respect to input {i} is independent "
                                   "of the inputs of the user-provided function. This is not "
                                   "allowed in strict mode.")
            j = Tensor(np.zeros(o.shape, o.dtype))
        result.append(j)
    return _finish(outs, out_tuple, create_graph), _finish(tuple(result), out_tuple,
                                                            create_graph)


def jacobian(func: Callable[..., Any], inputs: Inputs, create_graph: bool = False,
             strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode") -> Any:
    """d func(inputs) / d inputs, one backward per output element: a Tensor of shape
    ``output.shape + input.shape``, or tuples of them (per output, then per input) as
    torch's. ``vectorize`` changes nothing here (the rows are computed one by one) and
    ``strategy='forward-mode'`` gives the same Jacobian."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                         f'Hint: If your strategy is {strategy!r}, please use one of those.')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("torch.autograd.functional.jacobian: `strategy=\"forward-"
                                  "mode\"` only works with `vectorize=True` at the moment.")
    in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
    ins = _prepare(ins, create_graph)
    out_tuple, outs = _outputs(func, ins, "jacobian")
    rows: list[tuple[Tensor, ...]] = []
    for o in outs:
        per_input: list[list[Tensor]] = [[] for _ in ins]
        for j in range(o.numel()):
            seed = np.zeros(o.shape, o.dtype)
            seed.flat[j] = 1
            gs = _grads((o,), ins, (Tensor(seed),), create_graph, strict, "jacobian")
            for k, g in enumerate(gs):
                per_input[k].append(g)
        blocks = []
        for k, x in enumerate(ins):
            parts = per_input[k]
            if parts:
                block = stack(parts).reshape(o.shape + x.shape)
            else:
                block = Tensor(np.zeros(o.shape + x.shape, x.dtype))
            blocks.append(block if create_graph else block.detach())
        rows.append(tuple(blocks))
    if not out_tuple:
        return rows[0] if in_tuple else rows[0][0]
    return tuple(r if in_tuple else r[0] for r in rows)


def hessian(func: Callable[..., Any], inputs: Inputs, create_graph: bool = False,
            strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a function with one scalar output: the Jacobian of its gradient. A
    Tensor of shape ``input.shape + input.shape``, or a tuple of tuples, as torch's."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def gradient(*xs: Tensor) -> Any:
        out_tuple, outs = _outputs(func, xs, "hessian")
        if out_tuple and len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor "
                               "with a single element")
        gs = _grads(outs, xs, (Tensor(np.ones(outs[0].shape, outs[0].dtype)),), True,
                    strict, "hessian")
        return gs if in_tuple else gs[0]

    return jacobian(gradient, ins if in_tuple else ins[0], create_graph, strict)


def hvp(func: Callable[..., Any], inputs: Inputs, v: Inputs | None = None,
        create_graph: bool = False, strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), H v)`` for a scalar ``func``, by double backward."""
    return _second_order(func, inputs, v, create_graph, strict, "hvp")


def vhp(func: Callable[..., Any], inputs: Inputs, v: Inputs | None = None,
        create_graph: bool = False, strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), v^T H)`` for a scalar ``func`` (H is symmetric: the same as hvp's)."""
    return _second_order(func, inputs, v, create_graph, strict, "vhp")


def _second_order(func: Callable[..., Any], inputs: Inputs, v: Inputs | None,
                  create_graph: bool, strict: bool, fn: str) -> tuple[Any, Any]:
    in_tuple, ins = _as_tuple(inputs, "inputs", fn)
    ins = _prepare(ins, create_graph)
    vs = _vectors(v, ins, "input", fn)
    out_tuple, outs = _outputs(func, ins, fn)
    if len(outs) != 1 or outs[0].numel() != 1:
        raise RuntimeError(f"The function given to {fn} should return a single Tensor with a "
                           "single element")
    gs = _grads(outs, ins, (Tensor(np.ones(outs[0].shape, outs[0].dtype)),), True, strict, fn)
    used = [(g, v) for g, v in zip(gs, vs) if g.requires_grad]
    if used:
        with enable_grad():
            hv = grad([g for g, _ in used], ins, [v for _, v in used],
                      create_graph=create_graph, allow_unused=True)
    else:
        hv = (None,) * len(ins)
    result = []
    for i, (h, x) in enumerate(zip(hv, ins)):
        if h is None:
            if strict:
                raise RuntimeError(f"The hessian of the user-provided function with respect "
                                   f"to input {i} is independent of the input. This is not "
                                   "allowed in strict mode.")
            h = Tensor(np.zeros(x.shape, x.dtype))
        result.append(h)
    return _finish(outs, out_tuple, create_graph), _finish(tuple(result), in_tuple,
                                                            create_graph)
