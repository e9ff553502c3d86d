"""Run strict nbval under numerical configurations other than this machine's native one.

The book promises that every stored output is what the code prints **on any x86-64 machine**.
One machine can imitate others by switching off what differs between CPUs and core counts:

==================  =============================================================
configuration       what it changes
==================  =============================================================
native              nothing (this machine's best SIMD paths, its core count)
aten-default        PyTorch's kernels without SIMD (``ATEN_CPU_CAPABILITY=default``)
aten-avx2           PyTorch's AVX2 kernels, as on a CPU without AVX-512
numpy-no-avx512     NumPy's AVX-512 dispatch off (``NPY_DISABLE_CPU_FEATURES``)
mkl-compatible      MKL's most portable code path (``MKL_CBWR=COMPATIBLE``)
threads-1           one thread for OpenMP, MKL, PyTorch and Numba
threads-3           three threads (more than this 2-core machine has)
non-native          all of the above at once, with three threads: what ``make test`` runs
==================  =============================================================

Usage::

    python scripts/check_portability.py                      # every configuration, whole book
    python scripts/check_portability.py --config aten-avx2 book/04-tuning/tuning.ipynb
    python scripts/check_portability.py --list

Each configuration runs ``pytest --nbval`` (strict, with the book's sanitiser and the declared
tolerances of ``tests/nbval_tolerance.py``) in a fresh process, so the variables take effect
before NumPy, MKL, PyTorch and Numba load. The exit status is 0 only if every configuration
passed; a summary table with the time of each run is printed at the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_NO_AVX512 = "X86_V4 AVX512_ICL AVX512_SPR AVX512F AVX512_SKX AVX512_CLX AVX512_CNL"


def _threads(n: int) -> dict[str, str]:
    n_ = str(n)
    return {"OMP_NUM_THREADS": n_, "MKL_NUM_THREADS": n_, "NUMBA_NUM_THREADS": n_,
            "OPENBLAS_NUM_THREADS": n_}


CONFIGS: dict[str, dict[str, str]] = {
    "native": {},
    "aten-default": {"ATEN_CPU_CAPABILITY": "default"},
    "aten-avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "numpy-no-avx512": {"NPY_DISABLE_CPU_FEATURES": _NO_AVX512},
    "mkl-compatible": {"MKL_CBWR": "COMPATIBLE"},
    "threads-1": _threads(1),
    "threads-3": _threads(3),
    "non-native": {"ATEN_CPU_CAPABILITY": "default", "NPY_DISABLE_CPU_FEATURES": _NO_AVX512,
                   "MKL_CBWR": "COMPATIBLE", **_threads(3)},
}
#: What a plain run checks: every single change, then all of them together.
DEFAULT = [name for name in CONFIGS if name != "native"]


def toc_notebooks() -> list[str]:
    """The notebooks of the table of contents, as ``make test`` checks them."""
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "toc_notebooks.py")],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.split()


def nbval_command(notebooks: list[str]) -> list[str]:
    """The strict nbval command of ``make test-notebooks``."""
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval",
            "--nbval-current-env", "--nbval-sanitize-with", "book/nbval-sanitize.cfg",
            *notebooks]


def run(config: str, notebooks: list[str]) -> tuple[bool, float]:
    """Strict nbval over `notebooks` under one configuration: (passed, seconds)."""
    env = {**os.environ, **CONFIGS[config]}
    settings = " ".join(f"{k}={v}" for k, v in CONFIGS[config].items()) or "(none)"
    print(f"\n=== {config}: {settings}", flush=True)
    start = time.perf_counter()
    done = subprocess.run(nbval_command(notebooks), env=env, cwd=ROOT)
    return done.returncode == 0, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="default: every notebook of _toc.yml")
    parser.add_argument("--config", action="append", choices=sorted(CONFIGS),
                        help="run only this configuration (repeatable)")
    parser.add_argument("--list", action="store_true", help="print the configurations")
    args = parser.parse_args(argv)
    if args.list:
        for name, env in CONFIGS.items():
            print(f"{name:16} {' '.join(f'{k}={v}' for k, v in env.items()) or '(none)'}")
        return 0
    notebooks = args.notebooks or toc_notebooks()
    results = {name: run(name, notebooks) for name in (args.config or DEFAULT)}
    print("\nconfiguration    | result | seconds")
    for name, (ok, seconds) in results.items():
        print(f"{name:16} | {'pass' if ok else 'FAIL':6} | {seconds:7.0f}")
    return 0 if all(ok for ok, _ in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
