"""Every learning-rate schedule against torch.optim.lr_scheduler: the rates (and the cycled
momentum) of every group over many steps, and a run resumed mid-way from state_dict()s
following torch's uninterrupted one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
from tinygrad_ce import optim
from tinygrad_ce.optim import lr_scheduler

STEPS = 40


def to_torch(tree):
    """The README's tree-map: our tensors become torch tensors, leaf by leaf."""
    if isinstance(tree, dict):
        return {k: to_torch(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(to_torch(v) for v in tree)
    return torch.from_numpy(np.array(tree)) if isinstance(tree, (tg.Tensor, np.ndarray)) else tree
RESUME_AT = 17


class Warmup:
    """A callable object: its ``__dict__`` goes into LambdaLR's state_dict, as in torch."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def __call__(self, epoch: int) -> float:
        return min(1.0, (epoch + 1) / self.epochs)


def decay(epoch: int) -> float:
    return 0.95 ** epoch


# name -> (optimizer, schedule), each a function of the library's namespaces
SCHEDULES = {
    "StepLR": lambda L, o: L.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, gamma=0.9),
    "LambdaLR": lambda L, o: L.LambdaLR(o, lr_lambda=decay),
    "LambdaLR-per-group": lambda L, o: L.LambdaLR(o, [Warmup(5), lambda e: 1 / (1 + e)]),
    "MultiplicativeLR": lambda L, o: L.MultiplicativeLR(o, lambda e: 0.9 if e % 2 else 0.97),
    "ConstantLR": lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=4),
    "LinearLR-warmup": lambda L, o: L.LinearLR(o, start_factor=0.25, total_iters=6),
    "LinearLR-decay": lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.1,
                                              total_iters=10),
    "PolynomialLR": lambda L, o: L.PolynomialLR(o, total_iters=8, power=2.0),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "OneCycleLR": lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 0.1], total_steps=STEPS),
    "OneCycleLR-linear-3phase": lambda L, o: L.OneCycleLR(
        o, max_lr=0.3, epochs=4, steps_per_epoch=10, pct_start=0.25,
        anneal_strategy="linear", three_phase=True, div_factor=10.0, final_div_factor=100.0),
    "OneCycleLR-no-momentum": lambda L, o: L.OneCycleLR(o, 0.2, STEPS, cycle_momentum=False),
    "SequentialLR": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=5), L.ExponentialLR(o, gamma=0.9)],
        milestones=[5]),
    "SequentialLR-three": lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, factor=0.3, total_iters=3),
            L.CosineAnnealingLR(o, T_max=10, eta_min=0.01), L.StepLR(o, 4, 0.5)],
        milestones=[4, 20]),
    "ChainedScheduler": lambda L, o: L.ChainedScheduler(
        [L.ConstantLR(o, factor=0.5, total_iters=3), L.ExponentialLR(o, gamma=0.95)]),
    "ReduceLROnPlateau": lambda L, o: L.ReduceLROnPlateau(o, patience=2, factor=0.5),
    "ReduceLROnPlateau-max-abs": lambda L, o: L.ReduceLROnPlateau(
        o, mode="max", threshold=0.05, threshold_mode="abs", cooldown=2, patience=1,
        min_lr=[0.01, 0.005]),
}
# a loss that improves, stalls and wobbles, for ReduceLROnPlateau
METRICS = [1 / (1 + k) if k < 8 else 0.12 + 0.01 * np.sin(k) for k in range(STEPS + 1)]


def make_optimizer(lib, name, params):
    if name.startswith("OneCycleLR") and name.endswith("3phase"):
        return lib.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}], lr=0.1)
    return lib.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}], lr=0.1,
                   momentum=0.9)


def build(which, name):
    if which == "ours":
        params = [tg.ones(2, requires_grad=True), tg.ones(3, requires_grad=True)]
        opt = make_optimizer(optim, name, params)
        return params, opt, SCHEDULES[name](lr_scheduler, opt)
    params = [torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)]
    opt = make_optimizer(torch.optim, name, params)
    return params, opt, SCHEDULES[name](torch.optim.lr_scheduler, opt)


def advance(params, opt, sched, k, lib):
    for p in params:
        p.grad = lib.ones(*p.shape) * 0.1
    opt.step()
    if isinstance(sched, (lr_scheduler.ReduceLROnPlateau,
                          torch.optim.lr_scheduler.ReduceLROnPlateau)):
        sched.step(METRICS[k])
    else:
        sched.step()


def snapshot(opt, sched):
    groups = [{k: (v.item() if hasattr(v, "item") else v) for k, v in g.items()
               if k in ("lr", "momentum", "betas", "initial_lr")} for g in opt.param_groups]
    return [float(v) for v in sched.get_last_lr()], groups


def assert_same(ours, theirs, what):
    (lo, go), (lt, gt) = ours, theirs
    assert lo == pytest.approx(lt, rel=1e-13, abs=1e-16), f"{what}: get_last_lr"
    for a, b in zip(go, gt):
        assert a.keys() == b.keys(), what
        for k in a:
            assert a[k] == pytest.approx(b[k], rel=1e-13, abs=1e-16), f"{what}: {k}"


@pytest.mark.parametrize("name", SCHEDULES)
def test_rates_follow_torch_for_many_steps(name):
    po, oo, so = build("ours", name)
    pt, ot, st = build("torch", name)
    assert_same(snapshot(oo, so), snapshot(ot, st), "at construction")
    for k in range(STEPS):
        advance(po, oo, so, k, tg)
        advance(pt, ot, st, k, torch)
        assert_same(snapshot(oo, so), snapshot(ot, st), f"{name} after step {k}")


@pytest.mark.parametrize("name", SCHEDULES)
def test_a_run_resumed_from_state_dicts_follows_torchs_uninterrupted_run(name):
    po, oo, so = build("ours", name)
    pt, ot, st = build("torch", name)
    for k in range(STEPS):
        if k == RESUME_AT:
            saved_opt, saved_sched = oo.state_dict(), so.state_dict()
            if name == "LambdaLR-per-group":
                assert saved_sched["lr_lambdas"] == [{"epochs": 5}, None]
                so.lr_lambdas[0].epochs = 99  # the fresh one's object is restored below
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the fresh schedule's own first step
                po, oo, so = build("ours", name)
            oo.load_state_dict(saved_opt)
            so.load_state_dict(saved_sched)
            assert_same(snapshot(oo, so), snapshot(ot, st), f"{name} resumed")
        advance(po, oo, so, k, tg)
        advance(pt, ot, st, k, torch)
        assert_same(snapshot(oo, so), snapshot(ot, st), f"{name} after step {k}")
    if name == "LambdaLR-per-group":
        assert so.lr_lambdas[0].epochs == 5


@pytest.mark.parametrize("name,kw", [("StepLR", dict(step_size=3, gamma=0.5)),
                                     ("MultiStepLR", dict(milestones=[2, 6], gamma=0.5)),
                                     ("ExponentialLR", dict(gamma=0.8)),
                                     ("LinearLR", dict(start_factor=0.5, total_iters=4)),
                                     ("CosineAnnealingLR", dict(T_max=6))])
def test_step_with_an_epoch_uses_torchs_closed_form(name, kw):
    ours = optim.SGD([tg.ones(1, requires_grad=True)], lr=0.1)
    theirs = torch.optim.SGD([torch.ones(1, requires_grad=True)], lr=0.1)
    so = getattr(optim, name)(ours, **kw)
    st = getattr(torch.optim.lr_scheduler, name)(theirs, **kw)
    ours.step()
    theirs.step()
    for epoch in (3, 7, 2, 10):
        with pytest.warns(UserWarning, match="epoch parameter"):
            so.step(epoch)
        with pytest.warns(UserWarning, match="epoch parameter"):
            st.step(epoch)
        assert so.get_last_lr() == pytest.approx(st.get_last_lr(), rel=1e-14)


def test_resuming_with_last_epoch_follows_torch():
    ours = optim.SGD([tg.ones(1, requires_grad=True)], lr=0.1)
    theirs = torch.optim.SGD([torch.ones(1, requires_grad=True)], lr=0.1)
    for opt in (ours, theirs):
        opt.param_groups[0]["initial_lr"] = 0.4
    so = optim.CosineAnnealingLR(ours, T_max=10, last_epoch=4)
    st = torch.optim.lr_scheduler.CosineAnnealingLR(theirs, T_max=10, last_epoch=4)
    for _ in range(8):
        assert so.get_last_lr() == pytest.approx(st.get_last_lr(), rel=1e-14)
        ours.step()
        theirs.step()
        so.step()
        st.step()
    fresh = optim.SGD([tg.ones(1, requires_grad=True)], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        optim.StepLR(fresh, 2, last_epoch=3)


def test_a_schedule_stepped_before_the_optimizer_warns_as_torchs():
    ours = optim.SGD([tg.ones(1, requires_grad=True)], lr=0.1)
    theirs = torch.optim.SGD([torch.ones(1, requires_grad=True)], lr=0.1)
    so, st = optim.StepLR(ours, 2), torch.optim.lr_scheduler.StepLR(theirs, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        st.step()
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        so.step()


def test_schedules_are_importable_both_ways_and_missing_ones_say_so():
    from tinygrad_ce.optim.lr_scheduler import OneCycleLR, StepLR

    assert optim.StepLR is StepLR and optim.OneCycleLR is OneCycleLR
    assert optim.lr_scheduler.ReduceLROnPlateau is optim.ReduceLROnPlateau
    for missing in ("CyclicLR", "CosineAnnealingWarmRestarts"):
        assert hasattr(torch.optim.lr_scheduler, missing)
        assert not hasattr(lr_scheduler, missing) and not hasattr(optim, missing)
        with pytest.raises(NotImplementedError, match=f"{missing} is not implemented.*use "):
            getattr(lr_scheduler, missing)


@pytest.mark.parametrize("make,error,match", [
    (lambda o: optim.LinearLR(o, start_factor=0.0), ValueError, "Starting multiplicative"),
    (lambda o: optim.ConstantLR(o, factor=2.0), ValueError, "between 0 and 1"),
    (lambda o: optim.ReduceLROnPlateau(o, factor=1.5), ValueError, "Factor should be < 1.0"),
    (lambda o: optim.ReduceLROnPlateau(o, mode="avg"), ValueError, "mode avg is unknown"),
    (lambda o: optim.OneCycleLR(o, 0.1), ValueError, "either total_steps OR"),
    (lambda o: optim.OneCycleLR(o, 0.1, 10, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: optim.OneCycleLR(o, [0.1, 0.2], 10), ValueError, "same length"),
    (lambda o: optim.LambdaLR(o, [decay, decay]), ValueError, "Expected 1 lr_lambdas"),
    (lambda o: optim.SequentialLR(o, [optim.StepLR(o, 2)], milestones=[3]), ValueError,
     "one more than the number of milestone"),
    (lambda o: optim.StepLR("sgd", 2), TypeError, "str is not an Optimizer"),
])
def test_bad_schedule_arguments_raise_torchs_errors(make, error, match):
    with pytest.raises(error, match=match):
        make(optim.SGD([tg.ones(1, requires_grad=True)], lr=0.1, momentum=0.9))


@pytest.mark.parametrize("direction", ["torch into ours", "ours into torch"])
@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_state_dicts_load_across_libraries(name, direction):
    # the fields have torch's names, so a schedule's state (with its optimizer's) moves over
    po, oo, so = build("ours", name)
    pt, ot, st = build("torch", name)
    for k in range(RESUME_AT):
        advance(po, oo, so, k, tg)
        advance(pt, ot, st, k, torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if direction == "torch into ours":
            po, oo, so = build("ours", name)
            oo.load_state_dict(ot.state_dict())
            so.load_state_dict(st.state_dict())
        else:
            pt, ot, st = build("torch", name)
            ot.load_state_dict(to_torch(oo.state_dict()))
            st.load_state_dict(so.state_dict())
    for k in range(RESUME_AT, STEPS):
        advance(po, oo, so, k, tg)
        advance(pt, ot, st, k, torch)
        assert_same(snapshot(oo, so), snapshot(ot, st), f"{name} after step {k}")
