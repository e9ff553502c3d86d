"""Case studies: every imbalance fix of the book on one split and one budget (Book: chapter 6).

Chapter 6 compares the methods of chapters 3-5 and 7 on two real problems. To make the
comparison fair, every method of one (split, seed) pair

* starts from the same initial weights (``make_model(seed)``),
* trains with the same optimiser settings (``fit_options``) for the same number of epochs,
* is scored on the same test set by the same metrics, and
* may look at a **validation split carved from the training data** (never at the test set) for
  the two things that need held-out data: choosing a tuning setting and fitting the
  temperature of temperature scaling.

:func:`run_methods` does this for a list of named recipes (:data:`METHODS`), :func:`aggregate`
turns the runs of several seeds into mean ± standard deviation, and :func:`format_table`
prints them. The recipes only *combine* the package's pieces: :func:`~softmax_bottleneck.train.fit`,
the samplers of :mod:`~softmax_bottleneck.resampling`, the losses of
:mod:`~softmax_bottleneck.losses` and :func:`~softmax_bottleneck.fit_temperature`.
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._validation import check_choice, check_rng
from .tables import Align, Table

__all__ = [
    "BUDGETS",
    "METHODS",
    "METRICS",
    "aggregate",
    "budget_epochs",
    "compare",
    "format_table",
    "minority_classes",
    "run_methods",
    "score_logits",
    "summary_table",
    "validation_split",
]

#: What "the same budget" can mean in :func:`run_methods` (see :func:`budget_epochs`).
BUDGETS = ("epochs", "examples", "steps")

#: The recipes :func:`run_methods` knows, in the order the book's tables list them.
METHODS = (
    "baseline",
    "over-sampling",
    "under-sampling",
    "SMOTE",
    "tuned",
    "augmentation",
    "focal",
    "class-balanced",
    "logit-adjusted loss",
    "post-hoc logit adjustment",
)

#: The numbers :func:`run_methods` reports for every method (see its Returns section).
METRICS = (
    "balanced_accuracy",
    "macro_f1",
    "minority_recall",
    "ece",
    "ece_scaled",
    "temperature",
    "examples",
    "seconds",
)


def budget_epochs(
    n_rows: int, /, *, n_train: int, epochs: int, batch_size: int = 32, budget: str = "epochs"
) -> int:
    """Passes over a resampled set of `n_rows` rows that match `epochs` passes over `n_train`.

    A method that resizes the training set (over-, under-sampling, SMOTE, augmented copies)
    changes what "the same training" means. With ``B = batch_size`` and ``⌈·⌉`` the number of
    mini-batches per pass (the last one may be short):

    * ``"epochs"``: ``epochs`` passes, whatever the size (the resized run does
      ``n_rows / n_train`` times the work);
    * ``"examples"``: ``max(1, round(epochs * n_train / n_rows))`` passes, so every run
      processes about ``epochs * n_train`` examples;
    * ``"steps"``: ``max(1, round(epochs * ⌈n_train / B⌉ / ⌈n_rows / B⌉))`` passes, so every
      run takes about the baseline's ``epochs * ⌈n_train / B⌉`` gradient steps. It differs from
      ``"examples"`` when one pass is shorter than a few batches: an under-sampled set of 10 rows
      is one short batch per pass, so ``"examples"`` would give it many more steps.

    Parameters
    ----------
    n_rows : int
        Rows of the (resampled) set the run trains on.
    n_train : int
        Rows of the training set the budget is defined on.
    epochs : int
        Passes over `n_train` rows (the baseline's budget).
    batch_size : int, default 32
        Mini-batch size of the run.
    budget : {"epochs", "examples", "steps"}, default "epochs"
        The convention (:data:`BUDGETS`).

    Returns
    -------
    int
        Passes over the `n_rows` rows.

    Raises
    ------
    TypeError
        If a count is not an integer.
    ValueError
        If a count is below 1 or `budget` is unknown.

    Examples
    --------
    >>> [budget_epochs(10, n_train=258, epochs=20, budget=b) for b in BUDGETS]
    [20, 516, 180]
    >>> budget_epochs(830, n_train=258, epochs=20, budget="steps")   # 7 passes of 26 batches
    7
    """
    for value, name in ((n_rows, "n_rows"), (n_train, "n_train"), (epochs, "epochs"),
                        (batch_size, "batch_size")):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"Expected `{name}` to be a positive integer, got {value!r}")
        if value < 1:
            raise ValueError(f"Expected `{name}` to be a positive integer, got {value!r}")
    check_choice(budget, "budget", BUDGETS)
    if budget == "examples":  # as many examples as `epochs` passes over the training set
        return max(1, round(epochs * n_train / n_rows))
    if budget == "steps":  # as many mini-batches as `epochs` passes over the training set
        per_pass = -(-n_rows // batch_size)
        return max(1, round(epochs * -(-n_train // batch_size) / per_pass))
    return int(epochs)


_LOSS_METHODS = ("focal", "class-balanced", "logit-adjusted loss")


def _check_fraction(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Expected `{name}` to be a number in (0, 1), got {value!r}")
    if not 0 < float(value) < 1:
        raise ValueError(f"Expected `{name}` to be a number in (0, 1), got {value!r}")
    return float(value)


def _check_labels(y: Any, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0 or y.dtype.kind not in "iu" or y.min() < 0:
        raise ValueError(f"Expected `{name}` to be a non-empty 1-d array of integer labels >= 0")
    return y.astype(np.int64)


def validation_split(
    X: Any, y: Any, /, *, fraction: float = 0.2, rng: int | np.random.Generator | None = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split a training set into a part to fit on and a stratified validation part.

    Class ``c`` with ``n_c`` examples gives ``min(max(1, round(fraction * n_c)), n_c - 1)`` of
    them to validation: every class with at least two examples is represented in validation,
    and every class keeps at least one training example (a class with a single example
    stays entirely in training). The order of rows is shuffled.

    Parameters
    ----------
    X : array_like, shape (n, ...)
        Training inputs (any dtype, e.g. str for text).
    y : array_like of int, shape (n,)
        Training labels.
    fraction : float, default 0.2
        Share of each class sent to validation, in (0, 1).
    rng : int, Generator or None, default 0
        Chooses the validation rows.

    Returns
    -------
    X_fit, y_fit, X_val, y_val : ndarray

    Raises
    ------
    TypeError
        If `fraction` is not a number or `rng` not a seed.
    ValueError
        If `y` is not 1-d non-negative integer labels matching `X`, or `fraction` is not in
        (0, 1).

    Notes
    -----
    Held-out data for tuning must come from the training data: choosing anything on the test
    set makes the test score optimistic. On a long-tailed set this costs the rare classes part
    of their few examples; every method pays the same price. Book: chapter 6.

    Examples
    --------
    >>> X, y = np.arange(12).reshape(12, 1), np.array([0] * 10 + [1, 1])
    >>> X_fit, y_fit, X_val, y_val = validation_split(X, y, fraction=0.2, rng=0)
    >>> np.bincount(y_fit), np.bincount(y_val)
    (array([8, 1]), array([2, 1]))
    """
    X = np.asarray(X)
    y = _check_labels(y, "y")
    if X.shape[:1] != y.shape:
        raise ValueError(f"Expected `X` with {len(y)} rows (one per label), got shape {X.shape}")
    fraction = _check_fraction(fraction, "fraction")
    gen = check_rng(rng)
    fit_idx, val_idx = [], []
    for c in np.unique(y):
        idx = gen.permutation(np.flatnonzero(y == c))
        n_val = min(max(1, round(fraction * len(idx))), len(idx) - 1)
        val_idx.append(idx[:n_val])
        fit_idx.append(idx[n_val:])
    fit = gen.permutation(np.concatenate(fit_idx))
    val = gen.permutation(np.concatenate(val_idx))
    return X[fit], y[fit], X[val], y[val]


def minority_classes(class_counts: Any, /, *, fraction: float = 1 / 3) -> np.ndarray:
    """The rarest classes: the ``max(1, round(fraction * K))`` classes with fewest examples.

    Ties are broken by class index (the lower index counts as rarer), so the result is
    deterministic. The book reports *minority recall* as the mean recall over these classes,
    with the counts taken from the data the models are trained on.

    Parameters
    ----------
    class_counts : array_like of int, shape (K,)
        Training examples per class.
    fraction : float, default 1/3
        Share of the classes that count as minority, in (0, 1).

    Returns
    -------
    ndarray of int64
        Sorted class indices.

    Raises
    ------
    ValueError
        If `class_counts` is not a 1-d array of at least two non-negative counts, or
        `fraction` is not in (0, 1).

    Examples
    --------
    >>> minority_classes([130, 84, 54, 35, 23, 15, 10, 6, 4, 3])
    array([7, 8, 9])
    """
    counts = np.asarray(class_counts)
    if counts.ndim != 1 or counts.size < 2 or counts.dtype.kind not in "iu" or counts.min() < 0:
        raise ValueError(
            "Expected `class_counts` to be a 1-d array of at least 2 non-negative integers"
        )
    fraction = _check_fraction(fraction, "fraction")
    k = max(1, round(fraction * counts.size))
    return np.sort(np.argsort(counts, kind="stable")[:k]).astype(np.int64)


def score_logits(
    logits: Any,
    target: Any,
    /,
    *,
    minority: Any,
    temperature: float = 1.0,
    n_bins: int = 15,
) -> dict[str, float]:
    """Balanced accuracy, macro-F1, minority recall and ECE of a model's logits.

    Parameters
    ----------
    logits : array_like, shape (n, K)
        Test logits.
    target : array_like of int, shape (n,)
        True labels.
    minority : array_like of int
        Classes whose mean recall is ``"minority_recall"`` (see :func:`minority_classes`).
    temperature : float, default 1.0
        Probabilities for the ECE are ``softmax(logits / temperature)``; it never changes a
        prediction, so the other three numbers do not depend on it.
    n_bins : int, default 15
        Bins of the ECE (:func:`~softmax_bottleneck.calibration.expected_calibration_error`).

    Returns
    -------
    dict of str to float
        ``"balanced_accuracy"``, ``"macro_f1"``, ``"minority_recall"``, ``"ece"``.

    Raises
    ------
    ValueError
        If `logits` is not 2-d with one row per label, or as
        :func:`~softmax_bottleneck.metrics.summarize`.

    Examples
    --------
    >>> s = score_logits([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0]], [0, 1, 1], minority=[1])
    >>> s["balanced_accuracy"], s["minority_recall"]
    (0.75, 0.5)
    """
    from .calibration import expected_calibration_error
    from .metrics import summarize
    from .softmax import softmax

    z = np.asarray(logits, dtype=np.float64)
    target = np.asarray(target)
    if z.ndim != 2 or z.shape[0] != target.shape[0]:
        raise ValueError(
            f"Expected `logits` of shape (n, K) with one row per label, got shape {z.shape}"
        )
    s = summarize(target, z.argmax(axis=1), n_classes=z.shape[1], minority=minority)
    probs = softmax(z, temperature=temperature)
    return {
        "balanced_accuracy": s["balanced_accuracy"],
        "macro_f1": s["macro_f1"],
        "minority_recall": s["minority_recall"],
        "ece": expected_calibration_error(probs, target, n_bins=n_bins),
    }


def _loss(method: str, counts: np.ndarray, *, gamma: float, beta: float, tau: float) -> Any:
    """The training loss ``loss(logits, target)`` of one of the chapter-7 methods."""
    import torch
    import torch.nn.functional as F

    from .losses import class_balanced_weights, focal_loss, logit_adjusted_loss

    if method == "focal":
        return lambda z, t: focal_loss(z, t, gamma=gamma)
    if method == "class-balanced":
        w = torch.tensor(class_balanced_weights(counts, beta=beta), dtype=torch.float64)
        return lambda z, t: F.cross_entropy(z, t, weight=w.to(z.dtype))
    return lambda z, t: logit_adjusted_loss(z, t, counts, tau=tau)


_FIT_KEYS = ("epochs", "lr", "batch_size", "optimizer", "momentum", "weight_decay")


def _check_options(fit_options: Any, tuning_grid: Any) -> tuple[dict, list[dict]]:
    from .train import fit

    if not isinstance(fit_options, Mapping):
        raise TypeError(f"Expected `fit_options` to be a mapping, got {fit_options!r}")
    unknown = set(fit_options) - set(_FIT_KEYS)
    if unknown:
        raise ValueError(f"Expected `fit_options` among {list(_FIT_KEYS)}, got {sorted(unknown)}")
    allowed = set(fit.__kwdefaults__ or {}) - {"X_val", "y_val", "rng", "augment", "sampling"}
    for options in tuning_grid:
        if not isinstance(options, Mapping):
            raise TypeError(f"Expected every tuning setting to be a mapping, got {options!r}")
        unknown = set(options) - allowed
        if unknown:
            raise ValueError(f"Expected options of train.fit in `tuning_grid`, got {sorted(unknown)}")
    base = {"epochs": 30, "lr": 0.1, "batch_size": 32, **fit_options}
    return base, [dict(g) for g in tuning_grid]


def run_methods(
    methods: Sequence[str],
    /,
    *,
    X_train: Any,
    y_train: Any,
    X_val: Any,
    y_val: Any,
    X_test: Any,
    y_test: Any,
    make_model: Callable[[int], Any],
    fit_options: Mapping[str, Any],
    seed: int = 0,
    tuning_grid: Sequence[Mapping[str, Any]] = (),
    augment: Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple] | None = None,
    focal_gamma: float = 2.0,
    cb_beta: float = 0.999,
    tau: float = 1.0,
    smote_neighbors: int = 5,
    n_bins: int = 15,
    budget: str = "epochs",
) -> dict[str, dict[str, float]]:
    """Train and score each named method once, on one split with one seed.

    The recipes (all with the model ``make_model(seed)`` and ``fit_options``):

    ``"baseline"``
        :func:`~softmax_bottleneck.train.fit` on the training data as it is.
    ``"over-sampling"``, ``"under-sampling"``, ``"SMOTE"``
        The same, on the output of :class:`~softmax_bottleneck.resampling.RandomOverSampler`,
        :class:`~.RandomUnderSampler` or :class:`~.SMOTE` (``k = min(smote_neighbors,
        n_min - 1)``; a class with a single example is first doubled, since SMOTE between a
        point and itself can only copy it).
    ``"tuned"``
        One run per setting of `tuning_grid` (each a dict of ``fit`` options overriding
        `fit_options`); the setting with the highest **validation** balanced accuracy wins
        (the first one on a tie). ``{}`` in the grid means the baseline run, reused.
    ``"augmentation"``
        ``augment(X_train, y_train, rng)`` returns ``(X, y, extra_fit_options)``, e.g. the
        training set grown with augmented copies, or ``{"augment": image_augmenter(...)}``.
    ``"focal"``, ``"class-balanced"``, ``"logit-adjusted loss"``
        The baseline's loop with :func:`~softmax_bottleneck.losses.focal_loss` (γ =
        `focal_gamma`), cross-entropy weighted by
        :func:`~softmax_bottleneck.losses.class_balanced_weights` (β = `cb_beta`), or
        :func:`~softmax_bottleneck.losses.logit_adjusted_loss` (τ = `tau`).
    ``"post-hoc logit adjustment"``
        The baseline's model, with :func:`~softmax_bottleneck.losses.adjust_logits` (τ = `tau`)
        applied to its validation and test logits; no new training.

    Parameters
    ----------
    methods : sequence of str
        Names from :data:`METHODS` (each at most once).
    X_train, y_train : array_like
        Training data (numeric features, shape (n, d)), labels ``0 .. K - 1``.
    X_val, y_val : array_like
        Validation data carved from the training data (see :func:`validation_split`).
    X_test, y_test : array_like
        Test data; used only for scoring.
    make_model : callable
        ``make_model(seed) -> torch.nn.Module`` returning fresh, seeded weights.
    fit_options : mapping
        Optimiser options shared by every method: any of ``epochs``, ``lr``, ``batch_size``,
        ``optimizer``, ``momentum``, ``weight_decay`` (as in :func:`~softmax_bottleneck.train.fit`).
    seed : int, default 0
        Seeds the model, the batch order, the samplers and `augment`.
    tuning_grid : sequence of mappings, default ()
        Settings tried by ``"tuned"`` (required for it).
    augment : callable, optional
        Required for ``"augmentation"``.
    focal_gamma, cb_beta, tau : float
        Knobs of the three losses (defaults: Lin et al.'s γ = 2, Cui et al.'s β = 0.999,
        Menon et al.'s τ = 1).
    smote_neighbors : int, default 5
        Upper bound on SMOTE's ``k``.
    n_bins : int, default 15
        ECE bins.
    budget : {"epochs", "examples", "steps"}, default "epochs"
        What "the same budget" means. ``"epochs"``: every run makes ``epochs`` passes over
        its own training set, so over-sampling does more work and under-sampling less.
        ``"examples"``: a run on ``n'`` rows makes ``max(1, round(epochs * n / n'))`` passes,
        where ``n = len(y_train)``, so every method processes about ``epochs * n`` examples
        (the same number of gradient evaluations per example). ``"steps"``: as many passes as
        give about the baseline's number of mini-batches, ``epochs * ceil(n / batch_size)``
        (the same number of gradient steps; see :func:`budget_epochs`).

    Returns
    -------
    dict of str to dict
        For each method: ``"balanced_accuracy"``, ``"macro_f1"``, ``"minority_recall"`` (mean
        recall of :func:`minority_classes` of `y_train`), ``"ece"`` (at T = 1),
        ``"ece_scaled"`` (after temperature scaling with T fitted on the validation logits),
        ``"temperature"``, ``"examples"`` (training examples processed, a deterministic cost:
        epochs × rows, summed over the runs the method needs; a reused run counts again, since
        the method cannot exist without it) and ``"seconds"`` (wall time of that training;
        it varies from run to run). ``"tuned"`` also has ``"choice"``, the index of the chosen
        setting.

    Raises
    ------
    ValueError
        If a method is unknown or repeated, data shapes disagree, ``"tuned"`` has an empty
        grid, ``"augmentation"`` has no `augment`, or a fit option is unknown.
    TypeError
        If `make_model` or `augment` is not callable, or `seed` is not an integer.

    Notes
    -----
    The three losses need a loop that accepts any loss; it draws the same batches and takes
    the same steps as ``train.fit`` (bit-identical under cross-entropy, tested), so only the
    loss differs. Book: chapter 6.

    Examples
    --------
    >>> from softmax_bottleneck.models import build_model
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2)).astype(np.float32); y = (X[:, 0] > 0.5).astype(np.int64)
    >>> out = run_methods(["baseline", "post-hoc logit adjustment"], X_train=X[:40],
    ...                   y_train=y[:40], X_val=X[40:50], y_val=y[40:50], X_test=X[50:],
    ...                   y_test=y[50:], make_model=lambda s: build_model(
    ...                       "softmax", n_features=2, n_classes=2, rng=s),
    ...                   fit_options={"epochs": 5, "lr": 0.1})
    >>> sorted(out), out["baseline"]["examples"]
    (['baseline', 'post-hoc logit adjustment'], 200.0)
    """
    from .losses import adjust_logits
    from .metrics import per_class_recall
    from .resampling import SMOTE, RandomOverSampler, RandomUnderSampler
    from .temperature_scaling import fit_temperature
    from .train import fit, predict_logits

    if isinstance(methods, str) or not isinstance(methods, Sequence):
        raise TypeError(f"Expected `methods` to be a sequence of names, got {methods!r}")
    for m in methods:
        check_choice(m, "methods", METHODS)
    if len(set(methods)) != len(methods):
        raise ValueError(f"Expected each method at most once, got {list(methods)}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"Expected `seed` to be an integer, got {seed!r}")
    if not callable(make_model):
        raise TypeError(f"Expected `make_model` to be callable, got {make_model!r}")
    if "augmentation" in methods and not callable(augment):
        raise ValueError("Expected a callable `augment` for the method 'augmentation'")
    if "tuned" in methods and len(tuning_grid) == 0:
        raise ValueError("Expected a non-empty `tuning_grid` for the method 'tuned'")
    check_choice(budget, "budget", BUDGETS)
    base, grid = _check_options(fit_options, tuning_grid)
    X_train = np.asarray(X_train, dtype=np.float32)
    X_val = np.asarray(X_val, dtype=np.float32)
    X_test = np.asarray(X_test, dtype=np.float32)
    y_train, y_val, y_test = (_check_labels(v, n) for v, n in
                              ((y_train, "y_train"), (y_val, "y_val"), (y_test, "y_test")))
    for name, X_, y_ in (("train", X_train, y_train), ("val", X_val, y_val),
                         ("test", X_test, y_test)):
        if X_.shape[:1] != y_.shape:
            raise ValueError(f"Expected `X_{name}` with one row per label of `y_{name}`")
    seed = int(seed)
    probe = make_model(seed)
    n_classes = int(predict_logits(probe, X_test[:1]).shape[1])
    counts = np.bincount(y_train, minlength=n_classes)
    minority = minority_classes(counts)
    present = np.unique(y_val)

    def train(X, y, options, loss_fn=None):
        """A fresh model trained on (X, y): (model, examples processed, seconds)."""
        model = make_model(seed)
        opts = {**base, **options}
        if budget != "epochs":  # resized sets get as many examples or steps as the baseline
            opts["epochs"] = budget_epochs(len(y), n_train=len(y_train), epochs=opts["epochs"],
                                           batch_size=opts["batch_size"], budget=budget)
        start = time.perf_counter()
        fit(model, X, y, rng=seed, **opts, **({} if loss_fn is None else {"loss": loss_fn}))
        return model, opts["epochs"] * len(y), time.perf_counter() - start

    def logits_of(model, adjust=False):
        val, test = predict_logits(model, X_val), predict_logits(model, X_test)
        if adjust:
            val, test = adjust_logits(val, counts, tau=tau), adjust_logits(test, counts, tau=tau)
        return val, test

    cache: dict[str, tuple] = {}

    def baseline():
        if "baseline" not in cache:
            cache["baseline"] = train(X_train, y_train, {})
        return cache["baseline"]

    results: dict[str, dict[str, float]] = {}
    for method in methods:
        extra: dict[str, float] = {}
        adjust = False
        if method in ("baseline", "post-hoc logit adjustment"):
            model, examples, seconds = baseline()
            adjust = method != "baseline"
        elif method in ("over-sampling", "under-sampling", "SMOTE"):
            if method == "SMOTE":
                single = np.flatnonzero(counts == 1)
                X_s = np.concatenate([X_train, X_train[np.isin(y_train, single)]])
                y_s = np.concatenate([y_train, y_train[np.isin(y_train, single)]])
                k = int(min(smote_neighbors, np.bincount(y_s)[np.bincount(y_s) > 0].min() - 1))
                sampler = SMOTE(k_neighbors=k, random_state=seed)
                X_r, y_r = sampler.fit_resample(X_s, y_s)
            else:
                cls = RandomOverSampler if method == "over-sampling" else RandomUnderSampler
                X_r, y_r = cls(random_state=seed).fit_resample(X_train, y_train)
            model, examples, seconds = train(X_r, y_r, {})
        elif method == "tuned":
            best, examples, seconds = None, 0, 0.0
            for i, options in enumerate(grid):
                run = baseline() if not options else train(X_train, y_train, options)
                examples, seconds = examples + run[1], seconds + run[2]
                pred = predict_logits(run[0], X_val).argmax(axis=1)
                # balanced accuracy over the classes present in validation
                score = float(per_class_recall(y_val, pred, n_classes=n_classes)[present].mean())
                if best is None or score > best[0]:
                    best = (score, i, run[0])
            model, extra["choice"] = best[2], float(best[1])
        elif method == "augmentation":
            X_a, y_a, options = augment(X_train, y_train, np.random.default_rng(seed))
            model, examples, seconds = train(np.asarray(X_a, dtype=np.float32),
                                             _check_labels(y_a, "y"), dict(options))
        else:  # one of the losses
            loss_fn = _loss(method, counts, gamma=focal_gamma, beta=cb_beta, tau=tau)
            model, examples, seconds = train(X_train, y_train, {}, loss_fn)
        val_logits, test_logits = logits_of(model, adjust)
        with warnings.catch_warnings():
            # A validation split the model separates perfectly puts T at a bound: keep it.
            warnings.simplefilter("ignore", RuntimeWarning)
            temperature = fit_temperature(val_logits.astype(np.float64), y_val)
        scores = score_logits(test_logits, y_test, minority=minority, n_bins=n_bins)
        scores["ece_scaled"] = score_logits(
            test_logits, y_test, minority=minority, temperature=temperature, n_bins=n_bins
        )["ece"]
        results[method] = {**scores, "temperature": temperature, "examples": float(examples),
                           "seconds": float(seconds), **extra}
    return results


def aggregate(
    runs: Sequence[Mapping[str, Mapping[str, float]]], /
) -> dict[str, dict[str, tuple[float, float]]]:
    """Mean and sample standard deviation (ddof = 1) over seeds of :func:`run_methods` outputs.

    Parameters
    ----------
    runs : sequence of dict
        One :func:`run_methods` result per seed, all with the same methods.

    Returns
    -------
    dict of str to dict of str to (float, float)
        ``summary[method][metric] = (mean, std)``, methods in the order of the first run; the
        standard deviation is the sample one (``ddof = 1``; 0.0 for a single run).

    Raises
    ------
    ValueError
        If `runs` is empty or the runs do not hold the same methods and metrics.

    Examples
    --------
    >>> aggregate([{"a": {"x": 1.0}}, {"a": {"x": 3.0}}, {"a": {"x": 2.0}}])
    {'a': {'x': (2.0, 1.0)}}
    """
    if len(runs) == 0:
        raise ValueError("Expected at least one run to aggregate, got none")
    first = runs[0]
    for run in runs[1:]:
        if list(run) != list(first) or any(set(run[m]) != set(first[m]) for m in first):
            raise ValueError("Expected every run to hold the same methods and metrics")
    return {
        method: {
            key: (float(np.mean([r[method][key] for r in runs])),
                  float(np.std([r[method][key] for r in runs], ddof=1)) if len(runs) > 1
                  else 0.0)
            for key in first[method]
        }
        for method in first
    }


def compare(
    runs: Sequence[Mapping[str, Mapping[str, float]]],
    /,
    method: str,
    reference: str,
    *,
    metric: str = "balanced_accuracy",
    unit: str = "seeds",
) -> Any:
    """The paired comparison of two methods over the seeds of `runs` (the book's verdict rule).

    Parameters
    ----------
    runs : sequence of dict
        One :func:`run_methods` result per seed (paired: same split and weights per seed).
    method, reference : str
        The two methods; the difference is ``method - reference``.
    metric : str, default "balanced_accuracy"
        Any key of :data:`METRICS` the runs hold. For ``"ece"`` and ``"ece_scaled"`` lower is
        better, and the verdict says so (``higher_is_better=False``).
    unit : str, default "seeds"
        What one run is, for the printed line ("splits" on the text corpus).

    Returns
    -------
    softmax_bottleneck.stats.PairedComparison

    Raises
    ------
    ValueError
        If fewer than two runs are given, or a method or metric is missing.

    Examples
    --------
    >>> runs = [{"LA": {"x": 0.9 + s / 100}, "CE": {"x": 0.8}} for s in range(3)]
    >>> compare(runs, "LA", "CE", metric="x").verdict
    'LA better'
    """
    from .stats import compare_paired

    for run in runs:
        for name in (method, reference):
            if name not in run or metric not in run[name]:
                raise ValueError(f"Expected every run to hold {metric!r} of {name!r}")
    return compare_paired([r[method][metric] for r in runs],
                          [r[reference][metric] for r in runs], names=(method, reference),
                          higher_is_better=metric not in _LOWER_IS_BETTER, unit=unit)


#: Metrics of :func:`run_methods` where a lower value is better.
_LOWER_IS_BETTER = ("ece", "ece_scaled")


_HEADERS = {
    "balanced_accuracy": "balanced acc.",
    "macro_f1": "macro-F1",
    "minority_recall": "minority recall",
    "ece": "ECE",
    "ece_scaled": "ECE after TS",
    "examples": "examples seen",
}


def summary_table(
    summary: Mapping[str, Mapping[str, tuple[float, float]]],
    /,
    *,
    metrics: Sequence[str] = ("balanced_accuracy", "macro_f1", "minority_recall", "ece",
                              "ece_scaled", "examples"),
    wall_time: bool = False,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> Table:
    """The output of :func:`aggregate` as a :class:`~softmax_bottleneck.tables.Table`.

    One method per row; scores as ``mean ± std`` with three decimals, ``"examples"`` as a mean
    count in thousands (``k``); wall time, if asked for, last, as ``[1.23 s]`` (mean seconds
    per run; the book's nbval configuration masks it because it changes from run to run). A
    notebook cell that ends with the table shows it as HTML; ``print`` gives the text of
    :func:`format_table`.

    Parameters
    ----------
    summary : mapping
        From :func:`aggregate`.
    metrics : sequence of str
        Columns, in order (keys of the summary).
    wall_time : bool, default False
        Whether to add the ``"seconds"`` column.
    title : str, optional
        A caption above the table.
    notes : sequence of str, optional
        Lines under the table.

    Returns
    -------
    softmax_bottleneck.tables.Table

    Raises
    ------
    ValueError
        If `summary` is empty or lacks a requested metric.

    Examples
    --------
    >>> t = summary_table({"baseline": {"macro_f1": (0.5, 0.01)}, "LA": {"macro_f1": (0.6, 0.02)}},
    ...                   metrics=["macro_f1"], title="Macro-F1, mean ± sd over 11 seeds")
    >>> print(t)
    Macro-F1, mean ± sd over 11 seeds
    method   |      macro-F1
    baseline | 0.500 ± 0.010
    LA       | 0.600 ± 0.020
    """
    if not summary:
        raise ValueError("Expected a non-empty summary")
    columns = list(metrics) + (["seconds"] if wall_time else [])
    for method, row in summary.items():
        missing = [c for c in columns if c not in row]
        if missing:
            raise ValueError(f"Expected metrics {missing} for method {method!r}")

    def cell(key: str, mean: float, std: float) -> str:
        if key == "examples":
            return f"{mean / 1000:.1f}k"
        if key == "seconds":
            return f"[{mean:.2f} s]"
        return f"{mean:.3f} ± {std:.3f}"

    heads = ["method"] + [_HEADERS.get(k, k) if k != "seconds" else "wall time"
                          for k in columns]
    if len(set(heads)) != len(heads):
        raise ValueError(f"Expected distinct metrics, got {columns}")
    rows = [[m, *(cell(k, *summary[m][k]) for k in columns)] for m in summary]
    align: dict[str, Align] = {h: "right" for h in heads[1:]}
    align["method"] = "left"
    return Table(heads, rows, title=title, notes=notes, align=align)


def format_table(
    summary: Mapping[str, Mapping[str, tuple[float, float]]],
    /,
    *,
    metrics: Sequence[str] = ("balanced_accuracy", "macro_f1", "minority_recall", "ece",
                              "ece_scaled", "examples"),
    wall_time: bool = True,
) -> str:
    """The output of :func:`aggregate` as a text table (``str`` of :func:`summary_table`).

    Parameters
    ----------
    summary : mapping
        From :func:`aggregate`.
    metrics : sequence of str
        Columns, in order (keys of the summary).
    wall_time : bool, default True
        Whether to add the ``"seconds"`` column (written ``[1.23 s]``).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If `summary` is empty or lacks a requested metric.

    Examples
    --------
    >>> print(format_table({"baseline": {"macro_f1": (0.5, 0.01)}}, metrics=["macro_f1"],
    ...                    wall_time=False))
    method   |      macro-F1
    baseline | 0.500 ± 0.010
    """
    return str(summary_table(summary, metrics=metrics, wall_time=wall_time))
