"""Small models for the book's experiments, and a seeded way to build them (Book: chapters 2-5).

``build_model("softmax" | "mlp" | "cnn", n_features=..., n_classes=..., rng=0)`` initialises the
weights from its own seed inside ``torch.random.fork_rng``, so the caller's global torch random
state is left exactly as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._validation import check_choice, is_integer
from .digits import MLP, SmallCNN, SoftmaxRegression

if TYPE_CHECKING:
    from torch import nn

__all__ = ["DTYPES", "MLP", "MODELS", "SmallCNN", "SoftmaxRegression", "build_model"]

MODELS = ("softmax", "mlp", "cnn")


DTYPES = ("float64", "float32")


def build_model(
    name: str,
    /,
    *,
    n_features: int,
    n_classes: int,
    rng: int = 0,
    dtype: str = "float64",
    **options: int,
) -> nn.Module:
    """Create one of the book's small models with reproducible initial weights.

    Parameters
    ----------
    name : {"softmax", "mlp", "cnn"}
        :class:`SoftmaxRegression`, :class:`MLP` or :class:`SmallCNN`.
    n_features : int
        Input size (the CNN expects ``side**2`` features, 64 for digits).
    n_classes : int
        Number of classes.
    rng : int, default 0
        Seed of the initial weights (an int: torch has no NumPy generator).
    dtype : {"float64", "float32"}, default "float64"
        Precision of the weights. The book trains in float64: its models are small enough
        that it costs little, and rounding differences between machines (AVX2 against AVX-512
        kernels, for example) then stay in the last bits instead of growing through training
        into the printed digits. The initial weights are drawn in float32 and converted, so
        both precisions start from the same values.
    **options
        Passed to the model (``hidden`` for the MLP, ``channels`` for the CNN).

    Returns
    -------
    torch.nn.Module
        A model mapping inputs of shape (B, n_features) to logits of shape (B, n_classes).

    Raises
    ------
    ValueError
        If `name` or `dtype` is unknown.
    TypeError
        If `rng` is not an integer.

    Notes
    -----
    The weights are drawn by torch's global generator, so it is seeded inside
    ``torch.random.fork_rng()``, which restores the global state on exit: building a model never
    changes the random numbers a caller sees afterwards. Book: chapters 2-5.

    Examples
    --------
    >>> import torch
    >>> a = build_model("mlp", n_features=64, n_classes=10, rng=1)
    >>> b = build_model("mlp", n_features=64, n_classes=10, rng=1)
    >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    True
    """
    import torch

    check_choice(name, "name", MODELS)
    check_choice(dtype, "dtype", DTYPES)
    if not is_integer(rng):
        raise TypeError(f"Expected `rng` to be an integer seed, got {rng!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng))
        model: nn.Module
        if name == "softmax":
            model = SoftmaxRegression(n_features, n_classes)
        elif name == "mlp":
            model = MLP(n_features, n_classes, **options)
        else:
            model = SmallCNN(n_classes, side=round(n_features**0.5), **options)
    return model.to(getattr(torch, dtype))
