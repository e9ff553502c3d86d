"""Tests of softmax_bottleneck.bigram: training, perplexity, bucket mass, n-gram references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from softmax_bottleneck.bigram import (
    BigramLM,
    bucket_mass,
    ngram_perplexities,
    perplexity,
    train_bigram,
)
from softmax_bottleneck.models.adaptive import Proposal


def _text(n=3000, v=30, seed=0):
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, v + 1)
    return torch.as_tensor(rng.choice(v, size=n, p=p / p.sum()))


def test_perplexity_is_exp_of_the_mean_cross_entropy():
    torch.manual_seed(0)
    lm = BigramLM(30, 5).double()
    ids = _text(500)
    with torch.no_grad():
        ce = F.cross_entropy(lm.logits(ids[:-1]), ids[1:])
    assert perplexity(lm, ids) == pytest.approx(float(torch.exp(ce)), rel=1e-12)


def test_same_seed_same_model_and_full_loss_matches_per_row_softmax():
    ids = _text()
    a = train_bigram(ids, 30, d=4, steps=5, batch_size=64, rng=3)
    b = train_bigram(ids, 30, d=4, steps=5, batch_size=64, rng=3)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    # the one-softmax-per-distinct-context loss equals the per-row cross-entropy
    from softmax_bottleneck.bigram import _full_loss

    prev, nxt = ids[:200], ids[1:201]
    torch.testing.assert_close(_full_loss(a, prev, nxt), F.cross_entropy(a.logits(prev), nxt))
    # the global torch seed is left alone
    torch.manual_seed(11)
    x = torch.rand(1)
    torch.manual_seed(11)
    train_bigram(ids, 30, d=4, steps=1, batch_size=8)
    assert torch.equal(torch.rand(1), x)


@pytest.mark.parametrize("kind", ["log-uniform", "uniform", "unigram"])
def test_sampled_training_learns(kind):
    ids = _text()
    prop = {"log-uniform": None, "uniform": Proposal.uniform(30),
            "unigram": Proposal(np.bincount(ids.numpy(), minlength=30) + 1.0)}[kind]
    start = perplexity(train_bigram(ids, 30, d=4, steps=1, batch_size=64, lr=1e-9), ids)
    lm = train_bigram(ids, 30, d=4, steps=150, batch_size=128, lr=0.05, n_samples=20,
                      proposal=prop)
    assert perplexity(lm, ids) < 0.8 * start


def test_bucket_mass_sums_to_one():
    ids = _text(400)
    lm = train_bigram(ids, 30, d=4, steps=3, batch_size=16)
    model_share, text_share = bucket_mass(lm, ids, [3, 10])
    assert model_share.shape == text_share.shape == (3,)
    assert model_share.sum() == pytest.approx(1.0) and text_share.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(text_share, np.histogram(ids[1:].numpy(), [0, 3, 10, 30])[0] / 399)
    with pytest.raises(ValueError, match="`edges`"):
        bucket_mass(lm, ids, [10, 3])


def test_ngram_perplexities_by_hand():
    train, test = [0, 1, 0, 2], [0, 1, 2]
    uni = (np.array([2, 1, 1]) + 1) / (4 + 3)  # add-one
    # test pairs (0,1): c(0,1)/c(0) = 1/2 ; (1,2): unseen pair, c(1) = 1 -> 0
    p = [0.7 * 0.5 + 0.3 * uni[1], 0.7 * 0.0 + 0.3 * uni[2]]
    ppl1, ppl2 = ngram_perplexities(train, test, 3, lam=0.7)
    assert ppl1 == pytest.approx(np.exp(-np.mean(np.log(uni[[1, 2]]))))
    assert ppl2 == pytest.approx(np.exp(-np.mean(np.log(p))))
    with pytest.raises(ValueError, match="`lam`"):
        ngram_perplexities(train, test, 3, lam=1.5)
    with pytest.raises(ValueError, match="`test_ids`"):
        ngram_perplexities(train, [0, 5], 3)


def test_bucket_push_full_and_sampled():
    from softmax_bottleneck.bigram import bucket_push

    ids = _text(400)
    lm = train_bigram(ids, 30, d=4, steps=20, batch_size=64, lr=0.05)
    full = bucket_push(lm, ids, [3, 10])
    with torch.no_grad():
        p = lm.log_prob(ids[:-1]).exp().mean(0).numpy()
    np.testing.assert_allclose(full, [p[:3].sum(), p[3:10].sum(), p[10:].sum()], rtol=1e-10)
    assert full.sum() == pytest.approx(1.0)
    # many samples: the sampled push approaches the full one
    many = bucket_push(lm, ids, [3, 10], n_samples=20_000, n_draws=2)
    np.testing.assert_allclose(many, full, atol=0.02)
    few = bucket_push(lm, ids, [3, 10], n_samples=3, n_draws=5)
    assert few.sum() == pytest.approx(1.0)
