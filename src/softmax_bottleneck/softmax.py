"""Softmax, log-softmax, log-sum-exp, their Jacobian and cross-entropy (Book: chapter 1).

Every function takes a NumPy array or a PyTorch tensor and returns the same kind: NumPy stays
NumPy, torch stays torch (same device, autograd kept). Floating dtypes are preserved; float16
and bfloat16 are computed in float32 and cast back, and integer or boolean input is promoted to
float64. The class axis is the last one unless `axis` says otherwise.

Special values follow one rule: return the mathematical limit where it exists, NaN where it
does not.

* ``-inf`` is a masked entry: probability 0, log-probability ``-inf``.
* A row that is entirely ``-inf`` has no distribution: softmax and log-softmax give NaN
  (as ``torch.softmax`` does); ``logsumexp`` gives ``-inf`` (= log 0, as scipy and torch do).
* A row with exactly one ``+inf`` tends to one-hot at that entry, whatever the other finite
  values: that is its result. With two or more ``+inf`` the limit depends on how fast each
  grows, so the row is NaN. ``logsumexp`` of any row holding ``+inf`` is ``+inf``.
* NaN anywhere in a row makes the whole row NaN.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from ._typing import Array, ArrayLike, FloatArray, TensorLike
from ._validation import (
    REDUCTIONS,
    as_float_array,
    check_axis,
    check_choice,
    check_class_axis,
    check_ignore_index,
    check_label_smoothing,
    check_positive_number,
    is_integer,
    is_torch_tensor,
)

if TYPE_CHECKING:
    import torch

__all__ = [
    "cross_entropy",
    "log_softmax",
    "logsumexp",
    "naive_softmax",
    "online_softmax",
    "softmax",
    "softmax_jacobian",
]


# ---------------------------------------------------------------------------------------------
# Array plumbing: the same maths on NumPy arrays and torch tensors.


def _xp(x: Any) -> Any:
    """The module whose functions apply to `x`: numpy or torch."""
    if is_torch_tensor(x):
        import torch

        return torch
    return np


def _amax(x: Any, axis: int) -> Any:
    if is_torch_tensor(x):
        return x.amax(dim=axis, keepdim=True)
    return np.max(x, axis=axis, keepdims=True)


def _sum(x: Any, axis: int, keepdims: bool = True) -> Any:
    if is_torch_tensor(x):
        return x.sum(dim=axis, keepdim=keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims)


def _compute_dtype(x: Any) -> tuple[Any, Any]:
    """Return `x` in the dtype used for the arithmetic, and the dtype to give back."""
    if is_torch_tensor(x):
        import torch

        if x.dtype in (torch.float16, torch.bfloat16):
            return x.float(), x.dtype
        return x, x.dtype
    if x.dtype == np.float16:
        return x.astype(np.float32), x.dtype
    return x, x.dtype


def _cast_back(y: Any, dtype: Any) -> Any:
    return y.to(dtype) if is_torch_tensor(y) else y.astype(dtype, copy=False)


def _prepare(x: Any, axis: Any, temperature: Any, name: str = "x") -> tuple[Any, int, Any, float]:
    """Validate the public arguments; return (x in compute dtype, axis, dtype, temperature)."""
    x = as_float_array(x, name)
    ax = check_class_axis(x, axis, name)
    # the default needs no checking (a fast path: these functions are called per batch)
    t = 1.0 if temperature.__class__ is float and temperature == 1.0 else (
        check_positive_number(temperature, "temperature")
    )
    x, dtype = _compute_dtype(x)
    return x, ax, dtype, t


# ---------------------------------------------------------------------------------------------
# The maths (private: arguments already checked). One routine per array kind, chosen once by
# the public function: the torch routines have no data-dependent Python branch, so
# ``torch.compile(fullgraph=True)`` traces them whole and they work on meta tensors.


def _np_shifted(x: np.ndarray, axis: int, t: float) -> np.ndarray:
    """Return ``(x - max(x)) / t`` along `axis`, with the one-``+inf`` limit made explicit.

    Subtracting the row maximum changes nothing mathematically (softmax is shift invariant)
    but makes every exponent <= 0, so ``exp`` cannot overflow. Dividing by the temperature
    *after* the shift cannot overflow either: the maximum stays 0 and the rest tend to
    ``-inf``, the ``T -> 0`` limit, even when ``x / T`` itself would overflow.
    """
    m = np.max(x, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore"):
        shifted = x - m
    posinf = np.isposinf(x)
    if posinf.any():
        # A row with exactly one +inf tends to one-hot: put 0 (= exp 1) at the +inf entry,
        # which would otherwise read inf - inf = NaN. Rows with several +inf stay NaN.
        n_posinf = np.sum(posinf, axis=axis, keepdims=True)
        shifted = np.where(posinf & (n_posinf == 1), 0.0, shifted).astype(x.dtype, copy=False)
    if t != 1.0:
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            scaled = shifted / t
            # If t rounds to 0 in the compute dtype the maximum reads 0 / 0: it is 0 (the rest
            # is -inf, the one-hot limit). NaN from a NaN input is left alone.
            shifted = np.where(np.isnan(scaled) & (shifted == 0), 0.0, scaled).astype(
                x.dtype, copy=False
            )
    return shifted


def _torch_shifted(x: Any, axis: int, t: float) -> Any:
    """The torch twin of :func:`_np_shifted`, without a data-dependent branch.

    The maximum is treated as a constant for autograd: its gradient contributions cancel
    exactly.
    """
    import torch

    shifted = x - x.amax(dim=axis, keepdim=True).detach()
    posinf = torch.isposinf(x)
    one_posinf = posinf & (posinf.sum(dim=axis, keepdim=True) == 1)
    shifted = torch.where(one_posinf, torch.zeros_like(shifted), shifted)
    if t != 1.0:
        scaled = shifted / t
        shifted = torch.where(scaled.isnan() & (shifted == 0), torch.zeros_like(scaled), scaled)
    return shifted


def _np_softmax(x: np.ndarray, axis: int, t: float = 1.0) -> np.ndarray:
    e = np.exp(_np_shifted(x, axis, t))
    return e / np.sum(e, axis=axis, keepdims=True)


def _torch_softmax_exact(x: Any, axis: int, t: float = 1.0) -> Any:
    e = _torch_shifted(x, axis, t).exp()
    return e / e.sum(dim=axis, keepdim=True)


def _torch_fast(x: Any) -> bool:
    """True where the eager fast path may run: not while torch.compile traces (the exact
    routines have no data-dependent branch) and not on meta tensors (no data to look at)."""
    import torch

    return not torch.compiler.is_compiling() and x.device.type != "meta"


def _torch_needs_exact(y: Any, axis: int) -> bool:
    """Whether ``torch.(log_)softmax``'s output `y` holds a row that the rules may fix.

    PyTorch makes every entry of a row NaN when the row holds NaN or ``+inf`` or is all
    ``-inf`` (its maximum or sum is NaN, and so is every entry divided by or subtracted from
    it); ``tests/test_softmax.py`` checks that this still holds. So the sum of the first entry
    of every row, O(rows) work and no other pass over the data, is NaN exactly when such a row
    exists, and only those inputs pay for the exact routine.
    """
    return math.isnan(y.narrow(axis, 0, 1).sum().item())


def _torch_softmax(x: Any, axis: int, t: float = 1.0) -> Any:
    """``torch.softmax`` (of ``x / t``), redone exactly where a special row or an overflow of
    ``x / t`` calls for the rules of the module docstring."""
    import torch

    if not _torch_fast(x):
        return _torch_softmax_exact(x, axis, t)
    y = torch.softmax(x if t == 1.0 else x / t, axis)
    if y.numel() and _torch_needs_exact(y, axis):
        return _torch_softmax_exact(x, axis, t)
    return y


def _np_log_softmax(x: np.ndarray, axis: int, t: float = 1.0) -> np.ndarray:
    s = _np_shifted(x, axis, t)
    with np.errstate(divide="ignore", invalid="ignore"):
        return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def _torch_log_softmax_exact(x: Any, axis: int, t: float = 1.0) -> Any:
    s = _torch_shifted(x, axis, t)
    return s - s.exp().sum(dim=axis, keepdim=True).log()


def _torch_log_softmax(x: Any, axis: int, t: float = 1.0) -> Any:
    """``torch.log_softmax`` (of ``x / t``), redone exactly where the rules call for it."""
    import torch

    if not _torch_fast(x):
        return _torch_log_softmax_exact(x, axis, t)
    y = torch.log_softmax(x if t == 1.0 else x / t, axis)
    if y.numel() and _torch_needs_exact(y, axis):
        return _torch_log_softmax_exact(x, axis, t)
    return y


def _np_logsumexp(x: np.ndarray, axis: int, keepdims: bool) -> np.ndarray:
    if x.shape[axis] == 0:  # the empty sum is 0 and log 0 = -inf, as in scipy and torch
        shape = list(x.shape)
        shape[axis] = 1
        out = np.full(shape, -np.inf, dtype=x.dtype)
        return out if keepdims else np.squeeze(out, axis=axis)
    m = np.max(x, axis=axis, keepdims=True)
    # An infinite maximum cannot be subtracted (inf - inf); shifting by 0 instead keeps the
    # arithmetic quiet, and such rows take their limit, m itself, below.
    finite = np.isfinite(m)
    shift = np.where(finite, m, 0.0).astype(x.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(x - shift)
    # LSE = m + log(1 + sum of the other terms): the maximum's own term is exactly 1, so
    # leaving one of them out of the sum and using log1p keeps the relative accuracy of
    # results near 0 (LSE([0, -40]) = 4.25e-18, not 0), as scipy does since gh-18295.
    np.put_along_axis(e, np.argmax(x, axis=axis, keepdims=True), 0.0, axis=axis)
    with np.errstate(invalid="ignore"):
        out = np.where(finite, shift + np.log1p(np.sum(e, axis=axis, keepdims=True)), m)
    out = out.astype(x.dtype, copy=False)
    return out if keepdims else np.squeeze(out, axis=axis)


def _torch_logsumexp_exact(x: Any, axis: int) -> Any:
    """The torch twin of :func:`_np_logsumexp` (keepdims, non-empty axis), branch-free."""
    import torch

    m = x.amax(dim=axis, keepdim=True).detach()
    finite = torch.isfinite(m)
    shift = torch.where(finite, m, torch.zeros_like(m))
    e = (x - shift).exp()
    e = e.scatter(axis, x.detach().argmax(dim=axis, keepdim=True), 0.0)  # leave one max out
    return torch.where(finite, shift + e.sum(dim=axis, keepdim=True).log1p(), m)


def _torch_logsumexp(x: Any, axis: int, keepdims: bool) -> Any:
    import torch

    if x.shape[axis] == 0:  # a shape, not data: no graph break
        return torch.logsumexp(x, dim=axis, keepdim=keepdims)  # -inf
    if _torch_fast(x):
        out = torch.logsumexp(x, dim=axis, keepdim=True)
        # torch computes m + log(sum), which rounds 1 + (the rest) and so loses the relative
        # accuracy of results near 0 (|LSE| < 1); only those inputs pay for the exact route.
        if out.numel() and bool((out.abs() < 1).any()):
            out = _torch_logsumexp_exact(x, axis)
    else:
        out = _torch_logsumexp_exact(x, axis)
    return out if keepdims else out.squeeze(axis)


def _shifted(x: Any, axis: int, t: float = 1.0) -> Any:
    return _torch_shifted(x, axis, t) if is_torch_tensor(x) else _np_shifted(x, axis, t)


def _softmax(x: Any, axis: int, t: float = 1.0) -> Any:
    return _torch_softmax(x, axis, t) if is_torch_tensor(x) else _np_softmax(x, axis, t)


def _log_softmax(x: Any, axis: int, t: float = 1.0) -> Any:
    return _torch_log_softmax(x, axis, t) if is_torch_tensor(x) else _np_log_softmax(x, axis, t)


def _logsumexp(x: Any, axis: int, keepdims: bool) -> Any:
    if is_torch_tensor(x):
        return _torch_logsumexp(x, axis, keepdims)
    return _np_logsumexp(x, axis, keepdims)


# ---------------------------------------------------------------------------------------------
# Public functions.


@overload
def softmax(x: torch.Tensor, /, *, axis: int = -1, temperature: float = 1.0) -> torch.Tensor: ...
@overload
def softmax(x: ArrayLike, /, *, axis: int = -1, temperature: float = 1.0) -> FloatArray: ...
def softmax(x: TensorLike, /, *, axis: int = -1, temperature: float = 1.0) -> Array:
    r"""Turn logits into probabilities: exponentiate, then normalise along `axis`.

    .. math::

        \operatorname{softmax}(z)_i = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}

    computed stably as ``exp(z - max z) / sum(exp(z - max z))``.

    Parameters
    ----------
    x : array_like or torch.Tensor
        Logits, at least 1-d. Integer input is promoted to float64.
    axis : int, default -1
        The class axis: the one that sums to 1 afterwards.
    temperature : float, default 1.0
        Positive finite ``T``. ``T < 1`` sharpens the distribution, ``T > 1`` flattens it;
        ``T -> 0`` tends to one-hot at the arg-max and ``T -> inf`` to uniform. The logits
        are shifted before they are divided by ``T``, so even a ``T`` for which ``x / T``
        overflows (1e-310) gives that one-hot limit, not NaN.

    Returns
    -------
    ndarray or torch.Tensor
        Probabilities with the shape and floating dtype of `x` (same kind as `x`).

    Raises
    ------
    TypeError
        If `x` is not real-valued, `axis` is not an integer or `temperature` is not a number.
    ValueError
        If `x` is 0-d, the class axis is empty or out of range, or `temperature` is not
        positive and finite.

    See Also
    --------
    log_softmax : the logarithm, computed without forming tiny probabilities.
    naive_softmax : the textbook formula without the shift, which overflows.
    online_softmax : the same result from one streaming pass over the logits.

    Notes
    -----
    Softmax is shift invariant, ``softmax(z + c) = softmax(z)``, so subtracting the maximum
    changes nothing but keeps every exponent at most 0: no overflow, and at least one term of
    the sum equals 1, so no division by zero. See the module docstring for ``-inf``, ``+inf``
    and NaN. Book: chapter 1.

    Examples
    --------
    >>> import softmax_bottleneck as sb
    >>> sb.softmax([2.0, 1.0, 0.1]).round(4)
    array([0.659 , 0.2424, 0.0986])
    >>> sb.softmax([1000.0, 999.0]).round(4)     # exp(1000) overflows; the shift avoids it
    array([0.7311, 0.2689])
    >>> sb.softmax([2.0, 1.0, 0.1], temperature=10.0).round(4)   # flatter
    array([0.3661, 0.3312, 0.3027])
    """
    xc, ax, dtype, t = _prepare(x, axis, temperature)
    if is_torch_tensor(xc):
        y = _torch_softmax(xc, ax, t)
        return y if y.dtype == dtype else y.to(dtype)
    return _np_softmax(xc, ax, t).astype(dtype, copy=False)


@overload
def log_softmax(
    x: torch.Tensor, /, *, axis: int = -1, temperature: float = 1.0
) -> torch.Tensor: ...
@overload
def log_softmax(x: ArrayLike, /, *, axis: int = -1, temperature: float = 1.0) -> FloatArray: ...
def log_softmax(x: TensorLike, /, *, axis: int = -1, temperature: float = 1.0) -> Array:
    r"""Log-probabilities of logits: ``z - logsumexp(z)`` along `axis`.

    .. math::

        \log \operatorname{softmax}(z)_i = z_i / T - \log \sum_j e^{z_j / T}

    Parameters
    ----------
    x : array_like or torch.Tensor
        Logits, at least 1-d. Integer input is promoted to float64.
    axis : int, default -1
        The class axis.
    temperature : float, default 1.0
        Positive finite temperature ``T`` (see :func:`softmax`).

    Returns
    -------
    ndarray or torch.Tensor
        Log-probabilities (all <= 0) with the shape and floating dtype of `x`.

    Raises
    ------
    TypeError
        If `x` is not real-valued, `axis` is not an integer or `temperature` is not a number.
    ValueError
        If `x` is 0-d, the class axis is empty or out of range, or `temperature` is not
        positive and finite.

    See Also
    --------
    softmax, logsumexp, cross_entropy

    Notes
    -----
    ``log(softmax(z))`` underflows: a probability below the smallest float becomes 0 and its
    log ``-inf``. Subtracting the log-sum-exp instead keeps full precision for every entry.
    Book: chapter 1.

    Examples
    --------
    >>> import numpy as np
    >>> import softmax_bottleneck as sb
    >>> sb.log_softmax([1000.0, 0.0])
    array([    0., -1000.])
    >>> with np.errstate(divide="ignore"):
    ...     np.log(sb.softmax([1000.0, 0.0]))      # the naive route loses the second entry
    array([  0., -inf])
    """
    xc, ax, dtype, t = _prepare(x, axis, temperature)
    if is_torch_tensor(xc):
        y = _torch_log_softmax(xc, ax, t)
        return y if y.dtype == dtype else y.to(dtype)
    return _np_log_softmax(xc, ax, t).astype(dtype, copy=False)


@overload
def logsumexp(x: torch.Tensor, /, *, axis: int = -1, keepdims: bool = False) -> torch.Tensor: ...
@overload
def logsumexp(x: ArrayLike, /, *, axis: int = -1, keepdims: bool = False) -> FloatArray: ...
def logsumexp(x: TensorLike, /, *, axis: int = -1, keepdims: bool = False) -> Array:
    r"""The log of the sum of exponentials along `axis`, without overflow.

    .. math::

        \operatorname{LSE}(z) = \log \sum_j e^{z_j} = m + \log \sum_j e^{z_j - m},
        \qquad m = \max_j z_j

    Parameters
    ----------
    x : array_like or torch.Tensor
        At least 1-d. Integer input is promoted to float64.
    axis : int, default -1
        The axis to reduce.
    keepdims : bool, default False
        Keep the reduced axis with length 1 (handy for broadcasting back).

    Returns
    -------
    ndarray or torch.Tensor
        The reduced values, same kind and floating dtype as `x`.

    Raises
    ------
    TypeError
        If `x` is not real-valued, `axis` is not an integer or `keepdims` not a bool.
    ValueError
        If `x` is 0-d, or the axis is out of range.

    Notes
    -----
    The result lies in ``[max z, max z + log K]`` for ``K`` terms: it is a smooth maximum.
    An all ``-inf`` row gives ``-inf`` (log 0) and a row with ``+inf`` gives ``+inf``. An
    empty axis gives ``-inf`` too, the log of the empty sum, as in scipy and torch.
    Book: chapter 1.

    Examples
    --------
    >>> import softmax_bottleneck as sb
    >>> float(sb.logsumexp([1000.0, 1000.0]))    # = 1000 + log 2
    1000.6931471805599
    """
    xa: Any = as_float_array(x, "x")
    if xa.ndim == 0:
        raise ValueError("Expected `x` to have at least one dimension, got a 0-d input")
    ax = check_axis(axis, xa.ndim)  # an empty axis is fine: the empty sum gives -inf
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"Expected `keepdims` to be a bool, got {keepdims!r}")
    xa, dtype = _compute_dtype(xa)
    if is_torch_tensor(xa):
        y = _torch_logsumexp(xa, ax, bool(keepdims))
        return y if y.dtype == dtype else y.to(dtype)
    return _np_logsumexp(xa, ax, bool(keepdims)).astype(dtype, copy=False)


@overload
def naive_softmax(x: torch.Tensor, /, *, axis: int = -1) -> torch.Tensor: ...
@overload
def naive_softmax(x: ArrayLike, /, *, axis: int = -1) -> FloatArray: ...
def naive_softmax(x: TensorLike, /, *, axis: int = -1) -> Array:
    r"""The textbook formula ``exp(z) / sum(exp(z))``, kept to show why it fails.

    It is exact in exact arithmetic, but ``exp`` overflows to ``inf`` once a logit passes
    about 88.7 in float32 (709.8 in float64, 11.1 in float16), and ``inf / inf`` is NaN.
    Use :func:`softmax` for real work.

    Parameters
    ----------
    x : array_like or torch.Tensor
        Logits, at least 1-d.
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray or torch.Tensor
        ``exp(x) / sum(exp(x))`` as computed, overflow and all.

    Raises
    ------
    TypeError, ValueError
        As :func:`softmax`.

    Notes
    -----
    NumPy warns ("overflow encountered in exp") when it overflows; that warning is the
    point of the lesson, so it is not silenced. Book: chapter 1.

    Examples
    --------
    >>> import numpy as np
    >>> import softmax_bottleneck as sb
    >>> sb.naive_softmax([2.0, 1.0]).round(4)
    array([0.7311, 0.2689])
    >>> with np.errstate(over="ignore", invalid="ignore"):
    ...     sb.naive_softmax(np.array([100.0, 80.0], dtype=np.float32))
    array([nan,  0.], dtype=float32)
    """
    x = as_float_array(x, "x")
    ax = check_class_axis(x, axis, "x")
    xp = _xp(x)
    e = xp.exp(x)
    return e / _sum(e, ax)


@overload
def online_softmax(
    x: torch.Tensor, /, *, axis: int = -1, block_size: int = 256
) -> torch.Tensor: ...
@overload
def online_softmax(x: ArrayLike, /, *, axis: int = -1, block_size: int = 256) -> FloatArray: ...
def online_softmax(x: TensorLike, /, *, axis: int = -1, block_size: int = 256) -> Array:
    r"""Softmax whose maximum and normaliser come from a single streaming pass.

    The running maximum ``m`` and running sum ``d`` of ``exp(z - m)`` are updated block by
    block; when the maximum grows, the old sum is rescaled:

    .. math::

        m' = \max(m, \max_{j \in B} z_j), \qquad
        d' = d\, e^{m - m'} + \sum_{j \in B} e^{z_j - m'}

    A second pass writes ``exp(z - m) / d``. With ``block_size=1`` this is Algorithm 3 of
    Milakov & Gimelshein (2018); larger blocks do the same merge on vectors.

    Parameters
    ----------
    x : array_like or torch.Tensor
        Logits, at least 1-d.
    axis : int, default -1
        The class axis.
    block_size : int, default 256
        How many logits of each row are merged at a time (positive integer).

    Returns
    -------
    ndarray or torch.Tensor
        The same values as :func:`softmax` (to rounding), same kind and dtype as `x`.

    Raises
    ------
    TypeError, ValueError
        As :func:`softmax`, and if `block_size` is not a positive integer.

    Notes
    -----
    The three-pass stable softmax reads the logits three times (max, sum, write); the online
    version reads them twice, which matters when the row does not fit in cache or on-chip
    memory. Book: chapters 1 and 8.

    References
    ----------
    M. Milakov and N. Gimelshein, "Online normalizer calculation for softmax",
    arXiv:1805.02867, 2018.

    Examples
    --------
    >>> import numpy as np
    >>> import softmax_bottleneck as sb
    >>> z = np.array([3.0, 1.0, -2.0, 7.0, 0.5])
    >>> np.allclose(sb.online_softmax(z, block_size=1), sb.softmax(z))
    True
    """
    # is_integer: int or NumPy integer, not bool (a TypeGuard: isinstance(x, numbers.Integral)
    # would make mypy take the rest of this function as unreachable and skip it)
    if not is_integer(block_size):
        raise TypeError(f"Expected `block_size` to be a positive integer, got {block_size!r}")
    if block_size < 1:
        raise ValueError(f"Expected `block_size` to be a positive integer, got {block_size}")
    xa: Any
    xa, ax, dtype, _ = _prepare(x, axis, 1.0)
    xp = _xp(xa)
    n = xa.shape[ax]
    m: Any = None  # running maximum, shape with the class axis kept as length 1
    d: Any = None  # running sum of exp(z - m)
    for start in range(0, n, block_size):
        idx = slice(start, min(start + block_size, n))
        block = xa[(slice(None),) * ax + (idx,)]
        block_max = _amax(block, ax)
        m_new = block_max if m is None else xp.maximum(m, block_max)
        # Where m_new is -inf (nothing but -inf so far) every term is 0: shift by 0 instead,
        # to avoid (-inf) - (-inf) = NaN. +inf and NaN are sorted out after the loop.
        safe = xp.where(xp.isfinite(m_new), m_new, xp.zeros_like(m_new))
        if xp is np:
            with np.errstate(invalid="ignore", over="ignore"):
                block_sum = _sum(np.exp(block - safe), ax)
                d = block_sum if d is None else d * np.exp(m - safe) + block_sum
        else:
            block_sum = _sum(xp.exp(block - safe), ax)
            d = block_sum if d is None else d * xp.exp(m - safe) + block_sum
        m = m_new
    # Second pass. Rows whose maximum is infinite (all -inf, or holding +inf) take the
    # same limits as the three-pass softmax.
    special = ~xp.isfinite(m)
    if bool(special.any()):
        fallback = _softmax(xa, ax)
    if xp is np:
        with np.errstate(invalid="ignore", over="ignore"):
            p = np.exp(xa - m) / d
    else:
        p = xp.exp(xa - m) / d
    if bool(special.any()):
        p = xp.where(special, fallback, p)
    return _cast_back(p, dtype)


@overload
def softmax_jacobian(probs: torch.Tensor, /) -> torch.Tensor: ...
@overload
def softmax_jacobian(probs: ArrayLike, /) -> FloatArray: ...
def softmax_jacobian(probs: TensorLike, /) -> Array:
    r"""The Jacobian of softmax, from the probabilities it produced.

    .. math::

        \frac{\partial p_i}{\partial z_j} = p_i (\delta_{ij} - p_j),
        \qquad J = \operatorname{diag}(p) - p p^\top

    Parameters
    ----------
    probs : array_like or torch.Tensor
        Probabilities on the last axis, shape ``(..., K)``: non-negative, each row summing
        to 1. (Pass ``softmax(logits)``, not the logits.)

    Returns
    -------
    ndarray or torch.Tensor
        Shape ``(..., K, K)``, symmetric, each row and column summing to 0 (the constant
        direction is in its null space: shift invariance again).

    Raises
    ------
    TypeError
        If `probs` is not real-valued.
    ValueError
        If `probs` is 0-d, has an empty last axis, or is not a probability vector along the
        last axis (negative entries, NaN, or rows not summing to 1).

    Notes
    -----
    The Jacobian depends on the logits only through ``p``, and its largest entry is at most
    1/4 (``p_i (1 - p_i)``): a saturated softmax (one ``p_i`` near 1) passes back almost no
    gradient. Book: chapter 1.

    Examples
    --------
    >>> import softmax_bottleneck as sb
    >>> sb.softmax_jacobian([0.5, 0.5])
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    p = as_float_array(probs, "probs")
    check_class_axis(p, -1, "probs")
    p, dtype = _compute_dtype(p)
    xp = _xp(p)
    if not _is_distribution(p, -1):
        raise ValueError(
            "Expected `probs` to be probabilities on the last axis (non-negative, each row "
            "summing to 1); pass softmax(logits), not the logits"
        )
    k = p.shape[-1]
    eye = np.eye(k, dtype=p.dtype) if xp is np else xp.eye(k, dtype=p.dtype, device=p.device)
    jac = p[..., :, None] * (eye - p[..., None, :])  # (..., K, K)
    return _cast_back(jac, dtype)


def _size(x: Any) -> int:
    return x.numel() if is_torch_tensor(x) else x.size


def _is_distribution(p: Any, axis: int) -> bool:
    """True if `p` is non-negative, NaN-free and sums to 1 along `axis` (to rounding)."""
    if _size(p) == 0:
        return True
    xp = _xp(p)
    if bool(((p < 0) | xp.isnan(p)).any()):
        return False
    # The rounding error of a sum of K terms grows like sqrt(K) * eps: allow a wide margin.
    single = str(p.dtype) in ("float32", "torch.float32")
    tol = 1e-4 * max(1.0, p.shape[axis] ** 0.5 / 10) if single else 1e-9
    return bool((abs(_sum(p, axis) - 1) <= tol).all())


@overload
def cross_entropy(
    logits: torch.Tensor,
    target: TensorLike,
    /,
    *,
    axis: int = -1,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
) -> torch.Tensor: ...
@overload
def cross_entropy(
    logits: ArrayLike,
    target: TensorLike,
    /,
    *,
    axis: int = -1,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
) -> FloatArray: ...
def cross_entropy(
    logits: TensorLike,
    target: TensorLike,
    /,
    *,
    axis: int = -1,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
) -> Array:
    r"""Cross-entropy between the softmax of `logits` and `target`.

    .. math::

        \ell(z, y) = -\sum_i y_i \log \operatorname{softmax}(z)_i,
        \qquad \frac{\partial \ell}{\partial z} = \operatorname{softmax}(z) - y

    Parameters
    ----------
    logits : array_like or torch.Tensor
        Raw scores (not probabilities), at least 1-d, classes along `axis`.
    target : array_like or torch.Tensor
        Either integer class indices with the shape of `logits` minus the class axis, each in
        ``[0, K)``; or floating probability targets with the shape of `logits` (non-negative,
        summing to 1 along `axis`, e.g. label-smoothed one-hots).
    axis : int, default -1
        The class axis of `logits` (and of probability targets).
    reduction : {"mean", "sum", "none"}, default "mean"
        How to combine the per-example losses. With `ignore_index`, "mean" divides by the
        number of examples not ignored (NaN if all are, as in PyTorch).
    ignore_index : int or None, default None
        Class-index targets equal to it (padding) get loss 0 and gradient 0. None ignores
        nothing; pass -100 for PyTorch's convention. Not allowed with probability targets.
    label_smoothing : float, default 0.0
        ε in [0, 1]: the target becomes ``(1 - ε) y + ε / K``, for class indices and
        probability targets alike, as in ``torch.nn.functional.cross_entropy``.

    Returns
    -------
    ndarray or torch.Tensor
        The loss: a 0-d value for "mean" and "sum", per-example values for "none".
        Same kind as `logits`; torch keeps autograd.

    Raises
    ------
    TypeError
        If `target` is neither integer nor floating, `ignore_index` is not an integer,
        `label_smoothing` not a number, or other arguments have the wrong type.
    ValueError
        If shapes do not match, an index is out of range, probability targets are not
        distributions or come with `ignore_index`, `label_smoothing` is outside [0, 1],
        `reduction` is unknown, or "mean" is asked of zero examples.

    Notes
    -----
    Pass **logits**. Applying softmax first and then this function applies softmax twice: the
    loss still decreases, but its gradient is squeezed through a second, nearly flat softmax
    (chapter 2 measures the damage). Book: chapter 1.

    Examples
    --------
    >>> import softmax_bottleneck as sb
    >>> float(sb.cross_entropy([[2.0, 1.0, 0.1]], [0])).__round__(4)   # -log 0.659
    0.417

    Padding marked -100 is skipped, and label smoothing mixes in the uniform target:

    >>> z = [[2.0, 1.0, 0.1], [0.0, 0.0, 0.0]]
    >>> float(sb.cross_entropy(z, [0, -100], ignore_index=-100)).__round__(4)
    0.417
    >>> float(sb.cross_entropy(z, [0, -100], ignore_index=-100, label_smoothing=0.1)).__round__(4)
    0.5137
    """
    z = as_float_array(logits, "logits")
    ax = check_class_axis(z, axis, "logits")
    check_choice(reduction, "reduction", REDUCTIONS)
    check_ignore_index(ignore_index)
    eps = check_label_smoothing(label_smoothing)
    z, dtype = _compute_dtype(z)
    xp = _xp(z)
    logp = _log_softmax(z, ax)
    k = z.shape[ax]
    t = _as_target(target, like=z)
    batch_shape = tuple(z.shape[:ax]) + tuple(z.shape[ax + 1 :])
    valid = None  # examples not ignored, when `ignore_index` is set
    if _is_integer(t):
        if tuple(t.shape) != batch_shape:
            raise ValueError(
                f"Expected `target` of class indices to have shape {batch_shape} (logits' shape "
                f"{tuple(z.shape)} without axis {axis}), got {tuple(t.shape)}"
            )
        if ignore_index is not None:
            valid = t != ignore_index
            t = xp.where(valid, t, xp.zeros_like(t))  # any in-range index; zeroed below
        if _size(t):
            lo, hi = int(t.min()), int(t.max())
            if lo < 0 or hi >= k:
                extra = "" if ignore_index is None else f" (or `ignore_index` {ignore_index})"
                raise ValueError(
                    f"Expected `target` class indices in [0, {k - 1}]{extra}, got values in "
                    f"[{lo}, {hi}]"
                )
        if xp is np:
            picked = np.take_along_axis(logp, np.expand_dims(t.astype(np.intp), ax), axis=ax)
            losses = -np.squeeze(picked, axis=ax)
        else:
            picked = logp.gather(ax, t.long().unsqueeze(ax))
            losses = -picked.squeeze(ax)
        if eps:
            # (1 - eps) * nll + eps * mean_k(-log p_k): the smoothed target's cross-entropy
            losses = (1.0 - eps) * losses - eps * _sum(logp, ax, keepdims=False) / k
        if valid is not None:
            losses = xp.where(valid, losses, xp.zeros_like(losses))
    else:
        if ignore_index is not None:
            raise ValueError(
                "Expected `ignore_index` only with class-index targets, got probability targets"
            )
        if tuple(t.shape) != tuple(z.shape):
            raise ValueError(
                f"Expected `target` of probabilities to have the shape of `logits` "
                f"{tuple(z.shape)}, got {tuple(t.shape)}"
            )
        t = t.to(z.dtype) if xp is not np else t.astype(z.dtype)
        if not _is_distribution(t, ax):
            raise ValueError(
                "Expected `target` of probabilities to be non-negative and sum to 1 along "
                f"axis {axis}"
            )
        if eps:
            t = (1.0 - eps) * t + eps / k
        # 0 * log 0 counts as 0 (a masked class with no target mass), not NaN.
        if xp is np:
            with np.errstate(invalid="ignore"):
                terms = np.where(t > 0, t * logp, 0.0)
        else:
            terms = xp.where(t > 0, t * logp, xp.zeros_like(logp))
        losses = -_sum(terms, ax, keepdims=False)
    n = _size(losses)
    if reduction == "none":
        out = losses
    elif reduction == "sum":
        out = losses.sum()
    else:
        if n == 0:
            raise ValueError("Expected at least one example for reduction='mean', got none")
        if valid is None:
            out = losses.mean()
        elif xp is np:
            with np.errstate(invalid="ignore"):
                out = losses.sum() / valid.sum()  # NaN when every example is ignored
        else:
            out = losses.sum() / valid.sum()
    if xp is np:
        return np.asarray(out, dtype=dtype)
    return out.to(dtype)  # type: ignore[attr-defined]


def _as_target(target: Any, like: Any) -> Any:
    """Convert `target` to the array kind of `like`, keeping integer dtypes integer."""
    if is_torch_tensor(like):
        import torch

        if not is_torch_tensor(target):
            target = torch.as_tensor(np.asarray(target), device=like.device)
        else:
            target = target.to(like.device)
        if target.dtype == torch.bool or target.is_complex():
            raise TypeError(
                f"Expected `target` to hold class indices (integers) or probabilities "
                f"(floats), got dtype {target.dtype}"
            )
        return target
    if is_torch_tensor(target):
        target = target.detach().cpu().numpy()
    t = np.asarray(target)
    if t.dtype.kind not in "iuf":
        raise TypeError(
            "Expected `target` to hold class indices (integers) or probabilities (floats), "
            f"got dtype {t.dtype}"
        )
    return t


def _is_integer(t: Any) -> bool:
    if is_torch_tensor(t):
        return not t.is_floating_point()
    return t.dtype.kind in "iu"
