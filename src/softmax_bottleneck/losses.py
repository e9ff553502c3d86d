"""Losses for imbalanced classes: focal, class-balanced and logit-adjusted (Book: chapter 7).

Each loss is cross-entropy with one change, and each reduces to plain cross-entropy when its
knob is turned off:

* :func:`focal_loss` scales the loss of each example by ``(1 - p_y)**gamma`` (``gamma=0``:
  cross-entropy), so easy, well-classified examples count less (Lin et al. 2017).
* :func:`class_balanced_weights` turns class counts into per-class weights ``(1 - beta) /
  (1 - beta**n)`` from the *effective number* of samples (``beta=0``: uniform weights,
  ``beta -> 1``: inverse frequency; Cui et al. 2019). Pass them as ``weight=``.
* :func:`logit_adjusted_loss` adds ``tau * log(prior)`` to the logits inside the loss
  (``tau=0``: cross-entropy), and :func:`adjust_logits` subtracts it after training instead:
  the two forms of logit adjustment of Menon et al. (2021).
* :func:`balanced_softmax_loss` is the Balanced Softmax of Ren et al. (2020): cross-entropy of
  ``logits + log(class_counts)``, which is exactly :func:`logit_adjusted_loss` with ``tau=1``.
* :func:`ldam_loss` asks the true class to win by a margin that grows as the class gets rarer
  (``max_margin=0``: cross-entropy; Cao et al. 2019).

The losses take class indices, accept NumPy arrays and PyTorch tensors and return the same
kind (torch keeps autograd). ``weight=`` and ``label_smoothing=`` mean exactly what they mean
in :func:`torch.nn.functional.cross_entropy`, including its weighted mean for
``reduction="mean"``: the sum of the per-example losses divided by the sum of the weights of
their target classes.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._typing import Array, FloatArray, TensorLike
from ._validation import REDUCTIONS, as_float_array, check_choice, check_class_axis, is_torch_tensor
from .softmax import _as_target, _cast_back, _compute_dtype, _is_integer, _log_softmax, _size, _xp

__all__ = [
    "adjust_logits",
    "balanced_softmax_loss",
    "class_balanced_weights",
    "focal_loss",
    "ldam_loss",
    "logit_adjusted_loss",
]


# ---------------------------------------------------------------------------------------------
# Argument checks.


def _check_real(value: Any, name: str, *, low: float, high: float, what: str) -> float:
    """Return `value` as a float in ``[low, high]`` (finite), or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Expected `{name}` to be {what}, got {value!r}")
    value = float(value)
    if not (np.isfinite(value) and low <= value <= high):
        raise ValueError(f"Expected `{name}` to be {what}, got {value!r}")
    return value


def _class_vector(values: Any, name: str, n_classes: int | None, *, positive: bool) -> np.ndarray:
    """Check a per-class vector (weights, counts or a prior) and return it as float64 NumPy."""
    if is_torch_tensor(values):
        values = values.detach().cpu().numpy()
    v = as_float_array(values, name)
    v = np.asarray(v, dtype=np.float64)
    what = "positive" if positive else "non-negative"
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"Expected `{name}` to be a non-empty 1-d array, got shape {v.shape}")
    if n_classes is not None and v.size != n_classes:
        raise ValueError(
            f"Expected `{name}` to have one entry per class ({n_classes}), got {v.size}"
        )
    if not np.all(np.isfinite(v)) or not np.all(v > 0 if positive else v >= 0):
        raise ValueError(f"Expected `{name}` to hold {what} finite numbers, got {v}")
    return v


def _like(v: np.ndarray, z: Any) -> Any:
    """`v` (float64 NumPy) as the array kind, dtype and device of `z`."""
    if is_torch_tensor(z):
        import torch

        return torch.as_tensor(v, dtype=z.dtype, device=z.device)
    return v.astype(z.dtype)


def _prepare_logits(logits: Any, axis: Any) -> tuple[Any, int, Any]:
    """Validate logits; return them in compute dtype with the class axis last, and the dtype."""
    z = as_float_array(logits, "logits")
    ax = check_class_axis(z, axis, "logits")
    z, dtype = _compute_dtype(z)
    if ax != z.ndim - 1:
        z = np.moveaxis(z, ax, -1) if _xp(z) is np else z.movedim(ax, -1)
    return z, ax, dtype


def _prepare_target(target: Any, z: Any) -> Any:
    """Check integer class indices of shape ``z.shape[:-1]`` in ``[0, K)``."""
    t = _as_target(target, like=z)
    if not _is_integer(t):
        raise TypeError(f"Expected `target` to hold integer class indices, got dtype {t.dtype}")
    batch_shape = tuple(z.shape[:-1])
    if tuple(t.shape) != batch_shape:
        raise ValueError(
            f"Expected `target` to have shape {batch_shape} (the shape of `logits` without the "
            f"class axis), got {tuple(t.shape)}"
        )
    k = z.shape[-1]
    if _size(t):
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi >= k:
            raise ValueError(
                f"Expected `target` class indices in [0, {k - 1}], got values in [{lo}, {hi}]"
            )
    return t.astype(np.intp) if _xp(t) is np else t.long()


# ---------------------------------------------------------------------------------------------
# The maths: one weighted, focal, label-smoothed cross-entropy on the last axis.


def _gather(x: Any, t: Any) -> Any:
    if _xp(x) is np:
        return np.take_along_axis(x, t[..., None], axis=-1)[..., 0]
    return x.gather(-1, t.unsqueeze(-1)).squeeze(-1)


def _loss(
    z: Any, t: Any, weight: Any, gamma: float, label_smoothing: float, reduction: str
) -> Any:
    r"""Per-class terms ``-w_k (1 - p_k)^gamma log p_k``, mixed by the smoothed target.

    ``loss_i = (1 - eps) term_{i, y_i} + (eps / K) sum_k term_{ik}``; "mean" divides the sum by
    ``sum_i w_{y_i}`` as torch does.
    """
    xp = _xp(z)
    k = z.shape[-1]
    if xp is np:
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = _log_softmax(z, -1)  # (..., K)
    else:
        logp = _log_softmax(z, -1)  # (..., K)
    terms = -logp
    if gamma != 0.0:
        # 1 - p computed as -expm1(log p): exact for small p, where 1 - exp(log p) is not.
        # The floor keeps the gradient of x**gamma finite at p = 1 when gamma < 1.
        one_minus_p = -xp.expm1(logp)
        if xp is np:
            one_minus_p = np.maximum(one_minus_p, np.finfo(z.dtype).tiny)
        else:
            one_minus_p = one_minus_p.clamp_min(xp.finfo(z.dtype).tiny)
        terms = terms * one_minus_p**gamma
    if weight is not None:
        terms = terms * weight
    losses = _gather(terms, t)  # (...)
    if label_smoothing > 0.0:
        smooth = terms.sum(-1) if xp is not np else terms.sum(axis=-1)
        losses = (1.0 - label_smoothing) * losses + (label_smoothing / k) * smooth
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if _size(losses) == 0:
        raise ValueError("Expected at least one example for reduction='mean', got none")
    if weight is None:
        return losses.mean()
    denom = _gather(xp.broadcast_to(weight, z.shape) if xp is np else weight.expand(z.shape), t)
    total = denom.sum()
    if float(total) == 0.0:
        raise ValueError(
            "Expected the target classes to have a positive total `weight` for "
            "reduction='mean', got 0"
        )
    return losses.sum() / total


def _finish(out: Any, z: Any, dtype: Any) -> Any:
    if _xp(z) is np:
        return np.asarray(out, dtype=dtype)
    return _cast_back(out, dtype)


# ---------------------------------------------------------------------------------------------
# Public functions.


def focal_loss(
    logits: TensorLike,
    target: TensorLike,
    /,
    *,
    gamma: float = 2.0,
    weight: TensorLike | None = None,
    label_smoothing: float = 0.0,
    axis: int = -1,
    reduction: str = "mean",
) -> Array:
    r"""Focal loss: cross-entropy that down-weights the examples the model already gets right.

    .. math::

        \ell(z, y) = -w_y\,(1 - p_y)^{\gamma} \log p_y, \qquad p = \operatorname{softmax}(z)

    With ``gamma = 0`` this is (weighted) cross-entropy. With ``gamma = 2`` an example
    classified with ``p_y = 0.9`` contributes 100 times less than under cross-entropy, so the
    many easy examples of a frequent class no longer swamp the few hard ones.

    Parameters
    ----------
    logits : array_like or torch.Tensor
        Raw scores, at least 1-d, classes along `axis`.
    target : array_like or torch.Tensor
        Integer class indices in ``[0, K)``, with the shape of `logits` minus the class axis.
    gamma : float, default 2.0
        Focusing parameter ``gamma >= 0`` (Lin et al. use 2).
    weight : array_like or torch.Tensor, optional
        Per-class weights ``w`` (length ``K``, non-negative): the ``alpha`` of the paper's
        alpha-balanced form, or :func:`class_balanced_weights`. ``None`` means all ones.
    label_smoothing : float, default 0.0
        ``eps`` in ``[0, 1]``: the target becomes ``(1 - eps) onehot(y) + eps / K`` and every
        class term gets its own focal factor ``(1 - p_k)**gamma``, as in
        :func:`torch.nn.functional.cross_entropy` when ``gamma = 0``.
    axis : int, default -1
        The class axis of `logits`.
    reduction : {"mean", "sum", "none"}, default "mean"
        "mean" is the weighted mean ``sum_i loss_i / sum_i w_{y_i}`` (the plain mean without
        `weight`), as in torch.

    Returns
    -------
    ndarray or torch.Tensor
        A 0-d loss for "mean" and "sum", per-example losses for "none". Same kind and floating
        dtype as `logits`; torch keeps autograd.

    Raises
    ------
    TypeError
        If `target` is not integer, or a number argument is not a number.
    ValueError
        If shapes do not match, an index is out of range, `gamma` is negative, `weight` is not
        ``K`` non-negative finite numbers, `label_smoothing` is outside ``[0, 1]``,
        `reduction` is unknown, or "mean" is asked of zero examples (or zero total weight).

    See Also
    --------
    class_balanced_weights : per-class weights from class counts.
    logit_adjusted_loss : another fix for imbalance, acting on the logits.

    Notes
    -----
    ``1 - p_y`` is computed as ``-expm1(log p_y)`` from the log-softmax, which keeps it
    accurate when ``p_y`` is tiny or close to 1. Lin et al. (2017) introduced the loss for
    dense object detection, where easy background locations vastly outnumber objects, and
    used a sigmoid per class; this is the softmax form. Book: chapter 7.

    References
    ----------
    T.-Y. Lin, P. Goyal, R. Girshick, K. He and P. Dollár, "Focal Loss for Dense Object
    Detection", ICCV 2017.

    Examples
    --------
    >>> import softmax_bottleneck as sb
    >>> from softmax_bottleneck.losses import focal_loss
    >>> z, y = [[2.0, 1.0, 0.1]], [0]
    >>> float(focal_loss(z, y, gamma=0.0)) == float(sb.cross_entropy(z, y))
    True
    >>> round(float(focal_loss(z, y, gamma=2.0)), 4)      # (1 - 0.659)**2 * 0.417
    0.0485
    """
    z, _, dtype = _prepare_logits(logits, axis)
    t = _prepare_target(target, z)
    g = _check_real(gamma, "gamma", low=0.0, high=np.inf, what="a non-negative finite number")
    eps = _check_real(
        label_smoothing, "label_smoothing", low=0.0, high=1.0, what="a number in [0, 1]"
    )
    check_choice(reduction, "reduction", REDUCTIONS)
    w = None
    if weight is not None:
        w = _like(_class_vector(weight, "weight", z.shape[-1], positive=False), z)
    return _finish(_loss(z, t, w, g, eps, reduction), z, dtype)


def class_balanced_weights(class_counts: TensorLike, /, *, beta: float = 0.999) -> FloatArray:
    r"""Per-class weights from the *effective number* of samples of each class.

    .. math::

        E_n = \frac{1 - \beta^{n}}{1 - \beta}, \qquad
        w_k \propto \frac{1}{E_{n_k}} = \frac{1 - \beta}{1 - \beta^{n_k}},
        \qquad \sum_k w_k = K

    The effective number grows like ``n`` for small ``n`` and saturates at ``1 / (1 - beta)``:
    past a point, more samples of a class mostly repeat what is already there. ``beta = 0``
    gives uniform weights and ``beta -> 1`` inverse class frequency.

    Parameters
    ----------
    class_counts : array_like or torch.Tensor
        Number of training samples per class (length ``K``, all positive).
    beta : float, default 0.999
        In ``[0, 1)``; values close to 1 (0.99 to 0.9999) weight rare classes strongly.

    Returns
    -------
    ndarray
        ``K`` float64 weights summing to ``K`` (so the loss keeps its scale), to pass as
        ``weight=`` to :func:`focal_loss`, :func:`logit_adjusted_loss` or
        :func:`torch.nn.functional.cross_entropy` (after ``torch.as_tensor``).

    Raises
    ------
    TypeError
        If `beta` is not a number or `class_counts` is not numeric.
    ValueError
        If `class_counts` is not a non-empty 1-d array of positive finite numbers or `beta`
        is not in ``[0, 1)``.

    Notes
    -----
    ``1 - beta**n`` is computed as ``-expm1(n log beta)``, which stays accurate for ``beta``
    close to 1. Book: chapter 7.

    References
    ----------
    Y. Cui, M. Jia, T.-Y. Lin, Y. Song and S. Belongie, "Class-Balanced Loss Based on
    Effective Number of Samples", CVPR 2019.

    Examples
    --------
    >>> from softmax_bottleneck.losses import class_balanced_weights
    >>> class_balanced_weights([1000, 100, 10], beta=0.0)
    array([1., 1., 1.])
    >>> class_balanced_weights([1000, 100, 10], beta=0.99).round(3)
    array([0.23 , 0.363, 2.407])
    >>> class_balanced_weights([1000, 100, 10], beta=0.99999).round(3)   # near 1 / n
    array([0.027, 0.27 , 2.702])
    """
    n = _class_vector(class_counts, "class_counts", None, positive=True)
    b = _check_real(beta, "beta", low=0.0, high=np.inf, what="a number in [0, 1)")
    if b >= 1.0:
        raise ValueError(f"Expected `beta` to be a number in [0, 1), got {b!r}")
    with np.errstate(divide="ignore"):
        log_beta = np.log(b)  # -inf for beta = 0, and then 1 - beta**n = 1
    inv_effective = (1.0 - b) / -np.expm1(n * log_beta)
    return inv_effective * (n.size / inv_effective.sum())


def _log_prior(class_prior: Any, n_classes: int) -> np.ndarray:
    prior = _class_vector(class_prior, "class_prior", n_classes, positive=True)
    return np.log(prior / prior.sum())


def logit_adjusted_loss(
    logits: TensorLike,
    target: TensorLike,
    class_prior: TensorLike,
    /,
    *,
    tau: float = 1.0,
    weight: TensorLike | None = None,
    label_smoothing: float = 0.0,
    axis: int = -1,
    reduction: str = "mean",
) -> Array:
    r"""Logit-adjusted cross-entropy: cross-entropy of ``logits + tau * log(prior)``.

    .. math::

        \ell(z, y) = -\log \frac{e^{z_y + \tau \log \pi_y}}{\sum_k e^{z_k + \tau \log \pi_k}}

    Adding the log prior during training makes a frequent class pay for its head start: the
    model's own logits ``z`` are pushed to carry the *balanced* evidence, and at test time one
    predicts ``argmax z`` with no adjustment. With ``tau = 0`` this is cross-entropy.

    Parameters
    ----------
    logits : array_like or torch.Tensor
        The model's raw scores, at least 1-d, classes along `axis`.
    target : array_like or torch.Tensor
        Integer class indices, shape of `logits` minus the class axis.
    class_prior : array_like or torch.Tensor
        Training class frequencies ``pi`` (length ``K``, positive); counts are fine, they are
        normalised to sum to 1.
    tau : float, default 1.0
        Finite scale of the adjustment; ``tau = 1`` is the choice that makes ``argmax z``
        Bayes-optimal for the balanced error in Menon et al.'s analysis.
    weight, label_smoothing, axis, reduction
        As in :func:`focal_loss` (and :func:`torch.nn.functional.cross_entropy`).

    Returns
    -------
    ndarray or torch.Tensor
        The loss, same kind and floating dtype as `logits`; torch keeps autograd.

    Raises
    ------
    TypeError, ValueError
        As :func:`focal_loss`; also if `class_prior` is not ``K`` positive finite numbers or
        `tau` is not a finite number.

    See Also
    --------
    adjust_logits : the post-hoc form, applied to a model trained with plain cross-entropy.

    Notes
    -----
    Softmax is shift invariant, so only the *differences* of ``log pi`` matter: normalising
    the prior changes nothing. Book: chapter 7.

    References
    ----------
    A. K. Menon, S. Jayasumana, A. S. Rawat, H. Jain, A. Veit and S. Kumar, "Long-tail
    learning via logit adjustment", ICLR 2021.

    Examples
    --------
    >>> import softmax_bottleneck as sb
    >>> from softmax_bottleneck.losses import logit_adjusted_loss
    >>> z, y = [[2.0, 1.0, 0.1]], [2]
    >>> float(logit_adjusted_loss(z, y, [90, 9, 1], tau=0.0)) == float(sb.cross_entropy(z, y))
    True
    >>> round(float(logit_adjusted_loss(z, y, [90, 9, 1])), 3)     # the rare class pays more
    6.438
    """
    z, _, dtype = _prepare_logits(logits, axis)
    t = _prepare_target(target, z)
    log_prior = _log_prior(class_prior, z.shape[-1])
    a = _check_real(tau, "tau", low=-np.inf, high=np.inf, what="a finite number")
    eps = _check_real(
        label_smoothing, "label_smoothing", low=0.0, high=1.0, what="a number in [0, 1]"
    )
    check_choice(reduction, "reduction", REDUCTIONS)
    w = None
    if weight is not None:
        w = _like(_class_vector(weight, "weight", z.shape[-1], positive=False), z)
    if a != 0.0:
        z = z + _like(a * log_prior, z)
    return _finish(_loss(z, t, w, 0.0, eps, reduction), z, dtype)


def balanced_softmax_loss(
    logits: TensorLike,
    target: TensorLike,
    class_counts: TensorLike,
    /,
    *,
    weight: TensorLike | None = None,
    label_smoothing: float = 0.0,
    axis: int = -1,
    reduction: str = "mean",
) -> Array:
    r"""Balanced Softmax loss: cross-entropy of the softmax re-weighted by the class counts.

    .. math::

        \ell(z, y) = -\log \frac{n_y\, e^{z_y}}{\sum_k n_k\, e^{z_k}}
                   = -\log \frac{e^{z_y + \log n_y}}{\sum_k e^{z_k + \log n_k}}

    Ren et al. derive it from Bayes' rule: if ``softmax(z)`` is to estimate ``p(y | x)``
    under a *balanced* label distribution, then on training data with class counts ``n``
    the model of ``p(y | x)`` is ``n_y e^{z_y} / sum_k n_k e^{z_k}``, and that is what
    the loss fits. At test time one predicts ``argmax z``, with no counts.

    This is the logit-adjusted loss of Menon et al. (2021) with ``tau = 1``
    (:func:`logit_adjusted_loss`): ``log n_k`` and ``log pi_k`` differ by the constant
    ``log sum_j n_j``, which softmax ignores. The two papers appeared on arXiv a week apart
    (July 2020) with different derivations (a generalisation bound for Ren et al., Fisher
    consistency for the balanced error for Menon et al.); the package's tests check that
    the two functions agree, and chapter 7 repeats the check.

    Parameters
    ----------
    logits : array_like or torch.Tensor
        The model's raw scores, at least 1-d, classes along `axis`.
    target : array_like or torch.Tensor
        Integer class indices, shape of `logits` minus the class axis.
    class_counts : array_like or torch.Tensor
        Training examples per class (length ``K``, positive). A prior (counts divided by
        their sum) gives the same loss.
    weight, label_smoothing, axis, reduction
        As in :func:`focal_loss` (and :func:`torch.nn.functional.cross_entropy`).

    Returns
    -------
    ndarray or torch.Tensor
        The loss, same kind and floating dtype as `logits`; torch keeps autograd.

    Raises
    ------
    TypeError, ValueError
        As :func:`logit_adjusted_loss`; `class_counts` must be ``K`` positive finite numbers.

    See Also
    --------
    logit_adjusted_loss : the same loss with a tunable ``tau``.
    adjust_logits : the post-hoc form, for a model trained with plain cross-entropy.

    Notes
    -----
    Ren et al. pair the loss with a meta-learned sampler ("Balanced Meta-Softmax"); this
    function is the loss alone. Book: chapter 7.

    References
    ----------
    J. Ren, C. Yu, S. Sheng, X. Ma, H. Zhao, S. Yi and H. Li, "Balanced Meta-Softmax for
    Long-Tailed Visual Recognition", NeurIPS 2020.

    Examples
    --------
    >>> from softmax_bottleneck.losses import balanced_softmax_loss, logit_adjusted_loss
    >>> z, y, counts = [[2.0, 1.0, 0.1]], [2], [90, 9, 1]
    >>> round(float(balanced_softmax_loss(z, y, counts)), 3)     # the rare class pays more
    6.438
    >>> float(balanced_softmax_loss(z, y, counts)) == float(logit_adjusted_loss(z, y, counts))
    True
    """
    z = as_float_array(logits, "logits")
    ax = check_class_axis(z, axis, "logits")
    counts = _class_vector(class_counts, "class_counts", z.shape[ax], positive=True)
    return logit_adjusted_loss(
        logits, target, counts, tau=1.0, weight=weight,
        label_smoothing=label_smoothing, axis=axis, reduction=reduction,
    )


def adjust_logits(
    logits: TensorLike, class_prior: TensorLike, /, *, tau: float = 1.0, axis: int = -1
) -> Array:
    r"""Post-hoc logit adjustment: subtract ``tau * log(prior)`` from trained logits.

    .. math::

        \hat y = \arg\max_k \; z_k - \tau \log \pi_k

    A model trained with plain cross-entropy on imbalanced data learns roughly
    ``z_k = log p(x | k) + log pi_k + const``; removing the prior term predicts with the
    class-conditional evidence alone, which is what a *balanced* error rewards.

    Parameters
    ----------
    logits : array_like or torch.Tensor
        Raw scores, at least 1-d, classes along `axis`.
    class_prior : array_like or torch.Tensor
        Training class frequencies or counts (length ``K``, positive).
    tau : float, default 1.0
        Finite scale of the adjustment; ``tau = 0`` returns the logits unchanged (tune it on
        a validation split).
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray or torch.Tensor
        Adjusted logits, same shape, kind and floating dtype as `logits` (torch keeps
        autograd).

    Raises
    ------
    TypeError
        If `logits` is not real-valued or `tau` is not a number.
    ValueError
        If the class axis is empty or out of range, `class_prior` is not ``K`` positive finite
        numbers, or `tau` is not finite.

    See Also
    --------
    logit_adjusted_loss : the same adjustment built into training.

    Notes
    -----
    Book: chapter 7.

    References
    ----------
    A. K. Menon et al., "Long-tail learning via logit adjustment", ICLR 2021.

    Examples
    --------
    >>> from softmax_bottleneck.losses import adjust_logits
    >>> z = [[2.0, 1.5, 0.0]]
    >>> adjust_logits(z, [0.9, 0.09, 0.01]).round(2)     # the prediction moves to class 2
    array([[2.11, 3.91, 4.61]])
    """
    z = as_float_array(logits, "logits")
    ax = check_class_axis(z, axis, "logits")
    log_prior = _log_prior(class_prior, z.shape[ax])
    a = _check_real(tau, "tau", low=-np.inf, high=np.inf, what="a finite number")
    z, dtype = _compute_dtype(z)
    shape = [1] * z.ndim
    shape[ax] = z.shape[ax]
    out = z - _like(a * log_prior, z).reshape(shape)
    return _cast_back(out, dtype)


def ldam_loss(
    logits: TensorLike,
    target: TensorLike,
    class_counts: TensorLike,
    /,
    *,
    max_margin: float = 0.5,
    scale: float = 1.0,
    weight: TensorLike | None = None,
    axis: int = -1,
    reduction: str = "mean",
) -> Array:
    r"""Label-distribution-aware margin (LDAM) loss: a larger margin for rarer classes.

    .. math::

        \ell(z, y) = -\log \frac{e^{s (z_y - \Delta_y)}}
                                 {e^{s (z_y - \Delta_y)} + \sum_{k \ne y} e^{s z_k}},
        \qquad \Delta_k = \frac{C}{n_k^{1/4}}

    The true class must beat the others by a margin ``Delta_y`` that grows as its training
    count ``n_y`` shrinks; ``C`` is set so that the rarest class gets `max_margin`. With
    ``max_margin = 0`` and ``scale = 1`` it is cross-entropy. Cao et al. pair it with
    *deferred re-weighting* (DRW): train with ``weight=None`` first, then switch to
    class-balanced weights (:func:`class_balanced_weights`) for the last part of training.

    Parameters
    ----------
    logits : array_like or torch.Tensor
        The model's raw scores, at least 1-d, classes along `axis`.
    target : array_like or torch.Tensor
        Integer class indices, shape of `logits` minus the class axis.
    class_counts : array_like or torch.Tensor
        Training examples per class (length ``K``, positive).
    max_margin : float, default 0.5
        The margin of the rarest class, a finite number >= 0 (0.5 in the authors' code).
    scale : float, default 1.0
        ``s``, a positive finite factor applied after the margin. The authors' code uses
        ``s = 30`` with normalised (cosine) logits in [-1, 1]; for a plain linear layer whose
        logits are already of order 1 to 10, ``s = 1`` is the natural choice.
    weight, axis, reduction
        As in :func:`focal_loss` (and :func:`torch.nn.functional.cross_entropy`).

    Returns
    -------
    ndarray or torch.Tensor
        The loss, same kind and floating dtype as `logits`; torch keeps autograd.

    Raises
    ------
    TypeError, ValueError
        As :func:`focal_loss`; also if `class_counts` is not ``K`` positive finite numbers,
        `max_margin` is negative or not finite, or `scale` is not positive and finite.

    Notes
    -----
    The margin is subtracted from the true class's logit only, so predictions at test time
    use the plain logits. Book: chapter 7.

    References
    ----------
    K. Cao, C. Wei, A. Gaidon, N. Arechiga and T. Ma, "Learning Imbalanced Datasets with
    Label-Distribution-Aware Margin Loss", NeurIPS 2019.

    Examples
    --------
    >>> import softmax_bottleneck as sb
    >>> from softmax_bottleneck.losses import ldam_loss
    >>> z, counts = [[2.0, 1.0, 0.1]], [256, 16, 1]     # margins 0.125, 0.25, 0.5
    >>> float(ldam_loss(z, [0], counts, max_margin=0.0)) == float(sb.cross_entropy(z, [0]))
    True
    >>> [round(float(ldam_loss(z, [y], counts)), 3) for y in range(3)]    # cross-entropy + ...
    [0.461, 1.612, 2.777]
    """
    z, _, dtype = _prepare_logits(logits, axis)
    t = _prepare_target(target, z)
    k = z.shape[-1]
    counts = _class_vector(class_counts, "class_counts", k, positive=True)
    m = _check_real(max_margin, "max_margin", low=0.0, high=np.inf, what="a finite number >= 0")
    s = _check_real(scale, "scale", low=0.0, high=np.inf, what="a positive finite number")
    if s == 0.0:
        raise ValueError(f"Expected `scale` to be a positive finite number, got {scale!r}")
    check_choice(reduction, "reduction", REDUCTIONS)
    w = None
    if weight is not None:
        w = _like(_class_vector(weight, "weight", k, positive=False), z)
    inv = counts ** -0.25
    margins = _like(m * inv / inv.max(), z)  # (K,)
    if _xp(z) is np:
        onehot = (np.arange(k) == t[..., None]).astype(z.dtype)  # (..., K)
    else:
        import torch

        onehot = torch.nn.functional.one_hot(t, k).to(z.dtype)  # (..., K)
    z = s * (z - onehot * margins)
    return _finish(_loss(z, t, w, 0.0, 0.0, reduction), z, dtype)
