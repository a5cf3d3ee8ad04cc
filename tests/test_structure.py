"""The package's import graph follows its layers (ARCHITECTURE.md): each module imports only
from its own layer or below, and no group of modules imports itself around a circle.

Every ``import`` counts, also one inside a function; only imports under ``if TYPE_CHECKING:``
(annotations, never run) are left out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_ce"

# the layers, bottom first; a module belongs to the first entry whose name is its name or a
# prefix of it followed by a dot
LAYERS: list[tuple[str, ...]] = [
    ("tinygrad_ce.dtypes", "tinygrad_ce.random", "tinygrad_ce.stable", "tinygrad_ce.unsupported",
     "tinygrad_ce.cuda", "tinygrad_ce.threads"),
    ("tinygrad_ce.engine", "tinygrad_ce.tensor"),
    ("tinygrad_ce.creation", "tinygrad_ce.gradcheck", "tinygrad_ce.autograd",
     "tinygrad_ce.nn.functional", "tinygrad_ce.nn.cross_entropy", "tinygrad_ce.nn.arguments"),
    ("tinygrad_ce.nn", "tinygrad_ce.optim"),
    ("tinygrad_ce.data", "tinygrad_ce.viz", "tinygrad_ce.testing"),
    ("tinygrad_ce", "tinygrad_ce.cli", "tinygrad_ce.commands", "tinygrad_ce.__main__"),
]


def layer_of(module: str) -> int:
    best, best_len = None, -1
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best_len:
                best, best_len = i, len(name)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS (and ARCHITECTURE.md)")
    return best


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(module: str) -> set[str]:
    """The package's modules that ``module`` imports (resolved to modules, not names)."""
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    todo: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while todo:  # iterative walk, skipping TYPE_CHECKING blocks
        node = todo.pop()
        if _type_checking_only(node):
            todo.extend(node.orelse)  # type: ignore[attr-defined]
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add(sub if sub in MODULES else base)
        todo.extend(ast.iter_child_nodes(node))
    return {m for m in found if m in MODULES and m != module}


GRAPH = {m: imports_of(m) for m in MODULES}


def test_every_module_has_a_layer() -> None:
    for m in MODULES:
        layer_of(m)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module: str) -> None:
    mine = layer_of(module)
    upward = sorted(m for m in GRAPH[module] if layer_of(m) > mine)
    assert not upward, f"{module} (layer {mine}) imports from above: " + ", ".join(
        f"{m} (layer {layer_of(m)})" for m in upward)


def test_the_engine_imports_no_tensor_at_run_time() -> None:
    assert layer_of("tinygrad_ce.engine") == 1
    assert all(layer_of(m) == 0 for m in GRAPH["tinygrad_ce.engine"])


def find_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other around a circle (Tarjan's strongly
    connected components, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    circles: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def test_no_import_circles() -> None:
    circles = find_circles(GRAPH)
    assert not circles, f"import circles: {circles}"


def test_the_checker_sees_an_upward_import_and_a_circle() -> None:
    # the tests above must be able to fail
    made_up = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert find_circles(made_up) == [["a", "b", "c"]]
    assert find_circles({"a": {"b"}, "b": set()}) == []
    assert layer_of("tinygrad_ce.engine") < layer_of("tinygrad_ce.viz.dot")
    assert "tinygrad_ce.engine" in GRAPH["tinygrad_ce.tensor"]
    assert "tinygrad_ce.viz.render" in GRAPH["tinygrad_ce.viz.dot"]
    with pytest.raises(AssertionError, match="in no layer"):
        layer_of("elsewhere.module")
