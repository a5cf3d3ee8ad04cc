"""The fused cross-entropy's common case (class indices, no weight, 'mean' or 'sum'),
computed row block by row block, against torch: small inputs (one shift for the whole
array), one block, many blocks, several threads; the gradient handed out once; the thread
setting; and the peak memory of the fused loss (tracemalloc: deterministic, unlike time)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
import tinygrad_ce.nn.functional as F
from benchmarks.harness import peak_python_bytes
from tests.helpers import assert_close, compare
from tinygrad_ce import threads
from tinygrad_ce.nn import cross_entropy as machinery

DTYPES = [np.float32, np.float64]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the row-block kernel's calls (which path a call took)."""
    seen: list[int] = []
    kernel = machinery.index_rows

    def counted(*args: Any) -> float:
        seen.append(1)
        return kernel(*args)

    monkeypatch.setattr(F, "index_rows", counted)
    return seen


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few rows and threads from a few KB up, so small inputs take every path."""
    monkeypatch.setattr(machinery, "SMALL_BYTES", 0)
    monkeypatch.setattr(machinery, "BLOCK_BYTES", 3 * 7 * 8)
    monkeypatch.setattr(machinery, "PARALLEL_BYTES", 1)


@pytest.fixture(params=["small", "blocked"])
def either_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both of the kernel's ways in: small inputs in one piece, or row blocks."""
    if request.param == "blocked":
        monkeypatch.setattr(machinery, "SMALL_BYTES", 0)
    return str(request.param)


def logits(n: int, c: int, dtype: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c)) * 3).astype(dtype), rng.integers(0, c, n)


def check(x: np.ndarray, t: np.ndarray, dtype: Any, **kw: Any) -> None:
    """Loss, gradient under an upstream gradient and Hessian-vector product against torch."""
    tt, to = torch.tensor(t), tg.Tensor(t)
    compare(lambda a: torch.nn.functional.cross_entropy(a, tt, **kw),
            lambda a: F.cross_entropy(a, to, **kw), [x], dtype, what=f"{x.shape} {kw}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(1, 1), (64, 10), (7, 3), (33, 1000)])
def test_small_inputs_match_torch(shape: tuple[int, int], reduction: str, dtype: Any,
                                  calls: list[int]) -> None:
    x, t = logits(*shape, dtype)
    check(x, t, dtype, reduction=reduction)
    assert calls, "the row-block kernel was not used"


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_blocks_and_threads_match_torch(reduction: str, dtype: Any, n_threads: int,
                                        small_blocks: None, calls: list[int]) -> None:
    tg.set_num_threads(n_threads)
    try:
        for n, c in [(1, 7), (2, 7), (10, 7), (23, 5), (4, 200)]:
            x, t = logits(n, c, dtype, seed=n)
            check(x, t, dtype, reduction=reduction)
    finally:
        threads.set_num_threads(threads.default_num_threads())
    assert calls


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_block_of_real_size_matches_torch(dtype: Any) -> None:
    x, t = logits(300, 1000, dtype)
    check(x, t, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("small", [True, False])
def test_rows_far_below_the_largest_logit(dtype: Any, small: bool,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # each row is shifted by its own maximum, small inputs' included: a row 1000 below
    # the others neither underflows nor loses precision
    if not small:
        monkeypatch.setattr(machinery, "SMALL_BYTES", 0)
    x, t = logits(6, 4, dtype)
    x[1] += 1000
    x[3] -= 1000
    x[4] *= 40
    check(x, t, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("small", [True, False])
def test_infinite_and_nan_logits_are_torch_s(dtype: Any, bad: float, small: bool,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # the kernel gives up (nan total) and the general path makes the row what torch makes it
    if not small:
        monkeypatch.setattr(machinery, "SMALL_BYTES", 0)
    x, t = logits(5, 4, dtype)
    x[2, 1] = bad
    x[3, :] = -np.inf if bad == -np.inf else x[3]
    xt = torch.tensor(x, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(xt, torch.tensor(t))
    loss_t.backward()
    xo = tg.Tensor(x, requires_grad=True)
    with np.errstate(all="raise"):  # and no numpy warning on the way
        loss_o = F.cross_entropy(xo, tg.Tensor(t))
        loss_o.backward()
    assert_close(loss_o, loss_t, dtype, "loss")
    assert_close(xo.grad, xt.grad, dtype, "grad")


def test_a_target_logit_of_minus_infinity_gives_an_infinite_loss() -> None:
    x, t = logits(3, 4, np.float32)
    x[0, t[0]] = -np.inf
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(xt, torch.tensor(t)).backward()
    xo = tg.Tensor(x, requires_grad=True)
    loss = F.cross_entropy(xo, tg.Tensor(t))
    loss.backward()
    assert loss.item() == np.inf
    assert_close(xo.grad, xt.grad, np.float32, "grad")


@pytest.mark.parametrize("target_dtype", [np.int32, np.uint8, np.int16, np.uint64])
def test_integer_targets_of_any_width(target_dtype: Any, calls: list[int]) -> None:
    # torch takes int64 and uint8 only; ours takes any integer type and means the same
    x, t = logits(9, 6, np.float64)
    xt, xo = torch.tensor(x, requires_grad=True), tg.Tensor(x, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(xt, torch.tensor(t))
    loss_t.backward()
    loss_o = F.cross_entropy(xo, tg.Tensor(t.astype(target_dtype)))
    loss_o.backward()
    assert_close(loss_o, loss_t)
    assert_close(xo.grad, xt.grad)
    assert calls


@pytest.mark.parametrize("kw", [dict(ignore_index=2), dict(ignore_index=-1),
                                dict(ignore_index=50)])
def test_ignored_targets_take_the_general_path(kw: dict[str, Any]) -> None:
    x, t = logits(8, 6, np.float64)
    t[[0, 3]] = kw["ignore_index"]
    if not 0 <= kw["ignore_index"] < 6:
        t[[0, 3]] = kw["ignore_index"]
    check(x, t, np.float64, **kw)


def test_out_of_range_targets_still_raise_torch_s_error() -> None:
    x, t = logits(4, 3, np.float32)
    for bad in (3, -1, -2):
        t[1] = bad
        with pytest.raises(IndexError, match=f"Target {bad} is out of bounds"):
            F.cross_entropy(tg.Tensor(x, requires_grad=True), tg.Tensor(t))


@pytest.mark.parametrize("dtype", DTYPES)
def test_no_gradient_wanted_computes_the_loss_only(dtype: Any, small_blocks: None) -> None:
    x, t = logits(20, 9, dtype)
    expected = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t))
    for make in (lambda: tg.Tensor(x), lambda: tg.Tensor(x, requires_grad=True)):
        with tg.no_grad():
            loss = F.cross_entropy(make(), tg.Tensor(t))
        assert loss.parents == () and not loss.requires_grad
        assert_close(loss, expected, dtype)
    loss = F.cross_entropy(tg.Tensor(x), tg.Tensor(t))
    assert not loss.requires_grad
    assert_close(loss, expected, dtype)


def test_non_contiguous_logits(small_blocks: None) -> None:
    x, t = logits(9, 14, np.float64)
    check(x.T.copy().T, t, np.float64)  # Fortran order
    check(np.ascontiguousarray(x[:, ::2]), t % 7, np.float64)
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(xt[:, ::2], torch.tensor(t % 7)).backward()
    xo = tg.Tensor(x, requires_grad=True)
    F.cross_entropy(xo[:, ::2], tg.Tensor(t % 7)).backward()
    assert_close(xo.grad, xt.grad, np.float64)


# ----- the gradient array: handed out once ------------------------------------------------
def test_each_backward_hands_out_its_own_array() -> None:
    x, t = logits(16, 5, np.float32)
    xo, to = tg.Tensor(x, requires_grad=True), tg.Tensor(t)
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(xt, torch.tensor(t)).backward()

    loss = F.cross_entropy(xo, to)
    loss.backward(retain_graph=True)
    first = xo.grad
    kept = first.numpy().copy()
    xo.grad = None
    loss.backward()  # retained graph: a fresh array, never the one `first` holds
    assert not np.shares_memory(xo.grad.numpy(), first.numpy())
    np.testing.assert_array_equal(first.numpy(), kept)
    assert_close(xo.grad, xt.grad, np.float32)

    held = xo.grad
    held_values = held.numpy().copy()
    xo.grad = None
    F.cross_entropy(xo, to).backward()  # a new call, a new array
    assert not np.shares_memory(xo.grad.numpy(), held.numpy())
    np.testing.assert_array_equal(held.numpy(), held_values)


def test_retained_backward_accumulates_and_scales_by_the_upstream_gradient() -> None:
    x, t = logits(6, 4, np.float64)
    xt = torch.tensor(x, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(t))
    (lt * 3).backward(retain_graph=True)
    (lt * -0.5).backward()
    xo = tg.Tensor(x, requires_grad=True)
    lo = F.cross_entropy(xo, tg.Tensor(t))
    (lo * 3).backward(retain_graph=True)
    g0 = xo.grad
    (lo * -0.5).backward()
    assert xo.grad is g0  # accumulated in place, as torch does
    assert_close(xo.grad, xt.grad, np.float64)


def test_changing_the_target_in_place_makes_backward_refuse() -> None:
    x, t = logits(4, 3, np.float32)
    xo, to = tg.Tensor(x, requires_grad=True), tg.Tensor(t)
    loss = F.cross_entropy(xo, to)
    to.write_(np.zeros(4, np.int64))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_fused_graph_is_one_node() -> None:
    x, t = logits(4, 3, np.float32)
    xo = tg.Tensor(x, requires_grad=True)
    loss = F.cross_entropy(xo, tg.Tensor(t))
    assert loss.op == "cross_entropy" and loss.fused and loss.parents == (xo,)


# ----- threads ------------------------------------------------------------------------------
def test_thread_count_follows_the_setting_then_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(threads, "_chosen", None)
    monkeypatch.delenv("TINYGRAD_CE_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert tg.get_num_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "4,2")
    assert tg.get_num_threads() == 4
    monkeypatch.setenv("TINYGRAD_CE_NUM_THREADS", "2")
    assert tg.get_num_threads() == 2
    monkeypatch.setenv("TINYGRAD_CE_NUM_THREADS", "many")
    with pytest.warns(RuntimeWarning, match="TINYGRAD_CE_NUM_THREADS='many' is not a pos"):
        assert tg.get_num_threads() == threads._cores()
    monkeypatch.delenv("TINYGRAD_CE_NUM_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert tg.get_num_threads() == threads._cores()
    tg.set_num_threads(5)
    assert tg.get_num_threads() == 5


def test_set_num_threads_checks_its_argument(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(threads, "_chosen", None)
    with pytest.raises(ValueError, match="Number of threads must be positive, got n=0"):
        tg.set_num_threads(0)
    with pytest.raises(TypeError, match=r"n=2.0 must be an int"):
        tg.set_num_threads(2.0)  # type: ignore[arg-type]
    assert threads._chosen is None  # nothing changed


def test_split_covers_every_row_once() -> None:
    for rows in (1, 2, 7, 100):
        for parts in (1, 2, 3, 8):
            pieces = threads.split(rows, parts)
            assert len(pieces) == min(rows, parts)
            assert [i for a, b in pieces for i in range(a, b)] == list(range(rows))


def test_an_exception_in_a_helper_thread_is_raised_after_all_finished() -> None:
    done = []

    def work(a: int, b: int) -> int:
        if a == 2:
            raise ValueError("block 2")
        done.append(a)
        return a

    with pytest.raises(ValueError, match="block 2"):
        threads.map_ranges(work, [(0, 1), (1, 2), (2, 3), (3, 4)])
    assert sorted(done) == [0, 1, 3]
    assert threads.map_ranges(lambda a, b: b - a, [(0, 3), (3, 5)]) == [3, 2]


# ----- memory (tracemalloc, as the benchmark suite measures it) -----------------------------



@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1024, 1000), (256, 32000)])
def test_peak_extra_memory_is_at_most_1_05_arrays(shape: tuple[int, int], dtype: Any,
                                                  n_threads: int) -> None:
    # forward and backward, the gradient included: blocks are computed in place in it
    x, t = logits(*shape, dtype)
    xo, to = tg.Tensor(x, requires_grad=True), tg.Tensor(t)

    def step() -> Any:
        xo.grad = None
        F.cross_entropy(xo, to).backward()
        return xo.grad

    tg.set_num_threads(n_threads)
    try:
        held = step()  # the pool's threads exist before the measurement
        # the last gradient still held: this call's gradient is a new array, counted
        peak = peak_python_bytes(step)
        del held
        step()
        # nothing holds the last gradient: its memory is this call's gradient
        peak_reused = peak_python_bytes(step)
    finally:
        threads.set_num_threads(threads.default_num_threads())
    assert x.nbytes <= peak <= 1.05 * x.nbytes, f"peak {peak / x.nbytes:.3f} (N, C) arrays"
    assert peak_reused <= 0.05 * x.nbytes, f"peak {peak_reused / x.nbytes:.3f} (N, C) arrays"


def test_loss_without_gradient_holds_no_full_array() -> None:
    x, t = logits(2048, 1000, np.float32)
    with tg.no_grad():
        peak = peak_python_bytes(lambda: F.cross_entropy(tg.Tensor(x), tg.Tensor(t)))
    assert peak <= 0.6 * x.nbytes  # a 2 MiB block per thread, not an (N, C) array


def test_numpy_targets_take_the_same_path(calls: list[int]) -> None:
    x, t = logits(9, 6, np.float32)
    xt, xo = torch.tensor(x, requires_grad=True), tg.Tensor(x, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(xt, torch.tensor(t), reduction="sum")
    loss_t.backward()
    loss_o = F.cross_entropy(xo, t, reduction="sum")
    loss_o.backward()
    assert calls
    assert_close(loss_o, loss_t, np.float32)
    assert_close(xo.grad, xt.grad, np.float32)


def test_create_graph_backward_then_a_plain_one() -> None:
    # a recording backward leaves the forward's array for the plain one that follows
    x, t = logits(5, 4, np.float64)
    xt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad(torch.nn.functional.cross_entropy(xt, torch.tensor(t)), xt)
    xo = tg.Tensor(x, requires_grad=True)
    loss = F.cross_entropy(xo, tg.Tensor(t))
    (go,) = tg.autograd.grad(loss, xo, create_graph=True)
    assert go.requires_grad
    assert_close(go, gt)
    loss.backward()
    assert_close(xo.grad, gt)


def test_lists_and_arrays_take_the_same_path_as_tensors(calls: list[int]) -> None:
    # the same numbers from the same path, whatever holds them
    x, t = logits(5, 4, np.float32)
    ref = F.cross_entropy(tg.Tensor(x), tg.Tensor(t)).item()
    assert F.cross_entropy(x, t).item() == ref
    assert F.cross_entropy(x, t.tolist()).item() == ref
    assert F.cross_entropy(tg.Tensor(x), tuple(t.tolist())).item() == ref
    assert len(calls) == 4
    with pytest.raises(TypeError):
        F.cross_entropy(x, [0, "a", 1, 2, 3])


@pytest.mark.parametrize("below", [10.5, 30.0, 80.0])
def test_float32_loss_stays_within_a_few_ulps_of_the_exact_one(below: float) -> None:
    # rows far below the largest logit (a shift by the largest of all would cost precision)
    # (confident rows: small losses, so an error of a few ulps of `below` would show)
    rng = np.random.default_rng(int(below))
    for _ in range(20):
        x = (rng.standard_normal((8, 5)) * 3).astype(np.float32)
        x[::2] -= below
        t = x.argmax(axis=1)
        ours = F.cross_entropy(tg.Tensor(x), tg.Tensor(t), reduction="sum").item()
        exact = torch.nn.functional.cross_entropy(torch.tensor(x, dtype=torch.float64),
                                                  torch.tensor(t), reduction="sum").item()
        assert abs(ours - exact) <= 8 * np.finfo(np.float32).eps * abs(exact)



# ----- the gradient's memory, reused only when nobody holds it ------------------------------
def test_a_gradient_nobody_holds_is_reused_and_one_somebody_holds_never_is() -> None:
    x, t = logits(600, 1000, np.float32)  # 2.4 MB: above SPARE_MIN_BYTES
    xo, to = tg.Tensor(x, requires_grad=True), tg.Tensor(t)
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(xt, torch.tensor(t)).backward()

    def step() -> np.ndarray:
        xo.grad = None
        F.cross_entropy(xo, to).backward()
        assert_close(xo.grad, xt.grad, np.float32)
        return xo.grad.numpy()

    first_address = step().__array_interface__["data"][0]
    assert step().__array_interface__["data"][0] == first_address  # dropped, so reused

    holders = {
        "the Tensor": lambda g: xo.grad,
        "the array": lambda g: g,
        "a view": lambda g: g[3:5],
        "a torch tensor": lambda g: torch.from_numpy(g),
        "a memoryview": lambda g: memoryview(g),
    }
    def as_array(held: Any) -> np.ndarray:
        return held.numpy() if isinstance(held, tg.Tensor) else np.asarray(held)

    for what, hold in holders.items():
        held = hold(step())
        values = as_array(held).copy()
        fresh = step()
        assert not np.shares_memory(fresh, as_array(held)), what
        np.testing.assert_array_equal(as_array(held), values, err_msg=what)
        del held


def test_accumulated_gradients_with_a_spare_in_play() -> None:
    x, t = logits(600, 1000, np.float64)
    xo, to = tg.Tensor(x, requires_grad=True), tg.Tensor(t)
    xt = torch.tensor(x, requires_grad=True)
    for _ in range(4):  # never zeroed: each backward adds into the same .grad
        torch.nn.functional.cross_entropy(xt, torch.tensor(t)).backward()
        F.cross_entropy(xo, to).backward()
        assert_close(xo.grad, xt.grad, np.float64)


# ----- exp without the shift, where that is safe --------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", [-700.0, -100.0, -15.0, 0.0, 40.0, 80.0, 100.0, 700.0])
def test_unshifted_and_shifted_blocks_both_match_the_exact_loss(
        offset: float, dtype: Any, either_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # a block is done without the max shift when its row sums S show that is safe (eps <=
    # S <= scale / tiny), else again with the shift: either way the loss is within a few
    # ulps of the exact (float64) one and the gradient is torch's. Offsets pick each case.
    if either_path == "blocked":
        monkeypatch.setattr(machinery, "BLOCK_BYTES", 4 * 50 * 8)
    shifted = []
    shift = machinery._shifted_block
    monkeypatch.setattr(machinery, "_shifted_block",
                        lambda *a: (shifted.append(1), shift(*a))[1])
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((12, 50)) * 2 + offset).astype(dtype)
    t = rng.integers(0, 50, 12)
    exact = torch.nn.functional.cross_entropy(torch.tensor(x, dtype=torch.float64),
                                              torch.tensor(t), reduction="sum").item()
    xo = tg.Tensor(x, requires_grad=True)
    loss = F.cross_entropy(xo, tg.Tensor(t), reduction="sum")
    assert abs(loss.item() - exact) <= 8 * np.finfo(dtype).eps * abs(exact)
    fits = np.exp(x.astype(np.float64)).sum(axis=1)  # S; the gradient's factor is 1 / S
    safe = bool((fits >= np.finfo(dtype).eps).all() and (fits <= 1 / np.finfo(dtype).tiny).all())
    assert bool(shifted) != safe, f"offset {offset}: shifted={bool(shifted)}, safe={safe}"
    loss.backward()
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(xt, torch.tensor(t), reduction="sum").backward()
    assert_close(xo.grad, xt.grad, dtype, "grad")


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_row_near_the_overflow_keeps_a_full_precision_gradient(dtype: Any,
                                                                  either_path: str) -> None:
    # S close to the largest float: scale / S would be subnormal and lose digits, so such a
    # block is shifted. The gradient stays within a few ulps of the exact one
    big = np.log(np.finfo(dtype).max) - 1.5  # e^big alone is a fifth of the largest float
    x, t = logits(200, 8, dtype, seed=3)
    x[17] += big - x[17].max()
    xo, xt = tg.Tensor(x, requires_grad=True), torch.tensor(x.astype(np.float64),
                                                           requires_grad=True)
    F.cross_entropy(xo, tg.Tensor(t)).backward()
    torch.nn.functional.cross_entropy(xt, torch.tensor(t)).backward()
    err = np.abs(xo.grad.numpy() - xt.grad.numpy()).max() * len(x)  # in units of scale
    assert err <= 4 * np.finfo(dtype).eps, f"{err / np.finfo(dtype).eps:.1f} eps"


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_class_and_sure_rows_give_torchs_exact_zeros_and_no_negative_loss(
        dtype: Any, either_path: str) -> None:
    # -log p is >= 0, and exactly 0 with one class; exp's rounding must not make it negative.
    # The sure rows' logits are ones whose exp rounds below e^x: unshifted, log S - x_t < 0
    rng = np.random.default_rng(4)
    one = (rng.standard_normal((40, 1)) * 10).astype(dtype)
    grid = np.linspace(20, 30, 4001).astype(dtype)
    below = grid[np.exp(grid).astype(np.float64) < np.exp(grid.astype(np.float64))][:40]
    sure = np.zeros((len(below), 6), dtype)
    sure[:, 0] = below  # p(class 0) within a rounding of 1: the loss is below eps
    for x in (one, sure):
        t = np.zeros(len(x), np.int64)
        xo, xt = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        lo = F.cross_entropy(xo, tg.Tensor(t), reduction="sum")
        lt = torch.nn.functional.cross_entropy(xt, torch.tensor(t), reduction="sum")
        lo.backward()
        lt.backward()
        assert lo.item() >= 0, f"loss {lo.item()}"
        if x.shape[1] == 1:
            assert lo.item() == lt.item() == 0
            np.testing.assert_array_equal(xo.grad.numpy(), xt.grad.numpy())
        assert_close(lo, lt, dtype, "loss")
        assert_close(xo.grad, xt.grad, dtype, "grad")
