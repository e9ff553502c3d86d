"""Parity of ``softmax_bottleneck.calibration`` with torchmetrics' calibration error.

Ported from torchmetrics' ``tests/unittests/classification/test_calibration_error.py``
(github.com/Lightning-AI/torchmetrics, commit 0b4ff80): its reference is netcal, which is not
installed, so the reference here is torchmetrics 1.9 itself (installed in .venv), whose suite
asserts that it equals netcal. Inputs rebuilt as its ``_multiclass_cases[1, 2, 4, 5]``
(probabilities and logits, flat and with an extra dimension; 4 batches of 32, 5 classes) and
``_binary_cases[1, 2, 4, 5]``.

Ported: test_multiclass_calibration_error(_functional) for n_bins 15 and 20, norm "l1" and
"max" (and "l2", which torchmetrics also has), ignore_index None, -1 and 0; the class metric
accumulated over batches; test_multiclass_calibration_error_dtype_cpu (half, double); the
binary cases as the two-column multiclass problem; the bin-edge corner case.

Not applicable: ``ddp=True`` (distributed), differentiability (sb returns a float, as the
metric is not differentiable anyway), GPU dtype tests, and torchmetrics'
``binary_calibration_error`` itself, whose confidence is the probability of class 1 rather than
the top-1 probability: a different quantity, which sb does not provide.

Deliberate differences (``test_difference_*``; the docstring of
``expected_calibration_error`` says why):

* logits are refused (torchmetrics applies a softmax when values leave [0, 1]);
* no ``ignore_index``: drop those rows before the call (tested to give torchmetrics' value);
* the class axis is last, ``(n, n_classes)``: an extra dimension ``(N, C, E)`` is moved and
  flattened by the caller;
* bins are ``[k/n, (k+1)/n)`` with exact edges, and a confidence of exactly 1 belongs to the
  last bin; torchmetrics counts confidence 1 in a bin of its own (its float32 ``linspace``
  edges, which can round above a round fraction, are tested in tests/test_calibration.py).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchmetrics")
from torchmetrics.classification import MulticlassCalibrationError  # noqa: E402
from torchmetrics.functional.classification import (  # noqa: E402
    binary_calibration_error,
    multiclass_calibration_error,
)

from softmax_bottleneck.calibration import expected_calibration_error  # noqa: E402

NUM_BATCHES, BATCH_SIZE, NUM_CLASSES, EXTRA_DIM = 4, 32, 5, 3


def _multiclass_case(which: str, seed: int = 42):
    """torchmetrics' _multiclass_cases: (preds, target) with a batch dimension first."""
    g = torch.Generator().manual_seed(seed)
    extra = (EXTRA_DIM,) if which.endswith("multidim") else ()
    target = torch.randint(0, NUM_CLASSES, (NUM_BATCHES, BATCH_SIZE, *extra), generator=g)
    logits = torch.randn(NUM_BATCHES, BATCH_SIZE, NUM_CLASSES, *extra, generator=g)
    preds = logits.softmax(dim=2) if which.startswith("probs") else logits
    return preds.double(), target


CASES = ["probs", "logits", "probs_multidim", "logits_multidim"]


def _to_rows(preds, target):
    """sb's layout: softmax applied by the caller, class axis last, extra dims flattened."""
    if not ((preds >= 0) & (preds <= 1)).all():
        preds = preds.softmax(dim=1)
    preds = preds.movedim(1, -1).reshape(-1, preds.shape[1])
    return preds, target.reshape(-1)


def _sb(preds, target, n_bins, norm, ignore_index=None):
    p, t = _to_rows(preds, target)
    if ignore_index is not None:
        keep = t != ignore_index
        p, t = p[keep], t[keep]
    return expected_calibration_error(p, t, n_bins=n_bins, norm=norm)


def _inject_ignore_index(target, ignore_index, seed=7):
    """torchmetrics' inject_ignore_index: about 10 % of the targets replaced."""
    g = torch.Generator().manual_seed(seed)
    target = target.clone()
    mask = torch.rand(target.shape, generator=g) < 0.1
    target[mask] = ignore_index
    return target


# Upstream's grid is n_bins x norm x ignore_index (15/20 x l1/max x None/-1/0); here
# ignore_index -1 and 0 run at 15 bins only (the option acts before binning).
GRID = [(n, norm, None) for n in (15, 20) for norm in ("l1", "max", "l2")] + [
    (15, norm, ii) for norm in ("l1", "max") for ii in (-1, 0)
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("n_bins", "norm", "ignore_index"), GRID)
def test_multiclass_functional(case, n_bins, norm, ignore_index):
    # Upstream calls the functional metric once per batch; one call on the four batches
    # together (128 examples, times EXTRA_DIM for multidim) checks the same code at a quarter
    # of the cost.
    preds, target = _multiclass_case(case)
    p, t = preds.flatten(0, 1), target.flatten(0, 1)
    if ignore_index is not None:
        t = _inject_ignore_index(t, ignore_index)
    ref = multiclass_calibration_error(
        p, t, num_classes=NUM_CLASSES, n_bins=n_bins, norm=norm, ignore_index=ignore_index
    )
    assert _sb(p, t, n_bins, norm, ignore_index) == pytest.approx(float(ref), rel=2e-6, abs=1e-7)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("norm", ["l1", "max"])
def test_multiclass_class_metric_accumulated(case, norm):
    """The module metric, updated batch by batch, equals sb on all batches together."""
    preds, target = _multiclass_case(case, seed=3)
    metric = MulticlassCalibrationError(num_classes=NUM_CLASSES, n_bins=15, norm=norm).double()
    for i in range(NUM_BATCHES):
        metric.update(preds[i], target[i])
    all_p = torch.cat([_to_rows(preds[i], target[i])[0] for i in range(NUM_BATCHES)])
    all_t = torch.cat([_to_rows(preds[i], target[i])[1] for i in range(NUM_BATCHES)])
    assert expected_calibration_error(all_p, all_t, n_bins=15, norm=norm) == pytest.approx(
        float(metric.compute()), rel=2e-6
    )


@pytest.mark.parametrize("case", ["probs", "probs_multidim"])
@pytest.mark.parametrize("dtype", [torch.half, torch.double])
def test_multiclass_dtype_cpu(case, dtype):
    """Half and double probabilities are accepted; the value is torchmetrics' on the same
    (rounded) values, computed in float64 (torchmetrics computes in the input's dtype)."""
    preds, target = _multiclass_case(case, seed=5)
    p, t = _to_rows(preds[0], target[0])
    p = p.to(dtype)
    ref = multiclass_calibration_error(p.double(), t, num_classes=NUM_CLASSES, n_bins=15)
    ours = expected_calibration_error(p, t, n_bins=15)
    assert ours == pytest.approx(float(ref), rel=2e-6)
    ref_half = multiclass_calibration_error(p, t, num_classes=NUM_CLASSES, n_bins=15)
    assert ours == pytest.approx(float(ref_half), abs=5e-3)


@pytest.mark.parametrize("seed", [1, 2, 4, 5])
@pytest.mark.parametrize("n_bins", [10, 15, 20])
@pytest.mark.parametrize("norm", ["l1", "max"])
def test_binary_as_two_column_multiclass(seed, n_bins, norm):
    """torchmetrics' binary cases (a probability of class 1 per example) as two columns."""
    g = torch.Generator().manual_seed(seed)
    p1 = torch.rand(BATCH_SIZE * NUM_BATCHES, generator=g, dtype=torch.float64)
    target = torch.randint(0, 2, (BATCH_SIZE * NUM_BATCHES,), generator=g)
    two = torch.stack([1 - p1, p1], dim=1)
    ref = multiclass_calibration_error(two, target, num_classes=2, n_bins=n_bins, norm=norm)
    assert expected_calibration_error(two, target, n_bins=n_bins, norm=norm) == pytest.approx(
        float(ref), rel=2e-6
    )


def test_norms_relate():
    """MCE >= root-mean-square gap >= ECE, with equality when one bin holds everything."""
    preds, target = _multiclass_case("probs", seed=8)
    p, t = _to_rows(preds[0], target[0])
    l1, l2, mx = (expected_calibration_error(p, t, norm=n) for n in ("l1", "l2", "max"))
    assert mx >= l2 >= l1 > 0
    same = np.tile([[0.9, 0.1]], (4, 1))
    vals = {n: expected_calibration_error(same, [0, 0, 0, 1], norm=n) for n in ("l1", "l2", "max")}
    assert vals == pytest.approx({"l1": 0.15, "l2": 0.15, "max": 0.15})
    with pytest.raises(ValueError, match="norm"):
        expected_calibration_error(same, [0, 0, 0, 1], norm="l3")


@pytest.mark.parametrize("n_bins", [10, 99, 100])
def test_corner_case_due_to_dtype(n_bins):
    """torchmetrics issue 1907: confidences on bin edges. In float64, where torchmetrics'
    edges are exact enough, both give the hand value."""
    probs = torch.tensor(
        [[0.6, 0.4], [0.3, 0.7], [0.7, 0.3], [0.5, 0.5], [0.25, 0.75], [0.45, 0.55]],
        dtype=torch.float64,
    )
    target = torch.tensor([0, 0, 1, 1, 1, 0])
    ref = multiclass_calibration_error(probs, target, num_classes=2, n_bins=n_bins)
    assert expected_calibration_error(probs, target, n_bins=n_bins) == pytest.approx(float(ref))


# ---------------------------------------------------------------------------------------------
# Deliberate differences.


def test_difference_logits_are_refused():
    preds, target = _multiclass_case("logits")
    p, t = preds[0], target[0]
    assert float(multiclass_calibration_error(p, t, num_classes=NUM_CLASSES)) > 0
    with pytest.raises(ValueError, match="apply softmax first"):
        expected_calibration_error(p, t)


def test_difference_no_ignore_index_option():
    preds, target = _multiclass_case("probs")
    with pytest.raises(TypeError):
        expected_calibration_error(preds[0], target[0], ignore_index=-1)  # type: ignore[call-arg]
    t = target[0].clone()
    t[:3] = -1
    with pytest.raises(ValueError, match="labels of `target`"):
        expected_calibration_error(preds[0], t)


def test_difference_class_axis_last():
    """torchmetrics reads (N, C, E) with classes on axis 1; sb takes (n, n_classes) rows."""
    preds, target = _multiclass_case("probs_multidim")
    with pytest.raises(ValueError, match="shape"):
        expected_calibration_error(preds[0], target[0])


def test_difference_confidence_one_in_the_last_bin():
    """A confidence of exactly 1 is in sb's last bin ([0.9, 1] with 10 bins); torchmetrics
    counts it in an extra bin of its own."""
    probs = torch.tensor([[1.0, 0.0], [0.95, 0.05]], dtype=torch.float64)
    target = torch.tensor([1, 0])
    # sb: one bin, conf 0.975, acc 0.5 -> 0.475; torchmetrics: 0.5 * 1 + 0.5 * 0.05 = 0.525
    assert expected_calibration_error(probs, target, n_bins=10) == pytest.approx(0.475)
    theirs = multiclass_calibration_error(probs, target, num_classes=2, n_bins=10)
    assert float(theirs) == pytest.approx(0.525)


def test_difference_binary_calibration_error_is_another_quantity():
    """torchmetrics' binary ECE bins the probability of class 1; sb (and the multiclass
    metric) bin the top-1 probability. They differ whenever some p1 < 0.5."""
    g = torch.Generator().manual_seed(9)
    p1 = torch.rand(128, generator=g, dtype=torch.float64)
    target = torch.randint(0, 2, (128,), generator=g)
    binary = float(binary_calibration_error(p1, target, n_bins=15))
    ours = expected_calibration_error(torch.stack([1 - p1, p1], 1), target, n_bins=15)
    assert abs(binary - ours) > 1e-3
