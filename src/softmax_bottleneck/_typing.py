"""Type aliases for the arrays the package takes and returns.

The public functions accept anything NumPy can turn into an array (``ArrayLike``: lists,
scalars, NumPy arrays) and, where they say so, torch tensors; they return NumPy arrays or
tensors of a floating dtype. torch stays an optional dependency: it is imported here only
for the type checker (``TYPE_CHECKING``), and the aliases that name it hold it as a string,
so importing this module never imports torch.

Use in annotations (every module has ``from __future__ import annotations``)::

    from ._typing import ArrayLike, FloatArray, TensorLike

    def softmax(x: ArrayLike) -> FloatArray: ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

if TYPE_CHECKING:
    import torch

__all__ = [
    "Array",
    "ArrayLike",
    "BoolArray",
    "DTypeLike",
    "FloatArray",
    "IntArray",
    "NDArray",
    "SeedLike",
    "Tensor",
    "TensorLike",
]

#: A NumPy array of any floating dtype (float16, float32, float64, ...).
FloatArray: TypeAlias = NDArray[np.floating[Any]]
#: A NumPy array of any integer dtype (class labels, indices, counts).
IntArray: TypeAlias = NDArray[np.integer[Any]]
#: A NumPy array of booleans (masks).
BoolArray: TypeAlias = NDArray[np.bool_]
#: torch.Tensor, named without importing torch at run time.
Tensor: TypeAlias = "torch.Tensor"
#: An array the functions that work on both libraries return: a NumPy array or a torch tensor.
Array: TypeAlias = Union[NDArray[Any], "torch.Tensor"]
#: What those functions accept: anything NumPy can turn into an array, or a torch tensor.
TensorLike: TypeAlias = Union[ArrayLike, "torch.Tensor"]
#: A seed: an int, None (fresh entropy) or a NumPy Generator (see ``_validation.check_rng``).
SeedLike: TypeAlias = int | np.random.Generator | None
