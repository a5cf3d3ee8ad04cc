"""The Tensor and its differentiable ops.

Each op is one method: compute the output with numpy, then hand the engine the
backward closure right below it. A closure gets the upstream gradient ``g`` and the
op's output ``out`` and returns one gradient per parent (or None). It is written with
Tensor operations, so under ``create_graph=True`` the gradient is a graph too.
Closures capture inputs and plain arrays, never their own output: no reference cycles.
"""

from __future__ import annotations

import builtins
import warnings
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Union

import numpy as np

from tinygrad_ce import engine
from tinygrad_ce.dtypes import (
    DEFAULT_FLOAT,
    bool_,
    float16,
    float32,
    float64,
    infer,
    int8,
    int16,
    int32,
    int64,
    is_scalar,
    promote_types,
    result_type,
    scalar_array,
    scalar_result,
    torch_name,
    uint8,
)
from tinygrad_ce.engine import clock, state
from tinygrad_ce.random import generator
from tinygrad_ce.stable import log_softmax, shifted

__all__ = ["Tensor", "record", "where", "cat", "stack", "float16", "float32", "float64",
           "uint8", "int8", "int16", "int32", "int64", "bool_"]

Scalar = Union[int, float, bool, np.number, np.bool_]  # noqa: UP007
TensorLike = Union["Tensor", Scalar, np.ndarray, Sequence[Any]]  # noqa: UP007
Backward = Callable[["Tensor", "Tensor"], tuple[Union["Tensor", None], ...]]

MaxResult = namedtuple("MaxResult", ["values", "indices"])

_KINDS = "fiub"  # float, signed and unsigned int, bool: what a Tensor may hold
_NATIVE = frozenset((float32, float64))  # dtypes numpy computes in as torch does


def _as_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"{name}={dtype!r} is not a dtype; expected e.g. tinygrad_ce.float32"
        ) from None
    if dt.kind not in _KINDS:
        raise TypeError(f"{name}={dtype!r} is not supported; expected a float, int or bool dtype")
    return dt


def _array(data: Any, dtype: Any = None) -> np.ndarray:
    """numpy array for ``data`` with torch's dtype: Python floats become float32 (the
    default dtype), ints int64; numpy arrays and scalars keep their dtype, also inside lists
    (``[np.float64(1)]`` is float64); mixed kinds promote (``[1, 2.5]`` is float32)."""
    if type(data) is np.ndarray and dtype is None and data.dtype.kind in _KINDS:
        return data  # what np.asarray would give back, without the checks below
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        dt = _as_dtype(dtype)
        try:
            return np.asarray(data, dtype=dt)
        except (TypeError, ValueError) as e:
            raise TypeError(f"data={_short(data)} cannot be converted to {dt}: {e}") from None
    try:
        arr = np.asarray(data)
    except (TypeError, ValueError) as e:
        raise TypeError(f"data={_short(data)} is not numeric array data: {e}") from None
    if arr.dtype.kind not in _KINDS:
        raise TypeError(
            f"data={_short(data)} has dtype {arr.dtype}; expected numbers (float, int or bool)"
        )
    if isinstance(data, (list, tuple)) and arr.size:
        dt = infer(data)
        if dt is not None and dt != arr.dtype:
            arr = arr.astype(dt)
    elif arr.dtype == float64 and not isinstance(data, (np.ndarray, np.floating)):
        arr = arr.astype(DEFAULT_FLOAT)
    return arr


def _short(x: Any) -> str:
    s = repr(x)
    return s if len(s) < 60 else s[:57] + "..."


def _dim(dim: Any, ndim: int, name: str = "dim") -> int:
    """One dimension of an ``ndim``-d tensor, negatives counted from the end, checked as
    torch checks it (a 0-d tensor takes 0 and -1)."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{name}={dim!r}: expected an int")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return int(dim) % n


def _dims(dim: Any, ndim: int, name: str = "dim") -> tuple[int, ...]:
    """Normalise ``dim`` (None, int or sequence, negatives allowed) to sorted positive axes."""
    if dim is None:
        return tuple(range(ndim))
    if type(dim) is int and -ndim <= dim < ndim:  # the common case, checked at once
        return (dim % ndim,)
    if not isinstance(dim, (int, np.integer, tuple, list)):
        raise TypeError(f"{name}={dim!r}: expected an int or a tuple of ints")
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise TypeError(f"{name}={dim!r}: expected an int or a tuple of ints")
        out.append(_dim(d, ndim, name))
    if len(set(out)) != len(out):
        raise RuntimeError(f"{name}={dim!r} names a dimension twice")
    return tuple(sorted(out)) if ndim else ()


def _dim_keepdim(dim: Any, axis: Any, keepdim: bool, keepdims: bool | None) -> tuple[Any, bool]:
    """torch's ``dim``/``keepdim`` with numpy's ``axis``/``keepdims`` accepted too."""
    if axis is not None:
        if dim is not None:
            raise TypeError("pass dim or axis, not both")
        dim = axis
    elif isinstance(dim, (tuple, list)) and not dim:
        dim = None  # torch's dim=() reduces every dimension (numpy's axis=() reduces none)
    return dim, keepdim if keepdims is None else keepdims


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Tensor:
    """A numpy array that records the ops applied to it, for reverse-mode autodiff.

    ``data`` is the ndarray; ``grad`` the accumulated gradient (a Tensor or None);
    ``op`` the name of the op that made it ('' for a leaf); ``parents`` its inputs.
    """

    # what every op sets lives in slots; what only some tensors ever set (a name, a version
    # counter, a base, a history) has a class-level default and, when set, the instance's
    # own dict: an op's output is made without storing those at all
    __slots__ = ("_data", "grad", "op", "scope", "_requires_grad", "_parents", "_backward",
                 "_recorded_at", "__dict__")
    __array_priority__ = 1000  # numpy defers to our reflected operators
    name: str | None = None
    _retains_grad = False
    _vc: list[int] | None = None  # [version, time of the last in-place change], shared by views
    _base: Tensor | None = None  # the tensor a view's memory belongs to
    _history: list[tuple[int, Tensor]] | None = None  # (time, old node) per in-place move
    fused = False  # made by a fused op: one node for a composite function (see ``record``)

    def __init__(self, data: TensorLike, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        self._data = _array(data, dtype)
        self.grad: Tensor | None = None
        self.op = ""
        if name is not None:
            self.name = name
        self.scope: tuple[Any, ...] = ()
        self._requires_grad = False
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Backward | None = None
        if requires_grad:
            self.requires_grad = True

    # ----- attributes -----------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """The values as a tensor outside the graph that shares this one's memory, as in
        torch: writes through it (``p.data -= lr * p.grad``, ``p.data.zero_()``) change this
        tensor, and are neither recorded nor dated. ``p.data = other`` rebinds this tensor to
        ``other``'s memory (its shape and dtype may change), unrecorded."""
        t = _new(Tensor)
        _init(t, self._data)
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(
                f"data must be a Tensor, got {type(value).__name__}; "
                "wrap an array as tinygrad_ce.tensor(array) (or write into it: t.data[...] = array)"
            )
        self._data = value._data

    @property
    def requires_grad(self) -> bool:
        self._fresh()
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self._data.dtype.kind != "f":
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients; got dtype "
                f"{self._data.dtype} (class targets stay integer: convert with .float() first)"
            )
        if not value and self._parents:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables; use .detach()"
            )
        self._requires_grad = bool(value)

    @property
    def released(self) -> bool:
        """True for what a graph keeps of an intermediate after ``backward()``: its op, name,
        shape and dtype, not its values."""
        return False

    def _released(self) -> Tensor:
        h = _new(Released)
        _init(h, _placeholder(self._data.dtype, self._data.shape))
        h.op, h.name, h.scope, h.fused = self.op, self.name, self.scope, self.fused
        h._requires_grad, h._parents = self._requires_grad, self._parents
        h._backward = engine.released_backward if self._parents else None
        if self._parents:
            h._recorded_at = self._recorded_at
        return h

    @property
    def parents(self) -> tuple[Tensor, ...]:
        """The inputs of the op that made this tensor (empty for a leaf)."""
        self._fresh()
        return self._parents

    @property
    def is_leaf(self) -> bool:
        self._fresh()
        return not self._parents

    def _fresh(self) -> None:
        # a view whose base changed in place in the graph answers for its new history
        if clock.moved and self._base is not None and _stale(self):
            _refresh(self)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self._data.shape
        if self.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self._data.shape[_dims(dim, self.ndim)[0]]

    def numpy(self) -> np.ndarray:
        """The values as an ndarray sharing this tensor's memory, as torch's ``numpy()``."""
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # np.asarray(t) shares memory with t; np.array(t) copies, as with torch
        if copy:
            return self._data.astype(dtype if dtype is not None else self._data.dtype, copy=True)
        return self._data if dtype is None else self._data.astype(dtype, copy=False)

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} values is ambiguous"
            )
        return bool(self._data)

    def __format__(self, spec: str) -> str:
        # a one-element tensor formats as its number (f"{loss:.4f}"), as in torch
        return format(self.item(), spec) if self.ndim == 0 else object.__format__(self, spec)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self._data, precision=4, separator=", ", prefix="tensor(",
                               threshold=100, edgeitems=3)
        extra = ""
        if self.dtype not in (float32, int64, bool_):
            extra += f", dtype={self.dtype}"
        if self.name:
            extra += f", name={self.name!r}"
        if self._parents and self._requires_grad:
            extra += f", op={self.op!r}"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ----- graph bookkeeping ----------------------------------------------------------
    def detach(self) -> Tensor:
        """The same memory, cut from the graph: writes through either are seen by both, and
        date both (the version counter is shared, as in torch)."""
        t = _new(Tensor)
        _init(t, self._data)
        t._vc = self._counter()
        return t

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place; ops recorded before keep their inputs."""
        if self._base is not None and self._parents:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        if self._parents:
            clock.now += 1
            self._move(_snapshot(self, detached=True))
        self._parents, self._backward, self.op = (), None, ""
        self._requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> Tensor:
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._parents:
            self._retains_grad = True
        return self

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def backward(self, gradient: TensorLike | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Sequence[Tensor] | None = None) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad`` (torch's semantics)."""
        if not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn")
        engine.backward(self, root_gradient(self, gradient, "gradient"), retain_graph,
                        create_graph, inputs)

    # ----- in place: torch's model --------------------------------------------------------
    # A view shares its base's memory and version counter ``_vc = [version, time of the last
    # change]``; every in-place write bumps it. A recorded op knows when it was recorded
    # (``_recorded_at``), and backward refuses when a tensor the op saved changed after that
    # (engine.SAVED says which). Under grad mode, an in-place op on a tensor in the graph
    # is recorded like any op: the tensor's history moves one node down (``_history``), and
    # ops recorded before keep the old node as their input.

    @property
    def _version(self) -> int:
        """How many in-place changes this memory has seen (shared with views), as torch's."""
        return 0 if self._vc is None else self._vc[0]

    def _is_view(self) -> bool:
        return self._base is not None

    def _counter(self) -> list[int]:
        vc = self._vc
        if vc is None:
            vc = self._vc = [0, 0]
        return vc

    def _modified(self) -> None:
        """Date an in-place change of this tensor's memory (its views see it too)."""
        vc = self._counter()
        clock.now += 1
        vc[0] += 1
        vc[1] = clock.now

    def write_(self, values: TensorLike, assign: bool = False) -> Tensor:
        """Replace this tensor's values outside the graph and date the change: the one way
        for optimizers, checkpoint loading and your own code. Its views see the change, and
        backward refuses if an op saved this tensor before it (as after torch's in-place
        ops). ``values`` are written into the tensor's memory, cast to its dtype; they may
        be that memory itself, already written (``p.write_(np.subtract(a, u, out=a))`` with
        ``a = p.numpy()``), and then only the date is taken. ``assign=True`` rebinds the
        tensor to ``values`` instead (shape and dtype may change: ``p.data = values``)."""
        arr = values._data if isinstance(values, Tensor) else np.asarray(values)
        if assign:
            self._data = arr
        elif arr is not self._data:
            if arr.shape != self.shape:
                raise ValueError(
                    f"values of shape {arr.shape} do not fit a tensor of shape {self.shape}; "
                    "pass assign=True to rebind the tensor to them")
            if not self._data.flags.writeable:
                self._data = arr.astype(self.dtype)
            else:
                np.copyto(self._data, arr, casting="unsafe")
        self._modified()
        return self

    def _records_inplace(self, *operands: Any, written: np.ndarray | None = None) -> bool:
        """Check that an in-place op may run here (torch's rules), before anything changes;
        True when it has to be recorded in the graph."""
        if not self._data.flags.writeable:
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers "
                "to a single memory location (an expand()ed tensor). Please clone() the tensor "
                "before performing the operation."
            )
        for o in operands:
            if isinstance(o, Tensor) and o is not self and _partial_overlap(
                    o._data, self._data if written is None else written):
                raise RuntimeError(
                    "unsupported operation: some elements of the input tensor and the "
                    "written-to tensor refer to a single memory location. Please clone() the "
                    "tensor before performing the operation."
                )
        if not state.enabled:
            return False
        base = self._base
        if self._requires_grad and not self._parents:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. "
                "Update it under `with tinygrad_ce.no_grad():` or through `.data` "
                "(p.data -= lr * p.grad)."
            )
        if base is not None and not base._parents and (base._requires_grad or self._requires_grad):
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation. Update it under `with tinygrad_ce.no_grad():`."
            )
        if base is not None and _stale(self):
            _refresh(self)
        return self._requires_grad or any(
            isinstance(o, Tensor) and o._requires_grad for o in operands)

    def _move(self, old: Tensor) -> None:
        """Make ``old`` this tensor's history: ops recorded from now on see the new node."""
        global _moved
        self._history = (self._history or []) + [(clock.now, old)]
        old._vc.moved_at = clock.now  # type: ignore[union-attr]
        clock.moved += 1
        _moved = True

    def _record_inplace(self, new: Callable[..., Tensor], *operands: Any) -> Tensor:
        """Write ``new(old)``, ops of the old values, into this tensor; record it in place.
        Through a view, the base's history moves too: its new values are the old ones with
        the view's part replaced (torch's CopySlices). An operand that reads this tensor's
        memory (``y.mul_(y)``, ``y.mul_(y.detach())``) enters as it was, and an op that saves
        it refuses to backward, as torch's does: the write changed it."""
        old = _snapshot(self, overwritten=True)
        ops = tuple(_alias(old if o is self else o) if isinstance(o, Tensor) and (
            o is self or (o._vc is not None and o._vc is self._vc)) else o for o in operands)
        base = self._base
        if base is not None:
            positions = _positions(base._data, self._data)
            base_old = _snapshot(base, overwritten=True)
            r = new(base_old.reshape(-1)[positions], *ops)
        else:
            r = new(old, *ops)
        if r.shape != self.shape:
            raise RuntimeError(
                f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                f"{list(r.shape)}"
            )
        _check_cast(r.dtype, self.dtype)
        np.copyto(self._data, r._data, casting="unsafe")
        self._modified()
        if base is not None:
            b = _index_put(base_old.reshape(-1), positions, r).reshape(base.shape)
            base._move(base_old)
            base._parents, base._backward, base.op = b._parents, b._backward, b.op
            base._requires_grad = True
            base._recorded_at = clock.now
            base.fused = False
        self._move(old)
        self._parents, self._backward, self.op, self.scope = r._parents, r._backward, r.op, r.scope
        if self.fused:
            self.fused = False
        self._requires_grad = True
        self._recorded_at = clock.now
        if any(type(o) is Tensor and type(o._vc) is engine.Before for o in ops):
            clock.now += 1  # it read the memory it wrote: backward checks what it saved
        return self

    def _ufunc_(self, fn: Callable[..., Any], other: Any) -> Tensor:
        """``self = fn(self, other)`` in this tensor's memory, unrecorded."""
        b = _value(other)
        result = np.result_type(self._data, b)
        if result.kind in "iub" and fn is np.true_divide or (
                isinstance(b, float) and self.dtype.kind in "iub"):
            result = float32  # torch's default float dtype
        _check_cast(result, self.dtype)
        shape = np.broadcast_shapes(self.shape, np.shape(b))
        if shape != self.shape:
            raise RuntimeError(
                f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                f"{list(shape)}"
            )
        fn(self._data, b, out=self._data, casting="unsafe")
        self._modified()
        return self

    def add_(self, other: TensorLike, *args: Any, alpha: Scalar = 1) -> Tensor:
        """``self += alpha * other`` in place (``add_(alpha, other)`` too, torch's old
        overload: ``p.data.add_(-lr, p.grad.data)``)."""
        if args:
            alpha, other = _old_overload("add_", other, args)
        if self._records_inplace(other):
            return self._record_inplace(lambda old, o: old.add(_scaled(o, alpha)), other)
        return self._ufunc_(np.add, other if alpha == 1 else _value(other) * alpha)

    def sub_(self, other: TensorLike, *args: Any, alpha: Scalar = 1) -> Tensor:
        """``self -= alpha * other`` in place (``sub_(alpha, other)`` too, torch's old
        overload)."""
        if args:
            alpha, other = _old_overload("sub_", other, args)
        if self._records_inplace(other):
            return self._record_inplace(lambda old, o: old.sub(_scaled(o, alpha)), other)
        return self._ufunc_(np.subtract, other if alpha == 1 else _value(other) * alpha)

    def mul_(self, other: TensorLike) -> Tensor:
        if self._records_inplace(other):
            return self._record_inplace(lambda old, o: old.mul(o), other)
        return self._ufunc_(np.multiply, other)

    def div_(self, other: TensorLike) -> Tensor:
        if self._records_inplace(other):
            return self._record_inplace(lambda old, o: old.div(o), other)
        return self._ufunc_(np.true_divide, other)

    def pow_(self, exponent: TensorLike) -> Tensor:
        if self._records_inplace(exponent):
            return self._record_inplace(lambda old, o: old.pow(o), exponent)
        return self._ufunc_(np.power, exponent)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        if self._records_inplace(min, max):
            return self._record_inplace(lambda old, lo, hi: old.clamp(lo, hi), min, max)
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of min and max must not be None")
        np.clip(self._data, _value(min), _value(max), out=self._data)
        self._modified()
        return self

    clip_ = clamp_

    def relu_(self) -> Tensor:
        if self._records_inplace():
            return self._record_inplace(lambda old: old.relu())
        np.maximum(self._data, 0, out=self._data)
        self._modified()
        return self

    def _fill_with(self, values: np.ndarray, op: str) -> Tensor:
        """Overwrite every element (zero_, fill_, normal_, ...): no gradient reaches the
        old values, as in torch."""
        if self._records_inplace():
            return self._record_inplace(lambda old: record(
                np.broadcast_to(values, old.shape).copy(), (old,), op,
                lambda g, out: (Tensor(np.zeros_like(g._data)),)))
        np.copyto(self._data, values, casting="unsafe")
        self._modified()
        return self

    def zero_(self) -> Tensor:
        return self._fill_with(np.zeros((), self.dtype), "zero_")

    def fill_(self, value: Scalar | Tensor) -> Tensor:
        if isinstance(value, Tensor) and value.ndim:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions.")
        return self._fill_with(np.asarray(_value(value)).astype(self.dtype), "fill_")

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        values = generator().normal(mean, std, self.shape).astype(self.dtype)
        return self._fill_with(values, "normal_")

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        if a > b:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                               f"from={a} > to={b}")
        return self._fill_with(generator().uniform(a, b, self.shape).astype(self.dtype),
                               "uniform_")

    def copy_(self, src: TensorLike) -> Tensor:
        """Copy ``src`` (broadcast, cast to this dtype) into this tensor's memory."""
        s = src if isinstance(src, Tensor) else Tensor(src)
        if np.broadcast_shapes(s.shape, self.shape) != self.shape:
            raise RuntimeError(
                f"copy_(): src of shape {s.shape} cannot be broadcast to {self.shape}"
            )
        if self._records_inplace(s):
            dt = self.dtype
            return self._record_inplace(lambda old, src: record(
                np.broadcast_to(src._data, old.shape).astype(dt), (old, src), "copy_",
                lambda g, out: (Tensor(np.zeros_like(g._data)), g)), s)
        np.copyto(self._data, np.broadcast_to(s._data, self.shape), casting="unsafe")
        self._modified()
        return self

    def __setitem__(self, index: Any, value: TensorLike) -> None:
        # writes into this tensor's memory (its views see it); recorded in the graph when
        # this tensor or the value requires grad (y[0] = 0 keeps y's history)
        idx = _index(index)
        written = self._data[idx] if _is_basic(idx) and isinstance(value, Tensor) else None
        if self._records_inplace(value, written=written):
            v = value if isinstance(value, Tensor) else self._operand(value)
            self._record_inplace(lambda old, value: _index_put(old, idx, value), v)
            return
        self._data[idx] = value._data if isinstance(value, Tensor) else value
        self._modified()

    def __iadd__(self, other: TensorLike) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: TensorLike) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: TensorLike) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: TensorLike) -> Tensor:
        return self.div_(other)

    def __ipow__(self, other: TensorLike) -> Tensor:
        return self.pow_(other)

    def __imatmul__(self, other: TensorLike) -> Tensor:
        raise RuntimeError("In-place matrix multiplication is not supported: write x = x @ y")

    def __iand__(self, other: TensorLike) -> Tensor:
        self._records_inplace()
        return self._ufunc_(np.bitwise_and, other)

    def __ior__(self, other: TensorLike) -> Tensor:
        self._records_inplace()
        return self._ufunc_(np.bitwise_or, other)

    # ----- dtype ------------------------------------------------------------------------
    def to(self, dtype: Any) -> Tensor:
        """Cast; d/dx cast(x) = cast back."""
        dt = _as_dtype(dtype)
        if dt == self.dtype:
            return self
        src = self.dtype
        return record(self._data.astype(dt), (self,), "cast",
                     lambda g, out: (g.to(src),)) if dt.kind == "f" else self.detach()._cast(dt)

    def _cast(self, dt: np.dtype) -> Tensor:
        self._data = self._data.astype(dt)
        return self

    def float(self) -> Tensor:
        return self.to(float32)

    def double(self) -> Tensor:
        return self.to(float64)

    def long(self) -> Tensor:
        return self.to(int64)

    def int(self) -> Tensor:
        return self.to(int32)

    def bool(self) -> Tensor:
        return self.to(bool_)

    def type(self, dtype: Any) -> Tensor:
        return self.to(dtype)

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    # ----- elementwise binary ops (numpy broadcasting; the engine unbroadcasts) --------
    # Operands of one dtype take the fast path: numpy computes as torch does there (float16
    # too: numpy's float16 arithmetic rounds the float32 result once, as torch's CPU
    # kernels do). Anything else goes through ``_promote``: torch's result dtype.
    def _operand(self, other: TensorLike) -> Tensor:
        """``other`` as a tensor. A Python or numpy number becomes a 0-d tensor of the
        dtype torch computes in (the tensor's, unless the number's kind is higher:
        ``int32 tensor * 2.5`` computes in float32; a float16 tensor's numbers are float32,
        so ``_promote`` can round them, or not, as torch does); arrays and lists become
        tensors."""
        if isinstance(other, Tensor):
            return other
        dtype = self._data.dtype
        kind = type(other)
        if (dtype is float32 or dtype is float64) and (kind is float or kind is int):
            arr = np.asarray(other, dtype=dtype)
        elif kind is bool:  # stays bool: ``x - True`` is an error, as in torch
            arr = np.asarray(other)
        elif is_scalar(other):
            arr = scalar_array(other, float32 if dtype == float16 else scalar_result(dtype, other))
        else:
            arr = _array(other)
        t = _new(Tensor)
        _init(t, arr)
        return t

    # The four arithmetic ops are the most frequent nodes of any graph, so their backward
    # is a shared function right below them that reads the inputs from ``out.parents``,
    # not a fresh closure: a closure costs a function object and a cell per captured
    # input, all of which the cyclic garbage collector walks again and again while a long
    # graph is alive (a 100,000-op chain builds and backpropagates about 1.5x faster).
    def add(self, other: TensorLike, *, alpha: Scalar | None = None) -> Tensor:
        """``self + alpha * other``."""
        if alpha is not None and alpha != 1:
            other = _scaled(other, alpha)
        b = other if isinstance(other, Tensor) else self._operand(other)
        x, y = self._data, b._data
        if x.dtype is not y.dtype:
            x, y, dt = _promote(self, b, other, "add")
            return record(_rounded(x + y, dt), (self, b), "add", _ADD_BACKWARD)
        return record(x + y, (self, b), "add", _ADD_BACKWARD)

    @staticmethod
    def _add_backward(g: Tensor, out: Tensor) -> tuple[Tensor, Tensor]:
        # d/da (a + b) = 1, d/db = 1
        return g, g

    def sub(self, other: TensorLike, *, alpha: Scalar | None = None) -> Tensor:
        """``self - alpha * other``."""
        if alpha is not None and alpha != 1:
            other = _scaled(other, alpha)
        b = other if isinstance(other, Tensor) else self._operand(other)
        x, y = self._data, b._data
        if x.dtype is not y.dtype or x.dtype is bool_:
            x, y, dt = _promote(self, b, other, "sub")
            return record(_rounded(x - y, dt), (self, b), "sub", _SUB_BACKWARD)
        return record(x - y, (self, b), "sub", _SUB_BACKWARD)

    @staticmethod
    def _sub_backward(g: Tensor, out: Tensor) -> tuple[Tensor, Tensor | None]:
        # d/da (a - b) = 1, d/db = -1
        return g, -g if out._parents[1]._requires_grad else None

    def mul(self, other: TensorLike) -> Tensor:
        b = other if isinstance(other, Tensor) else self._operand(other)
        x, y = self._data, b._data
        if x.dtype is not y.dtype:
            x, y, dt = _promote(self, b, other, "mul")
            return record(_rounded(x * y, dt), (self, b), "mul", _MUL_BACKWARD)
        return record(x * y, (self, b), "mul", _MUL_BACKWARD)

    @staticmethod
    def _mul_backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, Tensor | None]:
        # d/da (a * b) = b, d/db = a
        a, b = out._parents
        return g * b if a._requires_grad else None, g * a if b._requires_grad else None

    def div(self, other: TensorLike) -> Tensor:
        # true division: integers divide as float32 (torch's default dtype)
        b = other if isinstance(other, Tensor) else self._operand(other)
        x, y = self._data, b._data
        dt = x.dtype
        if dt is not y.dtype or (dt is not float32 and dt is not float64 and dt is not float16):
            x, y, dt = _promote(self, b, other, "div")
            return record(_rounded(x / y, dt), (self, b), "div", _DIV_BACKWARD)
        return record(x / y, (self, b), "div", _DIV_BACKWARD)

    @staticmethod
    def _div_backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, Tensor | None]:
        # d/da (a / b) = 1 / b, d/db = -a / b^2 (from the inputs, which is what torch saves)
        a, b = out._parents
        return g / b if a._requires_grad else None, -g * a / (b * b) if b._requires_grad else None

    def reciprocal(self) -> Tensor:
        # d/dx 1/x = -1/x^2 = -out^2; integers give float32
        x = self._data
        data = np.reciprocal(x) if x.dtype.kind == "f" else _in_float(np.reciprocal, x)
        return record(data, (self,), "reciprocal", lambda g, out: (-g * out * out,))

    def pow(self, exponent: TensorLike) -> Tensor:
        # d/da a^e = e a^(e-1) (0 where e == 0), d/de a^e = a^e log a (0 where a == 0, e >= 0)
        if is_scalar(exponent):
            return self._pow_scalar(exponent)
        a = self
        e = exponent if isinstance(exponent, Tensor) else self._operand(exponent)
        x, y = a._data, e._data
        dt = x.dtype
        if dt is not y.dtype or (dt is not float32 and dt is not float64):
            x, y, dt = _promote(a, e, exponent, "pow")
        with np.errstate(divide="ignore", invalid="ignore"):
            data = _rounded(x ** y, dt)

        def backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, Tensor | None]:
            ga = ge = None
            if a._requires_grad:
                ga = g * (e * a ** (e - 1))
                zero_e = e._data == 0
                if zero_e.any():
                    ga = _masked(ga, ~zero_e)
            if e._requires_grad:
                ge = g * _masked(out * a.log(), ~((a._data == 0) & (e._data >= 0)))
            return ga, ge

        return record(data, (a, e), "pow", backward)

    def _pow_scalar(self, e: Scalar) -> Tensor:
        # a number as exponent, as torch's pow(Tensor, Scalar): the gradient of x ** 0 is
        # zeros with no graph, so every higher derivative of x ** 0 (and of x ** 1, ...) is 0,
        # not 0 * inf at x = 0
        x, ec, dt = self._data, e, self._data.dtype
        if dt not in _NATIVE:
            dt = scalar_result(dt, e)
            if dt.kind != "f" and e < 0:
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            # float16 is computed in float32, the exponent rounded to float16 first (torch's)
            cdt = float32 if dt == float16 else dt
            x, ec = x.astype(cdt, copy=False), scalar_array(e, dt).astype(cdt)
        with np.errstate(divide="ignore", invalid="ignore"):
            data = _rounded(x ** ec, dt)
        return record(data, (self,), "pow", lambda g, out: (_pow_scalar_backward(g, self, e),))

    def maximum(self, other: TensorLike) -> Tensor:
        # the larger input gets the gradient, ties split it in half; where either is NaN,
        # both get it (torch's rule)
        return self._larger_or_smaller(other, "maximum", np.maximum, np.less)

    def minimum(self, other: TensorLike) -> Tensor:
        # the smaller input gets the gradient, likewise
        return self._larger_or_smaller(other, "minimum", np.minimum, np.greater)

    def _larger_or_smaller(self, other: TensorLike, op: str, pick: Callable[..., np.ndarray],
              loses: Callable[..., np.ndarray]) -> Tensor:
        b = other if isinstance(other, Tensor) else self._operand(other)
        x, y = self._data, b._data
        if x.dtype is not y.dtype:
            x, y, dt = _promote(self, b, other, op)
            data = _rounded(pick(x, y), dt)
        else:
            data = pick(x, y)
        return record(data, (self, b), op, lambda g, out: _extreme_backward(g, self, b, loses))

    __add__ = add
    __sub__ = sub
    __mul__ = mul
    __truediv__ = div
    __pow__ = pow

    def __radd__(self, other: TensorLike) -> Tensor:
        return self.add(other)

    def _reflected(self, other: TensorLike) -> Tensor:
        """A number on the left of ``-`` or ``**``, as a 0-d tensor of torch's result dtype."""
        if is_scalar(other) and type(other) is not bool:
            return _constant(scalar_array(other, scalar_result(self._data.dtype, other)))
        return self._operand(other)

    def __rsub__(self, other: TensorLike) -> Tensor:
        return self._reflected(other).sub(self)

    def __rmul__(self, other: TensorLike) -> Tensor:
        return self.mul(other)

    def __rtruediv__(self, other: TensorLike) -> Tensor:
        # other / self as torch computes it: (1 / self) * other, two roundings, one node
        b = self._operand(other)
        x = self._data
        r = np.reciprocal(x) if x.dtype.kind == "f" else _in_float(np.reciprocal, x)
        if type(other) is float and r.dtype is b._data.dtype:
            data = r * other  # a Python float stays in the tensor's dtype (numpy's NEP 50)
        else:
            data = _constant(r).mul(other)._data
        return record(data, (b, self), "div", _DIV_BACKWARD)

    def __rpow__(self, other: TensorLike) -> Tensor:
        return self._reflected(other).pow(self)

    def __matmul__(self, other: TensorLike) -> Tensor:
        return self.matmul(other)

    def __rmatmul__(self, other: TensorLike) -> Tensor:
        return self._operand(other).matmul(self)

    # ----- comparisons: not differentiable, bool results ------------------------------
    def _compare(self, other: TensorLike, fn: Callable[..., np.ndarray], op: str = "") -> Tensor:
        b = other if isinstance(other, Tensor) else self._operand(other)
        x, y = self._data, b._data
        if x.dtype is not y.dtype:
            x, y, _ = _promote(self, b, other, op)
        return _constant(np.asarray(fn(x, y)))

    def __lt__(self, other: TensorLike) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.less)

    def __le__(self, other: TensorLike) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.less_equal)

    def __gt__(self, other: TensorLike) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.greater)

    def __ge__(self, other: TensorLike) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.greater_equal)

    def __eq__(self, other: TensorLike) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: TensorLike) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    lt, le, gt, ge, eq, ne = __lt__, __le__, __gt__, __ge__, __eq__, __ne__

    def __invert__(self) -> Tensor:
        if self.dtype.kind == "f":
            raise TypeError(
                "~ (operator.invert) is only implemented on integer and Boolean-type tensors")
        return Tensor(~self._data)

    def _bitwise(self, other: TensorLike, fn: Callable[..., np.ndarray], name: str) -> Tensor:
        b = other if isinstance(other, Tensor) else self._operand(other)
        dt = result_type(self, other if is_scalar(other) else b)
        if dt.kind == "f":
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{torch_name(dt)}\'')
        return Tensor(fn(self._data.astype(dt, copy=False), b._data.astype(dt, copy=False)))

    def __and__(self, other: TensorLike) -> Tensor:
        return self._bitwise(other, np.bitwise_and, "bitwise_and")

    def __or__(self, other: TensorLike) -> Tensor:
        return self._bitwise(other, np.bitwise_or, "bitwise_or")

    def __xor__(self, other: TensorLike) -> Tensor:
        return self._bitwise(other, np.bitwise_xor, "bitwise_xor")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    # ----- elementwise unary ops --------------------------------------------------------
    # Integer and bool tensors give float32 (torch's default dtype); float16 is computed in
    # float32 and rounded once (``_in_float``).
    def neg(self) -> Tensor:
        # d/dx -x = -1
        try:
            data = -self._data
        except TypeError:  # numpy refuses bools too, in other words
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            ) from None
        return record(data, (self,), "neg", _neg_backward)

    __neg__ = neg

    def exp(self) -> Tensor:
        # d/dx e^x = e^x
        x = self._data
        data = np.exp(x) if x.dtype is float32 or x.dtype is float64 else _in_float(np.exp, x)
        return record(data, (self,), "exp", _exp_backward)

    def log(self) -> Tensor:
        # d/dx log x = 1 / x
        x = self._data
        with np.errstate(divide="ignore", invalid="ignore"):
            data = np.log(x) if x.dtype is float32 or x.dtype is float64 else _in_float(np.log, x)
        return record(data, (self,), "log", lambda g, out: (g / self,))

    def sqrt(self) -> Tensor:
        # d/dx sqrt x = 1 / (2 sqrt x)
        x = self._data
        with np.errstate(invalid="ignore"):
            data = np.sqrt(x) if x.dtype is float32 or x.dtype is float64 else _in_float(np.sqrt, x)
        return record(data, (self,), "sqrt", _sqrt_backward)

    def square(self) -> Tensor:
        # x * x; a bool squares to int64, as torch's pow(x, 2)
        return self * self if self.dtype.kind != "b" else self.pow(2)

    def abs(self) -> Tensor:
        # d/dx |x| = sgn(x): 0 at 0 and at NaN, as torch's
        x = self._data
        if x.dtype.kind == "b":
            raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool'")
        return record(np.abs(x), (self,), "abs", lambda g, out: (g * _sgn(self._data),))

    __abs__ = abs

    def tanh(self) -> Tensor:
        # d/dx tanh x = 1 - tanh^2 x
        x = self._data
        data = np.tanh(x) if x.dtype is float32 or x.dtype is float64 else _in_float(np.tanh, x)
        return record(data, (self,), "tanh", _tanh_backward)

    def sigmoid(self) -> Tensor:
        # d/dx s(x) = s(x) (1 - s(x))
        x = self._data
        data = _sigmoid(x) if x.dtype is float32 or x.dtype is float64 else _in_float(_sigmoid, x)
        return record(data, (self,), "sigmoid", _sigmoid_backward)

    def relu(self) -> Tensor:
        # d/dx relu x = 1 where relu x > 0, else 0; a NaN passes the gradient (torch's
        # threshold_backward). max(x, 0), not x * mask: -inf * 0 would be nan
        x = self._data
        if x.dtype.kind == "b":
            raise RuntimeError("Boolean inputs not supported for relu")
        return record(np.maximum(x, 0), (self,), "relu", _relu_backward)

    def clamp(self, min: TensorLike | None = None, max: TensorLike | None = None) -> Tensor:
        """min(max(x, min), max); the bounds may be numbers or tensors (broadcast). The
        gradient goes to x where min <= x <= max (bounds included), else to the bound that
        was taken: to max wherever max < min, as torch's."""
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of min and max must not be None")
        x = self._data
        dt = x.dtype
        lo_t, hi_t = min, max
        if dt.kind == "f" and (min is None or is_scalar(min)) and (max is None or is_scalar(max)):
            # numbers as bounds: they take the float tensor's dtype
            lo = None if min is None else np.asarray(min, dt)
            hi = None if max is None else np.asarray(max, dt)
            bounds: tuple[Tensor, ...] = ()
        else:
            lo_t, hi_t = (b if b is None or is_scalar(b) else _as_tensor(b) for b in (min, max))
            dt = result_type(self, lo_t, hi_t)
            x = x.astype(dt, copy=False)
            lo, hi = (None if b is None else b._data.astype(dt, copy=False)
                      if isinstance(b, Tensor) else scalar_array(b, dt) for b in (lo_t, hi_t))
            bounds = tuple(b for b in (lo_t, hi_t) if isinstance(b, Tensor))
        data = x if lo is None else np.maximum(x, lo)
        data = data if hi is None else np.minimum(data, hi)
        has_lo, has_hi = isinstance(lo_t, Tensor), isinstance(hi_t, Tensor)

        def backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, ...]:
            if lo is not None and hi is not None:
                keep = ((x >= lo) & (x <= hi), (x < lo) & (lo < hi), (x > hi) | (hi < lo))
            elif lo is not None:
                keep = (x >= lo, x < lo, None)
            else:
                keep = (x <= hi, None, x > hi)
            grads = [_masked(g, keep[0]) if self._requires_grad else None]
            for has, k, b in ((has_lo, keep[1], lo_t), (has_hi, keep[2], hi_t)):
                if has:
                    grads.append(_masked(g, k) if b._requires_grad else None)
            return tuple(grads)

        return record(np.asarray(data), (self,) + bounds, "clamp", backward)

    clip = clamp

    def where(self, condition: TensorLike, other: TensorLike) -> Tensor:
        return where(condition, self, other)

    # ----- reductions -------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,
            keepdims: bool | None = None) -> Tensor:
        """d/dx_i sum(x) = 1: the gradient is broadcast back over the summed axes. Integers
        and bools sum to int64 (torch's); ``dtype`` casts the input first."""
        dim, keepdim = _dim_keepdim(dim, axis, keepdim, keepdims)
        axes = _dims(dim, self.ndim)
        shape, kshape = self.shape, _kept_shape(self.shape, axes)
        x = self._data
        if dtype is not None or (x.dtype is not float32 and x.dtype is not float64):
            x, dt = _reduction_input(x, dtype, "sum")
            data = _rounded(x.sum(axis=axes, keepdims=keepdim), dt)
        else:
            data = x.sum(axis=axes, keepdims=keepdim)
        return record(np.asarray(data), (self,), "sum",
                     lambda g, out: (g.reshape(kshape).expand(shape),))

    def mean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
             axis: Any = None, keepdims: bool | None = None) -> Tensor:
        """d/dx_i mean(x) = 1 / n. Floats only, as torch's (``dtype`` casts the input first)."""
        dim, keepdim = _dim_keepdim(dim, axis, keepdim, keepdims)
        axes = _dims(dim, self.ndim)
        shape, kshape = self.shape, _kept_shape(self.shape, axes)
        n = int(np.prod([shape[i] for i in axes]))
        x, dt = self._data, self._data.dtype
        if dtype is not None or dt not in _NATIVE:
            x, dt = _reduction_input(x, dtype, "mean")
        with np.errstate(invalid="ignore", divide="ignore"):
            # the mean of nothing is 0 / 0 = nan, quietly (as torch's; numpy's mean warns)
            data = np.asarray(x.mean(axis=axes, keepdims=keepdim) if n else
                              x.sum(axis=axes, keepdims=keepdim) / x.dtype.type(0))
        return record(_rounded(data, dt), (self,), "mean",
                     lambda g, out: (g.reshape(kshape).expand(shape) / n,))

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: float | None = None, axis: Any = None,
            keepdims: bool | None = None) -> Tensor:
        """sum((x - mean)^2) / max(0, n - correction); d/dx_i = 2 (x_i - mean) / (n - correction).
        torch's overloads: ``var(dim, unbiased, keepdim)``, ``var(dim, *, correction,
        keepdim)`` and ``var(unbiased)``; ``unbiased=False`` is ``correction=0``."""
        return self._moment("var", dim, unbiased, keepdim, correction, axis, keepdims)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: float | None = None, axis: Any = None,
            keepdims: bool | None = None) -> Tensor:
        """sqrt(var) with ``var``'s arguments; d/dx = d var/dx / (2 std), taken as 0 where
        std == 0 (a constant input: no direction is preferred), as torch's."""
        return self._moment("std", dim, unbiased, keepdim, correction, axis, keepdims)

    def _moment(self, op: str, dim: Any, unbiased: bool | None, keepdim: bool,
                correction: float | None, axis: Any, keepdims: bool | None) -> Tensor:
        if isinstance(dim, (bool, np.bool_)):  # var(True): torch's var(unbiased) overload
            if unbiased is not None:
                raise TypeError(f"{op}(unbiased={dim!r}, unbiased={unbiased!r}): given twice")
            dim, unbiased = None, bool(dim)
        if unbiased is not None and correction is not None:
            raise TypeError(f"{op}(): pass unbiased or correction, not both")
        c = (1 if unbiased or unbiased is None else 0) if correction is None else correction
        dim, keepdim = _dim_keepdim(dim, axis, keepdim, keepdims)
        x = self._data
        if x.dtype.kind != "f":
            raise RuntimeError("std and var only support floating point and complex dtypes")
        if x.dtype == float16:  # computed in float32, rounded once, as torch's
            return self.float()._moment(op, dim, None, keepdim, c, None, None).to(float16)
        whole = dim is None or self.ndim == 0  # torch's backward treats this case apart
        axes = _dims(dim, self.ndim)
        kshape = _kept_shape(self.shape, axes)
        n = int(np.prod([self.shape[i] for i in axes]))
        with np.errstate(invalid="ignore", divide="ignore"):
            centred = x - x.sum(axis=axes, keepdims=True) / n
            data = np.asarray((centred * centred).sum(axis=axes, keepdims=keepdim)
                              / builtins.max(n - c, 0))
            if op == "std":
                data = np.sqrt(data)
        dof = n - c

        def var_backward(g: Tensor) -> Tensor:
            # torch's var_backward: 2 (x - mean) / (n - correction) for the gradient, except
            # over the whole tensor with n <= correction: inf, or nan where x == mean, with
            # no graph (so its own derivative is 0)
            if whole:
                if dof <= 0:
                    return g * np.where(x == x.mean(), np.nan, np.inf).astype(x.dtype)
                return g * (2.0 / dof) * (self - self.mean())
            g = g if keepdim else g.reshape(kshape)
            return g * (2.0 / dof if dof else np.inf) * (self - self.mean(axes, keepdim=True))

        if op == "var":
            return record(data, (self,), "var", lambda g, out: (var_backward(g),))

        def std_backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
            zero = out._data == 0  # (+ zero: no division by zero to warn about)
            return (var_backward(_masked(g / (out * 2 + zero.astype(out.dtype)), ~zero)),)

        return record(data, (self,), "std", std_backward)

    def _extreme(self, dim: Any, keepdim: bool, largest: bool, op: str) -> Tensor:
        # the gradient is shared evenly between tied extremes, as torch's amax/amin do
        axes = _dims(dim, self.ndim)
        if self._data.size == 0:
            if dim is None:
                raise RuntimeError(
                    f"{op}(): Expected reduction dim to be specified for input.numel() == 0"
                )
            for a in axes:
                if self.shape[a] == 0:
                    raise IndexError(f"{op}(): Expected reduction dim {a} to have non-zero size")
        shape, kshape = self.shape, _kept_shape(self.shape, axes)
        reduce = np.max if largest else np.min
        kept = reduce(self._data, axis=axes, keepdims=True)
        hit = self._data == kept
        share = hit / hit.sum(axis=axes, keepdims=True)
        data = kept if keepdim else kept.reshape([n for i, n in enumerate(shape) if i not in axes])
        return record(np.asarray(data), (self,), op,
                     lambda g, out: (g.reshape(kshape).expand(shape) * share.astype(g.dtype),))

    def amax(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
             keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _dim_keepdim(dim, axis, keepdim, keepdims)
        return self._extreme(dim, keepdim, True, "amax")

    def amin(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
             keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _dim_keepdim(dim, axis, keepdim, keepdims)
        return self._extreme(dim, keepdim, False, "amin")

    def _select_extreme(self, dim: Any, keepdim: bool, largest: bool, op: str) -> Any:
        # (values, indices) along one dim: the gradient goes to the selected index only
        if dim is None:
            return self._extreme(None, keepdim, largest, op)
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
            raise TypeError(f"{op}(dim={dim!r}): expected an int (amax/amin take several dims)")
        (axis,) = _dims(dim, self.ndim) or (0,)
        if self.ndim == 0:
            return MaxResult(self.clone(), Tensor(np.array(0)))
        if self.shape[axis] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {axis} to have non-zero size")
        idx = (np.argmax if largest else np.argmin)(self._data, axis=axis, keepdims=True)
        shape = self.shape
        kshape = _kept_shape(shape, (axis,))
        mask = np.zeros(shape, dtype=bool)
        np.put_along_axis(mask, idx, True, axis=axis)
        values = np.take_along_axis(self._data, idx, axis=axis)
        if not keepdim:
            values, idx = values.squeeze(axis), idx.squeeze(axis)
        out = record(values, (self,), op, lambda g, out: (g.reshape(kshape).expand(shape) * mask,))
        return MaxResult(out, Tensor(idx.astype(np.int64)))

    def max(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> Any:
        """``max()``: the largest value; ``max(dim)``: ``(values, indices)``;
        ``max(t)``: ``maximum``."""
        dim, keepdim = _dim_keepdim(dim, axis, keepdim, keepdims)
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        return self._select_extreme(dim, keepdim, True, "max")

    def min(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> Any:
        dim, keepdim = _dim_keepdim(dim, axis, keepdim, keepdims)
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        return self._select_extreme(dim, keepdim, False, "min")

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg(np.argmax, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg(np.argmin, dim, keepdim)

    def _arg(self, fn: Callable[..., Any], dim: int | None, keepdim: bool) -> Tensor:
        # the index into the flattened tensor when dim is None (shaped all ones with keepdim)
        if dim is None:
            return Tensor(np.array(fn(self._data), dtype=np.int64).reshape(
                (1,) * self.ndim if keepdim else ()))
        (axis,) = _dims(dim, self.ndim)
        return Tensor(fn(self._data, axis=axis, keepdims=keepdim).astype(np.int64))

    def logsumexp(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
                  keepdims: bool | None = None) -> Tensor:
        # log sum_i e^(x_i), shifted by the max; d/dx_i = e^(x_i - out) = softmax(x)_i
        dim, keepdim = _dim_keepdim(dim, axis, keepdim, keepdims)
        x = self._data
        if x.dtype not in _NATIVE:  # integers give float32; float16 computes in float32
            src = self if x.dtype.kind == "f" else self.detach()
            return src.float().logsumexp(dim, keepdim).to(x.dtype if x.dtype == float16 else
                                                          float32)
        axes = _dims(dim, self.ndim)
        shape, kshape = self.shape, _kept_shape(self.shape, axes)
        m = np.max(x, axis=axes, keepdims=True) if x.size else np.zeros(kshape, x.dtype)
        m = np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)
        with np.errstate(divide="ignore"):
            kept = np.log(np.exp(x - m).sum(axis=axes, keepdims=True)) + m
        data = kept if keepdim else kept.reshape([n for i, n in enumerate(shape) if i not in axes])
        return record(np.asarray(data), (self,), "logsumexp", lambda g, out: (
            g.reshape(kshape).expand(shape) * (self - out.reshape(kshape)).exp(),))

    # ----- linear algebra ---------------------------------------------------------------
    def matmul(self, other: TensorLike) -> Tensor:
        # d/dA (A @ B) = G @ B^T, d/dB = A^T @ G (1-D operands as a row / a column)
        a, b = self, self._operand(other)
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(
                f"both arguments to matmul need to be at least 1D, but they are "
                f"{a.ndim}D and {b.ndim}D"
            )
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({a.shape} @ {b.shape}): "
                f"the last dim of the first must equal the "
                f"{'second-to-last' if b.ndim > 1 else 'only'} dim of the second"
            )

        def backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, Tensor | None]:
            if a.ndim == 1 and b.ndim == 1:
                return (g * b if a._requires_grad else None, g * a if b._requires_grad else None)
            g2 = g.unsqueeze(-2) if a.ndim == 1 else g
            g2 = g2.unsqueeze(-1) if b.ndim == 1 else g2
            a2 = a.unsqueeze(0) if a.ndim == 1 else a
            b2 = b.unsqueeze(-1) if b.ndim == 1 else b
            ga = gb = None
            if a._requires_grad:
                ga = g2 @ b2.mT
                ga = ga.squeeze(-2) if a.ndim == 1 else ga
            if b._requires_grad:
                # laid out as b is: x @ W.T gives W's gradient in W's own (C) order, so the
                # optimizer's update runs over two arrays of one layout
                gb = (g2.mT @ a2).mT if b2.ndim == 2 and _transposed(b2._data) else a2.mT @ g2
                gb = gb.squeeze(-1) if b.ndim == 1 else gb
            return ga, gb

        return record(np.matmul(a._data, b._data), (a, b), "matmul", backward)

    # ----- movement -----------------------------------------------------------------------
    def _reshaped(self, shape: tuple[int, ...], op: str) -> Tensor:
        src = self.shape
        return _view(self, self._data.reshape(shape), op, lambda g, out: (g.reshape(src),))

    def _reshape(self, shape: tuple[Any, ...], op: str) -> Tensor:
        # the gradient takes the input's shape back
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        try:
            data = self._data.reshape(shape)
        except (ValueError, TypeError):
            raise RuntimeError(
                f"shape '{list(shape)}' is invalid for input of size {self._data.size} "
                f"(shape {self.shape})"
            ) from None
        src = self.shape
        backward: Backward = lambda g, out: (g.reshape(src),)  # noqa: E731
        if data.size and not np.may_share_memory(data, self._data):  # numpy had to copy
            if op == "view":
                raise RuntimeError(
                    "view size is not compatible with input tensor's size and stride (at least "
                    "one dimension spans across two contiguous subspaces). Use .reshape(...) "
                    "instead."
                )
            return record(data, (self,), op, backward)
        return _view(self, data, op, backward)

    def reshape(self, *shape: Any) -> Tensor:
        """A view of the same memory when the layout allows, else a copy (as torch's)."""
        return self._reshape(shape, "reshape")

    def view(self, *shape: Any) -> Tensor:
        """A view of the same memory; raises when the layout does not allow one."""
        return self._reshape(shape, "view")

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self._reshaped((1,), "flatten")
        s, e = _dims(start_dim, self.ndim)[0], _dims(end_dim, self.ndim)[0]
        shape = self.shape[:s] + (int(np.prod(self.shape[s:e + 1])),) + self.shape[e + 1:]
        return self._reshaped(shape, "flatten")

    def unsqueeze(self, dim: int) -> Tensor:
        d = _dim(dim, self.ndim + 1)
        return self._reshaped(self.shape[:d] + (1,) + self.shape[d:], "unsqueeze")

    def squeeze(self, dim: Any = None) -> Tensor:
        axes = _dims(dim, self.ndim)
        shape = tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1))
        return self._reshaped(shape, "squeeze")

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        # its own inverse
        if self.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
            return self._reshaped(self.shape, "transpose")
        d0, d1 = _dims(dim0, self.ndim)[0], _dims(dim1, self.ndim)[0]
        return _view(self, self._data.swapaxes(d0, d1), "transpose",
                     lambda g, out: (g.transpose(d0, d1),))

    swapaxes = transpose

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D"
            )
        return self.transpose(0, 1) if self.ndim == 2 else self

    def permute(self, *dims: Any) -> Tensor:
        # the gradient is permuted back by the inverse permutation
        if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)):
            dims = tuple(dims[0])
        if len(dims) != self.ndim:
            raise RuntimeError(
                f"permute(dims={list(dims)}): number of dims ({len(dims)}) does not match "
                f"the tensor's {self.ndim}"
            )
        perm = tuple(d % builtins.max(self.ndim, 1) for d in dims)
        if sorted(perm) != list(range(self.ndim)):
            raise RuntimeError(f"permute(dims={list(dims)}): repeated or out-of-range dim")
        inverse = tuple(sorted(range(len(perm)), key=perm.__getitem__))  # where each axis went
        return _view(self, self._data.transpose(perm), "permute",
                     lambda g, out: (g.permute(inverse),))

    def expand(self, *sizes: Any) -> Tensor:
        # a broadcast view: the engine sums the gradient back to the input's shape
        if len(sizes) == 1 and not isinstance(sizes[0], (int, np.integer)):
            sizes = tuple(sizes[0])
        extra = len(sizes) - self.ndim
        if extra < 0:
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(sizes)}) must be greater or "
                f"equal to the number of dimensions in the tensor ({self.ndim})"
            )
        shape = tuple(self.shape[i - extra] if s == -1 else s for i, s in enumerate(sizes))
        try:
            data = np.broadcast_to(self._data, shape)
        except ValueError:
            raise RuntimeError(
                f"expand: the tensor of shape {self.shape} cannot be expanded to {shape}"
            ) from None
        return _view(self, data, "expand", lambda g, out: (g,))

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def __getitem__(self, index: Any) -> Tensor:
        # the gradient is scattered back, summed where an index repeats
        idx = _index(index)
        try:
            data = self._data[idx]
        except IndexError as e:
            raise IndexError(f"index {_short(index)} is out of range for shape {self.shape}: {e}") \
                from None
        shape = self.shape
        def backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
            return (_scatter(g, idx, shape),)

        # torch saves index tensors: changing one in place refuses backward
        indices = tuple(i for i in (index if isinstance(index, tuple) else (index,))
                        if isinstance(i, Tensor))
        if _is_basic(idx):  # basic indexing is a view of the same memory, as in torch
            if type(data) is not np.ndarray:  # every axis indexed: numpy gave a scalar
                data = self._data[(idx if isinstance(idx, tuple) else (idx,)) + (Ellipsis,)]
            return _view(self, data, "getitem", backward, indices)
        return record(np.asarray(data), (self,), "getitem", backward, saved=indices)

    def clone(self) -> Tensor:
        # d/dx copy(x) = 1
        return record(self._data.copy(), (self,), "clone", lambda g, out: (g,))

    # ----- conveniences ---------------------------------------------------------------
    def _softmax_input(self, dim: int, dtype: Any, name: str) -> Tensor | None:
        """The input cast to ``dtype``; float16 goes through float32 (the caller rounds once),
        None if the input is float32 or float64 already. Integers need a ``dtype``, as torch's."""
        if dtype is not None:
            x = self.to(dtype)
            return x if x.dtype in _NATIVE else x._softmax_input(dim, None, name)
        if self.dtype in _NATIVE:
            return None
        if self.dtype.kind != "f":
            last = self.ndim == 0 or _dims(dim, self.ndim)[0] == self.ndim - 1
            raise NotImplementedError(f'"{name}{"_lastdim" if last else ""}_kernel_impl" not '
                                      f"implemented for '{torch_name(self.dtype)}'")
        return self.float()

    def softmax(self, dim: int = -1, dtype: Any = None) -> Tensor:
        """p_c = e^(x_c) / sum_k e^(x_k), max-shifted. One node; its backward is the
        Jacobian-vector product of J = diag(p) - p p^T: ``p * (g - sum_c g_c p_c)``."""
        x = self._softmax_input(dim, dtype, "softmax")
        if x is not None:
            return x.softmax(dim).to(self.dtype if dtype is None else dtype)
        if self.ndim == 0:
            return record(np.ones_like(self._data), (self,), "softmax", lambda g, out: (g * 0,),
                          fused=True)
        (axis,) = _dims(dim, self.ndim)
        p = shifted(self._data, axis)[0]
        np.exp(p, out=p)
        p /= p.sum(axis=axis, keepdims=True)
        return record(p, (self,), "softmax", lambda g, out: (
            out * (g - (g * out).sum(axis, keepdim=True)),), fused=True)

    def log_softmax(self, dim: int = -1, dtype: Any = None) -> Tensor:
        """log p_c = z_c - log sum_k e^(z_k) with z = x - max: exp never overflows, and z is
        exact, so large logits keep log p (never x - logsumexp(x), which cancels). One node;
        its backward is ``g - p * sum_c g_c`` with ``p = exp(out)``."""
        x = self._softmax_input(dim, dtype, "log_softmax")
        if x is not None:
            return x.log_softmax(dim).to(self.dtype if dtype is None else dtype)
        if self.ndim == 0:
            return record(np.zeros_like(self._data), (self,), "log_softmax",
                          lambda g, out: (g * 0,), fused=True)
        (axis,) = _dims(dim, self.ndim)
        return record(log_softmax(self._data, axis), (self,), "log_softmax", lambda g, out: (
            g - out.exp() * g.sum(axis, keepdim=True),), fused=True)


class Released(Tensor):
    """What a graph keeps of an intermediate once ``backward()`` has released it: the op,
    name, shape and dtype, without the values (pass ``retain_graph=True`` to keep them)."""

    __slots__ = ()

    @property
    def released(self) -> bool:
        return True

    def numpy(self) -> np.ndarray:
        raise RuntimeError(
            f"the values of this intermediate ({self.op or 'input'}, shape {self.shape}) were "
            "released by backward(); keep a reference to the tensor itself, or pass "
            "retain_graph=True to backward()"
        )

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.numpy()

    def __repr__(self) -> str:
        op = f", op={self.op!r}" if self.op else ""
        return f"tensor(<released>, shape={self.shape}, dtype={self.dtype}{op})"


_placeholders: dict[tuple[np.dtype, tuple[int, ...]], np.ndarray] = {}


def _placeholder(dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only array of ``shape`` and ``dtype`` that holds one element: what a released
    node keeps in place of its values (one per shape, shared)."""
    key = (dtype, shape)
    a = _placeholders.get(key)
    if a is None:
        if len(_placeholders) > 1024:
            _placeholders.clear()
        a = _placeholders[key] = np.broadcast_to(np.zeros((), dtype), shape)
    return a


# the arithmetic ops' backward functions, looked up once rather than on the class per op
_ADD_BACKWARD = Tensor._add_backward
_SUB_BACKWARD = Tensor._sub_backward
_MUL_BACKWARD = Tensor._mul_backward
_DIV_BACKWARD = Tensor._div_backward


# ----- construction helpers (fast paths used by every op) --------------------------------
_new = object.__new__


def _init(t: Tensor, data: np.ndarray) -> None:
    t._data = data
    t.grad = None
    t.op = ""
    t.scope = ()
    t._requires_grad = False
    t._parents = ()
    t._backward = None


# has any tensor's history moved (an in-place op recorded in the graph)? Then a view may be
# stale, and every op checks its inputs (clock.moved, read here once per op at less cost)
_moved = False


def root_gradient(root: Tensor, gradient: Any, name: str) -> Tensor:
    """The gradient backward starts from at ``root``: ones for a scalar, else ``gradient``
    (the argument called ``name``), checked against the root's shape."""
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


def record(data: np.ndarray, parents: tuple[Tensor, ...], op: str, backward: Backward,
           fused: bool = False, saved: tuple[Tensor, ...] = ()) -> Tensor:
    """The output of an op: how every op is recorded, the engine's own, ``nn.functional``'s
    and yours. ``data`` is the computed ndarray, ``parents`` the Tensors it was computed
    from, ``op`` the name the graph and its pictures show, and ``backward(g, out)`` returns
    one gradient (Tensor or None) per parent. ``fused=True`` marks one node that stands for
    a composite function (the fused cross-entropy, your own op); the renderer draws it so.
    ``saved`` names tensors other than the parents that ``backward`` reads (an index, a
    target): as with the parents, changing one in place afterwards makes backward refuse.
    The output joins the graph if grad mode is on and a parent requires grad::

        def cube(x: Tensor) -> Tensor:  # d/dx x^3 = 3 x^2
            return record(x.numpy() ** 3, (x,), "cube", lambda g, out: (g * 3 * x * x,))
    """
    out = _new(Tensor)
    # numpy hands back a scalar, not a 0-d array, from arithmetic on 0-d arrays: ._data is
    # always an ndarray (writable in place, like a torch tensor's)
    out._data = data if type(data) is np.ndarray else np.asarray(data)
    out.grad = None
    if state.enabled:
        if _moved:
            for p in parents:
                if p._base is not None and _stale(p):
                    _refresh(p)
        for p in parents:
            if p._requires_grad:
                out._recorded_at = clock.now
                out.op = op
                out.scope = state.scope
                out._requires_grad = True
                out._parents = parents
                out._backward = backward
                if fused:
                    out.fused = True
                if saved:
                    backward.saved = saved  # type: ignore[attr-defined]
                return out
    out.op = ""
    out.scope = ()
    out._requires_grad = False
    out._parents = ()
    out._backward = None
    return out


def _view(src: Tensor, data: np.ndarray, op: str, backward: Backward,
          saved: tuple[Tensor, ...] = ()) -> Tensor:
    """The output of a view op: it shares ``src``'s memory and version counter."""
    out = record(data, (src,), op, backward, saved=saved)
    out._vc = src._counter()
    out._base = src if src._base is None else src._base
    out._recorded_at = clock.now
    return out


def _partial_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Do ``a`` and ``b`` share some memory without being the same elements?"""
    if not np.may_share_memory(a, b):
        return False
    same = (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.strides == b.strides and a.shape == b.shape)
    return not same and np.shares_memory(a, b)


def _stale(v: Tensor) -> bool:
    """Was ``v``'s base changed in place, in the graph, since ``v``'s history was taken?"""
    history = v._base._history  # type: ignore[union-attr]
    return history is not None and history[-1][0] > v._recorded_at and any(
        moved_at > v._recorded_at and old._vc.overwritten for moved_at, old in history)


def _positions(base: np.ndarray, view: np.ndarray) -> np.ndarray:
    """Where each element of ``view`` (an array over ``base``'s memory) sits in ``base``,
    as flat (C-order) positions: how a view is re-derived from its base."""
    item = base.itemsize
    lo, hi = _byte_bounds(base)

    def offsets(a: np.ndarray) -> np.ndarray:
        off = np.array((a.__array_interface__["data"][0] - lo) // item, dtype=np.int64)
        for n, stride in zip(a.shape, a.strides):
            off = off[..., None] + np.arange(n, dtype=np.int64) * (stride // item)
        return off

    where = np.full((hi - lo) // item, -1, dtype=np.int64)
    where[offsets(base).reshape(-1)] = np.arange(base.size)
    return where[offsets(view)]


_byte_bounds = getattr(np, "byte_bounds", None) or np.lib.array_utils.byte_bounds


def _refresh(v: Tensor) -> None:
    """Re-derive a stale view's history from its base's current one, as torch does (ops
    recorded before keep the old history)."""
    base = v._base
    assert base is not None
    old = _snapshot(v)
    prev, state.enabled = state.enabled, True
    try:
        now = base.reshape(-1)[_positions(base._data, v._data)]
    finally:
        state.enabled = prev
    v._move(old)
    v._parents, v._backward, v.op, v.scope = now._parents, now._backward, now.op, now.scope
    v._requires_grad = now._requires_grad
    v._recorded_at = clock.now


def _snapshot(t: Tensor, overwritten: bool = False, detached: bool = False) -> Tensor:
    """A node standing for ``t`` as it is now (with a copy of its values), for the ops that
    were recorded with ``t`` as input before ``t`` changes in place (``overwritten``) or
    leaves the graph. Its counter says so: torch keeps such values aside (an in-place op
    saves the original), but an op that saved them as its output sees them overwritten."""
    old = _new(Tensor)
    _init(old, t._data.copy())
    old.op, old.name, old.scope, old.fused = t.op, t.name, t.scope, t.fused
    old._requires_grad, old._parents, old._backward = t._requires_grad, t._parents, t._backward
    if t._parents:
        old._recorded_at = t._recorded_at
    old._vc, old._base = engine.Before(t._version, overwritten, detached), t._base
    return old


def _alias(t: Tensor) -> Tensor:
    """``t`` as an operand of an in-place op that writes into its memory: a view of it whose
    counter says it is overwritten by the op that reads it."""
    a = t.view(t.shape)
    a._vc = engine.Before(t._version, overwritten=True)
    a._vc.moved_at = clock.now + 2  # after the op's own record time: the op sees it changed
    return a


def _index_put(x: Tensor, idx: Any, v: Tensor) -> Tensor:
    """``x`` with ``x[idx] = v``: x's gradient is 0 where it was overwritten, v's is g[idx]."""
    data = x._data.copy()
    data[idx] = v._data
    keep = np.ones(x.shape, dtype=bool)
    keep[idx] = False
    return record(data, (x, v), "index_put", lambda g, out: (
        g * keep if x._requires_grad else None, g[idx] if v._requires_grad else None))


_TORCH_DTYPE_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double",
                      "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                      "uint8": "Byte", "bool": "Bool"}


def _check_cast(result: np.dtype, out: np.dtype) -> None:
    """An in-place op keeps its tensor's dtype: refuse a result that can't be cast back."""
    if result != out and not np.can_cast(result, out, casting="same_kind"):
        name = _TORCH_DTYPE_NAMES.get
        raise RuntimeError(
            f"result type {name(result.name, result.name)} can't be cast to the desired output "
            f"type {name(out.name, out.name)}"
        )


def _value(x: Any) -> Any:
    """An in-place op's operand as numpy sees it (numpy scalars as Python numbers, so that
    a float32 tensor stays float32)."""
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    if isinstance(x, (list, tuple)):
        return np.asarray(x)
    return x


def _old_overload(name: str, alpha: Any, args: tuple[Any, ...]) -> tuple[Any, Any]:
    """torch's deprecated ``add_(Number alpha, Tensor other)``: it still works, with its
    warning."""
    if len(args) != 1 or isinstance(alpha, Tensor) or not isinstance(args[0], Tensor):
        raise TypeError(f"{name}() takes (other, *, alpha=1) or the deprecated "
                        f"(Number alpha, Tensor other); got {len(args) + 1} positional arguments")
    warnings.warn(f"This overload of {name} is deprecated:\n\t{name}(Number alpha, Tensor "
                  f"other)\nConsider using one of the following signatures instead:\n\t"
                  f"{name}(Tensor other, *, Number alpha = 1)", UserWarning, stacklevel=3)
    return alpha, args[0]


def _scaled(other: Any, alpha: Any) -> Any:
    if alpha == 1:
        return other
    return other * alpha if isinstance(other, Tensor) else _value(other) * alpha


# ----- dtype helpers (torch's promotion; float16 computed in float32) -------------------
def _promote(a: Tensor, b: Tensor, other: Any, op: str) -> tuple[np.ndarray, np.ndarray, np.dtype]:
    """The operands of the binary op ``op`` as the arrays to compute with, and the result
    dtype: torch.result_type (``other`` is the right operand as given, so a number counts
    as a wrapped scalar); integers divide as float32. float16 is computed in float32 (the
    caller rounds once, with ``_rounded``); the 0-d right operand of ``*`` and ``/`` keeps
    its float32 value there, unrounded, as torch's CPU kernels do."""
    dt = result_type(a, other if other is not b and is_scalar(other) else b)
    if op == "div" and dt.kind != "f":
        dt = DEFAULT_FLOAT
    elif op == "sub" and bool_ in (a.dtype, b.dtype):
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
            "`^` or `logical_xor()` operator instead." if a.dtype == b.dtype else
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    x, y = a._data, b._data
    if other is not b and is_scalar(other):  # the number itself, not as _operand stored it
        y = scalar_array(other, dt)
    if dt != float16:
        return x.astype(dt, copy=False), y.astype(dt, copy=False), dt
    x = x.astype(float16, copy=False).astype(float32)
    if op in ("mul", "div") and b.ndim == 0:
        y = np.asarray(other, float32) if is_scalar(other) else y.astype(float32)
    else:
        y = y.astype(float16, copy=False).astype(float32)
    return x, y, dt


def _rounded(data: Any, dt: np.dtype) -> Any:
    return data if data.dtype == dt else data.astype(dt)


def _in_float(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """``fn(x)`` for an array that is not float32 or float64: integers and bools give
    float32 (torch's default dtype); float16 is computed in float32 and rounded once."""
    out = fn(x.astype(float32))
    return out.astype(float16) if x.dtype == float16 else out


def _reduction_input(x: np.ndarray, dtype: Any, op: str) -> tuple[np.ndarray, np.dtype]:
    """What ``sum``/``mean`` reduce (cast to ``dtype`` if given; integers sum as int64) and
    the dtype they return. float16 is reduced in float32."""
    if dtype is not None:
        x = x.astype(_as_dtype(dtype), copy=False)
    dt = x.dtype
    if op == "mean" and dt.kind != "f":
        which = "Input" if dtype is None else "Optional"
        raise RuntimeError(f"mean(): could not infer output dtype. {which} dtype must be either "
                           f"a floating point or complex dtype. Got: {torch_name(dt)}")
    if dt.kind != "f":
        dt = int64
        x = x.astype(int64, copy=False)
    return (x.astype(float32) if dt == float16 else x), dt


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # split by sign so exp never overflows
    with np.errstate(over="ignore"):
        z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)


def _sgn(x: np.ndarray) -> np.ndarray:
    """sign(x), with 0 at NaN as torch's sgn."""
    return np.where(np.isnan(x), 0, np.sign(x)).astype(x.dtype, copy=False)


# backward functions of unary ops that read only the output: shared, not a closure per node
def _neg_backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
    return (-g,)  # d/dx -x = -1


def _exp_backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
    return (g * out,)  # d/dx e^x = e^x


def _sqrt_backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
    return (g / (out * 2),)  # d/dx sqrt x = 1 / (2 sqrt x)


def _tanh_backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
    return (g * (1 - out * out),)  # d/dx tanh x = 1 - tanh^2 x


def _sigmoid_backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
    return (g * out * (1 - out),)  # d/dx s(x) = s(x) (1 - s(x))


def _relu_backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
    # torch's threshold_backward: zero where the output is <= 0 (not at a NaN); the output
    # max(x, 0) is >= 0 or NaN, so that is where it is == 0 (one pass, not two)
    return (_masked(g, out._data != 0),)


def _masked(g: Tensor, keep: np.ndarray) -> Tensor:
    """``g`` where ``keep``, else 0, also where ``g`` is inf or NaN (torch's
    ``where(mask, grad, 0)``); its own gradient is masked the same way."""
    data = g._data * keep  # 3x faster than np.where; right unless g holds inf or nan
    data += 0.0  # -0.0 (a negative g masked) becomes 0.0, as where's
    if not np.isfinite(data.sum()):
        data = np.where(keep, g._data, 0).astype(g.dtype, copy=False)
    return record(data, (g,), "where", lambda g2, out: (_masked(g2, keep),))


def _transposed(a: np.ndarray) -> bool:
    return a.ndim == 2 and a.flags.f_contiguous and not a.flags.c_contiguous


def _extreme_backward(g: Tensor, a: Tensor, b: Tensor,
                   loses: Callable[..., np.ndarray]) -> tuple[Tensor | None, Tensor | None]:
    """maximum/minimum, torch's: ``where(a == b, g / 2, g)``, zeroed for the input that
    lost (``loses(a, b)`` for ``a``). A NaN loses nowhere: both inputs get ``g`` there."""
    x, y = a._data, b._data
    shared = g * np.where(x == y, 0.5, 1.0).astype(g.dtype)
    return (_masked(shared, ~loses(x, y)) if a._requires_grad else None,
            _masked(shared, ~loses(y, x)) if b._requires_grad else None)


def _pow_scalar_backward(g: Tensor, a: Tensor, e: Scalar) -> Tensor:
    # torch's pow_backward: zeros for e == 0, else g * (e * a^(e-1))
    if e == 0:
        t = _new(Tensor)
        _init(t, np.zeros(a.shape, g.dtype))
        return t
    return g * (a.pow(e - 1) * e)



def _index(index: Any) -> Any:
    """Tensors and lists inside an index become numpy arrays."""
    if isinstance(index, tuple):
        return tuple(_index_part(i) for i in index)
    return _index_part(index)


def _index_part(i: Any) -> Any:
    if isinstance(i, Tensor):
        return i._data
    if isinstance(i, (list, range)):
        arr = np.asarray(i)
        if arr.dtype.kind not in "iub":
            raise IndexError(f"index {_short(i)}: tensors used as indices must be long or bool")
        return arr
    if isinstance(i, float):
        raise IndexError(f"index {i!r}: only integers, slices, None, ..., and integer or "
                         "boolean arrays are valid indices")
    return i


def _is_basic(idx: Any) -> bool:
    parts = idx if isinstance(idx, tuple) else (idx,)
    return all(p is None or p is Ellipsis or (isinstance(p, (int, np.integer, slice))
               and not isinstance(p, (bool, np.bool_))) for p in parts)


def _scatter(g: Tensor, idx: Any, shape: tuple[int, ...]) -> Tensor:
    """Zeros of ``shape`` with ``g`` added at ``idx``: the adjoint of ``x[idx]``."""
    data = np.zeros(shape, dtype=g.dtype)
    if _is_basic(idx):
        data[idx] = g._data
    else:
        np.add.at(data, idx, g._data)
    return record(data, (g,), "scatter", lambda g2, out: (g2[idx],))


# ----- functions over several tensors ---------------------------------------------------
def _as_tensor(x: TensorLike, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return like._operand(x) if like is not None else Tensor(x)


def where(condition: TensorLike, input: TensorLike, other: TensorLike) -> Tensor:
    """``input`` where ``condition`` holds, else ``other``; each input gets the gradient
    where it was picked."""
    cond = np.asarray(condition._data if isinstance(condition, Tensor) else condition)
    if cond.dtype != np.bool_:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got {cond.dtype}")
    # dtype: torch.result_type of input and other (a number is a wrapped scalar)
    a, b = (v if isinstance(v, Tensor) else v if is_scalar(v) else Tensor(v)
            for v in (input, other))
    dt = a.dtype if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype == b.dtype \
        else result_type(a, b)
    a, b = (v if isinstance(v, Tensor) else _constant(scalar_array(v, dt)) for v in (a, b))
    data = np.where(cond, a._data.astype(dt, copy=False), b._data.astype(dt, copy=False))
    return record(data, (a, b), "where", lambda g, out: (
        _masked(g, cond) if a._requires_grad else None,
        _masked(g, ~cond) if b._requires_grad else None))


def _constant(data: np.ndarray) -> Tensor:
    t = _new(Tensor)
    _init(t, data)
    return t


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join along ``dim``; each input gets back its slice of the gradient."""
    ts = tuple(_as_tensor(t) for t in tensors)
    if not ts:
        raise ValueError("cat expects a non-empty sequence of tensors")
    for i, t in enumerate(ts):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    (axis,) = _dims(dim, ts[0].ndim)
    for i, t in enumerate(ts):
        if t.ndim != ts[0].ndim or t.shape[:axis] + t.shape[axis + 1:] != \
                ts[0].shape[:axis] + ts[0].shape[axis + 1:]:
            raise RuntimeError(
                f"cat: tensors[{i}] has shape {t.shape} but tensors[0] has {ts[0].shape}: "
                f"sizes must match except in dimension {dim}"
            )
    bounds = np.cumsum([0] + [t.shape[axis] for t in ts])
    lead = (slice(None),) * axis
    dt = _common_dtype(ts)

    def backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, ...]:
        return tuple(g[lead + (slice(int(lo), int(hi)),)] if t._requires_grad else None
                     for t, lo, hi in zip(ts, bounds[:-1], bounds[1:]))

    return record(np.concatenate([t._data for t in ts], axis=axis, dtype=dt), ts, "cat", backward)


def _common_dtype(ts: Sequence[Tensor]) -> np.dtype:
    """The dtype ``cat`` and ``stack`` give: every input's, promoted (torch's)."""
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = promote_types(dt, t.dtype)
    return dt


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack along a new ``dim``; each input gets back its slice of the gradient."""
    ts = tuple(_as_tensor(t) for t in tensors)
    if not ts:
        raise RuntimeError("stack expects a non-empty sequence of tensors")
    for i, t in enumerate(ts):
        if t.shape != ts[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {ts[0].shape} at entry 0 "
                f"and {t.shape} at entry {i}"
            )
    axis = _dim(dim, ts[0].ndim + 1)
    lead = (slice(None),) * axis

    def backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, ...]:
        return tuple(g[lead + (i,)] if t._requires_grad else None for i, t in enumerate(ts))

    return record(np.stack([t._data for t in ts], axis=axis, dtype=_common_dtype(ts)), ts, "stack",
                 backward)
