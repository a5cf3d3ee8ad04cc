"""Layers, losses and functional ops with torch's names."""

from tinygrad_ce.nn import functional

__all__ = ["functional"]
