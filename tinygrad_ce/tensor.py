"""The Tensor and its differentiable ops.

Each op is one method: compute the output with numpy, then hand the engine the
backward closure right below it. A closure gets the upstream gradient ``g`` and the
op's output ``out`` and returns one gradient per parent (or None). It is written with
Tensor operations, so under ``create_graph=True`` the gradient is a graph too.
Closures capture inputs and plain arrays, never their own output: no reference cycles.
"""

from __future__ import annotations

import builtins
import string
import warnings
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeAlias, Union

import numpy as np

from tinygrad_ce import engine
from tinygrad_ce.dtypes import (
    DEFAULT_FLOAT,
    KINDS,
    as_dtype,
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
from tinygrad_ce.random import generator, stream
from tinygrad_ce.stable import erf, log_softmax, shifted

__all__ = ["Tensor", "record", "where", "cat", "stack", "einsum", "device",
           "float16", "float32", "float64",
           "uint8", "int8", "int16", "int32", "int64", "bool_"]

Scalar = Union[int, float, bool, np.number, np.bool_]  # noqa: UP007
TensorLike = Union["Tensor", Scalar, np.ndarray, Sequence[Any]]  # noqa: UP007
Backward = Callable[["Tensor", "Tensor"], tuple[Union["Tensor", None], ...]]

# the builtins, for annotations inside Tensor, whose methods bool/int/float hide them there
_bool: TypeAlias = bool
_int: TypeAlias = int
_float: TypeAlias = float

MaxResult = namedtuple("MaxResult", ["values", "indices"])

_NATIVE = frozenset((float32, float64))  # dtypes numpy computes in as torch does


def _array(data: Any, dtype: Any = None) -> np.ndarray:
    """numpy array for ``data`` with torch's dtype: Python floats become float32 (the
    default dtype), ints int64; numpy arrays and scalars keep their dtype, also inside lists
    (``[np.float64(1)]`` is float64); mixed kinds promote (``[1, 2.5]`` is float32)."""
    if type(data) is np.ndarray and dtype is None and data.dtype.kind in KINDS:
        return data  # what np.asarray would give back, without the checks below
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        dt = as_dtype(dtype)
        try:
            return np.asarray(data, dtype=dt)
        except (TypeError, ValueError) as e:
            raise TypeError(f"data={_short(data)} cannot be converted to {dt}: {e}") from None
    try:
        arr = np.asarray(data)
    except (TypeError, ValueError) as e:
        raise TypeError(f"data={_short(data)} is not numeric array data: {e}") from None
    if arr.dtype.kind not in KINDS:
        raise TypeError(
            f"data={_short(data)} has dtype {arr.dtype}; expected numbers (float, int or bool)"
        )
    if isinstance(data, (list, tuple)) and arr.size:
        inferred = infer(data)
        if inferred is not None and inferred != arr.dtype:
            arr = arr.astype(inferred)
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
    _vc: list[_int] | None = None  # [version, time of the last in-place change], shared by views
    _base: Tensor | None = None  # the tensor a view's memory belongs to
    _history: list[tuple[_int, Tensor]] | None = None  # (time, old node) per in-place move
    _recorded_at: _int  # when the op that made it was recorded (engine.clock time)
    _hooks: dict[_int, Callable[..., Any]] | None = None  # register_hook's, by handle id
    fused = False  # made by a fused op: one node for a composite function (see ``record``)
    # for pictures of the graph: tensors besides ``parents`` that the op read and sends no
    # gradient to (a loss's target, an index: ``record(..., saved=)``), and how to name the
    # op when its name alone says too little (``.T``, ``getitem [[0, 1], target]``)
    extra_inputs: tuple[Tensor, ...] = ()

    def __init__(self, data: TensorLike, requires_grad: _bool = False, dtype: Any = None,
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
    def requires_grad(self) -> _bool:
        self._fresh()
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: _bool) -> None:
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
    def released(self) -> _bool:
        """True for what a graph keeps of an intermediate after ``backward()``: its op, name,
        shape and dtype, not its values."""
        return False

    def _released(self) -> Tensor:
        h = _new(Released)
        _init(h, _placeholder(self._data.dtype, self._data.shape))
        h.op, h.name, h.scope, h.fused = self.op, self.name, self.scope, self.fused
        _copy_labels(self, h)
        h._requires_grad, h._parents = self._requires_grad, self._parents
        h._backward = engine.released_backward if self._parents else None
        if self._parents:
            h._recorded_at = self._recorded_at
        return h

    @property
    def op_label(self) -> str | None:
        """How pictures of the graph name the op when ``op`` alone says too little (``.T``,
        ``transpose(0, 1)``, ``getitem [[0, 1], target]``); None to use ``op``."""
        d = self.__dict__
        if "_op_label" in d:
            return d["_op_label"]
        index = d.get("_picked")  # a getitem's index, written out only when asked for
        return None if index is None else "getitem " + _index_text(index)

    @op_label.setter
    def op_label(self, text: str | None) -> None:
        self.__dict__["_op_label"] = text

    @property
    def parents(self) -> tuple[Tensor, ...]:
        """The inputs of the op that made this tensor (empty for a leaf)."""
        self._fresh()
        return self._parents

    @property
    def is_leaf(self) -> _bool:
        self._fresh()
        return not self._parents

    def _fresh(self) -> None:
        # a view whose base changed in place in the graph answers for its new history
        if clock.moved and self._base is not None and _stale(self):
            _refresh(self)

    @property
    def shape(self) -> tuple[_int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> _int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def T(self) -> Tensor:
        if self.ndim == 2:  # a weight's W.T in every linear layer: the short way
            out = _view(self, self._data.T, "permute", _swap_backward)
        else:
            out = self.permute(*reversed(range(self.ndim)))
        if out._parents:
            out.op_label = ".T"
        return out

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def dim(self) -> _int:
        return self._data.ndim

    def numel(self) -> _int:
        return int(self._data.size)

    def size(self, dim: _int | None = None) -> Any:
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

    def __len__(self) -> _int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> _bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} values is ambiguous"
            )
        return bool(self._data)

    def __format__(self, spec: str) -> str:
        # a one-element tensor formats as its number (f"{loss:.4f}"), as in torch
        return format(self.item(), spec) if self.ndim == 0 else object.__format__(self, spec)

    def __float__(self) -> _float:
        return float(self.item())

    def __int__(self) -> _int:
        return int(self.item())

    def __index__(self) -> _int:
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

    def requires_grad_(self, requires_grad: _bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> Tensor:
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._parents:
            self._retains_grad = True
        return self

    @property
    def retains_grad(self) -> _bool:
        return self._retains_grad

    def backward(self, gradient: TensorLike | None = None, retain_graph: _bool | None = None,
                 create_graph: _bool = False, inputs: Sequence[Tensor] | None = None) -> None:
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
    def _version(self) -> _int:
        """How many in-place changes this memory has seen (shared with views), as torch's."""
        return 0 if self._vc is None else self._vc[0]

    def _is_view(self) -> _bool:
        return self._base is not None

    def _counter(self) -> list[_int]:
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

    def write_(self, values: TensorLike, assign: _bool = False) -> Tensor:
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

    def _records_inplace(self, *operands: Any, written: np.ndarray | None = None) -> _bool:
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

    def normal_(self, mean: _float = 0.0, std: _float = 1.0) -> Tensor:
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        values = generator().normal(mean, std, self.shape).astype(self.dtype)
        return self._fill_with(values, "normal_")

    def uniform_(self, a: _float = 0.0, b: _float = 1.0) -> Tensor:
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

    def __iadd__(self, other: TensorLike) -> Tensor:  # type: ignore[misc]
        return self.add_(other)

    def __isub__(self, other: TensorLike) -> Tensor:  # type: ignore[misc]
        return self.sub_(other)

    def __imul__(self, other: TensorLike) -> Tensor:  # type: ignore[misc]
        return self.mul_(other)

    def __itruediv__(self, other: TensorLike) -> Tensor:  # type: ignore[misc]
        return self.div_(other)

    def __ipow__(self, other: TensorLike) -> Tensor:  # type: ignore[misc]
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
    def to(self, *args: Any, dtype: Any = None, device: Any = None, non_blocking: _bool = False,
           copy: _bool = False, memory_format: Any = None) -> Tensor:
        """Cast; d/dx cast(x) = cast back. torch's forms: ``to(dtype)``, ``to(device)``
        (``'cpu'``, the only device), ``to(device, dtype)``, ``to(other)`` (its dtype) and
        the keywords; ``copy=True`` returns a new tensor even when nothing changes."""
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, _Device)) or (
                    isinstance(a, int) and not isinstance(a, bool)):
                if isinstance(a, int):
                    raise RuntimeError(f"to({a}): an int names a CUDA device; the only device "
                                       "here is 'cpu'")
                device = a
            else:
                dtype = a
        check_device(device)
        if dtype is None:
            return self.clone() if copy else self
        out = self._to(dtype)
        return out.clone() if copy and out is self else out

    def _to(self, dtype: Any) -> Tensor:
        dt = as_dtype(dtype)
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

    def is_floating_point(self) -> _bool:
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
            return self._pow_scalar(exponent)  # type: ignore[arg-type]
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
        ec: Any
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
            keep: tuple[np.ndarray | None, ...]
            if lo is not None and hi is not None:
                keep = ((x >= lo) & (x <= hi), (x < lo) & (lo < hi), (x > hi) | (hi < lo))
            elif lo is not None:
                keep = (x >= lo, x < lo, None)
            else:
                keep = (x <= hi, None, x > hi)
            grads = [_masked(g, keep[0]) if self._requires_grad else None]
            for has, k, b in ((has_lo, keep[1], lo_t), (has_hi, keep[2], hi_t)):
                if has:
                    grads.append(_masked(g, k) if b._requires_grad else None)  # type: ignore
            return tuple(grads)

        return record(np.asarray(data), (self,) + bounds, "clamp", backward)

    clip = clamp

    def where(self, condition: TensorLike, other: TensorLike) -> Tensor:
        return where(condition, self, other)

    # ----- reductions -------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: _bool = False, *, dtype: Any = None, axis: Any = None,
            keepdims: _bool | None = None) -> Tensor:
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

    def mean(self, dim: Any = None, keepdim: _bool = False, *, dtype: Any = None,
             axis: Any = None, keepdims: _bool | None = None) -> Tensor:
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

    def var(self, dim: Any = None, unbiased: _bool | None = None, keepdim: _bool = False, *,
            correction: _float | None = None, axis: Any = None,
            keepdims: _bool | None = None) -> Tensor:
        """sum((x - mean)^2) / max(0, n - correction); d/dx_i = 2 (x_i - mean) / (n - correction).
        torch's overloads: ``var(dim, unbiased, keepdim)``, ``var(dim, *, correction,
        keepdim)`` and ``var(unbiased)``; ``unbiased=False`` is ``correction=0``."""
        return self._moment("var", dim, unbiased, keepdim, correction, axis, keepdims)

    def std(self, dim: Any = None, unbiased: _bool | None = None, keepdim: _bool = False, *,
            correction: _float | None = None, axis: Any = None,
            keepdims: _bool | None = None) -> Tensor:
        """sqrt(var) with ``var``'s arguments; d/dx = d var/dx / (2 std), taken as 0 where
        std == 0 (a constant input: no direction is preferred), as torch's."""
        return self._moment("std", dim, unbiased, keepdim, correction, axis, keepdims)

    def _moment(self, op: str, dim: Any, unbiased: _bool | None, keepdim: _bool,
                correction: _float | None, axis: Any, keepdims: _bool | None) -> Tensor:
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

    def _extreme(self, dim: Any, keepdim: _bool, largest: _bool, op: str) -> Tensor:
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

    def amax(self, dim: Any = None, keepdim: _bool = False, *, axis: Any = None,
             keepdims: _bool | None = None) -> Tensor:
        dim, keepdim = _dim_keepdim(dim, axis, keepdim, keepdims)
        return self._extreme(dim, keepdim, True, "amax")

    def amin(self, dim: Any = None, keepdim: _bool = False, *, axis: Any = None,
             keepdims: _bool | None = None) -> Tensor:
        dim, keepdim = _dim_keepdim(dim, axis, keepdim, keepdims)
        return self._extreme(dim, keepdim, False, "amin")

    def _select_extreme(self, dim: Any, keepdim: _bool, largest: _bool, op: str) -> Any:
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

    def max(self, dim: Any = None, keepdim: _bool = False, *, axis: Any = None,
            keepdims: _bool | None = None) -> Any:
        """``max()``: the largest value; ``max(dim)``: ``(values, indices)``;
        ``max(t)``: ``maximum``."""
        dim, keepdim = _dim_keepdim(dim, axis, keepdim, keepdims)
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        return self._select_extreme(dim, keepdim, True, "max")

    def min(self, dim: Any = None, keepdim: _bool = False, *, axis: Any = None,
            keepdims: _bool | None = None) -> Any:
        dim, keepdim = _dim_keepdim(dim, axis, keepdim, keepdims)
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        return self._select_extreme(dim, keepdim, False, "min")

    def argmax(self, dim: _int | None = None, keepdim: _bool = False) -> Tensor:
        return self._arg(np.argmax, dim, keepdim)

    def argmin(self, dim: _int | None = None, keepdim: _bool = False) -> Tensor:
        return self._arg(np.argmin, dim, keepdim)

    def _arg(self, fn: Callable[..., Any], dim: _int | None, keepdim: _bool) -> Tensor:
        # the index into the flattened tensor when dim is None (shaped all ones with keepdim)
        if dim is None:
            return Tensor(np.array(fn(self._data), dtype=np.int64).reshape(
                (1,) * self.ndim if keepdim else ()))
        (axis,) = _dims(dim, self.ndim)
        return Tensor(fn(self._data, axis=axis, keepdims=keepdim).astype(np.int64))

    def logsumexp(self, dim: Any = None, keepdim: _bool = False, *, axis: Any = None,
                  keepdims: _bool | None = None) -> Tensor:
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
    def _reshaped(self, shape: tuple[_int, ...], op: str) -> Tensor:
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

    def flatten(self, start_dim: _int = 0, end_dim: _int = -1) -> Tensor:
        if self.ndim == 0:
            return self._reshaped((1,), "flatten")
        s, e = _dims(start_dim, self.ndim)[0], _dims(end_dim, self.ndim)[0]
        shape = self.shape[:s] + (int(np.prod(self.shape[s:e + 1])),) + self.shape[e + 1:]
        return self._reshaped(shape, "flatten")

    def unsqueeze(self, dim: _int) -> Tensor:
        d = _dim(dim, self.ndim + 1)
        return self._reshaped(self.shape[:d] + (1,) + self.shape[d:], "unsqueeze")

    def squeeze(self, dim: Any = None) -> Tensor:
        axes = _dims(dim, self.ndim)
        shape = tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1))
        return self._reshaped(shape, "squeeze")

    def transpose(self, dim0: _int, dim1: _int) -> Tensor:
        # its own inverse
        if self.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
            return self._reshaped(self.shape, "transpose")
        d0, d1 = _dims(dim0, self.ndim)[0], _dims(dim1, self.ndim)[0]
        out = _view(self, self._data.swapaxes(d0, d1), "transpose",
                    lambda g, out: (g.transpose(d0, d1),))
        if out._parents:
            out.op_label = f"transpose({d0}, {d1})"
        return out

    swapaxes = transpose

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D"
            )
        # a matrix's t() is torch's TBackward0 node (the W.t() of every F.linear)
        if self.ndim < 2:
            return self
        out = _view(self, self._data.T, "t", _swap_backward)
        if out._parents:
            out.op_label = ".t()"
        return out

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
        return _view(self, self._data.transpose(perm), "permute", lambda g, out: (
            g.permute(inverse) if state.enabled else _constant(g._data.transpose(inverse)),))

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
            out = _view(self, data, "getitem", backward, indices)
        else:
            out = record(np.asarray(data), (self,), "getitem", backward, saved=indices)
        if out._parents:
            out.__dict__["_picked"] = index
        return out

    def clone(self) -> Tensor:
        # d/dx copy(x) = 1
        return record(self._data.copy(), (self,), "clone", lambda g, out: (g,))

    # ----- conveniences ---------------------------------------------------------------
    def _softmax_input(self, dim: _int, dtype: Any, name: str) -> Tensor | None:
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

    def softmax(self, dim: _int = -1, dtype: Any = None) -> Tensor:
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

    def log_softmax(self, dim: _int = -1, dtype: Any = None) -> Tensor:
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

    # ----- device: one, the CPU -------------------------------------------------------
    @property
    def device(self) -> device:
        """Where the values live: always the CPU (``device(type='cpu')``, printed ``cpu``)."""
        return _CPU

    @property
    def is_cuda(self) -> _bool:
        return False

    def cpu(self) -> Tensor:
        """This tensor (it is on the CPU already), as torch's ``cpu()`` of a CPU tensor."""
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> Tensor:
        raise RuntimeError("cuda(): there is no CUDA device here, only 'cpu'; write "
                           "t.to(device) with device = 'cpu' (or leave the tensor where it is)")

    # ----- the graph as torch shows it --------------------------------------------------
    @property
    def grad_fn(self) -> GradFn | None:
        """The node that made this tensor (``None`` for a leaf or a tensor outside the
        graph): ``grad_fn.name()`` names the op, ``next_functions`` leads to its inputs."""
        self._fresh()
        if not self._parents or not self._requires_grad:
            return None
        return GradFn(self.op, self._parents)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> engine.RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a tensor it returns
        replaces the gradient (what flows on, and what a leaf accumulates). Returns a handle
        whose ``remove()`` unregisters it."""
        if not self.requires_grad:
            raise RuntimeError(
                "cannot register a hook on a tensor that doesn't require gradient")
        hooks = self.__dict__.get("_hooks")
        if hooks is None:
            hooks = self._hooks = {}
        return engine.RemovableHandle(hooks, hook)

    # ----- more elementwise ops ---------------------------------------------------------
    def _unary(self, fn: Callable[[np.ndarray], np.ndarray], op: str, backward: Backward) -> Tensor:
        """``fn`` elementwise, integers and bools giving float32, float16 computed in float32."""
        x = self._data
        with np.errstate(all="ignore"):
            data = fn(x) if x.dtype is float32 or x.dtype is float64 else _in_float(fn, x)
        return record(np.asarray(data), (self,), op, backward)

    def sin(self) -> Tensor:
        # d/dx sin x = cos x
        return self._unary(np.sin, "sin", lambda g, out: (g * self.cos(),))

    def cos(self) -> Tensor:
        # d/dx cos x = -sin x
        return self._unary(np.cos, "cos", lambda g, out: (-g * self.sin(),))

    def log1p(self) -> Tensor:
        # d/dx log(1 + x) = 1 / (1 + x)
        return self._unary(np.log1p, "log1p", lambda g, out: (g / (self + 1),))

    def expm1(self) -> Tensor:
        # d/dx (e^x - 1) = e^x = out + 1
        return self._unary(np.expm1, "expm1", lambda g, out: (g * (out + 1),))

    def log2(self) -> Tensor:
        # d/dx log2 x = 1 / (x ln 2)
        return self._unary(np.log2, "log2", lambda g, out: (g / (self * _LN2),))

    def log10(self) -> Tensor:
        # d/dx log10 x = 1 / (x ln 10)
        return self._unary(np.log10, "log10", lambda g, out: (g / (self * _LN10),))

    def rsqrt(self) -> Tensor:
        # d/dx x^(-1/2) = -x^(-3/2) / 2 = -out^3 / 2
        return self._unary(lambda x: 1 / np.sqrt(x), "rsqrt",
                           lambda g, out: (g * out.pow(3) * -0.5,))

    def erf(self) -> Tensor:
        # d/dx erf x = 2 / sqrt(pi) e^(-x^2)
        return self._unary(erf, "erf", lambda g, out: (
            g * (self * self).neg().exp() * _TWO_BY_SQRTPI,))

    def sign(self) -> Tensor:
        # zero gradient (and 0 at NaN, as torch's); integers keep their dtype
        if self.dtype.kind != "f":
            return _constant(np.sign(self._data))
        return self._unary(lambda x: np.where(np.isnan(x), 0, np.sign(x)).astype(x.dtype),
                           "sign", _zero_backward)

    def floor(self) -> Tensor:
        # a step function: zero gradient; integers stay as they are
        return self._rounding(np.floor, "floor")

    def ceil(self) -> Tensor:
        return self._rounding(np.ceil, "ceil")

    def trunc(self) -> Tensor:
        return self._rounding(np.trunc, "trunc")

    def round(self, decimals: _int = 0) -> Tensor:
        # half to even, as torch's
        return self._rounding(lambda x: np.round(x, decimals), "round")

    def _rounding(self, fn: Callable[[np.ndarray], np.ndarray], op: str) -> Tensor:
        if self.dtype.kind != "f":
            return self.clone()
        return record(np.asarray(fn(self._data)), (self,), op, _zero_backward)

    def frac(self) -> Tensor:
        # x - trunc(x); d/dx = 1
        return record(self._data - np.trunc(self._data), (self,), "frac", lambda g, out: (g,))

    def _float_only(self, kernel: str) -> None:
        if self.dtype.kind != "f":
            raise NotImplementedError(f'"{kernel}" not implemented for '
                                      f"'{torch_name(self.dtype)}'; convert with .float() first")

    # ----- activations: one node each, the derivative written with Tensor ops -----------
    def leaky_relu(self, negative_slope: _float = 0.01) -> Tensor:
        # d/dx = 1 where x > 0, else negative_slope
        self._float_only("leaky_relu_cpu")
        if self.dtype == float16:  # computed in float32, rounded once
            return self.float().leaky_relu(negative_slope).to(float16)
        x = self._data
        slope = np.where(x > 0, 1, negative_slope).astype(x.dtype)
        return record(np.where(x > 0, x, x * x.dtype.type(negative_slope)).astype(x.dtype),
                      (self,), "leaky_relu", lambda g, out: (g * slope,))

    def hardtanh(self, min_val: _float = -1.0, max_val: _float = 1.0) -> Tensor:
        # clamp to [min_val, max_val]; d/dx = 1 strictly inside, else 0 (a NaN passes it)
        if min_val > max_val:
            raise ValueError(f"hardtanh: min_val={min_val} cannot be greater than "
                             f"max_val={max_val}")
        x = self._data
        keep = ~((x <= min_val) | (x >= max_val))
        data = np.clip(x, x.dtype.type(min_val), x.dtype.type(max_val))
        return record(data, (self,), "hardtanh", lambda g, out: (_masked(g, keep),))

    def relu6(self) -> Tensor:
        # min(max(x, 0), 6): hardtanh(x, 0, 6), as torch's
        return self.hardtanh(0.0, 6.0)

    def elu(self, alpha: _float = 1.0) -> Tensor:
        # x for x > 0, else alpha (e^x - 1); d/dx = 1, else alpha e^x
        self._float_only("elu_cpu")
        x = self._data
        with np.errstate(over="ignore"):
            data = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype)
        pos = x > 0
        return record(data, (self,), "elu", lambda g, out: (
            where(pos, g, g * self.exp() * alpha),))

    def softplus(self, beta: _float = 1.0, threshold: _float = 20.0) -> Tensor:
        # log(1 + e^(beta x)) / beta, x itself where beta x > threshold; d/dx = s(beta x)
        self._float_only("softplus_cpu")
        x = self._data
        bx = x * x.dtype.type(beta)
        linear = bx > threshold
        data = np.where(linear, x, np.logaddexp(0, bx) / x.dtype.type(beta)).astype(x.dtype)
        return record(data, (self,), "softplus", lambda g, out: (
            where(linear, g, g * (self * beta).sigmoid()),))

    def gelu(self, approximate: str = "none") -> Tensor:
        """x Phi(x) with Phi the standard normal CDF (``approximate='tanh'``: its tanh
        approximation); d/dx = Phi(x) + x phi(x)."""
        self._float_only("GeluKernelImpl")
        if self.dtype == float16:  # computed in float32, rounded once
            return self.float().gelu(approximate).to(float16)
        x = self._data
        if approximate == "none":
            data = x * (erf(x * x.dtype.type(_SQRT1_2)) + 1) * x.dtype.type(0.5)

            def backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
                cdf = ((self * _SQRT1_2).erf() + 1) * 0.5
                pdf = (self * self * -0.5).exp() * _INV_SQRT_2PI
                return (g * (cdf + self * pdf),)

            return record(data.astype(x.dtype), (self,), "gelu", backward)
        if approximate != "tanh":
            raise RuntimeError(f"approximate argument must be either none or tanh, "
                               f"got approximate={approximate!r}")
        k = x.dtype.type(_SQRT_2_BY_PI)
        data = 0.5 * x * (1 + np.tanh(k * (x + x.dtype.type(0.044715) * x * x * x)))

        def tanh_backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
            t = ((self + self * self * self * 0.044715) * _SQRT_2_BY_PI).tanh()
            dinner = (self * self * (3 * 0.044715) + 1) * _SQRT_2_BY_PI
            return (g * ((t + 1) * 0.5 + self * 0.5 * (1 - t * t) * dinner),)

        return record(data.astype(x.dtype), (self,), "gelu", tanh_backward)

    def silu(self) -> Tensor:
        # x s(x); d/dx = s(x) (1 + x (1 - s(x)))
        self._float_only("silu_cpu")
        if self.dtype == float16:  # computed in float32, rounded once
            return self.float().silu().to(float16)
        x = self._data
        data = x * _sigmoid(x) if x.dtype.kind == "f" else _in_float(lambda v: v * _sigmoid(v), x)

        def backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
            s = self.sigmoid()
            return (g * s * (self * (1 - s) + 1),)

        return record(data, (self,), "silu", backward)

    def mish(self) -> Tensor:
        # x tanh(softplus(x)); d/dx = t + x s(x) (1 - t^2) with t = tanh(softplus(x))
        self._float_only("mish_cpu")
        if self.dtype == float16:  # computed in float32, rounded once
            return self.float().mish().to(float16)
        x = self._data
        data = (x * np.tanh(np.logaddexp(0, x))).astype(x.dtype)

        def backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
            t = self.softplus().tanh()
            return (g * (t + self * self.sigmoid() * (1 - t * t)),)

        return record(data, (self,), "mish", backward)

    def logsigmoid(self) -> Tensor:
        # log s(x) = -softplus(-x); d/dx = s(-x)
        self._float_only("log_sigmoid_cpu")
        x = self._data
        return record((-np.logaddexp(0, -x)).astype(x.dtype), (self,), "logsigmoid",
                      lambda g, out: (g * (-self).sigmoid(),))

    def _apply_inplace(self, fn: Callable[[Tensor], Tensor]) -> Tensor:
        """Write ``fn(self)`` into this tensor (an activation's ``inplace=True``): recorded
        in the graph like any in-place op when it has to be, as torch's."""
        if self._records_inplace():
            return self._record_inplace(fn)
        self._data[...] = fn(self.detach())._data
        self._modified()
        return self

    # ----- predicates and logic: _bool results, no gradient ------------------------------
    def isnan(self) -> Tensor:
        return _constant(np.isnan(self._data))

    def isinf(self) -> Tensor:
        return _constant(np.isinf(self._data))

    def isfinite(self) -> Tensor:
        return _constant(np.isfinite(self._data))

    def all(self, dim: Any = None, keepdim: _bool = False) -> Tensor:
        return _constant(np.asarray(self._data.astype(bool).all(
            axis=_dims(dim, self.ndim), keepdims=keepdim)))

    def any(self, dim: Any = None, keepdim: _bool = False) -> Tensor:
        return _constant(np.asarray(self._data.astype(bool).any(
            axis=_dims(dim, self.ndim), keepdims=keepdim)))

    def logical_not(self) -> Tensor:
        return _constant(np.logical_not(self._data))

    def logical_and(self, other: TensorLike) -> Tensor:
        return _constant(np.logical_and(self._data, _as_tensor(other)._data))

    def logical_or(self, other: TensorLike) -> Tensor:
        return _constant(np.logical_or(self._data, _as_tensor(other)._data))

    def logical_xor(self, other: TensorLike) -> Tensor:
        return _constant(np.logical_xor(self._data, _as_tensor(other)._data))

    def isclose(self, other: TensorLike, rtol: _float = 1e-05, atol: _float = 1e-08,
                equal_nan: _bool = False) -> Tensor:
        """|self - other| <= atol + rtol |other|, elementwise."""
        b = _as_tensor(other, self)
        if b.dtype != self.dtype:
            raise RuntimeError(f"isclose: other has dtype {b.dtype} but self has "
                               f"{self.dtype}; expected the same dtype")
        return _constant(np.isclose(self._data, b._data, rtol=rtol, atol=atol,
                                    equal_nan=equal_nan))

    def allclose(self, other: TensorLike, rtol: _float = 1e-05, atol: _float = 1e-08,
                 equal_nan: _bool = False) -> _bool:
        return bool(self.isclose(other, rtol, atol, equal_nan)._data.all())

    def count_nonzero(self, dim: Any = None) -> Tensor:
        return _constant(np.asarray(np.count_nonzero(self._data, axis=_dims(dim, self.ndim)),
                                    dtype=np.int64))

    def nan_to_num(self, nan: _float = 0.0, posinf: _float | None = None,
                   neginf: _float | None = None) -> Tensor:
        # NaN and +-inf replaced; d/dx = 1 where x was finite, else 0
        x = self._data
        data = np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)
        finite = np.isfinite(x)
        return record(data, (self,), "nan_to_num", lambda g, out: (_masked(g, finite),))

    # ----- integer-style division ---------------------------------------------------------
    def floor_divide(self, other: TensorLike) -> Tensor:
        """floor(self / other), as torch's (no derivative: backward raises, as torch's)."""
        b = other if isinstance(other, Tensor) else self._operand(other)
        x, y, dt = _promote(self, b, other, "floor_divide")
        if dt.kind in "iu" and (y == 0).any():
            raise RuntimeError("ZeroDivisionError")
        with np.errstate(all="ignore"):
            data = _rounded(np.floor_divide(x, y), dt)
        return record(np.asarray(data), (self, b), "floor_divide", _floor_divide_backward)

    def remainder(self, other: TensorLike) -> Tensor:
        """self - floor(self / other) other (the sign of ``other``, Python's %);
        d/dself = 1, d/dother = -floor(self / other)."""
        b = other if isinstance(other, Tensor) else self._operand(other)
        x, y, dt = _promote(self, b, other, "remainder")
        if dt.kind in "iu" and (y == 0).any():
            raise RuntimeError("ZeroDivisionError")
        with np.errstate(all="ignore"):
            data = _rounded(np.remainder(x, y), dt)
            q = np.floor_divide(x, y).astype(dt) if b._requires_grad else None
        return record(np.asarray(data), (self, b), "remainder", lambda g, out: (
            g, g * -q if q is not None else None))

    __floordiv__ = floor_divide
    __mod__ = remainder

    def __rfloordiv__(self, other: TensorLike) -> Tensor:
        return self._reflected(other).floor_divide(self)

    def __rmod__(self, other: TensorLike) -> Tensor:
        # torch's remainder(Scalar, Tensor) has no derivative: backward raises, as there
        r = self._reflected(other).remainder(self)
        return record(r._data, (self,), "remainder", _rremainder_backward)

    # ----- reductions and scans -----------------------------------------------------------
    def prod(self, dim: _int | None = None, keepdim: _bool = False, *, dtype: Any = None) -> Tensor:
        """The product; d/dx_i = prod_{j != i} x_j (out / x_i when no x is 0)."""
        if dim is not None and (not isinstance(dim, (int, np.integer)) or isinstance(dim, bool)):
            raise TypeError(f"prod(dim={dim!r}): expected one int (torch's prod reduces one "
                            "dimension or all)")
        x = self._data
        if dtype is not None:
            x = x.astype(as_dtype(dtype))
        elif x.dtype.kind in "biu":
            x = x.astype(int64)
        axes = _dims(dim, self.ndim)
        data = x.prod(axis=axes, keepdims=keepdim and dim is not None)
        kshape = _kept_shape(self.shape, axes)
        src = self if x.dtype == self.dtype else self.to(x.dtype) if x.dtype.kind == "f" else self

        def backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
            gk = g.reshape(kshape)
            if (src._data != 0).all():
                return (gk * out.reshape(kshape) / src,)
            return (gk * _prod_of_others(src, None if dim is None else axes[0]),)

        return record(np.asarray(data), (src,), "prod", backward)

    def cumsum(self, dim: _int, *, dtype: Any = None) -> Tensor:
        # d/dx_i sum_{j <= k} x_j: the gradient summed from the end
        axis = _dim(dim, self.ndim)
        x = self._data if dtype is None else self._data.astype(as_dtype(dtype))
        if x.dtype.kind in "biu" and dtype is None:
            x = x.astype(int64)
        # float16 accumulates in float32, as torch's
        data = (np.cumsum(x, axis=axis, dtype=float32 if x.dtype == float16 else None)
                .astype(x.dtype) if self.ndim else x.copy())
        return record(np.asarray(data), (self,), "cumsum", lambda g, out: (
            g.flip(axis).cumsum(axis).flip(axis) if g.ndim else g,))

    def std_mean(self, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
        return self.std(*args, **kwargs), self._mean_like(*args, **kwargs)

    def var_mean(self, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
        return self.var(*args, **kwargs), self._mean_like(*args, **kwargs)

    def _mean_like(self, dim: Any = None, unbiased: Any = None, keepdim: _bool = False,
                   **kwargs: Any) -> Tensor:
        if isinstance(dim, (bool, np.bool_)):
            dim = None
        return self.mean(kwargs.get("axis", dim), kwargs.get("keepdims", keepdim))

    def median(self, dim: _int | None = None, keepdim: _bool = False) -> Any:
        """The lower median. Without ``dim`` the gradient is shared evenly by the elements
        equal to it; with ``dim``, ``(values, indices)`` and the gradient to that index."""
        if dim is None:
            if self._data.size == 0:
                return Tensor(np.array(np.nan, self.dtype))
            flat = np.sort(self._data.reshape(-1))
            value = flat[(flat.size - 1) // 2]
            if np.isnan(flat[-1]):
                value = flat[-1]
            hit = (self._data == value) | (np.isnan(self._data) & np.isnan(value))
            share = (hit / hit.sum()).astype(self.dtype)
            return record(np.asarray(value), (self,), "median", lambda g, out: (g * share,))
        axis = _dim(dim, self.ndim)
        if self.ndim == 0:
            return MaxResult(self.clone(), Tensor(np.array(0)))
        order = np.argsort(self._data, axis=axis, kind="stable")
        n = self.shape[axis]
        idx = np.take(order, [(n - 1) // 2], axis=axis)
        values = self._pick_along(axis, idx, "median_dim")
        indices = Tensor(idx)
        if not keepdim:
            values, indices = values.squeeze(axis), indices.squeeze(axis)
        return MaxResult(values, indices)

    # ----- ordering ------------------------------------------------------------------------
    def sort(self, dim: _int = -1, descending: _bool = False, stable: _bool = False) -> Any:
        """``(values, indices)``; the gradient goes back to where each value came from."""
        if self.ndim == 0:
            return MaxResult(self.clone(), Tensor(np.array(0)))
        axis = _dim(dim, self.ndim)
        idx = _argsort(self._data, axis, descending)
        return MaxResult(self._pick_along(axis, idx, "sort"), Tensor(idx))

    def argsort(self, dim: _int = -1, descending: _bool = False, stable: _bool = False) -> Tensor:
        if self.ndim == 0:
            return Tensor(np.array(0))
        return Tensor(_argsort(self._data, _dim(dim, self.ndim), descending))

    def topk(self, k: _int, dim: _int = -1, largest: _bool = True, sorted: _bool = True) -> Any:
        """The ``k`` largest (``largest=False``: smallest) along ``dim``, as
        ``(values, indices)``."""
        axis = _dim(dim, self.ndim)
        n = self.shape[axis] if self.ndim else 1
        if not 0 <= k <= n:
            raise RuntimeError(f"selected index k out of range: k={k} for a dimension of "
                               f"size {n}")
        if self.ndim == 0:
            return MaxResult(self.clone(), Tensor(np.array(0)))
        idx = np.take(_argsort(self._data, axis, largest), np.arange(k), axis=axis)
        return MaxResult(self._pick_along(axis, idx, "topk"), Tensor(idx))

    # ----- indexing by tensors --------------------------------------------------------------
    def _along(self, dim: _int, index: Tensor, name: str, src_shape: tuple[_int, ...] | None = None
               ) -> tuple[_int, tuple[np.ndarray, ...]]:
        """torch's gather/scatter index check; the numpy index that picks, for each element
        of ``index``, the element of ``self`` it names along ``dim``."""
        if not isinstance(index, Tensor):
            raise TypeError(f"{name}(): index must be a Tensor, got {type(index).__name__}")
        if index.dtype not in (int64, int32):
            raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index, got "
                               f"{index.dtype}")
        axis = _dim(dim, self.ndim)
        if index.ndim != self.ndim and not (index.ndim <= 1 and self.ndim <= 1):
            raise RuntimeError(f"Index tensor must have the same number of dimensions as "
                               f"{'input' if name == 'gather' else 'self'} tensor")
        for d in range(index.ndim):
            if d != axis and index.shape[d] > self.shape[d]:
                raise RuntimeError(f"Size does not match at dimension {d} expected index "
                                   f"{list(index.shape)} to be no larger than self "
                                   f"{list(self.shape)} apart from dimension {axis}")
            if src_shape is not None and index.shape[d] > src_shape[d]:
                raise RuntimeError(f"Size does not match at dimension {d} expected index "
                                   f"{list(index.shape)} to be no larger than src "
                                   f"{list(src_shape)}")
        i = index._data.reshape(index.shape if self.ndim else ())
        n = self.shape[axis] if self.ndim else 1
        if i.size and (i.min() < -n or i.max() >= n or i.min() < 0):
            bad = i.min() if i.min() < 0 else i.max()
            raise RuntimeError(f"index {bad} is out of bounds for dimension {axis} with size {n}")
        if self.ndim == 0:
            return axis, ()
        grid: list[Any] = list(np.indices(i.shape, sparse=True))
        grid[axis] = i
        return axis, tuple(grid)

    def gather(self, dim: _int, index: Tensor, *, sparse_grad: _bool = False) -> Tensor:
        """out[i][j] = self[index[i][j]][j] (dim 0); the gradient is added back there."""
        _, idx = self._along(dim, index, "gather")
        return self._pick(idx, "gather", (index,))

    def _pick(self, idx: tuple[np.ndarray, ...], op: str, saved: tuple[Tensor, ...] = ()
              ) -> Tensor:
        # the elements at ``idx`` (an advanced index); the gradient is added back there
        shape = self.shape
        if not idx:  # 0-d
            return record(self._data.copy(), (self,), op, lambda g, out: (g,), saved=saved)
        return record(np.asarray(self._data[idx]), (self,), op,
                      lambda g, out: (_scatter(g, idx, shape),), saved=saved)

    def _pick_along(self, axis: _int, idx: np.ndarray, op: str) -> Tensor:
        # sort, topk and median by dim: the values at ``idx`` along ``axis``; torch's save
        # only those indices
        grid: list[Any] = list(np.indices(idx.shape, sparse=True))
        grid[axis] = idx
        return self._pick(tuple(grid), op)

    def take_along_dim(self, indices: Tensor, dim: _int) -> Tensor:
        return self.gather(dim, indices)

    def index_select(self, dim: _int, index: Tensor) -> Tensor:
        axis = _dim(dim, self.ndim)
        return self[(slice(None),) * axis + (index.reshape(-1),)]

    def scatter_add(self, dim: _int, index: Tensor, src: Tensor) -> Tensor:
        """self with src added at ``index`` along ``dim``; d/dself = 1, d/dsrc = g gathered."""
        src = _as_tensor(src, self)
        _, idx = self._along(dim, index, "scatter_add", src.shape)
        part = tuple(slice(0, n) for n in index.shape)
        data = self._data.copy()
        if idx:
            np.add.at(data, idx, src._data[part].astype(data.dtype))
        else:
            data += src._data.astype(data.dtype)
        sshape = src.shape

        def backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, Tensor | None]:
            return g, _gathered(g, dim, index, part, sshape) if src._requires_grad else None

        return record(data, (self, src), "scatter_add", backward, saved=(index,))

    def scatter(self, dim: _int, index: Tensor, src: Any = None, *, value: Any = None,
                reduce: str | None = None) -> Tensor:
        """self with ``src`` (or the number ``value``) written at ``index`` along ``dim``;
        d/dself = 1 except where written, d/dsrc = g gathered."""
        if reduce is not None:
            raise NotImplementedError("scatter(reduce=...) is not supported; use scatter_add "
                                      "for reduce='add'")
        if src is None:
            src = value
        if not isinstance(src, Tensor):
            _, idx = self._along(dim, index, "scatter")
            data = self._data.copy()
            data[idx] = src
            keep = np.ones(self.shape, dtype=bool)
            keep[idx] = False
            return record(data, (self,), "scatter", lambda g, out: (_masked(g, keep),),
                          saved=(index,))
        _, idx = self._along(dim, index, "scatter", src.shape)
        part = tuple(slice(0, n) for n in index.shape)
        data = self._data.copy()
        data[idx] = src._data[part]
        keep = np.ones(self.shape, dtype=bool)
        keep[idx] = False
        sshape = src.shape

        def backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, Tensor | None]:
            return (_masked(g, keep) if self._requires_grad else None,
                    _gathered(g, dim, index, part, sshape) if src._requires_grad else None)

        return record(data, (self, src), "scatter", backward, saved=(index,))

    def scatter_add_(self, dim: _int, index: Tensor, src: Tensor) -> Tensor:
        if self._records_inplace(src):
            return self._record_inplace(lambda old, s: old.scatter_add(dim, index, s), src)
        self._data[...] = self.scatter_add(dim, index, _as_tensor(src, self).detach())._data
        self._modified()
        return self

    def scatter_(self, dim: _int, index: Tensor, src: Any = None, *, value: Any = None,
                 reduce: str | None = None) -> Tensor:
        s = src if src is not None else value
        if self._records_inplace(s):
            if isinstance(s, Tensor):
                return self._record_inplace(lambda old, s: old.scatter(dim, index, s), s)
            return self._record_inplace(lambda old: old.scatter(dim, index, s))
        self._data[...] = self.scatter(dim, index, s.detach() if isinstance(s, Tensor) else s,
                                       reduce=reduce)._data
        self._modified()
        return self

    def masked_fill(self, mask: TensorLike, value: TensorLike) -> Tensor:
        """``value`` where ``mask`` (bool, broadcast to self), else self; the gradient goes
        where each was taken."""
        m = _as_tensor(mask)
        if m.dtype != bool_:
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask "
                               f"with dtype {m.dtype}")
        if isinstance(value, Tensor) and value.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        try:
            keep = ~np.broadcast_to(m._data, self.shape)
        except ValueError:
            raise RuntimeError(f"masked_fill: mask of shape {m.shape} cannot be broadcast to "
                               f"the tensor's shape {self.shape}") from None
        v = value._data if isinstance(value, Tensor) else value
        if self.dtype.kind in "iub" and isinstance(v, float) and not float(v).is_integer():
            raise RuntimeError(f"value cannot be converted to type {torch_name(self.dtype)} "
                               "without overflow")
        data = np.where(keep, self._data, np.asarray(v).astype(self.dtype))
        saved = (m,) if isinstance(mask, Tensor) else ()
        if isinstance(value, Tensor):
            return record(data, (self, value), "masked_fill", lambda g, out: (
                _masked(g, keep), _masked(g, ~keep).sum()), saved=saved)
        return record(data, (self,), "masked_fill", lambda g, out: (_masked(g, keep),),
                      saved=saved)

    def masked_fill_(self, mask: TensorLike, value: TensorLike) -> Tensor:
        if self._records_inplace(value):
            if isinstance(value, Tensor):
                return self._record_inplace(lambda old, v: old.masked_fill(mask, v), value)
            return self._record_inplace(lambda old: old.masked_fill(mask, value))
        v = value.detach() if isinstance(value, Tensor) else value
        self._data[...] = self.detach().masked_fill(mask, v)._data
        self._modified()
        return self

    # ----- movement ---------------------------------------------------------------------------
    def flip(self, *dims: Any) -> Tensor:
        # a copy reversed along ``dims``; its own inverse
        if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)):
            dims = tuple(dims[0])
        axes = _dims(dims, self.ndim) if dims else ()
        return record(np.flip(self._data, axes).copy(), (self,), "flip",
                      lambda g, out: (g.flip(axes),))

    def fliplr(self) -> Tensor:
        return self.flip(1)

    def flipud(self) -> Tensor:
        return self.flip(0)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        # undone by rolling back
        if dims is None:
            flat = self.reshape(-1)
            n = int(shifts if isinstance(shifts, (int, np.integer)) else shifts[0])
            return flat.roll(n, 0).reshape(self.shape)
        sh = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
        ds = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
        if len(sh) != len(ds):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, "
                               f"dims:{len(ds)}")
        axes = tuple(_dim(d, self.ndim, "dims") for d in ds)
        back = tuple(-s for s in sh)
        return record(np.roll(self._data, sh, axes), (self,), "roll",
                      lambda g, out: (g.roll(back, axes),))

    def repeat(self, *sizes: Any) -> Tensor:
        """Tile ``sizes`` times (leading sizes add dimensions); d/dx sums the copies."""
        if len(sizes) == 1 and not isinstance(sizes[0], (int, np.integer)):
            sizes = tuple(sizes[0])
        if len(sizes) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                               "number of dimensions of tensor")
        src = (1,) * (len(sizes) - self.ndim) + self.shape
        data = np.tile(self._data.reshape(src), sizes)
        inter = tuple(x for r, n in zip(sizes, src) for x in (r, n))
        shape = self.shape

        def backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
            return (g.reshape(inter).sum(tuple(range(0, len(inter), 2))).reshape(shape),)

        return record(data, (self,), "repeat", backward)

    def tile(self, *dims: Any) -> Tensor:
        if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)):
            dims = tuple(dims[0])
        return self.repeat((1,) * (self.ndim - len(dims)) + tuple(dims))

    def repeat_interleave(self, repeats: Any, dim: _int | None = None, *,
                          output_size: _int | None = None) -> Tensor:
        """Each element repeated ``repeats`` times along ``dim`` (flattened if None)."""
        src = self.reshape(-1) if dim is None else self
        axis = 0 if dim is None else _dim(dim, self.ndim)
        r = repeats._data if isinstance(repeats, Tensor) else np.asarray(repeats)
        n = src.shape[axis] if src.ndim else 1
        if r.ndim and r.size not in (1, n):
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {r.size} and input.size({axis}) = {n}")
        if (r < 0).any():
            raise RuntimeError("repeats can not be negative")
        idx = np.repeat(np.arange(n), r.reshape(-1) if r.ndim else int(r))
        return src[(slice(None),) * axis + (idx,)]

    def chunk(self, chunks: _int, dim: _int = 0) -> tuple[Tensor, ...]:
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        n = self.shape[_dim(dim, self.ndim)]
        return self.split(builtins.max(-(-n // chunks), 1), dim)

    def split(self, split_size_or_sections: Any, dim: _int = 0) -> tuple[Tensor, ...]:
        """Views of consecutive pieces along ``dim``: of ``split_size`` each (the last may be
        smaller), or of the given sizes."""
        axis = _dim(dim, self.ndim)
        n = self.shape[axis]
        if isinstance(split_size_or_sections, (int, np.integer)):
            step = int(split_size_or_sections)
            if step < 0 or (step == 0 and n):
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                                   f"dimension size of {n}")
            sizes = [builtins.min(step, n - s) for s in range(0, n, step)] if step else [0]
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if builtins.sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                                   f"(input tensor's size at dimension {axis}), but got "
                                   f"split_sizes={sizes}")
        lead, out, start = (slice(None),) * axis, [], 0
        for s in sizes:
            out.append(self[lead + (slice(start, start + s),)])
            start += s
        return tuple(out)

    def narrow(self, dim: _int, start: _int, length: _int) -> Tensor:
        axis = _dim(dim, self.ndim)
        n = self.shape[axis]
        if not -n <= start <= n:
            raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but "
                             f"got {start})")
        start = int(start) + n if start < 0 else int(start)
        if length < 0 or start + length > n:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                               f"({n}).")
        return self[(slice(None),) * axis + (slice(start, start + length),)]

    def unbind(self, dim: _int = 0) -> tuple[Tensor, ...]:
        axis = _dim(dim, self.ndim)
        return tuple(self[(slice(None),) * axis + (i,)] for i in range(self.shape[axis]))

    def movedim(self, source: Any, destination: Any) -> Tensor:
        if isinstance(source, (int, np.integer)) != isinstance(destination, (int, np.integer)):
            raise TypeError(f"movedim(source={source!r}, destination={destination!r}): pass "
                            "two ints or two tuples of ints")
        src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
        dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)}"
                               f" dims) should contain the same number of dims as destination "
                               f"({list(dst)} dims)")
        s = [_dim(d, self.ndim, "source") for d in src]
        d = [_dim(x, self.ndim, "destination") for x in dst]
        rest = [i for i in range(self.ndim) if i not in s]
        perm = [-1] * self.ndim
        for a, b in zip(s, d):
            perm[b] = a
        it = iter(rest)
        perm = [p if p >= 0 else next(it) for p in perm]
        return self.permute(perm) if self.ndim else self.view(())

    moveaxis = movedim

    def unflatten(self, dim: _int, sizes: Sequence[_int]) -> Tensor:
        axis = _dim(dim, self.ndim)
        sizes = tuple(sizes)
        if -1 in sizes:
            known = int(np.prod([s for s in sizes if s != -1]))
            sizes = tuple(self.shape[axis] // known if s == -1 else s for s in sizes)
        if int(np.prod(sizes)) != self.shape[axis]:
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to "
                               f"the size of dim {dim} ({self.shape[axis]}) in the input tensor")
        return self.reshape(self.shape[:axis] + sizes + self.shape[axis + 1:])

    def tril(self, diagonal: _int = 0) -> Tensor:
        # zero above the diagonal; the gradient likewise
        return self._triangle(np.tril, diagonal, "tril")

    def triu(self, diagonal: _int = 0) -> Tensor:
        return self._triangle(np.triu, diagonal, "triu")

    def _triangle(self, fn: Callable[..., np.ndarray], k: _int, op: str) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions")
        return record(fn(self._data, k), (self,), op,
                      lambda g, out: (g._triangle(fn, k, op),))

    def diag(self, diagonal: _int = 0) -> Tensor:
        """A 1-D tensor's values on the ``diagonal`` of a square matrix, or a matrix's
        ``diagonal`` as a 1-D tensor."""
        if self.ndim == 1:
            n = self.shape[0] + abs(diagonal)
            rows = np.arange(self.shape[0]) + builtins.max(-diagonal, 0)
            cols = np.arange(self.shape[0]) + builtins.max(diagonal, 0)
            data = np.zeros((n, n), dtype=self.dtype)
            data[rows, cols] = self._data
            return record(data, (self,), "diag", lambda g, out: (g[rows, cols],))
        if self.ndim != 2:
            raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")
        return self.diagonal(diagonal)

    def diagonal(self, offset: _int = 0, dim1: _int = 0, dim2: _int = 1) -> Tensor:
        if self.ndim != 2 or (_dim(dim1, 2), _dim(dim2, 2)) != (0, 1):
            raise NotImplementedError("diagonal(): only a matrix's (dim1=0, dim2=1) diagonal is "
                                      "supported; permute the two dims first")
        r, c = self.shape
        start_r, start_c = builtins.max(-offset, 0), builtins.max(offset, 0)
        k = builtins.max(builtins.min(r - start_r, c - start_c), 0)
        return self[np.arange(k) + start_r, np.arange(k) + start_c]

    def trace(self) -> Tensor:
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        return self.diagonal().sum()

    # ----- products ---------------------------------------------------------------------------
    def mm(self, mat2: Tensor) -> Tensor:
        _check_ndim("mm", self, 2, "self")
        _check_ndim("mm", mat2, 2, "mat2")
        return self.matmul(mat2)

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: Scalar = 1,
              alpha: Scalar = 1) -> Tensor:
        """``beta * self + alpha * (mat1 @ mat2)``, ``self`` broadcast to the product's shape,
        as one node (torch's ``AddmmBackward0``: ``F.linear`` records it for a matrix input
        with a bias). With ``beta=0``, ``self`` is ignored (nan and inf in it too)::

            d/dself = beta * g (summed back to self's shape)
            d/dmat1 = alpha * g @ mat2^T
            d/dmat2 = alpha * mat1^T @ g
        """
        sd = self._data
        ad, bd = getattr(mat1, "_data", None), getattr(mat2, "_data", None)
        if not (ad is not None and bd is not None and ad.ndim == 2 and bd.ndim == 2
                and ad.shape[1] == bd.shape[0] and beta.__class__ is int
                and alpha.__class__ is int and sd.dtype is ad.dtype is bd.dtype
                and sd.shape in ((bd.shape[1],), (ad.shape[0], bd.shape[1]))):
            _addmm_checks(self, mat1, mat2, beta, alpha)  # raises what is wrong, if anything
        inp, a, b = self, mat1, mat2
        data = np.matmul(a._data, b._data)
        if alpha != 1:
            data *= alpha
        if beta != 0:
            data += inp._data if beta == 1 else inp._data * beta

        def backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, ...]:
            if not state.enabled:  # a plain backward: numpy, no nodes
                gd = g._data
                gi = ga = gb = None
                if inp._requires_grad:
                    gi = _sum_to(gd if beta == 1 else gd * beta, inp.shape)
                if a._requires_grad:
                    ga = _constant(_scaled_by(gd @ b._data.T, alpha))
                if b._requires_grad:  # laid out as b is (see matmul)
                    gb = _constant(_scaled_by((gd.T @ a._data).T if _transposed(b._data)
                                          else a._data.T @ gd, alpha))
                return (None if gi is None else _constant(gi)), ga, gb
            return (g * beta if inp._requires_grad else None,
                    (g @ b.mT) * alpha if a._requires_grad else None,
                    (a.mT @ g) * alpha if b._requires_grad else None)

        return record(data, (inp, a, b), "addmm", backward)

    def bmm(self, mat2: Tensor) -> Tensor:
        _check_ndim("bmm", self, 3, "batch1")
        _check_ndim("bmm", mat2, 3, "batch2")
        if self.shape[0] != mat2.shape[0]:
            raise RuntimeError(f"bmm: batch1 has {self.shape[0]} batches, batch2 has "
                               f"{mat2.shape[0]}; expected the same number")
        return self.matmul(mat2)

    def mv(self, vec: Tensor) -> Tensor:
        _check_ndim("mv", self, 2, "self")
        _check_ndim("mv", vec, 1, "vec")
        return self.matmul(vec)

    def dot(self, other: Tensor) -> Tensor:
        _check_ndim("dot", self, 1, "self")
        _check_ndim("dot", other, 1, "tensor")
        if self.shape != other.shape:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{self.shape[0]}] and"
                               f" src [{other.shape[0]}] to have the same number of elements, "
                               "but got different sizes")
        return self.matmul(other)

    def outer(self, vec2: Tensor) -> Tensor:
        _check_ndim("outer", self, 1, "self")
        _check_ndim("outer", vec2, 1, "vec2")
        return self.unsqueeze(1) * vec2.unsqueeze(0)

    ger = outer

    # ----- norms ------------------------------------------------------------------------------
    def norm(self, p: Any = "fro", dim: Any = None, keepdim: _bool = False,
             dtype: Any = None) -> Tensor:
        """The vector p-norm over ``dim`` (all elements by default): 2 ('fro'), 1, inf,
        -inf, 0 or any number. d/dx ||x||_2 = x / ||x||_2, 0 where the norm is 0."""
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind != "f":
            raise RuntimeError(f"norm(): input dtype should be either floating point or "
                               f"complex. Got {torch_name(x.dtype)} instead.")
        if p == "fro" or p is None:
            p = 2
        if p == "nuc" or isinstance(p, str):
            raise NotImplementedError(f"norm(p={p!r}) is not supported: use p=2 ('fro'), "
                                      "1, inf or a number")
        if p == 2:
            return x._norm2(dim, keepdim)
        if p == 1:
            return x.abs().sum(dim, keepdim)
        if p == float("inf"):
            return x.abs().amax(dim, keepdim)
        if p == float("-inf"):
            return x.abs().amin(dim, keepdim)
        if p == 0:
            return (x != 0).to(x.dtype).sum(dim, keepdim).detach()
        return x.abs().pow(p).sum(dim, keepdim).pow(1.0 / p)

    def _norm2(self, dim: Any, keepdim: _bool) -> Tensor:
        axes = _dims(dim, self.ndim)
        kshape = _kept_shape(self.shape, axes)
        x = self._data
        data = np.sqrt((x * x).sum(axis=axes, keepdims=keepdim))

        def backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
            n = out.reshape(kshape)
            zero = n._data == 0
            scale = _masked(g.reshape(kshape) / (n + zero.astype(n.dtype)), ~zero)
            return (self * scale,)

        return record(np.asarray(data), (self,), "norm", backward)

    # ----- sampling -----------------------------------------------------------------------
    def multinomial(self, num_samples: _int, replacement: _bool = False, *,
                    generator: Any = None) -> Tensor:
        """``num_samples`` indices per row, drawn with probability proportional to this
        tensor's (non-negative) weights; rows need not sum to 1. int64."""
        w = self._data.astype(np.float64)
        if w.ndim not in (1, 2):
            raise RuntimeError(f"prob_dist must be 1 or 2 dim, got {w.ndim}")
        if (w < 0).any() or not np.isfinite(w).all():
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        rows = w.reshape(-1, w.shape[-1])
        if (rows.sum(axis=1) <= 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > w.shape[-1]:
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        if num_samples <= 0:
            raise RuntimeError(f"cannot sample n_sample <= 0 samples (num_samples={num_samples})")
        rng = stream(generator)
        out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
        for i, r in enumerate(rows):
            if replacement:
                out[i] = rng.choice(r.size, size=num_samples, p=r / r.sum())
                continue
            # without replacement: the largest Gumbel-perturbed log weights (categories of
            # weight 0 come last, in order, as torch's)
            with np.errstate(divide="ignore"):
                keys = np.log(r) - np.log(-np.log(rng.random(r.size)))
            out[i] = np.argsort(-keys, kind="stable")[:num_samples]
        return Tensor(out.reshape(w.shape[:-1] + (num_samples,)))

    def bernoulli(self, p: _float | None = None, *, generator: Any = None) -> Tensor:
        """1 with probability given by this tensor (or ``p``), else 0, in its dtype."""
        probs = np.asarray(self._data if p is None else np.full(self.shape, p))
        if ((probs < 0) | (probs > 1)).any() or np.isnan(probs).any():
            raise RuntimeError("bernoulli: expected all probabilities in [0, 1]")
        data = (stream(generator).random(self.shape) < probs).astype(self.dtype)
        # a sample: zero gradient, as torch's
        return record(data, (self,), "bernoulli", _zero_backward)

    # ----- construction like this tensor --------------------------------------------------------
    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: _bool = False) -> Tensor:
        return self._new_filled(size, 0, dtype, device, requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None,
                 requires_grad: _bool = False) -> Tensor:
        return self._new_filled(size, 1, dtype, device, requires_grad)

    def new_full(self, size: Sequence[_int], fill_value: Any, *, dtype: Any = None,
                 device: Any = None, requires_grad: _bool = False) -> Tensor:
        return self._new_filled((size,), fill_value, dtype, device, requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: _bool = False) -> Tensor:
        return self._new_filled(size, 0, dtype, device, requires_grad)

    def _new_filled(self, size: tuple[Any, ...], value: Any, dtype: Any, device: Any,
                    requires_grad: _bool) -> Tensor:
        check_device(device)
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        dt = self.dtype if dtype is None else as_dtype(dtype)
        return Tensor(np.full(tuple(int(s) for s in size), value, dtype=dt),
                      requires_grad=requires_grad)

    def new_tensor(self, data: TensorLike, dtype: Any = None, device: Any = None,
                   requires_grad: _bool = False) -> Tensor:
        """A new leaf holding a copy of ``data``, of this tensor's dtype unless told."""
        check_device(device)
        arr = np.array(data._data if isinstance(data, Tensor) else data,
                       dtype=self.dtype if dtype is None else as_dtype(dtype))
        return Tensor(arr, requires_grad=requires_grad)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def contiguous(self, memory_format: Any = None) -> Tensor:
        """This tensor if its memory is laid out in row-major order, else a copy that is."""
        if self._data.flags.c_contiguous:
            return self
        return record(np.ascontiguousarray(self._data), (self,), "clone", lambda g, out: (g,))

    def is_contiguous(self, memory_format: Any = None) -> _bool:
        return bool(self._data.flags.c_contiguous)

    def element_size(self) -> _int:
        return int(self._data.itemsize)


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
        return _constant(np.ones(root._data.shape, dtype=root._data.dtype))
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
                    out.extra_inputs = saved
                return out
    out.op = ""
    out.scope = ()
    out._requires_grad = False
    out._parents = ()
    out._backward = None
    return out


def _copy_labels(src: Tensor, dst: Tensor) -> None:
    d = src.__dict__
    for k in ("extra_inputs", "_op_label", "_picked"):
        if k in d:
            dst.__dict__[k] = d[k]


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
        moved_at > v._recorded_at and old._vc.overwritten  # type: ignore[union-attr]
        for moved_at, old in history)


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
    _copy_labels(t, old)
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
        x = x.astype(as_dtype(dtype), copy=False)
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
    gd = g._data
    bits = _BITS.get(gd.dtype)
    if bits is not None and gd.ndim and gd.shape == keep.shape:
        # the float's bits and'ed with all ones or all zeros: +0.0 where masked (also where
        # g is -x, inf or nan), g's own bits elsewhere; two passes, as fast as `g *= keep`
        mask = np.negative(keep, dtype=bits)
        data = np.bitwise_and(gd.view(bits), mask, out=mask).view(gd.dtype)
    else:
        data = np.where(keep, gd, 0).astype(gd.dtype, copy=False)
    if not state.enabled:  # a plain backward: no node
        return _constant(data)
    return record(data, (g,), "where", lambda g2, out: (_masked(g2, keep),))


def _swap_backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
    # a matrix's .T: the gradient is transposed back
    return (g.permute(1, 0) if state.enabled else _constant(g._data.T),)


_BITS = {np.dtype(f): u for f, u in ((np.float16, np.uint16), (np.float32, np.uint32),
                                       (np.float64, np.uint64))}


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



def _index_text(index: Any) -> str:
    """``[0, 1:3]``, ``[[0, 1], target]``: an index as a picture of the graph names it
    (a named tensor by its name, a few integers by their values)."""
    def part(i: Any) -> str:
        if i is None:
            return "None"
        if i is Ellipsis:
            return "..."
        if isinstance(i, slice):
            return ":".join("" if v is None else str(v) for v in (i.start, i.stop)) + (
                "" if i.step is None else f":{i.step}")
        if isinstance(i, Tensor) and i.name:
            return str(i.name)
        a = np.asarray(i._data if isinstance(i, Tensor) else i)
        if a.ndim == 0:
            return str(a.item())
        if a.size <= 6:
            return str(a.ravel().tolist() if a.ndim == 1 else a.tolist()).replace("True", "T")
        return f"<{'×'.join(map(str, a.shape))} {a.dtype}>"
    parts = index if isinstance(index, tuple) else (index,)
    return "[" + ", ".join(part(i) for i in parts) + "]"


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


def _gathered(g: Tensor, dim: int, index: Tensor, part: tuple[slice, ...],
              shape: tuple[int, ...]) -> Tensor:
    """d/dsrc of scatter and scatter_add: ``g`` gathered at ``index``, placed in the part of
    ``src`` (of ``shape``) that the index covers."""
    gs = g.gather(dim, index)
    return gs if gs.shape == shape else _scatter(gs, part, shape)


def _scatter(g: Tensor, idx: Any, shape: tuple[int, ...]) -> Tensor:
    """Zeros of ``shape`` with ``g`` added at ``idx``: the adjoint of ``x[idx]``."""
    data = np.zeros(shape, dtype=g.dtype)
    if _is_basic(idx):
        data[idx] = g._data
    else:
        np.add.at(data, idx, g._data)
    return record(data, (g,), "scatter", lambda g2, out: (g2[idx],))


# ----- helpers of the ops above -----------------------------------------------------------
_LN2, _LN10 = float(np.log(2)), float(np.log(10))
_SQRT1_2 = float(np.sqrt(0.5))
_TWO_BY_SQRTPI = float(2 / np.sqrt(np.pi))
_INV_SQRT_2PI = float(1 / np.sqrt(2 * np.pi))
_SQRT_2_BY_PI = float(np.sqrt(2 / np.pi))


def _zero_backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
    # a step function (sign, floor, round, ...): zero gradient, with no graph
    return (_constant(np.zeros(g.shape, g.dtype)),)


def _floor_divide_backward(g: Tensor, out: Tensor) -> tuple[Tensor, ...]:
    raise RuntimeError("derivative for floor_divide is not implemented (it is a step "
                       "function); detach its inputs or use div")


def _rremainder_backward(g: Tensor, out: Tensor) -> tuple[Tensor, ...]:
    raise RuntimeError("derivative for remainder(Scalar, Tensor) is not implemented (as in "
                       "torch); write (number - tensor * (number / tensor).floor()) instead")


def _prod_of_others(x: Tensor, axis: int | None) -> Tensor:
    """For each element, the product of the others along ``axis`` (all elements if None):
    the gradient of prod where some element is 0 (out / x would divide by it)."""
    if axis is None:
        return _prod_of_others(x.reshape(-1), 0).reshape(x.shape)
    xm = x.movedim(axis, -1)
    n = xm.shape[-1]
    rows = xm.unsqueeze(-2).expand(xm.shape[:-1] + (n, n))
    return where(np.eye(n, dtype=bool), 1.0, rows).prod(-1).movedim(-1, axis)


def _argsort(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable order along ``axis`` (ties keep their order)."""
    if descending:
        return _argsort_descending(x, axis)
    return np.argsort(x, axis=axis, kind="stable").astype(np.int64)


def _argsort_descending(x: np.ndarray, axis: int) -> np.ndarray:
    n = x.shape[axis]
    # reversed, sorted stably ascending, reversed back: equal elements keep their order
    rev = np.flip(x, axis)
    order = np.argsort(rev, axis=axis, kind="stable")
    return (n - 1 - np.flip(order, axis)).astype(np.int64)


def _addmm_checks(inp: Tensor, mat1: Any, mat2: Any, beta: Any, alpha: Any) -> None:
    """``addmm``'s arguments, checked as torch does (its common case skips this)."""
    _check_ndim("addmm", mat1, 2, "mat1")
    _check_ndim("addmm", mat2, 2, "mat2")
    (n, k), (k2, m) = mat1.shape, mat2.shape
    if k != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({n}x{k} and "
                           f"{k2}x{m})")
    s = inp.shape
    if len(s) > 2 or any(d != 1 and d != want for d, want in zip(s[::-1], (m, n))):
        raise RuntimeError(f"addmm: self of shape {s} does not broadcast to the product's "
                           f"shape ({n}, {m})")
    dts = (inp.dtype, mat1.dtype, mat2.dtype)
    if not dts[0] == dts[1] == dts[2]:
        raise RuntimeError("addmm: self, mat1 and mat2 must have the same dtype, but got "
                           + ", ".join(torch_name(d) for d in dts))
    for name, v in (("beta", beta), ("alpha", alpha)):
        if not is_scalar(v) or (dts[0].kind in "iub" and not float(v).is_integer()):
            raise RuntimeError(f"addmm: {name}={v!r} must be a number (an integer for "
                               f"{torch_name(dts[0])} tensors)")


def _check_ndim(name: str, t: Any, ndim: int, arg: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(t).__name__}")
    if t.ndim != ndim:
        raise RuntimeError(f"{name}: {arg} must be a {ndim}D tensor, got {t.ndim}D "
                           f"(shape {t.shape})")


_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "xla", "meta", "hip", "ipu", "hpu", "mtia")


class device:
    """torch's ``device``: here always the CPU. Prints as ``cpu``; ``device('cuda')`` and
    other accelerators raise (there are none)."""

    def __init__(self, type: Any = "cpu", index: int | None = None) -> None:
        if isinstance(type, device):
            type = type.type  # type: ignore[has-type]
        name = str(type)
        kind, _, number = name.partition(":")
        if kind not in _DEVICE_TYPES or (number and not number.isdigit()):
            raise RuntimeError(f"Invalid device string: {name!r}; the only device here is "
                               "'cpu'")
        if kind != "cpu":
            raise RuntimeError(f"device({name!r}): the only device here is 'cpu'; write "
                               "device = 'cpu' (torch.cuda.is_available() is False here)")
        self.type = "cpu"
        self.index = int(number) if number else index

    def __str__(self) -> str:
        return "cpu" if self.index is None else f"cpu:{self.index}"

    def __repr__(self) -> str:
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type='cpu'{extra})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, device) and (other.type, other.index) == (self.type, self.index)

    def __hash__(self) -> int:
        return hash(("cpu", self.index))


_CPU = device("cpu")
_Device = device  # the class, where a parameter named device hides it


def check_device(value: Any, name: str = "device") -> None:
    """Accept ``None``, ``'cpu'`` or a cpu ``device``; anything else is an error."""
    if value is None or isinstance(value, device):
        return
    if isinstance(value, str):
        device(value)
        return
    raise RuntimeError(f"{name}={value!r}: expected 'cpu' or tinygrad_ce.device('cpu'); "
                       "the only device here is the CPU")


class GradFn:
    """What ``Tensor.grad_fn`` returns: the op that made a tensor, named as torch names its
    nodes (``exp`` gives ``ExpBackward0``); ``next_functions`` leads to the inputs' nodes
    (``AccumulateGrad`` for a leaf that requires grad, ``None`` for a constant)."""

    def __init__(self, op: str, parents: tuple[Tensor, ...]) -> None:
        self.op, self._inputs = op, parents

    def name(self) -> str:
        camel = "".join(w[:1].upper() + w[1:] for w in self.op.strip("_").split("_"))
        return f"{camel}Backward0"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        out: list[tuple[Any, int]] = []
        for p in self._inputs:
            if p._parents and p._requires_grad:
                out.append((GradFn(p.op, p._parents), 0))
            elif p._requires_grad:
                out.append((AccumulateGrad(p), 0))
            else:
                out.append((None, 0))
        return tuple(out)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"


class AccumulateGrad:
    """The node that accumulates a leaf's gradient into its ``.grad`` (``variable``)."""

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    next_functions: tuple[Any, ...] = ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


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


def _sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``engine.unbroadcast`` on arrays: ``g`` summed down to the shape it broadcast from."""
    if g.ndim == 2 and shape == g.shape[1:]:  # a bias: one sum over the batch
        return np.add.reduce(g, axis=0)
    leading, ones = engine.broadcast_axes(g.shape, shape)
    axes = leading + ones
    return np.add.reduce(g, axis=axes).reshape(shape) if axes else g


def _scaled_by(a: np.ndarray, alpha: Any) -> np.ndarray:
    """``a * alpha``, in place (``a`` is a fresh product)."""
    if alpha != 1:
        a *= alpha
    return a


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


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation as ``torch.einsum`` (``'...'`` included). The gradient of each
    operand is itself an einsum: of the output gradient with the other operands."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ts = tuple(_as_tensor(t) for t in operands)
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(ts):
        raise RuntimeError(f"einsum(): the equation {equation!r} names {len(subs)} operands "
                           f"but {len(ts)} were given")
    spare = [c for c in string.ascii_letters if c not in eq]
    dots = builtins.max([t.ndim - len(s) + 3 for s, t in zip(subs, ts) if "..." in s],
                        default=0)
    ell = "".join(spare[:dots])
    spare = spare[dots:]
    subs = [s.replace("...", ell[dots - (t.ndim - len(s) + 3):]) if "..." in s else s
            for s, t in zip(subs, ts)]
    for s, t in zip(subs, ts):
        if len(s) != t.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(s)}) "
                               f"does not match the number of dimensions ({t.ndim}) for an "
                               "operand")
    joined = "".join(subs)
    if arrow:
        rhs = rhs.replace("...", ell)
    else:
        rhs = ell + "".join(sorted(c for c in set(joined) if joined.count(c) == 1 and
                                   c not in ell))
    dt = _common_dtype(ts)
    try:
        data = np.einsum(",".join(subs) + "->" + rhs, *[t._data.astype(dt, copy=False)
                                                        for t in ts])
    except ValueError as e:
        raise RuntimeError(f"einsum({equation!r}): {e}") from None

    def backward(g: Tensor, out: Tensor) -> tuple[Tensor | None, ...]:
        return tuple(_einsum_grad(g, rhs, subs, ts, i, spare) if t._requires_grad else None
                     for i, t in enumerate(ts))

    return record(np.asarray(data), ts, "einsum", backward)


def _einsum_grad(g: Tensor, rhs: str, subs: list[str], ts: tuple[Tensor, ...], i: int,
                 spare: list[str]) -> Tensor:
    """d/d(operand i) of an einsum: g with the other operands, onto operand i's letters;
    a letter no one else has is broadcast back, a repeated one (a diagonal) embedded."""
    s, t = subs[i], ts[i]
    others = [j for j in range(len(ts)) if j != i]
    uniq = "".join(dict.fromkeys(s))
    avail = set(rhs).union(*[set(subs[j]) for j in others])
    keep = "".join(c for c in uniq if c in avail)
    h = einsum(",".join([rhs] + [subs[j] for j in others]) + "->" + keep, g,
               *[ts[j] for j in others])
    sizes = dict(zip(s, t.shape))
    if keep != uniq:
        h = h.reshape([sizes[c] if c in keep else 1 for c in uniq]).expand(
            [sizes[c] for c in uniq])
    if len(uniq) != len(s):
        fresh, seen, target = iter(spare), set(), ""
        terms, tensors = [uniq], [h]
        for c in s:
            if c in seen:
                f = next(fresh)
                target += f
                terms.append(c + f)
                tensors.append(_constant(np.eye(sizes[c], dtype=g.dtype)))
            else:
                seen.add(c)
                target += c
        h = einsum(",".join(terms) + "->" + target, *tensors)
    return h
