"""Argument types of the commands: each turns a bad value into one line of argparse error."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def float_in(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False
              ) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        ok = math.isfinite(value) and (lo < value if lo_open else lo <= value) and \
            (value < hi if hi_open else value <= hi)
        if not ok:
            left, right = "(" if lo_open else "[", ")" if hi_open else "]"
            raise argparse.ArgumentTypeError(f"expected a number in {left}{lo}, {hi}{right}, "
                                             f"got {text!r}")
        return value
    return parse


def sizes(text: str) -> tuple[int, ...]:
    """``"64,64"`` -> (64, 64); ``""`` or ``"none"`` -> () (no hidden layer)."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        sizes = tuple(int(s) for s in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 64,64, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return sizes



positive_float = float_in(0.0, math.inf, lo_open=True, hi_open=True)
nonneg_float = float_in(0.0, math.inf, hi_open=True)
fraction = float_in(0.0, 1.0, lo_open=True, hi_open=True)
