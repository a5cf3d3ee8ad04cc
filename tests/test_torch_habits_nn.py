"""Habits torch users bring to nn and optim, each written as the same small program for torch
and for tinygrad_ce: values, gradients and errors must agree."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
from tests.helpers import assert_close
from tinygrad_ce import nn, optim
from tinygrad_ce.nn import functional as F

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


# ----- losses ----------------------------------------------------------------------------
TF = torch.nn.functional
CE = {"fused": F.cross_entropy, "unfused": F.cross_entropy_unfused}


def grads_of(fn_ours, fn_torch, x: np.ndarray):
    """Loss and input gradient from each library, numpy's and torch's warnings as errors
    (torch warns about nothing here, so neither may we)."""
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with np.errstate(all="raise"):
        lo = fn_ours(xo)
        lo.backward(tg.ones(lo.shape, dtype=lo.dtype) if lo.ndim else None)
    lt = fn_torch(xt)
    lt.backward(torch.ones_like(lt) if lt.ndim else None)
    return (lo, xo.grad), (lt, xt.grad)


def assert_same_loss_and_grad(fn_ours, fn_torch, x, dtype=np.float32, tol_dtype=None):
    (lo, go), (lt, gt) = grads_of(fn_ours, fn_torch, x)
    assert lo.dtype == np.dtype(dtype)
    assert_close(lo, lt, tol_dtype or dtype, "loss")
    assert_close(go, gt, tol_dtype or dtype, "gradient")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls,fused", [("CrossEntropyLoss", True), ("CrossEntropyLoss", False),
                                       ("NLLLoss", True)])
@pytest.mark.parametrize("weight", [[1.0, 2.0, 0.5], (1, 2, 3)])
def test_loss_modules_take_a_list_of_class_weights_in_the_inputs_dtype(dtype, cls, fused,
                                                                        weight):
    # torch's modules want a Tensor; a list is the convenient spelling, taken in the
    # input's dtype at each call (a float64 list must not clash with a float32 model)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(dtype)
    t = np.array([0, 2, 1, 2])
    kw = {} if cls == "NLLLoss" else dict(fused=fused)
    ours = getattr(nn, cls)(weight, **kw)
    theirs = getattr(torch.nn, cls)(torch.tensor(weight, dtype=TORCH_DTYPE[dtype]))
    assert_same_loss_and_grad(lambda a: ours(a, tg.tensor(t)),
                              lambda a: theirs(a, torch.from_numpy(t)), x, dtype)
    fn = F.nll_loss if cls == "NLLLoss" else CE["fused" if fused else "unfused"]
    assert_same_loss_and_grad(lambda a: fn(a, tg.tensor(t), list(weight)),
                              lambda a: theirs(a, torch.from_numpy(t)), x, dtype)
    assert list(ours.state_dict()) == ["weight"]


@pytest.mark.parametrize("smoothing", [1.2, 1.0001])
@pytest.mark.parametrize("target", ["index", "prob"])
def test_label_smoothing_above_1_raises_when_the_loss_is_called_as_in_torch(smoothing, target):
    ours = nn.CrossEntropyLoss(label_smoothing=smoothing)  # torch constructs it too
    theirs = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)
    x = np.zeros((2, 3), np.float32)
    t = np.array([0, 1]) if target == "index" else np.full((2, 3), 1 / 3, np.float32)
    assert_same_error(lambda: ours(tg.tensor(x), tg.tensor(t)),
                      lambda: theirs(torch.from_numpy(x), torch.from_numpy(t)),
                      match="label_smoothing must be between 0.0 and 1.0")
    for fn in CE.values():
        assert_same_error(lambda: fn(tg.tensor(x), tg.tensor(t), label_smoothing=smoothing),  # noqa: B023
                          lambda: TF.cross_entropy(torch.from_numpy(x), torch.from_numpy(t),
                                                   label_smoothing=smoothing))


@pytest.mark.parametrize("smoothing", [-0.5, float("nan"), 1.0])
@pytest.mark.parametrize("fn", CE.values(), ids=CE.keys())
def test_label_smoothing_torch_accepts_gives_torchs_loss(smoothing, fn):
    # torch checks only the upper bound and smooths only when label_smoothing > 0
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    t = np.array([0, 2, 1, 2])
    assert_same_loss_and_grad(lambda a: fn(a, tg.tensor(t), label_smoothing=smoothing),
                              lambda a: TF.cross_entropy(a, torch.from_numpy(t),
                                                         label_smoothing=smoothing), x)


@pytest.mark.parametrize("target", [[0, -100, 0], [-100, -100, -100], [0, 0, 0], [0, 1, -100]])
@pytest.mark.parametrize("loss", ["nll_loss", "fused", "unfused"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_mean_over_rows_of_total_weight_0_matches_torch_on_every_row(target, loss, smoothing):
    # 0 / 0: the loss is nan, the counted rows' gradient nan, the ignored rows' exactly 0
    if loss == "nll_loss" and smoothing:
        return
    x = np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32)
    w = np.array([0.0, 1.0, 2.0], np.float32)
    kw = dict(label_smoothing=smoothing) if smoothing else {}
    ours = F.nll_loss if loss == "nll_loss" else CE[loss]
    theirs = TF.nll_loss if loss == "nll_loss" else TF.cross_entropy
    assert_same_loss_and_grad(lambda a: ours(a, tg.tensor(target), tg.tensor(w), **kw),
                              lambda a: theirs(a, torch.tensor(target), torch.from_numpy(w),
                                               **kw), x)


INF = float("inf")
INF_ROWS = [[1.0, INF, 0.0], [-INF, INF, 0.0], [INF, INF, 0.0], [-INF, -INF, -INF],
            [-INF, 1.0, 0.0], [float("nan"), 1.0, 0.0]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", INF_ROWS, ids=[str(r) for r in INF_ROWS])
@pytest.mark.parametrize("options", [dict(), dict(reduction="none"), dict(label_smoothing=0.1),
                                     dict(weight=[1.0, 2.0, 0.5]), dict(target="prob"),
                                     dict(ignore_index=0)])
def test_cross_entropy_of_infinite_logits_matches_torch(dtype, row, options):
    # a row whose maximum is +inf (or all -inf) is nan in torch: loss and whole gradient row
    x = np.array([row, [0.5, 1.0, 2.0]], dtype)
    opts = dict(options)
    target = opts.pop("target", None)
    t = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]], dtype) if target else np.array([0, 1])
    t_opts = dict(opts)
    if "weight" in opts:
        opts["weight"] = tg.tensor(np.array(opts["weight"], dtype))
        t_opts["weight"] = torch.tensor(t_opts["weight"], dtype=TORCH_DTYPE[dtype])
    for fn in CE.values():
        for tgt in ([0, 1], [1, 1], [2, 0]) if target is None else [t]:
            assert_same_loss_and_grad(
                lambda a: fn(a, tg.tensor(np.array(tgt)), **opts),  # noqa: B023
                lambda a: TF.cross_entropy(a, torch.tensor(np.array(tgt)), **t_opts), x, dtype)  # noqa: B023


@pytest.mark.parametrize("row", INF_ROWS, ids=[str(r) for r in INF_ROWS])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_of_infinite_logits_matches_torch(row, fn):
    x = np.array([row, [0.5, 1.0, 2.0]], np.float32)
    weights = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], np.float32)
    assert_same_loss_and_grad(lambda a: (getattr(F, fn)(a, 1) * tg.tensor(weights)).sum(1),
                              lambda a: (getattr(TF, fn)(a, 1) * torch.from_numpy(weights))
                              .sum(1), x)


def test_probability_targets_and_weights_of_other_dtypes_promote_as_in_torch():
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    p = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]], np.float32)
    w = np.array([1.0, 2.0, 0.5])
    for fn in CE.values():
        assert_same_loss_and_grad(
            lambda a: fn(a, tg.tensor(p), tg.tensor(w)),  # noqa: B023
            lambda a: TF.cross_entropy(a, torch.from_numpy(p), torch.from_numpy(w)), x,
            np.float64, tol_dtype=np.float32)  # torch's log_softmax runs in float32 first


# ----- error wording: torch's words, then ours ---------------------------------------------
TARGET_CASES = [  # (input shape, target shape, target dtype)
    ((2, 3), (2, 3), np.int64), ((2, 3), (2, 3), np.int32), ((3,), (3,), np.int64),
    ((2, 3, 4), (2, 3, 4), np.int64), ((2, 3), (2, 3), np.bool_),
    ((2, 3), (2, 2), np.int64), ((2, 3), (2, 1), np.int64), ((3,), (1, 1), np.int64),
    ((3,), (2,), np.int64), ((2, 3), (3,), np.int64), ((2, 3), (), np.int64),
    ((2, 3, 4), (2, 4, 4), np.int64), ((2, 3, 4), (2,), np.int64),
    ((2, 3, 4), (3, 4), np.int64), ((2, 3, 4, 5), (2, 4), np.int64),
    ((2, 3, 4, 5), (2, 4, 6), np.int64), ((2, 3, 4, 5), (3, 4, 5), np.int64),
    ((2, 3, 4, 5, 6), (2, 4, 5), np.int64), ((2, 3), (2, 3), np.float64),
    ((2, 3), (2,), np.float32), ((2, 3), (2,), np.bool_), ((2, 3), (3, 3), np.float32),
]


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("shape,tshape,tdtype", TARGET_CASES,
                         ids=[f"{s}-{t}-{np.dtype(d).name}" for s, t, d in TARGET_CASES])
def test_targets_of_the_wrong_shape_or_dtype_raise_torchs_error(loss, shape, tshape, tdtype):
    x = np.zeros(shape, np.float32)
    t = np.zeros(tshape, tdtype)
    ours = [getattr(F, loss)] + ([F.cross_entropy_unfused] if loss == "cross_entropy" else [])
    theirs = getattr(TF, loss)
    e_t = raised(lambda: theirs(torch.from_numpy(x), torch.from_numpy(t)))
    for fn in ours:
        e_o = raised(lambda: fn(tg.tensor(x), tg.tensor(t)))  # noqa: B023
        if e_t is None:  # torch accepts it (probabilities of another float dtype, ...)
            assert e_o is None, e_o
            continue
        if "target dtype to be Long or Byte, but got Int" in str(e_t):
            assert e_o is None  # int32 class indices: accepted here, converted to int64
            continue
        assert type(e_o) is type(e_t), (e_o, e_t)
        assert str(e_t) in str(e_o), f"\nours:  {e_o}\ntorch: {e_t}"


@pytest.mark.parametrize("loss", ["cross_entropy", "cross_entropy_unfused", "nll_loss"])
@pytest.mark.parametrize("xdtype,wdtype", [(np.float32, np.float64), (np.float64, np.float32),
                                           (np.float64, np.float16)])
@pytest.mark.parametrize("shape", [(2, 3), (3,), (2, 3, 4)])
def test_class_weights_of_another_dtype_raise_torchs_error(loss, xdtype, wdtype, shape):
    x = np.zeros(shape, xdtype)
    t = np.zeros(shape[:1] + shape[2:] if len(shape) > 1 else (), np.int64)
    w = np.ones(3, wdtype)
    theirs = TF.nll_loss if loss == "nll_loss" else TF.cross_entropy
    assert_same_error(lambda: getattr(F, loss)(tg.tensor(x), tg.tensor(t), tg.tensor(w)),
                      lambda: theirs(torch.from_numpy(x), torch.from_numpy(t),
                                     torch.from_numpy(w)),
                      match="expected scalar type")


# ----- positional arguments in torch's documented order ------------------------------------
# Each public callable of nn, nn.functional and optim, called with positional arguments as
# torch documents them (inspect.signature cannot read torch's built-ins, so the calls are
# written out): the same call on both sides must give the same result.
RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3)).astype(np.float32)
Y = RNG.standard_normal((4, 3)).astype(np.float32)
T = np.array([0, 2, 1, 1])
W = np.array([1.0, 2.0, 0.5], np.float32)
LIB = {"ours": dict(tg=tg, nn=nn, F=F, optim=optim, sched=optim, f64=tg.float64),
       "torch": dict(tg=torch, nn=torch.nn, F=TF, optim=torch.optim,
                     sched=torch.optim.lr_scheduler, f64=torch.float64)}


def arr(lib: str, a: np.ndarray, requires_grad: bool = False):
    return (tg.tensor(a, requires_grad=requires_grad) if lib == "ours"
            else torch.tensor(a, requires_grad=requires_grad))


FUNCTIONAL_CALLS = {
    "softmax(x, dim)": lambda L, x: L["F"].softmax(x, 1),
    "softmax(x, dim, _stacklevel, dtype)": lambda L, x: L["F"].softmax(x, 0, 3, L["f64"]),
    "log_softmax(x, dim, _stacklevel, dtype)": lambda L, x: L["F"].log_softmax(x, 1, 3,
                                                                               L["f64"]),
    "mse_loss(x, y, size_average, reduce, reduction)":
        lambda L, x: L["F"].mse_loss(x, arr(L["name"], Y), None, None, "sum"),
    "mse_loss(x, y, ..., reduction, weight)":
        lambda L, x: L["F"].mse_loss(x, arr(L["name"], Y), None, None, "mean",
                                     arr(L["name"], np.abs(Y))),
    "mse_loss(x, y, size_average=False)": lambda L, x: L["F"].mse_loss(x, arr(L["name"], Y),
                                                                       False),
    "nll_loss(x, t, weight, size_average, ignore_index, reduce, reduction)":
        lambda L, x: L["F"].nll_loss(x, arr(L["name"], T), arr(L["name"], W), None, 1, None,
                                     "sum"),
    "nll_loss(x, t, None, None, -100, reduce=False)":
        lambda L, x: L["F"].nll_loss(x, arr(L["name"], T), None, None, -100, False),
    "cross_entropy(x, t, weight)": lambda L, x: L["F"].cross_entropy(x, arr(L["name"], T),
                                                                     arr(L["name"], W)),
    "cross_entropy(x, t, w, size_average, ignore_index, reduce, reduction, smoothing)":
        lambda L, x: L["F"].cross_entropy(x, arr(L["name"], T), arr(L["name"], W), None, 1,
                                          None, "sum", 0.1),
    "cross_entropy(x, t, None, size_average=False)":
        lambda L, x: L["F"].cross_entropy(x, arr(L["name"], T), None, False),
    "cross_entropy_unfused in cross_entropy's order":
        lambda L, x: (L["F"].cross_entropy_unfused if L["name"] == "ours"
                      else L["F"].cross_entropy)(x, arr(L["name"], T), arr(L["name"], W), None,
                                                 1, None, "none", 0.2),
    "one_hot(t, num_classes)": lambda L, x: L["F"].one_hot(arr(L["name"], T), 5),
}


def _record_warnings():
    """Like warnings.catch_warnings(record=True), showing every warning every time."""

    class Recorder(warnings.catch_warnings):
        def __init__(self):
            super().__init__(record=True)

        def __enter__(self):
            log = super().__enter__()
            warnings.simplefilter("always")
            return log

    return Recorder()


@pytest.mark.parametrize("call", FUNCTIONAL_CALLS)
def test_functional_positional_arguments_follow_torch(call):
    results = {}
    for name, L in LIB.items():
        x = arr(name, X, requires_grad=True)
        with _record_warnings() as caught:
            out = FUNCTIONAL_CALLS[call]({**L, "name": name}, x)
        results[name] = out, x, [str(w.message) for w in caught]
    (ours, xo, w_o), (theirs, xt, w_t) = results["ours"], results["torch"]
    assert_close(ours, theirs, np.float64 if ours.dtype == np.float64 else np.float32, call)
    assert [m for m in w_t if "deprecated" in m] == [m for m in w_o if "deprecated" in m]
    if theirs.requires_grad:
        ours.sum().backward()
        theirs.sum().backward()
        assert_close(xo.grad, xt.grad, np.float32, call + " gradient")


def layer_calls(L):
    N, tgl = L["nn"], L["tg"]
    return {
        "Linear(in, out, bias)": lambda: N.Linear(3, 2, False),
        "Linear(in, out, bias, device, dtype)": lambda: N.Linear(3, 2, True, "cpu", L["f64"]),
        "ReLU(inplace)": lambda: N.ReLU(True),
        "Dropout(p, inplace)": lambda: N.Dropout(0.25, True),
        "Identity(args...)": lambda: N.Identity(54, unused_argument=0.1),
        "Tanh()": lambda: N.Tanh(),
        "Sigmoid()": lambda: N.Sigmoid(),
        "Sequential(a, b)": lambda: N.Sequential(N.Linear(3, 2), N.ReLU()),
        "CrossEntropyLoss(weight, size_average, ignore_index, reduce, reduction, smoothing)":
            lambda: N.CrossEntropyLoss(arr(L["name"], W), None, 1, None, "sum", 0.1),
        "NLLLoss(weight, size_average, ignore_index, reduce, reduction)":
            lambda: N.NLLLoss(arr(L["name"], W), None, 1, None, "none"),
        "MSELoss(size_average, reduce, reduction)": lambda: N.MSELoss(None, None, "sum"),
        "Parameter(data, requires_grad)": lambda: N.Parameter(tgl.ones(2), False),
    }


@pytest.mark.parametrize("call", list(layer_calls({**LIB["ours"], "name": "ours"})))
def test_layer_positional_arguments_follow_torch(call):
    ours = layer_calls({**LIB["ours"], "name": "ours"})[call]()
    theirs = layer_calls({**LIB["torch"], "name": "torch"})[call]()
    if isinstance(theirs, torch.nn.Parameter):
        assert ours.requires_grad == theirs.requires_grad is False
        return
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, v), tv in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert v.dtype == tv.numpy().dtype, k
    if ours.state_dict():
        theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    ours.eval()
    theirs.eval()
    x = X if "Linear(in, out, bias, device" not in call else X.astype(np.float64)
    if "Loss" in call:
        t = Y if "MSE" in call else T
        out_o, out_t = ours(tg.tensor(x), tg.tensor(t)), theirs(torch.from_numpy(x),
                                                                torch.from_numpy(t))
    else:
        out_o, out_t = ours(tg.tensor(x)), theirs(torch.from_numpy(x))
    assert_close(out_o, out_t, x.dtype.type, call)


def test_in_place_layers_overwrite_their_input_outside_a_recorded_graph():
    for relu, drop, ten in ((nn.ReLU(True), nn.Dropout(1.0, True), tg.tensor),
                            (torch.nn.ReLU(True), torch.nn.Dropout(1.0, True), torch.tensor)):
        x = ten(X.copy())
        assert relu(x) is x and (np.asarray(x) >= 0).all()
        assert drop(x) is x and not np.asarray(x).any()
    # a recorded graph: the same values and gradients (ours computes out of place there)
    for fn in (lambda m: m.ReLU(True), lambda m: m.Dropout(0.0, True)):
        assert_same_loss_and_grad(lambda a: fn(nn)(a * 1.0).sum(),  # noqa: B023
                                  lambda a: fn(torch.nn)(a * 1.0).sum(), X)  # noqa: B023


def module_method_calls(L):
    N, tgl = L["nn"], L["tg"]

    def build():
        m = N.Sequential(N.Linear(3, 2), N.ReLU())
        m.add_module("tail", N.Linear(2, 2))
        m.register_buffer("steps", tgl.zeros(2), False)
        m.register_parameter("extra", N.Parameter(tgl.ones(2)))
        return m

    return build, {
        "named_parameters(prefix, recurse, remove_duplicate)":
            lambda m: [n for n, _ in m.named_parameters("net", False, False)],
        "named_modules(memo, prefix, remove_duplicate)":
            lambda m: [n for n, _ in m.named_modules(None, "net", False)],
        "named_buffers(prefix, recurse, remove_duplicate)":
            lambda m: [n for n, _ in m.named_buffers("net", True, True)],
        "parameters(recurse)": lambda m: len(list(m.parameters(False))),
        "buffers(recurse)": lambda m: len(list(m.buffers(False))),
        "train(mode)": lambda m: [x.training for x in m.train(False).modules()],
        "requires_grad_(requires_grad)":
            lambda m: [p.requires_grad for p in m.requires_grad_(False).parameters()],
        "zero_grad(set_to_none)": lambda m: _zero_grads(m, L),
        "to(device, dtype)": lambda m: [str(p.dtype).replace("torch.", "")
                                        for p in m.to("cpu", L["f64"]).parameters()],
        "load_state_dict(state_dict, strict, assign)":
            lambda m: [list(k) for k in m.load_state_dict({}, False, False)],
    }


def _zero_grads(m, L):
    for p in m.parameters():
        p.grad = L["tg"].ones(p.shape)
    m.zero_grad(False)
    return [float(np.asarray(p.grad).sum()) for p in m.parameters()]


@pytest.mark.parametrize("call", list(module_method_calls({**LIB["ours"], "name": "ours"})[1]))
def test_module_method_positional_arguments_follow_torch(call):
    results = []
    for name, L in LIB.items():
        build, calls = module_method_calls({**L, "name": name})
        results.append(calls[call](build()))
    assert results[0] == results[1]


def optimizer_calls(L):
    Opt, Sched = L["optim"], L["sched"]
    return {
        "SGD(params, lr, momentum, dampening, weight_decay, nesterov)":
            (lambda ps: Opt.SGD(ps, 0.1, 0.9, 0.1, 0.01, False), None),
        "SGD(params, lr, momentum, 0, 0, nesterov=True)":
            (lambda ps: Opt.SGD(ps, 0.1, 0.9, 0, 0, True), None),
        "Adam(params, lr, betas, eps, weight_decay, amsgrad)":
            (lambda ps: Opt.Adam(ps, 0.05, (0.8, 0.99), 1e-6, 0.01, True), None),
        "AdamW(params, lr, betas, eps, weight_decay, amsgrad)":
            (lambda ps: Opt.AdamW(ps, 0.05, (0.8, 0.99), 1e-6, 0.1, True), None),
        "StepLR(optimizer, step_size, gamma)":
            (lambda ps: Opt.SGD(ps, 0.1), lambda opt: Sched.StepLR(opt, 2, 0.5)),
        "CosineAnnealingLR(optimizer, T_max, eta_min)":
            (lambda ps: Opt.SGD(ps, 0.1), lambda opt: Sched.CosineAnnealingLR(opt, 3, 0.01)),
    }


@pytest.mark.parametrize("call", list(optimizer_calls(LIB["ours"])))
def test_optimizer_positional_arguments_follow_torch(call):
    ours_model, theirs_model = twin_linears()
    (make_o, sched_o), (make_t, sched_t) = (optimizer_calls(LIB["ours"])[call],
                                            optimizer_calls(LIB["torch"])[call])
    opt_o, opt_t = make_o(ours_model.parameters()), make_t(theirs_model.parameters())
    so, st = (sched_o(opt_o), sched_t(opt_t)) if sched_o else (None, None)
    for _ in range(5):
        for model, opt, x in ((ours_model, opt_o, tg.tensor(X)),
                              (theirs_model, opt_t, torch.from_numpy(X))):
            opt.zero_grad(False)  # set_to_none, positionally
            opt.step(lambda model=model, x=x: model(x).square().sum().backward())
        if so is not None:
            so.step()
            st.step()
            assert so.get_last_lr() == pytest.approx(st.get_last_lr(), rel=1e-12)
    for p, tp in zip(ours_model.parameters(), theirs_model.parameters()):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)
    for key, value in opt_t.param_groups[0].items():
        if key != "params":
            assert opt_o.param_groups[0][key] == value, key
