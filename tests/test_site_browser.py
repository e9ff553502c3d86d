"""The built website in a real headless Chromium: every page renders, offline, at phone and
desktop widths, without errors, light, and accessible.

Run after the site is built (``make test`` builds it in ``test-site`` first). Each page is
served from a local HTTP server with the browser cache off (every load is a first load); any
request that leaves localhost is blocked and counts as a failure, so a CDN dependency cannot
hide. Every page is opened at 390 x 844 (a phone) and 1366 x 900 (a laptop) and must:

- load without console errors, failed requests or off-site requests;
- show no raw TeX, no KaTeX error, no Python error text, no broken image;
- never scroll sideways; every display equation and table is visible or sits in a frame that
  scrolls and shows a scroll cue;
- weigh at most ``PAGE_BUDGET`` bytes, everything it transfers except its own figures;
- have 0 critical and 0 serious axe-core violations (``tests/vendor/axe.min.js``; run at the
  desktop width only: the DOM is the same at both widths, and axe is the slowest step);
- link to the whole-book PDF.

Full-page screenshots land in ``_build/screenshots/`` as test artifacts.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
AXE = ROOT / "tests" / "vendor" / "axe.min.js"
PAGE_BUDGET = 1_500_000  # bytes a page may transfer on a first load, its own figures aside
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1366, "height": 900}},
}

# Text a reader should never see: TeX that was not typeset, or Python errors.
RAW_MATH = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\[|\\begin\{|\\frac|\\sum_")
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|\b\w+Error: |Loading widget")


def _chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Debian's chromium is needed for the browser test: run `make browser-deps`")
    return path


def _pages() -> list[str]:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"No built site at {SITE}: run `make test-site` (or `make book`) first")
    pages = []
    for path in sorted(SITE.rglob("*.html")):
        rel = path.relative_to(SITE).as_posix()
        if rel.startswith(("_static/", "_sources/", "_images/")):
            continue
        pages.append(rel)
    return pages


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        """Keep the test log readable: no line per request (failures are collected instead)."""


@pytest.fixture(scope="module")
def chromium():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with tempfile.TemporaryDirectory(prefix="sb-chromium-"):
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS
            )
            contexts = {name: browser.new_context(**opts) for name, opts in VIEWPORTS.items()}
            yield contexts
            for context in contexts.values():
                context.close()
            browser.close()


@pytest.fixture(scope="module")
def browser(chromium):
    """The desktop context, for the tests that need one width only."""
    return chromium["desktop"]


def _open(context, url: str):
    """Open `url` on a cold cache, collecting every problem the page reports while it loads.

    Returns the page, the list of problems and the list of (url, bytes) transferred.
    """
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    problems: list[str] = []
    transfers: list[tuple[str, int]] = []
    page.on(
        "console",
        lambda msg: problems.append(f"console {msg.type}: {msg.text}")
        if msg.type in ("error", "warning") and "DevTools" not in msg.text
        else None,
    )
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url}"))
    page.on(
        "response",
        lambda resp: problems.append(f"HTTP {resp.status}: {resp.url}") if resp.status >= 400 else None,
    )

    def finished(request):
        sizes = request.sizes()
        transfers.append((request.url, sizes["responseBodySize"] + sizes["responseHeadersSize"]))

    page.on("requestfinished", finished)

    def only_local(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            problems.append(f"request leaves the site: {route.request.url}")
            route.abort()

    page.route("**/*", only_local)
    page.goto(url, wait_until="load")
    # index.html redirects to the preface: let any redirect settle before looking inside.
    page.wait_for_load_state("networkidle")
    # KaTeX typesets on DOMContentLoaded (book/_static/sb-math.js marks the page when done).
    page.wait_for_function(
        "() => !document.querySelector('.math') || document.documentElement.dataset.sbMath === 'done'",
        timeout=60_000,
    )
    page.wait_for_load_state("networkidle")
    return page, problems, transfers


def _visible_prose(page) -> str:
    """The page's visible text without code blocks (where `$` and `\\(` are legitimate)."""
    return page.evaluate(
        """() => {
            const main = document.querySelector('main') || document.body;
            const clone = main.cloneNode(true);
            clone.querySelectorAll('pre, code, script, style, .katex, math')
                 .forEach(el => el.remove());
            return clone.innerText;
        }"""
    )


def _text_without_inline_code(page) -> str:
    """Visible text, outputs included, without inline code (where prose may name an error)
    and without the API reference's doctest examples (which show the errors a function raises).
    """
    return page.evaluate(
        """() => {
            const clone = document.body.cloneNode(true);
            clone.querySelectorAll('code.literal, script, style, div.doctest').forEach(el => el.remove());
            return clone.innerText;
        }"""
    )


# Display equations and tables that stick out of the window without a scrolling frame, and
# frames that scroll without the visible cue (class sb-scrolls, set by sb-site.js).
_HIDDEN_CONTENT = """() => {
    const width = window.innerWidth;
    const bad = [];
    const frameOf = (el) => {
        for (let e = el; e && e !== document.body; e = e.parentElement) {
            const ox = getComputedStyle(e).overflowX;
            if ((ox === 'auto' || ox === 'scroll') && e.scrollWidth > e.clientWidth + 1) return e;
        }
        return null;
    };
    const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' +
        (el.innerText || '').trim().slice(0, 40).replace(/\\s+/g, ' ') + '"';
    document.querySelectorAll('article div.math, article table').forEach((el) => {
        if (!el.offsetParent) return;  // not displayed (collapsed cell)
        const r = el.getBoundingClientRect();
        const frame = frameOf(el);
        if (frame) {
            const f = frame.getBoundingClientRect();
            if (f.right > width + 1 || f.left < -1) bad.push('frame off screen: ' + name(el));
            else if (!frame.classList.contains('sb-scrolls')) bad.push('no scroll cue: ' + name(el));
        } else if (r.right > width + 1 || r.left < -1) {
            bad.push('cut off: ' + name(el));
        }
    });
    return bad;
}"""

_AXE_RUN = """async () => {
    const result = await axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
        resultTypes: ['violations'],
    });
    return result.violations
        .filter(v => v.impact === 'critical' || v.impact === 'serious')
        .map(v => `${v.impact} ${v.id} x${v.nodes.length}: ${v.nodes[0].target.join(' ')}`);
}"""


def _page_ids() -> list[str]:
    return _pages() if (SITE / "index.html").is_file() else ["index.html"]


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("rel", _page_ids())
def test_page_renders_cleanly(chromium, server, rel, viewport):
    page, problems, transfers = _open(chromium[viewport], f"{server}/{rel}")
    try:
        where = f"{rel} ({viewport})"
        prose = _visible_prose(page)
        raw = RAW_MATH.findall(prose)
        assert not raw, f"{where}: unrendered math in visible text: {raw[:5]}"
        assert page.locator(".katex-error").count() == 0, f"{where}: KaTeX could not typeset a formula"
        errors = ERROR_TEXT.findall(_text_without_inline_code(page))
        assert not errors, f"{where}: error text in the page: {errors[:5]}"
        assert page.locator(".output.traceback, .output.error").count() == 0, f"{where}: error output"
        assert page.locator("script[type='application/vnd.jupyter.widget-view+json']").count() == 0, (
            f"{where}: a widget that needs a kernel is shown on the website"
        )
        images = page.evaluate(
            """() => Array.from(document.images).map(img => ({
                src: img.currentSrc || img.src, ok: img.complete && img.naturalWidth > 0,
                alt: (img.getAttribute('alt') || '').trim()}))"""
        )
        broken = [img["src"] for img in images if not img["ok"]]
        assert not broken, f"{where}: images that did not load: {broken}"
        if rel.startswith("book/"):
            no_alt = [img["src"] for img in images if not img["alt"] and "logo" not in img["src"]]
            assert not no_alt, f"{where}: figures without alt text: {no_alt}"

        # Nothing hidden off the right edge, and no sideways page scroll.
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1] + 1, f"{where}: the page scrolls sideways ({widths})"
        hidden = page.evaluate(_HIDDEN_CONTENT)
        assert not hidden, f"{where}: " + "; ".join(hidden[:5])

        # Light: everything but the page's own figures.
        weight = sum(n for url, n in transfers if "/_images/" not in url)
        heavy = sorted(transfers, key=lambda t: -t[1])[:3]
        assert weight <= PAGE_BUDGET, f"{where}: {weight:,} bytes on a first load; largest {heavy}"

        # The whole-book PDF is one click away on every page.
        assert page.locator("a[href$='the-softmax-bottleneck.pdf']").count() >= 1, f"{where}: no PDF link"

        if viewport == "desktop":
            page.add_script_tag(content=AXE.read_text("utf-8"))
            violations = page.evaluate(_AXE_RUN)
            assert not violations, f"{where}: axe-core: " + "; ".join(violations)

        assert not problems, f"{where}: " + "; ".join(problems)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = rel.replace("/", "__").removesuffix(".html") + f"-{viewport}.png"
        # The whole page on a laptop; the first screen on a phone (what a reader sees first).
        page.screenshot(path=str(SCREENSHOTS / name), full_page=viewport == "desktop")
    finally:
        page.close()


@pytest.mark.parametrize("toggle", ["primary", "secondary"])
def test_phone_toc_buttons_open_their_drawer(chromium, server, toggle):
    page, problems, _ = _open(chromium["phone"], f"{server}/book/01-softmax/what-softmax-is.html")
    try:
        button = page.locator(f".{toggle}-toggle:visible")
        assert button.count() == 1, f"one visible {toggle} table-of-contents button on a phone"
        dialog = page.locator(f"#pst-{toggle}-sidebar-modal")
        assert not dialog.evaluate("d => d.open")
        button.click()  # one tap
        page.wait_for_function(f"() => document.querySelector('#pst-{toggle}-sidebar-modal').open")
        if toggle == "primary":
            chapter = dialog.get_by_role("link", name=re.compile(r"^1\. What softmax is"))
        else:
            chapter = dialog.locator("a.nav-link").first
        assert chapter.is_visible(), "the drawer opened but its links are not visible"
        assert not problems, "; ".join(problems)
    finally:
        page.close()


def test_desktop_has_no_top_band_and_one_search_box(chromium, server):
    page, problems, _ = _open(chromium["desktop"], f"{server}/book/01-softmax/what-softmax-is.html")
    try:
        assert not page.locator(".bd-header").is_visible(), "the empty top navbar is back"
        assert page.locator(".search-button-field:visible").count() == 1
        sidebar = page.locator("#pst-primary-sidebar")
        assert sidebar.is_visible()
        page.locator(".primary-toggle:visible").click()
        page.wait_for_function(
            "() => document.querySelector('#pst-primary-sidebar').classList.contains('pst-sidebar-hidden')"
        )
        assert not problems, "; ".join(problems)
    finally:
        page.close()


def test_navigation_numbers_chapters_and_letters_appendices(chromium, server):
    page, problems, _ = _open(chromium["desktop"], f"{server}/book/01-softmax/what-softmax-is.html")
    try:
        links = page.locator("#pst-primary-sidebar a.reference").all_inner_texts()
        text = [" ".join(t.split()) for t in links]
        for expected in ["1. What softmax is", "9. Open problems", "A. References", "F. Setting up",
                         "G. Corrections to the source documents"]:
            assert any(t.startswith(expected) for t in text), (expected, text)
        assert "Glossary" in text, "the glossary stays unnumbered"
        assert page.locator("article h1").first.inner_text().startswith("1. What softmax is")
        assert not problems, "; ".join(problems)
    finally:
        page.close()


def test_math_is_typeset_by_the_local_katex(browser, server):
    page, problems, _ = _open(browser, f"{server}/book/01-softmax/what-softmax-is.html")
    try:
        assert page.locator(".katex").count() > 20, "KaTeX typeset too few formulas"
        assert page.locator(".katex-error").count() == 0
        assert page.locator("math").count() > 20, "no MathML for screen readers"
        scripts = page.evaluate("() => Array.from(document.scripts).map(s => s.src).filter(Boolean)")
        katex = [s for s in scripts if "/katex/katex.min.js" in s]
        assert katex and all(s.startswith(server) for s in katex)
        assert not any("mathjax" in s.lower() or "fontawesome.js" in s or "searchindex" in s for s in scripts)
        # The equation numbers stay beside their equations.
        assert page.locator("div.math span.eqno").first.inner_text().startswith("(1.1)")
        assert not problems, "; ".join(problems)
    finally:
        page.close()


def test_search_still_works_offline(browser, server):
    page, problems, _ = _open(browser, f"{server}/search.html?q=temperature")
    try:
        page.wait_for_selector("#search-results li", timeout=20_000)
        assert page.locator("#search-results li").count() >= 3
        assert not problems, "; ".join(problems)
    finally:
        page.close()


def test_glossary_chinese_is_tagged_and_uses_the_site_font(browser, server):
    page, problems, transfers = _open(browser, f"{server}/book/appendices/glossary.html")
    try:
        spans = page.locator("[lang='zh-Hans']")
        assert spans.count() >= 20, "the glossary's Chinese terms are not tagged lang=zh-Hans"
        assert any("瓶颈" in t for t in spans.all_inner_texts())
        family = spans.first.evaluate("e => getComputedStyle(e).fontFamily")
        assert family.startswith('"SB Noto Sans SC"'), family
        assert any(url.endswith("sb-noto-sans-sc.woff") for url, _ in transfers), (
            "the Chinese glyph subset was not loaded"
        )
        loaded = page.evaluate(
            "() => document.fonts.check('16px \"SB Noto Sans SC\"', '瓶颈')"
            " && Array.from(document.fonts).some(f => f.family.includes('SB Noto Sans SC') && f.status === 'loaded')"
        )
        assert loaded, "the subset font did not load"
        assert not problems, "; ".join(problems)
    finally:
        page.close()


def _chapter_pages() -> list[str]:
    if not (SITE / "index.html").is_file():
        return []
    sys.path.insert(0, str(ROOT / "scripts"))
    from toc_notebooks import toc_notebooks

    return [nb.relative_to(ROOT).with_suffix(".html").as_posix() for nb in toc_notebooks(ROOT)]


@pytest.mark.parametrize("rel", _chapter_pages())
def test_chapter_has_colab_and_download_buttons(browser, server, rel):
    page, problems, _ = _open(browser, f"{server}/{rel}")
    try:
        hrefs = page.evaluate("() => Array.from(document.links).map(a => a.href)")
        notebook = rel.removesuffix(".html") + ".ipynb"
        colab = [h for h in hrefs if h.startswith("https://colab.research.google.com/github/")]
        assert colab and all(h.endswith("/" + notebook) for h in colab), colab
        downloads = [h for h in hrefs if h.startswith(server) and h.endswith(".ipynb")]
        assert downloads, f"{rel}: no download link for the notebook"
        response = page.request.get(downloads[0])
        assert response.ok and response.json()["nbformat"] == 4
        assert not problems, "; ".join(problems)
    finally:
        page.close()


# --- Results tables and figures (issue 12, points 3 and 4) -------------------------------------


def _notebook_pages(predicate) -> list[str]:
    """Chapter pages whose notebook satisfies `predicate(nb)` (e.g. shows a results table)."""
    if not (SITE / "index.html").is_file():
        return []
    sys.path.insert(0, str(ROOT / "scripts"))
    import json

    from toc_notebooks import toc_notebooks

    pages = []
    for nb in toc_notebooks(ROOT):
        if predicate(json.loads(nb.read_text("utf-8"))):
            pages.append(nb.relative_to(ROOT).with_suffix(".html").as_posix())
    return pages


def _shows_results_tables(nb) -> bool:
    return any("sb-table" in "".join(out.get("data", {}).get("text/html", ""))
               for cell in nb["cells"] if cell["cell_type"] == "code"
               for out in cell.get("outputs", []))


def _captions_figures(nb) -> bool:
    return any("figure" in cell["metadata"].get("mystnb", {}) for cell in nb["cells"])


_TABLES = """() => Array.from(document.querySelectorAll('article table.sb-table')).map((t) => {
    const frame = t.closest('.sb-table-frame, .pst-scrollable-table-container');
    const f = frame ? frame.getBoundingClientRect() : null;
    const num = t.querySelector('tbody td.sb-num');
    return {
        caption: (t.caption ? t.caption.innerText : '').trim(),
        heads: t.querySelectorAll('thead th').length,
        rows: t.querySelectorAll('tbody tr').length,
        frame: !!frame,
        left: f ? f.left : null, right: f ? f.right : null,
        overflows: frame ? frame.scrollWidth > frame.clientWidth + 1 : false,
        cue: frame ? frame.classList.contains('sb-scrolls') : false,
        numbers: num ? getComputedStyle(num).textAlign : 'right',
    };
})"""

# Output blocks that still print an aligned text table ("a | b | c" on two or more lines).
# Exempt: a cell tagged `explorer-mirror`, whose text the page explorer beside it is checked
# against (tests/test_site_explorers.py reads it as text).
_TEXT_TABLES = """() => Array.from(document.querySelectorAll('article .cell_output pre'))
    .filter(pre => !pre.closest('.tag_explorer-mirror'))
    .filter(pre => pre.innerText.split('\\n').filter(l => /\\S \\| \\S.* \\| /.test(l)).length >= 2)
    .map(pre => pre.innerText.slice(0, 60))"""


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("rel", _notebook_pages(_shows_results_tables))
def test_results_are_real_tables_that_fit_or_scroll_in_a_frame(chromium, server, rel, viewport):
    page, problems, _ = _open(chromium[viewport], f"{server}/{rel}")
    try:
        where = f"{rel} ({viewport})"
        width = page.evaluate("() => window.innerWidth")
        tables = page.evaluate(_TABLES)
        assert tables, f"{where}: no results table (table.sb-table)"
        for t in tables:
            name = f"{where}, table {t['caption']!r}"
            assert t["heads"] >= 2 and t["rows"] >= 1, f"{name}: no header row or no body"
            assert t["frame"], f"{name}: not in a frame"
            assert t["left"] >= -1 and t["right"] <= width + 1, f"{name}: its frame is off screen"
            assert not t["overflows"] or t["cue"], f"{name}: scrolls without a visible cue"
            assert t["numbers"] == "right", f"{name}: numbers are not right-aligned"
        assert not page.evaluate(_TEXT_TABLES), f"{where}: a results table is still printed text"
        assert not problems, "; ".join(problems)
    finally:
        page.close()


_FIGURES = """() => Array.from(document.querySelectorAll('article .cell_output img')).map((img) => {
    const figure = img.closest('figure');
    const number = figure && figure.querySelector('figcaption .caption-number');
    const text = figure && figure.querySelector('figcaption .caption-text');
    return {
        src: img.getAttribute('src'),
        number: number ? number.innerText.trim() : '',
        caption: text ? text.innerText.trim() : '',
        id: figure ? figure.id : '',
        alt: (img.getAttribute('alt') || '').trim(),
        zoom: !!img.closest('a.sb-zoom'),
        natural: img.naturalWidth,
        // myst-nb writes the display size of a 2x PNG into the style (from the output's metadata)
        shown: parseFloat(img.style.width) || Number(img.getAttribute('width')) || img.naturalWidth,
        ratio: img.getBoundingClientRect().height > 0 ? (img.getBoundingClientRect().width / img.getBoundingClientRect().height) / (img.naturalWidth / img.naturalHeight) : 1,
    };
})"""


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("rel", _notebook_pages(_captions_figures))
def test_figures_are_numbered_captioned_sharp_and_zoomable(chromium, server, rel, viewport):
    page, problems, _ = _open(chromium[viewport], f"{server}/{rel}")
    try:
        figures = page.evaluate(_FIGURES)
        assert figures, f"{rel}: no figures"
        numbers = []
        for f in figures:
            name = f"{rel} ({viewport}): {f['src']}"
            assert re.fullmatch(r"Fig\. [0-9A-Z]+\.\d+", f["number"]), f"{name}: number {f['number']!r}"
            assert len(f["caption"]) > 20, f"{name}: no caption"
            assert f["id"].startswith("fig-"), f"{name}: the figure has no name to cite"
            assert f["alt"], f"{name}: no alt text"
            assert f["zoom"], f"{name}: does not open at full size"
            # "retina" PNGs: twice the pixels of the size they are shown at
            assert f["natural"] >= 1.9 * f["shown"], f"{name}: {f['natural']} px shown at {f['shown']}"
            assert abs(f["ratio"] - 1) < 0.02, f"{name}: shown with a distorted aspect ratio"
            numbers.append(f["number"])
        assert len(set(numbers)) == len(numbers), f"{rel}: repeated figure numbers {numbers}"
        assert not problems, "; ".join(problems)
    finally:
        page.close()


_LIGHTBOX = "dialog.sb-lightbox"


def test_figure_opens_full_size_on_tap_and_from_the_keyboard(chromium, server):
    pages = _notebook_pages(_captions_figures)
    assert pages, "no chapter with captioned figures"
    page, problems, _ = _open(chromium["phone"], f"{server}/{pages[0]}")
    try:
        link = page.locator("article a.sb-zoom").first
        link.scroll_into_view_if_needed()
        shown = link.locator("img").evaluate("img => img.getBoundingClientRect().width")
        link.tap()
        page.wait_for_function(f"() => document.querySelector('{_LIGHTBOX}')?.open")
        big = page.locator(f"{_LIGHTBOX} img")
        page.wait_for_function(f"() => document.querySelector('{_LIGHTBOX} img').complete")
        full = big.evaluate("img => img.getBoundingClientRect().width")
        assert full > 1.5 * shown, f"the figure opened at {full} px, not larger than its {shown} px"
        assert big.get_attribute("alt"), "the full-size image lost its alt text"
        assert page.evaluate("() => document.activeElement.classList.contains('sb-lightbox-close')")
        page.keyboard.press("Escape")
        page.wait_for_function(f"() => !document.querySelector('{_LIGHTBOX}').open")
        assert page.evaluate("() => document.activeElement.classList.contains('sb-zoom')"), (
            "focus did not return to the figure"
        )
        # Keyboard: Enter on the focused figure opens it, the close button closes it.
        page.keyboard.press("Enter")
        page.wait_for_function(f"() => document.querySelector('{_LIGHTBOX}').open")
        page.locator(".sb-lightbox-close").click()
        page.wait_for_function(f"() => !document.querySelector('{_LIGHTBOX}').open")
        # Without the script the link itself leads to the image file.
        response = page.request.get(link.evaluate("a => a.href"))
        assert response.ok and response.headers["content-type"].startswith("image/")
        assert not problems, "; ".join(problems)
    finally:
        page.close()
