"""Argument checks shared by the public functions.

Every public function validates first and then calls a private routine that does the maths.
Messages have one shape: "Expected `name` to be <what>, got <what it was>".
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import TYPE_CHECKING, Any, TypeGuard, overload

import numpy as np

from ._typing import Array, ArrayLike, FloatArray, SeedLike, TensorLike

if TYPE_CHECKING:
    import torch
    from typing_extensions import TypeIs  # typing.TypeIs from Python 3.13

REDUCTIONS = ("mean", "sum", "none")


def is_integer(value: object) -> TypeGuard[int | np.integer[Any]]:
    """True for an int or a NumPy integer, False for a bool (``numbers.Integral`` without bool).

    A `TypeGuard`, which narrows only when it holds: checking an ``int`` parameter with
    ``isinstance(value, numbers.Integral)`` instead makes the type checker believe the rest of
    the function unreachable (typeshed does not register int as an Integral), so it would
    silently stop checking there.
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: object) -> TypeGuard[float | np.integer[Any] | np.floating[Any]]:
    """True for an int, a float or a NumPy real number, False for a bool (see `is_integer`)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_torch_tensor(x: object) -> TypeIs[torch.Tensor]:
    """True if `x` is a torch.Tensor, without importing torch when it is not loaded."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


@overload
def as_float_array(x: torch.Tensor, name: str) -> torch.Tensor: ...


@overload
def as_float_array(x: ArrayLike, name: str) -> FloatArray: ...


def as_float_array(x: TensorLike, name: str) -> Array:
    """Return `x` as a floating NumPy array or torch tensor.

    Floating dtypes are kept; integer and boolean input is promoted to float64 (the exact
    type for integers up to 2**53); lists and scalars become NumPy arrays. Complex, object and
    string data raise `TypeError`.
    """
    if is_torch_tensor(x):
        import torch

        if x.is_floating_point():
            return x
        if x.is_complex():
            raise TypeError(f"Expected `{name}` to hold real numbers, got a complex tensor")
        return x.to(torch.float64)
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as err:  # ragged lists and the like
        raise TypeError(f"Expected `{name}` to be an array of real numbers, got {x!r}") from err
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "iub":
        return arr.astype(np.float64)
    raise TypeError(f"Expected `{name}` to be an array of real numbers, got dtype {arr.dtype}")


def as_float64_numpy(x: TensorLike, name: str) -> tuple[FloatArray, float]:
    """Return `x` as a float64 NumPy array, and the machine epsilon of its own floating dtype.

    For the functions that compute in float64 on the CPU (calibration, temperature scaling):
    torch tensors of any floating dtype, bfloat16 included (which NumPy cannot hold), on any
    device, are detached and converted; integer and boolean input counts as exact (epsilon of
    float64). The epsilon lets a caller scale a tolerance to the precision the data came in.
    """
    if is_torch_tensor(x):
        import torch

        t = as_float_array(x, name)
        eps = float(torch.finfo(t.dtype).eps)
        return t.detach().to(device="cpu", dtype=torch.float64).numpy(), eps
    arr = as_float_array(x, name)
    return arr.astype(np.float64, copy=False), float(np.finfo(arr.dtype).eps)


def check_axis(axis: object, ndim: int, name: str = "axis") -> int:
    """Return `axis` as a non-negative index into `ndim` dimensions, or raise."""
    if not is_integer(axis):
        raise TypeError(f"Expected `{name}` to be an integer, got {axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"Expected `{name}` to be an integer in [{-ndim}, {ndim - 1}] for a {ndim}-d input, "
            f"got {axis}"
        )
    return axis % ndim


def check_class_axis(x: Array, axis: object, name: str = "x") -> int:
    """Check that `x` has a non-empty class axis `axis`; return the axis as a non-negative int.

    A 0-d input has no class axis, and an axis of length 0 holds no distribution, so both
    raise `ValueError`. Empty *other* dimensions (an empty batch) are fine.
    """
    ndim = x.ndim
    if ndim == 0:
        raise ValueError(
            f"Expected `{name}` to have at least one dimension (a vector of logits), got a 0-d input"
        )
    ax = check_axis(axis, ndim)
    if x.shape[ax] == 0:
        raise ValueError(
            f"Expected `{name}` to have at least one class along axis {axis}, "
            f"got shape {tuple(x.shape)}"
        )
    return ax


def check_positive_number(value: object, name: str) -> float:
    """Return `value` as a float if it is a positive finite real number, or raise."""
    if not is_real(value):
        raise TypeError(f"Expected `{name}` to be a positive finite number, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and number > 0):  # math, not NumPy: torch.compile traces it
        raise ValueError(f"Expected `{name}` to be a positive finite number, got {number!r}")
    return number


def check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    """Return `value` if it is one of `choices`, or raise `ValueError`."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"Expected `{name}` to be one of {allowed}, got {value!r}")
    return value


def check_rng(rng: SeedLike) -> np.random.Generator:
    """Turn an int seed, None or a Generator into a `np.random.Generator`, or raise."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if is_integer(rng):  # int, np.int64, ...
        return np.random.default_rng(int(rng))
    raise TypeError(f"Expected `rng` to be an int, None or numpy.random.Generator, got {rng!r}")


def check_ignore_index(ignore_index: object) -> None:
    """Raise unless `ignore_index` is None or an integer."""
    if ignore_index is not None and (
        not is_integer(ignore_index)
    ):
        raise TypeError(f"Expected `ignore_index` to be an integer or None, got {ignore_index!r}")


def check_label_smoothing(label_smoothing: object) -> float:
    """Return `label_smoothing` as a float in [0, 1], or raise."""
    if not is_real(label_smoothing):
        raise TypeError(
            f"Expected `label_smoothing` to be a number in [0, 1], got {label_smoothing!r}"
        )
    if not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(
            f"Expected `label_smoothing` to be a number in [0, 1], got {label_smoothing!r}"
        )
    return float(label_smoothing)


# The pip extra that provides each optional import, named in the error when one is missing.
_EXTRA_FOR_MODULE = {
    "torch": "torch",
    "numba": "kernels",
    "triton": "kernels",
    "sklearn": "data",
    "imblearn": "data",
    "torchmetrics": "data",
    "yaml": "data",
    "chatterbot_corpus": "data",
    "matplotlib": "book",
    "ipywidgets": "book",
}


def missing_extra(err: ModuleNotFoundError, what: str) -> ModuleNotFoundError:
    """The same error, with the pip extra to install when the missing module is optional."""
    top = (err.name or "").split(".")[0]
    extra = _EXTRA_FOR_MODULE.get(top)
    if extra is None:
        return err
    return ModuleNotFoundError(
        f"{what} needs the optional dependency {top!r}: install it with "
        f"pip install 'softmax-bottleneck[{extra}]'",
        name=err.name,
    )
