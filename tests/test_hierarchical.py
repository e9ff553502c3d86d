"""Tests of softmax_bottleneck.models.hierarchical: normalisation, explicit formula, cost."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from softmax_bottleneck.models.hierarchical import HierarchicalSoftmax, frequency_cutoffs


def _model(d=6, v=23, cutoffs=(1, 5, 12), bias=True, seed=0):
    torch.manual_seed(seed)
    model = HierarchicalSoftmax(d, v, list(cutoffs), bias=bias).double()
    with torch.no_grad():  # larger weights: the checks are not an artefact of near-uniformity
        for p in model.parameters():
            p.mul_(4)
    return model


def _explicit_log_prob(model, h, target):
    """log p(c(w) | h) + log p(w | c(w), h), one example at a time, from the definition."""
    out = []
    for n in range(h.shape[0]):
        w = int(target[n])
        c = next(i for i in range(model.n_clusters) if model.bounds[i + 1] > w)
        lo, hi = model.bounds[c], model.bounds[c + 1]
        a = model.cluster.bias if model.cluster.bias is not None else 0.0
        b = model.word.bias if model.word.bias is not None else torch.zeros(model.n_classes)
        cluster_logits = model.cluster.weight @ h[n] + a  # (K,)
        p_cluster = torch.exp(cluster_logits[c]) / torch.exp(cluster_logits).sum()
        word_logits = model.word.weight[lo:hi] @ h[n] + b[lo:hi]  # (|c|,)
        p_word = torch.exp(word_logits[w - lo]) / torch.exp(word_logits).sum()
        out.append(torch.log(p_cluster * p_word))
    return torch.stack(out)


@given(
    v=st.integers(2, 40),
    data=st.data(),
    seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 20.0),
)
def test_full_distribution_sums_to_one(v, data, seed, scale):
    cuts = sorted(data.draw(st.sets(st.integers(1, v - 1), min_size=1, max_size=v - 1)))
    torch.manual_seed(seed)
    model = HierarchicalSoftmax(5, v, cuts).double()
    h = torch.randn(7, 5, dtype=torch.float64) * scale
    with torch.no_grad():
        logp = model.log_prob(h)
    assert logp.shape == (7, v)
    assert torch.isfinite(logp).all()
    torch.testing.assert_close(logp.exp().sum(-1), torch.ones(7, dtype=torch.float64))


@pytest.mark.parametrize("bias", [True, False])
def test_target_log_prob_is_the_explicit_product(bias):
    model = _model(bias=bias)
    h = torch.randn(30, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y = torch.arange(30) % 23  # every cluster, including the one-word cluster 0
    with torch.no_grad():
        out = model(h, y)
        explicit = _explicit_log_prob(model, h, y)
        torch.testing.assert_close(out.output, explicit)
        torch.testing.assert_close(out.loss, -explicit.mean())
        torch.testing.assert_close(model.log_prob(h).gather(1, y[:, None])[:, 0], explicit)


def test_gradients_match_autograd_of_the_explicit_formula():
    model = _model()
    h = torch.randn(12, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2),
                    requires_grad=True)
    y = torch.tensor([0, 1, 4, 5, 11, 12, 22, 3, 3, 17, 0, 8])
    model(h, y).loss.backward()
    ours = [h.grad.clone()] + [p.grad.clone() for p in model.parameters()]
    h.grad = None
    model.zero_grad()
    (-_explicit_log_prob(model, h, y).mean()).backward()
    ref = [h.grad] + [p.grad for p in model.parameters()]
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b)
    # words of clusters no target falls in get exactly zero gradient (they were never computed)
    model.zero_grad()
    model(h, torch.zeros(12, dtype=torch.long)).loss.backward()
    assert torch.count_nonzero(model.word.weight.grad[1:]) == 0


def test_gradcheck():
    model = _model(d=3, v=9, cutoffs=(2, 5))
    h = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 3, 6, 8])
    assert torch.autograd.gradcheck(lambda x: model(x, y).loss, (h,))


@pytest.mark.parametrize("cluster", [0, 1, 2, 3])
def test_multiply_adds_formula_matches_a_count(cluster):
    # Count the matrix multiplications torch actually runs (FLOPs = 2 x multiply-adds) for a
    # batch whose targets all fall in one cluster; compare with d (K + |c|) per token.
    d, b = 8, 16
    model = HierarchicalSoftmax(d, 50, [3, 10, 30])  # clusters of 3, 7, 20, 20 words
    lo = model.bounds[cluster]
    y = torch.full((b,), lo, dtype=torch.long)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.randn(b, d), y)
    counted = counter.get_total_flops() / 2 / b
    counts = np.zeros(50)
    counts[lo] = 1.0
    assert counted == model.multiply_adds_per_token(counts) == d * (4 + model.cluster_sizes[cluster])


def test_expected_multiply_adds():
    model = HierarchicalSoftmax(10, 100, [20, 50])  # sizes 20, 30, 50
    counts = np.ones(100)  # uniform: P(c) = 0.2, 0.3, 0.5
    assert model.multiply_adds_per_token(counts) == pytest.approx(
        10 * 3 + 10 * (0.2 * 20 + 0.3 * 30 + 0.5 * 50))
    with pytest.raises(ValueError, match="`class_counts`"):
        model.multiply_adds_per_token(np.ones(99))
    with pytest.raises(ValueError, match="`class_counts`"):
        model.multiply_adds_per_token(np.zeros(100))


def test_frequency_cutoffs():
    counts = np.array([1000, 500, 200, 100, 50, 20, 10, 5, 2, 1])
    assert frequency_cutoffs(counts, 2) == [1]  # the first word holds more than half
    cuts = frequency_cutoffs(counts, 4)
    assert cuts == [1, 2]  # 1000 / 1888 > 1/2 fills two bins: only three clusters come back
    # equal counts: equal clusters
    assert frequency_cutoffs(np.ones(12), 4) == [3, 6, 9]
    # a Zipf-like vocabulary: every cluster holds at most its share plus one word
    zipf = 1.0 / np.arange(1, 2001)
    cuts = frequency_cutoffs(zipf, 20)
    bounds = [0, *cuts, 2000]
    shares = np.add.reduceat(zipf, bounds[:-1]) / zipf.sum()
    firsts = zipf[bounds[:-1]] / zipf.sum()
    # "the" (12% of the tokens) fills more than two bins alone, so fewer than 20 clusters
    assert len(cuts) == 18 and np.all(shares <= 1 / 20 + firsts + 1e-12)
    assert np.all(np.diff(bounds) >= 1) and np.diff(bounds)[0] < np.diff(bounds)[-1]


def test_errors():
    with pytest.raises(ValueError, match="`cutoffs`"):
        HierarchicalSoftmax(4, 10, [])
    with pytest.raises(ValueError, match="`cutoffs`"):
        HierarchicalSoftmax(4, 10, [5, 3])
    with pytest.raises(ValueError, match="`cutoffs`"):
        HierarchicalSoftmax(4, 10, [0, 3])
    with pytest.raises(ValueError, match="`cutoffs`"):
        HierarchicalSoftmax(4, 10, [3, 10])
    with pytest.raises(ValueError, match="`cutoffs`"):
        HierarchicalSoftmax(4, 10, [2.0])
    with pytest.raises(TypeError, match="`in_features`"):
        HierarchicalSoftmax(4.0, 10, [3])
    with pytest.raises(ValueError, match="`n_classes`"):
        HierarchicalSoftmax(4, 1, [1])
    with pytest.raises(TypeError, match="`bias`"):
        HierarchicalSoftmax(4, 10, [3], bias=1)
    model = HierarchicalSoftmax(4, 10, [3])
    with pytest.raises(ValueError, match="`h`"):
        model(torch.zeros(2, 5), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="`h`"):
        model.log_prob(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="`target`"):
        model(torch.zeros(2, 4), torch.tensor([0, 10]))
    with pytest.raises(TypeError, match="`target`"):
        model(torch.zeros(2, 4), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="`class_counts`"):
        frequency_cutoffs([1, 2, 3], 2)  # not sorted by frequency
    with pytest.raises(ValueError, match="`n_clusters`"):
        frequency_cutoffs([3, 2, 1], 4)
    with pytest.raises(TypeError, match="`n_clusters`"):
        frequency_cutoffs([3, 2, 1], 2.0)
