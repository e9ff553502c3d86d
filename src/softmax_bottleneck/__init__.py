"""The Softmax Bottleneck: softmax kernels, losses and tools behind the interactive textbook.

The most used names are re-exported here, so that ``import softmax_bottleneck as sb`` gives
``sb.softmax``, ``sb.log_softmax``, ``sb.logsumexp`` and friends. Each lives in a small module
named after the chapter topic it serves (``softmax`` for chapter 1, ...).
"""

from . import explore, plotting
from .softmax import (
    cross_entropy,
    log_softmax,
    logsumexp,
    naive_softmax,
    online_softmax,
    softmax,
    softmax_jacobian,
)

__version__ = "0.1.0"

# Submodules with heavier dependencies (torch, scikit-learn, numba, triton) load on first use,
# so ``import softmax_bottleneck`` stays fast and works with only NumPy and SciPy installed.
_LAZY_SUBMODULES = frozenset(
    {
        "augment",
        "bench",
        "calibration",
        "case_study",
        "data",
        "explore_imbalance",
        "kernels",
        "losses",
        "metrics",
        "models",
        "resampling",
        "sparse",
        "stats",
        "temperature_scaling",
        "train",
    }
)
# Functions re-exported from lazily loaded submodules: name -> submodule.
_LAZY_FUNCTIONS = {"fit_temperature": "temperature_scaling"}


def __getattr__(name: str):
    import importlib

    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY_FUNCTIONS:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY_FUNCTIONS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "__version__",
    "cross_entropy",
    "explore",
    "log_softmax",
    "logsumexp",
    "naive_softmax",
    "online_softmax",
    "plotting",
    "softmax",
    "softmax_jacobian",
]
