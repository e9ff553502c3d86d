r"""A word-bigram language model with a full or a sampled softmax, and what it learns (Book: chapter 7).

Chapter 7 trains the smallest language model that still has a large output layer: the previous
word gets a learned context vector ``h`` (size ``d``) and a linear layer turns it into logits
over all ``V`` words,

.. math::

    p(w_t \mid w_{t-1}) = \operatorname{softmax}(W h_{w_{t-1}} + b)_{w_t}.

* :func:`train_bigram` trains it with the exact cross-entropy or with
  :func:`~softmax_bottleneck.models.adaptive.sampled_softmax_loss` (any proposal, any ``S``,
  with or without the ``log(S q)`` correction), same seed -> same initial weights and batches.
* :func:`perplexity` evaluates it with the full normaliser.
* :func:`bucket_mass` measures where its probability mass goes: the share it gives to each
  frequency bucket of the vocabulary, next to the share the held-out text gives it.
* :func:`bucket_push` measures, at fixed weights, how hard one training step pushes down the
  logits of each frequency bucket: the full softmax's push next to the sampled softmax's,
  averaged over draws of the negatives. Their ratio is the bias of the sampled gradient.
* :func:`ngram_perplexities` gives the count-based references (add-one unigram, interpolated
  bigram) on the same split, so that a reader knows how far the trained models are from the
  data's own statistics.

Word ids must be sorted by decreasing frequency (id 0 the most frequent), as for the log-uniform
proposal.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .models.adaptive import Proposal, sampled_softmax_loss

__all__ = [
    "BigramLM",
    "bucket_mass",
    "bucket_push",
    "ngram_perplexities",
    "perplexity",
    "train_bigram",
]


def _check_ids(ids: Any, n_words: int, name: str) -> torch.Tensor:
    t = torch.as_tensor(ids)
    if t.ndim != 1 or t.numel() < 2 or t.is_floating_point():
        raise ValueError(f"Expected `{name}` to be a 1-d sequence of at least 2 word ids")
    if int(t.min()) < 0 or int(t.max()) >= n_words:
        raise ValueError(f"Expected `{name}` to hold word ids in [0, {n_words - 1}]")
    return t.long()


def _check_positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"Expected `{name}` to be a positive integer, got {value!r}")
    return int(value)


class BigramLM(nn.Module):
    """Previous word -> context vector (an embedding) -> logits over the ``V`` words.

    Parameters
    ----------
    n_words : int
        Vocabulary size ``V``.
    d : int
        Size of the context vector.

    Examples
    --------
    >>> import torch
    >>> lm = BigramLM(100, 8).double()
    >>> p = lm.log_prob(torch.tensor([0, 5])).exp()          # (2, V)
    >>> torch.allclose(p.sum(-1), torch.ones(2, dtype=torch.float64))
    True
    """

    def __init__(self, n_words: int, d: int) -> None:
        super().__init__()
        self.context = nn.Embedding(_check_positive(n_words, "n_words"), _check_positive(d, "d"))
        self.out = nn.Linear(d, n_words)

    def logits(self, prev: torch.Tensor) -> torch.Tensor:
        """Logits for the words that follow `prev`, shape ``prev.shape + (V,)``."""
        return self.out(self.context(prev))

    def log_prob(self, prev: torch.Tensor) -> torch.Tensor:
        """``log p(. | prev)``, shape ``prev.shape + (V,)``."""
        return torch.log_softmax(self.logits(prev), dim=-1)


def _full_loss(model: BigramLM, prev: torch.Tensor, nxt: torch.Tensor) -> torch.Tensor:
    # The prediction depends on the previous word only: one softmax per *distinct* previous
    # word of the batch gives the same mean cross-entropy as one per row, for less work.
    unique, inverse = torch.unique(prev, return_inverse=True)
    logp = model.log_prob(unique)  # (U, V)
    return -logp[inverse, nxt].mean()


def train_bigram(
    train_ids: Any,
    n_words: int,
    /,
    *,
    d: int = 64,
    steps: int = 200,
    batch_size: int = 1024,
    lr: float = 0.01,
    n_samples: int | None = None,
    proposal: Proposal | None = None,
    logq_correction: bool = True,
    rng: int = 0,
) -> BigramLM:
    r"""Train a :class:`BigramLM` with Adam, in float64 on one thread.

    Each step draws ``batch_size`` (previous word, next word) pairs uniformly from
    `train_ids`. With ``n_samples=None`` the loss is the exact cross-entropy over all ``V``
    words; otherwise it is the sampled softmax with ``n_samples`` negatives per step drawn
    from `proposal` (default log-uniform).

    Parameters
    ----------
    train_ids : sequence of int or torch.Tensor
        The training text as word ids in ``[0, n_words)``.
    n_words : int
        Vocabulary size ``V``.
    d, steps, batch_size : int
        Context size, Adam steps, pairs per step.
    lr : float, default 0.01
        Adam's learning rate.
    n_samples : int, optional
        ``S``; None trains with the full softmax.
    proposal : Proposal, optional
        The sampled softmax's proposal (default ``Proposal.log_uniform(n_words)``).
    logq_correction : bool, default True
        Passed to :func:`~softmax_bottleneck.models.adaptive.sampled_softmax_loss`.
    rng : int, default 0
        Seed of the initial weights, the batches and the negatives. The same seed gives every
        loss the same initial weights and the same batches (a paired comparison); the global
        torch seed is left alone.

    Returns
    -------
    BigramLM
        The trained model (float64).

    Examples
    --------
    >>> ids = torch.tensor([0, 1, 2, 0, 1, 3] * 50)
    >>> lm = train_bigram(ids, 4, d=4, steps=30, batch_size=64, lr=0.1)
    >>> perplexity(lm, ids) < 2.0          # 0 -> 1 always; 1 -> 2 or 3: about 2^(1/3)
    True
    """
    v = _check_positive(n_words, "n_words")
    ids = _check_ids(train_ids, v, "train_ids")
    steps = _check_positive(steps, "steps")
    batch_size = _check_positive(batch_size, "batch_size")
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"Expected `rng` to be an integer seed, got {rng!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng))
        model = BigramLM(v, _check_positive(d, "d")).double()
    if n_samples is not None:
        n_samples = _check_positive(n_samples, "n_samples")
        proposal = Proposal.log_uniform(v) if proposal is None else proposal
    gen = torch.Generator().manual_seed(int(rng))
    negatives = np.random.default_rng([int(rng), 1])  # the draws of the negatives
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    from .train import one_thread

    with one_thread():
        for _ in range(steps):
            i = torch.randint(0, ids.numel() - 1, (batch_size,), generator=gen)
            prev, nxt = ids[i], ids[i + 1]
            opt.zero_grad()
            if n_samples is None:
                loss = _full_loss(model, prev, nxt)
            else:
                loss = sampled_softmax_loss(
                    model.context(prev), model.out.weight, model.out.bias, nxt,
                    n_samples=n_samples, proposal=proposal, logq_correction=logq_correction,
                    rng=negatives,
                )
            loss.backward()
            opt.step()
    return model


def _pair_counts(ids: torch.Tensor, v: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    prev, nxt = ids[:-1].numpy(), ids[1:].numpy()
    keys, counts = np.unique(prev * v + nxt, return_counts=True)
    return keys // v, keys % v, counts.astype(np.float64)


def perplexity(model: BigramLM, ids: Any, /) -> float:
    """Perplexity of `model` on the word sequence `ids`, with the full normaliser.

    Parameters
    ----------
    model : BigramLM
    ids : sequence of int or torch.Tensor
        Word ids; the ``len(ids) - 1`` consecutive pairs are scored.

    Returns
    -------
    float
        ``exp`` of the mean negative log-likelihood of the next words.
    """
    v = model.out.out_features
    t = _check_ids(ids, v, "ids")
    prev, nxt, counts = _pair_counts(t, v)
    unique, inverse = np.unique(prev, return_inverse=True)
    from .train import one_thread

    with torch.no_grad(), one_thread():
        logp = model.log_prob(torch.as_tensor(unique)).numpy()  # (U, V) one row per context
    nll = -np.sum(counts * logp[inverse, nxt]) / counts.sum()
    return float(np.exp(nll))


def bucket_mass(model: BigramLM, ids: Any, edges: Sequence[int], /) -> tuple[np.ndarray, np.ndarray]:
    """Probability mass the model gives each frequency bucket, next to the text's own share.

    Parameters
    ----------
    model : BigramLM
    ids : sequence of int or torch.Tensor
        Held-out word ids; every pair ``(ids[t], ids[t + 1])`` is one context.
    edges : sequence of int
        Increasing bucket boundaries in ``(0, V)``: bucket ``j`` holds the word ids
        ``[edges[j - 1], edges[j])`` (with ``0`` and ``V`` added at the ends).

    Returns
    -------
    model_share : ndarray
        Mean over the held-out contexts of ``sum_{k in bucket} p(k | context)``, per bucket.
    text_share : ndarray
        Share of the held-out next words that fall in each bucket.
    """
    v = model.out.out_features
    t = _check_ids(ids, v, "ids")
    bounds = [0, *[int(e) for e in edges], v]
    if any(a >= b for a, b in itertools.pairwise(bounds)):
        raise ValueError(f"Expected `edges` to be increasing ids in (0, {v}), got {edges!r}")
    prev, nxt = t[:-1], t[1:].numpy()
    unique, inverse = torch.unique(prev, return_inverse=True)
    from .train import one_thread

    with torch.no_grad(), one_thread():
        p = model.log_prob(unique).exp().numpy()  # (U, V)
    per_context = np.add.reduceat(p, bounds[:-1], axis=1)  # (U, buckets)
    model_share = per_context[inverse.numpy()].mean(axis=0)
    text_share = np.histogram(nxt, bins=bounds)[0] / nxt.size
    return model_share, text_share


def bucket_push(
    model: BigramLM,
    ids: Any,
    edges: Sequence[int],
    /,
    *,
    n_samples: int | None = None,
    proposal: Proposal | None = None,
    logq_correction: bool = True,
    n_draws: int = 20,
    rng: int = 0,
) -> np.ndarray:
    r"""How hard one step pushes down the logits of each frequency bucket, at fixed weights.

    For a batch of pairs ``(h_r, y_r)`` the gradient of the mean loss with respect to the
    output bias is ``(1/B) sum_r (p_r - onehot(y_r))``: the ``-onehot`` part pulls each target
    up, the ``p_r`` part pushes every word down in proportion to its probability. This
    function returns the push part, ``(1/B) sum_r sum_{k in bucket} p_{r,k}``, per bucket.
    With ``n_samples=None`` ``p`` is the full softmax; otherwise it is the sampled softmax's
    weights over the target and the sampled words (the same gradient's push part), averaged
    over `n_draws` draws of the negatives. A sampled softmax with an unbiased gradient would
    match the full softmax's push in every bucket.

    Parameters
    ----------
    model : BigramLM
        Weights at which the gradient is taken (not changed).
    ids : sequence of int or torch.Tensor
        Word ids; all ``len(ids) - 1`` consecutive pairs form the batch.
    edges : sequence of int
        Bucket boundaries, as :func:`bucket_mass`.
    n_samples, proposal, logq_correction
        As :func:`train_bigram`; ``n_samples=None`` gives the full softmax.
    n_draws : int, default 20
        Draws of the negatives to average over (sampled softmax only).
    rng : int, default 0
        Seed of the draws.

    Returns
    -------
    ndarray
        The push per bucket; the buckets' pushes sum to 1 (each row's weights sum to 1).
    """
    v = model.out.out_features
    t = _check_ids(ids, v, "ids")
    bounds = [0, *[int(e) for e in edges], v]
    if any(a >= b for a, b in itertools.pairwise(bounds)):
        raise ValueError(f"Expected `edges` to be increasing ids in (0, {v}), got {edges!r}")
    prev, nxt = t[:-1], t[1:]
    target_share = torch.bincount(nxt, minlength=v).double() / nxt.numel()  # (V,)
    draws = 1 if n_samples is None else _check_positive(n_draws, "n_draws")
    gen = np.random.default_rng([int(rng), 2])
    if n_samples is not None:
        proposal = Proposal.log_uniform(v) if proposal is None else proposal
    from .train import one_thread

    push = torch.zeros(v, dtype=torch.float64)
    with one_thread():
        h = model.context(prev).detach()
        for _ in range(draws):
            bias = model.out.bias.detach().clone().requires_grad_(True)
            if n_samples is None:
                loss = torch.nn.functional.cross_entropy(
                    torch.nn.functional.linear(h, model.out.weight.detach(), bias), nxt)
            else:
                loss = sampled_softmax_loss(
                    h, model.out.weight.detach(), bias, nxt, n_samples=n_samples,
                    proposal=proposal, logq_correction=logq_correction, rng=gen,
                )
            (grad,) = torch.autograd.grad(loss, bias)
            push += grad + target_share  # add back the pull on the targets
    return np.add.reduceat((push / draws).numpy(), bounds[:-1])


def ngram_perplexities(
    train_ids: Any, test_ids: Any, n_words: int, /, *, lam: float = 0.7
) -> tuple[float, float]:
    r"""Held-out perplexities of two count-based models: add-one unigram, interpolated bigram.

    .. math::

        p_1(w) = \frac{c(w) + 1}{N + V}, \qquad
        p_2(w \mid u) = \lambda \frac{c(u, w)}{c(u)} + (1 - \lambda)\, p_1(w)

    (``p_2 = p_1`` for a previous word ``u`` never seen in training).

    Parameters
    ----------
    train_ids, test_ids : sequence of int or torch.Tensor
        Word ids of the two parts of the text.
    n_words : int
        Vocabulary size ``V``.
    lam : float, default 0.7
        Weight of the bigram estimate, in ``[0, 1]``.

    Returns
    -------
    tuple of float
        ``(unigram perplexity, interpolated bigram perplexity)`` on the pairs of `test_ids`.

    Examples
    --------
    >>> ngram_perplexities([0, 1, 0, 1, 0, 1], [0, 1, 0], 2, lam=1.0)
    (2.0, 1.0)
    """
    v = _check_positive(n_words, "n_words")
    tr = _check_ids(train_ids, v, "train_ids")
    te = _check_ids(test_ids, v, "test_ids")
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not 0 <= lam <= 1:
        raise ValueError(f"Expected `lam` to be a number in [0, 1], got {lam!r}")
    unigram = (np.bincount(tr.numpy(), minlength=v) + 1.0) / (tr.numel() + v)
    prev_tr, nxt_tr, c_tr = _pair_counts(tr, v)
    pair = dict(zip((prev_tr * v + nxt_tr).tolist(), c_tr.tolist(), strict=True))
    c_prev = np.bincount(prev_tr, weights=c_tr, minlength=v)
    prev, nxt, counts = _pair_counts(te, v)
    ml = np.array([pair.get(int(k), 0.0) for k in prev * v + nxt])
    seen = c_prev[prev] > 0
    bigram = np.where(seen, lam * ml / np.maximum(c_prev[prev], 1.0), 0.0)
    bigram = bigram + np.where(seen, 1.0 - lam, 1.0) * unigram[nxt]
    n = counts.sum()
    ppl1 = float(np.exp(-np.sum(counts * np.log(unigram[nxt])) / n))
    ppl2 = float(np.exp(-np.sum(counts * np.log(bigram)) / n))
    return ppl1, ppl2
