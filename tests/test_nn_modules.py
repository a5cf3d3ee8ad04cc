"""Module's toolbox beyond layers, each against torch: containers, lookups by dotted name,
buffers, dtype casts, hooks, nn.init and nn.utils."""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
from tests.helpers import assert_close, inputs
from tinygrad_ce import nn


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random weights: runs are repeatable."""
    tg.manual_seed(0)
    torch.manual_seed(0)


def keys(m) -> list[str]:
    return list(m.state_dict())


def both(build):
    """The same model built with each library's nn."""
    return build(nn), build(torch.nn)


def twin(ours, theirs) -> None:
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})


# ----- containers ----------------------------------------------------------------------------
class Blocks:
    @staticmethod
    def build(N):
        class Net(N.Module):
            def __init__(self):
                super().__init__()
                self.layers = N.ModuleList([N.Linear(3, 4), N.Tanh(), N.Linear(4, 4)])
                self.heads = N.ModuleDict({"a": N.Linear(4, 2), "b": N.Linear(4, 1)})
                self.bn = N.BatchNorm1d(4)

            def forward(self, x):
                for layer in self.layers:
                    x = layer(x)
                x = self.bn(x)
                return self.heads["a"](x).sum(1) + self.heads["b"](x).sum(1)

        return Net()


def test_modulelist_and_moduledict_names_and_training_match_torch():
    ours, theirs = both(Blocks.build)
    assert keys(ours) == keys(theirs)
    assert [k for k, _ in ours.named_modules()] == [k for k, _ in theirs.named_modules()]
    assert [k for k, _ in ours.named_buffers()] == [k for k, _ in theirs.named_buffers()]
    # float64: the bias before the BatchNorm has a zero gradient up to rounding
    ours.double()
    theirs.double()
    twin(ours, theirs)
    x = inputs([(5, 3)], np.float64)[0]
    for _ in range(2):
        ours.zero_grad()
        theirs.zero_grad()
        out, out_t = ours(tg.tensor(x)), theirs(torch.from_numpy(x))
        assert_close(out, out_t)
        out.square().sum().backward()
        out_t.square().sum().backward()
        for (k, p), q in zip(ours.named_parameters(), theirs.parameters()):
            assert_close(p.grad, q.grad, what=k, atol=1e-9)
    for k, v in ours.state_dict().items():
        assert_close(v, theirs.state_dict()[k], what=k)


EDITS = [
    lambda N, c: c.append(N.ReLU()),
    lambda N, c: c.extend([N.ReLU(), N.Linear(2, 2)]),
    lambda N, c: c.insert(1, N.Linear(2, 5)),
    lambda N, c: c.insert(3, N.Linear(2, 5)),
    lambda N, c: c.__delitem__(0),
    lambda N, c: c.__delitem__(slice(0, 2)),
    lambda N, c: c.__delitem__(-1),
    lambda N, c: c.__setitem__(1, N.Linear(2, 7)),
]


# (torch's ModuleList.insert with a negative index makes a key "-1": not a habit to copy)
@pytest.mark.parametrize("kind,edit", [("Sequential", e) for e in EDITS]
                         + [("ModuleList", e) for e in EDITS]
                         + [("Sequential", lambda N, c: c.insert(-1, N.Linear(2, 5)))])
def test_editing_sequential_and_modulelist_gives_torchs_keys(edit, kind):
    def build(N):
        parts = [N.Linear(2, 3), N.ReLU(), N.Linear(3, 2)]
        c = N.Sequential(*parts) if kind == "Sequential" else N.ModuleList(parts)
        edit(N, c)
        return c

    ours, theirs = both(build)
    assert keys(ours) == keys(theirs)
    assert [k for k, _ in ours.named_children()] == [k for k, _ in theirs.named_children()]
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert len(ours) == len(theirs)
    for i in range(len(ours)):
        assert type(ours[i]).__name__ == type(theirs[i]).__name__
        assert getattr(ours, str(i)) is ours[i]


def test_sequential_after_editing_still_runs_as_torchs():
    ours, theirs = both(lambda N: N.Sequential(N.Linear(2, 3), N.ReLU()).extend(
        [N.Linear(3, 2)]))
    twin(ours, theirs)
    ours.insert(1, nn.Tanh())
    theirs.insert(1, torch.nn.Tanh())
    del ours[2]
    del theirs[2]
    x = inputs([(4, 2)], np.float32)[0]
    assert_close(ours(tg.tensor(x)), theirs(torch.from_numpy(x)), np.float32)


def test_modulelist_slicing_adding_and_moduledict_methods_follow_torch():
    ours, theirs = both(lambda N: N.ModuleList([N.ReLU(), N.Tanh(), N.Sigmoid()]))
    assert [type(m).__name__ for m in ours[1:]] == [type(m).__name__ for m in theirs[1:]]
    assert isinstance(ours[1:], nn.ModuleList)
    assert keys(ours + ours) == keys(theirs + theirs)
    ours += [nn.ReLU()]
    theirs += [torch.nn.ReLU()]
    assert len(ours) == len(theirs) == 4
    d, dt = both(lambda N: N.ModuleDict([("x", N.Linear(1, 1)), ("y", N.ReLU())]))
    assert list(d) == list(dt) and list(d.keys()) == list(dt.keys())
    assert "x" in d and "z" not in d
    d["z"], dt["z"] = nn.Linear(1, 2), torch.nn.Linear(1, 2)
    assert keys(d) == keys(dt)
    assert type(d.pop("x")).__name__ == type(dt.pop("x")).__name__
    del d["y"]
    del dt["y"]
    assert keys(d) == keys(dt) and len(d) == len(dt)
    d.update(OrderedDict(w=nn.ReLU()))
    dt.update(OrderedDict(w=torch.nn.ReLU()))
    assert list(d) == list(dt)
    d.clear()
    dt.clear()
    assert len(d) == len(dt) == 0


# ----- lookups, buffers, state -------------------------------------------------------------
def test_get_submodule_parameter_and_buffer_match_torch():
    ours, theirs = both(Blocks.build)
    for name in ["", "layers", "layers.0", "heads.a", "bn"]:
        assert type(ours.get_submodule(name)).__name__ == type(theirs.get_submodule(name)).__name__
    for name, _ in theirs.named_parameters():
        assert ours.get_parameter(name).shape == tuple(theirs.get_parameter(name).shape)
    assert ours.get_parameter("layers.2.bias") is ours.layers[2].bias
    for name, _ in theirs.named_buffers():
        assert ours.get_buffer(name) is dict(ours.named_buffers())[name]


def test_register_buffer_persistent_and_named_buffers_match_torch():
    def build(N):
        m = N.Linear(2, 2)
        lib = tg if N is nn else torch
        m.register_buffer("kept", lib.ones(2))
        m.register_buffer("scratch", lib.zeros(3), persistent=False)
        m.register_buffer("absent", None)
        return N.Sequential(m, N.BatchNorm1d(2))

    ours, theirs = both(build)
    assert keys(ours) == keys(theirs)
    assert [k for k, _ in ours.named_buffers()] == [k for k, _ in theirs.named_buffers()]
    assert [k for k, _ in ours.named_buffers(prefix="m", recurse=True)] == \
        [k for k, _ in theirs.named_buffers(prefix="m", recurse=True)]
    assert [k for k, _ in ours[1].named_buffers(recurse=False)] == \
        [k for k, _ in theirs[1].named_buffers(recurse=False)]


def test_state_dict_keep_vars_gives_the_tensors_themselves():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    sd = m.state_dict(keep_vars=True)
    assert sd["0.weight"] is m[0].weight and sd["1.running_var"] is m[1].running_var
    plain = m.state_dict()
    assert isinstance(plain["0.weight"], np.ndarray)
    assert not np.shares_memory(plain["0.weight"], m[0].weight.numpy())
    assert list(m.state_dict(prefix="pre.")) == ["pre." + k for k in sd]
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    with pytest.warns(FutureWarning, match="Positional args are being deprecated"):
        ours_old = m.state_dict(None, "pre.", True)
    with pytest.warns(FutureWarning, match="Positional args are being deprecated"):
        theirs_old = theirs.state_dict(None, "pre.", True)
    assert list(ours_old) == list(theirs_old)
    assert ours_old["pre.0.weight"] is m[0].weight


@pytest.mark.parametrize("cast", [
    lambda m, L: m.half(), lambda m, L: m.double().float(), lambda m, L: m.cpu(),
    lambda m, L: m.to("cpu"), lambda m, L: m.to(device="cpu", dtype=L.float64),
    lambda m, L: m.type(L.float64), lambda m, L: m.to(L.float16),
])
def test_dtype_and_device_casts_match_torchs_state(cast):
    ours, theirs = both(lambda N: N.Sequential(N.Linear(2, 3), N.BatchNorm1d(3)))
    assert cast(ours, tg) is ours
    cast(theirs, torch)
    for (k, v), tv in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert v.dtype == tv.numpy().dtype, k


def test_module_to_a_device_other_than_cpu_says_so():
    with pytest.raises(RuntimeError, match="the only device is 'cpu'"):
        nn.Linear(2, 2).to("cuda")


# ----- hooks -------------------------------------------------------------------------------
def _hooked(N, lib, log, replace=False):
    model = N.Sequential(N.Linear(3, 4), N.Tanh(), N.Linear(4, 2))

    def fwd(m, args, out):
        log.append(("fwd", type(m).__name__, args[0].shape, out.detach().numpy().copy()))

    def pre(m, args):
        log.append(("pre", type(m).__name__))
        return (args[0] * 2,)

    def bwd(m, grad_input, grad_output):
        log.append(("bwd", type(m).__name__,
                    [None if g is None else g.detach().numpy().copy() for g in grad_input],
                    [g.detach().numpy().copy() for g in grad_output]))
        if replace and grad_input[0] is not None:
            return (grad_input[0] * 3,)
        return None

    handles = [model[0].register_forward_hook(fwd), model[2].register_forward_pre_hook(pre),
               model[0].register_full_backward_hook(bwd), model[2].register_full_backward_hook(bwd)]
    return model, handles


def _normalise(log):
    out = []
    for entry in log:
        out.append(tuple(tuple(x) if isinstance(x, torch.Size) else x for x in entry))
    return out


@pytest.mark.parametrize("input_grad", [False, True])
@pytest.mark.parametrize("replace", [False, True])
def test_forward_and_full_backward_hooks_see_what_torchs_see(input_grad, replace):
    log_o, log_t = [], []
    ours, handles = _hooked(nn, tg, log_o, replace)
    theirs, handles_t = _hooked(torch.nn, torch, log_t, replace)
    twin(ours, theirs)
    x = inputs([(5, 3)], np.float32)[0]
    xo, xt = tg.tensor(x, requires_grad=input_grad), torch.tensor(x, requires_grad=input_grad)
    out_o, out_t = ours(xo), theirs(xt)
    assert_close(out_o, out_t, np.float32)
    up = inputs([(5, 2)], np.float32, seed=2)[0]
    with warnings.catch_warnings(record=True) as w_o:
        warnings.simplefilter("always")
        out_o.backward(tg.tensor(up))
    with warnings.catch_warnings(record=True) as w_t:
        warnings.simplefilter("always")
        out_t.backward(torch.from_numpy(up))
    # torch warns when a hook fires with no input gradient (the first layer's): so do we
    assert [str(w.message).split(" See")[0] for w in w_o] == \
        [str(w.message).split(" See")[0] for w in w_t]
    assert len(log_o) == len(log_t)
    for a, b in zip(_normalise(log_o), _normalise(log_t)):
        assert a[:2] == b[:2]
        if a[0] == "fwd":
            assert a[2] == tuple(b[2])
            assert_close(a[3], b[3], np.float32)
        if a[0] == "bwd":
            for ga, gb in zip(a[2] + a[3], b[2] + b[3]):
                assert (ga is None) == (gb is None)
                if ga is not None:
                    assert_close(ga, gb, np.float32)
    for (k, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(p.grad, q.grad, np.float32, k)
    if input_grad:
        assert_close(xo.grad, xt.grad, np.float32)
    for h in handles:
        h.remove()
    log_o.clear()
    ours(xo).sum().backward()
    assert log_o == []


@pytest.mark.parametrize("b_grad", [True, False])
@pytest.mark.parametrize("replace", [False, True])
def test_full_backward_hook_of_a_module_with_several_inputs_matches_torch(replace, b_grad):
    def build(N, log):
        class Mix(N.Module):
            def __init__(self):
                super().__init__()
                self.lin = N.Linear(3, 3)

            def forward(self, a, scale, b):
                return (self.lin(a) * b).tanh() * scale + a * b

        m = Mix()

        def hook(mod, grad_input, grad_output):
            log.append([None if g is None else g.detach().numpy().copy()
                        for g in (*grad_input, *grad_output)])
            if replace:
                return (grad_input[0] * 2, None, grad_input[2] - 1)
            return None

        m.register_full_backward_hook(hook)
        return m

    log_o, log_t = [], []
    ours, theirs = build(nn, log_o).double(), build(torch.nn, log_t).double()
    twin(ours, theirs)
    a, b, scale = inputs([(4, 3), (4, 3), (3,)], np.float64)
    ao, bo = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=b_grad)
    at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=b_grad)
    out_o, out_t = ours(ao, tg.tensor(scale), bo), theirs(at, torch.tensor(scale), bt)
    assert_close(out_o, out_t)
    (out_o * out_o).sum().backward()
    (out_t * out_t).sum().backward()
    assert len(log_o) == len(log_t) == 1
    for g_o, g_t in zip(log_o[0], log_t[0]):
        assert (g_o is None) == (g_t is None)
        if g_o is not None:
            assert_close(g_o, g_t)
    assert_close(ao.grad, at.grad)
    if b_grad:
        assert_close(bo.grad, bt.grad)
    for (k, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(p.grad, q.grad, what=k)


def test_full_backward_pre_hook_sees_and_may_replace_grad_output_as_torchs():
    def build(N, log):
        model = N.Sequential(N.Linear(3, 4), N.Tanh(), N.Linear(4, 2))

        def pre(m, grad_output):
            log.append(grad_output[0].detach().numpy().copy())
            return (grad_output[0] * 2,)

        handle = model[2].register_full_backward_pre_hook(pre)
        return model, handle

    log_o, log_t = [], []
    (ours, handle), (theirs, _) = build(nn, log_o), build(torch.nn, log_t)
    twin(ours, theirs)
    x = inputs([(5, 3)], np.float32)[0]
    ours(tg.tensor(x)).square().sum().backward()
    theirs(torch.from_numpy(x)).square().sum().backward()
    assert len(log_o) == len(log_t) == 1
    assert_close(log_o[0], log_t[0], np.float32)
    for (k, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(p.grad, q.grad, np.float32, k)
    handle.remove()
    ours(tg.tensor(x)).sum().backward()
    assert len(log_o) == 1


def test_forward_hook_may_replace_the_output_and_prepend_orders_hooks():
    m = nn.Linear(2, 2)
    order = []
    m.register_forward_hook(lambda mod, args, out: order.append("second"))
    m.register_forward_hook(lambda mod, args, out: order.append("first"), prepend=True)
    with m.register_forward_hook(lambda mod, args, out: out * 0):
        assert not m(tg.ones(1, 2)).numpy().any()
    assert m(tg.ones(1, 2)).numpy().any()
    assert order == ["first", "second"] * 2
    kw = []
    m.register_forward_hook(lambda mod, args, kwargs, out: kw.append(kwargs), with_kwargs=True)
    m(tg.ones(1, 2))
    assert kw == [{}]


# ----- nn.init -------------------------------------------------------------------------------
@pytest.mark.parametrize("name,param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
])
def test_calculate_gain_is_torchs(name, param):
    assert nn.init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)


@pytest.mark.parametrize("shape", [(3, 5), (4, 2, 3), (6, 3, 2, 2)])
def test_fans_are_torchs(shape):
    from torch.nn.init import _calculate_fan_in_and_fan_out as fans_t

    from tinygrad_ce.nn.init import _calculate_fan_in_and_fan_out as fans
    assert fans(tg.zeros(*shape)) == fans_t(torch.zeros(*shape))


def _spread(fn_o, fn_t, shape=(300, 400)):
    """Our draws and torch's for the same init: (max |x|, std) of each."""
    a = fn_o(tg.zeros(*shape)).numpy()
    b = fn_t(torch.zeros(*shape)).numpy()
    return (np.abs(a).max(), a.std(), a.mean()), (np.abs(b).max(), b.std(), b.mean())


@pytest.mark.parametrize("name,kw", [
    ("uniform_", {"a": -2.0, "b": 3.0}), ("normal_", {"mean": 0.5, "std": 2.0}),
    ("xavier_uniform_", {}), ("xavier_uniform_", {"gain": 2.0}), ("xavier_normal_", {}),
    ("kaiming_uniform_", {}), ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {}), ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "tanh"}),
])
def test_random_inits_have_torchs_distribution(name, kw):
    torch.manual_seed(0)
    tg.manual_seed(0)
    (max_o, std_o, mean_o), (max_t, std_t, mean_t) = _spread(
        lambda t: getattr(nn.init, name)(t, **kw), lambda t: getattr(torch.nn.init, name)(t, **kw))
    assert float(std_o) == pytest.approx(float(std_t), rel=0.02)
    assert float(mean_o) == pytest.approx(float(mean_t), abs=0.02 * float(std_t))
    if "uniform" in name:  # the same bounds: both reach within 0.1% of them
        assert float(max_o) == pytest.approx(float(max_t), rel=1e-3)


@pytest.mark.parametrize("name,args", [
    ("zeros_", ()), ("ones_", ()), ("constant_", (0.25,)), ("eye_", ()),
])
def test_constant_inits_match_torch(name, args):
    a = getattr(nn.init, name)(tg.ones(3, 4, dtype=tg.float64), *args)
    b = getattr(torch.nn.init, name)(torch.ones(3, 4, dtype=torch.float64), *args)
    assert a.dtype == np.float64
    assert_close(a, b)


def test_inits_follow_the_global_seed_keep_the_dtype_and_fill_parameters():
    layer = nn.Linear(3, 2, dtype=tg.float64)
    g = layer.weight.grad
    tg.manual_seed(7)
    w = nn.init.kaiming_normal_(layer.weight)
    first = w.numpy().copy()
    assert w is layer.weight and w.dtype == np.float64 and w.requires_grad and g is None
    tg.manual_seed(7)
    nn.init.kaiming_normal_(layer.weight)
    np.testing.assert_array_equal(layer.weight.numpy(), first)
    y = (layer.bias * layer.bias).sum()
    nn.init.zeros_(layer.bias)  # after use: backward must refuse, as torch's after an init
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


# ----- nn.utils ------------------------------------------------------------------------------
def _grads_pair(dtype=np.float32, scale=1.0):
    arrays = [a * scale for a in inputs([(3, 4), (4,), (2, 2)], dtype)]
    ours = [tg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    for p, q, a in zip(ours, theirs, arrays):
        p.grad, q.grad = tg.tensor(a * 2), torch.tensor(a * 2)
    return ours, theirs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, math.inf, "inf"])
def test_clip_grad_norm_matches_torch(dtype, max_norm, norm_type):
    ours, theirs = _grads_pair(dtype)
    held = ours[0].grad
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type, foreach=False)
    assert total.dtype == dtype
    assert_close(total, total_t, dtype)
    for p, q in zip(ours, theirs):
        assert_close(p.grad, q.grad, dtype)
    assert ours[0].grad is held  # in place: a gradient held sees the change


def test_clip_grad_norm_of_a_single_tensor_and_nonfinite_norms():
    p, q = tg.tensor([3.0, 4.0], requires_grad=True), torch.tensor([3.0, 4.0], requires_grad=True)
    p.grad, q.grad = tg.tensor([3.0, 4.0]), torch.tensor([3.0, 4.0])
    assert_close(nn.utils.clip_grad_norm_(p, 1.0), torch.nn.utils.clip_grad_norm_(q, 1.0),
                 np.float32)
    assert_close(p.grad, q.grad, np.float32)
    p.grad, q.grad = tg.tensor([np.inf, 1.0]), torch.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite") as e:
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as e_t:
        torch.nn.utils.clip_grad_norm_(q, 1.0, error_if_nonfinite=True)
    assert str(e_t.value) in str(e.value)
    np.testing.assert_array_equal(p.grad.numpy(), [np.inf, 1.0])  # left as it was
    assert_close(nn.utils.clip_grad_norm_(p, 1.0), torch.nn.utils.clip_grad_norm_(q, 1.0),
                 np.float32)
    assert_close(p.grad, q.grad, np.float32)
    assert_close(nn.utils.clip_grad_norm_([], 1.0), torch.nn.utils.clip_grad_norm_([], 1.0))


def test_clip_grad_value_matches_torch():
    ours, theirs = _grads_pair(scale=3.0)
    assert nn.utils.clip_grad_value_(ours, 1.5) is None
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, q in zip(ours, theirs):
        assert_close(p.grad, q.grad, np.float32)


def test_parameters_to_vector_and_back_match_torch():
    ours, theirs = both(lambda N: N.Sequential(N.Linear(3, 2), N.Linear(2, 1)))
    twin(ours, theirs)
    v, vt = (nn.utils.parameters_to_vector(ours.parameters()),
             torch.nn.utils.parameters_to_vector(theirs.parameters()))
    assert_close(v, vt, np.float32)
    up = inputs([v.shape], np.float32)[0]
    (v * tg.tensor(up)).sum().backward()
    (vt * torch.from_numpy(up)).sum().backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert_close(p.grad, q.grad, np.float32)
    new = np.arange(v.numel(), dtype=np.float32)
    nn.utils.vector_to_parameters(tg.tensor(new), ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.from_numpy(new), theirs.parameters())
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert_close(a, b, np.float32, k)
    x = inputs([(4, 3)], np.float32)[0]
    assert_close(ours(tg.tensor(x)), theirs(torch.from_numpy(x)), np.float32)


# ----- torch's signatures ------------------------------------------------------------------
SIGNATURES = [
    *[("functional", n) for n in ("dropout", "embedding", "layer_norm", "batch_norm", "l1_loss",
                                  "smooth_l1_loss", "binary_cross_entropy",
                                  "binary_cross_entropy_with_logits")],
    *[("init", n) for n in ("calculate_gain", "uniform_", "normal_", "constant_", "zeros_",
                            "ones_", "eye_", "xavier_uniform_", "xavier_normal_",
                            "kaiming_uniform_", "kaiming_normal_")],
    *[("utils", n) for n in ("clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
                             "vector_to_parameters")],
    *[("", n + ".__init__") for n in ("Embedding", "LayerNorm", "BatchNorm1d", "Flatten",
                                      "ModuleList", "ModuleDict", "L1Loss", "SmoothL1Loss",
                                      "BCELoss", "BCEWithLogitsLoss")],
    *[("", "Module." + n) for n in ("register_buffer", "state_dict", "get_submodule",
                                    "get_parameter", "get_buffer", "named_buffers",
                                    "register_forward_hook", "register_forward_pre_hook",
                                    "register_full_backward_hook",
                                    "register_full_backward_pre_hook", "half", "cpu", "type")],
    *[("", "Sequential." + n) for n in ("insert", "extend", "append")],
    ("", "Embedding.from_pretrained"),
]


def _resolve(root, where: str, name: str):
    obj = getattr(root, where) if where else root
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("where,name", SIGNATURES)
def test_names_have_torchs_parameters_and_defaults(where, name):
    import inspect

    ours = inspect.signature(_resolve(nn, where, name)).parameters
    theirs = inspect.signature(_resolve(torch.nn, where, name)).parameters
    assert list(ours) == list(theirs)
    for k in theirs:
        assert ours[k].default == theirs[k].default, k
        assert ours[k].kind == theirs[k].kind, k


@pytest.mark.parametrize("where,name", [("", "Conv2d"), ("functional", "conv2d"),
                                        ("init", "trunc_normal_"), ("utils", "weight_norm")])
def test_a_torch_name_we_lack_says_so(where, name):
    module = getattr(nn, where) if where else nn
    assert not hasattr(module, name)
    prefix = f"tinygrad_ce.nn.{where + '.' if where else ''}"
    with pytest.raises(AttributeError, match=f"{prefix}{name}: not supported here") as info:
        getattr(module, name)
    assert isinstance(info.value, NotImplementedError)
