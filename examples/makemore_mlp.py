"""A character-level language model: the MLP of Bengio et al. (2003), as people write it in
torch (makemore's MLP with batch normalisation), trained on the names in data/names.txt.

Each name is read one character at a time; from the previous ``block_size`` characters,
embedded by a lookup table ``C``, a tanh hidden layer with ``BatchNorm1d`` predicts the next.
The training loop is the hand-written one: ``F.cross_entropy``, ``loss.backward()``, an SGD
step through ``p.data``, and the learning rate cut after three quarters of the steps.

The code takes the library as an argument (``torch`` below is whichever module is passed),
so the same lines run on ``tinygrad_ce`` and on PyTorch: a test runs both and checks that
the losses agree step by step. ::

    python examples/makemore_mlp.py                 # a short run, then a few sampled names
    python examples/makemore_mlp.py --steps 20000   # longer
    python examples/makemore_mlp.py --torch         # the same code on PyTorch
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

NAMES = Path(__file__).resolve().parent / "data" / "names.txt"


def read_words(path: Path = NAMES) -> list[str]:
    return [w for w in path.read_text().split() if w]


def vocabulary(words: list[str]) -> tuple[dict[str, int], dict[int, str]]:
    """'.' (index 0) marks both ends of a name; the letters follow in order."""
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    return stoi, {i: s for s, i in stoi.items()}


def build_dataset(words: list[str], stoi: dict[str, int],
                  block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (context, next character) pair of every name, as int64 arrays."""
    xs, ys = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            xs.append(context)
            ys.append(ix)
            context = context[1:] + [ix]
    return np.array(xs, dtype=np.int64), np.array(ys, dtype=np.int64)


def init_weights(vocab_size: int, n_embd: int = 10, block_size: int = 3, n_hidden: int = 200,
                 seed: int = 2147483647, dtype: Any = np.float32) -> dict[str, np.ndarray]:
    """makemore's initialisation, drawn with numpy so that both libraries start alike:
    Kaiming-scaled W1 (gain 5/3 for tanh, no bias: BatchNorm has one), a small W2."""
    rng = np.random.default_rng(seed)
    fan_in = n_embd * block_size
    weights = {
        "C": rng.standard_normal((vocab_size, n_embd)),
        "W1": rng.standard_normal((fan_in, n_hidden)) * (5 / 3) / fan_in**0.5,
        "W2": rng.standard_normal((n_hidden, vocab_size)) * 0.01,
        "b2": np.zeros(vocab_size),
    }
    return {k: v.astype(dtype) for k, v in weights.items()}


class MLP:
    """The model as makemore writes it: a list of tensors and one BatchNorm1d."""

    def __init__(self, torch: ModuleType, weights: dict[str, np.ndarray]) -> None:
        self.torch = torch
        self.C = torch.tensor(weights["C"])
        self.W1 = torch.tensor(weights["W1"])
        self.W2 = torch.tensor(weights["W2"])
        self.b2 = torch.tensor(weights["b2"])
        self.bn = torch.nn.BatchNorm1d(self.W1.shape[1])
        if weights["C"].dtype == np.float64:
            self.bn.double()
        self.parameters = [self.C, self.W1, self.W2, self.b2] + list(self.bn.parameters())
        for p in self.parameters:
            p.requires_grad = True

    def __call__(self, X: Any) -> Any:
        emb = self.C[X]  # (batch, block_size, n_embd)
        embcat = emb.view(emb.shape[0], -1)  # the context's embeddings side by side
        hpreact = self.bn(embcat @ self.W1)
        h = self.torch.tanh(hpreact)
        return h @ self.W2 + self.b2


def train(torch: ModuleType, X: np.ndarray, Y: np.ndarray, weights: dict[str, np.ndarray],
          steps: int, batch_size: int = 32, lr: float = 0.1, seed: int = 42,
          log_every: int = 0) -> tuple[MLP, list[float]]:
    """Minibatch SGD, the loop written out; the minibatches come from numpy (``seed``) so
    that every library sees the same ones. Returns the model and each step's loss."""
    F = torch.nn.functional
    model = MLP(torch, weights)
    Xtr, Ytr = torch.tensor(X), torch.tensor(Y)
    rng = np.random.default_rng(seed)
    losses = []
    for i in range(steps):
        ix = torch.tensor(rng.integers(0, X.shape[0], batch_size))
        Xb, Yb = Xtr[ix], Ytr[ix]
        logits = model(Xb)
        loss = F.cross_entropy(logits, Yb)
        for p in model.parameters:
            p.grad = None
        loss.backward()
        step_lr = lr if i < steps * 3 // 4 else lr / 10  # step learning-rate decay
        for p in model.parameters:
            p.data += -step_lr * p.grad
        losses.append(loss.item())
        if log_every and (i % log_every == 0 or i == steps - 1):
            print(f"{i:7d}/{steps:7d}: {loss.item():.4f}")
    return model, losses


def split_loss(torch: ModuleType, model: MLP, X: np.ndarray, Y: np.ndarray) -> float:
    """The loss over a whole split, in eval mode (BatchNorm's running statistics)."""
    model.bn.eval()
    with torch.no_grad():
        loss = torch.nn.functional.cross_entropy(model(torch.tensor(X)), torch.tensor(Y))
    model.bn.train()
    return loss.item()


def sample(torch: ModuleType, model: MLP, itos: dict[int, str], block_size: int, count: int,
           seed: int = 2147483647) -> list[str]:
    """Names drawn one character at a time from the model's softmax, until '.'."""
    F = torch.nn.functional
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    multinomial = getattr(torch, "multinomial", None)
    model.bn.eval()
    names = []
    with torch.no_grad():
        for _ in range(count):
            out, context = [], [0] * block_size
            while True:
                probs = F.softmax(model(torch.tensor([context])), dim=1)
                if multinomial is not None:
                    ix = multinomial(probs, num_samples=1).item()
                else:
                    p = probs.numpy()[0].astype(np.float64)
                    ix = int(rng.choice(len(p), p=p / p.sum()))
                context = context[1:] + [ix]
                if ix == 0:
                    break
                out.append(itos[ix])
            names.append("".join(out))
    model.bn.train()
    return names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20000, help="training steps (20000)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--block-size", type=int, default=3, help="characters of context")
    parser.add_argument("--hidden", type=int, default=200)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--torch", action="store_true", help="run the same code on PyTorch")
    args = parser.parse_args(argv)
    if args.torch:
        import torch as lib
    else:
        import tinygrad_ce as lib

    words = read_words()
    np.random.default_rng(42).shuffle(words)
    stoi, itos = vocabulary(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    Xtr, Ytr = build_dataset(words[:n1], stoi, args.block_size)
    Xdev, Ydev = build_dataset(words[n1:n2], stoi, args.block_size)
    weights = init_weights(len(stoi), block_size=args.block_size, n_hidden=args.hidden)
    print(f"{len(words)} names, {len(Xtr)} training examples, {len(stoi)} characters")
    start = time.perf_counter()
    model, _ = train(lib, Xtr, Ytr, weights, args.steps, args.batch_size,
                     log_every=max(1, args.steps // 10))
    print(f"{sum(p.numel() for p in model.parameters)} parameters trained in "
          f"{time.perf_counter() - start:.1f} s")
    print(f"train loss {split_loss(lib, model, Xtr, Ytr):.4f}, "
          f"dev loss {split_loss(lib, model, Xdev, Ydev):.4f}")
    for name in sample(lib, model, itos, args.block_size, args.samples):
        print(name)


if __name__ == "__main__":
    main()
