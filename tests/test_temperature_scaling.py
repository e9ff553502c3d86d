"""Tests of softmax_bottleneck.temperature_scaling: recovery, optimality, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import softmax_bottleneck as sb
from softmax_bottleneck.temperature_scaling import fit_temperature, temperature_nll


def _calibrated(n=20_000, k=5, scale=2.0, seed=0):
    """Logits z and labels drawn from softmax(z): calibrated by construction (T = 1)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * scale
    p = sb.softmax(z)
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    return z, y


def test_calibrated_data_gives_one():
    z, y = _calibrated()
    assert fit_temperature(z, y) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("true_t", [0.5, 2.0, 4.0])
def test_recovers_known_temperature(true_t):
    # A model whose logits are the calibrated ones times T is fixed by temperature T.
    z, y = _calibrated(seed=1)
    assert fit_temperature(z * true_t, y) == pytest.approx(true_t, rel=0.05)


def test_is_the_minimum_and_matches_torch_lbfgs():
    z, y = _calibrated(n=3000, scale=3.0, seed=2)
    z = z * 1.7 + np.random.default_rng(3).normal(size=z.shape)  # miscalibrated, noisy
    t = fit_temperature(z, y)
    nll = temperature_nll(z, y, temperature=t)
    for other in [t * 0.98, t * 1.02]:
        assert temperature_nll(z, y, temperature=other) > nll
    # Independent fit: torch L-BFGS on log T with autograd.
    zt, yt = torch.tensor(z), torch.tensor(y)
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [log_t],
        lr=0.5,
        max_iter=200,
        tolerance_grad=1e-12,
        tolerance_change=1e-14,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(zt / log_t.exp(), yt)
        loss.backward()
        return loss

    opt.step(closure)
    assert t == pytest.approx(float(log_t.detach().exp()), rel=1e-4)


def test_accepts_torch_and_keeps_argmax():
    z, y = _calibrated(n=2000, seed=4)
    t = fit_temperature(torch.tensor(z * 2, dtype=torch.float32), torch.tensor(y))
    assert t == pytest.approx(fit_temperature(z * 2, y), rel=1e-3)
    np.testing.assert_array_equal(sb.softmax(z, temperature=t).argmax(1), z.argmax(1))


def test_nll_matches_cross_entropy():
    z, y = _calibrated(n=50, seed=5)
    assert temperature_nll(z, y, temperature=2.5) == pytest.approx(
        float(sb.cross_entropy(z / 2.5, y)), rel=1e-12
    )


@given(st.floats(0.2, 5.0), st.integers(0, 3))
def test_scaling_logits_scales_temperature(c, seed):
    z, y = _calibrated(n=400, k=3, seed=seed)
    z = z * 1.5
    assert fit_temperature(c * z, y, bounds=(1e-3, 1e3)) == pytest.approx(
        c * fit_temperature(z, y, bounds=(1e-3, 1e3)), rel=1e-4
    )


def test_warns_at_bound_for_separable_data():
    z = np.array([[5.0, -5.0], [-5.0, 5.0]])
    with pytest.warns(RuntimeWarning, match="end of `bounds`"):
        t = fit_temperature(z, [0, 1])
    assert t == pytest.approx(1e-2, rel=1e-3)


def test_errors():
    z, y = np.zeros((3, 2)), np.array([0, 1, 1])
    with pytest.raises(ValueError, match="`logits`"):
        fit_temperature(np.zeros(3), y)
    with pytest.raises(ValueError, match="`logits`"):
        fit_temperature(np.zeros((3, 1)), y)
    with pytest.raises(ValueError, match="finite"):
        fit_temperature(np.array([[0.0, np.inf]]), [0])
    with pytest.raises(TypeError, match="`target`"):
        fit_temperature(z, y.astype(float))
    with pytest.raises(ValueError, match="`target`"):
        fit_temperature(z, y[:2])
    with pytest.raises(ValueError, match=r"class indices in \[0, 1\]"):
        fit_temperature(z, [0, 1, 2])
    with pytest.raises(ValueError, match="`bounds`"):
        fit_temperature(z, y, bounds=(2.0, 1.0))
    with pytest.raises(ValueError, match="`bounds`"):
        fit_temperature(z, y, bounds=(0.0, 1.0))
    with pytest.raises(TypeError, match="`bounds`"):
        fit_temperature(z, y, bounds=5)
    with pytest.raises(ValueError, match="`temperature`"):
        temperature_nll(z, y, temperature=0.0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_logits_accepted(dtype):
    """bfloat16 tensors crashed in ``.numpy()``; both half precisions are read into float64."""
    gen = torch.Generator().manual_seed(0)
    z = 2 * torch.randn(2000, 4, generator=gen)
    y = torch.distributions.Categorical(logits=z).sample()
    low = (3.0 * z).to(dtype)
    t = fit_temperature(low, y)
    assert t == pytest.approx(fit_temperature(low.double(), y), rel=1e-6)
    assert abs(t - 3.0) < 0.3
    nll = temperature_nll(low, y, temperature=2.0)
    assert nll == pytest.approx(temperature_nll(low.double(), y, temperature=2.0))
    assert fit_temperature(low.numpy() if dtype == torch.float16 else low.float().numpy(), y) == (
        pytest.approx(t, rel=1e-6)
    )
