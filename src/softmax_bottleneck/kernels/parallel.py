"""Softmax cross-entropy with the vocabulary split across processes (Book: chapter 8).

When the output layer is too large for one device, each of P ranks holds a shard of the
vocabulary: rows ``[start, start + V/P)`` of the un-embedding, hence a (N, V/P) block of the
logits. Softmax couples the whole row, but only through two numbers per token, the maximum
and the sum of exponentials, and those merge across shards exactly as the online softmax
merges blocks:

.. code-block:: text

    m   = all_reduce_max(max_j z_j over my shard)                 # (N,)
    s   = all_reduce_sum(sum_j exp(z_j - m) over my shard)        # (N,)
    z_y = all_reduce_sum(z[target] if target in my shard else 0)  # (N,)
    loss = log s + m - z_y

Three all-reduces of N values each, instead of gathering N V logits. The gradient of the
shard, ``softmax - onehot``, needs no further communication.

Concatenating *per-shard* softmaxes instead (each shard normalised on its own) is wrong: every
shard sums to 1, so the "distribution" sums to P. :func:`shard_union_softmax` computes that
wrong answer for the book.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._validation import REDUCTIONS, as_float_array, check_choice, is_torch_tensor

__all__ = ["run_vocab_parallel", "shard_union_softmax", "vocab_parallel_cross_entropy"]


def _function() -> Any:
    import torch
    import torch.distributed as dist

    class VocabParallelCrossEntropy(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, logits: Any, target: Any, vocab_start: int, group: Any) -> Any:
            z = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
            m = z.amax(dim=-1)  # (N,): local max
            dist.all_reduce(m, op=dist.ReduceOp.MAX, group=group)  # global max
            e = torch.exp(z - m[:, None])  # (N, V/P)
            s = e.sum(dim=-1)  # (N,)
            dist.all_reduce(s, op=dist.ReduceOp.SUM, group=group)  # global normaliser
            local = target - vocab_start  # (N,)
            mine = (local >= 0) & (local < z.shape[-1])
            idx = local.clamp(0, z.shape[-1] - 1)
            z_y = torch.where(mine, z.gather(1, idx[:, None]).squeeze(1), torch.zeros_like(m))
            dist.all_reduce(z_y, op=dist.ReduceOp.SUM, group=group)  # target logit, 1 owner
            losses = torch.log(s) + m - z_y  # (N,)
            probs = e / s[:, None]  # (N, V/P): this shard's slice of the global softmax
            ctx.save_for_backward(probs, idx, mine)
            ctx.out_dtype = logits.dtype
            return losses

        @staticmethod
        def backward(ctx: Any, grad_losses: Any) -> Any:
            probs, idx, mine = ctx.saved_tensors
            g = probs.clone()
            rows = torch.arange(g.shape[0], device=g.device)
            g[rows[mine], idx[mine]] -= 1.0  # softmax - onehot, where the target is mine
            g *= grad_losses[:, None].to(g.dtype)
            return g.to(ctx.out_dtype), None, None, None

    return VocabParallelCrossEntropy


_FN: list[Any] = []


def vocab_parallel_cross_entropy(
    logits: Any,
    target: Any,
    /,
    *,
    vocab_start: int,
    group: Any = None,
    reduction: str = "mean",
) -> Any:
    r"""Cross-entropy when this process holds only a slice of the vocabulary's logits.

    Every rank of the process group calls this with its own shard ``logits[:, start:stop]``
    of the full (N, V) logits and the same `target`; every rank gets the loss of the full
    softmax, equal to ``F.cross_entropy(full_logits, target)``, and the gradient of its own
    shard.

    Parameters
    ----------
    logits : torch.Tensor
        This rank's shard of the logits, shape ``(N, V_shard)``, floating point.
    target : torch.Tensor
        Integer class indices into the *full* vocabulary, shape ``(N,)``, identical on
        every rank.
    vocab_start : int
        Index of this shard's first column in the full vocabulary.
    group : torch.distributed.ProcessGroup, optional
        The group that shares the vocabulary (default: the world).
    reduction : {"mean", "sum", "none"}, default "mean"

    Returns
    -------
    torch.Tensor
        The loss, identical on every rank.

    Raises
    ------
    TypeError
        If `logits` or `target` are not tensors of the right kind, or `vocab_start` is not
        an integer.
    ValueError
        If shapes do not match, `vocab_start` is negative or `reduction` is unknown.
    RuntimeError
        If ``torch.distributed`` is not initialised.

    Notes
    -----
    Three all-reduces of N values (max, sum, target logit) replace a gather of N V logits;
    the merge is the online-softmax merge of chapter 8. Book: chapter 8.

    Examples
    --------
    A one-process group is enough to run it (with two processes, each passes its half):

    >>> import os, tempfile, torch
    >>> import torch.distributed as dist
    >>> import torch.nn.functional as F
    >>> from softmax_bottleneck.kernels import vocab_parallel_cross_entropy
    >>> path = os.path.join(tempfile.mkdtemp(), "rendezvous")
    >>> dist.init_process_group("gloo", init_method=f"file://{path}", rank=0, world_size=1)
    >>> z = torch.tensor([[2.0, 1.0, 0.1]]); y = torch.tensor([0])
    >>> loss = vocab_parallel_cross_entropy(z, y, vocab_start=0)
    >>> bool(torch.isclose(loss, F.cross_entropy(z, y)))
    True
    >>> dist.destroy_process_group()
    """
    import torch
    import torch.distributed as dist

    if not is_torch_tensor(logits) or not logits.is_floating_point():
        raise TypeError("Expected `logits` to be a floating-point torch.Tensor")
    if not is_torch_tensor(target) or target.is_floating_point() or target.dtype == torch.bool:
        raise TypeError("Expected `target` to be a torch.Tensor of integer class indices")
    if logits.ndim != 2 or tuple(target.shape) != (logits.shape[0],):
        raise ValueError(
            f"Expected `logits` of shape (N, V_shard) and `target` of shape (N,), got "
            f"{tuple(logits.shape)} and {tuple(target.shape)}"
        )
    if isinstance(vocab_start, bool) or not isinstance(vocab_start, numbers.Integral):
        raise TypeError(f"Expected `vocab_start` to be an integer, got {vocab_start!r}")
    if vocab_start < 0:
        raise ValueError(f"Expected `vocab_start` to be non-negative, got {vocab_start}")
    check_choice(reduction, "reduction", REDUCTIONS)
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError("Expected torch.distributed to be initialised (init_process_group)")
    if not _FN:
        _FN.append(_function())
    losses = _FN[0].apply(logits, target.long(), int(vocab_start), group)
    if reduction == "mean":
        out = losses.mean()
    elif reduction == "sum":
        out = losses.sum()
    else:
        out = losses
    return out.to(logits.dtype)


def shard_union_softmax(logits: Any, /, *, n_shards: int) -> np.ndarray:
    r"""The *wrong* way to split softmax: normalise each vocabulary shard on its own.

    Splits the last axis into `n_shards` contiguous shards (as :func:`numpy.array_split`
    does), applies softmax to each shard separately and concatenates the results. Each
    shard sums to 1, so each row sums to `n_shards`, and probabilities from different shards
    are not comparable: this is what a vocabulary-parallel softmax computes without the
    all-reduces.

    Parameters
    ----------
    logits : array_like
        Logits, shape ``(..., V)``.
    n_shards : int
        Number of shards, ``1 <= n_shards <= V``.

    Returns
    -------
    numpy.ndarray
        The concatenated per-shard softmaxes, shape of `logits`.

    Raises
    ------
    TypeError
        If `logits` is not real-valued or `n_shards` is not an integer.
    ValueError
        If `n_shards` is outside ``[1, V]``.

    Examples
    --------
    >>> from softmax_bottleneck.kernels import shard_union_softmax
    >>> p = shard_union_softmax([3.0, 1.0, 0.0, -1.0], n_shards=2)
    >>> p.round(3), float(p.sum())
    (array([0.881, 0.119, 0.731, 0.269]), 2.0)
    """
    from ..softmax import softmax

    z = as_float_array(logits, "logits")
    if is_torch_tensor(z):
        z = z.detach().cpu().numpy()
    if z.ndim == 0:
        raise ValueError("Expected `logits` to have at least one dimension, got a 0-d input")
    if isinstance(n_shards, bool) or not isinstance(n_shards, numbers.Integral):
        raise TypeError(f"Expected `n_shards` to be an integer, got {n_shards!r}")
    if not 1 <= n_shards <= z.shape[-1]:
        raise ValueError(
            f"Expected `n_shards` to be an integer in [1, {z.shape[-1]}], got {n_shards}"
        )
    parts = np.array_split(z, n_shards, axis=-1)
    return np.concatenate([softmax(p) for p in parts], axis=-1)


def _worker(rank: int, world_size: int, init: str, logits: Any, target: Any, out_dir: str) -> None:
    """One rank of :func:`run_vocab_parallel` (module level, so that spawn can import it)."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world_size)
    try:
        shards = torch.tensor_split(logits, world_size, dim=1)
        start = sum(s.shape[1] for s in shards[:rank])
        z = shards[rank].clone().requires_grad_(True)  # (N, V/P): my shard
        loss = vocab_parallel_cross_entropy(z, target, vocab_start=start)
        loss.backward()
        torch.save({"loss": loss.detach(), "grad": z.grad}, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def run_vocab_parallel(logits: Any, target: Any, /, *, world_size: int = 2) -> tuple[Any, Any]:
    r"""Split `logits` by vocabulary over `world_size` CPU processes and run the loss there.

    Spawns `world_size` processes joined by a gloo process group; rank r receives the r-th
    vocabulary shard (columns, as :func:`torch.tensor_split` cuts them), calls
    :func:`vocab_parallel_cross_entropy` and back-propagates. A demonstration and a test
    harness: the result equals ``F.cross_entropy(logits, target)`` and its gradient.

    Parameters
    ----------
    logits : torch.Tensor
        The full logits, shape ``(N, V)``, floating point, on the CPU.
    target : torch.Tensor
        Class indices, shape ``(N,)``.
    world_size : int, default 2
        Number of processes, ``1 <= world_size <= V``.

    Returns
    -------
    loss : torch.Tensor
        The mean loss computed by rank 0 (every rank computes the same value).
    grad : torch.Tensor
        The gradient of the loss with respect to `logits`, the ranks' shards concatenated.

    Raises
    ------
    TypeError
        If `world_size` is not an integer.
    ValueError
        If `world_size` is outside ``[1, V]``, or the ranks disagree on the loss.

    Notes
    -----
    Starting the processes takes a few seconds (each imports torch). Book: chapter 8.

    Examples
    --------
    >>> import torch, torch.nn.functional as F
    >>> from softmax_bottleneck.kernels import run_vocab_parallel
    >>> z = torch.randn(8, 50); y = torch.randint(0, 50, (8,))
    >>> loss, grad = run_vocab_parallel(z, y, world_size=2)    # doctest: +SKIP
    >>> bool(torch.isclose(loss, F.cross_entropy(z, y)))       # doctest: +SKIP
    True
    """
    import tempfile

    import torch
    import torch.multiprocessing as mp

    if isinstance(world_size, bool) or not isinstance(world_size, numbers.Integral):
        raise TypeError(f"Expected `world_size` to be an integer, got {world_size!r}")
    if not is_torch_tensor(logits) or logits.ndim != 2:
        raise TypeError("Expected `logits` to be a 2-d torch.Tensor of shape (N, V)")
    if not 1 <= world_size <= logits.shape[1]:
        raise ValueError(
            f"Expected `world_size` to be an integer in [1, {logits.shape[1]}], got {world_size}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        init = f"file://{tmp}/rendezvous"
        mp.start_processes(
            _worker,
            args=(world_size, init, logits.detach().cpu(), target.cpu(), tmp),
            nprocs=world_size,
            join=True,
            start_method="spawn",
        )
        results = [torch.load(f"{tmp}/rank{r}.pt") for r in range(world_size)]
    losses = [r["loss"] for r in results]
    if not all(torch.equal(losses[0], loss) for loss in losses):
        raise ValueError(f"Expected every rank to compute the same loss, got {losses}")
    return losses[0], torch.cat([r["grad"] for r in results], dim=1)
