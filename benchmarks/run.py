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
from benchmarks.harness import load_average, machine_info, markdown_table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and few repeats: a smoke run of a few seconds")
    parser.add_argument("--json", metavar="PATH", help="also write the results to PATH")
    parser.add_argument("--only", nargs="+", choices=list(CASES), metavar="CASE",
                        help=f"run only these cases ({', '.join(CASES)})")
    args = parser.parse_args(argv)
    cfg = Config.make(args.quick)
    names = args.only or list(CASES)

    machine = machine_info()
    _settle()
    try:
        print("# tinygrad_ce benchmarks" + (" (--quick)" if cfg.quick else ""))
        print()
        print(markdown_table(["machine", ""], [[k, str(v)] for k, v in machine.items()]))
        results: dict[str, Result] = {}
        with _progress(len(names), enabled=not cfg.quick) as progress:
            for name in names:
                results[name] = CASES[name](cfg, progress.describe)
                progress.advance()
        machine["load average (1 min) at end"] = load_average()
        print(f"\nload average (1 min) at end: {machine['load average (1 min) at end']}")
        for result in results.values():
            print()
            print(f"## {result.title}")
            print()
            print(markdown_table(result.columns, result.rows))
            for note in result.notes:
                print(f"\nn/a: {note}")
        targets = check_targets(results)
        print()
        print("## Targets")
        print()
        print(markdown_table(["target", "figure", "met"],
                             [[t["target"], t["figure"], t["met"]] for t in targets]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"quick": cfg.quick, "machine": machine,
                           "cases": {k: {"title": r.title, "columns": r.columns, "rows": r.rows,
                                         "raw": r.raw, "notes": r.notes}
                                     for k, r in results.items()},
                           "targets": targets}, f, indent=2, default=float)
    finally:
        gc.unfreeze()
    return 0


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


def check_targets(results: dict[str, Result]) -> list[dict[str, Any]]:
    """Each target of the suite as a figure from this run, and whether it is met."""
    out: list[dict[str, Any]] = []

    def add(target: str, figure: float | None, limit: float, at_most: bool, unit: str = "x",
            where: str = "") -> None:
        met = "n/a" if figure is None else "yes" if (figure <= limit if at_most else
                                                     figure >= limit) else "no"
        text = "n/a" if figure is None else f"{figure:,.2f}{unit}" if figure < 100 else \
            f"{figure:,.0f}{unit}"
        out.append({"target": target, "figure": text + (f" ({where})" if where and
                                                         figure is not None else ""),
                    "value": figure, "met": met})

    ce = results.get("cross_entropy")
    if ce is not None:
        def ratios(num: str, den: str, keep: Callable[[dict[str, Any]], bool],
                   ) -> list[tuple[float, str]]:
            found = []
            for r in ce.raw:
                s = r["seconds"]
                if keep(r) and num in s and den in s:
                    found.append((s[num] / s[den], f"{r['dtype']} {r['N']}x{r['C']}"))
            return found

        def worst(pairs: list[tuple[float, str]], largest: bool = True) -> tuple[Any, str]:
            if not pairs:
                return None, ""
            return (max if largest else min)(pairs)

        large = lambda r: r["N"] * r["C"] >= 1024 * 1000  # noqa: E731
        for label, keep in (("every case", lambda r: True), ("N x C >= 1024 x 1000", large)):
            f32 = worst(ratios("fused", "torch", lambda r: r["dtype"] == "float32" and keep(r)))  # noqa: B023
            add(f"fused CE <= 1.15x torch, float32, {label} (worst)", *f32[:1], 1.15, True,
                where=f32[1])
            f64 = worst(ratios("fused", "torch", lambda r: r["dtype"] == "float64" and keep(r)))  # noqa: B023
            add(f"fused CE <= 0.8x torch, float64, {label} (worst)", *f64[:1], 0.8, True,
                where=f64[1])
            fn = worst(ratios("fused", "numpy", keep))
            add(f"fused CE <= 1.1x numpy closed form, {label} (worst)", *fn[:1], 1.1, True,
                where=fn[1])
            mems = [(r["peak_extra_memory_NC"]["fused"], f"{r['dtype']} {r['N']}x{r['C']}")
                    for r in ce.raw if "fused" in r["peak_extra_memory_NC"] and keep(r)]
            mem = worst(mems)
            add(f"fused CE peak extra memory <= 1.5 (N, C) arrays, {label} (worst)", *mem[:1],
                1.5, True, unit="", where=mem[1])
        uf = worst(ratios("unfused", "fused", large), largest=False)
        add("fused CE >= 4x faster than unfused, N x C >= 1024 x 1000 (worst)", *uf[:1], 4.0,
            False, where=uf[1])
    mlp = results.get("mlp_step")
    if mlp is not None:
        s = mlp.raw[0]["seconds"]
        add("MLP step <= 1.0x torch eager", s["ours"] / s["torch"], 1.0, True)
        add("MLP step <= 1.15x hand-written numpy", s["ours"] / s["numpy"], 1.15, True)
    demo = results.get("micrograd_demo")
    if demo is not None:
        s = demo.raw[0]["seconds"]
        add("micrograd demo epoch >= 2,000x faster than micrograd",
            s["micrograd"] / s["ours"] if "micrograd" in s else None, 2000, False)
        add("micrograd demo epoch <= 1.0x torch", s["ours"] / s["torch"], 1.0, True)
    op = results.get("per_op")
    if op is not None:
        s = op.raw[0]["seconds_per_op"]
        add("per-op overhead with grad <= 1.0x torch", s["ours, grad on"] / s["torch, grad on"],
            1.0, True)
    ch = results.get("chain")
    if ch is not None:
        s = ch.raw[0]["seconds"]
        both = {k: v["build"] + v["backward"] for k, v in s.items()}
        add(f"{ch.raw[0]['ops']:,}-op chain build + backward <= 1.0x torch",
            both["ours"] / both["torch"], 1.0, True)
        if len(ch.raw) > 1:
            ours = ch.raw[1]["seconds"]["ours"]
            total = ours["build"] + ours["backward"] + ours["free"]
            out.append({"target": "1,000,000-op chain completes", "value": total,
                        "figure": f"completed in {total:.2f} s", "met": "yes"})
    return out


if __name__ == "__main__":
    raise SystemExit(main())
