"""The bad-input matrix of docs/bad_input.md, one test per row.

An error row names our call, the exception type and a pattern of its message, and torch's
equivalent call: torch must raise the same type (or the type the docs give where we
deliberately differ). A result row checks a documented torch-matching result (NaN propagates,
an empty mean is nan, ...) against torch. A state row checks that a failing call left the
graph, the parameters, the optimizer state and the files as they were.
"""

from __future__ import annotations

import inspect
import os
import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
import tinygrad_ce.nn.functional as F
from tests.helpers import assert_close, compare
from tinygrad_ce import cli, data, nn, optim, viz

DOC = Path(__file__).resolve().parent.parent / "docs" / "bad_input.md"
T, TF = torch, torch.nn.functional


@dataclass(frozen=True)
class Row:
    id: str  # "<function>: <kind of bad input>", as in the docs' table
    ours: Callable[[], Any]
    error: type[BaseException]
    match: str
    torch: Callable[[], Any] | None = None  # torch's equivalent call
    torch_error: type[BaseException] | None = None  # set where torch's type differs (documented)


def _x() -> tg.Tensor:
    return tg.ones(2, 3)


def _xt() -> torch.Tensor:
    return torch.ones(2, 3)


def _leaf() -> tg.Tensor:
    return tg.ones(2, requires_grad=True)


def _leaf_t() -> torch.Tensor:
    return torch.ones(2, requires_grad=True)


def _linear() -> tuple[nn.Linear, torch.nn.Linear]:
    return nn.Linear(3, 2), torch.nn.Linear(3, 2)


def _loss() -> tg.Tensor:
    return (_leaf() * 2).sum()


def _inf_grad(lib: Any) -> Any:
    p = lib.ones(2, requires_grad=True)
    p.grad = lib.tensor([np.inf, 1.0])
    return [p]


def _two_output_module() -> nn.Module:
    class Split(nn.Module):
        def forward(self, a: tg.Tensor) -> tuple[tg.Tensor, tg.Tensor]:
            return a * 2, a * 3

    m = Split()
    m.register_full_backward_hook(lambda mod, gi, go: None)
    return m


def _adam(model: nn.Module) -> optim.Adam:
    return optim.Adam(list(model.parameters()))


def _adam_t(model: torch.nn.Module) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters())


def _sgd() -> tuple[optim.SGD, torch.optim.SGD]:
    ours, theirs = _linear()
    return (optim.SGD(ours.parameters(), lr=0.1, momentum=0.9),
            torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9))


ROWS = [
    # ----- construction -------------------------------------------------------------------
    Row("tensor: list of strings", lambda: tg.tensor(["a", "b"]), TypeError,
        r"data=\['a', 'b'\].*expected numbers", lambda: T.tensor(["a", "b"]), ValueError),
    Row("tensor: arbitrary object", lambda: tg.Tensor(object()), TypeError,
        r"data=<object.*expected numbers", lambda: T.tensor(object()), RuntimeError),
    Row("tensor: ragged nested lists", lambda: tg.tensor([[1.0, 2.0], [3.0]]), TypeError,
        r"data=\[\[1.0, 2.0\], \[3.0\]\] is not numeric array data",
        lambda: T.tensor([[1.0, 2.0], [3.0]]), ValueError),
    Row("tensor: unsupported dtype", lambda: tg.tensor([1.0], dtype="complex128"), TypeError,
        r"dtype='complex128' is not supported"),
    Row("tensor: requires_grad on integers", lambda: tg.tensor([1, 2], requires_grad=True),
        RuntimeError, r"only Tensors of floating point dtype can require gradients; got dtype "
        r"int64", lambda: T.tensor([1, 2], requires_grad=True)),
    Row("zeros: negative size", lambda: tg.zeros(-1), RuntimeError,
        r"size=\(-1,\).*non-negative", lambda: T.zeros(-1)),
    Row("zeros: float size", lambda: tg.zeros(2.5), TypeError, r"size=\(2.5,\).*ints",
        lambda: T.zeros(2.5)),
    Row("arange: zero step", lambda: tg.arange(0, 1, 0), RuntimeError, r"step must be nonzero",
        lambda: T.arange(0, 1, 0)),
    Row("randint: empty range", lambda: tg.randint(5, 5, (2,)), RuntimeError,
        r"low=5, high=5", lambda: T.randint(5, 5, (2,))),
    Row("manual_seed: not an int", lambda: tg.manual_seed("a"), TypeError, r"seed='a'",
        lambda: T.manual_seed("a"), ValueError),
    # ----- ops ------------------------------------------------------------------------------
    Row("binary op: shapes that do not broadcast", lambda: _x() * tg.ones(4), ValueError,
        r"\(2,3\) \(4,\)", lambda: _xt() * T.ones(4), RuntimeError),
    Row("binary op: a string operand", lambda: _x() + "a", TypeError, r"data='a'",
        lambda: _xt() + "a"),
    Row("matmul: inner sizes differ", lambda: _x() @ tg.ones(4, 5), RuntimeError,
        r"\(2, 3\) @ \(4, 5\)", lambda: _xt() @ T.ones(4, 5)),
    Row("matmul: 0-d operand", lambda: _x() @ tg.tensor(2.0), RuntimeError,
        r"at least 1D.*2D and 0D", lambda: _xt() @ T.tensor(2.0)),
    Row("reduction: dim out of range", lambda: _x().sum(dim=2), IndexError,
        r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)",
        lambda: _xt().sum(dim=2)),
    Row("reduction: dim of the wrong type", lambda: _x().sum(dim=1.0), TypeError,
        r"dim=1.0: expected an int or a tuple of ints", lambda: _xt().sum(dim=1.0)),
    Row("reduction: repeated dim", lambda: _x().sum(dim=(0, 0)), RuntimeError,
        r"dim=\(0, 0\).*twice", lambda: _xt().sum(dim=(0, 0))),
    Row("amax/max: empty reduced dim", lambda: tg.ones(0, 3).amax(0), IndexError,
        r"amax\(\): Expected reduction dim 0 to have non-zero size",
        lambda: T.ones(0, 3).amax(0)),
    Row("max(dim): empty reduced dim", lambda: tg.ones(0, 3).max(0), IndexError,
        r"max\(\): Expected reduction dim 0 to have non-zero size",
        lambda: T.ones(0, 3).max(0)),
    Row("amax/max: whole empty tensor", lambda: tg.ones(0, 3).max(), RuntimeError,
        r"Expected reduction dim to be specified for input.numel\(\) == 0",
        lambda: T.ones(0, 3).max()),
    Row("reshape: wrong element count", lambda: _x().reshape(4, 2), RuntimeError,
        r"shape '\[4, 2\]' is invalid for input of size 6", lambda: _xt().reshape(4, 2)),
    Row("permute: repeated dim", lambda: _x().permute(0, 0), RuntimeError,
        r"permute\(dims=\[0, 0\]\)", lambda: _xt().permute(0, 0)),
    Row("expand: incompatible size", lambda: _x().expand(4, 3), RuntimeError,
        r"\(2, 3\) cannot be expanded to \(4, 3\)", lambda: _xt().expand(4, 3)),
    Row("unsqueeze: dim out of range", lambda: _x().unsqueeze(4), IndexError,
        r"Dimension out of range", lambda: _xt().unsqueeze(4)),
    Row("getitem: index out of range", lambda: _x()[5], IndexError,
        r"index 5 is out of range for shape \(2, 3\)", lambda: _xt()[5]),
    Row("getitem: float index", lambda: _x()[1.0], IndexError, r"index 1.0: only integers",
        lambda: _xt()[1.0]),
    Row("getitem: list of strings", lambda: _x()[["a"]], IndexError,
        r"index \['a'\]: tensors used as indices must be long or bool",
        lambda: _xt()[["a"]], TypeError),
    Row("getitem: too many indices", lambda: _x()[0, 0, 0], IndexError, r"too many indices",
        lambda: _xt()[0, 0, 0]),
    Row("cat: sizes differ off the cat dim", lambda: tg.cat([_x(), tg.ones(2, 4)]),
        RuntimeError, r"tensors\[1\] has shape \(2, 4\)",
        lambda: T.cat([_xt(), T.ones(2, 4)])),
    Row("cat: empty sequence", lambda: tg.cat([]), ValueError, r"non-empty",
        lambda: T.cat([])),
    Row("stack: sizes differ", lambda: tg.stack([_x(), tg.ones(3, 2)]), RuntimeError,
        r"equal size.*\(3, 2\) at entry 1", lambda: T.stack([_xt(), T.ones(3, 2)])),
    Row("stack: empty sequence", lambda: tg.stack([]), RuntimeError, r"non-empty",
        lambda: T.stack([])),
    Row("where: non-boolean condition", lambda: tg.where(_x(), _x(), _x()), RuntimeError,
        r"boolean tensor, but got float32", lambda: T.where(_xt(), _xt(), _xt())),
    Row("clamp: neither bound", lambda: _x().clamp(), RuntimeError,
        r"at least one of min and max", lambda: _xt().clamp()),
    Row("item: more than one element", lambda: _x().item(), RuntimeError,
        r"a Tensor with 6 elements cannot be converted to Scalar", lambda: _xt().item()),
    Row("bool: more than one element", lambda: bool(_x()), RuntimeError, r"ambiguous",
        lambda: bool(_xt())),
    Row("to: not a device", lambda: _x().to("foo"), RuntimeError, r"Invalid device string: 'foo'",
        lambda: _xt().to("foo"), RuntimeError),
    Row("function: a string input", lambda: tg.relu("abc"), TypeError, r"data='abc'",
        lambda: T.relu("abc")),
    # ----- autograd ---------------------------------------------------------------------------
    Row("backward: non-scalar output without gradient", lambda: (_leaf() * 2).backward(),
        RuntimeError, r"grad can be implicitly created only for scalar outputs.*\(2,\)",
        lambda: (_leaf_t() * 2).backward()),
    Row("backward: gradient of the wrong shape",
        lambda: (_leaf() * 2).backward(tg.ones(3)), RuntimeError,
        r"Mismatch in shape: gradient has a shape of \(3,\) and output has a shape of \(2,\)",
        lambda: (_leaf_t() * 2).backward(T.ones(3))),
    Row("backward: output does not require grad", lambda: tg.ones(2).sum().backward(),
        RuntimeError, r"does not require grad", lambda: T.ones(2).sum().backward()),
    Row("grad: an input not in the graph",
        lambda: tg.autograd.grad(_leaf().sum(), [_leaf()]), RuntimeError,
        r"inputs\[0\] was not used in the graph.*allow_unused=True",
        lambda: T.autograd.grad(_leaf_t().sum(), [_leaf_t()])),
    Row("grad: an input that does not require grad",
        lambda: tg.autograd.grad(_leaf().sum(), [tg.ones(1)]), RuntimeError,
        r"inputs\[0\] does not require grad",
        lambda: T.autograd.grad(_leaf_t().sum(), [T.ones(1)])),
    Row("grad: grad_outputs count differs", lambda: tg.autograd.grad(
        [_leaf().sum()], [tg.ones(1, requires_grad=True)], [tg.ones(()), tg.ones(())]),
        ValueError, r"grad_outputs has 2 entries but outputs has 1"),
    Row("in-place op on a leaf that requires grad", lambda: _leaf().zero_(), RuntimeError,
        r"a leaf Variable that requires grad is being used in an in-place operation",
        lambda: _leaf_t().zero_()),
    Row("gradcheck: float32 inputs", lambda: tg.gradcheck(
        lambda t: t * 2, [tg.ones(2, requires_grad=True)]), TypeError, r"need float64"),
    # ----- nn.functional ------------------------------------------------------------------------
    Row("cross_entropy: class index out of range",
        lambda: F.cross_entropy(_x(), tg.tensor([0, 3])), IndexError,
        r"Target 3 is out of bounds.*\[0, 3\)",
        lambda: TF.cross_entropy(_xt(), T.tensor([0, 3]))),
    Row("cross_entropy: negative class index",
        lambda: F.cross_entropy(_x(), tg.tensor([0, -1])), IndexError,
        r"Target -1 is out of bounds", lambda: TF.cross_entropy(_xt(), T.tensor([0, -1]))),
    Row("cross_entropy: batch sizes differ",
        lambda: F.cross_entropy(_x(), tg.tensor([0, 1, 2])), ValueError,
        r"Expected input batch_size \(2\) to match target batch_size \(3\)",
        lambda: TF.cross_entropy(_xt(), T.tensor([0, 1, 2]))),
    Row("cross_entropy: float target of the wrong shape",
        lambda: F.cross_entropy(_x(), tg.ones(2)), RuntimeError, r"target has dtype float32 "
        r"and shape \(2,\)", lambda: TF.cross_entropy(_xt(), T.ones(2))),
    Row("cross_entropy: integer logits",
        lambda: F.cross_entropy(tg.tensor([[1, 2]]), tg.tensor([0])), TypeError,
        r"input has dtype int64; expected a floating point",
        lambda: TF.cross_entropy(T.tensor([[1, 2]]), T.tensor([0])), NotImplementedError),
    Row("cross_entropy: unknown reduction",
        lambda: F.cross_entropy(_x(), tg.tensor([0, 1]), reduction="avg"), ValueError,
        r"avg is not a valid value for reduction",
        lambda: TF.cross_entropy(_xt(), T.tensor([0, 1]), reduction="avg")),
    Row("cross_entropy: label_smoothing above 1",
        lambda: F.cross_entropy(_x(), tg.tensor([0, 1]), label_smoothing=1.5), RuntimeError,
        r"label_smoothing must be between 0.0 and 1.0. Got: 1.5",
        lambda: TF.cross_entropy(_xt(), T.tensor([0, 1]), label_smoothing=1.5)),
    Row("cross_entropy: weight of the wrong length",
        lambda: F.cross_entropy(_x(), tg.tensor([0, 1]), weight=tg.ones(2)), RuntimeError,
        r"weight tensor should be defined either for all 3 classes",
        lambda: TF.cross_entropy(_xt(), T.tensor([0, 1]), weight=T.ones(2))),
    Row("cross_entropy: target a list of strings",
        lambda: F.cross_entropy(_x(), ["a", "b"]), TypeError, r"data=\['a', 'b'\]",
        lambda: TF.cross_entropy(_xt(), ["a", "b"])),
    Row("cross_entropy: 0-d input", lambda: F.cross_entropy(tg.tensor(1.0), tg.tensor(0)),
        RuntimeError, r"input is 0-d", lambda: TF.cross_entropy(T.tensor(1.0), T.tensor(0))),
    Row("nll_loss: probability target", lambda: F.nll_loss(_x(), tg.ones(2, 3)), RuntimeError,
        r"0D or 1D target tensor expected, multi-target not supported",
        lambda: TF.nll_loss(_xt(), T.ones(2, 3))),
    Row("one_hot: negative class", lambda: F.one_hot(tg.tensor([-1])), RuntimeError,
        r"Class values must be non-negative", lambda: TF.one_hot(T.tensor([-1]))),
    Row("one_hot: float input", lambda: F.one_hot(tg.tensor([1.0])), RuntimeError,
        r"only applicable to index tensor", lambda: TF.one_hot(T.tensor([1.0]))),
    Row("mse_loss: shapes that do not broadcast", lambda: F.mse_loss(_x(), tg.ones(4)),
        RuntimeError, r"target of shape \(4,\) cannot be broadcast to input of shape \(2, 3\)",
        lambda: TF.mse_loss(_xt(), T.ones(4))),
    Row("softmax: dim out of range", lambda: F.softmax(_x(), dim=3), IndexError,
        r"Dimension out of range", lambda: TF.softmax(_xt(), dim=3)),
    # ----- nn ---------------------------------------------------------------------------------
    Row("Linear: input with the wrong feature count", lambda: nn.Linear(3, 2)(tg.ones(2, 4)),
        RuntimeError, r"in_features=3.*\(2, 4\).*expected 3",
        lambda: T.nn.Linear(3, 2)(T.ones(2, 4))),
    Row("Linear: negative size", lambda: nn.Linear(-1, 2), ValueError,
        r"in_features=-1: expected a non-negative int", lambda: T.nn.Linear(-1, 2),
        RuntimeError),
    Row("MLP: unknown activation", lambda: nn.MLP(2, 4, 3, activation="gelu2"), ValueError,
        r"activation='gelu2': expected one of relu, tanh, sigmoid"),
    Row("Dropout: p outside [0, 1]", lambda: nn.Dropout(1.5), ValueError,
        r"between 0 and 1, but got 1.5", lambda: T.nn.Dropout(1.5)),
    Row("Sequential: not a Module", lambda: nn.Sequential(3), TypeError, r"int, not a Module",
        lambda: T.nn.Sequential(3)),
    Row("BatchNorm1d: 4-D input", lambda: nn.BatchNorm1d(3)(tg.ones(2, 3, 4, 5)), ValueError,
        r"expected 2D or 3D input \(got 4D input\)",
        lambda: T.nn.BatchNorm1d(3)(T.ones(2, 3, 4, 5))),
    Row("BatchNorm1d: one value per channel in training",
        lambda: nn.BatchNorm1d(3)(tg.ones(1, 3)), ValueError,
        r"Expected more than 1 value per channel when training",
        lambda: T.nn.BatchNorm1d(3)(T.ones(1, 3))),
    Row("BatchNorm1d: input of another dtype",
        lambda: nn.BatchNorm1d(3)(tg.ones(2, 3, dtype=tg.float64)), RuntimeError,
        r"mixed dtype \(CPU\): all inputs must share same datatype",
        lambda: T.nn.BatchNorm1d(3)(T.ones(2, 3, dtype=T.float64))),
    Row("layer_norm: normalized_shape not the input's last dims",
        lambda: F.layer_norm(tg.ones(2, 3), (4,)), RuntimeError,
        r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\]",
        lambda: TF.layer_norm(T.ones(2, 3), (4,))),
    Row("embedding: index out of range", lambda: F.embedding(tg.tensor([0, 5]), tg.ones(5, 2)),
        IndexError, r"index out of range in self",
        lambda: TF.embedding(T.tensor([0, 5]), T.ones(5, 2))),
    Row("embedding: float indices", lambda: F.embedding(tg.ones(2), tg.ones(5, 2)),
        RuntimeError, r"'indices' to have one of the following scalar types: Long, Int",
        lambda: TF.embedding(T.ones(2), T.ones(5, 2))),
    Row("Embedding: sparse gradients", lambda: nn.Embedding(3, 2, sparse=True), RuntimeError,
        r"sparse gradients are not supported; use sparse=False"),
    Row("binary_cross_entropy: input outside [0, 1]",
        lambda: F.binary_cross_entropy(tg.ones(3) * 2, tg.ones(3)), RuntimeError,
        r"all elements of input should be between 0 and 1",
        lambda: TF.binary_cross_entropy(T.ones(3) * 2, T.ones(3))),
    Row("binary_cross_entropy_with_logits: target of another size",
        lambda: F.binary_cross_entropy_with_logits(tg.ones(2, 3), tg.ones(3)), ValueError,
        r"Target size \(\[3\]\) must be the same as input size \(\[2, 3\]\)",
        lambda: TF.binary_cross_entropy_with_logits(T.ones(2, 3), T.ones(3))),
    Row("binary_cross_entropy_with_logits: pos_weight that requires grad",
        lambda: F.binary_cross_entropy_with_logits(
            tg.ones(3), tg.ones(3), pos_weight=tg.ones(3, requires_grad=True)), RuntimeError,
        r"not differentiable with respect to argument 'pos_weight'",
        lambda: TF.binary_cross_entropy_with_logits(
            T.ones(3), T.ones(3), pos_weight=T.ones(3, requires_grad=True))),
    Row("smooth_l1_loss: negative beta",
        lambda: F.smooth_l1_loss(tg.ones(3), tg.ones(3), beta=-1.0), RuntimeError,
        r"smooth_l1_loss does not support negative values for beta",
        lambda: TF.smooth_l1_loss(T.ones(3), T.ones(3), beta=-1.0)),
    Row("ModuleList: index out of range", lambda: nn.ModuleList([nn.ReLU()])[3], IndexError,
        r"index 3 is out of range", lambda: T.nn.ModuleList([T.nn.ReLU()])[3]),
    Row("get_submodule: no such module", lambda: _linear()[0].get_submodule("a"),
        AttributeError, r"Linear has no attribute `a`",
        lambda: _linear()[1].get_submodule("a")),
    Row("register_full_backward_hook: a module returning a tuple",
        lambda: _two_output_module()(_leaf()), NotImplementedError,
        r"returned a tuple of tensors; only a module returning one Tensor is supported"),
    Row("init.kaiming_uniform_: a 1-D tensor", lambda: nn.init.kaiming_uniform_(tg.ones(3)),
        ValueError, r"Fan in and fan out can not be computed for tensor with fewer than 2",
        lambda: T.nn.init.kaiming_uniform_(T.ones(3))),
    Row("init.calculate_gain: unknown nonlinearity",
        lambda: nn.init.calculate_gain("swish"), ValueError, r"Unsupported nonlinearity swish",
        lambda: T.nn.init.calculate_gain("swish")),
    Row("init: a generator argument", lambda: nn.init.normal_(tg.ones(3), generator=1),
        TypeError, r"per-call generators are not supported; seed the global one"),
    Row("clip_grad_norm_: non-finite norm with error_if_nonfinite",
        lambda: nn.utils.clip_grad_norm_(_inf_grad(tg), 1.0, error_if_nonfinite=True),
        RuntimeError, r"The total norm of order 2.0 for gradients from `parameters` is "
        r"non-finite", lambda: T.nn.utils.clip_grad_norm_(_inf_grad(T), 1.0,
                                                         error_if_nonfinite=True)),
    Row("load_state_dict: not a mapping", lambda: _linear()[0].load_state_dict([1, 2]),
        TypeError, r"Expected state_dict to be dict-like, got list",
        lambda: _linear()[1].load_state_dict([1, 2])),
    Row("load: missing file", lambda: nn.load("no-such-checkpoint.npz"), FileNotFoundError,
        r"'no-such-checkpoint.npz' does not exist", lambda: T.load("no-such-checkpoint.npz")),
    # ----- optim ------------------------------------------------------------------------------
    Row("optimizer: negative learning rate",
        lambda: optim.SGD(_linear()[0].parameters(), lr=-1), ValueError,
        r"Invalid learning rate: -1", lambda: T.optim.SGD(_linear()[1].parameters(), lr=-1)),
    Row("optimizer: empty parameter list", lambda: optim.Adam([]), ValueError,
        r"empty parameter list", lambda: T.optim.Adam([])),
    Row("optimizer: a single Tensor for params", lambda: optim.SGD(_linear()[0].weight, lr=1),
        TypeError, r"should be an iterable of Tensors or dicts",
        lambda: T.optim.SGD(_linear()[1].weight, lr=1)),
    Row("optimizer: params of the wrong type", lambda: optim.SGD(["a"], lr=1), TypeError,
        r"params\[0\] is a str", lambda: T.optim.SGD(["a"], lr=1)),
    Row("optimizer: non-leaf params", lambda: optim.SGD([_leaf() * 2], lr=1), ValueError,
        r"non-leaf", lambda: T.optim.SGD([_leaf_t() * 2], lr=1)),
    Row("Adam: beta outside [0, 1)",
        lambda: optim.Adam(_linear()[0].parameters(), betas=(1.0, 0.9)), ValueError,
        r"Invalid beta parameter at index 0: 1.0",
        lambda: T.optim.Adam(_linear()[1].parameters(), betas=(1.0, 0.9))),
    Row("SGD: negative momentum",
        lambda: optim.SGD(_linear()[0].parameters(), lr=1, momentum=-1), ValueError,
        r"Invalid momentum value: -1",
        lambda: T.optim.SGD(_linear()[1].parameters(), lr=1, momentum=-1)),
    Row("Optimizer.load_state_dict: another optimizer's groups",
        lambda: _adam(nn.Linear(3, 2)).load_state_dict(
            _adam(nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2))).state_dict()), ValueError,
        r"parameter group 0 with 4 parameters; this optimizer's has 2",
        lambda: _adam_t(T.nn.Linear(3, 2)).load_state_dict(
            _adam_t(T.nn.Sequential(T.nn.Linear(3, 2), T.nn.Linear(2, 2))).state_dict())),
    Row("Optimizer.load_state_dict: not a state dict",
        lambda: _adam(nn.Linear(3, 2)).load_state_dict([1]), ValueError,
        r"state_dict must be a dict with 'state' and 'param_groups'",
        lambda: _adam_t(T.nn.Linear(3, 2)).load_state_dict([1]), TypeError),
    Row("RMSprop: negative alpha",
        lambda: optim.RMSprop(_linear()[0].parameters(), alpha=-0.1), ValueError,
        r"Invalid alpha value: -0.1",
        lambda: T.optim.RMSprop(_linear()[1].parameters(), alpha=-0.1)),
    Row("Adagrad: negative lr_decay",
        lambda: optim.Adagrad(_linear()[0].parameters(), lr_decay=-0.1), ValueError,
        r"Invalid lr_decay value: -0.1",
        lambda: T.optim.Adagrad(_linear()[1].parameters(), lr_decay=-0.1)),
    Row("optimizer: lr a tensor of several elements",
        lambda: optim.SGD(_linear()[0].parameters(), lr=tg.tensor([0.1, 0.2])), ValueError,
        r"Tensor lr must be 1-element",
        lambda: T.optim.SGD(_linear()[1].parameters(), lr=T.tensor([0.1, 0.2]))),
    Row("optimizer: params in a set",
        lambda: optim.SGD([{"params": {_leaf()}}], lr=1), TypeError,
        r"ordered collections.*use a list",
        lambda: T.optim.SGD([{"params": {_leaf_t()}}], lr=1)),
    Row("optimizer: differentiable=True",
        lambda: optim.Adam(_linear()[0].parameters(), differentiable=True),
        NotImplementedError, r"differentiable=True \(an optimizer step recorded in the "
        r"autograd graph\) is not supported"),
    Row("optimizer: fused and foreach both True",
        lambda: optim.Adam(_linear()[0].parameters(), fused=True, foreach=True), RuntimeError,
        r"`fused` and `foreach` cannot be `True` together",
        lambda: T.optim.Adam(_linear()[1].parameters(), fused=True, foreach=True)),
    Row("add_param_group: a parameter already in a group",
        lambda: (lambda o: o.add_param_group({"params": o.param_groups[0]["params"][:1]}))(
            _sgd()[0]), ValueError, r"some parameters appear in more than one parameter group",
        lambda: (lambda o: o.add_param_group({"params": o.param_groups[0]["params"][:1]}))(
            _sgd()[1])),
    Row("optim: a torch optimizer not implemented", lambda: optim.NAdam, NotImplementedError,
        r"torch.optim.NAdam is not implemented in tinygrad_ce.optim; use SGD, Adam"),
    Row("lr_scheduler: a torch schedule not implemented",
        lambda: optim.lr_scheduler.CyclicLR, NotImplementedError,
        r"CyclicLR is not implemented in tinygrad_ce.optim.lr_scheduler; use OneCycleLR"),
    Row("scheduler: not an optimizer", lambda: optim.ExponentialLR("sgd", 0.9), TypeError,
        r"str is not an Optimizer", lambda: T.optim.lr_scheduler.ExponentialLR("sgd", 0.9)),
    Row("OneCycleLR: no total_steps nor epochs",
        lambda: optim.OneCycleLR(_sgd()[0], 0.1), ValueError,
        r"You must define either total_steps OR \(epochs AND steps_per_epoch\)",
        lambda: T.optim.lr_scheduler.OneCycleLR(_sgd()[1], 0.1)),
    Row("ReduceLROnPlateau: factor of 1 or more",
        lambda: optim.ReduceLROnPlateau(_sgd()[0], factor=1.0), ValueError,
        r"Factor should be < 1.0", lambda: T.optim.lr_scheduler.ReduceLROnPlateau(
            _sgd()[1], factor=1.0)),
    Row("LinearLR: start_factor of 0",
        lambda: optim.LinearLR(_sgd()[0], start_factor=0.0), ValueError,
        r"Starting multiplicative factor expected to be greater than 0",
        lambda: T.optim.lr_scheduler.LinearLR(_sgd()[1], start_factor=0.0)),
    Row("SequentialLR: milestones do not fit the schedules",
        lambda: (lambda o: optim.SequentialLR(o, [optim.StepLR(o, 2)], [3]))(_sgd()[0]),
        ValueError, r"one more than the number of milestone points",
        lambda: (lambda o: T.optim.lr_scheduler.SequentialLR(
            o, [T.optim.lr_scheduler.StepLR(o, 2)], [3]))(_sgd()[1])),
    # ----- viz ----------------------------------------------------------------------------------
    Row("draw_graph: not a Tensor", lambda: viz.draw_graph("abc"), TypeError,
        r"root is a str; expected a Tensor or a sequence of Tensors"),
    Row("draw_graph: empty list", lambda: viz.draw_graph([]), ValueError, r"root is empty"),
    Row("draw_graph: unknown rankdir", lambda: viz.draw_graph(_loss(), rankdir="XY"),
        ValueError, r"rankdir='XY'; expected one of 'LR', 'TB', 'RL', 'BT'"),
    Row("render: unknown format", lambda: viz.render(_loss(), "graph.bmp"), ValueError,
        r"format='bmp'; expected one of"),
    # ----- data ---------------------------------------------------------------------------------
    Row("make_spirals: no samples", lambda: data.make_spirals(0), ValueError,
        r"n_samples=0: expected an int >= 1"),
    Row("make_spirals: negative noise", lambda: data.make_spirals(10, noise=-1.0), ValueError,
        r"noise=-1.0"),
    Row("train_test_split: test_size above 1",
        lambda: data.train_test_split(np.ones((4, 2)), np.ones(4), 1.5), ValueError,
        r"test_size=1.5: expected a fraction in \(0, 1\) or a count in \[1, 3\]"),
    Row("DataLoader: x and y of different lengths",
        lambda: data.DataLoader(np.ones((3, 2)), np.ones(4), 2), ValueError,
        r"x has 3 samples but y has 4"),
    Row("DataLoader: batch size 0",
        lambda: data.DataLoader(np.ones((3, 2)), np.ones(3), 0), ValueError,
        r"batch_size=0: expected an int >= 1"),
]


def test_rows_are_unique_and_documented() -> None:
    ids = [r.id for r in ROWS] + [r for r in RESULT_ROWS] + [r for r in STATE_ROWS] + \
        [r for r in CLI_ROWS]
    assert len(ids) == len(set(ids)), "duplicate row ids"
    doc = DOC.read_text()
    missing = [i for i in ids if f"| {i} |" not in doc]
    assert not missing, f"rows missing from docs/bad_input.md: {missing}"


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_error_row(row: Row) -> None:
    with pytest.raises(row.error, match=row.match):
        row.ours()
    if row.torch is not None:
        with pytest.raises(row.torch_error or row.error):
            row.torch()


# ----- results: documented torch-matching values -------------------------------------------
NAN = np.array([[1.0, np.nan, -2.0], [0.5, 3.0, np.nan]])
INF = np.array([[1.0, np.inf, -2.0], [-np.inf, 3.0, 0.0], [-np.inf, -np.inf, 1.0]])
RESULTS: dict[str, tuple[Callable[..., Any], Callable[..., Any], list[np.ndarray]]] = {
    "NaN input: elementwise ops propagate NaN": (
        lambda a: (a.exp() + a.tanh() * a.sigmoid() - a.relu().abs()) ** 2,
        lambda a: (a.exp() + a.tanh() * a.sigmoid() - a.relu().abs()) ** 2, [NAN]),
    "NaN input: reductions propagate NaN": (
        lambda a: a.sum(1) + a.mean(0).sum() + a.amax(1) + a.logsumexp(1) + a.var(1),
        lambda a: a.sum(1) + a.mean(0).sum() + a.amax(1) + a.logsumexp(1) + a.var(1), [NAN]),
    "NaN input: matmul and softmax propagate NaN": (
        lambda a: (a @ a.T).softmax(1), lambda a: (a @ a.T).softmax(1), [NAN]),
    "inf input: logsumexp, softmax, log_softmax": (
        lambda a: a.logsumexp(1).sum() + a.softmax(1).sum(1) + a.log_softmax(0).sum(0),
        lambda a: a.logsumexp(1).sum() + a.softmax(1).sum(1) + a.log_softmax(0).sum(0),
        [INF]),
    "inf input: sigmoid, tanh, relu, clamp": (
        lambda a: a.sigmoid() + a.tanh() + a.relu() * 0 + a.clamp(-1, 1),
        lambda a: a.sigmoid() + a.tanh() + a.relu() * 0 + a.clamp(-1, 1), [INF]),
    "empty tensor: sum is 0, mean is nan, logsumexp is -inf": (
        lambda a: T.stack([a.sum(), a.mean(), a.logsumexp(0).sum()]),
        lambda a: tg.stack([a.sum(), a.mean(), a.logsumexp(0).sum()]),
        [np.ones((0, 3))]),
    "empty tensor: softmax, amax over a non-empty dim, matmul": (
        lambda a: a.softmax(0).sum() + a.amax(1).sum() + (a.T @ a).sum(),
        lambda a: a.softmax(0).sum() + a.amax(1).sum() + (a.T @ a).sum(), [np.ones((0, 3))]),
    "var/std: one element (n <= correction) is nan": (
        lambda a: a.var(0) + a.std(1), lambda a: a.var(0) + a.std(1), [np.ones((1, 1)) * 2]),
    "std: constant input has gradient 0": (
        lambda a: a.std(1), lambda a: a.std(1), [np.full((2, 3), 0.25)]),
    "reduction: dim=() reduces every dim": (
        lambda a: a.sum(dim=()) + a.amax(dim=(), keepdim=True).sum() * a.mean(dim=()),
        lambda a: a.sum(dim=()) + a.amax(dim=(), keepdim=True).sum() * a.mean(dim=()),
        [np.arange(6.0).reshape(2, 3)]),
    "cross_entropy: NaN logits give NaN loss and gradient": (
        lambda a: TF.cross_entropy(a, T.tensor([0, 1])),
        lambda a: F.cross_entropy(a, tg.tensor([0, 1])), [NAN]),
    "cross_entropy: empty batch, mean is nan": (
        lambda a: TF.cross_entropy(a, T.zeros(0, dtype=T.int64)),
        lambda a: F.cross_entropy(a, tg.zeros(0, dtype=tg.int64)), [np.ones((0, 3))]),
    "cross_entropy: every counted target has weight 0": (
        lambda a: T.stack([TF.cross_entropy(
            a, T.tensor([0, 2, -100]), weight=T.tensor([0.0, 1.0, 0.0], dtype=a.dtype),
            label_smoothing=eps) for eps in (0.0, 0.1)] * 2),
        lambda a: tg.stack([fn(
            a, tg.tensor([0, 2, -100]), weight=np.array([0.0, 1.0, 0.0], dtype=a.dtype),
            label_smoothing=eps) for fn in (F.cross_entropy, F.cross_entropy_unfused)
            for eps in (0.0, 0.1)]),
        [np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 2.0, 2.0]])]),
    "cross_entropy: logits of 1e30 stay finite": (
        lambda a: TF.cross_entropy(a, T.tensor([0, 2])),
        lambda a: F.cross_entropy(a, tg.tensor([0, 2])),
        [np.array([[1e30, -1e30, 0.0], [5e29, 1e30, 1e30]])]),
}
RESULT_ROWS = list(RESULTS)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", RESULT_ROWS)
def test_result_row(name: str, dtype: Any) -> None:
    torch_fn, our_fn, arrays = RESULTS[name]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's and torch's notes on nan, inf, empty input
        compare(torch_fn, our_fn, [a.astype(dtype) for a in arrays], dtype, what=name)


def test_negative_slice_steps_follow_numpy_where_torch_refuses() -> None:
    # documented difference: x[::-1] is numpy's reversal here; torch raises ValueError
    a = np.arange(6.0).reshape(2, 3)
    x = tg.tensor(a, requires_grad=True)
    y = x[:, ::-1]
    np.testing.assert_array_equal(y.numpy(), a[:, ::-1])
    (y * tg.tensor(a)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), a[:, ::-1])
    with pytest.raises(ValueError, match="step must be greater than zero"):
        T.tensor(a)[:, ::-1]


def test_var_with_dim_empty_tuple_has_the_gradient_of_var() -> None:
    # documented difference: torch's var(dim=()) reduces everything but its backward
    # divides by n - 1 = 0 (gradient +-inf); ours is the gradient of var() over all dims
    a = np.arange(6.0).reshape(2, 3)
    x, xt = tg.tensor(a, requires_grad=True), T.tensor(a, requires_grad=True)
    assert_close(x.var(dim=()), xt.var(dim=()))
    x.var(dim=()).backward()
    xt.var().backward()
    assert_close(x.grad, xt.grad)
    xt2 = T.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xt2.var(dim=()).backward()
    assert np.isinf(xt2.grad.numpy()).all()  # torch's


def test_matmul_of_mixed_float_dtypes_promotes_where_torch_refuses() -> None:
    # documented difference: float32 @ float64 is float64 (as torch's elementwise ops
    # promote); each gradient keeps its input's dtype, as torch's always do
    a, w = tg.ones(2, 3, requires_grad=True), tg.ones(3, 2, dtype=tg.float64, requires_grad=True)
    y = (a @ w).sum()
    y.backward()
    assert y.dtype == np.float64 and a.grad.dtype == np.float32 and w.grad.dtype == np.float64
    with pytest.raises(RuntimeError, match="same dtype"):
        T.ones(2, 3) @ T.ones(3, 2, dtype=T.float64)


def test_grad_outputs_count_differs_where_torch_accepts_it() -> None:
    # torch silently accepts two grad_outputs for one output; a count mismatch is a bug
    (g,) = T.autograd.grad([T.ones(1, requires_grad=True).sum()] * 1,
                           [T.ones(1, requires_grad=True)], [T.ones(()), T.ones(())],
                           allow_unused=True)
    assert g is None


# ----- state: a failing call changes nothing -----------------------------------------------
def _snapshot(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model.state_dict().items()}


def _unchanged(model: nn.Module, before: dict[str, np.ndarray]) -> None:
    after = model.state_dict()
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)


def _model() -> nn.MLP:
    tg.manual_seed(0)
    return nn.MLP(3, 4, 2)


def _trained(steps: int = 2) -> tuple[nn.MLP, optim.Adam]:
    model = _model()
    opt = optim.Adam(list(model.parameters()), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(tg.ones(5, 3)), tg.tensor([0, 1, 0, 1, 1])).backward()
        opt.step()
    return model, opt


def _state_copy(opt: optim.Optimizer) -> list[dict[str, Any]]:
    return [{k: np.array(v) for k, v in opt.state[p].items()}
            for g in opt.param_groups for p in g["params"] if p in opt.state]


def _same_state(opt: optim.Optimizer, before: list[dict[str, Any]]) -> None:
    after = _state_copy(opt)
    assert len(after) == len(before)
    for a, b in zip(after, before):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def state_backward_freed_graph() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    first = x.grad.numpy().copy()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), first)


def state_backward_bad_gradient() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    y = x * x
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        y.backward(tg.ones(3))
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    y.backward(tg.ones(2))  # the graph is intact: the right call still works
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 7.0])


def state_failed_op_leaves_inputs() -> None:
    x = tg.tensor([[1.0, 2.0]], requires_grad=True)
    version = x._version
    for bad in (lambda: x @ tg.ones(3, 1), lambda: x * tg.ones(3), lambda: x.sum(5),
                lambda: x.reshape(3), lambda: x[7]):
        with pytest.raises((RuntimeError, ValueError, IndexError)):
            bad()
    assert x._version == version and x.grad is None and x.is_leaf
    np.testing.assert_array_equal(x.numpy(), [[1.0, 2.0]])


def state_cross_entropy_bad_target() -> None:
    model, opt = _trained()
    before = _snapshot(model)
    logits = model(tg.ones(2, 3))
    with pytest.raises(IndexError):
        F.cross_entropy(logits, tg.tensor([0, 5])).backward()
    assert all(p.grad is not None for p in model.parameters())  # from the last step, intact
    _unchanged(model, before)


def state_optimizer_step_bad_gradient() -> None:
    model, opt = _trained()
    before, state = _snapshot(model), _state_copy(opt)
    params = list(model.parameters())
    params[-1].grad = tg.ones(7)  # the last parameter's gradient is wrong; the others fine
    with pytest.raises(RuntimeError, match=r"shape \(2,\) has a gradient of shape \(7,\)"):
        opt.step()
    _unchanged(model, before)
    _same_state(opt, state)


def state_optimizer_nan_gradient() -> None:
    # documented torch-matching result: a NaN gradient makes the parameters NaN in both
    model = nn.Linear(2, 2)
    net = T.nn.Linear(2, 2)
    net.load_state_dict({k: T.tensor(v) for k, v in model.state_dict().items()})
    opt, opt_t = optim.Adam(list(model.parameters())), T.optim.Adam(net.parameters())
    for p, q in zip(model.parameters(), net.parameters()):
        g = np.full(p.shape, np.nan, dtype=p.dtype)
        p.grad, q.grad = tg.Tensor(g), T.tensor(g)
    opt.step()
    opt_t.step()
    for (k, v), q in zip(model.state_dict().items(), net.state_dict().values()):
        assert_close(v, q, np.float32, k)
        assert np.isnan(v).all()


def state_optimizer_load_misshaped_state() -> None:
    model, opt = _trained()
    state, lr = _state_copy(opt), opt.param_groups[0]["lr"]
    other = nn.MLP(3, 5, 2)  # same number of parameters, other shapes
    opt_other = optim.Adam(list(other.parameters()), lr=0.5)
    for p in other.parameters():
        p.grad = tg.ones(*p.shape)
    opt_other.step()
    with pytest.raises(ValueError, match=r"state 'exp_avg' of parameter 0 has shape \(5, 3\); "
                                         r"the parameter has \(4, 3\)"):
        opt.load_state_dict(opt_other.state_dict())
    _same_state(opt, state)
    assert opt.param_groups[0]["lr"] == lr


def state_load_state_dict_bad_keys() -> None:
    model, _ = _trained()
    before = _snapshot(model)
    good = {k: v + 1 for k, v in before.items()}
    bad_dicts = {
        "missing": {k: v for k, v in good.items() if k != "2.bias"},
        "unexpected": {**good, "3.weight": np.ones(2)},
        "misshaped": {**good, "0.weight": np.ones((3, 3))},
        "strings": {**good, "0.bias": np.array(["a"] * 4)},
    }
    for sd in bad_dicts.values():
        with pytest.raises(RuntimeError, match="Error\\(s\\) in loading state_dict"):
            model.load_state_dict(sd)
        _unchanged(model, before)
    # torch raises the same for the same three kinds
    net = T.nn.Sequential(T.nn.Linear(3, 4), T.nn.ReLU(), T.nn.Linear(4, 2))
    for kind in ("missing", "unexpected", "misshaped"):
        with pytest.raises(RuntimeError, match="Error\\(s\\) in loading state_dict"):
            net.load_state_dict({k: T.tensor(v) for k, v in bad_dicts[kind].items()})
    # strict=False loads what matches and reports the rest, as torch's does
    keys = model.load_state_dict(bad_dicts["missing"], strict=False)
    assert keys.missing_keys == ["2.bias"] and keys.unexpected_keys == []
    np.testing.assert_array_equal(model.state_dict()["0.weight"], good["0.weight"])


def state_load_truncated_or_foreign_checkpoint(tmp_path: Path) -> None:
    model, _ = _trained()
    before = _snapshot(model)
    path = tmp_path / "model.npz"
    model.save(path)
    blob = path.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(blob[: len(blob) // 2])
    text = tmp_path / "notes.npz"
    text.write_text("not a checkpoint")
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, weights=np.array([{"a": 1}], dtype=object))
    for bad in (truncated, text, single, pickled):
        with pytest.raises(ValueError, match="not a readable .npz checkpoint"):
            model.load(bad)
        _unchanged(model, before)
    model.load(path)  # the good one still loads


def state_save_fails_midway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Atomic save: a crash while writing the new checkpoint leaves the previous one."""
    model, opt = _trained()
    path = tmp_path / "ckpt.npz"
    model.save(path)
    previous = path.read_bytes()
    opt.step()  # the model moves on; the next save will fail halfway

    for error in (OSError("No space left on device"), KeyboardInterrupt()):
        def fail(file: Any, *args: Any, error: BaseException = error, **kwargs: Any) -> None:
            file.write(b"PK\x03\x04 half a zip")
            raise error
        monkeypatch.setattr(np, "savez", fail)
        with pytest.raises(type(error)):
            model.save(path)
        monkeypatch.undo()
        assert path.read_bytes() == previous
        assert os.listdir(tmp_path) == ["ckpt.npz"], "a temporary file was left behind"
    # a failure at the final rename leaves it too
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("EXDEV")))
    with pytest.raises(OSError, match="EXDEV"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == previous and os.listdir(tmp_path) == ["ckpt.npz"]
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    # and the next good save replaces it
    model.save(path)
    _unchanged(model, dict(nn.load(path)))


def state_save_to_missing_folder(tmp_path: Path) -> None:
    model = _model()
    with pytest.raises(FileNotFoundError):
        model.save(tmp_path / "no" / "such" / "folder.npz")
    assert os.listdir(tmp_path) == []


STATE = {
    "backward: through a freed graph": state_backward_freed_graph,
    "backward: a wrong gradient, then a right one": state_backward_bad_gradient,
    "op: a failing op leaves its inputs": state_failed_op_leaves_inputs,
    "cross_entropy: a bad target leaves model and gradients": state_cross_entropy_bad_target,
    "Optimizer.step: one gradient of the wrong shape": state_optimizer_step_bad_gradient,
    "Optimizer.step: NaN gradients make NaN parameters": state_optimizer_nan_gradient,
    "Optimizer.load_state_dict: state of other shapes": state_optimizer_load_misshaped_state,
    "load_state_dict: missing, unexpected, misshaped, non-numeric": state_load_state_dict_bad_keys,
    "load: truncated, text, .npy or pickled file": state_load_truncated_or_foreign_checkpoint,
    "save: a crash while writing": state_save_fails_midway,
    "save: a folder that does not exist": state_save_to_missing_folder,
}
STATE_ROWS = list(STATE)


@pytest.mark.parametrize("name", STATE_ROWS)
def test_state_row(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fn = STATE[name]
    params = inspect.signature(fn).parameters
    fn(**{k: v for k, v in (("tmp_path", tmp_path), ("monkeypatch", monkeypatch))
          if k in params})


# ----- the command line ---------------------------------------------------------------------
CLI = {
    "tinygrad-ce: no command": ([], r"required: COMMAND|the following arguments are required"),
    "tinygrad-ce: unknown command": (["frobnicate"], r"invalid choice: 'frobnicate'"),
    "train: negative learning rate": (["train", "--lr", "-1"], r"--lr: expected a number in"),
    "train: hidden sizes not integers": (["train", "--hidden", "3,x"],
                                         r"--hidden: expected comma-separated positive"),
    "train: zero epochs": (["train", "--epochs", "0"], r"--epochs: expected a positive integer"),
    "train: unknown dataset": (["train", "--dataset", "mnist"], r"invalid choice: 'mnist'"),
    "train: batch size not a number": (["train", "--batch-size", "abc"],
                                       r"--batch-size: expected a positive integer"),
    "train: test size outside (0, 1)": (["train", "--test-size", "1.5"], r"--test-size"),
    "train: fewer than two classes": (["train", "--classes", "1"],
                                      r"--classes 1: expected at least 2"),
    "demo: unknown option": (["demo", "--frobnicate"], r"unrecognized arguments: --frobnicate"),
    "graph: unknown format": (["graph", "--format", "bmp"], r"--format 'bmp': expected"),
    "graph: unknown example": (["graph", "nope"], r"'nope' is neither an example"),
    "graph: batch not a number": (["graph", "--batch", "x"], r"--batch: invalid int value"),
}
CLI_ROWS = list(CLI)


@pytest.mark.parametrize("name", CLI_ROWS)
def test_cli_row(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> None:
    argv, message = CLI[name]
    monkeypatch.chdir(tmp_path)
    out = {"train": ["--out", str(tmp_path / "out"), "--quiet"],
           "graph": ["--out", str(tmp_path / "out")]}.get(argv[0] if argv else "", [])
    status = cli.main(argv + out)
    err = capsys.readouterr().err
    assert status == 2, err
    assert re.search(message, err), err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert os.listdir(tmp_path) == [], "a failed command left files behind"
