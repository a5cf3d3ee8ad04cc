"""The switch that turns a missing system program from a skip into a failure (CI sets it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(tmp_path: Path, *args: str,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_needs.py"
    test.write_text("from tests.system import which\n\n\n"
                    "def test_needs_a_missing_program():\n"
                    "    which('no-such-program-here', debian='no-such-package')\n")
    environ = {k: v for k, v in os.environ.items() if k != "TINYGRAD_CE_REQUIRE_SYSTEM_DEPS"}
    environ.update(env or {}, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "tests.system", "--rootdir", str(tmp_path), str(test), *args],
                          cwd=tmp_path, env=environ, capture_output=True, text=True)


def test_a_missing_program_skips_with_one_line_saying_how_to_run_it(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    lines = [line for line in result.stdout.splitlines() if line.startswith("not run:")]
    assert lines == ["not run: 1 test(s) that need no-such-program-here; to run them: "
                     "apt-get install no-such-package (or set "
                     "TINYGRAD_CE_REQUIRE_SYSTEM_DEPS=1 to make a missing one fail)"]


@pytest.mark.parametrize("how", ["--require-system-deps", "TINYGRAD_CE_REQUIRE_SYSTEM_DEPS=1"])
def test_the_switch_makes_a_missing_program_fail(tmp_path: Path, how: str) -> None:
    if how.startswith("--"):
        result = _run(tmp_path, how)
    else:
        result = _run(tmp_path, env=dict([how.split("=")]))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed" in result.stdout and "apt-get install no-such-package" in result.stdout
