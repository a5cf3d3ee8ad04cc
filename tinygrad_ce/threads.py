"""A small pool of threads for kernels that work on independent row blocks (the fused
cross-entropy). numpy releases the GIL inside its element-wise loops and reductions, so
blocks handed to different threads run on different cores.

How many threads: ``set_num_threads(n)`` (torch's name), else the environment variable
``TINYGRAD_CE_NUM_THREADS``, else ``OMP_NUM_THREADS`` (as torch and OpenBLAS read it), else
the number of cores this process may run on. One thread means no pool at all: the work runs
in the calling thread, as it does on a one-core machine.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")

ENV_VARS = ("TINYGRAD_CE_NUM_THREADS", "OMP_NUM_THREADS")

_chosen: int | None = None  # set_num_threads' value; None: the environment decides
_pool: ThreadPoolExecutor | None = None
_pool_key: tuple[int, int] = (0, 0)  # (workers, pid) the pool was made for
_lock = threading.Lock()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_num_threads() -> int:
    """The thread count the environment asks for (see the module's docstring)."""
    for var in ENV_VARS:
        value = os.environ.get(var, "").strip()
        if not value:
            continue
        # OMP_NUM_THREADS may list a count per nesting level ("4,2"): the first is ours
        first = value.split(",")[0].strip()
        if first.isdigit() and int(first) > 0:
            return int(first)
        warnings.warn(f"{var}={value!r} is not a positive integer; using the number of "
                      f"cores ({_cores()})", RuntimeWarning, stacklevel=3)
        break
    return _cores()


def get_num_threads() -> int:
    """Threads the row-block kernels use (torch's ``get_num_threads``)."""
    return default_num_threads() if _chosen is None else _chosen


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for the row-block kernels from now on (torch's
    ``set_num_threads``); ``n=1`` runs them in the calling thread."""
    global _chosen
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n={n!r} must be an int")
    if n < 1:
        raise ValueError(f"set_num_threads: Number of threads must be positive, got n={n}")
    _chosen = n


def _workers(n: int) -> ThreadPoolExecutor:
    """The pool of ``n`` helper threads (made again after a fork or a change of ``n``)."""
    global _pool, _pool_key
    key = (n, os.getpid())
    with _lock:
        if _pool is None or _pool_key != key:
            if _pool is not None and _pool_key[1] == key[1]:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="tinygrad_ce")
            _pool_key = key
        return _pool


def split(rows: int, parts: int) -> list[tuple[int, int]]:
    """``range(rows)`` as ``parts`` contiguous, nearly equal ``(start, stop)`` pieces."""
    parts = max(1, min(parts, rows))
    step, extra = divmod(rows, parts)
    out, start = [], 0
    for k in range(parts):
        stop = start + step + (k < extra)
        out.append((start, stop))
        start = stop
    return out


def map_ranges(fn: Callable[[int, int], T], ranges: list[tuple[int, int]]) -> list[T]:
    """``[fn(start, stop) for (start, stop) in ranges]``, the first range in the calling
    thread and the others, at the same time, in the pool. The ranges must touch
    disjoint data. An exception in any of them is raised here, after all have finished."""
    if len(ranges) == 1:
        return [fn(*ranges[0])]
    pool = _workers(len(ranges) - 1)
    futures: list[Future[T]] = [pool.submit(fn, a, b) for a, b in ranges[1:]]
    try:
        first = fn(*ranges[0])
    finally:
        wait(futures)  # never leave a helper writing after we return (or raise)
    return [first, *(f.result() for f in futures)]
