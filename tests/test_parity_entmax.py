"""Parity of ``softmax_bottleneck.sparse`` with the ``entmax`` package (Peters, Niculae and
Martins), installed in .venv.

Ported from the tests that entmax ships (``entmax/test_root_finding.py``, ``test_mask.py``,
``test_topk.py``; entmax 1.3): sort-based maps equal bisection, masking with ``-inf``,
gradients by ``torch.autograd.gradcheck``, every dimension of a 4-d input; and each sb map
compared with entmax's own on the same tensors, forward and backward.

Not applicable (sb has no such feature): ``normmax_bisect``, ``budget_bisect``,
``sparsemax_bisect`` as a separate function (sb's ``entmax_bisect(alpha=2)`` is compared instead),
the top-k partial sort (``k=``, test_topk), the entmax losses (``test_losses.py``), and a tensor
``alpha`` (per row, or learnable: test_entmax_grad's d/d alpha, test_entmax_*_multiple_alphas,
test_arbitrary_dimension's per-slice alphas).

Deliberate differences, asserted by the ``test_difference_*`` tests and stated in the module
docstring of ``softmax_bottleneck.sparse``:

* ``alpha`` must be a number above 1 (entmax also takes ``0 < alpha <= 1``, dense maps);
* NaN and ``+inf`` logits raise ``ValueError`` (entmax returns NaN or fails with an index error);
* a row that is entirely ``-inf`` gives a NaN row, as softmax does (entmax fails with
  ``RuntimeError: index -1 is out of bounds``);
* NumPy arrays are accepted too (entmax is torch only), and half precision is computed in
  float32 and rounded once.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

torch = pytest.importorskip("torch")
entmax = pytest.importorskip("entmax")

from torch.autograd import gradcheck  # noqa: E402

from softmax_bottleneck import sparse  # noqa: E402

SB_FUNCS = {
    "sparsemax": (lambda x, dim: sparse.sparsemax(x, axis=dim), entmax.sparsemax),
    "entmax15": (lambda x, dim: sparse.entmax15(x, axis=dim), entmax.entmax15),
    "bisect15": (
        lambda x, dim: sparse.entmax_bisect(x, alpha=1.5, axis=dim),
        lambda x, dim: entmax.entmax_bisect(x, alpha=1.5, dim=dim),
    ),
    "bisect2": (
        lambda x, dim: sparse.entmax_bisect(x, alpha=2.0, axis=dim),
        lambda x, dim: entmax.entmax_bisect(x, alpha=2.0, dim=dim),
    ),
}
NAMES = pytest.mark.parametrize("name", sorted(SB_FUNCS))


# test_root_finding.test_sparsemax / test_entmax15: the sorting maps equal bisection.


def test_sparsemax_equals_bisection():
    torch.manual_seed(0)
    x = 0.5 * torch.randn(4, 6, dtype=torch.float32)
    assert torch.sum((sparse.sparsemax(x) - sparse.entmax_bisect(x, alpha=2.0)) ** 2) < 1e-7
    assert torch.sum((sparse.sparsemax(x) - entmax.sparsemax_bisect(x)) ** 2) < 1e-7


def test_entmax15_equals_bisection():
    torch.manual_seed(0)
    x = 0.5 * torch.randn(4, 6, dtype=torch.float32)
    assert torch.sum((sparse.entmax15(x) - sparse.entmax_bisect(x, alpha=1.5)) ** 2) < 1e-7
    assert torch.sum((sparse.entmax15(x) - entmax.entmax_bisect(x, alpha=1.5)) ** 2) < 1e-7


@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.75, 2.0, 2.25, 3.0])
def test_entmax_bisect_matches_entmax(alpha):
    torch.manual_seed(1)
    x = torch.randn(5, 7, dtype=torch.float64)
    torch.testing.assert_close(
        sparse.entmax_bisect(x, alpha=alpha),
        entmax.entmax_bisect(x, alpha=alpha),
        rtol=1e-6,
        atol=1e-9,
    )


# Each map against entmax's, forward, any axis, scales from near-uniform to near-one-hot.


@NAMES
@pytest.mark.parametrize("dim", [0, 2, 3])
@pytest.mark.parametrize("coef", [1e-5, 0.5, 1e4])
def test_forward_matches_entmax(name, dim, coef):
    ours, theirs = SB_FUNCS[name]
    torch.manual_seed(2)
    x = coef * torch.randn(3, 4, 2, 5, dtype=torch.float64)
    torch.testing.assert_close(ours(x, dim), theirs(x, dim), rtol=1e-6, atol=1e-9)
    # the NumPy path gives the same numbers
    np.testing.assert_allclose(ours(x.numpy(), dim), theirs(x, dim).numpy(), rtol=1e-6, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8),
        elements=st.floats(-50, 50, allow_nan=False),
    ),
    st.sampled_from(sorted(SB_FUNCS)),
)
def test_random_rows_match_entmax(a, name):
    ours, theirs = SB_FUNCS[name]
    x = torch.from_numpy(a)
    torch.testing.assert_close(ours(x, -1), theirs(x, -1), rtol=1e-6, atol=1e-8)


# test_root_finding.test_sparsemax_grad, test_entmax_grad (x only), test_topk.test_mapping,
# test_arbitrary_dimension_grad: gradcheck of sb's closed-form backward.


@NAMES
@pytest.mark.parametrize("dim", [0, 2])
def test_gradcheck(name, dim):
    ours, _ = SB_FUNCS[name]
    torch.manual_seed(3)
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda t: ours(t, dim), (x,), eps=1e-5)


@NAMES
def test_backward_matches_entmax(name):
    ours, theirs = SB_FUNCS[name]
    torch.manual_seed(4)
    x = torch.randn(6, 9, dtype=torch.float64)
    g = torch.randn(6, 9, dtype=torch.float64)
    grads = []
    for f in (ours, theirs):
        xi = x.clone().requires_grad_(True)
        (f(xi, -1) * g).sum().backward()
        grads.append(xi.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.75, 2.25])
def test_entmax_bisect_gradcheck(alpha):
    torch.manual_seed(5)
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda t: sparse.entmax_bisect(t, alpha=alpha), (x,), eps=1e-5)


# test_mask.test_mask and test_mask_alphas: -inf columns are masked classes.


@NAMES
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mask(name, dtype):
    ours, theirs = SB_FUNCS[name]
    torch.manual_seed(42)
    x = torch.randn(2, 6, dtype=dtype)
    x[:, 3:] = -float("inf")
    y, y0 = ours(x, 1), ours(x[:, :3], 1)
    torch.testing.assert_close(y[:, :3], y0)
    assert torch.all(y[:, 3:] == 0)
    torch.testing.assert_close(y, theirs(x, 1))


@pytest.mark.parametrize("alpha", [1.25, 1.5, 1.75, 2.25])
def test_mask_alphas(alpha):
    torch.manual_seed(42)
    x = torch.randn(2, 6)
    x[:, 3:] = -float("inf")
    y = sparse.entmax_bisect(x, alpha=alpha)
    torch.testing.assert_close(y[:, :3], sparse.entmax_bisect(x[:, :3], alpha=alpha))
    assert torch.all(y[:, 3:] == 0)


# Half precision: at least as close to the float64 truth as entmax computed in that dtype.


@NAMES
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_no_worse_than_entmax(name, dtype):
    ours, theirs = SB_FUNCS[name]
    torch.manual_seed(6)
    x = torch.randn(8, 50, dtype=torch.float64) * 3
    truth = theirs(x, -1)
    xh = x.to(dtype)
    p = ours(xh, -1)
    assert p.dtype == dtype
    err_ours = (p.double() - truth).abs().max()
    err_theirs = (theirs(xh, -1).double() - truth).abs().max()
    assert err_ours <= err_theirs + float(torch.finfo(dtype).eps)
    assert (p.double().sum(-1) - 1).abs().max() <= 4 * float(torch.finfo(dtype).eps)


# ---------------------------------------------------------------------------------------------
# Deliberate differences.


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_difference_alpha_at_most_one_refused(alpha):
    """entmax's bisection also takes alpha <= 1 (dense maps); sb's entmax family is alpha > 1
    (alpha -> 1 is softmax, which sb computes exactly elsewhere)."""
    x = torch.tensor([[0.0, 1.0, 2.0]])
    assert torch.all(entmax.entmax_bisect(x, alpha=alpha) > 0)
    with pytest.raises(ValueError, match="alpha"):
        sparse.entmax_bisect(x, alpha=alpha)


def test_difference_tensor_alpha_refused():
    """entmax takes a tensor alpha (per row, learnable); sb takes one number."""
    with pytest.raises(TypeError, match="alpha"):
        sparse.entmax_bisect(torch.zeros(2, 3), alpha=torch.tensor(1.5))


@pytest.mark.parametrize("name", ["sparsemax", "entmax15", "bisect15"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_difference_nan_and_posinf_raise(name, bad):
    ours, _ = SB_FUNCS[name]
    x = torch.tensor([[0.0, bad, 1.0]])
    with pytest.raises(ValueError, match=r"NaN or \+inf"):
        ours(x, -1)


@pytest.mark.parametrize("name", ["sparsemax", "entmax15"])
def test_difference_all_masked_row_is_nan(name):
    """A fully masked row: sb gives NaN (like softmax); entmax raises an index error."""
    ours, theirs = SB_FUNCS[name]
    x = torch.tensor([[-float("inf")] * 3, [1.0, 2.0, 0.0]])
    with pytest.raises(RuntimeError, match="out of bounds"):
        theirs(x, -1)
    p = ours(x, -1)
    assert torch.isnan(p[0]).all()
    torch.testing.assert_close(p[1], theirs(x[1:], -1)[0])


def test_difference_numpy_input_accepted():
    x = np.array([[2.0, 1.0, 0.1]])
    out = sparse.sparsemax(x)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, entmax.sparsemax(torch.from_numpy(x), dim=-1).numpy())
