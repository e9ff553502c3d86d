"""The whole-book PDF (``make book``, ``book/_ext/print_book.py``): every chapter is in it, no
code or output line is clipped, the Chinese glyphs are embedded.

Runs with the browser test (it needs the built site and Debian's chromium); prints the PDF
first if ``make book`` has not. Reads the PDF with poppler's ``pdftotext`` and ``pdffonts``
(Debian's ``poppler-utils``, installed by ``make browser-deps``).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import print_book  # noqa: E402

PDF = SITE / print_book.PDF_NAME
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.fail(f"poppler's {name} is needed to read the PDF: run `make browser-deps`")
    return path


@pytest.fixture(scope="module")
def pdf() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"No built site at {SITE}: run `make test-site` (or `make book`) first")
    newest = max((SITE / f"{doc}.html").stat().st_mtime for doc in print_book.toc_pages())
    if not PDF.is_file() or PDF.stat().st_mtime < newest:
        print_book.main(["--site", str(SITE)])
    return PDF


@pytest.fixture(scope="module")
def text(pdf) -> str:
    # -raw: the order in which the text was drawn (DOM order), so that a code line whose
    # comment is set in another colour is not split into two columns.
    out = subprocess.run([_tool("pdftotext"), "-raw", "-enc", "UTF-8", str(pdf), "-"],
                         capture_output=True, text=True, check=True)
    return out.stdout


def _squash(s: str) -> str:
    """Text without whitespace or ligatures, so that wrapped lines compare equal."""
    s = s.replace("\ufb01", "fi").replace("\ufb02", "fl").replace("\ufb00", "ff")
    return re.sub(r"\s+", "", s)


def _in_pdf(chunk: str, squashed: str, gap: int = 120) -> bool:
    """`chunk` is in the text whole, or split once by a page break: its two halves a short
    stretch apart (the running footer and header sit between them). A clipped line has no
    second half at all."""
    if chunk in squashed:
        return True
    for k in range(12, len(chunk) - 11):  # both halves long enough not to match by chance
        start = squashed.find(chunk[:k])
        while start != -1:
            if chunk[k:] in squashed[start + k:start + k + gap + len(chunk)]:
                return True
            start = squashed.find(chunk[:k], start + 1)
    return False


def _code_lines(docname: str) -> list[str]:
    """The lines of the page's code cells and outputs, as the site shows them."""
    page = (SITE / f"{docname}.html").read_text("utf-8")
    article = print_book._ARTICLE.search(page).group(1)
    lines = []
    for block in re.findall(r"<pre[^>]*>(.*?)</pre>", article, re.S):
        plain = html.unescape(re.sub(r"<[^>]+>", "", block))
        lines += [line for line in plain.splitlines() if line.strip()]
    return lines


def test_every_chapter_title_is_in_the_pdf(text):
    squashed = _squash(text)
    titles = [print_book._title(SITE, doc) for doc in print_book.toc_pages()]
    assert len(titles) >= 18
    missing = [t for t in titles if _squash(t) not in squashed]
    assert not missing, f"chapters missing from the PDF: {missing}"


def test_no_code_or_output_line_is_clipped(text):
    """The longest code and output lines of every page appear whole (wrapped, not cut)."""
    squashed = _squash(text)
    clipped = []
    for doc in print_book.toc_pages():
        lines = sorted(_code_lines(doc), key=len, reverse=True)[:3]
        for line in lines:
            # ASCII runs only: pdftotext maps some symbols (minus signs, box drawing) its own way.
            chunks = [c for c in re.split(r"[^\x21-\x7e]", _squash(line)) if len(c) >= 4]
            if sum(map(len, chunks)) >= 30 and not all(_in_pdf(c, squashed) for c in chunks):
                clipped.append(f"{doc}: {line.strip()[:80]}")
    assert not clipped, "lines clipped in the PDF:\n" + "\n".join(clipped)


def test_chinese_glyphs_are_embedded(pdf, text):
    glossary = (SITE / "book" / "appendices" / "glossary.html").read_text("utf-8")
    wanted = set(CJK.findall(glossary))
    assert len(wanted) > 50, "the glossary lost its Chinese terms"
    missing = wanted - set(CJK.findall(text))
    assert not missing, f"Chinese characters missing from the PDF text: {sorted(missing)[:20]}"
    fonts = subprocess.run([_tool("pdffonts"), str(pdf)], capture_output=True, text=True, check=True)
    rows = fonts.stdout.splitlines()[2:]
    assert rows, "no fonts in the PDF"
    not_embedded = [row for row in rows if row.split()[-5] != "yes"]
    assert not not_embedded, f"fonts not embedded: {not_embedded}"


def test_pdf_has_math_and_figures(pdf):
    fonts = subprocess.run([_tool("pdffonts"), str(pdf)], capture_output=True, text=True,
                           check=True).stdout
    assert "KaTeX_Main" in fonts and "KaTeX_Math" in fonts, "the mathematics was not typeset"
    images = subprocess.run([_tool("pdfimages"), "-list", str(pdf)], capture_output=True,
                            text=True, check=True).stdout.splitlines()[2:]
    figures = sum(1 for doc in print_book.toc_pages()
                  for _ in re.finditer(r"<img ", print_book._ARTICLE.search(
                      (SITE / f"{doc}.html").read_text("utf-8")).group(1)))
    assert len(images) >= figures * 0.9, f"{len(images)} images in the PDF, {figures} on the site"


def _article(docname: str) -> str:
    return print_book._ARTICLE.search((SITE / f"{docname}.html").read_text("utf-8")).group(1)


def _plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def test_results_tables_are_whole_in_the_pdf(text):
    """Every cell of every results table (softmax_bottleneck.tables.Table) is in the PDF."""
    squashed = _squash(text)
    n_tables, cut = 0, []
    for doc in print_book.toc_pages():
        for table in re.findall(r'<table class="sb-table">(.*?)</table>', _article(doc), re.S):
            n_tables += 1
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
                for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S):
                    chunks = [c for c in re.split(r"[^\x21-\x7e]", _squash(_plain(cell)))
                              if len(c) >= 3]
                    if not all(c in squashed for c in chunks):
                        cut.append(f"{doc}: {_plain(cell)[:60]}")
    assert n_tables >= 10, f"only {n_tables} results tables in the book"
    assert not cut, "table cells missing from the PDF:\n" + "\n".join(cut[:20])


def test_figure_numbers_and_captions_are_in_the_pdf(text):
    squashed = _squash(text)
    captions = []
    for doc in print_book.toc_pages():
        for number, caption in re.findall(
                r'<span class="caption-number">(.*?)</span>\s*<span class="caption-text">(.*?)</span>',
                _article(doc), re.S):
            if _plain(number).startswith("Fig"):
                captions.append((doc, _plain(number), _plain(caption)))
    assert len(captions) >= 10, f"only {len(captions)} numbered figures in the book"
    missing = [f"{doc}: {number}" for doc, number, caption in captions
               if _squash(number + " " + " ".join(caption.split()[:6])) not in squashed]
    assert not missing, "figure captions missing from the PDF: " + ", ".join(missing[:20])
