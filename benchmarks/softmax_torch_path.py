"""sb.softmax / sb.log_softmax / sb.logsumexp on CPU torch tensors against PyTorch's own call.

Prints, per shape and dtype, the time of the sb function over the time of
``torch.softmax`` / ``torch.log_softmax`` / ``torch.logsumexp`` on the same tensor: the median,
over repetitions, of the ratio within one repetition (the two calls alternate, back to back,
so both see the same load on a shared machine). The issue's target is at most 1.2. Also prints
the load average, since other jobs on the machine make every timing noisier.

Run from the repository root::

    .venv/bin/python benchmarks/softmax_torch_path.py            # all cores
    .venv/bin/python benchmarks/softmax_torch_path.py --threads 1

This is a benchmark, not a test: nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch

import softmax_bottleneck as sb

SHAPES = [(256, 1024), (64, 32768), (8, 1 << 20)]
PAIRS: list[tuple[str, Callable[..., torch.Tensor], Callable[..., torch.Tensor]]] = [
    ("softmax", lambda x: sb.softmax(x), lambda x: torch.softmax(x, -1)),
    ("log_softmax", lambda x: sb.log_softmax(x), lambda x: torch.log_softmax(x, -1)),
    ("logsumexp", lambda x: sb.logsumexp(x), lambda x: torch.logsumexp(x, -1)),
]


def paired_ratio(ours: Callable[[], object], ref: Callable[[], object], repeats: int) -> float:
    """Median over `repeats` of time(ours) / time(ref), the two timed back to back."""
    ours()
    ref()
    ratios = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours()
        t1 = time.perf_counter()
        ref()
        t2 = time.perf_counter()
        ratios.append((t1 - t0) / (t2 - t1))
    return statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=31)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), load average before: "
          f"{os.getloadavg()}")
    print(f"{'function':<12} {'dtype':<8} {'shape':<14} {'sb / torch (median of pairs)':>28}")
    g = torch.Generator().manual_seed(0)
    for shape in SHAPES:
        for dtype in (torch.float32, torch.float64):
            x = torch.randn(*shape, generator=g, dtype=dtype) * 4
            for name, ours, ref in PAIRS:
                ratio = paired_ratio(lambda o=ours, x=x: o(x), lambda r=ref, x=x: r(x), args.repeats)
                print(f"{name:<12} {str(dtype)[6:]:<8} {shape!s:<14} {ratio:>28.3f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
