"""tinygrad_ce: a small, readable autograd engine on numpy, built to show and check
how backpropagation works, the backward of cross-entropy above all."""

from __future__ import annotations

# nn, optim and data build on the engine (tensor, autograd), which imports none of them
from tinygrad_ce import autograd, data, nn, optim
from tinygrad_ce.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from tinygrad_ce.creation import (
    arange,
    eye,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from tinygrad_ce.dtypes import promote_types, result_type
from tinygrad_ce.gradcheck import gradcheck, gradgradcheck
from tinygrad_ce.random import manual_seed
from tinygrad_ce.tensor import (
    Tensor,
    bool_,
    cat,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    record,
    stack,
    uint8,
    where,
)
from tinygrad_ce.threads import get_num_threads, set_num_threads

__version__ = "0.1.0"


def _function(name: str):  # type: ignore[no-untyped-def]
    method = getattr(Tensor, name)

    def fn(input, *args, **kwargs):  # type: ignore[no-untyped-def]
        return method(input if isinstance(input, Tensor) else Tensor(input), *args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = method.__doc__
    return fn


# top-level functions with torch's names: tinygrad_ce.exp(x) == x.exp()
add = _function("add")
sub = _function("sub")
mul = _function("mul")
div = _function("div")
pow = _function("pow")
neg = _function("neg")
exp = _function("exp")
log = _function("log")
sqrt = _function("sqrt")
abs = _function("abs")
tanh = _function("tanh")
sigmoid = _function("sigmoid")
relu = _function("relu")
maximum = _function("maximum")
minimum = _function("minimum")
clamp = _function("clamp")
clip = _function("clip")
square = _function("square")
reciprocal = _function("reciprocal")
sum = _function("sum")
mean = _function("mean")
var = _function("var")
std = _function("std")
max = _function("max")
min = _function("min")
amax = _function("amax")
amin = _function("amin")
argmax = _function("argmax")
argmin = _function("argmin")
logsumexp = _function("logsumexp")
matmul = _function("matmul")
reshape = _function("reshape")
flatten = _function("flatten")
transpose = _function("transpose")
permute = _function("permute")
unsqueeze = _function("unsqueeze")
squeeze = _function("squeeze")
softmax = _function("softmax")
log_softmax = _function("log_softmax")
clone = _function("clone")

__all__ = [
    "Tensor", "autograd", "tensor", "zeros", "ones", "full", "full_like", "arange", "eye",
    "zeros_like", "ones_like", "randn", "rand", "randint", "manual_seed", "float16", "float32",
    "float64", "uint8", "int8", "int16", "int32", "int64", "bool_", "result_type",
    "promote_types", "where", "cat", "stack", "record", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "get_num_threads", "set_num_threads",
    "gradcheck", "gradgradcheck", "nn", "optim", "data",
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid",
    "relu", "maximum", "minimum", "clamp", "clip", "square", "reciprocal", "sum", "mean", "var",
    "std", "max", "min", "amax", "amin", "argmax", "argmin", "logsumexp", "matmul", "reshape",
    "flatten", "transpose", "permute", "unsqueeze", "squeeze", "softmax", "log_softmax", "clone",
]
