"""Softmax and log-softmax in Triton: fused forward and backward (Book: chapter 8).

One file for the operation, as in Triton's fused-softmax tutorial and Liger-Kernel: the
kernels, the launch heuristic (:func:`launch_config`, the only place that chooses block sizes
and warps) and the ``torch.autograd.Function`` that calls them.

Two forward strategies, chosen per row length:

* **single block**: a row of K values fits in one block of registers; the program loads it
  once, reduces max and sum on chip and writes once. Traffic: read K, write K, the minimum.
* **online, multi-block**: longer rows are streamed in blocks. Pass 1 keeps a running max and
  a rescaled running sum per lane (the online softmax), pass 2 re-reads the row and writes.
  Traffic: read 2K, write K.

Backward, with ``y = softmax(x)`` saved and upstream gradient ``dy``:
``dx = y * (dy - sum(dy * y))``; for log-softmax ``dx = dy - exp(y) * sum(dy)``. Traffic:
read 2K, write K (single block) or read 4K, write K (multi-block).

All arithmetic is in float32; float16 and bfloat16 are loaded, widened and stored back
narrow. Rows that are entirely ``-inf`` give NaN, as ``torch.softmax`` does.

On a machine without a GPU, set ``TRITON_INTERPRET=1`` *before* this module is imported:
Triton then runs the same kernels on CPU tensors with NumPy (slowly), which is how the tests
run in CI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import triton
import triton.language as tl

__all__ = ["LaunchConfig", "launch_config", "log_softmax_triton", "softmax_triton"]

INTERPRET = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")

# The launch heuristic's knobs (tests shrink them to reach every branch on tiny shapes).
MAX_FUSED_COLS = 16384  # rows up to this length are done in one block (fp32: 64 KiB)
ONLINE_BLOCK = 4096  # block length of the online, multi-block kernel


@dataclass(frozen=True)
class LaunchConfig:
    """How a row of `n_cols` values is launched: block length, warps, strategy."""

    block: int
    num_warps: int
    multi_block: bool


def launch_config(n_cols: int) -> LaunchConfig:
    """Choose the strategy, block length and number of warps for rows of `n_cols` values.

    Rows up to ``MAX_FUSED_COLS`` fit in one block (the next power of two, as Triton
    requires); longer rows are streamed in blocks of ``ONLINE_BLOCK``. More warps for longer
    blocks keep each thread's share of registers bounded (Triton tutorial heuristic).

    Examples
    --------
    >>> from softmax_bottleneck.kernels.triton_softmax import launch_config
    >>> launch_config(781)
    LaunchConfig(block=1024, num_warps=4, multi_block=False)
    >>> launch_config(128256).multi_block
    True
    """
    if n_cols <= MAX_FUSED_COLS:
        block = triton.next_power_of_2(n_cols)
        multi = False
    else:
        block = ONLINE_BLOCK
        multi = True
    num_warps = 4 if block <= 2048 else (8 if block <= 8192 else 16)
    return LaunchConfig(block=block, num_warps=num_warps, multi_block=multi)


# ---------------------------------------------------------------------------------------------
# Kernels: one program per row.


@triton.jit
def _fwd_single(X, Y, stride_x, stride_y, n_cols, BLOCK: tl.constexpr, LOG: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    x = tl.load(X + row * stride_x + cols, mask=mask, other=-float("inf"))  # read K
    x = x.to(tl.float32)
    z = x - tl.max(x, axis=0)  # masked tail: -inf, so exp gives 0
    e = tl.exp(z)
    s = tl.sum(e, axis=0)
    if LOG:
        y = z - tl.log(s)
    else:
        y = e / s
    tl.store(Y + row * stride_y + cols, y.to(Y.dtype.element_ty), mask=mask)  # write K


@triton.jit
def _fwd_online(X, Y, stride_x, stride_y, n_cols, BLOCK: tl.constexpr, LOG: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    m = tl.full([BLOCK], -float("inf"), tl.float32)  # running max, per lane
    d = tl.zeros([BLOCK], tl.float32)  # running sum of exp(x - m), per lane
    for start in range(0, n_cols, BLOCK):  # pass 1: read K
        mask = start + cols < n_cols
        x = tl.load(X + row * stride_x + start + cols, mask=mask, other=-float("inf"))
        x = x.to(tl.float32)
        m_new = tl.maximum(m, x)
        # A lane that has seen only -inf keeps m = -inf; shift by 0 there (not -inf - -inf).
        safe = tl.where(m_new == -float("inf"), 0.0, m_new)
        d = d * tl.exp(m - safe) + tl.exp(x - safe)  # rescale the old sum, add the new terms
        m = m_new
    m_row = tl.max(m, axis=0)
    d_row = tl.sum(d * tl.exp(m - m_row), axis=0)  # merge the lanes (NaN if all -inf)
    for start in range(0, n_cols, BLOCK):  # pass 2: read K, write K
        mask = start + cols < n_cols
        x = tl.load(X + row * stride_x + start + cols, mask=mask, other=-float("inf"))
        z = x.to(tl.float32) - m_row
        if LOG:
            y = z - tl.log(d_row)
        else:
            y = tl.exp(z) / d_row
        tl.store(Y + row * stride_y + start + cols, y.to(Y.dtype.element_ty), mask=mask)


@triton.jit
def _bwd_single(
    Y, DY, DX, stride_y, stride_dy, stride_dx, n_cols, BLOCK: tl.constexpr, LOG: tl.constexpr
):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    y = tl.load(Y + row * stride_y + cols, mask=mask, other=0.0).to(tl.float32)  # read K
    dy = tl.load(DY + row * stride_dy + cols, mask=mask, other=0.0).to(tl.float32)  # read K
    if LOG:
        dx = dy - tl.exp(y) * tl.sum(dy, axis=0)
    else:
        dx = y * (dy - tl.sum(dy * y, axis=0))
    tl.store(DX + row * stride_dx + cols, dx.to(DX.dtype.element_ty), mask=mask)  # write K


@triton.jit
def _bwd_online(
    Y, DY, DX, stride_y, stride_dy, stride_dx, n_cols, BLOCK: tl.constexpr, LOG: tl.constexpr
):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    acc = tl.zeros([BLOCK], tl.float32)
    for start in range(0, n_cols, BLOCK):  # pass 1: read 2K
        mask = start + cols < n_cols
        dy = tl.load(DY + row * stride_dy + start + cols, mask=mask, other=0.0).to(tl.float32)
        if LOG:
            acc += dy
        else:
            y = tl.load(Y + row * stride_y + start + cols, mask=mask, other=0.0).to(tl.float32)
            acc += dy * y
    total = tl.sum(acc, axis=0)
    for start in range(0, n_cols, BLOCK):  # pass 2: read 2K, write K
        mask = start + cols < n_cols
        y = tl.load(Y + row * stride_y + start + cols, mask=mask, other=0.0).to(tl.float32)
        dy = tl.load(DY + row * stride_dy + start + cols, mask=mask, other=0.0).to(tl.float32)
        if LOG:
            dx = dy - tl.exp(y) * total
        else:
            dx = y * (dy - total)
        tl.store(DX + row * stride_dx + start + cols, dx.to(DX.dtype.element_ty), mask=mask)


# ---------------------------------------------------------------------------------------------
# Launchers and the autograd.Function.


def _forward(x: torch.Tensor, log: bool) -> torch.Tensor:
    """Softmax (or log-softmax) of the rows of a 2-d tensor whose last dim is contiguous."""
    n_rows, n_cols = x.shape
    y = torch.empty_like(x)
    if n_rows == 0:
        return y
    cfg = launch_config(n_cols)
    kernel = _fwd_online if cfg.multi_block else _fwd_single
    kernel[(n_rows,)](
        x, y, x.stride(0), y.stride(0), n_cols, BLOCK=cfg.block, LOG=log, num_warps=cfg.num_warps
    )
    return y


def _backward(y: torch.Tensor, dy: torch.Tensor, log: bool) -> torch.Tensor:
    n_rows, n_cols = y.shape
    dx = torch.empty_like(y)
    if n_rows == 0:
        return dx
    cfg = launch_config(n_cols)
    kernel = _bwd_online if cfg.multi_block else _bwd_single
    kernel[(n_rows,)](
        y,
        dy,
        dx,
        y.stride(0),
        dy.stride(0),
        dx.stride(0),
        n_cols,
        BLOCK=cfg.block,
        LOG=log,
        num_warps=cfg.num_warps,
    )
    return dx


class _SoftmaxFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, log: bool) -> torch.Tensor:
        y = _forward(x, log)
        ctx.save_for_backward(y)
        ctx.log = log
        return y

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor) -> Any:
        (y,) = ctx.saved_tensors
        return _backward(y, dy.contiguous(), ctx.log), None


_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


def _apply(x: Any, axis: Any, log: bool) -> torch.Tensor:
    from .._validation import check_class_axis

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"Expected `x` to be a torch.Tensor, got {type(x).__name__}")
    if x.dtype not in _DTYPES:
        raise TypeError(f"Expected `x` to have dtype float16, bfloat16 or float32, got {x.dtype}")
    if x.device.type != "cuda" and not INTERPRET:
        raise ValueError(
            f"Expected `x` on a CUDA device (or TRITON_INTERPRET=1 set before import to run "
            f"on the CPU), got a tensor on {x.device}"
        )
    ax = check_class_axis(x, axis, "x")
    moved = x.movedim(ax, -1)
    shape = moved.shape
    x2 = moved.reshape(-1, shape[-1]).contiguous()  # (rows, K), unit stride along K
    y2 = _SoftmaxFunction.apply(x2, log)
    return y2.reshape(shape).movedim(-1, ax)


def softmax_triton(x: torch.Tensor, /, *, axis: int = -1) -> torch.Tensor:
    r"""Softmax along `axis` with fused Triton kernels, differentiable.

    Parameters
    ----------
    x : torch.Tensor
        Logits on a CUDA device (or on the CPU under ``TRITON_INTERPRET=1``), float16,
        bfloat16 or float32.
    axis : int, default -1
        The class axis.

    Returns
    -------
    torch.Tensor
        Probabilities, shape and dtype of `x`; gradients flow through the Triton backward
        kernel.

    Raises
    ------
    TypeError
        If `x` is not a tensor of a supported dtype, or `axis` is not an integer.
    ValueError
        If `x` is on the CPU without the interpreter, 0-d, or its class axis is empty or
        out of range.

    Notes
    -----
    Rows up to ``MAX_FUSED_COLS`` values use the single-block kernel (read K, write K);
    longer rows the online two-pass kernel (read 2K, write K); see :func:`launch_config`.
    Book: chapter 8.

    Examples
    --------
    >>> import torch
    >>> from softmax_bottleneck.kernels import softmax_triton
    >>> x = torch.randn(4, 1000, device="cuda")              # doctest: +SKIP
    >>> torch.allclose(softmax_triton(x), x.softmax(-1))     # doctest: +SKIP
    True
    """
    return _apply(x, axis, log=False)


def log_softmax_triton(x: torch.Tensor, /, *, axis: int = -1) -> torch.Tensor:
    r"""Log-softmax along `axis` with fused Triton kernels, differentiable.

    Computes ``z - max z - log sum exp(z - max z)`` without forming probabilities, so tiny
    probabilities keep their logarithm instead of underflowing to ``-inf``.

    Parameters
    ----------
    x : torch.Tensor
        Logits on a CUDA device (or on the CPU under ``TRITON_INTERPRET=1``), float16,
        bfloat16 or float32.
    axis : int, default -1
        The class axis.

    Returns
    -------
    torch.Tensor
        Log-probabilities, shape and dtype of `x`.

    Raises
    ------
    TypeError, ValueError
        As :func:`softmax_triton`.

    Notes
    -----
    Backward: ``dx = dy - softmax(x) * sum(dy)``, with ``softmax(x) = exp(y)`` recomputed
    from the saved output. Book: chapter 8.

    Examples
    --------
    >>> import torch
    >>> from softmax_bottleneck.kernels import log_softmax_triton
    >>> x = torch.randn(4, 1000, device="cuda")                      # doctest: +SKIP
    >>> torch.allclose(log_softmax_triton(x), x.log_softmax(-1))     # doctest: +SKIP
    True
    """
    return _apply(x, axis, log=True)
