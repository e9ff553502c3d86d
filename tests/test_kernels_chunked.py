"""Chunked cross-entropy (kernels/chunked.py) against F.cross_entropy(hidden @ weight.T)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from softmax_bottleneck.kernels import chunked_cross_entropy  # noqa: E402


def _data(n=37, d=16, v=101, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(n, d, generator=g, dtype=dtype)
    w = torch.randn(v, d, generator=g, dtype=dtype) / d**0.5
    y = torch.randint(0, v, (n,), generator=g)
    return h, w, y


def _loss_and_grads(fn, h, w, y, upstream=None):
    h = h.clone().requires_grad_(True)
    w = w.clone().requires_grad_(True)
    loss = fn(h, w, y)
    (loss if upstream is None else (loss * upstream).sum()).backward()
    return loss.detach(), h.grad, w.grad


@pytest.mark.parametrize("chunk_size", [1, 7, 37, 1000])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_matches_cross_entropy_fp32(chunk_size, reduction):
    h, w, y = _data()
    ours = _loss_and_grads(
        lambda h, w, y: chunked_cross_entropy(h, w, y, chunk_size=chunk_size, reduction=reduction),
        h,
        w,
        y,
    )
    ref = _loss_and_grads(lambda h, w, y: F.cross_entropy(h @ w.T, y, reduction=reduction), h, w, y)
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_reduction_none_with_per_token_upstream_gradient():
    h, w, y = _data(n=20)
    u = torch.linspace(-1, 2, 20)
    ours = _loss_and_grads(
        lambda h, w, y: chunked_cross_entropy(h, w, y, chunk_size=6, reduction="none"), h, w, y, u
    )
    ref = _loss_and_grads(lambda h, w, y: F.cross_entropy(h @ w.T, y, reduction="none"), h, w, y, u)
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_batched_hidden_states():
    h, w, y = _data(n=24)
    loss = chunked_cross_entropy(h.reshape(2, 12, 16), w, y.reshape(2, 12), chunk_size=5)
    torch.testing.assert_close(loss, F.cross_entropy(h @ w.T, y))


def test_gradcheck_float64():
    h, w, y = _data(n=6, d=3, v=5, dtype=torch.float64)
    h.requires_grad_(True)
    w.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda h, w: chunked_cross_entropy(h, w, y, chunk_size=4), (h, w)
    )


def test_half_precision_accumulates_in_float32():
    h, w, y = _data(n=10)
    loss = chunked_cross_entropy(h.bfloat16(), w.bfloat16(), y, chunk_size=3)
    assert loss.dtype == torch.bfloat16
    ref = F.cross_entropy(h.bfloat16().float() @ w.bfloat16().float().T, y)
    torch.testing.assert_close(loss.float(), ref, rtol=1e-2, atol=1e-2)


def test_only_weight_or_only_hidden_needs_grad():
    h, w, y = _data(n=9)
    w.requires_grad_(True)
    chunked_cross_entropy(h, w, y, chunk_size=4).backward()
    w2 = w.detach().clone().requires_grad_(True)
    F.cross_entropy(h @ w2.T, y).backward()
    torch.testing.assert_close(w.grad, w2.grad, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        loss = chunked_cross_entropy(h, w, y, chunk_size=4)
    torch.testing.assert_close(loss, F.cross_entropy(h @ w.T, y).detach())


def test_errors():
    h, w, y = _data(n=4, d=3, v=5)
    with pytest.raises(TypeError, match=r"`hidden` to be a torch\.Tensor"):
        chunked_cross_entropy(h.numpy(), w, y, chunk_size=2)
    with pytest.raises(TypeError, match="`weight` to have the dtype"):
        chunked_cross_entropy(h, w.double(), y, chunk_size=2)
    with pytest.raises(TypeError, match="`target` to hold integer"):
        chunked_cross_entropy(h, w, y.float(), chunk_size=2)
    with pytest.raises(ValueError, match="`weight` to have shape"):
        chunked_cross_entropy(h, w[0], y, chunk_size=2)
    with pytest.raises(ValueError, match="`hidden` to have shape"):
        chunked_cross_entropy(h[:, :2], w, y, chunk_size=2)
    with pytest.raises(ValueError, match="`target` to have shape"):
        chunked_cross_entropy(h, w, y[:2], chunk_size=2)
    with pytest.raises(ValueError, match="class indices in"):
        chunked_cross_entropy(h, w, y + 5, chunk_size=2)
    with pytest.raises(TypeError, match="`chunk_size`"):
        chunked_cross_entropy(h, w, y, chunk_size=2.0)
    with pytest.raises(ValueError, match="`chunk_size`"):
        chunked_cross_entropy(h, w, y, chunk_size=0)
    with pytest.raises(ValueError, match="`reduction`"):
        chunked_cross_entropy(h, w, y, chunk_size=2, reduction="avg")
    with pytest.raises(ValueError, match="at least one token"):
        chunked_cross_entropy(h[:0], w, y[:0], chunk_size=2)


# --- autocast (referee report, issue 13: addmm_ crashed with a trainable weight) ---------------


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_autocast_with_trainable_weight_matches_naive(dtype, reduction):
    """Mixed-precision training: float32 master weights under CPU autocast (Liger's test_amp)."""
    h, w, y = _data(n=45, d=32, v=123)
    b = torch.randn(123, generator=torch.Generator().manual_seed(1))
    results = []
    for fn in (
        lambda h, w, b: chunked_cross_entropy(h, w, y, bias=b, chunk_size=8, reduction=reduction),
        lambda h, w, b: F.cross_entropy(h @ w.T + b, y, reduction=reduction),
    ):
        hh, ww, bb = (t.clone().requires_grad_(True) for t in (h, w, b))
        with torch.autocast("cpu", dtype=dtype):
            loss = fn(hh, ww, bb)
        loss.backward()
        results.append((loss.detach(), hh.grad, ww.grad, bb.grad))
    ours, ref = results
    assert ours[0].dtype == ref[0].dtype == torch.float32
    for a, r in zip(ours[1:], ref[1:], strict=True):
        assert a.dtype == r.dtype == torch.float32
    # Liger's test_amp tolerances; the logits are rounded to dtype in both paths.
    scale = 1.0 if reduction == "mean" else 45.0
    torch.testing.assert_close(ours[0], ref[0], rtol=5e-2, atol=5e-3 * scale)
    for a, r in zip(ours[1:], ref[1:], strict=True):
        torch.testing.assert_close(a, r, rtol=5e-2, atol=5e-3 * max(1.0, r.abs().max().item()))


def test_autocast_half_hidden_and_float32_weight():
    """Under autocast the hidden states arrive in bfloat16 from earlier layers while the head's
    weight stays float32: accepted, and each gradient comes back in its input's dtype."""
    h, w, y = _data(n=20, d=16, v=50)
    hh = h.bfloat16().requires_grad_(True)
    ww = w.clone().requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = chunked_cross_entropy(hh, ww, y, chunk_size=6, reduction="none")
    (loss * torch.linspace(0.5, 2, 20)).sum().backward()  # non-uniform upstream gradient
    assert hh.grad.dtype == torch.bfloat16 and ww.grad.dtype == torch.float32
    h2 = hh.detach().clone().requires_grad_(True)
    w2 = w.clone().requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ref = F.cross_entropy(h2 @ w2.T, y, reduction="none")
    (ref * torch.linspace(0.5, 2, 20)).sum().backward()
    torch.testing.assert_close(loss, ref.float(), rtol=2e-2, atol=2e-2)
    torch.testing.assert_close(ww.grad, w2.grad, rtol=5e-2, atol=2e-2)
    torch.testing.assert_close(hh.grad.float(), h2.grad.float(), rtol=5e-2, atol=2e-2)


def test_outside_autocast_mismatched_dtypes_still_refused():
    h, w, y = _data(n=4, d=3, v=5)
    with pytest.raises(TypeError, match="`weight` to have the dtype"):
        chunked_cross_entropy(h.bfloat16(), w, y)


# --- options against F.cross_entropy ----------------------------------------------------------


def _options_data(n=37, d=16, v=101, dtype=torch.float64):
    h, w, y = _data(n=n, d=d, v=v, dtype=dtype)
    b = torch.randn(v, generator=torch.Generator().manual_seed(2), dtype=dtype)
    y = y.clone()
    y[::4] = -100  # padding tokens
    return h, w, b, y


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("ignore_index", [None, -100, 3])
@pytest.mark.parametrize("with_bias", [False, True])
def test_options_match_torch(reduction, label_smoothing, ignore_index, with_bias):
    h, w, b, y = _options_data()
    if ignore_index != -100:
        y = torch.where(y == -100, torch.tensor(3), y)  # 3 is then a real class or the ignored one
    b = b if with_bias else None
    u = torch.linspace(-1, 2, 37, dtype=torch.float64)  # per-token upstream gradient for "none"
    kw = {"reduction": reduction, "label_smoothing": label_smoothing}
    out = []
    for fn in (
        lambda h, w, b: chunked_cross_entropy(
            h, w, y, bias=b, chunk_size=7, ignore_index=ignore_index, **kw
        ),
        lambda h, w, b: F.cross_entropy(
            h @ w.T + (0 if b is None else b),
            y,
            ignore_index=-12345 if ignore_index is None else ignore_index,
            **kw,
        ),
    ):
        hh, ww = h.clone().requires_grad_(True), w.clone().requires_grad_(True)
        bb = None if b is None else b.clone().requires_grad_(True)
        loss = fn(hh, ww, bb)
        (loss * u if reduction == "none" else loss).sum().backward()
        out.append((loss.detach(), hh.grad, ww.grad, None if bb is None else bb.grad))
    for a, r in zip(*out, strict=True):
        torch.testing.assert_close(a, r, rtol=1e-10, atol=1e-12)


def test_options_gradcheck_float64():
    h, w, b, y = _options_data(n=6, d=3, v=5)
    y[1] = 2
    args = (h.requires_grad_(True), w.requires_grad_(True), b.requires_grad_(True))
    assert torch.autograd.gradcheck(
        lambda h, w, b: chunked_cross_entropy(
            h, w, y, bias=b, chunk_size=4, ignore_index=-100, label_smoothing=0.2
        ),
        args,
    )


def test_all_ignored_mean_is_nan_like_torch():
    h, w, y = _data(n=4, d=3, v=5)
    y = torch.full_like(y, -100)
    loss = chunked_cross_entropy(h, w, y, ignore_index=-100)
    assert torch.isnan(loss) and torch.isnan(F.cross_entropy(h @ w.T, y))
    assert chunked_cross_entropy(h, w, y, ignore_index=-100, reduction="sum") == 0.0


def test_option_errors():
    h, w, y = _data(n=4, d=3, v=5)
    with pytest.raises(ValueError, match=r"class indices in \[0, 4\] \(or `ignore_index` -1\)"):
        chunked_cross_entropy(h, w, y - 10, ignore_index=-1)
    with pytest.raises(ValueError, match="class indices in"):  # -100 is not ignored by default
        chunked_cross_entropy(h, w, torch.full_like(y, -100))
    with pytest.raises(TypeError, match="`ignore_index`"):
        chunked_cross_entropy(h, w, y, ignore_index=1.5)
    with pytest.raises(TypeError, match="`label_smoothing`"):
        chunked_cross_entropy(h, w, y, label_smoothing="0.1")
    with pytest.raises(ValueError, match="`label_smoothing`"):
        chunked_cross_entropy(h, w, y, label_smoothing=1.5)
    with pytest.raises(ValueError, match="`bias` to have shape"):
        chunked_cross_entropy(h, w, y, bias=torch.zeros(4))
    with pytest.raises(TypeError, match="`bias` to have the dtype"):
        chunked_cross_entropy(h, w, y, bias=torch.zeros(5, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"`bias` to be a torch\.Tensor"):
        chunked_cross_entropy(h, w, y, bias=[0.0] * 5)


@pytest.mark.slow
def test_options_keep_the_memory_bound():
    """bias, ignore_index and label_smoothing add no (N, V) or extra (C, V) buffer: the peak
    extra memory stays within 10 % of the naive path's bound that test_bench checks (< 0.1)."""
    import json
    import os
    import subprocess
    import sys

    from softmax_bottleneck import bench

    plain = "chunked_cross_entropy(h, w, y, chunk_size=chunk)"
    assert plain in bench._MEMORY_SCRIPT
    options = (
        "chunked_cross_entropy(h, w, torch.where(y % 5 == 0, -100, y), chunk_size=chunk, "
        "bias=bias, ignore_index=-100, label_smoothing=0.1)"
    )
    script = bench._MEMORY_SCRIPT.replace(plain, options).replace(
        "def run(h, w, y):", "bias = torch.zeros(16384, requires_grad=True)\ndef run(h, w, y):"
    )
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    peaks = {}
    for kind in ("naive", "chunked"):
        for label, text in (("plain", bench._MEMORY_SCRIPT), ("options", script)):
            if kind == "naive" and label == "options":
                continue
            args = [kind, "1024", "16384", "32", "64", "1"]
            if label == "options":  # the warm-up call uses V = 16: give it no bias
                text = text.replace("run(*small)", "_b, bias = bias, None\nrun(*small)\nbias = _b")
            proc = subprocess.run(
                [sys.executable, "-c", text, *args],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            peaks[kind, label] = json.loads(proc.stdout.strip().splitlines()[-1])
    print({k: v["peak_extra_bytes"] for k, v in peaks.items()})
    naive = peaks["naive", "plain"]["peak_extra_bytes"]
    assert peaks["chunked", "plain"]["peak_extra_bytes"] / naive < 0.1
    assert peaks["chunked", "options"]["peak_extra_bytes"] / naive < 0.1
    assert (
        peaks["chunked", "options"]["peak_extra_bytes"]
        <= 1.1 * peaks["chunked", "plain"]["peak_extra_bytes"] + 2**20
    )
