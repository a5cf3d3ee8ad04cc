"""examples/makemore_mlp.py: the same training code on tinygrad_ce and on torch gives the
same loss at every step, the same weights and BatchNorm statistics after, and the script
runs from the command line."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import tinygrad_ce as tg

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "makemore_mlp.py"
_spec = importlib.util.spec_from_file_location("makemore_mlp", SCRIPT)
makemore = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(makemore)


def data(block_size: int = 3, count: int = 400):
    words = makemore.read_words()
    np.random.default_rng(0).shuffle(words)
    stoi, itos = makemore.vocabulary(words)
    X, Y = makemore.build_dataset(words[:count], stoi, block_size)
    return stoi, itos, X, Y


def test_the_word_list_is_a_few_thousand_names():
    words = makemore.read_words()
    assert 2000 <= len(words) == len(set(words))
    assert all(w.isalpha() and w.islower() for w in words)
    assert 10_000 < makemore.NAMES.stat().st_size < 100_000


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 2e-5), (np.float64, 1e-11)])
def test_losses_agree_with_torch_step_by_step(dtype, rtol):
    stoi, _, X, Y = data()
    weights = makemore.init_weights(len(stoi), n_hidden=64, dtype=dtype)
    ours, losses = makemore.train(tg, X, Y, weights, steps=40, batch_size=32, lr=0.2)
    theirs, losses_t = makemore.train(torch, X, Y, weights, steps=40, batch_size=32, lr=0.2)
    assert losses[0] > losses[-1]  # it learns
    np.testing.assert_allclose(losses, losses_t, rtol=rtol)
    for p, q in zip(ours.parameters, theirs.parameters):
        assert p.dtype == dtype
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=50 * rtol, atol=rtol)
    for (k, a), b in zip(ours.bn.state_dict().items(), theirs.bn.state_dict().values()):
        np.testing.assert_allclose(a, b.numpy(), rtol=50 * rtol, atol=rtol, err_msg=k)
    assert makemore.split_loss(tg, ours, X, Y) == pytest.approx(
        makemore.split_loss(torch, theirs, X, Y), rel=50 * rtol)


def test_sampling_gives_names_from_the_vocabulary():
    stoi, itos, X, Y = data()
    model, _ = makemore.train(tg, X, Y, makemore.init_weights(len(stoi), n_hidden=32), steps=5)
    names = makemore.sample(tg, model, itos, 3, 5)
    assert len(names) == 5 and all(set(n) <= set(stoi) - {"."} for n in names)
    assert model.bn.training


def test_the_script_trains_and_samples_from_the_command_line():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(SCRIPT), "--steps", "30", "--samples", "3",
                          "--hidden", "32"], capture_output=True, text=True, env=env,
                         timeout=120, check=True).stdout
    assert "dev loss" in out and " 29/     30:" in out
    assert len(out.strip().splitlines()[-3:]) == 3
