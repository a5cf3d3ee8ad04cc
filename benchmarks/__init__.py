"""Benchmarks: tinygrad_ce against PyTorch eager (its peer), hand-written numpy (its
ceiling) and micrograd (its floor), each case side by side in one process.

Run ``python -m benchmarks`` (``--quick`` for a seconds-long smoke run, ``--json PATH`` to
save the results). Every measurement is the median of several repeats taken after a
warm-up, with the implementations alternating so that none always runs first.
"""
