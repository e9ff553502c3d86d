"""One small, deterministic CPU training loop that every experiment chapter reuses (Book: 2-5).

``history = fit(model, X, y, epochs=..., lr=..., rng=0)`` trains `model` in place with
mini-batch SGD (or Adam) and returns a :class:`History` of per-epoch loss, gradient norm and,
if a validation set is given, balanced accuracy. All randomness of the loop (batch order,
class-balanced draws, mixup, augmentation) comes from one NumPy generator made from `rng`; the
loop never touches torch's or NumPy's global seeds.

Reproducibility (the book's protocol, see the preface): training computes in the
model's dtype (the book's models are float64, see
:func:`~softmax_bottleneck.models.build_model`) and run on **one** torch thread, whatever the
caller's setting, so the result does not depend on the machine's core count. What can still
differ between machines is the last bits of vectorised kernels (AVX2 against AVX-512); in
float64 they stay in the last bits for the book's models, far below the printed digits.

The loss options reproduce two mistakes the book measures in chapter 2:
``loss="double_softmax"`` applies softmax before ``F.cross_entropy`` (which applies it again),
and ``loss="mse"`` regresses softmax probabilities on one-hot targets.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ._typing import ArrayLike, FloatArray, IntArray, NDArray, SeedLike
from ._validation import check_choice, check_positive_number, check_rng, is_integer, is_real

if TYPE_CHECKING:
    import torch

__all__ = ["LOSSES", "History", "evaluate", "fit", "one_thread", "predict_logits"]

LOSSES = ("cross_entropy", "double_softmax", "mse")
OPTIMIZERS = ("sgd", "adam")
SAMPLING = ("shuffle", "class_balanced")


@dataclass
class History:
    """What happened during :func:`fit`, one entry per finished epoch.

    Attributes
    ----------
    loss : list of float
        Mean training loss of the epoch (of the chosen `loss`, so not comparable across losses).
    grad_norm : list of float
        Mean over the epoch's batches of the global gradient norm ``||∇θ L||₂``.
    val_balanced_accuracy : list of float
        Balanced accuracy on the validation set after the epoch (empty without one).
    diverged : bool
        True if the loss became NaN or infinite; training stopped there.
    seconds : float
        Wall time of the whole call (varies from run to run: do not print it in a test).
    """

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    val_balanced_accuracy: list[float] = field(default_factory=list)
    diverged: bool = False
    seconds: float = 0.0


def _check_nonneg(value: object, name: str, *, below_one: bool = False) -> float:
    if not is_real(value):
        raise TypeError(f"Expected `{name}` to be a non-negative number, got {value!r}")
    number = float(value)
    upper_ok = number < 1 if below_one else np.isfinite(number)
    if not (number >= 0 and upper_ok):
        what = "a number in [0, 1)" if below_one else "a non-negative finite number"
        raise ValueError(f"Expected `{name}` to be {what}, got {number!r}")
    return number


def _check_count(value: object, name: str) -> int:
    if not is_integer(value):
        raise TypeError(f"Expected `{name}` to be a positive integer, got {value!r}")
    if int(value) < 1:
        raise ValueError(f"Expected `{name}` to be a positive integer, got {value!r}")
    return int(value)


def _check_data(
    X: ArrayLike, y: ArrayLike, n_classes: int | None = None
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    X_arr = np.asarray(X, dtype=np.float64)  # cast to the model dtype per batch
    y_arr = np.asarray(y)
    if X_arr.ndim < 2 or X_arr.shape[0] == 0:
        raise ValueError(
            f"Expected `X` of shape (n_samples, ...) with n >= 1, got {X_arr.shape}"
        )
    if y_arr.shape != (X_arr.shape[0],) or y_arr.dtype.kind not in "iu":
        raise ValueError(
            f"Expected `y` to be {X_arr.shape[0]} integer labels, got shape {y_arr.shape}"
        )
    if n_classes is not None and (y_arr.min() < 0 or y_arr.max() >= n_classes):
        raise ValueError(f"Expected labels of `y` in [0, {n_classes - 1}]")
    return X_arr, y_arr.astype(np.int64)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one torch thread, then restore the caller's thread count.

    Reductions and matrix products split their work by thread, so the same code can round
    differently on 2 and on 16 cores; the book's training runs on one thread to print the same
    numbers on every machine (the small models gain nothing from more threads anyway).

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with one_thread():
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _model_dtype(model: torch.nn.Module) -> torch.dtype:
    """The floating dtype of the model's first floating parameter (float32 if it has none)."""
    import torch

    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _np_dtype(torch_dtype: torch.dtype) -> type[np.float64] | type[np.float32]:
    import torch

    return np.float64 if torch_dtype == torch.float64 else np.float32


def _n_outputs(model: torch.nn.Module, X: FloatArray) -> int:
    import torch

    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(X[:1], dtype=_np_dtype(_model_dtype(model))))
        return int(model(x).shape[-1])


def predict_logits(model: torch.nn.Module, X: ArrayLike, /, *, batch_size: int = 1024) -> FloatArray:
    """The model's logits for `X` as a NumPy array of the model's dtype, without gradients.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (B, ...) inputs to (B, C) logits.
    X : array_like, shape (n, ...)
        Inputs.
    batch_size : int, default 1024
        Rows per forward pass.

    Returns
    -------
    ndarray, shape (n, C)
        float64 for a float64 model (the book's default), else float32. Computed on one
        thread (see :func:`one_thread`).

    Raises
    ------
    ValueError
        If `X` is empty or `batch_size` < 1.

    Examples
    --------
    >>> from softmax_bottleneck.models import build_model
    >>> model = build_model("softmax", n_features=4, n_classes=3)
    >>> predict_logits(model, np.zeros((2, 4))).shape
    (2, 3)
    """
    import torch

    dtype = _np_dtype(_model_dtype(model))
    X_arr = np.ascontiguousarray(X, dtype=dtype)
    if X_arr.ndim < 2 or X_arr.shape[0] == 0:
        raise ValueError(
            f"Expected `X` of shape (n_samples, ...) with n >= 1, got {X_arr.shape}"
        )
    batch_size = _check_count(batch_size, "batch_size")
    was_training = model.training
    model.eval()
    with torch.no_grad(), one_thread():
        out = [
            model(torch.from_numpy(X_arr[i : i + batch_size])).numpy()
            for i in range(0, len(X_arr), batch_size)
        ]
    model.train(was_training)
    return np.concatenate(out).astype(dtype, copy=False)


def evaluate(
    model: torch.nn.Module,
    X: ArrayLike,
    y: ArrayLike,
    /,
    *,
    n_classes: int,
    minority: ArrayLike | None = None,
) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro-F1 and minority recall of `model` on (X, y).

    A shortcut for ``metrics.summarize(y, predict_logits(model, X).argmax(1), ...)``.

    Parameters
    ----------
    model : torch.nn.Module
        Returns logits.
    X, y : array_like
        Inputs and integer labels.
    n_classes : int
        Number of classes.
    minority : array_like of int, optional
        See :func:`~softmax_bottleneck.metrics.summarize`.

    Returns
    -------
    dict of str to float

    Raises
    ------
    ValueError
        As :func:`~softmax_bottleneck.metrics.summarize`.

    Examples
    --------
    >>> from softmax_bottleneck.models import build_model
    >>> model = build_model("softmax", n_features=2, n_classes=2)
    >>> sorted(evaluate(model, np.zeros((4, 2)), [0, 1, 0, 1], n_classes=2))
    ['accuracy', 'balanced_accuracy', 'macro_f1', 'minority_recall']
    """
    from .metrics import summarize

    pred = predict_logits(model, X).argmax(axis=1)
    return summarize(np.asarray(y), pred, n_classes=n_classes, minority=minority)


LossFn = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]


def _loss_fn(name: str | LossFn, temperature: float, label_smoothing: float) -> LossFn:
    import torch
    import torch.nn.functional as F

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # target: (B,) int64 class indices or (B, C) soft labels
        z = logits / temperature
        if callable(name):  # a loss of the caller's (chapter 7's losses, for example)
            return name(z, target)
        if name == "cross_entropy":
            return F.cross_entropy(z, target, label_smoothing=label_smoothing)
        if name == "double_softmax":
            # The bug of the source material: probabilities passed where logits belong.
            return F.cross_entropy(torch.softmax(z, dim=-1), target)
        if target.ndim == 1:
            target = F.one_hot(target, z.shape[-1]).to(z.dtype)
        return F.mse_loss(torch.softmax(z, dim=-1), target)

    return loss


def fit(
    model: torch.nn.Module,
    X: ArrayLike,
    y: ArrayLike,
    /,
    *,
    epochs: int = 30,
    lr: float = 0.1,
    batch_size: int = 32,
    optimizer: str = "sgd",
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    loss: str | LossFn = "cross_entropy",
    label_smoothing: float = 0.0,
    temperature: float = 1.0,
    sampling: str = "shuffle",
    mixup_alpha: float = 0.0,
    augment: Callable[[FloatArray, np.random.Generator], ArrayLike] | None = None,
    X_val: ArrayLike | None = None,
    y_val: ArrayLike | None = None,
    rng: SeedLike = 0,
) -> History:
    """Train `model` in place by mini-batch gradient descent on (X, y).

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch (B, ...) to logits (B, C).
    X : array_like, shape (n, ...)
        Training inputs (cast to the model's dtype).
    y : array_like of int, shape (n,)
        Training labels in ``0 .. C - 1``.
    epochs : int, default 30
        Passes over the data (``ceil(n / batch_size)`` batches each).
    lr : float, default 0.1
        Learning rate.
    batch_size : int, default 32
        Rows per batch.
    optimizer : {"sgd", "adam"}, default "sgd"
        SGD uses `momentum`; both use decoupled-from-nothing L2 `weight_decay` as torch does.
    momentum : float, default 0.9
        SGD momentum, in [0, 1).
    weight_decay : float, default 0.0
        L2 penalty coefficient (>= 0).
    loss : {"cross_entropy", "double_softmax", "mse"} or callable, default "cross_entropy"
        ``"cross_entropy"`` is the correct loss on logits; the other two are the chapter-2
        mistakes (softmax applied twice; softmax + mean squared error). A callable
        ``loss(logits, target)`` returning a scalar tensor is used as it is (e.g. a focal or
        logit-adjusted loss of chapter 7): `target` holds class indices, shape (B,), or
        soft labels, shape (B, C), when `mixup_alpha` > 0.
    label_smoothing : float, default 0.0
        In [0, 1); only with ``loss="cross_entropy"``.
    temperature : float, default 1.0
        Logits are divided by it inside the loss (training temperature).
    sampling : {"shuffle", "class_balanced"}, default "shuffle"
        ``"shuffle"``: each row once per epoch. ``"class_balanced"``: every batch drawn with
        replacement so that each class is equally likely (rows weighted by ``1 / n_class``).
    mixup_alpha : float, default 0.0
        If > 0, each batch is replaced by its mixup with a shuffled copy, with mixing weight
        drawn from Beta(α, α) (see :func:`~softmax_bottleneck.augment.mixup`).
    augment : callable, optional
        ``augment(X_batch, rng) -> X_batch``, applied to every batch (e.g. random rotations).
    X_val, y_val : array_like, optional
        If given, balanced accuracy on them is recorded after every epoch.
    rng : int, Generator or None, default 0
        Seeds batch order, class-balanced draws, mixup and `augment`.

    Returns
    -------
    History

    Raises
    ------
    TypeError
        If a numeric option has the wrong type.
    ValueError
        If `X`/`y` are empty or mismatched, labels exceed the model's outputs, a numeric option
        is out of range, a choice is unknown, `label_smoothing` is used with another loss,
        or only one of `X_val`/`y_val` is given.

    Notes
    -----
    If the loss becomes NaN or infinite (too large a learning rate), training stops and
    ``history.diverged`` is True. Training runs on one torch thread (:func:`one_thread`) in
    the model's dtype.
    Book: chapters 2-5.

    Examples
    --------
    >>> from softmax_bottleneck.models import build_model
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0]] * 8)
    >>> y = np.array([0, 1] * 8)
    >>> model = build_model("softmax", n_features=2, n_classes=2)
    >>> history = fit(model, X, y, epochs=20, lr=0.5, rng=0)
    >>> history.loss[-1] < history.loss[0], history.diverged
    (True, False)
    """
    opts = _check_options(locals())
    X_arr, y_arr = _check_data(X, y)
    n_classes = _n_outputs(model, X_arr)
    X_arr, y_arr = _check_data(X_arr, y_arr, n_classes)
    val = None if X_val is None or y_val is None else _check_data(X_val, y_val, n_classes)
    gen = check_rng(rng)
    dtype = _model_dtype(model)

    params = [p for p in model.parameters() if p.requires_grad]
    opt = _make_optimizer(params, opts)
    loss_fn = _loss_fn(opts["loss"], opts["temperature"], opts["label_smoothing"])
    history = History()
    start = time.perf_counter()
    model.train()
    with one_thread():
        for _ in range(opts["epochs"]):
            losses: list[float] = []
            norms: list[float] = []
            for idx in _batches(y_arr, n_classes, opts, gen):
                xb, target = _batch(X_arr, y_arr, idx, gen, opts, n_classes, dtype)
                value = loss_fn(model(xb), target)
                opt.zero_grad()
                value.backward()
                losses.append(value.item())
                norms.append(_grad_norm(params).item())
                if not np.isfinite(losses[-1]):
                    break
                opt.step()
            if not _end_epoch(history, losses, norms):
                break
            if val is not None:
                _record_validation(history, model, val[0], val[1], n_classes)
    history.seconds = time.perf_counter() - start
    return history


def _check_options(given: dict[str, Any]) -> dict[str, Any]:
    """Validate the options of :func:`fit`."""
    opts = {
        "epochs": _check_count(given["epochs"], "epochs"),
        "batch_size": _check_count(given["batch_size"], "batch_size"),
        "lr": check_positive_number(given["lr"], "lr"),
        "temperature": check_positive_number(given["temperature"], "temperature"),
        "momentum": _check_nonneg(given["momentum"], "momentum", below_one=True),
        "weight_decay": _check_nonneg(given["weight_decay"], "weight_decay"),
        "label_smoothing": _check_nonneg(given["label_smoothing"], "label_smoothing",
                                         below_one=True),
        "mixup_alpha": _check_nonneg(given["mixup_alpha"], "mixup_alpha"),
        "optimizer": given["optimizer"],
        "loss": given["loss"],
        "sampling": given["sampling"],
        "augment": given["augment"],
    }
    check_choice(opts["optimizer"], "optimizer", OPTIMIZERS)
    if not callable(opts["loss"]):
        check_choice(opts["loss"], "loss", LOSSES)
    check_choice(opts["sampling"], "sampling", SAMPLING)
    if opts["label_smoothing"] and (callable(opts["loss"]) or opts["loss"] != "cross_entropy"):
        raise ValueError("Expected `label_smoothing` only with loss='cross_entropy'")
    if opts["augment"] is not None and not callable(opts["augment"]):
        raise TypeError(f"Expected `augment` to be callable, got {opts['augment']!r}")
    if (given["X_val"] is None) != (given["y_val"] is None):
        raise ValueError("Expected both `X_val` and `y_val`, or neither")
    return opts


def _make_optimizer(
    params: list[torch.nn.Parameter], opts: dict[str, Any]
) -> torch.optim.Optimizer:
    import torch

    if opts["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=opts["lr"], momentum=opts["momentum"],
                               weight_decay=opts["weight_decay"])
    return torch.optim.Adam(params, lr=opts["lr"], weight_decay=opts["weight_decay"])


def _batches(
    y: IntArray, n_classes: int, opts: dict[str, Any], gen: np.random.Generator
) -> list[IntArray]:
    """The row indices of one epoch's batches, drawn from `gen`."""
    n, batch_size = len(y), opts["batch_size"]
    n_batches = -(-n // batch_size)
    if opts["sampling"] == "shuffle":
        order = gen.permutation(n)
    else:  # each class equally likely: row weights 1 / n_class
        weights = 1.0 / np.bincount(y, minlength=n_classes)[y]
        order = gen.choice(n, size=n_batches * batch_size, replace=True, p=weights / weights.sum())
    return [order[b * batch_size : (b + 1) * batch_size] for b in range(n_batches)]


def _batch(
    X: FloatArray, y: IntArray, idx: IntArray, gen: np.random.Generator,
    opts: dict[str, Any], n_classes: int, dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch as tensors of the model's dtype: augmented, then mixed up, if asked."""
    import torch

    from .augment import mixup

    np_dtype = _np_dtype(dtype)
    xb = X[idx]
    if opts["augment"] is not None:
        xb = np.asarray(opts["augment"](xb, gen))
    if opts["mixup_alpha"] > 0:
        xb, tb = mixup(xb, y[idx], n_classes=n_classes, alpha=opts["mixup_alpha"], rng=gen)
        target = torch.from_numpy(tb.astype(np_dtype))
    else:
        target = torch.from_numpy(y[idx])
    return torch.from_numpy(np.ascontiguousarray(xb, dtype=np_dtype)), target


def _grad_norm(params: list[torch.nn.Parameter]) -> torch.Tensor:
    import torch

    total = torch.zeros((), dtype=params[0].dtype) if params else torch.zeros(())
    for p in params:
        if p.grad is not None:
            total = total + (p.grad**2).sum()
    return total**0.5


def _end_epoch(history: History, losses: list[float], norms: list[float]) -> bool:
    """Record the epoch's means; False (and ``diverged``) if the loss is no longer finite."""
    history.loss.append(float(np.mean(losses)))
    history.grad_norm.append(float(np.mean(norms)))
    if not np.isfinite(history.loss[-1]):
        history.diverged = True
        return False
    return True


def _record_validation(
    history: History, model: torch.nn.Module, X_val: FloatArray, y_val: IntArray, n_classes: int
) -> None:
    from .metrics import per_class_recall

    pred = predict_logits(model, X_val).argmax(axis=1)
    history.val_balanced_accuracy.append(
        float(per_class_recall(y_val, pred, n_classes=n_classes).mean()))
    model.train()
