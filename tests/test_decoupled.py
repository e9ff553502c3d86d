"""Tests of softmax_bottleneck.decoupled: cRT (classifier re-training) and τ-normalisation."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import softmax_bottleneck as sb
from softmax_bottleneck.decoupled import (
    classifier_layer,
    retrain_classifier,
    tau_normalized,
    tau_normalized_weight,
)


def _long_tailed(seed=0, n_major=120, n_minor=6):
    """Two well-separated Gaussian classes in 6-d, 20 to 1 in the training set."""
    gen = np.random.default_rng(seed)
    X = np.r_[gen.normal(0.0, 1.0, (n_major, 6)), gen.normal(1.2, 1.0, (n_minor, 6))]
    y = np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]
    return X, y


def _mlp(seed=0, hidden=8):
    return sb.models.build_model("mlp", n_features=6, n_classes=2, rng=seed, hidden=hidden)


# --- classifier_layer ----------------------------------------------------------------------------


def test_classifier_layer_is_the_last_linear_module():
    mlp = _mlp()
    assert classifier_layer(mlp) is mlp.net[2]
    assert classifier_layer(mlp, "net.0") is mlp.net[0]
    cnn = sb.models.build_model("cnn", n_features=64, n_classes=10)
    assert classifier_layer(cnn) is cnn.head


def test_classifier_layer_errors():
    with pytest.raises(ValueError, match=r"torch\.nn\.Linear classifier"):
        classifier_layer(torch.nn.Sequential(torch.nn.ReLU()))
    with pytest.raises(ValueError, match="`name`"):
        classifier_layer(_mlp(), "head")
    with pytest.raises(TypeError, match="ReLU"):
        classifier_layer(_mlp(), "net.1")


# --- retrain_classifier (cRT) ----------------------------------------------------------------------


def test_retrain_changes_only_the_classifier_and_restores_flags():
    X, y = _long_tailed()
    model = _mlp()
    sb.train.fit(model, X, y, epochs=5, lr=0.05, rng=0)
    model.net[0].bias.requires_grad_(False)  # a flag of the caller's must survive the call
    before = copy.deepcopy(model)
    history = retrain_classifier(model, X, y, epochs=4, lr=0.05, rng=1)
    assert len(history.loss) == 4 and not history.diverged
    assert torch.equal(model.net[0].weight, before.net[0].weight)
    assert torch.equal(model.net[0].bias, before.net[0].bias)
    assert not torch.equal(model.net[2].weight, before.net[2].weight)
    assert [p.requires_grad for p in model.parameters()] == [True, False, True, True]


def test_retrain_restores_flags_when_training_fails():
    X, y = _long_tailed()
    model = _mlp()
    with pytest.raises(ValueError, match="`lr`"):
        retrain_classifier(model, X, y, lr=-1.0)
    assert all(p.requires_grad for p in model.parameters())


def test_retrain_is_deterministic_and_reinitialises_from_rng():
    X, y = _long_tailed()
    base = _mlp()
    sb.train.fit(base, X, y, epochs=3, lr=0.05, rng=0)
    runs = []
    for _ in range(2):
        m = copy.deepcopy(base)
        retrain_classifier(m, X, y, epochs=2, lr=0.05, rng=7)
        runs.append(m.net[2].weight.detach().clone())
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)
    # epochs=... is what a run trains; reinitialize=True then starts from fresh weights
    a, b = copy.deepcopy(base), copy.deepcopy(base)
    retrain_classifier(a, X, y, epochs=1, lr=1e-12, rng=3)  # lr ~ 0: the re-initialised weights
    retrain_classifier(b, X, y, epochs=1, lr=1e-12, rng=3, reinitialize=False)
    assert not torch.allclose(a.net[2].weight, base.net[2].weight)
    torch.testing.assert_close(b.net[2].weight, base.net[2].weight)


def test_class_balanced_retraining_moves_predictions_to_the_rare_class():
    # After instance-balanced training the boundary favours class 0; re-training the classifier
    # on class-balanced batches predicts class 1 more often on balanced data, "shuffle" less so.
    X, y = _long_tailed(seed=1)
    X_test, y_test = _long_tailed(seed=2, n_major=200, n_minor=200)
    base = _mlp(seed=1, hidden=16)
    sb.train.fit(base, X, y, epochs=20, lr=0.05, rng=0)
    balanced, natural = copy.deepcopy(base), copy.deepcopy(base)
    retrain_classifier(balanced, X, y, epochs=10, lr=0.05, rng=0)
    retrain_classifier(natural, X, y, epochs=10, lr=0.05, rng=0, sampling="shuffle")

    def rare_share(m):
        return float((sb.train.predict_logits(m, X_test).argmax(1) == 1).mean())

    assert rare_share(balanced) > rare_share(base) + 0.1
    assert rare_share(balanced) > rare_share(natural) + 0.05
    recall = sb.metrics.per_class_recall(
        y_test, sb.train.predict_logits(balanced, X_test).argmax(1), n_classes=2
    )
    assert recall[1] > 0.5


# --- τ-normalisation -------------------------------------------------------------------------------


def test_tau_normalized_weight_limits_and_both_libraries():
    w = np.random.default_rng(0).normal(size=(5, 3)) * np.arange(1, 6)[:, None]
    np.testing.assert_array_equal(tau_normalized_weight(w, tau=0.0), w)
    np.testing.assert_allclose(np.linalg.norm(tau_normalized_weight(w, tau=1.0), axis=1), 1.0)
    half = tau_normalized_weight(w, tau=0.5)
    np.testing.assert_allclose(np.linalg.norm(half, axis=1), np.linalg.norm(w, axis=1) ** 0.5)
    wt = torch.tensor(w, requires_grad=True)
    out = tau_normalized_weight(wt, tau=0.7)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    np.testing.assert_allclose(out.detach().numpy(), tau_normalized_weight(w, tau=0.7))
    out.sum().backward()  # autograd kept
    assert wt.grad is not None
    zero = tau_normalized_weight(np.zeros((2, 3)), tau=1.0)  # a zero row stays zero, no NaN
    np.testing.assert_array_equal(zero, np.zeros((2, 3)))
    assert tau_normalized_weight(w.astype(np.float32)).dtype == np.float32


@given(st.floats(0.0, 2.0), st.floats(0.1, 10.0))
def test_tau_normalization_keeps_directions_and_evens_out_norms(tau, spread):
    w = np.array([[3.0, 4.0], [0.0, spread], [spread, spread]])
    out = tau_normalized_weight(w, tau=tau)
    cos = (out * w).sum(1) / (np.linalg.norm(out, axis=1) * np.linalg.norm(w, axis=1))
    np.testing.assert_allclose(cos, 1.0)
    norms, new = np.linalg.norm(w, axis=1), np.linalg.norm(out, axis=1)
    np.testing.assert_allclose(new, norms ** (1 - tau), rtol=1e-12)


def test_tau_normalized_model_is_a_copy_with_unit_rows_and_no_bias():
    X, _ = _long_tailed()
    model = _mlp()
    original = copy.deepcopy(model)
    normed = tau_normalized(model, tau=1.0)
    for p, q in zip(model.parameters(), original.parameters(), strict=True):
        assert torch.equal(p, q)  # the input model is unchanged
    w = normed.net[2].weight.detach()
    torch.testing.assert_close(w.norm(dim=1), torch.ones(2, dtype=torch.float64))
    assert torch.equal(normed.net[2].bias, torch.zeros(2, dtype=torch.float64))
    # logits = features @ (W / ||W||).T, with the stage-1 features
    features = model.net[:2](torch.tensor(X))
    expected = features @ tau_normalized_weight(model.net[2].weight.detach(), tau=1.0).T
    torch.testing.assert_close(normed(torch.tensor(X)), expected)
    kept = tau_normalized(model, tau=0.0, keep_bias=True)
    torch.testing.assert_close(kept(torch.tensor(X)), model(torch.tensor(X)))


def test_tau_errors():
    with pytest.raises(ValueError, match="`tau`"):
        tau_normalized_weight(np.ones((2, 2)), tau=-0.5)
    with pytest.raises(ValueError, match="`tau`"):
        tau_normalized(_mlp(), tau=float("nan"))
    with pytest.raises(TypeError, match="`tau`"):
        tau_normalized_weight(np.ones((2, 2)), tau="1")
    with pytest.raises(ValueError, match="2-d"):
        tau_normalized_weight(np.ones(3))
    with pytest.raises(ValueError, match="`name`"):
        tau_normalized(_mlp(), classifier="fc")
