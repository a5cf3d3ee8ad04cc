"""The gradient checkers of ``tinygrad_ce.testing``: right backward passes pass, the usual
mistakes fail with a table that points at them; expected values come from torch."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import tinygrad_ce as tg
from tests.helpers import assert_close
from tinygrad_ce.autograd import Function
from tinygrad_ce.nn import functional as F
from tinygrad_ce.testing import assert_grads_close, check_backward, default_tolerances

RNG = np.random.default_rng(5)
X = RNG.standard_normal((4, 3))   # N=4 rows, 3 features
W = RNG.standard_normal((2, 3))   # 2 outputs
B = RNG.standard_normal(2)
Y = np.array([0, 2, 1, 1])


# ----- the layers, written by hand as the people this is for write them ----------------------
def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    return x @ w.T + b


def linear_backward(g: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> Any:
    return g @ w, g.T @ x, g.sum(0)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def relu_backward(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    return g * (x > 0)


def tanh_backward(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    return g * (1 - np.tanh(x) ** 2)


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    return np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y])


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def cross_entropy_backward(g: np.ndarray, logits: np.ndarray, y: np.ndarray) -> Any:
    p = softmax(logits)
    p[np.arange(len(y)), y] -= 1
    return g * p / len(y), None


@pytest.mark.parametrize("forward, backward, arrays, reference", [
    (linear, linear_backward, (X, W, B), lambda x, w, b: x @ w.T + b),
    (relu, relu_backward, (X,), lambda x: x.relu()),
    (np.tanh, tanh_backward, (X,), lambda x: x.tanh()),
    (cross_entropy, cross_entropy_backward, (X, Y), F.cross_entropy),
    (cross_entropy, lambda g, x, y: (F.cross_entropy_grad(x, y, grad_output=g), None),
     (X * 1000, Y), F.cross_entropy),
])
def test_right_backward_passes_pass_and_report_every_check(forward: Any, backward: Any,
                                                          arrays: Any, reference: Any) -> None:
    report = check_backward(forward, backward, *arrays)
    n_float = sum(np.asarray(a).dtype.kind == "f" for a in arrays)
    assert report.ok and len(report.rows) == n_float
    report = check_backward(forward, backward, *arrays, reference=reference)
    assert report.ok and len(report.rows) == 1 + 2 * n_float  # forward, then each gradient twice
    assert "passed" in str(report)


def assert_fails(match: str, *args: Any, **kw: Any) -> str:
    with pytest.raises(AssertionError, match=match) as e:
        check_backward(*args, **kw)
    return str(e.value)


def test_a_missing_1_over_n_is_named() -> None:
    def forgot_n(g: np.ndarray, logits: np.ndarray, y: np.ndarray) -> Any:
        p = softmax(logits)
        p[np.arange(len(y)), y] -= 1
        return g * p, None

    msg = assert_fails(r"logits: 4 times the expected gradient: a missing 1/4", cross_entropy,
                       forgot_n, X, Y, reference=F.cross_entropy)
    assert "logits   finite diff" in msg and "logits   reference" in msg and "FAIL" in msg


def test_a_transposed_weight_gradient_is_named_by_shape_or_by_value() -> None:
    def transposed(g: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> Any:
        return g @ w, x.T @ g, g.sum(0)

    assert_fails(r"w: shape \(3, 2\) is the transpose of the input's \(2, 3\)", linear,
                 transposed, X, W, B)
    square = RNG.standard_normal((3, 3))
    assert_fails(r"w: it equals the expected gradient transposed", linear, transposed, X,
                 square, RNG.standard_normal(3))


def test_a_sum_over_the_wrong_axis_is_named() -> None:
    def wrong_axis(g: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> Any:
        return g @ w, g.T @ x, g.sum(1)

    assert_fails(r"b: shape \(4,\), the input's is \(2,\): summed over the wrong axis", linear,
                 wrong_axis, X, W, B)

    def kept(g: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> Any:
        return g @ w, g.T @ x, g.sum(0, keepdims=True)

    assert_fails(r"b: shape \(1, 2\), the input's is \(2,\): a kept or missing size-1 axis",
                 linear, kept, X, W, B)


def test_a_softmax_without_the_max_shift_that_overflows_is_named() -> None:
    def unshifted(g: np.ndarray, logits: np.ndarray, y: np.ndarray) -> Any:
        e = np.exp(logits)
        p = e / e.sum(1, keepdims=True)
        p[np.arange(len(y)), y] -= 1
        return g * p / len(y), None

    check_backward(cross_entropy, unshifted, X, Y)  # small logits: right
    assert_fails(r"not finite .* an exp that overflowed\? Shift by the max", cross_entropy,
                 unshifted, X * 1000, Y)

    def unshifted_forward(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.mean(np.log(np.exp(logits).sum(1)) - logits[np.arange(len(y)), y])

    assert_fails(r"forward: the forward is not finite where the reference is", unshifted_forward,
                 cross_entropy_backward, X * 1000, Y, reference=F.cross_entropy)


def test_the_worst_element_and_both_values_come_from_torch() -> None:
    xt = torch.tensor(X, requires_grad=True)
    go = np.random.default_rng(9).standard_normal((4, 3))
    torch.tanh(xt).backward(torch.tensor(go))
    expected = xt.grad.numpy()

    def off_at_2_1(g: np.ndarray, x: np.ndarray) -> np.ndarray:
        r = tanh_backward(g, x)
        r[2, 1] += 0.5
        return r

    with pytest.raises(AssertionError) as e:
        check_backward(np.tanh, off_at_2_1, X, grad_output=go)
    line = next(s for s in str(e.value).splitlines() if s.startswith("x "))
    cells = line.split()
    assert cells[1:3] == ["finite", "diff"]
    assert float(cells[3]) == pytest.approx(0.5, rel=1e-3)
    assert cells[5:7] == ["(2,", "1)"]
    assert float(cells[7]) == pytest.approx(expected[2, 1] + 0.5, rel=1e-5)
    assert float(cells[8]) == pytest.approx(expected[2, 1], rel=1e-5)
    assert cells[9] == "FAIL"


def test_the_default_grad_output_is_random_so_that_ignoring_it_is_caught() -> None:
    def ignores_g(g: np.ndarray, x: np.ndarray) -> np.ndarray:
        return 1 - np.tanh(x) ** 2

    check_backward(np.tanh, ignores_g, X, grad_output=np.ones_like(X))  # ones hide it
    assert_fails("x      finite diff", np.tanh, ignores_g, X)
    with pytest.raises(ValueError, match=r"grad_output has shape \(3,\); the output of "
                                         r"forward has shape \(4, 3\)"):
        check_backward(np.tanh, tanh_backward, X, grad_output=np.ones(3))


def test_integer_arrays_are_not_perturbed_and_get_none() -> None:
    seen: list[np.ndarray] = []

    def watched(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
        seen.append(y.copy())
        return cross_entropy(logits, y)

    check_backward(watched, cross_entropy_backward, X, Y)
    assert len(seen) > 2 and all(s.dtype == Y.dtype and (s == Y).all() for s in seen)
    with pytest.raises(AssertionError, match=r"backward returned a gradient for y, an array "
                                             r"of dtype int64: return None"):
        check_backward(cross_entropy, lambda g, x, y: (cross_entropy_backward(g, x, y)[0],
                                                       np.zeros(4)), X, Y)
    with pytest.raises(AssertionError, match=r"backward returned 1 gradient\(s\) for 2 array"):
        check_backward(cross_entropy, lambda g, x, y: cross_entropy_backward(g, x, y)[0], X, Y)


def test_a_wrong_forward_is_caught_by_the_reference() -> None:
    def double_tanh(x: np.ndarray) -> np.ndarray:
        return 2 * np.tanh(x)

    def its_backward(g: np.ndarray, x: np.ndarray) -> np.ndarray:
        return 2 * tanh_backward(g, x)

    check_backward(double_tanh, its_backward, X)  # consistent with itself
    msg = assert_fails("forward  reference", double_tanh, its_backward, X,
                       reference=lambda x: x.tanh())
    assert "x        reference" in msg and "x: off by a constant factor 2" in msg


def test_inputs_may_be_float32_and_are_checked_in_float64() -> None:
    seen: list[np.dtype] = []

    def watched(x: np.ndarray) -> np.ndarray:
        seen.append(x.dtype)
        return np.tanh(x)

    check_backward(watched, tanh_backward, X.astype(np.float32))
    assert set(seen) == {np.dtype(np.float64)}


# ----- two losses ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_and_unfused_losses_agree_and_grad_is_left_alone(dtype: Any) -> None:
    x = tg.Tensor(X.astype(dtype), requires_grad=True)
    assert_grads_close(F.cross_entropy(x, tg.tensor(Y)), F.cross_entropy_unfused(x, tg.tensor(Y)))
    assert x.grad is None
    loss = F.cross_entropy(x, tg.tensor(Y), label_smoothing=0.1)
    loss.backward(retain_graph=True)
    assert_grads_close(loss, F.cross_entropy_unfused(x, tg.tensor(Y), label_smoothing=0.1))


def test_a_failure_is_a_table_with_torchs_values() -> None:
    x = tg.Tensor(X, requires_grad=True, name="logits")
    w = tg.Tensor(np.ones(3), requires_grad=True)
    xt = torch.tensor(X, requires_grad=True)
    torch.nn.functional.cross_entropy(xt, torch.tensor(Y), reduction="sum").backward()
    mean_grad = xt.grad.numpy() / 4
    with pytest.raises(AssertionError) as e:
        assert_grads_close(F.cross_entropy(x * w, tg.tensor(Y)),
                           F.cross_entropy(x * w, tg.tensor(Y), reduction="sum"))
    lines = str(e.value).splitlines()
    assert "2 of 2 checks failed" in lines[1]
    assert lines[2].split() == ["input", "against", "max", "abs", "err", "max", "rel", "err",
                                "worst", "index", "got", "expected"]
    row = next(s for s in lines if s.startswith("logits")).split()
    assert row[1:4] == ["a", "vs", "b"] and row[-1] == "FAIL"
    i, j = int(row[6].strip("(,")), int(row[7].strip(")"))
    assert float(row[8]) == pytest.approx(mean_grad[i, j], rel=1e-5)
    assert float(row[9]) == pytest.approx(4 * mean_grad[i, j], rel=1e-5)
    assert float(row[5]) == pytest.approx(0.75, rel=1e-9)  # relative error of g/4 vs g
    assert float(row[4]) == pytest.approx(np.abs(3 * mean_grad).max(), rel=2e-3)  # 3 digits
    assert re.search(r"^input \d \[3\]  a vs b", str(e.value), re.M)  # w, unnamed


def test_named_inputs_and_inputs_used_by_one_loss_only() -> None:
    x = tg.Tensor(X, requires_grad=True)
    w = tg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(AssertionError, match=r"weight: only loss_b depends on it"):
        assert_grads_close((x * x).sum(), (x * x * w).sum(), inputs={"x": x, "weight": w})
    with pytest.raises(ValueError, match="share no input that requires grad"):
        assert_grads_close((x * 2).sum(), (w * 2).sum())


def test_default_tolerances_follow_the_dtype() -> None:
    assert default_tolerances(np.float32, np.float64) == default_tolerances(np.float32)
    for dtype, passes in ((np.float32, True), (np.float64, False)):
        x = tg.Tensor(np.ones(3, dtype), requires_grad=True)
        a, b = (x * 1.0).sum(), (x * (1 + 3e-6)).sum()
        if passes:
            assert_grads_close(a, b)
        else:
            with pytest.raises(AssertionError, match="1 of 1 checks failed"):
                assert_grads_close(a, b)
            assert_grads_close(a, b, rtol=1e-5)


def test_after_a_plain_backward_it_says_why_it_cant() -> None:
    x = tg.Tensor(X, requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor(Y))
    loss.backward()
    with pytest.raises(RuntimeError, match=r"graph of loss_a was freed by a backward\(\) "
                                           r"without retain_graph=True"):
        assert_grads_close(loss, F.cross_entropy_unfused(x, tg.tensor(Y)))
    with pytest.raises(ValueError, match=r"loss_a must be a scalar loss; got shape \(4, 3\)"):
        assert_grads_close(x * 1, x.sum())


def test_a_function_against_the_engines_loss() -> None:
    class CrossEntropy(Function):
        @staticmethod
        def forward(ctx, logits, y):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(logits, y)
            return tg.Tensor(cross_entropy(logits.numpy(), y.numpy()))

        @staticmethod
        def backward(ctx, g):  # type: ignore[no-untyped-def]
            logits, y = ctx.saved_tensors
            return cross_entropy_backward(g.numpy(), logits.numpy(), y.numpy())

    x = tg.Tensor(X, requires_grad=True)
    assert_grads_close(CrossEntropy.apply(x, tg.tensor(Y)), F.cross_entropy(x, tg.tensor(Y)))
    xt = torch.tensor(X, requires_grad=True)
    torch.nn.functional.cross_entropy(xt, torch.tensor(Y)).backward()
    CrossEntropy.apply(x, tg.tensor(Y)).backward()
    assert_close(x.grad, xt.grad)


# ----- the example: examples/manual_backprop.py ---------------------------------------------
ROOT = Path(__file__).resolve().parents[1]


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location(
        "manual_backprop", ROOT / "examples" / "manual_backprop.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_trains_like_torch_and_asserts_step_for_step() -> None:
    ex = load_example()
    result = ex.main(steps=5, verbose=False)
    assert result["diff_engine"] < 1e-9 and result["diff_functions"] < 1e-9
    # the hand-written training against torch's on the same network and data
    rng = np.random.default_rng(0)
    ex.check_layers(rng, verbose=False)  # the example draws its parameters after this
    x, y = ex.make_spirals(300, 3, seed=0, dtype=np.float64)
    params = ex.init_params(32, 3, rng)
    ours = ex.train_by_hand(params, x, y, 5, 0.5)[-1]
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    opt = torch.optim.SGD(ps, lr=0.5)
    for _ in range(5):
        opt.zero_grad()
        w1, b1, w2, b2, w3, b3 = ps
        logits = torch.tanh(torch.relu(torch.tensor(x) @ w1.T + b1) @ w2.T + b2) @ w3.T + b3
        torch.nn.functional.cross_entropy(logits, torch.tensor(y)).backward()
        opt.step()
    for a, b in zip(ours, ps):
        assert_close(a, b)


def test_the_example_catches_a_broken_layer() -> None:
    ex = load_example()
    ex.ReLU.backward = lambda self, g: g  # forgets the mask
    with pytest.raises(AssertionError, match=r"ReLU.backward\): 2 of 3 checks failed"):
        ex.main(steps=2, verbose=False)


def test_the_example_runs_from_the_command_line() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "manual_backprop.py"),
                          "--steps", "3"], capture_output=True, text=True, env=env,
                         timeout=120, check=True).stdout
    assert "all 7 checks passed" in out and "parameters agree step for step" in out
    assert "3 steps of SGD" in out


# ----- docs/your_own_backward.md: its programs run and print what the page shows --------------
DOC = ROOT / "docs" / "your_own_backward.md"


def run_doc_blocks(text: str) -> list[tuple[str, str]]:
    """Run the page's Python blocks in order, in one namespace; pair each ```text block with
    what the Python block before it printed: [(shown, printed)]."""
    namespace: dict[str, Any] = {"__name__": "doc"}
    pairs, printed = [], ""
    for kind, body in re.findall(r"```(python|text)\n(.*?)```", text, re.S):
        if kind == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(body, str(DOC), "exec"), namespace)
            printed = out.getvalue()
        else:
            pairs.append((body, printed))
    return pairs


def test_the_doc_shows_what_its_code_prints() -> None:
    pairs = run_doc_blocks(DOC.read_text())
    assert len(pairs) == 8
    for shown, printed in pairs:
        assert shown == printed
    text = "".join(shown for shown, _ in pairs)
    for hint in ("a missing 1/4", "is the transpose of the input's", "expected gradient "
                 "transposed", "summed over the wrong axis", "an exp that overflowed",
                 "LinearFunction.backward returned numpy arrays"):
        assert hint in text
