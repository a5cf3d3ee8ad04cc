"""A network with a hand-written backward, end to end: check it, train it, plug it in.

The question this answers: "I built my own backward of linear layers and activation
functions, and I was using only MSE; now I want to add cross-entropy."

1. A numpy MLP (Linear, ReLU, Linear, Tanh, Linear) whose layers each carry a hand-written
   ``backward``; the loss is softmax cross-entropy, whose gradient is
   ``F.cross_entropy_grad`` (softmax minus one-hot, over N).
2. Each layer's backward is checked with ``tinygrad_ce.testing.check_backward``: against
   finite differences in float64 and against the engine's autodiff of the same layer.
3. Trained on spirals with hand-written SGD, beside the same network in the engine
   (autodiff, ``optim.SGD``): the parameters agree step for step (asserted).
4. The same numpy layers wrapped as ``autograd.Function``s and trained through the engine:
   the parameters agree again.

    python examples/manual_backprop.py [--steps 1000] [--lr 0.5] [--seed 0]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import tinygrad_ce as tg
import tinygrad_ce.nn.functional as F
from tinygrad_ce.autograd import Function
from tinygrad_ce.data import make_spirals
from tinygrad_ce.optim import SGD
from tinygrad_ce.testing import check_backward


# ----- 1. the layers: forward and backward in numpy ------------------------------------------
class Linear:
    """y = x @ W.T + b, with W of shape (out, in) and b of shape (out,), as torch's."""

    def __init__(self, w: np.ndarray, b: np.ndarray) -> None:
        self.w, self.b = w, b

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x                      # (N, in): the backward needs it
        return x @ self.w.T + self.b    # (N, out)

    def backward(self, g: np.ndarray) -> np.ndarray:
        """g = dL/dy, (N, out). Each gradient has the shape of what it is the gradient of."""
        self.dw = g.T @ self.x          # (out, N) @ (N, in) = (out, in): summed over the batch
        self.db = g.sum(axis=0)         # b is added to every row: sum over the batch axis
        return g @ self.w               # dL/dx: (N, out) @ (out, in) = (N, in)


class ReLU:
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return x * self.mask

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g * self.mask            # d/dx max(x, 0) = 1 where x > 0, else 0


class Tanh:
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.tanh(x)
        return self.y

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g * (1 - self.y ** 2)    # d/dx tanh x = 1 - tanh^2 x


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """mean over rows of logsumexp(row) - row[target], shifted by the row max (no overflow)."""
    z = logits - logits.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


class MLP:
    """Linear(2, h) -> ReLU -> Linear(h, h) -> Tanh -> Linear(h, classes)."""

    def __init__(self, params: list[np.ndarray]) -> None:
        w1, b1, w2, b2, w3, b3 = params
        self.layers = [Linear(w1, b1), ReLU(), Linear(w2, b2), Tanh(), Linear(w3, b3)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, g: np.ndarray) -> None:
        for layer in reversed(self.layers):
            g = layer.backward(g)

    def params_and_grads(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(p, d) for layer in self.layers if isinstance(layer, Linear)
                for p, d in ((layer.w, layer.dw), (layer.b, layer.db))]


def init_params(hidden: int, classes: int, rng: np.random.Generator) -> list[np.ndarray]:
    """torch's default Linear init: uniform in +-1/sqrt(fan_in)."""
    params = []
    for fan_in, fan_out in ((2, hidden), (hidden, hidden), (hidden, classes)):
        bound = 1 / np.sqrt(fan_in)
        params += [rng.uniform(-bound, bound, (fan_out, fan_in)),
                   rng.uniform(-bound, bound, fan_out)]
    return params


# ----- 2. check each layer's backward ---------------------------------------------------------
def check_layers(rng: np.random.Generator, verbose: bool = True) -> None:
    x, w, b = rng.standard_normal((5, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    y = rng.integers(0, 3, 5)

    def linear_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        return Linear(w, b).forward(x)

    def linear_backward(g: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> Any:
        layer = Linear(w, b)
        layer.forward(x)
        dx = layer.backward(g)
        return dx, layer.dw, layer.db

    def activation(cls: type) -> tuple[Any, Any]:
        def forward(x: np.ndarray) -> np.ndarray:
            return cls().forward(x)

        def backward(g: np.ndarray, x: np.ndarray) -> np.ndarray:
            layer = cls()
            layer.forward(x)
            return layer.backward(g)
        forward.__name__, backward.__name__ = f"{cls.__name__}.forward", f"{cls.__name__}.backward"
        return forward, backward

    def ce_backward(g: np.ndarray, logits: np.ndarray, y: np.ndarray) -> Any:
        return F.cross_entropy_grad(logits, y, grad_output=g), None

    reports = [
        check_backward(linear_forward, linear_backward, x, w, b,
                       reference=lambda x, w, b: x @ w.T + b),
        check_backward(*activation(ReLU), x, reference=lambda x: x.relu()),
        check_backward(*activation(Tanh), x, reference=lambda x: x.tanh()),
        check_backward(cross_entropy, ce_backward, x[:, :3], y, reference=F.cross_entropy),
    ]
    if verbose:
        for report in reports:
            print(report, end="\n\n")


# ----- 3. hand-written training beside the engine's --------------------------------------------
def train_by_hand(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, steps: int,
                  lr: float) -> list[list[np.ndarray]]:
    """Full-batch SGD with the hand-written backward; the parameters after every step."""
    params = [p.copy() for p in params]
    net = MLP(params)
    history = []
    for _ in range(steps):
        logits = net.forward(x)
        net.backward(F.cross_entropy_grad(logits, y))
        for p, d in net.params_and_grads():
            p -= lr * d                 # in place: the layers hold these arrays
        history.append([p.copy() for p in params])
    return history


def engine_forward(x: tg.Tensor, params: list[tg.Tensor]) -> tg.Tensor:
    w1, b1, w2, b2, w3, b3 = params
    return ((x @ w1.T + b1).relu() @ w2.T + b2).tanh() @ w3.T + b3


def train_in_engine(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, steps: int,
                    lr: float, forward: Any = engine_forward,
                    loss_fn: Any = F.cross_entropy) -> tuple[list[list[np.ndarray]], float]:
    """The same training, the gradient from the engine; returns the parameters after every
    step and the last loss."""
    ps = [tg.Tensor(p.copy(), requires_grad=True) for p in params]
    opt = SGD(ps, lr=lr)
    xt, yt = tg.Tensor(x), tg.Tensor(y)
    history, loss = [], float("nan")
    for _ in range(steps):
        opt.zero_grad()
        out = loss_fn(forward(xt, ps), yt)
        out.backward()
        opt.step()
        loss = out.item()
        history.append([p.numpy().copy() for p in ps])
    return history, loss


# ----- 4. the numpy layers as the engine's ops -------------------------------------------------
class LinearFunction(Function):
    @staticmethod
    def forward(ctx, x, w, b):  # type: ignore[no-untyped-def]
        ctx.layer = Linear(w.numpy(), b.numpy())
        return tg.Tensor(ctx.layer.forward(x.numpy()))

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        dx = ctx.layer.backward(g.numpy())
        return dx, ctx.layer.dw, ctx.layer.db   # numpy arrays: one gradient per input


class ReLUFunction(Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        ctx.layer = ReLU()
        return tg.Tensor(ctx.layer.forward(x.numpy()))

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        return ctx.layer.backward(g.numpy())


class TanhFunction(Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        ctx.layer = Tanh()
        return tg.Tensor(ctx.layer.forward(x.numpy()))

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        return ctx.layer.backward(g.numpy())


class CrossEntropyFunction(Function):
    @staticmethod
    def forward(ctx, logits, y):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(logits, y)
        return tg.Tensor(np.asarray(cross_entropy(logits.numpy(), y.numpy()), logits.dtype))

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        logits, y = ctx.saved_tensors
        return F.cross_entropy_grad(logits, y, grad_output=g), None   # no gradient for y


def functions_forward(x: tg.Tensor, params: list[tg.Tensor]) -> tg.Tensor:
    w1, b1, w2, b2, w3, b3 = params
    h = ReLUFunction.apply(LinearFunction.apply(x, w1, b1))
    h = TanhFunction.apply(LinearFunction.apply(h, w2, b2))
    return LinearFunction.apply(h, w3, b3)


def largest_difference(a: list[list[np.ndarray]], b: list[list[np.ndarray]]) -> float:
    return max(float(np.abs(p - q).max()) for pa, pb in zip(a, b) for p, q in zip(pa, pb))


def main(steps: int = 1000, lr: float = 0.5, seed: int = 0, hidden: int = 32,
         verbose: bool = True) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    check_layers(rng, verbose)
    x, y = make_spirals(300, 3, seed=seed, dtype=np.float64)
    params = init_params(hidden, 3, rng)

    by_hand = train_by_hand(params, x, y, steps, lr)
    engine, loss = train_in_engine(params, x, y, steps, lr)
    functions, loss_f = train_in_engine(params, x, y, steps, lr, functions_forward,
                                        CrossEntropyFunction.apply)
    diff_engine = largest_difference(by_hand, engine)
    diff_functions = largest_difference(by_hand, functions)
    assert diff_engine < 1e-9, f"hand-written and engine parameters differ by {diff_engine}"
    assert diff_functions < 1e-9, f"Function parameters differ by {diff_functions}"

    final = MLP([p.copy() for p in by_hand[-1]]).forward(x)
    accuracy = float((final.argmax(axis=1) == y).mean())
    if verbose:
        print(f"{steps} steps of SGD (lr {lr}) on 300 spiral points: loss {loss:.4f}, "
              f"accuracy {accuracy:.1%}")
        print(f"hand-written vs engine: parameters agree step for step "
              f"(largest difference {diff_engine:.1e})")
        print(f"hand-written vs its layers as autograd.Functions: largest difference "
              f"{diff_functions:.1e}")
    return {"loss": loss, "loss_functions": loss_f, "accuracy": accuracy,
            "diff_engine": diff_engine, "diff_functions": diff_functions}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.steps, args.lr, args.seed)
