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

#: The temperatures the page explorer and the widget step through: roughly even steps on a log
#: scale from 0.05 to 20 that land exactly on the round values (0.1, 0.25, 0.5, 1, 2, 4, 10).
TEMPERATURES: tuple[float, ...] = (
    0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
    1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0,
)  # fmt: skip

__all__ = [
    "TEMPERATURES",
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


def _format_t(t: float) -> str:
    """A temperature as the slider's readout and the figure's title write it: 0.5, 1, 2."""
    return f"{t:g}"


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
        ax.set_title(f"T = {_format_t(t)}")
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

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Pieces shared by the explorers (also used by :mod:`.explore_imbalance`).

#: What a stored widget output says where no kernel runs it (the notebook's text/plain fallback).
_WIDGET_NOTE = (
    "{what} (ipywidgets): run this cell in Jupyter or Colab to use it. A notebook opened "
    "without a running kernel cannot show it; the page explorer above needs no kernel."
)


def _note_box(children: Sequence[Any], note: str) -> Any:
    """An ``ipywidgets.VBox`` whose plain-text form (stored in notebooks) is `note`.

    ipywidgets' own text form is a truncated ``repr``; a reader who opens the notebook without
    a kernel sees this sentence instead.
    """
    import ipywidgets as widgets

    class ExplorerBox(widgets.VBox):
        def __repr__(self) -> str:
            return note

        def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
            data: dict[str, Any] = super()._repr_mimebundle_(**kwargs)
            data["text/plain"] = note
            return data

    return ExplorerBox(list(children))


def format_fixed(x: float, decimals: int, /) -> str:
    """``x`` with `decimals` decimals, as the book's printed tables write it (``f"{x:.3f}"``).

    The page explorers format their numbers with the JavaScript twin of this function
    (``sbFormat``), which rounds the exact binary value half to even as Python does, so a value
    shown in an explorer reads exactly as in the table printed above it.

    Examples
    --------
    >>> from softmax_bottleneck.explore import format_fixed
    >>> format_fixed(0.7825, 3), format_fixed(0.0625, 3), format_fixed(2.0, 0)
    ('0.782', '0.062', '2')
    """
    return f"{float(x):.{int(decimals)}f}"


#: JavaScript twin of :func:`format_fixed`: Python's ``f"{x:.{f}f}"`` for a finite number.
#: ``toFixed(100)`` gives the exact decimal expansion of a double >= 2**-47 (JavaScript's own
#: ``toFixed(f)`` rounds exact ties up, Python to even); smaller values round to zero anyway.
_JS_FORMAT = """
function sbFormat(x, f) {
  if (!isFinite(x)) { return String(x); }
  var s = Math.abs(x).toFixed(100), dot = s.indexOf(".");
  var frac = s.slice(dot + 1), rest = frac.slice(f);
  var digits = BigInt(s.slice(0, dot) + frac.slice(0, f));
  var tail = rest.slice(1).replace(/0+$/, "");
  var odd = digits %% BigInt(2) === BigInt(1);
  if (rest.charAt(0) > "5" || (rest.charAt(0) === "5" && (tail !== "" || odd))) {
    digits += BigInt(1);
  }
  var out = digits.toString();
  if (f > 0) {
    while (out.length <= f) { out = "0" + out; }
    out = out.slice(0, out.length - f) + "." + out.slice(out.length - f);
  }
  return (x < 0 ? "-" : "") + out;
}
"""

#: Styles of every page explorer: the site theme's colours (pydata-sphinx-theme's CSS
#: variables, which follow its light and dark modes), JupyterLab's where those are missing, and
#: fixed light colours last. The theme gives HTML outputs a light panel in dark mode; the
#: explorers draw their own background instead.
_STYLE = (
    "<style>"
    ".sb-explorer{max-width:40em;box-sizing:border-box;border-radius:6px;padding:.8em;"
    "border:1px solid var(--pst-color-border,var(--jp-border-color1,#ccc));"
    "background:var(--pst-color-background,var(--jp-layout-color0,#fff));"
    "color:var(--pst-color-text-base,var(--jp-ui-font-color1,#222))}"
    ".sb-explorer p{margin:.4em 0 0}"
    ".sb-explorer input[type=range]{width:100%;accent-color:var(--pst-color-primary,#0072B2)}"
    ".sb-explorer .sb-track{display:block;flex:1;position:relative;height:1.1em;"
    "background:var(--pst-color-surface,var(--jp-layout-color2,#eee))}"
    ".sb-explorer .sb-fill{display:block;height:100%}"
    ".sb-explorer .sb-num{font-family:var(--pst-font-family-monospace,monospace);"
    "font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".sb-explorer .sb-muted,.sb-explorer .sb-needs-js{font-size:.9em;"
    "color:var(--pst-color-text-muted,var(--jp-ui-font-color2,#555))}"
    ".sb-explorer .sb-scale{display:flex;justify-content:space-between;font-size:.8em}"
    "html[data-theme=dark] .bd-content div.cell_output .text_html:has(.sb-explorer)"
    "{background:transparent!important;padding:0!important}"
    "</style>"
)


def _needs_js(shown: str) -> str:
    """A line the explorer's script removes: it is seen only where the script did not run."""
    return (
        '<p class="sb-needs-js">The slider needs JavaScript: on the book\'s website it runs '
        "as it is; in Jupyter, trust the notebook or run the cell (untrusted HTML outputs do not "
        f"run scripts). Without it this shows {shown}.</p>"
    )


def _check_element_id(element_id: str) -> None:
    if not element_id or not all(c.isalnum() or c in "-_" for c in element_id):
        raise ValueError(
            f"Expected `element_id` to use letters, digits, '-' and '_' only, got {element_id!r}"
        )


def _data_attr(value: Any) -> str:
    return html.escape(json.dumps(value), quote=True)


def temperature_widget(
    logits: Any,
    /,
    *,
    labels: Sequence[str] | None = None,
    temperatures: Sequence[float] = TEMPERATURES,
) -> Any:
    """A slider for the temperature and a box for the logits that redraw :func:`temperature_figure`.

    For Jupyter and Colab. The figure is an ``ipywidgets.Image`` updated when a control
    changes, so the widget sends no display messages of its own and works in any front end
    that renders core ipywidgets. Stored in a notebook, its plain-text form says that it needs a
    running kernel.

    Parameters
    ----------
    logits : array_like
        The starting logits: a 1-d vector of at least 2 finite numbers.
    labels : sequence of str, optional
        One name per class; when the logits box changes the number of classes, the names
        become "class 0", "class 1", ...
    temperatures : sequence of float, default TEMPERATURES
        The slider's stops (positive); it starts at 1 if 1 is among them, else at the middle.

    Returns
    -------
    ipywidgets.VBox
        Display it (last line of a cell). ``.children`` are the ``SelectionSlider`` for T (its
        readout, "0.5", is the figure title's), the ``Text`` box of comma-separated logits, a
        ``Label`` that reports a logits entry it cannot read, and the ``Image`` it redraws.

    Raises
    ------
    ValueError
        As :func:`temperature_figure`.

    Examples
    --------
    >>> from softmax_bottleneck.explore import temperature_widget
    >>> box = temperature_widget([2.0, 1.0, 0.5])
    >>> slider, logits, message, image = box.children
    >>> before = image.value
    >>> slider.value = 4.0
    >>> image.value != before
    True
    >>> logits.value = "3, 0, 0, 0"
    >>> message.value
    ''
    >>> logits.value = "3, x"
    >>> message.value
    "Could not read the logits: 'x' is not a number (the figure keeps the last valid ones)"
    """
    import ipywidgets as widgets

    z = _check_logits_vector(logits)
    names = _check_labels(labels, z.size)
    temps = [check_positive_number(t, "temperatures") for t in temperatures]
    if not temps:
        raise ValueError("Expected `temperatures` to hold at least one temperature, got none")
    start = 1.0 if 1.0 in temps else temps[len(temps) // 2]
    slider = widgets.SelectionSlider(
        options=[(_format_t(t), t) for t in temps], value=start, description="T",
        continuous_update=False,
    )
    box = widgets.Text(
        value=", ".join(f"{v:g}" for v in z), description="logits", continuous_update=False
    )
    message = widgets.Label(value="")
    image = widgets.Image(format="png")
    state: dict[str, Any] = {"z": z, "names": names}

    def redraw(change: Any = None) -> None:
        fig = temperature_figure(
            state["z"], temperatures=(float(slider.value),), labels=state["names"]
        )
        image.value = _figure_png(fig)

    def read_logits(change: Any = None) -> None:
        parts = [p.strip() for p in box.value.split(",") if p.strip()]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            bad = next(p for p in parts if not _is_float(p))
            message.value = (
                f"Could not read the logits: {bad!r} is not a number "
                "(the figure keeps the last valid ones)"
            )
            return
        try:
            new = _check_logits_vector(values)
        except ValueError as err:
            message.value = f"Could not use the logits: {err} (the figure keeps the last valid ones)"
            return
        message.value = ""
        state["names"] = names if new.size == z.size else _check_labels(None, new.size)
        state["z"] = new
        redraw()

    redraw()
    slider.observe(redraw, names="value")
    box.observe(read_logits, names="value")
    return _note_box([slider, box, message, image], _WIDGET_NOTE.format(what="Temperature explorer"))


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class ExplorerHTML:
    """An HTML/JavaScript explorer that needs no kernel: shown in a notebook (or on the
    website) through ``_repr_html_``; `html` holds the markup. Subclasses name their slider in
    `slider`, which the plain-text form (stored in notebooks) shows."""

    slider = "a slider"

    def __init__(self, markup: str) -> None:
        self.html = markup

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{self.slider}; open in a browser>)"


class TemperatureExplorerHTML(ExplorerHTML):
    """The temperature explorer. The page shows the probabilities at T = 1 even without
    JavaScript."""

    slider = "slider for T"


#: The arithmetic of the temperature explorer, a pure function of the logits and T (tested
#: against :func:`softmax_bottleneck.softmax` and :func:`entropy` through a JavaScript engine).
_JS_TEMPERATURE = """
function sbTemperatureState(z, t) {
  var m = Math.max.apply(null, z);
  var e = z.map(function (v) { return Math.exp(t === 1 ? v - m : (v - m) / t); });
  var s = 0;
  e.forEach(function (v) { s += v; });
  var p = e.map(function (v) { return v / s; });
  var h = 0;
  p.forEach(function (v) { if (v > 0) { h += v * Math.log(v); } });
  return {p: p, shown: p.map(function (v) { return sbFormat(v, 4); }), h: sbFormat(-h, 3)};
}
"""

_SCRIPT = """
(function () {
  var root = document.getElementById(%(id)s);
  if (!root) { return; }
%(format)s%(core)s
  var z = JSON.parse(root.getAttribute("data-logits"));
  var temps = JSON.parse(root.getAttribute("data-temperatures"));
  var slider = root.querySelector("input[type=range]");
  var bars = root.querySelectorAll(".sb-bar");
  var vals = root.querySelectorAll(".sb-p");
  var note = root.querySelector(".sb-needs-js");
  if (note) { note.parentNode.removeChild(note); }
  function update() {
    var label = temps[parseInt(slider.value, 10)];
    var st = sbTemperatureState(z, parseFloat(label));
    st.p.forEach(function (p, i) {
      bars[i].style.width = (100 * p).toFixed(1) + "%%";
      vals[i].textContent = st.shown[i];
    });
    root.querySelector(".sb-t").textContent = label;
    root.querySelector(".sb-h").textContent = st.h;
    slider.setAttribute("aria-valuetext", "temperature " + label);
  }
  slider.addEventListener("input", update);
  update();
})();
"""


def temperature_explorer_html(
    logits: Any,
    /,
    *,
    labels: Sequence[str] | None = None,
    element_id: str = "sb-temperature",
    temperatures: Sequence[float] = TEMPERATURES,
) -> TemperatureExplorerHTML:
    """A self-contained HTML slider for the temperature, computed in the reader's browser.

    The slider steps through `temperatures` (by default :data:`TEMPERATURES`, 0.05 to 20 on a
    roughly logarithmic scale that lands exactly on 0.5, 1, 2, ...). Probabilities are shown
    with four decimals and the entropy with three, rounded as Python's ``f"{x:.4f}"`` does, so
    they read as the chapter's printed table. The script uses the same max-shifted formula as
    :func:`softmax_bottleneck.softmax`, loads nothing from the network and takes its colours
    from the page's theme (light or dark).

    Parameters
    ----------
    logits : array_like
        A 1-d vector of at least 2 finite logits.
    labels : sequence of str, optional
        One name per class.
    element_id : str, default "sb-temperature"
        The HTML id of the explorer (letters, digits, '-' and '_'); unique per page.
    temperatures : sequence of float, default TEMPERATURES
        The slider's stops, positive; it starts at 1 if 1 is among them, else at the middle.

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
    >>> "0.6285" in page.html      # softmax([2, 1, 0.5]) at T = 1, shown without JavaScript
    True
    """
    z = _check_logits_vector(logits)
    names = _check_labels(labels, z.size)
    _check_element_id(element_id)
    temps = [check_positive_number(t, "temperatures") for t in temperatures]
    if not temps:
        raise ValueError("Expected `temperatures` to hold at least one temperature, got none")
    i0 = temps.index(1.0) if 1.0 in temps else len(temps) // 2
    t0 = temps[i0]
    p = softmax(z, temperature=t0)
    rows = []
    for name, pi in zip(names, p, strict=True):
        rows.append(
            '<div style="display:flex;align-items:center;gap:0.5em;margin:2px 0">'
            f'<span style="min-width:4em;text-align:right">{html.escape(name)}</span>'
            '<span class="sb-track">'
            f'<span class="sb-bar sb-fill" style="width:{100 * pi:.1f}%;'
            f'background:{PALETTE["blue"]}"></span></span>'
            f'<span class="sb-p sb-num">{format_fixed(pi, 4)}</span></div>'
        )
    labels_t = [_format_t(t) for t in temps]
    markup = (
        _STYLE
        + f'<div class="sb-explorer" id="{element_id}" data-logits="{_data_attr([float(v) for v in z])}" '
        f'data-temperatures="{_data_attr(labels_t)}">'
        f'<label for="{element_id}-slider">Temperature T = <b class="sb-t">{labels_t[i0]}</b>'
        "</label>"
        f'<input id="{element_id}-slider" type="range" min="0" max="{len(temps) - 1}" step="1" '
        f'value="{i0}" aria-valuetext="temperature {labels_t[i0]}">'
        f'<div class="sb-scale sb-muted"><span>{labels_t[0]}</span>'
        f"<span>(log scale)</span><span>{labels_t[-1]}</span></div>"
        + "".join(rows)
        + f'<p>Entropy: <b class="sb-h sb-num">{format_fixed(entropy(p), 3)}</b> nats '
        f"(maximum log K = {format_fixed(math.log(z.size), 3)})</p>"
        + _needs_js(f"T = {labels_t[i0]}")
        + "</div>"
        f"<script>{_SCRIPT % {'id': json.dumps(element_id), 'format': _JS_FORMAT % {}, 'core': _JS_TEMPERATURE}}</script>"
    )
    return TemperatureExplorerHTML(markup)
