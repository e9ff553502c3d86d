"""Tests of softmax_bottleneck.metrics against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, recall_score

from softmax_bottleneck.metrics import epochs_to_target, per_class_recall, summarize

labels = st.integers(2, 8).flatmap(
    lambda k: st.tuples(
        st.just(k),
        st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), min_size=1, max_size=60),
    )
)


@given(labels)
def test_summarize_matches_sklearn(case):
    k, pairs = case
    y_true = np.array([a for a, _ in pairs])
    y_pred = np.array([b for _, b in pairs])
    m = summarize(y_true, y_pred, n_classes=k, minority=[k - 1])
    assert m["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    recall = recall_score(y_true, y_pred, labels=range(k), average=None, zero_division=0)
    assert m["balanced_accuracy"] == pytest.approx(recall.mean())
    assert m["minority_recall"] == pytest.approx(recall[k - 1])
    f1 = f1_score(y_true, y_pred, labels=range(k), average="macro", zero_division=0)
    assert m["macro_f1"] == pytest.approx(f1)
    if len(np.unique(y_true)) == k:  # sklearn's balanced accuracy only sees present classes
        assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))


def test_per_class_recall_golden():
    np.testing.assert_allclose(
        per_class_recall([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], n_classes=4), [0.5, 1.0, 0.0, 0.0]
    )


def test_default_minority_is_tail_half():
    y = np.arange(4)
    pred = np.array([0, 1, 0, 0])
    assert summarize(y, pred, n_classes=4)["minority_recall"] == 0.0
    assert summarize(y, pred, n_classes=4, minority=[0, 1])["minority_recall"] == 1.0


@pytest.mark.parametrize(
    ("args", "kwargs", "err", "match"),
    [
        (([0, 1], [0]), {"n_classes": 2}, ValueError, "same length"),
        (([], []), {"n_classes": 2}, ValueError, "y_true"),
        (([0, 2], [0, 1]), {"n_classes": 2}, ValueError, "y_true"),
        (([0, 1], [0, -1]), {"n_classes": 2}, ValueError, "y_pred"),
        (([0.5, 1], [0, 1]), {"n_classes": 2}, ValueError, "y_true"),
        (([0, 1], [0, 1]), {"n_classes": 2.0}, TypeError, "n_classes"),
        (([0, 1], [0, 1]), {"n_classes": 2, "minority": []}, ValueError, "minority"),
        (([0, 1], [0, 1]), {"n_classes": 2, "minority": [5]}, ValueError, "minority"),
    ],
)
def test_summarize_errors(args, kwargs, err, match):
    with pytest.raises(err, match=match):
        summarize(*args, **kwargs)


def test_epochs_to_target():
    assert epochs_to_target([0.1, 0.8, 0.7, 0.9], target=0.8) == 2.0
    assert np.isnan(epochs_to_target([0.1], target=0.5))
    with pytest.raises(ValueError, match="curve"):
        epochs_to_target([[0.1]], target=0.5)


@pytest.mark.parametrize(
    "call",
    [
        lambda: per_class_recall([0, 1], [0, 1], n_classes=2),
        lambda: summarize([0, 1], [0, 1], n_classes=2),
    ],
)
def test_missing_sklearn_names_the_extra(monkeypatch, call):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.metrics", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'softmax-bottleneck\[data\]'"):
        call()
