"""What a run leaves behind: its own folder, ``metrics.json``, the weights, the pictures and
the graph of one training step."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tinygrad_ce.commands.plots import plot_decision_boundary, plot_loss_curve
from tinygrad_ce.commands.training import TrainConfig


def write_outputs(run: dict[str, Any], out: Path, log: Callable[[str], None],
                  already: Sequence[Path] = (), start: float | None = None) -> list[Path]:
    """metrics.json, weights.npz and, with matplotlib, loss_curve.png and (2-D data)
    decision_boundary.png; ``metrics.json`` lists these and the files ``already`` written,
    and (given the run's ``start``) the wall time up to its own writing."""
    out.mkdir(parents=True, exist_ok=True)
    model, metrics = run["model"], run["metrics"]
    written = list(already) + [Path(model.save(out / "weights.npz"))]
    try:
        written.append(plot_loss_curve(metrics, out / "loss_curve.png"))
        if run["x_train"].shape[1] == 2:
            written.append(plot_decision_boundary(model, run, out / "decision_boundary.png"))
    except ImportError:
        log("note: pictures skipped: matplotlib is missing (pip install 'tinygrad-ce[demo]')")
    metrics["files"] = [p.name for p in written] + ["metrics.json"]
    if start is not None:
        metrics["wall_seconds"] = round(time.perf_counter() - start, 2)
    path = out / "metrics.json"
    tmp = out / ".metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=1) + "\n")
    os.replace(tmp, path)
    return written + [path]


def summary(metrics: dict[str, Any]) -> str:
    return (f"train accuracy {metrics['train_accuracy']:.2%}   "
            f"test accuracy {metrics['test_accuracy']:.2%}   "
            f"final loss {metrics['final_epoch_loss']:.4g}")


def output_folder(path: str, command: str) -> Path:
    """A new folder for this run's files under ``--out`` (``demo-001``, ``demo-002``, ...;
    nothing is ever overwritten or deleted), made before any work, so a bad ``--out`` fails
    in a second, not after training."""
    parent = Path(path)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        n = 1 + max((int(p.name.rsplit("-", 1)[1]) for p in parent.glob(f"{command}-[0-9]*")
                     if p.name.rsplit("-", 1)[1].isdigit()), default=0)
        while True:
            out = parent / f"{command}-{n:03d}"
            try:
                out.mkdir()
                return out
            except FileExistsError:
                n += 1
    except OSError as e:
        raise ValueError(f"--out {path}: cannot write there ({e.strerror or e})") from None


def config_from(args: argparse.Namespace, **override: Any) -> TrainConfig:
    names = TrainConfig.__dataclass_fields__
    values = {k: v for k, v in vars(args).items() if k in names and v is not None}
    values.update(override)
    return TrainConfig(**values)


def draw_step(model: Any, xb: Any, yb: Any, out: Path, log: Callable[[str], None]) -> list[Path]:
    """The graph of one training step (forward, loss and every gradient), if the renderer is
    there: the files written."""
    try:
        from tinygrad_ce import viz
        from tinygrad_ce.viz.examples import training_step_graph
    except ImportError as e:
        log(f"note: no picture of the graph: {e}")
        return []
    try:
        out.mkdir(parents=True, exist_ok=True)
        path = viz.render(training_step_graph(model, xb, yb), out / "training_step",
                          format="svg")
        log(f"graph of one training step: {path}")
        return [Path(path)]
    except Exception as e:  # noqa: BLE001 - the picture must never fail the run
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        log(f"note: could not draw the training-step graph: {first}")
        return []
