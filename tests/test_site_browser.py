"""The built website in a real headless Chromium: every page renders, offline, without errors.

Run after the site is built (``make test`` builds it in ``test-site`` first). Each page is
served from a local HTTP server; any request that leaves localhost is blocked and counts as a
failure, so a CDN dependency cannot hide. A full-page screenshot of every page is saved to
``_build/screenshots/`` as a test artifact.
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
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Text a reader should never see: TeX that MathJax did not typeset, or Python errors.
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
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with tempfile.TemporaryDirectory(prefix="sb-chromium-") as profile:
        with playwright_api.sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile,
                executable_path=_chromium(),
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1280, "height": 900},
            )
            yield context
            context.close()


def _open(browser, url: str):
    """Open `url`, collecting every problem the page reports while it loads."""
    page = browser.new_page()
    problems: list[str] = []
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
    # MathJax typesets asynchronously; wait until it has finished (if the page loads it).
    ready = "() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)"
    page.wait_for_function(ready, timeout=20_000)
    page.evaluate(
        "() => (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) || null"
    )
    page.wait_for_load_state("networkidle")
    return page, problems


def _visible_prose(page) -> str:
    """The page's visible text without code blocks (where `$` and `\\(` are legitimate)."""
    return page.evaluate(
        """() => {
            const main = document.querySelector('main') || document.body;
            const clone = main.cloneNode(true);
            clone.querySelectorAll('pre, code, script, style, mjx-container, .MathJax, mjx-assistive-mml')
                 .forEach(el => el.remove());
            return clone.innerText;
        }"""
    )


def _text_without_inline_code(page) -> str:
    """Visible text, outputs included, without inline code (where prose may name an error)."""
    return page.evaluate(
        """() => {
            const clone = document.body.cloneNode(true);
            clone.querySelectorAll('code.literal, script, style').forEach(el => el.remove());
            return clone.innerText;
        }"""
    )


@pytest.mark.parametrize("rel", _pages() if (SITE / "index.html").is_file() else ["index.html"])
def test_page_renders_cleanly(browser, server, rel):
    page, problems = _open(browser, f"{server}/{rel}")
    try:
        prose = _visible_prose(page)
        raw = RAW_MATH.findall(prose)
        assert not raw, f"{rel}: unrendered math in visible text: {raw[:5]}"
        errors = ERROR_TEXT.findall(_text_without_inline_code(page))
        assert not errors, f"{rel}: error text in the page: {errors[:5]}"
        assert page.locator(".output.traceback, .output.error").count() == 0, f"{rel}: error output"
        assert page.locator("script[type='application/vnd.jupyter.widget-view+json']").count() == 0, (
            f"{rel}: a widget that needs a kernel is shown on the website"
        )
        images = page.evaluate(
            """() => Array.from(document.images).map(img => ({
                src: img.currentSrc || img.src, ok: img.complete && img.naturalWidth > 0,
                alt: (img.getAttribute('alt') || '').trim()}))"""
        )
        broken = [img["src"] for img in images if not img["ok"]]
        assert not broken, f"{rel}: images that did not load: {broken}"
        if rel.startswith("book/"):
            no_alt = [img["src"] for img in images if not img["alt"] and "logo" not in img["src"]]
            assert not no_alt, f"{rel}: figures without alt text: {no_alt}"
        assert not problems, f"{rel}: " + "; ".join(problems)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / (rel.replace("/", "__") + ".png")), full_page=True)
    finally:
        page.close()


def test_math_is_typeset_by_the_local_mathjax(browser, server):
    page, problems = _open(browser, f"{server}/book/01-softmax/what-softmax-is.html")
    try:
        assert page.locator("mjx-container").count() > 20, "MathJax typeset too few formulas"
        scripts = page.evaluate("() => Array.from(document.scripts).map(s => s.src).filter(Boolean)")
        assert any(s.endswith("mathjax/tex-chtml.js") and s.startswith(server) for s in scripts)
        assert not problems, "; ".join(problems)
    finally:
        page.close()


def test_temperature_explorer_moves_in_the_browser(browser, server):
    page, problems = _open(browser, f"{server}/book/01-softmax/what-softmax-is.html")
    try:
        explorer = page.locator("#ch1-temperature")
        assert explorer.count() == 1, "the static temperature explorer is missing"
        values = explorer.locator(".sb-p")
        at_one = values.all_inner_texts()
        assert at_one == ["0.629", "0.231", "0.140"], at_one   # softmax([2, 1, 0.5])
        slider = explorer.locator("input[type=range]")
        slider.evaluate("(el) => { el.value = '1.3'; el.dispatchEvent(new Event('input')); }")
        hot = [float(v) for v in values.all_inner_texts()]
        assert explorer.locator(".sb-t").inner_text() == "19.95"
        assert max(hot) - min(hot) < 0.05, f"T = 20 should be nearly uniform, got {hot}"
        slider.evaluate("(el) => { el.value = '-1.3'; el.dispatchEvent(new Event('input')); }")
        cold = [float(v) for v in values.all_inner_texts()]
        assert cold[0] > 0.99, f"T = 0.05 should be nearly one-hot, got {cold}"
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
    page, problems = _open(browser, f"{server}/{rel}")
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
