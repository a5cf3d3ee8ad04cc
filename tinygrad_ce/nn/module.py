"""``Module``, ``Parameter`` and ``Sequential`` with torch's names, state dicts and checkpoints.

A module keeps its parameters, buffers and submodules in three ordered dicts, filled by
attribute assignment (``self.weight = Parameter(...)``), exactly as torch does; so the
state-dict keys (``"0.weight"``, ``"layers.2.bias"``) are torch's keys for the same
structure, and weights move between the two libraries as plain arrays::

    torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    model.load_state_dict(torch_model.state_dict())

``save``/``load`` write and read ``.npz`` files; a save goes to a temporary file in the same
folder first and then replaces the target in one ``os.replace``, so a crash mid-save never
destroys the previous checkpoint.
"""

from __future__ import annotations

import itertools
import operator
import os
import tempfile
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from tinygrad_ce import engine
from tinygrad_ce.dtypes import as_dtype
from tinygrad_ce.engine import RemovableHandle, zero_grad
from tinygrad_ce.tensor import Tensor, _view, float16, float32, float64, record


class Parameter(Tensor):
    """A leaf Tensor that a ``Module`` registers as a parameter (``requires_grad=True``).

    ``Parameter(t)`` shares ``t``'s array, as ``torch.nn.Parameter`` shares its storage."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=float32)
        if isinstance(data, Tensor):
            data = data._data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` did not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and model: subclass it, assign parameters and submodules
    as attributes in ``__init__``, write ``forward``; call the module to run it.

    Every node recorded during a call carries the module in its ``.scope`` (the graph
    renderer draws each call as a labelled cluster)."""

    training: bool
    _parameters: OrderedDict[str, Any]  # a Parameter or None, per name
    _buffers: OrderedDict[str, Any]  # a Tensor or None
    _non_persistent_buffers_set: set[str]
    _modules: OrderedDict[str, Any]  # a Module or None
    _forward_pre_hooks: OrderedDict[int, Any]
    _forward_hooks: OrderedDict[int, Any]
    _backward_hooks: OrderedDict[int, Any]
    _backward_pre_hooks: OrderedDict[int, Any]

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()

    # ----- registration ---------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        """torch's rules: a Parameter, a Module or a Tensor assigned to a buffer's name is
        registered (re-assigning keeps its place in the registry, so ``parameters()`` and
        ``state_dict()`` keep their order); a registered name takes only its kind or None."""
        d = self.__dict__
        params = d.get("_parameters")
        if params is None:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() call: call "
                "super().__init__() first in your module's __init__"
            )
        modules, buffers = d["_modules"], d["_buffers"]
        if isinstance(value, Parameter):
            _remove(name, buffers, modules, d["_non_persistent_buffers_set"])
            params[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter "
                                f"'{name}' (nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            _remove(name, params, buffers, d["_non_persistent_buffers_set"])
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (nn.Module or None expected)")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(Tensor or None expected)")
            buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        _remove(name, d["_parameters"], d["_buffers"], d["_modules"],
                d["_non_persistent_buffers_set"])
        object.__delattr__(self, name)

    def _check_new_name(self, name: Any, kind: str, registry: dict[str, Any]) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            got = f", got: {name}" if kind == "module" else ""
            raise KeyError(f'{kind} name can\'t contain "."{got}')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None: a declared but absent parameter, like ``bias=False``)."""
        self._check_new_name(name, "parameter", self.__dict__.get("_parameters", {}))
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (nn.Parameter or None required)")
        if param is not None and not param.is_leaf:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must "
                f"be created explicitly. To express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method."
            )
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None,
                        persistent: bool = True) -> None:
        """A tensor that is not trained; in the state dict unless ``persistent=False``."""
        self._check_new_name(name, "buffer", self.__dict__.get("_buffers", {}))
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` (or None) as the child ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_new_name(name, "module", self.__dict__.get("_modules", {}))
        self._modules[name] = module
        object.__setattr__(self, name, module)

    def register_module(self, name: str, module: Module | None) -> None:
        self.add_module(name, module)

    # ----- calling ----------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__
        if not (d.get("_forward_pre_hooks") or d.get("_forward_hooks")
                or d.get("_backward_hooks") or d.get("_backward_pre_hooks")):
            state = engine.state  # engine.scope(self), inline: this runs once per layer
            prev = state.scope
            state.scope = prev + (self,)
            try:
                return self.forward(*args, **kwargs)
            finally:
                state.scope = prev
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        for hook, with_kwargs in list(self._forward_pre_hooks.values()):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        hooks = list(self._backward_hooks.values())
        calls: dict[str, Any] = {"pre": list(self._backward_pre_hooks.values())}
        if hooks:
            args = _wrap_inputs(self, hooks, args, calls)
        with engine.scope(self):
            out = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(self._forward_hooks.values()):
            result = hook(self, args, kwargs, out) if with_kwargs else hook(self, args, out)
            if result is not None:
                out = result
        if hooks or calls["pre"]:
            out = _wrap_outputs(self, hooks, out, calls)
        return out

    # ----- hooks ------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; it may return new args (a tuple,
        or one value). With ``with_kwargs``: ``hook(module, args, kwargs)`` returning None
        or ``(args, kwargs)``."""
        return RemovableHandle(self._forward_pre_hooks, (hook, with_kwargs), prepend)

    def register_forward_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                              with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """``hook(module, args, output)`` runs after ``forward``; a value it returns replaces
        the output. With ``with_kwargs``: ``hook(module, args, kwargs, output)``."""
        if always_call:
            raise NotImplementedError("register_forward_hook(always_call=True) is not "
                                      "supported: leave always_call=False")
        return RemovableHandle(self._forward_hooks, (hook, with_kwargs), prepend)

    def register_full_backward_hook(self, hook: Callable[..., Any],
                                    prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to
        the module's Tensor inputs are computed (tuples, ``None`` for an input that needs
        none); a tuple it returns replaces ``grad_input``. A module returning several
        tensors is refused when called (register a hook per output instead)."""
        return RemovableHandle(self._backward_hooks, hook, prepend)

    def register_full_backward_pre_hook(self, hook: Callable[..., Any],
                                        prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_output)`` runs when the gradient with respect to the module's
        output arrives, before any flows into the module; a tuple it returns replaces
        ``grad_output``."""
        return RemovableHandle(self._backward_pre_hooks, hook, prepend)

    def register_backward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        raise NotImplementedError("register_backward_hook is deprecated in torch and not "
                                  "supported here: use register_full_backward_hook")

    # ----- traversal ----------------------------------------------------------------------
    def named_modules(self, memo: set[Module] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """``(prefix, self)`` then every submodule with its dotted name (``"layers.0"``),
        depth first; a module reachable under several names comes once, under the first,
        unless ``remove_duplicate=False``. Iterative, so any depth works."""
        memo = set() if memo is None else memo
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if module in memo:
                continue
            if remove_duplicate:
                memo.add(module)
            yield name, module
            children = [(f"{name}.{k}" if name else k, m)
                        for k, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else iter([(prefix, self)]))
        seen: set[int] = set()
        for mod_name, module in modules:
            for name, t in getattr(module, registry).items():
                if t is None or id(t) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(t))
                yield (f"{mod_name}.{name}" if mod_name else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Each parameter once, under its first name (a shared module's or a tied weight's
        later names are skipped), unless ``remove_duplicate=False``."""
        yield from self._named_members("_parameters", prefix, recurse,  # type: ignore[misc]
                                       remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on ``self``."""
        for m in reversed(list(self.modules())):
            fn(m)
        return self

    # ----- modes and gradients ------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradients (``None``, or zeros with ``set_to_none=False``)."""
        for p in self.parameters():
            zero_grad(p, set_to_none)

    # ----- dtype ------------------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Cast every floating-point parameter and buffer, in place, as torch's forms do:
        ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)`` (its dtype) or
        the keywords ``device``, ``dtype``, ``non_blocking``. ``"cpu"``, the only device,
        changes nothing."""
        device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword argument(s) {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, bool):  # non_blocking, positionally
                continue
            elif isinstance(arg, str) or type(arg).__name__ == "device":
                device = arg
            else:
                dtype = arg
        if device is not None and str(device).split(":")[0] != "cpu":
            raise RuntimeError(f"device={device!r}: the only device is 'cpu'")
        if dtype is None:
            return self
        dt = as_dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, "
                            f"but got desired dtype={dt}")
        for t in [*self.parameters(), *self.buffers()]:
            if t.dtype.kind == "f" and t.dtype != dt:
                t.write_(t._data.astype(dt), assign=True)
                if t.grad is not None:
                    t.grad = Tensor(t.grad._data.astype(dt))
        return self

    def double(self) -> Module:
        return self.to(float64)

    def half(self) -> Module:
        return self.to(float16)

    def cpu(self) -> Module:
        """The only device: nothing to move."""
        return self

    def type(self, dst_type: Any) -> Module:
        """Cast every parameter and buffer to ``dst_type``, integer buffers too (as torch's
        ``Module.type``; ``to(dtype)`` casts only the floating-point ones)."""
        dt = as_dtype(dst_type)
        for t in [*self.parameters(), *self.buffers()]:
            if t.dtype != dt:
                t.write_(t._data.astype(dt), assign=True)
                if t.grad is not None:
                    t.grad = Tensor(t.grad._data.astype(dt))
        return self

    # ----- lookup by dotted name --------------------------------------------------------
    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path ``target`` (``""`` is the module itself)."""
        if target == "":
            return self
        mod: Module = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{type(mod).__name__} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def _owner_of(self, target: str) -> tuple[Module, str]:
        """The submodule that holds the attribute at the dotted path ``target``, and its name."""
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{type(mod).__name__} has no attribute `{name}`")
        return mod, name

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target`` (``"layers.0.weight"``)."""
        mod, name = self._owner_of(target)
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target`` (``"bn.running_mean"``)."""
        mod, name = self._owner_of(target)
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(mod, name)

    def float(self) -> Module:
        return self.to(float32)

    # ----- state ------------------------------------------------------------------------------
    def state_dict(self, *args: Any, destination: Any = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Any]:
        """Parameters and persistent buffers by torch's dotted key names, in torch's order
        (each module's parameters, then its persistent buffers, then its children's; a
        shared module or a tied weight under every name it has), as numpy arrays (copies: a
        snapshot that later training steps leave alone); ``keep_vars=True`` gives the
        tensors themselves. ``destination`` (a dict) is filled and returned. One walk."""
        if args:  # torch's deprecated positional form: (destination, prefix, keep_vars)
            warnings.warn("Positional args are being deprecated, use kwargs instead.",
                          FutureWarning, stacklevel=2)
            if len(args) > 3:
                raise TypeError(f"state_dict() takes at most 3 positional arguments, got "
                                f"{len(args)}")
            destination, prefix, keep_vars = (*args, *(destination, prefix, keep_vars)  # type: ignore[misc]
                                              [len(args):])
        out: Any = OrderedDict() if destination is None else destination
        for mod_name, module in self.named_modules(remove_duplicate=False):
            skip = module._non_persistent_buffers_set
            head = f"{prefix}{mod_name}." if mod_name else prefix
            for name, t in module._parameters.items():
                if t is not None:
                    out[head + name] = t if keep_vars else t._data.copy()
            for name, t in module._buffers.items():
                if t is not None and name not in skip:
                    out[head + name] = t if keep_vars else t._data.copy()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:
        """Copy arrays (numpy, our Tensors or torch tensors) into the parameters, in place
        and in each parameter's dtype, as torch's ``param.copy_`` does (``assign=True``
        makes each parameter hold a copy of the checkpoint's array, in that array's dtype).
        A tied weight or shared module is loaded under each of its keys, the last winning.
        Everything is checked before anything is written: wrong keys (with ``strict``) or
        shapes raise one RuntimeError that lists them all."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"Expected state_dict to be dict-like, got {type(state_dict).__name__}."
            )
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors: list[str] = []
        arrays: dict[str, np.ndarray] = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = _to_numpy(state_dict[key], key)
            if value.shape != target.shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {value.shape} from "
                    f"checkpoint, the shape in current model is {target.shape}."
                )
                continue
            if value.dtype.kind not in "fiub":
                errors.append(f"{key} has dtype {value.dtype}; expected a numeric array")
                continue
            arrays[key] = np.array(value, dtype=None if assign else target.dtype, copy=True)
        if strict and (missing or unexpected):
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        for key, arr in arrays.items():
            target = own[key]
            target.write_(arr, assign=assign or not target._data.flags.writeable)
        return IncompatibleKeys(missing, unexpected)

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write ``state_dict()`` to ``path``, atomically: ``.safetensors`` (the format
        torch and the model ecosystem read) by that suffix, else ``.npz``."""
        return save(self.state_dict(), path)

    def load(self, path: str | os.PathLike[str], strict: bool = True) -> IncompatibleKeys:
        """Read a checkpoint written by ``save`` into this module."""
        return self.load_state_dict(load(path), strict=strict)

    # ----- repr ---------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [line for line in self.extra_repr().split("\n") if line]
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                return main + lines[0] + ")"
            main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


def _remove(name: str, *registries: Any) -> None:
    for registry in registries:
        if isinstance(registry, dict):
            registry.pop(name, None)
        else:
            registry.discard(name)


def _to_numpy(value: Any, key: str) -> np.ndarray:
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except Exception as e:  # noqa: BLE001 - reported with the key it belongs to
        raise TypeError(f"state_dict[{key!r}] is not array-like: {e}") from None


class Sequential(Module):
    """Modules called one after the other; ``Sequential(a, b)`` names them ``"0"``, ``"1"``
    (or pass an ``OrderedDict`` of names)."""

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                self.add_module(name, module)
            return
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential argument {i} is a {type(m).__name__}, not a Module")
            self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        n = len(items)
        try:
            i = operator.index(index)
        except TypeError:
            raise TypeError(f"Sequential indices must be integers or slices, not "
                            f"{type(index).__name__}") from None
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for a Sequential of length {n}")
        return items[i][1]

    def __setitem__(self, index: int, module: Module) -> None:
        key = list(self._modules)[_position(index, len(self), "Sequential")]
        setattr(self, key, module)

    def __delitem__(self, index: int | slice) -> None:
        keys = list(self._modules)
        doomed = keys[index] if isinstance(index, slice) else \
            [keys[_position(index, len(keys), "Sequential")]]
        for key in doomed:
            delattr(self, key)
        _renumber(self, list(self._modules.values()))  # as torch: the keys stay "0", "1", ...

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, sequential: Iterable[Module]) -> Sequential:
        for m in sequential:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        index = index + n if index < 0 else index
        items = list(self._modules.values())
        items.insert(index, module)
        _renumber(self, items)
        return self


def _renumber(container: Module, modules: list[Module]) -> None:
    """Register ``modules`` as the container's children "0", "1", ... and nothing else."""
    for key in list(container._modules):
        delattr(container, key)
    for i, m in enumerate(modules):
        container.add_module(str(i), m)


def _position(index: Any, n: int, kind: str) -> int:
    try:
        i = operator.index(index)
    except TypeError:
        raise TypeError(f"{kind} indices must be integers or slices, not "
                        f"{type(index).__name__}") from None
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of range for a {kind} of length {n}")
    return i + n if i < 0 else i


class ModuleList(Module):
    """A list of modules, each registered (``"0"``, ``"1"``, ...) so that its parameters
    are the owner's; it has no ``forward``: iterate over it."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[str(_position(index, len(self), "ModuleList"))]

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, str(_position(index, len(self), "ModuleList")), module)

    def __delitem__(self, index: int | slice) -> None:
        keys = list(self._modules)
        doomed = keys[index] if isinstance(index, slice) else \
            [keys[_position(index, len(keys), "ModuleList")]]
        for key in doomed:
            delattr(self, key)
        _renumber(self, list(self._modules.values()))  # as torch's

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList(itertools.chain(self, other))

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        if isinstance(modules, (Module, str)) or not isinstance(modules, Iterable):
            raise TypeError("ModuleList.extend should be called with an iterable, but got "
                            + type(modules).__name__)
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = list(self._modules.values())
        items.insert(index, module)
        _renumber(self, items)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward: iterate over it and call "
                                  "each module")


class ModuleDict(Module):
    """A dict of modules, each registered under its key (in insertion order)."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None
                 = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]
        object.__delattr__(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Any:
        return self._modules.keys()

    def values(self) -> Any:
        return self._modules.values()

    def items(self) -> Any:
        return self._modules.items()

    def pop(self, key: str) -> Module:
        m = self[key]
        del self[key]
        return m

    def clear(self) -> None:
        for key in list(self._modules):
            del self[key]

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        if isinstance(modules, Mapping):
            pairs = list(modules.items())
        elif isinstance(modules, Iterable) and not isinstance(modules, (str, Module)):
            pairs = []
            for j, m in enumerate(modules):
                if not isinstance(m, Iterable) or isinstance(m, (str, Module)):
                    raise TypeError(f"ModuleDict update sequence element #{j} should be "
                                    f"Iterable; is {type(m).__name__}")
                m = tuple(m)  # type: ignore[assignment]
                if len(m) != 2:
                    raise ValueError(f"ModuleDict update sequence element #{j} has length "
                                     f"{len(m)}; 2 is required")
                pairs.append(m)
        else:
            raise TypeError("ModuleDict.update should be called with an iterable of "
                            f"key/value pairs, but got {type(modules).__name__}")
        for key, m in pairs:
            self[key] = m

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward: pick a module by its key")


# Full backward hooks, as torch's BackwardHook: the output passes through an identity view
# whose backward notes grad_output; the input through one whose backward hands
# (grad_input, grad_output) to the hooks and returns what they return instead.
_HOOK_OP = "BackwardHookFunctionBackward"


def _wrap_inputs(module: Module, hooks: list[Any], args: tuple[Any, ...],
                 calls: dict[str, Any]) -> tuple[Any, ...]:
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    grad_positions = [i for i in positions if args[i].requires_grad]
    calls["n_inputs"] = len(positions)
    if not grad_positions or not engine.state.enabled:
        return args
    calls["input"] = True
    if len(grad_positions) > 1:
        return _wrap_several_inputs(module, hooks, args, positions, grad_positions, calls)
    i = grad_positions[0]
    slot = positions.index(i)
    shapes = [(args[j].shape, args[j].dtype) for j in positions]

    def backward(g: Tensor, out: Tensor) -> tuple[Tensor]:
        grad_input = _zeros(shapes)
        grad_input[slot] = g
        result = _run_backward_hooks(module, hooks, tuple(grad_input),
                                     calls.get("grad_output", (None,)))
        return (result[slot] if result is not None else g,)

    x = args[i]
    wrapped = _view(x, x._data, _HOOK_OP, backward)
    return (*args[:i], wrapped, *args[i + 1:])


def _zeros(shapes: list[tuple[tuple[int, ...], np.dtype]]) -> list[Tensor | None]:
    # torch hands the hooks zeros for the tensor inputs that need no gradient
    return [Tensor(np.zeros(shape, dtype)) for shape, dtype in shapes]


def _wrap_several_inputs(module: Module, hooks: list[Any], args: tuple[Any, ...],
                         positions: list[int], grad_positions: list[int],
                         calls: dict[str, Any]) -> tuple[Any, ...]:
    # one node for all the inputs, so the hooks see every input's gradient at once: it
    # holds their values side by side, and each input the module gets is a view of its part
    xs = [args[i] for i in grad_positions]
    dtype = xs[0].dtype
    if any(x.dtype != dtype for x in xs):
        raise NotImplementedError(
            f"register_full_backward_hook: {type(module).__name__} was called with inputs "
            f"of several dtypes ({', '.join(str(x.dtype) for x in xs)}) that require grad; "
            "only one dtype is supported (hook the inputs' gradients one by one instead)")
    ends = np.cumsum([x._data.size for x in xs])
    starts = ends - [x._data.size for x in xs]
    slots = [positions.index(i) for i in grad_positions]
    shapes = [(args[j].shape, args[j].dtype) for j in positions]

    def backward(g: Tensor, out: Tensor) -> tuple[Tensor, ...]:
        grads = [g[int(a):int(b)].reshape(x.shape) for a, b, x in zip(starts, ends, xs)]
        grad_input = _zeros(shapes)
        for slot, gx in zip(slots, grads):
            grad_input[slot] = gx
        result = _run_backward_hooks(module, hooks, tuple(grad_input),
                                     calls.get("grad_output", (None,)))
        return tuple(grads) if result is None else tuple(result[slot] for slot in slots)

    joined = record(np.concatenate([x._data.ravel() for x in xs]), tuple(xs), _HOOK_OP,
                    backward)
    out = list(args)
    for i, a, b, x in zip(grad_positions, starts, ends, xs):
        out[i] = joined[int(a):int(b)].view(x.shape)
    return tuple(out)


def _wrap_outputs(module: Module, hooks: list[Any], out: Any, calls: dict[str, Any]) -> Any:
    if not isinstance(out, Tensor):
        if isinstance(out, (tuple, list)) and any(isinstance(o, Tensor) for o in out):
            raise NotImplementedError(
                f"register_full_backward_hook: {type(module).__name__} returned a "
                f"{type(out).__name__} of tensors; only a module returning one Tensor is "
                "supported (hook the outputs' gradients one by one instead)")
        return out
    if not out.requires_grad:
        return out

    def backward(g: Tensor, o: Tensor) -> tuple[Tensor]:
        for pre in calls["pre"]:
            new = pre(module, (g,))
            if new is not None:
                new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
                if len(new) != 1:
                    raise RuntimeError("Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(new)}, but expected 1")
                g = new[0]
        calls["grad_output"] = (g,)
        if not hooks:
            return (g,)
        if not calls.get("input"):  # no input needs a gradient: the hooks run now
            warnings.warn("Full backward hook is firing when gradients are computed with "
                          "respect to module outputs since no inputs require gradients.",
                          UserWarning, stacklevel=2)
            _run_backward_hooks(module, hooks, (None,) * calls["n_inputs"], (g,))
        return (g,)

    return _view(out, out._data, _HOOK_OP, backward)


def _run_backward_hooks(module: Module, hooks: list[Any], grad_input: tuple[Any, ...],
                        grad_output: tuple[Any, ...]) -> tuple[Any, ...] | None:
    result = None
    for hook in hooks:
        new = hook(module, grad_input if result is None else result, grad_output)
        if new is not None:
            new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
            if len(new) != len(grad_input):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                   f"got {len(new)}, but expected {len(grad_input)}")
            result = new
    return result


def _safetensors() -> Any:
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(".safetensors checkpoints need the safetensors package: "
                          "pip install safetensors") from None
    return safetensors.numpy


def save(obj: Module | Mapping[str, Any], path: str | os.PathLike[str]) -> str:
    """Write a module's state dict (or a dict of arrays) to ``path``: ``.safetensors`` by
    that suffix (no pickle; ``safetensors.torch.load_file`` reads it), else ``.npz``.

    The file is written next to the target under a temporary name and moved into place
    with ``os.replace``: the previous checkpoint survives any failure mid-write."""
    state = obj.state_dict() if isinstance(obj, Module) else obj
    arrays = {str(k): _to_numpy(v, str(k)) for k, v in state.items()}
    path = os.fspath(path)
    if path.endswith(".safetensors"):
        blob = _safetensors().save({k: np.ascontiguousarray(v) for k, v in arrays.items()})
        write: Any = lambda f: f.write(blob)  # noqa: E731
    else:
        write = lambda f: np.savez(f, **arrays)  # type: ignore[arg-type]  # noqa: E731
    folder = os.path.dirname(os.path.abspath(path))
    mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path: str | os.PathLike[str]) -> OrderedDict[str, np.ndarray]:
    """Read a checkpoint (``.safetensors`` by that suffix, else ``.npz``) into an ordered
    dict of arrays."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist")
    if path.endswith(".safetensors"):
        st = _safetensors()
        try:
            with open(path, "rb") as f:
                return OrderedDict(st.load(f.read()))
        except Exception as e:  # noqa: BLE001 - the library's errors are its own types
            raise ValueError(f"{path!r} is not a readable .safetensors checkpoint: {e}") from None
    try:
        # our own file handle: numpy leaves its own open when a truncated zip fails to parse
        with open(path, "rb") as f:
            if f.read(2) != b"PK":  # else numpy would try it as a pickle and say so
                raise ValueError("it is not a zip archive")
            f.seek(0)
            npz = np.load(f, allow_pickle=False)
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise ValueError("it holds a single array, not named arrays")
            with npz:
                return OrderedDict((k, npz[k]) for k in npz.files)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        reason = ("it holds pickled (object) arrays, which are never unpickled"
                  if "pickle" in str(e) else str(e))
        raise ValueError(
            f"{path!r} is not a readable .npz checkpoint (truncated or another format?): "
            f"{reason}"
        ) from None
