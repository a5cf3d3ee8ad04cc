"""``tinygrad-ce compare``: fused vs unfused vs torch cross-entropy on the same logits: loss
and gradient differences, node counts and time."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_ce as tg
from tinygrad_ce import autograd
from tinygrad_ce.commands.arguments import float_in, integer, positive_int, sizes
from tinygrad_ce.nn import functional as F


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shape", type=sizes, default=(256, 10),
                   help="logits shape N,C or N,C,d1,... (default: 256,10)")
    p.add_argument("--target", choices=["index", "prob"], default="index",
                   help="class indices or class probabilities (default: index)")
    p.add_argument("--weight", action="store_true", help="random per-class weights")
    p.add_argument("--ignore-index", type=integer, default=None,
                   help="class index to ignore (some targets are set to it)")
    p.add_argument("--reduction", choices=["mean", "sum", "none"], default="mean")
    p.add_argument("--label-smoothing", type=float_in(0.0, 1.0), default=0.0)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    p.add_argument("--repeat", type=positive_int, default=20,
                   help="timed runs; the median is shown (default: %(default)s)")
    p.add_argument("--seed", type=integer, default=0)
    p.add_argument("--json", default=None, help="also write the results to this file")


def torch_nodes(root: Any) -> int:
    seen, stack = set(), [root.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        stack.extend(f for f, _ in fn.next_functions)
    return len(seen)


def run(args: argparse.Namespace) -> int:
    shape = args.shape
    if len(shape) < 2:
        raise ValueError(f"--shape {','.join(map(str, shape))}: expected at least N,C")
    n, c, rest = shape[0], shape[1], shape[2:]
    if args.ignore_index is not None and args.target == "prob":
        raise ValueError("--ignore-index applies to class-index targets, not --target prob")
    rng = np.random.default_rng(args.seed)
    dt = np.dtype(args.dtype)
    x = (rng.standard_normal(shape) * 2).astype(dt)
    if args.target == "index":
        target = rng.integers(0, c, (n, *rest))
        if args.ignore_index is not None:
            target[rng.random(target.shape) < 0.2] = args.ignore_index
    else:
        p = rng.random(shape) + 0.1
        target = (p / p.sum(1, keepdims=True)).astype(dt)
    weight = (rng.random(c) + 0.5).astype(dt) if args.weight else None
    opts = dict(ignore_index=-100 if args.ignore_index is None else args.ignore_index,
                reduction=args.reduction, label_smoothing=args.label_smoothing)
    upstream = None

    def ours(fn: Callable[..., Any]) -> tuple[np.ndarray, np.ndarray, int]:
        xt = tg.Tensor(x, requires_grad=True)
        loss = fn(xt, tg.Tensor(target), weight=None if weight is None else tg.Tensor(weight),
                  **opts)
        nodes = len(autograd.topological_order([loss]))
        (g,) = autograd.grad(loss, [xt], None if upstream is None else tg.Tensor(upstream))
        return loss._data, g._data, nodes  # type: ignore[union-attr]

    if args.reduction == "none":
        upstream = rng.standard_normal((n, *rest)).astype(dt)
    rows: dict[str, dict[str, Any]] = {}
    for name, fn in (("fused", F.cross_entropy), ("unfused", F.cross_entropy_unfused)):
        loss, grad, nodes = ours(fn)
        rows[name] = {"loss": loss, "grad": grad, "nodes": nodes,
                      "ms": median_ms(lambda fn=fn: ours(fn), args.repeat)}  # type: ignore[misc]
    try:
        import torch
    except ImportError:
        torch = None  # type: ignore[assignment]
    if torch is not None:
        def theirs() -> tuple[np.ndarray, np.ndarray, int]:
            xt = torch.tensor(x, requires_grad=True)
            tt = torch.tensor(target)
            w = None if weight is None else torch.tensor(weight)
            loss = torch.nn.functional.cross_entropy(xt, tt, weight=w, **opts)
            nodes = torch_nodes(loss)
            up = None if upstream is None else torch.tensor(upstream)
            (g,) = torch.autograd.grad(loss, [xt], up)
            return loss.detach().numpy(), g.numpy(), nodes

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny ops: a thread pool only adds waiting
        try:
            loss, grad, nodes = theirs()
            rows["torch"] = {"loss": loss, "grad": grad, "nodes": nodes,
                             "ms": median_ms(theirs, args.repeat)}
        finally:
            torch.set_num_threads(threads)
    ref = "torch" if "torch" in rows else "fused"
    print(f"cross-entropy on logits {tuple(shape)} {args.dtype}, {args.target} targets, "
          f"reduction={args.reduction}, label_smoothing={args.label_smoothing:g}, "
          f"weight={'yes' if args.weight else 'no'}, ignore_index={args.ignore_index}")
    loss_title = "loss" if args.reduction != "none" else "sum of losses"
    header = (f"{'':8} {loss_title:>14} {'max|dloss| vs ' + ref:>18} "
              f"{'max|dgrad| vs ' + ref:>18} {'nodes':>6} {'fwd+bwd ms':>11}")
    print(header)
    results = {}
    for name, row in rows.items():
        dl = float(np.max(np.abs(row["loss"] - rows[ref]["loss"]))) if row["loss"].size else 0.0
        dg = float(np.max(np.abs(row["grad"] - rows[ref]["grad"]))) if row["grad"].size else 0.0
        shown = float(row["loss"]) if row["loss"].size == 1 else float(row["loss"].sum())
        print(f"{name:8} {shown:14.8g} {dl:18.3e} {dg:18.3e} {row['nodes']:6d} "
              f"{row['ms']:11.3f}")
        results[name] = {"loss": shown, "loss_diff": dl, "grad_diff": dg,
                         "nodes": row["nodes"], "ms": row["ms"]}
    if "torch" not in rows:
        print("(torch is not installed: differences are against the fused op)")
    if args.json:
        Path(args.json).write_text(json.dumps({"reference": ref, "results": results},
                                              indent=1) + "\n")
    return 0


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)
