"""nn's layers, losses and functional forms from a toy model's toolbox, each against torch:
values, gradients (double backward where torch has it), float32 and float64, state-dict
keys and buffers, BatchNorm's running statistics over several steps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
from tests.helpers import assert_close, compare, inputs
from tinygrad_ce import nn
from tinygrad_ce.nn import functional as F

TF = torch.nn.functional


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random weights: runs are repeatable."""
    tg.manual_seed(0)
    torch.manual_seed(0)
DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def sigmoid(a: np.ndarray) -> np.ndarray:
    return (1 / (1 + np.exp(-a))).astype(a.dtype)


# ----- functional ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xshape,wshape,bshape", [
    ((4, 3), (2, 3), (2,)), ((2, 5, 3), (4, 3), (4,)), ((3,), (2, 3), None), ((4, 3), (2, 3), ()),
])
def test_linear_matches_torch(dtype, xshape, wshape, bshape):
    shapes = [xshape, wshape] + ([bshape] if bshape is not None else [])
    compare(lambda *a: TF.linear(*a), lambda *a: F.linear(*a), inputs(shapes, dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,normalized,affine", [
    ((4, 5), 5, "both"), ((2, 3, 4), (3, 4), "both"), ((3, 4), (4,), "none"),
    ((2, 3, 4), (4,), "weight"),
])
def test_layer_norm_matches_torch(dtype, shape, normalized, affine):
    ns = (normalized,) if isinstance(normalized, int) else normalized
    shapes = [shape] + {"both": [ns, ns], "weight": [ns], "none": []}[affine]
    compare(lambda x, *wb: TF.layer_norm(x, ns, *wb, eps=1e-3),
            lambda x, *wb: F.layer_norm(x, ns, *wb, eps=1e-3), inputs(shapes, dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_torch_with_its_running_statistics(dtype, shape, training):
    rng = np.random.default_rng(3)
    rm, rv = rng.standard_normal(3).astype(dtype), rng.uniform(0.5, 2, 3).astype(dtype)
    ours = [tg.tensor(rm.copy()), tg.tensor(rv.copy())]
    theirs = [torch.tensor(rm.copy()), torch.tensor(rv.copy())]
    compare(lambda x, w, b: TF.batch_norm(x, *theirs, w, b, training, 0.3, 1e-4),
            lambda x, w, b: F.batch_norm(x, *ours, w, b, training, 0.3, 1e-4),
            inputs([shape, (3,), (3,)], dtype), dtype)
    for a, b in zip(ours, theirs):
        assert a.dtype == dtype
        assert_close(a, b, dtype, "running statistics")


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_without_running_statistics_uses_the_batch(dtype):
    compare(lambda x: TF.batch_norm(x, None, None, training=True),
            lambda x: F.batch_norm(x, None, None, training=True), inputs([(6, 4)], dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [
    {}, {"padding_idx": 1}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
    {"padding_idx": 0, "scale_grad_by_freq": True},
])
def test_embedding_matches_torch_and_scatters_gradients(dtype, options):
    idx = np.array([[0, 2, 2], [4, 1, 2]])
    compare(lambda w: TF.embedding(torch.from_numpy(idx), w, **options),
            lambda w: F.embedding(tg.tensor(idx), w, **options), inputs([(5, 3)], dtype), dtype)


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm_renormalises_the_picked_rows_in_place(norm_type):
    w = inputs([(5, 3)], np.float64)[0] * 3
    idx = np.array([0, 2, 2])
    wt, wo = torch.tensor(w, requires_grad=True), tg.tensor(w, requires_grad=True)
    out_t = TF.embedding(torch.from_numpy(idx), wt, max_norm=1.5, norm_type=norm_type)
    out_o = F.embedding(tg.tensor(idx), wo, max_norm=1.5, norm_type=norm_type)
    assert_close(out_o, out_t)
    assert_close(wo, wt, what="the table after renormalisation")
    out_t.square().sum().backward()
    out_o.square().sum().backward()
    assert_close(wo.grad, wt.grad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,kw", [
    ("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.3}),
    ("smooth_l1_loss", {"beta": 0.0}), ("smooth_l1_loss", {"beta": 4.0}),
])
def test_l1_losses_match_torch(dtype, reduction, name, kw):
    compare(lambda x, y: getattr(TF, name)(x, y, reduction=reduction, **kw),
            lambda x, y: getattr(F, name)(x, y, reduction=reduction, **kw),
            inputs([(4, 3), (4, 3)], dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", ["l1_loss", "mse_loss"])
def test_weighted_l1_and_mse_losses_match_torch(dtype, reduction, name):
    w = np.abs(inputs([(4, 3)], dtype, seed=4)[0])
    compare(lambda x, y: getattr(TF, name)(x, y, reduction=reduction, weight=torch.tensor(w)),
            lambda x, y: getattr(F, name)(x, y, reduction=reduction, weight=tg.tensor(w)),
            inputs([(4, 3), (4, 3)], dtype), dtype)


def test_l1_loss_broadcasts_a_target_with_torchs_warning():
    x, y = inputs([(4, 3), (3,)], np.float64)
    with pytest.warns(UserWarning, match="different to the input size"):
        ours = F.l1_loss(tg.tensor(x), tg.tensor(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(ours, TF.l1_loss(torch.tensor(x), torch.tensor(y)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_matches_torch(dtype, reduction, weighted):
    x, y = inputs([(4, 3), (4, 3)], dtype)
    p, q = sigmoid(x), sigmoid(y)
    w = np.abs(inputs([(3,)], dtype, seed=5)[0])
    wt, wo = (torch.tensor(w), tg.tensor(w)) if weighted else (None, None)
    compare(lambda a, b: TF.binary_cross_entropy(a, b, wt, reduction=reduction),
            lambda a, b: F.binary_cross_entropy(a, b, wo, reduction=reduction), [p, q], dtype)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_binary_cross_entropy_at_0_and_1_clamps_the_log_as_torch(p):
    x = np.array([p, p, 0.5])
    y = np.array([0.0, 1.0, 0.3])
    compare(lambda a, b: TF.binary_cross_entropy(a, b), lambda a, b: F.binary_cross_entropy(a, b),
            [x, y], np.float64, double=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight,pos_weight", [
    (None, None), ((3,), None), (None, (3,)), ((4, 3), (3,)),
])
def test_binary_cross_entropy_with_logits_matches_torch(dtype, reduction, weight, pos_weight):
    x, y = inputs([(4, 3), (4, 3)], dtype)
    x = x * 20  # far into both tails
    extra = [np.abs(inputs([s], dtype, seed=7)[0]) + 0.1 if s else None
             for s in (weight, pos_weight)]
    wt, pwt = [None if e is None else torch.tensor(e) for e in extra]
    wo, pwo = [None if e is None else tg.tensor(e) for e in extra]
    compare(lambda a, b: TF.binary_cross_entropy_with_logits(a, b, wt, reduction=reduction,
                                                            pos_weight=pwt),
            lambda a, b: F.binary_cross_entropy_with_logits(a, b, wo, reduction=reduction,
                                                           pos_weight=pwo),
            [x, sigmoid(y)], dtype)


@pytest.mark.parametrize("fn", ["l1_loss", "smooth_l1_loss", "binary_cross_entropy_with_logits"])
def test_losses_promote_a_float64_target_as_torch(fn):
    x, y = inputs([(2, 3), (2, 3)], np.float32)
    y64 = sigmoid(y).astype(np.float64)
    out = getattr(F, fn)(tg.tensor(x), tg.tensor(y64))
    out_t = getattr(TF, fn)(torch.from_numpy(x), torch.from_numpy(y64))
    assert out.dtype == out_t.numpy().dtype
    assert_close(out, out_t, np.float32)


def test_binary_cross_entropy_with_logits_at_0_has_torchs_gradient():
    compare(lambda a, b: TF.binary_cross_entropy_with_logits(a, b),
            lambda a, b: F.binary_cross_entropy_with_logits(a, b),
            [np.zeros(3), np.array([0.0, 0.5, 1.0])], np.float64)


def test_dropout_functional_is_the_modules_and_identity_outside_training():
    x = tg.ones(1000, requires_grad=True)
    tg.manual_seed(3)
    a = F.dropout(x, 0.25)
    tg.manual_seed(3)
    b = nn.Dropout(0.25)(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert set(np.unique(a.numpy())) <= {0.0, np.float32(1 / 0.75)}
    assert F.dropout(x, 0.5, training=False) is x
    assert_close(F.dropout(x, 1.0), TF.dropout(torch.ones(1000), 1.0))


# ----- layers ----------------------------------------------------------------------------
def twin(ours: nn.Module, theirs: torch.nn.Module) -> None:
    """Give both modules the same state (ours to torch's)."""
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})


def same_state(ours: nn.Module, theirs: torch.nn.Module, dtype=np.float64) -> None:
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].numpy().dtype, k
        assert_close(a[k], b[k], dtype, k)


@pytest.mark.parametrize("cls,args,kw", [
    ("Embedding", (5, 3), {"padding_idx": 2}), ("LayerNorm", ((2, 3),), {}),
    ("LayerNorm", (4,), {"elementwise_affine": False}), ("LayerNorm", (4,), {"bias": False}),
    ("BatchNorm1d", (3,), {}), ("BatchNorm1d", (3,), {"affine": False}),
    ("BatchNorm1d", (3,), {"track_running_stats": False}), ("Flatten", (), {}),
    ("BatchNorm1d", (3,), {"bias": False}),
    ("BCEWithLogitsLoss", (), {"pos_weight": [1.0, 2.0]}), ("L1Loss", (), {}),
])
def test_layers_have_torchs_state_dict_keys_and_buffers(cls, args, kw):
    ours = getattr(nn, cls)(*args, **{k: tg.tensor(v) if isinstance(v, list) else v
                                      for k, v in kw.items()})
    theirs = getattr(torch.nn, cls)(*args, **{k: torch.tensor(v) if isinstance(v, list) else v
                                              for k, v in kw.items()})
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    assert [k for k, _ in ours.named_buffers()] == [k for k, _ in theirs.named_buffers()]
    if cls != "Embedding":  # a random table
        same_state(ours, theirs)
    else:
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert not ours.weight.numpy()[2].any()
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
@pytest.mark.parametrize("kw", [
    {}, {"momentum": None}, {"momentum": 0.5, "eps": 1e-2}, {"affine": False},
    {"track_running_stats": False},
])
def test_batchnorm1d_steps_match_torch_in_train_and_eval(dtype, shape, kw):
    ours = nn.BatchNorm1d(3, dtype=dtype, **kw)
    theirs = torch.nn.BatchNorm1d(3, dtype=TORCH_DTYPE[dtype], **kw)
    if ours.affine:
        ours.weight.data = tg.tensor(np.array([0.5, 1.5, -1.0], dtype))
        ours.bias.data = tg.tensor(np.array([0.1, 0.0, -0.3], dtype))
    twin(ours, theirs)
    for step, training in enumerate([True, True, True, False, True, False]):
        ours.train(training)
        theirs.train(training)
        x = inputs([shape], dtype, seed=step)[0] * (step + 1) + step
        compare(theirs, ours, [x], dtype, what=f"step {step}", double=training)
        same_state(ours, theirs, dtype)


def test_batchnorm1d_num_batches_tracked_and_eval_after_training():
    ours, theirs = nn.BatchNorm1d(2), torch.nn.BatchNorm1d(2)
    x = inputs([(5, 2)], np.float32)[0]
    for _ in range(3):
        ours(tg.tensor(x))
        theirs(torch.from_numpy(x))
    assert ours.num_batches_tracked.item() == 3 == theirs.num_batches_tracked.item()
    assert ours.num_batches_tracked.dtype == np.int64
    ours.eval()
    theirs.eval()
    assert_close(ours(tg.tensor(x)), theirs(torch.from_numpy(x)), np.float32)
    assert ours.num_batches_tracked.item() == 3


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_and_layernorm_modules_match_torch(dtype):
    emb = nn.Embedding(6, 4, padding_idx=0, dtype=dtype)
    emb_t = torch.nn.Embedding(6, 4, padding_idx=0, dtype=TORCH_DTYPE[dtype])
    twin(emb, emb_t)
    ln, ln_t = nn.LayerNorm(4, dtype=dtype), torch.nn.LayerNorm(4, dtype=TORCH_DTYPE[dtype])
    ln.weight.data = tg.tensor(np.linspace(0.5, 2, 4).astype(dtype))
    twin(ln, ln_t)
    idx = np.array([[1, 0, 5], [3, 3, 0]])
    out = ln(emb(tg.tensor(idx)))
    out_t = ln_t(emb_t(torch.from_numpy(idx)))
    assert_close(out, out_t, dtype)
    up = inputs([out.shape], dtype)[0]
    out.backward(tg.tensor(up))
    out_t.backward(torch.from_numpy(up))
    for (k, p), q in zip([*emb.named_parameters(), *ln.named_parameters()],
                         [*emb_t.parameters(), *ln_t.parameters()]):
        assert_close(p.grad, q.grad, dtype, k)


def test_embedding_from_pretrained_and_freeze():
    w = inputs([(4, 2)], np.float32)[0]
    ours = nn.Embedding.from_pretrained(tg.tensor(w))
    theirs = torch.nn.Embedding.from_pretrained(torch.from_numpy(w))
    assert ours.weight.requires_grad is theirs.weight.requires_grad is False
    assert_close(ours(tg.tensor([3, 1])), theirs(torch.tensor([3, 1])), np.float32)
    assert nn.Embedding.from_pretrained(tg.tensor(w), freeze=False).weight.requires_grad


@pytest.mark.parametrize("start,end", [(1, -1), (0, 1), (-2, -1)])
def test_flatten_matches_torch(start, end):
    compare(torch.nn.Flatten(start, end), nn.Flatten(start, end), inputs([(2, 3, 4)], np.float32),
            np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls,kw", [
    ("L1Loss", {}), ("L1Loss", {"reduction": "sum"}), ("SmoothL1Loss", {"beta": 0.5}),
    ("BCEWithLogitsLoss", {}), ("BCEWithLogitsLoss", {"pos_weight": [2.0, 0.5, 1.0]}),
    ("BCEWithLogitsLoss", {"weight": [2.0, 0.5, 1.0], "reduction": "none"}), ("BCELoss", {}),
])
def test_loss_modules_match_torch(dtype, cls, kw):
    x, y = inputs([(4, 3), (4, 3)], dtype)
    if cls.startswith("BCE"):
        y = sigmoid(y)
    if cls == "BCELoss":
        x = sigmoid(x)
    ours = getattr(nn, cls)(**{k: tg.tensor(np.array(v, dtype)) if isinstance(v, list) else v
                               for k, v in kw.items()})
    theirs = getattr(torch.nn, cls)(**{k: torch.tensor(np.array(v, dtype))
                                       if isinstance(v, list) else v for k, v in kw.items()})
    compare(lambda a: theirs(a, torch.from_numpy(y)), lambda a: ours(a, tg.tensor(y)), [x], dtype)


# ----- bad input: the same error as torch --------------------------------------------------
def raised(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except Exception as e:  # noqa: BLE001 - compared by type and message
        return e
    return None


def assert_same_error(ours, theirs):
    e_t, e_o = raised(theirs), raised(ours)
    assert e_t is not None, "torch did not raise"
    assert type(e_o) is type(e_t), f"ours raised {e_o!r}; torch {e_t!r}"
    # torch's message up to where it names its own types (torch.Size, torch.FloatTensor)
    head = str(e_t).split(" (")[0].split("torch.")[0]
    assert head in str(e_o), f"ours: {e_o}\ntorch: {e_t}"


def both(fn):
    return (lambda: fn(tg, nn, F)), (lambda: fn(torch, torch.nn, TF))


@pytest.mark.parametrize("call", [
    lambda L, N, G: G.binary_cross_entropy(L.ones(2, 3) * 0.5, L.ones(3)),
    lambda L, N, G: G.binary_cross_entropy(L.ones(3) * 2, L.ones(3)),
    lambda L, N, G: G.binary_cross_entropy_with_logits(L.ones(2, 3), L.ones(3)),
    lambda L, N, G: G.binary_cross_entropy_with_logits(
        L.ones(3), L.ones(3), pos_weight=L.ones(3, requires_grad=True)),
    lambda L, N, G: G.binary_cross_entropy(L.ones(3) / 2, L.ones(3),
                                           weight=L.ones(3, requires_grad=True)),
    lambda L, N, G: G.l1_loss(L.ones(2, 3), L.ones(3), reduction="avg"),
    lambda L, N, G: G.smooth_l1_loss(L.ones(3), L.ones(3), beta=-1.0),
    lambda L, N, G: G.embedding(L.tensor([0, 5]), L.ones(5, 2)),
    lambda L, N, G: G.embedding(L.ones(2), L.ones(5, 2)),
    lambda L, N, G: G.embedding(L.tensor([-1]), L.ones(5, 2)),
    lambda L, N, G: G.layer_norm(L.ones(2, 3), (4,)),
    lambda L, N, G: G.batch_norm(L.ones(1, 3), None, None, training=True),
    lambda L, N, G: G.batch_norm(L.ones(2, 3), L.zeros(4), L.ones(4)),
    lambda L, N, G: G.dropout(L.ones(3), p=1.5),
    lambda L, N, G: N.BatchNorm1d(3)(L.ones(2, 3, dtype=L.float64)),
    lambda L, N, G: N.BatchNorm1d(3).eval()(L.ones(2, 3, dtype=L.float64)),
    lambda L, N, G: N.LayerNorm(3)(L.ones(2, 3, dtype=L.float64)),
    lambda L, N, G: G.binary_cross_entropy(L.ones(3) / 2, L.ones(3, dtype=L.float64)),
    lambda L, N, G: G.binary_cross_entropy_with_logits(L.ones(3), L.ones(3, dtype=L.int64)),
    lambda L, N, G: N.BatchNorm1d(3)(L.ones(2, 3, 4, 5)),
    lambda L, N, G: N.Embedding(3, 2, padding_idx=3),
    lambda L, N, G: N.Linear(2, 2).get_submodule("a"),
    lambda L, N, G: N.Linear(2, 2).get_parameter("bias.x"),
    lambda L, N, G: N.Linear(2, 2).get_parameter("foo"),
    lambda L, N, G: N.Linear(2, 2).get_buffer("weight"),
    lambda L, N, G: N.ModuleList([N.ReLU()])[3],
    lambda L, N, G: N.ModuleList(N.ReLU()),
    lambda L, N, G: N.ModuleDict({"a": N.ReLU()})["b"],
    lambda L, N, G: N.Sequential(N.ReLU()).insert(5, N.ReLU()),
    lambda L, N, G: N.init.calculate_gain("swish"),
    lambda L, N, G: N.init.kaiming_uniform_(L.ones(3)),
    lambda L, N, G: N.init.kaiming_normal_(L.ones(3, 2), mode="fan_avg"),
    lambda L, N, G: N.init.xavier_normal_(L.ones(3)),
    lambda L, N, G: N.init.eye_(L.ones(3)),
    lambda L, N, G: N.utils.vector_to_parameters([1.0], [L.ones(1)]),
])
def test_bad_input_raises_torchs_error(call):
    ours, theirs = both(call)
    assert_same_error(ours, theirs)


def test_a_trained_torch_batchnorm_loads_into_ours_and_evaluates_alike():
    theirs = torch.nn.BatchNorm1d(3, momentum=None)
    for seed in range(3):
        theirs(torch.from_numpy(inputs([(8, 3)], np.float32, seed=seed)[0] * 2 + 1))
    ours = nn.BatchNorm1d(3, momentum=None)
    ours.load_state_dict(theirs.state_dict())
    assert ours.num_batches_tracked.item() == 3 and ours.num_batches_tracked.dtype == np.int64
    x = inputs([(4, 3)], np.float32, seed=9)[0]
    assert_close(ours.eval()(tg.tensor(x)), theirs.eval()(torch.from_numpy(x)), np.float32)
    ours.train()
    theirs.train()
    assert_close(ours(tg.tensor(x)), theirs(torch.from_numpy(x)), np.float32)
    same_state(ours, theirs, np.float32)
