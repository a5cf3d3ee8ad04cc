"""``grad`` and ``backward``, torch's ``torch.autograd`` functions over the engine."""

from __future__ import annotations

from collections.abc import Sequence

from tinygrad_ce.engine import backprop
from tinygrad_ce.tensor import Tensor, root_gradient

__all__ = ["grad", "backward"]


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> None:
    """``torch.autograd.backward``: ``tensors[i].backward(grad_tensors[i])`` for one tensor."""
    ts = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    gs = [grad_tensors] if grad_tensors is None or isinstance(grad_tensors, Tensor) \
        else list(grad_tensors)
    if len(ts) != 1 or len(gs) != 1:
        raise ValueError(
            f"tensors has {len(ts)} entries and grad_tensors {len(gs)}: this engine takes one "
            "root at a time; call backward on each (retain_graph=True on all but the last)"
        )
    ts[0].backward(gs[0], retain_graph, create_graph, inputs)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs) as a tuple, like ``torch.autograd.grad`` (``only_inputs`` is
    torch's deprecated no-op); ``.grad`` is untouched."""
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        gos: list[Tensor | None] = [None] * len(outs)
    elif isinstance(grad_outputs, Tensor):
        gos = [grad_outputs]
    else:
        gos = list(grad_outputs)
    if len(gos) != len(outs):
        raise ValueError(
            f"grad_outputs has {len(gos)} entries but outputs has {len(outs)}: expected one each"
        )
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"inputs[{i}] does not require grad")
    for i, o in enumerate(outs):
        if not o.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
    root_grads = [root_gradient(o, g, f"grad_outputs[{i}]")
                  for i, (o, g) in enumerate(zip(outs, gos))]
    if retain_graph is None:
        retain_graph = create_graph
    result, _ = backprop(outs, root_grads, retain_graph, create_graph, ins)
    grads: list[Tensor | None] = []
    for i, t in enumerate(ins):
        g = result.get(id(t), (t, None))[1]
        if g is None and not allow_unused:
            raise RuntimeError(
                f"inputs[{i}] was not used in the graph of outputs; "
                "set allow_unused=True if this is the desired behavior"
            )
        grads.append(g)
    return tuple(grads)
