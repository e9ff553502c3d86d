r"""Calibration: does a model's confidence match how often it is right? (Book: chapters 2, 4, 7.)

Take the top probability :math:`\hat p_i = \max_k p_{ik}` of each prediction as its
*confidence*, cut [0, 1] into equal bins :math:`B_1, \dots, B_M` and compare, in each bin, the
mean confidence with the accuracy:

.. math::

    \mathrm{ECE} = \sum_{m=1}^{M} \frac{|B_m|}{n}\,
        \bigl|\operatorname{acc}(B_m) - \operatorname{conf}(B_m)\bigr|

A perfectly calibrated model has ECE 0; an overconfident one has conf > acc in the top bins.
Written by hand because the book teaches it; the tests compare it with torchmetrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import as_float64_numpy, is_torch_tensor

__all__ = ["ReliabilityCurve", "expected_calibration_error", "reliability_curve"]

Norm = Literal["l1", "l2", "max"]
_NORMS = ("l1", "l2", "max")


@dataclass(frozen=True)
class ReliabilityCurve:
    """Per-bin statistics of a reliability diagram.

    Attributes
    ----------
    bin_edges : ndarray, shape (n_bins + 1,)
        Equal-width edges ``k / n_bins`` for k = 0, ..., n_bins. Bins are closed on the left
        ([lo, hi)); a confidence of exactly 1 is counted in the last bin.
    confidence : ndarray, shape (n_bins,)
        Mean confidence in each bin (NaN for an empty bin).
    accuracy : ndarray, shape (n_bins,)
        Fraction correct in each bin (NaN for an empty bin).
    counts : ndarray of int, shape (n_bins,)
        Number of predictions in each bin.
    """

    bin_edges: NDArray[np.float64]
    confidence: NDArray[np.float64]
    accuracy: NDArray[np.float64]
    counts: NDArray[np.intp]


def _check(probs: Any, target: Any, n_bins: Any) -> tuple[np.ndarray, np.ndarray]:
    if is_torch_tensor(target):
        target = target.detach().cpu().numpy()
    # float16 and bfloat16 (NumPy or torch) are read into float64; the row-sum tolerance scales
    # with the precision they came in, since rounding each entry moves a row sum by up to eps/2.
    probs, eps = as_float64_numpy(probs, "probs")
    target = np.asarray(target)
    if probs.ndim != 2 or probs.shape[0] == 0 or probs.shape[1] < 2:
        raise ValueError(
            f"Expected `probs` of shape (n, n_classes) with n >= 1 and n_classes >= 2, "
            f"got shape {probs.shape}"
        )
    if not np.all(np.isfinite(probs)) or probs.min() < 0 or probs.max() > 1:
        raise ValueError(
            "Expected `probs` to hold probabilities in [0, 1] (for logits, apply softmax first), "
            f"got values in [{float(probs.min())!r}, {float(probs.max())!r}]"
        )
    tol = max(1e-4, 4 * eps)
    sums = probs.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1.0)))
    if abs(sums[worst] - 1.0) > tol:
        raise ValueError(
            f"Expected each row of `probs` to sum to 1 (within {tol:.2g} for its precision), "
            f"got a row summing to {float(sums[worst])!r} at row {worst} (for logits, apply softmax "
            "first)"
        )
    if target.shape != (probs.shape[0],) or target.dtype.kind not in "iu":
        raise ValueError(f"Expected `target` to be {probs.shape[0]} integer labels")
    if target.min() < 0 or target.max() >= probs.shape[1]:
        raise ValueError(f"Expected labels of `target` in [0, {probs.shape[1] - 1}]")
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)):
        raise TypeError(f"Expected `n_bins` to be a positive integer, got {n_bins!r}")
    if n_bins < 1:
        raise ValueError(f"Expected `n_bins` to be a positive integer, got {n_bins!r}")
    return probs, target


def _bin_edges(n_bins: int) -> np.ndarray:
    # Edge k is k / n_bins, correctly rounded, so a confidence computed as k / n_bins sits
    # exactly on it and falls in bin k. np.linspace(0, 1, 11) gives 0.6000000000000001 for
    # 6/10 (so 0.6 fell one bin low: 513 of the 5,049 fractions k/n with n <= 100), and
    # floor(conf * n_bins) fails too (1/49 * 49 == 0.9999999999999999).
    return np.arange(n_bins + 1, dtype=np.float64) / n_bins


def _binned(
    probs: np.ndarray, target: np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == target).astype(np.float64)
    edges = _bin_edges(n_bins)
    # Bins are [lo, hi); a confidence of exactly 1 goes in the last bin.
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    conf_sum = np.bincount(which, weights=confidence, minlength=n_bins)
    acc_sum = np.bincount(which, weights=correct, minlength=n_bins)
    return edges, counts, conf_sum, acc_sum


def reliability_curve(
    probs: ArrayLike, target: ArrayLike, /, *, n_bins: int = 15
) -> ReliabilityCurve:
    """Mean confidence and accuracy per confidence bin: the data of a reliability diagram.

    Parameters
    ----------
    probs : array_like or torch.Tensor, shape (n, n_classes)
        Predicted probabilities (rows sum to 1). Any floating dtype, float16 and bfloat16
        included; the statistics are computed in float64, and the row sums are checked to
        within the input's precision. Logits are refused, not guessed.
    target : array_like of int, shape (n,)
        True labels.
    n_bins : int, default 15
        Number of equal-width bins on [0, 1].

    Returns
    -------
    ReliabilityCurve

    Raises
    ------
    TypeError
        If `probs` is not real-valued or `n_bins` is not an integer.
    ValueError
        If `probs` is not a 2-d array of probabilities whose rows sum to 1, `target` does not
        match it, or `n_bins` < 1.

    See Also
    --------
    expected_calibration_error : the weighted gap between the two curves.

    Notes
    -----
    Book: chapters 2 and 7.

    Examples
    --------
    >>> curve = reliability_curve([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]], [0, 1, 1], n_bins=2)
    >>> curve.counts, curve.accuracy
    (array([0, 3]), array([       nan, 0.66666667]))
    """
    probs, target = _check(probs, target, n_bins)
    edges, counts, conf_sum, acc_sum = _binned(probs, target, int(n_bins))
    with np.errstate(invalid="ignore", divide="ignore"):
        return ReliabilityCurve(
            bin_edges=edges,
            confidence=np.where(counts > 0, conf_sum / counts, np.nan),
            accuracy=np.where(counts > 0, acc_sum / counts, np.nan),
            counts=counts,
        )


def expected_calibration_error(
    probs: ArrayLike, target: ArrayLike, /, *, n_bins: int = 15, norm: Norm = "l1"
) -> float:
    r"""Expected calibration error (ECE) of top-1 predictions, with equal-width bins.

    .. math::

        \mathrm{ECE} = \sum_m \frac{|B_m|}{n} \bigl|\operatorname{acc}(B_m)
            - \operatorname{conf}(B_m)\bigr|

    ``norm="max"`` gives instead the maximum calibration error (MCE), the largest gap over the
    non-empty bins, and ``norm="l2"`` the root of the weighted mean squared gap, as
    ``torchmetrics`` does.

    Parameters
    ----------
    probs : array_like or torch.Tensor, shape (n, n_classes)
        Predicted probabilities (rows sum to 1), of any floating dtype (float16 and bfloat16
        included; computed in float64).
    target : array_like of int, shape (n,)
        True labels.
    n_bins : int, default 15
        Number of equal-width bins on [0, 1] (15 as in Guo et al., 2017).
    norm : {"l1", "l2", "max"}, default "l1"
        How the per-bin gaps are combined: weighted mean ("l1", the ECE), root weighted mean
        square ("l2") or maximum over non-empty bins ("max", the MCE).

    Returns
    -------
    float
        In [0, 1]; 0 is perfectly calibrated.

    Raises
    ------
    TypeError, ValueError
        As :func:`reliability_curve`; ValueError also for an unknown `norm`.

    Notes
    -----
    Bins are closed on the left with edges ``k / n_bins``, so a confidence that is a round
    fraction (0.6 with 10 bins) falls in the bin it starts. Matches
    ``torchmetrics.classification.MulticlassCalibrationError(norm="l1")`` (tested), except
    where torchmetrics' ``linspace`` edges, in float32, round above such a fraction (21/25 with
    25 bins) and for a confidence of exactly 1, which torchmetrics counts in an extra bin of
    its own. Deliberate differences from torchmetrics (tests/test_parity_torchmetrics.py):
    logits are refused rather than passed through a softmax when they leave [0, 1] (a silent
    guess would hide a missing softmax on probabilities that happen to lie in [0, 1]), and
    there is no ``ignore_index`` (drop those rows first). The binary calibration error of
    torchmetrics (confidence = probability of class 1, not the top-1 probability) is another
    quantity and is not provided. The ECE of a finite sample is biased upwards and depends on
    `n_bins`; compare models with the same bins and test set. Book: chapters 2 and 7.

    References
    ----------
    Guo, Pleiss, Sun and Weinberger, "On calibration of modern neural networks", ICML 2017.

    Examples
    --------
    Always 90% sure and right 3 times out of 4: the gap is 0.15.

    >>> probs = [[0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.9, 0.1]]
    >>> round(expected_calibration_error(probs, [0, 0, 0, 1]), 6)
    0.15
    """
    if norm not in _NORMS:
        raise ValueError(
            f"Expected `norm` to be one of {', '.join(map(repr, _NORMS))}, got {norm!r}"
        )
    probs, target = _check(probs, target, n_bins)
    _, counts, conf_sum, acc_sum = _binned(probs, target, int(n_bins))
    n = counts.sum()
    if norm == "l1":
        return float(np.abs(acc_sum - conf_sum).sum() / n)
    full = counts > 0
    gap = np.abs(acc_sum[full] - conf_sum[full]) / counts[full]  # |acc - conf| per bin
    if norm == "max":
        return float(gap.max())
    return float(np.sqrt(np.sum(counts[full] / n * gap**2)))
