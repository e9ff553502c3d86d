"""Sphinx extension: the book's site shell. It renders offline, loads light and reads on a phone.

- **Mathematics** is typeset in the browser by KaTeX, vendored in ``book/_static/katex`` (npm
  ``katex``; see its README). Sphinx's MathJax writer stays (it decides which pages have math);
  ``_config.yml`` points ``mathjax_path`` at ``katex/katex.min.js``, and this extension adds
  ``sb-math.js`` and KaTeX's stylesheet to those pages and drops the MathJax configuration.
- **Page weight**: Font Awesome's 1.5 MB JavaScript (the webfonts and CSS already show every
  icon), sphinx-thebe (Thebe is off) and, except on the search page, the search index and its
  scripts are not loaded. The Font Awesome webfonts are cut to the icons the site uses.
- **Shell fixes** (``book/_static/sb-site.css``, ``sb-site.js``): working table-of-contents
  buttons, no top band, scroll frames with a visible cue for wide equations, tables, code and
  outputs, a PDF link on every page, accessible names the theme misses.
- **Numbering**: chapters are numbered by ``_toc.yml``; the appendices get letters A, B, ...
  instead of continuing the chapter numbers (the glossary stays unnumbered).
- **Chinese**: every run of CJK characters becomes ``<span lang="zh-Hans">``, and the site
  serves a subset of Noto Sans CJK SC (Debian's ``fonts-noto-cjk``) holding exactly the glyphs
  used, so the glossary renders without a system CJK font.
- **Bibliography labels** in the author-year style of the in-text citations ("Lin et al., 2017").
- Jupyter Book 1 registers sphinx-thebe's inline configuration script twice; identical
  scripts are dropped. pydata-sphinx-theme logs "Got invalid theme mode" on a first visit
  unless ``default_mode`` is set in ``html_context``; it is set to "auto".
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parents[1] / "_static"
PDF_NAME = "the-softmax-bottleneck.pdf"
APPENDIX_CAPTION = "Appendices"
UNLETTERED = {"book/appendices/glossary"}
CJK_FONT_FILE = "sb-noto-sans-sc.woff"
CJK_CSS_FILE = "sb-cjk.css"
# Where Debian (fonts-noto-cjk) and other distributions put Noto Sans CJK.
CJK_FONT_CANDIDATES = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
]
CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")


# --- Chinese text --------------------------------------------------------------------------


class zh_text(nodes.inline):  # docutils node classes are lower case
    """A run of Chinese text; HTML writes ``<span lang="zh-Hans">``, other builders an inline."""


def _visit_zh(self, node: zh_text) -> None:
    self.body.append(self.starttag(node, "span", "", lang="zh-Hans"))


def _depart_zh(self, node: zh_text) -> None:
    self.body.append("</span>")


def _tag_chinese(app: Sphinx, doctree: nodes.document) -> None:
    skip = (nodes.literal, nodes.literal_block, nodes.raw, nodes.math, nodes.math_block, zh_text)
    for text in list(doctree.findall(nodes.Text)):
        parent = text.parent
        if parent is None or isinstance(parent, skip) or not CJK_RUN.search(text.astext()):
            continue
        pieces: list[nodes.Node] = []
        pos = 0
        value = text.astext()
        for match in CJK_RUN.finditer(value):
            if match.start() > pos:
                pieces.append(nodes.Text(value[pos : match.start()]))
            pieces.append(zh_text("", match.group()))
            pos = match.end()
        if pos < len(value):
            pieces.append(nodes.Text(value[pos:]))
        parent.replace(text, pieces)


def _find_cjk_font() -> Path | None:
    for candidate in CJK_FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def _write_cjk_font(app: Sphinx, outdir: Path) -> None:
    """Subset Noto Sans CJK SC to exactly the CJK characters on the site's pages."""
    used: set[str] = set()
    for page in outdir.rglob("*.html"):
        if "_static" in page.parts:
            continue
        for span in re.findall(r'<span lang="zh-Hans">(.*?)</span>', page.read_text("utf-8")):
            used |= set(span)
    css = outdir / "_static" / CJK_CSS_FILE
    if not used:
        css.write_text("/* No Chinese text on this site. */\n")
        return
    source = _find_cjk_font()
    if source is None:
        css.write_text("/* Noto Sans CJK was not installed at build time: system fonts. */\n")
        logger.warning(
            "Noto Sans CJK not found (%s): the Chinese glyph subset is not served. "
            "Install Debian's fonts-noto-cjk (`make browser-deps`).",
            ", ".join(CJK_FONT_CANDIDATES[:1]),
        )
        return
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont

    if source.suffix == ".ttc":
        fonts = TTCollection(str(source)).fonts
        font = next(f for f in fonts if "Noto Sans CJK SC" in f["name"].getDebugName(1))
    else:
        font = TTFont(str(source))
    options = subset.Options()
    options.flavor = "woff"  # zlib; woff2 would need the brotli module
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(used)))
    subsetter.subset(font)
    font.flavor = "woff"
    font.save(str(outdir / "_static" / CJK_FONT_FILE))
    css.write_text(
        "/* Noto Sans CJK SC (SIL Open Font License 1.1), cut at build time to the "
        f"{len(used)} characters the site uses. */\n"
        '@font-face{font-family:"SB Noto Sans SC";font-style:normal;font-weight:400;'
        f'font-display:swap;src:url({CJK_FONT_FILE}) format("woff")}}\n'
    )


# --- Appendix letters ----------------------------------------------------------------------


def _appendix_docs(env) -> list[str]:
    root = env.config.root_doc
    if root not in env.tocs:
        return []
    try:
        doctree = env.get_doctree(root)
    except Exception:  # no pickled doctree yet: nothing to letter
        return []
    for toctree in doctree.findall(addnodes.toctree):
        if toctree.get("caption") == APPENDIX_CAPTION:
            return [ref for _title, ref in toctree["entries"]]
    return []


def _letter_appendices(app: Sphinx, env) -> list[str]:
    """Number the appendices A, B, ... instead of continuing after the last chapter."""
    docs = [d for d in _appendix_docs(env) if d in env.toc_secnumbers]
    if not docs:
        return []
    letters = {}
    for i, doc in enumerate(d for d in docs if d not in UNLETTERED):
        first = env.toc_secnumbers[doc].get("")
        if first and isinstance(first[0], int):
            letters[first[0]] = chr(ord("A") + i)

    def relabel(number):
        if not number:
            return number
        head = letters.get(number[0])
        return type(number)([head, *number[1:]]) if head else number

    for doc in docs:
        if doc in UNLETTERED:
            env.toc_secnumbers[doc] = {}
            for ref in env.tocs[doc].findall(nodes.reference):
                ref.attributes.pop("secnumber", None)
            env.titles[doc].attributes.pop("secnumber", None)
            continue
        env.toc_secnumbers[doc] = {k: relabel(v) for k, v in env.toc_secnumbers[doc].items()}
        for ref in env.tocs[doc].findall(nodes.reference):
            if ref.get("secnumber"):
                ref["secnumber"] = relabel(ref["secnumber"])
        if env.titles[doc].get("secnumber"):
            env.titles[doc]["secnumber"] = relabel(env.titles[doc]["secnumber"])
        for figtype, ids in env.toc_fignumbers.get(doc, {}).items():
            env.toc_fignumbers[doc][figtype] = {k: relabel(v) for k, v in ids.items()}
    return []


# --- Bibliography labels -------------------------------------------------------------------


def _last_names(person) -> str:
    return " ".join(str(part) for part in person.rich_prelast_names + person.rich_last_names)


class AuthorYearLabels(BaseLabelStyle):
    """Labels as the text cites: "Lin et al., 2017", "Cao and Wei, 2019"; a, b on collisions."""

    def format_labels(self, sorted_entries):
        labels = [self._label(entry) for entry in sorted_entries]
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        seen: dict[str, int] = {}
        for label in labels:
            if counts[label] == 1:
                yield label
            else:
                seen[label] = seen.get(label, 0) + 1
                yield f"{label}{chr(ord('a') + seen[label] - 1)}"

    @staticmethod
    def _label(entry) -> str:
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [_last_names(p) for p in persons]
        if not names:
            who = entry.fields.get("organization") or entry.fields.get("title", "?")[:20]
        elif len(names) == 1:
            who = names[0]
        elif len(names) == 2:
            who = f"{names[0]} and {names[1]}"
        else:
            who = f"{names[0]} et al."
        who = who.replace("{", "").replace("}", "")
        return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "sb_author_year"
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.labels", "sb_author_year", AuthorYearLabels)
register_plugin("pybtex.style.formatting", "sb_author_year", AuthorYearStyle)


# --- Page assets ---------------------------------------------------------------------------


def _set_config(app: Sphinx, config) -> None:
    config.html_context = {**(config.html_context or {}), "default_mode": "auto"}
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def _add_assets(app: Sphinx) -> None:
    app.add_css_file("sb-fontawesome.css", priority=890)
    app.add_css_file("sb-site.css", priority=900)
    app.add_js_file("sb-site.js", loading_method="defer", priority=900)


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if scripts is not None:
        seen: set[tuple[str, str]] = set()
        unique = []
        has_math = False
        for script in scripts:
            # An inline script has filename None or "" depending on who added it.
            filename = str(getattr(script, "filename", script) or "")
            body = str(getattr(script, "attributes", {}).get("body", ""))
            if "thebe" in filename.lower() or "thebe" in body.lower():
                continue  # Thebe is off (_config.yml), its loader is not needed
            if body.startswith("window.MathJax"):
                continue  # KaTeX renders the math; MathJax's configuration is not needed
            if filename.endswith("katex.min.js"):
                has_math = True
            key = (filename, repr(sorted(getattr(script, "attributes", {}).items())))
            if key not in seen:
                seen.add(key)
                unique.append(script)
        scripts[:] = unique
        if has_math:
            app.builder.add_css_file("katex/katex.min.css", priority=800)
            app.builder.add_js_file("sb-math.js", loading_method="defer", priority=800)
    css = context.get("css_files")
    if css is not None:
        css[:] = [c for c in css if "thebe" not in str(getattr(c, "filename", c))]
    if doctree is not None and next(iter(doctree.findall(zh_text)), None) is not None:
        app.builder.add_css_file(CJK_CSS_FILE, priority=850)

    pathto = context["pathto"]
    pdf = pathto(PDF_NAME, 1)
    buttons = context.get("header_buttons")
    if buttons is not None:
        buttons[:] = [b for b in buttons if b.get("label") != "fullscreen-button"]
        for button in buttons:
            if button.get("label") == "download-buttons":
                button["buttons"].append(
                    {
                        "type": "link",
                        "url": pdf,
                        "text": "book (PDF)",
                        "tooltip": "The whole book as one PDF",
                        "icon": "fas fa-book",
                        "label": "download-book-pdf-button",
                    }
                )
    footer = context.get("theme_extra_footer") or ""
    context["theme_extra_footer"] = (
        f'{footer}<p class="sb-book-pdf"><a href="{pdf}">The whole book as one PDF</a></p>'
    )


# --- Post-processing of the written pages --------------------------------------------------

_FONTAWESOME_JS = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')
_SEARCH_SCRIPTS = re.compile(
    r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>'
)


def _lighten_pages(outdir: Path) -> None:
    """Drop Font Awesome's JS everywhere and the search index outside the search page."""
    for page in outdir.rglob("*.html"):
        if "_static" in page.parts:
            continue
        html = page.read_text("utf-8")
        new = _FONTAWESOME_JS.sub("", html)
        if page.name != "search.html" or page.parent != outdir:
            new = _SEARCH_SCRIPTS.sub("", new)
        if new != html:
            page.write_text(new, "utf-8")


def _subset_fontawesome(outdir: Path) -> None:
    """Cut Font Awesome's solid and brands webfonts to the icons the pages and theme use.

    The theme's CSS maps class names to code points (``.fa-bars:before{content:"\\f0c9"}``);
    every ``fa-*`` name in the written pages and the theme's scripts is kept. The cut fonts are
    written as WOFF (zlib) next to the originals, and ``sb-fontawesome.css`` points the
    theme's font families at them (a later @font-face rule with the same descriptors wins).
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    static = outdir / "_static"
    theme_css = static / "styles" / "pydata-sphinx-theme.css"
    webfonts = static / "vendor" / "fontawesome" / "webfonts"
    target = static / "sb-fontawesome.css"
    if not theme_css.is_file() or not webfonts.is_dir():
        target.write_text("/* Font Awesome not found in this theme: nothing to cut. */\n")
        return
    css = theme_css.read_text("utf-8")
    codepoints: dict[str, int] = {}
    name_rules = re.compile(r'((?:\.fa-[a-z0-9-]+:(?:before|after),?)+)\{content:"\\([0-9a-f]+)"\}')
    for selectors, code in name_rules.findall(css):
        for name in re.findall(r"\.(fa-[a-z0-9-]+):", selectors):
            codepoints[name] = int(code, 16)
    used_names: set[str] = set()
    sources = [p for p in outdir.rglob("*.html") if "_static" not in p.parts]
    sources += list((static / "scripts").glob("*.js"))
    for path in sources:
        used_names |= set(re.findall(r"\bfa-[a-z0-9-]+", path.read_text("utf-8", errors="ignore")))
    wanted_set = {codepoints[n] for n in used_names if n in codepoints}
    # Icons the theme's stylesheets draw themselves (admonitions, links, arrows), written as
    # private-use characters or CSS escapes outside the class-name rules; and the space.
    wanted_set.add(0x20)
    for sheet in static.rglob("*.css"):
        text = name_rules.sub("", sheet.read_text("utf-8", errors="ignore"))
        wanted_set |= {ord(c) for c in re.findall(r"[\ue000-\uf8ff]", text)}
        wanted_set |= {int(h, 16) for h in re.findall(r"\\([ef][0-9a-f]{3})\b", text)}
    wanted = sorted(wanted_set)
    rules = []
    for family, weight, name in [
        ("Font Awesome 6 Free", 900, "fa-solid-900"),
        ("Font Awesome 6 Free", 400, "fa-regular-400"),
        ("Font Awesome 6 Brands", 400, "fa-brands-400"),
    ]:
        source = webfonts / f"{name}.ttf"
        if not source.is_file():
            continue
        font = TTFont(str(source))
        have = set(font.getBestCmap())
        keep = [c for c in wanted if c in have]
        options = subset.Options()
        options.flavor = "woff"
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=keep or [0x20])
        subsetter.subset(font)
        font.flavor = "woff"
        font.save(str(static / f"sb-{name}.woff"))
        rules.append(
            f'@font-face{{font-family:"{family}";font-style:normal;font-weight:{weight};'
            f'font-display:block;src:url(sb-{name}.woff) format("woff")}}'
        )
    target.write_text(
        "/* Font Awesome 6 Free (SIL OFL 1.1), cut at build time to the "
        f"{len(wanted)} icons the site uses. */\n" + "\n".join(rules) + "\n"
    )


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    _lighten_pages(outdir)
    _subset_fontawesome(outdir)
    _write_cjk_font(app, outdir)


def setup(app: Sphinx) -> dict[str, object]:
    app.add_node(zh_text, html=(_visit_zh, _depart_zh))
    app.connect("config-inited", _set_config)
    app.connect("builder-inited", _add_assets)
    app.connect("doctree-read", _tag_chinese)
    app.connect("env-get-updated", _letter_appendices, priority=900)
    app.connect("html-page-context", _page_context, priority=900)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
