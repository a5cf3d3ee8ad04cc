"""torch's ``torch.autograd.Function``: your own op, with your own forward and backward.

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):               # runs with recording off
            result = x.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):    # d/dx e^x = e^x
            (result,) = ctx.saved_tensors
            return grad_output * result

    y = Exp.apply(x)

The call is one node of the graph, named after the class and drawn as a fused op. A backward
written with Tensor ops is differentiable again (double backward); one that computes in
numpy may return arrays, and a second derivative through it raises an error that says so.

Several outputs: each is a node of its own, and all hang from one hidden node (``Name
outputs``) whose value is a zero-memory placeholder of all their elements end to end. Each
output passes its gradient to its slice of the hidden node, the engine sums them there, and
the hidden node's backward calls ``backward`` once with every output's gradient, as torch does.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_ce.engine import is_grad_enabled, no_grad
from tinygrad_ce.tensor import Tensor, cat, record

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` a Function's ``forward`` fills and its ``backward`` reads: saved tensors,
    flags, and any attribute you set on it (``ctx.axis = 1``)."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self.to_save: tuple[Tensor | None, ...] = ()
        self._non_differentiable: tuple[Tensor, ...] = ()
        self._saved_now: tuple[Tensor | None, ...] | None = None

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors for ``backward`` (read them as ``ctx.saved_tensors``). Inputs and
        outputs come back connected to the graph, so a backward written with Tensor ops is
        differentiable; changing one in place before backward makes backward refuse."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save tensors, but argument {i} is of type "
                    f"{type(t).__name__}; keep other values as attributes (ctx.value = ...)"
                )
        self.to_save = tensors

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        if self._saved_now is None:
            raise RuntimeError(
                "saved_tensors can only be read inside backward; in forward keep the "
                "tensors themselves"
            )
        return self._saved_now

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        """These outputs get no gradient (an index, a mask): they do not require grad, and
        backward receives zeros for them (None after ``set_materialize_grads(False)``)."""
        for i, t in enumerate(outputs):
            if not isinstance(t, Tensor):
                raise TypeError(f"mark_non_differentiable takes output tensors; argument {i} "
                                f"is of type {type(t).__name__}")
        self._non_differentiable += outputs

    def set_materialize_grads(self, value: bool) -> None:
        """With ``False``, ``backward`` receives None (not zeros) for outputs whose gradient
        is zero because they were not used."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors: Tensor) -> None:
        raise RuntimeError(
            "mark_dirty: a Function that changes its inputs in place is not supported; "
            "compute into a new tensor in forward and return it"
        )


def once_differentiable(fn: Callable[..., Any]) -> Callable[..., Any]:
    """torch's decorator for a ``backward`` that is not differentiable itself: it runs with
    recording off, and a second derivative through it raises an error."""

    @functools.wraps(fn)
    def wrapper(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        with no_grad():
            return fn(ctx, *grad_outputs)

    wrapper.once_differentiable = True  # type: ignore[attr-defined]
    return wrapper


def _not_differentiable(message: str) -> Callable[[Tensor, Tensor], tuple[Tensor, ...]]:
    def backward(g: Tensor, out: Tensor) -> tuple[Tensor, ...]:
        raise RuntimeError(message)
    return backward


def _arg_names(forward: Callable[..., Any], n: int, ctx_first: bool) -> list[str]:
    """The names of forward's first ``n`` positional arguments, for error messages."""
    try:
        params = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    params = params[1:] if ctx_first else params
    names: list[str] = []
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            break
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    return [names[i] if i < len(names) else f"args[{i}]" for i in range(n)]


def _fits(g: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """Does a gradient of shape ``g`` sum down to ``shape`` (torch's ``is_expandable_to``)?"""
    extra = len(g) - len(shape)
    return extra >= 0 and all(n in (1, m) for n, m in zip(shape, g[extra:]))


class _Call:
    """One call of a Function: what its backward needs, kept without its output nodes (no
    reference cycle); the engine hands the output node to the backward as ``out``."""

    def __init__(self, cls: type, ctx: FunctionCtx, args: tuple[Any, ...],
                 outputs: list[Any], differentiable: list[int]) -> None:
        self.cls, self.name, self.ctx, self.args = cls, cls.__name__, ctx, args
        self.parents = tuple(a for a in args if isinstance(a, Tensor))
        # each forward output: (shape, dtype) of a Tensor, None for other values
        self.meta = [(o.shape, o.dtype) if isinstance(o, Tensor) else None for o in outputs]
        self.differentiable = differentiable
        # where each saved tensor comes from: ("output", k) is a differentiable output
        self.saved_plan: list[tuple[str, Any]] = []
        where = {id(outputs[j]): k for k, j in enumerate(differentiable)}
        for t in ctx.to_save:
            if t is None:
                self.saved_plan.append(("value", None))
            elif any(t is a for a in args):
                self.saved_plan.append(("value", t))
            elif id(t) in where:
                self.saved_plan.append(("output", where[id(t)]))
            else:  # an intermediate of forward: a constant for backward
                self.saved_plan.append(("value", t))
        self.saved_values = tuple(t for kind, t in self.saved_plan if kind == "value"
                                  and t is not None)
        self.saved_outputs = {k for kind, k in self.saved_plan if kind == "output"}
        # several outputs: the saved ones, held here (a cycle through the hidden node that
        # backward's release breaks); a single output is the node the engine hands over
        self.outputs: dict[int, Tensor] = {}
        self.received: set[int] = set()

    # ----- the engine's view ------------------------------------------------------------
    def saves(self, node: Tensor) -> tuple[Tensor, ...]:
        """What the version check watches: the saved inputs and intermediates, and the
        saved outputs (a single output is ``node`` itself)."""
        if len(self.differentiable) == 1 and self.saved_outputs:
            return self.saved_values + (node,)
        return self.saved_values + tuple(self.outputs.values())

    def output(self, node: Tensor, k: int) -> Tensor:
        """Differentiable output ``k`` as ``backward`` sees it, connected to the graph."""
        return node if len(self.differentiable) == 1 else self.outputs[k]

    def slot(self, k: int) -> Callable[[Tensor, Tensor], tuple[Tensor]]:
        """The backward of output ``k`` of several: its gradient, placed in its slice of the
        hidden node's (zeros elsewhere); the hidden node's backward reads them all."""
        sizes = [int(np.prod(self.meta[j][0])) for j in self.differentiable]  # type: ignore[index]
        lo, n, total = sum(sizes[:k]), sizes[k], sum(sizes)
        dtype = np.result_type(*(self.meta[j][1] for j in self.differentiable))  # type: ignore[index]
        received = self.received

        def backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
            received.add(k)
            parts = [g.reshape(-1).to(dtype)]
            if lo:
                parts.insert(0, Tensor(np.zeros(lo, dtype)))
            if total - lo - n:
                parts.append(Tensor(np.zeros(total - lo - n, dtype)))
            return (cat(parts) if len(parts) > 1 else parts[0],)
        return backward

    def __call__(self, g: Tensor, out: Tensor) -> tuple[Tensor | None, ...]:
        ctx = self.ctx
        grads = self.grads_for_outputs(g)
        saved: list[Tensor | None] = []
        for kind, v in self.saved_plan:
            saved.append(self.output(out, v) if kind == "output" else v)
        backward = self.cls.backward  # type: ignore[attr-defined]
        ctx._saved_now = tuple(saved)
        try:
            result = backward(ctx, *grads)
        finally:
            ctx._saved_now = None
        return self.check(result, getattr(backward, "once_differentiable", False), grads)

    def grads_for_outputs(self, g: Tensor) -> list[Tensor | None]:
        """One gradient per forward output: the engine's, zeros where none came (None
        after ``set_materialize_grads(False)``), None for values that are not tensors."""
        materialize = self.ctx.materialize_grads
        received = set(self.received)
        self.received.clear()
        grads: list[Tensor | None] = []
        offset = 0
        single = len(self.differentiable) == 1
        for j, m in enumerate(self.meta):
            if m is None:
                grads.append(None)
                continue
            shape, dtype = m
            k = self.differentiable.index(j) if j in self.differentiable else -1
            if k >= 0 and single:
                grads.append(g)
                continue
            if k >= 0:
                n = int(np.prod(shape))
                if k in received or materialize:
                    grads.append(g[offset:offset + n].reshape(shape).to(dtype))
                else:
                    grads.append(None)
                offset += n
                continue
            grads.append(Tensor(np.zeros(shape, dtype)) if materialize else None)
        return grads

    def input_name(self, i: int) -> str:
        """``input i (its name in forward)``, for error messages."""
        new_style = self.cls._setup_context_style()  # type: ignore[attr-defined]
        forward = self.cls.forward  # type: ignore[attr-defined]
        return f"input {i} ({_arg_names(forward, len(self.args), not new_style)[i]})"

    def check(self, result: Any, once: bool, grads: list[Tensor | None]
              ) -> tuple[Tensor | None, ...]:
        """The user's gradients, checked (one per forward argument, a gradient only for a
        tensor, of a shape that sums to the input's), as one per parent for the engine."""
        name, args = self.name, self.args
        result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        n = len(args)
        if len(result) < n or any(r is not None for r in result[n:]):
            raise RuntimeError(
                f"function {name}.backward returned an incorrect number of gradients "
                f"(expected {n}, got {len(result)}): one per argument of forward, None for "
                "the ones that need no gradient"
            )
        out: list[Tensor | None] = []
        left_graph: list[bool] = []  # per gradient: computed in numpy or with recording off
        for i, (a, r) in enumerate(zip(args, result)):
            if r is None:
                if isinstance(a, Tensor):
                    out.append(None)
                    left_graph.append(False)
                continue
            if not isinstance(a, Tensor):
                raise RuntimeError(
                    f"function {name}.backward returned a gradient different than None for "
                    f"{self.input_name(i)}, but the corresponding forward input was not a Tensor "
                    f"(it is a {type(a).__name__}): return None there"
                )
            from_numpy = isinstance(r, np.ndarray)
            if from_numpy:
                r = Tensor(r)
            elif not isinstance(r, Tensor):
                raise RuntimeError(
                    f"function {name}.backward returned a {type(r).__name__} for "
                    f"{self.input_name(i)}: "
                    "expected a Tensor, a numpy array or None"
                )
            if not _fits(r.shape, a.shape):
                raise RuntimeError(
                    f"Function {name} returned an invalid gradient for {self.input_name(i)} - got "
                    f"{list(r.shape)} but expected shape compatible with {list(a.shape)}"
                )
            out.append(r if a.requires_grad else None)
            left_graph.append(once or from_numpy)
        if any(left_graph) and is_grad_enabled():
            # a gradient that left the graph (numpy, or no_grad): its own derivative is unknown
            why = (f"trying to differentiate twice a function that was marked with "
                   f"@once_differentiable ({name}.backward)" if once else
                   f"{name}.backward returned numpy arrays, which are not differentiable: a "
                   f"second derivative through {name} can't be computed. Write "
                   f"{name}.backward with Tensor operations to differentiate it twice")
            sources = tuple(p for p in self.parents if p.requires_grad) + tuple(
                t for t in grads if t is not None and t.requires_grad)
            raiser = _not_differentiable(why)
            out = [record(r.numpy(), sources, f"{name}Backward", raiser) if r is not None and left
                   else r for r, left in zip(out, left_graph)]
        return tuple(out)


class Function:
    """Base class of your own ops, as ``torch.autograd.Function``: define the static
    methods ``forward(ctx, *args, **kwargs)`` and ``backward(ctx, *grad_outputs)`` (one
    gradient per argument of forward, None where there is none), then call ``apply``.
    ``forward`` runs with recording off and returns a Tensor or a tuple of them (other
    values pass through). torch's newer style, ``forward(*args)`` with a separate
    ``setup_context(ctx, inputs, output)``, works too."""

    @staticmethod
    def forward(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "You must implement the forward function for your custom autograd.Function.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD.")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple[Any, ...], output: Any) -> Any:
        raise NotImplementedError("setup_context is not implemented.")

    @classmethod
    def _setup_context_style(cls) -> bool:
        return cls.setup_context is not Function.setup_context

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            f"{type(self).__name__} is called through its class: {type(self).__name__}.apply"
            "(...), with static forward and backward (torch's legacy style, an instance "
            "called like a function, is not supported)"
        )

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        name = cls.__name__
        for method in ("forward", "backward"):
            if not isinstance(inspect.getattr_static(cls, method), staticmethod):
                raise RuntimeError(
                    f"{name}.{method} must be a @staticmethod (torch's new-style autograd "
                    "Function): define it as @staticmethod def forward(ctx, ...)"
                )
        new_style = cls._setup_context_style()
        if kwargs:  # as torch: arguments given by name count as inputs, in forward's order
            try:
                bound = inspect.signature(cls.forward).bind(
                    *args, **kwargs) if new_style else inspect.signature(
                    cls.forward).bind(None, *args, **kwargs)
            except TypeError as e:
                raise TypeError(f"{name}.apply: {e}") from None
            args = bound.args if new_style else bound.args[1:]
            kwargs = bound.kwargs
        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        with no_grad():
            if new_style:
                result = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, result)
            else:
                result = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(result, tuple)
        outputs = [result] if single else list(result)
        for j, o in enumerate(outputs):
            if isinstance(o, np.ndarray):
                raise TypeError(
                    f"{name}.forward returned a numpy array as output {j}: return "
                    "Tensor(array) so that the engine can record it"
                )
        marked = {id(t) for t in ctx._non_differentiable}
        for t in ctx._non_differentiable:
            if not any(t is o for o in outputs):
                raise ValueError(f"{name}: mark_non_differentiable takes outputs of forward; "
                                 f"a tensor of shape {t.shape} is not one")
        tracked = is_grad_enabled() and any(ctx.needs_input_grad)
        differentiable = [j for j, o in enumerate(outputs) if tracked and isinstance(o, Tensor)
                          and o.dtype.kind == "f" and id(o) not in marked]
        call = _Call(cls, ctx, args, outputs, differentiable)
        inputs = [a.numpy() for a in call.parents]
        # an output that is an input (or a view of one) gets memory of its own: the engine's
        # version counters could not see a write through it (torch makes it a view, and
        # refuses such a write)
        data: list[Any] = [o.numpy().copy() if isinstance(o, Tensor) and any(
            np.may_share_memory(o.numpy(), a) for a in inputs) else
            o.numpy() if isinstance(o, Tensor) else None for o in outputs]
        # in the graph only if differentiable
        made: list[Any] = [record(d, (), name, None) if isinstance(o, Tensor)  # type: ignore[arg-type]
                           else o for o, d in zip(outputs, data)]
        parents = call.parents
        if len(differentiable) == 1:
            (j,) = differentiable
            made[j] = record(data[j], parents, name, call, fused=True,
                             saved=call.saved_values)
        elif differentiable:
            sizes = [outputs[j].numel() for j in differentiable]
            dtype = np.result_type(*(outputs[j].dtype for j in differentiable))
            placeholder = np.broadcast_to(np.zeros((), dtype), (sum(sizes),))  # no memory
            hidden = record(placeholder, parents, name, call, fused=True,
                            saved=call.saved_values)
            hidden.name = f"{name} outputs"
            for k, j in enumerate(differentiable):
                made[j] = record(data[j], (hidden,), f"{name}[{j}]", call.slot(k))
                if k in call.saved_outputs:
                    call.outputs[k] = made[j]
        return made[0] if single else tuple(made)
