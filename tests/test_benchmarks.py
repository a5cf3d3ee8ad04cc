"""The benchmark suite's smoke run: ``python -m benchmarks --quick`` must keep working.

Times are never asserted (they depend on the machine); what is checked is that every
case runs, that its implementations agreed with each other (each case raises before
timing if they do not) and that the table, the targets and the JSON are complete."""

from __future__ import annotations

import json

import numpy as np
import torch

from benchmarks.cases import CASES, ce_numpy, make_moons
from benchmarks.run import main


def test_quick_run_writes_every_case_and_target(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert main(["--quick", "--json", str(path)]) == 0
    printed = capsys.readouterr().out
    report = json.loads(path.read_text())
    assert report["quick"] is True
    assert set(report["cases"]) == set(CASES)
    for key in ("cpu", "cores", "numpy", "torch", "blas"):
        assert report["machine"][key]
    for case in report["cases"].values():
        assert case["rows"] and all(len(row) == len(case["columns"]) for row in case["rows"])
        assert case["title"] in printed
    targets = {t["target"]: t for t in report["targets"]}
    assert any("per-op" in name for name in targets)
    assert all(t["met"] in ("yes", "no", "n/a") for t in targets.values())
    # the peers always run, so their figures are real numbers
    per_op = report["cases"]["per_op"]["raw"][0]["seconds_per_op"]
    assert all(v > 0 for v in per_op.values())


def test_numpy_closed_form_matches_torch():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((7, 5)).astype(dtype)
        t = rng.integers(0, 5, 7)
        loss, grad = ce_numpy(x, t)
        xt = torch.from_numpy(x.copy()).requires_grad_()
        expected = torch.nn.functional.cross_entropy(xt, torch.from_numpy(t))
        expected.backward()
        assert grad.dtype == dtype
        np.testing.assert_allclose(loss, expected.item(), rtol=1e-5)
        np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_moons_are_two_labelled_half_circles():
    x, y = make_moons(10, 0.0, seed=0)
    assert x.shape == (10, 2) and sorted(set(y.tolist())) == [-1.0, 1.0]
    np.testing.assert_allclose(np.hypot(*x[y < 0].T), 1.0)
    np.testing.assert_allclose(np.hypot(x[y > 0, 0] - 1, x[y > 0, 1] - 0.5), 1.0)
