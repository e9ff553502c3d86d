"""Decoupled classifier learning for long-tailed data: cRT and τ-normalisation (Book: chapter 7).

Kang et al. (2020) split training on long-tailed data into two stages. First the whole network
(the *representation* and the last linear layer, the *classifier*) is trained as usual, with
instance-balanced sampling (every image once per epoch). Then only the classifier is changed:

* :func:`retrain_classifier` is **classifier re-training (cRT)**: freeze the representation,
  re-initialise the classifier and train it alone with *class-balanced* sampling (every class
  equally likely in a batch);
* :func:`tau_normalized` is the **τ-normalised classifier**: no training at all, each class's
  weight row ``w_k`` is divided by ``||w_k||**tau`` (and the bias dropped), because the rows of
  frequent classes grow longer under instance-balanced training.

Both act on any ``torch.nn.Module`` whose classifier is a ``torch.nn.Linear`` submodule (by
default the last one, as in :class:`~softmax_bottleneck.models.MLP` and
:class:`~softmax_bottleneck.models.SmallCNN`). Re-training goes through
:func:`~softmax_bottleneck.train.fit`, so it inherits its determinism (one thread, the model's
dtype, every random draw from `rng`).

Examples
--------
>>> import numpy as np
>>> import softmax_bottleneck as sb
>>> from softmax_bottleneck.decoupled import retrain_classifier, tau_normalized
>>> d = sb.data.load_long_tailed_digits(imbalance_ratio=50, rng=0)
>>> model = sb.models.build_model("mlp", n_features=64, n_classes=10, rng=0)
>>> _ = sb.train.fit(model, d.X_train, d.y_train, epochs=5, lr=0.05, rng=0)   # stage 1
>>> history = retrain_classifier(model, d.X_train, d.y_train, epochs=2, lr=0.05, rng=0)
>>> len(history.loss), all(p.requires_grad for p in model.parameters())
(2, True)
>>> normed = tau_normalized(model, tau=1.0)             # a copy; `model` is unchanged
>>> np.allclose(normed.net[-1].weight.detach().norm(dim=1).numpy(), 1.0)
True
"""

from __future__ import annotations

import copy
import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from ._typing import Array, ArrayLike, SeedLike, TensorLike
from ._validation import as_float_array, check_rng, is_torch_tensor

if TYPE_CHECKING:
    import torch

    from .train import History

__all__ = ["classifier_layer", "retrain_classifier", "tau_normalized", "tau_normalized_weight"]


def _check_tau(tau: Any) -> float:
    if isinstance(tau, bool) or not isinstance(tau, numbers.Real):
        raise TypeError(f"Expected `tau` to be a non-negative finite number, got {tau!r}")
    value = float(tau)
    if not (np.isfinite(value) and value >= 0.0):
        raise ValueError(f"Expected `tau` to be a non-negative finite number, got {tau!r}")
    return value


def classifier_layer(model: torch.nn.Module, /, name: str | None = None) -> torch.nn.Linear:
    """The classifier of `model`: the ``torch.nn.Linear`` submodule that outputs the logits.

    Parameters
    ----------
    model : torch.nn.Module
        A network whose logits come from a linear layer.
    name : str, optional
        The classifier's name in ``model.named_modules()`` (``"net.2"`` for the book's MLP,
        ``"head"`` for its CNN). ``None`` takes the **last** ``Linear`` module registered,
        which is the output layer of the book's models and of most classifiers.

    Returns
    -------
    torch.nn.Linear
        The layer itself (not a copy).

    Raises
    ------
    ValueError
        If `model` has no ``Linear`` module, or no module called `name`.
    TypeError
        If the module called `name` is not a ``torch.nn.Linear``.

    Examples
    --------
    >>> import softmax_bottleneck as sb
    >>> mlp = sb.models.build_model("mlp", n_features=64, n_classes=10, hidden=32)
    >>> classifier_layer(mlp)
    Linear(in_features=32, out_features=10, bias=True)
    >>> classifier_layer(mlp, "net.0").out_features
    32
    """
    import torch

    modules = dict(model.named_modules())
    if name is None:
        linear = [m for m in modules.values() if isinstance(m, torch.nn.Linear)]
        if not linear:
            raise ValueError("Expected `model` to contain a torch.nn.Linear classifier, got none")
        return linear[-1]
    if name not in modules:
        raise ValueError(f"Expected `name` to name a submodule of `model`, got {name!r}")
    layer = modules[name]
    if not isinstance(layer, torch.nn.Linear):
        raise TypeError(
            f"Expected `name` to name a torch.nn.Linear, got {type(layer).__name__} ({name!r})"
        )
    return layer


def retrain_classifier(
    model: torch.nn.Module,
    X: ArrayLike,
    y: ArrayLike,
    /,
    *,
    classifier: str | None = None,
    epochs: int = 10,
    lr: float = 0.1,
    batch_size: int = 32,
    optimizer: str = "sgd",
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    sampling: str = "class_balanced",
    reinitialize: bool = True,
    rng: SeedLike = 0,
) -> History:
    r"""Classifier re-training (cRT): train only the last linear layer, with class-balanced batches.

    Every parameter of `model` outside the classifier is frozen (``requires_grad=False``)
    for the call, the classifier is re-initialised (``reset_parameters()``, from a seed drawn
    from `rng`) unless ``reinitialize=False``, and :func:`~softmax_bottleneck.train.fit` trains
    it with ``sampling="class_balanced"``: each batch is drawn with replacement so that every
    class is equally likely. The ``requires_grad`` flags are restored afterwards, also if
    training raises. `model` is changed in place.

    Parameters
    ----------
    model : torch.nn.Module
        A model already trained on the long-tailed data (stage 1, instance-balanced).
    X, y : array_like
        Training inputs and integer labels (the same data as stage 1).
    classifier : str, optional
        Name of the classifier in ``model.named_modules()``; see :func:`classifier_layer`.
    epochs : int, default 10
        Passes of ``ceil(n / batch_size)`` batches each, as in ``fit``: every epoch is the
        same number of gradient steps as an epoch of stage 1.
    lr, batch_size, optimizer, momentum, weight_decay
        As in :func:`~softmax_bottleneck.train.fit` (a fresh optimiser over the classifier's
        parameters only).
    sampling : {"class_balanced", "shuffle"}, default "class_balanced"
        ``"shuffle"`` re-trains the classifier on the natural distribution, a control that
        separates the effect of re-training from that of balancing.
    reinitialize : bool, default True
        Kang et al. re-initialise the classifier; ``False`` fine-tunes the stage-1 weights.
    rng : int, Generator or None, default 0
        Seeds the re-initialisation and, through ``fit``, the batch draws.

    Returns
    -------
    History
        ``fit``'s record of the re-training epochs.

    Raises
    ------
    TypeError, ValueError
        As :func:`classifier_layer` and :func:`~softmax_bottleneck.train.fit`.

    Notes
    -----
    The frozen part runs in training mode, as ``fit`` sets it: a batch-normalisation layer
    there would still update its running statistics (the book's models have none).
    Re-training steps are counted like any other gradient step when chapter 7 compares cRT
    with single-stage methods at equal budgets, although each costs less (no gradient flows
    into the representation). Book: chapter 7.

    References
    ----------
    B. Kang, S. Xie, M. Rohrbach, Z. Yan, A. Gordo, J. Feng and Y. Kalantidis, "Decoupling
    Representation and Classifier for Long-Tailed Recognition", ICLR 2020.

    Examples
    --------
    >>> import numpy as np, torch
    >>> import softmax_bottleneck as sb
    >>> X = np.random.default_rng(0).normal(size=(60, 4))
    >>> y = np.r_[np.zeros(50, int), np.ones(10, int)]
    >>> model = sb.models.build_model("mlp", n_features=4, n_classes=2, rng=0, hidden=8)
    >>> hidden_before = model.net[0].weight.detach().clone()
    >>> _ = retrain_classifier(model, X, y, epochs=3, lr=0.05, rng=0)
    >>> torch.equal(model.net[0].weight, hidden_before)      # the representation is frozen
    True
    """
    import torch

    from .train import fit

    layer = classifier_layer(model, classifier)
    gen = check_rng(rng)
    flags = {p: p.requires_grad for p in model.parameters()}
    own = {id(p) for p in layer.parameters()}
    try:
        for p in model.parameters():
            p.requires_grad_(id(p) in own)
        if reinitialize:
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                torch.manual_seed(int(gen.integers(2**31)))
                layer.reset_parameters()
        return fit(
            model, X, y, epochs=epochs, lr=lr, batch_size=batch_size, optimizer=optimizer,
            momentum=momentum, weight_decay=weight_decay, sampling=sampling, rng=gen,
        )
    finally:
        for p, flag in flags.items():
            p.requires_grad_(flag)


def tau_normalized_weight(weight: TensorLike, /, *, tau: float = 1.0) -> Array:
    r"""Classifier weights with each class's row divided by its norm to the power τ.

    .. math::

        \tilde w_k = \frac{w_k}{\lVert w_k \rVert_2^{\tau}}

    ``tau = 0`` leaves the weights as they are, ``tau = 1`` gives every row unit length, so
    that no class wins only because its weight vector is long.

    Parameters
    ----------
    weight : array_like or torch.Tensor, shape (K, d)
        One row per class (the layout of ``torch.nn.Linear.weight``).
    tau : float, default 1.0
        A non-negative finite number; Kang et al. pick it on validation data, in ``[0, 1]``.

    Returns
    -------
    ndarray or torch.Tensor, shape (K, d)
        Same kind and dtype as `weight` (torch keeps autograd). A row of zeros stays zero.

    Raises
    ------
    TypeError
        If `tau` is not a number or `weight` is not real-valued.
    ValueError
        If `weight` is not 2-d or `tau` is negative or not finite.

    Examples
    --------
    >>> tau_normalized_weight([[3.0, 4.0], [0.6, 0.8]], tau=1.0)
    array([[0.6, 0.8],
           [0.6, 0.8]])
    >>> tau_normalized_weight([[3.0, 4.0], [0.6, 0.8]], tau=0.5).round(3)
    array([[1.342, 1.789],
           [0.6  , 0.8  ]])
    """
    t = _check_tau(tau)
    w = as_float_array(weight, "weight")
    if w.ndim != 2:
        raise ValueError(f"Expected `weight` to be 2-d (classes, features), got shape {w.shape}")
    if is_torch_tensor(w):
        norm = w.norm(dim=1, keepdim=True)  # (K, 1)
        return w / norm.clamp_min(float(np.finfo(np.float64).tiny)) ** t
    norm = np.linalg.norm(w, axis=1, keepdims=True)  # (K, 1)
    return w / np.maximum(norm, np.finfo(w.dtype).tiny) ** t


def tau_normalized(
    model: torch.nn.Module,
    /,
    *,
    tau: float = 1.0,
    classifier: str | None = None,
    keep_bias: bool = False,
) -> torch.nn.Module:
    """A copy of `model` whose classifier is τ-normalised (:func:`tau_normalized_weight`).

    Parameters
    ----------
    model : torch.nn.Module
        A trained model; it is not changed.
    tau : float, default 1.0
        The exponent of the norm (``0``: the weights unchanged).
    classifier : str, optional
        Name of the classifier in ``model.named_modules()``; see :func:`classifier_layer`.
    keep_bias : bool, default False
        Kang et al.'s τ-normalised classifier has no bias (the learned bias carries the class
        prior, as chapter 2 shows); ``True`` keeps it.

    Returns
    -------
    torch.nn.Module
        A deep copy with the classifier's weight rows rescaled (and its bias set to zero
        unless `keep_bias`).

    Raises
    ------
    TypeError, ValueError
        As :func:`classifier_layer` and :func:`tau_normalized_weight`.

    Notes
    -----
    The method relies on the rows of rare classes being *shorter* after instance-balanced
    training. Menon et al. (2021) point out that this is sensitive to the choice of optimiser
    (their example is Adam); the book's experiment uses SGD with momentum, as Kang et al. do.
    Book: chapter 7.

    Examples
    --------
    >>> import torch
    >>> import softmax_bottleneck as sb
    >>> mlp = sb.models.build_model("mlp", n_features=4, n_classes=3, hidden=5)
    >>> normed = tau_normalized(mlp, tau=1.0)
    >>> torch.allclose(normed.net[2].weight.norm(dim=1), torch.ones(3, dtype=torch.float64))
    True
    >>> bool((normed.net[2].bias == 0).all()), bool((mlp.net[2].bias == 0).all())
    (True, False)
    """
    import torch

    t = _check_tau(tau)
    classifier_layer(model, classifier)  # validate before copying
    out = copy.deepcopy(model)
    layer = classifier_layer(out, classifier)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(tau_normalized_weight(layer.weight.detach(), tau=t)))
        if layer.bias is not None and not keep_bias:
            layer.bias.zero_()
    return out
