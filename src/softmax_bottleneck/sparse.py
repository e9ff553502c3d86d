r"""Sparse alternatives to softmax: sparsemax and entmax (Book: chapter 7).

Softmax gives every class a positive probability, however bad its logit. The maps here solve a
regularised version of the same problem and can return exact zeros:

.. math::

    \operatorname{entmax}_\alpha(z) = \arg\max_{p \in \Delta} \; p^\top z + H_\alpha(p),
    \qquad H_\alpha(p) = \frac{1}{\alpha(\alpha - 1)} \sum_j (p_j - p_j^\alpha)

``alpha -> 1`` is softmax (Shannon entropy), ``alpha = 2`` is sparsemax (the Euclidean
projection of ``z`` onto the probability simplex) and ``alpha = 1.5`` sits in between: sparse,
but smoother than sparsemax. Every solution has the form

.. math::

    p_j = \big[(\alpha - 1) z_j - \tau\big]_+^{1 / (\alpha - 1)}

with the threshold ``tau`` chosen so that ``p`` sums to 1. :func:`sparsemax` and
:func:`entmax15` find ``tau`` exactly by sorting; :func:`entmax_bisect` finds it by bisection
for any ``alpha > 1``. All three take NumPy arrays or PyTorch tensors and return the same kind;
in torch the backward pass is the closed form of Peters et al. (2019),

.. math::

    \frac{\partial \ell}{\partial z} = s \odot g - \frac{s^\top g}{\mathbf 1^\top s}\, s,
    \qquad s_j = p_j^{\,2 - \alpha} \text{ on the support, } 0 \text{ off it},

for an upstream gradient ``g``; for sparsemax ``s`` is the indicator of the support.

``-inf`` logits are masked classes (probability 0); NaN and ``+inf`` raise ``ValueError``.

Compared with the ``entmax`` package (Peters, Niculae and Martins), which the tests use as the
reference (tests/test_parity_entmax.py), these differ on purpose: a row that is entirely
``-inf`` gives a NaN row, as softmax does, where entmax fails with an index error; NaN and
``+inf`` are refused, since neither has a meaningful projection; ``alpha`` is one number above
1 (entmax also takes ``alpha <= 1`` and a per-row or learnable tensor; ``alpha -> 1`` is
softmax, which :func:`softmax_bottleneck.softmax` computes exactly); NumPy arrays are accepted
as well as tensors; and half precision is computed in float32 and rounded once.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import as_float_array, check_class_axis
from .softmax import _cast_back, _compute_dtype, _xp

if TYPE_CHECKING:
    import torch

__all__ = ["entmax15", "entmax_bisect", "sparsemax"]


# ---------------------------------------------------------------------------------------------
# Plumbing: validate, move the class axis last, compute, move it back.


def _prepare(x: Any, axis: Any) -> tuple[Any, int, Any]:
    z = as_float_array(x, "x")
    ax = check_class_axis(z, axis, "x")
    xp = _xp(z)
    if bool((xp.isnan(z) | xp.isposinf(z)).any()):
        raise ValueError("Expected `x` to hold no NaN or +inf (use -inf to mask a class)")
    z, dtype = _compute_dtype(z)
    return z, ax, dtype


def _to_last(z: Any, ax: int) -> Any:
    if ax == z.ndim - 1:
        return z
    return np.moveaxis(z, ax, -1) if _xp(z) is np else z.movedim(ax, -1)


def _from_last(z: Any, ax: int) -> Any:
    if ax == z.ndim - 1:
        return z
    return np.moveaxis(z, -1, ax) if _xp(z) is np else z.movedim(-1, ax)


def _shift(z: Any) -> Any:
    """``z - max z`` on the last axis (every map here is shift invariant); -inf rows stay."""
    xp = _xp(z)
    if xp is np:
        m = np.max(z, axis=-1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        return z - m
    m = z.amax(dim=-1, keepdim=True)
    return z - xp.where(xp.isfinite(m), m, xp.zeros_like(m))


def _sort_desc(z: Any) -> Any:
    if _xp(z) is np:
        return -np.sort(-z, axis=-1)
    return z.sort(dim=-1, descending=True).values


def _arange_like(z: Any) -> Any:
    k = z.shape[-1]
    if _xp(z) is np:
        return np.arange(1, k + 1, dtype=z.dtype)
    import torch

    return torch.arange(1, k + 1, dtype=z.dtype, device=z.device)


def _take(v: Any, idx: Any) -> Any:
    """``v[..., idx]`` for an index array shaped ``v.shape[:-1] + (1,)``."""
    if _xp(v) is np:
        return np.take_along_axis(v, idx, axis=-1)
    return v.gather(-1, idx)


# ---------------------------------------------------------------------------------------------
# Forward maths on the last axis (arguments checked).


def _sparsemax_forward(z: Any) -> Any:
    """Sort-based sparsemax (Martins & Astudillo 2016, Algorithm 1)."""
    xp = _xp(z)
    z = _shift(z)
    zs = _sort_desc(z)  # z_(1) >= z_(2) >= ...
    k = _arange_like(z)
    cumsum = np.cumsum(zs, axis=-1) if xp is np else zs.cumsum(-1)
    # Class k is in the support iff 1 + k z_(k) > sum_{j <= k} z_(j); the support is a prefix.
    in_support = 1 + k * zs > cumsum
    size = in_support.sum(-1, keepdims=True) if xp is np else in_support.sum(-1, keepdim=True)
    # A row with a finite entry has size >= 1 (the top entry is always in the support); an
    # all -inf row has size 0: index 0 instead, and its -inf - -inf gives the NaN row, as
    # softmax does (gather refuses the index -1 that NumPy would wrap around).
    size = np.maximum(size, 1) if xp is np else size.clamp_min(1)
    idx = size - 1
    tau = (_take(cumsum, idx) - 1) / (size.astype(z.dtype) if xp is np else size.to(z.dtype))
    return xp.clip(z - tau, 0, None) if xp is np else (z - tau).clamp_min(0)


def _entmax15_forward(z: Any) -> Any:
    """Sort-based exact 1.5-entmax (Peters et al. 2019, Algorithm 2)."""
    xp = _xp(z)
    x = _shift(z) / 2  # (alpha - 1) z with alpha = 1.5
    xs = _sort_desc(x)
    rho = _arange_like(x)
    if xp is np:
        with np.errstate(invalid="ignore"):  # masked (-inf) entries give NaN: never chosen
            mean = np.cumsum(xs, axis=-1) / rho
            mean_sq = np.cumsum(xs**2, axis=-1) / rho
            ss = rho * (mean_sq - mean**2)
            delta = np.clip((1 - ss) / rho, 0, None)
            tau = mean - np.sqrt(delta)  # the threshold if the support had rho elements
            size = np.maximum(np.sum(tau <= xs, axis=-1, keepdims=True), 1)
        tau_star = np.take_along_axis(tau, size - 1, axis=-1)
        return np.clip(x - tau_star, 0, None) ** 2
    mean = xs.cumsum(-1) / rho
    mean_sq = (xs**2).cumsum(-1) / rho
    ss = rho * (mean_sq - mean**2)
    delta = ((1 - ss) / rho).clamp_min(0)
    tau = mean - delta.sqrt()
    size = (tau <= xs).sum(-1, keepdim=True).clamp_min(1)  # 0 only for an all -inf row
    tau_star = tau.gather(-1, size - 1)
    return (x - tau_star).clamp_min(0) ** 2


def _bisect_forward(z: Any, alpha: float, n_iter: int) -> Any:
    """Bisection on tau for p = [(alpha - 1) z - tau]_+^(1 / (alpha - 1)), then renormalise."""
    xp = _xp(z)
    x = _shift(z) * (alpha - 1)
    k = x.shape[-1]
    power = 1.0 / (alpha - 1)
    # The sum is >= 1 at tau = max - 1 and <= 1 at tau = max - K**(1 - alpha).
    if xp is np:
        hi_x = np.max(x, axis=-1, keepdims=True)
    else:
        hi_x = x.amax(dim=-1, keepdim=True)
    lo = hi_x - 1
    width = 1 - k ** (1 - alpha)

    def mass(tau: Any) -> Any:
        d = x - tau
        p = (np.clip(d, 0, None) if xp is np else d.clamp_min(0)) ** power
        return p, (p.sum(-1, keepdims=True) if xp is np else p.sum(-1, keepdim=True))

    for _ in range(n_iter):
        width = width / 2
        mid = lo + width
        _, s = mass(mid)
        lo = xp.where(s >= 1, mid, lo)
    p, s = mass(lo + width / 2)
    return p / s


# ---------------------------------------------------------------------------------------------
# Torch autograd: closed-form backward.


def _entmax_backward(p: Any, grad: Any, alpha: float) -> Any:
    """``s * g - (s . g / sum s) s`` with ``s = p**(2 - alpha)`` on the support (last axis)."""
    import torch

    if alpha == 2.0:
        s = (p > 0).to(p.dtype)
    else:
        s = torch.where(p > 0, p ** (2 - alpha), torch.zeros_like(p))
    sg = s * grad
    q = sg.sum(-1, keepdim=True) / s.sum(-1, keepdim=True)
    return sg - q * s


def _torch_map(z: Any, alpha: float, forward: Any) -> Any:
    import torch

    class _Map(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            p = forward(x)
            ctx.save_for_backward(p)
            return p

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            (p,) = ctx.saved_tensors
            return _entmax_backward(p, grad, alpha)

    return _Map.apply(z)


def _apply(x: Any, axis: Any, alpha: float, forward: Any) -> Any:
    z, ax, dtype = _prepare(x, axis)
    z = _to_last(z, ax)
    p = forward(z) if _xp(z) is np else _torch_map(z, alpha, forward)
    return _cast_back(_from_last(p, ax), dtype)


# ---------------------------------------------------------------------------------------------
# Public functions.


@overload
def sparsemax(x: torch.Tensor, /, *, axis: int = -1) -> torch.Tensor: ...
@overload
def sparsemax(x: ArrayLike, /, *, axis: int = -1) -> NDArray[np.floating]: ...
def sparsemax(
    x: ArrayLike | torch.Tensor, /, *, axis: int = -1
) -> NDArray[np.floating] | torch.Tensor:
    r"""Sparsemax: the Euclidean projection of the logits onto the probability simplex.

    .. math::

        \operatorname{sparsemax}(z) = \arg\min_{p \in \Delta} \lVert p - z \rVert^2
        = [z - \tau]_+, \qquad \sum_j [z_j - \tau]_+ = 1

    Logits more than ``tau`` below the threshold get probability exactly 0.

    Parameters
    ----------
    x : array_like or torch.Tensor
        Logits, at least 1-d. ``-inf`` masks a class.
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray or torch.Tensor
        Probabilities (non-negative, summing to 1 along `axis`, often with zeros), same shape,
        kind and floating dtype as `x`. In torch the gradient is the closed form
        ``s * (g - mean_S g)`` on the support ``S``.

    Raises
    ------
    TypeError
        If `x` is not real-valued or `axis` is not an integer.
    ValueError
        If `x` is 0-d, the class axis is empty or out of range, or `x` holds NaN or ``+inf``.

    See Also
    --------
    entmax15 : a smoother sparse map.
    softmax_bottleneck.softmax : never sparse.

    Notes
    -----
    Sort the logits in decreasing order ``z_(1) >= z_(2) >= ...``; the support size is the
    largest ``k`` with ``1 + k z_(k) > sum_{j<=k} z_(j)``, and ``tau = (sum_{j<=k} z_(j) - 1)
    / k``. Cost ``O(K log K)`` for the sort. Like softmax it is shift invariant; scaling the
    logits up makes softmax more peaked but never sparse, while the support of sparsemax can
    only shrink (the support condition reads ``sum_{j<=k} (z_(j) - z_(k)) < 1``).
    Book: chapter 7.

    References
    ----------
    A. F. T. Martins and R. F. Astudillo, "From Softmax to Sparsemax: A Sparse Model of
    Attention and Multi-Label Classification", ICML 2016.

    Examples
    --------
    >>> from softmax_bottleneck.sparse import sparsemax
    >>> sparsemax([2.0, 1.0, 0.1])          # softmax gives [0.659, 0.242, 0.099]
    array([1., 0., 0.])
    >>> sparsemax([0.9, 0.5, 0.1]).round(4)
    array([0.7, 0.3, 0. ])
    """
    return _apply(x, axis, 2.0, _sparsemax_forward)


@overload
def entmax15(x: torch.Tensor, /, *, axis: int = -1) -> torch.Tensor: ...
@overload
def entmax15(x: ArrayLike, /, *, axis: int = -1) -> NDArray[np.floating]: ...
def entmax15(
    x: ArrayLike | torch.Tensor, /, *, axis: int = -1
) -> NDArray[np.floating] | torch.Tensor:
    r"""1.5-entmax: a sparse map between softmax and sparsemax, computed exactly by sorting.

    .. math::

        \operatorname{entmax}_{1.5}(z)_j = \big[z_j / 2 - \tau\big]_+^2,
        \qquad \sum_j \big[z_j / 2 - \tau\big]_+^2 = 1

    Parameters
    ----------
    x : array_like or torch.Tensor
        Logits, at least 1-d. ``-inf`` masks a class.
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray or torch.Tensor
        Probabilities, same shape, kind and floating dtype as `x`; zeros outside the support.
        In torch the gradient is the closed form with ``s = sqrt(p)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`sparsemax`.

    See Also
    --------
    entmax_bisect : any ``alpha > 1``, by bisection.

    Notes
    -----
    For a support of the ``k`` largest values of ``x = z / 2``, ``tau`` solves the quadratic
    ``sum_{j<=k} (x_(j) - tau)^2 = 1``: ``tau_k = mean_k - sqrt((1 - ss_k) / k)`` with ``ss_k``
    the sum of squared deviations from the mean. The support is the largest ``k`` with
    ``tau_k <= x_(k)``. Book: chapter 7.

    References
    ----------
    B. Peters, V. Niculae and A. F. T. Martins, "Sparse Sequence-to-Sequence Models",
    ACL 2019.

    Examples
    --------
    >>> from softmax_bottleneck.sparse import entmax15
    >>> entmax15([2.0, 1.0, 0.1]).round(4)
    array([0.8307, 0.1693, 0.    ])
    >>> entmax15([0.0, 0.0]).round(4)
    array([0.5, 0.5])
    """
    return _apply(x, axis, 1.5, _entmax15_forward)


@overload
def entmax_bisect(
    x: torch.Tensor, /, *, alpha: float = 1.5, axis: int = -1, n_iter: int = 50
) -> torch.Tensor: ...
@overload
def entmax_bisect(
    x: ArrayLike, /, *, alpha: float = 1.5, axis: int = -1, n_iter: int = 50
) -> NDArray[np.floating]: ...
def entmax_bisect(
    x: ArrayLike | torch.Tensor, /, *, alpha: float = 1.5, axis: int = -1, n_iter: int = 50
) -> NDArray[np.floating] | torch.Tensor:
    r"""alpha-entmax for any ``alpha > 1``, with the threshold found by bisection.

    .. math::

        \operatorname{entmax}_\alpha(z)_j = \big[(\alpha - 1) z_j - \tau\big]_+^{1/(\alpha - 1)}

    ``alpha = 2`` is :func:`sparsemax`, ``alpha = 1.5`` is :func:`entmax15`, and ``alpha -> 1``
    tends to softmax (its support grows to all classes as ``alpha`` decreases).

    Parameters
    ----------
    x : array_like or torch.Tensor
        Logits, at least 1-d. ``-inf`` masks a class.
    alpha : float, default 1.5
        Finite ``alpha > 1``.
    axis : int, default -1
        The class axis.
    n_iter : int, default 50
        Bisection steps (positive integer); each halves the bracket on ``tau``, which starts
        with width below 1. The result is renormalised to sum to 1.

    Returns
    -------
    ndarray or torch.Tensor
        Probabilities, same shape, kind and floating dtype as `x`; torch gets the closed-form
        backward for this ``alpha``.

    Raises
    ------
    TypeError
        As :func:`sparsemax`, or if `alpha` is not a number or `n_iter` not an integer.
    ValueError
        As :func:`sparsemax`, or if `alpha` is not finite and above 1 or `n_iter` < 1.

    Notes
    -----
    With ``m = max_j (alpha - 1) z_j``, the total mass is at least 1 at ``tau = m - 1`` and
    at most 1 at ``tau = m - K**(1 - alpha)``, so ``tau`` lies in a bracket of width below 1 and
    50 halvings pin it to about ``1e-15``. Book: chapter 7.

    References
    ----------
    B. Peters, V. Niculae and A. F. T. Martins, "Sparse Sequence-to-Sequence Models",
    ACL 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_bottleneck.sparse import entmax15, entmax_bisect, sparsemax
    >>> z = np.array([2.0, 1.0, 0.1])
    >>> bool(np.allclose(entmax_bisect(z, alpha=1.5), entmax15(z)))
    True
    >>> [int((entmax_bisect(z, alpha=a) > 0).sum()) for a in (1.1, 1.5, 2.0)]   # support
    [3, 2, 1]
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"Expected `alpha` to be a finite number above 1, got {alpha!r}")
    a = float(alpha)
    if not (np.isfinite(a) and a > 1):
        raise ValueError(f"Expected `alpha` to be a finite number above 1, got {alpha!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral):
        raise TypeError(f"Expected `n_iter` to be a positive integer, got {n_iter!r}")
    if n_iter < 1:
        raise ValueError(f"Expected `n_iter` to be a positive integer, got {n_iter}")
    return _apply(x, axis, a, lambda z: _bisect_forward(z, a, int(n_iter)))
