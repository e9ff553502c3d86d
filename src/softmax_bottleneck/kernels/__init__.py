"""Softmax kernels: reference loops, a fast CPU kernel, Triton, chunked and parallel losses.

Book: chapter 8. One module per kernel family, each readable beside the chapter:

=====================  =====================================================================
module                 what it holds
=====================  =====================================================================
``reference``          naive, three-pass and online softmax as plain loops (the pseudo-code)
``cpu``                :func:`softmax_cpu`, a fused multi-core Numba kernel
``triton_softmax``     Triton softmax and log-softmax, forward and backward (GPU, or
                       ``TRITON_INTERPRET=1`` on the CPU)
``chunked``            :func:`chunked_cross_entropy`, never forming the (N, V) logits
``parallel``           vocabulary-parallel cross-entropy over ``torch.distributed``
=====================  =====================================================================

Names are loaded on first use, so that importing this package does not import Numba, torch
or Triton.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from .._validation import missing_extra

_WHERE = {
    "naive_softmax_loop": "reference",
    "three_pass_softmax_loop": "reference",
    "online_softmax_loop": "reference",
    "softmax_cpu": "cpu",
    "softmax_triton": "triton_softmax",
    "log_softmax_triton": "triton_softmax",
    "launch_config": "triton_softmax",
    "chunked_cross_entropy": "chunked",
    "vocab_parallel_cross_entropy": "parallel",
    "shard_union_softmax": "parallel",
    "run_vocab_parallel": "parallel",
}

__all__ = sorted(_WHERE)


# Optional modules a kernel needs when it runs, not when its module is imported (the Numba
# kernel compiles on first call): checked when the name is looked up, so that a missing extra
# is reported at ``sb.kernels.softmax_cpu``, not as a bare error deep in the first call.
_NEEDS = {"softmax_cpu": ("numba", "llvmlite")}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        what = f"softmax_bottleneck.kernels.{name}"
        for dependency in _NEEDS.get(name, ()):
            if importlib.util.find_spec(dependency) is None:
                err = ModuleNotFoundError(f"No module named {dependency!r}", name=dependency)
                raise missing_extra(err, what)
        try:
            module = importlib.import_module(f"{__name__}.{_WHERE[name]}")
        except ModuleNotFoundError as err:  # torch or triton, imported by the module itself
            raise missing_extra(err, what) from err
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The kernel names (loaded on first use), without the module's own imports."""
    return sorted(set(_WHERE) | {"__doc__", "__name__", "__all__"})
