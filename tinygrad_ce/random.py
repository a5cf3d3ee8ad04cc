"""The one global random Generator that every random tensor, in-place fill and init draws from."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the global generator that ``randn``, ``rand``, ``randint``, ``normal_``,
    ``uniform_`` (and ``nn`` init) use."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed(seed={seed!r}): expected an int")
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator() -> np.random.Generator:
    """The global generator (re-created by ``manual_seed``)."""
    return _generator
