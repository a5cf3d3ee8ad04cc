"""What a torch name that tinygrad_ce does not have answers: an error that says so and what
to write instead (a module's ``__getattr__`` raises it), never a bare AttributeError."""

from __future__ import annotations

# torch's name -> what to use here instead
HINTS: dict[str, str] = {
    "compile": "call the model or function directly (there is no compiler here)",
    "jit": "call the model or function directly (there is no TorchScript here)",
    "vmap": "loop over the batch, or write the function for batched inputs",
    "func": "tinygrad_ce.autograd.functional (jacobian, hessian, vjp, jvp, hvp)",
    "cdist": "((a.unsqueeze(1) - b.unsqueeze(0)) ** 2).sum(-1).sqrt()",
    "complex64": "real dtypes only: float32 or float64",
    "complex128": "real dtypes only: float32 or float64",
    "bfloat16": "float16, float32 or float64",
    "kl_div": "tinygrad_ce.nn.functional.kl_div",
    "cumprod": "prod over a dimension, or a loop of cumulative products",
    "fmod": "remainder (%), which takes the sign of the divisor",
    "sparse_coo_tensor": "a dense tensor",
    "distributed": "a single process",
    "backends": "nothing: there is one backend (numpy on the CPU)",
    "mps": "the CPU: device='cpu'",
    "set_printoptions": "numpy.set_printoptions (tensors print through numpy)",
    "use_deterministic_algorithms": "nothing: every op here is deterministic",
}

FUNCTIONAL_HINTS: dict[str, str] = {
    "conv1d": "a Linear layer over unfolded windows",
    "conv2d": "a Linear layer over unfolded windows",
    "max_pool2d": "amax over reshaped windows",
    "interpolate": "repeat_interleave for nearest upsampling",
    "scaled_dot_product_attention": "softmax((q @ k.mT) / sqrt(d)) @ v",
    "hardswish": "x * relu6(x + 3) / 6",
    "selu": "1.0507 * elu(x, 1.6733)",
    "softsign": "x / (1 + x.abs())",
}


class Unsupported(AttributeError, NotImplementedError):
    """A torch name that tinygrad_ce does not provide. It is an AttributeError, so
    ``hasattr`` and ``getattr(m, name, default)`` answer as for any missing name, and a
    NotImplementedError, which is what it means."""


def missing(module: str, name: str, hints: dict[str, str]) -> AttributeError:
    """The error for ``module.name``: a plain AttributeError for Python's own probes
    (dunder names such as ``__wrapped__`` or ``__path__``), else ``Unsupported`` with what
    to write instead."""
    if name.startswith("__") and name.endswith("__"):
        return AttributeError(f"module {module!r} has no attribute {name!r}")
    hint = hints.get(name)
    instead = f"instead: {hint}" if hint else "the README's API section lists what is provided"
    return Unsupported(f"{module}.{name}: not supported here (a torch name {module} does not "
                       f"provide); {instead}")
