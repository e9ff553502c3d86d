"""Explorers: figure functions, their ipywidgets wrappers, and in-browser versions.

Each explorer comes in three layers, so that it says something wherever the book is read:

* a pure function that returns a matplotlib figure (tested; shown statically on the website);
* a thin ipywidgets wrapper for Jupyter and Colab, which redraws that figure from a slider;
* an HTML/JavaScript version that needs no kernel, for the static website.

Book: chapter 1 (temperature).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import as_float_array, check_positive_number
from .plotting import PALETTE, new_figure
from .softmax import softmax

__all__ = [
    "TemperatureExplorerHTML",
    "entropy",
    "temperature_explorer_html",
    "temperature_figure",
    "temperature_widget",
]


def _check_logits_vector(logits: Any) -> np.ndarray:
    z = as_float_array(logits, "logits")
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 1 or z.size < 2:
        raise ValueError(
            f"Expected `logits` to be a 1-d vector of at least 2 logits, got shape {z.shape}"
        )
    if not np.all(np.isfinite(z)):
        raise ValueError("Expected `logits` to be finite numbers, got inf or NaN")
    return z


def _check_labels(labels: Sequence[str] | None, n: int) -> list[str]:
    if labels is None:
        return [f"class {i}" for i in range(n)]
    labels = [str(lab) for lab in labels]
    if len(labels) != n:
        raise ValueError(f"Expected `labels` to have {n} entries (one per logit), got {len(labels)}")
    return labels


def entropy(probs: Any, /) -> float:
    r"""Shannon entropy in nats of one probability vector, :math:`-\sum_i p_i \log p_i`.

    Zero-probability entries contribute 0. The maximum, :math:`\log K`, is reached by the
    uniform distribution.

    Examples
    --------
    >>> from softmax_bottleneck.explore import entropy
    >>> round(entropy([0.5, 0.5]), 6)      # log 2
    0.693147

    Raises
    ------
    ValueError
        If `probs` is not a 1-d vector of non-negative numbers that sum to 1 (within 1e-6).
    """
    p = np.asarray(as_float_array(probs, "probs"), dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"Expected `probs` to be a non-empty 1-d vector, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(
            "Expected `probs` to be non-negative and to sum to 1, "
            f"got min {p.min():.3g} and sum {p.sum():.6g}"
        )
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def temperature_figure(
    logits: Any,
    /,
    *,
    temperatures: Sequence[float] = (0.25, 1.0, 4.0),
    labels: Sequence[str] | None = None,
) -> Any:
    """Bar charts of ``softmax(logits / T)`` for a few temperatures, plus entropy against T.

    Parameters
    ----------
    logits : array_like
        A 1-d vector of at least 2 finite logits.
    temperatures : sequence of float, default (0.25, 1.0, 4.0)
        The temperatures to draw, each positive and finite.
    labels : sequence of str, optional
        One name per class (default "class 0", "class 1", ...).

    Returns
    -------
    matplotlib.figure.Figure
        One bar panel per temperature and a last panel with the entropy (nats) against T
        on a log axis, between the limits 0 (T -> 0, one-hot) and log K (T -> inf, uniform).

    Raises
    ------
    ValueError
        If `logits` is not a finite vector of length >= 2, a temperature is not positive and
        finite, or `labels` has the wrong length.

    Examples
    --------
    >>> from softmax_bottleneck.explore import temperature_figure
    >>> fig = temperature_figure([2.0, 1.0, 0.5])
    >>> len(fig.axes)
    4
    """
    z = _check_logits_vector(logits)
    temps = [check_positive_number(t, "temperatures") for t in temperatures]
    if not temps:
        raise ValueError("Expected `temperatures` to hold at least one temperature, got none")
    names = _check_labels(labels, z.size)
    fig, axes = new_figure(ncols=len(temps) + 1, figsize=(2.3 * (len(temps) + 1) + 0.8, 3.0))
    x = np.arange(z.size)
    for ax, t in zip(axes[:-1], temps, strict=True):
        p = softmax(z, temperature=t)
        ax.bar(x, p, color=PALETTE["blue"])
        ax.set_ylim(0, 1)
        ax.set_xticks(x, names, rotation=45 if z.size > 4 else 0)
        ax.set_title(f"T = {t:g}")
        ax.set_xlabel("class")
    axes[0].set_ylabel("probability")
    grid = np.geomspace(0.05, 50, 200)
    h = [entropy(softmax(z, temperature=t)) for t in grid]
    ax = axes[-1]
    ax.plot(grid, h, color=PALETTE["vermillion"])
    ax.axhline(math.log(z.size), color=PALETTE["black"], linestyle="--", linewidth=1)
    ax.annotate("log K (uniform)", (grid[0], math.log(z.size)), va="bottom", fontsize=9)
    for t in temps:
        ax.plot([t], [entropy(softmax(z, temperature=t))], "o", color=PALETTE["blue"])
    ax.set_xscale("log")
    ax.set_xlabel("temperature T (log scale)")
    ax.set_ylabel("entropy (nats)")
    ax.set_ylim(0, math.log(z.size) * 1.15)
    return fig


def _figure_png(fig: Any) -> bytes:
    """PNG bytes of a figure, without the software/date metadata, so re-runs give equal bytes."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def temperature_widget(logits: Any, /, *, labels: Sequence[str] | None = None) -> Any:
    """A slider for the temperature that redraws :func:`temperature_figure` (Jupyter, Colab).

    The figure is an ``ipywidgets.Image`` updated when the slider moves, so the widget sends no
    display messages of its own and works in any front end that renders core ipywidgets.

    Parameters
    ----------
    logits : array_like
        A 1-d vector of at least 2 finite logits.
    labels : sequence of str, optional
        One name per class.

    Returns
    -------
    ipywidgets.VBox
        Display it (last line of a cell). ``.children[0]`` is the ``FloatLogSlider`` for the
        temperature, ``.children[1]`` the ``Image`` it redraws.

    Raises
    ------
    ValueError
        As :func:`temperature_figure`.

    Examples
    --------
    >>> from softmax_bottleneck.explore import temperature_widget
    >>> box = temperature_widget([2.0, 1.0, 0.5])
    >>> slider, image = box.children
    >>> before = image.value
    >>> slider.value = 4.0
    >>> image.value != before
    True
    """
    import ipywidgets as widgets

    z = _check_logits_vector(logits)
    names = _check_labels(labels, z.size)

    slider = widgets.FloatLogSlider(
        value=1.0, base=10, min=-1.3, max=1.3, step=0.01, description="T", readout_format=".2f",
        continuous_update=False,
    )
    image = widgets.Image(format="png")

    def redraw(change: Any = None) -> None:
        fig = temperature_figure(z, temperatures=(float(slider.value),), labels=names)
        image.value = _figure_png(fig)

    redraw()
    slider.observe(redraw, names="value")
    return widgets.VBox([slider, image])


class TemperatureExplorerHTML:
    """An HTML/JavaScript temperature explorer that needs no kernel.

    Displayed in a notebook (or on the website) through ``_repr_html_``; `html` holds the
    markup. The page shows the probabilities at T = 1 even without JavaScript.
    """

    def __init__(self, markup: str) -> None:
        self.html = markup

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return "TemperatureExplorerHTML(<slider for T; open in a browser>)"


_SCRIPT = """
(function () {
  var root = document.getElementById(%(id)s);
  if (!root) { return; }
  var z = JSON.parse(root.getAttribute("data-logits"));
  var slider = root.querySelector("input[type=range]");
  var tOut = root.querySelector(".sb-t");
  var hOut = root.querySelector(".sb-h");
  var bars = root.querySelectorAll(".sb-bar");
  var vals = root.querySelectorAll(".sb-p");
  function update() {
    var t = Math.pow(10, parseFloat(slider.value));
    var m = Math.max.apply(null, z);
    var e = z.map(function (v) { return Math.exp((v - m) / t); });
    var s = e.reduce(function (a, b) { return a + b; }, 0);
    var h = 0;
    e.forEach(function (v, i) {
      var p = v / s;
      if (p > 0) { h -= p * Math.log(p); }
      bars[i].style.width = (100 * p).toFixed(1) + "%%";
      vals[i].textContent = p.toFixed(3);
    });
    tOut.textContent = t.toFixed(2);
    hOut.textContent = h.toFixed(3);
    slider.setAttribute("aria-valuetext", "temperature " + t.toFixed(2));
  }
  slider.addEventListener("input", update);
  update();
})();
"""


def temperature_explorer_html(
    logits: Any, /, *, labels: Sequence[str] | None = None, element_id: str = "sb-temperature"
) -> TemperatureExplorerHTML:
    """A self-contained HTML slider for the temperature, computed in the reader's browser.

    The slider spans T from 0.05 to 20 on a log scale. The script uses the same max-shifted
    formula as :func:`softmax_bottleneck.softmax` and loads nothing from the network.

    Parameters
    ----------
    logits : array_like
        A 1-d vector of at least 2 finite logits.
    labels : sequence of str, optional
        One name per class.
    element_id : str, default "sb-temperature"
        The HTML id of the explorer (letters, digits, '-' and '_'); unique per page.

    Returns
    -------
    TemperatureExplorerHTML
        Shows as HTML in Jupyter and on the website.

    Raises
    ------
    ValueError
        As :func:`temperature_figure`, or if `element_id` has other characters.

    Examples
    --------
    >>> from softmax_bottleneck.explore import temperature_explorer_html
    >>> page = temperature_explorer_html([2.0, 1.0, 0.5])
    >>> "0.629" in page.html      # softmax([2, 1, 0.5]) at T = 1, shown without JavaScript
    True
    """
    z = _check_logits_vector(logits)
    names = _check_labels(labels, z.size)
    if not element_id or not all(c.isalnum() or c in "-_" for c in element_id):
        raise ValueError(
            f"Expected `element_id` to use letters, digits, '-' and '_' only, got {element_id!r}"
        )
    p = softmax(z)
    rows = []
    for name, pi in zip(names, p, strict=True):
        rows.append(
            '<div style="display:flex;align-items:center;gap:0.5em;margin:2px 0">'
            f'<span style="width:7em;text-align:right">{html.escape(name)}</span>'
            '<span style="flex:1;background:#eee;height:1.1em;position:relative">'
            f'<span class="sb-bar" style="display:block;height:100%;width:{100 * pi:.1f}%;'
            f'background:{PALETTE["blue"]}"></span></span>'
            f'<span class="sb-p" style="width:3.5em;font-family:monospace">{pi:.3f}</span></div>'
        )
    logits_json = html.escape(json.dumps([float(v) for v in z]), quote=True)
    markup = (
        f'<div class="sb-explorer" id="{element_id}" data-logits="{logits_json}" '
        'style="max-width:36em;border:1px solid #ccc;border-radius:6px;padding:0.8em">'
        f'<label for="{element_id}-slider">Temperature T = <b class="sb-t">1.00</b></label>'
        f'<input id="{element_id}-slider" type="range" min="-1.3" max="1.3" step="0.01" '
        'value="0" style="width:100%" aria-valuetext="temperature 1.00">'
        + "".join(rows)
        + '<p style="margin:0.4em 0 0">Entropy: <b class="sb-h">'
        f"{entropy(p):.3f}</b> nats (maximum log K = {math.log(z.size):.3f})</p></div>"
        f"<script>{_SCRIPT % {'id': json.dumps(element_id)}}</script>"
    )
    return TemperatureExplorerHTML(markup)
