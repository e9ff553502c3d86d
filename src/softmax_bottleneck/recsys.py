r"""Retrieval with in-batch sampled softmax and the log-Q correction, on a synthetic catalogue (Book: chapter 7).

A retrieval model scores every item ``i`` for a user ``u`` by a dot product
``s(u, i) = e_u^T f_i`` and is trained with a softmax over the catalogue. Catalogues are large,
so recommender systems train with a *sampled* softmax whose negatives are the other items of
the same mini-batch ("in-batch negatives"). Those items arrive in proportion to their
popularity, so the proposal is ``q(i)`` = the item's share of the interactions, and the
log-Q correction of Yi et al. (2019) subtracts ``log q(i)`` from the logits, exactly as
:func:`~softmax_bottleneck.models.adaptive.sampled_softmax_loss` subtracts ``log(S q)``.

* :func:`make_catalogue` draws a synthetic catalogue with Zipf popularity and a known
  preference model (no recommender data set ships with the book's dependencies, and a known
  model lets the chapter say what the right answer is).
* :func:`in_batch_softmax_loss` is the in-batch loss with the correction on no logit, on every
  logit (Yi et al.), or on the negatives only.
* :func:`train_retrieval` trains user and item embeddings (a two-tower model whose towers are
  embedding tables, i.e. matrix factorisation) with that loss.
* :func:`recall_at_k` measures retrieval overall or for a subset of items (head or tail).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ._validation import check_choice, check_rng

__all__ = [
    "CORRECTIONS",
    "Catalogue",
    "in_batch_softmax_loss",
    "make_catalogue",
    "recall_at_k",
    "train_retrieval",
]

CORRECTIONS = ("none", "all", "negatives")


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"Expected `{name}` to be a positive integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Catalogue:
    """A synthetic catalogue: who likes what, how popular each item is, and the interactions.

    Attributes
    ----------
    user_factors : ndarray
        ``(U, k)`` true user tastes.
    item_factors : ndarray
        ``(I, k)`` true item attributes.
    log_popularity : ndarray
        ``(I,)`` log of the Zipf popularity prior (normalised); item 0 is the most popular.
    train, test : ndarray
        ``(n, 2)`` int64 (user, item) interactions drawn from :meth:`true_log_probs`.
    """

    user_factors: np.ndarray
    item_factors: np.ndarray
    log_popularity: np.ndarray
    train: np.ndarray
    test: np.ndarray

    @property
    def n_users(self) -> int:
        return int(self.user_factors.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.item_factors.shape[0])

    def true_log_probs(self) -> np.ndarray:
        """``log p(i | u)``, shape (U, I): ``log_softmax(x_u^T y_i + log popularity_i)``."""
        z = self.user_factors @ self.item_factors.T + self.log_popularity  # (U, I)
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def item_share(self) -> np.ndarray:
        """Each item's share of the training interactions (``q`` of in-batch sampling), (I,)."""
        counts = np.bincount(self.train[:, 1], minlength=self.n_items).astype(np.float64)
        return counts / counts.sum()


def make_catalogue(
    *,
    n_users: int = 1000,
    n_items: int = 1000,
    n_factors: int = 8,
    zipf_exponent: float = 1.0,
    taste_scale: float = 1.0,
    n_train: int = 20,
    n_test: int = 5,
    rng: Any = 0,
) -> Catalogue:
    r"""Draw a catalogue with Zipf popularity and a known preference model.

    User ``u`` picks item ``i`` with probability

    .. math::

        p(i \mid u) \propto \mathrm{pop}(i)\, e^{x_u^\top y_i},
        \qquad \mathrm{pop}(i) \propto (i + 1)^{-a}

    where ``x_u`` and ``y_i`` are Gaussian with variance ``taste_scale**2 / k`` per
    component (so ``x_u^T y_i`` has variance about ``taste_scale**4 / k``) and ``a`` is
    `zipf_exponent`. Each user makes ``n_train`` training and ``n_test`` held-out picks.

    Parameters
    ----------
    n_users, n_items, n_factors : int
        ``U``, ``I`` and ``k``.
    zipf_exponent : float, default 1.0
        ``a >= 0``: 0 gives no popularity skew.
    taste_scale : float, default 1.0
        Strength of personal taste against popularity (positive).
    n_train, n_test : int
        Interactions per user in each part.
    rng : int, None or numpy.random.Generator

    Returns
    -------
    Catalogue

    Examples
    --------
    >>> cat = make_catalogue(n_users=50, n_items=40, n_train=4, n_test=1, rng=0)
    >>> cat.train.shape, cat.test.shape
    ((200, 2), (50, 2))
    >>> bool(np.allclose(np.exp(cat.true_log_probs()).sum(1), 1.0))
    True
    """
    u = _positive_int(n_users, "n_users")
    n_i = _positive_int(n_items, "n_items")
    k = _positive_int(n_factors, "n_factors")
    n_tr = _positive_int(n_train, "n_train")
    n_te = _positive_int(n_test, "n_test")
    for name, value, low in (("zipf_exponent", zipf_exponent, 0.0),
                             ("taste_scale", taste_scale, 0.0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            math.isfinite(value) and value >= low
        ):
            raise ValueError(f"Expected `{name}` to be a finite number >= {low}, got {value!r}")
    gen = check_rng(rng)
    scale = float(taste_scale) / math.sqrt(k)
    x = gen.normal(0.0, scale, size=(u, k))
    y = gen.normal(0.0, scale, size=(n_i, k))
    log_pop = -float(zipf_exponent) * np.log(np.arange(1, n_i + 1, dtype=np.float64))
    log_pop -= np.log(np.exp(log_pop).sum())
    cat = Catalogue(x, y, log_pop, np.empty((0, 2), np.int64), np.empty((0, 2), np.int64))
    p = np.exp(cat.true_log_probs())  # (U, I)
    cdf = np.cumsum(p, axis=1)
    picks = (gen.random((u, n_tr + n_te))[:, :, None] > cdf[:, None, :]).sum(-1)  # (U, n)
    picks = np.minimum(picks, n_i - 1)
    users = np.repeat(np.arange(u), n_tr + n_te).reshape(u, -1)
    pairs = np.stack([users, picks], axis=-1).astype(np.int64)  # (U, n, 2)
    train = pairs[:, :n_tr].reshape(-1, 2)
    test = pairs[:, n_tr:].reshape(-1, 2)
    return Catalogue(x, y, log_pop, train, test)


def in_batch_softmax_loss(
    user_emb: torch.Tensor,
    item_emb: torch.Tensor,
    log_q: torch.Tensor,
    /,
    *,
    correction: str = "all",
    item_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Softmax over the items of the batch: row ``b``'s positive is item ``b``.

    .. math::

        \ell_b = -s_{bb} + \log \sum_{j=1}^{B} e^{s_{bj}}, \qquad
        s_{bj} = e_{u_b}^\top f_{i_j} - c_{bj} \log q(i_j)

    with ``c_{bj} = 0`` everywhere (``"none"``), ``1`` everywhere (``"all"``, Yi et al.
    2019), or ``1`` only off the diagonal (``"negatives"``: the positive is always in the
    sum, it was not sampled, as in
    :func:`~softmax_bottleneck.models.adaptive.sampled_softmax_loss`). Given `item_ids`,
    copies of a row's positive item elsewhere in the batch are masked out of its negatives.

    Parameters
    ----------
    user_emb : torch.Tensor
        ``(B, k)`` user (query tower) outputs.
    item_emb : torch.Tensor
        ``(B, k)`` item (item tower) outputs of the positives.
    log_q : torch.Tensor
        ``(B,)`` log sampling probability of each item of the batch.
    correction : {"none", "all", "negatives"}, default "all"
    item_ids : torch.Tensor, optional
        ``(B,)`` ids of the positives, to mask duplicates.

    Returns
    -------
    torch.Tensor
        The mean loss, 0-d.

    Examples
    --------
    >>> e = torch.eye(3, dtype=torch.float64)
    >>> lq = torch.log(torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64))
    >>> round(float(in_batch_softmax_loss(e, e, lq, correction="none")), 4)   # log(1 + 2/e)
    0.5514
    """
    check_choice(correction, "correction", CORRECTIONS)
    if user_emb.ndim != 2 or user_emb.shape != item_emb.shape or log_q.shape != user_emb.shape[:1]:
        raise ValueError(
            "Expected `user_emb` and `item_emb` of one shape (B, k) and `log_q` of shape (B,), "
            f"got {tuple(user_emb.shape)}, {tuple(item_emb.shape)}, {tuple(log_q.shape)}"
        )
    scores = user_emb @ item_emb.T  # (B, B)
    b = scores.shape[0]
    eye = torch.eye(b, dtype=torch.bool, device=scores.device)
    if correction == "all":
        scores = scores - log_q[None, :]
    elif correction == "negatives":
        scores = scores - torch.where(eye, torch.zeros_like(scores), log_q[None, :].expand(b, b))
    if item_ids is not None:
        duplicate = (item_ids[:, None] == item_ids[None, :]) & ~eye  # (B, B)
        scores = scores.masked_fill(duplicate, float("-inf"))
    return torch.nn.functional.cross_entropy(scores, torch.arange(b, device=scores.device))


def train_retrieval(
    catalogue: Catalogue,
    /,
    *,
    correction: str = "all",
    dim: int = 16,
    steps: int = 300,
    batch_size: int = 256,
    lr: float = 0.05,
    rng: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Train user and item embeddings with the in-batch softmax, in float64 on one thread.

    Each step draws ``batch_size`` training interactions uniformly (so each item arrives in
    proportion to its popularity); ``log q`` is the log of each item's share of the training
    interactions (:meth:`Catalogue.item_share`), known exactly here, estimated from a stream
    by Yi et al. (2019). The same `rng` gives every `correction` the same initial embeddings
    and batches.

    Parameters
    ----------
    catalogue : Catalogue
    correction : {"none", "all", "negatives"}, default "all"
    dim, steps, batch_size : int
    lr : float, default 0.05
        Adam's learning rate.
    rng : int, default 0

    Returns
    -------
    tuple of ndarray
        User embeddings ``(U, dim)`` and item embeddings ``(I, dim)``; score all items for
        all users with ``users @ items.T``.
    """
    check_choice(correction, "correction", CORRECTIONS)
    dim = _positive_int(dim, "dim")
    steps = _positive_int(steps, "steps")
    batch_size = _positive_int(batch_size, "batch_size")
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"Expected `rng` to be an integer seed, got {rng!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng))
        users = nn.Embedding(catalogue.n_users, dim).double()
        items = nn.Embedding(catalogue.n_items, dim).double()
        with torch.no_grad():
            users.weight.mul_(0.1)
            items.weight.mul_(0.1)
    share = catalogue.item_share()
    log_q = torch.as_tensor(np.log(np.maximum(share, 1e-12)))
    train = torch.as_tensor(catalogue.train)
    gen = torch.Generator().manual_seed(int(rng))
    opt = torch.optim.Adam([*users.parameters(), *items.parameters()], lr=lr)
    from .train import one_thread

    with one_thread():
        for _ in range(steps):
            batch = train[torch.randint(0, train.shape[0], (batch_size,), generator=gen)]
            u, i = batch[:, 0], batch[:, 1]
            opt.zero_grad()
            loss = in_batch_softmax_loss(users(u), items(i), log_q[i], correction=correction,
                                         item_ids=i)
            loss.backward()
            opt.step()
    return users.weight.detach().numpy().copy(), items.weight.detach().numpy().copy()


def recall_at_k(
    scores: Any, pairs: Any, /, *, k: int = 10, items: Any = None, exclude: Any = None
) -> float:
    """Share of held-out (user, item) pairs whose item is among the user's top ``k`` scores.

    Parameters
    ----------
    scores : array_like
        ``(U, I)`` scores (higher = recommended first).
    pairs : array_like
        ``(n, 2)`` held-out (user, item) pairs.
    k : int, default 10
    items : array_like of bool, optional
        ``(I,)`` mask: count only the pairs whose item is in this subset (e.g. the head or
        the tail of the catalogue); the top ``k`` is still taken over all items.
    exclude : array_like, optional
        ``(m, 2)`` (user, item) pairs to remove from each user's ranking first (the training
        interactions, as is usual in recommender evaluation).

    Returns
    -------
    float
        Recall@k in ``[0, 1]`` (nan if no pair is counted).

    Examples
    --------
    >>> s = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    >>> recall_at_k(s, np.array([[0, 0], [1, 0]]), k=2)
    0.5
    """
    s = np.array(scores, dtype=np.float64)  # a copy: exclusions write into it
    p = np.asarray(pairs, dtype=np.int64)
    k = _positive_int(k, "k")
    if s.ndim != 2 or p.ndim != 2 or p.shape[1] != 2:
        raise ValueError("Expected `scores` of shape (U, I) and `pairs` of shape (n, 2)")
    if exclude is not None:
        e = np.asarray(exclude, dtype=np.int64)
        s[e[:, 0], e[:, 1]] = -np.inf
    if items is not None:
        keep = np.asarray(items, dtype=bool)[p[:, 1]]
        p = p[keep]
    if p.shape[0] == 0:
        return float("nan")
    kth = np.partition(-s, k - 1, axis=1)[:, k - 1]  # (U,) minus the k-th largest score
    hit = -s[p[:, 0], p[:, 1]] <= kth[p[:, 0]]
    return float(hit.mean())
