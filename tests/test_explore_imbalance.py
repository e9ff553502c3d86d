"""Tests of the imbalance explorer: the sweep's data, the figure, the widget and the HTML."""

from __future__ import annotations

import json
import re
from html import unescape

import numpy as np
import pytest

from softmax_bottleneck.data import long_tailed_counts
from softmax_bottleneck.explore_imbalance import (
    METHOD_LABELS,
    METHODS,
    ImbalanceSweep,
    imbalance_explorer_html,
    imbalance_figure,
    imbalance_sweep,
    imbalance_widget,
)


@pytest.fixture(scope="module")
def sweep():
    return imbalance_sweep(
        [50, 1],
        methods=["baseline", "oversample", "smote", "undersample", "class_balanced"],
        seeds=[0, 1],
        epochs=2,
        model="softmax",
    )


def test_sweep_shapes_and_counts(sweep):
    assert sweep.rhos.tolist() == [1.0, 50.0]
    assert sweep.methods == ("baseline", "oversample", "smote", "undersample", "class_balanced")
    np.testing.assert_array_equal(sweep.counts[1], long_tailed_counts(130, 10, imbalance_ratio=50))
    for r in sweep.recall.values():
        assert r.shape == (2, 2, 10)
        assert np.all((r >= 0) & (r <= 1))
    assert sweep.balanced_accuracy("baseline").shape == (2, 2)


def test_sweep_is_deterministic(sweep):
    again = imbalance_sweep([1, 50], methods=["baseline"], seeds=[0, 1], epochs=2, model="softmax")
    np.testing.assert_array_equal(again.recall["baseline"], sweep.recall["baseline"])


def test_smote_falls_back_for_a_single_image():
    s = imbalance_sweep([200], methods=["smote"], seeds=[0], epochs=1, model="softmax")
    assert s.counts[0, -1] == 1 and s.recall["smote"].shape == (1, 1, 10)


@pytest.mark.parametrize(
    ("args", "kwargs", "err", "match"),
    [
        (([0.5],), {}, ValueError, "rhos"),
        (([],), {}, ValueError, "rhos"),
        ((5,), {}, TypeError, "rhos"),
        (([2],), {"methods": ["adasyn"]}, ValueError, "methods"),
        (([2],), {"methods": []}, ValueError, "methods"),
        (([2],), {"profile": "zipf"}, ValueError, "profile"),
        (([2],), {"model": "resnet"}, ValueError, "model"),
        (([2],), {"seeds": [0.5]}, TypeError, "seeds"),
    ],
)
def test_sweep_errors(args, kwargs, err, match):
    with pytest.raises(err, match=match):
        imbalance_sweep(*args, **kwargs)


def test_figure(sweep):
    fig = imbalance_figure(sweep, rho=50)
    ax1, ax2 = fig.axes
    assert ax1.get_yscale() == "log"
    heights = [p.get_height() for p in ax1.patches]
    assert heights == sweep.counts[1].tolist()
    assert len(ax2.patches) == 5 * 10
    with pytest.raises(ValueError, match="rho"):
        imbalance_figure(sweep, rho=7)
    with pytest.raises(TypeError, match="sweep"):
        imbalance_figure({"rhos": [1]}, rho=1)


def test_widget_redraws(sweep):
    slider, image = imbalance_widget(sweep).children
    assert list(slider.options) == [("1", 1.0), ("50", 50.0)]
    before = image.value
    slider.value = 50.0
    assert image.value != before


def _payload(page):
    raw = re.search(r'data-sweep="([^"]*)"', page.html).group(1)
    return json.loads(unescape(raw))


def test_html_embeds_the_results(sweep):
    page = imbalance_explorer_html(sweep, element_id="t-1")
    assert page._repr_html_() == page.html
    data = _payload(page)
    assert data["rhos"] == ["1", "50"]
    assert data["counts"] == sweep.counts.tolist()
    np.testing.assert_allclose(data["recall"][0], sweep.recall["baseline"].mean(axis=1), atol=1e-4)
    # without JavaScript the starting ratio (the largest) is already drawn
    assert 'class="sb-rho">50<' in page.html
    bacc = sweep.recall["baseline"][1].mean()
    assert f'class="sb-bacc-0">{bacc:.3f}<' in page.html
    assert "http" not in page.html  # nothing loaded from the network
    # readers see names, not identifiers
    assert data["methods"] == [METHOD_LABELS[m] for m in sweep.methods]
    assert all(f"{METHOD_LABELS[m]}: balanced accuracy" in page.html for m in sweep.methods)


def test_every_method_has_a_readable_label():
    assert set(METHOD_LABELS) == set(METHODS)
    assert METHOD_LABELS["class_balanced"] == "class-balanced batches"


def test_html_start_and_errors(sweep):
    page = imbalance_explorer_html(sweep, start=1)
    assert 'class="sb-rho">1<' in page.html and 'value="0"' in page.html
    with pytest.raises(ValueError, match="element_id"):
        imbalance_explorer_html(sweep, element_id="bad id")
    with pytest.raises(ValueError, match="rho"):
        imbalance_explorer_html(sweep, start=3)
    with pytest.raises(TypeError, match="sweep"):
        imbalance_explorer_html([1, 2])
    assert isinstance(sweep, ImbalanceSweep)
