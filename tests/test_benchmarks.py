"""The benchmark suite's smoke run: ``python -m benchmarks --quick`` must keep working.

Times are never asserted (they depend on the machine); what is checked is that every
case runs, that its implementations agreed with each other (each case raises before
timing if they do not) and that the table, the targets and the JSON are complete."""

from __future__ import annotations

import json

import numpy as np
import torch

from benchmarks.cases import CASES, ce_numpy, ce_numpy_blocked, make_moons
from benchmarks.run import README_END, README_START, main


def test_quick_run_writes_every_case_and_target(tmp_path, capsys):
    path, readme = tmp_path / "bench.json", tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{README_START}\nold tables\n{README_END}\nafter\n")
    assert main(["--quick", "--json", str(path), "--readme", str(readme)]) == 0
    printed = capsys.readouterr().out
    report = json.loads(path.read_text())
    assert report["quick"] is True
    # both tables: one thread for everyone, and each implementation's default
    for key in ("cases", "cases_default_threads"):
        assert set(report[key]) == set(CASES)
        for case in report[key].values():
            assert case["rows"] and all(len(row) == len(case["columns"]) for row in case["rows"])
            assert case["title"] in printed
    assert "## 1 thread: torch 1, tinygrad_ce 1" in printed
    assert "## default threads: " in printed
    for key in ("cpu", "cores", "numpy", "torch", "blas", "threads (1 thread)",
                "threads (default threads)"):
        assert report["machine"][key]
    ce = report["cases"]["cross_entropy"]
    assert {"blocked", "numpy", "torch", "fused"} <= set(ce["raw"][0]["seconds"])
    assert "fused/blocked" in ce["columns"]
    targets = report["targets"]
    assert any("per-op" in t["target"] for t in targets)
    assert {t["threads"] for t in targets} == {"1 thread", "default threads"}
    assert all(t["met"] in ("yes", "no", "n/a") for t in targets)
    assert any("blocked numpy" in t["target"] for t in targets)
    # the README's tables are replaced between the markers, the rest kept
    text = readme.read_text()
    assert text.startswith("# title\n\nbefore\n") and text.endswith(f"{README_END}\nafter\n")
    assert "old tables" not in text and "### Targets" in text and "Machine: cpu" in text
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


def test_blocked_closed_form_matches_torch(monkeypatch):
    import benchmarks.cases

    monkeypatch.setattr(benchmarks.cases, "BLOCK_BYTES", 5 * 7 * 8)  # blocks of 5 rows
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((23, 7)).astype(dtype)
        t = rng.integers(0, 7, 23)
        loss, grad = ce_numpy_blocked(x, t)
        out = np.full_like(x, np.nan)
        assert ce_numpy_blocked(x, t, out)[1] is out
        np.testing.assert_array_equal(out, grad)
        xt = torch.from_numpy(x.copy()).requires_grad_()
        expected = torch.nn.functional.cross_entropy(xt, torch.from_numpy(t))
        expected.backward()
        assert grad.dtype == dtype and loss.dtype == dtype
        np.testing.assert_allclose(loss, expected.item(), rtol=1e-5)
        np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_moons_are_two_labelled_half_circles():
    x, y = make_moons(10, 0.0, seed=0)
    assert x.shape == (10, 2) and sorted(set(y.tolist())) == [-1.0, 1.0]
    np.testing.assert_allclose(np.hypot(*x[y < 0].T), 1.0)
    np.testing.assert_allclose(np.hypot(x[y > 0, 0] - 1, x[y > 0, 1] - 0.5), 1.0)
