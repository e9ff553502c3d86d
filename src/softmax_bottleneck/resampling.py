"""Random over- and under-sampling and SMOTE, written out to be read (Book: chapter 3).

Each sampler follows imbalanced-learn's contract: options in the constructor (keyword-only, with
``random_state``), then ``X_res, y_res = sampler.fit_resample(X, y)``; what it learned is stored
in attributes ending in ``_``. The default strategy is imbalanced-learn's ``"auto"``:

* over-sampling (:class:`RandomOverSampler`, :class:`SMOTE`) grows every class to the size of
  the largest; the original rows come first, in their order, then the new ones;
* under-sampling (:class:`RandomUnderSampler`) shrinks every class to the size of the smallest.

For production use imbalanced-learn itself; the tests check that these agree with it on class
counts and on the properties that define each method (tests/test_parity_imblearn.py).

Deliberate differences from imbalanced-learn: the rows are drawn from a NumPy ``Generator``
(a ``RandomState`` seeds one), so they differ from imbalanced-learn's while the counts agree;
the output is always an ndarray (imbalanced-learn returns the input's container); sparse `X`
is refused with a TypeError rather than kept sparse, and `y` must be one label per row: a
column vector or a one-hot matrix is refused with a ValueError that names the conversion
(imbalanced-learn accepts both). Dense rows and 1-d labels are what chapter 3 teaches with.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._validation import check_rng, missing_extra

__all__ = ["SMOTE", "RandomOverSampler", "RandomUnderSampler"]


def _is_sparse(a: Any) -> bool:
    """A scipy.sparse matrix or array, or a sparse torch tensor (without importing either)."""
    if type(a).__module__.startswith("scipy.sparse"):
        return True
    layout = getattr(a, "layout", None)
    return layout is not None and "strided" not in str(layout)


def _check_X_y(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    # Sparse X is refused rather than densified: imbalanced-learn keeps it sparse (CSR in, CSR
    # out), and silently returning a dense copy could exhaust memory. np.asarray would also
    # turn a sparse matrix into a 0-d object array and report a misleading shape ().
    if _is_sparse(X):
        raise TypeError(
            f"Expected `X` to be a dense array, got the sparse {type(X).__name__}; these "
            "samplers work on dense rows (convert with X.toarray(), or use imbalanced-learn, "
            "which keeps sparse input sparse)"
        )
    if _is_sparse(y):
        raise TypeError(f"Expected `y` to be a dense 1-d array of labels, got {type(y).__name__}")
    # pandas DataFrames and Series (and anything with ``to_numpy``) are read as arrays; the
    # result is always an ndarray.
    X = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X)
    y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"Expected `X` of shape (n_samples, n_features), got shape {X.shape}")
    if y.ndim == 2:
        # imbalanced-learn reads a column (n, 1) as labels (with a warning) and a one-hot
        # (n, k) matrix as one-vs-all labels; here y is one label per row, said explicitly.
        fix = "y.ravel()" if y.shape[1] == 1 else "y.argmax(axis=1) for one-hot labels"
        raise ValueError(
            f"Expected `y` to be 1-d with {X.shape[0]} labels, got a 2-d array of shape "
            f"{y.shape} (pass {fix})"
        )
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"Expected `y` to be 1-d with {X.shape[0]} labels, got shape {y.shape}")
    if y.dtype.kind not in "biuU" and y.dtype != object:
        raise ValueError(f"Expected `y` to hold class labels, got dtype {y.dtype}")
    return X, y


_STRATEGIES = {
    "over": ("auto", "minority", "not minority", "not majority", "all"),
    "under": ("auto", "majority", "not minority", "not majority", "all"),
}


def _sampling_strategy(strategy: Any, classes: np.ndarray, counts: np.ndarray, kind: str) -> dict:
    """imbalanced-learn's ``sampling_strategy`` as a dict: rows to add per class ("over") or
    rows to keep per class ("under")."""
    n = dict(zip((c.item() for c in classes), (int(k) for k in counts), strict=True))
    n_max, n_min = max(n.values()), min(n.values())
    majority = max(n, key=lambda c: n[c])
    minority = min(n, key=lambda c: n[c])
    if isinstance(strategy, str):
        if strategy not in _STRATEGIES[kind]:
            allowed = ", ".join(repr(x) for x in _STRATEGIES[kind])
            raise ValueError(
                f"Expected `sampling_strategy` to be a float, a dict or one of {allowed}, got "
                f"{strategy!r}"
            )
        if strategy == "auto":
            strategy = "not majority" if kind == "over" else "not minority"
        chosen = {
            "minority": [minority],
            "majority": [majority],
            "not minority": [c for c in n if c != minority],
            "not majority": [c for c in n if c != majority],
            "all": list(n),
        }[strategy]
        if kind == "over":
            return {c: n_max - n[c] for c in chosen}
        return {c: n_min for c in chosen}
    if isinstance(strategy, dict):
        out = {}
        for c, want in strategy.items():
            key = c.item() if isinstance(c, np.generic) else c
            if key not in n:
                raise ValueError(f"Expected `sampling_strategy` keys among the classes, got {c!r}")
            if isinstance(want, bool) or not isinstance(want, (int, np.integer)) or want < 0:
                raise ValueError(
                    f"Expected `sampling_strategy` counts to be non-negative integers, got "
                    f"{want!r} for class {c!r}"
                )
            if kind == "over" and want < n[key]:
                raise ValueError(
                    f"Expected `sampling_strategy` to ask at least the {n[key]} rows class "
                    f"{c!r} has when over-sampling, got {want}"
                )
            if kind == "under" and want > n[key]:
                raise ValueError(
                    f"Expected `sampling_strategy` to ask at most the {n[key]} rows class "
                    f"{c!r} has when under-sampling, got {want}"
                )
            out[key] = int(want) - n[key] if kind == "over" else int(want)
        return out
    if isinstance(strategy, (float, np.floating)) and not isinstance(strategy, bool):
        if len(n) != 2:
            raise ValueError(
                f"Expected a float `sampling_strategy` only for two classes, got {len(n)}"
            )
        if not 0 < strategy <= 1:
            raise ValueError(f"Expected a float `sampling_strategy` in (0, 1], got {strategy!r}")
        # the ratio n_minority / n_majority after resampling, as imbalanced-learn defines it
        if kind == "over":
            add = int(n_max * strategy - n_min)
            if add < 0:
                raise ValueError(
                    f"Expected a float `sampling_strategy` >= the current ratio "
                    f"{n_min / n_max:.3g} when over-sampling, got {strategy!r}"
                )
            return {minority: add}
        keep = int(n_min / strategy)
        if keep > n_max:
            raise ValueError(
                f"Expected a float `sampling_strategy` >= the current ratio {n_min / n_max:.3g} "
                f"when under-sampling, got {strategy!r}"
            )
        return {majority: keep}
    raise TypeError(
        f"Expected `sampling_strategy` to be a float, a dict or a string, got {strategy!r}"
    )


class _BaseSampler:
    """Validate, then call the private ``_fit_resample`` (imbalanced-learn's structure)."""

    _kind = "over"

    def __init__(
        self,
        *,
        sampling_strategy: float | str | dict[Any, int] = "auto",
        random_state: int | np.random.Generator | np.random.RandomState | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state

    def fit_resample(self, X: ArrayLike, y: ArrayLike, /) -> tuple[np.ndarray, np.ndarray]:
        """Resample `X` and `y`; return ``(X_res, y_res)`` as NumPy arrays.

        Raises
        ------
        ValueError
            If `X` is not 2-d and non-empty, `y` does not hold one label per row (a column
            vector or a one-hot matrix is refused, with the conversion to use) or holds a
            single class (as in imbalanced-learn), or
            `sampling_strategy` does not fit the classes.
        TypeError
            If `X` or `y` is sparse (scipy.sparse or a sparse torch tensor), `random_state` is
            not an int, None, a numpy Generator or RandomState, or `sampling_strategy` is not
            a float, dict or string.
        """
        X, y = _check_X_y(X, y)
        state = self.random_state
        if isinstance(state, np.random.RandomState):
            # scikit-learn's convention: draw a seed from it, so it is consumed, then use a
            # Generator (the rows differ from imbalanced-learn's, the counts do not).
            state = np.random.default_rng(state.randint(np.iinfo(np.int32).max))
        try:
            rng = check_rng(state)
        except TypeError:
            raise TypeError(
                "Expected `random_state` to be an int, None, numpy.random.Generator or "
                f"numpy.random.RandomState, got {self.random_state!r}"
            ) from None
        self.classes_, counts = np.unique(y, return_counts=True)
        if len(self.classes_) < 2:
            # as imbalanced-learn: with one class there is nothing to balance, and it is
            # usually a mistake (the wrong column, a filtered split)
            raise ValueError(
                f"Expected `y` to hold at least two classes, got one ({self.classes_[0].item()!r})"
            )
        self.sampling_strategy_ = _sampling_strategy(
            self.sampling_strategy, self.classes_, counts, self._kind
        )
        return self._fit_resample(X, y, counts, rng)

    def _fit_resample(
        self, X: np.ndarray, y: np.ndarray, counts: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - overridden
        raise NotImplementedError


class RandomOverSampler(_BaseSampler):
    """Repeat random rows of the smaller classes until every class is as large as the largest.

    Parameters
    ----------
    sampling_strategy : float, str or dict, default "auto"
        Which classes to resample and to what size, as in imbalanced-learn: a dict
        ``{class: n_rows}``; a float ratio ``n_minority / n_majority`` after resampling (two
        classes only); or "auto", "minority", "majority", "not minority", "not majority" or
        "all" (the default grows every class but the largest / shrinks every class but the
        smallest).
    random_state : int, Generator, RandomState or None, default None
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

    def _fit_resample(
        self, X: np.ndarray, y: np.ndarray, counts: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        extra = [
            rng.choice(np.flatnonzero(y == c), size=n, replace=True)
            for c, n in self.sampling_strategy_.items()
            if n > 0
        ]
        self.sample_indices_ = np.concatenate([np.arange(len(y)), *extra]).astype(np.int64)
        return X[self.sample_indices_], y[self.sample_indices_]


class RandomUnderSampler(_BaseSampler):
    """Keep a random subset of every class, as large as the smallest class.

    Parameters
    ----------
    sampling_strategy : float, str or dict, default "auto"
        Which classes to resample and to what size, as in imbalanced-learn: a dict
        ``{class: n_rows}``; a float ratio ``n_minority / n_majority`` after resampling (two
        classes only); or "auto", "minority", "majority", "not minority", "not majority" or
        "all" (the default grows every class but the largest / shrinks every class but the
        smallest).
    random_state : int, Generator, RandomState or None, default None
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

    _kind = "under"

    def _fit_resample(
        self, X: np.ndarray, y: np.ndarray, counts: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        keep = []
        for c in self.classes_:
            rows = np.flatnonzero(y == c)
            n = self.sampling_strategy_.get(c.item())
            keep.append(rows if n is None else rng.choice(rows, size=n, replace=False))
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
    sampling_strategy : float, str or dict, default "auto"
        As :class:`RandomOverSampler`.
    random_state : int, Generator, RandomState or None, default None
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
        self,
        *,
        sampling_strategy: float | str | dict[Any, int] = "auto",
        k_neighbors: int = 5,
        random_state: int | np.random.Generator | np.random.RandomState | None = None,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy, random_state=random_state)
        self.k_neighbors = k_neighbors

    def _fit_resample(
        self, X: np.ndarray, y: np.ndarray, counts: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
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
        X_parts, y_parts = [X], [y]
        for c, n_new in self.sampling_strategy_.items():
            if n_new == 0:
                continue
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
