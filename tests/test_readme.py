"""The README stays true: every Python block in it runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
# a block that shows how an op is written inside the Tensor class is not a program
PROGRAMS = [b for b in BLOCKS if not b.lstrip().startswith("def ")]


def test_readme_has_programs() -> None:
    assert PROGRAMS


@pytest.mark.parametrize("index", range(len(PROGRAMS)))
def test_readme_python_block_runs(index: int, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", PROGRAMS[index]], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"README block {index} failed:\n{result.stderr[-3000:]}"


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    text = (ROOT / "README.md").read_text()
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", setup, re.S)
    assert len(commands) == 2, commands
    assert "<!-- test-command -->" in setup
    assert "pytest" in commands[1] and "constraints.txt" in commands[1]
    assert "bash -euo pipefail -c \"$cmd\"" in (ROOT / ".ci" / "run").read_text()


def test_every_block_prints_the_same_on_every_run(tmp_path: Path) -> None:
    for index, block in enumerate(PROGRAMS):
        outs = [subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True,
                               text=True, timeout=300).stdout for _ in range(2)]
        assert outs[0] == outs[1], f"README block {index} prints other numbers on each run"


def test_pip_commands_run_from_pypi_and_the_torch_pin_says_what_it_does() -> None:
    text = (ROOT / "README.md").read_text()
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if "pip install" in line:
                assert "index-url" not in line and "find-links" not in line, line
    assert "download.pytorch.org/whl/cpu" in text  # the CPU-only build, in prose
    pin = (ROOT / "constraints.txt").read_text()
    assert "torch==" in pin and "does not choose the build" in pin
    assert "CPU build of PyTorch;" not in pin  # the old, untrue comment
