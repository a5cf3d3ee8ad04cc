"""``tinygrad-ce train``: the same loop as ``demo`` with every option."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from tinygrad_ce.commands.arguments import (
    float_in,
    fraction,
    integer,
    nonneg_float,
    positive_float,
    positive_int,
    sizes,
)
from tinygrad_ce.commands.outputs import (
    config_from,
    draw_step,
    output_folder,
    summary,
    write_outputs,
)
from tinygrad_ce.commands.training import TrainConfig, fit


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--dataset", choices=["spirals", "moons", "circles", "blobs", "digits"],
                   default=d.dataset, help="built-in data (digits needs scikit-learn)")
    p.add_argument("--samples", type=positive_int, default=d.samples,
                   help="points to generate (default: %(default)s; ignored for digits)")
    p.add_argument("--classes", type=integer, default=d.classes,
                   help="classes for spirals and blobs (default: %(default)s)")
    p.add_argument("--noise", type=nonneg_float, default=None,
                   help="noise of the generated data (default: the generator's)")
    p.add_argument("--hidden", type=sizes, default=d.hidden,
                   help="hidden layer sizes, comma-separated (default: 64,64)")
    p.add_argument("--activation", choices=["relu", "tanh", "sigmoid"], default=d.activation)
    p.add_argument("--epochs", type=positive_int, default=d.epochs,
                   help="default: %(default)s")
    p.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                   help="default: %(default)s")
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default=d.optimizer)
    p.add_argument("--lr", type=positive_float, default=d.lr, help="default: %(default)s")
    p.add_argument("--momentum", type=float_in(0.0, 1.0, hi_open=True), default=d.momentum,
                   help="SGD momentum (default: %(default)s)")
    p.add_argument("--weight-decay", type=nonneg_float, default=d.weight_decay,
                   help="default: %(default)s")
    p.add_argument("--schedule", choices=["cosine", "none"], default=d.schedule,
                   help="learning-rate schedule over the epochs (default: %(default)s)")
    p.add_argument("--loss", choices=["fused", "unfused"], default=d.loss,
                   help="the fused cross-entropy op or the same loss from primitives")
    p.add_argument("--seed", type=integer, default=d.seed, help="default: %(default)s")
    p.add_argument("--dtype", choices=["float32", "float64"], default=d.dtype)
    p.add_argument("--test-size", type=fraction, default=d.test_size,
                   help="fraction held out for testing (default: %(default)s)")
    p.add_argument("--out", default="tinygrad-ce-out",
                   help="folder for the runs (default: %(default)s): each run writes its "
                        "metrics.json, weights.npz and pictures into a new subfolder, "
                        "train-001, train-002, ...")
    p.add_argument("--no-graph", action="store_true",
                   help="skip the picture of one training step's graph")
    p.add_argument("--quiet", action="store_true", help="no progress bar, one summary line")


def run(args: argparse.Namespace) -> int:
    if args.dataset in ("spirals", "blobs") and args.classes < 2:
        raise ValueError(f"--classes {args.classes}: expected at least 2")
    start = time.perf_counter()
    cfg = config_from(args)
    out = output_folder(cfg.out, "train")
    say: Callable[[str], None] = (lambda s: None) if args.quiet else print
    run = fit(cfg, log=say)
    drawn = []
    if not args.no_graph:
        xb, yb = next(iter(run["loader"]))
        drawn = draw_step(run["model"], xb, yb, out, say)
    written = write_outputs(run, out, say, drawn, start)
    print(summary(run["metrics"]))
    say("wrote " + ", ".join(str(p) for p in written))
    say(f"done in {run['metrics']['wall_seconds']:.2f} s")
    return 0
