"""Print the notebooks listed in _toc.yml, one path per line (used by `make`)."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files(toc: dict) -> list[str]:
    """All `file:` entries of a Jupyter Book table of contents, in reading order."""
    found: list[str] = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                found.append(entry["file"])
            for key in ("chapters", "sections", "parts"):
                walk(entry.get(key, []))

    walk(toc.get("parts", []) + toc.get("chapters", []))
    return found


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    paths = [root / f"{f}.ipynb" for f in toc_files(toc)]
    return [p for p in paths if p.exists()]


if __name__ == "__main__":
    for path in toc_notebooks():
        sys.stdout.write(f"{path.relative_to(ROOT)}\n")
