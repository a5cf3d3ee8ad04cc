"""Optimizers with torch's names, arguments, state and arithmetic.

Each update follows ``torch.optim``'s single-tensor code line by line (same operations in
the same order), so a run matches torch's loss trajectory to rounding. Updates write into
each parameter's own memory through ``p.write_``, as torch's ``param.add_`` does: a view or
alias taken before the step (``p.detach()``, ``p.data``, ``p.numpy()``, ``W.T``) sees the new
values, and the change is dated, so a backward through a graph recorded before the step
raises (as torch's does) instead of mixing old and new weights.

Hyperparameters are read from ``param_groups`` at every step, so editing a group mid-training
(``opt.param_groups[0]["lr"] = 0.01``, a new ``momentum``) takes effect at the next step.
They may be Python or numpy numbers, used as Python floats (a float32 parameter stays
float32); ``lr`` may also be a 0-d tensor, whose arithmetic follows torch's (the step size
of Adam and Adagrad is computed in the tensor's dtype, as torch computes it).

The state is torch's: ``optimizer.state[p]`` holds tensors under torch's keys (``step`` a
0-d float32 tensor, ``exp_avg``, ``momentum_buffer``, ``square_avg``, ``sum``, ...), and
``state_dict()`` has torch's layout. torch's keywords ``foreach``, ``fused`` and
``capturable`` choose among torch's kernels (multi-tensor, fused, CUDA-graph safe) that
compute the same update: they are accepted, kept in ``param_groups`` and otherwise ignored.
``maximize`` is honoured. ``differentiable=True`` (a step recorded in the autograd graph) is
not supported and raises ``NotImplementedError``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinygrad_ce.engine import enable_grad, zero_grad
from tinygrad_ce.tensor import Tensor
from tinygrad_ce.unsupported import Unsupported

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]

STEP_DTYPE = np.float32  # torch keeps state["step"] as a 0-d float32 tensor


# a torch name or option tinygrad_ce does not have: the package's one error for that
NotSupportedError = Unsupported


def as_array(value: Any) -> np.ndarray | None:
    """A tensor-like value as an ndarray: ours, a numpy array or scalar, or a torch tensor
    (read with ``.detach().cpu().numpy()``, so torch is never imported here); None for
    anything else (Python numbers, strings, None)."""
    if isinstance(value, Tensor):
        return value.numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    if all(hasattr(value, a) for a in ("detach", "cpu", "numpy")):
        return np.asarray(value.detach().cpu().numpy())
    return None


def number(h: Any) -> float:
    """A hyperparameter as a Python float (a 0-d tensor's value)."""
    return float(h.item()) if isinstance(h, Tensor) else float(h)


def _divide(lr: Any, x: float) -> float:
    """``lr / x`` as torch computes it: in a tensor ``lr``'s dtype, else in Python floats."""
    if isinstance(lr, Tensor):
        t = lr.dtype.type
        return float(t(lr.item()) / t(x))
    return number(lr) / x


def _decay_factor(lr: Any, weight_decay: float) -> float:
    """``1 - lr * weight_decay`` as torch computes it (in a tensor ``lr``'s dtype)."""
    if isinstance(lr, Tensor):
        t = lr.dtype.type
        return float(t(1) - t(lr.item()) * t(weight_decay))
    return 1 - number(lr) * weight_decay


def _check_lr(lr: Any) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _kernel_flags(differentiable: bool, fused: bool | None = None,
                  foreach: bool | None = None) -> None:
    # torch's own checks first, then the one flag that means something we do not do
    if fused and differentiable:
        raise RuntimeError("`fused` does not support `differentiable`")
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if differentiable:
        raise NotImplementedError(
            "differentiable=True (an optimizer step recorded in the autograd graph) is not "
            "supported: leave it False, or write the update with Tensor ops yourself")


class Optimizer:
    """Holds ``param_groups`` (a list of dicts: ``params`` plus hyperparameters) and a
    per-parameter ``state``, as ``torch.optim.Optimizer`` does. ``params`` may be tensors,
    ``(name, tensor)`` pairs (``model.named_parameters()``: the names are kept as
    ``param_names``) or dicts of those with per-group options."""

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}"
            )
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)  # type: ignore[arg-type]

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (a dict with ``params`` and any options; the rest from the defaults),
        e.g. layers unfrozen during fine-tuning. Everything is checked before the group is
        added; the dict itself becomes the group, as in torch."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise KeyError("param_group must have a 'params' entry (the tensors to optimize)")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list "
                "instead.")
        params = [params] if isinstance(params, Tensor) else list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names and len(names) != len(params):
            raise ValueError("all optimizer params should be with/without names. Some param "
                             "names are missing")
        if names:
            params = [p[1] for p in params]
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but params[{i}] is a "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (params[{i}])")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params) or len({id(p) for p in params}) != len(params):
            raise ValueError("some parameters appear in more than one parameter group")
        if any(("param_names" in g) != bool(names) for g in self.param_groups):
            raise ValueError("all optimizer param groups should be with/without names.")
        group = {**self.defaults, **param_group, "params": params}
        if names:
            group["param_names"] = names
        self._check(group)
        param_group.clear()
        param_group.update(group)
        self.param_groups.append(param_group)

    def _check(self, group: dict[str, Any]) -> None:
        # torch's comparisons: any real number passes (numpy's too), None or a string is a
        # TypeError from the comparison itself
        _check_lr(group["lr"])
        if not 0.0 <= group.get("weight_decay", 0.0):
            raise ValueError(f"Invalid weight_decay value: {group['weight_decay']}")
        _kernel_flags(group.get("differentiable", False))

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                zero_grad(p, set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        self._opt_called = True  # a schedule stepped before any optimizer step warns
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        todo = []
        for group in self.param_groups:  # check everything before changing anything
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                gd, pd = g._data, p._data
                if gd.shape != pd.shape:
                    raise RuntimeError(
                        f"a parameter of shape {p.shape} has a gradient of shape {g.shape}")
                state = self.state.get(p)
                if state:
                    self._check_state(state, pd.dtype)
                todo.append((p, gd if gd.dtype is pd.dtype else gd.astype(pd.dtype), group))
        states = self.state
        for p, grad, group in todo:
            self._update(p, grad, group, states[p])
        return loss

    def _check_state(self, state: dict[str, Any], dtype: np.dtype) -> None:
        """Raise as torch's step would on state that no longer fits the parameter."""

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        raise NotImplementedError

    # ----- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """torch's layout: ``{"state": {index: {"step": 0-d tensor, "exp_avg": tensor, ...}},
        "param_groups": [{every option, "params": [index, ...]}]}``, parameters numbered in
        order across groups; the tensors are copies. torch's ``load_state_dict`` takes it
        once each tensor is a torch tensor (``torch.from_numpy(t.numpy())``)."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append({**{k: v.clone() if isinstance(v, Tensor) else v
                              for k, v in group.items() if k != "params"}, "params": ids})
        params = [p for g in self.param_groups for p in g["params"]]
        state = {index[id(p)]: {k: v.clone() if isinstance(v, Tensor) else v
                                for k, v in self.state[p].items()}
                 for p in params if self.state.get(p)}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from ``state_dict()``: ours, or a ``torch.optim`` one of the same optimizer
        as it is (its torch tensors are read through ``.numpy()``; torch is not imported).
        Every option of every group, the step counts and the buffers are loaded; buffers take
        their parameter's dtype, as in torch. Everything is checked before anything
        changes."""
        groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
        if not isinstance(groups, list) or not isinstance(state_dict.get("state"), dict):
            raise ValueError("state_dict must be a dict with 'state' and 'param_groups', as "
                             "returned by Optimizer.state_dict()")
        if len(groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(groups)} parameter groups; this "
                             f"optimizer has {len(self.param_groups)}")
        by_index: dict[Any, Tensor] = {}
        new_groups = []
        for i, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group {i} with "
                    f"{len(saved['params'])} parameters; this optimizer's has "
                    f"{len(group['params'])}"
                )
            by_index.update(zip(saved["params"], group["params"]))
            new = {k: _option(k, v) for k, v in saved.items() if k != "params"}
            new["params"] = group["params"]
            if "param_names" in group and "param_names" not in new:
                new["param_names"] = group["param_names"]
            self._check(new)
            new_groups.append(new)
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, values in state_dict["state"].items():
            if key not in by_index:
                raise ValueError(f"loaded state refers to parameter {key!r}, which no group has")
            p = by_index[key]
            entry: dict[str, Any] = {}
            for name, v in values.items():
                if v is None:
                    continue
                arr = as_array(v)
                if name == "step":
                    step = np.array(v if arr is None else arr, copy=True)
                    entry[name] = Tensor(step if step.dtype.kind == "f" else
                                         step.astype(STEP_DTYPE))
                    continue
                if arr is None:
                    entry[name] = v
                    continue
                if arr.shape != p.shape:
                    raise ValueError(f"state {name!r} of parameter {key!r} has shape "
                                     f"{arr.shape}; the parameter has {p.shape}")
                entry[name] = Tensor(np.array(arr, dtype=p.dtype, copy=True))
            new_state[p] = entry
        for group, new in zip(self.param_groups, new_groups):
            group.clear()
            group.update(new)
        self.state = new_state

    def __getattr__(self, name: str) -> Any:
        # only called for what the instance lacks: torch's hooks name what to do instead
        if name in _TORCH_HOOKS:
            raise NotSupportedError(
                f"Optimizer.{name} is not implemented in tinygrad_ce; call your function "
                "before or after opt.step() (or opt.state_dict()) yourself")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


_TORCH_HOOKS = {"register_step_pre_hook", "register_step_post_hook",
                "register_state_dict_pre_hook", "register_state_dict_post_hook",
                "register_load_state_dict_pre_hook", "register_load_state_dict_post_hook"}


def _option(key: str, value: Any) -> Any:
    """A group option from a loaded state dict: torch tensors (a tensor ``lr``) become ours,
    ``betas`` a tuple (as torch keeps it)."""
    if key == "betas" and isinstance(value, list):
        return tuple(value)
    if not isinstance(value, (Tensor, np.ndarray, np.generic)):
        arr = as_array(value)
        if arr is not None:
            return Tensor(np.array(arr, copy=True))
    return value.clone() if isinstance(value, Tensor) else value


def _zeros(p: Tensor, fill: float = 0.0) -> Tensor:
    return Tensor(np.full(p.shape, fill, dtype=p.dtype))


def _count_step(state: dict[str, Any]) -> float:
    """``state["step"] += 1`` in place (a 0-d float32 tensor, as torch's); its new value."""
    step = state["step"].numpy()
    step += 1
    return float(step)


class SGD(Optimizer):
    """Stochastic gradient descent, torch's formulation::

        g = -grad if maximize else grad
        g = g + weight_decay * p
        b = g (first step), else momentum * b + (1 - dampening) * g
        g = g + momentum * b if nesterov else b          (when momentum != 0)
        p = p - lr * g                                   (in place)

    State: ``momentum_buffer`` (when momentum != 0). ``foreach`` and ``fused`` are accepted
    and ignored (the same update); ``maximize`` is honoured; ``differentiable=True`` raises.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _kernel_flags(differentiable, fused, foreach)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        momentum, wd = group["momentum"], group["weight_decay"]
        param = p._data
        if momentum == 0 and wd == 0 and not group["maximize"] and grad.dtype == param.dtype:
            p.write_(np.subtract(param, grad * number(group["lr"]), out=param))  # plain SGD
            return
        momentum, wd = number(momentum), number(wd)
        if group["maximize"]:
            grad = -grad
        if wd != 0:
            grad = grad + wd * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                state["momentum_buffer"] = Tensor(np.array(grad, copy=True))
                b = grad
            else:
                b = buf.numpy()
                b *= momentum
                b += (1 - number(group["dampening"])) * grad
            grad = grad + momentum * b if group["nesterov"] else b
        if grad.dtype != p.dtype:  # a buffer from before model.double(): torch promotes
            grad = grad.astype(p.dtype)
        p.write_(np.subtract(param, grad * number(group["lr"]), out=param))


class Adam(Optimizer):
    """Adam (torch's formulation; ``decoupled_weight_decay=True``, i.e. ``AdamW``, decays
    the weights instead of the gradient)::

        g = -grad if maximize else grad
        g = g + weight_decay * p                          (Adam)
        p = p (1 - lr weight_decay)                       (AdamW)
        m = m + (1 - beta1) (g - m)
        v = beta2 v + (1 - beta2) g^2
        v_hat = max(v_hat, v) if amsgrad else v
        p = p - lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)   (in place)

    State: ``step``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq`` with amsgrad).
    ``foreach``, ``fused`` and ``capturable`` are accepted and ignored (the same update);
    ``maximize`` is honoured; ``differentiable=True`` raises.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i in (0, 1):
            if not 0.0 <= betas[i] < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if any(isinstance(beta, Tensor) for beta in betas[:2]):
            raise NotImplementedError("betas as Tensors are not supported; pass two floats")
        if not all(isinstance(beta, float) for beta in betas[:2]):
            raise ValueError("betas must be either both floats or both Tensors")
        _kernel_flags(differentiable, fused, foreach)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable,
                                      fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _check_state(self, state: dict[str, Any], dtype: np.dtype) -> None:
        # after model.double() (or .float()) the moments keep their old dtype; torch's
        # exp_avg.lerp_(grad) then refuses, and so does this step, before anything moves
        have = state["exp_avg"].dtype
        if have != dtype:
            raise RuntimeError(f"expected dtype {_torch_name(have)} for `end` but got dtype "
                               f"{_torch_name(dtype)}")

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        lr, wd, eps = group["lr"], number(group["weight_decay"]), number(group["eps"])
        beta1, beta2 = map(number, group["betas"])
        param = p.numpy()
        if not state:
            state["step"] = Tensor(np.zeros((), STEP_DTYPE))
            state["exp_avg"] = _zeros(p)
            state["exp_avg_sq"] = _zeros(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _zeros(p)
        if group["maximize"]:
            grad = -grad
        step = _count_step(state)
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.write_(np.multiply(param, _decay_factor(lr, wd), out=param))
            else:
                grad = grad + wd * param
        exp_avg, exp_avg_sq = state["exp_avg"].numpy(), state["exp_avg_sq"].numpy()
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        step_size = _divide(lr, 1 - beta1 ** step)
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:  # amsgrad switched on mid-training
                state["max_exp_avg_sq"] = _zeros(p)
            top = state["max_exp_avg_sq"].numpy()
            np.maximum(top, exp_avg_sq, out=top)
            denom = np.sqrt(top) / bias_correction2_sqrt
        else:
            denom = np.sqrt(exp_avg_sq) / bias_correction2_sqrt
        denom += eps
        update = exp_avg * step_size
        update /= denom
        p.write_(np.subtract(param, update, out=param))


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p = p (1 - lr weight_decay)`` before the step."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


class RMSprop(Optimizer):
    """RMSprop, torch's formulation::

        g = -grad if maximize else grad
        g = g + weight_decay * p
        v = alpha v + (1 - alpha) g^2
        a = a + (1 - alpha) (g - a);  avg = sqrt(v - a^2) + eps     (centered)
        avg = sqrt(v) + eps                                          (otherwise)
        b = momentum b + g / avg;  p = p - lr b                      (momentum > 0)
        p = p - lr g / avg                                           (otherwise)

    State: ``step``, ``square_avg`` (and ``momentum_buffer`` with momentum > 0, ``grad_avg``
    when centered). ``foreach`` and ``capturable`` are accepted and ignored (the same
    update); ``maximize`` is honoured; ``differentiable=True`` raises.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        _kernel_flags(differentiable)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        alpha, eps = number(group["alpha"]), number(group["eps"])
        wd, momentum = number(group["weight_decay"]), number(group["momentum"])
        param = p.numpy()
        if not state:
            state["step"] = Tensor(np.zeros((), STEP_DTYPE))
            state["square_avg"] = _zeros(p)
            if momentum > 0:
                state["momentum_buffer"] = _zeros(p)
            if group["centered"]:
                state["grad_avg"] = _zeros(p)
        if group["maximize"]:
            grad = -grad
        _count_step(state)
        if wd != 0:
            grad = grad + wd * param
        square_avg = state["square_avg"].numpy()
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state.setdefault("grad_avg", _zeros(p)).numpy()
            _lerp_(grad_avg, grad, 1 - alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += eps
        lr = number(group["lr"])
        if momentum > 0:
            buf = state.setdefault("momentum_buffer", _zeros(p)).numpy()
            buf *= momentum
            buf += grad / avg
            p.write_(np.subtract(param, lr * buf, out=param))
        else:
            p.write_(np.subtract(param, lr * (grad / avg), out=param))


class Adagrad(Optimizer):
    """Adagrad, torch's formulation (``t`` counts this parameter's steps)::

        g = -grad if maximize else grad
        g = g + weight_decay * p
        s = s + g^2                               (s starts at initial_accumulator_value)
        p = p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)

    State: ``step``, ``sum``, made for every parameter at construction, as torch does.
    ``foreach`` and ``fused`` are accepted and ignored (the same update); ``maximize`` is
    honoured; ``differentiable=True`` raises.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _kernel_flags(differentiable, fused, foreach)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, self.state[p], initial_accumulator_value)

    @staticmethod
    def _init_state(p: Tensor, state: dict[str, Any], initial: float) -> None:
        state["step"] = Tensor(np.zeros((), STEP_DTYPE))
        state["sum"] = _zeros(p, number(initial))

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        if not state:  # a parameter added with add_param_group
            self._init_state(p, state, group["initial_accumulator_value"])
        param = p.numpy()
        step = _count_step(state)
        if group["maximize"]:
            grad = -grad
        wd = number(group["weight_decay"])
        if wd != 0:
            grad = grad + wd * param
        clr = _divide(group["lr"], 1 + (step - 1) * number(group["lr_decay"]))
        state_sum = state["sum"].numpy()
        state_sum += grad * grad
        std = np.sqrt(state_sum)
        std += number(group["eps"])
        p.write_(np.subtract(param, clr * (grad / std), out=param))


_TORCH_DTYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half"}


def _torch_name(dtype: np.dtype) -> str:
    """A dtype as torch's kernels print it (``float``, ``double``, ``c10::Half``)."""
    return _TORCH_DTYPE_NAMES.get(np.dtype(dtype).name, np.dtype(dtype).name)


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start += weight (end - start)`` in place, rounded as torch's ``lerp_``."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NotSupportedError"]
