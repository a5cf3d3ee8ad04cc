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


class Generator:
    """torch's ``Generator``: a random stream of its own, for the ``generator=`` argument
    of ``randn``, ``rand``, ``randint``, ``randperm``, ``multinomial``, ``normal`` and
    ``bernoulli`` (``g = Generator().manual_seed(42)``). Its numbers are numpy's, not
    torch's: the same seed gives other values than in torch."""

    def __init__(self, device: str = "cpu") -> None:
        if str(device) != "cpu":
            raise RuntimeError(f"Generator(device={device!r}): the only device here is 'cpu'")
        self._seed = int(np.random.SeedSequence().entropy) % (2 ** 63)  # type: ignore[arg-type]
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"manual_seed(seed={seed!r}): expected an int")
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def seed(self) -> int:
        self._seed = int(np.random.SeedSequence().entropy) % (2 ** 63)  # type: ignore[arg-type]
        self.rng = np.random.default_rng(self._seed)
        return self._seed


def stream(g: Generator | None) -> np.random.Generator:
    """The numpy generator to draw from: ``g``'s, or the global one."""
    if g is None:
        return _generator
    if not isinstance(g, Generator):
        raise TypeError(f"generator={g!r}: expected a tinygrad_ce.Generator")
    return g.rng
