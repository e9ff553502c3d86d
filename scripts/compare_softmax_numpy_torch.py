"""Throughput of chapter 1's NumPy `sb.softmax` next to `torch.softmax` and a plain copy.

Usage: python scripts/compare_softmax_numpy_torch.py [--rows 4096] [--cols 4096] [--repeats 15]

Both run in this process on the same float32 array, alternated, and the median time of each is
reported as GB/s of bytes read + written (2 x the array size), with its ratio to torch and to
the copy bandwidth measured in the same run. Correctness is checked first. The fast kernels of
chapter 8 have their own benchmark (`python -m softmax_bottleneck.bench`).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import softmax_bottleneck as sb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--cols", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(scale=3.0, size=(args.rows, args.cols)).astype(np.float32)
    xt = torch.from_numpy(x)
    out_copy = np.empty_like(x)
    out_torch = torch.empty_like(xt)
    np.testing.assert_allclose(sb.softmax(x), torch.softmax(xt, -1).numpy(), rtol=1e-5, atol=1e-7)

    candidates = {
        "copy (np.copyto)": lambda: np.copyto(out_copy, x),
        "sb.softmax (NumPy)": lambda: sb.softmax(x),
        "torch.softmax (out=)": lambda: torch.softmax(xt, -1, out=out_torch),
    }
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for fn in candidates.values():  # warm-up
        fn()
    for _ in range(args.repeats):
        for name, fn in candidates.items():  # alternated, so drift hits all alike
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)

    moved = 2 * x.nbytes
    gbps = {name: moved / statistics.median(t) / 1e9 for name, t in times.items()}
    copy, ref = gbps["copy (np.copyto)"], gbps["torch.softmax (out=)"]
    print(f"float32 {args.rows} x {args.cols} ({x.nbytes / 2**20:.0f} MiB), "
          f"torch threads = {torch.get_num_threads()}, median of {args.repeats}")
    print(f"{'kernel':<22} {'GB/s':>7} {'vs torch':>9} {'vs copy':>8}")
    for name, value in gbps.items():
        print(f"{name:<22} {value:7.2f} {value / ref:8.2f}x {value / copy:7.2f}x")


if __name__ == "__main__":
    main()
