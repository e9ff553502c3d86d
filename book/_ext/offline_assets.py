"""Sphinx extension: a site that renders offline and loads without console errors.

- MathJax 3 comes from the `django-static-mathjax` wheel on PyPI (plain MathJax 3.2.2 files;
  Django is not needed). Its `es5` folder is copied into `_static/mathjax`, and `_config.yml`
  points `mathjax_path` at `mathjax/tex-chtml.js`, so the book renders offline.
- Jupyter Book 1 registers sphinx-thebe's inline configuration script twice; the second
  ``const THEBE_JS_URL`` is a SyntaxError in the browser. Identical scripts are dropped.
- pydata-sphinx-theme logs "Got invalid theme mode" on a first visit unless ``default_mode``
  is set in ``html_context``; it is set to "auto" (follow the reader's system setting).
"""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError


def _mathjax_es5() -> Path:
    try:
        root = Path(str(files("mathjax"))) / "static" / "mathjax" / "es5"
    except ModuleNotFoundError as err:
        raise ExtensionError(
            "MathJax is missing: install the book extras (pip install -e '.[book]')"
        ) from err
    if not (root / "tex-chtml.js").is_file():
        raise ExtensionError(f"MathJax files not found under {root}")
    return root


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    shutil.copytree(_mathjax_es5(), target, dirs_exist_ok=True)


def _drop_duplicate_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        # An inline script has filename None or "" depending on who added it.
        filename = getattr(script, "filename", script) or ""
        key = (str(filename), repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def _set_default_mode(app: Sphinx, config) -> None:
    config.html_context = {**(config.html_context or {}), "default_mode": "auto"}


def setup(app: Sphinx) -> dict[str, object]:
    _mathjax_es5()  # fail early, before a long build, if MathJax is not installed
    app.connect("config-inited", _set_default_mode)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
