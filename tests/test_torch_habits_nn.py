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
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-7)


# ----- modules: registration order, shared modules, tied weights --------------------------
LIBS = {"ours": (tg, nn), "torch": (torch, torch.nn)}


def build(lib: str, kind: str):
    """The same small model in each library; ``kind`` names what is shared or re-assigned."""
    T, N = LIBS[lib]

    class Net(N.Module):
        def __init__(self):
            super().__init__()
            self.a = N.Linear(3, 3)
            self.mid = N.Tanh()
            self.b = N.Linear(3, 3)
            self.c = N.Linear(3, 2)
            self.register_buffer("scale", T.ones(3))
            if kind == "shared module":
                self.b = self.a
            elif kind == "tied weight":
                self.b.weight = self.a.weight
            elif kind == "reassigned":
                self.a.weight = N.Parameter(T.zeros(3, 3))
                self.a = N.Linear(3, 3)  # a new child keeps the old child's place
                self.c.bias = None
                self.c.bias = N.Parameter(T.zeros(2))
                self.scale = T.zeros(3)
            elif kind == "nested share":
                self.seq = N.Sequential(self.a, N.ReLU(), self.a, self.b)

        def forward(self, x):
            return self.c(self.b(self.mid(self.a(x))) * self.scale)

    return Net()


KINDS = ["reassigned", "shared module", "tied weight", "nested share"]


@pytest.mark.parametrize("kind", KINDS)
def test_names_and_order_of_parameters_modules_and_state_follow_torch(kind):
    ours, theirs = build("ours", kind), build("torch", kind)
    for method in ("named_parameters", "named_modules", "named_buffers"):
        for remove_duplicate in (True, False):
            got = [n for n, _ in getattr(ours, method)(remove_duplicate=remove_duplicate)]
            want = [n for n, _ in getattr(theirs, method)(remove_duplicate=remove_duplicate)]
            assert got == want, (method, remove_duplicate)
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.modules())) == len(list(theirs.modules()))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours.state_dict(prefix="m.")) == list(theirs.state_dict(prefix="m."))


@pytest.mark.parametrize("kind", KINDS)
def test_state_dicts_of_shared_and_tied_models_load_both_ways(kind):
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    ours, theirs = build("ours", kind), build("torch", kind)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    torch.manual_seed(1)
    theirs = build("torch", kind)
    result = ours.load_state_dict(theirs.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    # a shared tensor is still one tensor after loading
    for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), tp.detach().numpy(), err_msg=n)


def test_loading_writes_into_the_parameters_as_torchs_copy_does():
    ours, theirs = twin_linears()
    alias, t_alias = ours.weight.detach(), theirs.weight.detach()
    new = {"weight": np.full((2, 3), 0.5, np.float32), "bias": np.zeros(2, np.float32)}
    ours.load_state_dict(new)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in new.items()})
    np.testing.assert_array_equal(alias.numpy(), t_alias.numpy())
    np.testing.assert_array_equal(alias.numpy(), 0.5)
    # assign=True: the parameters take the checkpoint's arrays (and dtype) instead
    ours.load_state_dict({k: v.astype(np.float64) for k, v in new.items()}, assign=True)
    theirs.load_state_dict({k: torch.from_numpy(v).double() for k, v in new.items()},
                           assign=True)
    assert ours.weight.dtype == np.float64 and theirs.weight.dtype == torch.float64
    np.testing.assert_array_equal(alias.numpy(), 0.5)


@pytest.mark.parametrize("name,value", [("weight", "tensor"), ("weight", 3), ("a", 3),
                                        ("a", "tensor"), ("scale", "text"), ("a", "linear-as-p")])
def test_assigning_the_wrong_kind_to_a_registered_name_raises_as_torch_does(name, value):
    def attempt(lib):
        T, N = LIBS[lib]
        m = N.Module()
        m.a = N.Linear(2, 2)
        m.register_buffer("scale", T.ones(2))
        m.weight = N.Parameter(T.ones(2))
        v = {"tensor": T.ones(2), "linear-as-p": N.Linear(1, 1)}.get(value, value)
        target = "weight" if value == "linear-as-p" else name
        return lambda: setattr(m, target, v)

    e_t, e_o = raised(attempt("torch")), raised(attempt("ours"))
    assert e_t is not None and type(e_o) is type(e_t), (e_o, e_t)
    kind = str(e_t).split(" (")[0].split(" as ")[1]  # "parameter 'weight'", ...
    assert f" as {kind} (" in str(e_o), (str(e_o), str(e_t))


@pytest.mark.parametrize("call", ["register_parameter", "register_buffer", "add_module"])
@pytest.mark.parametrize("name", ["a.b", "", "existing"])
def test_registering_a_bad_name_raises_as_torch_does(call, name):
    def attempt(lib):
        T, N = LIBS[lib]
        m = N.Module()
        m.existing = 3
        value = {"register_parameter": None, "register_buffer": T.ones(1),
                 "add_module": N.ReLU()}[call]
        return lambda: getattr(m, call)(name, value)

    assert_same_error(attempt("ours"), attempt("torch"))


def test_non_persistent_buffers_stay_out_of_the_state_dict():
    for T, N in LIBS.values():
        m = N.Linear(2, 2)
        m.register_buffer("running", T.zeros(2), False)
        m.register_buffer("kept", T.zeros(2), True)
        assert list(m.state_dict()) == ["weight", "bias", "kept"]
        assert [n for n, _ in m.named_buffers()] == ["running", "kept"]
