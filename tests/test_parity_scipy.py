"""Parity of ``sb.logsumexp``, ``sb.softmax`` and ``sb.log_softmax`` with scipy.special.

Ported from scipy's own suite, ``scipy/special/tests/test_logsumexp.py`` (classes
TestLogSumExp, TestSoftmax, TestLogSoftmax; scipy 1.17, the copy installed in .venv), and run
against scipy itself on NumPy arrays and, where sb has a torch path, on float64 tensors.

Cases that apply are ported with scipy's expected values (the mpmath tables included). Cases
for features sb does not have are *not applicable* and listed here, not skipped one by one:
the weights ``b=`` and ``return_sign`` (test_logsumexp_b, _sign, _sign_zero, _sign_shape,
_b_zero, _b_shape, _dtypes_ab, gh22903, gh23548), complex input (test_logsumexp_complex_sign,
gh21610, gh21709, the complex rows of gh22601), array-API devices (test_device) and scipy's
private ``_wrap_radians``.

Deliberate differences, each asserted below by a ``test_difference_*`` test and explained in
the docstring of the sb function or module:

* the class axis defaults to -1 (scipy: ``axis=None``, the whole array) and is one integer
  (scipy also takes a tuple): sb maps one row of logits to one distribution;
* a 0-d input is refused (scipy treats a scalar as a one-element array);
* a row with exactly one ``+inf`` gives the one-hot limit in softmax/log_softmax (scipy: NaN);
* complex input is refused (TypeError).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as ss
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softmax_bottleneck as sb

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _kinds(a):
    """The same input as a NumPy array and as a torch tensor."""
    a = np.asarray(a)
    return [("numpy", a), ("torch", torch.from_numpy(a.copy()))]


def _np(r):
    return r.detach().numpy() if isinstance(r, torch.Tensor) else np.asarray(r)


def _close(res, ref, *, rtol=1e-7, atol=0.0):
    ref = np.asarray(ref)
    res = _np(res)
    assert res.shape == ref.shape
    np.testing.assert_allclose(res, ref, rtol=rtol, atol=atol, equal_nan=True)


KIND = pytest.mark.parametrize("kind", ["numpy", "torch"])


def _as(kind, a):
    a = np.asarray(a)
    return a if kind == "numpy" else torch.from_numpy(a.copy())


# ---------------------------------------------------------------------------------------------
# TestLogSumExp.test_logsumexp


@KIND
def test_logsumexp_empty_is_minus_inf(kind):
    assert float(sb.logsumexp(_as(kind, np.array([])))) == -math.inf == float(ss.logsumexp([]))
    # an empty reduction along one axis of a 2-d array: one -inf per remaining row
    a = np.zeros((3, 0))
    _close(sb.logsumexp(_as(kind, a), axis=1), ss.logsumexp(a, axis=1))


@KIND
def test_logsumexp_large_inputs(kind):
    a = np.arange(200.0)
    _close(sb.logsumexp(_as(kind, a)), np.log(np.sum(np.exp(a))))
    _close(sb.logsumexp(_as(kind, np.array([1000.0, 1000.0]))), 1000.0 + math.log(2.0))
    n = 1000
    _close(sb.logsumexp(_as(kind, np.full(n, 10000.0))), 10000.0 + math.log(n))


@KIND
def test_logsumexp_many_tiny_terms(kind):
    # scipy uses 10**6 terms; 2 * 10**4 keeps the test fast.
    x = np.full(20_000, 1e-40)
    logx = np.log(x)
    X, logX = np.stack([x, x]), np.stack([logx, logx])
    _close(np.exp(_np(sb.logsumexp(_as(kind, logX), axis=0))), X.sum(axis=0))
    _close(np.exp(_np(sb.logsumexp(_as(kind, logX), axis=1))), X.sum(axis=1))
    # scipy's axis=None over both rows: sb reduces one axis at a time
    _close(np.exp(_np(sb.logsumexp(sb.logsumexp(_as(kind, logX), axis=1), axis=0))), X.sum())


@KIND
@pytest.mark.parametrize(
    "row",
    [[np.inf], [-np.inf], [np.nan], [-np.inf, -np.inf]],
    ids=["inf", "-inf", "nan", "-inf-inf"],
)
def test_logsumexp_special_values(kind, row):
    a = np.array(row)
    res, ref = float(sb.logsumexp(_as(kind, a))), float(ss.logsumexp(a))
    assert res == ref or (math.isnan(res) and math.isnan(ref))


@KIND
def test_logsumexp_different_magnitudes_and_keepdims(kind):
    a = np.array([[1e10, 1e-10], [-1e10, -np.inf]])
    ref = np.array([1e10, -1e10])
    _close(sb.logsumexp(_as(kind, a), axis=-1), ref)
    _close(sb.logsumexp(_as(kind, a), axis=-1, keepdims=True), ref[:, None])
    _close(
        sb.logsumexp(_as(kind, a), axis=0, keepdims=True), ss.logsumexp(a, axis=0, keepdims=True)
    )


# TestLogSumExp.test_logsumexp_shape (without b)


@KIND
@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1])
def test_logsumexp_shape(kind, axis):
    a = np.ones((1, 2, 3, 4))
    r = sb.logsumexp(_as(kind, a), axis=axis)
    assert tuple(r.shape) == ss.logsumexp(a, axis=axis).shape
    _close(r, ss.logsumexp(a, axis=axis))


# TestLogSumExp.test_array_like, test_xp_invalid_input ([1, 2, 3] part)


def test_logsumexp_array_like():
    _close(sb.logsumexp([1000, 1000]), 1000.0 + math.log(2.0))
    assert float(sb.logsumexp([1, 2, 3])) == pytest.approx(float(ss.logsumexp([1, 2, 3])))


# TestLogSumExp.test_dtypes_a (real dtypes; float16 added)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "int64"])
def test_logsumexp_dtypes(dtype):
    a = (
        np.array([1000.0, 1000.0]).astype(dtype)
        if dtype != "float16"
        else np.array([10.0, 10.0], dtype)
    )
    res, ref = sb.logsumexp(a), ss.logsumexp(a)
    assert res.dtype == ref.dtype  # integers promote to float64; floats keep their dtype
    rtol = {"float16": 1e-3, "float32": 1e-6}.get(dtype, 1e-12)
    np.testing.assert_allclose(res, ref, rtol=rtol)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_logsumexp_torch_dtypes(dtype):
    a = torch.tensor([[10.0, 10.0, -3.0], [0.5, -2.0, 7.0]], dtype=dtype)
    res = sb.logsumexp(a)
    assert res.dtype == dtype
    ref = ss.logsumexp(a.double().numpy(), axis=-1)
    np.testing.assert_allclose(res.double().numpy(), ref, rtol=float(torch.finfo(dtype).eps))


# TestLogSumExp.test_gh18295: relative precision when one term dominates.


# m + log(sum exp(x - m)) would round log(1 + 4.2e-18) to 0; like scipy, sb keeps the
# dominant term out of the sum and uses log1p.
@KIND
def test_logsumexp_gh18295(kind):
    a = np.array([0.0, -40.0])
    ref = np.logaddexp(a[0], a[1])  # 4.248354255291589e-18
    _close(sb.logsumexp(_as(kind, a)), ref, rtol=1e-7)


# TestLogSumExp.test_gh22601_infinite_elements (real infinities)


@KIND
@pytest.mark.parametrize("x", [-np.inf, np.inf])
@pytest.mark.parametrize("y", [-np.inf, np.inf])
def test_logsumexp_gh22601_infinite_elements(kind, x, y):
    a = np.array([x, y])
    with np.errstate(all="ignore"):
        ref = np.log(np.sum(np.exp(a)))
    assert float(sb.logsumexp(_as(kind, a))) == ref


# TestLogSumExp.test_no_writeback


@KIND
def test_no_writeback(kind):
    a = _as(kind, np.array([5.0, 4.0]))
    for f in (sb.logsumexp, sb.softmax, sb.log_softmax):
        f(a)
        np.testing.assert_array_equal(_np(a), [5.0, 4.0])


# ---------------------------------------------------------------------------------------------
# TestSoftmax

_SOFTMAX_ARANGE4 = np.array(
    [0.03205860328008499, 0.08714431874203256, 0.23688281808991013, 0.6439142598879722]
)  # mpmath, dps = 200 (scipy's value)
_SOFTMAX_2D = np.array(
    [
        [2.678636961770877e-33, 1.9287498479371314e-22, 1.3887943864771144e-11, 0.999999999986112],
        [0.0, 1.9444526359919372e-185, 0.2689414213699951, 0.7310585786300048],
    ]
)
_LOG_SOFTMAX_ARANGE4 = np.array(
    [-3.4401896985611953, -2.4401896985611953, -1.4401896985611953, -0.44018969856119533]
)


@KIND
def test_softmax_fixtures(kind):
    _close(sb.softmax(_as(kind, [1000.0, 0.0, 0.0, 0.0])), [1.0, 0.0, 0.0, 0.0], rtol=1e-13)
    _close(sb.softmax(_as(kind, [1.0, 1.0])), [0.5, 0.5], rtol=1e-13)
    _close(sb.softmax(_as(kind, [0.0, 1.0])), np.array([1.0, np.e]) / (1 + np.e), rtol=1e-13)
    x = np.arange(4.0)
    _close(sb.softmax(_as(kind, x)), _SOFTMAX_ARANGE4, rtol=1e-13)
    _close(sb.softmax(_as(kind, x + 100)), _SOFTMAX_ARANGE4, rtol=1e-13)  # translation


@KIND
def test_softmax_multi_axes(kind):
    a = np.array([[1000.0, 0.0], [1000.0, 0.0]])
    _close(sb.softmax(_as(kind, a), axis=0), [[0.5, 0.5], [0.5, 0.5]], rtol=1e-13)
    _close(sb.softmax(_as(kind, a), axis=1), [[1.0, 0.0], [1.0, 0.0]], rtol=1e-13)
    x = np.array([[-25.0, 0.0, 25.0, 50.0], [1.0, 325.0, 749.0, 750.0]])
    _close(sb.softmax(_as(kind, x), axis=1), _SOFTMAX_2D, rtol=1e-13)
    _close(sb.softmax(_as(kind, x.T.copy()), axis=0), _SOFTMAX_2D.T, rtol=1e-13)


def test_softmax_int_and_array_like():
    _close(sb.softmax(np.array([1000, 0, 0, 0])), [1.0, 0.0, 0.0, 0.0], rtol=1e-13)
    _close(sb.softmax([1000, 0, 0, 0]), [1.0, 0.0, 0.0, 0.0], rtol=1e-13)


# ---------------------------------------------------------------------------------------------
# TestLogSoftmax


@KIND
def test_log_softmax_basic_and_int(kind):
    _close(sb.log_softmax(_as(kind, [1000.0, 1.0])), [0.0, -999.0], rtol=1e-13)
    _close(sb.log_softmax(np.array([1000, 1])), [0.0, -999.0], rtol=1e-13)
    _close(sb.log_softmax([1000, 1]), [0.0, -999.0], rtol=1e-13)


@KIND
@pytest.mark.parametrize("offset", [0, 100])
def test_log_softmax_translation(kind, offset):
    _close(sb.log_softmax(_as(kind, np.arange(4.0) + offset)), _LOG_SOFTMAX_ARANGE4, rtol=1e-13)


@KIND
@pytest.mark.parametrize(
    ("axis", "expected"),
    [(0, np.log(0.5) * np.ones((2, 2))), (1, [[0.0, -999.0], [0.0, -999.0]])],
)
def test_log_softmax_axes(kind, axis, expected):
    x = np.array([[1000.0, 1.0], [1000.0, 1.0]])
    _close(sb.log_softmax(_as(kind, x), axis=axis), expected, rtol=1e-13)


@KIND
def test_log_softmax_2d(kind):
    x = np.arange(8.0).reshape(2, 4)
    expect = np.stack([_LOG_SOFTMAX_ARANGE4] * 2)
    _close(sb.log_softmax(_as(kind, x), axis=1), expect, rtol=1e-13)
    _close(sb.log_softmax(_as(kind, x.T.copy()), axis=0), expect.T, rtol=1e-13)


# ---------------------------------------------------------------------------------------------
# Beyond scipy's table: random arrays, every axis, inf/NaN rows, dtypes.

_finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
_with_masks = st.one_of(_finite, st.just(-np.inf))


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), elements=_with_masks
    ),
    st.integers(-3, 2),
)
def test_random_arrays_match_scipy(a, axis):
    """Any finite or -inf-masked array, any axis: the three functions equal scipy's."""
    axis = axis % a.ndim
    with np.errstate(all="ignore"):
        refs = (ss.logsumexp(a, axis=axis), ss.softmax(a, axis=axis), ss.log_softmax(a, axis=axis))
    for kind, arr in _kinds(a):
        got = (
            sb.logsumexp(arr, axis=axis),
            sb.softmax(arr, axis=axis),
            sb.log_softmax(arr, axis=axis),
        )
        for res, ref in zip(got, refs, strict=True):
            np.testing.assert_allclose(
                _np(res), ref, rtol=1e-9, atol=1e-300, equal_nan=True, err_msg=kind
            )


@KIND
def test_nan_and_all_masked_rows_as_scipy(kind):
    a = np.array([[np.nan, 1.0, 2.0], [-np.inf, -np.inf, -np.inf], [1.0, -np.inf, 2.0]])
    with np.errstate(all="ignore"):
        for f, g in (
            (sb.softmax, ss.softmax),
            (sb.log_softmax, ss.log_softmax),
            (sb.logsumexp, ss.logsumexp),
        ):
            _close(f(_as(kind, a), axis=1), g(a, axis=1), rtol=1e-13)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("scale", [1e-30, 1.0, 1e4, 3e38])
def test_dtypes_and_extreme_values(dtype, scale):
    """Tiny, moderate and huge logits keep the dtype and match scipy computed in float64."""
    rng = np.random.default_rng(0)
    finfo = np.finfo(dtype)
    a = np.clip(rng.standard_normal((4, 7)) * scale, -finfo.max / 2, finfo.max / 2).astype(dtype)
    for f, g in (
        (sb.softmax, ss.softmax),
        (sb.log_softmax, ss.log_softmax),
        (sb.logsumexp, ss.logsumexp),
    ):
        res = f(a)
        assert res.dtype == np.dtype(dtype)
        ref = g(a.astype(np.float64), axis=-1)
        np.testing.assert_allclose(
            res.astype(np.float64), ref, rtol=4 * float(finfo.eps), atol=float(finfo.tiny)
        )


# ---------------------------------------------------------------------------------------------
# Deliberate differences (documented in softmax.py's module docstring and function docstrings).


def test_difference_default_axis_is_last_not_whole_array():
    """scipy's softmax defaults to ``axis=None`` (one distribution over the whole array); sb's
    to the last axis (one distribution per row of logits)."""
    x = np.arange(4.0).reshape(2, 2)
    np.testing.assert_allclose(sb.softmax(x), ss.softmax(x, axis=-1), rtol=1e-13)
    assert not np.allclose(sb.softmax(x), ss.softmax(x))
    np.testing.assert_allclose(sb.softmax(x.reshape(-1)).reshape(2, 2), ss.softmax(x), rtol=1e-13)


@pytest.mark.parametrize("f", [sb.softmax, sb.log_softmax, sb.logsumexp])
def test_difference_axis_is_one_integer(f):
    """scipy accepts an axis tuple; sb takes one class axis (reshape to merge axes)."""
    x = np.arange(8.0).reshape(2, 2, 2)
    with pytest.raises(TypeError, match="axis"):
        f(x, axis=(1, 2))
    with pytest.raises(TypeError, match="axis"):
        f(x, axis=None)


@pytest.mark.parametrize("f", [sb.softmax, sb.log_softmax, sb.logsumexp])
def test_difference_zero_d_input_is_refused(f):
    """scipy reads a scalar as a one-element array (softmax(1000) == 1); sb refuses a 0-d
    input: it has no class axis, and a silent 1.0 hides a missing axis."""
    with pytest.raises(ValueError, match="0-d"):
        f(1000.0)
    assert float(ss.softmax(1000.0)) == 1.0


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_difference_one_posinf_is_one_hot(kind):
    """A row with one ``+inf``: scipy gives NaN (inf - inf); sb gives the limit, one-hot."""
    a = np.array([np.inf, 0.0, -3.0])
    with np.errstate(invalid="ignore"):
        assert np.isnan(ss.softmax(a)).all()
        assert np.isnan(ss.log_softmax(a)[0])
    _close(sb.softmax(_as(kind, a)), [1.0, 0.0, 0.0])
    _close(sb.log_softmax(_as(kind, a)), [0.0, -np.inf, -np.inf])
    # two +inf: no limit, NaN as in scipy
    b = np.array([np.inf, np.inf, 0.0])
    assert np.isnan(_np(sb.softmax(_as(kind, b)))).all()


def test_difference_complex_is_refused():
    """scipy's logsumexp takes complex input (a complex log); sb is for real logits."""
    with pytest.raises(TypeError):
        sb.logsumexp(np.array([1 + 1j, 2 - 1j]))
    with pytest.raises(TypeError):
        sb.softmax(np.array([1 + 1j, 2 - 1j]))
