"""Each op's backward rule, read from where the op is defined: the one-line derivative
comment or docstring beside its code (``# d/dx e^x = e^x``), so the rule the pictures show
and the code cannot drift apart."""

from __future__ import annotations

import functools
import inspect
import re
from typing import Any

from tinygrad_ce.autograd.function import Function
from tinygrad_ce.tensor import Tensor

# ops whose method is named otherwise, or lives in nn.functional
_METHOD = {"getitem": "__getitem__", "cast": "to", "index_put": "__setitem__"}
_RULE = re.compile(r"(d\w*/d\w+|∂|backward is|its own inverse)")


def _texts(fn: Any) -> list[str]:
    """The docstring, then each block of comments, each joined into one line."""
    texts = [" ".join((inspect.getdoc(fn) or "").replace("``", "").split())]
    try:
        lines = inspect.getsource(fn).splitlines()
    except (OSError, TypeError):
        return texts
    block: list[str] = []
    for line in lines + [""]:
        code, _, comment = line.partition("#")
        if comment and '"' not in code and "'" not in code:
            block.append(comment.strip().replace("``", ""))
            if code.strip():  # a comment at the end of a line of code is a block of its own
                texts.append(" ".join(block))
                block = []
        elif block:
            texts.append(" ".join(block))
            block = []
    return [t for t in texts if t]


def _source_rule(fn: Any) -> str | None:
    fallback = None
    for text in _texts(fn):
        m = _RULE.search(text)
        if m:
            return text[m.start():].split(". ")[0].rstrip(".")
        if fallback is None and "gradient" in text:
            fallback = text.split(". ")[0].rstrip(".")
    return fallback


def _defined_at(op: str) -> list[Any]:
    """Where ``op`` is written: its backward function, its method, or its function."""
    from tinygrad_ce import tensor
    from tinygrad_ce.nn import functional

    found = [getattr(Tensor, f"_{op}_backward", None), getattr(Tensor, _METHOD.get(op, op), None),
             getattr(tensor, op, None), getattr(functional, op, None)]
    return [f.fget if isinstance(f, property) else f for f in found if callable(f)]


@functools.cache
def rule_of(op: str) -> str | None:
    """The backward rule of ``op`` as its code states it, or None when it states none."""
    for fn in _defined_at(op):
        rule = _source_rule(fn)
        if rule:
            return rule
    return None


def _function_class(name: str) -> Any:
    """The ``autograd.Function`` subclass called ``name`` (its op name), if there is one."""
    todo, found = list(Function.__subclasses__()), None
    while todo:  # iterative: subclasses of subclasses
        cls = todo.pop()
        if cls.__name__ == name:
            found = cls
        todo.extend(cls.__subclasses__())
    return found


def describe(t: Tensor) -> str | None:
    """The rule for the op that made ``t``; a custom ``autograd.Function`` shows the
    derivative its ``backward`` states, else the first line of its docstring."""
    if not t.op:
        return None
    rule = rule_of(t.op)
    if rule is None and t.fused:
        cls = _function_class(t.op)
        if cls is not None:  # a derivative its backward states, else its docstring's line
            rule = _source_rule(cls.backward) or next(
                (doc.strip().split("\n")[0] for doc in (inspect.getdoc(cls),
                                                        inspect.getdoc(cls.backward)) if doc),
                None)
    return rule
