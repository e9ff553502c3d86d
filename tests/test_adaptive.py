"""Tests of softmax_bottleneck.models.adaptive: torch cross-check, sampled softmax, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from softmax_bottleneck.models.adaptive import (
    AdaptiveSoftmax,
    full_softmax_loss,
    log_uniform_probs,
    sampled_softmax_loss,
)

CONFIGS = [
    dict(in_features=16, n_classes=100, cutoffs=[10, 40], div_value=2.0, head_bias=False),
    dict(in_features=32, n_classes=257, cutoffs=[1, 17, 200], div_value=2.0, head_bias=True),
    dict(in_features=8, n_classes=30, cutoffs=[29], div_value=1.0, head_bias=False),
]


def _pair(cfg, seed=0):
    torch.manual_seed(seed)
    ref = torch.nn.AdaptiveLogSoftmaxWithLoss(**cfg).double()
    ours = AdaptiveSoftmax(cfg["in_features"], cfg["n_classes"], cfg["cutoffs"],
                           div_value=cfg["div_value"], head_bias=cfg["head_bias"]).double()
    ours.load_state_dict(ref.state_dict())  # strict: same names and shapes
    return ours, ref


@pytest.mark.parametrize("cfg", CONFIGS)
def test_matches_torch_adaptive_softmax(cfg):
    ours, ref = _pair(cfg)
    g = torch.Generator().manual_seed(1)
    h = torch.randn(37, cfg["in_features"], generator=g, dtype=torch.float64)
    # Targets in every cluster, including the first and last id of each.
    edges = [0, *cfg["cutoffs"], cfg["n_classes"]]
    fixed = [e for c in edges[1:] for e in (c - 1, c) if e < cfg["n_classes"]]
    y = torch.cat([torch.tensor([0, *fixed]),
                   torch.randint(0, cfg["n_classes"], (37 - 1 - len(fixed),), generator=g)])
    out, loss = ours(h, y)
    ref_out, ref_loss = ref(h, y)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(loss, ref_loss)
    torch.testing.assert_close(ours.log_prob(h), ref.log_prob(h))
    torch.testing.assert_close(ours.predict(h), ref.predict(h))
    # Same gradients for every parameter.
    loss.backward()
    ref_loss.backward()
    for (name, p), q in zip(ours.named_parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, msg=name)


def test_log_probs_normalise_and_match_targets():
    ours, _ = _pair(CONFIGS[1])
    h = torch.randn(9, 32, dtype=torch.float64)
    logp = ours.log_prob(h)
    assert logp.shape == (9, 257)
    torch.testing.assert_close(logp.exp().sum(-1), torch.ones(9, dtype=torch.float64))
    y = torch.arange(9) * 28
    torch.testing.assert_close(ours(h, y).output, logp.gather(1, y[:, None])[:, 0])


def test_gradcheck():
    ours, _ = _pair(dict(CONFIGS[0], in_features=4, n_classes=12, cutoffs=[3, 6]))
    h = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 3, 6, 11])
    assert torch.autograd.gradcheck(lambda x: ours(x, y).loss, (h,))


def test_multiply_adds():
    asm = AdaptiveSoftmax(16, 100, [10, 40], div_value=2.0)
    counts = np.zeros(100)
    counts[:10] = 1.0  # every target in the head
    assert asm.multiply_adds_per_token(counts) == 16 * (10 + 2)
    counts[:] = 1.0  # uniform: 30% in cluster 0 (8 dims, 30 words), 60% in cluster 1 (4, 60)
    expected = 16 * 12 + 0.3 * (16 * 8 + 8 * 30) + 0.6 * (16 * 4 + 4 * 60)
    assert asm.multiply_adds_per_token(counts) == pytest.approx(expected)
    with pytest.raises(ValueError, match="`class_counts`"):
        asm.multiply_adds_per_token(np.ones(99))


def test_log_uniform_probs():
    q = log_uniform_probs(1000)
    assert q.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(q) < 0)
    assert q[0] == pytest.approx(np.log(2) / np.log(1001))


def _layer(seed=0, b=48, d=6, v=40):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(b, d, generator=g, dtype=torch.float64)
    w = torch.randn(v, d, generator=g, dtype=torch.float64)
    bias = torch.randn(v, generator=g, dtype=torch.float64)
    y = torch.randint(0, v, (b,), generator=g)
    return h, w, bias, y


def test_full_softmax_loss_is_cross_entropy():
    h, w, b, y = _layer()
    for reduction in ["mean", "sum", "none"]:
        torch.testing.assert_close(full_softmax_loss(h, w, b, y, reduction=reduction),
                                   F.cross_entropy(h @ w.T + b, y, reduction=reduction))


@pytest.mark.parametrize("proposal", [None, "uniform", "unigram"])
def test_sampled_softmax_tends_to_full_loss(proposal):
    h, w, b, y = _layer()
    q = {None: None, "uniform": np.ones(40), "unigram": np.arange(40, 0, -1.0)}[proposal]
    full = full_softmax_loss(h, w, b, y, reduction="none")
    approx = sampled_softmax_loss(h, w, b, y, n_samples=40_000, proposal=q, rng=0,
                                  reduction="none")
    torch.testing.assert_close(approx, full, rtol=0.03, atol=0.03)
    # Few samples: cheaper and noisier, but never a wild value.
    small = sampled_softmax_loss(h, w, b, y, n_samples=5, proposal=q, rng=0, reduction="none")
    assert torch.isfinite(small).all() and (small >= 0).all()


def test_sampled_softmax_reproducible_and_sparse_gradients():
    h, w, b, y = _layer(v=200, b=4)
    w.requires_grad_(True)
    a = sampled_softmax_loss(h, w, b, y, n_samples=10, rng=3)
    again = sampled_softmax_loss(h, w, b, y, n_samples=10, rng=3)
    assert float(a.detach()) == float(again.detach())
    a.backward()
    touched = (w.grad != 0).any(1).sum()
    assert 0 < int(touched) <= 10 + 4  # only the samples and the targets get a gradient


def test_accidental_hits():
    # One class only: every sample is the target. Removed, the loss is exactly 0 (= -log 1).
    h = torch.randn(3, 2, dtype=torch.float64)
    w = torch.randn(1, 2, dtype=torch.float64)
    y = torch.zeros(3, dtype=torch.long)
    assert torch.equal(sampled_softmax_loss(h, w, None, y, n_samples=4, rng=0, reduction="none"),
                       torch.zeros(3, dtype=torch.float64))
    kept = sampled_softmax_loss(h, w, None, y, n_samples=4, rng=0, remove_accidental_hits=False)
    assert float(kept) == pytest.approx(np.log(2.0))  # the target counted twice


def test_errors():
    with pytest.raises(ValueError, match="`cutoffs`"):
        AdaptiveSoftmax(8, 100, [50, 20])
    with pytest.raises(ValueError, match="`cutoffs`"):
        AdaptiveSoftmax(8, 100, [100])
    with pytest.raises(ValueError, match="`cutoffs`"):
        AdaptiveSoftmax(8, 100, [])
    with pytest.raises(ValueError, match="`div_value`"):
        AdaptiveSoftmax(8, 100, [10, 50], div_value=0.5)
    with pytest.raises(ValueError, match="`div_value`"):
        AdaptiveSoftmax(8, 100, [10, 50], div_value=4.0)  # 8 // 16 = 0 dimensions
    with pytest.raises(TypeError, match="`in_features`"):
        AdaptiveSoftmax(8.0, 100, [10])
    asm = AdaptiveSoftmax(8, 100, [10])
    with pytest.raises(ValueError, match="`h`"):
        asm(torch.zeros(3, 7), torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="`target`"):
        asm(torch.zeros(3, 8), torch.zeros(3))
    with pytest.raises(ValueError, match=r"class indices in \[0, 99\]"):
        asm(torch.zeros(2, 8), torch.tensor([0, 100]))
    h, w, b, y = _layer()
    with pytest.raises(ValueError, match="`n_samples`"):
        sampled_softmax_loss(h, w, b, y, n_samples=0)
    with pytest.raises(ValueError, match="`proposal`"):
        sampled_softmax_loss(h, w, b, y, n_samples=3, proposal=np.zeros(40))
    with pytest.raises(ValueError, match="`bias`"):
        sampled_softmax_loss(h, w, b[:-1], y, n_samples=3)
    with pytest.raises(TypeError, match="`rng`"):
        sampled_softmax_loss(h, w, b, y, n_samples=3, rng="seed")
    with pytest.raises(ValueError, match="`reduction`"):
        full_softmax_loss(h, w, b, y, reduction="avg")
    with pytest.raises(ValueError, match="`h`"):
        full_softmax_loss(h[:, :3], w, b, y)
    with pytest.raises(ValueError, match="`n_classes`"):
        log_uniform_probs(0)


def test_proposal_draws_and_log_probs():
    from softmax_bottleneck.models.adaptive import Proposal

    v = 50
    counts = np.arange(v, 0, -1.0) ** 2
    cases = [(Proposal.log_uniform(v), log_uniform_probs(v)),
             (Proposal.uniform(v), np.full(v, 1 / v)),
             (Proposal(counts), counts / counts.sum())]
    for prop, q in cases:
        np.testing.assert_allclose(prop.probs(), q, rtol=1e-12)
        ids = prop.sample(200_000, rng=0)
        assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < v
        freq = np.bincount(ids, minlength=v) / ids.size
        np.testing.assert_allclose(freq, q, atol=4e-3)  # the draws follow q
        np.testing.assert_allclose(prop.log_prob(ids[:10]), np.log(q[ids[:10]]), rtol=1e-12)
    # the same generator stream gives the same draws; a prepared proposal = raw weights
    h, w, b, y = _layer()
    a = sampled_softmax_loss(h, w, b, y, n_samples=30, proposal=Proposal(counts[:40]), rng=5)
    raw = sampled_softmax_loss(h, w, b, y, n_samples=30, proposal=counts[:40], rng=5)
    assert float(a) == float(raw)
    with pytest.raises(ValueError, match="`proposal`"):
        sampled_softmax_loss(h, w, b, y, n_samples=3, proposal=Proposal.uniform(41))


def test_logq_correction_off_is_the_plain_sampled_loss():
    from softmax_bottleneck.models.adaptive import Proposal

    h, w, b, y = _layer(v=40)
    prop = Proposal.log_uniform(40)
    got = sampled_softmax_loss(h, w, b, y, n_samples=7, proposal=prop, rng=2,
                               logq_correction=False, remove_accidental_hits=False,
                               reduction="none")
    ids = torch.as_tensor(prop.sample(7, rng=2))
    logits = torch.cat([(h * w[y]).sum(-1, keepdim=True) + b[y, None], h @ w[ids].T + b[ids]], 1)
    torch.testing.assert_close(got, torch.logsumexp(logits, 1) - logits[:, 0])
    # with the correction: the same draws, each sampled logit shifted by -log(S q)
    corr = sampled_softmax_loss(h, w, b, y, n_samples=7, proposal=prop, rng=2,
                                remove_accidental_hits=False, reduction="none")
    shift = torch.as_tensor(np.log(7) + prop.log_prob(ids.numpy()))
    logits[:, 1:] -= shift
    torch.testing.assert_close(corr, torch.logsumexp(logits, 1) - logits[:, 0])
