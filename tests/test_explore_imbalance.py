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
    logit_adjustment_explorer_html,
    logit_adjustment_figure,
    logit_adjustment_scores,
    logit_adjustment_widget,
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


def test_widget_redraws_and_starts_where_the_page_does(sweep):
    slider, method, image = imbalance_widget(sweep).children
    assert list(slider.options) == [("1", 1.0), ("50", 50.0)]
    assert slider.value == 50.0  # the largest ratio, as imbalance_explorer_html
    assert method.options[0] == ("all methods", "") and len(method.options) == 1 + len(sweep.methods)
    before = image.value
    slider.value = 1.0
    assert image.value != before
    at_one = image.value
    method.value = "oversample"
    assert image.value != at_one
    assert imbalance_widget(sweep, start=1).children[0].value == 1.0
    text = imbalance_widget(sweep)._repr_mimebundle_()["text/plain"]
    assert text.startswith("Imbalance explorer (ipywidgets): run this cell")


def test_figure_draws_the_chosen_methods(sweep):
    fig = imbalance_figure(sweep, rho=50, methods=["baseline"])
    assert len(fig.axes[1].patches) == 10
    label = fig.axes[1].get_legend().get_texts()[0].get_text()
    assert label == f"baseline (bal. acc. {sweep.balanced_accuracy('baseline')[1].mean():.3f})"
    with pytest.raises(ValueError, match="methods"):
        imbalance_figure(sweep, rho=50, methods=["focal"])


def _payload(page):
    raw = re.search(r'data-sweep="([^"]*)"', page.html).group(1)
    return json.loads(unescape(raw))


def test_html_embeds_the_results(sweep):
    page = imbalance_explorer_html(sweep, element_id="t-1")
    assert page._repr_html_() == page.html
    data = _payload(page)
    assert data["rhos"] == ["1", "50"]
    assert data["counts"] == sweep.counts.tolist()
    means = sweep.recall["baseline"].mean(axis=1)
    assert data["recall"][0] == [[f"{v:.3f}" for v in row] for row in means]
    # without JavaScript the starting ratio (the largest) is already drawn, every recall
    # written out (no hover needed), rounded as the chapter's table rounds
    assert 'class="sb-rho">50<' in page.html
    shown = re.findall(r'class="sb-num sb-recall-value-0">([0-9.]+)<', page.html)
    assert shown == [f"{v:.3f}" for v in means[1]]
    bacc = sweep.balanced_accuracy("baseline")[1].mean()  # the table's mean of per-seed values
    assert f'class="sb-num sb-bacc-0">{bacc:.3f}<' in page.html
    assert data["bacc"][0] == [f"{v:.3f}" for v in sweep.balanced_accuracy("baseline").mean(1)]
    assert "var(--pst-color-background" in page.html and 'class="sb-needs-js"' in page.html
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


# ---------------------------------------------------------------------------------------------
# Logit adjustment (chapter 4)


@pytest.fixture(scope="module")
def held_out():
    """A small model's test logits on long-tailed digits (seeded, float64, one thread)."""
    from softmax_bottleneck import data, models, train

    d = data.load_long_tailed_digits(imbalance_ratio=50, rng=0)
    net = models.build_model("softmax", n_features=64, n_classes=10, rng=0)
    train.fit(net, d.X_train, d.y_train, epochs=5, lr=0.05, rng=0)
    logits = train.predict_logits(net, d.X_test)
    return logits, d.y_test, d.class_counts / d.class_counts.sum()


def test_logit_adjustment_scores_match_the_package(held_out):
    import softmax_bottleneck as sb

    logits, y, prior = held_out
    for tau in (0.0, 1.0, 2.0):
        s = logit_adjustment_scores(logits, y, prior, tau=tau)
        probs = sb.softmax(logits - tau * np.log(prior))
        recall = sb.metrics.per_class_recall(y, probs.argmax(1), n_classes=10)
        np.testing.assert_array_equal(s["recall"], recall)
        assert s["balanced_accuracy"] == recall.mean()
        assert s["long_tailed_accuracy"] == pytest.approx(prior @ recall, abs=1e-12)
        assert s["ece"] == sb.calibration.expected_calibration_error(probs, y)
    s0, s1 = (logit_adjustment_scores(logits, y, prior, tau=t) for t in (0.0, 1.0))
    assert s1["recall"][5:].mean() > s0["recall"][5:].mean()  # τ moves recall to the tail
    with pytest.raises(ValueError, match="tau"):
        logit_adjustment_scores(logits, y, prior, tau=np.nan)
    with pytest.raises(ValueError, match="prior"):
        logit_adjustment_scores(logits, y, prior[:5], tau=1)
    with pytest.raises(ValueError, match="y_true"):
        logit_adjustment_scores(logits, y[:-1], prior, tau=1)


def _la_payload(page):
    return json.loads(unescape(re.search(r'data-logits="([^"]*)"', page.html).group(1)))


def test_logit_adjustment_page_shows_the_python_scores(held_out):
    logits, y, prior = held_out
    page = logit_adjustment_explorer_html(logits, y, prior, element_id="la", start=0.5)
    data = _la_payload(page)
    assert data["taus"][5] == "0.5" and data["taus"][10] == "1" and data["taus"][-1] == "2"
    stored = np.array(data["logits"])
    np.testing.assert_array_equal(stored, np.array([[float(f"{v:.3f}") for v in r] for r in logits]))
    s = logit_adjustment_scores(stored, y, prior, tau=0.5)
    assert re.findall(r'class="sb-num sb-la-recall">([0-9.]+)<', page.html) == [
        f"{v:.3f}" for v in s["recall"]
    ]
    for key, cls in (("balanced_accuracy", "bacc"), ("long_tailed_accuracy", "lt"), ("ece", "ece")):
        assert f'class="sb-la-{cls} sb-num">{s[key]:.3f}<' in page.html
    assert 'class="sb-tau">0.5<' in page.html and "http" not in page.html
    with pytest.raises(ValueError, match="start"):
        logit_adjustment_explorer_html(logits, y, prior, start=0.25)


def test_logit_adjustment_javascript_matches_python(held_out):
    from test_explore import run_js

    from softmax_bottleneck.explore import _JS_FORMAT
    from softmax_bottleneck.explore_imbalance import _JS_LOGIT_ADJUSTMENT

    logits, y, prior = held_out
    page = logit_adjustment_explorer_html(logits, y, prior)
    data = _la_payload(page)
    taus = [0.0, 0.3, 1.0, 1.7, 2.0]
    got = run_js(
        _JS_FORMAT % {} + _JS_LOGIT_ADJUSTMENT % {} + f"var d = {json.dumps(data)};"
        f"console.log(JSON.stringify({json.dumps(taus)}.map(function (t) {{"
        "var s = sbLogitAdjustment(d, t);"
        "s.shown = [s.bacc, s.lt, s.ece].map(function (v) { return sbFormat(v, 3); });"
        "s.recallShown = s.recall.map(function (v) { return sbFormat(v, 3); });"
        "return s; })));"
    )
    stored = np.array(data["logits"])
    for tau, js in zip(taus, got, strict=True):
        s = logit_adjustment_scores(stored, y, prior, tau=tau)
        np.testing.assert_array_equal(js["recall"], s["recall"])
        assert js["bacc"] == s["balanced_accuracy"]
        assert js["lt"] == pytest.approx(s["long_tailed_accuracy"], abs=1e-15)
        assert js["ece"] == pytest.approx(s["ece"], abs=1e-15)
        assert js["shown"] == [f"{s[k]:.3f}" for k in ("balanced_accuracy", "long_tailed_accuracy", "ece")]
        assert js["recallShown"] == [f"{v:.3f}" for v in s["recall"]]


def test_logit_adjustment_figure_and_widget(held_out):
    logits, y, prior = held_out
    fig = logit_adjustment_figure(logits, y, prior, tau=1.0)
    s = logit_adjustment_scores(logits, y, prior, tau=1.0)
    assert fig.axes[0].get_title().startswith(f"τ = 1: balanced acc. {s['balanced_accuracy']:.3f}")
    slider, image = logit_adjustment_widget(logits, y, prior).children
    assert slider.value == 1.0 and slider.label == "1"
    before = image.value
    slider.value = 0.0
    assert image.value != before
