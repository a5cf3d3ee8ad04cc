"""``tinygrad-ce demo``: train an MLP on spirals with the fused cross-entropy, then show and
save everything."""

from __future__ import annotations

import argparse
import time

from tinygrad_ce.commands.arguments import integer, positive_int
from tinygrad_ce.commands.outputs import (
    config_from,
    draw_step,
    output_folder,
    summary,
    write_outputs,
)
from tinygrad_ce.commands.training import TrainConfig, fit, gradient_agreement


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="tinygrad-ce-out",
                   help="folder for the runs (default: %(default)s): each run writes its "
                        "pictures, metrics and weights into a new subfolder, demo-001, "
                        "demo-002, ...")
    p.add_argument("--seed", type=integer, default=0, help="seed for data and weights (default: 0)")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help=f"training epochs (default: {TrainConfig.epochs})")
    p.add_argument("--samples", type=positive_int, default=None,
                   help=f"points in the spirals (default: {TrainConfig.samples})")
    p.add_argument("--no-graph", action="store_true",
                   help="skip the picture of one training step's graph")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    cfg = config_from(args)
    out = output_folder(cfg.out, "demo")
    run = fit(cfg)
    model, metrics = run["model"], run["metrics"]
    print(summary(metrics))
    xb, yb = next(iter(run["loader"]))
    diff, n_fused, n_unfused = gradient_agreement(model, xb, yb)
    metrics["fused_vs_unfused_max_grad_diff"] = diff
    def nodes(n: int) -> str:
        return f"{n} node{'' if n == 1 else 's'}"

    print(f"fused ({nodes(n_fused)}) vs unfused ({nodes(n_unfused)}) cross-entropy on one batch "
          f"of {len(yb)}: largest difference of the parameter gradients {diff:.2e} "
          f"({cfg.dtype})")
    drawn = [] if args.no_graph else draw_step(model, xb, yb, out, print)
    written = write_outputs(run, out, print, drawn, start)
    print("wrote " + ", ".join(str(p) for p in written))
    print(f"done in {metrics['wall_seconds']:.2f} s")
    return 0
