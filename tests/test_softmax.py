"""Tests of softmax_bottleneck.softmax: references, properties, golden values, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softmax_bottleneck as sb

FLOAT_DTYPES = [np.float16, np.float32, np.float64]
# Tolerances per dtype for comparisons against float64 references.
RTOL = {np.float16: 2e-3, np.float32: 2e-6, np.float64: 1e-12}
ATOL = {np.float16: 1e-3, np.float32: 1e-7, np.float64: 1e-14}


def logits_arrays(dtype=np.float64, min_side=1, max_value=50.0):
    """2-d arrays of finite logits (rows x classes)."""
    return hnp.arrays(
        dtype=dtype,
        shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=min_side, max_side=12),
        elements=st.floats(-max_value, max_value, allow_nan=False, width=64),
    )


# --- golden values: computed with mpmath at 50 significant digits ----------------------------

GOLDEN = [
    ([2.0, 1.0, 3.0], [0.24472847105479765, 0.090030573170380458, 0.66524095577482189]),
    ([2.0, 1.0], [0.73105857863000488, 0.26894142136999512]),
    ([3.0, 1.0], [0.88079707797788244, 0.11920292202211756]),
    ([2.0, 1.0, 0.5], [0.62853171921176245, 0.23122389762214907, 0.14024438316608848]),
]


@pytest.mark.parametrize(("z", "expected"), GOLDEN)
def test_golden_values(z, expected):
    np.testing.assert_allclose(sb.softmax(z), expected, rtol=1e-15)
    np.testing.assert_allclose(sb.log_softmax(z), np.log(expected), rtol=1e-15)


def test_golden_logsumexp():
    # mpmath, 50 digits: log(e^2 + e^1 + e^3)
    assert sb.logsumexp([2.0, 1.0, 3.0]) == pytest.approx(3.4076059644443803, rel=1e-15)


# --- reference cross-checks -------------------------------------------------------------------


@given(logits_arrays(), st.integers(0, 1))
def test_matches_scipy(x, axis):
    np.testing.assert_allclose(sb.softmax(x, axis=axis), scipy.special.softmax(x, axis=axis),
                               rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(sb.log_softmax(x, axis=axis),
                               scipy.special.log_softmax(x, axis=axis), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sb.logsumexp(x, axis=axis),
                               scipy.special.logsumexp(x, axis=axis), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_matches_torch_and_keeps_dtype(dtype):
    x = torch.randn(5, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 4
    x = x.to(dtype)
    for ours, theirs in [(sb.softmax, torch.softmax), (sb.log_softmax, torch.log_softmax)]:
        y = ours(x, axis=1)
        assert isinstance(y, torch.Tensor) and y.dtype == dtype
        ref = theirs(x.double(), dim=1).to(dtype)
        tol = 1e-2 if dtype in (torch.float16, torch.bfloat16) else 1e-6
        torch.testing.assert_close(y, ref, rtol=tol, atol=tol)
    torch.testing.assert_close(sb.logsumexp(x, axis=0), torch.logsumexp(x.double(), 0).to(dtype),
                               rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_numpy_dtype_preserved(dtype):
    x = np.array([[1.0, 2.0, 3.0]], dtype=dtype)
    for f in (sb.softmax, sb.log_softmax, sb.online_softmax, sb.naive_softmax):
        assert f(x).dtype == dtype
    assert sb.logsumexp(x).dtype == dtype
    np.testing.assert_allclose(sb.softmax(x).astype(np.float64),
                               scipy.special.softmax(x.astype(np.float64), axis=-1),
                               rtol=RTOL[dtype], atol=ATOL[dtype])


def test_integer_and_list_input_promoted_to_float64():
    assert sb.softmax(np.array([1, 2, 3])).dtype == np.float64
    assert sb.softmax([True, False]).dtype == np.float64
    assert sb.softmax(torch.tensor([1, 2, 3])).dtype == torch.float64
    np.testing.assert_allclose(sb.softmax([1, 2, 3]), scipy.special.softmax([1.0, 2.0, 3.0]))


def test_torch_keeps_autograd_and_gradient_matches():
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(4, 6, dtype=torch.float64)
    (sb.softmax(x) * upstream).sum().backward()
    ours = x.grad.clone()
    x.grad = None
    (torch.softmax(x, -1) * upstream).sum().backward()
    torch.testing.assert_close(ours, x.grad)


def test_gradcheck_float64():
    x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    for f in (sb.softmax, sb.log_softmax, sb.logsumexp, sb.online_softmax):
        assert torch.autograd.gradcheck(lambda t, f=f: f(t, axis=-1), (x,))
    assert torch.autograd.gradcheck(lambda t: sb.softmax(t, axis=0, temperature=0.7), (x,))


# --- properties -------------------------------------------------------------------------------


@given(logits_arrays())
def test_sums_to_one_and_in_unit_interval(x):
    p = sb.softmax(x)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)


@given(logits_arrays(), st.floats(-1e3, 1e3))
def test_shift_invariance(x, c):
    np.testing.assert_allclose(sb.softmax(x + c), sb.softmax(x), rtol=1e-9, atol=1e-12)


@given(logits_arrays(np.float32, max_value=1e4))
def test_large_float32_logits_do_not_overflow(x):
    p = sb.softmax(x)
    assert p.dtype == np.float32 and np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-5)
    assert np.all(np.isfinite(sb.log_softmax(x)))
    ref = scipy.special.softmax(x.astype(np.float64), axis=-1)
    np.testing.assert_allclose(p, ref, rtol=1e-5, atol=1e-6)


@given(logits_arrays())
def test_log_softmax_is_log_of_softmax_where_no_underflow(x):
    np.testing.assert_allclose(np.exp(sb.log_softmax(x)), sb.softmax(x), rtol=1e-10, atol=1e-300)


@given(logits_arrays(min_side=2))
def test_temperature_limits(x):
    # T -> 0: one-hot at the arg-max (rows with a unique maximum); T -> inf: uniform.
    p_cold = sb.softmax(x, temperature=1e-6)
    row_max = x.max(axis=-1, keepdims=True)
    unique = (x == row_max).sum(axis=-1) == 1
    onehot = (x == row_max).astype(float)
    gap = np.sort(x, axis=-1)[:, -1] - np.sort(x, axis=-1)[:, -2]
    clear = unique & (gap > 1e-3)
    np.testing.assert_allclose(p_cold[clear], onehot[clear], atol=1e-12)
    p_hot = sb.softmax(x, temperature=1e9)
    np.testing.assert_allclose(p_hot, 1.0 / x.shape[-1], rtol=1e-6)


@given(logits_arrays(), st.floats(0.05, 20.0))
def test_temperature_is_division_of_logits(x, t):
    np.testing.assert_allclose(sb.softmax(x, temperature=t), sb.softmax(x / t), rtol=1e-12,
                               atol=1e-300)


@given(logits_arrays(), st.integers(1, 9))
def test_online_matches_three_pass(x, block):
    np.testing.assert_allclose(sb.online_softmax(x, block_size=block), sb.softmax(x),
                               rtol=1e-12, atol=1e-300)


def test_logsumexp_bounds_and_keepdims():
    x = np.random.default_rng(0).normal(size=(3, 4, 5))
    lse = sb.logsumexp(x, axis=1)
    assert lse.shape == (3, 5)
    assert np.all(lse >= x.max(axis=1)) and np.all(lse <= x.max(axis=1) + np.log(4))
    assert sb.logsumexp(x, axis=1, keepdims=True).shape == (3, 1, 5)


# --- special values: the documented semantics -------------------------------------------------


@pytest.mark.parametrize("f", [sb.softmax, sb.online_softmax])
def test_masked_entries_get_zero(f):
    x = np.array([[1.0, -np.inf, 2.0], [-np.inf, 0.0, -np.inf]])
    p = f(x)
    assert p[0, 1] == 0.0 and p[1].tolist() == [0.0, 1.0, 0.0]
    np.testing.assert_allclose(p[0, [0, 2]], scipy.special.softmax([1.0, 2.0]))
    # padding a row with -inf changes nothing
    np.testing.assert_allclose(f(np.array([1.0, 2.0, -np.inf]))[:2], f(np.array([1.0, 2.0])))


@pytest.mark.parametrize("f", [sb.softmax, sb.log_softmax, sb.online_softmax])
def test_all_minus_inf_row_is_nan_like_torch(f):
    x = np.array([[-np.inf, -np.inf], [0.0, 1.0]])
    y = f(x)
    assert np.all(np.isnan(y[0])) and np.all(np.isfinite(y[1]))
    assert torch.isnan(torch.softmax(torch.tensor(x), -1)[0]).all()  # the behaviour we mirror
    assert torch.isnan(f(torch.tensor(x))[0]).all()


def test_logsumexp_special_rows():
    x = np.array([[-np.inf, -np.inf], [np.inf, 0.0], [np.inf, np.inf], [np.nan, 0.0]])
    out = sb.logsumexp(x)
    assert out[0] == -np.inf and out[1] == np.inf and out[2] == np.inf and np.isnan(out[3])
    np.testing.assert_array_equal(out[:3], scipy.special.logsumexp(x[:3], axis=-1))
    assert sb.logsumexp(torch.tensor(x))[:3].tolist() == [-np.inf, np.inf, np.inf]


@pytest.mark.parametrize("f", [sb.softmax, sb.online_softmax])
def test_single_plus_inf_is_one_hot_limit(f):
    x = np.array([[0.0, np.inf, 5.0], [np.inf, np.inf, 0.0]])
    y = f(x)
    assert y[0].tolist() == [0.0, 1.0, 0.0]
    assert np.all(np.isnan(y[1]))  # two +inf: no unique limit
    assert f(torch.tensor(x))[0].tolist() == [0.0, 1.0, 0.0]
    lp = sb.log_softmax(x)
    assert lp[0].tolist() == [-np.inf, 0.0, -np.inf] and np.all(np.isnan(lp[1]))


@pytest.mark.parametrize("f", [sb.softmax, sb.log_softmax, sb.online_softmax, sb.logsumexp])
def test_nan_propagates_to_its_row_only(f):
    x = np.array([[0.0, np.nan, 1.0], [0.0, 1.0, 2.0]])
    y = f(x)
    assert np.all(np.isnan(y[0])) and np.all(np.isfinite(y[1]))


def test_naive_softmax_overflows_where_the_stable_one_does_not():
    x = np.array([100.0, 80.0], dtype=np.float32)  # exp(100) > float32 max (about 3.4e38)
    with pytest.warns(RuntimeWarning, match="overflow"):
        with np.errstate(invalid="ignore"):
            naive = sb.naive_softmax(x)
    assert np.isnan(naive[0])
    np.testing.assert_allclose(sb.softmax(x), scipy.special.softmax([100.0, 80.0]), rtol=1e-6)


def test_empty_batch_passes_through():
    x = np.zeros((0, 4))
    assert sb.softmax(x).shape == (0, 4)
    assert sb.logsumexp(x).shape == (0,)
    assert sb.cross_entropy(x, np.zeros(0, dtype=int), reduction="sum") == 0.0


# --- Jacobian ---------------------------------------------------------------------------------


@given(logits_arrays(max_value=10.0))
def test_jacobian_matches_finite_differences(x):
    z = x[0]
    jac = sb.softmax_jacobian(sb.softmax(z))
    h = 1e-6
    fd = np.empty_like(jac)
    for j in range(z.size):
        e = np.zeros_like(z)
        e[j] = h
        fd[:, j] = (sb.softmax(z + e) - sb.softmax(z - e)) / (2 * h)
    np.testing.assert_allclose(jac, fd, atol=1e-8)
    np.testing.assert_allclose(jac, jac.T)
    np.testing.assert_allclose(jac.sum(axis=0), 0.0, atol=1e-12)


def test_jacobian_matches_torch_autograd_batched():
    z = torch.randn(2, 3, 5, dtype=torch.float64)
    jac = sb.softmax_jacobian(sb.softmax(z))
    assert jac.shape == (2, 3, 5, 5)
    for i in range(2):
        for r in range(3):
            ref = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), z[i, r])
            torch.testing.assert_close(jac[i, r], ref)


def test_jacobian_rejects_logits():
    with pytest.raises(ValueError, match="Expected `probs` to be probabilities"):
        sb.softmax_jacobian([2.0, 1.0, 0.1])
    with pytest.raises(ValueError, match="Expected `probs` to be probabilities"):
        sb.softmax_jacobian([0.5, 0.6])
    with pytest.raises(ValueError, match="Expected `probs` to be probabilities"):
        sb.softmax_jacobian([1.5, -0.5])


# --- cross-entropy ----------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch_indices(reduction):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 4, generator=g, dtype=torch.float64)
    target = torch.randint(0, 4, (6,), generator=g)
    ref = torch.nn.functional.cross_entropy(logits, target, reduction=reduction)
    torch.testing.assert_close(sb.cross_entropy(logits, target, reduction=reduction), ref)
    np.testing.assert_allclose(sb.cross_entropy(logits.numpy(), target.numpy(),
                                                reduction=reduction), ref.numpy())


def test_cross_entropy_matches_torch_probabilities_and_other_axis():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(3, 5, 2, generator=g, dtype=torch.float64)  # classes on axis 1
    target = torch.softmax(torch.randn(3, 5, 2, generator=g, dtype=torch.float64), 1)
    ref = torch.nn.functional.cross_entropy(logits, target)
    torch.testing.assert_close(sb.cross_entropy(logits, target, axis=1), ref)
    idx = torch.randint(0, 5, (3, 2), generator=g)
    torch.testing.assert_close(sb.cross_entropy(logits, idx, axis=1),
                               torch.nn.functional.cross_entropy(logits, idx))


@given(logits_arrays(max_value=20.0), st.data())
def test_cross_entropy_gradient_is_p_minus_y(x, data):
    target = np.array([data.draw(st.integers(0, x.shape[1] - 1)) for _ in range(x.shape[0])])
    z = torch.tensor(x, requires_grad=True)
    sb.cross_entropy(z, torch.tensor(target), reduction="sum").backward()
    y = np.eye(x.shape[1])[target]
    np.testing.assert_allclose(z.grad.numpy(), sb.softmax(x) - y, atol=1e-12)


def test_cross_entropy_masked_class_with_zero_target_is_finite():
    logits = np.array([[0.0, -np.inf, 1.0]])
    target = np.array([[0.5, 0.0, 0.5]])
    assert np.isfinite(sb.cross_entropy(logits, target))


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("f", [sb.softmax, sb.log_softmax, sb.logsumexp, sb.naive_softmax,
                               sb.online_softmax])
def test_errors_common(f):
    with pytest.raises(ValueError, match="at least one dimension"):
        f(np.float64(1.0))
    if f is sb.logsumexp:  # the empty sum is 0: log 0 = -inf, as in scipy and torch
        assert f(np.zeros((3, 0))).tolist() == [-np.inf] * 3
    else:  # no distribution over zero classes
        with pytest.raises(ValueError, match="at least one class along axis -1"):
            f(np.zeros((3, 0)))
    with pytest.raises(ValueError, match=r"`axis` to be an integer in \[-2, 1\]"):
        f(np.zeros((2, 3)), axis=2)
    with pytest.raises(TypeError, match="`axis` to be an integer"):
        f(np.zeros((2, 3)), axis=1.0)
    with pytest.raises(TypeError, match="array of real numbers"):
        f(np.array([1 + 2j]))
    with pytest.raises(TypeError, match="array of real numbers"):
        f(["a", "b"])


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_temperature_must_be_positive_finite(bad):
    with pytest.raises(ValueError, match="`temperature` to be a positive finite number"):
        sb.softmax([1.0, 2.0], temperature=bad)
    with pytest.raises(ValueError, match="`temperature` to be a positive finite number"):
        sb.log_softmax([1.0, 2.0], temperature=bad)


def test_temperature_type_errors():
    with pytest.raises(TypeError, match="`temperature`"):
        sb.softmax([1.0, 2.0], temperature="hot")
    with pytest.raises(TypeError, match="`temperature`"):
        sb.softmax([1.0, 2.0], temperature=True)


def test_online_block_size_errors():
    with pytest.raises(ValueError, match="`block_size` to be a positive integer"):
        sb.online_softmax([1.0], block_size=0)
    with pytest.raises(TypeError, match="`block_size` to be a positive integer"):
        sb.online_softmax([1.0], block_size=2.5)


def test_logsumexp_keepdims_type():
    with pytest.raises(TypeError, match="`keepdims` to be a bool"):
        sb.logsumexp([1.0], keepdims="yes")


def test_cross_entropy_errors():
    logits = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"class indices to have shape \(4,\)"):
        sb.cross_entropy(logits, np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\], got values in \[0, 3\]"):
        sb.cross_entropy(logits, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="class indices in"):
        sb.cross_entropy(logits, np.array([0, -1, 2, 1]))
    with pytest.raises(ValueError, match="probabilities to have the shape of `logits`"):
        sb.cross_entropy(logits, np.full((4, 2), 0.5))
    with pytest.raises(ValueError, match="non-negative and sum to 1"):
        sb.cross_entropy(logits, np.full((4, 3), 0.5))
    with pytest.raises(TypeError, match="class indices \\(integers\\) or probabilities"):
        sb.cross_entropy(logits, np.array(["a", "b", "c", "d"]))
    with pytest.raises(TypeError, match="class indices \\(integers\\) or probabilities"):
        sb.cross_entropy(torch.zeros(4, 3), torch.zeros(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="`reduction` to be one of 'mean', 'sum', 'none'"):
        sb.cross_entropy(logits, np.zeros(4, dtype=int), reduction="avg")
    with pytest.raises(ValueError, match="at least one example for reduction='mean'"):
        sb.cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="`logits` to have at least one dimension"):
        sb.cross_entropy(np.float64(0.0), 0)


# --- cross_entropy options: ignore_index, label_smoothing (referee report, issue 13) ---------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.05, 1.0])
@pytest.mark.parametrize("ignore_index", [None, -100, 2])
def test_cross_entropy_options_match_torch(reduction, label_smoothing, ignore_index):
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(4, 5, 3, generator=g, dtype=torch.float64)  # classes on axis 1
    target = torch.randint(0, 5, (4, 3), generator=g)
    target[0, 0] = target[2, 1] = -100 if ignore_index == -100 else 2
    kw = {"reduction": reduction, "label_smoothing": label_smoothing}
    torch_ignore = -12345 if ignore_index is None else ignore_index
    z = logits.clone().requires_grad_(True)
    z_ref = logits.clone().requires_grad_(True)
    ours = sb.cross_entropy(z, target, axis=1, ignore_index=ignore_index, **kw)
    ref = torch.nn.functional.cross_entropy(z_ref, target, ignore_index=torch_ignore, **kw)
    torch.testing.assert_close(ours, ref)
    u = torch.linspace(-1, 2, ours.numel(), dtype=torch.float64).reshape(ours.shape)
    (ours * u).sum().backward()
    (ref * u).sum().backward()
    torch.testing.assert_close(z.grad, z_ref.grad)
    np.testing.assert_allclose(
        sb.cross_entropy(logits.numpy(), target.numpy(), axis=1, ignore_index=ignore_index, **kw),
        ref.detach().numpy(),
        rtol=1e-12,
    )


def test_cross_entropy_label_smoothing_with_probability_targets():
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(6, 4, generator=g, dtype=torch.float64)
    target = torch.softmax(torch.randn(6, 4, generator=g, dtype=torch.float64), 1)
    ref = torch.nn.functional.cross_entropy(logits, target, label_smoothing=0.3)
    torch.testing.assert_close(sb.cross_entropy(logits, target, label_smoothing=0.3), ref)


def test_cross_entropy_all_ignored_mean_is_nan_like_torch():
    logits = np.zeros((2, 3))
    assert np.isnan(sb.cross_entropy(logits, [-100, -100], ignore_index=-100))
    assert sb.cross_entropy(logits, [-100, -100], ignore_index=-100, reduction="sum") == 0.0


def test_cross_entropy_option_errors():
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\]"):
        sb.cross_entropy(logits, [0, -100])  # -100 is not ignored unless asked
    with pytest.raises(ValueError, match="`ignore_index` -1"):
        sb.cross_entropy(logits, [0, -5], ignore_index=-1)
    with pytest.raises(TypeError, match="`ignore_index`"):
        sb.cross_entropy(logits, [0, 1], ignore_index="pad")
    with pytest.raises(ValueError, match="`ignore_index` only with class-index"):
        sb.cross_entropy(logits, np.full((2, 3), 1 / 3), ignore_index=-100)
    with pytest.raises(ValueError, match="`label_smoothing`"):
        sb.cross_entropy(logits, [0, 1], label_smoothing=-0.1)
    with pytest.raises(TypeError, match="`label_smoothing`"):
        sb.cross_entropy(logits, [0, 1], label_smoothing=None)


# --- torch.compile, extreme temperatures, empty logsumexp (referee report, issue 13) ---------


def test_torch_path_compiles_without_graph_breaks():
    """The torch path has no data-dependent Python branch: ``fullgraph=True`` traces it whole
    (Dynamo with the eager backend, which checks tracing without the slow code generation),
    and the special-value rules hold inside the graph."""
    x = torch.tensor([[0.0, float("inf"), 5.0], [1.0, 2.0, 3.0], [float("-inf")] * 3,
                      [float("inf"), float("inf"), 0.0]])
    cases = [
        (sb.softmax, {}),
        (sb.softmax, {"temperature": 0.5}),
        (sb.log_softmax, {}),
        (sb.log_softmax, {"temperature": 3.0}),
        (sb.logsumexp, {}),
        (sb.logsumexp, {"keepdims": True}),
    ]
    for f, kw in cases:
        torch._dynamo.reset()
        compiled = torch.compile(lambda t, f=f, kw=kw: f(t, **kw), fullgraph=True,
                                 backend="eager")
        torch.testing.assert_close(compiled(x), f(x, **kw), equal_nan=True)
        explanation = torch._dynamo.explain(lambda t, f=f, kw=kw: f(t, **kw))(x)
        assert explanation.graph_break_count == 0


def test_meta_tensors_work():
    x = torch.empty(3, 5, device="meta")
    assert sb.softmax(x).shape == (3, 5)
    assert sb.log_softmax(x, temperature=2.0).device.type == "meta"
    assert sb.logsumexp(x).shape == (3,)


@pytest.mark.parametrize("t", [1e-310, 1e-300, 1e-40])
def test_extreme_small_temperature_gives_one_hot_limit(t):
    """``x / T`` overflows to +-inf for such T; shifting first keeps the T -> 0 limit."""
    for x, hot in (([1.0, 2.0], [0.0, 1.0]), ([-1.0, -2.0], [1.0, 0.0])):
        for arr in (np.array(x), np.array(x, dtype=np.float32), np.array(x, dtype=np.float16)):
            np.testing.assert_array_equal(sb.softmax(arr, temperature=t), hot)
            logp = sb.log_softmax(arr, temperature=t)  # -1 / T, or -inf once that overflows
            assert not np.any(np.isnan(logp))
            np.testing.assert_array_equal(np.exp(logp), hot)
        for dtype in (torch.float64, torch.float32, torch.bfloat16):
            out = sb.softmax(torch.tensor(x, dtype=dtype), temperature=t)
            assert out.tolist() == hot and out.dtype == dtype
    # tied maxima share the mass, the limit of a tie
    np.testing.assert_array_equal(sb.softmax([3.0, 3.0, 1.0], temperature=t), [0.5, 0.5, 0.0])


def test_logsumexp_of_empty_axis_is_minus_inf():
    """scipy and torch: log of the empty sum is log 0 = -inf (softmax still refuses it)."""
    for x in (np.zeros((2, 0)), torch.zeros(2, 0)):
        out = sb.logsumexp(x)
        assert out.shape == (2,) and out.tolist() == [-np.inf, -np.inf]
        assert sb.logsumexp(x, keepdims=True).shape == (2, 1)
        assert sb.logsumexp(x, axis=0).shape == (0,)
    assert float(sb.logsumexp(np.zeros(0))) == float(scipy.special.logsumexp(np.zeros(0)))
    with pytest.raises(ValueError, match="at least one class"):
        sb.softmax(np.zeros((2, 0)))


# --- the eager fast path of the torch routines (issue 13: speed) -------------------------


def test_torch_makes_special_rows_entirely_nan():
    """The fast path calls torch.(log_)softmax and looks only at each row's first entry to find
    the rows the rules fix. That relies on PyTorch making *every* entry of a row NaN when the
    row holds NaN or +inf or is all -inf: checked here, with the special value in any column."""
    inf, nan = float("inf"), float("nan")
    for f in (torch.softmax, torch.log_softmax):
        for dtype in (torch.float32, torch.float64):
            for k in (2, 3, 17, 1000):
                for special in ([inf], [nan], [inf, inf], [inf, nan]):
                    for col in (0, 1, k - 1):
                        x = torch.randn(4, k, dtype=dtype)
                        x[1, col:col + len(special)] = torch.tensor(special[: k - col], dtype=dtype)
                        assert f(x, -1)[1].isnan().all()
                x = torch.randn(4, k, dtype=dtype)
                x[2] = -inf
                assert f(x, -1)[2].isnan().all()


@pytest.mark.parametrize("f", [sb.softmax, sb.log_softmax])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_fast_and_exact_paths_agree(f, dtype):
    """Every special row, in any column, gives what the branch-free (compile) routine gives,
    whether the fast path keeps torch's result or redoes it; ordinary input matches torch."""
    import importlib

    mod = importlib.import_module("softmax_bottleneck.softmax")  # the module, not sb.softmax

    exact = {sb.softmax: mod._torch_softmax_exact, sb.log_softmax: mod._torch_log_softmax_exact}[f]
    ref = {sb.softmax: torch.softmax, sb.log_softmax: torch.log_softmax}[f]
    inf, nan = float("inf"), float("nan")
    x = torch.randn(6, 9, dtype=dtype) * 5
    torch.testing.assert_close(f(x), ref(x, -1), rtol=0, atol=0)  # the fast path is torch's
    x[0, 4] = inf  # one +inf in the middle: one-hot
    x[1, :] = -inf
    x[2, 8] = nan
    x[3, [2, 7]] = inf
    x[4, 0] = -inf  # a masked first column is not special
    for t in (1.0, 0.3, 7.0):
        torch.testing.assert_close(f(x, temperature=t), exact(x, 1, t), equal_nan=True)
    assert f(x)[0].tolist()[4] in (1.0, 0.0)


def test_logsumexp_keeps_relative_accuracy_near_zero():
    """scipy gh-18295: LSE([0, -40]) = log1p(e^-40) = 4.248e-18, not 0 (torch gives 0)."""
    expected = float(np.log1p(np.exp(-40.0)))
    for x in (np.array([0.0, -40.0]), torch.tensor([0.0, -40.0], dtype=torch.float64),
              np.array([-40.0, 0.0, -np.inf])):
        got = float(sb.logsumexp(x))
        assert got == pytest.approx(expected, rel=4e-16)
    assert float(sb.logsumexp(np.array([0.0, -40.0]))) == float(
        scipy.special.logsumexp([0.0, -40.0]))
    # rows far from 0 and the special rows are unchanged
    x = np.random.default_rng(0).normal(size=(50, 30)) * 10
    np.testing.assert_allclose(sb.logsumexp(x), scipy.special.logsumexp(x, axis=-1), rtol=1e-14)
    np.testing.assert_allclose(sb.logsumexp(torch.tensor(x)).numpy(),
                               scipy.special.logsumexp(x, axis=-1), rtol=1e-14)
    # the max term left out once: ties still count
    assert float(sb.logsumexp([0.0, 0.0])) == pytest.approx(np.log(2.0), rel=1e-15)
