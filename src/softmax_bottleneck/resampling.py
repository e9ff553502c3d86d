"""Random over- and under-sampling and SMOTE, written out to be read (Book: chapter 3).

Each sampler follows imbalanced-learn's contract: options in the constructor (keyword-only, with
``random_state``), then ``X_res, y_res = sampler.fit_resample(X, y)``; what it learned is stored
in attributes ending in ``_``. The default strategy is imbalanced-learn's ``"auto"``:

* over-sampling (:class:`RandomOverSampler`, :class:`SMOTE`) grows every class to the size of
  the largest; the original rows come first, in their order, then the new ones;
* under-sampling (:class:`RandomUnderSampler`) shrinks every class to the size of the smallest.

For production use imbalanced-learn itself; the tests check that these agree with it on class
counts and on the properties that define each method.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_rng, missing_extra

__all__ = ["SMOTE", "RandomOverSampler", "RandomUnderSampler"]


def _check_X_y(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"Expected `X` of shape (n_samples, n_features), got shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"Expected `y` to be 1-d with {X.shape[0]} labels, got shape {y.shape}")
    if y.dtype.kind not in "iuU" and y.dtype != object:
        raise ValueError(f"Expected `y` to hold class labels, got dtype {y.dtype}")
    return X, y


class _BaseSampler:
    """Validate, then call the private ``_fit_resample`` (imbalanced-learn's structure)."""

    def __init__(self, *, random_state: int | np.random.Generator | None = None) -> None:
        self.random_state = random_state

    def fit_resample(self, X: Any, y: Any, /) -> tuple[np.ndarray, np.ndarray]:
        """Resample `X` and `y`; return ``(X_res, y_res)``.

        Raises
        ------
        ValueError
            If `X` is not 2-d and non-empty, or `y` does not hold one label per row.
        TypeError
            If `random_state` is not an int, None or a numpy Generator.
        """
        X, y = _check_X_y(X, y)
        try:
            rng = check_rng(self.random_state)
        except TypeError:
            raise TypeError(
                "Expected `random_state` to be an int, None or numpy.random.Generator, "
                f"got {self.random_state!r}"
            ) from None
        self.classes_, counts = np.unique(y, return_counts=True)
        return self._fit_resample(X, y, counts, rng)

    def _fit_resample(self, X, y, counts, rng):  # pragma: no cover - overridden
        raise NotImplementedError


class RandomOverSampler(_BaseSampler):
    """Repeat random rows of the smaller classes until every class is as large as the largest.

    Parameters
    ----------
    random_state : int, Generator or None, default None
        Seeds the choice of rows.

    Attributes
    ----------
    classes_ : ndarray
        The sorted class labels.
    sampling_strategy_ : dict
        Rows added to each class.
    sample_indices_ : ndarray of int
        Index into `X` of every output row (the first ``len(X)`` are ``0, 1, ...``).

    Notes
    -----
    Copies add no information: they reweight the loss, so that a minority example counts
    ``n_max / n_c`` times on average. Book: chapter 3.

    Examples
    --------
    >>> X = [[0.0], [1.0], [2.0], [3.0]]
    >>> X_res, y_res = RandomOverSampler(random_state=0).fit_resample(X, [0, 0, 0, 1])
    >>> y_res.tolist(), X_res[4:].ravel().tolist()
    ([0, 0, 0, 1, 1, 1], [3.0, 3.0])
    """

    def _fit_resample(self, X, y, counts, rng):
        n_max = counts.max()
        self.sampling_strategy_ = {
            c.item(): int(n_max - n)
            for c, n in zip(self.classes_, counts, strict=True)
            if n < n_max
        }
        extra = [
            rng.choice(np.flatnonzero(y == c), size=n, replace=True)
            for c, n in self.sampling_strategy_.items()
        ]
        self.sample_indices_ = np.concatenate([np.arange(len(y)), *extra]).astype(np.int64)
        return X[self.sample_indices_], y[self.sample_indices_]


class RandomUnderSampler(_BaseSampler):
    """Keep a random subset of every class, as large as the smallest class.

    Parameters
    ----------
    random_state : int, Generator or None, default None
        Seeds the choice of rows.

    Attributes
    ----------
    classes_ : ndarray
        The sorted class labels.
    sampling_strategy_ : dict
        Rows kept in each class.
    sample_indices_ : ndarray of int
        Index into `X` of every output row, grouped by class.

    Notes
    -----
    Under-sampling throws data away: at a ratio of 50 a digit class of 130 keeps 3 rows.
    Book: chapter 3.

    Examples
    --------
    >>> X = [[0.0], [1.0], [2.0], [3.0]]
    >>> X_res, y_res = RandomUnderSampler(random_state=0).fit_resample(X, [0, 0, 0, 1])
    >>> y_res.tolist()
    [0, 1]
    """

    def _fit_resample(self, X, y, counts, rng):
        n_min = counts.min()
        self.sampling_strategy_ = {c.item(): int(n_min) for c in self.classes_}
        keep = [
            rng.choice(np.flatnonzero(y == c), size=n_min, replace=False) for c in self.classes_
        ]
        self.sample_indices_ = np.concatenate(keep).astype(np.int64)
        return X[self.sample_indices_], y[self.sample_indices_]


class SMOTE(_BaseSampler):
    r"""Synthetic minority over-sampling: new points on segments between same-class neighbours.

    For each row to create in class :math:`c`: pick a random row :math:`x_i` of class :math:`c`,
    one of its `k_neighbors` nearest neighbours :math:`x_j` *within class* :math:`c`, and a
    gap :math:`u \sim U[0, 1)`; the new row is

    .. math::

        x_{\text{new}} = x_i + u\,(x_j - x_i).

    Parameters
    ----------
    k_neighbors : int, default 5
        Neighbours considered per row. Every class to grow needs more than `k_neighbors` rows.
    random_state : int, Generator or None, default None
        Seeds the choice of rows, neighbours and gaps.

    Attributes
    ----------
    classes_ : ndarray
        The sorted class labels.
    sampling_strategy_ : dict
        Rows created in each class.

    Raises
    ------
    ValueError
        From ``fit_resample``, if a class to grow has ``k_neighbors`` rows or fewer, or
        `k_neighbors` is not a positive integer; if `X` is not numeric and finite.

    Notes
    -----
    SMOTE interpolates in input space: for images a blend of two 3s is a blurry 3, still a
    plausible digit; for text features it may not be. Book: chapter 3.

    References
    ----------
    Chawla, Bowyer, Hall and Kegelmeyer, "SMOTE: Synthetic minority over-sampling technique",
    JAIR 16, 2002.

    Examples
    --------
    >>> X = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 5.0], [0.0, 6.0]]
    >>> X_res, y_res = SMOTE(k_neighbors=1, random_state=0).fit_resample(X, [0, 0, 0, 1, 1])
    >>> y_res.tolist()
    [0, 0, 0, 1, 1, 1]
    >>> bool(X_res[5, 0] == 0.0 and 5.0 <= X_res[5, 1] <= 6.0)
    True
    """

    def __init__(
        self, *, k_neighbors: int = 5, random_state: int | np.random.Generator | None = None
    ) -> None:
        super().__init__(random_state=random_state)
        self.k_neighbors = k_neighbors

    def _fit_resample(self, X, y, counts, rng):
        try:
            from sklearn.neighbors import NearestNeighbors
        except ModuleNotFoundError as err:
            raise missing_extra(err, "SMOTE") from err

        k = self.k_neighbors
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"Expected `k_neighbors` to be a positive integer, got {k!r}")
        if X.dtype.kind not in "iuf" or not np.all(np.isfinite(X)):
            raise ValueError("Expected `X` to hold finite numbers (SMOTE interpolates rows)")
        if X.dtype.kind in "iu":
            X = X.astype(np.float64)  # interpolated rows are not integers
        n_max = counts.max()
        self.sampling_strategy_ = {
            c.item(): int(n_max - n)
            for c, n in zip(self.classes_, counts, strict=True)
            if n < n_max
        }
        X_parts, y_parts = [X], [y]
        for c, n_new in self.sampling_strategy_.items():
            Xc = X[y == c].astype(np.float64)
            if len(Xc) <= k:
                raise ValueError(
                    f"Expected every class to grow to have more than `k_neighbors`={k} rows, "
                    f"class {c!r} has {len(Xc)}"
                )
            # Column 0 of the neighbour list is the row itself: drop it.
            nn = NearestNeighbors(n_neighbors=k + 1).fit(Xc)
            neighbours = nn.kneighbors(Xc, return_distance=False)[:, 1:]
            base = rng.integers(len(Xc), size=n_new)
            partner = neighbours[base, rng.integers(k, size=n_new)]
            gap = rng.random((n_new, 1))
            X_parts.append((Xc[base] + gap * (Xc[partner] - Xc[base])).astype(X.dtype))
            y_parts.append(np.full(n_new, c, dtype=y.dtype))
        return np.concatenate(X_parts), np.concatenate(y_parts)
