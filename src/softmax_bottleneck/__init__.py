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

from typing import TYPE_CHECKING, Any

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
        "bigram",
        "calibration",
        "case_study",
        "data",
        "decoupled",
        "explore_imbalance",
        "kernels",
        "losses",
        "metrics",
        "models",
        "recsys",
        "resampling",
        "sparse",
        "stats",
        "tables",
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
    "balanced_softmax_loss": "losses",
    "class_balanced_weights": "losses",
    "focal_loss": "losses",
    "ldam_loss": "losses",
    "logit_adjusted_loss": "losses",
    # comparing methods over seeds (chapters 3-7, the preface's protocol)
    "compare_paired": "stats",
    "mean_sd": "stats",
    # results as tables (HTML in Jupyter and on the website, aligned text elsewhere)
    "Table": "tables",
    # resampling (chapter 3)
    "RandomOverSampler": "resampling",
    "RandomUnderSampler": "resampling",
    "SMOTE": "resampling",
    # kernels (chapter 8)
    "chunked_cross_entropy": "kernels",
    "softmax_cpu": "kernels",
}


# The type checker sees the lazy names with their real types (`x as x` marks a re-export).
if TYPE_CHECKING:
    from . import augment as augment
    from . import bench as bench
    from . import bench_cuda as bench_cuda
    from . import bigram as bigram
    from . import calibration as calibration
    from . import case_study as case_study
    from . import data as data
    from . import decoupled as decoupled
    from . import explore_imbalance as explore_imbalance
    from . import kernels as kernels
    from . import losses as losses
    from . import metrics as metrics
    from . import models as models
    from . import recsys as recsys
    from . import resampling as resampling
    from . import sparse as sparse
    from . import stats as stats
    from . import tables as tables
    from . import temperature_scaling as temperature_scaling
    from . import train as train
    from .calibration import expected_calibration_error as expected_calibration_error
    from .calibration import reliability_curve as reliability_curve
    from .kernels import chunked_cross_entropy as chunked_cross_entropy
    from .kernels import softmax_cpu as softmax_cpu
    from .losses import adjust_logits as adjust_logits
    from .losses import balanced_softmax_loss as balanced_softmax_loss
    from .losses import class_balanced_weights as class_balanced_weights
    from .losses import focal_loss as focal_loss
    from .losses import ldam_loss as ldam_loss
    from .losses import logit_adjusted_loss as logit_adjusted_loss
    from .resampling import SMOTE as SMOTE
    from .resampling import RandomOverSampler as RandomOverSampler
    from .resampling import RandomUnderSampler as RandomUnderSampler
    from .sparse import entmax15 as entmax15
    from .sparse import entmax_bisect as entmax_bisect
    from .sparse import sparsemax as sparsemax
    from .stats import compare_paired as compare_paired
    from .stats import mean_sd as mean_sd
    from .tables import Table as Table
    from .temperature_scaling import fit_temperature as fit_temperature
    from .temperature_scaling import temperature_nll as temperature_nll


def __getattr__(name: str) -> Any:
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
