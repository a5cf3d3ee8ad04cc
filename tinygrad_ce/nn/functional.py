"""Functional ops: softmax, log_softmax and the losses (fused and unfused)."""
