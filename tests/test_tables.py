"""Tests of softmax_bottleneck.tables: the HTML form, the text fallback, formats, bad input."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from softmax_bottleneck import case_study as cs
from softmax_bottleneck import stats
from softmax_bottleneck.tables import Table, mean_sd_format

VOID = {"br", "img", "hr", "meta", "link", "input", "col"}


class _Tree(HTMLParser):
    """Checks that every tag is closed in order, and records cells, attributes and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cells: list[list[str]] = []  # text of the th/td cells, row by row
        self._cell: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "tr":
            self.cells.append([])
        if tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()
        if tag in ("th", "td"):
            assert self._cell is not None
            self.cells[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> _Tree:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    assert tree.stack == [], f"unclosed tags {tree.stack}"
    return tree


def example() -> Table:
    return Table(
        ["method", "balanced acc.", "seeds", "note"],
        [["baseline", (0.8123, 0.0171), 11, "plain <CE>"],
         ["logit-adjusted & co", (0.8561, 0.009), 11, None]],
        title="Test balanced accuracy at ρ = 50",
        formats={"balanced acc.": mean_sd_format(3)},
        notes=["mean ± sample sd over 11 seeds"],
    )


def test_html_is_well_formed_with_head_body_caption_and_classes():
    t = example()
    tree = parse(t._repr_html_())
    names = [tag for tag, _ in tree.tags]
    assert names[0] == "table" and dict(tree.tags[0][1])["class"] == "sb-table"
    for tag in ("caption", "thead", "tbody", "tfoot"):
        assert names.count(tag) == 1
    assert names.index("thead") < names.index("tbody") < names.index("tfoot")
    assert tree.cells[0] == ["method", "balanced acc.", "seeds", "note"]
    assert tree.cells[1] == ["baseline", "0.812 ± 0.017", "11", "plain <CE>"]  # escaped, read back
    assert tree.cells[2] == ["logit-adjusted & co", "0.856 ± 0.009", "11", ""]
    assert tree.cells[3] == ["mean ± sample sd over 11 seeds"]
    assert "<CE>" not in t.to_html() and "&lt;CE&gt;" in t.to_html()
    # numbers right-aligned by class and inline alignment; no colours (dark mode decides)
    cells = [(tag, a) for tag, a in tree.tags if tag in ("th", "td") and a.get("class") != "sb-note"]
    classes = [a["class"] for _, a in cells[:4]]
    assert classes == ["sb-text", "sb-num", "sb-num", "sb-text"]
    for _, attrs in tree.tags:
        style = attrs.get("style") or ""
        assert "color" not in style and "background" not in style
        assert style in ("", "text-align: left", "text-align: right")
    # row names are header cells of their row
    assert [a.get("scope") for tag, a in cells if tag == "th"] == ["col"] * 4 + ["row"] * 2


def test_text_fallback_is_the_aligned_table():
    t = example()
    assert str(t) == repr(t) == "\n".join([
        "Test balanced accuracy at ρ = 50",
        "method              | balanced acc. | seeds | note",
        "baseline            | 0.812 ± 0.017 |    11 | plain <CE>",
        "logit-adjusted & co | 0.856 ± 0.009 |    11 |",
        "mean ± sample sd over 11 seeds",
    ])
    assert t.text_lines()[0].startswith("method ")


def test_ipython_pretty_printer_uses_the_text():
    pretty = pytest.importorskip("IPython.lib.pretty")
    assert pretty.pretty(example()) == str(example())


def test_formats_spec_template_callable_and_none():
    t = Table(["a", "b", "c", "d"], [[1, 0.12345, 12345, 0.5]],
              formats={"b": "+.2f", "c": "{:,} rows", "d": lambda v: f"{100 * v:.0f}%"})
    assert t.cells == (("1", "+0.12", "12,345 rows", "50%"),)
    assert t.align == ("left", "right", "right", "right")  # numbers (by value) right-aligned
    assert Table(["x", "y"], [["a", None]]).cells == (("a", ""),)


def test_alignment_guess_and_override():
    t = Table(["name", "ci", "count", "word"],
              [["A", "[+0.012, +0.155]", "3/11", "better"], ["B", "[-0.1, +0.2]", "11/11", "x"]])
    assert t.align == ("left", "right", "right", "left")
    t2 = Table(["name", "v"], [["a", 1]], align={"name": "right", "v": "left"})
    assert t2.align == ("right", "left")
    assert str(t2) == "name | v\n   a | 1"


def test_markdown():
    md = example().to_markdown()
    lines = md.splitlines()
    assert lines[0] == "**Test balanced accuracy at ρ = 50**"
    assert lines[2].startswith("| method") and lines[3].startswith("|:---")
    assert lines[3].endswith("|:-----------|")  # the text column "note" is left-aligned
    assert "---:|" in lines[3]
    assert lines[-1] == "mean ± sample sd over 11 seeds"
    assert Table(["a|b"], [["x|y"]]).to_markdown().splitlines()[0] == "| a\\|b |"


def test_empty_table_and_equality():
    t = Table(["a", "b"], [])
    assert str(t) == "a | b" and t.n_rows == 0
    assert parse(t.to_html()).cells == [["a", "b"]]
    assert Table(["a"], [[1]]) == Table(["a"], [[1]])
    assert Table(["a"], [[1]]) != Table(["a"], [[2]])
    assert Table(["a", "b"], [[1, 2]]).column("b") == [2]
    with pytest.raises(KeyError, match="'c'"):
        Table(["a"], [[1]]).column("c")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"columns": [], "rows": []}, ValueError, "non-empty"),
        ({"columns": "ab", "rows": []}, ValueError, "non-empty"),
        ({"columns": ["a", "a"], "rows": []}, ValueError, "distinct"),
        ({"columns": ["a", 1], "rows": []}, TypeError, "column name"),
        ({"columns": ["a", "b"], "rows": [[1]]}, ValueError, "2 values .* row 0"),
        ({"columns": ["a"], "rows": "x"}, ValueError, "sequence of rows"),
        ({"columns": ["a"], "rows": [[1]], "formats": {"b": ".3f"}}, ValueError, "columns"),
        ({"columns": ["a"], "rows": [[1]], "formats": {"a": 3}}, TypeError, "str or a function"),
        ({"columns": ["a"], "rows": [["x"]], "formats": {"a": ".3f"}}, ValueError, "Cannot format"),
        ({"columns": ["a"], "rows": [[1]], "formats": {"a": lambda v: v}}, TypeError, "return a str"),
        ({"columns": ["a"], "rows": [[1]], "align": {"a": "centre"}}, ValueError, "'left' or"),
        ({"columns": ["a"], "rows": [[1]], "align": {"z": "left"}}, ValueError, "columns"),
        ({"columns": ["a"], "rows": [[1]], "title": 3}, TypeError, "title"),
        ({"columns": ["a"], "rows": [[1]], "notes": [3]}, TypeError, "note"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        Table(**kwargs)


def test_mean_sd_format():
    assert mean_sd_format()((0.5, 0.01)) == "0.500 ± 0.010"
    with pytest.raises(ValueError, match="decimals"):
        mean_sd_format(-1)


# --- the two producers of the book's tables ----------------------------------------------


def test_comparisons_table_text_is_format_comparisons():
    a = stats.compare_paired([0.9, 0.8, 0.85, 0.82], [0.8, 0.7, 0.8, 0.83], names=("LA", "CE"))
    b = stats.compare_paired([0.05, 0.04, 0.06], [0.09, 0.08, 0.11], names=("TS", "raw"),
                             higher_is_better=False)
    t = stats.comparisons_table([a, b])
    text = stats.format_comparisons([a, b])
    assert str(t) == text
    # the text the book printed before the table object existed (byte for byte)
    assert text == "\n".join([
        "comparison | mean diff. |    sd | ahead |           95% CI | verdict",
        "LA - CE    |     +0.060 | 0.052 |   3/4 | [-0.023, +0.143] | within noise",
        "TS - raw   |     -0.043 | 0.006 |   3/3 | [-0.058, -0.029] | TS better",
    ])
    tree = parse(t._repr_html_())
    assert tree.cells[2][-1] == "TS better"
    titled = stats.comparisons_table([a], title="LA against CE")
    assert str(titled).splitlines()[0] == "LA against CE"
    assert "<caption>LA against CE</caption>" in titled.to_html()
    with pytest.raises(ValueError, match="at least one"):
        stats.comparisons_table([])
    with pytest.raises(TypeError, match="PairedComparison"):
        stats.comparisons_table(["LA"])
    c90 = stats.compare_paired([0.9, 0.8, 0.85], [0.8, 0.7, 0.8], confidence=0.9)
    with pytest.raises(ValueError, match="confidence"):
        stats.comparisons_table([a, c90])


def test_summary_table_text_is_format_table():
    summary = {"baseline": {"balanced_accuracy": (0.81234, 0.0171), "examples": (12345, 0),
                            "seconds": (1.234, 0.1)},
               "logit-adjusted loss": {"balanced_accuracy": (0.85, 0.02), "examples": (12345, 0),
                                       "seconds": (2.5, 0.1)}}
    metrics = ["balanced_accuracy", "examples"]
    text = cs.format_table(summary, metrics=metrics)
    assert text == "\n".join([
        "method              | balanced acc. | examples seen | wall time",
        "baseline            | 0.812 ± 0.017 |         12.3k |  [1.23 s]",
        "logit-adjusted loss | 0.850 ± 0.020 |         12.3k |  [2.50 s]",
    ])
    t = cs.summary_table(summary, metrics=metrics, title="ρ = 50")
    assert str(t) == "ρ = 50\n" + cs.format_table(summary, metrics=metrics, wall_time=False)
    tree = parse(t._repr_html_())
    assert tree.cells[1] == ["baseline", "0.812 ± 0.017", "12.3k"]
    with pytest.raises(ValueError, match="metrics"):
        cs.summary_table(summary, metrics=["macro_f1"])
    with pytest.raises(ValueError, match="non-empty"):
        cs.summary_table({})
