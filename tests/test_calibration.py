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
    assert curve.bin_edges.tolist() == pytest.approx(np.linspace(0, 1, 11).tolist())
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
