"""The ``tinygrad-ce`` command, run in-process at small sizes: it writes what it promises,
fused and unfused training agree, and bad arguments get one line and exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from tinygrad_ce import cli, nn

SMALL = ["--samples", "150", "--epochs", "3", "--quiet"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_dir(parent: Path) -> Path:
    """The one run folder that a demo or train run made under ``--out``."""
    (folder,) = [p for p in parent.iterdir() if p.is_dir()]
    return folder


def test_demo_trains_checks_gradients_and_writes_everything(tmp_path: Path, capsys):
    code, out, err = run(capsys, "demo", "--out", str(tmp_path / "out"), *SMALL)
    assert code == 0, err
    out_dir = run_dir(tmp_path / "out")
    assert out_dir.name == "demo-001"
    assert "test accuracy" in out and "train accuracy" in out
    assert "fused (1 node) vs unfused (" in out and "cross-entropy on one batch" in out
    for name in ("loss_curve.png", "decision_boundary.png", "metrics.json", "weights.npz"):
        assert (out_dir / name).stat().st_size > 0, name
    assert (out_dir / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["config"]["loss"] == "fused" and metrics["config"]["dataset"] == "spirals"
    assert len(metrics["epoch_loss"]) == 3 and len(metrics["step_loss"]) == 3 * 2  # 120 / 64
    assert 0 <= metrics["test_accuracy"] <= 1
    assert metrics["fused_vs_unfused_max_grad_diff"] < 1e-5
    assert f"{metrics['fused_vs_unfused_max_grad_diff']:.2e}" in out
    # the weights load into the same MLP
    model = nn.MLP(2, (64, 64), 3)
    assert model.load(out_dir / "weights.npz").missing_keys == []


def test_demo_writes_the_training_step_graph_or_says_why_not(tmp_path: Path, capsys):
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path), *SMALL)
    assert code == 0
    drawn = list(run_dir(tmp_path).glob("training_step.*"))
    assert drawn or "note:" in out


def test_demo_survives_a_failing_graph_renderer(tmp_path: Path, capsys, monkeypatch):
    import tinygrad_ce.viz as viz

    def broken(*args, **kwargs):
        raise RuntimeError("renderer exploded\nsecond line")

    monkeypatch.setattr(viz, "render", broken)
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path), *SMALL)
    assert code == 0
    assert "note: could not draw the training-step graph: renderer exploded" in out
    assert "second line" not in out
    assert (run_dir(tmp_path) / "metrics.json").exists()


def test_demo_without_the_renderer_still_runs(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tinygrad_ce.viz", None)
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path), "--no-graph", *SMALL)
    assert code == 0 and (run_dir(tmp_path) / "decision_boundary.png").exists()


def test_without_tqdm_progress_is_a_line_per_tenth(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # a terminal
    code, out, err = run(capsys, "train", "--samples", "100", "--epochs", "20", "--out",
                         str(tmp_path))
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 10 and lines[-1].startswith("epoch 20/20") and "loss=" in lines[-1]


def test_into_a_file_progress_is_a_line_per_epoch(tmp_path: Path, capsys):
    code, out, err = run(capsys, "train", "--samples", "100", "--epochs", "7", "--out",
                         str(tmp_path))
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == [f"{i}/7" for i in range(1, 8)]
    assert "\r" not in out


def test_each_run_writes_a_new_folder_that_metrics_json_describes(tmp_path: Path, capsys):
    (tmp_path / "train-001").mkdir()
    (tmp_path / "train-001" / "mine.txt").write_text("keep me")
    folders = []
    for _ in range(2):
        code, out, err = run(capsys, "train", "--samples", "100", "--epochs", "2", "--out",
                             str(tmp_path))
        assert code == 0, err
        folder = max(p for p in tmp_path.iterdir() if p.is_dir())
        folders.append(folder.name)
        metrics = json.loads((folder / "metrics.json").read_text())
        assert sorted(metrics["files"]) == sorted(p.name for p in folder.iterdir())
        assert "training_step.svg" in metrics["files"]
        assert f"done in {metrics['wall_seconds']:.2f} s" in out
    assert folders == ["train-002", "train-003"]
    assert (tmp_path / "train-001" / "mine.txt").read_text() == "keep me"
    code, out, _ = run(capsys, "train", "--help")
    assert "train-001, train-002" in out


def test_a_tiny_test_split_gets_a_warning(tmp_path: Path, capsys):
    code, _, err = run(capsys, "train", "--samples", "20", "--epochs", "1", "--quiet",
                       "--out", str(tmp_path))
    assert code == 0
    assert "warning: the test split holds 4 point(s): its accuracy is not meaningful" in err


def test_fused_and_unfused_training_give_the_same_loss_curve(tmp_path: Path, capsys):
    curves = {}
    for loss in ("fused", "unfused"):
        code, _, err = run(capsys, "train", "--loss", loss, "--dtype", "float64", "--samples",
                           "200", "--epochs", "5", "--batch-size", "32", "--quiet",
                           "--out", str(tmp_path / loss))
        assert code == 0, err
        metrics = run_dir(tmp_path / loss) / "metrics.json"
        curves[loss] = json.loads(metrics.read_text())["step_loss"]
    assert len(curves["fused"]) == 5 * 5
    np.testing.assert_allclose(curves["fused"], curves["unfused"], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("options", [
    ["--dataset", "moons", "--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.5"],
    ["--dataset", "circles", "--activation", "tanh", "--optimizer", "adamw",
     "--schedule", "none", "--hidden", "8"],
    ["--dataset", "blobs", "--classes", "4", "--hidden", "none", "--weight-decay", "0.01"],
])
def test_train_options(tmp_path: Path, capsys, options):
    code, out, err = run(capsys, "train", *options, *SMALL, "--out", str(tmp_path))
    assert code == 0, err
    assert out.strip().startswith("train accuracy") and len(out.strip().splitlines()) == 1
    metrics = json.loads((run_dir(tmp_path) / "metrics.json").read_text())
    for key, value in zip(options[::2], options[1::2]):
        field = key[2:].replace("-", "_")
        if field in ("lr", "momentum", "weight_decay"):
            assert metrics["config"][field] == float(value)
        elif field != "hidden":
            assert str(metrics["config"][field]) == value
    assert (run_dir(tmp_path) / "decision_boundary.png").exists()


def test_train_on_digits_learns(tmp_path: Path, capsys):
    code, out, err = run(capsys, "train", "--dataset", "digits", "--hidden", "64",
                         "--epochs", "8", "--quiet", "--out", str(tmp_path))
    assert code == 0, err
    metrics = json.loads((run_dir(tmp_path) / "metrics.json").read_text())
    assert metrics["architecture"] == "64-64-10"
    assert metrics["test_accuracy"] > 0.9
    assert not (run_dir(tmp_path) / "decision_boundary.png").exists()  # 64-D inputs: no 2-D picture


def test_train_same_seed_same_run(tmp_path: Path, capsys):
    losses = []
    for name in ("a", "b"):
        assert run(capsys, "train", *SMALL, "--out", str(tmp_path / name))[0] == 0
        metrics = run_dir(tmp_path / name) / "metrics.json"
        losses.append(json.loads(metrics.read_text())["step_loss"])
    assert losses[0] == losses[1]


@pytest.mark.parametrize("options", [
    [], ["--shape", "6,4,3", "--weight", "--ignore-index", "1", "--label-smoothing", "0.1",
         "--dtype", "float32"],
    ["--shape", "5,3", "--target", "prob", "--reduction", "none"],
])
def test_compare_reports_differences_nodes_and_time(tmp_path: Path, capsys, options):
    report = tmp_path / "compare.json"
    code, out, err = run(capsys, "compare", *options, "--repeat", "2", "--json", str(report))
    assert code == 0, err
    assert "fused" in out and "unfused" in out and "torch" in out and "nodes" in out
    results = json.loads(report.read_text())["results"]
    assert results["fused"]["nodes"] == 2  # the input and one cross-entropy node
    assert results["unfused"]["nodes"] > results["fused"]["nodes"]
    tol = 1e-5 if "float32" in options else 1e-12
    for name in ("fused", "unfused"):
        assert results[name]["grad_diff"] < tol and results[name]["loss_diff"] < 10 * tol
        assert results[name]["ms"] > 0


@pytest.mark.parametrize("command", ["demo", "train", "compare"])
def test_help_of_each_command(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and out.startswith(f"usage: tinygrad-ce {command}")


@pytest.mark.parametrize("argv", [
    ["train", "--lr", "-1"], ["train", "--epochs", "0"], ["train", "--hidden", "4,x"],
    ["train", "--dataset", "mnist"], ["train", "--loss", "both"], ["train", "--dtype", "half"],
    ["train", "--test-size", "1.5"], ["train", "--classes", "1"], ["demo", "--samples", "x"],
    ["compare", "--shape", "5"], ["compare", "--label-smoothing", "2"],
    ["compare", "--target", "prob", "--ignore-index", "1"], ["frobnicate"], [],
    ["train", "--bogus"],
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "error:" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["demo", "train"])
def test_an_unwritable_output_folder_fails_before_training(tmp_path: Path, capsys, command):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    code, out, err = run(capsys, command, "--out", str(blocker / "sub"), *SMALL)
    assert code == 2 and "train accuracy" not in out
    assert err.strip().splitlines() == [err.strip()] and "--out" in err


def test_python_dash_m_runs_the_command():
    result = subprocess.run([sys.executable, "-m", "tinygrad_ce", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "demo" in result.stdout and "compare" in result.stdout
    result = subprocess.run([sys.executable, "-m", "tinygrad_ce", "train", "--epochs", "-3"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_plugin_commands_register_when_their_module_exists(monkeypatch, capsys):
    plugin = types.ModuleType("fake_plugin")
    plugin.add_arguments = lambda p: p.add_argument("--n", type=int, default=1)
    plugin.run = lambda args: print(f"plugin ran with {args.n}") or 0
    monkeypatch.setitem(sys.modules, "fake_plugin", plugin)
    monkeypatch.setitem(cli.PLUGINS, "fake", ("fake_plugin", "a fake command"))
    monkeypatch.setitem(cli.PLUGINS, "absent", ("no_such_module_here", "never shown"))
    code, out, _ = run(capsys, "fake", "--n", "3")
    assert code == 0 and "plugin ran with 3" in out
    code, out, _ = run(capsys, "--help")
    assert "fake" in out and "absent" not in out
    assert run(capsys, "absent")[0] == 2


def test_graph_command_is_registered_when_present(capsys):
    try:
        import tinygrad_ce.viz.command  # noqa: F401
    except ImportError:
        pytest.fail("the visualisation package ships with the project")
    code, out, _ = run(capsys, "graph", "--help")
    assert code == 0 and out.startswith("usage: tinygrad-ce graph")


def test_without_the_demo_extra_graph_is_listed_and_says_what_to_install(tmp_path) -> None:
    import subprocess
    import sys

    code = ("import sys\n"
            "sys.modules['graphviz'] = None  # as on a bare `pip install .`\n"
            "from tinygrad_ce.cli import main\n"
            "assert main(['--help']) == 0\n"
            "sys.exit(main(['graph', 'ce-fused']))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "graph" in result.stdout and 'pip install "tinygrad-ce[demo]"' in result.stdout
    assert result.stderr.strip() == ("tinygrad-ce graph: error: the 'graph' command needs the "
                                     'graphviz package: pip install "tinygrad-ce[demo]"')
    assert not list(tmp_path.iterdir())
    code = "import sys\nsys.modules['graphviz'] = None\nimport tinygrad_ce.viz\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "ImportError: tinygrad_ce.viz draws with the graphviz package, which the demo extra "
        'installs: pip install "tinygrad-ce[demo]"')
