"""Toy datasets, the split and the batch iterator: deterministic under a seed, shaped as
documented; the digits behind their extra."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import tinygrad_ce as tg
from tinygrad_ce import data

GENERATORS = {
    "spirals": lambda **kw: data.make_spirals(300, 3, **kw),
    "moons": lambda **kw: data.make_moons(201, **kw),
    "circles": lambda **kw: data.make_circles(201, **kw),
    "blobs": lambda **kw: data.make_blobs(300, centers=4, **kw),
}


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_are_deterministic_under_a_seed(name):
    make = GENERATORS[name]
    x1, y1 = make(seed=7)
    x2, y2 = make(seed=7)
    x3, _ = make(seed=8)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    tg.manual_seed(5)
    a, _ = make()
    tg.manual_seed(5)
    b, _ = make()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_generators_shapes_dtypes_and_balanced_labels(name, dtype):
    x, y = GENERATORS[name](seed=0, dtype=dtype)
    assert x.ndim == 2 and x.shape[1] == 2 and x.dtype == dtype
    assert y.shape == (len(x),) and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1 and len(counts) == int(y.max()) + 1
    assert np.isfinite(x).all()


def test_spirals_arms_follow_the_formula_without_noise():
    x, y = data.make_spirals(30, 3, noise=0.0, shuffle=False, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(r[:10], np.linspace(0.1, 1.0, 10), rtol=1e-6)
    angle = np.arctan2(x[:, 0], x[:, 1])  # x = r sin t, y = r cos t
    expected = 2 * np.pi * (np.linspace(0.1, 1, 10) + 1 / 3)
    np.testing.assert_allclose(np.angle(np.exp(1j * (angle[10:20] - expected))), 0, atol=1e-5)
    assert list(y[:10]) == [0] * 10 and list(y[10:20]) == [1] * 10


def test_moons_and_circles_match_their_construction():
    x, y = data.make_circles(100, noise=0.0, factor=0.3, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.3, rtol=1e-6)
    x, y = data.make_moons(100, noise=0.0, seed=0)
    np.testing.assert_allclose(np.hypot(x[y == 0, 0], x[y == 0, 1]), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.hypot(x[y == 1, 0] - 1, x[y == 1, 1] - 0.5), 1.0, rtol=1e-6)


@pytest.mark.parametrize("call,match", [
    (lambda: data.make_spirals(0), "n_samples=0"),
    (lambda: data.make_spirals(10, n_classes=1), "n_classes=1"),
    (lambda: data.make_moons(10, noise=-1), "noise=-1"),
    (lambda: data.make_circles(10, factor=1.5), "factor=1.5"),
    (lambda: data.make_blobs(10, centers=0), "centers=0"),
    (lambda: data.make_spirals(10, seed="a"), "seed='a'"),
])
def test_generators_reject_bad_arguments(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_train_test_split_partitions_the_data():
    x = np.arange(100).reshape(50, 2)
    y = np.arange(50)
    x_tr, x_te, y_tr, y_te = data.train_test_split(x, y, test_size=0.2, seed=0)
    assert len(x_te) == 10 and len(x_tr) == 40
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(50))
    np.testing.assert_array_equal(x_tr[:, 0] // 2, y_tr)  # rows stay paired
    again = data.train_test_split(x, y, test_size=0.2, seed=0)
    np.testing.assert_array_equal(again[3], y_te)
    assert len(data.train_test_split(x, y, test_size=7, seed=0)[1]) == 7
    for bad in (0.0, 1.0, 50, -3, "a"):
        with pytest.raises(ValueError, match="test_size"):
            data.train_test_split(x, y, test_size=bad)
    with pytest.raises(ValueError, match="50 samples but y has 3"):
        data.train_test_split(x, y[:3])


def test_data_loader_covers_every_sample_once_per_pass_and_reshuffles():
    x = np.arange(23, dtype=np.float32)[:, None]
    y = np.arange(23)
    loader = data.DataLoader(x, y, batch_size=5, shuffle=True, seed=0)
    assert len(loader) == 5
    passes = []
    for _ in range(2):
        batches = list(loader)
        assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]
        assert all(isinstance(xb, tg.Tensor) and xb.dtype == np.float32 for xb, _ in batches)
        order = np.concatenate([yb.numpy() for _, yb in batches])
        assert sorted(order.tolist()) == list(range(23))
        np.testing.assert_array_equal(np.concatenate([xb.numpy()[:, 0] for xb, _ in batches]),
                                      order)
        passes.append(order)
    assert not np.array_equal(passes[0], passes[1])
    again = data.DataLoader(x, y, batch_size=5, shuffle=True, seed=0)
    np.testing.assert_array_equal(np.concatenate([yb.numpy() for _, yb in again]), passes[0])
    fixed = data.DataLoader(x, y, batch_size=10, shuffle=False, drop_last=True)
    assert len(fixed) == 2
    assert np.concatenate([yb.numpy() for _, yb in fixed]).tolist() == list(range(20))
    with pytest.raises(ValueError, match="batch_size=0"):
        data.DataLoader(x, y, batch_size=0)
    with pytest.raises(ValueError, match="23 samples but y has 2"):
        data.DataLoader(x, y[:2])
    assert len(list(data.batches(x, y, 8, seed=1))) == 3


def test_load_digits_ships_with_scikit_learn():
    x, y = data.load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32
    assert y.shape == (1797,) and set(y.tolist()) == set(range(10))
    assert 0 <= x.min() and x.max() == 1.0


def test_load_digits_without_the_extra_says_how_to_install_it(monkeypatch):
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes "import sklearn" fail
    with pytest.raises(ImportError, match=r"pip install 'tinygrad-ce\[digits\]'"):
        data.load_digits()
