"""The ``tinygrad-ce`` command: ``demo`` (train an MLP on spirals, show and save everything),
``train`` (the same loop with every knob), ``compare`` (fused vs unfused vs torch
cross-entropy) and, when the visualisation package is present, ``graph``.

A bad option or value prints one line and exits with status 2; no tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

PROG = "tinygrad-ce"


# ----- argument parsing: one-line errors, exit status 2 -----------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _float_in(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False
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


def _sizes(text: str) -> tuple[int, ...]:
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


_positive_float = _float_in(0.0, math.inf, lo_open=True, hi_open=True)
_nonneg_float = _float_in(0.0, math.inf, hi_open=True)
_fraction = _float_in(0.0, 1.0, lo_open=True, hi_open=True)


# ----- training ---------------------------------------------------------------------------
@dataclass
class TrainConfig:
    """Everything a run depends on (written into ``metrics.json``)."""

    dataset: str = "spirals"
    samples: int = 1500
    classes: int = 3
    noise: float | None = None
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "relu"
    epochs: int = 80
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    loss: str = "fused"
    seed: int = 0
    dtype: str = "float32"
    test_size: float = 0.2
    out: str = "tinygrad-ce-out"
    quiet: bool = False


def load_dataset(cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    from tinygrad_ce import data

    dt = np.dtype(cfg.dtype)
    if cfg.dataset == "digits":
        return data.load_digits(dtype=dt)
    kw: dict[str, Any] = dict(n_samples=cfg.samples, seed=cfg.seed, dtype=dt)
    if cfg.noise is not None:
        kw["noise"] = cfg.noise
    if cfg.dataset == "spirals":
        return data.make_spirals(n_classes=cfg.classes, **kw)
    if cfg.dataset == "blobs":
        if "noise" in kw:
            kw["cluster_std"] = kw.pop("noise")
        return data.make_blobs(centers=cfg.classes, **kw)
    return data.DATASETS[cfg.dataset](**kw)


def _progress(iterable: Sequence[Any], quiet: bool, **kw: Any) -> Any:
    if quiet:
        return _Quiet(iterable)
    if not sys.stdout.isatty():  # a log file or a pipe: a line per epoch, not redraws
        return _Plain(iterable, every=1)
    try:
        from tqdm.auto import tqdm
    except ImportError:  # without tqdm: a line every tenth of the run
        return _Plain(iterable)
    return tqdm(iterable, **kw)


class _Quiet:
    def __init__(self, iterable: Sequence[Any]) -> None:
        self.iterable = iterable
        self.postfix: dict[str, Any] = {}

    def __iter__(self) -> Any:
        return iter(self.iterable)

    def set_postfix(self, **kwargs: Any) -> None:
        self.postfix = kwargs

    def close(self) -> None:
        pass


class _Plain(_Quiet):
    def __init__(self, iterable: Sequence[Any], every: int | None = None) -> None:
        super().__init__(iterable)
        self.every = every or max(1, len(iterable) // 10)

    def __iter__(self) -> Any:
        n = len(self.iterable)
        for i, item in enumerate(self.iterable):
            yield item
            if (i + 1) % self.every == 0 or i + 1 == n:
                shown = "  ".join(f"{k}={v}" for k, v in self.postfix.items())
                print(f"epoch {i + 1}/{n}  {shown}", flush=True)


def _accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    import tinygrad_ce as tg

    with tg.no_grad():
        model.eval()
        pred = model(tg.Tensor(x))._data.argmax(-1)
        model.train()
    return float((pred == y).mean())


def _make_optimizer(cfg: TrainConfig, params: list[Any]) -> Any:
    from tinygrad_ce import optim

    if cfg.optimizer == "sgd":
        return optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                         weight_decay=cfg.weight_decay)
    cls = optim.Adam if cfg.optimizer == "adam" else optim.AdamW
    return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def fit(cfg: TrainConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train an MLP as ``cfg`` says; returns the model, the data and the measurements."""
    import tinygrad_ce as tg
    from tinygrad_ce import data, nn, optim
    from tinygrad_ce.nn import functional as F

    start = time.perf_counter()
    tg.manual_seed(cfg.seed)
    x, y = load_dataset(cfg)
    x_train, x_test, y_train, y_test = data.train_test_split(x, y, cfg.test_size, seed=cfg.seed)
    n_classes = int(y.max()) + 1
    model = nn.MLP(x.shape[1], cfg.hidden, n_classes, activation=cfg.activation,
                   dtype=cfg.dtype)
    opt = _make_optimizer(cfg, list(model.parameters()))
    schedule = optim.CosineAnnealingLR(opt, T_max=cfg.epochs) if cfg.schedule == "cosine" \
        else None
    loss_fn = F.cross_entropy if cfg.loss == "fused" else F.cross_entropy_unfused
    loader = data.DataLoader(x_train, y_train, cfg.batch_size, shuffle=True, seed=cfg.seed)
    widths = "-".join(str(w) for w in (x.shape[1], *cfg.hidden, n_classes))
    log(f"Training an MLP {widths} ({cfg.activation}) on {cfg.dataset}: {len(x_train)} train / "
        f"{len(x_test)} test points, {cfg.optimizer} lr={cfg.lr:g}, {cfg.loss} cross-entropy, "
        f"{cfg.epochs} epochs of batches of {cfg.batch_size}, {cfg.dtype}")
    if len(x_test) < 10:
        print(f"warning: the test split holds {len(x_test)} point(s): its accuracy is not "
              "meaningful (use more --samples or a larger --test-size)", file=sys.stderr)
    step_loss: list[float] = []
    epoch_loss: list[float] = []
    epoch_acc: list[float] = []
    test_acc_curve: list[float] = []
    bar = _progress(range(cfg.epochs), cfg.quiet, desc="training", unit="epoch",
                    dynamic_ncols=True)
    for _ in bar:
        total, correct, seen = 0.0, 0, 0
        for xb, yb in loader:
            logits = model(xb)
            loss = loss_fn(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            value = loss.item()
            step_loss.append(value)
            total += value * len(yb)
            correct += int((logits._data.argmax(-1) == yb._data).sum())
            seen += len(yb)
        epoch_loss.append(total / seen)
        epoch_acc.append(correct / seen)
        test_acc_curve.append(_accuracy(model, x_test, y_test))
        bar.set_postfix(loss=f"{epoch_loss[-1]:.4f}", acc=f"{epoch_acc[-1]:.3f}",
                        test_acc=f"{test_acc_curve[-1]:.3f}")
        if schedule is not None:
            schedule.step()
    bar.close()
    train_time = time.perf_counter() - start
    metrics = {
        "config": {k: v for k, v in asdict(cfg).items() if k != "quiet"},
        "architecture": widths,
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_accuracy": _accuracy(model, x_train, y_train),
        "test_accuracy": _accuracy(model, x_test, y_test),
        "final_epoch_loss": epoch_loss[-1] if epoch_loss else None,
        "epoch_loss": epoch_loss,
        "epoch_train_accuracy": epoch_acc,
        "epoch_test_accuracy": test_acc_curve,
        "step_loss": step_loss,
        "train_seconds": round(train_time, 3),
    }
    return {"model": model, "metrics": metrics, "x_train": x_train, "y_train": y_train,
            "x_test": x_test, "y_test": y_test, "loader": loader}


def gradient_agreement(model: Any, xb: Any, yb: Any) -> tuple[float, int, int]:
    """Largest |fused - unfused| over every parameter's gradient on one batch, and the
    number of graph nodes each loss adds on top of the logits."""
    from tinygrad_ce import autograd
    from tinygrad_ce.nn import functional as F

    params = list(model.parameters())
    logits = model(xb)
    base = len(autograd.topological_order([logits]))
    fused, unfused = F.cross_entropy(logits, yb), F.cross_entropy_unfused(logits, yb)
    nodes = (len(autograd.topological_order([fused])) - base,
             len(autograd.topological_order([unfused])) - base)
    g_fused = autograd.grad(fused, params, retain_graph=True)  # the logits are shared
    g_unfused = autograd.grad(unfused, params)
    diff = max(float(np.max(np.abs(a._data - b._data))) for a, b in zip(g_fused, g_unfused))
    return diff, nodes[0], nodes[1]


# ----- pictures ---------------------------------------------------------------------------
def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss_curve(metrics: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    steps = np.arange(1, len(metrics["step_loss"]) + 1)
    per_epoch = len(steps) / max(len(metrics["epoch_loss"]), 1)
    ax1.plot(steps, metrics["step_loss"], color="tab:blue", alpha=0.3, lw=0.8, label="batch")
    epochs_at = np.arange(1, len(metrics["epoch_loss"]) + 1) * per_epoch
    ax1.plot(epochs_at, metrics["epoch_loss"], color="tab:blue", lw=2, label="epoch mean")
    ax1.set_yscale("log")
    ax1.set_xlabel("step")
    ax1.set_ylabel("cross-entropy")
    ax1.set_title("loss")
    ax1.legend()
    epochs = np.arange(1, len(metrics["epoch_loss"]) + 1)
    ax2.plot(epochs, metrics["epoch_train_accuracy"], label="train (during epoch)")
    ax2.plot(epochs, metrics["epoch_test_accuracy"], label="test (end of epoch)")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.set_ylim(0, 1.01)
    ax2.set_title(f"accuracy: test {metrics['test_accuracy']:.1%}")
    ax2.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_decision_boundary(model: Any, run: dict[str, Any], path: Path) -> Path:
    import tinygrad_ce as tg

    plt = _pyplot()
    x = np.concatenate([run["x_train"], run["x_test"]])
    lo, hi = x.min(0) - 0.25, x.max(0) + 0.25
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(run["x_train"].dtype)
    with tg.no_grad():
        model.eval()
        pred = model(tg.Tensor(grid))._data.argmax(-1).reshape(gx.shape)
        model.train()
    k = int(max(run["y_train"].max(), pred.max())) + 1
    cmap = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.contourf(gx, gy, pred, levels=np.arange(k + 1) - 0.5, colors=[cmap(i) for i in range(k)],
                alpha=0.25)
    for name, xs, ys, marker in (("train", run["x_train"], run["y_train"], "o"),
                                 ("test", run["x_test"], run["y_test"], "^")):
        ax.scatter(xs[:, 0], xs[:, 1], c=[cmap(int(c)) for c in ys], s=10 if name == "train"
                   else 22, marker=marker, edgecolors="k", linewidths=0.3, label=name)
    ax.set_title(f"decision boundary: test accuracy {run['metrics']['test_accuracy']:.1%}")
    ax.legend(loc="upper right")
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


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


def _summary(metrics: dict[str, Any]) -> str:
    return (f"train accuracy {metrics['train_accuracy']:.2%}   "
            f"test accuracy {metrics['test_accuracy']:.2%}   "
            f"final loss {metrics['final_epoch_loss']:.4g}")


def _output_folder(path: str, command: str) -> Path:
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


def _config_from(args: argparse.Namespace, **override: Any) -> TrainConfig:
    names = TrainConfig.__dataclass_fields__
    values = {k: v for k, v in vars(args).items() if k in names and v is not None}
    values.update(override)
    return TrainConfig(**values)


# ----- demo -------------------------------------------------------------------------------
def _demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="tinygrad-ce-out",
                   help="folder for the runs (default: %(default)s): each run writes its "
                        "pictures, metrics and weights into a new subfolder, demo-001, "
                        "demo-002, ...")
    p.add_argument("--seed", type=_int, default=0, help="seed for data and weights (default: 0)")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help=f"training epochs (default: {TrainConfig.epochs})")
    p.add_argument("--samples", type=_positive_int, default=None,
                   help=f"points in the spirals (default: {TrainConfig.samples})")
    p.add_argument("--no-graph", action="store_true",
                   help="skip the picture of one training step's graph")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run_demo(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    cfg = _config_from(args)
    out = _output_folder(cfg.out, "demo")
    run = fit(cfg)
    model, metrics = run["model"], run["metrics"]
    print(_summary(metrics))
    xb, yb = next(iter(run["loader"]))
    diff, n_fused, n_unfused = gradient_agreement(model, xb, yb)
    metrics["fused_vs_unfused_max_grad_diff"] = diff
    def nodes(n: int) -> str:
        return f"{n} node{'' if n == 1 else 's'}"

    print(f"fused ({nodes(n_fused)}) vs unfused ({nodes(n_unfused)}) cross-entropy on one batch "
          f"of {len(yb)}: largest difference of the parameter gradients {diff:.2e} "
          f"({cfg.dtype})")
    drawn = [] if args.no_graph else _draw_step(model, xb, yb, out, print)
    written = write_outputs(run, out, print, drawn, start)
    print("wrote " + ", ".join(str(p) for p in written))
    print(f"done in {metrics['wall_seconds']:.2f} s")
    return 0


def _draw_step(model: Any, xb: Any, yb: Any, out: Path, log: Callable[[str], None]) -> list[Path]:
    """The graph of one training step (forward and backward), if the renderer is there:
    the files written."""
    try:
        from tinygrad_ce import viz
    except ImportError as e:
        log(f"note: no picture of the graph: {e}")
        return []
    from tinygrad_ce.nn import functional as F

    try:
        out.mkdir(parents=True, exist_ok=True)
        model.zero_grad()
        xb.name = "x"
        loss = F.cross_entropy(model(xb), yb)
        loss.name = "loss"
        loss.backward()
        path = viz.render(loss, out / "training_step", format="svg", model=model)
        log(f"graph of one training step: {path}")
        return [Path(path)]
    except Exception as e:  # noqa: BLE001 - the picture must never fail the run
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        log(f"note: could not draw the training-step graph: {first}")
        return []
    finally:
        model.zero_grad()


# ----- train ------------------------------------------------------------------------------
def _train_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--dataset", choices=["spirals", "moons", "circles", "blobs", "digits"],
                   default=d.dataset, help="built-in data (digits needs scikit-learn)")
    p.add_argument("--samples", type=_positive_int, default=d.samples,
                   help="points to generate (default: %(default)s; ignored for digits)")
    p.add_argument("--classes", type=_int, default=d.classes,
                   help="classes for spirals and blobs (default: %(default)s)")
    p.add_argument("--noise", type=_nonneg_float, default=None,
                   help="noise of the generated data (default: the generator's)")
    p.add_argument("--hidden", type=_sizes, default=d.hidden,
                   help="hidden layer sizes, comma-separated (default: 64,64)")
    p.add_argument("--activation", choices=["relu", "tanh", "sigmoid"], default=d.activation)
    p.add_argument("--epochs", type=_positive_int, default=d.epochs,
                   help="default: %(default)s")
    p.add_argument("--batch-size", type=_positive_int, default=d.batch_size,
                   help="default: %(default)s")
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default=d.optimizer)
    p.add_argument("--lr", type=_positive_float, default=d.lr, help="default: %(default)s")
    p.add_argument("--momentum", type=_float_in(0.0, 1.0, hi_open=True), default=d.momentum,
                   help="SGD momentum (default: %(default)s)")
    p.add_argument("--weight-decay", type=_nonneg_float, default=d.weight_decay,
                   help="default: %(default)s")
    p.add_argument("--schedule", choices=["cosine", "none"], default=d.schedule,
                   help="learning-rate schedule over the epochs (default: %(default)s)")
    p.add_argument("--loss", choices=["fused", "unfused"], default=d.loss,
                   help="the fused cross-entropy op or the same loss from primitives")
    p.add_argument("--seed", type=_int, default=d.seed, help="default: %(default)s")
    p.add_argument("--dtype", choices=["float32", "float64"], default=d.dtype)
    p.add_argument("--test-size", type=_fraction, default=d.test_size,
                   help="fraction held out for testing (default: %(default)s)")
    p.add_argument("--out", default="tinygrad-ce-out",
                   help="folder for the runs (default: %(default)s): each run writes its "
                        "metrics.json, weights.npz and pictures into a new subfolder, "
                        "train-001, train-002, ...")
    p.add_argument("--no-graph", action="store_true",
                   help="skip the picture of one training step's graph")
    p.add_argument("--quiet", action="store_true", help="no progress bar, one summary line")


def run_train(args: argparse.Namespace) -> int:
    if args.dataset in ("spirals", "blobs") and args.classes < 2:
        raise ValueError(f"--classes {args.classes}: expected at least 2")
    start = time.perf_counter()
    cfg = _config_from(args)
    out = _output_folder(cfg.out, "train")
    say: Callable[[str], None] = (lambda s: None) if args.quiet else print
    run = fit(cfg, log=say)
    drawn = []
    if not args.no_graph:
        xb, yb = next(iter(run["loader"]))
        drawn = _draw_step(run["model"], xb, yb, out, say)
    written = write_outputs(run, out, say, drawn, start)
    print(_summary(run["metrics"]))
    say("wrote " + ", ".join(str(p) for p in written))
    say(f"done in {run['metrics']['wall_seconds']:.2f} s")
    return 0


# ----- compare ----------------------------------------------------------------------------
def _compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shape", type=_sizes, default=(256, 10),
                   help="logits shape N,C or N,C,d1,... (default: 256,10)")
    p.add_argument("--target", choices=["index", "prob"], default="index",
                   help="class indices or class probabilities (default: index)")
    p.add_argument("--weight", action="store_true", help="random per-class weights")
    p.add_argument("--ignore-index", type=_int, default=None,
                   help="class index to ignore (some targets are set to it)")
    p.add_argument("--reduction", choices=["mean", "sum", "none"], default="mean")
    p.add_argument("--label-smoothing", type=_float_in(0.0, 1.0), default=0.0)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    p.add_argument("--repeat", type=_positive_int, default=20,
                   help="timed runs; the median is shown (default: %(default)s)")
    p.add_argument("--seed", type=_int, default=0)
    p.add_argument("--json", default=None, help="also write the results to this file")


def _torch_nodes(root: Any) -> int:
    seen, stack = set(), [root.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        stack.extend(f for f, _ in fn.next_functions)
    return len(seen)


def run_compare(args: argparse.Namespace) -> int:
    import tinygrad_ce as tg
    from tinygrad_ce import autograd
    from tinygrad_ce.nn import functional as F

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
        return loss._data, g._data, nodes

    if args.reduction == "none":
        upstream = rng.standard_normal((n, *rest)).astype(dt)
    rows: dict[str, dict[str, Any]] = {}
    for name, fn in (("fused", F.cross_entropy), ("unfused", F.cross_entropy_unfused)):
        loss, grad, nodes = ours(fn)
        rows[name] = {"loss": loss, "grad": grad, "nodes": nodes,
                      "ms": _median_ms(lambda fn=fn: ours(fn), args.repeat)}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        def theirs() -> tuple[np.ndarray, np.ndarray, int]:
            xt = torch.tensor(x, requires_grad=True)
            tt = torch.tensor(target)
            w = None if weight is None else torch.tensor(weight)
            loss = torch.nn.functional.cross_entropy(xt, tt, weight=w, **opts)
            nodes = _torch_nodes(loss)
            up = None if upstream is None else torch.tensor(upstream)
            (g,) = torch.autograd.grad(loss, [xt], up)
            return loss.detach().numpy(), g.numpy(), nodes

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny ops: a thread pool only adds waiting
        try:
            loss, grad, nodes = theirs()
            rows["torch"] = {"loss": loss, "grad": grad, "nodes": nodes,
                             "ms": _median_ms(theirs, args.repeat)}
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


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


# ----- the registry of subcommands --------------------------------------------------------
@dataclass
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: list[Command] = [
    Command("demo", "train an MLP on 3-class spirals with the fused cross-entropy; write the "
            "loss curve, the decision boundary, metrics and weights", _demo_arguments, run_demo),
    Command("train", "train an MLP with every option (data, layers, optimizer, loss, dtype)",
            _train_arguments, run_train),
    Command("compare", "fused vs unfused vs torch cross-entropy: loss and gradient "
            "differences, node counts, time", _compare_arguments, run_compare),
]

# modules that add a subcommand when present: each exposes add_arguments(parser) and run(args)
PLUGINS = {"graph": ("tinygrad_ce.viz.command", "draw the graph of an example or a training "
                     "step (svg, png, pdf, dot, html)")}


def _plugins() -> list[Command]:
    found = []
    for name, (module, help) in PLUGINS.items():
        try:
            mod = importlib.import_module(module)
            found.append(Command(name, getattr(mod, "HELP", help), mod.add_arguments, mod.run))
        except ImportError as e:
            if e.name == module:
                continue  # not written yet
            found.append(_needs_extra(name, help, e.name or str(e)))
        except Exception as e:  # noqa: BLE001 - a broken plugin must not break the others
            print(f"{PROG}: note: the '{name}' command is unavailable: {e}", file=sys.stderr)
    return found


def _needs_extra(name: str, help: str, missing: str) -> Command:
    """A command whose packages are not installed: listed, and saying what to install."""
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def run(args: argparse.Namespace) -> int:
        raise ImportError(f"the '{name}' command needs the {missing} package: "
                          'pip install "tinygrad-ce[demo]"')

    return Command(name, f"{help} (needs: pip install \"tinygrad-ce[demo]\")", add_arguments,
                   run)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Train and inspect small MLPs with tinygrad_ce. "
                     "Start with: tinygrad-ce demo")
    from tinygrad_ce import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS + _plugins():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tinygrad-ce`` and ``python -m tinygrad_ce``; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error (already printed)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        return 1
    except (ValueError, TypeError, IndexError) as e:
        print(f"{PROG} {args.command}: error: {_first_line(e)}", file=sys.stderr)
        return 2
    except (ImportError, OSError, RuntimeError) as e:
        print(f"{PROG} {args.command}: error: {_first_line(e)}", file=sys.stderr)
        return 1


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
