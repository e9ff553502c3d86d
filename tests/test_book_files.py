"""Checks on the book's sources that need no kernel: one bibliography, every citation in it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"

# {cite}`a,b`, {cite:p}`a`, {cite:t}`a`, {cite:ps}`a` ... in Markdown and notebook cells.
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
ENTRY = re.compile(r"@(\w+)\{([^,\s]+),(.*?)\n\}", re.S)


def _bib_entries() -> dict[str, str]:
    return {key: body for _, key, body in ENTRY.findall(BIB.read_text(encoding="utf-8"))}


def _book_texts() -> dict[Path, str]:
    texts = {}
    for path in sorted((ROOT / "book").rglob("*")):
        if "_build" in path.parts or ".ipynb_checkpoints" in path.parts:
            continue
        if path.suffix == ".md":
            texts[path] = path.read_text(encoding="utf-8")
        elif path.suffix == ".ipynb":
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            texts[path] = "\n".join("".join(c["source"]) for c in cells)
    return texts


def test_config_lists_exactly_one_bibliography() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["bibtex_bibfiles"] == ["book/references.bib"]
    assert sorted(p.name for p in (ROOT / "book").glob("*.bib")) == ["references.bib"]


def test_bibliography_keys_are_unique_and_complete() -> None:
    text = BIB.read_text(encoding="utf-8")
    keys = [key for _, key, _ in ENTRY.findall(text)]
    assert len(keys) == len(set(keys)), "duplicate BibTeX keys"
    assert len(keys) == text.count("\n@") + text.startswith("@"), "an entry did not parse"
    for key, body in _bib_entries().items():
        for field in ("author", "title", "year"):
            assert re.search(rf"^\s*{field}\s*=", body, re.M), f"{key} has no {field}"


def test_every_citation_is_in_the_bibliography() -> None:
    keys = set(_bib_entries())
    cited = {}
    for path, text in _book_texts().items():
        for group in CITE.findall(text):
            for key in group.split(","):
                cited.setdefault(key.strip(), path)
    assert cited, "no citations found: the pattern is wrong"
    missing = {k: str(p.relative_to(ROOT)) for k, p in cited.items() if k not in keys}
    assert not missing, f"cited but not in references.bib: {missing}"


def test_no_work_is_listed_twice() -> None:
    titles: dict[str, str] = {}
    for key, body in _bib_entries().items():
        match = re.search(r"^\s*title\s*=\s*\{(.*?)\},?\s*$", body, re.M | re.S)
        assert match, f"{key}: title not parsed"
        title = re.sub(r"[^a-z0-9]", "", match.group(1).lower())
        assert title not in titles, f"{key} and {titles[title]} are the same work"
        titles[title] = key


def test_every_reference_has_a_doi_or_url() -> None:
    # The website and the PDF link every reference to the paper itself (issue 12): an entry
    # without a DOI or URL would print as a dead citation.
    bare = [
        key for key, body in _bib_entries().items()
        if not re.search(r"^\s*(doi|url)\s*=\s*\{\S", body, re.M)
    ]
    assert not bare, f"references without a DOI or URL: {bare}"
