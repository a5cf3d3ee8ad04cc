"""Property: random short programs that mix ops, views, in-place ops (in grad mode and under
``no_grad``) and backward behave as in torch.

Hypothesis draws a program step by step; each step runs on torch and on us, and both must
raise at the same steps (a refused in-place op is then skipped by both). At the end every
tensor's values, ``requires_grad``, ``is_leaf`` and version, whether backward raises, and
every leaf gradient must agree. float64 throughout, so values agree to rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from hypothesis import given, note
from hypothesis import strategies as st

import tinygrad_ce as tg

LIBS = (tg, torch)

UNARY: dict[str, Callable[[Any], Any]] = {
    "tanh": lambda t: t.tanh(),
    "exp": lambda t: (t * 0.1).exp(),
    "sigmoid": lambda t: t.sigmoid(),
    "relu": lambda t: t.relu(),
    "neg": lambda t: -t,
    "square": lambda t: t * t,
    "sum0": lambda t: t.sum(0, keepdim=True) if t.ndim else t,
}
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1),
}
VIEWS: dict[str, Callable[[Any], Any]] = {
    "row": lambda t: t[0] if t.ndim else t,
    "tail": lambda t: t[1:] if t.ndim else t,
    "step": lambda t: t[::2] if t.ndim else t,
    "T": lambda t: t.T,
    "flat": lambda t: t.reshape(-1),
    "unsqueeze": lambda t: t.unsqueeze(0),
    "detach": lambda t: t.detach(),
}
INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "add_": lambda t, o: t.add_(o),
    "mul_": lambda t, o: t.mul_(o),
    "sub_alpha": lambda t, o: t.sub_(o, alpha=0.5),
    "iadd": lambda t, o: t.__iadd__(o),
    "imul": lambda t, o: t.__imul__(o),
    "setitem0": lambda t, o: t.__setitem__(0, o[0] if getattr(o, "ndim", 0) else o),
    "zero_": lambda t, o: t.zero_(),
    "clamp_": lambda t, o: t.clamp_(-0.5, 0.5),
    "copy_": lambda t, o: t.copy_(o),
    "div_": lambda t, o: t.div_(2.0),
    "detach_": lambda t, o: t.detach_(),
}


class Program:
    """The same program on both libraries: a pool of tensors per library."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        start = [rng.standard_normal((3, 4)), rng.standard_normal((3, 4)),
                 rng.standard_normal(4)]
        self.pools: dict[Any, list[Any]] = {}
        for lib in LIBS:
            self.pools[lib] = [lib.tensor(start[0], requires_grad=True),
                               lib.tensor(start[1], requires_grad=True), lib.tensor(start[2])]
        self.leaves = 2

    def step(self, what: str, fn: Callable[[Any, Any], Any], no_grad: bool) -> None:
        """Run ``fn(lib, pool)`` on both; each may add a tensor or change one in place."""
        raised: dict[Any, str | None] = {}
        results: dict[Any, Any] = {}
        for lib in LIBS:
            try:
                with lib.no_grad() if no_grad else lib.enable_grad():
                    results[lib] = fn(lib, self.pools[lib])
                raised[lib] = None
            except (RuntimeError, IndexError) as e:
                raised[lib] = str(e)
        note(f"{what}{' under no_grad' if no_grad else ''}: ours raised {raised[tg]!r}, "
             f"torch raised {raised[torch]!r}")
        assert (raised[tg] is None) == (raised[torch] is None), what
        if raised[tg] is None and results[tg] is not None:
            for lib in LIBS:
                self.pools[lib].append(results[lib])

    def check_state(self) -> None:
        for i, (a, b) in enumerate(zip(self.pools[tg], self.pools[torch])):
            assert a.shape == tuple(b.shape), i
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-12,
                                       err_msg=f"tensor {i}")
            assert (a.requires_grad, a.is_leaf) == (b.requires_grad, b.is_leaf), i

    def backward(self) -> None:
        errors = {}
        for lib in LIBS:
            pool = self.pools[lib]
            total = None
            for k, t in enumerate(pool):
                if t.requires_grad:
                    term = (t * (k + 1)).sum() + (t * t).sum() * 0.5
                    total = term if total is None else total + term
            if total is None:
                return
            try:
                total.backward()
                errors[lib] = None
            except RuntimeError as e:
                errors[lib] = str(e)
        note(f"backward: ours raised {errors[tg]!r}, torch raised {errors[torch]!r}")
        assert (errors[tg] is None) == (errors[torch] is None)
        if errors[tg] is not None:
            return  # torch may have written some gradients before raising; we write none
        for i in range(self.leaves):
            a, b = self.pools[tg][i].grad, self.pools[torch][i].grad
            assert (a is None) == (b is None), f"leaf {i}"
            if a is not None:
                np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12,
                                           err_msg=f"grad of leaf {i}")


def _same_shape(pool: list[Any], i: int, j: int) -> Any:
    return pool[j] if pool[j].shape == pool[i].shape else 0.25


@given(seed=st.integers(0, 2**16), data=st.data())
def test_random_programs_with_views_and_inplace_ops_match_torch(seed: int, data: Any) -> None:
    program = Program(seed)
    for _ in range(data.draw(st.integers(1, 8), label="steps")):
        n = len(program.pools[tg])
        kind = data.draw(st.sampled_from(["unary", "binary", "view", "inplace", "inplace"]))
        i = data.draw(st.integers(0, n - 1), label="i")
        no_grad = data.draw(st.booleans(), label="no_grad") if kind == "inplace" else False
        if kind == "unary":
            name = data.draw(st.sampled_from(sorted(UNARY)))
            program.step(name, lambda lib, pool, f=UNARY[name]: f(pool[i]), no_grad)  # noqa: B023
        elif kind == "binary":
            name = data.draw(st.sampled_from(sorted(BINARY)))
            j = data.draw(st.integers(0, n - 1), label="j")
            program.step(name, lambda lib, pool, f=BINARY[name]: f(pool[i], _same_shape(  # noqa: B023
                pool, i, j)), no_grad)  # noqa: B023
        elif kind == "view":
            name = data.draw(st.sampled_from(sorted(VIEWS)))
            program.step(name, lambda lib, pool, f=VIEWS[name]: f(pool[i]), no_grad)  # noqa: B023
        else:
            name = data.draw(st.sampled_from(sorted(INPLACE)))
            j = data.draw(st.integers(0, n - 1), label="j")

            target = program.pools[tg][i]
            if name == "detach_" and (target.is_leaf or any(
                    t._base is target for t in program.pools[tg])):
                continue  # see docs/bad_input.md: detach_() on a leaf or on a viewed base

            def change(lib: Any, pool: list[Any], f: Any = INPLACE[name]) -> None:
                f(pool[i], _same_shape(pool, i, j))  # noqa: B023

            program.step(name, change, no_grad)
        program.check_state()
    program.backward()
