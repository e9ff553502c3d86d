"""Tests of softmax_bottleneck.augment."""

from __future__ import annotations

import numpy as np
import pytest

from softmax_bottleneck.augment import mixup


def test_mixup_is_a_convex_combination():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 5)).astype(np.float32)
    y = rng.integers(0, 4, size=20)
    X_mix, y_mix = mixup(X, y, n_classes=4, alpha=0.5, rng=1)
    assert X_mix.dtype == np.float32 and y_mix.shape == (20, 4)
    np.testing.assert_allclose(y_mix.sum(axis=1), 1.0)
    # replay the draws: lambda first, then the permutation
    gen = np.random.default_rng(1)
    lam, perm = gen.beta(0.5, 0.5), gen.permutation(20)
    np.testing.assert_allclose(X_mix, lam * X + (1 - lam) * X[perm], rtol=1e-6)
    np.testing.assert_allclose(y_mix, lam * np.eye(4)[y] + (1 - lam) * np.eye(4)[y[perm]])


def test_mixup_deterministic():
    X = np.arange(12.0).reshape(6, 2)
    y = np.array([0, 1, 2, 0, 1, 2])
    a = mixup(X, y, n_classes=3, rng=3)
    b = mixup(X, y, n_classes=3, rng=3)
    np.testing.assert_array_equal(a[0], b[0])
    assert mixup(np.arange(4), np.array([0, 1, 0, 1]), n_classes=2, rng=0)[0].dtype == np.float64


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"alpha": 0.0}, ValueError, "alpha"),
        ({"alpha": "1"}, TypeError, "alpha"),
        ({"n_classes": 2.0}, TypeError, "n_classes"),
        ({"n_classes": 1}, ValueError, "y"),
    ],
)
def test_mixup_errors(kwargs, err, match):
    options = {"n_classes": 2, **kwargs}
    with pytest.raises(err, match=match):
        mixup(np.zeros((2, 3)), np.array([0, 1]), **options)


# --- images --------------------------------------------------------------------------------

from softmax_bottleneck.augment import (  # noqa: E402
    gaussian_mixture_samples,
    gaussian_noise,
    image_augmenter,
    random_crop,
    random_intensity,
    random_rotation,
    random_shift,
    token_dropout,
    token_insertion,
    token_swap,
)
from softmax_bottleneck.data import load_long_tailed_digits  # noqa: E402


@pytest.fixture(scope="module")
def images():
    return load_long_tailed_digits(imbalance_ratio=10).X_train[:20]


@pytest.mark.parametrize(
    ("fn", "kwargs"),
    [
        (random_rotation, {"max_degrees": 20.0}),
        (random_shift, {"max_pixels": 2}),
        (random_crop, {"crop": 6}),
        (gaussian_noise, {"std": 0.2}),
        (random_intensity, {"low": 0.5, "high": 1.5}),
    ],
)
def test_image_ops_shape_dtype_range_determinism(images, fn, kwargs):
    out = fn(images, rng=0, **kwargs)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6
    np.testing.assert_array_equal(out, fn(images, rng=0, **kwargs))
    assert not np.array_equal(out, fn(images, rng=1, **kwargs))
    square = fn(images.reshape(-1, 8, 8), rng=0, **kwargs)
    assert square.shape == (len(images), 8, 8)


@pytest.mark.parametrize(
    ("fn", "kwargs"),
    [
        (random_rotation, {"max_degrees": 0.0}),
        (random_shift, {"max_pixels": 0}),
        (random_crop, {"crop": 8}),
        (gaussian_noise, {"std": 0.0}),
        (random_intensity, {"low": 1.0, "high": 1.0}),
    ],
)
def test_image_ops_identity_at_zero_strength(images, fn, kwargs):
    np.testing.assert_allclose(fn(images, rng=0, **kwargs), images, atol=1e-6)


def test_shift_moves_pixels_without_wrapping():
    img = np.zeros((1, 8, 8))
    img[0, 0, 0] = 1.0  # a corner pixel
    outs = [random_shift(img, max_pixels=1, rng=s) for s in range(30)]
    for out in outs:
        assert out.sum() in (0.0, 1.0)  # moved within the image, or shifted out
        assert out[0, 7, 7] == 0 and out[0, 0, 7] == 0 and out[0, 7, 0] == 0  # never wraps


def test_rotation_by_90_degrees_matches_rot90():
    rng = np.random.default_rng(0)
    img = rng.random((1, 8, 8))
    # max_degrees=90 draws from [-90, 90]; find a seed whose angle is close to +-90 instead:
    # compare against scipy directly for the drawn angle.
    from scipy import ndimage

    angle = np.random.default_rng(5).uniform(-90, 90)
    expected = ndimage.rotate(img[0], angle, reshape=False, order=1, mode="constant")
    np.testing.assert_allclose(random_rotation(img, max_degrees=90.0, rng=5)[0], expected)


def test_image_augmenter_chains_in_order(images):
    aug = image_augmenter(shift=1, noise=0.1)
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    expected = gaussian_noise(random_shift(images, max_pixels=1, rng=g2), std=0.1, rng=g2)
    np.testing.assert_array_equal(aug(images, g1), expected)
    with pytest.raises(ValueError, match="augmentation"):
        image_augmenter()


@pytest.mark.parametrize(
    ("fn", "kwargs", "err", "match"),
    [
        (random_rotation, {"max_degrees": 200.0}, ValueError, "max_degrees"),
        (random_shift, {"max_pixels": 8}, ValueError, "max_pixels"),
        (random_shift, {"max_pixels": 1.5}, TypeError, "max_pixels"),
        (random_crop, {"crop": 0}, ValueError, "crop"),
        (gaussian_noise, {"std": -1.0}, ValueError, "std"),
        (random_intensity, {"low": 1.2, "high": 1.0}, ValueError, "high"),
        (random_rotation, {"side": 7}, ValueError, "X"),
        (random_rotation, {"side": 0}, TypeError, "side"),
    ],
)
def test_image_errors(images, fn, kwargs, err, match):
    with pytest.raises(err, match=match):
        fn(images, **kwargs)


# --- text ----------------------------------------------------------------------------------


def test_token_ops():
    text = "what is your favourite book"
    assert token_dropout(text, p=0.0, rng=0) == text
    dropped = token_dropout(text, p=0.5, rng=1).split()
    assert 1 <= len(dropped) <= 5 and all(t in text.split() for t in dropped)
    assert sorted(token_swap(text, n_swaps=4, rng=0).split()) == sorted(text.split())
    assert token_swap("single", n_swaps=3, rng=0) == "single"
    inserted = token_insertion(text, vocabulary=["really", "very"], n_insertions=2, rng=0)
    assert len(inserted.split()) == 7
    assert token_dropout(text, p=0.3, rng=4) == token_dropout(text, p=0.3, rng=4)


@pytest.mark.parametrize(
    ("call", "err", "match"),
    [
        (lambda: token_dropout(3, rng=0), TypeError, "text"),
        (lambda: token_dropout("a b", p=1.5), ValueError, "p"),
        (lambda: token_swap("a b", n_swaps=-1), ValueError, "n_swaps"),
        (lambda: token_insertion("a b", vocabulary=[]), ValueError, "vocabulary"),
        (
            lambda: token_insertion("a b", vocabulary=["x"], n_insertions=1.0),
            TypeError,
            "n_insertions",
        ),
    ],
)
def test_token_errors(call, err, match):
    with pytest.raises(err, match=match):
        call()


# --- generative model ----------------------------------------------------------------------


def test_gaussian_mixture_samples_counts_range_determinism():
    d = load_long_tailed_digits(imbalance_ratio=50)
    want = {9: 20, 8: 5}
    X_new, y_new = gaussian_mixture_samples(d.X_train, d.y_train, n_samples=want, rng=0)
    assert X_new.shape == (25, 64) and sorted(y_new.tolist()) == [8] * 5 + [9] * 20
    assert X_new.min() >= 0 and X_new.max() <= 1
    again, _ = gaussian_mixture_samples(d.X_train, d.y_train, n_samples=want, rng=0)
    np.testing.assert_array_equal(X_new, again)
    # samples stay near their class: closer on average to the class mean than to digit 0's
    mean9, mean0 = d.X_train[d.y_train == 9].mean(0), d.X_train[d.y_train == 0].mean(0)
    nines = X_new[y_new == 9]
    assert (
        np.linalg.norm(nines - mean9, axis=1).mean() < np.linalg.norm(nines - mean0, axis=1).mean()
    )


def test_gaussian_mixture_samples_errors():
    X, y = np.zeros((4, 2)), np.array([0, 0, 1, 1])
    with pytest.raises(TypeError, match="n_samples"):
        gaussian_mixture_samples(X, y, n_samples=[1, 2])
    with pytest.raises(ValueError, match="class 5"):
        gaussian_mixture_samples(X, y, n_samples={5: 2})
    with pytest.raises(ValueError, match="count"):
        gaussian_mixture_samples(X, y, n_samples={0: -1})
    with pytest.raises(ValueError, match="n_components"):
        gaussian_mixture_samples(X, y, n_samples={0: 1}, n_components=0)
