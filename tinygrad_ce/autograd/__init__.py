"""torch's ``torch.autograd`` for tinygrad_ce: grad mode, ``grad``, ``backward``, ``Function``.

The engine underneath (topological order, accumulation, versions) is ``tinygrad_ce.engine``;
this package is the torch-named face of it and of what builds on it.
"""

from __future__ import annotations

from tinygrad_ce.autograd import functional
from tinygrad_ce.autograd.function import Function, FunctionCtx, once_differentiable
from tinygrad_ce.autograd.gradcheck import gradcheck, gradgradcheck
from tinygrad_ce.autograd.gradients import backward, grad
from tinygrad_ce.engine import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    scope,
    set_grad_enabled,
    topological_order,
)

__all__ = ["grad", "backward", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "scope", "topological_order", "inference_mode",
           "is_inference_mode_enabled", "functional", "gradcheck", "gradgradcheck", "Function",
           "FunctionCtx", "once_differentiable"]
