"""The benchmark cases. Each builds its inputs once, checks that every implementation
computes the same thing, then times them side by side and returns a ``Result``."""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tinygrad_ce as tg
from benchmarks.harness import (
    bench,
    fmt_ratio,
    fmt_time,
    peak_python_bytes,
    peak_torch_bytes,
    ratio,
)


@dataclass
class Config:
    quick: bool
    repeats: int  # samples per measurement (the median is reported)
    min_sample: float  # seconds: fast calls are repeated to fill at least this much
    threads: str = "one"  # "one" or "default" (see harness.thread_setting)

    @classmethod
    def make(cls, quick: bool, threads: str = "one") -> Config:
        return cls(quick, 3, 0.001, threads) if quick else cls(quick, 15, 0.02, threads)


@dataclass
class Result:
    """One case's table (already formatted), its raw figures and its notes."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    raw: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _calibrated(fns: dict[str, Callable[[], Any]], cfg: Config, repeats: int | None = None,
                ) -> dict[str, float]:
    """``bench`` with enough calls per sample that each sample lasts ``cfg.min_sample``
    (one call for a function slower than that)."""
    number = {}
    for name, fn in fns.items():
        start = time.perf_counter()
        fn()
        number[name] = max(1, int(cfg.min_sample / max(time.perf_counter() - start, 1e-7)))
    return bench(fns, repeats or cfg.repeats, number=number, warmup=1)


def _functional() -> Any:
    from tinygrad_ce.nn import functional

    return functional


def _missing(name: str) -> str | None:
    """Why tinygrad_ce.nn.functional.<name> cannot be benchmarked, or None if it can."""
    return None if hasattr(_functional(), name) else f"nn.functional.{name} not available"


# ----- 1. cross-entropy -------------------------------------------------------------------
def ce_numpy(x: np.ndarray, target: np.ndarray) -> tuple[Any, np.ndarray]:
    """Mean cross-entropy and its gradient w.r.t. the logits, in closed form:
    loss = mean_i(logsumexp(x_i) - x_i[t_i]),  dloss/dx_i = (softmax(x_i) - onehot(t_i)) / N.
    One (N, C) buffer: the exponentials, turned into the gradient in place."""
    n = x.shape[0]
    rows = np.arange(n)
    m = x.max(axis=1, keepdims=True)
    e = np.subtract(x, m)
    np.exp(e, out=e)
    s = e.sum(axis=1, keepdims=True)
    loss = np.mean(np.log(s[:, 0]) + m[:, 0] - x[rows, target])
    e *= 1 / (s * n)
    e[rows, target] -= x.dtype.type(1 / n)
    return loss, e


BLOCK_BYTES = 2 << 20  # the blocked closed form's rows per block: about 2 MiB of logits


def ce_numpy_blocked(x: np.ndarray, target: np.ndarray, out: np.ndarray | None = None,
                     ) -> tuple[Any, np.ndarray]:
    """``ce_numpy`` a block of rows at a time, each block about 2 MiB so that it stays in
    cache from the row maximum to the scaled gradient: the same closed form, written into
    the (N, C) gradient block by block, with per-row temporaries only. ``out``, when given,
    is the gradient's array (the benchmark passes the same one every call: no fresh memory
    to fault in)."""
    n, c = x.shape
    g = np.empty_like(x) if out is None else out
    rows = max(1, BLOCK_BYTES // (c * x.itemsize))
    inv = x.dtype.type(1 / n)
    total = 0.0
    for a in range(0, n, rows):
        b = min(n, a + rows)
        xb, gb, tb, ar = x[a:b], g[a:b], target[a:b], np.arange(b - a)
        np.subtract(xb, xb.max(axis=1, keepdims=True), out=gb)
        zt = gb[ar, tb]
        np.exp(gb, out=gb)
        s = gb.sum(axis=1)
        total += float(np.log(s).sum() - zt.sum())
        gb *= (inv / s)[:, None]
        gb[ar, tb] -= inv
    return x.dtype.type(total / n), g


def cross_entropy(cfg: Config, progress: Callable[[str], None]) -> Result:
    import torch

    functional = _functional()
    shapes = [(64, 10), (256, 100)] if cfg.quick else \
        [(64, 10), (1024, 1000), (8192, 1000), (256, 32000)]
    impls = ["fused", "unfused", "torch", "numpy", "blocked"]
    res = Result(
        "Cross-entropy forward + backward w.r.t. the logits (median time per call; "
        "peak extra memory in (N, C) arrays; numpy: the closed form, blocked: the same in "
        "2 MiB row blocks, into one array reused by every call)",
        ["dtype", "N x C", *impls, "fused/torch", "fused/numpy", "fused/blocked",
         "unfused/fused", *(f"mem {k}" for k in impls)],
    )
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for n, c in shapes:
            progress(f"cross-entropy {np.dtype(dtype).name} {n}x{c}")
            x = (rng.standard_normal((n, c)) * 2).astype(dtype)
            t = rng.integers(0, c, n)
            fns, skipped = _ce_fns(functional, torch, x, t)
            _check_same([fn() for fn in fns.values()], list(fns), rtol=1e-4 if dtype == np.float32
                        else 1e-9, what=f"cross-entropy {n}x{c}")
            times = _calibrated(fns, cfg, repeats=None if n * c < 10**6 else
                                max(3, cfg.repeats // 2))
            unit = x.nbytes
            mem = {k: (peak_torch_bytes if k == "torch" else peak_python_bytes)(fn) / unit
                   for k, fn in fns.items()}
            res.raw.append({"dtype": np.dtype(dtype).name, "N": n, "C": c, "seconds": times,
                            "peak_extra_memory_NC": mem, "skipped": skipped})
            res.rows.append([
                np.dtype(dtype).name, f"{n} x {c}", *(fmt_time(times.get(k)) for k in impls),
                fmt_ratio(ratio(times.get("fused"), times.get("torch"))),
                fmt_ratio(ratio(times.get("fused"), times.get("numpy"))),
                fmt_ratio(ratio(times.get("fused"), times.get("blocked"))),
                fmt_ratio(ratio(times.get("unfused"), times.get("fused"))),
                *("n/a" if k not in mem else f"{mem[k]:.2f}" for k in impls),
            ])
            for k, why in skipped.items():
                res.notes.append(f"{k}: {why}")
    res.notes = sorted(set(res.notes))
    return res


def _ce_fns(functional: Any, torch: Any, x: np.ndarray, t: np.ndarray,
            ) -> tuple[dict[str, Callable[[], Any]], dict[str, str]]:
    """Each implementation as a call returning (loss, gradient) as numpy."""
    fns: dict[str, Callable[[], Any]] = {}
    skipped: dict[str, str] = {}
    ours = tg.Tensor(x, requires_grad=True)
    target = tg.Tensor(t)
    for name, fname in (("fused", "cross_entropy"), ("unfused", "cross_entropy_unfused")):
        why = _missing(fname)
        if why:
            skipped[name] = why
            continue
        loss_fn = getattr(functional, fname)

        def run(loss_fn: Callable[..., Any] = loss_fn) -> tuple[Any, Any]:
            ours.grad = None
            loss = loss_fn(ours, target)
            loss.backward()
            return loss.numpy(), ours.grad.numpy()  # type: ignore[union-attr]

        fns[name] = run
    xt = torch.from_numpy(x).requires_grad_()
    tt = torch.from_numpy(t)

    def run_torch() -> tuple[Any, Any]:
        xt.grad = None
        loss = torch.nn.functional.cross_entropy(xt, tt)
        loss.backward()
        return loss.detach().numpy(), xt.grad.numpy()

    fns["torch"] = run_torch
    fns["numpy"] = lambda: ce_numpy(x, t)
    reused = np.empty_like(x)
    fns["blocked"] = lambda: ce_numpy_blocked(x, t, reused)
    return fns, skipped


def _check_same(outputs: list[Any], names: list[str], rtol: float, what: str) -> None:
    """Every implementation must agree with the first before it is timed."""
    ref = outputs[0]
    for name, out in zip(names[1:], outputs[1:]):
        for a, b in zip(ref, out):
            a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
            atol = rtol * max(1.0, float(np.abs(a).max(initial=0)))
            if a.shape != b.shape or not np.allclose(a, b, rtol=rtol, atol=atol):
                raise AssertionError(f"{what}: {name} disagrees with {names[0]}")


# ----- 2. MLP training step ----------------------------------------------------------------
def _init_mlp(sizes: list[int], dtype: Any, seed: int) -> list[np.ndarray]:
    """Weights (in, out) and biases like torch's nn.Linear: U(-1/sqrt(in), 1/sqrt(in))."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        params.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return params


def mlp_step(cfg: Config, progress: Callable[[str], None]) -> Result:
    import torch

    progress("MLP training step")
    sizes, batch, lr = [784, 256, 256, 10], 128, 0.01
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    init = _init_mlp(sizes, np.float32, seed=2)
    fns = {"ours": _mlp_ours(init, x, y, lr), "torch": _mlp_torch(torch, init, x, y, lr),
           "numpy": _mlp_numpy(init, x, y, lr)}
    # one step from the same weights: the same loss and the same updated weights
    _check_same([fn() for fn in fns.values()], list(fns), rtol=1e-4, what="MLP step")
    times = _calibrated(fns, cfg)
    res = Result(f"MLP {'-'.join(map(str, sizes))} ReLU training step (forward, cross-entropy, "
                 f"backward, SGD), batch {batch}, float32",
                 ["ours", "torch", "numpy", "ours/torch", "ours/numpy"])
    res.rows.append([fmt_time(times["ours"]), fmt_time(times["torch"]), fmt_time(times["numpy"]),
                     fmt_ratio(ratio(times["ours"], times["torch"])),
                     fmt_ratio(ratio(times["ours"], times["numpy"]))])
    res.raw.append({"seconds": times})
    return res


def _mlp_ours(init: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float,
              ) -> Callable[[], Any]:
    """The same code as torch's: nn.Sequential of Linear and ReLU, optim.SGD."""
    from tinygrad_ce import nn, optim

    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    with tg.no_grad():
        for layer, (w, b) in zip(list(model)[::2], zip(init[::2], init[1::2])):
            layer.weight.copy_(w.T)
            layer.bias.copy_(b)
    opt = optim.SGD(model.parameters(), lr=lr)
    xt, yt = tg.Tensor(x), tg.Tensor(y)

    def step() -> list[Any]:
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        out = [loss.numpy()]
        for layer in list(model)[::2]:
            out += [layer.weight.numpy().T, layer.bias.numpy()]
        return out

    return step


def _mlp_torch(torch: Any, init: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float,
               ) -> Callable[[], Any]:
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    with torch.no_grad():
        for layer, (w, b) in zip(model[::2], zip(init[::2], init[1::2])):
            layer.weight.copy_(torch.from_numpy(w.T))
            layer.bias.copy_(torch.from_numpy(b))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> list[Any]:
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        out = [loss.detach().numpy()]
        for layer in model[::2]:
            out += [layer.weight.detach().numpy().T, layer.bias.detach().numpy()]
        return out

    return step


def _mlp_numpy(init: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float,
               ) -> Callable[[], Any]:
    params = [p.copy() for p in init]

    def step() -> list[Any]:
        w1, b1, w2, b2, w3, b3 = params
        z1 = x @ w1 + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ w2 + b2
        h2 = np.maximum(z2, 0)
        loss, d3 = ce_numpy(h2 @ w3 + b3, y)
        d2 = d3 @ w3.T
        d2 *= z2 > 0
        d1 = d2 @ w2.T
        d1 *= z1 > 0
        grads = [x.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ d3, d3.sum(0)]
        for p, g in zip(params, grads):
            p -= lr * g
        return [loss] + params

    return step


# ----- 3. micrograd's demo ------------------------------------------------------------------
def make_moons(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as scikit-learn's make_moons), labels -1 and +1."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    a = np.linspace(0, np.pi, n_out)
    b = np.linspace(0, np.pi, n - n_out)
    x = np.concatenate([np.stack([np.cos(a), np.sin(a)], 1),
                        np.stack([1 - np.cos(b), 1 - np.sin(b) - 0.5], 1)])
    x += rng.normal(0, noise, x.shape)
    y = np.concatenate([-np.ones(n_out), np.ones(n - n_out)])
    return x, y


def micrograd_demo(cfg: Config, progress: Callable[[str], None]) -> Result:
    import torch

    progress("micrograd demo epoch")
    points = 20 if cfg.quick else 100
    x, y = make_moons(points, 0.1, seed=3)
    init = _init_mlp([2, 16, 16, 1], np.float64, seed=4)
    fns = {"ours": _demo_ours(init, x, y), "torch": _demo_torch(torch, init, x, y)}
    try:
        fns["micrograd"] = _demo_micrograd(init, x, y)
        skipped = None
    except ImportError:
        skipped = "micrograd not installed (pip install micrograd==0.1.0)"
    _check_same([fn() for fn in fns.values()], list(fns), rtol=1e-9, what="micrograd demo")
    # micrograd takes a second an epoch: fewer repeats, still alternating with the others
    times = _calibrated(fns, cfg, repeats=None if skipped else 3 if cfg.quick else 7)
    res = Result(f"micrograd's demo: one epoch (MLP 2-16-16-1, {points} moons points, full "
                 "batch, hinge loss + L2, SGD), float64",
                 ["ours", "torch", "micrograd", "ours/torch", "micrograd/ours"])
    res.rows.append([fmt_time(times["ours"]), fmt_time(times["torch"]),
                     fmt_time(times.get("micrograd")),
                     fmt_ratio(ratio(times["ours"], times["torch"])),
                     fmt_ratio(ratio(times.get("micrograd"), times["ours"]))])
    res.raw.append({"points": points, "seconds": times})
    if skipped:
        res.notes.append(skipped)
    return res


_ALPHA = 1e-4  # the demo's L2 strength


def _lr(epoch: int) -> float:
    return 1.0 - 0.9 * (epoch % 100) / 100  # the demo's schedule


def _demo_ours(init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Callable[[], Any]:
    params = [tg.Tensor(p.copy(), requires_grad=True) for p in init]
    xt, yt = tg.Tensor(x), tg.Tensor(y[:, None])
    epoch = [0]

    def run() -> list[Any]:
        w1, b1, w2, b2, w3, b3 = params
        scores = ((xt @ w1 + b1).relu() @ w2 + b2).relu() @ w3 + b3
        data_loss = (1 - yt * scores).relu().mean()
        reg_loss = _ALPHA * sum((p * p).sum() for p in params)
        loss = data_loss + reg_loss
        loss.backward()
        lr = _lr(epoch[0])
        epoch[0] += 1
        with tg.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        return [loss.numpy()]

    return run


def _demo_torch(torch: Any, init: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                ) -> Callable[[], Any]:
    params = [torch.tensor(p, requires_grad=True) for p in init]
    xt, yt = torch.from_numpy(x), torch.from_numpy(y[:, None])
    opt = torch.optim.SGD(params, lr=1.0)
    epoch = [0]

    def run() -> list[Any]:
        w1, b1, w2, b2, w3, b3 = params
        scores = torch.relu(torch.relu(xt @ w1 + b1) @ w2 + b2) @ w3 + b3
        data_loss = torch.relu(1 - yt * scores).mean()
        reg_loss = _ALPHA * sum((p * p).sum() for p in params)
        loss = data_loss + reg_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for group in opt.param_groups:
            group["lr"] = _lr(epoch[0])
        epoch[0] += 1
        opt.step()
        return [loss.detach().numpy()]

    return run


def _demo_micrograd(init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Callable[[], Any]:
    from micrograd.engine import Value
    from micrograd.nn import MLP

    random.seed(0)
    model = MLP(2, [16, 16, 1])
    for layer, w, b in zip(model.layers, init[::2], init[1::2]):
        for j, neuron in enumerate(layer.neurons):
            for i, wi in enumerate(neuron.w):
                wi.data = float(w[i, j])
            neuron.b.data = float(b[j])
    epoch = [0]

    def run() -> list[Any]:
        # the demo notebook's loss(), without its accuracy, then its update
        inputs = [list(map(Value, row)) for row in x.tolist()]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y.tolist(), scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = _ALPHA * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        model.zero_grad()
        total_loss.backward()
        lr = _lr(epoch[0])
        epoch[0] += 1
        for p in model.parameters():
            p.data -= lr * p.grad
        return [total_loss.data]

    return run


# ----- 4. per-op overhead -------------------------------------------------------------------
def per_op(cfg: Config, progress: Callable[[str], None]) -> Result:
    import torch

    progress("per-op overhead")
    ops = 1000

    def loop(a: Any, b: Any, ctx: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            with ctx():
                for _ in range(ops):
                    a * b
        return run

    one = np.ones(1, np.float32)
    a, b = tg.Tensor(one.copy(), requires_grad=True), tg.Tensor(one.copy(), requires_grad=True)
    ta, tb = torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)
    na, nb = one.copy(), one.copy()
    fns = {"ours, grad on": loop(a, b, tg.enable_grad), "torch, grad on": loop(ta, tb,
                                                                               torch.enable_grad),
           "ours, grad off": loop(a, b, tg.no_grad), "torch, grad off": loop(ta, tb,
                                                                             torch.no_grad),
           "numpy": loop(na, nb, tg.enable_grad)}
    times = {k: v / ops for k, v in _calibrated(fns, cfg).items()}
    res = Result("Per-op overhead: c = a * b on 1-element float32 tensors (time per op)",
                 ["recording", "ours", "torch", "numpy arrays", "ours/torch"])
    for mode in ("on", "off"):
        o, t = times[f"ours, grad {mode}"], times[f"torch, grad {mode}"]
        res.rows.append([f"grad {mode}", fmt_time(o), fmt_time(t), fmt_time(times["numpy"]),
                         fmt_ratio(ratio(o, t))])
    res.raw.append({"seconds_per_op": times})
    return res


# ----- 5. long chains -----------------------------------------------------------------------
def chain(cfg: Config, progress: Callable[[str], None]) -> Result:
    import torch

    length = 2000 if cfg.quick else 100_000
    # float64: 1.0001 ** 1,000,000 = 2.7e43 would overflow float32
    runs = {"ours": lambda n: _chain_run(tg.tensor(1.0, requires_grad=True, dtype=tg.float64),
                                         n),
            "torch": lambda n: _chain_run(torch.tensor(1.0, requires_grad=True,
                                                       dtype=torch.float64), n)}
    phases: dict[str, list[tuple[float, float, float]]] = {k: [] for k in runs}
    expected = 1.0001 ** length  # d x_n / d x_0
    repeats = 3 if cfg.quick else 7
    for run in runs.values():  # warm-up
        run(length)
    for r in range(repeats):
        progress(f"{length:,}-op chain, repeat {r + 1}/{repeats}")
        names = list(runs)[r % 2:] + list(runs)[:r % 2]
        for k in names:
            *t, grad = runs[k](length)
            if not np.isclose(grad, expected, rtol=1e-6):
                raise AssertionError(f"{length}-op chain: {k} gave d x_n/d x_0 = {grad}")
            phases[k].append(tuple(t))  # type: ignore[arg-type]
    med = {k: np.median(np.array(v), axis=0) for k, v in phases.items()}
    res = Result("Chain x = x * 1.0001 (a 0-d float64 tensor): build, backward, free",
                 ["ops", "impl", "build", "backward", "free", "build + backward", "total",
                  "vs torch (build + backward)"])
    raw: dict[str, Any] = {"ops": length, "seconds": {}}
    for k in runs:
        build, back, free = med[k]
        raw["seconds"][k] = {"build": build, "backward": back, "free": free}
        res.rows.append([f"{length:,}", k, fmt_time(build), fmt_time(back), fmt_time(free),
                         fmt_time(build + back), fmt_time(build + back + free),
                         fmt_ratio(ratio(build + back, med["torch"][0] + med["torch"][1]))])
    res.raw.append(raw)
    if not cfg.quick and cfg.threads == "one":  # one thread either way: run it once
        big = 1_000_000
        raw_big: dict[str, Any] = {"ops": big, "seconds": {}}
        for k, run in runs.items():
            progress(f"{big:,}-op chain, {k}")
            *t, grad = run(big)
            raw_big["seconds"][k] = {"build": t[0], "backward": t[1], "free": t[2]}
            res.rows.append([f"{big:,}", k, fmt_time(t[0]), fmt_time(t[1]), fmt_time(t[2]),
                             fmt_time(t[0] + t[1]), fmt_time(sum(t)), "(one run)"])
        res.raw.append(raw_big)
    return res


def _chain_run(x0: Any, n: int) -> tuple[float, float, float, float]:
    gc.collect()
    start = time.perf_counter()
    x = x0
    for _ in range(n):
        x = x * 1.0001
    built = time.perf_counter()
    x.backward()
    done = time.perf_counter()
    del x
    freed = time.perf_counter()
    grad = float(x0.grad.item())
    return built - start, done - built, freed - done, grad


CASES: dict[str, Callable[[Config, Callable[[str], None]], Result]] = {
    "cross_entropy": cross_entropy,
    "mlp_step": mlp_step,
    "micrograd_demo": micrograd_demo,
    "per_op": per_op,
    "chain": chain,
}
