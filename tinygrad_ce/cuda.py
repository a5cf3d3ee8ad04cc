"""torch's ``torch.cuda`` as seen without a GPU: device-agnostic scripts
(``device = 'cuda' if torch.cuda.is_available() else 'cpu'``) pick the CPU."""

from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: int) -> None:
    """Ignored without CUDA, as torch's."""


def manual_seed_all(seed: int) -> None:
    """Ignored without CUDA, as torch's."""
