"""The engine: grad mode, topological order, backward.

An op records its output with a tuple of parents and a backward closure
``backward(g, out) -> tuple of gradients (Tensor or None), one per parent``.
Everything else lives here, in one place: accumulation, unbroadcasting,
the shape check, the order of the walk and the release of saved data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from tinygrad_ce.tensor import Tensor

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    """Per-thread recording state: grad mode and the stack of module scopes."""

    enabled = True
    inference = False
    scope: tuple[Any, ...] = ()
    keep = False  # inside keep_graph(): backward keeps every value and gradient


state = _State()


class _Clock:
    """Dates in-place changes, across threads. ``now`` ticks at every in-place change: a
    version counter keeps the time of its memory's last change, a recorded op the time it
    was recorded. ``moved`` counts in-place ops recorded in the graph (history moves)."""

    now = 0
    moved = 0


clock = _Clock()


def _output(node: Tensor) -> tuple[Tensor, ...]:
    return (node,)


def _nothing(node: Tensor) -> tuple[Tensor, ...]:
    return ()


def _inputs_and_output(node: Tensor) -> tuple[Tensor, ...]:
    return node._parents + (node,)


def _each_saves_the_other(node: Tensor) -> tuple[Tensor, ...]:
    # a * b: d/da needs b, d/db needs a; each is saved only if the other needs a gradient
    a, b = node._parents
    if a._requires_grad:
        return (b, a) if b._requires_grad else (b,)
    return (a,) if b._requires_grad else ()


def _addmm_saves(node: Tensor) -> tuple[Tensor, ...]:
    # beta * self + alpha * a @ b: as a @ b, and self not at all
    _, a, b = node._parents
    return ((b,) if a._requires_grad else ()) + ((a,) if b._requires_grad else ())


def _div_saves(node: Tensor) -> tuple[Tensor, ...]:
    # a / b: d/da = 1/b needs b; d/db = -a/b^2 needs both
    a, b = node._parents
    return (b, a) if b._requires_grad else (b,) if a._requires_grad else ()


def _declared(node: Tensor) -> tuple[Tensor, ...]:
    # an op that saves tensors which are not its inputs (index tensors, a loss's target)
    # names them on its backward closure
    return getattr(node._backward, "saved", ())


def _pow_saves(node: Tensor) -> tuple[Tensor, ...]:
    # a ** e saves its inputs; its output too when the exponent needs a gradient
    parents = node._parents
    return parents + ((node,) if len(parents) > 1 and parents[1]._requires_grad else ())


# What each op saves for its backward, as torch's op does: backward refuses exactly when one
# of these changed in place after the op was recorded. Ops not listed save their inputs.
SAVED: dict[str, Callable[[Tensor], tuple[Tensor, ...]]] = {
    **dict.fromkeys(
        ("add", "sub", "neg", "sum", "mean", "reshape", "view", "flatten", "squeeze",
         "unsqueeze", "transpose", "permute", "t", "expand", "clone", "cast", "cat",
         "stack", "max", "min", "index_put", "copy_", "fill_", "zero_", "normal_", "uniform_",
         "scatter", "cumsum", "flip", "roll", "repeat", "tril", "triu", "diag", "sign",
         "floor", "ceil", "round", "trunc", "frac", "sort", "topk", "median_dim",
         "constant_pad_nd", "bernoulli", "normal"), _nothing),
    **dict.fromkeys(("exp", "sqrt", "tanh", "sigmoid", "relu", "softmax", "log_softmax",
                     "reciprocal", "expm1", "rsqrt"), _output),
    **dict.fromkeys(("prod", "norm"), _inputs_and_output),
    **dict.fromkeys(("logsumexp", "amax", "amin", "std"), _inputs_and_output),
    "getitem": _declared,
    "scatter_add": _declared,
    "masked_fill": _declared,
    "cross_entropy": _declared,
    "mul": _each_saves_the_other,
    "matmul": _each_saves_the_other,
    "addmm": _addmm_saves,
    "div": _div_saves,
    "pow": _pow_saves,
}


def saved_tensors(node: Tensor) -> tuple[Tensor, ...]:
    """The tensors the op that made ``node`` saved for its backward (torch's choice); an op
    not in SAVED saves its inputs and what it declared (``record(..., saved=)``). A backward
    that knows better says so itself (``backward.saves(node)``: a custom Function saves what
    its ``ctx.save_for_backward`` named)."""
    own = getattr(node._backward, "saves", None)
    if own is not None:
        return own(node)  # type: ignore[no-any-return]
    rule = SAVED.get(node.op)
    return node._parents + _declared(node) if rule is None else rule(node)


def _older(p: Tensor, time: int) -> Tensor:
    """``p`` as it was at ``time``: ops record a tensor, and it may have changed in place
    (and been recorded doing so) since."""
    history = p._history
    if history is None or history[-1][0] <= time:
        return p
    return next(old for moved_at, old in history if moved_at > time)


def inputs_of(node: Tensor) -> tuple[Tensor, ...]:
    """The nodes ``node`` was computed from, as they were when it was recorded."""
    parents = node._parents
    if not clock.moved or not parents:
        return parents
    time = node._recorded_at
    older = tuple(_older(p, time) for p in parents)
    if any(a is not b for a, b in zip(older, parents)):
        node._parents = older  # the edge leads to the old node from now on
    return older


def is_grad_enabled() -> bool:
    return state.enabled


def _wrap_generator(ctx: Callable[[], Any], gen_fn: F) -> F:
    """A generator function whose body runs under ``ctx()`` at every resumption, and only
    there: the caller's code between two ``next()`` keeps its own grad mode (torch's
    ``_DecoratorContextManager``)."""
    import functools

    @functools.wraps(gen_fn)
    def generator(*args: Any, **kwargs: Any) -> Any:
        gen = gen_fn(*args, **kwargs)
        try:
            with ctx():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with ctx():
                        gen.close()
                    raise
                except BaseException as e:  # thrown in by the caller: pass it on
                    with ctx():
                        response = gen.throw(e)
                else:
                    with ctx():
                        response = gen.send(request)
        except StopIteration as e:
            return e.value

    return generator  # type: ignore[return-value]


class _GradMode:
    """Context manager and decorator that sets grad mode for this thread: ``with m:``,
    ``@m`` on a function (a fresh ``m`` per call) or on a generator function (each
    resumption runs under it)."""

    mode = True

    def __init__(self) -> None:
        self.prev: list[bool] = []

    def __enter__(self) -> None:
        self.prev.append(state.enabled)
        state.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        state.enabled = self.prev.pop()

    def _fresh(self) -> _GradMode:
        return type(self)()

    def __call__(self, fn: F) -> F:
        import functools
        import inspect

        if inspect.isclass(fn):
            raise RuntimeError(f"{type(self).__name__} can only decorate functions, "
                               f"not the class {fn.__name__}")
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(self._fresh, fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class _NoParens(_GradMode):
    # ``@no_grad`` as well as ``@no_grad()``: called with the function, decorate it
    def __new__(cls, fn: Any = None) -> Any:
        if fn is None:
            return super().__new__(cls)
        return cls()(fn)


class no_grad(_NoParens):
    """Record nothing inside: ``with no_grad():``, ``@no_grad()`` or ``@no_grad``."""

    mode = False


class enable_grad(_NoParens):
    """Record again inside a ``no_grad`` block: ``with enable_grad():``, ``@enable_grad``."""

    mode = True


class inference_mode(_GradMode):
    """torch's ``inference_mode``: records nothing inside (``mode=False``: changes nothing),
    as ``with inference_mode():``, ``@inference_mode()`` or ``@inference_mode``. Tensors
    made inside are ordinary tensors here (torch would refuse to save them for backward
    later; see docs/bad_input.md)."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self.inference = bool(mode)
        self.was: list[bool] = []

    def __enter__(self) -> None:
        self.prev.append(state.enabled)
        self.was.append(state.inference)
        if self.inference:
            state.enabled, state.inference = False, True

    def __exit__(self, *exc: object) -> None:
        state.enabled, state.inference = self.prev.pop(), self.was.pop()

    def _fresh(self) -> _GradMode:
        return inference_mode(self.inference)


def is_inference_mode_enabled() -> bool:
    """True inside an ``inference_mode()`` block."""
    return state.inference


class set_grad_enabled(_GradMode):
    """Set grad mode for this thread. As in torch it takes effect at once, so a plain
    call ``set_grad_enabled(False)`` switches recording off until told otherwise; as a
    context manager it restores the mode it found; as a decorator (``@set_grad_enabled(m)``)
    it leaves the mode as it was and applies ``m`` inside each call."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self.mode = bool(mode)
        self._found = state.enabled
        state.enabled = self.mode

    def __enter__(self) -> None:
        # the mode to restore is the one found when this object was made, before it set its own
        self.prev.append(self._found if not self.prev else state.enabled)
        state.enabled = self.mode

    def _fresh(self) -> _GradMode:
        return set_grad_enabled(self.mode)

    def __call__(self, fn: F) -> F:
        state.enabled = self._found  # a decorator changes nothing until its function runs
        return super().__call__(fn)


@contextmanager
def scope(owner: Any) -> Iterator[None]:
    """Tag every node recorded inside with ``owner`` (an ``nn.Module`` call passes itself;
    the renderer draws each scope as a labelled cluster). Scopes nest: ``Tensor.scope``
    is the tuple of owners, outermost first."""
    prev = state.scope
    state.scope = prev + (owner,)
    try:
        yield
    finally:
        state.scope = prev


@contextmanager
def keep_graph() -> Iterator[None]:
    """Every ``backward()`` run inside keeps the whole graph, so it can be drawn afterwards
    with everything in it (as micrograd's graphs are): the values of the intermediates
    (``retain_graph=True``) and each intermediate's gradient in its ``.grad`` (as
    ``retain_grad()`` on every node would)::

        with keep_graph():
            loss.backward()
        draw_graph(loss)  # every tensor shows its value and its gradient
    """
    prev = state.keep
    state.keep = True
    try:
        yield
    finally:
        state.keep = prev


def grad_passes(t: Tensor) -> int:
    """How many backward passes added into ``t.grad`` since it was last None or zeroed by
    ``zero_grad``: more than one means ``.grad`` is a sum (several ``backward()`` calls, or
    several losses), not the gradient of one output."""
    return t.__dict__.get("_grad_passes", 0) if t.grad is not None else 0


def released_backward(g: Any, out: Any) -> Any:
    """Stands in for a backward closure whose saved data was released."""
    raise RuntimeError(
        f"Trying to backward through the graph a second time (op '{out.op}'): its saved data "
        "was freed by the first backward. Specify retain_graph=True on the first "
        "backward (or autograd.grad) if you need to backward through the graph again."
    )


def topological_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every node that requires grad and leads to ``roots``, parents before children.
    Iterative depth-first search: no recursion, whatever the depth."""
    order: list[Tensor] = []
    seen: set[Tensor] = set()
    stack: list[tuple[Tensor, bool]] = [(r, False) for r in reversed(roots) if r._requires_grad]
    moved = clock.moved
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for p in inputs_of(node) if moved else node._parents:
            if p._requires_grad and p not in seen:
                stack.append((p, False))
    return order


def broadcast_axes(g_shape: tuple[int, ...], shape: tuple[int, ...],
                   ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The axes of a gradient of shape ``g_shape`` that broadcasting from ``shape`` made: the
    leading ones, and the size-1 ones it stretched. Anything else is not a gradient for
    ``shape``: ValueError."""
    extra = len(g_shape) - len(shape)
    if extra < 0 or any(n != 1 and n != m for n, m in zip(shape, g_shape[extra:])):
        raise ValueError(f"a gradient of shape {g_shape} does not broadcast from {shape}")
    ones = tuple(i + extra for i, n in enumerate(shape) if n == 1 and g_shape[i + extra] != 1)
    return tuple(range(extra)), ones


def unbroadcast(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum ``g`` down to ``shape`` (leading axes away, then size-1 axes), the adjoint of
    broadcasting (``broadcast_axes``)."""
    leading, ones = broadcast_axes(g.shape, shape)
    if ones:
        g = g.sum(axis=leading + ones, keepdim=True)
        return g.reshape(shape) if leading else g
    return g.sum(axis=leading) if leading else g


class Before(list):  # type: ignore[type-arg]
    """The version counter of a node that stands for a tensor as it was before it changed in
    place, was detached in place, or had its history re-derived (``moved_at``). Ops recorded
    before that saw the tensor itself: they refuse if it was ``overwritten`` (or, saving it
    as an input, ``detached``), as torch's do. Ops recorded since see values kept aside (an
    in-place op saves the original), which nothing changes."""

    def __init__(self, version: int, overwritten: bool, detached: bool = False) -> None:
        super().__init__((version, -1))
        self.overwritten, self.detached = overwritten, detached
        self.moved_at = -1


def _check_saved(node: Tensor) -> None:
    """Refuse, with torch's message, when a tensor the op saved changed in place since."""
    for s in saved_tensors(node):
        vc = s._vc
        if vc is None:
            continue
        if type(vc) is Before:
            if node._recorded_at >= vc.moved_at:
                continue
            if not vc.overwritten:
                if vc.detached and s is not node:
                    raise RuntimeError(
                        "Trying to use a saved tensor that has been detached in-place, i.e. "
                        "with .detach_(). This is not supported, please use out-of-place "
                        "`.detach()` instead"
                    )
                continue
        elif vc[1] <= node._recorded_at:
            continue
        what = f"output 0 of {node.op}" if s is node or s._history else (
            "a leaf" if not s._parents else f"output 0 of {s.op}")
        raise RuntimeError(
            f"one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [{s.dtype} {list(s.shape)}], which is {what}, is at "
            f"version {s._version}; op '{node.op}' saved it before that. Hint: the in-place "
            f"change came after '{node.op}' was recorded; change a clone() instead, or "
            "recompute the forward after it."
        )


def backprop(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Tensor] | None = None,
) -> tuple[dict[int, tuple[Tensor, Tensor]], list[tuple[Tensor, Tensor]]]:
    """Run the backward pass from ``roots``. Returns ``{id: (node, gradient)}`` for each
    node in ``inputs``, or, when ``inputs`` is None, for each leaf that requires grad; and
    the gradients of the non-leaves that retain theirs. Nothing is written here: callers
    decide where the gradients go, after the whole pass succeeded, so a failing backward
    changes no state."""
    order = topological_order(roots)
    keep = state.keep
    if keep:
        retain_graph = True
    wanted = None if inputs is None else {id(t) for t in inputs}
    grads: dict[Tensor, Tensor] = {}
    for r, g in zip(roots, root_grads):
        if r.requires_grad:
            grads[r] = g if r not in grads else grads[r] + g
    result: dict[int, tuple[Tensor, Tensor]] = {}
    retained: list[tuple[Tensor, Tensor]] = []
    ran: list[Tensor] = []
    # only a node recorded before the last in-place change can have lost what it saved
    now, moved = clock.now, clock.moved
    was = state.enabled  # set_grad_enabled(create_graph), inline: once per backward
    state.enabled = create_graph
    try:
        for node in reversed(order):
            g = grads.pop(node, None)  # type: ignore[arg-type]
            if g is None:
                continue
            if node._hooks:
                g = run_hooks(node, g)
            if wanted is None:
                if not node._parents:
                    result[id(node)] = (node, g)
                    continue
                if node._retains_grad or keep:
                    retained.append((node, g))
            elif id(node) in wanted:
                result[id(node)] = (node, g)
            if not node._parents:
                continue
            parents = inputs_of(node) if moved else node._parents
            if node._recorded_at < now:
                _check_saved(node)
            parent_grads = node._backward(g, node)  # type: ignore[misc]
            ran.append(node)
            for i, (p, pg) in enumerate(zip(parents, parent_grads)):
                if pg is None or not p._requires_grad:
                    continue
                if pg._data.shape != p._data.shape:
                    try:
                        pg = unbroadcast(pg, p.shape)
                    except ValueError:
                        raise RuntimeError(
                            f"Function '{node.op}' returned an invalid gradient at index {i} - "
                            f"got {list(pg.shape)} but expected shape compatible with "
                            f"{list(p.shape)}"
                        ) from None
                if pg._data.dtype != p._data.dtype:  # a float32 input of a float64 op gets float32
                    pg = pg.to(p.dtype)
                prev = grads.get(p)
                grads[p] = pg if prev is None else prev + pg
    finally:
        state.enabled = was
    if not retain_graph:
        release(ran)
    return result, retained


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` unregisters the hook (also on leaving a
    ``with`` block)."""

    _next_id = 0

    def __init__(self, hooks: dict[int, Any], hook: Any, prepend: bool = False) -> None:
        RemovableHandle._next_id += 1
        self.id = RemovableHandle._next_id
        self._hooks = hooks
        hooks[self.id] = hook
        if prepend:  # first in line: the hooks dict is an OrderedDict
            hooks.move_to_end(self.id, last=False)  # type: ignore[attr-defined]

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def run_hooks(node: Tensor, g: Tensor) -> Tensor:
    """``node``'s tensor hooks, in the order registered, on its gradient ``g``: a hook that
    returns a tensor replaces the gradient for the hooks after it and for what follows."""
    for hook in list(node._hooks.values()):  # type: ignore[union-attr]
        r = hook(g)
        if r is not None:
            if tuple(r.shape) != tuple(g.shape):
                raise RuntimeError(
                    f"hook {getattr(hook, '__name__', hook)!r} has changed the size of value: "
                    f"it returned shape {tuple(r.shape)} for a gradient of shape {g.shape}")
            g = r
    return g


# an array this small costs less than the node that would stand in for it: it stays
SMALL = 64


def release(ran: list[Tensor]) -> None:
    """Free what a backward used: each node's closure (and what it saved), and the values
    of every intermediate larger than ``SMALL`` bytes, so that an output kept after
    ``backward()`` (``losses.append(loss)``) holds the graph's structure (ops, names,
    shapes, dtypes), not its arrays. Leaves that require grad stay; tensors the user still
    holds keep their values: the graph points at a released stand-in instead."""
    husks: dict[Tensor, Tensor] = {}
    small, gone = SMALL, released_backward  # locals: this loop runs once per node
    for node in ran:
        node._backward = gone
        parents = node._parents
        kept = None
        for i, p in enumerate(parents):
            if p._data.nbytes > small and (p._parents or not p._requires_grad):
                if kept is None:
                    kept = list(parents)
                h = husks.get(p)
                if h is None:
                    h = husks[p] = p._released()
                kept[i] = h
        if kept is not None:
            node._parents = tuple(kept)
            h = husks.get(node)
            if h is not None:
                h._parents = node._parents


def _owner(a: np.ndarray) -> int:
    return id(a if a.base is None else a.base)


def accumulate(leaf: Tensor, g: Tensor, create_graph: bool) -> None:
    """``leaf.grad += g`` as torch does it: in place into the gradient the engine stored
    (``g0 = x.grad`` held before sees the sum), out of place under ``create_graph``."""
    _count_pass(leaf)
    if leaf.grad is None:
        if not create_graph:
            g = g.data  # a plain tensor out of the graph, sharing the memory
            if not g._data.flags.writeable:  # a broadcast (sum's gradient): give it memory
                g._data = g._data.copy()
        leaf.grad = g
    elif create_graph:
        leaf.grad = leaf.grad + g
    else:
        acc = leaf.grad
        if acc._data.flags.writeable and acc.shape == g.shape:
            np.add(acc._data, g._data, out=acc._data, casting="unsafe")
            acc._modified()
        else:
            acc._data = acc._data + g._data


def _count_pass(t: Tensor) -> None:
    # read by grad_passes(); called before .grad is written
    t.__dict__["_grad_passes"] = 1 if t.grad is None else grad_passes(t) + 1


def _own(g: Tensor, owners: set[int], create_graph: bool) -> Tensor:
    """``g``, or a copy of it when its memory already went to another gradient (an add
    hands the same gradient to both inputs): no two ``.grad`` share memory."""
    owner = _owner(g._data)
    if owner in owners and not create_graph:
        return type(g)(g._data.copy())
    owners.add(owner)
    return g


def backward(
    root: Tensor,
    root_grad: Tensor,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> None:
    """``root.backward(gradient)``: accumulate d(root)/d(leaf), seeded with ``root_grad``,
    into every leaf's ``.grad``."""
    if retain_graph is None:
        retain_graph = create_graph
    result, retained = backprop([root], [root_grad], retain_graph, create_graph, inputs)
    owners: set[int] = {_owner(root_grad._data)}
    for node, g in result.values():
        accumulate(node, _own(g, owners, create_graph), create_graph)
    for node, g in retained:
        g = _own(g, owners, create_graph)
        _count_pass(node)
        node.grad = g if node.grad is None else node.grad + g


def zero_grad(t: Tensor, set_to_none: bool = True) -> None:
    """Forget ``t``'s gradient as torch's ``zero_grad`` does: ``None``, or (``set_to_none=
    False``) zeros written into the gradient itself, so that one held elsewhere sees them."""
    g = t.grad
    if g is None:
        return
    t.__dict__["_grad_passes"] = 0
    if set_to_none:
        t.grad = None
        return
    if g._parents:
        g.detach_()
    else:
        g.requires_grad_(False)
    g.zero_()
