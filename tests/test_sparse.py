"""Tests of softmax_bottleneck.sparse: simplex, projection, bisection, gradients, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.optimize
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softmax_bottleneck as sb
from softmax_bottleneck.sparse import entmax15, entmax_bisect, sparsemax

MAPS = [sparsemax, entmax15, entmax_bisect]

logit_matrices = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9),
    elements=st.floats(-20, 20),
)


def _projection_brute_force(z):
    """Euclidean projection onto the simplex by trying every support (small K only)."""
    k = len(z)
    best, best_dist = None, np.inf
    for size in range(1, k + 1):
        for support in itertools.combinations(range(k), size):
            s = list(support)
            p = np.zeros(k)
            p[s] = z[s] - (z[s].sum() - 1) / size
            if p.min() >= -1e-12:
                dist = np.sum((p - z) ** 2)
                if dist < best_dist:
                    best, best_dist = p, dist
    return best


def _entmax15_brentq(z):
    """1.5-entmax from a root of sum_j [z_j/2 - tau]_+^2 = 1 (scipy's brentq)."""
    x = z / 2
    root = scipy.optimize.brentq(
        lambda tau: np.sum(np.clip(x - tau, 0, None) ** 2) - 1, x.max() - 1, x.max(), xtol=1e-15
    )
    return np.clip(x - root, 0, None) ** 2


# --- properties ------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", MAPS)
@given(x=logit_matrices)
def test_on_the_simplex(fn, x):
    p = fn(x)
    assert p.shape == x.shape
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-9)


@pytest.mark.parametrize("fn", MAPS)
@given(x=logit_matrices, c=st.floats(-100, 100))
def test_shift_invariant_and_order_preserving(fn, x, c):
    p = fn(x)
    np.testing.assert_allclose(fn(x + c), p, atol=1e-9)
    # A larger logit never gets a smaller probability.
    order = np.argsort(x, axis=-1)
    assert np.all(np.diff(np.take_along_axis(p, order, -1), axis=-1) >= -1e-9)


@given(x=hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-5, 5)))
def test_sparsemax_is_euclidean_projection(x):
    np.testing.assert_allclose(sparsemax(x), _projection_brute_force(x), atol=1e-9)


def test_sparsemax_matches_scipy_qp():
    z = np.random.default_rng(0).normal(size=12)
    res = scipy.optimize.minimize(
        lambda p: np.sum((p - z) ** 2), np.full(12, 1 / 12), jac=lambda p: 2 * (p - z),
        bounds=[(0, None)] * 12,
        constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1, "jac": lambda p: np.ones(12)}],
        method="SLSQP", options={"ftol": 1e-14, "maxiter": 500},
    )
    assert res.success
    np.testing.assert_allclose(sparsemax(z), res.x, atol=1e-7)


@given(x=hnp.arrays(np.float64, st.integers(1, 10), elements=st.floats(-10, 10)))
def test_entmax15_matches_root_finding(x):
    np.testing.assert_allclose(entmax15(x), _entmax15_brentq(x), atol=1e-10)


@given(x=logit_matrices)
def test_bisection_agrees_with_sorting(x):
    np.testing.assert_allclose(entmax_bisect(x, alpha=1.5), entmax15(x), atol=1e-9)
    np.testing.assert_allclose(entmax_bisect(x, alpha=2.0), sparsemax(x), atol=1e-9)


def test_alpha_near_one_is_softmax():
    z = np.array([[1.0, 0.5, -0.3, 2.0], [0.0, 0.1, 0.2, 0.3]])
    np.testing.assert_allclose(entmax_bisect(z, alpha=1.001), sb.softmax(z), atol=2e-3)


def test_support_shrinks_as_alpha_grows():
    z = np.random.default_rng(1).normal(size=(50, 20))
    sizes = [int((entmax_bisect(z, alpha=a) > 0).sum()) for a in (1.25, 1.5, 2.0, 3.0)]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]
    assert int((entmax15(z) > 0).sum()) == sizes[1]
    assert int((sparsemax(z) > 0).sum()) == sizes[2]


def test_golden_values():
    # Worked by hand: [0.9, 0.5, 0.1] has support {0, 1} and tau = (1.4 - 1) / 2 = 0.2.
    np.testing.assert_allclose(sparsemax([0.9, 0.5, 0.1]), [0.7, 0.3, 0.0], atol=1e-15)
    # 1.5-entmax of [2, 1, 0.1]: support {0, 1}, tau = -1/4 - sqrt(7)/4 on z/2 - 1.
    tau = -0.25 - np.sqrt(7) / 4
    np.testing.assert_allclose(entmax15([2.0, 1.0, 0.1]), [tau**2, (0.5 + tau) ** 2, 0.0],
                               atol=1e-15)


@pytest.mark.parametrize("fn", MAPS)
def test_minus_inf_masks_a_class(fn):
    z = np.array([[0.3, 1.2, -0.5]])
    padded = np.array([[0.3, -np.inf, 1.2, -0.5, -np.inf]])
    p = fn(padded)
    np.testing.assert_allclose(p[:, [0, 2, 3]], fn(z), atol=1e-12)
    assert np.all(p[:, [1, 4]] == 0)


@pytest.mark.parametrize("fn", MAPS)
def test_axis(fn):
    z = np.random.default_rng(2).normal(size=(3, 4, 5))
    np.testing.assert_allclose(fn(z, axis=1), np.moveaxis(fn(np.moveaxis(z, 1, -1)), -1, 1))


# --- torch: same values, dtypes, closed-form backward ----------------------------------------


@pytest.mark.parametrize("fn", MAPS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_torch_matches_numpy_and_keeps_dtype(fn, dtype):
    z = torch.randn(6, 7, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2
    p = fn(z.to(dtype))
    assert isinstance(p, torch.Tensor) and p.dtype == dtype
    ref = fn(z.to(dtype).double().numpy())
    tol = 2e-3 if dtype == torch.float16 else 1e-5 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(p.double().numpy(), ref, atol=tol)


@pytest.mark.parametrize("fn", MAPS)
@pytest.mark.parametrize("axis", [0, 1])
def test_gradcheck(fn, axis):
    z = torch.randn(4, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    z.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: fn(x, axis=axis), (z,))


def test_backward_matches_autograd_through_formula():
    # On a fixed support both maps are smooth formulas in z: compare with plain autograd.
    z = torch.tensor([[1.3, 0.2, 0.9, -2.0]], dtype=torch.float64, requires_grad=True)
    g = torch.tensor([[0.3, -1.0, 2.0, 0.5]], dtype=torch.float64)
    (sparsemax(z) * g).sum().backward()
    grad_ours = z.grad.clone()
    z.grad = None
    s = [0, 2]  # the support: 1 + 2 * 0.9 > 1.3 + 0.9, but 1 + 3 * 0.2 < 1.3 + 0.9 + 0.2
    assert torch.equal(sparsemax(z.detach())[0] > 0, torch.tensor([True, False, True, False]))
    zs = z[:, s]
    p = zs - (zs.sum() - 1) / 2
    (p * g[:, s]).sum().backward()
    torch.testing.assert_close(grad_ours, z.grad)


@pytest.mark.parametrize("name", ["sparsemax", "entmax15"])
def test_matches_entmax_package(name):
    entmax = pytest.importorskip("entmax")
    z = torch.randn(8, 11, generator=torch.Generator().manual_seed(5), dtype=torch.float64) * 3
    ours, theirs = {"sparsemax": (sparsemax, entmax.sparsemax),
                    "entmax15": (entmax15, entmax.entmax15)}[name]
    za, zb = z.clone().requires_grad_(True), z.clone().requires_grad_(True)
    pa, pb = ours(za), theirs(zb, dim=-1)
    torch.testing.assert_close(pa, pb)
    g = torch.randn(8, 11, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    (pa * g).sum().backward()
    (pb * g).sum().backward()
    torch.testing.assert_close(za.grad, zb.grad)


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", MAPS)
def test_errors(fn):
    with pytest.raises(ValueError, match="NaN or \\+inf"):
        fn([1.0, np.nan])
    with pytest.raises(ValueError, match="NaN or \\+inf"):
        fn(torch.tensor([1.0, float("inf")]))
    with pytest.raises(ValueError, match="`x`"):
        fn(np.zeros((2, 0)))
    with pytest.raises(ValueError, match="`axis`"):
        fn(np.zeros(3), axis=1)
    with pytest.raises(TypeError, match="`x`"):
        fn(np.array(["a", "b"]))


def test_bisect_argument_errors():
    with pytest.raises(ValueError, match="`alpha`"):
        entmax_bisect([1.0, 2.0], alpha=1.0)
    with pytest.raises(TypeError, match="`alpha`"):
        entmax_bisect([1.0, 2.0], alpha="2")
    with pytest.raises(ValueError, match="`n_iter`"):
        entmax_bisect([1.0, 2.0], n_iter=0)
    with pytest.raises(TypeError, match="`n_iter`"):
        entmax_bisect([1.0, 2.0], n_iter=2.5)


@pytest.mark.parametrize("fn", [sparsemax, entmax15, lambda z: entmax_bisect(z, alpha=1.5)])
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_all_minus_inf_row_is_nan_on_both_paths(fn):
    """A fully masked row (padded attention) has no distribution: NaN, as softmax gives. The
    torch path crashed in ``gather`` with index -1 (referee report, issue 13)."""
    x = np.array([[-np.inf, -np.inf, -np.inf], [0.0, 1.0, -np.inf]])
    for arr in (x, torch.tensor(x), torch.tensor(x, dtype=torch.float32)):
        out = fn(arr)
        out = out.numpy() if isinstance(out, torch.Tensor) else out
        assert np.all(np.isnan(out[0]))
        np.testing.assert_allclose(out[1], fn(x[1:])[0], rtol=1e-6)
    t = torch.tensor(x, requires_grad=True)
    fn(t)[1].sum().backward()  # the other rows still train
    assert torch.all(torch.isfinite(t.grad[1]))
