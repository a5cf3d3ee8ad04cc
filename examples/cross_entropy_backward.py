"""The backward of cross-entropy, three ways, and a hand-written backward pass that uses it.

1. Train a batch of free logits with Adam for 100 steps, three ways side by side: torch's
   ``CrossEntropyLoss``, our fused ``F.cross_entropy`` (one graph node, closed-form backward)
   and our ``F.cross_entropy_unfused`` (the same loss from primitive ops). The three loss
   columns agree to float32 rounding, and so do the gradients.
2. A two-layer MLP whose backward pass is written by hand in numpy, starting from
   ``F.cross_entropy_grad`` (softmax minus one-hot, over N), checked against the engine.

    python examples/cross_entropy_backward.py [--steps 100] [--every 10]
"""

from __future__ import annotations

import argparse

import numpy as np

try:
    import torch
except ImportError:
    raise SystemExit("this example runs torch beside tinygrad_ce: install it with the test "
                     'extra, pip install -c constraints.txt -e ".[test]"') from None

import tinygrad_ce as tg
import tinygrad_ce.nn.functional as F
from tinygrad_ce.optim import Adam


def train_logits_three_ways(steps: int, every: int, n: int = 32, classes: int = 10,
                            lr: float = 0.05, seed: int = 0) -> tuple[float, float]:
    """Adam on the logits themselves; returns (largest loss difference, largest grad
    difference) from torch over all steps."""
    rng = np.random.default_rng(seed)
    init = rng.standard_normal((n, classes)).astype(np.float32)
    target = rng.integers(0, classes, n)

    logits_t = torch.tensor(init, requires_grad=True)
    opt_t = torch.optim.Adam([logits_t], lr=lr)
    loss_fn_t = torch.nn.CrossEntropyLoss()
    ours = {name: tg.tensor(init, requires_grad=True) for name in ("fused", "unfused")}
    opts = {name: Adam([p], lr=lr) for name, p in ours.items()}
    loss_fns = {"fused": F.cross_entropy, "unfused": F.cross_entropy_unfused}
    y = tg.Tensor(target)

    print(f"{'step':>4} {'torch':>12} {'fused':>12} {'unfused':>12}")
    worst_loss = worst_grad = 0.0
    for step in range(steps):
        opt_t.zero_grad()
        loss_t = loss_fn_t(logits_t, torch.tensor(target))
        loss_t.backward()
        row = [loss_t.item()]
        for name, logits in ours.items():
            opts[name].zero_grad()
            loss = loss_fns[name](logits, y)
            loss.backward()
            row.append(loss.item())
            worst_grad = max(worst_grad,
                             float(np.abs(logits.grad.numpy() - logits_t.grad.numpy()).max()))
        worst_loss = max(worst_loss, abs(row[1] - row[0]), abs(row[2] - row[0]))
        if step % every == 0 or step == steps - 1:
            print(f"{step:>4} {row[0]:>12.7f} {row[1]:>12.7f} {row[2]:>12.7f}")
        opt_t.step()
        for opt in opts.values():
            opt.step()
    print(f"max |loss difference| from torch: {worst_loss:.3g}")
    print(f"max |grad difference| from torch: {worst_grad:.3g}")
    return worst_loss, worst_grad


def hand_written_mlp(seed: int = 1) -> float:
    """x -> relu(x W1 + b1) -> h W2 + b2 -> cross-entropy, backward by hand in numpy."""
    rng = np.random.default_rng(seed)
    n, d, hidden, classes = 64, 8, 32, 5
    x = rng.standard_normal((n, d))
    y = rng.integers(0, classes, n)
    params = {"W1": rng.standard_normal((d, hidden)) / np.sqrt(d), "b1": np.zeros(hidden),
              "W2": rng.standard_normal((hidden, classes)) / np.sqrt(hidden),
              "b2": np.zeros(classes)}

    # forward
    pre = x @ params["W1"] + params["b1"]
    h = np.maximum(pre, 0)
    logits = h @ params["W2"] + params["b2"]
    # backward: the first gradient is cross-entropy's, (softmax(logits) - one_hot(y)) / n
    d_logits = F.cross_entropy_grad(logits, y)
    grads = {"W2": h.T @ d_logits, "b2": d_logits.sum(0)}
    d_pre = (d_logits @ params["W2"].T) * (pre > 0)
    grads.update(W1=x.T @ d_pre, b1=d_pre.sum(0))

    # the engine, on the same numbers
    ps = {k: tg.Tensor(v, requires_grad=True) for k, v in params.items()}
    out = (tg.Tensor(x) @ ps["W1"] + ps["b1"]).relu() @ ps["W2"] + ps["b2"]
    F.cross_entropy(out, y).backward()
    # and torch, as the outside referee
    pt = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    out_t = torch.relu(torch.tensor(x) @ pt["W1"] + pt["b1"]) @ pt["W2"] + pt["b2"]
    torch.nn.functional.cross_entropy(out_t, torch.tensor(y)).backward()
    worst = 0.0
    for k in params:
        diff = float(np.abs(grads[k] - ps[k].grad.numpy()).max())
        diff_t = float(np.abs(grads[k] - pt[k].grad.numpy()).max())
        worst = max(worst, diff, diff_t)
        print(f"  d loss / d {k:<2} {str(grads[k].shape):<8} max |hand - engine| = {diff:.1e}"
              f"   max |hand - torch| = {diff_t:.1e}")
    if worst > 1e-10:
        raise SystemExit(f"hand-written backward disagrees by {worst:.3g}")
    print("hand-written backward matches the engine (and torch)")
    return worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="Adam steps (default 100)")
    parser.add_argument("--every", type=int, default=10, help="print every N steps")
    args = parser.parse_args(argv)
    tg.manual_seed(0)
    print("1. logits trained with Adam: torch CrossEntropyLoss vs our fused and unfused ops")
    train_logits_three_ways(args.steps, args.every)
    print("\n2. a two-layer MLP, backward written by hand with F.cross_entropy_grad")
    hand_written_mlp()


if __name__ == "__main__":
    main()
