"""Print the whole book to one PDF from the built website: ``python book/_ext/print_book.py``.

``make book`` runs it after the HTML build. It joins the article of every page of
``_toc.yml`` (preface, chapters, appendices; not the API reference) into one print page,
``_build/print/book.html``, whose relative links resolve into ``_build/html``, and prints it
with headless Chromium (Debian's ``chromium`` driven by Playwright, as in the browser test)
to ``_build/html/the-softmax-bottleneck.pdf``, the file every page links to. The print
stylesheet ``book/_static/sb-print.css`` wraps code and outputs instead of clipping them;
KaTeX typesets the math and the site's Chinese glyph subset is embedded.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import urljoin

import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
PRINT_DIR = ROOT / "_build" / "print"
PDF_NAME = "the-softmax-bottleneck.pdf"
SKIP_CAPTIONS = {"API reference"}


def toc_pages(root: Path = ROOT) -> list[str]:
    """Docnames of the book in reading order, without the parts in SKIP_CAPTIONS."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        if part.get("caption") in SKIP_CAPTIONS:
            continue
        walk(part.get("chapters"))
    return pages


_ARTICLE = re.compile(r'<article class="bd-article">(.*?)</article>', re.S)
_URL = re.compile(r'\b(src|href)="([^"]*)"')


def _article(site: Path, docname: str) -> str:
    page = site / f"{docname}.html"
    text = page.read_text("utf-8")
    match = _ARTICLE.search(text)
    if not match:
        raise SystemExit(f"{page}: no <article class=\"bd-article\"> (theme changed?)")
    body = match.group(1)

    def rebase(m: re.Match) -> str:
        attr, url = m.groups()
        if not url or url.startswith(("#", "data:", "http:", "https:", "mailto:", "javascript:")):
            return m.group(0)
        return f'{attr}="{urljoin(docname, url)}"'

    body = _URL.sub(rebase, body)
    body = re.sub(r'<a class="headerlink"[^>]*>.*?</a>', "", body, flags=re.S)
    return f'<section class="sb-print-page" id="page-{docname.replace("/", "-")}">{body}</section>'


def _title(site: Path, docname: str) -> str:
    article = _ARTICLE.search((site / f"{docname}.html").read_text("utf-8"))
    match = re.search(r"<h1>(.*?)</h1>", article.group(1) if article else "", re.S)
    title = re.sub(r"<a class=\"headerlink\".*?</a>|<[^>]+>", "", match.group(1)) if match else docname
    return html.unescape(title).replace("#", "").strip()


def write_print_page(site: Path = SITE, out_dir: Path = PRINT_DIR) -> Path:
    pages = toc_pages()
    missing = [p for p in pages if not (site / f"{p}.html").is_file()]
    if missing:
        raise SystemExit(f"Build the website first (make book): missing {missing[:3]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    base = os.path.relpath(site, out_dir).replace(os.sep, "/") + "/"
    contents = "".join(f"<li>{html.escape(_title(site, p))}</li>" for p in pages[1:])
    styles = [
        "_static/pygments.css",
        "_static/katex/katex.min.css",
        "_static/sb-cjk.css",
        "_static/sb-print.css",
    ]
    head = "".join(f'<link rel="stylesheet" href="{s}">' for s in styles if (site / s).is_file())
    document = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><base href="{base}">
<title>The Softmax Bottleneck</title>{head}
<script defer src="_static/katex/katex.min.js"></script>
<script defer src="_static/sb-math.js"></script>
</head><body>
<section class="sb-print-cover"><h1 class="sb-print-title">The Softmax Bottleneck</h1>
<p>How softmax works, why it becomes a bottleneck, and what fixes it.</p>
<h2>Contents</h2><ul class="sb-print-contents">{contents}</ul></section>
{"".join(_article(site, p) for p in pages)}
</body></html>
"""
    target = out_dir / "book.html"
    target.write_text(document, "utf-8")
    return target


def print_pdf(page_file: Path, pdf: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("Debian's chromium is needed to print the PDF: run `make browser-deps`")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"]
        )
        page = browser.new_page()
        page.goto(page_file.as_uri(), wait_until="load")
        page.wait_for_function("() => document.documentElement.dataset.sbMath === 'done'", timeout=60_000)
        page.evaluate("() => document.fonts.ready.then(() => true)")
        page.pdf(
            path=str(pdf),
            format="A4",
            print_background=True,
            margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
            display_header_footer=True,
            header_template="<span></span>",
            footer_template=(
                '<div style="font-size:8px;width:100%;text-align:center;color:#555">'
                'The Softmax Bottleneck · <span class="pageNumber"></span></div>'
            ),
        )
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=SITE)
    args = parser.parse_args(argv)
    page = write_print_page(args.site)
    pdf = args.site / PDF_NAME
    print_pdf(page, pdf)
    print(f"Wrote {pdf} ({pdf.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
