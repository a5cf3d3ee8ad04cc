"""The training loop behind ``demo`` and ``train``: a config, the data, ``fit`` with progress,
and the fused-vs-unfused gradient check on one batch."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

import tinygrad_ce as tg
from tinygrad_ce import autograd, data, nn, optim
from tinygrad_ce.nn import functional as F


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


def progress(iterable: Sequence[Any], quiet: bool, **kw: Any) -> Any:
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


def accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    with tg.no_grad():
        model.eval()
        pred = model(tg.Tensor(x))._data.argmax(-1)
        model.train()
    return float((pred == y).mean())


def make_optimizer(cfg: TrainConfig, params: list[Any]) -> Any:
    if cfg.optimizer == "sgd":
        return optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                         weight_decay=cfg.weight_decay)
    cls = optim.Adam if cfg.optimizer == "adam" else optim.AdamW
    return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def fit(cfg: TrainConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train an MLP as ``cfg`` says; returns the model, the data and the measurements."""
    start = time.perf_counter()
    tg.manual_seed(cfg.seed)
    x, y = load_dataset(cfg)
    x_train, x_test, y_train, y_test = data.train_test_split(x, y, cfg.test_size, seed=cfg.seed)
    n_classes = int(y.max()) + 1
    model = nn.MLP(x.shape[1], cfg.hidden, n_classes, activation=cfg.activation,
                   dtype=cfg.dtype)
    opt = make_optimizer(cfg, list(model.parameters()))
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
    bar = progress(range(cfg.epochs), cfg.quiet, desc="training", unit="epoch",
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
        test_acc_curve.append(accuracy(model, x_test, y_test))
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
        "train_accuracy": accuracy(model, x_train, y_train),
        "test_accuracy": accuracy(model, x_test, y_test),
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
    params = list(model.parameters())
    logits = model(xb)
    base = len(autograd.topological_order([logits]))
    fused, unfused = F.cross_entropy(logits, yb), F.cross_entropy_unfused(logits, yb)
    nodes = (len(autograd.topological_order([fused])) - base,
             len(autograd.topological_order([unfused])) - base)
    g_fused = autograd.grad(fused, params, retain_graph=True)  # the logits are shared
    g_unfused = autograd.grad(unfused, params)
    diff = max(float(np.max(np.abs(a._data - b._data)))  # type: ignore[union-attr]
               for a, b in zip(g_fused, g_unfused))
    return diff, nodes[0], nodes[1]
