"""Tests of the hand-written ECE and reliability curve, cross-checked against torchmetrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchmetrics.functional.classification import multiclass_calibration_error

from softmax_bottleneck.calibration import expected_calibration_error, reliability_curve


def _random_probs(rng, n, k, scale):
    logits = scale * rng.standard_normal((n, k))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("n_bins", [1, 5, 10, 15])
@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_ece_matches_torchmetrics(n_bins, scale):
    rng = np.random.default_rng(n_bins)
    probs = _random_probs(rng, 500, 6, scale)
    target = rng.integers(0, 6, size=500)
    ours = expected_calibration_error(probs, target, n_bins=n_bins)
    ref = multiclass_calibration_error(
        torch.from_numpy(probs), torch.from_numpy(target), num_classes=6, n_bins=n_bins, norm="l1"
    )
    assert ours == pytest.approx(float(ref), abs=1e-6)


def test_ece_torch_input_equals_numpy_input():
    rng = np.random.default_rng(0)
    probs = _random_probs(rng, 50, 3, 1.0)
    target = rng.integers(0, 3, size=50)
    a = expected_calibration_error(torch.from_numpy(probs), torch.from_numpy(target))
    assert a == pytest.approx(expected_calibration_error(probs, target))


def test_ece_golden_and_perfect():
    probs = [[0.9, 0.1]] * 4
    assert expected_calibration_error(probs, [0, 0, 0, 1]) == pytest.approx(0.15)
    # one-hot and always right: confidence 1, accuracy 1
    assert expected_calibration_error(np.eye(3), [0, 1, 2]) == 0.0


def test_reliability_curve_consistent_with_ece():
    rng = np.random.default_rng(1)
    probs = _random_probs(rng, 300, 4, 2.0)
    target = rng.integers(0, 4, size=300)
    curve = reliability_curve(probs, target, n_bins=10)
    assert curve.counts.sum() == 300
    assert curve.bin_edges.tolist() == (np.arange(11) / 10).tolist()
    full = curve.counts > 0
    ece = np.sum(curve.counts[full] / 300 * np.abs(curve.accuracy[full] - curve.confidence[full]))
    assert ece == pytest.approx(expected_calibration_error(probs, target, n_bins=10))
    assert np.all(np.isnan(curve.accuracy[~full]))
    lo, hi = curve.bin_edges[:-1][full], curve.bin_edges[1:][full]
    assert np.all((curve.confidence[full] >= lo) & (curve.confidence[full] <= hi))


@pytest.mark.parametrize(
    ("probs", "target", "kwargs", "err", "match"),
    [
        ([0.5, 0.5], [0], {}, ValueError, "probs"),
        ([[2.0, -1.0]], [0], {}, ValueError, "probs"),
        ([[0.2, 0.2]], [0], {}, ValueError, "sum to 1"),
        ([[0.5, 0.5]], [0, 1], {}, ValueError, "target"),
        ([[0.5, 0.5]], [2], {}, ValueError, "target"),
        ([[0.5, 0.5]], [0], {"n_bins": 0}, ValueError, "n_bins"),
        ([[0.5, 0.5]], [0], {"n_bins": 2.5}, TypeError, "n_bins"),
    ],
)
def test_errors(probs, target, kwargs, err, match):
    with pytest.raises(err, match=match):
        expected_calibration_error(probs, target, **kwargs)


# --- Bin edges: confidences that sit exactly on k / n_bins (referee report, issue 13) ---


def _rows_with_confidence(conf, n_classes):
    """Probability rows whose top value is `conf`, the rest spread evenly over the others."""
    conf = np.asarray(conf, dtype=np.float64)
    rest = ((1.0 - conf) / (n_classes - 1))[:, None]
    probs = np.repeat(rest, n_classes, axis=1)
    probs[:, 0] = conf
    return probs


def _exact_ece(conf_strings, correct, n_bins):
    """ECE computed with exact rationals: bin m holds the confidences c with m <= c n < m + 1."""
    from fractions import Fraction

    conf = [Fraction(c) for c in conf_strings]
    bins = [min(int(c * n_bins), n_bins - 1) for c in conf]
    total = Fraction(0)
    for m in set(bins):
        members = [i for i, b in enumerate(bins) if b == m]
        gap = sum(Fraction(int(correct[i])) - conf[i] for i in members)
        total += abs(gap)
    return float(total / len(conf))


def test_round_confidences_land_in_their_own_bin():
    """Every k / n for n = 2..100 lands in bin k (k = n in the last bin). The old
    ``np.linspace`` edges misbinned 513 of these 5,049 values, e.g. 0.6 with 10 bins."""
    old_misbinned = 0
    for n in range(2, 101):
        k = np.arange(1, n + 1)
        conf = k / n
        probs = _rows_with_confidence(conf, n + 1)
        curve = reliability_curve(probs, np.zeros(n, dtype=int), n_bins=n)
        assert curve.counts.tolist() == np.bincount(np.minimum(k, n - 1), minlength=n).tolist()
        old = np.searchsorted(np.linspace(0, 1, n + 1), conf, side="right") - 1
        old_misbinned += int(np.sum(np.clip(old, 0, n - 1) != np.minimum(k, n - 1)))
    assert old_misbinned == 513  # the count in the referee report


@pytest.mark.parametrize("n_bins", [2, 3, 7, 10, 15, 49, 99, 100])
def test_round_confidences_match_torchmetrics_binning(n_bins):
    """Cross-check with torchmetrics' own binning (``torch.bucketize`` on bins closed on the
    left) given the exact edges k / n_bins, on every confidence k / n_bins below 1.

    Confidence 1 is left out: torchmetrics counts it in an extra (n_bins + 1)-th bin, sb in the
    last bin, as the docstring says."""
    from torchmetrics.functional.classification.calibration_error import _ce_compute

    k = np.arange(1, n_bins)
    conf = np.repeat(k / n_bins, 2)
    correct = np.tile([1.0, 0.0], len(k))
    correct[::3] = 1.0  # uneven accuracies, so the bin a confidence falls in matters
    probs = _rows_with_confidence(conf, n_bins + 1)
    target = np.where(correct == 1.0, 0, 1)
    ours = expected_calibration_error(probs, target, n_bins=n_bins)
    edges = torch.arange(n_bins + 1, dtype=torch.float64) / n_bins
    ref = _ce_compute(torch.from_numpy(conf), torch.from_numpy(correct), edges, norm="l1")
    assert ours == pytest.approx(float(ref), abs=1e-12)
    exact = _exact_ece([f"{int(c * n_bins + 0.5)}/{n_bins}" for c in conf], correct, n_bins)
    assert ours == pytest.approx(exact, abs=1e-12)


def test_review_minimal_edge_case():
    """Referee report: probs [[0.6, 0.4], [0.5, 0.5]], targets [1, 0], 10 bins. 0.6 is wrong
    and 0.5 right, in different bins: |0 - 0.6| / 2 + |1 - 0.5| / 2 = 0.55 (was 0.05)."""
    probs = [[0.6, 0.4], [0.5, 0.5]]
    ours = expected_calibration_error(probs, [1, 0], n_bins=10)
    assert ours == pytest.approx(0.55, abs=1e-12)
    ref = multiclass_calibration_error(
        torch.tensor(probs, dtype=torch.float64), torch.tensor([1, 0]), num_classes=2, n_bins=10
    )
    assert ours == pytest.approx(float(ref), abs=1e-6)


def test_edge_confidences_03_06_07_by_hand():
    """Confidences 0.3, 0.6 and 0.7 (which linspace edges put one bin low) against an exact
    rational computation of the same ECE."""
    conf = ["0.3", "0.3", "0.4", "0.6", "0.6", "0.7", "0.7", "0.9"]
    correct = np.array([1, 0, 0, 1, 1, 0, 1, 1])
    probs = _rows_with_confidence([float(c) for c in conf], 5)
    target = np.where(correct == 1, 0, 1)
    ours = expected_calibration_error(probs, target, n_bins=10)
    assert ours == pytest.approx(_exact_ece(conf, correct, 10), abs=1e-12)
    curve = reliability_curve(probs, target, n_bins=10)
    assert curve.counts.tolist() == [0, 0, 0, 2, 1, 0, 2, 2, 0, 1]


@pytest.mark.parametrize("n_bins", [10, 99, 100])
def test_torchmetrics_corner_case_due_to_dtype(n_bins):
    """torchmetrics' ``test_corner_case_due_to_dtype`` (issue 1907), its binary predictions
    written as two-class probability rows."""
    p = np.array([0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.01, 0.33, 0.34, 0.99, 0.61])
    target = np.array([1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 0, 0])
    probs = np.stack([1 - p, p], axis=1)
    ref = multiclass_calibration_error(
        torch.from_numpy(probs), torch.from_numpy(target), num_classes=2, n_bins=n_bins
    )
    assert expected_calibration_error(probs, target, n_bins=n_bins) == pytest.approx(
        float(ref), abs=1e-6
    )


# --- float16 and bfloat16 probabilities (referee report, issue 13) ---


@pytest.mark.parametrize("n_classes", [5, 100, 1000])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_probabilities_accepted(n_classes, dtype):
    """sb.softmax's own float16/bfloat16 output is accepted (its row sums are off by up to
    eps/2, more than the float64 tolerance), and the ECE equals torchmetrics' on the same
    rounded probabilities read in float64."""
    import softmax_bottleneck as sb

    gen = torch.Generator().manual_seed(n_classes)
    logits = 3 * torch.randn(256, n_classes, generator=gen)
    target = torch.randint(0, n_classes, (256,), generator=gen)
    probs = sb.softmax(logits.to(dtype))
    assert probs.dtype == dtype
    ece = expected_calibration_error(probs, target)
    ref = multiclass_calibration_error(probs.double(), target, num_classes=n_classes, n_bins=15)
    assert ece == pytest.approx(float(ref), abs=1e-6)
    curve = reliability_curve(probs, target)
    assert curve.counts.sum() == 256


def test_numpy_float16_probabilities_accepted():
    rng = np.random.default_rng(3)
    probs = _random_probs(rng, 200, 10, 2.0).astype(np.float16)
    target = rng.integers(0, 10, size=200)
    assert not np.allclose(probs.astype(np.float64).sum(1), 1.0, atol=1e-4)  # the old refusal
    ece = expected_calibration_error(probs, target)
    ref = multiclass_calibration_error(
        torch.from_numpy(probs.astype(np.float64)), torch.from_numpy(target), num_classes=10
    )
    assert ece == pytest.approx(float(ref), abs=1e-6)


def test_low_precision_still_refuses_non_probabilities():
    probs = torch.tensor([[0.6, 0.2], [0.5, 0.5]], dtype=torch.bfloat16)
    with pytest.raises(ValueError, match=r"sum to 1 .* row summing to 0\.8"):
        expected_calibration_error(probs, torch.tensor([0, 1]))
    logits = torch.tensor([[2.0, -1.0]], dtype=torch.float16)
    with pytest.raises(ValueError, match=r"probs.*\[0, 1\].*apply softmax"):
        expected_calibration_error(logits, torch.tensor([0]))


@pytest.mark.parametrize(
    ("probs", "err", "match"),
    [
        ([["a", "b"]], TypeError, "probs"),
        (torch.tensor([[0.5 + 0j, 0.5]]), TypeError, "probs"),
        (np.array([[0.5, 0.5]], dtype=complex), TypeError, "probs"),
    ],
)
def test_non_real_probs_refused(probs, err, match):
    with pytest.raises(err, match=match):
        reliability_curve(probs, [0])
