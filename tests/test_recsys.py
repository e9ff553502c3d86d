"""Tests of softmax_bottleneck.recsys: catalogue, in-batch loss with log-Q correction, recall."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from softmax_bottleneck.recsys import (
    in_batch_softmax_loss,
    make_catalogue,
    recall_at_k,
    train_retrieval,
)


def test_catalogue_follows_its_model():
    cat = make_catalogue(n_users=300, n_items=50, n_train=200, n_test=5, rng=1)
    assert cat.train.shape == (60_000, 2) and cat.test.shape == (1500, 2)
    p = np.exp(cat.true_log_probs())
    np.testing.assert_allclose(p.sum(1), 1.0)
    # the empirical item shares match the model's marginal
    np.testing.assert_allclose(cat.item_share(), p.mean(0), atol=0.01)
    # Zipf: item 0 is the most popular a priori
    assert np.all(np.diff(cat.log_popularity) < 0)
    again = make_catalogue(n_users=300, n_items=50, n_train=200, n_test=5, rng=1)
    assert np.array_equal(again.train, cat.train)


def test_in_batch_loss_corrections_by_hand():
    g = torch.Generator().manual_seed(0)
    u = torch.randn(5, 3, generator=g, dtype=torch.float64)
    v = torch.randn(5, 3, generator=g, dtype=torch.float64)
    lq = torch.log(torch.tensor([0.4, 0.3, 0.1, 0.1, 0.1], dtype=torch.float64))
    s = u @ v.T
    target = torch.arange(5)
    torch.testing.assert_close(in_batch_softmax_loss(u, v, lq, correction="none"),
                               F.cross_entropy(s, target))
    torch.testing.assert_close(in_batch_softmax_loss(u, v, lq, correction="all"),
                               F.cross_entropy(s - lq, target))
    neg = s - lq + torch.diag(lq)  # the positive keeps its raw score
    torch.testing.assert_close(in_batch_softmax_loss(u, v, lq, correction="negatives"),
                               F.cross_entropy(neg, target))
    # a repeated item is not a negative for its own copy
    ids = torch.tensor([7, 7, 1, 2, 3])
    masked = s.clone()
    masked[0, 1] = masked[1, 0] = float("-inf")
    torch.testing.assert_close(
        in_batch_softmax_loss(u, v, lq, correction="none", item_ids=ids),
        F.cross_entropy(masked, target))
    with pytest.raises(ValueError, match="`correction`"):
        in_batch_softmax_loss(u, v, lq, correction="pos")
    with pytest.raises(ValueError, match="`log_q`"):
        in_batch_softmax_loss(u, v, lq[:3])


def test_recall_at_k():
    s = np.array([[5.0, 4.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    pairs = np.array([[0, 0], [0, 3], [1, 3], [1, 0]])
    assert recall_at_k(s, pairs, k=1) == 0.5
    assert recall_at_k(s, pairs, k=4) == 1.0
    assert recall_at_k(s, pairs, k=1, items=np.array([True, False, False, False])) == 0.5
    assert recall_at_k(s, pairs, k=1, exclude=np.array([[0, 0]])) == 0.25
    assert np.isnan(recall_at_k(s, pairs, k=1, items=np.zeros(4, bool)))


def test_training_beats_chance_and_is_paired():
    cat = make_catalogue(n_users=200, n_items=100, n_train=20, n_test=5, taste_scale=2.5, rng=0)
    users, items = train_retrieval(cat, correction="all", steps=60, batch_size=128, rng=0)
    again = train_retrieval(cat, correction="all", steps=60, batch_size=128, rng=0)
    assert np.array_equal(users, again[0]) and np.array_equal(items, again[1])
    assert recall_at_k(users @ items.T, cat.test, k=10) > 2 * 10 / 100
