"""``python -m benchmarks.versions BEFORE [AFTER] [--rounds N] [--only CASE ...]``: the same
benchmark cases for two revisions of this repository, run alternately in one session (so
both see the same machine), and each of our figures' median with the after/before ratio.

BEFORE and AFTER are git revisions; AFTER defaults to the working tree as it is. Each
revision runs its own copy of the suite (``python -m benchmarks --json``) from a temporary
worktree, one thread (``OMP_NUM_THREADS=1``), rounds interleaved: before, after, before, ...
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.harness import markdown_table

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CASES = ["per_op", "chain", "mlp_step"]


def figures(raw: Any, path: str = "") -> Iterator[tuple[str, float]]:
    """Every number in a case's raw results that measures our code, by its path."""
    if isinstance(raw, dict):
        for k, v in raw.items():
            yield from figures(v, f"{path}/{k}" if path else str(k))
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            yield from figures(v, path if len(raw) == 1 else f"{path}[{i}]")
    elif isinstance(raw, (int, float)) and "ours" in path and "ops" not in path.split("/")[-1]:
        yield path, float(raw)


def run_once(tree: Path, cases: Sequence[str], out: Path) -> dict[str, float]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=str(tree))
    # one thread either way; a suite that measures both settings is asked for one only
    one = ["--threads", "one"] if "--threads" in (tree / "benchmarks" / "run.py").read_text() \
        else []
    subprocess.run([sys.executable, "-m", "benchmarks", *one, "--only", *cases,
                    "--json", str(out)],
                   cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    cases_json = json.loads(out.read_text())["cases"]
    return {f"{name}: {path}": value for name, case in cases_json.items()
            for path, value in figures(case["raw"])}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.versions", description=__doc__)
    parser.add_argument("before", help="git revision measured first")
    parser.add_argument("after", nargs="?", help="git revision (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--only", nargs="+", default=DEFAULT_CASES, metavar="CASE",
                        help=f"cases to run (default: {' '.join(DEFAULT_CASES)})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        trees: dict[str, Path] = {}
        for label, rev in (("before", args.before), ("after", args.after)):
            if rev is None:
                trees[label] = ROOT
                continue
            trees[label] = Path(tmp) / label
            subprocess.run(["git", "worktree", "add", "--detach", str(trees[label]), rev],
                           cwd=ROOT, check=True, capture_output=True)
        try:
            runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
            with tqdm(total=2 * args.rounds, desc="rounds", unit="run") as bar:
                for r in range(args.rounds):
                    for label in ("before", "after"):
                        bar.set_postfix_str(label)
                        runs[label].append(run_once(trees[label], args.only,
                                                    Path(tmp) / f"{label}{r}.json"))
                        bar.update()
        finally:
            for tree in trees.values():
                if tree != ROOT:
                    subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                                   capture_output=True)
    names = [k for k in runs["before"][0] if all(k in run for run in runs["after"])]
    rows = []
    for name in names:
        b = statistics.median(run[name] for run in runs["before"])
        a = statistics.median(run[name] for run in runs["after"])
        rows.append([name, f"{b * 1e3:.4g} ms", f"{a * 1e3:.4g} ms", f"{a / b:.3f}x"])
    print(f"# {args.before} -> {args.after or 'working tree'}: medians of {args.rounds} "
          "interleaved runs, one thread\n")
    print(markdown_table(["figure (seconds, ours)", "before", "after", "after/before"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
