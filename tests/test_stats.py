"""The book's paired-comparison rule, cross-checked against scipy.stats."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

import softmax_bottleneck as sb
from softmax_bottleneck.stats import compare_paired, format_comparisons, mean_sd


def test_mean_sd_uses_the_sample_standard_deviation():
    values = [0.8, 0.85, 0.9]
    assert mean_sd(values) == pytest.approx((0.85, np.std(values, ddof=1)))


scores = st.lists(st.floats(0, 1), min_size=2, max_size=15)


@given(scores, st.floats(-0.1, 0.1), st.integers(0, 2**31 - 1))
def test_interval_matches_scipy_ttest_rel(a, shift, seed):
    a = np.array(a)
    b = a - shift + np.random.default_rng(seed).normal(0, 0.01, a.size)
    c = compare_paired(a, b)
    d = a - b
    assert c.mean == pytest.approx(d.mean()) and c.sd == pytest.approx(d.std(ddof=1))
    if d.std() > 1e-9:
        low, high = sps.ttest_rel(a, b).confidence_interval(0.95)
        assert (c.low, c.high) == pytest.approx((low, high), rel=1e-9, abs=1e-12)
    assert c.wins + c.losses <= c.n == a.size
    assert (c.verdict == "within noise") == (c.low <= 0 <= c.high)


def test_verdicts_and_sign_counts():
    better = compare_paired([0.9, 0.91, 0.92, 0.9], [0.8, 0.82, 0.8, 0.81], names=("LA", "CE"))
    assert better.verdict == "LA better" and better.clear and better.wins == 4
    worse = compare_paired([0.8, 0.82, 0.8, 0.81], [0.9, 0.91, 0.92, 0.9], names=("LA", "CE"))
    assert worse.verdict == "CE better" and worse.losses == 4
    noise = compare_paired([0.8, 0.9, 0.8, 0.9], [0.85, 0.85, 0.85, 0.85])
    assert noise.verdict == "within noise" and not noise.clear
    ties = compare_paired([0.8, 0.9], [0.8, 0.9 + 1e-4], tie=5e-4)
    assert ties.wins == ties.losses == 0
    assert "ahead in" in str(better) and "LA - CE" in format_comparisons([better, worse])


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "error", "match"),
    [
        ([0.5], [0.4], {}, ValueError, "at least 2"),
        ([0.5, 0.6], [0.4, 0.5, 0.6], {}, ValueError, "one score per seed"),
        ([0.5, np.nan], [0.4, 0.5], {}, ValueError, "finite"),
        ([0.5, 0.6], [0.4, 0.5], {"confidence": 1.5}, ValueError, "confidence"),
        ([0.5, 0.6], [0.4, 0.5], {"confidence": "high"}, TypeError, "confidence"),
        ([0.5, 0.6], [0.4, 0.5], {"names": "ab"}, ValueError, "names"),
        ([0.5, 0.6], [0.4, 0.5], {"tie": -1.0}, ValueError, "tie"),
    ],
)
def test_bad_input(a, b, kwargs, error, match):
    with pytest.raises(error, match=match):
        compare_paired(a, b, **kwargs)


def test_lower_is_better_scores_and_units():
    c = compare_paired([0.05, 0.04, 0.06, 0.05], [0.09, 0.08, 0.11, 0.07], names=("TS", "raw"),
                       higher_is_better=False, unit="splits")
    assert c.verdict == "TS better" and (c.wins, c.losses) == (4, 0) and c.mean < 0
    assert "ahead in 4/4 splits" in str(c)
    worse = compare_paired([0.09, 0.08, 0.11, 0.07], [0.05, 0.04, 0.06, 0.05],
                           names=("raw", "TS"), higher_is_better=False)
    assert worse.verdict == "TS better" and worse.losses == 4
    with pytest.raises(TypeError, match="higher_is_better"):
        compare_paired([0.1, 0.2], [0.1, 0.3], higher_is_better=1)
    with pytest.raises(ValueError, match="unit"):
        compare_paired([0.1, 0.2], [0.1, 0.3], unit="")


def test_reachable_from_the_package():
    assert sb.stats.compare_paired is compare_paired
    with pytest.raises(ValueError):
        format_comparisons([])
