"""The temperature explorers of chapter 1: figure, ipywidgets slider and the kernel-free HTML."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import scipy.stats

import softmax_bottleneck as sb
from softmax_bottleneck.explore import (
    entropy,
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


def _shown_probabilities(markup: str) -> list[float]:
    return [float(v) for v in re.findall(r'class="sb-p"[^>]*>([0-9.]+)<', markup)]


def test_html_explorer_shows_softmax_without_javascript():
    page = temperature_explorer_html(LOGITS, labels=["cat", "dog", "fox"], element_id="x1")
    np.testing.assert_allclose(_shown_probabilities(page.html), sb.softmax(LOGITS), atol=5e-4)
    assert page._repr_html_() == page.html
    assert 'id="x1"' in page.html and 'for="x1-slider"' in page.html
    logits = json.loads(re.search(r'data-logits="([^"]+)"', page.html).group(1).replace("&quot;", '"'))
    assert logits == LOGITS
    assert "http" not in page.html  # nothing is loaded from the network


def test_html_explorer_is_deterministic_and_escapes_labels():
    a = temperature_explorer_html(LOGITS, labels=["<b>", "&", '"q"'])
    b = temperature_explorer_html(LOGITS, labels=["<b>", "&", '"q"'])
    assert a.html == b.html
    assert "<b></span>" not in a.html and "&lt;b&gt;" in a.html and "&amp;" in a.html


@pytest.mark.parametrize("element_id", ["", "a b", "x<script>", "id\"onload"])
def test_html_explorer_rejects_unsafe_ids(element_id):
    with pytest.raises(ValueError, match="element_id"):
        temperature_explorer_html(LOGITS, element_id=element_id)


def test_widget_redraws_when_the_slider_moves():
    widgets = pytest.importorskip("ipywidgets")
    box = temperature_widget(LOGITS, labels=["cat", "dog", "fox"])
    slider, image = box.children
    assert isinstance(slider, widgets.FloatLogSlider) and isinstance(image, widgets.Image)
    assert slider.value == 1.0 and bytes(image.value).startswith(b"\x89PNG")
    first = bytes(image.value)
    assert bytes(temperature_widget(LOGITS, labels=["cat", "dog", "fox"]).children[1].value) == first
    slider.value = 10.0
    assert bytes(image.value) != first


def test_widget_rejects_bad_logits():
    pytest.importorskip("ipywidgets")
    with pytest.raises(ValueError, match="logits"):
        temperature_widget([np.nan, 1.0])
