"""The engine: grad mode, topological order, backward, grad.

An op records its output with a tuple of parents and a backward closure
``backward(g, out) -> tuple of gradients (Tensor or None), one per parent``.
Everything else lives here, in one place: accumulation, unbroadcasting,
the shape check, the order of the walk and the release of saved data.
"""

from __future__ import annotations

import sys
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
    scope: tuple[Any, ...] = ()


state = _State()


class _Clock:
    """Counts in-place changes (``t[i] = v``, ``zero_()``, ...), across threads. A tensor
    keeps the time of its last change; a recorded op the time it was recorded."""

    now = 0


clock = _Clock()


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


def freed(g: Any, out: Any) -> Any:
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
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(r, False) for r in reversed(roots) if r._requires_grad]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for p in node._parents:
            if p._requires_grad and id(p) not in seen:
                stack.append((p, False))
    return order


def unbroadcast(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum ``g`` down to ``shape``: leading axes away, then size-1 axes with keepdim."""
    extra = g.ndim - len(shape)
    if extra < 0:
        return g.reshape(shape)
    ones = tuple(i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    if ones:
        g = g.sum(axis=tuple(range(extra)) + ones, keepdim=True)
    elif extra:  # leading axes only (a bias): summed away, they leave the shape as it should be
        g = g.sum(axis=tuple(range(extra)))
    return g.reshape(shape) if g.shape != shape else g


def backprop(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Tensor] | None = None,
) -> dict[int, tuple[Tensor, Tensor]]:
    """Run the backward pass from ``roots``. Returns ``{id: (node, gradient)}`` for each
    node in ``inputs``, or, when ``inputs`` is None, for each leaf that requires grad.
    Nothing is written here: callers decide where the gradients go, after the whole
    pass succeeded, so a failing backward changes no state."""
    order = topological_order(roots)
    wanted = None if inputs is None else {id(t) for t in inputs}
    grads: dict[int, Tensor] = {}
    for r, g in zip(roots, root_grads):
        if r.requires_grad:
            grads[id(r)] = g if id(r) not in grads else grads[id(r)] + g
    result: dict[int, tuple[Tensor, Tensor]] = {}
    retained: list[tuple[Tensor, Tensor]] = []
    ran: list[Tensor] = []
    check_versions = clock.now > 0
    with set_grad_enabled(create_graph):
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if wanted is None:
                if not node._parents:
                    result[id(node)] = (node, g)
                    continue
                if node._retains_grad:
                    retained.append((node, g))
            elif id(node) in wanted:
                result[id(node)] = (node, g)
            if not node._parents:
                continue
            if check_versions:
                for p in node._parents:
                    if p._version > node._clock:
                        raise RuntimeError(
                            f"one of the variables needed for gradient computation has been "
                            f"modified by an inplace operation: a tensor of shape {p.shape} "
                            f"was changed after op '{node.op}' used it"
                        )
            parent_grads = node._backward(g, node)
            ran.append(node)
            for p, pg in zip(node._parents, parent_grads):
                if pg is None or not p._requires_grad:
                    continue
                if pg._data.shape != p._data.shape:
                    pg = unbroadcast(pg, p.shape)
                    if pg.shape != p.shape:
                        raise RuntimeError(
                            f"backward of '{node.op}' returned a gradient of shape {pg.shape} "
                            f"for an input of shape {p.shape}"
                        )
                if pg._data.dtype != p._data.dtype:  # a float32 input of a float64 op gets float32
                    pg = pg.to(p.dtype)
                prev = grads.get(id(p))
                grads[id(p)] = pg if prev is None else prev + pg
    if not retain_graph:
        for node in ran:
            node._backward = freed
    for node, g in retained:
        node.grad = g if node.grad is None else node.grad + g
    return result


def _base_refs(a: np.ndarray) -> int:
    return sys.getrefcount(a.base)


# what _base_refs reads for a view whose base nobody else holds (the count is the
# interpreter's business, so it is measured rather than assumed)
_SOLE_VIEW = _base_refs(np.zeros(1).reshape(1, 1))


def _shared(a: np.ndarray) -> bool:
    """Could writing into ``a`` change an array someone else holds? Yes if it is read-only
    or a view whose base is held elsewhere too. A view of a fresh temporary (a Linear's
    weight gradient comes back transposed) is not shared, and copying it would cost a
    pass over every weight on every step."""
    return not a.flags.writeable or (a.base is not None and _base_refs(a) > _SOLE_VIEW)


def accumulate(leaf: Tensor, g: Tensor, create_graph: bool) -> None:
    """``leaf.grad += g`` without ever writing into an array someone else holds."""
    if leaf.grad is None:
        if not create_graph:
            g = g.detach()
            if _shared(g._data):
                g._data = g._data.copy()
        leaf.grad = g
    elif create_graph:
        leaf.grad = leaf.grad + g
    else:
        leaf.grad = type(g)(leaf.grad._data + g._data)  # g: a plain Tensor, even for a Parameter


def backward(
    root: Tensor,
    gradient: Tensor | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> None:
    """``root.backward()``: accumulate d(root)/d(leaf) into every leaf's ``.grad``."""
    if not root.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    root_grad = _root_grad(root, gradient, "gradient")
    if retain_graph is None:
        retain_graph = create_graph
    result = backprop([root], [root_grad], retain_graph, create_graph, inputs)
    seen_arrays: set[int] = {id(root_grad._data)}
    for node, g in result.values():
        if id(g._data) in seen_arrays and not create_graph:
            g = type(g)(g._data.copy())
        seen_arrays.add(id(g._data))
        accumulate(node, g, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs) as a tuple, like ``torch.autograd.grad``; ``.grad`` is untouched."""
    from tinygrad_ce.tensor import Tensor

    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        gos: list[Tensor | None] = [None] * len(outs)
    elif isinstance(grad_outputs, Tensor):
        gos = [grad_outputs]
    else:
        gos = list(grad_outputs)
    if len(gos) != len(outs):
        raise ValueError(
            f"grad_outputs has {len(gos)} entries but outputs has {len(outs)}: expected one each"
        )
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"inputs[{i}] does not require grad")
    for i, o in enumerate(outs):
        if not o.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
    root_grads = [_root_grad(o, g, f"grad_outputs[{i}]") for i, (o, g) in enumerate(zip(outs, gos))]
    if retain_graph is None:
        retain_graph = create_graph
    result = backprop(outs, root_grads, retain_graph, create_graph, ins)
    grads: list[Tensor | None] = []
    for i, t in enumerate(ins):
        g = result.get(id(t), (t, None))[1]
        if g is None and not allow_unused:
            raise RuntimeError(
                f"inputs[{i}] was not used in the graph of outputs; "
                "set allow_unused=True if this is the desired behavior"
            )
        grads.append(g)
    return tuple(grads)


def _root_grad(root: Tensor, gradient: Any, name: str) -> Tensor:
    from tinygrad_ce.tensor import Tensor

    if gradient is None:
        if root._data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; got an output "
                f"of shape {root.shape}: pass {name}= with that shape"
            )
        return Tensor(np.ones(root._data.shape, dtype=root._data.dtype))
    g = gradient if isinstance(gradient, Tensor) else Tensor(np.asarray(gradient, dtype=root.dtype))
    if g.shape != root.shape:
        raise RuntimeError(
            f"Mismatch in shape: {name} has a shape of {g.shape} and output has a shape "
            f"of {root.shape}"
        )
    return g
