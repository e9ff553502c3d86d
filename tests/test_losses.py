"""Tests of softmax_bottleneck.losses: limits, torch cross-checks, gradients, properties, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import softmax_bottleneck as sb
from softmax_bottleneck.losses import (
    adjust_logits,
    balanced_softmax_loss,
    class_balanced_weights,
    focal_loss,
    ldam_loss,
    logit_adjusted_loss,
)


def _data(n=7, k=5, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    z = (torch.randn(n, k, generator=g) * 3).to(dtype)
    y = torch.randint(0, k, (n,), generator=g)
    w = torch.rand(k, generator=g, dtype=torch.float64) + 0.1
    return z, y, w


# --- limits: each knob turned off gives cross-entropy -----------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gamma_zero_is_cross_entropy(reduction):
    z, y, _ = _data()
    torch.testing.assert_close(
        focal_loss(z, y, gamma=0.0, reduction=reduction),
        F.cross_entropy(z, y, reduction=reduction),
        rtol=1e-14, atol=1e-14,
    )
    np.testing.assert_allclose(
        focal_loss(z.numpy(), y.numpy(), gamma=0.0, reduction=reduction),
        sb.cross_entropy(z.numpy(), y.numpy(), reduction=reduction), rtol=1e-14,
    )


def test_beta_zero_is_uniform():
    np.testing.assert_array_equal(class_balanced_weights([5000, 20, 1, 7], beta=0.0), np.ones(4))


def test_tau_zero_is_cross_entropy():
    z, y, _ = _data()
    prior = [50.0, 20.0, 10.0, 5.0, 1.0]
    torch.testing.assert_close(logit_adjusted_loss(z, y, prior, tau=0.0), F.cross_entropy(z, y))
    np.testing.assert_array_equal(adjust_logits(z.numpy(), prior, tau=0.0), z.numpy())


# --- agreement with torch where the options overlap ---------------------------------------------


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.7])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("use_weight", [False, True])
def test_matches_torch_cross_entropy_with_weight_and_smoothing(eps, reduction, use_weight):
    z, y, w = _data(n=11, k=6, seed=1)
    w = w if use_weight else None
    ref = F.cross_entropy(z, y, weight=w, label_smoothing=eps, reduction=reduction)
    torch.testing.assert_close(
        focal_loss(z, y, gamma=0.0, weight=w, label_smoothing=eps, reduction=reduction), ref
    )
    torch.testing.assert_close(
        logit_adjusted_loss(z, y, np.ones(6), weight=w, label_smoothing=eps, reduction=reduction),
        ref,
    )


def test_logit_adjusted_loss_is_cross_entropy_of_shifted_logits():
    z, y, w = _data(n=9, k=4, seed=2)
    prior = torch.tensor([0.7, 0.2, 0.07, 0.03], dtype=torch.float64)
    for tau in [0.5, 1.0, 2.0]:
        ref = F.cross_entropy(z + tau * prior.log(), y, weight=w, label_smoothing=0.1)
        got = logit_adjusted_loss(z, y, prior * 123.0, tau=tau, weight=w, label_smoothing=0.1)
        torch.testing.assert_close(got, ref)


def test_class_balanced_weights_in_torch_loss():
    counts = np.array([500, 50, 5])
    w = torch.as_tensor(class_balanced_weights(counts, beta=0.99))
    z, y, _ = _data(n=8, k=3, seed=3)
    torch.testing.assert_close(
        focal_loss(z, y, gamma=0.0, weight=w), F.cross_entropy(z, y, weight=w)
    )


def test_focal_matches_explicit_formula():
    # Independent form: -(1 - p_y)^gamma log p_y from torch.softmax, alpha-weighted.
    z, y, w = _data(n=10, k=4, seed=4)
    p = torch.softmax(z, -1).gather(1, y[:, None])[:, 0]
    for gamma in [0.5, 1.0, 2.0, 5.0]:
        ref = -(w[y] * (1 - p) ** gamma * p.log())
        torch.testing.assert_close(focal_loss(z, y, gamma=gamma, weight=w, reduction="none"), ref)
        np.testing.assert_allclose(
            focal_loss(z.numpy(), y.numpy(), gamma=gamma, weight=w.numpy(), reduction="none"),
            ref.numpy(), rtol=1e-12,
        )


def test_golden_focal_value():
    # p_y = softmax([2, 1, 0.1])[0] = 0.6590011388859679 (chapter 1); (1 - p)^2 * (-log p)
    p = 0.6590011388859679
    assert float(focal_loss([[2.0, 1.0, 0.1]], [0])) == pytest.approx((1 - p) ** 2 * -np.log(p))


def test_class_balanced_weights_limits():
    counts = np.array([1000.0, 100.0, 10.0, 1.0])
    w = class_balanced_weights(counts, beta=1 - 1e-12)  # beta -> 1: inverse frequency
    np.testing.assert_allclose(w, (1 / counts) * 4 / np.sum(1 / counts), rtol=1e-6)
    assert class_balanced_weights(counts, beta=0.9).sum() == pytest.approx(4.0)


def test_post_hoc_adjustment_moves_predictions_to_rare_classes():
    z = np.array([[2.0, 1.5, 0.0]])
    assert adjust_logits(z, [0.9, 0.09, 0.01]).argmax() == 2
    zt = torch.tensor(z, requires_grad=True)
    out = adjust_logits(zt, torch.tensor([0.9, 0.09, 0.01]), axis=1)
    out.sum().backward()
    torch.testing.assert_close(zt.grad, torch.ones_like(zt))


def test_adjust_logits_axis():
    z = np.arange(12.0).reshape(3, 4)
    prior = np.array([0.5, 0.3, 0.2])
    np.testing.assert_allclose(adjust_logits(z, prior, axis=0), z - np.log(prior)[:, None])


def test_class_axis_and_dtype():
    z, y, _ = _data(n=6, k=5, seed=5, dtype=torch.float32)
    got = focal_loss(z.T, y, axis=0, reduction="none")
    torch.testing.assert_close(got, focal_loss(z, y, reduction="none"))
    assert got.dtype == torch.float32
    assert focal_loss(z.numpy(), y.numpy()).dtype == np.float32
    half = focal_loss(z.half(), y)
    assert half.dtype == torch.float16
    torch.testing.assert_close(half.float(), focal_loss(z.half().float(), y), rtol=1e-3, atol=1e-3)


# --- gradients -------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_gradcheck(gamma):
    z, y, w = _data(n=4, k=3, seed=6)
    z.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x: focal_loss(x, y, gamma=gamma, weight=w, label_smoothing=0.1), (z,)
    )


def test_focal_gradient_closed_form():
    # d/dz_j of -(1-p)^g log p, with p = p_y:  (1-p)^g (g p log p / (1-p) - 1) (delta_jy - p_j)
    z, y, _ = _data(n=5, k=4, seed=7)
    z.requires_grad_(True)
    g = 2.0
    focal_loss(z, y, gamma=g, reduction="sum").backward()
    p = torch.softmax(z.detach(), -1)
    py = p.gather(1, y[:, None])
    coef = (1 - py) ** g * (g * py * py.log() / (1 - py) - 1)
    expected = coef * (F.one_hot(y, 4).double() - p)
    torch.testing.assert_close(z.grad, expected)


def test_logit_adjusted_gradient_is_shifted_softmax_minus_onehot():
    z, y, _ = _data(n=5, k=4, seed=8)
    z.requires_grad_(True)
    prior = torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64)
    logit_adjusted_loss(z, y, prior, reduction="sum").backward()
    expected = torch.softmax(z.detach() + prior.log(), -1) - F.one_hot(y, 4).double()
    torch.testing.assert_close(z.grad, expected)


def test_focal_gradient_finite_at_certainty():
    z = torch.tensor([[50.0, -50.0]], dtype=torch.float64, requires_grad=True)
    focal_loss(z, torch.tensor([0]), gamma=0.5).backward()
    assert torch.isfinite(z.grad).all()


# --- properties ------------------------------------------------------------------------------

logit_rows = st.lists(st.floats(-30, 30), min_size=2, max_size=8)


@given(logit_rows, st.floats(0.0, 5.0), st.data())
def test_focal_between_zero_and_cross_entropy(row, gamma, data):
    y = data.draw(st.integers(0, len(row) - 1))
    z = np.array([row])
    fl = float(focal_loss(z, [y], gamma=gamma))
    ce = float(sb.cross_entropy(z, [y]))
    assert 0.0 <= fl <= ce * (1 + 1e-12) + 1e-300


@given(logit_rows, st.data())
def test_focal_decreases_with_gamma(row, data):
    y = data.draw(st.integers(0, len(row) - 1))
    z = np.array([row])
    values = [float(focal_loss(z, [y], gamma=g)) for g in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert all(a >= b * (1 - 1e-12) for a, b in itertools.pairwise(values))


@given(
    st.lists(st.integers(1, 10_000), min_size=1, max_size=10),
    st.floats(0.0, 0.99999),
)
def test_class_balanced_weights_properties(counts, beta):
    w = class_balanced_weights(counts, beta=beta)
    assert w.sum() == pytest.approx(len(counts))
    order = np.argsort(counts, kind="stable")
    # Rarer classes never get a smaller weight.
    assert np.all(np.diff(w[order]) <= 1e-12 * w.max())


@given(logit_rows, st.floats(-3, 3), st.floats(0.5, 50))
def test_adjustment_shift_invariant_in_prior_scale(row, tau, scale):
    k = len(row)
    prior = np.arange(1, k + 1, dtype=float)
    z = np.array([row])
    np.testing.assert_allclose(
        sb.softmax(adjust_logits(z, prior, tau=tau)),
        sb.softmax(adjust_logits(z, prior * scale, tau=tau)), rtol=1e-9, atol=1e-12,
    )


# --- errors ----------------------------------------------------------------------------------


def test_errors():
    z, y = np.zeros((2, 3)), np.array([0, 2])
    with pytest.raises(ValueError, match="`gamma`"):
        focal_loss(z, y, gamma=-1.0)
    with pytest.raises(TypeError, match="`gamma`"):
        focal_loss(z, y, gamma="2")
    with pytest.raises(ValueError, match="`label_smoothing`"):
        focal_loss(z, y, label_smoothing=1.5)
    with pytest.raises(ValueError, match="`weight`"):
        focal_loss(z, y, weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="`weight`"):
        focal_loss(z, y, weight=[1.0, -2.0, 1.0])
    with pytest.raises(ValueError, match="total `weight`"):
        focal_loss(z, y, weight=[0.0, 1.0, 0.0])
    with pytest.raises(TypeError, match="`target`"):
        focal_loss(z, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"`target`.*shape"):
        focal_loss(z, [0, 1, 2])
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\]"):
        focal_loss(z, [0, 3])
    with pytest.raises(ValueError, match="`reduction`"):
        focal_loss(z, y, reduction="avg")
    with pytest.raises(ValueError, match="at least one example"):
        focal_loss(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="`logits`"):
        focal_loss(np.zeros((2, 0)), y)
    with pytest.raises(ValueError, match="`beta`"):
        class_balanced_weights([10, 1], beta=1.0)
    with pytest.raises(TypeError, match="`beta`"):
        class_balanced_weights([10, 1], beta=None)
    with pytest.raises(ValueError, match="`class_counts`"):
        class_balanced_weights([10, 0])
    with pytest.raises(ValueError, match="`class_counts`"):
        class_balanced_weights([[10, 1]])
    with pytest.raises(ValueError, match="`class_prior`"):
        logit_adjusted_loss(z, y, [0.5, 0.5])
    with pytest.raises(ValueError, match="`class_prior`"):
        adjust_logits(z, [0.5, 0.0, 0.5])
    with pytest.raises(ValueError, match="`tau`"):
        adjust_logits(z, [1, 1, 1], tau=float("inf"))
    with pytest.raises(ValueError, match="`axis`"):
        adjust_logits(z, [1, 1, 1], axis=2)


def test_empty_batch_sum_and_none():
    z = torch.zeros(0, 3)
    y = torch.zeros(0, dtype=torch.long)
    assert float(focal_loss(z, y, reduction="sum")) == 0.0
    assert focal_loss(z, y, reduction="none").shape == (0,)


# --- LDAM (Cao et al. 2019) ------------------------------------------------------------------


def _ldam_reference(x, target, cls_num_list, max_m=0.5, weight=None, s=30.0):
    """The authors' LDAMLoss.forward (github.com/kaidic/LDAM-DRW), rewritten without CUDA."""
    m_list = 1.0 / np.sqrt(np.sqrt(np.asarray(cls_num_list, dtype=np.float64)))
    m_list = torch.as_tensor(m_list * (max_m / np.max(m_list)), dtype=x.dtype)
    index = torch.zeros_like(x, dtype=torch.bool)
    index.scatter_(1, target.view(-1, 1), True)
    batch_m = torch.matmul(m_list[None, :], index.to(x.dtype).transpose(0, 1)).view(-1, 1)
    output = torch.where(index, x - batch_m, x)
    return F.cross_entropy(s * output, target, weight=weight)


@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("s", [1.0, 30.0])
def test_ldam_matches_the_authors_code(use_weight, s):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(40, 7, generator=g, dtype=torch.float64, requires_grad=True) / 3
    y = torch.randint(0, 7, (40,), generator=g)
    counts = [500, 200, 90, 40, 12, 5, 2]
    w = torch.rand(7, generator=g, dtype=torch.float64) + 0.2 if use_weight else None
    ours = ldam_loss(x, y, counts, scale=s, weight=w)
    ref = _ldam_reference(x, y, counts, weight=w, s=s)
    torch.testing.assert_close(ours, ref)
    (g_ours,) = torch.autograd.grad(ours, x)
    (g_ref,) = torch.autograd.grad(ref, x)
    torch.testing.assert_close(g_ours, g_ref)


def test_ldam_zero_margin_is_cross_entropy_and_margins_follow_counts():
    z = np.random.default_rng(0).normal(size=(30, 4))
    y = np.arange(30) % 4
    counts = [81, 16, 16, 1]  # n^(-1/4) = 1/3, 1/2, 1/2, 1: margins 1/6, 1/4, 1/4, 1/2
    np.testing.assert_allclose(ldam_loss(z, y, counts, max_margin=0.0),
                               sb.cross_entropy(z, y))
    # the margin is subtracted from the true logit only: per-example loss = CE of shifted row
    expected = sb.cross_entropy(z - np.array([1 / 6, 1 / 4, 1 / 4, 1 / 2])[y][:, None]
                                * np.eye(4)[y], y, reduction="none")
    np.testing.assert_allclose(ldam_loss(z, y, counts, reduction="none"), expected)
    # torch and NumPy agree; a class axis other than the last works
    np.testing.assert_allclose(ldam_loss(torch.tensor(z), torch.tensor(y), counts).numpy(),
                               ldam_loss(z, y, counts))
    np.testing.assert_allclose(ldam_loss(z.T, y, counts, axis=0), ldam_loss(z, y, counts))


@given(
    row=st.lists(st.floats(-5, 5), min_size=3, max_size=3),
    m=st.floats(0.01, 3.0),
)
def test_ldam_is_above_cross_entropy_and_grows_with_the_margin(row, m):
    z = np.array([row])
    for y in range(3):
        ce = float(sb.cross_entropy(z, [y]))
        small = float(ldam_loss(z, [y], [100, 10, 1], max_margin=m))
        large = float(ldam_loss(z, [y], [100, 10, 1], max_margin=2 * m))
        assert ce < small < large


def test_ldam_errors():
    z, y = np.zeros((2, 3)), [0, 1]
    with pytest.raises(ValueError, match="`class_counts`"):
        ldam_loss(z, y, [1, 2])
    with pytest.raises(ValueError, match="`class_counts`"):
        ldam_loss(z, y, [1, 0, 2])
    with pytest.raises(ValueError, match="`max_margin`"):
        ldam_loss(z, y, [1, 2, 3], max_margin=-0.1)
    with pytest.raises(TypeError, match="`max_margin`"):
        ldam_loss(z, y, [1, 2, 3], max_margin="0.5")
    with pytest.raises(ValueError, match="`scale`"):
        ldam_loss(z, y, [1, 2, 3], scale=0.0)
    with pytest.raises(ValueError, match="`scale`"):
        ldam_loss(z, y, [1, 2, 3], scale=np.inf)
    with pytest.raises(ValueError, match="`target`"):
        ldam_loss(z, [0, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="`reduction`"):
        ldam_loss(z, y, [1, 2, 3], reduction="avg")


# --- Balanced Softmax (Ren et al. 2020) ----------------------------------------------------------


def _balanced_softmax_reference(logits, target, counts):
    """The authors' balanced_softmax_loss (github.com/jiawei-ren/BalancedMetaSoftmax-
    Classification): ``F.cross_entropy(logits + spc.log(), labels)``, spc = samples per class."""
    spc = torch.as_tensor(counts, dtype=logits.dtype)
    return F.cross_entropy(logits + spc.log().unsqueeze(0).expand(logits.shape[0], -1), target)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("use_weight", [False, True])
def test_balanced_softmax_is_logit_adjusted_loss_with_tau_one(reduction, eps, use_weight):
    z, y, w = _data(n=13, k=5, seed=9)
    w = w if use_weight else None
    counts = [400, 90, 30, 7, 2]
    for zz, yy, ww in ((z, y, w), (z.numpy(), y.numpy(), None if w is None else w.numpy())):
        got = balanced_softmax_loss(zz, yy, counts, weight=ww, label_smoothing=eps,
                                    reduction=reduction)
        ref = logit_adjusted_loss(zz, yy, counts, tau=1.0, weight=ww, label_smoothing=eps,
                                  reduction=reduction)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(ref))   # bit for bit


def test_balanced_softmax_matches_the_authors_code_and_its_formula():
    z, y, _ = _data(n=20, k=4, seed=10)
    z.requires_grad_(True)
    counts = [500, 60, 9, 1]
    ours = balanced_softmax_loss(z, y, counts)
    torch.testing.assert_close(ours, _balanced_softmax_reference(z, y, counts))
    # -log(n_y e^{z_y} / sum_k n_k e^{z_k}), written out with probabilities
    n = torch.tensor(counts, dtype=torch.float64)
    e = n * torch.exp(z.detach())
    explicit = -torch.log(e.gather(1, y[:, None])[:, 0] / e.sum(1)).mean()
    torch.testing.assert_close(ours.detach(), explicit)
    # gradient: softmax(z + log n) - onehot, averaged over the batch
    (grad,) = torch.autograd.grad(ours, z)
    expected = (torch.softmax(z.detach() + n.log(), -1) - F.one_hot(y, 4).double()) / 20
    torch.testing.assert_close(grad, expected)


@given(logit_rows, st.floats(0.01, 1e6), st.data())
def test_balanced_softmax_ignores_the_scale_of_the_counts(row, scale, data):
    k = len(row)
    y = data.draw(st.integers(0, k - 1))
    counts = np.arange(1, k + 1, dtype=float) ** 2
    z = np.array([row])
    np.testing.assert_allclose(balanced_softmax_loss(z, [y], counts),
                               balanced_softmax_loss(z, [y], counts * scale), rtol=1e-9,
                               atol=1e-12)


def test_balanced_softmax_uniform_counts_is_cross_entropy_and_dtype():
    z, y, _ = _data(n=6, k=3, seed=11, dtype=torch.float32)
    out = balanced_softmax_loss(z, y, [7, 7, 7])
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, F.cross_entropy(z, y))
    torch.testing.assert_close(balanced_softmax_loss(z.T, y, [7, 7, 7], axis=0), out)


def test_balanced_softmax_errors():
    z, y = np.zeros((2, 3)), [0, 1]
    with pytest.raises(ValueError, match="`class_counts`"):
        balanced_softmax_loss(z, y, [1, 2])
    with pytest.raises(ValueError, match="`class_counts`"):
        balanced_softmax_loss(z, y, [1, 0, 2])
    with pytest.raises(ValueError, match="`target`"):
        balanced_softmax_loss(z, [0, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="`reduction`"):
        balanced_softmax_loss(z, y, [1, 2, 3], reduction="avg")
    with pytest.raises(ValueError, match="`logits`"):
        balanced_softmax_loss(np.zeros((2, 0)), y, [1, 2, 3])
