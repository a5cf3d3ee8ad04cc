"""Tests that need programs pip cannot install (Graphviz's ``dot``, a headless Chromium
and its driver) run where those are present. Elsewhere they are skipped, and the run ends
with one line saying what was not run and which Debian packages enable it; with
``--require-system-deps`` (or ``TINYGRAD_CE_REQUIRE_SYSTEM_DEPS=1``, which ``.ci/run``
sets) a missing program fails those tests instead. No other test skips."""

from __future__ import annotations

import os
import shutil

import pytest

ENV = "TINYGRAD_CE_REQUIRE_SYSTEM_DEPS"
_missing: dict[str, set[str]] = {}  # Debian package -> programs it provides that are missing


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--require-system-deps", action="store_true",
                     help="fail, instead of skip, the tests whose system programs "
                          "(dot, chromium, chromedriver) are missing")


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(ENV) == "1":
        config.option.require_system_deps = True
    global _required
    _required = bool(config.getoption("require_system_deps", False))


_required = False


def which(*programs: str, debian: str) -> str:
    """The path of the first of ``programs`` on PATH; if there is none, the calling test
    is skipped (or fails, when system dependencies are required)."""
    for program in programs:
        path = shutil.which(program)
        if path:
            return path
    what = " / ".join(programs)
    if _required:
        pytest.fail(f"{what} is not on PATH, and system dependencies are required "
                    f"(apt-get install {debian})")
    _missing.setdefault(debian, set()).add(what)
    pytest.skip(f"needs {what} (Debian package: {debian})")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if not _missing or not skipped:
        return
    programs = ", ".join(sorted(p for ps in _missing.values() for p in ps))
    packages = " ".join(sorted(_missing))
    terminalreporter.write_line(
        f"not run: {len(skipped)} test(s) that need {programs}; to run them: "
        f"apt-get install {packages} (or set {ENV}=1 to make a missing one fail)")
