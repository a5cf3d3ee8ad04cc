"""Finite-difference checks of gradients: ``tinygrad_ce.autograd.gradcheck``, also here."""

from __future__ import annotations

from tinygrad_ce.autograd.gradcheck import gradcheck, gradgradcheck

__all__ = ["gradcheck", "gradgradcheck"]
