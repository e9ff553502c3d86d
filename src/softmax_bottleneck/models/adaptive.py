r"""Output layers for large vocabularies: adaptive softmax and sampled softmax (Book: chapter 7).

A full softmax over ``V`` words costs ``d * V`` multiply-adds per token. Two ways to pay less:

* :class:`AdaptiveSoftmax` (Grave et al. 2017) splits the vocabulary by frequency. A small
  *head* holds the frequent words plus one entry per *tail cluster*; a rare word's probability
  is ``p(cluster | h) * p(word | cluster, h)``, and each tail cluster sees a context projected
  down by ``div_value`` per level. Written from scratch with the parameter names and
  shapes of :class:`torch.nn.AdaptiveLogSoftmaxWithLoss`, so the two load each other's
  ``state_dict`` and give the same numbers (chapter 7 checks this); use torch's class in real
  work.
* :func:`sampled_softmax_loss` scores the target against ``n_samples`` words drawn from a
  proposal ``q`` instead of all ``V``, with the ``log(n q)`` correction that makes it
  consistent (Jean et al. 2015); :func:`full_softmax_loss` is the exact loss it estimates.
  It trains only: evaluation needs the full softmax. A :class:`Proposal` prepares ``q`` once,
  so that a step costs ``O(S log V)`` for the draws instead of ``O(V)``.

Both need the word ids sorted by decreasing frequency (id 0 the most frequent).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._typing import ArrayLike, FloatArray, IntArray, SeedLike, TensorLike
from .._validation import REDUCTIONS, check_choice, check_rng, is_integer, is_real

__all__ = [
    "AdaptiveOutput",
    "AdaptiveSoftmax",
    "Proposal",
    "full_softmax_loss",
    "log_uniform_probs",
    "sampled_softmax_loss",
]


def _check_int(value: object, name: str, low: int = 1) -> int:
    if not is_integer(value):
        raise TypeError(f"Expected `{name}` to be an integer >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"Expected `{name}` to be an integer >= {low}, got {value}")
    return int(value)


def _check_target(target: object, batch: int, n_classes: int) -> torch.Tensor:
    if not isinstance(target, torch.Tensor) or target.is_floating_point() or target.is_complex():
        raise TypeError(f"Expected `target` to be an integer tensor of class indices, got {target!r}")
    if target.shape != (batch,):
        raise ValueError(f"Expected `target` to have shape ({batch},), got {tuple(target.shape)}")
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= n_classes):
        raise ValueError(
            f"Expected `target` class indices in [0, {n_classes - 1}], got values in "
            f"[{int(target.min())}, {int(target.max())}]"
        )
    return target.long()


class AdaptiveOutput(NamedTuple):
    """What :meth:`AdaptiveSoftmax.forward` returns (the fields of torch's ``_ASMoutput``)."""

    output: torch.Tensor
    """``log p(target | h)`` per example, shape (B,)."""
    loss: torch.Tensor
    """Mean negative log-likelihood, 0-d."""


class AdaptiveSoftmax(nn.Module):
    r"""Adaptive softmax, from scratch, parameter-compatible with torch's.

    .. math::

        \log p(v \mid h) =
        \begin{cases}
            \log \operatorname{softmax}(W_{\text{head}} h)_v & v < c_0 \\
            \log \operatorname{softmax}(W_{\text{head}} h)_{c_0 + i}
            + \log \operatorname{softmax}(T_i P_i h)_{v - c_i} & c_i \le v < c_{i+1}
        \end{cases}

    Parameters
    ----------
    in_features : int
        Size ``d`` of the context ``h``.
    n_classes : int
        Vocabulary size ``V`` (ids sorted by decreasing frequency).
    cutoffs : sequence of int
        Increasing cluster boundaries ``c_0 < c_1 < ...`` in ``[1, V - 1]``; ``[0, c_0)`` is
        the head's shortlist, ``[c_i, c_{i+1})`` tail cluster ``i``.
    div_value : float, default 4.0
        Tail cluster ``i`` projects ``h`` to ``floor(d / div_value**(i + 1))`` dimensions
        (at least 1 here; torch allows 0, which makes that cluster uniform).
    head_bias : bool, default False
        Give the head a bias.

    Attributes
    ----------
    head : nn.Linear
        ``d -> c_0 + n_clusters``.
    tail : nn.ModuleList
        One ``nn.Sequential(Linear(d, h_i, bias=False), Linear(h_i, size_i, bias=False))`` per
        cluster.
    cutoffs : list of int
        The cutoffs with ``V`` appended, as in torch.

    Notes
    -----
    The forward pass evaluates a tail cluster only for the rows whose target falls in it, so a
    token costs ``d (c_0 + n_clusters)`` multiply-adds plus, for rare targets, the cost of
    one cluster: see :meth:`multiply_adds_per_token`. Book: chapter 7.

    References
    ----------
    E. Grave, A. Joulin, M. Cissé, D. Grangier and H. Jégou, "Efficient softmax approximation
    for GPUs", ICML 2017.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> asm = AdaptiveSoftmax(16, 1000, cutoffs=[50, 200])
    >>> ref = torch.nn.AdaptiveLogSoftmaxWithLoss(16, 1000, cutoffs=[50, 200])
    >>> ref.load_state_dict(asm.state_dict())          # the same parameters
    <All keys matched successfully>
    >>> h, y = torch.randn(8, 16), torch.randint(0, 1000, (8,))
    >>> torch.allclose(asm(h, y).loss, ref(h, y).loss)
    True
    >>> asm.log_prob(h).exp().sum(-1).allclose(torch.ones(8))
    True
    """

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        cutoffs: Sequence[int],
        *,
        div_value: float = 4.0,
        head_bias: bool = False,
    ) -> None:
        super().__init__()
        in_features = _check_int(in_features, "in_features")
        n_classes = _check_int(n_classes, "n_classes", low=2)
        cuts = list(cutoffs) if isinstance(cutoffs, Sequence) else None
        if (
            not cuts
            or not all(is_integer(c) for c in cuts)
            or cuts != sorted(set(cuts))
            or cuts[0] < 1
            or cuts[-1] > n_classes - 1
        ):
            raise ValueError(
                "Expected `cutoffs` to be a non-empty increasing sequence of distinct integers "
                f"in [1, {n_classes - 1}], got {cutoffs!r}"
            )
        if not is_real(div_value):
            raise TypeError(f"Expected `div_value` to be a number >= 1, got {div_value!r}")
        if not (math.isfinite(div_value) and div_value >= 1):
            raise ValueError(f"Expected `div_value` to be a number >= 1, got {div_value!r}")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = [int(c) for c in cuts] + [n_classes]
        self.div_value = float(div_value)
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head = nn.Linear(in_features, self.shortlist_size + self.n_clusters, bias=head_bias)
        self.tail = nn.ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (self.div_value ** (i + 1)))  # torch's rule
            if hidden < 1:
                raise ValueError(
                    f"Expected `div_value` small enough that tail cluster {i} keeps at least "
                    f"one dimension (in_features // div_value**{i + 1} = {hidden})"
                )
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(
                nn.Sequential(nn.Linear(in_features, hidden, bias=False),
                              nn.Linear(hidden, size, bias=False))
            )

    def _check_input(self, h: object) -> torch.Tensor:
        if not isinstance(h, torch.Tensor) or not h.is_floating_point():
            raise TypeError(f"Expected `h` to be a floating tensor, got {type(h).__name__}")
        if h.ndim != 2 or h.shape[1] != self.in_features:
            raise ValueError(
                f"Expected `h` to have shape (B, {self.in_features}), got {tuple(h.shape)}"
            )
        return h

    def forward(self, h: torch.Tensor, target: torch.Tensor) -> AdaptiveOutput:
        """Log-probability of each target and their mean negative log-likelihood.

        Parameters
        ----------
        h : torch.Tensor
            Contexts, shape (B, d).
        target : torch.Tensor
            Integer word ids, shape (B,).

        Returns
        -------
        AdaptiveOutput
            ``output`` (B,) and ``loss`` (0-d), as torch's module.
        """
        h = self._check_input(h)
        target = _check_target(target, h.shape[0], self.n_classes)
        head_logp = torch.log_softmax(self.head(h), dim=-1)  # (B, c_0 + n_clusters)
        head_index = target.clone()  # the head entry each row reads: the word or its cluster
        output = h.new_zeros(h.shape[0])  # (B,) tail part of log p
        for i in range(self.n_clusters):
            lo, hi = self.cutoffs[i], self.cutoffs[i + 1]
            rows = ((target >= lo) & (target < hi)).nonzero(as_tuple=True)[0]
            if rows.numel() == 0:
                continue
            head_index[rows] = self.shortlist_size + i
            local = torch.log_softmax(self.tail[i](h[rows]), dim=-1)  # (b_i, size_i)
            output = output.index_add(0, rows, local.gather(1, (target[rows] - lo)[:, None])[:, 0])
        output = output + head_logp.gather(1, head_index[:, None])[:, 0]
        return AdaptiveOutput(output, -output.mean())

    def log_prob(self, h: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of all ``V`` words, shape (B, V): every cluster evaluated."""
        h = self._check_input(h)
        head_logp = torch.log_softmax(self.head(h), dim=-1)  # (B, c_0 + n_clusters)
        parts = [head_logp[:, : self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster = head_logp[:, self.shortlist_size + i, None]  # (B, 1)
            parts.append(cluster + torch.log_softmax(self.tail[i](h), dim=-1))  # (B, size_i)
        return torch.cat(parts, dim=-1)  # (B, V)

    def predict(self, h: torch.Tensor) -> torch.Tensor:
        """The most probable word id per row, shape (B,)."""
        return self.log_prob(h).argmax(dim=-1)

    def multiply_adds_per_token(self, class_counts: ArrayLike) -> float:
        """Expected multiply-adds per training token for targets with these frequencies.

        Parameters
        ----------
        class_counts : array_like
            Counts (or frequencies) of each of the ``V`` word ids in the data.

        Returns
        -------
        float
            ``d (c_0 + n_clusters) + sum_i P(cluster i) (d h_i + h_i size_i)``; a full
            softmax costs ``d V``.
        """
        counts = np.asarray(class_counts, dtype=np.float64)
        if counts.shape != (self.n_classes,) or np.any(counts < 0) or counts.sum() <= 0:
            raise ValueError(
                f"Expected `class_counts` to be {self.n_classes} non-negative numbers with a "
                "positive sum"
            )
        freq = counts / counts.sum()
        d = self.in_features
        cost = d * (self.shortlist_size + self.n_clusters)
        for i, cluster in enumerate(self.tail):
            proj, out = (cast(nn.Linear, layer) for layer in cast(nn.Sequential, cluster))
            share = freq[self.cutoffs[i] : self.cutoffs[i + 1]].sum()
            cost += share * (d * proj.out_features + proj.out_features * out.out_features)
        return float(cost)


def log_uniform_probs(n_classes: int, /) -> FloatArray:
    r"""The log-uniform (Zipf-like) proposal over word ids sorted by frequency.

    .. math::

        q(k) = \frac{\log(k + 2) - \log(k + 1)}{\log(V + 1)}, \qquad k = 0, \dots, V - 1

    It sums to 1 exactly (the logs telescope) and falls off like ``1 / k``, as word
    frequencies roughly do (Zipf's law).

    Parameters
    ----------
    n_classes : int
        Vocabulary size ``V`` (positive).

    Returns
    -------
    ndarray
        ``V`` float64 probabilities, decreasing.

    Raises
    ------
    TypeError, ValueError
        If `n_classes` is not a positive integer.

    Examples
    --------
    >>> log_uniform_probs(4).round(4)
    array([0.4307, 0.2519, 0.1787, 0.1386])
    """
    v = _check_int(n_classes, "n_classes")
    k = np.arange(v, dtype=np.float64)
    return np.log1p(1.0 / (k + 1)) / np.log(v + 1.0)


class Proposal:
    r"""A fixed proposal ``q`` over ``V`` ids, prepared once for :func:`sampled_softmax_loss`.

    Drawing ``S`` ids from an arbitrary ``q`` needs its cumulative sums; building them costs
    ``O(V)``, which a training loop should pay once, not at every step. A ``Proposal`` keeps
    them, so a step costs ``O(S log V)`` (a binary search per draw) and reads ``log q`` only at
    the ``S`` drawn ids. :meth:`log_uniform` and :meth:`uniform` need no table at all: their
    draws and probabilities have closed forms, ``O(S)`` per step.

    Parameters
    ----------
    weights : array_like
        ``V`` positive finite weights, normalised here (e.g. word counts for the unigram
        proposal).

    Attributes
    ----------
    n_classes : int
        ``V``.
    kind : str
        ``"table"``, ``"log-uniform"`` or ``"uniform"``.

    Raises
    ------
    ValueError
        If `weights` are not ``V >= 1`` positive finite numbers.

    Notes
    -----
    Inverse-CDF draws: ``k = #{j : cdf_j <= u}`` for ``u`` uniform in ``[0, 1)``; for the
    log-uniform ``q(k) = log((k + 2)/(k + 1)) / log(V + 1)`` the inverse is
    ``k = floor((V + 1)^u) - 1``. Book: chapter 7.

    Examples
    --------
    >>> q = Proposal.log_uniform(1000)
    >>> ids = q.sample(5, rng=0)
    >>> bool(np.allclose(q.log_prob(ids), np.log(log_uniform_probs(1000)[ids])))
    True
    >>> unigram = Proposal([3.0, 1.0])
    >>> np.exp(unigram.log_prob(np.array([0, 1])))
    array([0.75, 0.25])
    """

    def __init__(self, weights: TensorLike, /) -> None:
        w = np.asarray(weights.detach().cpu() if isinstance(weights, torch.Tensor) else weights,
                       dtype=np.float64)
        if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError(
                f"Expected `proposal` to be {w.size if w.ndim == 1 else 'V'} positive finite "
                "numbers"
            )
        self.n_classes = int(w.size)
        self.kind = "table"
        self._q = w / w.sum()
        self._log_q = np.log(self._q)
        self._cdf = np.cumsum(self._q)

    @classmethod
    def log_uniform(cls, n_classes: int, /) -> Proposal:
        """The log-uniform proposal of :func:`log_uniform_probs`, drawn in closed form."""
        new = cls.__new__(cls)
        new.n_classes, new.kind = _check_int(n_classes, "n_classes"), "log-uniform"
        return new

    @classmethod
    def uniform(cls, n_classes: int, /) -> Proposal:
        """The uniform proposal ``q(k) = 1 / V``, drawn in closed form."""
        new = cls.__new__(cls)
        new.n_classes, new.kind = _check_int(n_classes, "n_classes"), "uniform"
        return new

    def sample(self, n_samples: int, /, *, rng: SeedLike = None) -> IntArray:
        """``n_samples`` ids drawn with replacement from ``q``, shape (S,), int64."""
        s = _check_int(n_samples, "n_samples")
        u = check_rng(rng).random(s)  # (S,) in [0, 1)
        v = self.n_classes
        if self.kind == "uniform":
            ids = np.floor(u * v)
        elif self.kind == "log-uniform":
            ids = np.floor(np.exp(u * math.log(v + 1.0))) - 1.0
        else:
            ids = np.searchsorted(self._cdf, u, side="right")
        return np.minimum(ids, v - 1).astype(np.int64)  # guard the rounding at u -> 1

    def log_prob(self, ids: ArrayLike, /) -> FloatArray:
        """``log q`` at the given ids, float64, same shape: ``O(len(ids))``."""
        k = np.asarray(ids, dtype=np.int64)
        if self.kind == "uniform":
            return np.full(k.shape, -math.log(self.n_classes))
        if self.kind == "log-uniform":
            return np.log(np.log1p(1.0 / (k + 1.0))) - math.log(math.log(self.n_classes + 1.0))
        return self._log_q[k]

    def probs(self) -> FloatArray:
        """All ``V`` probabilities (``O(V)``: for plots and diagnostics, not per step)."""
        return np.exp(self.log_prob(np.arange(self.n_classes)))


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if losses.numel() == 0:
        raise ValueError("Expected at least one example for reduction='mean', got none")
    return losses.mean()


def _check_output_layer(
    h: Any, weight: Any, bias: Any, target: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
    for name, t in (("h", h), ("weight", weight)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise TypeError(f"Expected `{name}` to be a floating tensor, got {type(t).__name__}")
    if h.ndim != 2 or weight.ndim != 2 or h.shape[1] != weight.shape[1]:
        raise ValueError(
            f"Expected `h` of shape (B, d) and `weight` of shape (V, d), got {tuple(h.shape)} "
            f"and {tuple(weight.shape)}"
        )
    v = weight.shape[0]
    if bias is not None and (not isinstance(bias, torch.Tensor) or bias.shape != (v,)):
        raise ValueError(f"Expected `bias` to be None or a tensor of shape ({v},)")
    return h, weight, bias, _check_target(target, h.shape[0], v)


def full_softmax_loss(
    h: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    target: torch.Tensor,
    /,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    """Exact cross-entropy of the output layer ``h W^T + b``: ``d V`` multiply-adds per token.

    Parameters
    ----------
    h : torch.Tensor
        Contexts, shape (B, d).
    weight : torch.Tensor
        Output embeddings ``W``, shape (V, d).
    bias : torch.Tensor or None
        Output bias ``b``, shape (V,).
    target : torch.Tensor
        Integer word ids, shape (B,).
    reduction : {"mean", "sum", "none"}, default "mean"

    Returns
    -------
    torch.Tensor
        The loss (autograd kept).

    Raises
    ------
    TypeError, ValueError
        For tensors of the wrong kind or shape, ids out of range, or an unknown `reduction`.

    Examples
    --------
    >>> import torch
    >>> w = torch.zeros(10, 3)
    >>> float(full_softmax_loss(torch.ones(2, 3), w, None, torch.tensor([0, 9])))  # log 10
    2.302585...
    """
    check_choice(reduction, "reduction", REDUCTIONS)
    h, weight, bias, target = _check_output_layer(h, weight, bias, target)
    logits = F.linear(h, weight, bias)  # (B, V)
    return _reduce(F.cross_entropy(logits, target, reduction="none"), reduction)


def sampled_softmax_loss(
    h: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    target: torch.Tensor,
    /,
    *,
    n_samples: int,
    proposal: Proposal | TensorLike | None = None,
    logq_correction: bool = True,
    remove_accidental_hits: bool = True,
    reduction: str = "mean",
    rng: SeedLike = None,
) -> torch.Tensor:
    r"""Sampled softmax: the target scored against ``n_samples`` words drawn from ``q``.

    The ``S`` negatives ``k_1, ..., k_S`` are drawn once per batch, with replacement, from the
    proposal ``q``; each sampled logit is corrected by the log of its expected count ``S q(k)``:

    .. math::

        \ell = -z_y + \log\Big(e^{z_y} + \sum_{s:\,k_s \ne y} e^{z_{k_s} - \log(S\, q(k_s))}\Big),
        \qquad z_k = w_k^\top h + b_k

    The sum is an unbiased estimate of ``sum_{k != y} e^{z_k}`` (importance sampling), so as
    ``S`` grows the loss tends to the full cross-entropy; for moderate ``S`` it is biased but
    cheap: ``d (S + 1)`` multiply-adds per token instead of ``d V``, and, with a
    :class:`Proposal`, ``O(S log V)`` (``O(S)`` for log-uniform and uniform) to draw the
    samples. Some implementations also subtract ``log(S q(y))`` from the target's own logit;
    that variant does not tend to the full loss, so it is not used here (the target is always
    in the sum, it is not a sample).

    Parameters
    ----------
    h : torch.Tensor
        Contexts, shape (B, d).
    weight : torch.Tensor
        Output embeddings, shape (V, d).
    bias : torch.Tensor or None
        Output bias, shape (V,).
    target : torch.Tensor
        Integer word ids, shape (B,).
    n_samples : int
        Number of negatives ``S`` per batch (positive).
    proposal : Proposal or array_like, optional
        ``q``. A :class:`Proposal` (prepared once: ``O(S log V)`` per call) or ``V`` positive
        weights (normalised here, ``O(V)`` per call). Default ``Proposal.log_uniform(V)``;
        the unigram frequencies are the other common choice.
    logq_correction : bool, default True
        Subtract ``log(S q(k))`` from each sampled logit. Without it the loss is the
        uncorrected "sampled" loss, whose minimiser is not the full softmax's (kept for the
        comparison in chapter 7).
    remove_accidental_hits : bool, default True
        Drop sampled copies of a row's target (the target is already in the sum, exactly).
    reduction : {"mean", "sum", "none"}, default "mean"
    rng : int, None or numpy.random.Generator
        Seed or generator for the samples.

    Returns
    -------
    torch.Tensor
        The loss; gradients reach only the rows of `weight` (and `bias`) of the targets and
        the samples.

    Raises
    ------
    TypeError, ValueError
        For tensors of the wrong kind or shape, ids out of range, a bad `n_samples`,
        `proposal`, `reduction` or `rng`.

    References
    ----------
    S. Jean, K. Cho, R. Memisevic and Y. Bengio, "On Using Very Large Target Vocabulary for
    Neural Machine Translation", ACL 2015.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> h, w, y = torch.randn(64, 8), torch.randn(50, 8), torch.randint(0, 50, (64,))
    >>> full = full_softmax_loss(h, w, None, y)
    >>> approx = sampled_softmax_loss(h, w, None, y, n_samples=20_000, rng=0)
    >>> abs(float(approx) / float(full) - 1) < 0.02
    True
    """
    check_choice(reduction, "reduction", REDUCTIONS)
    h, weight, bias, target = _check_output_layer(h, weight, bias, target)
    v = weight.shape[0]
    s = _check_int(n_samples, "n_samples")
    gen = check_rng(rng)
    if proposal is None:
        prop = Proposal.log_uniform(v)
    elif isinstance(proposal, Proposal):
        prop = proposal
    else:
        prop = Proposal(proposal)  # O(V): pass a Proposal to pay this once
    if prop.n_classes != v:
        raise ValueError(f"Expected `proposal` to be {v} positive finite numbers")
    drawn = prop.sample(s, rng=gen)  # (S,) O(S log V)
    samples = torch.as_tensor(drawn, device=h.device)
    true_logit = (h * weight[target]).sum(-1)  # (B,) not corrected: it is not a sample
    sampled_logit = h @ weight[samples].T  # (B, S)
    if logq_correction:
        log_count = math.log(s) + prop.log_prob(drawn)  # (S,) log(S q(k)) at the draws only
        sampled_logit = sampled_logit - torch.as_tensor(log_count, dtype=h.dtype,
                                                        device=h.device)
    if bias is not None:
        true_logit = true_logit + bias[target]
        sampled_logit = sampled_logit + bias[samples]
    if remove_accidental_hits:
        hits = samples[None, :] == target[:, None]  # (B, S)
        sampled_logit = sampled_logit.masked_fill(hits, float("-inf"))
    logits = torch.cat([true_logit[:, None], sampled_logit], dim=1)  # (B, 1 + S)
    losses = torch.logsumexp(logits, dim=1) - true_logit
    return _reduce(losses, reduction)
