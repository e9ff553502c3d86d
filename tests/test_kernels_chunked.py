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
