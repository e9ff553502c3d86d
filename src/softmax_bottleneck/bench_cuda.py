"""The GPU benchmark: Triton softmax against ``torch.softmax`` and a device copy (issue 14).

Run ``python -m softmax_bottleneck.bench_cuda --out benchmarks/results/cuda-DATE.json`` on a
machine with a CUDA GPU (``scripts/gpu_check.sh`` does, after the GPU tests). Book: chapter 8,
which reads the JSON through :func:`softmax_bottleneck.bench.committed_results`.

What is measured, per dtype and row length N (default: the issue's ten lengths from 1 K to
256 K, each input tensor 512 MiB, so rows = 512 MiB / (N * itemsize), rounded up):

* ``softmax_triton`` and ``torch.softmax``, forward: read the tensor once, write it once;
* ``softmax_triton_backward`` and ``torch.softmax_backward``
  (``torch._softmax_backward_data``): read ``y`` and ``dy``, write ``dx``;
* ``copy``: ``out.copy_(x)`` of a tensor of the same size, the device-to-device copy
  bandwidth that the kernels are compared with.

Protocol: every candidate is called ``warmup`` times (this also compiles the Triton kernels),
then the candidates are alternated for ``repeats`` repetitions, each call timed alone with
CUDA events after a 256 MiB write that flushes the L2 cache; the median is reported (the
minimum too). Both sides allocate their output. Throughput is the minimal traffic divided by
the time (forward ``2 S``, backward ``3 S``, copy ``2 S`` bytes for a tensor of ``S`` bytes),
so ``fraction_of_copy`` compares effective bandwidths. Correctness is checked in the same run
on the first rows against a float64 softmax.

Then the peak CUDA memory of one forward and backward pass of cross-entropy over
``hidden @ weight.T`` (default 8192 tokens, vocabulary 128256, hidden size 4096, bfloat16):
``F.cross_entropy`` on the full logits (naive) against
:func:`softmax_bottleneck.kernels.chunked_cross_entropy`.

The JSON keeps the fields of :mod:`softmax_bottleneck.bench` (``machine``, ``versions``,
``date``, ``protocol``, ``rows`` with ``kernel``, ``dtype``, ``n_rows``, ``n_cols``, ``gbps``,
``ratio_vs_torch``, ``fraction_of_copy``, ``seconds``, ``max_rel_err``, ``correct``) and adds
``summary`` (one entry per dtype and N with the ratios of the issue's targets), ``memory``,
``targets`` (:func:`cuda_targets`), ``complete`` and ``dry_run``.
:func:`validate_cuda_results` checks a file against this schema.

Without a GPU, ``--device cpu --interpret`` runs the same code on tiny CPU tensors in Triton's
interpreter (``TRITON_INTERPRET=1``): a dry run for the tests, whose timings mean nothing.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple, TypeGuard

if TYPE_CHECKING:
    import torch

__all__ = [
    "ISSUE_COLS",
    "TargetCheck",
    "cuda_targets",
    "format_table",
    "main",
    "run",
    "summarize",
    "validate_cuda_results",
]

MIB = 1 << 20
SCHEMA = "softmax-bottleneck/cuda-bench/1"
# The row lengths of issue 14: powers of two, GPT-2's 50257 and Llama 3's 128256 vocabularies.
ISSUE_COLS = (1024, 2048, 4096, 8192, 16384, 32768, 50257, 65536, 128256, 262144)
QUICK_COLS = (1024, 16384, 50257, 262144)
DRY_RUN_COLS = (37, 1000, 16385)  # masked tail, single block, the online kernel's first length
DTYPES = ("float32", "float16", "bfloat16")
KERNELS = (
    "softmax_triton",
    "torch.softmax",
    "softmax_triton_backward",
    "torch.softmax_backward",
    "copy",
)
_BASELINE = {
    "softmax_triton": "torch.softmax",
    "torch.softmax": "torch.softmax",
    "softmax_triton_backward": "torch.softmax_backward",
    "torch.softmax_backward": "torch.softmax_backward",
    "copy": "torch.softmax",
}
_TRAFFIC = {  # bytes moved, in units of one tensor's size
    "softmax_triton": 2,
    "torch.softmax": 2,
    "softmax_triton_backward": 3,
    "torch.softmax_backward": 3,
    "copy": 2,
}
# Largest relative error accepted (forward: per entry, entries below the dtype's smallest
# normal number measured against that number; backward: over the largest gradient entry).
# float16/bfloat16 outputs are rounded to 11/8 significant bits: 2^-11 and 2^-8 relative.
REL_TOL = {"float32": 1e-3, "float16": 4e-3, "bfloat16": 1.6e-2}
FLUSH_BYTES = 256 * MIB  # written before each timed call: larger than any GPU's L2 cache
DEFAULT_MEMORY = (8192, 128256, 4096, 1024)  # tokens, vocabulary, hidden size, chunk size

_ROW_FIELDS = {
    "kernel": str,
    "device": str,
    "dtype": str,
    "n_rows": int,
    "n_cols": int,
    "seconds": float,
    "seconds_min": float,
    "gbps": float,
    "ratio_vs_torch": float,
    "fraction_of_copy": float,
    "max_rel_err": float,
    "correct": bool,
}
_SUMMARY_FIELDS = (
    "triton_fwd_s",
    "triton_fwd_gbps",
    "triton_bwd_s",
    "triton_bwd_gbps",
    "torch_fwd_s",
    "torch_fwd_gbps",
    "torch_bwd_s",
    "torch_bwd_gbps",
    "copy_s",
    "copy_gbps",
    "fwd_fraction_of_copy",
    "fwd_vs_torch",
    "bwd_fraction_of_copy",
    "bwd_vs_torch",
)
_MEMORY_FIELDS = (
    "n_tokens",
    "vocab",
    "dim",
    "chunk_size",
    "dtype",
    "device",
    "naive_peak_extra_bytes",
    "chunked_peak_extra_bytes",
    "ratio",
    "naive_seconds",
    "chunked_seconds",
    "loss_abs_diff",
    "grad_rel_diff",
    "method",
)


# ---------------------------------------------------------------------------------------------
# Targets of issue 14.


@dataclass(frozen=True)
class _Target:
    what: str
    field: str
    threshold: float
    lo: int  # inclusive bounds on N
    hi: int | None

    def applies(self, n_cols: int) -> bool:
        return n_cols >= self.lo and (self.hi is None or n_cols <= self.hi)


# "Beyond 32K" is read inclusively, so that the measured N = 32768 has a target too.
TARGETS = (
    _Target("forward >= 80% of copy bandwidth", "fwd_fraction_of_copy", 0.80, 4096, 16384),
    _Target("forward >= 60% of copy bandwidth", "fwd_fraction_of_copy", 0.60, 32768, None),
    _Target("forward >= 1.0x torch.softmax", "fwd_vs_torch", 1.0, 1025, None),
    _Target("backward >= 75% of copy bandwidth", "bwd_fraction_of_copy", 0.75, 1, None),
)


class TargetCheck(NamedTuple):
    """One target at one row length: what it asks, the measured ratio, whether it is met."""

    target: str
    measured: float
    met: bool


def cuda_targets(
    results: dict[str, Any], dtypes: Iterable[str] | None = None
) -> list[TargetCheck]:
    """Check the performance targets of issue 14 against a benchmark result.

    The targets, per row length N (each measured N gets one check per target that covers it):

    * forward >= 80 % of the copy bandwidth for 4096 <= N <= 16384;
    * forward >= 60 % of the copy bandwidth for N >= 32768;
    * forward >= 1.0x ``torch.softmax``'s throughput for N > 1024;
    * backward >= 75 % of the copy bandwidth, every N.

    Parameters
    ----------
    results : dict
        A result of :func:`run` (or the parsed JSON); only its ``summary`` is read.
    dtypes : iterable of str, optional
        Which dtypes to check (default: every dtype in the summary).

    Returns
    -------
    list of TargetCheck
        ``(target, measured, met)`` in the order of the summary, then of the targets above;
        ``target`` names the target, N and the dtype.

    Raises
    ------
    TypeError
        If `results` is not a dict or `dtypes` is a str.
    ValueError
        If `results` has no ``summary`` list, an entry lacks a ratio, or a dtype is unknown.

    Examples
    --------
    >>> results = {"summary": [{"dtype": "float32", "n_cols": 4096,
    ...     "fwd_fraction_of_copy": 0.85, "fwd_vs_torch": 0.97, "bwd_fraction_of_copy": 0.8}]}
    >>> for check in cuda_targets(results):
    ...     print(check.target, round(check.measured, 2), check.met)
    forward >= 80% of copy bandwidth, N=4096, float32 0.85 True
    forward >= 1.0x torch.softmax, N=4096, float32 0.97 False
    backward >= 75% of copy bandwidth, N=4096, float32 0.8 True
    """
    if not isinstance(results, dict):
        raise TypeError(f"Expected `results` to be a dict, got {type(results).__name__}")
    summary = results.get("summary")
    if not isinstance(summary, list):
        raise ValueError("Expected `results` to have a 'summary' list (see bench_cuda.run)")
    if isinstance(dtypes, str):
        raise TypeError(f"Expected `dtypes` to be an iterable of str, got the str {dtypes!r}")
    wanted = None if dtypes is None else list(dtypes)
    for dt in wanted or ():
        if dt not in DTYPES:
            raise ValueError(f"Expected `dtypes` among {DTYPES}, got {dt!r}")
    checks = []
    for entry in summary:
        if not isinstance(entry, dict) or "n_cols" not in entry or "dtype" not in entry:
            raise ValueError(f"Expected summary entries with 'n_cols' and 'dtype', got {entry!r}")
        if wanted is not None and entry["dtype"] not in wanted:
            continue
        for t in TARGETS:
            if not t.applies(entry["n_cols"]):
                continue
            value = entry.get(t.field)
            if not _is_number(value):
                raise ValueError(f"Expected a number for {t.field!r} in summary entry {entry!r}")
            name = f"{t.what}, N={entry['n_cols']}, {entry['dtype']}"
            checks.append(TargetCheck(name, float(value), bool(value >= t.threshold)))
    return checks


# ---------------------------------------------------------------------------------------------
# Measuring.


def _rows_for(n_cols: int, target_bytes: int, itemsize: int) -> int:
    return max(1, -(-target_bytes // (n_cols * itemsize)))


def _time_alternated(
    candidates: dict[str, Callable[[], object]], repeats: int, warmup: int, device: str
) -> dict[str, tuple[float, float]]:
    """Median and minimum seconds of each candidate, alternated `repeats` times.

    On CUDA each call is timed alone with CUDA events, after writing a 256 MiB buffer so that
    no candidate finds its inputs in the L2 cache; on the CPU (dry run) with a wall clock.
    """
    import torch

    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    if device == "cuda":
        torch.cuda.synchronize()
        flush = torch.empty(FLUSH_BYTES, dtype=torch.int8, device="cuda")
        events: dict[str, list[tuple[torch.cuda.Event, torch.cuda.Event]]] = {
            name: [] for name in candidates
        }
        for _ in range(repeats):
            for name, fn in candidates.items():
                flush.zero_()
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                events[name].append((start, end))
        torch.cuda.synchronize()
        for name, pairs in events.items():
            times[name] = [s.elapsed_time(e) / 1e3 for s, e in pairs]  # ms -> s
        del flush
    else:
        for _ in range(repeats):
            for name, fn in candidates.items():
                start_s = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start_s)
    return {name: (statistics.median(ts), min(ts)) for name, ts in times.items()}


def _errors(
    x: torch.Tensor, y: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, n_check: int = 8
) -> tuple[float, float]:
    """Forward and backward errors on the first rows against a float64 softmax."""
    import torch

    tiny = torch.finfo(x.dtype).tiny
    ref = torch.softmax(x[:n_check].double(), -1)
    err_f = float(((y[:n_check].double() - ref).abs() / ref.abs().clamp_min(tiny)).max())
    g = dy[:n_check].double()
    dx_ref = ref * (g - (g * ref).sum(-1, keepdim=True))
    scale = float(dx_ref.abs().max()) or 1.0
    err_b = float((dx[:n_check].double() - dx_ref).abs().max()) / scale
    return err_f, err_b


def _bench_one(
    ts: ModuleType, n_cols: int, dtype_name: str, target_bytes: int, repeats: int, warmup: int,
    device: str,
) -> list[dict[str, Any]]:
    import torch

    dtype = getattr(torch, dtype_name)
    itemsize = torch.empty((), dtype=dtype).element_size()
    n_rows = _rows_for(n_cols, target_bytes, itemsize)
    g = torch.Generator(device=device).manual_seed(n_cols)
    x = (torch.randn(n_rows, n_cols, generator=g, device=device) * 4).to(dtype)
    dy = torch.randn(n_rows, n_cols, generator=g, device=device).to(dtype)
    y = torch.softmax(x, -1)  # the saved output that both backward passes read
    out = torch.empty_like(x)
    cands = {
        "softmax_triton": lambda: ts._forward(x, False),
        "torch.softmax": lambda: torch.softmax(x, -1),
        "softmax_triton_backward": lambda: ts._backward(y, dy, False),
        "torch.softmax_backward": lambda: torch._softmax_backward_data(dy, y, -1, dtype),
        "copy": lambda: out.copy_(x),
    }
    t = _time_alternated(cands, repeats, warmup, device)
    err_tri = _errors(x, ts._forward(x, False), dy, ts._backward(y, dy, False))
    err_torch = _errors(x, y, dy, torch._softmax_backward_data(dy, y, -1, dtype))
    errs = {
        "softmax_triton": err_tri[0],
        "softmax_triton_backward": err_tri[1],
        "torch.softmax": err_torch[0],
        "torch.softmax_backward": err_torch[1],
        "copy": float((out[:8] != x[:8]).any()),
    }
    size = x.numel() * itemsize
    gbps = {name: _TRAFFIC[name] * size / t[name][0] / 1e9 for name in cands}
    rows = []
    for name in KERNELS:
        err = errs[name]
        rows.append(
            {
                "kernel": name,
                "device": device,
                "dtype": dtype_name,
                "n_rows": n_rows,
                "n_cols": n_cols,
                "seconds": t[name][0],
                "seconds_min": t[name][1],
                "gbps": gbps[name],
                "ratio_vs_torch": gbps[name] / gbps[_BASELINE[name]],
                "fraction_of_copy": gbps[name] / gbps["copy"],
                "max_rel_err": err,
                "correct": bool(err <= (0.0 if name == "copy" else REL_TOL[dtype_name])),
            }
        )
    return rows  # the tensors are freed on return; the caller empties the CUDA cache


def _bench_memory(
    n_tokens: int, vocab: int, dim: int, chunk: int, dtype_name: str, device: str
) -> dict[str, Any]:
    """Peak extra CUDA memory of naive against chunked cross-entropy, forward + backward."""
    import torch
    import torch.nn.functional as F

    from .kernels import chunked_cross_entropy

    dtype = getattr(torch, dtype_name)
    g = torch.Generator(device=device).manual_seed(0)
    h = torch.randn(n_tokens, dim, generator=g, device=device).to(dtype).requires_grad_(True)
    w = (torch.randn(vocab, dim, generator=g, device=device) / dim**0.5).to(dtype)
    w.requires_grad_(True)
    y = torch.randint(0, vocab, (n_tokens,), generator=g, device=device)

    def one(kind: str) -> tuple[float, int | None, float, torch.Tensor]:
        h.grad = w.grad = None
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
        start = time.perf_counter()
        if kind == "naive":
            loss = F.cross_entropy(h @ w.T, y)  # the (N, V) logits, kept for backward
        else:
            loss = chunked_cross_entropy(h, w, y, chunk_size=chunk)
        loss.backward()
        peak = None
        if device == "cuda":
            torch.cuda.synchronize()
            peak = int(torch.cuda.max_memory_allocated() - before)
        seconds = time.perf_counter() - start
        grad_w = w.grad.detach().clone()
        return float(loss.detach()), peak, seconds, grad_w

    one("chunked")  # warm up both paths (cuBLAS handles, kernels) outside the measurement
    one("naive")
    loss_c, peak_c, sec_c, gw_c = one("chunked")
    loss_n, peak_n, sec_n, gw_n = one("naive")
    scale = float(gw_n.float().abs().max()) or 1.0
    grad_diff = float((gw_c.float() - gw_n.float()).abs().max()) / scale
    if device == "cuda":
        method = (
            "torch.cuda.max_memory_allocated() after reset_peak_memory_stats(), minus the "
            "memory allocated before; inputs built beforehand; forward + backward, gradients "
            "of hidden and weight included; warm-up run of each path first"
        )
    else:
        method = "not measured: CPU dry run (peak bytes are CUDA allocator statistics)"
    return {
        "n_tokens": n_tokens,
        "vocab": vocab,
        "dim": dim,
        "chunk_size": chunk,
        "dtype": dtype_name,
        "device": device,
        "naive_peak_extra_bytes": peak_n,
        "chunked_peak_extra_bytes": peak_c,
        "ratio": None if peak_n is None or peak_c is None else peak_c / peak_n,
        "naive_seconds": sec_n,
        "chunked_seconds": sec_c,
        "loss_abs_diff": abs(loss_n - loss_c),
        "grad_rel_diff": grad_diff,
        "method": method,
    }


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (dtype, N) with the times, bandwidths and ratios of the issue's targets.

    ``fwd_fraction_of_copy`` and ``bwd_fraction_of_copy`` are the Triton kernel's effective
    bandwidth over the copy's; ``fwd_vs_torch`` and ``bwd_vs_torch`` its throughput over
    PyTorch's (above 1: faster than PyTorch).

    Parameters
    ----------
    rows : list of dict
        The ``rows`` of a result: for each dtype and N, one row of each of the five kernels.

    Returns
    -------
    list of dict
        In the order the rows first name each (dtype, N).

    Raises
    ------
    ValueError
        If a (dtype, N) lacks one of the five kernels or names one twice.

    Examples
    --------
    >>> rows = [{"kernel": k, "dtype": "float32", "n_cols": 4096, "n_rows": 8, "seconds": s,
    ...          "gbps": gb, "correct": True}
    ...         for k, s, gb in [("softmax_triton", 2.0, 1.0), ("torch.softmax", 2.5, 0.8),
    ...                          ("softmax_triton_backward", 4.0, 0.75),
    ...                          ("torch.softmax_backward", 4.0, 0.75), ("copy", 1.6, 1.25)]]
    >>> s = summarize(rows)[0]
    >>> s["fwd_fraction_of_copy"], s["fwd_vs_torch"], s["bwd_fraction_of_copy"]
    (0.8, 1.25, 0.6)
    """
    groups: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for r in rows:
        key = (r["dtype"], r["n_cols"])
        group = groups.setdefault(key, {})
        if r["kernel"] in group:
            raise ValueError(f"Expected one {r['kernel']!r} row for {key}, got two")
        group[r["kernel"]] = r
    out = []
    for (dtype, n_cols), k in groups.items():
        missing = [name for name in KERNELS if name not in k]
        if missing:
            raise ValueError(f"Expected rows of {missing} for dtype {dtype}, N={n_cols}")
        tf, tt = k["softmax_triton"], k["torch.softmax"]
        bf, bt, cp = k["softmax_triton_backward"], k["torch.softmax_backward"], k["copy"]
        out.append(
            {
                "dtype": dtype,
                "n_cols": n_cols,
                "n_rows": tf["n_rows"],
                "triton_fwd_s": tf["seconds"],
                "triton_fwd_gbps": tf["gbps"],
                "triton_bwd_s": bf["seconds"],
                "triton_bwd_gbps": bf["gbps"],
                "torch_fwd_s": tt["seconds"],
                "torch_fwd_gbps": tt["gbps"],
                "torch_bwd_s": bt["seconds"],
                "torch_bwd_gbps": bt["gbps"],
                "copy_s": cp["seconds"],
                "copy_gbps": cp["gbps"],
                "fwd_fraction_of_copy": tf["gbps"] / cp["gbps"],
                "fwd_vs_torch": tf["gbps"] / tt["gbps"],
                "bwd_fraction_of_copy": bf["gbps"] / cp["gbps"],
                "bwd_vs_torch": bf["gbps"] / bt["gbps"],
                "correct": all(k[name]["correct"] for name in KERNELS),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# Machine description.


def _driver_version() -> str | None:
    try:
        proc = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = proc.stdout.strip().splitlines()
    return lines[0].strip() if lines else None


def _machine(device: str) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "gpu": None,
        "gpu_count": 0,
        "driver": None,
        "cuda": torch.version.cuda,
    }
    if device == "cuda":
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        info.update(
            gpu=props.name,
            gpu_count=torch.cuda.device_count(),
            driver=_driver_version(),
            compute_capability=f"{props.major}.{props.minor}",
            gpu_memory_bytes=int(props.total_memory),
            multiprocessors=int(props.multi_processor_count),
            l2_cache_bytes=getattr(props, "L2_cache_size", None),
        )
    return info


def _versions() -> dict[str, str | None]:
    import numpy
    import torch
    import triton

    from . import __version__

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "triton": triton.__version__,
        "cuda": torch.version.cuda,
        "softmax-bottleneck": __version__,
    }


# ---------------------------------------------------------------------------------------------
# The run.


def _triton_module(device: str) -> ModuleType:
    import importlib

    ts = importlib.import_module("softmax_bottleneck.kernels.triton_softmax")
    if device == "cpu" and not ts.INTERPRET:
        raise ValueError(
            "Expected Triton's interpreter for device='cpu': set TRITON_INTERPRET=1 before "
            "Triton is imported (the command line's --interpret does)"
        )
    if device == "cuda" and ts.INTERPRET:
        raise ValueError("Expected TRITON_INTERPRET unset for device='cuda', got it set")
    return ts


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Expected `{name}` to be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"Expected `{name}` to be a positive int, got {value!r}")
    return value


def run(
    *,
    device: str = "cuda",
    quick: bool = False,
    cols: Iterable[int] | None = None,
    dtypes: Iterable[str] | None = None,
    target_mib: float | None = None,
    repeats: int | None = None,
    warmup: int | None = None,
    memory: tuple[int, int, int, int] | None = DEFAULT_MEMORY,
    memory_dtype: str = "bfloat16",
    budget_s: float | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the GPU benchmark and return a JSON-ready dict (see the module docstring).

    Parameters
    ----------
    device : {"cuda", "cpu"}
        ``"cuda"`` measures; ``"cpu"`` is a dry run of the same code in Triton's interpreter
        (``TRITON_INTERPRET=1`` must be set before Triton is imported) on tiny tensors.
    quick : bool
        Four row lengths, 128 MiB tensors, 5 repetitions, float32, a smaller memory case.
    cols : iterable of int, optional
        Row lengths N (default :data:`ISSUE_COLS`; dry run: 37, 1000, 16385).
    dtypes : iterable of {"float32", "float16", "bfloat16"}, optional
        Default float32 and bfloat16 (quick and dry run: float32).
    target_mib : float, optional
        Size of each input tensor in MiB (default 512, quick 128, dry run 1/64).
    repeats, warmup : int, optional
        Timed repetitions per candidate (default 25, quick 5, dry run 2) and untimed calls
        before them (default 3, dry run 1).
    memory : (n_tokens, vocab, dim, chunk_size) or None
        The cross-entropy memory case (default 8192, 128256, 4096, 1024); None skips it.
        Quick: (2048, 32768, 1024, 512); dry run: (64, 1000, 32, 16).
    memory_dtype : {"float32", "float16", "bfloat16"}
        The dtype of the memory case.
    budget_s : float, optional
        Seconds after which no new row length (or the memory case) is started; what is left
        is listed in ``skipped`` and ``complete`` is False.
    progress : callable, optional
        Called with the partial result after each row length (to save it as it grows).

    Returns
    -------
    dict
        ``schema``, ``dry_run``, ``complete``, ``machine``, ``versions``, ``date``,
        ``protocol``, ``rows``, ``summary``, ``memory``, ``targets``, ``skipped``,
        ``elapsed_s``.

    Raises
    ------
    ValueError
        For an unknown device or dtype, non-positive sizes, ``device="cuda"`` without a GPU,
        or ``device="cpu"`` without the interpreter.
    TypeError
        For arguments of the wrong type.

    Examples
    --------
    A dry run, with ``TRITON_INTERPRET=1`` set before Triton was imported (as
    ``make test-package`` does):

    >>> res = run(device="cpu", cols=[37], target_mib=1 / 1024, repeats=1, warmup=1,
    ...           memory=None)
    >>> [r["kernel"] for r in res["rows"]]  # doctest: +NORMALIZE_WHITESPACE
    ['softmax_triton', 'torch.softmax', 'softmax_triton_backward',
     'torch.softmax_backward', 'copy']
    >>> res["dry_run"], res["complete"], all(r["correct"] for r in res["rows"])
    (True, True, True)
    """
    import torch

    if device not in ("cuda", "cpu"):
        raise ValueError(f"Expected `device` to be 'cuda' or 'cpu', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("Expected a CUDA GPU for device='cuda', found none")
    dry = device == "cpu"
    cols_l = list(cols) if cols is not None else list(
        DRY_RUN_COLS if dry else QUICK_COLS if quick else ISSUE_COLS
    )
    if not cols_l:
        raise ValueError("Expected at least one row length in `cols`")
    for n in cols_l:
        _check_positive_int(n, "cols")
    if isinstance(dtypes, str):
        raise TypeError(f"Expected `dtypes` to be an iterable of str, got the str {dtypes!r}")
    dtypes_l = list(dtypes) if dtypes is not None else (
        ["float32"] if dry or quick else ["float32", "bfloat16"]
    )
    for dt in [*dtypes_l, memory_dtype]:
        if dt not in DTYPES:
            raise ValueError(f"Expected dtypes among {DTYPES}, got {dt!r}")
    if not dtypes_l:
        raise ValueError("Expected at least one dtype in `dtypes`")
    mib = target_mib if target_mib is not None else (1 / 64 if dry else 128 if quick else 512)
    if isinstance(mib, bool) or not _is_number(mib) or mib <= 0:
        raise ValueError(f"Expected `target_mib` to be a positive number, got {target_mib!r}")
    repeats = _check_positive_int(
        repeats if repeats is not None else (2 if dry else 5 if quick else 25), "repeats"
    )
    warmup = _check_positive_int(warmup if warmup is not None else (1 if dry else 3), "warmup")
    if memory is not None:
        if len(memory) != 4:
            raise ValueError(f"Expected `memory` as (n_tokens, vocab, dim, chunk), got {memory!r}")
        for v in memory:
            _check_positive_int(v, "memory")
        if dry and tuple(memory) == DEFAULT_MEMORY:
            memory = (64, 1000, 32, 16)
        elif quick and tuple(memory) == DEFAULT_MEMORY:
            memory = (2048, 32768, 1024, 512)
    if budget_s is not None and (not _is_number(budget_s) or budget_s <= 0):
        raise ValueError(f"Expected `budget_s` to be a positive number, got {budget_s!r}")
    ts = _triton_module(device)

    start = time.perf_counter()
    target_bytes = int(mib * MIB)
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "dry_run": dry,
        "complete": False,
        "machine": _machine(device),
        "versions": _versions(),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "protocol": {
            "repeats": repeats,
            "warmup": warmup,
            "tensor_bytes": target_bytes,
            "cols": cols_l,
            "dtypes": dtypes_l,
            "statistic": "median, candidates alternated"
            + (", CUDA events, L2 flushed before each call" if not dry else ", wall clock"),
            "traffic": "forward and copy: read + write the tensor once; backward: read two, "
            "write one",
            "quick": bool(quick),
            "rel_tol": REL_TOL,
        },
        "rows": [],
        "summary": [],
        "memory": None,
        "targets": [],
        "skipped": [],
        "elapsed_s": 0.0,
    }

    def over_budget() -> bool:
        return budget_s is not None and time.perf_counter() - start > budget_s

    def report() -> None:
        result["summary"] = summarize(result["rows"])
        result["targets"] = [c._asdict() for c in cuda_targets(result)]
        result["elapsed_s"] = time.perf_counter() - start
        if progress is not None:
            progress(result)

    # float32 first, then the memory case, then the other dtypes: if time runs short, the
    # numbers the targets are set on come first.
    plan: list[tuple[str, Any]] = [("rows", (dtypes_l[0], n)) for n in cols_l]
    if memory is not None:
        plan.append(("memory", tuple(memory)))
    plan += [("rows", (dt, n)) for dt in dtypes_l[1:] for n in cols_l]
    for kind, arg in plan:
        if over_budget():
            result["skipped"].append(
                f"{arg[0]} N={arg[1]}" if kind == "rows" else f"memory {list(arg)}"
            )
            continue
        if kind == "rows":
            dt, n = arg
            result["rows"] += _bench_one(ts, n, dt, target_bytes, repeats, warmup, device)
        else:
            n_tokens, vocab, dim, chunk = arg
            result["memory"] = _bench_memory(n_tokens, vocab, dim, chunk, memory_dtype, device)
        if device == "cuda":
            torch.cuda.empty_cache()  # the last case's tensors are gone: give their memory back
        report()
    result["complete"] = not result["skipped"]
    report()
    return result


# ---------------------------------------------------------------------------------------------
# Validation.


def _is_number(v: object) -> TypeGuard[int | float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def validate_cuda_results(results: Any, *, require_complete: bool = False) -> None:
    """Check that `results` follows the schema written by :func:`run`; raise if not.

    Checks the top-level fields, the machine and version fields, every row (fields, types,
    positive finite times and bandwidths, five kernels per dtype and N), that ``summary`` and
    ``targets`` agree with the rows, and the memory case.

    Parameters
    ----------
    results : dict
        A result of :func:`run`, or the parsed JSON file.
    require_complete : bool, default False
        Also require a real GPU run (not a dry run) with nothing skipped, every one of
        :data:`ISSUE_COLS` measured in float32, and the memory case measured.

    Raises
    ------
    TypeError
        If `results` is not a dict.
    ValueError
        Listing every problem found.

    Examples
    --------
    >>> validate_cuda_results({"schema": "something else"})
    Traceback (most recent call last):
    ...
    ValueError: Invalid CUDA benchmark results: schema is 'something else', expected ...
    """
    if not isinstance(results, dict):
        raise TypeError(f"Expected `results` to be a dict, got {type(results).__name__}")
    problems: list[str] = []
    if results.get("schema") != SCHEMA:
        problems.append(f"schema is {results.get('schema')!r}, expected {SCHEMA!r}")
        raise ValueError("Invalid CUDA benchmark results: " + "; ".join(problems))
    required = ("dry_run", "complete", "machine", "versions", "date", "protocol", "rows",
                "summary", "memory", "targets", "skipped", "elapsed_s")
    missing = [k for k in required if k not in results]
    if missing:
        raise ValueError(f"Invalid CUDA benchmark results: missing fields {missing}")
    dry = results["dry_run"]
    for key in ("dry_run", "complete"):
        if not isinstance(results[key], bool):
            problems.append(f"{key} is not a bool")
    machine, versions = results["machine"], results["versions"]
    if not isinstance(machine, dict) or not isinstance(versions, dict):
        problems.append("machine and versions must be dicts")
    else:
        for key in ("torch", "triton", "python"):
            if not isinstance(versions.get(key), str) or not versions.get(key):
                problems.append(f"versions.{key} is missing")
        if dry is False:
            for key in ("gpu", "driver", "cuda"):
                if not isinstance(machine.get(key), str) or not machine.get(key):
                    problems.append(f"machine.{key} is missing (a GPU run records it)")
    try:
        _dt.datetime.fromisoformat(results["date"])
    except (TypeError, ValueError):
        problems.append(f"date {results['date']!r} is not an ISO date")
    rows = results["rows"]
    if not isinstance(rows, list):
        problems.append("rows is not a list")
        rows = []
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            problems.append(f"rows[{i}] is not a dict")
            continue
        for key, typ in _ROW_FIELDS.items():
            v = r.get(key)
            ok = _is_number(v) if typ is float else isinstance(v, typ) and (
                typ is not int or not isinstance(v, bool)
            )
            if not ok:
                problems.append(f"rows[{i}].{key} = {v!r} is not a valid {typ.__name__}")
        if r.get("kernel") not in KERNELS:
            problems.append(f"rows[{i}].kernel {r.get('kernel')!r} is unknown")
        if r.get("dtype") not in DTYPES:
            problems.append(f"rows[{i}].dtype {r.get('dtype')!r} is unknown")
        for key in ("n_rows", "n_cols", "seconds", "seconds_min", "gbps"):
            if _is_number(r.get(key)) and r[key] <= 0:
                problems.append(f"rows[{i}].{key} is not positive")
        if dry is False and r.get("device") != "cuda":
            problems.append(f"rows[{i}].device is {r.get('device')!r} in a GPU run")
    if not problems:
        try:
            summary = summarize(rows)
        except (KeyError, ValueError) as err:
            problems.append(f"rows: {err}")
        else:
            if not _same(results["summary"], summary):
                problems.append("summary does not agree with the rows")
            try:
                targets = [c._asdict() for c in cuda_targets({"summary": summary})]
            except ValueError as err:  # pragma: no cover - summarize gives numbers
                problems.append(str(err))
            else:
                if not _same(results["targets"], targets):
                    problems.append("targets do not agree with the summary")
    mem = results["memory"]
    if mem is not None:
        if not isinstance(mem, dict):
            problems.append("memory is neither null nor a dict")
        else:
            absent = [k for k in _MEMORY_FIELDS if k not in mem]
            if absent:
                problems.append(f"memory lacks {absent}")
            elif dry is False:
                for key in ("naive_peak_extra_bytes", "chunked_peak_extra_bytes"):
                    if not isinstance(mem[key], int) or mem[key] <= 0:
                        problems.append(f"memory.{key} = {mem[key]!r} is not a positive int")
    if require_complete:
        if dry is not False:
            problems.append("a dry run, not a GPU run")
        if results["complete"] is not True or results["skipped"]:
            problems.append(f"not complete, skipped: {results['skipped']}")
        measured = {r.get("n_cols") for r in rows if isinstance(r, dict)
                    and r.get("dtype") == "float32"}
        lacking = [n for n in ISSUE_COLS if n not in measured]
        if lacking:
            problems.append(f"float32 rows lack N = {lacking}")
        if mem is None:
            problems.append("the memory case was not measured")
    if problems:
        raise ValueError("Invalid CUDA benchmark results: " + "; ".join(problems))


def _same(a: Any, b: Any) -> bool:
    """Equal, with floats compared to a relative 1e-9 (JSON round trips them exactly)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if _is_number(a) and _is_number(b) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
    return bool(a == b)


# ---------------------------------------------------------------------------------------------
# Command line.


def format_table(result: dict[str, Any]) -> str:
    """The summary, memory case and targets of a result as a plain-text table.

    Examples
    --------
    >>> format_table({"summary": [], "memory": None, "targets": []}).split()[:6]
    ['dtype', 'N', 'rows', 'fwd', 'GB/s', 'bwd']
    """
    head = (
        f"{'dtype':<9}{'N':>7}{'rows':>8}{'fwd GB/s':>10}{'bwd GB/s':>10}{'copy GB/s':>10}"
        f"{'fwd/copy':>9}{'fwd/torch':>10}{'bwd/copy':>9}{'bwd/torch':>10} ok"
    )
    lines = [head]
    if result.get("dry_run"):
        lines.insert(0, "DRY RUN on the CPU (Triton interpreter): the timings mean nothing")
    for s in result["summary"]:
        lines.append(
            f"{s['dtype']:<9}{s['n_cols']:>7}{s['n_rows']:>8}{s['triton_fwd_gbps']:>10.1f}"
            f"{s['triton_bwd_gbps']:>10.1f}{s['copy_gbps']:>10.1f}"
            f"{s['fwd_fraction_of_copy']:>9.2f}{s['fwd_vs_torch']:>10.2f}"
            f"{s['bwd_fraction_of_copy']:>9.2f}{s['bwd_vs_torch']:>10.2f}"
            f" {'yes' if s['correct'] else 'NO'}"
        )
    mem = result.get("memory")
    if mem:
        peak = (
            f"naive {mem['naive_peak_extra_bytes'] / MIB:.0f} MiB, chunked "
            f"{mem['chunked_peak_extra_bytes'] / MIB:.0f} MiB ({mem['ratio']:.1%} of naive)"
            if mem["ratio"] is not None
            else "peak not measured (dry run)"
        )
        lines += [
            "",
            f"cross-entropy N={mem['n_tokens']} V={mem['vocab']} d={mem['dim']} "
            f"chunk={mem['chunk_size']} {mem['dtype']}: {peak}; loss diff "
            f"{mem['loss_abs_diff']:.1e}, grad diff {mem['grad_rel_diff']:.1e}",
        ]
    if result["targets"]:
        lines.append("")
        for t in result["targets"]:
            lines.append(f"{'met ' if t['met'] else 'MISS'}  {t['measured']:6.2f}  {t['target']}")
    return "\n".join(lines)


def _write_json(path: str, result: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``python -m softmax_bottleneck.bench_cuda [options]``.

    Returns 0 when every row is correct (and, on a GPU, nothing was skipped), else 1.
    Targets that are missed are printed but do not change the exit status: they are results.
    """
    parser = argparse.ArgumentParser(
        prog="python -m softmax_bottleneck.bench_cuda",
        description="Triton softmax against torch.softmax and the device copy (chapter 8).",
    )
    parser.add_argument("--out", metavar="PATH", help="write the result as JSON here")
    parser.add_argument("--quick", action="store_true", help="4 sizes, 128 MiB, float32")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument(
        "--interpret",
        action="store_true",
        help="set TRITON_INTERPRET=1 (with --device cpu: a dry run on tiny tensors)",
    )
    parser.add_argument("--cols", type=int, nargs="+", help="row lengths N")
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, help="dtypes of the sweep")
    parser.add_argument("--mib", type=float, help="size of each input tensor in MiB")
    parser.add_argument("--repeats", type=int, help="timed repetitions per candidate")
    parser.add_argument("--warmup", type=int, help="untimed calls per candidate first")
    parser.add_argument(
        "--memory",
        type=int,
        nargs=4,
        metavar=("N", "V", "D", "CHUNK"),
        help="cross-entropy memory case (default 8192 128256 4096 1024)",
    )
    parser.add_argument("--memory-dtype", choices=DTYPES, default="bfloat16")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory case")
    parser.add_argument("--budget-s", type=float, help="start nothing new after this many s")
    args = parser.parse_args(argv)
    if args.interpret and args.device != "cpu":
        parser.error("--interpret runs the kernels on the CPU: use it with --device cpu")
    if args.interpret:
        os.environ["TRITON_INTERPRET"] = "1"  # before the kernels (and Triton) are imported
    memory = None if args.no_memory else tuple(args.memory) if args.memory else DEFAULT_MEMORY

    def save(partial: dict[str, Any]) -> None:
        if args.out:
            _write_json(args.out, partial)

    try:
        result = run(
            device=args.device,
            quick=args.quick,
            cols=args.cols,
            dtypes=args.dtypes,
            target_mib=args.mib,
            repeats=args.repeats,
            warmup=args.warmup,
            memory=memory,
            memory_dtype=args.memory_dtype,
            budget_s=args.budget_s,
            progress=save,
        )
    except (TypeError, ValueError) as err:
        parser.error(str(err))
    print(format_table(result))
    save(result)
    if args.out:
        print(f"\nwrote {args.out}")
    bad = [r for r in result["rows"] if not r["correct"]]
    if bad:
        print(f"INCORRECT results in {len(bad)} rows", file=sys.stderr)
    if result["skipped"]:
        print(f"SKIPPED (time budget): {result['skipped']}", file=sys.stderr)
    return 1 if bad or result["skipped"] else 0


if __name__ == "__main__":
    sys.exit(main())
