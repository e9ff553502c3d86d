"""Root pytest configuration: what `--doctest-modules src` may import on this machine, and the
book's nbval extension (a cell may declare a measured tolerance, see tests/nbval_tolerance.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "tests"))
pytest_plugins = ["nbval_tolerance"]

# The Triton kernels import triton at module level; without it (macOS, Windows) their
# doctests cannot be collected. Their tests skip on their own (tests/test_kernels_triton.py).
collect_ignore_glob = []
if importlib.util.find_spec("triton") is None:
    collect_ignore_glob.append("src/softmax_bottleneck/kernels/triton_softmax.py")
