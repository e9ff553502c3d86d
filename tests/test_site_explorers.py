"""The page explorers of chapters 1, 3 and 4 in a real headless Chromium, at phone and desktop
widths, in the theme's light and dark modes.

Run after the site is built (``make test-site``; ``SB_SITE`` may point at another build). For
each explorer the test moves the slider the way a reader does and checks that:

- the script ran (the "needs JavaScript" line is gone) and nothing on the page reported an error;
- the numbers it shows are the ones the chapter's printed table shows for the same setting
  (same decimals, same rounding), and the slider lands exactly on the table's settings;
- every value is written out (no hover needed) in text at least 11 px high, inside the screen;
- its panel takes the theme's colours: a dark panel with light text in dark mode.

Screenshots land in ``_build/screenshots/explorers-*.png``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from test_site_browser import VIEWPORTS, _open, chromium, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"
CH1 = "book/01-softmax/what-softmax-is.html"
CH3 = "book/03-resampling/resampling.html"
CH4 = "book/04-tuning/tuning.html"

if os.environ.get("SB_SITE"):  # check a build made elsewhere
    import test_site_browser

    test_site_browser.SITE = Path(os.environ["SB_SITE"])


def _set_theme(page, theme: str) -> None:
    page.evaluate(
        """(theme) => {
            document.documentElement.dataset.theme = theme;
            document.documentElement.dataset.mode = theme;
        }""",
        theme,
    )


def _move(explorer, label: str, labels: list[str]) -> None:
    """Put the slider on the stop labelled `label`, as a drag or a key press would."""
    index = labels.index(label)
    explorer.locator("input[type=range]").evaluate(
        "(el, i) => { el.value = String(i); el.dispatchEvent(new Event('input')); }", index
    )


def _stops(explorer, attribute: str, key: str | None = None) -> list[str]:
    import json

    data = json.loads(explorer.get_attribute(attribute))
    return data[key] if key else data


def _luminance(colour: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", colour)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _check_frame(page, explorer, theme: str, viewport: str, name: str) -> None:
    """The explorer fits the screen, its text is legible, its colours follow the theme."""
    width = VIEWPORTS[viewport]["viewport"]["width"]
    box = explorer.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, f"{name}: off-screen {box}"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width, (
        f"{name}: the page scrolls sideways"
    )
    assert explorer.locator(".sb-needs-js").count() == 0, f"{name}: the script did not run"
    style = explorer.evaluate(
        """(el) => {
            const s = getComputedStyle(el);
            const panel = el.closest('.text_html');
            return {bg: s.backgroundColor, fg: s.color,
                    panel: panel ? getComputedStyle(panel).backgroundColor : 'rgba(0, 0, 0, 0)',
                    smallest: Math.min(...Array.from(el.querySelectorAll('.sb-num'))
                        .map((n) => parseFloat(getComputedStyle(n).fontSize)))};
        }"""
    )
    assert style["smallest"] >= 11, f"{name}: numbers in {style['smallest']} px text"
    bg, fg = _luminance(style["bg"]), _luminance(style["fg"])
    if theme == "dark":
        assert bg < 0.25 and fg > 0.6, f"{name}: not dark in dark mode: {style}"
        panel = style["panel"]
        assert panel.startswith("rgba(0, 0, 0, 0)") or _luminance(panel) < 0.25, (
            f"{name}: sits on a light panel in dark mode: {style}"
        )
    else:
        assert bg > 0.8 and fg < 0.4, f"{name}: not light in light mode: {style}"


def _shot(explorer, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    explorer.screenshot(path=str(SCREENSHOTS / f"explorers-{name}.png"))


THEMES = ("light", "dark")


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_temperature_explorer(chromium, server, viewport, theme):  # noqa: F811
    page, problems, _ = _open(chromium[viewport], f"{server}/{CH1}")
    try:
        _set_theme(page, theme)
        explorer = page.locator("#ch1-temperature")
        assert explorer.count() == 1, "the temperature explorer is missing"
        explorer.scroll_into_view_if_needed()
        stops = _stops(explorer, "data-temperatures")
        text = page.locator("article").inner_text()
        for label in ("0.5", "1", "2", "10"):
            row = re.search(
                rf"T = +{re.escape(label)}: \[([0-9. ]+)\] +entropy = ([0-9.]+) nats", text
            )
            assert row, f"the chapter's table has no row for T = {label}"
            _move(explorer, label, stops)
            assert explorer.locator(".sb-t").inner_text() == label
            shown = explorer.locator(".sb-p").all_inner_texts()
            assert shown == row.group(1).split(), f"T = {label}: {shown} vs the table {row.group(1)}"
            assert explorer.locator(".sb-h").inner_text() == row.group(2)
        _move(explorer, "0.5", stops)
        _check_frame(page, explorer, theme, viewport, f"temperature ({viewport}, {theme})")
        _shot(explorer, f"temperature-{viewport}-{theme}")
        assert not problems, "; ".join(problems)
    finally:
        page.close()


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_imbalance_explorer(chromium, server, viewport, theme):  # noqa: F811
    page, problems, _ = _open(chromium[viewport], f"{server}/{CH3}")
    try:
        _set_theme(page, theme)
        explorer = page.locator("#ch3-imbalance")
        assert explorer.count() == 1, "the imbalance explorer is missing"
        explorer.scroll_into_view_if_needed()
        assert explorer.locator(".sb-rho").inner_text() == "50", "it should start at ρ = 50"
        rhos = _stops(explorer, "data-sweep", "rhos")
        text = page.locator("article").inner_text()
        for rho in rhos:
            row = re.search(rf"^ *{rho} \| (0\.\d{{3}}) ± 0\.\d{{3}} \| (0\.\d{{3}}) ±", text, re.M)
            assert row, f"the chapter's table has no row for ρ = {rho}"
            _move(explorer, rho, rhos)
            shown = [explorer.locator(f".sb-bacc-{k}").inner_text() for k in (0, 1)]
            assert shown == [row.group(1), row.group(2)], f"ρ = {rho}: {shown} vs the table"
            for k in (0, 1):  # every recall written out, with the table's three decimals
                values = explorer.locator(f".sb-recall-value-{k}")
                assert values.count() == 10
                assert all(re.fullmatch(r"[01]\.\d{3}", v) for v in values.all_inner_texts())
                assert all(values.nth(c).is_visible() for c in range(10))
        _move(explorer, "100", rhos)
        _check_frame(page, explorer, theme, viewport, f"imbalance ({viewport}, {theme})")
        _shot(explorer, f"imbalance-{viewport}-{theme}")
        assert not problems, "; ".join(problems)
    finally:
        page.close()


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_logit_adjustment_explorer(chromium, server, viewport, theme):  # noqa: F811
    page, problems, _ = _open(chromium[viewport], f"{server}/{CH4}")
    try:
        _set_theme(page, theme)
        explorer = page.locator("#ch4-logit-adjustment")
        assert explorer.count() == 1, "the logit adjustment explorer is missing"
        explorer.scroll_into_view_if_needed()
        assert explorer.locator(".sb-tau").inner_text() == "1"
        taus = _stops(explorer, "data-logits", "taus")
        text = page.locator("article").inner_text()
        for tau in ("1", "0", "0.5", "1.5", "2"):
            row = re.search(
                rf"^ *{re.escape(tau)} \| +(0\.\d{{3}}) \| +0\.\d{{3}} \| +(0\.\d{{3}}) \| (0\.\d{{3}})",
                text,
                re.M,
            )
            assert row, f"the chapter's table has no row for τ = {tau}"
            _move(explorer, tau, taus)
            shown = [explorer.locator(f".sb-la-{k}").inner_text() for k in ("bacc", "lt", "ece")]
            assert shown == list(row.groups()), f"τ = {tau}: {shown} vs the table {row.groups()}"
            recall = explorer.locator(".sb-la-recall").all_inner_texts()
            assert len(recall) == 10 and all(re.fullmatch(r"[01]\.\d{3}", v) for v in recall)
        _check_frame(page, explorer, theme, viewport, f"logit adjustment ({viewport}, {theme})")
        _shot(explorer, f"logit-adjustment-{viewport}-{theme}")
        assert not problems, "; ".join(problems)
    finally:
        page.close()
