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
``C V + V d + N d`` values instead of several ``N V``: one chunk's logits, which are turned
in place into ``exp(z - max)``, then the softmax, then its gradient (so no second ``(C, V)``
buffer exists), plus the stored gradients of `weight` (``V d``) and `hidden` (``N d``). When the
matmul runs in a lower precision (autocast, float16 or bfloat16 inputs) add the casts: the
chunk's low-precision logits live next to their float32 copy for a moment, and the weight is
held once more in the matmul dtype. The float32 benchmark that chapter 8 reads (N = 8192,
V = 131072, d = 64, C = 512) measured a rise of 293 MiB, against ``C V + V d + N d`` = 256 +
32 + 2 MiB, where a plain ``cross_entropy`` rose by 12.0 GiB, about three ``(N, V)`` tensors.

The options follow ``torch.nn.functional.cross_entropy``: an optional `bias` (``z = h W^T +
b``), `ignore_index` (those tokens add nothing and are not counted by "mean"),
`label_smoothing` ε (target ``(1 - ε) onehot + ε / V``, so ``g = softmax - (1 - ε) onehot -
ε / V``) and `reduction`. Under ``torch.autocast`` the logits' matmul runs in the autocast
dtype, as ``hidden @ weight.T`` would, and everything after it in float32.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._typing import Tensor
from .._validation import (
    REDUCTIONS,
    check_choice,
    check_ignore_index,
    check_label_smoothing,
    is_integer,
    is_torch_tensor,
)

if TYPE_CHECKING:  # torch is imported where it is used: importing this module does not need it
    import torch

__all__ = ["chunked_cross_entropy"]


def _autocast_dtype(device_type: str) -> torch.dtype | None:
    """The autocast dtype active for `device_type`, or None when autocast is off."""
    import torch

    try:
        if torch.is_autocast_enabled(device_type):
            return torch.get_autocast_dtype(device_type)
    except TypeError:  # torch < 2.4: per-device functions
        if device_type == "cuda" and torch.is_autocast_enabled():
            return torch.get_autocast_gpu_dtype()
        if device_type == "cpu" and torch.is_autocast_cpu_enabled():
            return torch.get_autocast_cpu_dtype()
    return None


def _check(
    hidden: Tensor,
    weight: Tensor,
    target: Tensor,
    bias: Tensor | None,
    chunk_size: int,
    ignore_index: int | None,
    label_smoothing: float,
    autocast: bool,
) -> None:
    for name, t in (("hidden", hidden), ("weight", weight), ("target", target)):
        if not is_torch_tensor(t):
            raise TypeError(f"Expected `{name}` to be a torch.Tensor, got {type(t).__name__}")
    if bias is not None and not is_torch_tensor(bias):
        raise TypeError(f"Expected `bias` to be a torch.Tensor or None, got {type(bias).__name__}")
    if not hidden.is_floating_point():
        raise TypeError(f"Expected `hidden` to be floating point, got dtype {hidden.dtype}")
    # Under autocast, float32 master weights meet half-precision activations: both are cast.
    for name, p in (("weight", weight), ("bias", bias)):
        if p is None:
            continue
        if autocast and not p.is_floating_point():
            raise TypeError(f"Expected `{name}` to be floating point, got dtype {p.dtype}")
        if not autocast and p.dtype != hidden.dtype:
            raise TypeError(
                f"Expected `{name}` to have the dtype of `hidden` ({hidden.dtype}), got {p.dtype}"
            )
    if target.is_floating_point() or target.is_complex() or str(target.dtype) == "torch.bool":
        raise TypeError(f"Expected `target` to hold integer class indices, got {target.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"Expected `weight` to have shape (V, d), got {tuple(weight.shape)}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(
            f"Expected `bias` to have shape ({weight.shape[0]},), got {tuple(bias.shape)}"
        )
    if hidden.ndim < 1 or hidden.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"Expected `hidden` to have shape (..., {weight.shape[1]}) to match `weight` "
            f"{tuple(weight.shape)}, got {tuple(hidden.shape)}"
        )
    if tuple(target.shape) != tuple(hidden.shape[:-1]):
        raise ValueError(
            f"Expected `target` to have shape {tuple(hidden.shape[:-1])}, got {tuple(target.shape)}"
        )
    devices = {hidden.device, weight.device, target.device}
    if bias is not None:
        devices.add(bias.device)
    if len(devices) > 1:
        raise ValueError("Expected `hidden`, `weight`, `target` and `bias` on the same device")
    if not is_integer(chunk_size):
        raise TypeError(f"Expected `chunk_size` to be a positive integer, got {chunk_size!r}")
    if chunk_size <= 0:
        raise ValueError(f"Expected `chunk_size` to be a positive integer, got {chunk_size!r}")
    check_ignore_index(ignore_index)
    check_label_smoothing(label_smoothing)
    kept = target if ignore_index is None else target[target != ignore_index]
    if kept.numel():
        lo, hi = int(kept.min()), int(kept.max())
        if lo < 0 or hi >= weight.shape[0]:
            extra = "" if ignore_index is None else f" (or `ignore_index` {ignore_index})"
            raise ValueError(
                f"Expected `target` class indices in [0, {weight.shape[0] - 1}]{extra}, got "
                f"values in [{lo}, {hi}]"
            )


def _function() -> type[torch.autograd.Function]:
    import torch

    def chunk(
        h: Tensor,
        y: Tensor,
        w_mm: Tensor,
        b: Tensor | None,
        acc: torch.dtype,
        ignore_index: int | None,
        eps: float,
        need_grad: bool,
    ) -> tuple[Tensor, Tensor | None]:
        """Per-token losses (C,) and, if `need_grad`, g = d loss / d z (C, V), in `acc`."""
        z = h.to(w_mm.dtype) @ w_mm.T  # (C, V): read Cd + Vd, write CV; the only big buffer
        if z.dtype != acc:
            z = z.to(acc)  # autocast or half precision: the rest runs in float32
        if b is not None:
            z += b  # (V,) broadcast over the chunk
        valid = None if ignore_index is None else y != ignore_index  # (C,)
        y0 = y if valid is None else torch.where(valid, y, torch.zeros_like(y))
        z_y = z.gather(1, y0[:, None]).squeeze(1)  # (C,): the target logits
        z_mean = z.mean(dim=1) if eps else None  # (C,): for the smoothing term, None if eps == 0
        m = z.amax(dim=1, keepdim=True)  # (C, 1): read CV
        g = z.sub_(m).exp_()  # e^(z - m), in place: read CV, write CV
        s = g.sum(dim=1, keepdim=True)  # (C, 1): read CV
        lse = m.squeeze(1) + s.squeeze(1).log()  # (C,)
        loss = lse - z_y
        if z_mean is not None:  # eps != 0
            loss = (1.0 - eps) * loss + eps * (lse - z_mean)
        if valid is not None:
            loss = torch.where(valid, loss, torch.zeros_like(loss))
        if not need_grad:
            return loss, None
        g.div_(s)  # softmax, in place: read CV, write CV
        if eps:
            g.sub_(eps / g.shape[1])
        g[torch.arange(len(y), device=g.device), y0] -= 1.0 - eps  # softmax - target
        if valid is not None:
            g.mul_(valid[:, None])  # ignored tokens pass back nothing
        return loss, g

    class ChunkedCrossEntropy(torch.autograd.Function):
        @staticmethod
        def forward(
            ctx: Any,  # torch's FunctionCtx, with the attributes set below
            hidden: Tensor,
            weight: Tensor,
            bias: Tensor | None,
            target: Tensor,
            chunk_size: int,
            ignore_index: int | None,
            eps: float,
            mm_dtype: torch.dtype | None,
        ) -> Tensor:
            n = hidden.shape[0]  # hidden: (N, d)
            need_h, need_w, need_b = ctx.needs_input_grad[:3]
            acc = _acc_dtype(hidden, weight)
            mm = mm_dtype or acc
            # Autocast is switched off inside: every cast below is explicit.
            with torch.autocast(device_type=hidden.device.type, enabled=False):
                losses = torch.empty(n, dtype=acc, device=hidden.device)
                grad_h = torch.empty_like(hidden) if need_h else None  # (N, d)
                grad_w = torch.zeros_like(weight, dtype=acc) if need_w else None  # (V, d)
                grad_b = torch.zeros(weight.shape[0], dtype=acc, device=hidden.device)
                w_mm = weight.to(mm)  # (V, d): no copy when already in `mm`
                w_acc = w_mm if mm == acc else weight.to(acc)  # for g @ W, in `acc`
                b = None if bias is None else bias.to(acc)
                for i in range(0, n, chunk_size):
                    h = hidden[i : i + chunk_size]  # (C, d)
                    y = target[i : i + chunk_size]  # (C,)
                    loss, g = chunk(
                        h, y, w_mm, b, acc, ignore_index, eps, need_h or need_w or need_b
                    )
                    losses[i : i + chunk_size] = loss
                    if g is None:
                        continue
                    if grad_h is not None:  # need_h
                        grad_h[i : i + chunk_size] = g @ w_acc  # (C, d): read CV + Vd
                    if grad_w is not None:  # need_w
                        grad_w.addmm_(g.T, h.to(acc))  # (V, d) += (V, C) @ (C, d)
                    if need_b:
                        grad_b += g.sum(dim=0)  # (V,)
                    del g
            ctx.save_for_backward(
                grad_h, grad_w, grad_b if need_b else None, hidden, weight, bias, target
            )
            ctx.options = (chunk_size, ignore_index, eps, mm_dtype)
            return losses

        @staticmethod
        def backward(ctx: Any, grad_losses: Tensor) -> tuple[Tensor | None, ...]:
            grad_h, grad_w, grad_b, hidden, weight, bias, target = ctx.saved_tensors
            gh = gw = gb = None
            if grad_h is not None:
                gh = (grad_h * grad_losses[:, None].to(grad_h.dtype)).to(hidden.dtype)  # (N, d)
            if grad_w is not None or grad_b is not None:
                # grad_w and grad_b summed the per-token gradients with weight 1: exact for a
                # uniform upstream gradient (reductions "mean" and "sum"). Otherwise recompute
                # them, chunk by chunk, with each token's weight.
                uniform = grad_losses.numel() == 0 or bool((grad_losses == grad_losses[0]).all())
                if uniform:
                    u = grad_losses[0] if grad_losses.numel() else 0.0
                    gw = None if grad_w is None else (grad_w * u).to(weight.dtype)
                    gb = None if grad_b is None else (grad_b * u).to(bias.dtype)
                else:
                    gw, gb = _weighted(
                        hidden, weight, bias, target, grad_losses, ctx, grad_w, grad_b
                    )
            return gh, gw, gb, None, None, None, None, None

    def _weighted(
        hidden: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        target: Tensor,
        u: Tensor,
        ctx: Any,
        grad_w: Tensor | None,
        grad_b: Tensor | None,
    ) -> tuple[Tensor | None, Tensor | None]:
        c, ignore_index, eps, mm_dtype = ctx.options
        acc = _acc_dtype(hidden, weight)
        with torch.autocast(device_type=hidden.device.type, enabled=False):
            w_mm = weight.to(mm_dtype or acc)
            b = None if bias is None else bias.to(acc)
            gw = None if grad_w is None else torch.zeros_like(grad_w)  # (V, d)
            gb = None if grad_b is None else torch.zeros_like(grad_b)  # (V,)
            for i in range(0, hidden.shape[0], c):
                h, y = hidden[i : i + c], target[i : i + c]  # (C, d), (C,)
                _, g = chunk(h, y, w_mm, b, acc, ignore_index, eps, True)
                assert g is not None  # need_grad=True: chunk returned the gradient
                g *= u[i : i + c, None].to(acc)
                if gw is not None:
                    gw.addmm_(g.T, h.to(acc))
                if gb is not None:
                    gb += g.sum(dim=0)
        return (
            None if gw is None else gw.to(weight.dtype),
            None if gb is None or bias is None else gb.to(bias.dtype),  # gb needs a bias
        )

    def _acc_dtype(hidden: Tensor, weight: Tensor) -> torch.dtype:
        acc = torch.promote_types(hidden.dtype, weight.dtype)
        return torch.float32 if acc in (torch.float16, torch.bfloat16) else acc

    return ChunkedCrossEntropy


_FN: list[type[torch.autograd.Function]] = []


def chunked_cross_entropy(
    hidden: Tensor,
    weight: Tensor,
    target: Tensor,
    /,
    *,
    bias: Tensor | None = None,
    chunk_size: int = 1024,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
) -> Tensor:
    r"""Cross-entropy of ``hidden @ weight.T (+ bias)`` against `target`, chunk by chunk.

    Equal (to rounding) to ``F.cross_entropy(hidden @ weight.T + bias, target, ...)`` and to
    its gradients with respect to `hidden`, `weight` and `bias`, without ever holding the full
    (N, V) logits or probabilities: at most `chunk_size` rows of them exist at a time.

    Parameters
    ----------
    hidden : torch.Tensor
        Final hidden states, shape ``(..., d)``, floating point.
    weight : torch.Tensor
        Output embedding (un-embedding) matrix, shape ``(V, d)``, the dtype of `hidden`
        (under ``torch.autocast`` any floating dtype: both are cast to the autocast dtype).
    target : torch.Tensor
        Integer class indices in ``[0, V)`` (or `ignore_index`), shape ``hidden.shape[:-1]``.
    bias : torch.Tensor, optional
        Output bias, shape ``(V,)``, the dtype of `weight`.
    chunk_size : int, default 1024
        Tokens per chunk. Memory of the temporary logits is ``chunk_size * V`` values.
    reduction : {"mean", "sum", "none"}, default "mean"
        How to combine the per-token losses. "mean" divides by the number of tokens not
        ignored (NaN if all are, as in PyTorch).
    ignore_index : int or None, default None
        Tokens whose target equals it (padding) have loss 0 and gradient 0. None ignores
        nothing; pass -100 for PyTorch's and Liger-Kernel's convention.
    label_smoothing : float, default 0.0
        ε in [0, 1]: the target becomes ``(1 - ε) onehot + ε / V``, as in PyTorch.

    Returns
    -------
    torch.Tensor
        The loss (0-d for "mean" and "sum", shape ``target.shape`` for "none"), in the dtype
        of `hidden` (float16/bfloat16 inputs are accumulated in float32; under autocast the
        loss is float32, as ``F.cross_entropy`` gives).

    Raises
    ------
    TypeError
        If an argument is not a tensor, dtypes do not match, `target` is not integer,
        `chunk_size` or `ignore_index` is not an integer or `label_smoothing` not a number.
    ValueError
        If shapes do not match, a target is out of range, `chunk_size` is not positive,
        `label_smoothing` is outside [0, 1], tensors are on different devices, `reduction`
        is unknown or "mean" is asked of zero tokens.

    Notes
    -----
    The gradients are formed in the forward pass when an input requires them, and the
    chunk's logits are turned into ``softmax - target`` in place, so a chunk costs ``C V``
    values of memory. The returned gradients are constants to autograd: no double backward.
    Book: chapter 8.

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

    Padding tokens marked -100, label smoothing and a bias, as PyTorch does them:

    >>> b = torch.randn(7, generator=g)
    >>> y[:3] = -100
    >>> loss = chunked_cross_entropy(h, W, y, bias=b, ignore_index=-100, label_smoothing=0.1)
    >>> ref = F.cross_entropy(h @ W.T + b, y, ignore_index=-100, label_smoothing=0.1)
    >>> bool(torch.allclose(loss, ref))
    True
    """
    mm_dtype = None  # the autocast dtype of the logits' matmul, if autocast is on
    if is_torch_tensor(hidden) and is_torch_tensor(weight):
        import torch

        mm_dtype = _autocast_dtype(hidden.device.type)
        if mm_dtype is not None and torch.float64 in (hidden.dtype, weight.dtype):
            mm_dtype = None  # autocast leaves float64 alone
    _check(
        hidden,
        weight,
        target,
        bias,
        chunk_size,
        ignore_index,
        label_smoothing,
        mm_dtype is not None,
    )
    check_choice(reduction, "reduction", REDUCTIONS)
    eps = check_label_smoothing(label_smoothing)
    if not _FN:
        _FN.append(_function())
    batch_shape = tuple(target.shape)
    h2 = hidden.reshape(-1, hidden.shape[-1])  # (N, d)
    y = target.reshape(-1).long()  # (N,)
    if reduction == "mean" and y.numel() == 0:
        raise ValueError("Expected at least one token for reduction='mean', got none")
    ignore = None if ignore_index is None else int(ignore_index)
    losses = _FN[0].apply(h2, weight, bias, y, int(chunk_size), ignore, eps, mm_dtype)  # (N,)
    if reduction == "mean":
        count = y.numel() if ignore is None else (y != ignore).sum()
        out = losses.sum() / count
    elif reduction == "sum":
        out = losses.sum()
    else:
        out = losses.reshape(batch_shape)
    return out if mm_dtype is not None else out.to(hidden.dtype)
