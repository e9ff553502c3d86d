"""The temperature explorers of chapter 1: figure, ipywidgets slider and the kernel-free HTML."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from fractions import Fraction
from html import unescape

import numpy as np
import pytest
import scipy.stats

import softmax_bottleneck as sb
from softmax_bottleneck.explore import (
    _JS_FORMAT,
    _JS_TEMPERATURE,
    TEMPERATURES,
    entropy,
    format_fixed,
    temperature_explorer_html,
    temperature_figure,
    temperature_widget,
)

LOGITS = [2.0, 1.0, 0.5]


@pytest.mark.parametrize("p", [[1.0, 0.0], [0.25] * 4, [0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
def test_entropy_matches_scipy(p):
    assert entropy(p) == pytest.approx(scipy.stats.entropy(p), abs=1e-12)


def test_entropy_limits_of_temperature():
    assert entropy(sb.softmax(LOGITS, temperature=1e-3)) < 1e-6
    assert entropy(sb.softmax(LOGITS, temperature=1e6)) == pytest.approx(math.log(3), abs=1e-9)


@pytest.mark.parametrize(
    "bad", [[0.5, 0.6], [-0.1, 1.1], [[0.5, 0.5]], [], [np.nan, 1.0], ["a", "b"]]
)
def test_entropy_rejects_non_distributions(bad):
    with pytest.raises((ValueError, TypeError), match="probs"):
        entropy(bad)


def test_temperature_figure_panels_and_labels():
    fig = temperature_figure(LOGITS, temperatures=(0.5, 2.0), labels=["cat", "dog", "fox"])
    bars, _, entropy_ax = fig.axes
    assert len(fig.axes) == 3
    assert [t.get_text() for t in bars.get_xticklabels()] == ["cat", "dog", "fox"]
    heights = [patch.get_height() for patch in bars.patches]
    np.testing.assert_allclose(heights, sb.softmax(LOGITS, temperature=0.5))
    assert entropy_ax.get_xscale() == "log"
    assert "nats" in entropy_ax.get_ylabel() and bars.get_ylabel() == "probability"


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"logits": [1.0]}, "logits"),
        ({"logits": [[1.0, 2.0]]}, "logits"),
        ({"logits": [1.0, np.inf]}, "logits"),
        ({"logits": LOGITS, "temperatures": (0.0,)}, "temperatures"),
        ({"logits": LOGITS, "temperatures": (np.nan,)}, "temperatures"),
        ({"logits": LOGITS, "temperatures": ()}, "temperatures"),
        ({"logits": LOGITS, "labels": ["a", "b"]}, "labels"),
    ],
)
def test_temperature_figure_rejects_bad_input(kwargs, name):
    logits = kwargs.pop("logits")
    with pytest.raises(ValueError, match=name):
        temperature_figure(logits, **kwargs)


def run_js(code: str):
    """Run JavaScript in Node.js and return what it printed as JSON (skip without Node)."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed: the page's JavaScript is checked where it is")
    done = subprocess.run([node, "-e", code], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(done.stdout)


def _shown_probabilities(markup: str) -> list[str]:
    return re.findall(r'class="sb-p sb-num">([0-9.]+)<', markup)


def test_html_explorer_shows_softmax_without_javascript():
    page = temperature_explorer_html(LOGITS, labels=["cat", "dog", "fox"], element_id="x1")
    assert _shown_probabilities(page.html) == [f"{p:.4f}" for p in sb.softmax(LOGITS)]
    assert page._repr_html_() == page.html
    assert 'id="x1"' in page.html and 'for="x1-slider"' in page.html
    logits = json.loads(unescape(re.search(r'data-logits="([^"]+)"', page.html).group(1)))
    assert logits == LOGITS
    assert "http" not in page.html  # nothing is loaded from the network


def test_slider_lands_exactly_on_round_temperatures():
    page = temperature_explorer_html(LOGITS, element_id="x2")
    stops = json.loads(unescape(re.search(r'data-temperatures="([^"]+)"', page.html).group(1)))
    assert [float(t) for t in stops] == list(TEMPERATURES)
    for t in (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0):
        assert f"{t:g}" in stops
    # it starts at T = 1, written as the figure's title and the widget's readout write it
    assert f'value="{stops.index("1")}"' in page.html and 'class="sb-t">1<' in page.html
    ratios = np.diff(np.log(TEMPERATURES))
    assert ratios.min() > 0 and ratios.max() < np.log(2.01)  # increasing, no step beyond x2


def test_html_explorer_follows_the_theme_and_explains_a_dead_slider():
    page = temperature_explorer_html(LOGITS, element_id="x3")
    assert "var(--pst-color-background" in page.html and "var(--pst-color-text-base" in page.html
    # no hard-coded panel colours: the only fixed colours are the palette's bars and fallbacks
    assert "#eee\"" not in page.html and "background:#eee;" not in page.html
    assert "html[data-theme=dark]" in page.html
    assert 'class="sb-needs-js"' in page.html and "removeChild(note)" in page.html


def test_html_explorer_is_deterministic_and_escapes_labels():
    a = temperature_explorer_html(LOGITS, labels=["<b>", "&", '"q"'])
    b = temperature_explorer_html(LOGITS, labels=["<b>", "&", '"q"'])
    assert a.html == b.html
    assert "<b></span>" not in a.html and "&lt;b&gt;" in a.html and "&amp;" in a.html


@pytest.mark.parametrize("element_id", ["", "a b", "x<script>", "id\"onload"])
def test_html_explorer_rejects_unsafe_ids(element_id):
    with pytest.raises(ValueError, match="element_id"):
        temperature_explorer_html(LOGITS, element_id=element_id)


def test_javascript_rounding_is_pythons():
    values = [0.7825, 0.0625, 0.0635, 0.5, 2.5, 3.5, 0.9995, 1e-20, -0.0001, 0.12345678, 1.0]
    values += [k / 16 for k in range(17)] + [k / 200 for k in range(201)]
    values += list(np.random.default_rng(0).random(200))
    shown = run_js(
        _JS_FORMAT % {}
        + f"console.log(JSON.stringify({json.dumps(values)}.map(function (x) {{"
        "return [sbFormat(x, 0), sbFormat(x, 2), sbFormat(x, 3), sbFormat(x, 4)]; })));"
    )
    for x, got in zip(values, shown, strict=True):
        assert got == [format_fixed(x, d) for d in (0, 2, 3, 4)], x
    # the exact binary value decides, as in Python: 0.7825 is stored just below the tie
    assert Fraction(0.7825) < Fraction(7825, 10_000) and format_fixed(0.7825, 3) == "0.782"


def test_javascript_matches_the_chapter_table():
    temps = [0.05, 0.1, 0.5, 1.0, 2.0, 10.0, 20.0]
    states = run_js(
        _JS_FORMAT % {} + _JS_TEMPERATURE
        + f"console.log(JSON.stringify({json.dumps(temps)}.map(function (t) {{"
        f"return sbTemperatureState({json.dumps(LOGITS)}, t); }})));"
    )
    for t, st in zip(temps, states, strict=True):
        p = sb.softmax(LOGITS, temperature=t)
        np.testing.assert_allclose(st["p"], p, rtol=1e-14, atol=1e-300)
        assert st["shown"] == [f"{v:.4f}" for v in p]
        assert st["h"] == f"{entropy(p):.3f}"


def test_widget_redraws_when_the_slider_or_the_logits_change():
    widgets = pytest.importorskip("ipywidgets")
    box = temperature_widget(LOGITS, labels=["cat", "dog", "fox"])
    slider, logits, message, image = box.children
    assert isinstance(slider, widgets.SelectionSlider) and isinstance(image, widgets.Image)
    assert slider.value == 1.0 and slider.label == "1" and bytes(image.value).startswith(b"\x89PNG")
    assert [label for label, _ in slider.options] == [f"{t:g}" for t in TEMPERATURES]
    first = bytes(image.value)
    again = temperature_widget(LOGITS, labels=["cat", "dog", "fox"]).children[-1]
    assert bytes(again.value) == first
    slider.value = 0.5
    assert slider.label == "0.5" and bytes(image.value) != first
    at_half = bytes(image.value)
    logits.value = "1, 1, 1, 5"
    assert message.value == "" and bytes(image.value) != at_half
    shown = bytes(image.value)
    logits.value = "1, inf"
    assert "logits" in message.value and bytes(image.value) == shown
    logits.value = "1"
    assert "at least 2" in message.value


def test_stored_widget_output_explains_itself():
    pytest.importorskip("ipywidgets")
    bundle = temperature_widget(LOGITS)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("Temperature explorer (ipywidgets): run this cell")


def test_figure_title_writes_t_as_the_readout():
    fig = temperature_figure(LOGITS, temperatures=(0.5, 2.0))
    assert [ax.get_title() for ax in fig.axes[:2]] == ["T = 0.5", "T = 2"]


def test_widget_rejects_bad_logits():
    pytest.importorskip("ipywidgets")
    with pytest.raises(ValueError, match="logits"):
        temperature_widget([np.nan, 1.0])
