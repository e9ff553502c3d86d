"""The imbalance explorer: per-class counts and per-class recall as the imbalance ratio moves.

Three layers, as for the temperature explorer (:mod:`softmax_bottleneck.explore`):

* :func:`imbalance_sweep` trains the book's small models on long-tailed digits over a grid of
  imbalance ratios ρ (optionally with a resampling method) and returns plain arrays;
* :func:`imbalance_figure` draws one ρ of a sweep as a matplotlib figure (static on the website);
* :func:`imbalance_widget` (ipywidgets, Jupyter/Colab) and :func:`imbalance_explorer_html`
  (HTML + JavaScript, no kernel, for the website) put a slider over ρ.

Training happens once, in :func:`imbalance_sweep`; moving the slider only looks results up, so
both interactive versions respond at once. Book: chapter 3.
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

__all__ = [
    "METHODS",
    "ImbalanceExplorerHTML",
    "ImbalanceSweep",
    "imbalance_explorer_html",
    "imbalance_figure",
    "imbalance_sweep",
    "imbalance_widget",
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
        if not (np.isfinite(v) and v >= minimum):
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


def imbalance_figure(sweep: ImbalanceSweep, /, *, rho: float) -> Any:
    """Per-class training counts and per-class test recall at one ratio of a sweep.

    Parameters
    ----------
    sweep : ImbalanceSweep
        From :func:`imbalance_sweep`.
    rho : float
        One of ``sweep.rhos``.

    Returns
    -------
    matplotlib.figure.Figure
        Left: training images per digit (log scale). Right: recall per digit, mean over seeds
        with the spread (min to max) as error bars, one bar colour per method.

    Raises
    ------
    TypeError
        If `sweep` is not an :class:`ImbalanceSweep` or `rho` not a number.
    ValueError
        If `rho` is not in the sweep.

    Examples
    --------
    >>> sweep = imbalance_sweep([1, 10], methods=["baseline"], seeds=[0], epochs=1, model="softmax")
    >>> fig = imbalance_figure(sweep, rho=10)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['training images (log scale)', 'test recall']
    """
    from .plotting import PALETTE, new_figure

    i = _index_of(sweep, rho)
    fig, (ax1, ax2) = new_figure(ncols=2, figsize=(8.5, 3.4))
    classes = np.arange(sweep.counts.shape[1])
    ax1.bar(classes, sweep.counts[i], color=PALETTE["sky"])
    ax1.set_yscale("log")
    ax1.set_ylim(0.8, sweep.counts.max() * 1.5)
    ax1.set_xticks(classes)
    ax1.set_xlabel("digit")
    ax1.set_ylabel("training images (log scale)")
    ax1.set_title(f"ρ = {sweep.rhos[i]:g} ({sweep.profile} profile)")
    width = 0.8 / len(sweep.methods)
    for k, m in enumerate(sweep.methods):
        r = sweep.recall[m][i]  # (S, K)
        mean = r.mean(axis=0)
        err = np.stack([mean - r.min(axis=0), r.max(axis=0) - mean])
        ax2.bar(
            classes - 0.4 + width * (k + 0.5),
            mean,
            width,
            yerr=err,
            capsize=2,
            color=PALETTE[_COLOURS[k % len(_COLOURS)]],
            label=f"{METHOD_LABELS[m]} (bal. acc. {r.mean():.3f})",
        )
    ax2.set_ylim(0, 1.05)
    ax2.set_xticks(classes)
    ax2.set_xlabel("digit")
    ax2.set_ylabel("test recall")
    ax2.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=9, ncol=2)
    return fig


def imbalance_widget(sweep: ImbalanceSweep, /) -> Any:
    """A slider over the sweep's ratios that redraws :func:`imbalance_figure` (Jupyter, Colab).

    Parameters
    ----------
    sweep : ImbalanceSweep
        From :func:`imbalance_sweep`.

    Returns
    -------
    ipywidgets.VBox
        ``.children[0]`` is a ``SelectionSlider`` over ρ, ``.children[1]`` the ``Image``.

    Raises
    ------
    TypeError
        If `sweep` is not an :class:`ImbalanceSweep`.

    Examples
    --------
    >>> sweep = imbalance_sweep([1, 10], methods=["baseline"], seeds=[0], epochs=1, model="softmax")
    >>> slider, image = imbalance_widget(sweep).children
    >>> before = image.value
    >>> slider.value = 10.0
    >>> image.value != before
    True
    """
    import ipywidgets as widgets

    from .explore import _figure_png

    if not isinstance(sweep, ImbalanceSweep):
        raise TypeError(f"Expected `sweep` to be an ImbalanceSweep, got {type(sweep).__name__}")
    options = [(f"{r:g}", float(r)) for r in sweep.rhos]
    slider = widgets.SelectionSlider(
        options=options, value=float(sweep.rhos[0]), description="ρ", continuous_update=False
    )
    image = widgets.Image(format="png")

    def redraw(change: Any = None) -> None:
        image.value = _figure_png(imbalance_figure(sweep, rho=slider.value))

    redraw()
    slider.observe(redraw, names="value")
    return widgets.VBox([slider, image])


class ImbalanceExplorerHTML:
    """An HTML/JavaScript imbalance explorer that needs no kernel (``_repr_html_``)."""

    def __init__(self, markup: str) -> None:
        self.html = markup

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return "ImbalanceExplorerHTML(<slider for the imbalance ratio; open in a browser>)"


_SCRIPT = """
(function () {
  var root = document.getElementById(%(id)s);
  if (!root) { return; }
  var d = JSON.parse(root.getAttribute("data-sweep"));
  var slider = root.querySelector("input[type=range]");
  function update() {
    var i = parseInt(slider.value, 10);
    root.querySelector(".sb-rho").textContent = d.rhos[i];
    slider.setAttribute("aria-valuetext", "imbalance ratio " + d.rhos[i]);
    var maxLog = Math.log(d.maxCount + 1);
    root.querySelectorAll(".sb-count").forEach(function (el, c) {
      el.style.height = (100 * Math.log(d.counts[i][c] + 1) / maxLog).toFixed(1) + "%%";
      el.title = d.counts[i][c] + " training images";
    });
    root.querySelectorAll(".sb-count-label").forEach(function (el, c) {
      el.textContent = d.counts[i][c];
    });
    d.methods.forEach(function (m, k) {
      root.querySelectorAll(".sb-recall-" + k).forEach(function (el, c) {
        el.style.height = (100 * d.recall[k][i][c]).toFixed(1) + "%%";
        el.title = m + ": recall " + d.recall[k][i][c].toFixed(2);
      });
      root.querySelector(".sb-bacc-" + k).textContent = d.bacc[k][i].toFixed(3);
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

    Two bar charts: training images per digit (log height) and mean test recall per digit for
    each method, with each method's balanced accuracy. The results are embedded as JSON; the
    script loads nothing from the network, and without JavaScript the page still shows the
    starting ratio.

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
    from .plotting import PALETTE

    if not isinstance(sweep, ImbalanceSweep):
        raise TypeError(f"Expected `sweep` to be an ImbalanceSweep, got {type(sweep).__name__}")
    if not element_id or not all(c.isalnum() or c in "-_" for c in element_id):
        raise ValueError(
            f"Expected `element_id` to use letters, digits, '-' and '_' only, got {element_id!r}"
        )
    i0 = len(sweep.rhos) - 1 if start is None else _index_of(sweep, start)
    means = [sweep.recall[m].mean(axis=1) for m in sweep.methods]  # (R, K) each
    payload = {
        "rhos": [f"{r:g}" for r in sweep.rhos],
        "counts": sweep.counts.tolist(),
        "maxCount": int(sweep.counts.max()),
        "methods": [METHOD_LABELS[m] for m in sweep.methods],
        "recall": [np.round(r, 4).tolist() for r in means],
        "bacc": [np.round(r.mean(axis=1), 4).tolist() for r in means],
    }
    K = sweep.counts.shape[1]
    max_log = np.log(sweep.counts.max() + 1)

    def column(c: int) -> str:
        h = 100 * np.log(sweep.counts[i0, c] + 1) / max_log
        return (
            '<div style="flex:1;display:flex;flex-direction:column;align-items:center">'
            '<div style="height:90px;width:70%;display:flex;align-items:flex-end">'
            f'<div class="sb-count" style="width:100%;height:{h:.1f}%;'
            f'background:{PALETTE["sky"]}"></div></div>'
            f'<small class="sb-count-label">{sweep.counts[i0, c]}</small>'
            f"<small>{c}</small></div>"
        )

    def recall_column(c: int) -> str:
        bars = "".join(
            f'<div class="sb-recall-{k}" style="flex:1;height:{100 * means[k][i0, c]:.1f}%;'
            f'background:{PALETTE[_COLOURS[k % len(_COLOURS)]]}"></div>'
            for k in range(len(means))
        )
        return (
            '<div style="flex:1;display:flex;flex-direction:column;align-items:center">'
            '<div style="height:90px;width:80%;display:flex;align-items:flex-end;gap:1px">'
            f"{bars}</div><small>{c}</small></div>"
        )

    legend = " ".join(
        f'<span style="color:{PALETTE[_COLOURS[k % len(_COLOURS)]]}">■</span> '
        f'{html.escape(METHOD_LABELS[m])}: balanced accuracy <b class="sb-bacc-{k}">'
        f"{means[k][i0].mean():.3f}</b>"
        for k, m in enumerate(sweep.methods)
    )
    data_json = html.escape(json.dumps(payload), quote=True)
    box = "display:flex;gap:2px;border-bottom:1px solid #999;padding-top:4px"
    markup = (
        f'<div class="sb-explorer" id="{element_id}" data-sweep="{data_json}" '
        'style="max-width:40em;border:1px solid #ccc;border-radius:6px;padding:0.8em">'
        f'<label for="{element_id}-slider">Imbalance ratio ρ = '
        f'<b class="sb-rho">{sweep.rhos[i0]:g}</b></label>'
        f'<input id="{element_id}-slider" type="range" min="0" max="{len(sweep.rhos) - 1}" '
        f'step="1" value="{i0}" style="width:100%" '
        f'aria-valuetext="imbalance ratio {sweep.rhos[i0]:g}">'
        '<p style="margin:0.3em 0 0">Training images per digit (bar height on a log scale)</p>'
        f'<div style="{box}">' + "".join(column(c) for c in range(K)) + "</div>"
        '<p style="margin:0.5em 0 0">Test recall per digit (0 to 1), mean over '
        f"{sweep.recall[sweep.methods[0]].shape[1]} seeds</p>"
        f'<div style="{box}">' + "".join(recall_column(c) for c in range(K)) + "</div>"
        f'<p style="margin:0.4em 0 0">{legend}</p></div>'
        f"<script>{_SCRIPT % {'id': json.dumps(element_id)}}</script>"
    )
    return ImbalanceExplorerHTML(markup)
