"""The pictures of a run: the loss and accuracy curves, and the decision boundary of 2-D
data (matplotlib, drawn off screen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_ce as tg


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
