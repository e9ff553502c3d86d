"""The benchmark command: softmax kernels against PyTorch and the machine's copy bandwidth.

Run ``python -m softmax_bottleneck.bench --help``. Book: chapter 8 (which plots its JSON).

Protocol (BLUEPRINT "Performance targets"):

* every candidate and baseline in the same process, alternated within each repetition, and
  the median of the repetitions reported;
* tensors of at least 64 MiB (``--quick``: fewer sizes and repetitions), odd row
  lengths included (50257, 128256);
* the same allocation policy on both sides: on the CPU both write into a preallocated
  output (``softmax_cpu(x, out=y)`` against ``torch._softmax.out``);
* correctness checked in the same run (maximum absolute difference from ``torch.softmax``);
* copy bandwidth measured in the same run, at the same size (``y.copy_(x)``).

Throughput is ``(bytes read + bytes written) / time`` with the minimal traffic of the
operation: read the tensor once and write it once (backward: read two tensors, write one).
Each row of the JSON has ``kernel``, ``device``, ``dtype``, ``n_rows``, ``n_cols``, ``gbps``,
``ratio_vs_torch`` (speed over PyTorch's: on the CPU the median over repetitions of the ratio
within each repetition, where the two ran back to back) and ``fraction_of_copy`` (the same
against the copy), plus ``seconds``, ``max_rel_err`` (largest relative error on the first rows against
a float64 softmax; backward: largest error over the largest gradient entry) and ``correct``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

__all__ = ["committed_results", "main", "measure_peak_memory", "run"]

MIB = 1 << 20
FULL_COLS = [1024, 4096, 16384, 50257, 128256, 1048576]
QUICK_COLS = [1024, 4096, 50257, 128256]

# Results committed with the book: the repository keeps them in benchmarks/results/, and a
# copy ships inside the package (tests/test_bench.py checks the two agree) so that chapters 8
# and 9 also run where only the package is installed, as on Colab.
_PACKAGED_RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_results")


def committed_results(pattern: str = "*.json") -> dict[str, dict[str, Any]]:
    """The benchmark results committed with the book, by file name.

    Parameters
    ----------
    pattern : str, default ``"*.json"``
        A glob pattern for the file names, e.g. ``"cuda-*.json"``.

    Returns
    -------
    dict
        File name (without folder) to the parsed JSON object (``machine``, ``versions``,
        ``date``, ``rows``...), sorted by name; empty if nothing matches.

    Examples
    --------
    >>> results = committed_results("cpu-*.json")
    >>> all({"machine", "date", "rows"} <= set(r) for r in results.values())
    True
    """
    import glob

    if not isinstance(pattern, str) or not pattern:
        raise TypeError(f"pattern must be a non-empty str, got {pattern!r}")
    found = {}
    for path in sorted(glob.glob(os.path.join(_PACKAGED_RESULTS, pattern))):
        with open(path, encoding="utf-8") as f:
            found[os.path.basename(path)] = json.load(f)
    return found


def _machine(device: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
    }
    import torch

    info["torch_threads"] = torch.get_num_threads()
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # not Linux: fall back to what the platform module knows
        return platform.processor() or "unknown"
    return platform.processor() or "unknown"


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("numpy", "torch", "numba", "triton", "softmax-bottleneck"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _loadavg() -> list[float] | None:
    """The 1, 5 and 15-minute load averages (None where the platform has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _time(fn: Callable[[], object], sync: Callable[[], None]) -> float:
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


_STATISTIC: dict[str, Callable[[list[float]], float]] = {"median": statistics.median, "min": min}


def _median_times(
    candidates: Mapping[str, Callable[[], object]],
    repeats: int,
    sync: Callable[[], None],
    statistic: str = "median",
    times_out: dict[str, list[float]] | None = None,
) -> dict[str, float]:
    """Warm every candidate up once, then alternate them `repeats` times; return medians
    (or minima, with ``statistic="min"``). The raw times go to `times_out` if given."""
    for fn in candidates.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            times[name].append(_time(fn, sync))
    if times_out is not None:
        times_out.update(times)
    return {name: _STATISTIC[statistic](ts) for name, ts in times.items()}


def _paired_ratio(times: dict[str, list[float]], name: str, base: str, statistic: str) -> float:
    """Speed of `name` over `base` (> 1: faster), summarised over the repetitions' pairs.

    Each repetition timed both back to back, so the two saw the same load on a shared machine;
    the ratio within a pair cancels most of it, and the median of the pairs' ratios is the
    protocol's statistic (``statistic="min"``: the ratio of the minima).
    """
    if statistic == "min":
        return min(times[base]) / min(times[name])
    return statistics.median(b / a for a, b in zip(times[name], times[base], strict=True))


def _rows_for(n_cols: int, target_bytes: int, itemsize: int) -> int:
    return max(1, -(-target_bytes // (n_cols * itemsize)))


REL_TOL = 1e-3  # float32 softmax of 1 M values: torch itself is off by ~1e-4 (relative)


def _rel_errors(x: Any, outputs: dict[str, Any], n_check: int = 8) -> dict[str, float]:
    """Largest relative error of each output on the first rows, against a float64 softmax."""
    import torch

    ref = torch.softmax(x[:n_check].double(), -1)
    return {
        name: float(((y[:n_check].double() - ref).abs() / ref.clamp_min(1e-30)).max())
        for name, y in outputs.items()
    }


def _bench_cpu(
    cols: list[int], target_bytes: int, repeats: int, statistic: str = "median"
) -> list[dict[str, Any]]:
    import torch

    from .kernels import softmax_cpu

    rows_out = []
    g = torch.Generator().manual_seed(0)
    for n_cols in cols:
        n_rows = _rows_for(n_cols, target_bytes, 4)
        x = torch.randn(n_rows, n_cols, generator=g) * 4  # (R, K) float32
        y_ours = torch.empty_like(x)
        y_torch = torch.empty_like(x)
        y_copy = torch.empty_like(x)
        x_np, y_np = x.numpy(), y_ours.numpy()
        # Each candidate binds this size's arrays now (partial), not the loop variables.
        cands: dict[str, Callable[[], object]] = {
            "softmax_cpu": partial(softmax_cpu, x_np, out=y_np),
            "torch.softmax": partial(torch.ops.aten._softmax.out, x, -1, False, out=y_torch),
            "copy": partial(y_copy.copy_, x),
        }
        raw: dict[str, list[float]] = {}
        t = _median_times(cands, repeats, lambda: None, statistic, raw)
        errs = _rel_errors(x, {"softmax_cpu": y_ours, "torch.softmax": y_torch})
        nbytes = 2 * x.numel() * x.element_size()  # read K, write K per row
        gbps = {name: nbytes / sec / 1e9 for name, sec in t.items()}
        for name in ("softmax_cpu", "torch.softmax", "copy"):
            rows_out.append(
                {
                    "kernel": name,
                    "device": "cpu",
                    "dtype": "float32",
                    "n_rows": n_rows,
                    "n_cols": n_cols,
                    "seconds": t[name],
                    "gbps": gbps[name],
                    "ratio_vs_torch": _paired_ratio(raw, name, "torch.softmax", statistic),
                    "fraction_of_copy": _paired_ratio(raw, name, "copy", statistic),
                    "max_rel_err": errs.get(name, 0.0),
                    "correct": errs.get(name, 0.0) <= REL_TOL,
                }
            )
        del x, y_ours, y_torch, y_copy, x_np, y_np
    return rows_out


def _bench_cuda(
    cols: list[int],
    target_bytes: int,
    repeats: int,
    statistic: str = "median",
    device: str = "cuda",
) -> list[dict[str, Any]]:
    """Triton against torch on `device` ("cpu" only for testing under TRITON_INTERPRET=1)."""
    import torch

    from .kernels import triton_softmax as ts

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    rows_out = []
    g = torch.Generator(device=device).manual_seed(0)
    for n_cols in cols:
        n_rows = _rows_for(n_cols, target_bytes, 4)
        x = torch.randn(n_rows, n_cols, generator=g, device=device) * 4
        dy = torch.randn(n_rows, n_cols, generator=g, device=device)
        y_copy = torch.empty_like(x)
        y_ref = torch.softmax(x, -1)
        # Both sides allocate their output (PyTorch's caching allocator makes that cheap).
        # Each candidate binds this size's tensors now (partial), not the loop variables.
        cands: dict[str, Callable[[], object]] = {
            "softmax_triton": partial(ts._forward, x, False),
            "torch.softmax": partial(torch.softmax, x, -1),
            "softmax_triton_backward": partial(ts._backward, y_ref, dy, False),
            "torch.softmax_backward": partial(
                torch._softmax_backward_data, dy, y_ref, -1, y_ref.dtype
            ),
            "copy": partial(y_copy.copy_, x),
        }
        t = _median_times(cands, repeats, sync, statistic)
        err_f = _rel_errors(x, {"f": ts._forward(x, False), "t": y_ref})
        dx_ref = torch._softmax_backward_data(dy, y_ref, -1, x.dtype)
        dx = ts._backward(y_ref, dy, False)
        scale_b = float(dx_ref.abs().max())
        err_b = float((dx - dx_ref).abs().max()) / scale_b  # relative to the largest entry
        size = x.numel() * x.element_size()
        traffic = {
            "softmax_triton": 2 * size,
            "torch.softmax": 2 * size,
            "softmax_triton_backward": 3 * size,
            "torch.softmax_backward": 3 * size,
            "copy": 2 * size,
        }
        gbps = {name: traffic[name] / sec / 1e9 for name, sec in t.items()}
        base = {
            "softmax_triton": "torch.softmax",
            "torch.softmax": "torch.softmax",
            "softmax_triton_backward": "torch.softmax_backward",
            "torch.softmax_backward": "torch.softmax_backward",
            "copy": "torch.softmax",
        }
        errs = {
            "softmax_triton": err_f["f"],
            "torch.softmax": err_f["t"],
            "softmax_triton_backward": err_b,
        }
        for name in cands:
            err = errs.get(name, 0.0)
            rows_out.append(
                {
                    "kernel": name,
                    "device": device,
                    "dtype": "float32",
                    "n_rows": n_rows,
                    "n_cols": n_cols,
                    "seconds": t[name],
                    "gbps": gbps[name],
                    "ratio_vs_torch": gbps[name] / gbps[base[name]],
                    "fraction_of_copy": gbps[name] / gbps["copy"],
                    "max_rel_err": err,
                    "correct": err <= REL_TOL,
                }
            )
        del x, dy, y_copy, y_ref
        if device == "cuda":
            torch.cuda.empty_cache()
    return rows_out


_MEMORY_SCRIPT = r"""
import json, resource, sys, torch
import torch.nn.functional as F
from softmax_bottleneck.kernels import chunked_cross_entropy
kind, n, v, d, chunk = sys.argv[1], *map(int, sys.argv[2:6])
torch.set_num_threads(int(sys.argv[6]))
def run(h, w, y):
    if kind == "naive":
        loss = F.cross_entropy(h @ w.T, y)
    else:
        loss = chunked_cross_entropy(h, w, y, chunk_size=chunk)
    loss.backward()
    return loss
g = torch.Generator().manual_seed(0)
small = [torch.randn(8, d, requires_grad=True), torch.randn(16, d, requires_grad=True),
         torch.randint(0, 16, (8,))]
run(*small)  # warm up: thread pools, kernels
h = torch.randn(n, d, generator=g).requires_grad_(True)
w = (torch.randn(v, d, generator=g) / d ** 0.5).requires_grad_(True)
y = torch.randint(0, v, (n,), generator=g)
def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak resident set size (VmHWM) to the current one
before = status("VmRSS")
loss = run(h, w, y)
after = status("VmHWM")
print(json.dumps({"peak_extra_bytes": after - before, "loss": float(loss)}))
"""


def measure_peak_memory(
    kind: str, n_tokens: int, vocab: int, dim: int, chunk_size: int = 256
) -> dict[str, Any]:
    """Peak extra resident memory of one forward + backward, in a fresh process (Linux).

    `kind` is "naive" (``F.cross_entropy(hidden @ weight.T, target)``) or "chunked"
    (:func:`softmax_bottleneck.kernels.chunked_cross_entropy`). The process builds its
    inputs, resets its peak resident set size (``VmHWM``), runs the loss and its backward
    pass, and reports how far the peak rose above the resident size before: the memory the
    loss needed beyond its inputs, including the gradients it returns. glibc's allocator is
    told to return every block of 64 KiB or more to the system when freed
    (``MALLOC_MMAP_THRESHOLD_``), so the resident size follows the live tensors.
    """
    threads = str(os.cpu_count() or 1)
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEMORY_SCRIPT,
            kind,
            str(n_tokens),
            str(vocab),
            str(dim),
            str(chunk_size),
            threads,
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _bench_memory(n: int, v: int, d: int, chunk: int) -> dict[str, Any]:
    naive = measure_peak_memory("naive", n, v, d, chunk)
    chunked = measure_peak_memory("chunked", n, v, d, chunk)
    return {
        "n_tokens": n,
        "vocab": v,
        "dim": d,
        "chunk_size": chunk,
        "dtype": "float32",
        "naive_peak_extra_bytes": naive["peak_extra_bytes"],
        "chunked_peak_extra_bytes": chunked["peak_extra_bytes"],
        "ratio": chunked["peak_extra_bytes"] / naive["peak_extra_bytes"],
        "loss_abs_diff": abs(naive["loss"] - chunked["loss"]),
        "method": "rise of VmHWM over VmRSS during forward+backward, fresh process each, "
        "MALLOC_MMAP_THRESHOLD_=65536",
    }


def run(
    *,
    device: str = "cpu",
    quick: bool = False,
    cols: list[int] | None = None,
    repeats: int | None = None,
    target_mib: int | None = None,
    memory: tuple[int, int, int, int] | None = None,
    threads: int | None = None,
    statistic: str = "median",
) -> dict[str, Any]:
    """Run the benchmark and return the result as a JSON-ready dict (see module docstring).

    Parameters
    ----------
    device : {"cpu", "cuda"}
        Where to run: the Numba kernel against ``torch.softmax`` on the CPU, or the Triton
        kernels against ``torch.softmax`` on a CUDA GPU.
    quick : bool
        Fewer sizes and 3 repetitions.
    cols : list of int, optional
        Row lengths to measure (default: a set from 1 K to 1 M values).
    repeats : int, optional
        Repetitions per candidate (default 7, quick 3).
    target_mib : int, optional
        Size of each input tensor in MiB (default 64).
    memory : (n_tokens, vocab, dim, chunk_size), optional
        Also measure the peak memory of chunked against naive cross-entropy (CPU).
    threads : int, optional
        CPU threads for PyTorch and Numba alike (default: all cores). One thread avoids
        waiting for a descheduled second thread on a machine shared with other jobs.
    statistic : {"median", "min"}
        How repeated timings are summarised. The protocol's median is the default; the
        minimum is the least disturbed by other work on a busy machine.
    """
    import torch

    if device not in ("cpu", "cuda"):
        raise ValueError(f"Expected `device` to be 'cpu' or 'cuda', got {device!r}")
    if statistic not in _STATISTIC:
        raise ValueError(f"Expected `statistic` to be 'median' or 'min', got {statistic!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("Expected a CUDA GPU for device='cuda', found none")
    n_threads = threads or os.cpu_count() or 1
    if device == "cpu":
        import numba

        # Numba first: starting its OpenMP pool resets the calling thread's OpenMP count,
        # which PyTorch reads, so a later torch.set_num_threads is the one that holds.
        # numba.config sets NUMBA_NUM_THREADS at import time (from the environment), so the
        # type checker cannot see it.
        max_threads: int = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
        numba.set_num_threads(min(n_threads, max_threads))
    torch.set_num_threads(n_threads)
    if torch.get_num_threads() != n_threads:
        raise RuntimeError(
            f"asked PyTorch for {n_threads} threads, it uses {torch.get_num_threads()}"
        )
    cols = cols or (QUICK_COLS if quick else FULL_COLS)
    repeats = repeats or (3 if quick else 7)
    target = (target_mib or 64) * MIB
    bench = _bench_cpu if device == "cpu" else _bench_cuda
    load_before = _loadavg()
    result: dict[str, Any] = {
        "machine": _machine(device),
        "versions": _versions(),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "protocol": {
            "repeats": repeats,
            "tensor_bytes": target,
            "statistic": f"{statistic}, candidates alternated",
            "ratios": "ratio_vs_torch and fraction_of_copy: median over repetitions of the "
            "ratio within each repetition (min: ratio of the minima)",
            "traffic": "forward: read + write the tensor once; backward: read two, write one",
            "quick": quick,
        },
        "rows": bench(cols, target, repeats, statistic),
    }
    # Other jobs on the machine slow every candidate, and unevenly: keep the load with the run.
    result["load_average"] = {"before": load_before, "after": _loadavg()}
    if memory is not None:
        result["memory"] = _bench_memory(*memory)
    return result


def _table(result: dict[str, Any]) -> str:
    head = f"{'kernel':<26}{'dtype':<9}{'rows':>8}{'cols':>9}{'GB/s':>9}{'vs torch':>10}"
    head += f"{'of copy':>9}{'rel err':>10}"
    lines = [head, "-" * len(head)]
    for r in result["rows"]:
        lines.append(
            f"{r['kernel']:<26}{r['dtype']:<9}{r['n_rows']:>8}{r['n_cols']:>9}{r['gbps']:>9.2f}"
            f"{r['ratio_vs_torch']:>10.2f}{r['fraction_of_copy']:>9.2f}{r['max_rel_err']:>10.1e}"
        )
    mem = result.get("memory")
    if mem:
        lines.append("")
        lines.append(
            f"cross-entropy peak extra memory, N={mem['n_tokens']} V={mem['vocab']} "
            f"d={mem['dim']} chunk={mem['chunk_size']}: naive "
            f"{mem['naive_peak_extra_bytes'] / MIB:.0f} MiB, chunked "
            f"{mem['chunked_peak_extra_bytes'] / MIB:.0f} MiB ({mem['ratio']:.1%} of naive)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``python -m softmax_bottleneck.bench [options]``."""
    parser = argparse.ArgumentParser(
        prog="python -m softmax_bottleneck.bench",
        description="Softmax kernels against PyTorch and copy bandwidth (book chapter 8).",
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--quick", action="store_true", help="fewer, smaller sizes (< 1 min)")
    parser.add_argument("--cols", type=int, nargs="+", help="row lengths to measure")
    parser.add_argument("--repeats", type=int, help="repetitions per candidate")
    parser.add_argument("--mib", type=int, help="size of each input tensor in MiB")
    parser.add_argument(
        "--memory",
        type=int,
        nargs=4,
        metavar=("N", "V", "D", "CHUNK"),
        help="also measure chunked vs naive cross-entropy peak memory at this size (CPU)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    parser.add_argument(
        "--statistic", choices=["median", "min"], default="median", help="timing summary"
    )
    parser.add_argument("--json", metavar="PATH", help="write the result as JSON here")
    args = parser.parse_args(argv)
    memory = None
    if args.device == "cpu" and not args.no_memory:
        memory = tuple(args.memory) if args.memory else (2048, 32768, 64, 256)
    result = run(
        device=args.device,
        quick=args.quick,
        cols=args.cols,
        repeats=args.repeats,
        target_mib=args.mib,
        memory=memory,
        threads=args.threads,
        statistic=args.statistic,
    )
    print(_table(result))
    bad = [r for r in result["rows"] if not r["correct"]]
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    if bad:
        print(f"INCORRECT results in {len(bad)} rows", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
