r"""Two-level (class-based) hierarchical softmax (Book: chapter 7).

A full softmax over ``V`` words costs ``d V`` multiply-adds per token. Put every word ``w`` in
exactly one cluster ``c(w)`` and factor its probability through the cluster:

.. math::

    p(w \mid h) = p(c(w) \mid h)\; p(w \mid c(w), h)
    = \operatorname{softmax}(U h + a)_{c(w)}\;
      \frac{e^{w_w^\top h + b_w}}{\sum_{v \in c(w)} e^{w_v^\top h + b_v}}

Training a token then costs ``d K`` (the cluster softmax) plus ``d |c(w)|`` (the words of one
cluster) instead of ``d V``; with ``K`` clusters of about ``V / K`` words this is smallest near
``K = sqrt(V)``. This is the class-based factorisation of Goodman (2001); Morin and Bengio
(2005) took it to a deep binary tree. With word ids sorted by decreasing frequency,
:func:`frequency_cutoffs` forms the clusters by *frequency binning*: each cluster holds about
the same share of the tokens, so the frequent words sit in small clusters.

Unlike sampled softmax, the result is an exactly normalised distribution over all ``V`` words,
so it can be evaluated (perplexity) as well as trained.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .._typing import ArrayLike
from .._validation import is_integer
from .adaptive import AdaptiveOutput, _check_int, _check_target

__all__ = ["HierarchicalSoftmax", "frequency_cutoffs"]


def frequency_cutoffs(class_counts: ArrayLike, /, n_clusters: int) -> list[int]:
    """Cluster boundaries that give each cluster about the same share of the tokens.

    Word ``k`` (ids sorted by decreasing frequency) goes to cluster
    ``floor(n_clusters * F_k)``, where ``F_k`` is the share of tokens taken by the words
    before it (frequency binning). A word more frequent than ``1 / n_clusters`` fills a
    cluster on its own, so fewer than `n_clusters` clusters can come back.

    Parameters
    ----------
    class_counts : array_like
        Counts of the ``V`` word ids, non-increasing (id 0 the most frequent).
    n_clusters : int
        The number of clusters to aim for, in ``[2, V]``.

    Returns
    -------
    list of int
        Increasing cutoffs in ``[1, V - 1]`` for :class:`HierarchicalSoftmax`: cluster ``i``
        holds the ids ``[cutoffs[i - 1], cutoffs[i])`` (with ``0`` and ``V`` at the ends).

    Raises
    ------
    TypeError
        If `n_clusters` is not an integer.
    ValueError
        If `class_counts` is not a 1-d non-increasing array of at least two non-negative
        numbers with a positive sum, or `n_clusters` is outside ``[2, V]``.

    Examples
    --------
    >>> frequency_cutoffs([50, 20, 10, 8, 6, 4, 2], n_clusters=2)    # 50 of 100 tokens, then 50
    [1]
    >>> frequency_cutoffs([30, 20, 10, 10, 10, 10, 10], n_clusters=4)
    [1, 2, 5]
    """
    counts = np.asarray(class_counts, dtype=np.float64)
    if (
        counts.ndim != 1
        or counts.size < 2
        or not np.all(np.isfinite(counts))
        or np.any(counts < 0)
        or counts.sum() <= 0
        or np.any(np.diff(counts) > 0)
    ):
        raise ValueError(
            "Expected `class_counts` to be a 1-d non-increasing array of at least two "
            "non-negative numbers with a positive sum (word ids sorted by frequency)"
        )
    v = counts.size
    k = _check_int(n_clusters, "n_clusters", low=2)
    if k > v:
        raise ValueError(f"Expected `n_clusters` in [2, {v}], got {k}")
    before = (np.cumsum(counts) - counts) / counts.sum()  # share of tokens before word k
    cluster = np.minimum((before * k).astype(np.int64), k - 1)  # non-decreasing
    return [int(i) for i in np.flatnonzero(np.diff(cluster)) + 1]


class HierarchicalSoftmax(nn.Module):
    r"""Class-based hierarchical softmax over contiguous clusters of word ids.

    .. math::

        \log p(w \mid h) = \log \operatorname{softmax}(U h + a)_{c(w)}
        + \log \operatorname{softmax}\big(W_{c(w)} h + b_{c(w)}\big)_{w - s_{c(w)}}

    where ``W_c`` (``|c| x d``) and ``b_c`` are the rows of the word embedding ``W`` (``V x d``)
    and bias ``b`` of the words in cluster ``c``, which starts at id ``s_c``.

    Parameters
    ----------
    in_features : int
        Size ``d`` of the context ``h``.
    n_classes : int
        Vocabulary size ``V`` (at least 2).
    cutoffs : sequence of int
        Increasing, distinct cluster boundaries in ``[1, V - 1]``: cluster 0 holds the ids
        ``[0, cutoffs[0])``, cluster ``i`` the ids ``[cutoffs[i - 1], cutoffs[i])``, the last
        ``[cutoffs[-1], V)``; ``K = len(cutoffs) + 1`` clusters. :func:`frequency_cutoffs`
        makes them from word counts.
    bias : bool, default True
        Learn the biases ``a`` and ``b``.

    Attributes
    ----------
    cluster : nn.Linear
        ``U`` and ``a``: context -> ``K`` cluster logits.
    word : nn.Linear
        ``W`` and ``b``: context -> ``V`` word logits, of which each token uses one cluster's.
    bounds : list of int
        ``[0, *cutoffs, V]``.

    Notes
    -----
    :meth:`forward` evaluates, per cluster, only the rows whose target falls in it, so a
    token whose target is in cluster ``c`` costs ``d (K + |c|)`` multiply-adds
    (:meth:`multiply_adds_per_token` gives the expectation over a word distribution).
    :meth:`log_prob` evaluates every cluster (``d (K + V)``), for checking and perplexity.
    Book: chapter 7.

    References
    ----------
    J. Goodman, "Classes for fast maximum entropy training", ICASSP 2001.
    F. Morin and Y. Bengio, "Hierarchical probabilistic neural network language model",
    AISTATS 2005.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> hsm = HierarchicalSoftmax(16, 1000, cutoffs=[10, 100, 400])   # K = 4 clusters
    >>> h, y = torch.randn(8, 16), torch.randint(0, 1000, (8,))
    >>> logp = hsm.log_prob(h)                                        # (B, V)
    >>> torch.allclose(logp.exp().sum(-1), torch.ones(8))
    True
    >>> torch.allclose(hsm(h, y).output, logp.gather(1, y[:, None])[:, 0])
    True
    >>> hsm.cluster_sizes, 16 * (4 + 90)                # a target in cluster 1 costs d (K + 90)
    ([10, 90, 300, 600], 1504)
    """

    cluster_of: torch.Tensor  # a buffer (registered in __init__), typed for the checker

    def __init__(
        self, in_features: int, n_classes: int, cutoffs: Sequence[int], *, bias: bool = True
    ) -> None:
        super().__init__()
        in_features = _check_int(in_features, "in_features")
        n_classes = _check_int(n_classes, "n_classes", low=2)
        cuts = list(cutoffs) if isinstance(cutoffs, Sequence) else None
        if (
            not cuts
            or any(not is_integer(c) for c in cuts)
            or cuts != sorted(set(cuts))
            or cuts[0] < 1
            or cuts[-1] > n_classes - 1
        ):
            raise ValueError(
                "Expected `cutoffs` to be a non-empty increasing sequence of distinct integers "
                f"in [1, {n_classes - 1}], got {cutoffs!r}"
            )
        if not isinstance(bias, bool):
            raise TypeError(f"Expected `bias` to be a bool, got {bias!r}")
        self.in_features = in_features
        self.n_classes = n_classes
        self.bounds = [0, *(int(c) for c in cuts), n_classes]
        self.n_clusters = len(self.bounds) - 1
        self.cluster = nn.Linear(in_features, self.n_clusters, bias=bias)
        self.word = nn.Linear(in_features, n_classes, bias=bias)
        # cluster_of[v] = the cluster of word v; a buffer so that .to(device) moves it
        sizes = torch.tensor(self.cluster_sizes)
        self.register_buffer(
            "cluster_of", torch.repeat_interleave(torch.arange(self.n_clusters), sizes),
            persistent=False,
        )

    @property
    def cluster_sizes(self) -> list[int]:
        """The number of words in each cluster, ``|c|`` for ``c = 0 .. K - 1``."""
        return [hi - lo for lo, hi in zip(self.bounds[:-1], self.bounds[1:], strict=True)]

    def _check_input(self, h: object) -> torch.Tensor:
        if not isinstance(h, torch.Tensor) or not h.is_floating_point():
            raise TypeError(f"Expected `h` to be a floating tensor, got {type(h).__name__}")
        if h.ndim != 2 or h.shape[1] != self.in_features:
            raise ValueError(
                f"Expected `h` to have shape (B, {self.in_features}), got {tuple(h.shape)}"
            )
        return h

    def _word_logits(self, h: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
        """Logits of the words ``[lo, hi)`` only: ``d (hi - lo)`` multiply-adds per row."""
        bias = None if self.word.bias is None else self.word.bias[lo:hi]
        return torch.nn.functional.linear(h, self.word.weight[lo:hi], bias)  # (B, hi - lo)

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
            ``output``: ``log p(target | h)``, shape (B,); ``loss``: their negated mean.

        Raises
        ------
        TypeError, ValueError
            For an `h` or `target` of the wrong kind or shape, or ids out of range.
        """
        h = self._check_input(h)
        target = _check_target(target, h.shape[0], self.n_classes)
        target_cluster = self.cluster_of[target]  # (B,)
        cluster_logp = torch.log_softmax(self.cluster(h), dim=-1)  # (B, K)
        # Sort the rows by cluster once, then visit each cluster that occurs on a contiguous
        # slice: one small matrix product per cluster, no per-cluster mask over the batch.
        order = torch.argsort(target_cluster, stable=True)  # (B,)
        occurring, sizes = torch.unique_consecutive(target_cluster[order], return_counts=True)
        h_sorted, t_sorted = h[order], target[order]
        word_logp, start = [], 0
        for c, n in zip(occurring.tolist(), sizes.tolist(), strict=True):
            lo, hi = self.bounds[c], self.bounds[c + 1]
            rows = slice(start, start + n)
            local = torch.log_softmax(self._word_logits(h_sorted[rows], lo, hi), dim=-1)  # (n, |c|)
            word_logp.append(local.gather(1, (t_sorted[rows] - lo)[:, None])[:, 0])
            start += n
        word_part = torch.empty_like(cluster_logp[:, 0]).index_copy(
            0, order, torch.cat(word_logp) if word_logp else h.new_zeros(0))
        output = cluster_logp.gather(1, target_cluster[:, None])[:, 0] + word_part  # (B,)
        return AdaptiveOutput(output, -output.mean())

    def log_prob(self, h: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of all ``V`` words, shape (B, V): every cluster evaluated."""
        h = self._check_input(h)
        cluster_logp = torch.log_softmax(self.cluster(h), dim=-1)  # (B, K)
        logits = self.word(h)  # (B, V)
        parts = [
            cluster_logp[:, c, None] + torch.log_softmax(logits[:, lo:hi], dim=-1)  # (B, |c|)
            for c, (lo, hi) in enumerate(zip(self.bounds[:-1], self.bounds[1:], strict=True))
        ]
        return torch.cat(parts, dim=-1)  # (B, V)

    def multiply_adds_per_token(self, class_counts: ArrayLike) -> float:
        """Expected multiply-adds of :meth:`forward` per token, for these target frequencies.

        Parameters
        ----------
        class_counts : array_like
            Counts (or frequencies) of each of the ``V`` word ids.

        Returns
        -------
        float
            ``d K + d sum_c P(c) |c|`` (biases and the softmax itself not counted, as
            :meth:`AdaptiveSoftmax.multiply_adds_per_token` and a full softmax's ``d V``).

        Raises
        ------
        ValueError
            If `class_counts` is not ``V`` non-negative numbers with a positive sum.
        """
        counts = np.asarray(class_counts, dtype=np.float64)
        if (counts.shape != (self.n_classes,) or not np.all(np.isfinite(counts))
                or np.any(counts < 0) or counts.sum() <= 0):
            raise ValueError(
                f"Expected `class_counts` to be {self.n_classes} non-negative numbers with a "
                "positive sum"
            )
        share = np.add.reduceat(counts, self.bounds[:-1]) / counts.sum()  # P(cluster c)
        d = self.in_features
        return float(d * self.n_clusters + d * np.dot(share, self.cluster_sizes))
