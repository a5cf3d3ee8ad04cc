"""nn against torch.nn: layers with copied weights, state dicts both ways, checkpoints."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
from tests.helpers import assert_close, compare, inputs
from tinygrad_ce import nn
from tinygrad_ce.nn import functional as F

DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
TORCH_ACT = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}


def torch_mlp(sizes: list[int], activation: str = "relu", dtype=np.float32) -> torch.nn.Module:
    layers: list[torch.nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [torch.nn.Linear(a, b), TORCH_ACT[activation]()]
    layers.append(torch.nn.Linear(sizes[-2], sizes[-1]))
    return torch.nn.Sequential(*layers).to(TORCH_DTYPE[dtype])


def to_torch(state: dict) -> dict:
    return {k: torch.from_numpy(v) for k, v in state.items()}


# ----- Linear -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_values_gradients_and_second_derivatives(dtype, shape, bias):
    arrays = inputs([shape, (4, 3), (4,)], dtype)
    if not bias:
        arrays = arrays[:2]

    def ours(x, w, b=None):
        layer = nn.Linear(3, 4, bias=bias, dtype=dtype)
        # the layer's forward with w and b in place of its parameters (a functional call),
        # so the gradients reach the tensors the comparison made
        layer.__dict__["weight"] = w
        if bias:
            layer.__dict__["bias"] = b
        return layer(x)

    compare(lambda x, w, b=None: torch.nn.functional.linear(x, w, b), ours, arrays, dtype,
            what=f"Linear {shape} bias={bias}")


def test_linear_initialisation_follows_torch_bounds_and_global_seed():
    tg.manual_seed(0)
    a = nn.Linear(50, 40)
    tg.manual_seed(0)
    b = nn.Linear(50, 40)
    bound = 1 / np.sqrt(50)
    assert a.weight.shape == (40, 50) and a.bias.shape == (40,)
    assert a.weight.dtype == np.float32 and a.weight.requires_grad
    assert np.abs(a.weight.numpy()).max() <= bound and np.abs(a.bias.numpy()).max() <= bound
    # uniform on [-bound, bound]: its spread fills the interval (torch's kaiming a=sqrt(5))
    assert np.abs(a.weight.numpy()).max() > 0.95 * bound
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    t = torch.nn.Linear(50, 40)
    assert t.weight.shape == a.weight.shape
    assert float(t.weight.detach().abs().max()) <= bound + 1e-7
    assert nn.Linear(3, 2, dtype=tg.float64).weight.dtype == np.float64


def test_linear_rejects_wrong_features_and_dtypes():
    layer = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match="in_features=3.*shape \\(4, 5\\)"):
        layer(tg.zeros(4, 5))
    with pytest.raises(ValueError, match="in_features=-1"):
        nn.Linear(-1, 2)
    with pytest.raises(TypeError, match="floating point"):
        nn.Linear(2, 2, dtype=tg.int64)


# ----- MLP and Sequential against torch ---------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_mlp_matches_torch_sequential_with_copied_weights(dtype, activation):
    torch.manual_seed(0)
    theirs = torch_mlp([5, 16, 8, 3], activation, dtype)
    ours = nn.MLP(5, [16, 8], 3, activation=activation, dtype=dtype)
    ours.load_state_dict(theirs.state_dict())
    x = inputs([(7, 5)], dtype)[0]
    target = np.array([0, 2, 1, 1, 0, 2, 2])
    out_o = ours(tg.Tensor(x))
    out_t = theirs(torch.from_numpy(x))
    assert out_o.dtype == np.dtype(dtype)
    assert_close(out_o, out_t, dtype, "MLP forward")
    F.cross_entropy(out_o, tg.Tensor(target)).backward()
    torch.nn.functional.cross_entropy(out_t, torch.from_numpy(target)).backward()
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        assert_close(p.grad, tp.grad, dtype, f"grad of {name}")


def test_mlp_structure_and_keys_are_torch_sequentials():
    ours = nn.MLP(2, [4, 4], 3)
    theirs = torch_mlp([2, 4, 4, 3])
    assert repr(ours).replace("MLP(", "Sequential(", 1) == repr(theirs)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert len(ours) == 5 and isinstance(ours[1], nn.ReLU) and isinstance(ours[-1], nn.Linear)
    assert len(list(nn.MLP(2, [], 3).parameters())) == 2
    assert [type(m).__name__ for m in nn.MLP(2, 8, 3, dropout=0.1)] == \
        ["Linear", "ReLU", "Dropout", "Linear"]
    with pytest.raises(ValueError, match="activation='gelu'"):
        nn.MLP(2, 4, 3, activation="gelu")
    with pytest.raises(ValueError, match="dropout probability"):
        nn.MLP(2, 4, 3, dropout=1.5)


def test_sequential_indexing_slicing_and_ordered_dict():
    a, b, c = nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    assert list(seq[1:]) == [b, c]
    x = tg.randn(4, 2)
    np.testing.assert_array_equal(seq(x).numpy(), c(b(a(x))).numpy())
    named = nn.Sequential(OrderedDict([("hidden", a), ("act", b)]))
    assert [n for n, _ in named.named_children()] == ["hidden", "act"]
    assert list(named.state_dict()) == ["hidden.weight", "hidden.bias"]
    with pytest.raises(IndexError, match="index 3"):
        seq[3]
    assert seq[np.int64(1)] is b
    with pytest.raises(TypeError, match="integers or slices"):
        seq["0"]
    with pytest.raises(TypeError, match="argument 1 is a int"):
        nn.Sequential(a, 5)


# ----- Module mechanics -------------------------------------------------------------------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 4), nn.ReLU())
        self.head = nn.Linear(4, 3)
        self.scale = nn.Parameter(tg.ones(3))
        self.note = "not a parameter"

    def forward(self, x):
        return self.head(self.body(x)) * self.scale


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU())
        self.head = torch.nn.Linear(4, 3)
        self.scale = torch.nn.Parameter(torch.ones(3))

    def forward(self, x):
        return self.head(self.body(x)) * self.scale


def test_module_names_match_torch():
    ours, theirs = Net(), TorchNet()
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_children()] == ["body", "head"]
    assert [type(m).__name__ for m in ours.modules()] == \
        ["Net", "Sequential", "Linear", "ReLU", "Linear"]
    assert repr(ours).replace("Net(", "X(", 1) == repr(theirs).replace("TorchNet(", "X(", 1)
    assert ours.note == "not a parameter" and "note" not in ours.state_dict()


def test_state_dict_round_trip_both_ways_gives_identical_outputs():
    x = np.random.default_rng(0).standard_normal((6, 2)).astype(np.float32)
    ours, theirs = Net(), TorchNet()
    theirs.load_state_dict(to_torch(ours.state_dict()))
    for k, v in theirs.state_dict().items():  # bit for bit
        np.testing.assert_array_equal(v.numpy(), ours.state_dict()[k])
    # the same weights: outputs agree to float32 rounding (the BLAS sums in its own order)
    assert_close(ours(tg.Tensor(x)), theirs(torch.from_numpy(x)), np.float32, "ours -> torch")
    torch.manual_seed(3)
    theirs = TorchNet()
    result = ours.load_state_dict(theirs.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), ours.state_dict()[k])
    assert_close(ours(tg.Tensor(x)), theirs(torch.from_numpy(x)), np.float32, "torch -> ours")
    x64 = x.astype(np.float64)
    assert_close(ours.double()(tg.Tensor(x64)), theirs.double()(torch.from_numpy(x64)),
                 np.float64, "float64")


def test_shared_parameters_are_listed_once():
    layer = nn.Linear(3, 3)
    seq = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(seq.parameters())) == 2
    t_layer = torch.nn.Linear(3, 3)
    t_seq = torch.nn.Sequential(t_layer, torch.nn.ReLU(), t_layer)
    assert [n for n, _ in seq.named_parameters()] == [n for n, _ in t_seq.named_parameters()]
    assert [n for n, _ in seq.named_modules()] == [n for n, _ in t_seq.named_modules()]


def test_every_node_recorded_in_a_call_carries_the_module_scope():
    net = Net()
    out = net(tg.randn(5, 2))
    assert out.scope == (net,)
    nodes = tg.autograd.topological_order([out])
    linear_nodes = [n for n in nodes if n.scope[-1:] == (net.body[0],)]
    assert linear_nodes and all(n.scope == (net, net.body, net.body[0]) for n in linear_nodes)
    relu = [n for n in nodes if n.op == "relu"]
    assert relu and relu[0].scope == (net, net.body, net.body[1])
    assert all(not n.scope for n in nodes if n.is_leaf)
    assert tg.randn(2, requires_grad=True).exp().scope == ()


def test_zero_grad_train_eval_and_requires_grad():
    net = Net()
    net(tg.randn(4, 2)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    assert all(type(p.grad) is tg.Tensor and not p.grad.requires_grad for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_double_and_float_cast_parameters_and_match_torch():
    torch.manual_seed(1)
    theirs = torch_mlp([3, 5, 2]).double()
    ours = nn.MLP(3, 5, 2)
    ours.load_state_dict(theirs.state_dict())
    assert all(p.dtype == np.float32 for p in ours.parameters())
    assert ours.double() is ours and all(p.dtype == np.float64 for p in ours.parameters())
    x = inputs([(4, 3)], np.float64)[0]
    assert_close(ours(tg.Tensor(x)), theirs(torch.from_numpy(x)), np.float64, "double MLP")
    ours.float()
    assert ours(tg.Tensor(x.astype(np.float32))).dtype == np.float32
    assert ours.to("cpu") is ours and ours.to(tg.float64) is ours
    with pytest.raises(TypeError, match="floating point"):
        ours.to(tg.int64)


def test_parameter_is_a_leaf_sharing_its_data():
    t = tg.ones(3)
    p = nn.Parameter(t)
    assert p.requires_grad and p.is_leaf and p.numpy() is t.numpy() and isinstance(p, tg.Tensor)
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert repr(p).split("\n")[0] == repr(torch.nn.Parameter(torch.ones(3))).split("\n")[0]


def test_assigning_before_init_and_forward_missing_are_clear():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tg.ones(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Broken()
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        layer.weight = tg.ones(2, 2)
    layer.bias = None  # allowed, as in torch: the slot stays, the key goes
    assert list(layer.state_dict()) == ["weight"] and layer(tg.ones(1, 2)).shape == (1, 2)


# ----- Dropout ----------------------------------------------------------------------------
def test_dropout_scales_kept_values_and_their_gradients():
    tg.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = tg.ones(200, 100, requires_grad=True)
    y = drop(x)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.75, rtol=1e-6)
    drop.eval()
    assert drop(x) is x
    assert np.all(nn.Dropout(1.0)(tg.ones(5)).numpy() == 0)
    assert repr(drop) == repr(torch.nn.Dropout(0.25))
    for p in (-0.1, 1.5, "a"):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(p)


# ----- loss modules -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("options", [
    {}, {"reduction": "sum"}, {"reduction": "none"}, {"label_smoothing": 0.1},
    {"ignore_index": 1}, {"weight": True, "label_smoothing": 0.2},
])
def test_cross_entropy_loss_module_matches_torch(dtype, fused, options):
    opts = dict(options)
    w = np.array([0.5, 2.0, 1.0, 1.5], dtype=dtype) if opts.pop("weight", False) else None
    target = np.array([0, 3, 1, 2, 1, 0])
    ours = nn.CrossEntropyLoss(weight=None if w is None else tg.Tensor(w), fused=fused, **opts)
    theirs = torch.nn.CrossEntropyLoss(weight=None if w is None else torch.from_numpy(w), **opts)
    compare(lambda x: theirs(x, torch.from_numpy(target)),
            lambda x: ours(x, tg.Tensor(target)), inputs([(6, 4)], dtype), dtype,
            what=f"CrossEntropyLoss fused={fused} {options}")
    if w is not None:
        assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_and_mse_loss_modules_match_torch(dtype, reduction):
    target = np.array([2, 0, 1, 1])
    compare(lambda x: torch.nn.NLLLoss(reduction=reduction)(x, torch.from_numpy(target)),
            lambda x: nn.NLLLoss(reduction=reduction)(x, tg.Tensor(target)),
            inputs([(4, 3)], dtype), dtype, what=f"NLLLoss {reduction}")
    compare(lambda a, b: torch.nn.MSELoss(reduction=reduction)(a, b),
            lambda a, b: nn.MSELoss(reduction=reduction)(a, b),
            inputs([(4, 3), (4, 3)], dtype), dtype, what=f"MSELoss {reduction}")


@pytest.mark.parametrize("cls,kw", [("CrossEntropyLoss", dict(reduction="avg")),
                                    ("CrossEntropyLoss", dict(label_smoothing=1.5)),
                                    ("NLLLoss", dict(weight=np.ones((2, 2), np.float32))),
                                    ("NLLLoss", dict(reduction="avg"))])
def test_loss_modules_check_their_options_when_called_as_torchs_do(cls, kw):
    # torch's loss modules take any option and raise when called; so do ours, with the
    # exception type and words of the functional form
    x, t = np.zeros((2, 3), np.float32), np.array([0, 1])
    t_kw = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    theirs, ours = getattr(torch.nn, cls)(**t_kw), getattr(nn, cls)(**kw)
    with pytest.raises(Exception) as t_err:
        theirs(torch.from_numpy(x), torch.from_numpy(t))
    with pytest.raises(t_err.type) as o_err:
        ours(tg.tensor(x), tg.tensor(t))
    assert str(t_err.value) in str(o_err.value)


# ----- checkpoints ------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path: Path):
    tg.manual_seed(0)
    net = nn.MLP(2, [8], 3)
    path = tmp_path / "weights.npz"
    assert net.save(path) == str(path)
    other = nn.MLP(2, [8], 3)
    other.load(path)
    x = tg.randn(5, 2)
    np.testing.assert_array_equal(net(x).numpy(), other(x).numpy())
    loaded = nn.load(path)
    assert list(loaded) == list(net.state_dict())
    theirs = torch_mlp([2, 8, 3])
    theirs.load_state_dict(to_torch(loaded))
    assert_close(net(x), theirs(torch.from_numpy(x.numpy())), np.float32, "torch from checkpoint")


def test_save_is_atomic_a_failed_write_keeps_the_previous_file(tmp_path: Path, monkeypatch):
    net = nn.MLP(2, [4], 2)
    path = tmp_path / "w.npz"
    net.save(path)
    before = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        nn.MLP(2, [4], 2).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.npz"]


def test_load_state_dict_lists_every_wrong_key_and_shape_and_changes_nothing():
    net = nn.MLP(2, [4], 3)
    before = net.state_dict()
    state = net.state_dict()
    del state["0.bias"]
    state["extra.weight"] = np.zeros(2)
    state["2.weight"] = np.zeros((5, 4))
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(state)
    msg = str(info.value)
    assert 'Missing key(s) in state_dict: "0.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert "size mismatch for 2.weight" in msg and "(5, 4)" in msg and "(3, 4)" in msg
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    # torch reports the same three problems
    theirs = torch_mlp([2, 4, 3])
    with pytest.raises(RuntimeError, match="(?s)Missing key.*Unexpected key.*size mismatch"):
        theirs.load_state_dict(to_torch(state))


def test_load_state_dict_non_strict_returns_the_keys_it_skipped():
    net = nn.MLP(2, [4], 3)
    state = net.state_dict()
    state.pop("2.bias")
    state["junk"] = np.ones(1)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["junk"]
    state["0.weight"] = np.ones((1, 1))
    with pytest.raises(RuntimeError, match="size mismatch for 0.weight"):
        net.load_state_dict(state, strict=False)
    with pytest.raises(TypeError, match="dict-like"):
        net.load_state_dict([1, 2])


def test_load_state_dict_keeps_parameter_objects_and_dtypes():
    net = nn.MLP(2, [4], 3)
    params = list(net.parameters())
    net.load_state_dict({k: v.astype(np.float64) for k, v in net.state_dict().items()})
    assert list(net.parameters()) == params
    assert all(p.dtype == np.float32 for p in params)


@pytest.mark.parametrize("content", ["truncated", "text", "npy"])
def test_bad_checkpoints_raise_clear_errors(tmp_path: Path, content: str):
    net = nn.MLP(2, [4], 3)
    good = tmp_path / "good.npz"
    net.save(good)
    bad = tmp_path / "bad.npz"
    if content == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif content == "text":
        bad.write_text("these are not weights")
    else:
        with open(bad, "wb") as f:
            np.save(f, np.zeros(3))
    with pytest.raises(ValueError, match="bad.npz' is not a readable .npz checkpoint"):
        net.load(bad)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        net.load(tmp_path / "missing.npz")


def test_buffers_are_state_but_not_parameters():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.register_buffer("scale", tg.full((2,), 3.0))

        def forward(self, x):
            return self.lin(x) * self.scale

    class TorchScaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)
            self.register_buffer("scale", torch.full((2,), 3.0))

    m = Scaled()
    assert [n for n, _ in m.named_parameters()] == ["lin.weight", "lin.bias"]
    assert [n for n, _ in m.named_buffers()] == ["scale"]
    assert list(m.state_dict()) == list(TorchScaled().state_dict())
    state = m.state_dict()
    state["scale"] = np.array([1.0, 2.0], dtype=np.float32)
    m.load_state_dict(state)
    np.testing.assert_array_equal(m.scale.numpy(), [1.0, 2.0])
    assert m.double().scale.dtype == np.float64
    with pytest.raises(TypeError, match="buffer 'scale'"):
        m.scale = "three"
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Scaled"]


def test_scope_is_restored_when_forward_raises():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        Boom()(tg.ones(1))
    assert tg.ones(1, requires_grad=True).exp().scope == ()


def test_loading_what_is_not_a_checkpoint_says_so_in_our_words(tmp_path) -> None:
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    objects = tmp_path / "objects.npz"
    np.savez(objects, w=np.array([object()], dtype=object))
    for path, reason in ((text, "it is not a zip archive"),
                         (objects, "pickled (object) arrays, which are never unpickled")):
        with pytest.raises(ValueError, match="is not a readable .npz checkpoint") as e:
            nn.Linear(2, 2).load(path)
        assert reason in str(e.value) and "allow_pickle" not in str(e.value)


def test_safetensors_checkpoints_go_both_ways_with_torch(tmp_path) -> None:
    from safetensors.torch import load_file, save_file

    tg.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    path = ours.save(tmp_path / "model.safetensors")
    theirs.load_state_dict(load_file(path))
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)
    torch.manual_seed(1)
    other = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    save_file(other.state_dict(), tmp_path / "torch.safetensors")
    ours.load(tmp_path / "torch.safetensors")
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                               other(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="is not a readable .safetensors checkpoint"):
        ours.load(tmp_path / "bad.safetensors")
