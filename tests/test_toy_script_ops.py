"""A small training script as people write it for torch, run unchanged with
``import tinygrad_ce as torch`` and with torch itself: the losses, gradients seen by a hook
and the final weights agree step by step."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as real_torch

import tinygrad_ce


def script(torch: Any, init: dict[str, np.ndarray], steps: int = 6) -> dict[str, Any]:
    nn, F = torch.nn, torch.nn.functional
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x = torch.from_numpy(init["x"]).to(device)
    y = torch.as_tensor(init["y"], device=device)
    w1 = torch.tensor(init["w1"], device=device, requires_grad=True)
    w2 = torch.tensor(init["w2"], device=device, requires_grad=True)
    act, lrelu, out_act = nn.GELU(approximate="tanh"), nn.LeakyReLU(0.1), nn.LogSoftmax(dim=1)
    seen: list[Any] = []
    losses = []
    for step in range(steps):
        h = act(x @ w1)
        h = lrelu(F.normalize(h, dim=1) * 3) + F.silu(h) * 0.1
        h.register_hook(lambda g: seen.append(g.norm().item()))
        logits = torch.einsum("bh,hc->bc", h, w2)
        loss = F.nll_loss(out_act(logits), y) + 0.01 * F.huber_loss(logits, torch.zeros_like(
            logits)) + 0.001 * torch.norm(w1) ** 2
        acc = (logits.argmax(dim=1) == y).float().mean()
        if step == 0:
            assert loss.grad_fn is not None and w1.grad_fn is None
        loss.backward()
        with torch.no_grad():
            for p in (w1, w2):
                p -= 0.5 * p.grad
                p.grad = None
        losses.append((loss.item(), acc.item()))
    top = logits.detach().cpu().topk(2, dim=1)
    return {"losses": losses, "seen": seen, "w1": w1.detach().cpu().numpy().copy(),
            "top": top.values.numpy().copy(), "top_i": top.indices.numpy().copy(),
            "device": str(x.device)}


def test_toy_script_runs_unchanged_and_matches_torch() -> None:
    rng = np.random.default_rng(0)
    init = {"x": rng.standard_normal((16, 5)), "y": rng.integers(0, 3, 16),
            "w1": rng.standard_normal((5, 8)) * 0.5, "w2": rng.standard_normal((8, 3)) * 0.5}
    ours = script(tinygrad_ce, init)
    theirs = script(real_torch, init)
    assert ours["device"] == theirs["device"] == "cpu"
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-9)
    np.testing.assert_allclose(ours["seen"], theirs["seen"], rtol=1e-9)
    np.testing.assert_allclose(ours["w1"], theirs["w1"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours["top"], theirs["top"], rtol=1e-9)
    np.testing.assert_array_equal(ours["top_i"], theirs["top_i"])
