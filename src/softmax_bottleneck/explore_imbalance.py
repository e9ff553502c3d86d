"""The imbalance explorer: per-class counts and per-class recall as the imbalance ratio moves.

Three layers, as for the temperature explorer (:mod:`softmax_bottleneck.explore`):

* :func:`imbalance_sweep` trains the book's small models on long-tailed digits over a grid of
  imbalance ratios ρ (optionally with a resampling method) and returns plain arrays;
* :func:`imbalance_figure` draws one ρ of a sweep as a matplotlib figure (static on the website);
* :func:`imbalance_widget` (ipywidgets, Jupyter/Colab) and :func:`imbalance_explorer_html`
  (HTML + JavaScript, no kernel, for the website) put a slider over ρ.

Training happens once, in :func:`imbalance_sweep`; moving the slider only looks results up, so
both interactive versions respond at once. Book: chapter 3.

The logit-adjustment explorer (chapter 4) has the same three layers over one model's held-out
logits: :func:`logit_adjustment_scores` (per-class recall, balanced accuracy and calibration
after subtracting ``tau * log(prior)``), :func:`logit_adjustment_figure`,
:func:`logit_adjustment_widget` and :func:`logit_adjustment_explorer_html`, whose JavaScript
recomputes the scores from the logits stored in the page.
"""

from __future__ import annotations

import html
import json
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_choice
from .explore import ExplorerHTML, format_fixed

__all__ = [
    "METHODS",
    "TAUS",
    "ImbalanceExplorerHTML",
    "ImbalanceSweep",
    "LogitAdjustmentExplorerHTML",
    "imbalance_explorer_html",
    "imbalance_figure",
    "imbalance_sweep",
    "imbalance_widget",
    "logit_adjustment_explorer_html",
    "logit_adjustment_figure",
    "logit_adjustment_scores",
    "logit_adjustment_widget",
]

#: Training-set treatments the sweep knows: none, or a sampler of :mod:`~.resampling`.
METHODS = ("baseline", "oversample", "undersample", "smote", "class_balanced")

#: How each method is named in figures and in the page explorer.
METHOD_LABELS = {
    "baseline": "baseline",
    "oversample": "random over-sampling",
    "undersample": "random under-sampling",
    "smote": "SMOTE",
    "class_balanced": "class-balanced batches",
}


@dataclass(frozen=True)
class ImbalanceSweep:
    """Results of :func:`imbalance_sweep`.

    Attributes
    ----------
    rhos : ndarray of float, shape (R,)
        The imbalance ratios, increasing.
    counts : ndarray of int, shape (R, K)
        Training images per class at each ratio (before resampling).
    recall : dict of str to ndarray, shape (R, S, K)
        For each method, the per-class test recall of each seed's model.
    profile : str
        The long-tail profile, "exp" or "step".
    """

    rhos: np.ndarray
    counts: np.ndarray
    recall: dict[str, np.ndarray]
    profile: str

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods in the sweep, in the order given."""
        return tuple(self.recall)

    def balanced_accuracy(self, method: str) -> np.ndarray:
        """Mean over classes of the recall: shape (R, S), one value per ratio and seed."""
        return self.recall[method].mean(axis=-1)


def _check_number_list(values: Any, name: str, *, minimum: float) -> list:
    try:
        items = list(values)
    except TypeError as err:
        raise TypeError(f"Expected `{name}` to be a sequence of numbers, got {values!r}") from err
    if not items:
        raise ValueError(f"Expected `{name}` to hold at least one value, got {values!r}")
    for v in items:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"Expected `{name}` to hold numbers, got {v!r}")
        if not (np.isfinite(float(v)) and float(v) >= minimum):
            raise ValueError(f"Expected every value of `{name}` to be >= {minimum}, got {v!r}")
    return items


def imbalance_sweep(
    rhos: Sequence[float],
    /,
    *,
    methods: Sequence[str] = ("baseline", "oversample"),
    profile: str = "exp",
    model: str = "mlp",
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 30,
    lr: float = 0.05,
) -> ImbalanceSweep:
    """Train on long-tailed digits for every ratio, method and seed; record per-class recall.

    For each ρ and seed, :func:`~softmax_bottleneck.data.load_long_tailed_digits` draws the
    split (``rng=seed``), the method resamples the training set (``random_state=seed``), and a
    model built with ``rng=seed`` is trained by :func:`~softmax_bottleneck.train.fit`.

    Parameters
    ----------
    rhos : sequence of float
        Imbalance ratios (each >= 1); sorted on output.
    methods : sequence of {"baseline", "oversample", "undersample", "smote", "class_balanced"}
        Training-set treatments to compare. SMOTE uses ``k_neighbors=min(5, n_min - 1)`` and
        falls back to over-sampling for a class of a single image; "class_balanced" keeps the
        data and draws class-balanced batches (``fit(..., sampling="class_balanced")``), so it
        takes as many gradient steps as the baseline.
    profile : {"exp", "step"}, default "exp"
        Long-tail profile.
    model : {"softmax", "mlp", "cnn"}, default "mlp"
        Which :func:`~softmax_bottleneck.models.build_model` to train.
    seeds : sequence of int, default (0, 1, 2)
        One run per seed.
    epochs : int, default 30
        Training epochs per run.
    lr : float, default 0.05
        SGD learning rate.

    Returns
    -------
    ImbalanceSweep

    Raises
    ------
    TypeError
        If `rhos` or `seeds` are not sequences of numbers.
    ValueError
        If a ratio is < 1, a list is empty, or a method, profile or model is unknown.

    Notes
    -----
    Runs take a fraction of a second each on one core; a sweep of 7 ratios × 2 methods × 3 seeds
    takes seconds. Book: chapter 3.

    Examples
    --------
    >>> sweep = imbalance_sweep([1, 20], methods=["baseline"], seeds=[0], epochs=2)
    >>> sweep.counts[:, -1].tolist(), sweep.recall["baseline"].shape
    ([130, 6], (2, 1, 10))
    """
    from . import data, models, resampling, train
    from .metrics import per_class_recall

    rho_list = sorted(float(r) for r in _check_number_list(rhos, "rhos", minimum=1))
    seed_list = _check_number_list(seeds, "seeds", minimum=0)
    if not all(isinstance(s, numbers.Integral) for s in seed_list):
        raise TypeError(f"Expected `seeds` to hold integers, got {seeds!r}")
    seed_list = [int(s) for s in seed_list]
    method_list = list(methods)
    if not method_list:
        raise ValueError("Expected `methods` to name at least one method, got none")
    for m in method_list:
        check_choice(m, "methods", METHODS)
    check_choice(profile, "profile", data.PROFILES)
    check_choice(model, "model", models.MODELS)

    counts = np.stack(
        [data.long_tailed_counts(130, 10, imbalance_ratio=r, profile=profile) for r in rho_list]
    )
    recall = {m: np.zeros((len(rho_list), len(seed_list), 10)) for m in method_list}
    for i, rho in enumerate(rho_list):
        for j, seed in enumerate(seed_list):
            d = data.load_long_tailed_digits(imbalance_ratio=rho, profile=profile, rng=seed)
            for m in method_list:
                X, y = d.X_train, d.y_train
                sampling = "class_balanced" if m == "class_balanced" else "shuffle"
                if m == "oversample" or (m == "smote" and d.class_counts.min() < 2):
                    X, y = resampling.RandomOverSampler(random_state=seed).fit_resample(X, y)
                elif m == "undersample":
                    X, y = resampling.RandomUnderSampler(random_state=seed).fit_resample(X, y)
                elif m == "smote":
                    k = int(min(5, d.class_counts.min() - 1))
                    X, y = resampling.SMOTE(k_neighbors=k, random_state=seed).fit_resample(X, y)
                net = models.build_model(model, n_features=64, n_classes=10, rng=seed)
                train.fit(net, X, y, epochs=epochs, lr=lr, rng=seed, sampling=sampling)
                pred = train.predict_logits(net, d.X_test).argmax(axis=1)
                recall[m][i, j] = per_class_recall(d.y_test, pred, n_classes=10)
    return ImbalanceSweep(rhos=np.array(rho_list), counts=counts, recall=recall, profile=profile)


def _index_of(sweep: ImbalanceSweep, rho: Any) -> int:
    if not isinstance(sweep, ImbalanceSweep):
        raise TypeError(f"Expected `sweep` to be an ImbalanceSweep, got {type(sweep).__name__}")
    if isinstance(rho, bool) or not isinstance(rho, numbers.Real):
        raise TypeError(f"Expected `rho` to be a number, got {rho!r}")
    hits = np.flatnonzero(np.isclose(sweep.rhos, float(rho)))
    if hits.size == 0:
        raise ValueError(
            f"Expected `rho` to be one of the sweep's ratios {sweep.rhos.tolist()}, got {rho!r}"
        )
    return int(hits[0])


_COLOURS = ("blue", "orange", "green", "vermillion", "purple")


def _check_methods(sweep: ImbalanceSweep, methods: Sequence[str] | None) -> list[str]:
    if methods is None:
        return list(sweep.methods)
    chosen = list(methods)
    if not chosen:
        raise ValueError("Expected `methods` to name at least one method, got none")
    for m in chosen:
        check_choice(m, "methods", sweep.methods)
    return chosen


def imbalance_figure(
    sweep: ImbalanceSweep, /, *, rho: float, methods: Sequence[str] | None = None
) -> Any:
    """Per-class training counts and per-class test recall at one ratio of a sweep.

    Parameters
    ----------
    sweep : ImbalanceSweep
        From :func:`imbalance_sweep`.
    rho : float
        One of ``sweep.rhos``.
    methods : sequence of str, optional
        The sweep's methods to draw (default: all of them).

    Returns
    -------
    matplotlib.figure.Figure
        Left: training images per digit (log scale). Right: recall per digit, mean over seeds
        with the spread (min to max) as error bars, one bar colour per method; the legend gives
        each method's balanced accuracy as the chapter's table prints it.

    Raises
    ------
    TypeError
        If `sweep` is not an :class:`ImbalanceSweep` or `rho` not a number.
    ValueError
        If `rho` is not in the sweep or a method is not.

    Examples
    --------
    >>> sweep = imbalance_sweep([1, 10], methods=["baseline"], seeds=[0], epochs=1, model="softmax")
    >>> fig = imbalance_figure(sweep, rho=10)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['training images (log scale)', 'test recall']
    """
    from .plotting import PALETTE, new_figure

    i = _index_of(sweep, rho)
    chosen = _check_methods(sweep, methods)
    fig, (ax1, ax2) = new_figure(ncols=2, figsize=(8.5, 3.4))
    classes = np.arange(sweep.counts.shape[1])
    ax1.bar(classes, sweep.counts[i], color=PALETTE["sky"])
    ax1.set_yscale("log")
    ax1.set_ylim(0.8, sweep.counts.max() * 1.5)
    ax1.set_xticks(classes)
    ax1.set_xlabel("digit")
    ax1.set_ylabel("training images (log scale)")
    ax1.set_title(f"ρ = {sweep.rhos[i]:g} ({sweep.profile} profile)")
    width = 0.8 / len(chosen)
    for k, m in enumerate(chosen):
        r = sweep.recall[m][i]  # (S, K)
        mean = r.mean(axis=0)
        err = np.stack([mean - r.min(axis=0), r.max(axis=0) - mean])
        bacc = sweep.balanced_accuracy(m)[i].mean()
        ax2.bar(
            classes - 0.4 + width * (k + 0.5),
            mean,
            width,
            yerr=err,
            capsize=2,
            color=PALETTE[_COLOURS[sweep.methods.index(m) % len(_COLOURS)]],
            label=f"{METHOD_LABELS[m]} (bal. acc. {format_fixed(bacc, 3)})",
        )
    ax2.set_ylim(0, 1.05)
    ax2.set_xticks(classes)
    ax2.set_xlabel("digit")
    ax2.set_ylabel("test recall")
    ax2.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=9, ncol=2)
    return fig


def imbalance_widget(sweep: ImbalanceSweep, /, *, start: float | None = None) -> Any:
    """A slider over the sweep's ratios and a method choice that redraw :func:`imbalance_figure`.

    For Jupyter and Colab. Stored in a notebook, its plain-text form says that it needs a
    running kernel.

    Parameters
    ----------
    sweep : ImbalanceSweep
        From :func:`imbalance_sweep`.
    start : float, optional
        The ratio shown first; by default the largest, as :func:`imbalance_explorer_html`.

    Returns
    -------
    ipywidgets.VBox
        ``.children`` are a ``SelectionSlider`` over ρ, a ``ToggleButtons`` choosing all
        methods or one, and the ``Image`` they redraw.

    Raises
    ------
    TypeError
        If `sweep` is not an :class:`ImbalanceSweep`.
    ValueError
        If `start` is not in the sweep.

    Examples
    --------
    >>> sweep = imbalance_sweep([1, 10], methods=["baseline"], seeds=[0], epochs=1, model="softmax")
    >>> slider, method, image = imbalance_widget(sweep).children
    >>> slider.value
    10.0
    >>> before = image.value
    >>> slider.value = 1.0
    >>> image.value != before
    True
    """
    import ipywidgets as widgets

    from .explore import _WIDGET_NOTE, _figure_png, _note_box

    if not isinstance(sweep, ImbalanceSweep):
        raise TypeError(f"Expected `sweep` to be an ImbalanceSweep, got {type(sweep).__name__}")
    i0 = len(sweep.rhos) - 1 if start is None else _index_of(sweep, start)
    options = [(f"{r:g}", float(r)) for r in sweep.rhos]
    slider = widgets.SelectionSlider(
        options=options, value=float(sweep.rhos[i0]), description="ρ", continuous_update=False
    )
    choices = [("all methods", "")] if len(sweep.methods) > 1 else []
    choices += [(METHOD_LABELS[m], m) for m in sweep.methods]
    method = widgets.ToggleButtons(options=choices, value=choices[0][1], description="method")
    image = widgets.Image(format="png")

    def redraw(change: Any = None) -> None:
        chosen = [method.value] if method.value else None
        image.value = _figure_png(imbalance_figure(sweep, rho=slider.value, methods=chosen))

    redraw()
    slider.observe(redraw, names="value")
    method.observe(redraw, names="value")
    return _note_box([slider, method, image], _WIDGET_NOTE.format(what="Imbalance explorer"))


class ImbalanceExplorerHTML(ExplorerHTML):
    """An HTML/JavaScript imbalance explorer that needs no kernel (``_repr_html_``)."""

    slider = "slider for the imbalance ratio"


# Every number the imbalance explorer shows is formatted in Python (as the chapter's tables
# format it) and stored in the page; the script only looks values up.
_SCRIPT = """
(function () {
  var root = document.getElementById(%(id)s);
  if (!root) { return; }
  var d = JSON.parse(root.getAttribute("data-sweep"));
  var slider = root.querySelector("input[type=range]");
  var note = root.querySelector(".sb-needs-js");
  if (note) { note.parentNode.removeChild(note); }
  function update() {
    var i = parseInt(slider.value, 10);
    root.querySelector(".sb-rho").textContent = d.rhos[i];
    slider.setAttribute("aria-valuetext", "imbalance ratio " + d.rhos[i]);
    root.querySelectorAll(".sb-count").forEach(function (el, c) {
      el.style.width = d.countWidth[i][c] + "%%";
    });
    root.querySelectorAll(".sb-count-label").forEach(function (el, c) {
      el.textContent = d.counts[i][c];
    });
    d.methods.forEach(function (m, k) {
      root.querySelectorAll(".sb-recall-" + k).forEach(function (el, c) {
        el.style.width = d.recallWidth[k][i][c] + "%%";
      });
      root.querySelectorAll(".sb-recall-value-" + k).forEach(function (el, c) {
        el.textContent = d.recall[k][i][c];
      });
      root.querySelector(".sb-bacc-" + k).textContent = d.bacc[k][i];
    });
  }
  slider.addEventListener("input", update);
  update();
})();
"""


def imbalance_explorer_html(
    sweep: ImbalanceSweep, /, *, element_id: str = "sb-imbalance", start: float | None = None
) -> ImbalanceExplorerHTML:
    """A self-contained HTML slider over the sweep's ratios, drawn in the reader's browser.

    One row per digit: its training images (a number, and a bar on a log scale) and, for each
    method, its mean test recall as a bar with the value written beside it (readable without
    hovering, on a phone too); below, each method's balanced accuracy. Every number is
    formatted in Python with three decimals, as the chapter's tables print them (the balanced
    accuracy is the mean over seeds of each seed's balanced accuracy, as there). The results
    are embedded as JSON; the script loads nothing from the network, takes its colours from
    the page's theme (light or dark), and without JavaScript the page still shows the starting
    ratio with a line saying why the slider does not move.

    Parameters
    ----------
    sweep : ImbalanceSweep
        From :func:`imbalance_sweep`.
    element_id : str, default "sb-imbalance"
        HTML id of the explorer (letters, digits, '-' and '_'); unique per page.
    start : float, optional
        The ratio shown first; by default the largest.

    Returns
    -------
    ImbalanceExplorerHTML

    Raises
    ------
    TypeError
        If `sweep` is not an :class:`ImbalanceSweep`.
    ValueError
        If `element_id` has other characters or `start` is not in the sweep.

    Examples
    --------
    >>> sweep = imbalance_sweep([1, 10], methods=["baseline"], seeds=[0], epochs=1, model="softmax")
    >>> page = imbalance_explorer_html(sweep, element_id="demo")
    >>> 'id="demo"' in page.html and "<script>" in page.html
    True
    """
    from .explore import _STYLE, _check_element_id, _data_attr, _needs_js
    from .plotting import PALETTE

    if not isinstance(sweep, ImbalanceSweep):
        raise TypeError(f"Expected `sweep` to be an ImbalanceSweep, got {type(sweep).__name__}")
    _check_element_id(element_id)
    i0 = len(sweep.rhos) - 1 if start is None else _index_of(sweep, start)
    means = [sweep.recall[m].mean(axis=1) for m in sweep.methods]  # (R, K) each
    baccs = [sweep.balanced_accuracy(m).mean(axis=1) for m in sweep.methods]  # (R,) each
    max_log = np.log(sweep.counts.max() + 1)
    count_width = [[f"{100 * np.log(c + 1) / max_log:.1f}" for c in row] for row in sweep.counts]
    payload = {
        "rhos": [f"{r:g}" for r in sweep.rhos],
        "counts": sweep.counts.tolist(),
        "countWidth": count_width,
        "methods": [METHOD_LABELS[m] for m in sweep.methods],
        "recall": [[[format_fixed(v, 3) for v in row] for row in r] for r in means],
        "recallWidth": [[[f"{100 * v:.1f}" for v in row] for row in r] for r in means],
        "bacc": [[format_fixed(v, 3) for v in b] for b in baccs],
    }
    K = sweep.counts.shape[1]
    colours = [PALETTE[_COLOURS[k % len(_COLOURS)]] for k in range(len(means))]

    def row(c: int) -> str:
        recall = "".join(
            '<div style="display:flex;align-items:center;gap:0.4em">'
            f'<span class="sb-track"><span class="sb-recall-{k} sb-fill" style="width:'
            f'{payload["recallWidth"][k][i0][c]}%;background:{colours[k]}"></span></span>'
            f'<span class="sb-num sb-recall-value-{k}">{payload["recall"][k][i0][c]}</span></div>'
            for k in range(len(means))
        )
        return (
            f'<div class="sb-num" style="text-align:center">{c}</div>'
            '<div style="display:flex;align-items:center;gap:0.3em">'
            f'<span class="sb-num sb-count-label" style="min-width:2.2em;text-align:right">'
            f"{sweep.counts[i0, c]}</span>"
            '<span class="sb-track" style="height:0.6em">'
            f'<span class="sb-count sb-fill" style="width:{count_width[i0][c]}%;'
            f'background:{PALETTE["sky"]}"></span></span></div>'
            f'<div style="display:grid;gap:1px">{recall}</div>'
        )

    legend = "".join(
        f'<p><span style="color:{colours[k]}" aria-hidden="true">■</span> '
        f'{html.escape(METHOD_LABELS[m])}: balanced accuracy <b class="sb-num sb-bacc-{k}">'
        f"{payload['bacc'][k][i0]}</b></p>"
        for k, m in enumerate(sweep.methods)
    )
    n_seeds = sweep.recall[sweep.methods[0]].shape[1]
    grid = (
        "display:grid;grid-template-columns:auto minmax(5.5em,1fr) minmax(9em,2.2fr);"
        "gap:4px 0.6em;align-items:center;margin-top:0.4em"
    )
    markup = (
        _STYLE
        + f'<div class="sb-explorer" id="{element_id}" data-sweep="{_data_attr(payload)}">'
        f'<label for="{element_id}-slider">Imbalance ratio ρ = '
        f'<b class="sb-rho">{sweep.rhos[i0]:g}</b></label>'
        f'<input id="{element_id}-slider" type="range" min="0" max="{len(sweep.rhos) - 1}" '
        f'step="1" value="{i0}" aria-valuetext="imbalance ratio {sweep.rhos[i0]:g}">'
        f'<div style="{grid}">'
        '<div class="sb-muted">digit</div><div class="sb-muted">training images '
        "(bar: log scale)</div>"
        f'<div class="sb-muted">test recall, mean of {n_seeds} seeds</div>'
        + "".join(row(c) for c in range(K))
        + "</div>"
        + legend
        + _needs_js(f"ρ = {sweep.rhos[i0]:g}")
        + "</div>"
        f"<script>{_SCRIPT % {'id': json.dumps(element_id)}}</script>"
    )
    return ImbalanceExplorerHTML(markup)


# ---------------------------------------------------------------------------------------------
# Logit adjustment (chapter 4): tau moves the decision and the calibration of one fixed model.

#: The slider's stops for τ: 0 to 2 in steps of 0.1, each the double its literal names.
TAUS: tuple[float, ...] = tuple(round(0.1 * k, 1) for k in range(21))


def _check_la_inputs(logits: Any, y_true: Any, prior: Any) -> tuple[np.ndarray, ...]:
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y_true)
    p = np.asarray(prior, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] < 2 or not np.all(np.isfinite(z)):
        raise ValueError(
            f"Expected `logits` to be finite, of shape (n, n_classes) with n_classes >= 2, "
            f"got shape {z.shape}"
        )
    if y.shape != (z.shape[0],) or y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= z.shape[1]:
        raise ValueError(f"Expected `y_true` to be {z.shape[0]} integer labels in [0, {z.shape[1] - 1}]")
    if p.shape != (z.shape[1],) or not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise ValueError(f"Expected `prior` to be {z.shape[1]} positive class frequencies")
    return z, y, p


def _check_tau(tau: Any) -> float:
    if isinstance(tau, bool) or not isinstance(tau, numbers.Real) or not np.isfinite(float(tau)):
        raise ValueError(f"Expected `tau` to be a finite number, got {tau!r}")
    return float(tau)


def logit_adjustment_scores(
    logits: Any, y_true: Any, prior: Any, /, *, tau: float, n_bins: int = 15
) -> dict[str, Any]:
    r"""Scores of post-hoc logit adjustment: predict from :math:`z_c - \tau \log \pi_c`.

    The adjusted logits go through a softmax; the prediction is its arg-max (the first on a
    tie), scored with :func:`~softmax_bottleneck.metrics.per_class_recall` and
    :func:`~softmax_bottleneck.calibration.expected_calibration_error`.

    Parameters
    ----------
    logits : array_like, shape (n, K)
        One model's held-out logits.
    y_true : array_like of int, shape (n,)
        The true labels.
    prior : array_like, shape (K,)
        The training class frequencies :math:`\pi_c` (positive; they need not sum to 1, only
        their logarithms' differences matter to the prediction).
    tau : float
        The adjustment strength; 0 leaves the logits alone, 1 is the Bayes-optimal correction
        for a balanced test set when the model's posteriors are right.
    n_bins : int, default 15
        Equal-width confidence bins of the calibration error.

    Returns
    -------
    dict
        ``recall`` (ndarray, shape (K,)), ``balanced_accuracy`` (their mean),
        ``long_tailed_accuracy`` (recall weighted by the normalised prior) and ``ece``.

    Raises
    ------
    ValueError
        If the shapes do not agree, a label is out of range, a frequency is not positive or
        `tau` is not finite.

    Examples
    --------
    >>> z = [[2.0, 1.5], [0.2, 0.0], [0.0, 1.0]]
    >>> s0 = logit_adjustment_scores(z, [1, 1, 1], [0.9, 0.1], tau=0)
    >>> s1 = logit_adjustment_scores(z, [1, 1, 1], [0.9, 0.1], tau=1)
    >>> round(s0["balanced_accuracy"], 4), round(s1["balanced_accuracy"], 4)
    (0.1667, 0.5)
    """
    from .calibration import expected_calibration_error
    from .metrics import per_class_recall
    from .softmax import softmax

    z, y, p = _check_la_inputs(logits, y_true, prior)
    t = _check_tau(tau)
    probs = softmax(z - t * np.log(p))
    pred = probs.argmax(axis=1)
    recall = per_class_recall(y, pred, n_classes=z.shape[1])
    return {
        "recall": recall,
        "balanced_accuracy": float(recall.mean()),
        "long_tailed_accuracy": float((p / p.sum()) @ recall),
        "ece": expected_calibration_error(probs, y, n_bins=n_bins),
    }


def logit_adjustment_figure(logits: Any, y_true: Any, prior: Any, /, *, tau: float) -> Any:
    """Per-class recall at `tau` (bars, values written on them) against τ = 0 (outlines).

    Parameters
    ----------
    logits, y_true, prior
        As :func:`logit_adjustment_scores`.
    tau : float
        The adjustment strength shown.

    Returns
    -------
    matplotlib.figure.Figure
        Its title gives τ (as the slider's readout writes it), the balanced accuracy, the
        long-tailed accuracy and the ECE, each with three decimals as the chapter prints them.

    Examples
    --------
    >>> fig = logit_adjustment_figure([[2.0, 1.5], [0.0, 1.0]], [1, 1], [0.9, 0.1], tau=1)
    >>> fig.axes[0].get_ylabel()
    'test recall'
    """
    from .plotting import PALETTE, new_figure

    s = logit_adjustment_scores(logits, y_true, prior, tau=tau)
    s0 = logit_adjustment_scores(logits, y_true, prior, tau=0.0)
    fig, ax = new_figure(figsize=(7.5, 3.4))
    classes = np.arange(len(s["recall"]))
    bars = ax.bar(classes, s["recall"], 0.7, color=PALETTE["blue"], label=f"τ = {tau:g}")
    ax.bar(classes, s0["recall"], 0.7, fill=False, edgecolor=PALETTE["black"], label="τ = 0")
    ax.bar_label(bars, labels=[format_fixed(v, 2) for v in s["recall"]], fontsize=8, padding=2)
    ax.set_ylim(0, 1.12)
    ax.set_xticks(classes)
    ax.set_xlabel("class (digit), most frequent first")
    ax.set_ylabel("test recall")
    ax.set_title(
        f"τ = {tau:g}: balanced acc. {format_fixed(s['balanced_accuracy'], 3)}, "
        f"long-tailed acc. {format_fixed(s['long_tailed_accuracy'], 3)}, "
        f"ECE {format_fixed(s['ece'], 3)}",
        fontsize=10,
    )
    ax.legend(loc="lower left", fontsize=8)
    return fig


def logit_adjustment_widget(
    logits: Any, y_true: Any, prior: Any, /, *, taus: Sequence[float] = TAUS, start: float = 1.0
) -> Any:
    """A slider over τ that redraws :func:`logit_adjustment_figure` (Jupyter, Colab).

    Parameters
    ----------
    logits, y_true, prior
        As :func:`logit_adjustment_scores`.
    taus : sequence of float, default TAUS
        The slider's stops.
    start : float, default 1.0
        The τ shown first, one of `taus` (the page explorer's default too).

    Returns
    -------
    ipywidgets.VBox
        ``.children`` are the ``SelectionSlider`` over τ and the ``Image`` it redraws. Stored
        in a notebook, its plain-text form says that it needs a running kernel.

    Examples
    --------
    >>> slider, image = logit_adjustment_widget([[2.0, 1.5], [0.0, 1.0]], [1, 1], [0.9, 0.1]).children
    >>> before = image.value
    >>> slider.value = 0.0
    >>> image.value != before
    True
    """
    import ipywidgets as widgets

    from .explore import _WIDGET_NOTE, _figure_png, _note_box

    z, y, p = _check_la_inputs(logits, y_true, prior)
    stops = [_check_tau(t) for t in taus]
    if _check_tau(start) not in stops:
        raise ValueError(f"Expected `start` to be one of `taus`, got {start!r}")
    slider = widgets.SelectionSlider(
        options=[(f"{t:g}", t) for t in stops], value=float(start), description="τ",
        continuous_update=False,
    )
    image = widgets.Image(format="png")

    def redraw(change: Any = None) -> None:
        image.value = _figure_png(logit_adjustment_figure(z, y, p, tau=slider.value))

    redraw()
    slider.observe(redraw, names="value")
    return _note_box([slider, image], _WIDGET_NOTE.format(what="Logit-adjustment explorer"))


class LogitAdjustmentExplorerHTML(ExplorerHTML):
    """An HTML/JavaScript logit-adjustment explorer that needs no kernel (``_repr_html_``)."""

    slider = "slider for tau"


#: The arithmetic of the logit-adjustment explorer: a pure function of the stored data and τ,
#: the JavaScript twin of :func:`logit_adjustment_scores` (the tests run both). The last sum of
#: the calibration error follows NumPy's pairwise order so that the two agree to the last bit.
_JS_LOGIT_ADJUSTMENT = """
function sbNumpySum(a) {
  var n = a.length, i, res;
  if (n < 8) { res = 0; for (i = 0; i < n; i++) { res += a[i]; } return res; }
  if (n > 128) { var h = Math.floor(n / 2); h -= h %% 8;
    return sbNumpySum(a.slice(0, h)) + sbNumpySum(a.slice(h)); }
  var r = a.slice(0, 8);
  for (i = 8; i < n - (n %% 8); i += 8) {
    for (var j = 0; j < 8; j++) { r[j] += a[i + j]; }
  }
  res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  for (; i < n; i++) { res += a[i]; }
  return res;
}
function sbLogitAdjustment(d, tau) {
  var K = d.logPrior.length, n = d.labels.length, nBins = d.nBins;
  var hits = [], total = [], c, b;
  for (c = 0; c < K; c++) { hits.push(0); total.push(0); }
  var counts = [], confSum = [], accSum = [], edges = [];
  for (b = 0; b < nBins; b++) { counts.push(0); confSum.push(0); accSum.push(0); }
  for (b = 0; b <= nBins; b++) { edges.push(b / nBins); }
  for (var i = 0; i < n; i++) {
    var row = d.logits[i], a = [], m = -Infinity;
    for (c = 0; c < K; c++) { a.push(row[c] - tau * d.logPrior[c]); if (a[c] > m) { m = a[c]; } }
    var e = a.map(function (v) { return Math.exp(v - m); }), s = sbNumpySum(e);
    var best = 0, conf = -1;
    for (c = 0; c < K; c++) { var p = e[c] / s; if (p > conf) { conf = p; best = c; } }
    var y = d.labels[i], right = best === y ? 1 : 0;
    total[y] += 1; hits[y] += right;
    var k = 0;
    while (k + 1 <= nBins && edges[k + 1] <= conf) { k++; }
    if (k > nBins - 1) { k = nBins - 1; }
    counts[k] += 1; confSum[k] += conf; accSum[k] += right;
  }
  var recall = hits.map(function (h, c) { return total[c] ? h / total[c] : 0; });
  var gaps = accSum.map(function (v, b) { return Math.abs(v - confSum[b]); });
  var lt = 0;
  recall.forEach(function (r, c) { lt += d.weights[c] * r; });
  return {recall: recall, bacc: sbNumpySum(recall) / K, lt: lt, ece: sbNumpySum(gaps) / n};
}
"""

_LA_SCRIPT = """
(function () {
  var root = document.getElementById(%(id)s);
  if (!root) { return; }
%(format)s%(core)s
  var d = JSON.parse(root.getAttribute("data-logits"));
  var slider = root.querySelector("input[type=range]");
  var note = root.querySelector(".sb-needs-js");
  if (note) { note.parentNode.removeChild(note); }
  function update() {
    var label = d.taus[parseInt(slider.value, 10)];
    var st = sbLogitAdjustment(d, parseFloat(label));
    root.querySelector(".sb-tau").textContent = label;
    slider.setAttribute("aria-valuetext", "tau " + label);
    root.querySelectorAll(".sb-la-bar").forEach(function (el, c) {
      el.style.width = (100 * st.recall[c]).toFixed(1) + "%%";
    });
    root.querySelectorAll(".sb-la-recall").forEach(function (el, c) {
      el.textContent = sbFormat(st.recall[c], 3);
    });
    root.querySelector(".sb-la-bacc").textContent = sbFormat(st.bacc, 3);
    root.querySelector(".sb-la-lt").textContent = sbFormat(st.lt, 3);
    root.querySelector(".sb-la-ece").textContent = sbFormat(st.ece, 3);
  }
  slider.addEventListener("input", update);
  update();
})();
"""


def logit_adjustment_explorer_html(
    logits: Any,
    y_true: Any,
    prior: Any,
    /,
    *,
    taus: Sequence[float] = TAUS,
    start: float = 1.0,
    decimals: int = 3,
    n_bins: int = 15,
    class_names: Sequence[str] | None = None,
    element_id: str = "sb-logit-adjustment",
) -> LogitAdjustmentExplorerHTML:
    """A self-contained HTML slider over τ that rescores one model's logits in the browser.

    The page stores the logits (rounded to `decimals` decimals: the explorer works on these,
    and so should any table it is compared with), the labels and :math:`\\log \\pi_c`; its
    script subtracts ``tau * log(prior)``, applies the softmax and recomputes per-class recall,
    balanced accuracy, long-tailed accuracy and the expected calibration error, all shown with
    three decimals rounded as Python rounds them. Without JavaScript it shows `start`.

    Parameters
    ----------
    logits, y_true, prior
        As :func:`logit_adjustment_scores`.
    taus : sequence of float, default TAUS
        The slider's stops.
    start : float, default 1.0
        The τ shown first, one of `taus`.
    decimals : int, default 3
        Decimals the stored logits keep.
    n_bins : int, default 15
        Bins of the calibration error.
    class_names : sequence of str, optional
        One name per class (default "0", "1", ...).
    element_id : str, default "sb-logit-adjustment"
        HTML id (letters, digits, '-' and '_'); unique per page.

    Returns
    -------
    LogitAdjustmentExplorerHTML

    Raises
    ------
    ValueError
        As :func:`logit_adjustment_scores`, or if `start` is not among `taus` or `element_id`
        has other characters.

    Examples
    --------
    >>> page = logit_adjustment_explorer_html([[2.0, 1.5], [0.0, 1.0]], [1, 1], [0.9, 0.1])
    >>> 'class="sb-la-bacc sb-num">0.500<' in page.html
    True
    """
    from .explore import _JS_FORMAT, _STYLE, _check_element_id, _data_attr, _needs_js
    from .plotting import PALETTE

    z, y, p = _check_la_inputs(logits, y_true, prior)
    _check_element_id(element_id)
    stops = [_check_tau(t) for t in taus]
    if _check_tau(start) not in stops:
        raise ValueError(f"Expected `start` to be one of `taus`, got {start!r}")
    K = z.shape[1]
    names = [str(c) for c in range(K)] if class_names is None else [str(c) for c in class_names]
    if len(names) != K:
        raise ValueError(f"Expected `class_names` to have {K} entries, got {len(names)}")
    # The stored numbers, exactly: each logit is the double nearest its printed decimals, the
    # same double the page's JSON.parse reads back.
    z = np.array([[float(format_fixed(v, int(decimals))) for v in r] for r in z])
    s = logit_adjustment_scores(z, y, p, tau=start, n_bins=n_bins)
    log_prior = np.log(p)
    payload = {
        "taus": [f"{t:g}" for t in stops],
        "logPrior": log_prior.tolist(),
        "weights": (p / p.sum()).tolist(),
        "nBins": int(n_bins),
        "labels": y.astype(int).tolist(),
        "logits": z.tolist(),
    }
    rows = "".join(
        f'<div class="sb-num" style="text-align:center">{html.escape(name)}</div>'
        f'<div class="sb-num" style="text-align:right">{format_fixed(p[c] / p.sum(), 3)}</div>'
        '<div style="display:flex;align-items:center;gap:0.4em"><span class="sb-track">'
        f'<span class="sb-la-bar sb-fill" style="width:{100 * s["recall"][c]:.1f}%;'
        f'background:{PALETTE["blue"]}"></span></span>'
        f'<span class="sb-num sb-la-recall">{format_fixed(s["recall"][c], 3)}</span></div>'
        for c, name in enumerate(names)
    )
    grid = (
        "display:grid;grid-template-columns:auto auto minmax(9em,1fr);gap:4px 0.6em;"
        "align-items:center;margin-top:0.4em"
    )
    i0 = stops.index(float(start))
    script = _LA_SCRIPT % {
        "id": json.dumps(element_id),
        "format": _JS_FORMAT % {},
        "core": _JS_LOGIT_ADJUSTMENT % {},
    }
    markup = (
        _STYLE
        + f'<div class="sb-explorer" id="{element_id}" data-logits="{_data_attr(payload)}">'
        f'<label for="{element_id}-slider">Logit adjustment τ = '
        f'<b class="sb-tau">{payload["taus"][i0]}</b></label>'
        f'<input id="{element_id}-slider" type="range" min="0" max="{len(stops) - 1}" step="1" '
        f'value="{i0}" aria-valuetext="tau {payload["taus"][i0]}">'
        f'<div class="sb-scale sb-muted"><span>{payload["taus"][0]}</span>'
        f"<span>{payload['taus'][-1]}</span></div>"
        f'<div style="{grid}"><div class="sb-muted">class</div>'
        '<div class="sb-muted">π<sub>c</sub></div>'
        f'<div class="sb-muted">test recall ({len(y)} test images)</div>{rows}</div>'
        f'<p>Balanced accuracy <b class="sb-la-bacc sb-num">'
        f"{format_fixed(s['balanced_accuracy'], 3)}</b>, long-tailed accuracy "
        f'<b class="sb-la-lt sb-num">{format_fixed(s["long_tailed_accuracy"], 3)}</b>, '
        f'ECE ({n_bins} bins) <b class="sb-la-ece sb-num">{format_fixed(s["ece"], 3)}</b></p>'
        + _needs_js(f"τ = {payload['taus'][i0]}")
        + "</div>"
        f"<script>{script}</script>"
    )
    return LogitAdjustmentExplorerHTML(markup)
