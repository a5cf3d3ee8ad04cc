"""Toy datasets made with numpy, a train/test split and a shuffling batch iterator.

Every generator takes ``seed``: the same seed gives the same arrays. With ``seed=None`` the
global generator (``tinygrad_ce.manual_seed``) is used. Features come as float arrays of
shape ``(n, 2)`` and labels as int64 arrays of shape ``(n,)``, like scikit-learn's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tinygrad_ce import creation
from tinygrad_ce.dtypes import as_dtype
from tinygrad_ce.tensor import Tensor, float32


def _generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    if seed is None:
        return creation.generator()
    if isinstance(seed, np.random.Generator):
        return seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed={seed!r}: expected an int, a numpy Generator or None")
    return np.random.default_rng(int(seed))


def _positive(value: Any, name: str, minimum: int = 1) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name}={value!r}: expected an int >= {minimum}")
    return int(value)


def _noise(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"noise={value!r}: expected a number >= 0")
    return float(value)


def _split_counts(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _finish(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, dtype: Any,
            shuffle: bool) -> tuple[np.ndarray, np.ndarray]:
    if shuffle:
        order = rng.permutation(len(y))
        x, y = x[order], y[order]
    return x.astype(as_dtype(dtype)), y.astype(np.int64)


def make_spirals(n_samples: int = 300, n_classes: int = 3, noise: float = 0.2,
                 turns: float = 1.0, seed: int | None = None, dtype: Any = float32,
                 shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` interleaved arms: point i of class k sits at radius ``r_i`` in [0.1, 1]
    and angle ``2 pi (turns r_i + k / n_classes)`` plus Gaussian ``noise`` (radians): the
    classic toy problem that no linear model separates."""
    n = _positive(n_samples, "n_samples")
    k = _positive(n_classes, "n_classes", 2)
    noise = _noise(noise)
    rng = _generator(seed)
    xs, ys = [], []
    for c, m in enumerate(_split_counts(n, k)):
        r = np.linspace(0.1, 1.0, m)
        t = 2 * np.pi * (turns * r + c / k) + rng.standard_normal(m) * noise
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(m, c))
    return _finish(np.concatenate(xs), np.concatenate(ys), rng, dtype, shuffle)


def make_moons(n_samples: int = 200, noise: float = 0.1, seed: int | None = None,
               dtype: Any = float32, shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's construction), Gaussian ``noise``."""
    n = _positive(n_samples, "n_samples", 2)
    noise = _noise(noise)
    rng = _generator(seed)
    n_out, n_in = _split_counts(n, 2)
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], 1)])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    x = x + rng.standard_normal(x.shape) * noise
    return _finish(x, y, rng, dtype, shuffle)


def make_circles(n_samples: int = 200, noise: float = 0.05, factor: float = 0.5,
                 seed: int | None = None, dtype: Any = float32,
                 shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A circle (class 0) around a smaller one of radius ``factor`` (class 1)."""
    n = _positive(n_samples, "n_samples", 2)
    noise = _noise(noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor={factor!r}: expected a number in (0, 1)")
    rng = _generator(seed)
    n_out, n_in = _split_counts(n, 2)
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        factor * np.stack([np.cos(t_in), np.sin(t_in)], 1)])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    x = x + rng.standard_normal(x.shape) * noise
    return _finish(x, y, rng, dtype, shuffle)


def make_blobs(n_samples: int = 300, centers: int = 3, cluster_std: float = 1.0,
               n_features: int = 2, box: float = 10.0, seed: int | None = None,
               dtype: Any = float32, shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs around ``centers`` random centres drawn in ``[-box, box]``."""
    n = _positive(n_samples, "n_samples")
    k = _positive(centers, "centers")
    d = _positive(n_features, "n_features")
    if not cluster_std >= 0:
        raise ValueError(f"cluster_std={cluster_std!r}: expected a number >= 0")
    rng = _generator(seed)
    middle = rng.uniform(-box, box, (k, d))
    y = np.concatenate([np.full(m, c) for c, m in enumerate(_split_counts(n, k))])
    x = middle[y] + rng.standard_normal((n, d)) * cluster_std
    return _finish(x, y, rng, dtype, shuffle)


def load_digits(dtype: Any = float32) -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 handwritten digits that scikit-learn ships (no download): ``x`` of
    shape ``(1797, 64)`` scaled to [0, 1], ``y`` in 0..9. Needs the ``digits`` extra."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise ImportError(
            "load_digits needs scikit-learn, which ships the digits: "
            "pip install 'tinygrad-ce[digits]'"
        ) from None
    bunch = sk_load_digits()
    return (bunch.data / 16.0).astype(as_dtype(dtype)), bunch.target.astype(np.int64)


def train_test_split(x: np.ndarray, y: np.ndarray, test_size: float = 0.25,
                     seed: int | None = None) -> tuple[np.ndarray, np.ndarray,
                                                       np.ndarray, np.ndarray]:
    """Shuffle and split into ``x_train, x_test, y_train, y_test`` (scikit-learn's order);
    ``test_size`` is a fraction in (0, 1) or a count of test samples."""
    x, y = np.asarray(x), np.asarray(y)
    n = len(x)
    if len(y) != n:
        raise ValueError(f"x has {n} samples but y has {len(y)}")
    if isinstance(test_size, float) and 0 < test_size < 1:
        n_test = int(np.ceil(test_size * n))
    elif isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool) \
            and 0 < test_size < n:
        n_test = int(test_size)
    else:
        raise ValueError(
            f"test_size={test_size!r}: expected a fraction in (0, 1) or a count in [1, {n - 1}]"
        )
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size!r} leaves no sample in one of the two parts")
    order = _generator(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return x[train], x[test], y[train], y[test]


class DataLoader:
    """Mini-batches ``(x, y)`` of Tensors; reshuffled at the start of every pass when
    ``shuffle`` (from ``seed``'s generator, or the global one)::

        for xb, yb in DataLoader(x, y, batch_size=64, shuffle=True, seed=0): ...
    """

    def __init__(self, x: Any, y: Any, batch_size: int = 32, shuffle: bool = True,
                 drop_last: bool = False, seed: int | None = None) -> None:
        self.x = x._data if isinstance(x, Tensor) else np.asarray(x)
        self.y = y._data if isinstance(y, Tensor) else np.asarray(y)
        if len(self.x) != len(self.y):
            raise ValueError(f"x has {len(self.x)} samples but y has {len(self.y)}")
        self.batch_size = _positive(batch_size, "batch_size")
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.rng = _generator(seed) if seed is not None else None

    def __len__(self) -> int:
        n, b = len(self.x), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def order(self) -> np.ndarray:
        """The sample order of the next pass (draws from the generator when shuffling)."""
        n = len(self.x)
        if not self.shuffle:
            return np.arange(n)
        return (self.rng or creation.generator()).permutation(n)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        order = self.order()
        for i in range(len(self)):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            yield Tensor(self.x[idx]), Tensor(self.y[idx])


def batches(x: Any, y: Any, batch_size: int = 32, shuffle: bool = True,
            seed: int | None = None) -> Iterator[tuple[Tensor, Tensor]]:
    """One shuffled pass over ``(x, y)`` in mini-batches of Tensors."""
    return iter(DataLoader(x, y, batch_size, shuffle=shuffle, seed=seed))


DATASETS: dict[str, Any] = {
    "spirals": make_spirals, "moons": make_moons, "circles": make_circles, "blobs": make_blobs,
}

__all__ = ["make_spirals", "make_moons", "make_circles", "make_blobs", "load_digits",
           "train_test_split", "DataLoader", "batches", "DATASETS"]

