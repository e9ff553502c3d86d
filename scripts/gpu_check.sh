#!/usr/bin/env bash
# The package's GPU checks in one command (issue 14), for a machine with one NVIDIA GPU
# (written for an H200): prints the machine, runs the GPU tests, runs the CUDA benchmark and
# writes benchmarks/results/cuda-<DATE>.json, then validates that file and prints the targets.
#
#   bash scripts/gpu_check.sh              # or: make gpu-check
#   bash scripts/gpu_check.sh --dry-run    # the same stages on the CPU, Triton interpreter
#
# Needs: python3 (or $PYTHON) with torch (a CUDA build), triton and numpy, which the package
# uses from src/ (PYTHONPATH; nothing is installed, no network is used); pytest for the test
# stage (without it that stage fails with a message and the benchmark still runs);
# nvidia-smi (optional, for the printout and the driver version). hypothesis is NOT needed:
# tests/conftest.py imports it, so without it pytest runs with --noconftest, and the GPU
# tests skip by themselves without CUDA.
#
# Stages, each under a hard timeout so that the whole run stays under 6 minutes:
#   1. nvidia-smi and versions (stops here, status 2, if torch sees no CUDA GPU);
#   2. pytest -m gpu on the Triton and benchmark tests (timeout 160 s);
#   3. python -m softmax_bottleneck.bench_cuda --out $OUT (no new case after 100 s,
#      timeout 160 s): float32 at the ten row lengths, the cross-entropy memory case, then
#      bfloat16; the JSON is rewritten after each case, so a timeout leaves what was measured;
#   4. validation of the JSON (complete GPU run) and the table of targets.
# Exit status: 0 if every stage passed, else the number of failed stages (2: no GPU).
#
# Environment: PYTHON (default python3); OUT (default benchmarks/results/cuda-<UTC date>.json);
# BENCH_ARGS (extra arguments for bench_cuda, e.g. "--quick"); PYTEST_ARGS (extra arguments
# for pytest, e.g. "-x" or "--deselect tests/...").
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then
    DRY=1
elif [[ $# -gt 0 ]]; then
    echo "usage: bash scripts/gpu_check.sh [--dry-run]" >&2
    exit 64
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
if [[ $DRY == 1 ]]; then
    export TRITON_INTERPRET=1
    OUT=${OUT:-$(mktemp -d)/cuda-dry-run.json}
    BENCH=(--device cpu --interpret)
else
    unset TRITON_INTERPRET  # set, it would run the kernels on the CPU
    OUT=${OUT:-benchmarks/results/cuda-$(date -u +%F).json}
    BENCH=(--device cuda --budget-s 100)
fi
# shellcheck disable=SC2206  # BENCH_ARGS and PYTEST_ARGS are split on purpose
BENCH+=(${BENCH_ARGS:-})
# shellcheck disable=SC2206
PYTEST_EXTRA=(${PYTEST_ARGS:-})
START=$SECONDS
FAILED=()
stage() { echo; echo "=== [$((SECONDS - START)) s] $*"; }

stage "1/4 machine and versions"
if command -v nvidia-smi >/dev/null; then
    nvidia-smi
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem \
        --format=csv
else
    echo "nvidia-smi: not found"
fi
"$PY" - "$DRY" <<'EOF'
import importlib, platform, sys
dry = sys.argv[1] == "1"
print("python", platform.python_version(), sys.executable)
for name in ("numpy", "torch", "triton", "pytest", "hypothesis"):
    try:
        print(f"{name:<11}", importlib.import_module(name).__version__)
    except ImportError:
        print(f"{name:<11} MISSING")
import torch
print("torch CUDA", torch.version.cuda, "| cuda available:", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(f"device 0: {p.name}, {p.total_memory / 2**30:.0f} GiB, {p.multi_processor_count} SMs,"
          f" compute capability {p.major}.{p.minor}, devices: {torch.cuda.device_count()}")
elif not dry:
    sys.exit("no CUDA GPU visible to torch: nothing to check (use --dry-run on a CPU)")
EOF
rc=$?
if [[ $rc != 0 ]]; then
    echo "stage 1 failed (status $rc): stopping"
    exit 2
fi

stage "2/4 GPU tests: pytest -m gpu"
if "$PY" -c "import pytest" 2>/dev/null; then
    CONFTEST=()
    if ! "$PY" -c "import hypothesis" 2>/dev/null; then
        echo "hypothesis is missing: running with --noconftest (tests/conftest.py imports it)"
        CONFTEST=(--noconftest)
    fi
    timeout -k 10 160 "$PY" -m pytest -m gpu -p no:cacheprovider -q -rs "${CONFTEST[@]}" "${PYTEST_EXTRA[@]}" \
        tests/test_kernels_triton.py tests/test_kernels_triton_gpu.py tests/test_bench_cuda.py
    rc=$?
    [[ $rc == 124 || $rc == 137 ]] && echo "GPU tests TIMED OUT after 160 s"
    [[ $rc != 0 ]] && FAILED+=("GPU tests (status $rc)")
else
    echo "pytest is MISSING for $PY: GPU tests not run"
    FAILED+=("GPU tests (pytest missing)")
fi

stage "3/4 CUDA benchmark -> $OUT"
timeout -k 10 160 "$PY" -m softmax_bottleneck.bench_cuda --out "$OUT" "${BENCH[@]}"
rc=$?
[[ $rc == 124 || $rc == 137 ]] && echo "benchmark TIMED OUT after 160 s; $OUT holds what was done"
[[ $rc != 0 ]] && FAILED+=("benchmark (status $rc)")

stage "4/4 validate $OUT"
if [[ -f "$OUT" ]]; then
    "$PY" - "$OUT" "$DRY" <<'EOF'
import json, sys
from softmax_bottleneck.bench_cuda import validate_cuda_results
path, dry = sys.argv[1], sys.argv[2] == "1"
with open(path, encoding="utf-8") as f:
    res = json.load(f)
m = res["machine"]
print(f"{path}: {m.get('gpu')}, driver {m.get('driver')}, CUDA {m.get('cuda')}, torch "
      f"{res['versions']['torch']}, triton {res['versions']['triton']}, {res['date']}")
missed = [t for t in res["targets"] if not t["met"]]
print(f"targets met: {len(res['targets']) - len(missed)} of {len(res['targets'])}")
for t in missed:
    print(f"  MISSED {t['measured']:.2f}  {t['target']}")
validate_cuda_results(res, require_complete=not dry)
print("valid" + (" (dry run)" if dry else ", complete GPU run"))
EOF
    rc=$?
    [[ $rc != 0 ]] && FAILED+=("validation (status $rc)")
else
    echo "no $OUT"
    FAILED+=("validation (no file)")
fi

echo
echo "=== [$((SECONDS - START)) s] done"
if [[ ${#FAILED[@]} -gt 0 ]]; then
    printf 'FAILED: %s\n' "${FAILED[@]}"
else
    echo "all stages passed"
fi
if [[ $DRY == 0 && -f "$OUT" ]]; then
    echo "To commit the result: cp $OUT src/softmax_bottleneck/bench_results/ (see benchmarks/README.md)"
fi
exit ${#FAILED[@]}
