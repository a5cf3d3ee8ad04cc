"""``tinygrad-ce graph``: render the named example graphs, or a saved model's training step.

    tinygrad-ce graph ce-compare --format html          # one example, one page
    tinygrad-ce graph all --format svg,dot --out viz    # the whole gallery
    tinygrad-ce graph model.npz --format png            # a checkpoint from Module.save
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinygrad_ce.viz.render import FORMATS, RendererMissing, available_renderers, write


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tinygrad_ce.viz.examples import EXAMPLES

    parser.description = "Draw computation graphs with their values and gradients."
    parser.add_argument(
        "what", nargs="*", default=["all"],
        help=f"example names ({', '.join(EXAMPLES)}), 'all' (the default), or paths of "
             ".npz checkpoints saved by Module.save",
    )
    parser.add_argument("--format", "-f", default="svg",
                        help=f"comma-separated formats out of {', '.join(FORMATS)} (default svg)")
    parser.add_argument("--out", "-o", default="graphs", help="output folder (default ./graphs)")
    parser.add_argument("--batch", type=int, default=4,
                        help="batch size for a checkpoint's training step (default 4)")
    parser.add_argument("--activation", default=None, choices=["relu", "tanh", "sigmoid"],
                        help="activation between a checkpoint's Linear layers (default: the "
                             "one in the metrics.json beside it, else relu)")
    parser.add_argument("--list", action="store_true", help="list the examples and exit")


ERROR = "tinygrad-ce graph: error:"  # the prefix every other command's errors carry


def run(args: argparse.Namespace) -> int:
    from tinygrad_ce.viz.examples import EXAMPLES, checkpoint_step, example

    if args.list:
        for name, (_, caption) in EXAMPLES.items():
            print(f"{name:12s} {caption}")
        return 0
    formats = [f.strip().lower() for f in str(args.format).split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        print(f"{ERROR} --format {args.format!r}: expected a comma-separated list of "
              f"{', '.join(FORMATS)}", file=sys.stderr)
        return 2
    if args.batch < 1:
        print(f"{ERROR} --batch {args.batch}: expected a positive int", file=sys.stderr)
        return 2
    names: list[str] = []
    for w in args.what:
        names.extend(EXAMPLES if w == "all" else [w])
    for w in names:
        if w not in EXAMPLES and not w.endswith(".npz"):
            print(f"{ERROR} {w!r} is neither an example ({', '.join(EXAMPLES)}, all) nor an "
                  ".npz checkpoint", file=sys.stderr)
            return 2
    out = Path(args.out)
    if any(f != "dot" for f in formats) and not available_renderers():
        print("note: no Graphviz renderer found (install Graphviz's 'dot' or pygraphviz); "
              "writing .dot files instead: render one with `dot -Tsvg NAME.dot -o NAME.svg`",
              file=sys.stderr)
    for w in names:
        try:
            if w in EXAMPLES:
                g, stem = example(w), w
            else:
                g = checkpoint_step(w, batch=args.batch, activation=args.activation)
                # named after the run's folder too: every run saves weights.npz
                folder = Path(w).resolve().parent.name
                stem = f"{folder}-{Path(w).stem}-step" if folder else f"{Path(w).stem}-step"
                for line in (n for n in g.notes if "assumed" in n):
                    print(f"note: {line}", file=sys.stderr)
        except (ValueError, FileNotFoundError, TypeError) as e:
            print(f"{ERROR} {e}", file=sys.stderr)
            return 1
        for fmt in formats:
            try:
                path = write(g, out / f"{stem}.{fmt}", format=fmt, quiet=True)
            except RendererMissing:  # pragma: no cover - render falls back to .dot itself
                path = write(g, out / f"{stem}.dot", format="dot")
            print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tinygrad-ce graph")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
