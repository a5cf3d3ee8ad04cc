"""Timing, memory and machine information shared by every case."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np


def bench(fns: dict[str, Callable[[], Any]], repeats: int, number: int | dict[str, int] = 1,
          warmup: int = 1) -> dict[str, float]:
    """Median seconds per call of each function.

    Each function is first called ``warmup`` times; then, ``repeats`` times over, every
    function is timed for ``number`` calls in a row (a dict gives each function its own
    count, so a fast one fills its sample as a slow one does). The order of the implementations
    rotates from one repeat to the next, so none always runs first (or right after the
    same neighbour). Garbage is collected once before the warm-up; after it the collector
    runs as it would in a program, inside the samples of whoever makes cyclic garbage.
    """
    names = list(fns)
    gc.collect()
    for name in names:
        for _ in range(warmup):
            fns[name]()
    counts = number if isinstance(number, dict) else dict.fromkeys(names, number)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            fn, n = fns[name], counts[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - start) / n)
    return {name: statistics.median(s) for name, s in samples.items()}


def peak_python_bytes(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated while ``fn`` runs, beyond what was allocated before it.

    tracemalloc sees numpy's array buffers (numpy reports them to it) and every Python
    object; the result of ``fn`` is kept alive until the peak is read, so a returned
    gradient counts. Slow: never inside a timed region.
    """
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        tracemalloc.stop()
    return peak - base


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence C-level writes to stderr (the torch profiler logs its start and stop)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def peak_torch_bytes(fn: Callable[[], Any]) -> int:
    """Peak bytes held by torch's CPU allocator while ``fn`` runs, beyond what it held
    before: replays the allocation and free events that ``torch.profiler`` records with
    ``profile_memory=True`` (tracemalloc cannot see torch's allocator)."""
    from torch.profiler import ProfilerActivity, profile

    gc.collect()
    with _quiet_stderr():
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            result = fn()
            del result
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "trace.json")
            prof.export_chrome_trace(path)
            with open(path) as f:
                events = json.load(f)["traceEvents"]
    held = peak = 0
    for e in sorted((e for e in events if e.get("name") == "[memory]"), key=lambda e: e["ts"]):
        held += e["args"]["Bytes"]
        peak = max(peak, held)
    return peak


THREAD_SETTINGS = {"one": "1 thread", "default": "default threads"}


@contextlib.contextmanager
def thread_setting(setting: str, torch_default: int) -> Iterator[str]:
    """Run the cases with one thread for every implementation (``"one"``: torch, numpy's
    BLAS and tinygrad_ce's row-block kernels) or with each one's default (``"default"``:
    torch's count when the run started, numpy's BLAS as loaded, ``tinygrad_ce``'s from the
    environment or the cores). Yields what was set, for the table's caption."""
    import torch

    import tinygrad_ce as tg
    from tinygrad_ce import threads

    before = (torch.get_num_threads(), tg.get_num_threads())
    limiter: Any = contextlib.nullcontext()
    blas = "as loaded"
    if setting == "one":
        torch.set_num_threads(1)
        tg.set_num_threads(1)
        try:
            from threadpoolctl import threadpool_limits

            limiter = threadpool_limits(limits=1, user_api="blas")
            blas = "1"
        except ImportError:
            blas = "not limited (threadpoolctl not installed)"
    else:
        torch.set_num_threads(torch_default)
        tg.set_num_threads(threads.default_num_threads())
    try:
        with limiter:
            yield (f"torch {torch.get_num_threads()}, tinygrad_ce {tg.get_num_threads()}, "
                   f"numpy's BLAS {blas}")
    finally:
        torch.set_num_threads(before[0])
        tg.set_num_threads(before[1])


def machine_info() -> dict[str, Any]:
    """CPU, cores, Python, numpy, torch and the BLAS numpy calls."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["torch"] = "not installed"
    info["blas"] = _blas()
    info["load average (1 min) at start"] = load_average()
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "TINYGRAD_CE_NUM_THREADS"):
        if var in os.environ:
            info[var] = os.environ[var]
    return info


def load_average() -> str:
    """The 1-minute load average: other work on the machine slows every column."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        for lib in threadpool_info():
            if lib.get("user_api") == "blas" and "numpy" in lib.get("filepath", ""):
                n = lib["num_threads"]
                return (f"{lib['internal_api']} {lib.get('version')} "
                        f"({lib.get('architecture')} kernel, {n} thread{'s' * (n != 1)})")
    with contextlib.suppress(Exception):
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')}".strip()
    return "unknown"


def fmt_time(seconds: float | None) -> str:
    """A duration with a unit that keeps three significant figures readable."""
    if seconds is None:
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def fmt_ratio(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}x" if x < 100 else f"{x:,.0f}x"


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
              for i, c in enumerate(columns)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(columns), sep] + [line(r) for r in rows])
