r"""Data augmentation for the imbalance chapters (Book: chapter 5).

Augmentations make new training examples out of old ones. This module holds the ones the
training loop (:func:`~softmax_bottleneck.train.fit`) applies batch by batch; all randomness comes
from an explicit ``rng``.

* images (flat rows of ``side × side`` pixels in [0, 1]): :func:`random_rotation`,
  :func:`random_shift`, :func:`random_crop`, :func:`gaussian_noise`, :func:`random_intensity`,
  chained by :func:`image_augmenter` into the ``augment(X_batch, rng)`` callable of ``fit``;
* text (whitespace tokens): :func:`token_dropout`, :func:`token_swap`, :func:`token_insertion`;
* :func:`mixup`: convex combinations of pairs of examples *and* of their one-hot labels
  (Zhang et al., 2018);
* :func:`gaussian_mixture_samples`: a small generative model per class, sampled to make
  synthetic minority examples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from ._typing import ArrayLike, FloatArray, NDArray, SeedLike
from ._validation import check_rng, is_integer, is_real

__all__ = [
    "gaussian_mixture_samples",
    "gaussian_noise",
    "image_augmenter",
    "mixup",
    "random_crop",
    "random_intensity",
    "random_rotation",
    "random_shift",
    "token_dropout",
    "token_insertion",
    "token_swap",
]


def mixup(
    X: ArrayLike,
    y: ArrayLike,
    /,
    *,
    n_classes: int,
    alpha: float = 0.2,
    rng: SeedLike = None,
) -> tuple[FloatArray, NDArray[np.float64]]:
    r"""Mix every example with a randomly chosen partner from the same batch.

    With :math:`\lambda \sim \mathrm{Beta}(\alpha, \alpha)` (one draw per batch) and a random
    permutation :math:`\pi` of the batch,

    .. math::

        \tilde x_i = \lambda x_i + (1 - \lambda) x_{\pi(i)}, \qquad
        \tilde y_i = \lambda e_{y_i} + (1 - \lambda) e_{y_{\pi(i)}},

    where :math:`e_c` is the one-hot vector of class :math:`c`.

    Parameters
    ----------
    X : array_like, shape (n, ...)
        A batch of inputs.
    y : array_like of int, shape (n,)
        Their labels in ``0 .. n_classes - 1``.
    n_classes : int
        Length of the soft label vectors.
    alpha : float, default 0.2
        Parameter of the Beta distribution (> 0); small values keep :math:`\lambda` near 0 or 1.
    rng : int, Generator or None
        Source of :math:`\lambda` and :math:`\pi`.

    Returns
    -------
    X_mix : ndarray, shape (n, ...)
        Mixed inputs, with the floating dtype of `X` (float64 for integer input).
    y_mix : ndarray of float64, shape (n, n_classes)
        Soft labels; each row sums to 1.

    Raises
    ------
    TypeError
        If `n_classes` is not an integer or `alpha` not a number.
    ValueError
        If `X` is empty, `y` does not hold one label in range per row, or `alpha` <= 0.

    Notes
    -----
    Used with a loss that accepts probability targets (``F.cross_entropy`` does). Book:
    chapter 5.

    References
    ----------
    Zhang, Cisse, Dauphin and Lopez-Paz, "mixup: Beyond empirical risk minimization",
    ICLR 2018.

    Examples
    --------
    >>> X_mix, y_mix = mixup([[0.0], [1.0]], [0, 1], n_classes=2, alpha=1.0, rng=0)
    >>> y_mix.sum(axis=1).tolist()
    [1.0, 1.0]
    >>> bool(np.allclose(X_mix.ravel(), y_mix[:, 1]))  # x = 0 for class 0 and 1 for class 1
    True
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim < 1 or X.shape[0] == 0:
        raise ValueError(f"Expected `X` to hold at least one example, got shape {X.shape}")
    if X.dtype.kind not in "iuf":
        raise TypeError(f"Expected `X` to hold real numbers, got dtype {X.dtype}")
    if not is_integer(n_classes):
        raise TypeError(f"Expected `n_classes` to be an integer, got {n_classes!r}")
    if y.shape != (X.shape[0],) or y.dtype.kind not in "iu":
        raise ValueError(f"Expected `y` to be {X.shape[0]} integer labels, got shape {y.shape}")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"Expected labels of `y` in [0, {n_classes - 1}]")
    if not is_real(alpha):
        raise TypeError(f"Expected `alpha` to be a positive number, got {alpha!r}")
    if not (np.isfinite(alpha) and alpha > 0):
        raise ValueError(f"Expected `alpha` to be a positive finite number, got {alpha!r}")
    gen = check_rng(rng)
    if X.dtype.kind != "f":
        X = X.astype(np.float64)
    lam = gen.beta(alpha, alpha)
    perm = gen.permutation(X.shape[0])
    onehot = np.eye(n_classes)[y]
    X_mix = (lam * X + (1 - lam) * X[perm]).astype(X.dtype, copy=False)
    y_mix = lam * onehot + (1 - lam) * onehot[perm]
    return X_mix, y_mix


# --- images --------------------------------------------------------------------------------


def _images(X: ArrayLike, side: object) -> tuple[FloatArray, int, tuple[int, ...]]:
    """Validate a batch of flat (or square) images; return it as (n, side, side) float."""
    if not is_integer(side) or side < 1:
        raise TypeError(f"Expected `side` to be a positive integer, got {side!r}")
    X = np.asarray(X)
    if X.dtype.kind not in "iuf":
        raise TypeError(f"Expected `X` to hold real numbers, got dtype {X.dtype}")
    shape = X.shape
    if X.ndim < 2 or X.shape[0] == 0 or int(np.prod(X.shape[1:])) != side * side:
        raise ValueError(
            f"Expected `X` of shape (n, {side * side}) or (n, {side}, {side}) with n >= 1, "
            f"got {shape}"
        )
    if X.dtype.kind != "f":
        X = X.astype(np.float64)
    return X.reshape(-1, side, side), int(side), shape


def _check_range(value: object, name: str, *, low: float, high: float = np.inf) -> float:
    if not is_real(value):
        raise TypeError(f"Expected `{name}` to be a number, got {value!r}")
    value = float(value)
    if not (low <= value <= high):
        raise ValueError(f"Expected `{name}` in [{low}, {high}], got {value!r}")
    return value


def random_rotation(
    X: ArrayLike, /, *, rng: SeedLike = None, max_degrees: float = 15.0, side: int = 8
) -> FloatArray:
    """Rotate every image by its own angle drawn uniformly from [-max_degrees, max_degrees].

    Bilinear interpolation about the image centre (``scipy.ndimage.rotate``); pixels that come
    from outside the image are 0 (background).

    Parameters
    ----------
    X : array_like, shape (n, side*side) or (n, side, side)
        Images.
    rng : int, Generator or None
        Source of the angles.
    max_degrees : float, default 15
        Largest rotation, in [0, 180].
    side : int, default 8
        Image side length.

    Returns
    -------
    ndarray
        Same shape and floating dtype as `X`.

    Raises
    ------
    TypeError
        If an option has the wrong type or `X` is not numeric.
    ValueError
        If `X` does not hold images of the given side, or `max_degrees` is out of range.

    Examples
    --------
    >>> img = np.zeros((1, 64)); img[0, 3 * 8 + 1 : 3 * 8 + 7] = 1.0  # a horizontal bar
    >>> bool(np.allclose(random_rotation(img, max_degrees=0.0, rng=0), img))
    True
    """
    from scipy import ndimage

    imgs, side, shape = _images(X, side)
    max_degrees = _check_range(max_degrees, "max_degrees", low=0.0, high=180.0)
    gen = check_rng(rng)
    angles = gen.uniform(-max_degrees, max_degrees, size=len(imgs))
    out = np.stack(
        [
            ndimage.rotate(img, a, reshape=False, order=1, mode="constant")
            for img, a in zip(imgs, angles, strict=True)
        ]
    )
    return out.reshape(shape).astype(imgs.dtype, copy=False)


def random_shift(
    X: ArrayLike, /, *, rng: SeedLike = None, max_pixels: int = 1, side: int = 8
) -> FloatArray:
    """Move every image by a whole number of pixels, up to `max_pixels` in each direction.

    Pixels shifted in from outside are 0; nothing wraps around.

    Parameters
    ----------
    X : array_like, shape (n, side*side) or (n, side, side)
        Images.
    rng : int, Generator or None
        Source of the shifts.
    max_pixels : int, default 1
        Largest shift per axis (>= 0).
    side : int, default 8
        Image side length.

    Returns
    -------
    ndarray
        Same shape and floating dtype as `X`.

    Raises
    ------
    TypeError, ValueError
        As :func:`random_rotation`, for `max_pixels`.

    Examples
    --------
    >>> img = np.arange(64.0).reshape(1, 64)
    >>> out = random_shift(img, max_pixels=1, rng=0)
    >>> out.shape, bool(np.isin(out[out > 0], img).all())
    ((1, 64), True)
    """
    imgs, side, shape = _images(X, side)
    if not is_integer(max_pixels):
        raise TypeError(f"Expected `max_pixels` to be an integer, got {max_pixels!r}")
    if not 0 <= max_pixels < side:
        raise ValueError(f"Expected `max_pixels` in [0, {side - 1}], got {max_pixels!r}")
    gen = check_rng(rng)
    shifts = gen.integers(-max_pixels, max_pixels + 1, size=(len(imgs), 2))
    out = np.zeros_like(imgs)
    for k, (dy, dx) in enumerate(shifts):
        src = imgs[k, max(0, -dy) : side - max(0, dy), max(0, -dx) : side - max(0, dx)]
        out[k, max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out.reshape(shape)


def random_crop(
    X: ArrayLike, /, *, rng: SeedLike = None, crop: int = 6, side: int = 8
) -> FloatArray:
    """Cut a random ``crop × crop`` window from every image and scale it back to ``side × side``.

    Parameters
    ----------
    X : array_like, shape (n, side*side) or (n, side, side)
        Images.
    rng : int, Generator or None
        Source of the window positions.
    crop : int, default 6
        Window side, in [1, side].
    side : int, default 8
        Image side length.

    Returns
    -------
    ndarray
        Same shape and floating dtype as `X` (bilinear ``scipy.ndimage.zoom``).

    Raises
    ------
    TypeError, ValueError
        As :func:`random_rotation`, for `crop`.

    Examples
    --------
    >>> img = np.ones((2, 64))
    >>> bool(np.allclose(random_crop(img, crop=6, rng=0), 1.0))
    True
    """
    from scipy import ndimage

    imgs, side, shape = _images(X, side)
    if not is_integer(crop):
        raise TypeError(f"Expected `crop` to be an integer, got {crop!r}")
    if not 1 <= crop <= side:
        raise ValueError(f"Expected `crop` in [1, {side}], got {crop!r}")
    gen = check_rng(rng)
    corners = gen.integers(0, side - crop + 1, size=(len(imgs), 2))
    out = np.stack(
        [
            ndimage.zoom(
                img[i : i + crop, j : j + crop],
                side / crop,
                order=1,
                grid_mode=True,
                mode="nearest",
            )
            for img, (i, j) in zip(imgs, corners, strict=True)
        ]
    )
    return out.reshape(shape).astype(imgs.dtype, copy=False)


def gaussian_noise(X: ArrayLike, /, *, rng: SeedLike = None, std: float = 0.1) -> FloatArray:
    """Add independent Gaussian noise of standard deviation `std` and clip to [0, 1].

    Parameters
    ----------
    X : array_like
        Inputs in [0, 1].
    rng : int, Generator or None
        Source of the noise.
    std : float, default 0.1
        Noise level (>= 0).

    Returns
    -------
    ndarray
        Same shape and floating dtype as `X`.

    Raises
    ------
    TypeError
        If `std` is not a number or `X` not numeric.
    ValueError
        If `std` < 0.

    Examples
    --------
    >>> out = gaussian_noise(np.full((2, 4), 0.5), std=0.1, rng=0)
    >>> bool(((out >= 0) & (out <= 1)).all()), bool(np.any(out != 0.5))
    (True, True)
    """
    X = np.asarray(X)
    if X.dtype.kind not in "iuf":
        raise TypeError(f"Expected `X` to hold real numbers, got dtype {X.dtype}")
    std = _check_range(std, "std", low=0.0)
    X = X.astype(X.dtype if X.dtype.kind == "f" else np.float64)
    noise = check_rng(rng).normal(0.0, std, size=X.shape)
    return np.clip(X + noise, 0.0, 1.0).astype(X.dtype, copy=False)


def random_intensity(
    X: ArrayLike, /, *, rng: SeedLike = None, low: float = 0.7, high: float = 1.3
) -> FloatArray:
    """Multiply every image (row) by its own factor from U[low, high] and clip to [0, 1].

    Parameters
    ----------
    X : array_like, shape (n, ...)
        Inputs in [0, 1].
    rng : int, Generator or None
        Source of the factors.
    low, high : float, default 0.7 and 1.3
        Range of the factors, ``0 <= low <= high``.

    Returns
    -------
    ndarray
        Same shape and floating dtype as `X`.

    Raises
    ------
    TypeError
        If `low` or `high` is not a number or `X` not numeric.
    ValueError
        If ``not 0 <= low <= high`` or `X` is empty.

    Examples
    --------
    >>> out = random_intensity(np.full((3, 4), 0.5), low=1.0, high=1.0, rng=0)
    >>> bool(np.allclose(out, 0.5))
    True
    """
    X = np.asarray(X)
    if X.dtype.kind not in "iuf":
        raise TypeError(f"Expected `X` to hold real numbers, got dtype {X.dtype}")
    if X.ndim < 1 or X.shape[0] == 0:
        raise ValueError(f"Expected `X` to hold at least one example, got shape {X.shape}")
    low = _check_range(low, "low", low=0.0)
    high = _check_range(high, "high", low=low)
    X = X.astype(X.dtype if X.dtype.kind == "f" else np.float64)
    factors = check_rng(rng).uniform(low, high, size=(X.shape[0],) + (1,) * (X.ndim - 1))
    return np.clip(X * factors, 0.0, 1.0).astype(X.dtype, copy=False)


ImageAugment = Callable[[FloatArray, np.random.Generator], FloatArray]

# name -> op(X, rng, value, side); value is a float (rotation, noise, intensity) or an int.
_IMAGE_OPS: dict[str, Callable[..., FloatArray]] = {
    "rotation": lambda X, g, v, side: random_rotation(X, rng=g, max_degrees=v, side=side),
    "shift": lambda X, g, v, side: random_shift(X, rng=g, max_pixels=v, side=side),
    "crop": lambda X, g, v, side: random_crop(X, rng=g, crop=v, side=side),
    "noise": lambda X, g, v, side: gaussian_noise(X, rng=g, std=v),
    "intensity": lambda X, g, v, side: random_intensity(X, rng=g, low=1 - v, high=1 + v),
}


def image_augmenter(
    *,
    rotation: float | None = None,
    shift: int | None = None,
    crop: int | None = None,
    noise: float | None = None,
    intensity: float | None = None,
    side: int = 8,
) -> ImageAugment:
    """Chain image augmentations into the ``augment(X_batch, rng)`` callable of ``train.fit``.

    Each given option switches one augmentation on, applied in the order rotation, shift,
    crop, noise, intensity: `rotation` is ``max_degrees``, `shift` is ``max_pixels``, `crop`
    the window side, `noise` the standard deviation and `intensity` the half-width ``a`` of
    the factor range ``[1 - a, 1 + a]``.

    Returns
    -------
    callable
        ``augment(X, rng) -> X_aug`` with the shape and dtype of ``X``.

    Raises
    ------
    ValueError
        If no augmentation is switched on. Bad values raise when the callable first runs.

    Examples
    --------
    >>> aug = image_augmenter(rotation=10.0, noise=0.05)
    >>> aug(np.zeros((4, 64), dtype=np.float32), np.random.default_rng(0)).shape
    (4, 64)
    """
    chosen = [
        (name, value)
        for name, value in (
            ("rotation", rotation),
            ("shift", shift),
            ("crop", crop),
            ("noise", noise),
            ("intensity", intensity),
        )
        if value is not None
    ]
    if not chosen:
        raise ValueError(
            "Expected at least one augmentation (rotation, shift, crop, noise, intensity)"
        )

    def augment(X: FloatArray, rng: np.random.Generator) -> FloatArray:
        for name, value in chosen:
            X = _IMAGE_OPS[name](X, rng, value, side)
        return X

    return augment


# --- text ----------------------------------------------------------------------------------


def _tokens(text: object) -> list[str]:
    if not isinstance(text, str):
        raise TypeError(f"Expected `text` to be a str, got {type(text).__name__}")
    return text.split()


def token_dropout(text: str, /, *, p: float = 0.1, rng: SeedLike = None) -> str:
    """Delete each whitespace token with probability `p` (keeping at least one token).

    Examples
    --------
    >>> token_dropout("tell me a joke", p=0.0, rng=0)
    'tell me a joke'
    >>> len(token_dropout("tell me a joke", p=0.99, rng=0).split())
    1
    """
    tokens = _tokens(text)
    p = _check_range(p, "p", low=0.0, high=1.0)
    gen = check_rng(rng)
    if not tokens:
        return ""
    keep = gen.random(len(tokens)) >= p
    if not keep.any():
        keep[gen.integers(len(tokens))] = True
    return " ".join(t for t, k in zip(tokens, keep, strict=True) if k)


def token_swap(text: str, /, *, n_swaps: int = 1, rng: SeedLike = None) -> str:
    """Swap two randomly chosen tokens, `n_swaps` times (the multiset of tokens is kept).

    Examples
    --------
    >>> sorted(token_swap("what is your name", n_swaps=3, rng=0).split())
    ['is', 'name', 'what', 'your']
    """
    tokens = _tokens(text)
    if not is_integer(n_swaps):
        raise TypeError(f"Expected `n_swaps` to be an integer, got {n_swaps!r}")
    if n_swaps < 0:
        raise ValueError(f"Expected `n_swaps` >= 0, got {n_swaps!r}")
    gen = check_rng(rng)
    for _ in range(n_swaps if len(tokens) > 1 else 0):
        i, j = gen.choice(len(tokens), size=2, replace=False)
        tokens[i], tokens[j] = tokens[j], tokens[i]
    return " ".join(tokens)


def token_insertion(
    text: str, /, *, vocabulary: Iterable[str], n_insertions: int = 1, rng: SeedLike = None
) -> str:
    """Insert `n_insertions` tokens drawn from `vocabulary` at random positions.

    Examples
    --------
    >>> token_insertion("hello there", vocabulary=["friend"], n_insertions=1, rng=0).split().count("friend")
    1
    """
    tokens = _tokens(text)
    vocab = list(vocabulary) if not isinstance(vocabulary, str) else [vocabulary]
    if not vocab or not all(isinstance(v, str) for v in vocab):
        raise ValueError("Expected `vocabulary` to be a non-empty sequence of str")
    if not is_integer(n_insertions):
        raise TypeError(f"Expected `n_insertions` to be an integer, got {n_insertions!r}")
    if n_insertions < 0:
        raise ValueError(f"Expected `n_insertions` >= 0, got {n_insertions!r}")
    gen = check_rng(rng)
    for _ in range(n_insertions):
        tokens.insert(int(gen.integers(len(tokens) + 1)), vocab[int(gen.integers(len(vocab)))])
    return " ".join(tokens)


# --- a small generative model --------------------------------------------------------------


def gaussian_mixture_samples(
    X: ArrayLike,
    y: ArrayLike,
    /,
    *,
    n_samples: dict[int, int],
    n_components: int = 2,
    reg_covar: float = 1e-2,
    clip: tuple[float, float] | None = (0.0, 1.0),
    rng: SeedLike = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    r"""Fit a diagonal Gaussian mixture to each class and sample new examples from it.

    For class :math:`c`, ``sklearn.mixture.GaussianMixture`` with
    ``min(n_components, n_c)`` components and diagonal covariances (plus `reg_covar` on the
    diagonal, which keeps a class of 2 or 3 images from collapsing to points) is fitted to its
    rows; ``n_samples[c]`` rows are drawn from it.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Training rows.
    y : array_like of int, shape (n,)
        Their labels.
    n_samples : dict of int to int
        How many rows to draw for each class (classes absent from the dict get none).
    n_components : int, default 2
        Mixture components per class (at most the class size).
    reg_covar : float, default 0.01
        Variance added to every diagonal entry (> 0).
    clip : (float, float) or None, default (0, 1)
        Range the samples are clipped to (pixel intensities); None for no clipping.
    rng : int, Generator or None
        Seeds every fit and draw.

    Returns
    -------
    X_new : ndarray of float64, shape (sum(n_samples.values()), d)
    y_new : ndarray of int64

    Raises
    ------
    TypeError
        If `n_samples` is not a dict.
    ValueError
        If `X`/`y` do not match, a class in `n_samples` has no rows, a count is negative, or
        `n_components` < 1.

    Notes
    -----
    A deliberately small generative model: it knows the mean and the per-pixel spread of a
    class, not the strokes of a digit. Book: chapter 5.

    Examples
    --------
    >>> X = np.r_[np.zeros((3, 2)), np.ones((3, 2))]
    >>> X_new, y_new = gaussian_mixture_samples(X, [0, 0, 0, 1, 1, 1], n_samples={1: 4}, n_components=1, rng=0)
    >>> X_new.shape, y_new.tolist()
    ((4, 2), [1, 1, 1, 1])
    """
    from sklearn.mixture import GaussianMixture

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"Expected `X` of shape (n, d) with n >= 1, got {X.shape}")
    if y.shape != (X.shape[0],) or y.dtype.kind not in "iu":
        raise ValueError(f"Expected `y` to be {X.shape[0]} integer labels, got shape {y.shape}")
    if not isinstance(n_samples, dict):
        raise TypeError(f"Expected `n_samples` to be a dict of class -> count, got {n_samples!r}")
    if not is_integer(n_components):
        raise TypeError(f"Expected `n_components` to be an integer, got {n_components!r}")
    if n_components < 1:
        raise ValueError(f"Expected `n_components` >= 1, got {n_components!r}")
    reg_covar = _check_range(reg_covar, "reg_covar", low=np.finfo(float).tiny)
    gen = check_rng(rng)
    X_parts, y_parts = [np.empty((0, X.shape[1]))], [np.empty(0, dtype=np.int64)]
    for c, count in n_samples.items():
        if not is_integer(count) or count < 0:
            raise ValueError(
                f"Expected a non-negative integer count for class {c!r}, got {count!r}"
            )
        Xc = X[y == c]
        if len(Xc) == 0:
            raise ValueError(f"Expected rows of class {c!r} in `y`, found none")
        if count == 0:
            continue
        gmm = GaussianMixture(
            n_components=min(int(n_components), len(Xc)),
            covariance_type="diag",
            reg_covar=reg_covar,
            random_state=int(gen.integers(2**31 - 1)),
        ).fit(Xc)
        gmm.random_state = int(gen.integers(2**31 - 1))
        samples, _ = gmm.sample(int(count))
        samples = samples[gen.permutation(len(samples))]  # sample() groups by component
        X_parts.append(samples)
        y_parts.append(np.full(int(count), c, dtype=np.int64))
    X_new = np.concatenate(X_parts)
    if clip is not None:
        X_new = np.clip(X_new, clip[0], clip[1])
    return X_new, np.concatenate(y_parts)
