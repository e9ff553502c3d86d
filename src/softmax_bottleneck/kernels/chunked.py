"""Cross-entropy over a large vocabulary without the (N, V) logits (Book: chapter 8).

A language model's loss is ``cross_entropy(hidden @ weight.T, target)``. With N = 8 K tokens
and V = 128 K words the logits alone are N V = 2^30 values (4 GiB in float32), and autograd
keeps them, their log-softmax and their gradient alive at once. Yet the loss needs only one
number per token, and the gradient of the logits is used once, to form the gradients of
`hidden` and `weight`.

So process the tokens in chunks of C rows and finish each chunk before the next:

.. code-block:: text

    for each chunk h_c (C, d) and its targets y_c:
        z   = h_c @ W.T                      # (C, V): the only large temporary
        lse = logsumexp(z)                   # (C,), with z overwritten by exp(z - max)
        loss += sum(lse - z[y_c])
        g   = softmax(z) - onehot(y_c)       # (C, V), in place of z
        grad_h[c] = g @ W                    # (C, d)
        grad_W   += g.T @ h_c                # (V, d)

The gradients are computed during the forward pass (as Liger-Kernel does) and stored; the
backward pass only scales them by the upstream gradient. Peak extra memory is about
``2 C V + V d + N d`` values instead of several ``N V``.
"""

from __future__ import annotations

import numbers
from typing import Any

from .._validation import REDUCTIONS, check_choice, is_torch_tensor

__all__ = ["chunked_cross_entropy"]


def _check(hidden: Any, weight: Any, target: Any, chunk_size: Any) -> None:
    for name, t in (("hidden", hidden), ("weight", weight), ("target", target)):
        if not is_torch_tensor(t):
            raise TypeError(f"Expected `{name}` to be a torch.Tensor, got {type(t).__name__}")
    if not hidden.is_floating_point():
        raise TypeError(f"Expected `hidden` to be floating point, got dtype {hidden.dtype}")
    if weight.dtype != hidden.dtype:
        raise TypeError(
            f"Expected `weight` to have the dtype of `hidden` ({hidden.dtype}), got {weight.dtype}"
        )
    if target.is_floating_point() or target.is_complex() or str(target.dtype) == "torch.bool":
        raise TypeError(f"Expected `target` to hold integer class indices, got {target.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"Expected `weight` to have shape (V, d), got {tuple(weight.shape)}")
    if hidden.ndim < 1 or hidden.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"Expected `hidden` to have shape (..., {weight.shape[1]}) to match `weight` "
            f"{tuple(weight.shape)}, got {tuple(hidden.shape)}"
        )
    if tuple(target.shape) != tuple(hidden.shape[:-1]):
        raise ValueError(
            f"Expected `target` to have shape {tuple(hidden.shape[:-1])}, got {tuple(target.shape)}"
        )
    if weight.device != hidden.device or target.device != hidden.device:
        raise ValueError("Expected `hidden`, `weight` and `target` on the same device")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral):
        raise TypeError(f"Expected `chunk_size` to be a positive integer, got {chunk_size!r}")
    if chunk_size <= 0:
        raise ValueError(f"Expected `chunk_size` to be a positive integer, got {chunk_size!r}")
    if target.numel():
        lo, hi = int(target.min()), int(target.max())
        if lo < 0 or hi >= weight.shape[0]:
            raise ValueError(
                f"Expected `target` class indices in [0, {weight.shape[0] - 1}], got values "
                f"in [{lo}, {hi}]"
            )


def _function() -> Any:
    import torch

    class ChunkedCrossEntropy(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, hidden: Any, weight: Any, target: Any, chunk_size: int) -> Any:
            n = hidden.shape[0]  # hidden: (N, d)
            need_h, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
            acc = torch.float32 if hidden.dtype in (torch.float16, torch.bfloat16) else None
            losses = torch.empty(n, dtype=acc or hidden.dtype, device=hidden.device)
            grad_h = torch.empty_like(hidden) if need_h else None  # (N, d)
            grad_w = torch.zeros_like(weight, dtype=acc or weight.dtype) if need_w else None
            w = weight if acc is None else weight.to(acc)  # (V, d)
            for i in range(0, n, chunk_size):
                h = hidden[i : i + chunk_size]  # (C, d)
                h = h if acc is None else h.to(acc)
                y = target[i : i + chunk_size]  # (C,)
                z = h @ w.T  # (C, V): read Cd + Vd, write CV; the only (C, V) buffer
                z_y = z.gather(1, y[:, None]).squeeze(1)  # (C,): the target logits
                m = z.amax(dim=1, keepdim=True)  # (C, 1): read CV
                g = z.sub_(m).exp_()  # e^(z - m), in place: read CV, write CV
                s = g.sum(dim=1, keepdim=True)  # (C, 1): read CV
                lse = m.squeeze(1) + s.squeeze(1).log()  # (C,)
                losses[i : i + chunk_size] = lse - z_y
                if need_h or need_w:
                    g.div_(s)  # softmax, in place: read CV, write CV
                    g[torch.arange(len(y), device=g.device), y] -= 1.0  # softmax - onehot
                    if need_h:
                        grad_h[i : i + chunk_size] = g @ w  # (C, d): read CV + Vd
                    if need_w:
                        grad_w.addmm_(g.T, h)  # (V, d) += (V, C) @ (C, d): read CV + Cd
                del z, g
            ctx.save_for_backward(grad_h, grad_w, hidden, weight, target)
            ctx.chunk_size = chunk_size
            return losses

        @staticmethod
        def backward(ctx: Any, grad_losses: Any) -> Any:
            grad_h, grad_w, hidden, weight, target = ctx.saved_tensors
            gh = gw = None
            if grad_h is not None:
                gh = grad_h * grad_losses[:, None].to(grad_h.dtype)  # (N, d)
            if grad_w is not None:
                # grad_w summed the per-token gradients with weight 1: exact for a uniform
                # upstream gradient (reductions "mean" and "sum"). Otherwise recompute it,
                # chunk by chunk, with each token's weight.
                if grad_losses.numel() == 0 or bool((grad_losses == grad_losses[0]).all()):
                    gw = grad_w * (grad_losses[0] if grad_losses.numel() else 0.0)
                else:
                    gw = _weighted_grad_weight(hidden, weight, target, grad_losses, ctx.chunk_size)
            return gh, gw, None, None

    def _weighted_grad_weight(hidden: Any, weight: Any, target: Any, u: Any, c: int) -> Any:
        acc = torch.float32 if hidden.dtype in (torch.float16, torch.bfloat16) else hidden.dtype
        w = weight.to(acc)
        gw = torch.zeros_like(w)  # (V, d)
        for i in range(0, hidden.shape[0], c):
            h = hidden[i : i + c].to(acc)  # (C, d)
            y = target[i : i + c]
            g = torch.softmax(h @ w.T, dim=1)  # (C, V)
            g[torch.arange(len(y), device=g.device), y] -= 1.0
            g *= u[i : i + c, None].to(acc)
            gw.addmm_(g.T, h)
        return gw.to(weight.dtype)

    return ChunkedCrossEntropy


_FN: list[Any] = []


def chunked_cross_entropy(
    hidden: Any,
    weight: Any,
    target: Any,
    /,
    *,
    chunk_size: int = 1024,
    reduction: str = "mean",
) -> Any:
    r"""Cross-entropy of ``hidden @ weight.T`` against `target`, computed chunk by chunk.

    Equal (to rounding) to ``F.cross_entropy(hidden @ weight.T, target)`` and to its
    gradients with respect to `hidden` and `weight`, without ever holding the full (N, V)
    logits or probabilities: at most `chunk_size` rows of them exist at a time.

    Parameters
    ----------
    hidden : torch.Tensor
        Final hidden states, shape ``(..., d)``, floating point.
    weight : torch.Tensor
        Output embedding (un-embedding) matrix, shape ``(V, d)``, the dtype of `hidden`.
    target : torch.Tensor
        Integer class indices in ``[0, V)``, shape ``hidden.shape[:-1]``.
    chunk_size : int, default 1024
        Tokens per chunk. Memory of the temporary logits is ``chunk_size * V`` values.
    reduction : {"mean", "sum", "none"}, default "mean"
        How to combine the per-token losses. With "none", gradients with respect to
        `weight` need a uniform upstream gradient.

    Returns
    -------
    torch.Tensor
        The loss (0-d for "mean" and "sum", shape ``target.shape`` for "none"), in the dtype
        of `hidden` (float16/bfloat16 inputs are accumulated in float32).

    Raises
    ------
    TypeError
        If an argument is not a tensor, dtypes do not match, `target` is not integer or
        `chunk_size` is not an integer.
    ValueError
        If shapes do not match, a target is out of range, `chunk_size` is not positive,
        tensors are on different devices, `reduction` is unknown or "mean" is asked of
        zero tokens.

    Notes
    -----
    The gradients are formed in the forward pass when `hidden` or `weight` require them,
    and the chunk's logits are turned into ``softmax - onehot`` in place, so a chunk costs
    ``C V`` values of memory. Book: chapter 8.

    Examples
    --------
    >>> import torch
    >>> import torch.nn.functional as F
    >>> from softmax_bottleneck.kernels import chunked_cross_entropy
    >>> g = torch.Generator().manual_seed(0)
    >>> h = torch.randn(10, 4, generator=g, requires_grad=True)
    >>> W = torch.randn(7, 4, generator=g, requires_grad=True)
    >>> y = torch.randint(0, 7, (10,), generator=g)
    >>> loss = chunked_cross_entropy(h, W, y, chunk_size=3)
    >>> bool(torch.allclose(loss, F.cross_entropy(h @ W.T, y)))
    True
    >>> loss.backward()
    >>> h.grad.shape, W.grad.shape
    (torch.Size([10, 4]), torch.Size([7, 4]))
    """
    _check(hidden, weight, target, chunk_size)
    check_choice(reduction, "reduction", REDUCTIONS)
    if not _FN:
        _FN.append(_function())
    batch_shape = tuple(target.shape)
    h2 = hidden.reshape(-1, hidden.shape[-1])  # (N, d)
    y = target.reshape(-1).long()  # (N,)
    if reduction == "mean" and y.numel() == 0:
        raise ValueError("Expected at least one token for reduction='mean', got none")
    losses = _FN[0].apply(h2, weight, y, int(chunk_size))  # (N,)
    if reduction == "mean":
        out = losses.mean()
    elif reduction == "sum":
        out = losses.sum()
    else:
        out = losses.reshape(batch_shape)
    return out.to(hidden.dtype)
