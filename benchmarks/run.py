"""``python -m benchmarks [--quick] [--json PATH] [--only CASE ...]``: run the cases, print
their tables (Markdown) and the targets, and optionally save everything as JSON."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.cases import CASES, Config, Result
from benchmarks.harness import (
    THREAD_SETTINGS,
    load_average,
    machine_info,
    markdown_table,
    thread_setting,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and few repeats: a smoke run of a few seconds")
    parser.add_argument("--json", metavar="PATH", help="also write the results to PATH")
    parser.add_argument("--only", nargs="+", choices=list(CASES), metavar="CASE",
                        help=f"run only these cases ({', '.join(CASES)})")
    parser.add_argument("--threads", choices=["both", *THREAD_SETTINGS], default="both",
                        help="one thread for every implementation, each one's default, or "
                        "both in turn (the default)")
    parser.add_argument("--readme", metavar="PATH",
                        help="also write this run's tables and targets into the Markdown "
                        f"file PATH, between the lines {README_START!r} and {README_END!r}")
    args = parser.parse_args(argv)
    names = args.only or list(CASES)
    settings = list(THREAD_SETTINGS) if args.threads == "both" else [args.threads]

    machine = machine_info()
    _settle()
    import torch

    torch_default = torch.get_num_threads()
    try:
        out: list[str] = ["# tinygrad_ce benchmarks" + (" (--quick)" if args.quick else ""), "",
                          markdown_table(["machine", ""], [[k, str(v)] for k, v in
                                                           machine.items()])]
        print("\n".join(out))
        runs: dict[str, dict[str, Result]] = {}
        with _progress(len(names) * len(settings), enabled=not args.quick) as progress:
            for setting in settings:
                cfg = Config.make(args.quick, setting)
                with thread_setting(setting, torch_default) as threads:
                    machine[f"threads ({THREAD_SETTINGS[setting]})"] = threads
                    runs[setting] = {}
                    for name in names:
                        runs[setting][name] = CASES[name](cfg, progress.describe)
                        progress.advance()
        machine["load average (1 min) at end"] = load_average()
        report = [f"load average (1 min) at end: {machine['load average (1 min) at end']}"]
        for setting, results in runs.items():
            label = THREAD_SETTINGS[setting]
            report += ["", f"## {label}: {machine[f'threads ({label})']}"]
            for result in results.values():
                report += ["", f"**{result.title}, {label}**", "",
                           markdown_table(result.columns, result.rows)]
                report += [f"\nn/a: {note}" for note in result.notes]
        targets = check_targets(runs)
        report += ["", "## Targets", "",
                   markdown_table(["target", "threads", "figure", "met"],
                                  [[t["target"], t["threads"], t["figure"], t["met"]]
                                   for t in targets])]
        print()
        print("\n".join(report))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"quick": args.quick, "machine": machine,
                           **{_json_key(s): {k: {"title": r.title, "columns": r.columns,
                                                 "rows": r.rows, "raw": r.raw, "notes": r.notes}
                                             for k, r in results.items()}
                              for s, results in runs.items()},
                           "targets": targets}, f, indent=2, default=float)
        if args.readme:
            write_readme(args.readme, machine, report)
    finally:
        gc.unfreeze()
    return 0


def _json_key(setting: str) -> str:
    # "cases" stays the one-thread run's (benchmarks.versions reads it)
    return "cases" if setting == "one" else f"cases_{setting}_threads"


README_START = "<!-- benchmark tables: start (python -m benchmarks --readme README.md) -->"
README_END = "<!-- benchmark tables: end -->"


def write_readme(path: str, machine: dict[str, Any], report: list[str]) -> None:
    """Replace what lies between the README's two marker lines with this run: the machine,
    the tables at each thread setting and the targets (headings one level down)."""
    with open(path) as f:
        text = f.read()
    if README_START not in text or README_END not in text:
        raise SystemExit(f"--readme {path}: the marker lines {README_START!r} and "
                         f"{README_END!r} were not found")
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    lines = ["Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + "."]
    lines += [("#" + line) if line.startswith("## ") else line for line in report[1:]]
    with open(path, "w") as f:
        f.write(head + README_START + "\n\n" + "\n".join(lines).strip() + "\n\n" + README_END
                + tail)


def _settle() -> None:
    """Import everything the cases use (torch loads much of itself lazily, on the first
    optimizer and the first profile), then freeze the objects alive so far: the garbage
    collector, which runs inside every timed region as it would in a program, then walks
    only what the measured code itself allocates, not the harness's modules."""
    import contextlib

    import torch
    import torch.profiler

    import tinygrad_ce.nn
    import tinygrad_ce.optim  # noqa: F401

    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with contextlib.suppress(ImportError):
        import micrograd.nn  # noqa: F401
    gc.collect()
    gc.freeze()


class _progress:
    """A tqdm bar over the cases; its description names the measurement under way."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.bar: Any = None

    def __enter__(self) -> _progress:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="case", file=sys.stderr, leave=False)
        return self

    def describe(self, what: str) -> None:
        if self.bar is not None:
            self.bar.set_description(what)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def check_targets(runs: dict[str, dict[str, Result]]) -> list[dict[str, Any]]:
    """Each target of the suite as a figure from this run (the worst case where several
    rows count), at the thread setting it is set for, and whether it is met."""
    out: list[dict[str, Any]] = []
    for setting, results in runs.items():
        one = setting == "one"

        def add(target: str, figure: float | None, limit: float, at_most: bool,
                unit: str = "x", where: str = "") -> None:
            met = "n/a" if figure is None else "yes" if (figure <= limit if at_most else
                                                         figure >= limit) else "no"
            text = "n/a" if figure is None else f"{figure:,.2f}{unit}" if figure < 100 else \
                f"{figure:,.0f}{unit}"
            out.append({"target": target, "threads": THREAD_SETTINGS[setting],  # noqa: B023
                        "figure": text + (f" ({where})" if where and figure is not None
                                          else ""),
                        "value": figure, "met": met})

        ce = results.get("cross_entropy")
        if ce is not None:
            _ce_targets(ce, one, add)
        mlp = results.get("mlp_step")
        if mlp is not None:
            s = mlp.raw[0]["seconds"]
            add("MLP step <= 1.1x hand-written numpy", s["ours"] / s["numpy"], 1.1, True)
            add("MLP step <= 0.9x torch eager", s["ours"] / s["torch"], 0.9, True)
        demo = results.get("micrograd_demo")
        if demo is not None:
            s = demo.raw[0]["seconds"]
            if one:
                add("micrograd demo epoch >= 2,000x faster than micrograd",
                    s["micrograd"] / s["ours"] if "micrograd" in s else None, 2000, False)
            add("micrograd demo epoch <= 1.0x torch", s["ours"] / s["torch"], 1.0, True)
        op = results.get("per_op")
        if op is not None:
            s = op.raw[0]["seconds_per_op"]
            add("per-op overhead with grad <= 1.0x torch",
                s["ours, grad on"] / s["torch, grad on"], 1.0, True)
        ch = results.get("chain")
        if ch is not None:
            s = ch.raw[0]["seconds"]
            both = {k: v["build"] + v["backward"] for k, v in s.items()}
            add(f"{ch.raw[0]['ops']:,}-op chain build + backward <= 1.0x torch",
                both["ours"] / both["torch"], 1.0, True)
            if len(ch.raw) > 1:
                ours = ch.raw[1]["seconds"]["ours"]
                total = ours["build"] + ours["backward"] + ours["free"]
                out.append({"target": "1,000,000-op chain completes",
                            "threads": THREAD_SETTINGS[setting], "value": total,
                            "figure": f"completed in {total:.2f} s", "met": "yes"})
    return out


def _ce_targets(ce: Result, one: bool, add: Callable[..., None]) -> None:
    def ratios(num: str, den: str, keep: Callable[[dict[str, Any]], bool],
               ) -> list[tuple[float, str]]:
        return [(r["seconds"][num] / r["seconds"][den], f"{r['dtype']} {r['N']}x{r['C']}")
                for r in ce.raw if keep(r) and num in r["seconds"] and den in r["seconds"]]

    def worst(pairs: list[tuple[float, str]], largest: bool = True) -> tuple[Any, str]:
        return (max if largest else min)(pairs) if pairs else (None, "")

    large = lambda r: r["N"] * r["C"] >= 1024 * 1000  # noqa: E731
    small = lambda r: r["N"] * r["C"] <= 64 * 10  # noqa: E731
    for dt in ("float32", "float64"):
        is_dt = lambda r, dt=dt: r["dtype"] == dt  # noqa: E731
        if one:
            w = worst(ratios("fused", "blocked", lambda r: is_dt(r) and large(r)))  # noqa: B023
            add(f"fused CE <= 1.05x blocked numpy closed form, {dt}, N x C >= 1024 x 1000 "
                "(worst)", w[0], 1.05, True, where=w[1])
        else:
            w = worst(ratios("fused", "torch", lambda r: is_dt(r) and large(r)))  # noqa: B023
            add(f"fused CE <= 0.9x torch, {dt}, N x C >= 1024 x 1000 (worst)", w[0], 0.9,
                True, where=w[1])
        w = worst(ratios("fused", "torch", lambda r: is_dt(r) and small(r)))  # noqa: B023
        add(f"fused CE <= 0.8x torch, {dt}, 64 x 10", w[0], 0.8, True, where=w[1])
        w = worst(ratios("fused", "numpy", lambda r: is_dt(r) and small(r)))  # noqa: B023
        add(f"fused CE <= 1.6x numpy closed form, {dt}, 64 x 10", w[0], 1.6, True, where=w[1])
    mems = [(r["peak_extra_memory_NC"]["fused"], f"{r['dtype']} {r['N']}x{r['C']}")
            for r in ce.raw if "fused" in r["peak_extra_memory_NC"] and large(r)]
    mem = worst(mems)
    add("fused CE peak extra memory <= 1.05 (N, C) arrays, N x C >= 1024 x 1000 (worst)",
        mem[0], 1.05, True, unit="", where=mem[1])
    if one:
        uf = worst(ratios("unfused", "fused", large), largest=False)
        add("fused CE >= 4x faster than unfused, N x C >= 1024 x 1000 (worst)", uf[0], 4.0,
            False, where=uf[1])


if __name__ == "__main__":
    raise SystemExit(main())
