r"""Temperature scaling: one number that recalibrates a classifier (Book: chapter 7).

A network trained to low cross-entropy is often *overconfident*: among the test examples it
labels with 95% confidence, fewer than 95% are right. Temperature scaling divides every logit
by one scalar ``T > 0`` fitted on held-out data,

.. math::

    \hat T = \arg\min_{T > 0} \; -\frac1N \sum_{n=1}^{N}
    \log \operatorname{softmax}(z_n / T)_{y_n}

which leaves every prediction (the arg-max) unchanged and only adjusts the confidence:
``T > 1`` softens an overconfident model, ``T < 1`` sharpens an underconfident one. Measure
the effect with :mod:`softmax_bottleneck.calibration` (ECE, reliability curves).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_float64_numpy, check_positive_number, is_torch_tensor

__all__ = ["fit_temperature", "temperature_nll"]


def _check(logits: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return float64 logits (N, K) and integer targets (N,), or raise."""
    if is_torch_tensor(target):
        target = target.detach().cpu().numpy()
    z, _ = as_float64_numpy(logits, "logits")  # any float dtype, bfloat16 tensors included
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] < 2:
        raise ValueError(
            f"Expected `logits` to have shape (N, K) with N >= 1 and K >= 2, got {z.shape}"
        )
    if not np.all(np.isfinite(z)):
        raise ValueError("Expected `logits` to hold finite numbers only")
    y = np.asarray(target)
    if y.dtype.kind not in "iu":
        raise TypeError(f"Expected `target` to hold integer class indices, got dtype {y.dtype}")
    if y.shape != (z.shape[0],):
        raise ValueError(f"Expected `target` to have shape ({z.shape[0]},), got {y.shape}")
    if y.min() < 0 or y.max() >= z.shape[1]:
        raise ValueError(
            f"Expected `target` class indices in [0, {z.shape[1] - 1}], got values in "
            f"[{y.min()}, {y.max()}]"
        )
    return z, y.astype(np.intp)


def _nll(z: np.ndarray, y: np.ndarray, t: float) -> float:
    s = z / t
    m = s.max(axis=1)
    lse = m + np.log(np.exp(s - m[:, None]).sum(axis=1))
    return float(np.mean(lse - s[np.arange(len(y)), y]))


def temperature_nll(logits: ArrayLike, target: ArrayLike, /, *, temperature: float) -> float:
    """Mean negative log-likelihood of `target` under ``softmax(logits / temperature)``.

    Parameters
    ----------
    logits : array_like or torch.Tensor
        Shape (N, K), finite; any floating dtype (float16 and bfloat16 included), read into
        float64.
    target : array_like or torch.Tensor
        Integer class indices, shape (N,).
    temperature : float
        Positive finite ``T``.

    Returns
    -------
    float
        The NLL in nats per example.

    Raises
    ------
    TypeError, ValueError
        As :func:`fit_temperature`, and for a non-positive `temperature`.

    Examples
    --------
    >>> round(temperature_nll([[2.0, 1.0, 0.1]], [0], temperature=1.0), 4)   # -log 0.659
    0.417
    """
    z, y = _check(logits, target)
    return _nll(z, y, check_positive_number(temperature, "temperature"))


def fit_temperature(
    logits: ArrayLike, target: ArrayLike, /, *, bounds: tuple[float, float] = (1e-2, 1e2)
) -> float:
    r"""Fit the temperature that minimises held-out negative log-likelihood.

    Parameters
    ----------
    logits : array_like or torch.Tensor
        Logits of a *held-out* (validation) split, shape (N, K), finite, of any floating
        dtype (float16 and bfloat16 included; the fit runs in float64). Fitting on the
        training split learns nothing: the model is already overconfident there.
    target : array_like or torch.Tensor
        Integer class indices, shape (N,).
    bounds : (float, float), default (0.01, 100)
        Search interval for ``T``, ``0 < low < high``.

    Returns
    -------
    float
        The fitted temperature ``T``; use it as ``softmax(logits, temperature=T)``.

    Raises
    ------
    TypeError
        If `target` is not integer or `logits` not real-valued.
    ValueError
        If shapes do not match, an index is out of range, `logits` holds NaN or infinities,
        or `bounds` is not ``0 < low < high`` (finite).

    Warns
    -----
    RuntimeWarning
        If the minimum lies at an end of `bounds` (e.g. perfectly separated data, whose NLL
        keeps falling as ``T -> 0``).

    Notes
    -----
    The NLL is a convex function of ``beta = 1 / T`` (cross-entropy is convex in the logits,
    which are linear in ``beta``), so it has one minimum; it is found by bounded Brent search
    over ``log T``, which keeps ``T`` positive. Book: chapter 7.

    References
    ----------
    C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On Calibration of Modern Neural
    Networks", ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(5000, 4)) * 2                      # calibrated logits
    >>> p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    >>> y = (p.cumsum(1) > rng.random((5000, 1))).argmax(1)     # labels drawn from p
    >>> T = fit_temperature(3.0 * z, y)                          # an overconfident model
    >>> bool(abs(T - 3.0) < 0.2)
    True
    """
    import scipy.optimize

    z, y = _check(logits, target)
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError) as err:
        raise TypeError(f"Expected `bounds` to be two numbers (low, high), got {bounds!r}") from err
    if not (np.isfinite(low) and np.isfinite(high) and 0 < low < high):
        raise ValueError(f"Expected `bounds` to satisfy 0 < low < high (finite), got {bounds!r}")
    lo, hi = np.log(low), np.log(high)
    res = scipy.optimize.minimize_scalar(
        lambda log_t: _nll(z, y, float(np.exp(log_t))),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-7},
    )
    t = float(np.exp(res.x))
    # Brent's search stops anywhere on a numerically flat stretch (separable data has NLL
    # ~ exp(-margin / T), flat near T = 0): compare with the ends of the interval explicitly.
    best = _nll(z, y, t)
    for end in (low, high):
        value = _nll(z, y, end)
        if value <= best:
            t, best = end, value
    if t in (low, high):
        warnings.warn(
            f"The fitted temperature {t:.4g} lies at an end of `bounds` {bounds!r}; the NLL may "
            "keep decreasing beyond it (perfectly separated data, or logits that do not vary?)",
            RuntimeWarning,
            stacklevel=2,
        )
    return t
