"""The ``tinygrad-ce`` command: ``demo`` (train an MLP on spirals, show and save everything),
``train`` (the same loop with every knob), ``compare`` (fused vs unfused vs torch
cross-entropy) and, when the visualisation package is present, ``graph``.

A bad option or value prints one line and exits with status 2; no tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tinygrad_ce.commands import compare, demo, train

PROG = "tinygrad-ce"


# ----- argument parsing: one-line errors, exit status 2 -----------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# ----- the registry of subcommands --------------------------------------------------------
@dataclass
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: list[Command] = [
    Command("demo", "train an MLP on 3-class spirals with the fused cross-entropy; write the "
            "loss curve, the decision boundary, metrics and weights", demo.add_arguments,
            demo.run),
    Command("train", "train an MLP with every option (data, layers, optimizer, loss, dtype)",
            train.add_arguments, train.run),
    Command("compare", "fused vs unfused vs torch cross-entropy: loss and gradient "
            "differences, node counts, time", compare.add_arguments, compare.run),
]

# modules that add a subcommand when present: each exposes add_arguments(parser) and run(args)
PLUGINS = {"graph": ("tinygrad_ce.viz.command", "draw the graph of an example or a training "
                     "step (svg, png, pdf, dot, html)")}


def _plugins() -> list[Command]:
    found = []
    for name, (module, help) in PLUGINS.items():
        try:
            mod = importlib.import_module(module)
            found.append(Command(name, getattr(mod, "HELP", help), mod.add_arguments, mod.run))
        except ImportError as e:
            if e.name == module:
                continue  # not written yet
            found.append(_needs_extra(name, help, e.name or str(e)))
        except Exception as e:  # noqa: BLE001 - a broken plugin must not break the others
            print(f"{PROG}: note: the '{name}' command is unavailable: {e}", file=sys.stderr)
    return found


def _needs_extra(name: str, help: str, missing: str) -> Command:
    """A command whose packages are not installed: listed, and saying what to install."""
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def run(args: argparse.Namespace) -> int:
        raise ImportError(f"the '{name}' command needs the {missing} package: "
                          'pip install "tinygrad-ce[demo]"')

    return Command(name, f"{help} (needs: pip install \"tinygrad-ce[demo]\")", add_arguments,
                   run)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Train and inspect small MLPs with tinygrad_ce. "
                     "Start with: tinygrad-ce demo")
    from tinygrad_ce import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS + _plugins():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tinygrad-ce`` and ``python -m tinygrad_ce``; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error (already printed)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        return 1
    except (ValueError, TypeError, IndexError) as e:
        print(f"{PROG} {args.command}: error: {_first_line(e)}", file=sys.stderr)
        return 2
    except (ImportError, OSError, RuntimeError) as e:
        print(f"{PROG} {args.command}: error: {_first_line(e)}", file=sys.stderr)
        return 1


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
