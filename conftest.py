"""Root pytest configuration: what `--doctest-modules src` may import on this machine."""

from __future__ import annotations

import importlib.util

# The Triton kernels import triton at module level; without it (macOS, Windows) their
# doctests cannot be collected. Their tests skip on their own (tests/test_kernels_triton.py).
collect_ignore_glob = []
if importlib.util.find_spec("triton") is None:
    collect_ignore_glob.append("src/softmax_bottleneck/kernels/triton_softmax.py")
