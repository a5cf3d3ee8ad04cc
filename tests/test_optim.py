"""Optimizers and schedules against torch.optim: the same weights and batches give the same
loss trajectory over 200 steps, for every optimizer and option, float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
from tinygrad_ce import data, nn, optim
from tinygrad_ce.nn import functional as F

TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
# loss trajectories: float64 to ~1e-10, float32 to ~1e-5
TRAJECTORY_TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-10)}
# final weights: Adam divides by sqrt(v), so a last-bit difference in a tiny gradient moves a
# weight by up to lr; torch against itself with one weight nudged by an ulp drifts as much
PARAM_TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-9, atol=1e-9)}



@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    # tiny ops: torch's thread pool only adds waiting on a shared 2-core machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.01)),
    ("SGD", dict(lr=0.2, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.005, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.005, betas=(0.8, 0.99), eps=1e-6)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.003)),
    ("RMSprop", dict(lr=0.002, momentum=0.5, centered=True, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
]


def make_problem(dtype):
    x, y = data.make_spirals(240, 3, seed=0, dtype=dtype)
    loader = data.DataLoader(x, y, batch_size=32, shuffle=True, seed=1)
    return loader


def trajectories(name, options, dtype, steps=200, schedule=None):
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16),
                                 torch.nn.ReLU(), torch.nn.Linear(16, 3)).to(TORCH_DTYPE[dtype])
    ours = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(),
                         nn.Linear(16, 3)).to(dtype)
    ours.load_state_dict(theirs.state_dict())
    topt = getattr(torch.optim, name)(theirs.parameters(), foreach=False, **options)
    oopt = getattr(optim, name)(ours.parameters(), **options)
    tsched = osched = None
    if schedule is not None:
        cls, kw = schedule
        tsched, osched = getattr(torch.optim.lr_scheduler, cls)(topt, **kw), \
            getattr(optim, cls)(oopt, **kw)
    loader = make_problem(dtype)
    ours_loss, theirs_loss = [], []
    while len(ours_loss) < steps:
        for xb, yb in loader:
            oopt.zero_grad()
            loss = F.cross_entropy(ours(xb), yb)
            loss.backward()
            oopt.step()
            ours_loss.append(loss.item())
            topt.zero_grad()
            tloss = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(xb.numpy())),
                                                      torch.from_numpy(yb.numpy()))
            tloss.backward()
            topt.step()
            theirs_loss.append(tloss.item())
            if len(ours_loss) == steps:
                break
        if osched is not None:
            osched.step()
            tsched.step()
            assert oopt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"],
                                                               rel=1e-15)
    return ours, theirs, np.array(ours_loss), np.array(theirs_loss)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_200_steps_follow_torchs_loss_trajectory(name, options, dtype):
    ours, theirs, lo, lt = trajectories(name, options, dtype)
    assert lo[-10:].mean() < lo[:10].mean()  # it trains
    np.testing.assert_allclose(lo, lt, **TRAJECTORY_TOL[dtype], err_msg=f"{name} {options}")
    for (k, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), **PARAM_TOL[dtype],
                                   err_msg=f"final {k}")


@pytest.mark.parametrize("schedule", [("StepLR", dict(step_size=3, gamma=0.5)),
                                      ("CosineAnnealingLR", dict(T_max=4, eta_min=0.001)),
                                      ("ExponentialLR", dict(gamma=0.9)),
                                      ("OneCycleLR", dict(max_lr=0.05, total_steps=26)),
                                      ("LinearLR", dict(start_factor=0.2, total_iters=8))])
@pytest.mark.parametrize("name,options", [("SGD", dict(lr=0.1, momentum=0.9)),
                                          ("Adam", dict(lr=0.02))])
def test_schedules_follow_torch(schedule, name, options):
    # 200 steps of 8 batches: 25 epochs, through several cosine periods and StepLR drops
    _, _, lo, lt = trajectories(name, options, np.float64, schedule=schedule)
    np.testing.assert_allclose(lo, lt, **TRAJECTORY_TOL[np.float64])


@pytest.mark.parametrize("cls,kw", [("StepLR", dict(step_size=2, gamma=0.3)),
                                    ("CosineAnnealingLR", dict(T_max=5)),
                                    ("CosineAnnealingLR", dict(T_max=3, eta_min=0.01))])
def test_schedule_learning_rates_match_torch_for_many_epochs(cls, kw):
    ours = optim.SGD([tg.zeros(1, requires_grad=True)], lr=0.1)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    so, st = getattr(optim, cls)(ours, **kw), getattr(torch.optim.lr_scheduler, cls)(theirs, **kw)
    for _ in range(30):
        assert so.get_last_lr() == pytest.approx(st.get_last_lr(), rel=1e-14, abs=1e-16)
        ours.step()
        theirs.step()
        so.step()
        st.step()


def test_zero_grad_and_parameters_without_gradient():
    a, b = tg.ones(3, requires_grad=True), tg.ones(2, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    (a * 2).sum().backward()
    opt.step()
    assert not np.allclose(a.numpy(), 1) and np.all(b.numpy() == 1) and b not in opt.state
    opt.zero_grad(set_to_none=False)
    assert np.all(a.grad.numpy() == 0) and b.grad is None
    opt.zero_grad()
    assert a.grad is None


def test_param_groups_have_their_own_options():
    a, b = tg.ones(2, requires_grad=True), tg.ones(2, requires_grad=True)
    ta, tb = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    ours = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.5)
    theirs = torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.5}], lr=0.1,
                             momentum=0.5)
    for _ in range(3):
        for opt, x, y in ((ours, a, b), (theirs, ta, tb)):
            opt.zero_grad()
            ((x * x).sum() + (y * y * y).sum()).backward()
            opt.step()
    np.testing.assert_allclose(a.numpy(), ta.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), tb.detach().numpy(), rtol=1e-6)
    assert [g["lr"] for g in ours.param_groups] == [0.1, 0.5]


@pytest.mark.parametrize("name,kw", [
    ("SGD", dict(lr=-1.0)), ("SGD", dict(lr=0.1, momentum=-0.5)),
    ("SGD", dict(lr=0.1, nesterov=True)), ("SGD", dict(lr=0.1, weight_decay=-1.0)),
    ("Adam", dict(lr=0.1, betas=(1.0, 0.9))), ("Adam", dict(lr=0.1, betas=(0.9, -0.1))),
    ("Adam", dict(lr=0.1, eps=-1.0)), ("AdamW", dict(lr=-0.1)),
])
def test_bad_hyperparameters_raise_torchs_error(name, kw):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kw)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([tg.zeros(1, requires_grad=True)], **kw)
    assert str(ours.value) == str(theirs.value)


def test_bad_params_are_refused():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(tg.ones(1, requires_grad=True), lr=0.1)
    with pytest.raises(TypeError, match="params\\[1\\] is a int"):
        optim.SGD([tg.ones(1, requires_grad=True), 3], lr=0.1)
    x = tg.ones(1, requires_grad=True)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([x, x], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([x * 2], lr=0.1)


@pytest.mark.parametrize("name,options", [("SGD", dict(lr=0.5)),
                                          ("SGD", dict(lr=0.5, momentum=0.9, weight_decay=0.1)),
                                          ("Adam", dict(lr=0.1, weight_decay=0.1)),
                                          ("AdamW", dict(lr=0.1, amsgrad=True))])
def test_a_step_updates_in_place_and_an_old_graph_refuses_to_backward(name, options):
    # torch's param.add_ writes into the parameter: every alias taken before the step sees
    # the new values, and a graph that saved the parameter refuses to backward
    layer = nn.Linear(3, 2)
    t_layer = torch.nn.Linear(3, 2)
    t_layer.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    loss = layer(tg.tensor(x, requires_grad=True)).sum()
    t_loss = t_layer(torch.tensor(x, requires_grad=True)).sum()
    recorded = [n for n in tg.autograd.topological_order([loss]) if n.op == "t"][0]
    w = layer.weight
    aliases = [w.detach(), w.data, w.numpy(), recorded]
    t_w = t_layer.weight
    t_aliases = [t_w.detach(), t_w.data, t_w.detach().numpy(), t_w.T]
    loss.backward(retain_graph=True)
    t_loss.backward(retain_graph=True)
    getattr(optim, name)(layer.parameters(), **options).step()
    getattr(torch.optim, name)(t_layer.parameters(), foreach=False, **options).step()
    # float32: torch's kernels may round the last bit differently
    np.testing.assert_allclose(w.numpy(), t_w.detach().numpy(), rtol=1e-5)
    for i, (ours, theirs) in enumerate(zip(aliases, t_aliases)):
        ours = ours.numpy() if isinstance(ours, tg.Tensor) else ours
        theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
        np.testing.assert_array_equal(theirs, (t_w.T if i == 3 else t_w).detach().numpy())
        np.testing.assert_array_equal(ours, w.numpy().T if i == 3 else w.numpy(),
                                      err_msg=f"alias {i}")
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        t_loss.backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_step_with_closure_returns_the_loss():
    w = tg.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == pytest.approx(5.0)
    np.testing.assert_allclose(w.numpy(), [0.8, -1.6], rtol=1e-6)


def test_a_failing_step_changes_no_parameter_and_no_state():
    a, b = tg.ones(2, requires_grad=True), tg.ones(3, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad, b.grad = tg.ones(2), tg.ones(4)
    with pytest.raises(RuntimeError, match="shape \\(3,\\) has a gradient of shape \\(4,\\)"):
        opt.step()
    assert np.all(a.numpy() == 1) and np.all(b.numpy() == 1) and not opt.state


@pytest.mark.parametrize("name,options", [("SGD", dict(lr=0.05, momentum=0.9)),
                                          ("Adam", dict(lr=0.01, amsgrad=True)),
                                          ("AdamW", dict(lr=0.01, weight_decay=0.1))])
def test_resuming_from_torchs_optimizer_state_continues_torchs_run(name, options):
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, 3)).double()
    topt = getattr(torch.optim, name)(theirs.parameters(), foreach=False, **options)
    batches = list(make_problem(np.float64)) * 4
    for xb, yb in batches[:15]:
        topt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.from_numpy(xb.numpy())),
                                          torch.from_numpy(yb.numpy())).backward()
        topt.step()
    ours = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    ours.load_state_dict(theirs.state_dict())
    oopt = getattr(optim, name)(ours.parameters(), lr=1.0)
    oopt.load_state_dict(topt.state_dict())
    assert oopt.param_groups[0]["lr"] == options["lr"]
    for xb, yb in batches[15:30]:
        oopt.zero_grad()
        lo = F.cross_entropy(ours(xb), yb)
        lo.backward()
        oopt.step()
        topt.zero_grad()
        lt = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(xb.numpy())),
                                               torch.from_numpy(yb.numpy()))
        lt.backward()
        topt.step()
        assert lo.item() == pytest.approx(lt.item(), rel=1e-10, abs=1e-10)


def test_optimizer_state_round_trip_resumes_exactly():
    def run(split):
        tg.manual_seed(0)
        model = nn.MLP(2, 8, 3)
        opt = optim.Adam(model.parameters(), lr=0.02)
        losses = []
        for i, (xb, yb) in enumerate(list(make_problem(np.float32)) * 3):
            if i == split:
                saved_model, saved_opt = model.state_dict(), opt.state_dict()
                model = nn.MLP(2, 8, 3)
                model.load_state_dict(saved_model)
                opt = optim.Adam(model.parameters(), lr=0.5)
                opt.load_state_dict(saved_opt)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    assert run(split=10) == run(split=-1)


def test_loading_a_mismatched_optimizer_state_changes_nothing():
    a = tg.ones(2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    a.grad = tg.ones(2)
    opt.step()
    before = opt.state_dict()
    other = optim.SGD([tg.ones(3, requires_grad=True)], lr=0.7, momentum=0.5)
    other.param_groups[0]["params"][0].grad = tg.ones(3)
    other.step()
    with pytest.raises(ValueError, match="momentum_buffer.*shape \\(3,\\).*\\(2,\\)"):
        opt.load_state_dict(other.state_dict())
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(after["state"][0]["momentum_buffer"],
                                  before["state"][0]["momentum_buffer"])
    with pytest.raises(ValueError, match="2 parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": []}, {"params": []}]})
