"""Cross-checks of softmax_bottleneck.resampling against imbalanced-learn, ported from its
``test_random_over_sampler.py``, ``test_random_under_sampler.py``, ``test_smote.py`` and the
``sampling_strategy`` checks of ``imblearn/utils/estimator_checks.py``.

Deliberate difference: sb draws from ``numpy.random.default_rng`` (a RandomState is turned
into a Generator seeded from it), so the *rows* differ from imbalanced-learn's; class counts,
layout (originals first, then new rows by class) and dtypes agree, and that is what is tested.
Output is always an ndarray, also for pandas input (imbalanced-learn returns pandas).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

imblearn = pytest.importorskip("imblearn")
from imblearn.over_sampling import SMOTE as ImbSMOTE  # noqa: E402
from imblearn.over_sampling import RandomOverSampler as ImbROS  # noqa: E402
from imblearn.under_sampling import RandomUnderSampler as ImbRUS  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402

from softmax_bottleneck.resampling import SMOTE, RandomOverSampler, RandomUnderSampler  # noqa: E402

PAIRS = [(RandomOverSampler, ImbROS), (RandomUnderSampler, ImbRUS), (SMOTE, ImbSMOTE)]


def _data(n_classes=3, weights=(0.6, 0.3, 0.1)):
    return make_classification(
        n_samples=400,
        n_features=5,
        n_informative=3,
        n_classes=n_classes,
        weights=list(weights),
        random_state=0,
    )


def _counts(sampler, X, y):
    _, y_res = sampler.fit_resample(X, y)
    return Counter(y_res.tolist())


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
@pytest.mark.parametrize(
    "strategy", ["auto", "minority", "majority", "not minority", "not majority", "all"]
)
def test_string_strategies_match(ours, theirs, strategy):
    X, y = _data()
    try:
        expected = _counts(theirs(sampling_strategy=strategy, random_state=0), X, y)
    except ValueError:
        with pytest.raises(ValueError, match="sampling_strategy"):
            ours(sampling_strategy=strategy, random_state=0).fit_resample(X, y)
        return
    assert _counts(ours(sampling_strategy=strategy, random_state=0), X, y) == expected


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
@pytest.mark.parametrize("ratio", [0.5, 0.8, 1.0])
def test_float_strategy_binary_matches(ours, theirs, ratio):
    X, y = _data(n_classes=2, weights=(0.8, 0.2))
    expected = _counts(theirs(sampling_strategy=ratio, random_state=0), X, y)
    assert _counts(ours(sampling_strategy=ratio, random_state=0), X, y) == expected


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_dict_strategy_matches(ours, theirs):
    X, y = _data()
    n = Counter(y.tolist())
    if ours is RandomUnderSampler:
        strategy = {0: n[0] // 2, 1: n[1] - 3}
    else:
        strategy = {1: n[0], 2: n[2] + 17}
    expected = _counts(theirs(sampling_strategy=strategy, random_state=0), X, y)
    assert _counts(ours(sampling_strategy=strategy, random_state=0), X, y) == expected


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_invalid_strategies_raise_like_imblearn(ours, theirs):
    X, y = _data()
    bad = [0.5, {0: 10**6} if ours is RandomUnderSampler else {2: 1}, {7: 3}]
    for strategy in bad:
        with pytest.raises(ValueError):
            theirs(sampling_strategy=strategy, random_state=0).fit_resample(X, y)
        with pytest.raises(ValueError, match="sampling_strategy"):
            ours(sampling_strategy=strategy, random_state=0).fit_resample(X, y)
    with pytest.raises(TypeError, match="sampling_strategy"):
        ours(sampling_strategy=[1, 2]).fit_resample(X, y)


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_random_state_instance_accepted(ours, theirs):
    """``check_samplers_..._legacy_RandomState_instance``: a RandomState is accepted and used."""
    X, y = _data()
    rs = np.random.RandomState(0)
    a = ours(random_state=rs).fit_resample(X, y)
    b = ours(random_state=np.random.RandomState(0)).fit_resample(X, y)
    np.testing.assert_array_equal(a[0], b[0])  # the same seed gives the same rows
    assert _counts(ours(random_state=np.random.RandomState(1)), X, y) == _counts(
        theirs(random_state=np.random.RandomState(1)), X, y
    )


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_bool_labels(ours, theirs):
    X, y = _data(n_classes=2, weights=(0.8, 0.2))
    yb = y.astype(bool)
    _, y_res = ours(random_state=0).fit_resample(X, yb)
    assert y_res.dtype == bool
    assert Counter(y_res.tolist()) == _counts(theirs(random_state=0), X, yb)


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_pandas_input(ours, theirs):
    import pandas as pd
    X, y = _data()
    Xdf = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    ys = pd.Series(y, name="target")
    X_res, y_res = ours(random_state=0).fit_resample(Xdf, ys)
    assert isinstance(X_res, np.ndarray) and isinstance(y_res, np.ndarray)  # deliberate
    assert Counter(y_res.tolist()) == _counts(theirs(random_state=0), Xdf, ys)
    if ours is not RandomUnderSampler:  # originals first
        np.testing.assert_array_equal(X_res[: len(X)], X)


class _Frame:
    """The part of the pandas interface the samplers use (pandas is not installed here)."""

    def __init__(self, values):
        self._values = values

    def to_numpy(self):
        return self._values


@pytest.mark.parametrize("ours", [RandomOverSampler, RandomUnderSampler, SMOTE])
def test_objects_with_to_numpy_are_read(ours):
    X, y = _data()
    a = ours(random_state=0).fit_resample(_Frame(X), _Frame(y))
    b = ours(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
