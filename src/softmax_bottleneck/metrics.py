"""Classification metrics for imbalanced data, computed by scikit-learn (Book: chapters 2-5).

Accuracy rewards the head classes: on a long-tailed test set a model that never predicts the
tail can still score well. The book therefore reports, beside accuracy, *balanced accuracy*
(the mean of per-class recalls), *macro-F1* (the mean of per-class F1 scores) and the recall of
the minority classes. scikit-learn computes all of them; this module only fixes the options
(every class counted, even one never predicted) and gathers them in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import missing_extra

__all__ = ["epochs_to_target", "per_class_recall", "summarize"]


def _sklearn_metric(name: str, caller: str) -> Callable[..., Any]:
    """``sklearn.metrics.<name>``, or an error naming the pip extra that provides it."""
    try:
        import sklearn.metrics
    except ModuleNotFoundError as err:
        raise missing_extra(err, f"softmax_bottleneck.metrics.{caller}") from err
    return getattr(sklearn.metrics, name)


def _check_labels(y_true: Any, y_pred: Any, n_classes: Any) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise ValueError(f"Expected `{name}` to be a 1-d array of integer labels")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"Expected `y_true` and `y_pred` of the same length, got {len(y_true)} and "
            f"{len(y_pred)}"
        )
    if y_true.size == 0:
        raise ValueError("Expected `y_true` to hold at least one label, got an empty array")
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)):
        raise TypeError(f"Expected `n_classes` to be an integer, got {n_classes!r}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.min() < 0 or y.max() >= n_classes:
            raise ValueError(f"Expected labels of `{name}` in [0, {n_classes - 1}]")
    return y_true, y_pred


def per_class_recall(
    y_true: ArrayLike, y_pred: ArrayLike, /, *, n_classes: int
) -> NDArray[np.float64]:
    """Recall of every class: the fraction of its test examples predicted correctly.

    Parameters
    ----------
    y_true, y_pred : array_like of int
        True and predicted labels in ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes; a class absent from `y_true` gets recall 0.

    Returns
    -------
    ndarray of float64, shape (n_classes,)

    Raises
    ------
    TypeError
        If `n_classes` is not an integer.
    ValueError
        If the labels are not 1-d integers in range, differ in length, or are empty.

    See Also
    --------
    sklearn.metrics.recall_score : computes it (``average=None``).

    Notes
    -----
    Book: chapters 2 and 3.

    Examples
    --------
    >>> per_class_recall([0, 0, 1, 1], [0, 0, 0, 1], n_classes=3)
    array([1. , 0.5, 0. ])
    """
    recall_score = _sklearn_metric("recall_score", "per_class_recall")

    y_true, y_pred = _check_labels(y_true, y_pred, n_classes)
    return recall_score(
        y_true, y_pred, labels=np.arange(n_classes), average=None, zero_division=0
    ).astype(np.float64)


def summarize(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    /,
    *,
    n_classes: int,
    minority: ArrayLike | None = None,
) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro-F1 and minority recall in one dictionary.

    Parameters
    ----------
    y_true, y_pred : array_like of int
        True and predicted labels in ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes (all of them enter the macro averages).
    minority : array_like of int, optional
        The minority classes; ``"minority_recall"`` is the mean recall over them. By default
        the last half of the classes (the tail of :func:`~softmax_bottleneck.data.long_tailed_counts`).

    Returns
    -------
    dict of str to float
        Keys ``"accuracy"``, ``"balanced_accuracy"``, ``"macro_f1"``, ``"minority_recall"``.

    Raises
    ------
    TypeError
        If `n_classes` is not an integer.
    ValueError
        If the labels are not 1-d integers in range, differ in length, or are empty, or
        `minority` is empty or out of range.

    Notes
    -----
    Balanced accuracy equals the mean of :func:`per_class_recall`. On a balanced test set it
    equals accuracy, which is why the book's digits test set is balanced: then the two only
    differ through the model, not the test set. Book: chapters 2-5.

    Examples
    --------
    >>> m = summarize([0, 0, 0, 1], [0, 0, 0, 0], n_classes=2)
    >>> m["accuracy"], m["balanced_accuracy"], m["minority_recall"]
    (0.75, 0.5, 0.0)
    """
    f1_score = _sklearn_metric("f1_score", "summarize")

    recall = per_class_recall(y_true, y_pred, n_classes=n_classes)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if minority is None:
        minority = np.arange(n_classes // 2, n_classes)
    minority = np.atleast_1d(np.asarray(minority))
    if minority.size == 0 or minority.dtype.kind not in "iu":
        raise ValueError("Expected `minority` to hold at least one integer class label")
    if minority.min() < 0 or minority.max() >= n_classes:
        raise ValueError(f"Expected `minority` classes in [0, {n_classes - 1}]")
    macro_f1 = f1_score(
        y_true, y_pred, labels=np.arange(n_classes), average="macro", zero_division=0
    )
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "balanced_accuracy": float(recall.mean()),
        "macro_f1": float(macro_f1),
        "minority_recall": float(recall[minority].mean()),
    }


def epochs_to_target(curve: ArrayLike, /, *, target: float) -> float:
    """The first epoch (counting from 1) at which `curve` reaches `target`, or NaN if never.

    A measure of convergence speed that stays comparable between methods: NaN (not a large
    number) marks a run that never got there, and ``np.nanmean`` / a count of NaNs keep the two
    facts apart.

    Parameters
    ----------
    curve : array_like of float
        One value per epoch (e.g. validation balanced accuracy), higher is better.
    target : float
        The level to reach.

    Returns
    -------
    float
        An epoch number, or NaN.

    Raises
    ------
    ValueError
        If `curve` is not 1-d.

    Notes
    -----
    Book: chapter 3.

    Examples
    --------
    >>> epochs_to_target([0.2, 0.5, 0.8, 0.9], target=0.75)
    3.0
    >>> epochs_to_target([0.2, 0.5], target=0.75)
    nan
    """
    curve = np.asarray(curve, dtype=np.float64)
    if curve.ndim != 1:
        raise ValueError(f"Expected `curve` to be 1-d, got shape {curve.shape}")
    hits = np.flatnonzero(curve >= float(target))
    return float(hits[0] + 1) if hits.size else float("nan")
