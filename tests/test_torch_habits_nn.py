"""Habits torch users bring to nn and optim, each written as the same small program for torch
and for tinygrad_ce: values, gradients and errors must agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
from tinygrad_ce import nn, optim

TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def twin_linears(in_features: int = 3, out_features: int = 2, dtype=np.float32):
    """An nn.Linear and a torch.nn.Linear holding the same weights."""
    ours = nn.Linear(in_features, out_features, dtype=dtype)
    theirs = torch.nn.Linear(in_features, out_features).to(TORCH_DTYPE[dtype])
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def raised(fn):
    """The exception ``fn()`` raises (None if it returns)."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - compared by type and message
        return e
    return None


def assert_same_error(ours, theirs, match: str | None = None) -> None:
    """Both calls raise the same type; our message contains torch's (ours may add context)."""
    e_t, e_o = raised(theirs), raised(ours)
    assert e_t is not None, "torch did not raise"
    assert type(e_o) is type(e_t), f"ours raised {e_o!r}; torch {e_t!r}"
    assert str(e_t) in str(e_o), f"ours: {e_o}\ntorch: {e_t}"
    if match is not None:
        assert match in str(e_t)


# ----- optimizers ------------------------------------------------------------------------
def run_steps(model, opt, x, steps: int = 3):
    for _ in range(steps):
        opt.zero_grad()
        model(x).square().sum().backward()
        opt.step()


@pytest.mark.parametrize("scalar", [np.float32, np.float64])
@pytest.mark.parametrize("name,options", [
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.1, eps=1e-6, weight_decay=0.01)),
    ("AdamW", dict(lr=0.1, eps=1e-6, weight_decay=0.1)),
])
def test_optimizers_take_numpy_scalars_as_torch_does(scalar, name, options):
    # np.float64(0.1) must not promote a float32 parameter; np.float32 must not be refused
    options = {k: v if isinstance(v, bool) else scalar(v) for k, v in options.items()}
    ours, theirs = twin_linears()
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    run_steps(ours, getattr(optim, name)(ours.parameters(), **options), tg.tensor(x))
    run_steps(theirs, getattr(torch.optim, name)(theirs.parameters(), foreach=False, **options),
              torch.from_numpy(x))
    for (k, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        assert p.dtype == np.float32, k
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("betas", [(np.float32(0.9), np.float32(0.99)), (0, 0.99)])
def test_adam_betas_must_be_floats_as_in_torch(betas):
    assert_same_error(lambda: optim.Adam([tg.zeros(1, requires_grad=True)], betas=betas),
                      lambda: torch.optim.Adam([torch.zeros(1, requires_grad=True)],
                                               betas=betas))
    # np.float64 is a float: accepted by both
    betas = (np.float64(0.9), np.float64(0.99))
    ours = optim.Adam([tg.zeros(1, requires_grad=True)], betas=betas)
    theirs = torch.optim.Adam([torch.zeros(1, requires_grad=True)], betas=betas)
    assert ours.param_groups[0]["betas"] == theirs.param_groups[0]["betas"]


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("start,cast", [(np.float32, "double"), (np.float64, "float")])
def test_changing_the_dtype_after_adam_has_state_raises_as_torch_does(name, start, cast):
    # the moments keep the old dtype; torch's exp_avg.lerp_(grad) refuses, so do we,
    # and our failing step leaves every parameter and the state as they were
    ours, theirs = twin_linears(dtype=start)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(start)
    o_opt = getattr(optim, name)(ours.parameters(), lr=0.1)
    t_opt = getattr(torch.optim, name)(theirs.parameters(), lr=0.1)
    run_steps(ours, o_opt, tg.tensor(x), steps=1)
    run_steps(theirs, t_opt, torch.from_numpy(x), steps=1)
    getattr(ours, cast)()
    getattr(theirs, cast)()
    other = np.float64 if start is np.float32 else np.float32
    ours(tg.tensor(x.astype(other))).square().sum().backward()
    theirs(torch.from_numpy(x.astype(other))).square().sum().backward()
    before = {k: v.copy() for k, v in ours.state_dict().items()}
    assert_same_error(o_opt.step, t_opt.step, match="for `end` but got dtype")
    for k, v in ours.state_dict().items():
        assert v.dtype == other and np.array_equal(v, before[k]), k
    assert all(s["step"] == 1 for s in o_opt.state.values())


def test_sgd_momentum_after_a_dtype_change_steps_as_torch_does():
    ours, theirs = twin_linears()
    x = np.random.default_rng(0).standard_normal((4, 3))
    o_opt = optim.SGD(ours.parameters(), 0.1, 0.9)
    t_opt = torch.optim.SGD(theirs.parameters(), 0.1, 0.9, foreach=False)
    run_steps(ours, o_opt, tg.tensor(x.astype(np.float32)), steps=1)
    run_steps(theirs, t_opt, torch.from_numpy(x.astype(np.float32)), steps=1)
    ours.double()
    theirs.double()
    run_steps(ours, o_opt, tg.tensor(x), steps=2)
    run_steps(theirs, t_opt, torch.from_numpy(x), steps=2)
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        assert p.dtype == np.float64
        assert o_opt.state[p]["momentum_buffer"].dtype == np.float32
        assert t_opt.state[tp]["momentum_buffer"].dtype == torch.float32
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6)
