"""Rendering DOT to svg, png, pdf, dot or a self-contained html page.

Renderer order: Graphviz's ``dot`` on PATH, else ``pygraphviz`` (its wheels bundle Graphviz;
the ``demo`` extra installs it), else the ``.dot`` file is written and one line says how to
render it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import graphviz

from tinygrad_ce.viz.html import page

FORMATS = ("svg", "png", "pdf", "dot", "html")
RENDERERS = ("dot", "pygraphviz")


class RendererMissing(RuntimeError):
    """Neither Graphviz's ``dot`` nor ``pygraphviz`` is available."""


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that renders through tinygrad_ce's renderers, so it shows
    itself in Jupyter with either a system Graphviz or only ``pygraphviz`` installed.
    ``node_data`` holds each node's full values (the html page shows them on click)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.node_data: dict[str, dict[str, Any]] = {}
        self.title: str | None = None
        self.notes: list[str] = []  # what the picture leaves out, and why
        self.clusters: dict[str, dict[str, Any]] = {}  # cluster -> label and member nodes
        self.steps: list[dict[str, Any]] = []  # the backward pass, step by step (html)

    def copy(self) -> Graph:
        other = super().copy()
        other.node_data, other.title = dict(self.node_data), self.title
        other.notes = list(self.notes)
        other.clusters, other.steps = dict(self.clusters), list(self.steps)
        return other

    def svg(self) -> str:
        """The picture as SVG text, laid out by the first renderer found."""
        return layout(self.source, "svg").decode("utf-8")

    def _repr_svg_(self) -> str:
        return self.svg()

    # graphviz.Digraph's own calls, which need a system ``dot``: with one they are
    # graphviz's; without, the picture is laid out by pygraphviz
    def pipe(self, format: str | None = None, renderer: str | None = None,  # noqa: A002
             formatter: str | None = None, neato_no_op: Any = None, quiet: bool = False, *,
             engine: str | None = None, encoding: str | None = None) -> bytes | str:
        """The picture as bytes (or text, given an ``encoding``), as graphviz's ``pipe``."""
        if shutil.which("dot"):
            return super().pipe(format=format, renderer=renderer, formatter=formatter,
                                neato_no_op=neato_no_op, quiet=quiet, engine=engine,
                                encoding=encoding)
        data = layout(self.source, format or self.format)
        return data.decode(encoding) if encoding else data

    def render(self, filename: Any = None, directory: Any = None, view: bool = False,
               cleanup: bool = False, format: str | None = None,  # noqa: A002
               renderer: str | None = None, formatter: str | None = None,
               neato_no_op: Any = None, quiet: bool = False, quiet_view: bool = False, *,
               outfile: Any = None, engine: str | None = None,
               raise_if_result_exists: bool = False, overwrite_source: bool = False) -> str:
        """Save the source and write the picture beside it (``<source>.<format>``, or
        ``outfile``), as graphviz's ``render``; returns the picture's path."""
        if shutil.which("dot"):
            return super().render(filename, directory=directory, view=view, cleanup=cleanup,
                                  format=format, renderer=renderer, formatter=formatter,
                                  neato_no_op=neato_no_op, quiet=quiet, quiet_view=quiet_view,
                                  outfile=outfile, engine=engine,
                                  raise_if_result_exists=raise_if_result_exists,
                                  overwrite_source=overwrite_source)
        fmt = format or (Path(outfile).suffix.lstrip(".") if outfile else "") or self.format
        if outfile is not None and filename is None:
            filename = Path(outfile).with_suffix(".gv")
        source = self.save(filename, directory=directory)
        out = Path(outfile) if outfile is not None else Path(f"{source}.{fmt}")
        if raise_if_result_exists and out.exists():
            raise FileExistsError(f"output file exists: {os.fspath(out)!r}")
        out.write_bytes(layout(self.source, fmt))
        if cleanup:
            os.remove(source)
        if view:
            self._view(out, format=fmt, quiet=quiet_view)
        return os.fspath(out)

    def view(self, filename: Any = None, directory: Any = None, cleanup: bool = False,
             quiet: bool = False, quiet_view: bool = False) -> str:
        """Render, then open the picture with the system's viewer, as graphviz's ``view``."""
        return self.render(filename, directory=directory, view=True, cleanup=cleanup,
                           quiet=quiet, quiet_view=quiet_view)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **_: Any) -> dict[str, str]:
        try:
            return {"image/svg+xml": self.svg()}
        except RendererMissing as e:
            return {"text/plain": f"{e}\n{self.source}"}


def available_renderers() -> list[str]:
    """The renderers found here, in the order they are tried."""
    found = []
    if shutil.which("dot"):
        found.append("dot")
    try:
        import pygraphviz  # noqa: F401
    except ImportError:
        pass
    else:
        found.append("pygraphviz")
    return found


def layout(source: str, fmt: str, renderer: str | None = None) -> bytes:
    """Lay out DOT ``source`` into ``fmt`` (svg, png, pdf) with the first renderer found,
    or the one named by ``renderer`` ('dot' or 'pygraphviz')."""
    if renderer is not None and renderer not in RENDERERS:
        raise ValueError(f"renderer={renderer!r}; expected one of {RENDERERS} or None")
    order = [renderer] if renderer else list(RENDERERS)
    for name in order:
        if name == "dot":
            exe = shutil.which("dot")
            if exe is None:
                continue
            done = subprocess.run([exe, f"-T{fmt}"], input=source.encode("utf-8"),
                                  capture_output=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"dot -T{fmt} failed: {done.stderr.decode(errors='replace')}")
            return done.stdout
        try:
            import pygraphviz
        except ImportError:
            continue
        return _quiet(lambda: pygraphviz.AGraph(string=source).draw(format=fmt, prog="dot"))
    wanted = f"renderer {renderer!r} not found" if renderer else "no Graphviz renderer found"
    raise RendererMissing(
        f"{wanted}: install Graphviz (its 'dot' command) or pygraphviz "
        "(pip install pygraphviz)"
    )


def _quiet(fn: Any) -> bytes:
    """Run ``fn`` with C-level stderr captured: the Graphviz bundled in pygraphviz's wheels
    prints fontconfig warnings and a 'layout may take a long time' note past 1,000 nodes
    (it takes about a second) that say nothing about the graph; other lines pass through."""
    fd = 2  # Graphviz's C code writes to the process's stderr, whatever sys.stderr is
    try:
        sys.stderr.flush()
        saved = os.dup(fd)
    except (AttributeError, OSError, ValueError):
        return fn()
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            return fn()
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            for line in tmp.read().decode(errors="replace").splitlines():
                if line.strip() and not line.startswith("Fontconfig") and not line.endswith(
                        "layout may take a long time.") and "too large for" not in line:
                    print(line, file=sys.stderr)


BIG = 300  # nodes: past this a png or pdf is too small to read


def _node_count(g: graphviz.Digraph) -> int:
    data = getattr(g, "node_data", None)
    return len(data) if data else sum(1 for line in g.body if " [" in line and "->" not in line)


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is None:
        fmt = path.suffix[1:].lower() or "svg"
    if fmt not in FORMATS:
        raise ValueError(f"format={fmt!r}; expected one of {FORMATS}")
    return fmt


def write(g: graphviz.Digraph, path: str | os.PathLike[str], format: str | None = None, *,
          renderer: str | None = None, quiet: bool = False) -> Path:
    """Write the graph ``g`` to ``path`` as svg, png, pdf, dot or html (``format``, else the
    suffix of ``path``, else svg). Returns the path written: with no renderer, that is the
    ``.dot`` file, and one line on stdout says how to render it."""
    path = Path(path)
    fmt = _format_of(path, format)
    if path.suffix.lower() != f".{fmt}":
        path = path.with_name(path.name + f".{fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dot":
        path.write_text(g.source, encoding="utf-8")
        return path
    nodes = _node_count(g)
    if fmt in ("png", "pdf") and nodes > BIG:
        # Graphviz would scale the bitmap down until nothing can be read, and say so in its
        # own words; ours say what to do instead
        print(f"note: {path.name}: a {fmt} of {nodes} nodes is too large to read; write svg or "
              "html (zoom and find a node), or draw fewer with draw_graph(..., max_nodes=200)",
              file=sys.stderr)
    try:
        data = layout(g.source, "svg" if fmt == "html" else fmt, renderer)
    except RendererMissing as e:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(g.source, encoding="utf-8")
        if not quiet:
            print(f"{e}; wrote {dot_path} instead: render it with "
                  f"`dot -T{'svg' if fmt == 'html' else fmt} {dot_path} -o {path}`")
        return dot_path
    if fmt == "html":
        path.write_text(page(data.decode("utf-8"), getattr(g, "node_data", {}),
                             getattr(g, "title", None), clusters=getattr(g, "clusters", {}),
                             steps=getattr(g, "steps", []), notes=getattr(g, "notes", [])),
                        encoding="utf-8")
    else:
        path.write_bytes(data)
    return path
