"""Reading a checkpoint back into a model: an ``nn.MLP`` saved with ``Module.save``, and
the record of the run that wrote it (``metrics.json`` beside it, as ``tinygrad-ce train``
and ``demo`` leave it)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tinygrad_ce.nn.layers import ACTIVATIONS, Identity, Linear
from tinygrad_ce.nn.module import Module, Sequential, load

__all__ = ["model_from_checkpoint", "run_record"]


def run_record(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``metrics.json`` written beside the checkpoint at ``path`` by the run that saved
    it (its ``"config"`` holds the dataset, layer sizes, activation and seed), or None when
    there is none or it cannot be read."""
    record = Path(path).parent / "metrics.json"
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("config"), dict) else None


def model_from_checkpoint(path: str | os.PathLike[str], activation: str = "relu") -> Sequential:
    """Rebuild a ``Sequential`` of ``Linear`` layers (an ``nn.MLP``) from a checkpoint saved
    by ``Module.save``: keys ``"<i>.weight"`` of shape (out, in), optional ``"<i>.bias"``,
    with ``activation`` between consecutive layers (``run_record(path)`` says which one the
    run used)."""
    state = load(path)
    layers: dict[int, tuple[int, int, bool]] = {}
    for key, arr in state.items():
        index, _, what = key.partition(".")
        if not index.isdigit() or what not in ("weight", "bias"):
            raise ValueError(
                f"{os.fspath(path)!r}: key {key!r} is not '<index>.weight' or '<index>.bias'; "
                "expected a checkpoint of an nn.MLP / Sequential of Linear layers"
            )
        if what == "weight":
            if arr.ndim != 2:
                raise ValueError(f"{os.fspath(path)!r}: {key} has shape {arr.shape}; "
                                 "expected (out_features, in_features)")
            layers[int(index)] = (arr.shape[1], arr.shape[0], f"{index}.bias" in state)
    if not layers:
        raise ValueError(f"{os.fspath(path)!r} holds no '<index>.weight'; expected an nn.MLP")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation={activation!r}: expected one of {', '.join(ACTIVATIONS)}")
    modules: list[Module] = []
    for i in range(max(layers) + 1):
        if i in layers:
            fin, fout, bias = layers[i]
            modules.append(Linear(fin, fout, bias=bias, dtype=state[f"{i}.weight"].dtype))
        elif i - 1 in layers:
            modules.append(ACTIVATIONS[activation]())
        else:
            modules.append(Identity())
    model = Sequential(*modules)
    model.load_state_dict(state)
    return model
