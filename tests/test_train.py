"""Tests of the models and the training loop: determinism, learning, divergence, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from softmax_bottleneck.data import load_long_tailed_digits
from softmax_bottleneck.models import MLP, SmallCNN, SoftmaxRegression, build_model
from softmax_bottleneck.train import History, evaluate, fit, predict_logits


@pytest.fixture(scope="module")
def digits():
    return load_long_tailed_digits(imbalance_ratio=10, rng=0)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("name", ["softmax", "mlp", "cnn"])
def test_build_model_shapes_and_seed(name):
    a = build_model(name, n_features=64, n_classes=10, rng=3)
    b = build_model(name, n_features=64, n_classes=10, rng=3)
    c = build_model(name, n_features=64, n_classes=10, rng=4)
    assert a(torch.zeros(2, 64)).shape == (2, 10)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True))


def test_build_model_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_model("mlp", n_features=8, n_classes=3, rng=0)
    assert torch.equal(torch.rand(3), expected)


def test_model_classes():
    assert isinstance(build_model("softmax", n_features=64, n_classes=10), SoftmaxRegression)
    assert isinstance(build_model("mlp", n_features=64, n_classes=10, hidden=8), MLP)
    cnn = build_model("cnn", n_features=64, n_classes=10, channels=4)
    assert isinstance(cnn, SmallCNN)
    assert any(isinstance(m, torch.nn.Conv2d) for m in cnn.modules())


def test_build_model_errors():
    with pytest.raises(ValueError, match="name"):
        build_model("resnet", n_features=64, n_classes=10)
    with pytest.raises(TypeError, match="rng"):
        build_model("mlp", n_features=64, n_classes=10, rng=np.random.default_rng(0))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"sampling": "class_balanced"},
        {"mixup_alpha": 0.4},
        {"optimizer": "adam", "lr": 0.01},
        {"augment": lambda X, rng: X + 0.01 * rng.standard_normal(X.shape)},
    ],
)
def test_fit_is_deterministic_for_a_seed(digits, options):
    runs = []
    for _ in range(2):
        model = build_model("mlp", n_features=64, n_classes=10, rng=0)
        history = fit(model, digits.X_train, digits.y_train, epochs=3, rng=7, **options)
        runs.append((_params(model), history.loss))
    assert all(torch.equal(p, q) for p, q in zip(runs[0][0], runs[1][0], strict=True))
    assert runs[0][1] == runs[1][1]
    model = build_model("mlp", n_features=64, n_classes=10, rng=0)
    fit(model, digits.X_train, digits.y_train, epochs=3, rng=8, **options)
    assert not all(torch.equal(p, q) for p, q in zip(runs[0][0], _params(model), strict=True))


def test_fit_accepts_a_loss_callable(digits):
    import torch.nn.functional as F

    from softmax_bottleneck.losses import focal_loss

    def train(**options):
        model = build_model("mlp", n_features=64, n_classes=10, rng=0)
        history = fit(model, digits.X_train, digits.y_train, epochs=2, rng=3, **options)
        return _params(model), history.loss

    named, by_callable = train(), train(loss=F.cross_entropy)  # the same loss, two ways
    assert all(torch.equal(p, q) for p, q in zip(named[0], by_callable[0], strict=True))
    assert named[1] == by_callable[1]
    focal = train(loss=lambda z, t: focal_loss(z, t, gamma=2.0))
    assert not all(torch.equal(p, q) for p, q in zip(named[0], focal[0], strict=True))
    seen = []
    train(loss=lambda z, t: seen.append(t.shape) or F.cross_entropy(z, t), mixup_alpha=0.4)
    assert seen and all(len(shape) == 2 for shape in seen)  # soft labels under mixup
    with pytest.raises(ValueError, match="label_smoothing"):
        train(loss=F.cross_entropy, label_smoothing=0.1)


def test_fit_does_not_touch_global_seeds(digits):
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 - the legacy global state
    torch_state = torch.get_rng_state()
    fit(build_model("mlp", n_features=64, n_classes=10), digits.X_train, digits.y_train, epochs=1)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_fit_learns_digits(digits):
    model = build_model("softmax", n_features=64, n_classes=10, rng=0)
    history = fit(
        model,
        digits.X_train,
        digits.y_train,
        epochs=15,
        lr=0.05,
        X_val=digits.X_test,
        y_val=digits.y_test,
        rng=0,
    )
    assert isinstance(history, History)
    assert len(history.loss) == len(history.grad_norm) == len(history.val_balanced_accuracy) == 15
    assert history.loss[-1] < history.loss[0] / 3
    scores = evaluate(model, digits.X_test, digits.y_test, n_classes=10)
    assert scores["balanced_accuracy"] == pytest.approx(history.val_balanced_accuracy[-1])
    assert scores["accuracy"] > 0.8  # chance is 0.1
    assert not history.diverged


def test_class_balanced_sampling_draws_classes_equally(digits):
    seen = []

    def spy(X, rng):
        seen.append(X.copy())
        return X

    fit(
        build_model("softmax", n_features=64, n_classes=10),
        digits.X_train,
        digits.y_train,
        epochs=20,
        sampling="class_balanced",
        augment=spy,
        rng=0,
    )
    rows = {x.astype(np.float64).tobytes(): c for x, c in zip(digits.X_train, digits.y_train,
                                                               strict=True)}
    labels = np.array([rows[x.tobytes()] for batch in seen for x in batch])
    share = np.bincount(labels, minlength=10) / len(labels)
    assert np.all(np.abs(share - 0.1) < 0.02)


def test_divergence_is_detected(digits):
    model = build_model("mlp", n_features=64, n_classes=10, rng=0)
    # float64 weights: the step must overflow double precision to diverge
    history = fit(model, digits.X_train.astype(np.float64) * 1e150, digits.y_train, epochs=5, lr=1e300, rng=0)
    assert history.diverged
    assert len(history.loss) <= 5 and not np.isfinite(history.loss[-1])


@pytest.mark.parametrize("loss", ["double_softmax", "mse"])
def test_saturating_losses_have_small_gradients(digits, loss):
    norms = {}
    for name in ("cross_entropy", loss):
        model = build_model("softmax", n_features=64, n_classes=10, rng=0)
        norms[name] = fit(
            model, digits.X_train, digits.y_train, epochs=1, lr=1e-6, loss=name, rng=0
        ).grad_norm[0]
    assert norms[loss] < norms["cross_entropy"] / 3


def test_predict_logits(digits):
    model = build_model("cnn", n_features=64, n_classes=10, rng=0)
    model.train()
    out = predict_logits(model, digits.X_test, batch_size=7)
    assert out.shape == (400, 10) and out.dtype == np.float64  # the model's dtype
    with torch.no_grad():
        ref = model(torch.from_numpy(digits.X_test)).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    assert model.training  # mode restored


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"epochs": 0}, ValueError, "epochs"),
        ({"epochs": 1.5}, TypeError, "epochs"),
        ({"lr": -1.0}, ValueError, "lr"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"momentum": 1.0}, ValueError, "momentum"),
        ({"weight_decay": -0.1}, ValueError, "weight_decay"),
        ({"temperature": 0}, ValueError, "temperature"),
        ({"optimizer": "lbfgs"}, ValueError, "optimizer"),
        ({"loss": "hinge"}, ValueError, "loss"),
        ({"sampling": "smote"}, ValueError, "sampling"),
        ({"loss": "mse", "label_smoothing": 0.1}, ValueError, "label_smoothing"),
        ({"X_val": np.zeros((2, 64))}, ValueError, "X_val"),
        ({"rng": "seed"}, TypeError, "rng"),
    ],
)
def test_fit_errors(digits, kwargs, err, match):
    model = build_model("softmax", n_features=64, n_classes=10)
    with pytest.raises(err, match=match):
        fit(model, digits.X_train[:20], digits.y_train[:20], **kwargs)


def test_fit_data_errors():
    model = build_model("softmax", n_features=4, n_classes=3)
    with pytest.raises(ValueError, match="X"):
        fit(model, np.zeros((0, 4)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="y"):
        fit(model, np.zeros((3, 4)), np.array([0, 1, 5]))
    with pytest.raises(ValueError, match="y"):
        fit(model, np.zeros((3, 4)), np.array([0.0, 1.0, 2.0]))


def test_training_uses_one_thread_and_restores(digits):
    torch.set_num_threads(2)
    seen = []
    def loss(z, t):
        seen.append(torch.get_num_threads())
        return torch.nn.functional.cross_entropy(z, t)
    model = build_model("softmax", n_features=64, n_classes=10)
    fit(model, digits.X_train, digits.y_train, epochs=1, loss=loss)
    assert set(seen) == {1} and torch.get_num_threads() == 2
