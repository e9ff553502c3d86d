"""The Numba kernels behind :func:`softmax_bottleneck.kernels.softmax_cpu` (see kernels/cpu.py).

Imported only on the first call of ``softmax_cpu`` (importing Numba costs a fraction of a
second, compiling these kernels several seconds). Every function is compiled with
``cache=True``: the machine code is written next to this file (or, where that folder is not
writable, to Numba's user cache) and a new process loads it instead of compiling again. The
functions live at module level, not in a closure, so that Numba can key the cache on this
file alone.

Floating-point flags. ``reassoc`` lets LLVM reorder the sums and maxima of a row into vector
reductions; ``contract`` allows fused multiply-adds. There is no ``nnan``/``ninf``: ``-inf``
(a masked logit) and NaN keep their IEEE meaning. The exponential itself is compiled without
``reassoc``, so that LLVM cannot merge the two steps of its range reduction into one.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_ROW = {"reassoc", "contract", "arcp", "nsz"}  # loops over a row: vector reductions allowed
_EXP = {"contract", "arcp", "nsz"}  # the exponential: fused multiply-adds, no reordering

F32 = np.float32


def _as_f32_typer(typingctx: Any, i: Any) -> Any:
    """Reinterpret the bits of an int32 as a float32 (a no-op the vectoriser can see)."""
    sig = types.float32(types.int32)
    return sig, lambda context, builder, signature, args: builder.bitcast(args[0], ir.FloatType())


_as_f32: Any = intrinsic(_as_f32_typer)  # Any: called from compiled code only


def _as_f64_typer(typingctx: Any, i: Any) -> Any:
    """Reinterpret the bits of an int64 as a float64."""
    sig = types.float64(types.int64)
    return sig, lambda context, builder, signature, args: builder.bitcast(
        args[0], ir.DoubleType()
    )


_as_f64: Any = intrinsic(_as_f64_typer)  # Any: called from compiled code only


def _maxnum_typer(typingctx: Any, a: Any, b: Any) -> Any:
    """``llvm.maxnum``: the larger of two floats, ignoring a NaN operand.

    A loop of ``m = maxnum(m, v)`` is a reduction LLVM vectorises; the plain
    ``m = v if v > m else m`` is not, without ``nnan``. A NaN in the row is caught later by
    the exponential pass (it makes the row's sum NaN).
    """
    sig = a(a, b)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        fty = args[0].type
        fn = builder.module.declare_intrinsic("llvm.maxnum", [fty], ir.FunctionType(fty, [fty, fty]))
        return builder.call(fn, args)

    return sig, codegen


_maxnum: Any = intrinsic(_maxnum_typer)  # Any: called from compiled code only


def _prefetch_codegen(write: int) -> Any:
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])  # may point past the row: never dereferenced
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(write), i32(3), i32(1)])
        return context.get_dummy_value()

    return codegen


def _prefetch_read_typer(typingctx: Any, ary: Any, index: Any) -> Any:
    """Ask the CPU to load the cache line holding ``ary[index]`` (a hint: never faults)."""
    return types.void(ary, index), _prefetch_codegen(0)


_prefetch_read: Any = intrinsic(_prefetch_read_typer)  # Any: called from compiled code only


def _prefetch_write_typer(typingctx: Any, ary: Any, index: Any) -> Any:
    """The same, for a line about to be written."""
    return types.void(ary, index), _prefetch_codegen(1)


_prefetch_write: Any = intrinsic(_prefetch_write_typer)  # Any: called from compiled code only


@nb.njit(cache=True)
def _prefetch_ahead(row: Any, dst: Any, start: int, n: int) -> None:
    # The hardware prefetcher stops at 4 KiB page boundaries; these hints run ahead across
    # them (into the next row, which follows in memory), one per 64-byte line.
    step = 64 // row.itemsize
    for j in range(start, start + n, step):
        _prefetch_read(row, j)
        _prefetch_write(dst, j)


@nb.njit(fastmath=_ROW, cache=True)
def _block_max(row: Any) -> Any:
    m = row[0]  # in the row's dtype; compared with itself once, so that the loop
    for j in range(row.shape[0]):  # runs over whole vectors
        m = _maxnum(m, row[j])
    return m


# e^t = 2^k e^r with t = k ln 2 + r, |r| <= ln 2 / 2. ln 2 = hi + lo where hi has few
# significant bits, so k * hi is exact and so is t - k * hi (Sterbenz: the two are within a
# factor 2 of each other); subtracting k * lo then rounds once, an error far below the
# polynomial's. The polynomial is a degree-6 fit to e^r with its first two coefficients fixed
# at 1 (relative error 3e-9, far below float32's 6e-8).
@nb.njit(fastmath=_EXP, cache=True)
def _exp32(t: Any) -> Any:
    lo = F32(-87.33654)  # e^t < smallest normal float32 below this: flush to 0
    tc = lo if t < lo else t  # NaN passes through and poisons the row's sum: a NaN row
    kf = np.floor(tc * F32(1.4426950408889634) + F32(0.5))
    r = tc - kf * F32(0.693359375)  # exact
    r = r - kf * F32(-2.12194440e-4)  # rounds once
    p = F32(1.3814613555766697e-3)
    p = p * r + F32(8.368709823336144e-3)
    p = p * r + F32(4.1668387357669125e-2)
    p = p * r + F32(1.666652068984965e-1)
    p = p * r + F32(4.999999345170984e-1)
    p = p * r + F32(1.0)
    p = p * r + F32(1.0)
    bits = np.int32(0) if t < lo else (np.int32(kf) + np.int32(127)) << np.int32(23)
    return p * _as_f32(bits)  # 2^k from its exponent bits; 0.0 for masked entries


@nb.njit(fastmath=_EXP, cache=True)
def _exp64(t: Any) -> Any:
    lo = -708.39
    tc = lo if t < lo else t
    kf = np.floor(tc * 1.4426950408889634 + 0.5)
    r = tc - kf * 0.6931471803691238  # exact, as above
    r = r - kf * 1.9082149292705877e-10  # rounds once
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
    p = p * r + 1.0
    p = p * r + 1.0
    bits = np.int64(0) if t < lo else (np.int64(kf) + np.int64(1023)) << np.int64(52)
    return p * _as_f64(bits)


@nb.njit(fastmath=_ROW, cache=True)
def _exp_sum32(row: Any, dst: Any, m: Any) -> Any:
    acc = F32(0.0)
    for j in range(row.shape[0]):  # read from cache, write
        v = _exp32(row[j] - m)
        dst[j] = v
        acc += v
    return acc


@nb.njit(fastmath=_ROW, cache=True)
def _exp_sum64(row: Any, dst: Any, m: Any) -> Any:
    acc = 0.0
    for j in range(row.shape[0]):
        v = _exp64(row[j] - m)
        dst[j] = v
        acc += v
    return acc


@nb.njit(fastmath=_ROW, cache=True)
def _scale(dst: Any, c: Any) -> None:
    # c = 0 for a block that was all -inf: pass 1 wrote nothing there, so overwrite rather
    # than multiply (what the block held may be anything, NaN included)
    if c == 0:
        dst[:] = 0
        return
    for j in range(dst.shape[0]):
        dst[j] *= c


@nb.njit(cache=True)
def _special_row(row: Any, dst: Any, m: Any) -> None:
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


@nb.njit(cache=True)
def _row32(row: Any, dst: Any, shifts: Any, block: int, ahead: int) -> None:
    """One row: pass 1 streams the blocks once (max, then e^(z - running max) and its sum
    while the block is in L1); pass 2 rescales each block by e^(shift - max) / sum."""
    k = row.shape[0]
    m = -np.inf  # running maximum
    s = 0.0  # running sum of e^(z - m), float64
    nb_ = 0
    for start in range(0, k, block):
        stop = min(start + block, k)
        if ahead:
            _prefetch_ahead(row, dst, start + ahead, block)
        mb = _block_max(row[start:stop])
        if mb > m:
            if m > -np.inf:
                s *= np.exp(m - mb)
            m = mb
        if m > -np.inf and m < np.inf:
            s += _exp_sum32(row[start:stop], dst[start:stop], F32(m))
        shifts[nb_] = m
        nb_ += 1
    if not np.isfinite(m):
        _special_row(row, dst, m)
        return
    inv = 1.0 / s
    nb_ = 0
    for start in range(0, k, block):
        stop = min(start + block, k)
        sh = shifts[nb_]
        c = F32(0.0) if sh == -np.inf else F32(np.exp(sh - m) * inv)
        _scale(dst[start:stop], c)
        nb_ += 1


@nb.njit(cache=True)
def _row64(row: Any, dst: Any, shifts: Any, block: int, ahead: int) -> None:
    k = row.shape[0]
    m = -np.inf
    s = 0.0
    nb_ = 0
    for start in range(0, k, block):
        stop = min(start + block, k)
        if ahead:
            _prefetch_ahead(row, dst, start + ahead, block)
        mb = _block_max(row[start:stop])
        if mb > m:
            if m > -np.inf:
                s *= np.exp(m - mb)
            m = mb
        if m > -np.inf and m < np.inf:
            s += _exp_sum64(row[start:stop], dst[start:stop], m)
        shifts[nb_] = m
        nb_ += 1
    if not np.isfinite(m):
        _special_row(row, dst, m)
        return
    inv = 1.0 / s
    nb_ = 0
    for start in range(0, k, block):
        stop = min(start + block, k)
        sh = shifts[nb_]
        c = 0.0 if sh == -np.inf else np.exp(sh - m) * inv
        _scale(dst[start:stop], c)
        nb_ += 1


@nb.njit(parallel=True, cache=True)
def softmax32(x: Any, out: Any, n_chunks: int, block: int, ahead: int) -> None:
    """Softmax of each row of the float32 matrix `x` into `out` (rows over all cores)."""
    n_rows, k = x.shape
    n_blocks = (k + block - 1) // block
    for c in nb.prange(n_chunks):
        shifts = np.empty(n_blocks)
        for i in range(c * n_rows // n_chunks, (c + 1) * n_rows // n_chunks):
            _row32(x[i], out[i], shifts, block, ahead)


@nb.njit(parallel=True, cache=True)
def softmax64(x: Any, out: Any, n_chunks: int, block: int, ahead: int) -> None:
    """Softmax of each row of the float64 matrix `x` into `out` (rows over all cores)."""
    n_rows, k = x.shape
    n_blocks = (k + block - 1) // block
    for c in nb.prange(n_chunks):
        shifts = np.empty(n_blocks)
        for i in range(c * n_rows // n_chunks, (c + 1) * n_rows // n_chunks):
            _row64(x[i], out[i], shifts, block, ahead)
