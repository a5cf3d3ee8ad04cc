"""Every optimizer and option, step by step against torch.optim (parameters and state, float32
and float64); optimizer state both ways (ours into torch's optimizer and torch's into ours,
the next step matching); param_groups edited mid-training; add_param_group; torch's
keywords; a 0-d tensor lr."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
from tinygrad_ce import optim

TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
# torch's float32 kernels fuse multiply-adds: a last-bit difference per step, which the
# parameter-dependent gradient carries on; float64 agrees to rounding
TOL = {np.float32: dict(rtol=3e-5, atol=3e-6), np.float64: dict(rtol=1e-13, atol=1e-14)}
SHAPES = [(3, 4), (4,), ()]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def to_torch(tree):
    """The README's tree-map: our tensors become torch tensors, leaf by leaf."""
    if isinstance(tree, dict):
        return {k: to_torch(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(to_torch(v) for v in tree)
    return torch.from_numpy(np.array(tree)) if isinstance(tree, (tg.Tensor, np.ndarray)) else tree


def twins(dtype, seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [tg.tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return ours, theirs


def gradient(values: np.ndarray, k: int) -> np.ndarray:
    # a gradient that depends on the parameter (as in training) and changes sign and scale
    return np.asarray(np.sin(3 * values + k) * (1 + 0.5 * k) + 0.1 * values, values.dtype)


def set_grads(ours, theirs, k):
    for p, q in zip(ours, theirs):
        p.grad = tg.tensor(gradient(p.numpy(), k))
        q.grad = torch.from_numpy(gradient(q.detach().numpy(), k))


def assert_same_params(ours, theirs, dtype, what=""):
    for i, (p, q) in enumerate(zip(ours, theirs)):
        assert p.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), **TOL[dtype],
                                   err_msg=f"{what} param {i}")


def assert_same_state(ours, theirs, dtype, what=""):
    so, st = ours.state_dict(), theirs.state_dict()
    assert so["state"].keys() == st["state"].keys(), what
    for i, entry in st["state"].items():
        assert so["state"][i].keys() == entry.keys(), f"{what} state keys of {i}"
        for k, v in entry.items():
            mine = so["state"][i][k]
            assert isinstance(mine, tg.Tensor), f"{what} {k} is a {type(mine).__name__}"
            assert mine.shape == tuple(v.shape), f"{what} {k}"
            assert mine.dtype == np.dtype(str(v.dtype).replace("torch.", "")), f"{what} {k}"
            np.testing.assert_allclose(mine.numpy(), v.numpy(), **TOL[dtype],
                                       err_msg=f"{what} state {i} {k}")
    assert len(so["param_groups"]) == len(st["param_groups"])
    for go, gt in zip(so["param_groups"], st["param_groups"]):
        assert go.keys() == gt.keys(), f"{what}: group keys {set(go) ^ set(gt)}"
        for k, v in gt.items():
            mine = go[k]
            if isinstance(v, torch.Tensor):
                assert isinstance(mine, tg.Tensor) and mine.item() == v.item(), k
            else:
                assert mine == v, f"{what} group option {k}: {mine!r} != torch's {v!r}"


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, maximize=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.02, amsgrad=True, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2, amsgrad=True, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, weight_decay=0.01, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.05, eps=1e-6, maximize=True)),
]
IDS = [f"{n}-{o}" for n, o in CASES]


def pair(name, options, ours_params, theirs_params, tensor_lr=False):
    options = dict(options)
    ours_opts, theirs_opts = dict(options), dict(options)
    if tensor_lr:
        lr = options.get("lr", 1e-2)
        ours_opts["lr"], theirs_opts["lr"] = tg.tensor(lr), torch.tensor(lr)
    return (getattr(optim, name)(ours_params, **ours_opts),
            getattr(torch.optim, name)(theirs_params, **theirs_opts))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,options", CASES, ids=IDS)
def test_each_step_matches_torch(name, options, dtype):
    ours, theirs = twins(dtype)
    oo, ot = pair(name, options, ours, theirs)
    for k in range(8):
        set_grads(ours, theirs, k)
        oo.step()
        ot.step()
        assert_same_params(ours, theirs, dtype, f"{name} {options} step {k}")
    assert_same_state(oo, ot, dtype, f"{name} {options}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,options", [
    ("SGD", dict(lr=0.0137, momentum=0.9)), ("Adam", dict(lr=0.0137)),
    ("AdamW", dict(lr=0.0137, weight_decay=0.3)), ("RMSprop", dict(lr=0.0137, momentum=0.5)),
    ("Adagrad", dict(lr=0.0137, lr_decay=0.1))])
def test_a_0d_tensor_lr_steps_as_torchs(name, options, dtype):
    # torch computes Adam's and Adagrad's step size in the lr tensor's dtype (float32)
    ours, theirs = twins(dtype)
    oo, ot = pair(name, options, ours, theirs, tensor_lr=True)
    for k in range(6):
        set_grads(ours, theirs, k)
        oo.step()
        ot.step()
        assert_same_params(ours, theirs, dtype, f"{name} step {k}")
    assert_same_state(oo, ot, dtype, name)
    # a schedule writes into the tensor, as torch's does
    lr = oo.param_groups[0]["lr"]
    so, st = optim.StepLR(oo, 1, 0.5), torch.optim.lr_scheduler.StepLR(ot, 1, 0.5)
    set_grads(ours, theirs, 8)
    oo.step()
    ot.step()
    so.step()
    st.step()
    assert oo.param_groups[0]["lr"] is lr and lr.item() == ot.param_groups[0]["lr"].item()
    set_grads(ours, theirs, 9)
    oo.step()
    ot.step()
    assert_same_params(ours, theirs, dtype, f"{name} after the schedule")


def test_bad_tensor_lr_raises_torchs_error():
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        optim.SGD([tg.ones(1, requires_grad=True)], lr=tg.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam([tg.ones(1, requires_grad=True)], lr=tg.tensor(-0.1))


# ----- state both ways ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,options", CASES, ids=IDS)
def test_our_state_dict_loads_into_torch_and_the_next_steps_match(name, options, dtype):
    ours, _ = twins(dtype)
    oo = getattr(optim, name)(ours, **options)
    for k in range(4):
        set_grads(ours, [torch.zeros(1)] * len(ours), k)
        oo.step()
    saved = oo.state_dict()
    theirs = [torch.tensor(p.numpy().copy(), requires_grad=True) for p in ours]
    # made with other hyperparameters: the state dict brings ours
    ot = getattr(torch.optim, name)(theirs, lr=0.5)
    ot.load_state_dict(to_torch(saved))
    assert_same_state(oo, ot, dtype, "after loading")
    for k in range(4, 7):
        set_grads(ours, theirs, k)
        oo.step()
        ot.step()
        assert_same_params(ours, theirs, dtype, f"{name} step {k}")
    assert_same_state(oo, ot, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,options", CASES, ids=IDS)
def test_torchs_state_dict_loads_into_ours_and_the_next_steps_match(name, options, dtype):
    _, theirs = twins(dtype)
    ot = getattr(torch.optim, name)(theirs, foreach=False, **options)
    for k in range(4):
        for q in theirs:
            q.grad = torch.from_numpy(gradient(q.detach().numpy(), k))
        ot.step()
    ours = [tg.tensor(q.detach().numpy().copy(), requires_grad=True) for q in theirs]
    oo = getattr(optim, name)(ours, lr=0.5)
    oo.load_state_dict(ot.state_dict())  # torch tensors as they are
    assert_same_state(oo, ot, dtype, "after loading")
    for k in range(4, 7):
        set_grads(ours, theirs, k)
        oo.step()
        ot.step()
        assert_same_params(ours, theirs, dtype, f"{name} step {k}")


def test_state_dict_has_torchs_structure_before_and_after_a_step():
    for name, options in CASES:
        ours, theirs = twins(np.float32)
        oo, ot = pair(name, options, ours, theirs)
        assert_same_state(oo, ot, np.float32, f"{name} fresh")  # Adagrad: state from the start
        set_grads(ours, theirs, 0)
        oo.step()
        ot.step()
        so = oo.state_dict()
        assert_same_state(oo, ot, np.float32, name)
        if name != "SGD":
            step = so["state"][0]["step"]
            assert step.shape == () and step.dtype == np.float32 and step.item() == 1.0
            assert step is not oo.state[ours[0]]["step"]  # a copy


def test_state_dict_with_named_parameters_and_several_groups_matches_torch():
    ours, theirs = twins(np.float64)
    oo = optim.Adam([{"params": [("w", ours[0]), ("b", ours[1])]},
                     {"params": [("s", ours[2])], "lr": 0.1, "amsgrad": True}], lr=0.01)
    ot = torch.optim.Adam([{"params": [("w", theirs[0]), ("b", theirs[1])]},
                           {"params": [("s", theirs[2])], "lr": 0.1, "amsgrad": True}],
                          lr=0.01)
    for k in range(3):
        set_grads(ours, theirs, k)
        oo.step()
        ot.step()
    assert oo.state_dict()["param_groups"][1]["param_names"] == ["s"]
    assert_same_state(oo, ot, np.float64)
    assert_same_params(ours, theirs, np.float64)


def test_loading_casts_the_state_to_the_parameters_dtype_as_torch():
    ours, theirs = twins(np.float32)
    ot = torch.optim.RMSprop(theirs, momentum=0.5, centered=True)
    for q in theirs:
        q.grad = torch.ones_like(q)
    ot.step()
    doubles = [tg.tensor(q.detach().numpy().astype(np.float64), requires_grad=True)
               for q in theirs]
    oo = optim.RMSprop(doubles, momentum=0.5, centered=True)
    oo.load_state_dict(ot.state_dict())
    state = oo.state[doubles[0]]
    assert state["square_avg"].dtype == np.float64 and state["step"].dtype == np.float32


# ----- mid-training edits --------------------------------------------------------------------
@pytest.mark.parametrize("name,options,edits", [
    ("SGD", dict(lr=0.1, momentum=0.5), dict(lr=0.03, momentum=0.9, weight_decay=0.1)),
    ("SGD", dict(lr=0.1), dict(maximize=True, lr=0.01)),
    ("Adam", dict(lr=0.01), dict(lr=0.05, betas=(0.5, 0.9), weight_decay=0.1, eps=1e-3)),
    ("AdamW", dict(lr=0.01), dict(weight_decay=0.5, lr=0.002)),
    ("RMSprop", dict(lr=0.01), dict(alpha=0.5, lr=0.001, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1), dict(lr=0.5, lr_decay=0.2)),
])
def test_param_groups_edited_mid_training_take_effect(name, options, edits):
    ours, theirs = twins(np.float64)
    oo, ot = pair(name, options, ours, theirs)
    for k in range(6):
        if k == 3:
            for opt in (oo, ot):
                opt.param_groups[0].update(edits)
        set_grads(ours, theirs, k)
        oo.step()
        ot.step()
        assert_same_params(ours, theirs, np.float64, f"{name} step {k}")


@pytest.mark.parametrize("name,options", [("SGD", dict(lr=0.1, momentum=0.9)),
                                          ("Adam", dict(lr=0.01)),
                                          ("RMSprop", dict(lr=0.01, centered=True)),
                                          ("Adagrad", dict(lr=0.1))])
def test_add_param_group_mid_training(name, options):
    ours, theirs = twins(np.float64)
    oo, ot = pair(name, options, ours[:2], theirs[:2])
    for k in range(6):
        if k == 2:
            oo.add_param_group({"params": ours[2], "lr": 0.3})
            ot.add_param_group({"params": theirs[2], "lr": 0.3})
        set_grads(ours, theirs, k)
        oo.step()
        ot.step()
        assert_same_params(ours, theirs, np.float64, f"{name} step {k}")
    assert_same_state(oo, ot, np.float64)
    with pytest.raises(ValueError, match="more than one parameter group"):
        oo.add_param_group({"params": [ours[0]]})
    with pytest.raises(TypeError, match="ordered collections"):
        oo.add_param_group({"params": {tg.ones(1, requires_grad=True)}})
    assert len(oo.param_groups) == 2


def test_a_group_is_the_dict_given_as_in_torch():
    group = {"params": [tg.ones(2, requires_grad=True)], "lr": 0.5}
    opt = optim.SGD([tg.ones(1, requires_grad=True)], lr=0.1)
    opt.add_param_group(group)
    assert opt.param_groups[1] is group and group["momentum"] == 0


# ----- torch's keywords ---------------------------------------------------------------------
@pytest.mark.parametrize("name,flags", [
    ("SGD", dict(foreach=True)), ("SGD", dict(fused=True)),
    ("Adam", dict(foreach=True)), ("Adam", dict(fused=True)), ("Adam", dict(capturable=True)),
    ("AdamW", dict(fused=True)), ("RMSprop", dict(foreach=True)),
    ("RMSprop", dict(capturable=True)), ("Adagrad", dict(foreach=True)),
    ("Adagrad", dict(fused=True))])
def test_kernel_keywords_are_accepted_and_change_nothing(name, flags):
    ours, theirs = twins(np.float64)
    oo = getattr(optim, name)(ours, **flags)
    ot = getattr(torch.optim, name)(theirs, foreach=False)
    for k in range(3):
        set_grads(ours, theirs, k)
        oo.step()
        ot.step()
    assert_same_params(ours, theirs, np.float64)
    for key, value in flags.items():
        assert oo.param_groups[0][key] == value


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_differentiable_steps_are_refused_before_anything_is_made(name):
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        getattr(optim, name)([tg.ones(1, requires_grad=True)], differentiable=True)


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad"])
def test_fused_with_foreach_or_differentiable_raises_torchs_error(name):
    for kw, msg in ((dict(fused=True, foreach=True), "cannot be `True` together"),
                    (dict(fused=True, differentiable=True), "does not support `differentiable`")):
        with pytest.raises(RuntimeError, match=msg):
            getattr(torch.optim, name)([torch.ones(1, requires_grad=True)], **kw)
        with pytest.raises(RuntimeError, match=msg):
            getattr(optim, name)([tg.ones(1, requires_grad=True)], **kw)


@pytest.mark.parametrize("name,kw", [
    ("RMSprop", dict(lr=-1.0)), ("RMSprop", dict(alpha=-0.1)), ("RMSprop", dict(eps=-1.0)),
    ("RMSprop", dict(momentum=-0.5)), ("RMSprop", dict(weight_decay=-1.0)),
    ("Adagrad", dict(lr=-1.0)), ("Adagrad", dict(lr_decay=-0.1)),
    ("Adagrad", dict(weight_decay=-1.0)), ("Adagrad", dict(initial_accumulator_value=-1.0)),
    ("Adagrad", dict(eps=-1.0))])
def test_bad_hyperparameters_raise_torchs_error(name, kw):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kw)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([tg.zeros(1, requires_grad=True)], **kw)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name,args", [
    ("RMSprop", (0.01, 0.9, 1e-6, 0.01, 0.5, True)),
    ("Adagrad", (0.1, 0.01, 0.01, 0.1, 1e-8))])
def test_positional_arguments_in_torchs_order(name, args):
    ours, theirs = twins(np.float64)
    oo = getattr(optim, name)(ours, *args)
    ot = getattr(torch.optim, name)(theirs, *args)
    for k in range(3):
        set_grads(ours, theirs, k)
        oo.step()
        ot.step()
    assert_same_params(ours, theirs, np.float64)
    assert_same_state(oo, ot, np.float64)


@pytest.mark.parametrize("missing", ["NAdam", "LBFGS", "Adadelta"])
def test_torch_optimizers_we_lack_say_so(missing):
    assert hasattr(torch.optim, missing) and not hasattr(optim, missing)
    with pytest.raises(NotImplementedError, match=f"{missing} is not implemented.*use SGD"):
        getattr(optim, missing)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        optim.Nope  # noqa: B018


def test_torchs_optimizer_hooks_say_they_are_missing():
    opt = optim.SGD([tg.ones(1, requires_grad=True)], lr=0.1)
    assert hasattr(torch.optim.SGD, "register_step_pre_hook")
    assert not hasattr(opt, "register_step_pre_hook")
    with pytest.raises(NotImplementedError, match="register_step_post_hook is not implemented"):
        opt.register_step_post_hook(print)
    with pytest.raises(AttributeError, match="'SGD' object has no attribute 'nope'"):
        opt.nope  # noqa: B018


@pytest.mark.parametrize("name", ["Adam", "Adagrad", "SGD"])
def test_a_tensor_lr_goes_both_ways_with_the_state(name):
    ours, theirs = twins(np.float32)
    oo, ot = pair(name, dict(lr=0.0137), ours, theirs, tensor_lr=True)
    for k in range(2):
        set_grads(ours, theirs, k)
        oo.step()
        ot.step()
    back = getattr(optim, name)(ours, lr=0.5)
    back.load_state_dict(ot.state_dict())  # torch's lr tensor becomes ours
    assert isinstance(back.param_groups[0]["lr"], tg.Tensor)
    assert back.param_groups[0]["lr"].item() == ot.param_groups[0]["lr"].item()
    there = getattr(torch.optim, name)(theirs, lr=0.5)
    there.load_state_dict(to_torch(oo.state_dict()))
    assert isinstance(there.param_groups[0]["lr"], torch.Tensor)
    set_grads(ours, theirs, 2)
    back.step()
    there.step()
    assert_same_params(ours, theirs, np.float32)
