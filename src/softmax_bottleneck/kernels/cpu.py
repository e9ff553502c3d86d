"""A fused, multi-core softmax for the CPU, compiled with Numba (Book: chapter 8).

Why not just ``np.exp`` in a Numba loop? Without Intel's SVML library, LLVM turns ``exp`` into
one scalar library call per element: the loop cannot use the vector units, and on the book's
machine that loop alone is slower than this whole fused kernel (chapter 8 checks it).
Softmax on a CPU is limited by ``exp``, not by memory, so the lesson of this file is a
*vectorisable* exponential: split ``t = k ln 2 + r`` with integer ``k`` and
``|r| <= ln 2 / 2``, evaluate a polynomial for ``e^r``, and build ``2^k`` from its exponent
bits. Every step is plain arithmetic (and one bit reinterpretation) that LLVM vectorises.

Each row of K values is streamed in blocks of 256 values (kernels/_cpu_numba.py):

* pass 1, block by block: the block's maximum (read from memory), then, while the block is in
  L1, ``e^{z - m}`` with the running maximum ``m``, written out and summed; when ``m`` grows,
  the sum so far is rescaled by ``e^{m_old - m_new}`` (the online softmax's merge), and the
  shift each block used is kept;
* pass 2 scales each block by ``e^{shift - m} / sum`` (read K, write K, from cache for rows
  that fit there).

So the logits are read from memory once. The CPU is asked to fetch 2 KiB ahead of the block
being read (software prefetch): its own prefetcher stops at every 4 KiB page. Rows are dealt
out to all cores with ``numba.prange``, a few chunks of rows per thread. The compiled code is
cached on disk (Numba's ``cache=True``): only the first process compiles it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._typing import Array, TensorLike
from .._validation import as_float_array, check_class_axis, is_torch_tensor

__all__ = ["softmax_cpu"]

_kernels: dict[str, Any] = {}


def _build() -> dict[str, Any]:
    """Load the compiled kernels on first use (from Numba's cache after the first process)."""
    if not _kernels:
        from . import _cpu_numba

        _kernels["float32"] = _cpu_numba.softmax32
        _kernels["float64"] = _cpu_numba.softmax64
    return _kernels


_BLOCK = 256  # values per block: 1 KiB of float32, read once from memory, then from L1
_AHEAD = 2048  # bytes prefetched ahead of the block being read
_CHUNKS_PER_THREAD = 8  # rows are dealt out in this many chunks per thread


def _run(rows: np.ndarray, dst: np.ndarray) -> None:
    """Run the kernel for `rows`' dtype on a C-contiguous (R, K) matrix."""
    import numba

    n_chunks = min(rows.shape[0], _CHUNKS_PER_THREAD * numba.get_num_threads())
    _build()[str(rows.dtype)](rows, dst, n_chunks, _BLOCK, _AHEAD // rows.itemsize)


def softmax_cpu(x: TensorLike, /, *, axis: int = -1, out: Array | None = None) -> Array:
    r"""Softmax on the CPU with a fused, multi-core Numba kernel.

    Computes the same values as :func:`softmax_bottleneck.softmax` (to a few units in the
    last place) for float32 and float64, over all cores.

    Parameters
    ----------
    x : numpy.ndarray or torch.Tensor
        Logits on the CPU, float32 or float64 (other real dtypes are promoted as in
        :func:`softmax_bottleneck.softmax`: integers to float64, float16 to float32).
    axis : int, default -1
        The class axis.
    out : numpy.ndarray or torch.Tensor, optional
        Where to write the result: same kind, shape and dtype as the (promoted) `x`,
        C-contiguous. Reusing it avoids an allocation per call, which matters for
        benchmarks. The kernel reads `x` fully before writing a row, so ``out=x`` (in place)
        is allowed.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Probabilities, same kind, shape and dtype as `x` (`out` itself if given). A torch
        result does not track gradients.

    Raises
    ------
    TypeError
        If `x` is not real-valued, `axis` is not an integer, or `out` has the wrong kind or
        dtype.
    ValueError
        If `x` is 0-d or its class axis is empty or out of range, `x` is a tensor on
        another device, or `out` has the wrong shape or is not C-contiguous.

    Notes
    -----
    Traffic per row of K values: read K and write K from memory, plus one re-read and
    re-write of the output that stays in cache for rows that fit there. The first call in
    the first process compiles the kernels (about ten seconds) and caches them on disk; the
    first call of a later process loads them (under a second). Special values follow
    :mod:`softmax_bottleneck.softmax`: an all ``-inf`` row or a row holding NaN is NaN; a
    row with exactly one ``+inf`` is one-hot. Book: chapter 8.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_bottleneck.kernels import softmax_cpu
    >>> softmax_cpu(np.array([2.0, 1.0, 0.1])).round(4)
    array([0.659 , 0.2424, 0.0986])
    >>> x = np.array([[1000.0, 999.0], [-np.inf, 0.0]], dtype=np.float32)
    >>> softmax_cpu(x).round(4)
    array([[0.7311, 0.2689],
           [0.    , 1.    ]], dtype=float32)
    """
    return _softmax_cpu(x, axis, out)


def _softmax_cpu(x: Any, axis: int, out: Any) -> Any:
    torch_in = is_torch_tensor(x)
    if torch_in:
        if x.device.type != "cpu":
            raise ValueError(f"Expected `x` to be on the CPU, got a tensor on {x.device}")
        t = as_float_array(x.detach(), "x")  # ints -> float64
        want = t.dtype  # the dtype given back
        arr = (t.float() if t.itemsize == 2 else t).numpy()  # float16/bfloat16 -> float32
    else:
        arr = as_float_array(x, "x")
        want = arr.dtype
        if arr.dtype.itemsize == 2:
            arr = arr.astype(np.float32)
        elif arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float64)
    ax = check_class_axis(arr, axis, "x")
    rows = np.ascontiguousarray(np.moveaxis(arr, ax, -1).reshape(-1, arr.shape[ax]))  # (R, K)

    if out is not None:
        _check_out(out, want, arr.shape, torch_in)
    # Write straight into `out` when its layout and dtype are the kernel's; else via a buffer.
    direct = out is not None and ax == arr.ndim - 1 and want == arr.dtype
    if direct:
        dst_rows = (out.detach().numpy() if torch_in else out).reshape(rows.shape)
    else:
        dst_rows = np.empty_like(rows)
    if rows.shape[0]:
        _run(rows, dst_rows)  # the kernel: see the module docstring
    if direct:
        return out
    result = np.moveaxis(dst_rows.reshape(np.moveaxis(arr, ax, -1).shape), -1, ax)
    if out is not None:
        if torch_in:
            out.copy_(_torch_from_numpy(result))  # casts to float16/bfloat16 if need be
        else:
            out[...] = result
        return out
    if torch_in:
        return _torch_from_numpy(result).to(want)
    return np.ascontiguousarray(result).astype(want, copy=False)


def _check_out(out: Any, want: Any, shape: tuple[int, ...], torch_in: bool) -> None:
    """Check the kind, dtype, shape and layout of `out`."""
    if torch_in != is_torch_tensor(out):
        kind = "a torch.Tensor" if torch_in else "a numpy.ndarray"
        raise TypeError(f"Expected `out` to be {kind} like `x`, got {type(out).__name__}")
    if not torch_in and not isinstance(out, np.ndarray):
        raise TypeError(f"Expected `out` to be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != want:
        raise TypeError(f"Expected `out` to have dtype {want}, got {out.dtype}")
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"Expected `out` to have shape {tuple(shape)}, got {tuple(out.shape)}")
    if torch_in:
        if out.device.type != "cpu":
            raise ValueError(f"Expected `out` to be on the CPU, got a tensor on {out.device}")
        if not out.is_contiguous():
            raise ValueError("Expected `out` to be C-contiguous, got a strided tensor")
    elif not out.flags.c_contiguous:
        raise ValueError("Expected `out` to be C-contiguous, got a strided array")


def _torch_from_numpy(a: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(a))
