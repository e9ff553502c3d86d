"""Vocabulary-parallel cross-entropy (kernels/parallel.py) over torch.distributed + gloo."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import softmax_bottleneck as sb  # noqa: E402
from softmax_bottleneck.kernels import (  # noqa: E402
    run_vocab_parallel,
    shard_union_softmax,
    vocab_parallel_cross_entropy,
)

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="needs torch.distributed gloo"
)


def _reference(z, y):
    z = z.clone().requires_grad_(True)
    loss = F.cross_entropy(z, y)
    loss.backward()
    return loss.detach(), z.grad


def test_two_processes_equal_one_process():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(16, 101, generator=g) * 3  # odd V: shards of 51 and 50
    y = torch.randint(0, 101, (16,), generator=g)
    y[:4] = torch.tensor([0, 50, 51, 100])  # targets at both edges of both shards
    loss, grad = run_vocab_parallel(z, y, world_size=2)
    ref_loss, ref_grad = _reference(z, y)
    torch.testing.assert_close(loss, ref_loss, rtol=0, atol=1e-6)
    torch.testing.assert_close(grad, ref_grad, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_three_uneven_shards_float64():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(8, 10, generator=g, dtype=torch.float64) * 5
    y = torch.randint(0, 10, (8,), generator=g)
    loss, grad = run_vocab_parallel(z, y, world_size=3)
    ref_loss, ref_grad = _reference(z, y)
    torch.testing.assert_close(loss, ref_loss, rtol=0, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=0, atol=1e-12)


@pytest.fixture
def one_process_group(tmp_path):
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path}/rendezvous", rank=0, world_size=1
    )
    yield
    dist.destroy_process_group()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_single_rank_matches_cross_entropy(one_process_group, reduction):
    z = torch.randn(5, 7, generator=torch.Generator().manual_seed(2), requires_grad=True)
    y = torch.tensor([0, 6, 3, 3, 1])
    loss = vocab_parallel_cross_entropy(z, y, vocab_start=0, reduction=reduction)
    ref = F.cross_entropy(z, y, reduction=reduction)
    torch.testing.assert_close(loss, ref)
    u = torch.ones_like(loss) if reduction != "none" else torch.arange(5.0)
    (g,) = torch.autograd.grad((loss * u).sum(), z)
    (g_ref,) = torch.autograd.grad((ref * u).sum(), z)
    torch.testing.assert_close(g, g_ref)


def test_errors(one_process_group):
    z, y = torch.zeros(2, 3), torch.tensor([0, 1])
    with pytest.raises(TypeError, match="`logits`"):
        vocab_parallel_cross_entropy(z.long(), y, vocab_start=0)
    with pytest.raises(TypeError, match="`target`"):
        vocab_parallel_cross_entropy(z, y.float(), vocab_start=0)
    with pytest.raises(ValueError, match="shape"):
        vocab_parallel_cross_entropy(z, y[:1], vocab_start=0)
    with pytest.raises(TypeError, match="`vocab_start`"):
        vocab_parallel_cross_entropy(z, y, vocab_start=1.5)
    with pytest.raises(ValueError, match="`vocab_start`"):
        vocab_parallel_cross_entropy(z, y, vocab_start=-1)
    with pytest.raises(ValueError, match="`reduction`"):
        vocab_parallel_cross_entropy(z, y, vocab_start=0, reduction="avg")


def test_needs_an_initialised_group():
    if dist.is_initialized():
        pytest.skip("a process group is already initialised")
    with pytest.raises(RuntimeError, match="initialised"):
        vocab_parallel_cross_entropy(torch.zeros(1, 2), torch.tensor([0]), vocab_start=0)


def test_run_vocab_parallel_errors():
    with pytest.raises(TypeError, match="`world_size`"):
        run_vocab_parallel(torch.zeros(2, 3), torch.tensor([0, 1]), world_size=2.0)
    with pytest.raises(ValueError, match="`world_size`"):
        run_vocab_parallel(torch.zeros(2, 3), torch.tensor([0, 1]), world_size=4)


def test_union_of_shard_softmaxes_is_wrong():
    z = np.array([[3.0, 1.0, 0.0, -1.0, 2.0]])
    union = shard_union_softmax(z, n_shards=2)
    np.testing.assert_allclose(union.sum(), 2.0)  # each shard sums to 1
    assert not np.allclose(union, sb.softmax(z))
    np.testing.assert_allclose(shard_union_softmax(z, n_shards=1), sb.softmax(z))
    # Rescaling each shard by its share of the global normaliser repairs it (the all-reduce).
    shards = np.array_split(z, 2, axis=-1)
    share = np.concatenate([np.full(s.shape, np.exp(s).sum()) for s in shards], axis=-1)
    np.testing.assert_allclose(union * share / np.exp(z).sum(), sb.softmax(z))


def test_shard_union_errors():
    with pytest.raises(TypeError, match="`n_shards`"):
        shard_union_softmax([1.0, 2.0], n_shards=1.0)
    with pytest.raises(ValueError, match="`n_shards`"):
        shard_union_softmax([1.0, 2.0], n_shards=3)
    with pytest.raises(ValueError, match="at least one dimension"):
        shard_union_softmax(1.0, n_shards=1)
