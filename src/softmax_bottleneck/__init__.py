"""The Softmax Bottleneck: softmax kernels, losses and tools behind the interactive textbook.

The most used names are re-exported here, so that ``import softmax_bottleneck as sb`` gives
``sb.softmax``, ``sb.log_softmax``, ``sb.logsumexp`` and friends. Each lives in a small module
named after the chapter topic it serves (``softmax`` for chapter 1, ...).
"""

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

__all__ = [
    "__version__",
    "cross_entropy",
    "log_softmax",
    "logsumexp",
    "naive_softmax",
    "online_softmax",
    "softmax",
    "softmax_jacobian",
]
