"""Tests of softmax_bottleneck.data: achieved counts, balanced test set, no leakage, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import load_digits

from softmax_bottleneck.data import (
    class_counts,
    load_long_tailed_digits,
    load_text_categories,
    long_tailed_counts,
)


@pytest.fixture(scope="module")
def digits50():
    return load_long_tailed_digits(imbalance_ratio=50, rng=0)


@pytest.fixture(scope="module")
def text():
    return load_text_categories(rng=0)


def _rows(X):
    return {row.tobytes() for row in np.ascontiguousarray(X)}


# --- long_tailed_counts -------------------------------------------------------------------


def test_counts_golden():
    # n_c = 100 * 100**(-c/4) = 100, 31.6, 10, 3.16, 1 -> rounded.
    assert long_tailed_counts(100, 5, imbalance_ratio=100).tolist() == [100, 32, 10, 3, 1]
    assert long_tailed_counts(100, 4, imbalance_ratio=10, profile="step").tolist() == [
        100,
        100,
        10,
        10,
    ]
    assert long_tailed_counts(7, 3, imbalance_ratio=1).tolist() == [7, 7, 7]


@given(
    n_max=st.integers(1, 500),
    n_classes=st.integers(2, 30),
    rho=st.floats(1.0, 200.0),
    profile=st.sampled_from(["exp", "step"]),
)
def test_counts_properties(n_max, n_classes, rho, profile):
    counts = long_tailed_counts(n_max, n_classes, imbalance_ratio=rho, profile=profile)
    assert counts.shape == (n_classes,)
    assert counts[0] == n_max
    assert np.all(np.diff(counts) <= 0)
    assert counts.min() >= 1
    # the tail is n_max / rho up to rounding (and the floor of one example)
    assert abs(counts[-1] - max(round(n_max / rho), 1)) <= 1


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"imbalance_ratio": 0.5}, ValueError, "imbalance_ratio"),
        ({"imbalance_ratio": "10"}, TypeError, "imbalance_ratio"),
        ({"imbalance_ratio": 10, "profile": "linear"}, ValueError, "profile"),
    ],
)
def test_counts_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        long_tailed_counts(100, 10, **kwargs)


def test_counts_bad_sizes():
    with pytest.raises(ValueError, match="n_classes"):
        long_tailed_counts(100, 1, imbalance_ratio=2)
    with pytest.raises(TypeError, match="n_max"):
        long_tailed_counts(10.5, 3, imbalance_ratio=2)


# --- class_counts --------------------------------------------------------------------------


def test_class_counts():
    assert class_counts([0, 2, 2], n_classes=4).tolist() == [1, 0, 2, 0]
    with pytest.raises(ValueError, match="y"):
        class_counts([[0, 1]])
    with pytest.raises(ValueError, match="n_classes"):
        class_counts([0, 5], n_classes=3)


# --- load_long_tailed_digits ----------------------------------------------------------------


def test_digits_achieved_counts(digits50):
    expected = long_tailed_counts(130, 10, imbalance_ratio=50)
    np.testing.assert_array_equal(digits50.class_counts, expected)
    np.testing.assert_array_equal(np.bincount(digits50.y_train, minlength=10), expected)
    assert digits50.class_counts[0] / digits50.class_counts[-1] == pytest.approx(130 / 3)


def test_digits_step_profile():
    data = load_long_tailed_digits(imbalance_ratio=10, profile="step", rng=1)
    assert np.bincount(data.y_train).tolist() == [130] * 5 + [13] * 5


def test_digits_test_set_is_balanced(digits50):
    assert np.bincount(digits50.y_test).tolist() == [40] * 10


def test_digits_no_leakage(digits50):
    # scikit-learn's digits hold no duplicate images, so equal rows would mean a shared image.
    assert not _rows(digits50.X_train) & _rows(digits50.X_test)


def test_digits_labels_match_source(digits50):
    source = load_digits()
    lookup = {
        (row / 16.0).astype(np.float32).tobytes(): t
        for row, t in zip(source.data, source.target, strict=True)
    }
    for X, y in ((digits50.X_train, digits50.y_train), (digits50.X_test, digits50.y_test)):
        assert [lookup[row.tobytes()] for row in X] == y.tolist()


def test_digits_dtype_and_range(digits50):
    assert digits50.X_train.dtype == np.float32 and digits50.X_train.shape[1] == 64
    assert digits50.X_train.min() >= 0 and digits50.X_train.max() <= 1
    assert digits50.y_train.dtype == np.int64
    assert digits50.n_classes == 10


def test_digits_deterministic_for_a_seed(digits50):
    again = load_long_tailed_digits(imbalance_ratio=50, rng=0)
    np.testing.assert_array_equal(again.X_train, digits50.X_train)
    np.testing.assert_array_equal(again.y_train, digits50.y_train)
    np.testing.assert_array_equal(again.X_test, digits50.X_test)
    other = load_long_tailed_digits(imbalance_ratio=50, rng=1)
    assert not np.array_equal(other.X_train, digits50.X_train)


def test_digits_generator_accepted():
    a = load_long_tailed_digits(imbalance_ratio=5, rng=np.random.default_rng(3))
    b = load_long_tailed_digits(imbalance_ratio=5, rng=3)
    np.testing.assert_array_equal(a.X_train, b.X_train)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"imbalance_ratio": 0.9}, ValueError, "imbalance_ratio"),
        ({"imbalance_ratio": 10, "profile": "zipf"}, ValueError, "profile"),
        ({"imbalance_ratio": 10, "n_max": 170}, ValueError, "n_max"),
        ({"imbalance_ratio": 10, "rng": "seed"}, TypeError, "rng"),
        ({"imbalance_ratio": 10, "n_test_per_class": 0}, ValueError, "n_test_per_class"),
    ],
)
def test_digits_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        load_long_tailed_digits(**kwargs)


def test_digits_keyword_only():
    with pytest.raises(TypeError):
        load_long_tailed_digits(10)  # type: ignore[misc]


# --- load_text_categories ----------------------------------------------------------------


def test_text_shapes_and_imbalance(text):
    assert len(text.X_train) == len(text.y_train) and len(text.X_test) == len(text.y_test)
    assert text.X_train.dtype == object and isinstance(text.X_train[0], str)
    np.testing.assert_array_equal(np.bincount(text.y_train), text.class_counts)
    assert list(text.class_names) == sorted(text.class_names)
    assert text.class_counts.max() >= 10 * text.class_counts.min()
    assert text.class_counts.min() >= 1


def test_text_stratified_and_no_leakage(text):
    assert not set(text.X_train) & set(text.X_test)
    test_counts = np.bincount(text.y_test, minlength=text.n_classes)
    frac = test_counts / (test_counts + text.class_counts)
    assert np.all(np.abs(frac - 0.25) < 0.1)


def test_text_deterministic(text):
    again = load_text_categories(rng=0)
    assert again.X_train.tolist() == text.X_train.tolist()
    assert again.y_test.tolist() == text.y_test.tolist()
    assert load_text_categories(rng=1).X_train.tolist() != text.X_train.tolist()


def test_text_without_dedup_leaks():
    raw = load_text_categories(deduplicate=False, rng=0)
    assert set(raw.X_train) & set(raw.X_test)  # repeated lines land on both sides


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"test_size": 1.0}, ValueError, "test_size"),
        ({"test_size": 0}, ValueError, "test_size"),
        ({"min_count": 1}, ValueError, "min_count"),
        ({"min_count": 2.5}, TypeError, "min_count"),
    ],
)
def test_text_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        load_text_categories(**kwargs)


def test_text_missing_package(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "chatterbot_corpus":
            raise ImportError("no module")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="chatterbot-corpus"):
        load_text_categories()
