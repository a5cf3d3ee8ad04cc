"""tinygrad_ce: a small, readable autograd engine on numpy, built to show and check
how backpropagation works, the backward of cross-entropy above all."""

from __future__ import annotations

# nn, optim, data and testing build on the engine (tensor, autograd), which imports none of them
from tinygrad_ce import autograd, cuda, data, nn, optim, testing
from tinygrad_ce.autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from tinygrad_ce.autograd.gradcheck import gradcheck, gradgradcheck
from tinygrad_ce.creation import (
    arange,
    as_tensor,
    bernoulli,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    get_default_dtype,
    is_tensor,
    linspace,
    multinomial,
    normal,
    numel,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    set_default_dtype,
    tensor,
    zeros,
    zeros_like,
)
from tinygrad_ce.dtypes import promote_types, result_type
from tinygrad_ce.random import Generator, manual_seed
from tinygrad_ce.tensor import (
    Tensor,
    bool_,
    cat,
    device,
    einsum,
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
from tinygrad_ce.unsupported import HINTS, missing

__version__ = "0.1.0"

# torch's dtype aliases
half = float16
float = float32  # noqa: A001
double = float64
long = int64
int = int32  # noqa: A001
bool = bool_  # noqa: A001


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
sin = _function("sin")
cos = _function("cos")
sign = _function("sign")
log1p = _function("log1p")
expm1 = _function("expm1")
log2 = _function("log2")
log10 = _function("log10")
rsqrt = _function("rsqrt")
erf = _function("erf")
floor = _function("floor")
ceil = _function("ceil")
round = _function("round")  # noqa: A001
trunc = _function("trunc")
frac = _function("frac")
prod = _function("prod")
cumsum = _function("cumsum")
gather = _function("gather")
scatter = _function("scatter")
scatter_add = _function("scatter_add")
masked_fill = _function("masked_fill")
index_select = _function("index_select")
take_along_dim = _function("take_along_dim")
isnan = _function("isnan")
isinf = _function("isinf")
isfinite = _function("isfinite")
all = _function("all")  # noqa: A001
any = _function("any")  # noqa: A001
logical_and = _function("logical_and")
logical_or = _function("logical_or")
logical_not = _function("logical_not")
logical_xor = _function("logical_xor")
isclose = _function("isclose")
allclose = _function("allclose")
count_nonzero = _function("count_nonzero")
nan_to_num = _function("nan_to_num")
floor_divide = _function("floor_divide")
remainder = _function("remainder")
mm = _function("mm")
addmm = _function("addmm")
bmm = _function("bmm")
mv = _function("mv")
dot = _function("dot")
outer = _function("outer")
ger = _function("ger")
norm = _function("norm")
sort = _function("sort")
argsort = _function("argsort")
topk = _function("topk")
median = _function("median")
std_mean = _function("std_mean")
var_mean = _function("var_mean")
chunk = _function("chunk")
split = _function("split")
narrow = _function("narrow")
unbind = _function("unbind")
repeat_interleave = _function("repeat_interleave")
tile = _function("tile")
flip = _function("flip")
fliplr = _function("fliplr")
flipud = _function("flipud")
roll = _function("roll")
tril = _function("tril")
triu = _function("triu")
diag = _function("diag")
diagonal = _function("diagonal")
trace = _function("trace")
movedim = _function("movedim")
moveaxis = _function("moveaxis")
unflatten = _function("unflatten")

__all__ = [
    "Tensor", "autograd", "tensor", "zeros", "ones", "full", "full_like", "arange", "eye",
    "zeros_like", "ones_like", "randn", "rand", "randint", "manual_seed", "float16", "float32",
    "float64", "uint8", "int8", "int16", "int32", "int64", "bool_", "result_type",
    "promote_types", "where", "cat", "stack", "record", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "get_num_threads", "set_num_threads",
    "gradcheck", "gradgradcheck", "nn", "optim", "data", "testing",
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid",
    "relu", "maximum", "minimum", "clamp", "clip", "square", "reciprocal", "sum", "mean", "var",
    "std", "max", "min", "amax", "amin", "argmax", "argmin", "logsumexp", "matmul", "reshape",
    "flatten", "transpose", "permute", "unsqueeze", "squeeze", "softmax", "log_softmax", "clone",
    "Generator", "cuda", "device", "inference_mode", "is_inference_mode_enabled", "einsum",
    "as_tensor",
    "bernoulli", "empty", "empty_like", "from_numpy", "get_default_dtype", "set_default_dtype",
    "is_tensor", "linspace", "multinomial", "normal", "numel", "rand_like", "randint_like",
    "randn_like", "randperm", "half", "float", "double", "long", "int", "bool",
    "sin", "cos", "sign", "log1p", "expm1", "log2", "log10", "rsqrt", "erf", "floor", "ceil",
    "round", "trunc", "frac", "prod", "cumsum", "gather", "scatter", "scatter_add",
    "masked_fill", "index_select", "take_along_dim", "isnan", "isinf", "isfinite", "all",
    "any", "logical_and", "logical_or", "logical_not", "logical_xor", "isclose", "allclose",
    "count_nonzero", "nan_to_num", "floor_divide", "remainder", "mm", "addmm", "bmm", "mv", "dot",
    "outer", "ger", "norm", "sort", "argsort", "topk", "median", "std_mean", "var_mean",
    "chunk", "split", "narrow", "unbind", "repeat_interleave", "tile", "flip", "fliplr",
    "flipud", "roll", "tril", "triu", "diag", "diagonal", "trace", "movedim", "moveaxis",
    "unflatten",
]


def __getattr__(name: str) -> object:
    # a torch name we do not have: say so, and what to use instead
    raise missing("tinygrad_ce", name, HINTS)
