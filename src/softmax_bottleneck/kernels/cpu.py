"""A fused, multi-core softmax for the CPU, compiled with Numba (Book: chapter 8).

Why not just ``np.exp`` in a Numba loop? Without Intel's SVML library, LLVM turns ``exp`` into
one scalar library call per element: the loop cannot use the vector units, and on the book's
machine that loop alone is slower than this whole fused kernel (chapter 8 checks it).
Softmax on a CPU is limited by ``exp``, not by memory, so the lesson of this file is a
*vectorisable* exponential: split ``t = k ln 2 + r`` with integer ``k`` and
``|r| <= ln 2 / 2``, evaluate a polynomial for ``e^r``, and build ``2^k`` from its exponent
bits. Every step is plain arithmetic (and one bit reinterpretation) that LLVM vectorises.

Each row of K values takes three passes:

* pass 1 reads the row to find its maximum (read K);
* pass 2 reads it again, writes ``e^{z - m}`` and sums it (read K, write K; the re-read comes
  from cache when the row fits there);
* pass 3 scales the written values by ``1 / sum`` (read K, write K, from cache for rows that
  fit in L2).

Rows are spread over all cores with ``numba.prange``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, check_class_axis, is_torch_tensor

__all__ = ["softmax_cpu"]

_LANES = 32  # independent running maxima: lets LLVM vectorise the max pass

_kernels: dict[str, Any] = {}


def _build() -> dict[str, Any]:
    """Compile the kernels on first use (importing Numba costs about a second)."""
    if _kernels:
        return _kernels
    import numba as nb
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    # reassoc: reorder sums (vector reductions); contract: fused multiply-add. No nnan/ninf:
    # -inf (masked logits) and NaN must keep their IEEE meaning.
    fm = {"reassoc", "contract", "arcp", "nsz"}
    f32 = np.float32

    @intrinsic
    def as_f32(typingctx: Any, i: Any) -> Any:
        """Reinterpret the bits of an int32 as a float32 (a no-op the vectoriser can see)."""
        sig = types.float32(types.int32)
        return sig, lambda context, builder, signature, args: builder.bitcast(
            args[0], ir.FloatType()
        )

    @intrinsic
    def as_f64(typingctx: Any, i: Any) -> Any:
        """Reinterpret the bits of an int64 as a float64."""
        sig = types.float64(types.int64)
        return sig, lambda context, builder, signature, args: builder.bitcast(
            args[0], ir.DoubleType()
        )

    @nb.njit(fastmath=fm)
    def row_max(row: Any) -> Any:
        # _LANES running maxima updated elementwise (a select, which vectorises); a plain
        # `m = max(m, v)` is a loop-carried dependency that LLVM will not vectorise without
        # nnan. NaN is ignored here and caught by the exp pass.
        acc = np.full(_LANES, -np.inf, dtype=row.dtype)
        k = row.shape[0]
        k_lanes = k - k % _LANES
        for j in range(0, k_lanes, _LANES):  # read K
            for lane in range(_LANES):
                v = row[j + lane]
                acc[lane] = v if v > acc[lane] else acc[lane]
        m = acc[0]
        for lane in range(_LANES):
            m = acc[lane] if acc[lane] > m else m
        for j in range(k_lanes, k):
            m = row[j] if row[j] > m else m
        return m

    @nb.njit(fastmath=fm)
    def exp_sum32(row: Any, dst: Any, m: Any) -> Any:
        # dst = e^(row - m), returns its sum. e^t = 2^k e^r with t = k ln2 + r, |r| <= ln2/2.
        lo = f32(-87.33654)  # e^t < smallest normal float32 below this: flush to 0
        acc = f32(0.0)
        for j in range(row.shape[0]):  # read K, write K
            t = row[j] - m
            tc = lo if t < lo else t  # NaN passes through and poisons the sum: a NaN row
            kf = np.floor(tc * f32(1.4426950408889634) + f32(0.5))
            r = tc - kf * f32(0.693359375)  # Cody-Waite: ln 2 = hi + lo, r is exact
            r = r - kf * f32(-2.12194440e-4)
            p = f32(1.9875691500e-4)  # Cephes expf polynomial, relative error ~1e-7
            p = p * r + f32(1.3981999507e-3)
            p = p * r + f32(8.3334519073e-3)
            p = p * r + f32(4.1665795894e-2)
            p = p * r + f32(1.6666665459e-1)
            p = p * r + f32(5.0000001201e-1)
            p = p * r * r + r + f32(1.0)
            bits = np.int32(0) if t < lo else (np.int32(kf) + np.int32(127)) << np.int32(23)
            v = p * as_f32(bits)  # 2^k from its exponent bits; 0.0 for masked entries
            dst[j] = v
            acc += v
        return acc

    @nb.njit(fastmath=fm)
    def exp_sum64(row: Any, dst: Any, m: Any) -> Any:
        lo = -708.39
        acc = 0.0
        for j in range(row.shape[0]):  # read K, write K
            t = row[j] - m
            tc = lo if t < lo else t
            kf = np.floor(tc * 1.4426950408889634 + 0.5)
            r = tc - kf * 0.6931471803691238
            r = r - kf * 1.9082149292705877e-10
            p = 2.08767569878681e-09  # Taylor, degree 12: error < 2e-16 on |r| <= ln2/2
            p = p * r + 2.505210838544172e-08
            p = p * r + 2.755731922398589e-07
            p = p * r + 2.7557319223985893e-06
            p = p * r + 2.48015873015873e-05
            p = p * r + 0.0001984126984126984
            p = p * r + 0.001388888888888889
            p = p * r + 0.008333333333333333
            p = p * r + 0.041666666666666664
            p = p * r + 0.16666666666666666
            p = p * r + 0.5
            p = p * r * r + r + 1.0
            bits = np.int64(0) if t < lo else (np.int64(kf) + np.int64(1023)) << np.int64(52)
            v = p * as_f64(bits)
            dst[j] = v
            acc += v
        return acc

    @nb.njit(fastmath=fm)
    def scale(dst: Any, inv: Any) -> None:
        for j in range(dst.shape[0]):  # read K, write K (from cache when the row fits)
            dst[j] *= inv

    @nb.njit
    def special_row(row: Any, dst: Any, m: Any) -> None:
        # No finite maximum. NaN anywhere or all -inf: NaN. One +inf: one-hot. Several: NaN.
        n_posinf = 0
        has_nan = False
        for v in row:
            if np.isnan(v):
                has_nan = True
            elif v == np.inf:
                n_posinf += 1
        for j in range(row.shape[0]):
            if has_nan or m == -np.inf or n_posinf != 1:
                dst[j] = np.nan
            else:
                dst[j] = 1.0 if row[j] == np.inf else 0.0

    def make(exp_sum: Any, fdtype: Any) -> Any:
        @nb.njit(parallel=True)
        def kernel(x: Any, out: Any) -> None:
            for i in nb.prange(x.shape[0]):  # rows spread over all cores
                row, dst = x[i], out[i]
                m = row_max(row)  # pass 1
                if not np.isfinite(m):
                    special_row(row, dst, m)
                    continue
                s = exp_sum(row, dst, m)  # pass 2
                scale(dst, fdtype(1.0) / s)  # pass 3

        return kernel

    _kernels["float32"] = make(exp_sum32, np.float32)
    _kernels["float64"] = make(exp_sum64, np.float64)
    return _kernels


def softmax_cpu(x: Any, /, *, axis: int = -1, out: Any = None) -> Any:
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
    Traffic per row of K values: read 2K and write K from memory, plus one re-read and
    re-write of the output that stays in cache for rows that fit there. The first call
    compiles the kernels (a few seconds). Special values follow
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
        _build()[str(arr.dtype)](rows, dst_rows)  # the kernel: see the module docstring
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
