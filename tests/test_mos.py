"""Tests of softmax_bottleneck.models.mos: rank bound, mixture of softmaxes, sigsoftmax."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softmax_bottleneck as sb
from softmax_bottleneck.models.mos import (
    MixtureOfContexts,
    MixtureOfSoftmaxes,
    SoftmaxOutput,
    effective_rank,
    log_prob_rank,
    log_prob_spectrum,
    log_sigsoftmax,
)


def _contexts(n, d, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("d", [1, 3, 6])
@pytest.mark.parametrize("bias", [True, False])
def test_softmax_rank_bound(d, bias):
    torch.manual_seed(d)
    layer = SoftmaxOutput(d, 60, bias=bias).double()
    with torch.no_grad():
        layer.decoder.weight.mul_(5)  # far from uniform: the bound is not an artefact of scale
    rank = log_prob_rank(layer(_contexts(100, d)))
    assert rank == d + (2 if bias else 1)  # the bound, attained by generic weights


def test_mos_and_sigsoftmax_exceed_the_bound():
    torch.manual_seed(0)
    h = _contexts(80, 3)
    assert log_prob_rank(MixtureOfSoftmaxes(3, 40, 3).double()(h)) > 3 + 2
    linear = torch.nn.Linear(3, 40).double()
    assert log_prob_rank(log_sigsoftmax(linear(h))) > 3 + 2
    assert log_prob_rank(torch.log_softmax(linear(h), -1)) == 3 + 2


def test_mos_beats_softmax_on_a_full_rank_target():
    # Synthetic contexts x vocabulary distribution of full rank; both layers see the same
    # d = 2 contexts and are trained to minimise KL(P || Q) for the same number of steps.
    g = torch.Generator().manual_seed(0)
    n, v, d = 24, 20, 2
    h = torch.randn(n, d, generator=g, dtype=torch.float64)
    log_p = torch.log_softmax(torch.randn(n, v, generator=g, dtype=torch.float64) * 2, -1)
    assert log_prob_rank(log_p) == v
    results = {}
    for name, make in [("softmax", lambda: SoftmaxOutput(d, v)),
                       ("mos", lambda: MixtureOfSoftmaxes(d, v, 4, d_latent=8))]:
        torch.manual_seed(0)
        model = make().double()
        opt = torch.optim.Adam(model.parameters(), lr=0.05)
        for _ in range(150):
            opt.zero_grad()
            kl = (log_p.exp() * (log_p - model(h))).sum(-1).mean()
            kl.backward()
            opt.step()
        with torch.no_grad():
            log_q = model(h)
            kl = float((log_p.exp() * (log_p - log_q)).sum(-1).mean())
        results[name] = (kl, log_prob_rank(log_q))
    assert results["softmax"][1] <= d + 2
    assert results["mos"][1] > d + 2
    assert results["mos"][0] < 0.6 * results["softmax"][0]


def test_mos_shapes_normalisation_and_weights():
    torch.manual_seed(1)
    mos = MixtureOfSoftmaxes(6, 17, 3, d_latent=5, dropout=0.1).eval()
    h = torch.randn(2, 4, 6)
    logp = mos(h)
    assert logp.shape == (2, 4, 17)
    torch.testing.assert_close(logp.exp().sum(-1), torch.ones(2, 4))
    pi = mos.mixture_weights(h)
    assert pi.shape == (2, 4, 3)
    torch.testing.assert_close(pi.sum(-1), torch.ones(2, 4))


def test_mos_equals_explicit_mixture():
    torch.manual_seed(2)
    mos = MixtureOfSoftmaxes(4, 9, 3).double()
    h = _contexts(5, 4)
    pi = torch.softmax(h @ mos.prior.weight.T, -1)  # (N, M)
    ctx = torch.tanh(mos.latent(h)).view(5, 3, 4)
    comp = torch.softmax(ctx @ mos.decoder.weight.T + mos.decoder.bias, -1)  # (N, M, V)
    expected = (pi.unsqueeze(-1) * comp).sum(1)
    torch.testing.assert_close(mos(h).exp(), expected)


def test_mos_gradients_flow():
    mos = MixtureOfSoftmaxes(4, 9, 2).double()
    h = _contexts(3, 4).requires_grad_(True)
    torch.nn.functional.nll_loss(mos(h), torch.tensor([0, 4, 8])).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in mos.parameters())
    assert torch.autograd.gradcheck(lambda x: mos(x), (h,))


@given(hnp.arrays(np.float64, st.integers(1, 10), elements=st.floats(-40, 40)))
def test_sigsoftmax_matches_definition(z):
    logp = log_sigsoftmax(z)
    w = np.exp(z - z.max()) / (1 + np.exp(-z))
    np.testing.assert_allclose(np.exp(logp), w / w.sum(), rtol=1e-9, atol=1e-300)


def test_sigsoftmax_torch_and_axis():
    z = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    out = log_sigsoftmax(z, axis=0)
    torch.testing.assert_close(out, torch.log_softmax(z + torch.nn.functional.logsigmoid(z), 0))
    assert torch.autograd.gradcheck(lambda x: log_sigsoftmax(x), (z,))
    assert log_sigsoftmax(z.float()).dtype == torch.float32


def test_sigsoftmax_is_not_shift_invariant():
    z = np.array([2.0, 1.0, 0.0])
    assert not np.allclose(log_sigsoftmax(z), log_sigsoftmax(z + 5))
    # For large logits sigmoid -> 1 and sigsoftmax -> softmax.
    np.testing.assert_allclose(log_sigsoftmax(z + 50), sb.log_softmax(z), atol=1e-20 + 1e-12)


def test_rank_of_known_matrices():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 4)) @ rng.normal(size=(4, 20))
    assert log_prob_rank(a) == 4
    assert log_prob_rank(np.zeros((3, 3))) == 0
    assert log_prob_rank(np.eye(5), rtol=0.5) == 5
    noisy = a + 1e-6 * rng.normal(size=a.shape)
    assert log_prob_rank(noisy) == 20 and log_prob_rank(noisy, rtol=1e-4) == 4


def test_rank_at_a_threshold_and_effective_rank():
    # Full numerical rank through tiny singular values: the threshold and the entropy see it.
    rng = np.random.default_rng(1)
    u, _ = np.linalg.qr(rng.normal(size=(40, 40)))
    v, _ = np.linalg.qr(rng.normal(size=(30, 30)))
    s = np.r_[[10.0, 5.0, 2.5], 1e-8 * np.ones(27)]
    a = u[:, :30] * s @ v.T  # (40, 30), singular values s
    np.testing.assert_allclose(log_prob_spectrum(a), s, rtol=1e-6, atol=1e-12)
    assert log_prob_rank(a) == 30
    assert log_prob_rank(a, rtol=1e-3) == 3 and log_prob_rank(a, rtol=0.3) == 2
    p = s / s.sum()
    assert effective_rank(a) == pytest.approx(np.exp(-np.sum(p * np.log(p))), rel=1e-6)
    assert 2.0 < effective_rank(a) < 3.0
    # equal singular values: the effective rank is the rank; invariant to scale and transpose
    assert effective_rank(np.eye(7)) == pytest.approx(7.0)
    assert effective_rank(3.0 * a.T) == pytest.approx(effective_rank(a), rel=1e-9)
    assert effective_rank(np.zeros((3, 4))) == 0.0
    # torch input, the same numbers
    assert effective_rank(torch.as_tensor(a)) == pytest.approx(effective_rank(a), rel=1e-12)


def test_softmax_effective_rank_is_bounded_too():
    # erank <= numerical rank <= d + 2 for a softmax layer
    torch.manual_seed(0)
    h = _contexts(120, 3)
    with torch.no_grad():
        logp = SoftmaxOutput(3, 50).double()(h)
    assert 1.0 <= effective_rank(logp) <= log_prob_rank(logp) <= 3 + 2
    # doubly centred: the two rank-one terms are gone, rank <= d
    assert log_prob_rank(logp, center=True) == 3
    assert effective_rank(logp, center=True) <= 3
    c = logp.numpy() - logp.numpy().mean(1, keepdims=True)
    c -= c.mean(0, keepdims=True)
    np.testing.assert_allclose(log_prob_spectrum(logp, center=True), np.linalg.svd(c)[1],
                               rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("d_latent", [2, 5])
def test_moc_is_rank_bounded_where_mos_is_not(d_latent):
    # Same parameters, same contexts: mixing before the softmax keeps the d_latent + 2 bound.
    torch.manual_seed(d_latent)
    moc = MixtureOfContexts(4, 60, 3, d_latent=d_latent).double()
    mos = MixtureOfSoftmaxes(4, 60, 3, d_latent=d_latent).double()
    mos.load_state_dict(moc.state_dict())
    with torch.no_grad():
        for p in moc.parameters():
            p.mul_(3)  # far from uniform
        mos.load_state_dict(moc.state_dict())
        h = _contexts(150, 4)
        assert log_prob_rank(moc(h)) == d_latent + 2
        assert log_prob_rank(mos(h)) > d_latent + 2


def test_moc_is_a_softmax_of_the_mixed_context():
    torch.manual_seed(3)
    moc = MixtureOfContexts(6, 23, 4, d_latent=5).double()
    h = _contexts(11, 6, seed=4)
    with torch.no_grad():
        pi = torch.softmax(h @ moc.prior.weight.T, -1)  # (N, M)
        ctx = torch.tanh(h @ moc.latent.weight.T + moc.latent.bias).reshape(11, 4, 5)
        mixed = torch.einsum("nm,nmd->nd", pi, ctx)  # the averaged hidden state, by hand
        torch.testing.assert_close(moc.mixed_context(h), mixed)
        softmax = SoftmaxOutput(5, 23).double()
        softmax.decoder.load_state_dict(moc.decoder.state_dict())
        torch.testing.assert_close(moc(h), softmax(mixed))
        # with one component the mixture weight is 1: MoC and MoS coincide
        one = MixtureOfContexts(6, 23, 1).double()
        mos = MixtureOfSoftmaxes(6, 23, 1).double()
        mos.load_state_dict(one.state_dict())
        torch.testing.assert_close(one(h), mos(h))
    moc(h.requires_grad_()).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in moc.parameters())


def test_errors():
    with pytest.raises(ValueError, match="`log_probs`"):
        log_prob_rank(np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        log_prob_rank(np.array([[0.0, -np.inf]]))
    with pytest.raises(ValueError, match="`log_probs`"):
        effective_rank(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="finite"):
        log_prob_spectrum(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="`rtol`"):
        log_prob_rank(np.eye(2), rtol=0.0)
    with pytest.raises(TypeError, match="`rtol`"):
        log_prob_rank(np.eye(2), rtol="1e-3")
    with pytest.raises(ValueError, match="`n_components`"):
        MixtureOfSoftmaxes(4, 10, 0)
    with pytest.raises(TypeError, match="`d_model`"):
        MixtureOfSoftmaxes(4.0, 10)
    with pytest.raises(ValueError, match="`dropout`"):
        MixtureOfSoftmaxes(4, 10, dropout=1.0)
    with pytest.raises(ValueError, match="`n_classes`"):
        SoftmaxOutput(4, 0)
    with pytest.raises(ValueError, match="`n_components`"):
        MixtureOfContexts(4, 10, 0)
    with pytest.raises(TypeError, match="`d_latent`"):
        MixtureOfContexts(4, 10, 2, d_latent=2.5)
    with pytest.raises(ValueError, match="`logits`"):
        log_sigsoftmax(np.zeros((2, 0)))
