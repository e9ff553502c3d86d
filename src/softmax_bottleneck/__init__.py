"""The Softmax Bottleneck: softmax kernels, losses and tools behind the interactive textbook.

The most used names are re-exported here, so that ``import softmax_bottleneck as sb`` gives
``sb.softmax``, ``sb.log_softmax``, ``sb.logsumexp`` and friends. Each lives in a small module
named after the chapter topic it serves (``softmax`` for chapter 1, ...).

Loaded on first use (``dir(sb)`` lists them): the submodules ``calibration``,
``temperature_scaling``, ``sparse``, ``losses``, ``resampling``, ``metrics``, ``kernels``,
``models`` and others, and their most used functions: ``sb.expected_calibration_error``,
``sb.reliability_curve``, ``sb.fit_temperature``, ``sb.sparsemax``, ``sb.entmax15``,
``sb.entmax_bisect``, ``sb.focal_loss``, ``sb.logit_adjusted_loss``, ``sb.ldam_loss``,
``sb.class_balanced_weights``, ``sb.RandomOverSampler``, ``sb.RandomUnderSampler``,
``sb.SMOTE``, ``sb.chunked_cross_entropy`` and ``sb.softmax_cpu``. A missing optional
dependency raises ``ModuleNotFoundError`` naming the pip extra to install.
"""

from . import explore, plotting
from ._validation import missing_extra
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
        "bench_cuda",
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
# Functions re-exported from lazily loaded submodules: name -> submodule. Loaded on first use
# like the submodules, so ``sb.sparsemax`` works without importing anything heavy up front.
_LAZY_FUNCTIONS = {
    # calibration (chapters 2, 4, 7)
    "expected_calibration_error": "calibration",
    "reliability_curve": "calibration",
    "fit_temperature": "temperature_scaling",
    "temperature_nll": "temperature_scaling",
    # sparse alternatives to softmax (chapter 7)
    "sparsemax": "sparse",
    "entmax15": "sparse",
    "entmax_bisect": "sparse",
    # losses for imbalanced classes (chapters 4, 7)
    "adjust_logits": "losses",
    "class_balanced_weights": "losses",
    "focal_loss": "losses",
    "ldam_loss": "losses",
    "logit_adjusted_loss": "losses",
    # comparing methods over seeds (chapters 3-7, the preface's protocol)
    "compare_paired": "stats",
    "mean_sd": "stats",
    # resampling (chapter 3)
    "RandomOverSampler": "resampling",
    "RandomUnderSampler": "resampling",
    "SMOTE": "resampling",
    # kernels (chapter 8)
    "chunked_cross_entropy": "kernels",
    "softmax_cpu": "kernels",
}


def __getattr__(name: str):
    import importlib

    try:
        if name in _LAZY_SUBMODULES:
            return importlib.import_module(f"{__name__}.{name}")
        if name in _LAZY_FUNCTIONS:
            module = importlib.import_module(f"{__name__}.{_LAZY_FUNCTIONS[name]}")
            return getattr(module, name)
    except ModuleNotFoundError as err:
        raise missing_extra(err, f"softmax_bottleneck.{name}") from err
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """Module attributes plus the lazily loaded submodules and functions (tab completion)."""
    return sorted(set(globals()) | _LAZY_SUBMODULES | set(_LAZY_FUNCTIONS))


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
    *sorted(_LAZY_FUNCTIONS),
]
