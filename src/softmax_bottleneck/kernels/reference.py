"""Reference softmax loops: the pseudo-code of chapter 8, made runnable (Book: chapter 8).

Three algorithms, written as plain Python loops over one row so that each line of the book's
pseudo-code is one line here. They are slow (pure Python) and exist to be read and to be
checked against :func:`softmax_bottleneck.softmax`; the fast kernels in this package compute
the same numbers.

================  ==========================  ======================================
algorithm         passes over the row         memory traffic per row of K values
================  ==========================  ======================================
naive             2 (sum, write)              read 2K, write K   (overflows)
three-pass        3 (max, sum, write)         read 3K, write K
online two-pass   2 (max and sum, write)      read 2K, write K
================  ==========================  ======================================

Every public function takes an array of logits, applies the loop to each row along `axis`
and returns a NumPy array of the input's floating dtype (float32 for a bfloat16 tensor). A
torch tensor is read once into NumPy, detached: the loops branch on Python floats (``if
math.isnan(zj)``), as the pseudo-code does, so they are for reading, not for autograd or
``torch.compile``; :func:`softmax_bottleneck.softmax` and the kernels are the branch-free
versions.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import as_float_array, check_class_axis, is_torch_tensor

__all__ = ["naive_softmax_loop", "online_softmax_loop", "three_pass_softmax_loop"]


# ---------------------------------------------------------------------------------------------
# One row at a time: lists of Python floats in, list out.


def _exp(t: float) -> float:
    """``exp`` that overflows to ``inf`` (as IEEE arithmetic does) instead of raising."""
    try:
        return math.exp(t)
    except OverflowError:
        return math.inf


def _naive_row(z: list[float]) -> list[float]:
    d = 0.0
    for zj in z:  # pass 1: read K
        d += _exp(zj)
    return [_div(_exp(zj), d) for zj in z]  # pass 2: read K, write K


def _div(a: float, b: float) -> float:
    """IEEE division (``0/0 = nan``, ``inf/inf = nan``) without Python's ZeroDivisionError."""
    if b == 0.0:
        return math.nan if a == 0.0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


def _three_pass_row(z: list[float]) -> list[float]:
    m = -math.inf
    for zj in z:  # pass 1: read K
        m = max(m, zj)
    if math.isinf(m) or math.isnan(m):  # all -inf, or +inf present: no finite shift
        return _special_row(z, m)
    d = 0.0
    for zj in z:  # pass 2: read K
        d += math.exp(zj - m)
    return [math.exp(zj - m) / d for zj in z]  # pass 3: read K, write K


def _online_row(z: list[float]) -> list[float]:
    m, d = -math.inf, 0.0
    for zj in z:  # pass 1: read K, keeping a running max m and a running sum d
        if math.isnan(zj):
            return [math.nan] * len(z)  # NaN anywhere: a NaN row
        m_new = max(m, zj)
        if math.isinf(m_new):
            m = m_new  # nothing finite seen yet (-inf), or +inf: handled below
            continue
        d = d * math.exp(m - m_new) + math.exp(zj - m_new)  # rescale the old sum, add the new term
        m = m_new
    if math.isinf(m) or math.isnan(m):
        return _special_row(z, m)
    return [math.exp(zj - m) / d for zj in z]  # pass 2: read K, write K


def _special_row(z: list[float], m: float) -> list[float]:
    """Rows with no finite maximum: the limits of :mod:`softmax_bottleneck.softmax`."""
    if any(math.isnan(zj) for zj in z) or m == -math.inf:
        return [math.nan] * len(z)  # NaN, or every entry masked: no distribution
    n_posinf = sum(zj == math.inf for zj in z)
    if n_posinf == 1:
        return [1.0 if zj == math.inf else 0.0 for zj in z]  # the limit is one-hot
    return [math.nan] * len(z)  # several +inf: the limit depends on how fast each grows


def _apply_rows(
    row_fn: Callable[[list[float]], list[float]], x: ArrayLike, axis: int
) -> NDArray[np.floating]:
    """Validate `x`, run `row_fn` on every row along `axis`, return NumPy of x's dtype."""
    if is_torch_tensor(x):
        # Read once into NumPy (bfloat16, which NumPy lacks, as float32): the loops below
        # branch on Python floats, never on tensor values.
        t = x.detach().cpu()
        x = (t.float() if str(t.dtype) == "torch.bfloat16" else t).numpy()
    arr = np.asarray(as_float_array(x, "x"))  # NumPy here: tensors were converted above
    ax = check_class_axis(arr, axis, "x")
    moved = np.moveaxis(arr, ax, -1)
    rows = moved.reshape(-1, moved.shape[-1]).astype(np.float64)
    out = np.empty_like(rows)
    with np.errstate(all="ignore"):
        for i, row in enumerate(rows):
            out[i] = row_fn(row.tolist())
    return np.moveaxis(out.reshape(moved.shape), -1, ax).astype(arr.dtype)


# ---------------------------------------------------------------------------------------------
# Public functions.


def naive_softmax_loop(x: ArrayLike, /, *, axis: int = -1) -> NDArray[np.floating]:
    r"""The textbook formula ``exp(z_i) / sum_j exp(z_j)`` as a loop: two passes, no shift.

    Parameters
    ----------
    x : array_like
        Logits, at least 1-d (a torch tensor is converted to NumPy).
    axis : int, default -1
        The class axis.

    Returns
    -------
    numpy.ndarray
        Probabilities; where ``exp`` overflowed the row holds ``inf / inf = nan`` and
        ``finite / inf = 0``.

    Raises
    ------
    TypeError
        If `x` is not real-valued or `axis` is not an integer.
    ValueError
        If `x` is 0-d or the class axis is empty or out of range.

    Notes
    -----
    Without the shift by the maximum, ``exp(z)`` overflows for ``z > 709`` in float64 (88 in
    float32) and the row becomes NaN. Book: chapter 8.

    Examples
    --------
    >>> from softmax_bottleneck.kernels import naive_softmax_loop
    >>> naive_softmax_loop([2.0, 1.0, 0.1]).round(4)
    array([0.659 , 0.2424, 0.0986])
    >>> naive_softmax_loop([1000.0, 0.0])          # exp(1000) overflows
    array([nan,  0.])
    """
    return _apply_rows(_naive_row, x, axis)


def three_pass_softmax_loop(x: ArrayLike, /, *, axis: int = -1) -> NDArray[np.floating]:
    r"""The stable softmax as three loops: find the maximum, sum ``exp(z - m)``, write.

    .. math::

        m = \max_j z_j, \qquad d = \sum_j e^{z_j - m}, \qquad p_i = e^{z_i - m} / d

    Parameters
    ----------
    x : array_like
        Logits, at least 1-d.
    axis : int, default -1
        The class axis.

    Returns
    -------
    numpy.ndarray
        Probabilities, equal to :func:`softmax_bottleneck.softmax` to rounding.

    Raises
    ------
    TypeError
        If `x` is not real-valued or `axis` is not an integer.
    ValueError
        If `x` is 0-d or the class axis is empty or out of range.

    Notes
    -----
    Reads each row three times and writes it once: 4K values of traffic for a row of K.
    Book: chapter 8.

    Examples
    --------
    >>> from softmax_bottleneck.kernels import three_pass_softmax_loop
    >>> three_pass_softmax_loop([1000.0, 999.0]).round(4)
    array([0.7311, 0.2689])
    """
    return _apply_rows(_three_pass_row, x, axis)


def online_softmax_loop(x: ArrayLike, /, *, axis: int = -1) -> NDArray[np.floating]:
    r"""Online softmax: the maximum and the normaliser from one pass, then one pass to write.

    The running maximum ``m`` and running sum ``d`` are updated one logit at a time; when the
    maximum grows, the old sum is rescaled (Milakov & Gimelshein 2018, Algorithm 3):

    .. math::

        m_j = \max(m_{j-1}, z_j), \qquad
        d_j = d_{j-1}\, e^{m_{j-1} - m_j} + e^{z_j - m_j}

    Parameters
    ----------
    x : array_like
        Logits, at least 1-d.
    axis : int, default -1
        The class axis.

    Returns
    -------
    numpy.ndarray
        Probabilities, equal to :func:`softmax_bottleneck.softmax` to rounding.

    Raises
    ------
    TypeError
        If `x` is not real-valued or `axis` is not an integer.
    ValueError
        If `x` is 0-d or the class axis is empty or out of range.

    Notes
    -----
    Reads each row twice and writes it once (3K values of traffic instead of 4K). The two
    partial results ``(m, d)`` of two halves of a row merge the same way, which is what lets
    a GPU kernel or several processes split one row. Book: chapter 8.

    References
    ----------
    M. Milakov and N. Gimelshein, "Online normalizer calculation for softmax",
    arXiv:1805.02867, 2018.

    Examples
    --------
    >>> from softmax_bottleneck.kernels import online_softmax_loop
    >>> online_softmax_loop([[3.0, 1.0, 7.0], [0.0, 0.0, 0.0]]).round(4)
    array([[0.0179, 0.0024, 0.9796],
           [0.3333, 0.3333, 0.3333]])
    """
    return _apply_rows(_online_row, x, axis)
