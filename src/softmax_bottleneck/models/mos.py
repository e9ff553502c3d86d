r"""The rank bottleneck of a softmax output layer, and two ways around it (Book: chapter 7).

A softmax output layer turns a context vector ``h`` (size ``d``) into log-probabilities
``log softmax(W h + b)`` over ``V`` classes. Stack the contexts of ``N`` inputs as rows of
``H`` (``N x d``): the matrix of log-probabilities is

.. math::

    A = H W^\top + \mathbf 1 b^\top - c\, \mathbf 1^\top, \qquad c_n = \log \sum_v e^{(W h_n + b)_v}

a rank-``d`` matrix plus two rank-one terms, so ``rank A <= d + 2`` (``d + 1`` without a bias),
however large ``N`` and ``V``. If the true conditional distributions of a language need a
higher-rank ``A``, no softmax layer of width ``d`` can represent them: the *softmax
bottleneck* of Yang et al. (2018).

* :class:`SoftmaxOutput` is the plain layer, for comparison.
* :class:`MixtureOfSoftmaxes` mixes ``M`` softmaxes with context-dependent weights; the log of
  a mixture is no longer affine in ``h``, so its ``A`` can have full rank.
* :class:`MixtureOfContexts` mixes the ``M`` component contexts *before* one softmax: the
  baseline of Yang et al. that shows the mixing must happen after the softmax (it is still a
  softmax of one hidden state, so still rank-bounded).
* :func:`log_sigsoftmax` replaces ``exp`` by ``exp(z) sigmoid(z)`` (Kanai et al. 2018), a
  one-line change that is also not log-affine.
* :func:`log_prob_rank` measures the numerical rank of ``A`` (or, with ``rtol``, how many
  singular values exceed a stated fraction of the largest); :func:`effective_rank` gives the
  entropy-based effective rank of Roy & Vetterli (2007) and :func:`log_prob_spectrum` the
  singular values themselves. A matrix can be of full numerical rank through singular values
  of 1e-10 that no perplexity can see: report the spectrum, not the numerical rank alone.
"""

from __future__ import annotations

from typing import overload

import numpy as np
import torch
from torch import nn

from .._typing import Array, ArrayLike, FloatArray, TensorLike
from .._validation import as_float_array, check_class_axis, is_integer, is_real, is_torch_tensor

__all__ = [
    "MixtureOfContexts",
    "MixtureOfSoftmaxes",
    "SoftmaxOutput",
    "effective_rank",
    "log_prob_rank",
    "log_prob_spectrum",
    "log_sigsoftmax",
]


def _check_size(value: object, name: str) -> int:
    if not is_integer(value):
        raise TypeError(f"Expected `{name}` to be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"Expected `{name}` to be a positive integer, got {value}")
    return int(value)


class SoftmaxOutput(nn.Module):
    """The plain softmax output layer: ``log_softmax(W h + b)``.

    Parameters
    ----------
    d_model : int
        Size of the context vector ``h``.
    n_classes : int
        Output vocabulary size ``V``.
    bias : bool, default True
        Learn ``b`` (rank bound ``d + 2``; ``d + 1`` without).

    Notes
    -----
    Returns **log-probabilities**, so that it can be swapped with
    :class:`MixtureOfSoftmaxes`; train with ``F.nll_loss``, not ``F.cross_entropy``.
    Book: chapter 7.

    Examples
    --------
    >>> import torch
    >>> layer = SoftmaxOutput(8, 100)
    >>> logp = layer(torch.randn(3, 8))      # (B, V)
    >>> torch.allclose(logp.exp().sum(-1), torch.ones(3))
    True
    """

    def __init__(self, d_model: int, n_classes: int, *, bias: bool = True) -> None:
        super().__init__()
        self.decoder = nn.Linear(_check_size(d_model, "d_model"),
                                 _check_size(n_classes, "n_classes"), bias=bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.decoder(h), dim=-1)  # (..., V)


class MixtureOfSoftmaxes(nn.Module):
    r"""Mixture of softmaxes (MoS) output layer: a high-rank replacement for softmax.

    .. math::

        p(v \mid h) = \sum_{k=1}^{M} \pi_k(h)\,
        \operatorname{softmax}\big(W \tanh(P_k h + q_k) + b\big)_v,
        \qquad \pi(h) = \operatorname{softmax}(U h)

    The ``M`` components share the output embedding ``W`` (``V x d_latent``); each has its own
    projection ``P_k`` of the context. The forward pass returns ``log p`` computed as a
    log-sum-exp over components, never forming the mixture of tiny probabilities directly.

    Parameters
    ----------
    d_model : int
        Size of the context vector ``h``.
    n_classes : int
        Output vocabulary size ``V``.
    n_components : int, default 4
        Number of softmaxes ``M`` (``M = 1`` is a softmax over ``tanh(P h + q)``, which is
        still rank-bounded).
    d_latent : int, optional
        Size of each component's context (and of the shared embedding); default `d_model`.
    dropout : float, default 0.0
        Dropout on the component contexts (a regulariser; the book's small runs use none).
    bias : bool, default True
        Learn the output bias ``b``.

    Attributes
    ----------
    prior : nn.Linear
        ``U``: context -> mixture logits (no bias, as in the paper).
    latent : nn.Linear
        ``[P_1; ...; P_M]`` and ``q``: context -> ``M`` component contexts.
    decoder : nn.Linear
        The shared ``W`` and ``b``.

    Notes
    -----
    Cost: ``M`` softmaxes over ``V`` per token instead of one. Book: chapter 7.

    References
    ----------
    Z. Yang, Z. Dai, R. Salakhutdinov and W. W. Cohen, "Breaking the Softmax Bottleneck: A
    High-Rank RNN Language Model", ICLR 2018.

    Examples
    --------
    >>> import torch
    >>> mos = MixtureOfSoftmaxes(8, 100, n_components=3)
    >>> logp = mos(torch.randn(2, 5, 8))     # (B, T, V)
    >>> logp.shape, torch.allclose(logp.exp().sum(-1), torch.ones(2, 5))
    (torch.Size([2, 5, 100]), True)
    """

    def __init__(
        self,
        d_model: int,
        n_classes: int,
        n_components: int = 4,
        *,
        d_latent: int | None = None,
        dropout: float = 0.0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        d_model = _check_size(d_model, "d_model")
        n_classes = _check_size(n_classes, "n_classes")
        self.n_components = _check_size(n_components, "n_components")
        self.d_latent = d_model if d_latent is None else _check_size(d_latent, "d_latent")
        if not is_real(dropout):
            raise TypeError(f"Expected `dropout` to be a number in [0, 1), got {dropout!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"Expected `dropout` to be a number in [0, 1), got {dropout!r}")
        self.prior = nn.Linear(d_model, self.n_components, bias=False)
        self.latent = nn.Linear(d_model, self.n_components * self.d_latent)
        self.dropout = nn.Dropout(float(dropout))
        self.decoder = nn.Linear(self.d_latent, n_classes, bias=bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``log p(v | h)``, shape ``h.shape[:-1] + (V,)``."""
        log_prior = torch.log_softmax(self.prior(h), dim=-1)  # (..., M)
        ctx = torch.tanh(self.latent(h))  # (..., M * d_latent)
        ctx = self.dropout(ctx.unflatten(-1, (self.n_components, self.d_latent)))  # (..., M, d)
        log_comp = torch.log_softmax(self.decoder(ctx), dim=-1)  # (..., M, V)
        return torch.logsumexp(log_prior.unsqueeze(-1) + log_comp, dim=-2)  # (..., V)

    def mixture_weights(self, h: torch.Tensor) -> torch.Tensor:
        """The mixture weights ``pi(h)``, shape ``h.shape[:-1] + (M,)``."""
        return torch.softmax(self.prior(h), dim=-1)


class MixtureOfContexts(MixtureOfSoftmaxes):
    r"""Mixture of contexts (MoC): the ``M`` component contexts mixed *before* one softmax.

    .. math::

        p(\cdot \mid h) = \operatorname{softmax}\Big(W \sum_{k=1}^{M} \pi_k(h)
        \tanh(P_k h + q_k) + b\Big), \qquad \pi(h) = \operatorname{softmax}(U h)

    The same parameters as :class:`MixtureOfSoftmaxes` (it subclasses it and only changes
    where the mixing happens), so the two can be compared at equal size. Yang et al. (2018)
    use it as a baseline: the mixed context ``g(h) = sum_k pi_k(h) tanh(P_k h + q_k)`` is just
    another context vector of size ``d_latent``, so the log-probabilities are
    ``log_softmax(W g(h) + b)`` and their matrix has rank at most ``d_latent + 2``, like a
    plain softmax. Mixing *after* the softmax, as MoS does, is what escapes the bound.

    Parameters
    ----------
    d_model, n_classes, n_components, d_latent, dropout, bias
        As :class:`MixtureOfSoftmaxes`.

    Notes
    -----
    Cost: one softmax over ``V`` per token, as a plain softmax. Book: chapter 7.

    References
    ----------
    Z. Yang, Z. Dai, R. Salakhutdinov and W. W. Cohen, "Breaking the Softmax Bottleneck: A
    High-Rank RNN Language Model", ICLR 2018 (section 2.5, "Mixture of contexts: a low-rank baseline").

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> moc = MixtureOfContexts(4, 50, n_components=3).double()
    >>> h = torch.randn(200, 4, dtype=torch.float64)
    >>> logp = moc(h).detach()                                   # (N, V)
    >>> torch.allclose(logp.exp().sum(-1), torch.ones(200, dtype=torch.float64))
    True
    >>> log_prob_rank(logp)                                      # <= d_latent + 2 = 6
    6
    """

    def mixed_context(self, h: torch.Tensor) -> torch.Tensor:
        """The mixed context ``g(h)``, shape ``h.shape[:-1] + (d_latent,)``."""
        pi = self.mixture_weights(h)  # (..., M)
        ctx = torch.tanh(self.latent(h))  # (..., M * d_latent)
        ctx = self.dropout(ctx.unflatten(-1, (self.n_components, self.d_latent)))  # (..., M, d)
        return (pi.unsqueeze(-1) * ctx).sum(dim=-2)  # (..., d_latent)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``log_softmax(W g(h) + b)``, shape ``h.shape[:-1] + (V,)``."""
        return torch.log_softmax(self.decoder(self.mixed_context(h)), dim=-1)  # (..., V)


@overload
def log_sigsoftmax(logits: torch.Tensor, /, *, axis: int = -1) -> torch.Tensor: ...


@overload
def log_sigsoftmax(logits: ArrayLike, /, *, axis: int = -1) -> FloatArray: ...


def log_sigsoftmax(logits: TensorLike, /, *, axis: int = -1) -> Array:
    r"""Log of sigsoftmax: softmax with ``exp(z)`` replaced by ``exp(z) sigmoid(z)``.

    .. math::

        \operatorname{sigsoftmax}(z)_i = \frac{e^{z_i} \sigma(z_i)}{\sum_j e^{z_j} \sigma(z_j)},
        \qquad \log \operatorname{sigsoftmax}(z) = \operatorname{log\_softmax}(z + \log\sigma(z))

    ``z + log sigmoid(z)`` is not affine in ``z``, so the log-probabilities of a linear layer
    followed by sigsoftmax escape the ``d + 2`` rank bound of softmax, at no extra cost.

    Parameters
    ----------
    logits : array_like or torch.Tensor
        Raw scores, at least 1-d.
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray or torch.Tensor
        Log-probabilities, same shape, kind and floating dtype as `logits` (torch keeps
        autograd).

    Raises
    ------
    TypeError
        If `logits` is not real-valued or `axis` is not an integer.
    ValueError
        If `logits` is 0-d or the class axis is empty or out of range.

    Notes
    -----
    ``log sigmoid(z) = -log(1 + exp(-z))`` is computed as ``-logaddexp(0, -z)`` (NumPy) or
    ``logsigmoid`` (torch), both stable for large ``|z|``. Book: chapter 7.

    References
    ----------
    S. Kanai, Y. Fujiwara, Y. Yamanaka and S. Adachi, "Sigsoftmax: Reanalysis of the Softmax
    Bottleneck", NeurIPS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.exp(log_sigsoftmax([2.0, 1.0, 0.0]))   # softmax: [0.6652, 0.2447, 0.09]
    >>> p.round(4), bool(np.isclose(p.sum(), 1.0))
    (array([0.7235, 0.2209, 0.0556]), True)
    """
    from ..softmax import _cast_back, _compute_dtype, _log_softmax

    z = as_float_array(logits, "logits")
    ax = check_class_axis(z, axis, "logits")
    z, dtype = _compute_dtype(z)
    if is_torch_tensor(z):
        s = z + torch.nn.functional.logsigmoid(z)
    else:
        s = z - np.logaddexp(0.0, -z)
    return _cast_back(_log_softmax(s, ax), dtype)


def _check_log_probs(log_probs: TensorLike, center: bool = False) -> FloatArray:
    a = log_probs.detach().cpu().numpy() if is_torch_tensor(log_probs) else log_probs
    a = as_float_array(a, "log_probs")
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"Expected `log_probs` to be a non-empty 2-d array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("Expected `log_probs` to hold finite numbers only")
    if center:  # remove the row and column means: the two rank-one terms 1 b^T and c 1^T
        a = a.astype(np.float64, copy=True)
        a -= a.mean(axis=1, keepdims=True)
        a -= a.mean(axis=0, keepdims=True)
    return a


def log_prob_spectrum(log_probs: TensorLike, /, *, center: bool = False) -> FloatArray:
    r"""Singular values of a matrix of log-probabilities, largest first.

    Parameters
    ----------
    log_probs : array_like or torch.Tensor
        Shape ``(N, V)``: row ``n`` holds ``log p(. | context n)``; finite numbers.
    center : bool, default False
        Doubly centre first (subtract row means, then column means). This removes the two
        rank-one terms ``1 b^T`` and ``c 1^T``, so a softmax layer's centred matrix has rank
        at most ``d``, and the large singular value of the mean level does not dominate.

    Returns
    -------
    ndarray
        The ``min(N, V)`` singular values in float64, in decreasing order.

    Raises
    ------
    TypeError
        If `log_probs` is not real-valued.
    ValueError
        If `log_probs` is not a non-empty 2-d array of finite numbers.

    Notes
    -----
    Plot them on a log scale divided by the largest: :func:`log_prob_rank` with a given
    ``rtol`` counts how many lie above the line ``rtol``. Book: chapter 7.

    Examples
    --------
    >>> s = log_prob_spectrum(np.diag([4.0, 2.0, 1e-9]))
    >>> s / s[0]
    array([1.0e+00, 5.0e-01, 2.5e-10])
    """
    a = _check_log_probs(log_probs, center)
    return np.linalg.svd(a.astype(np.float64, copy=False), compute_uv=False)


def effective_rank(log_probs: TensorLike, /, *, center: bool = False) -> float:
    r"""Entropy-based effective rank of a matrix of log-probabilities (Roy & Vetterli 2007).

    .. math::

        \operatorname{erank}(A) = \exp\Big(-\sum_i p_i \log p_i\Big),
        \qquad p_i = \frac{\sigma_i}{\sum_j \sigma_j}

    the exponential of the Shannon entropy of the normalised singular values ``sigma_i``. It
    lies between 1 and the rank, equals the rank when all non-zero singular values are equal,
    and, unlike the numerical rank, barely moves when singular values of ``1e-6 * s_max``
    are added: it counts the directions that carry a visible share of the matrix.

    Parameters
    ----------
    log_probs : array_like or torch.Tensor
        Shape ``(N, V)``; finite numbers.
    center : bool, default False
        Doubly centre first, as :func:`log_prob_spectrum`.

    Returns
    -------
    float
        The effective rank, in ``[1, min(N, V)]`` (0.0 for the zero matrix).

    Raises
    ------
    TypeError
        If `log_probs` is not real-valued.
    ValueError
        If `log_probs` is not a non-empty 2-d array of finite numbers.

    Notes
    -----
    A continuous measure: compare it across models of one experiment, next to the numerical
    rank and to :func:`log_prob_rank` with a stated ``rtol``. Book: chapter 7.

    References
    ----------
    O. Roy and M. Vetterli, "The effective rank: A measure of effective dimensionality",
    15th European Signal Processing Conference (EUSIPCO), 2007, pp. 606-610.

    Examples
    --------
    >>> round(effective_rank(np.eye(5)), 6)                    # five equal directions
    5.0
    >>> round(effective_rank(np.diag([1.0, 1.0, 1e-9])), 6)    # full rank, two that matter
    2.0
    """
    s = log_prob_spectrum(log_probs, center=center)
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s[s > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))


def log_prob_rank(
    log_probs: TensorLike, /, *, rtol: float | None = None, center: bool = False
) -> int:
    r"""Rank of a matrix of log-probabilities (contexts x vocabulary): numerical or at a threshold.

    The rank is the number of singular values above ``rtol * s_max``. With the default
    ``rtol`` this is the *numerical* rank: every direction above rounding noise counts, even
    one whose singular value is ``1e-12 * s_max``. Give ``rtol`` (say ``1e-2`` or ``1e-3``)
    to count only the directions that carry a stated fraction of the largest; see also
    :func:`effective_rank` and :func:`log_prob_spectrum`. Compute `log_probs` in float64
    where you can: rounding noise in float32 adds small singular values.

    Parameters
    ----------
    log_probs : array_like or torch.Tensor
        Shape ``(N, V)``: row ``n`` holds ``log p(. | context n)``. Must be finite (a
        ``-inf`` entry, a zero probability, has no finite rank).
    rtol : float, optional
        Relative threshold in ``(0, 1)``. Default ``max(N, V) * eps`` of the dtype (NumPy's
        ``matrix_rank`` rule), which suits float64 input.
    center : bool, default False
        Doubly centre first, as :func:`log_prob_spectrum` (a softmax layer then has rank at
        most ``d``).

    Returns
    -------
    int
        The number of singular values above ``rtol * s_max``, at most ``min(N, V)``.

    Raises
    ------
    TypeError
        If `log_probs` is not real-valued or `rtol` is not a number.
    ValueError
        If `log_probs` is not a non-empty 2-d array of finite numbers or `rtol` is not in
        ``(0, 1)``.

    Notes
    -----
    A softmax layer gives rank at most ``d + 2`` with a bias (``d + 1`` without); a mixture
    of softmaxes or sigsoftmax can go up to ``min(N, V)``, but how far above ``d + 2`` they
    go *with a visible share* is what ``rtol`` measures. Book: chapter 7.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> h = torch.randn(200, 4, dtype=torch.float64)            # (N, d)
    >>> layer = SoftmaxOutput(4, 50).double()
    >>> log_prob_rank(layer(h).detach())                         # <= d + 2
    6
    >>> log_prob_rank(layer(h).detach(), center=True)            # <= d once centred
    4
    >>> log_prob_rank(MixtureOfSoftmaxes(4, 50, 3).double()(h).detach())
    50
    >>> log_prob_rank(np.diag([1.0, 0.5, 1e-9]))                 # numerical rank
    3
    >>> log_prob_rank(np.diag([1.0, 0.5, 1e-9]), rtol=1e-3)      # above 0.1 % of the largest
    2
    """
    a = _check_log_probs(log_probs, center)
    if rtol is None:
        tol = max(a.shape) * np.finfo(a.dtype).eps
    else:
        if not is_real(rtol):
            raise TypeError(f"Expected `rtol` to be a number in (0, 1), got {rtol!r}")
        tol = float(rtol)
        if not 0 < tol < 1:
            raise ValueError(f"Expected `rtol` to be a number in (0, 1), got {rtol!r}")
    s = np.linalg.svd(a.astype(np.float64, copy=False), compute_uv=False)
    return int(np.sum(s > tol * s[0])) if s[0] > 0 else 0
