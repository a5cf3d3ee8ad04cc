"""Soak: 10,000 training steps of the demo MLP in constant memory, nothing left behind.

The demo's model (``tinygrad-ce demo``): an MLP 2-64-64-3 with ReLU on the spirals, Adam at
lr 0.01, batches of 64, the fused cross-entropy. After a warm-up, two windows of steps are
traced (``tracemalloc``, which numpy reports its arrays to: right after the warm-up and at
the very end) and the process' peak RSS is read; neither may grow with the steps. With the
cyclic collector switched off, every graph must be freed by reference counting alone: no
reference cycles, no Tensor left alive.
(The 1,000,000-op chain and thread-local ``no_grad`` are tested in tests/test_engine.py.)
"""

from __future__ import annotations

import gc
import resource
import sys
import tracemalloc
from collections.abc import Iterator

import numpy as np

import tinygrad_ce as tg
from tinygrad_ce import data, nn, optim
from tinygrad_ce.nn import functional as F

STEPS = 10_000
WARM_UP = 1_000
WINDOW = 500
SETTLE = 1_000
KIB = 1024


def _tensors_alive() -> int:
    return sum(1 for o in gc.get_objects() if issubclass(type(o), tg.Tensor))


def _peak_rss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // KIB if sys.platform == "darwin" else peak  # bytes on macOS, KiB elsewhere


def _batches(loader: data.DataLoader) -> Iterator[tuple[tg.Tensor, tg.Tensor]]:
    while True:
        yield from loader


def test_ten_thousand_demo_training_steps_run_in_constant_memory() -> None:
    tg.manual_seed(0)
    x, y = data.make_spirals(1500, 3, seed=0)
    model = nn.MLP(2, (64, 64), 3)
    opt = optim.Adam(list(model.parameters()), lr=0.01)
    batches = _batches(data.DataLoader(x, y, 64, shuffle=True, seed=0))
    losses = np.empty(STEPS)  # preallocated: the test itself must not grow either
    done = 0

    def run(n: int) -> None:
        nonlocal done
        for _ in range(n):
            xb, yb = next(batches)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses[done] = loss.item()
            done += 1

    def traced_growth() -> int:
        """Bytes allocated during WINDOW steps and still held after them (tracing is slow,
        so two windows are traced: right after the warm-up and at the very end)."""
        tracemalloc.start()
        # settle first: arrays made before tracing began (weights, Adam moments, the
        # loader's permutation) are replaced by traced ones, and CPython's free lists of
        # small objects (which tracemalloc counts as held) reach their working size
        run(SETTLE)
        held = tracemalloc.get_traced_memory()[0]
        run(WINDOW)
        grown = tracemalloc.get_traced_memory()[0] - held
        tracemalloc.stop()
        return grown

    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # every graph must go by reference counting alone
    try:
        run(WARM_UP)
        assert gc.collect() == 0, "the warm-up left reference cycles for the collector"
        alive = _tensors_alive()
        rss_before = _peak_rss_kib()
        early = traced_growth()
        run(STEPS - done - SETTLE - WINDOW)
        late = traced_growth()
        rss_after = _peak_rss_kib()
        cycles = gc.collect()
        alive_after = _tensors_alive()
    finally:
        if was_enabled:
            gc.enable()

    assert done == STEPS
    print(f"\nsoak: {STEPS} steps; memory held after {WINDOW} traced steps: {early} B right "
          f"after the warm-up, {late} B at the end; peak RSS {rss_before / KIB:.1f} MiB after "
          f"the warm-up, {rss_after / KIB:.1f} MiB at the end; Tensors alive {alive} -> "
          f"{alive_after}; loss {losses[:100].mean():.3f} -> {losses[-500:].mean():.3f}")
    assert cycles == 0, f"{cycles} objects were only freeable by the cyclic collector"
    assert alive_after == alive, f"Tensors alive grew from {alive} to {alive_after}"
    # a leak of even 8 bytes a step would show as 4 KB per window
    assert early < 4 * KIB and late < 4 * KIB, f"held memory grew: {early} B, then {late} B"
    assert rss_after - rss_before < 4 * KIB, f"peak RSS grew by {rss_after - rss_before} KiB"
    assert len(opt.state) == len(list(model.parameters()))
    # it did train: the late losses are well below the early ones
    assert losses[-500:].mean() < 0.5 * losses[:100].mean()
