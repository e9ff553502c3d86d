"""Results tables that display as real HTML tables in Jupyter and on the website.

A :class:`Table` holds column names, rows of values and how to format each column. Jupyter
(and the book's website, built from the stored outputs) shows it through ``_repr_html_`` as a
``<table class="sb-table">`` with a header, numbers right-aligned and no colours of its own, so
it follows the page's light or dark theme. ``str(table)`` and ``repr(table)`` give the
plain-text fallback, the aligned ``|``-separated lines the book printed before, and nbval
compares both forms.

>>> t = Table(["method", "balanced acc."], [["baseline", 0.8123], ["LA", 0.8561]],
...           formats={"balanced acc.": ".3f"}, title="Test balanced accuracy")
>>> print(t)
Test balanced accuracy
method   | balanced acc.
baseline |         0.812
LA       |         0.856
>>> print(t.to_markdown())
**Test balanced accuracy**
<BLANKLINE>
| method   | balanced acc. |
|:---------|--------------:|
| baseline |         0.812 |
| LA       |         0.856 |
"""

from __future__ import annotations

import html
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

__all__ = ["Table", "mean_sd_format"]

Align = Literal["left", "right"]
#: A column format: a format spec for :func:`format` (``".3f"``, ``"+.3f"``, ``","``), a
#: ``str.format`` template with one field (``"{:.1f} s"``), or a function of the value.
Format = str | Callable[[Any], str]

#: A formatted cell that reads as a number (``0.812``, ``+0.031``, ``0.812 ± 0.017``, ``3/11``,
#: ``[+0.012, +0.155]``, ``12.3k``, ``1e-05``, ``[1.23 s]``): right-aligned by default.
_NUMERIC = re.compile(r"(?=.*\d)[\d\s.,+\-\u2212±%/\[\]()×eEks]+")


def mean_sd_format(decimals: int = 3, /) -> Callable[[Any], str]:
    """A column format for ``(mean, sd)`` pairs: ``"0.812 ± 0.017"``.

    Parameters
    ----------
    decimals : int, default 3
        Decimals of both numbers (the book prints accuracies with three).

    Returns
    -------
    callable
        ``fmt((mean, sd)) -> str``.

    Raises
    ------
    ValueError
        If `decimals` is not a non-negative int.

    Examples
    --------
    >>> mean_sd_format(2)((0.8123, 0.0171))
    '0.81 ± 0.02'
    """
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        raise ValueError(f"Expected `decimals` to be a non-negative int, got {decimals!r}")

    def fmt(value: Any) -> str:
        mean, sd = value
        return f"{mean:.{decimals}f} ± {sd:.{decimals}f}"

    return fmt


def _apply(fmt: Format | None, value: Any, column: str) -> str:
    if value is None:
        return ""
    if fmt is None:
        return str(value)
    try:
        if callable(fmt):
            out = fmt(value)
        elif "{" in fmt:
            out = fmt.format(value)
        else:
            out = format(value, fmt)
    except (TypeError, ValueError) as err:
        raise ValueError(f"Cannot format {value!r} in column {column!r} with {fmt!r}: {err}") \
            from err
    if not isinstance(out, str):
        raise TypeError(f"Expected the format of column {column!r} to return a str, got {out!r}")
    return out


class Table:
    """A results table: HTML in Jupyter and on the website, aligned text when printed.

    Parameters
    ----------
    columns : sequence of str
        Column names, in order (non-empty, distinct).
    rows : sequence of sequences
        One sequence of values per row, as many values as columns. A value is formatted by
        its column's format; ``None`` is an empty cell; a value without a format is shown
        with ``str``.
    title : str, optional
        A line above the table (the HTML ``<caption>``).
    formats : mapping of str to format, optional
        Column name to format: a format spec (``".3f"``), a template (``"{:.1f}k"``) or a
        function returning a str (see :func:`mean_sd_format`).
    align : mapping of str to "left" or "right", optional
        Alignment per column. By default a column is right-aligned when every non-empty
        cell reads as a number (``0.812``, ``+0.031``, ``0.812 ± 0.017``, ``3/11``,
        ``[+0.01, +0.05]``, ``12.3k``), left-aligned otherwise; the first column is always
        left-aligned unless set here.
    notes : sequence of str, optional
        Lines printed under the table (the HTML ``<tfoot>``), e.g. what ± means.
    separator : str, default " | "
        Between columns of the text form.

    Raises
    ------
    ValueError
        If there are no columns, duplicate names, a row of the wrong length, a format or an
        alignment for an unknown column, an alignment other than "left"/"right", or a value
        its format cannot format.
    TypeError
        If a name, title or note is not a str, or a format is neither a str nor callable.

    Examples
    --------
    >>> t = Table(["seed", "acc."], [[0, 0.91], [1, 0.905]], formats={"acc.": ".3f"},
    ...           notes=["one run per seed"])
    >>> print(t)
    seed |  acc.
    0    | 0.910
    1    | 0.905
    one run per seed
    >>> t.n_rows, t.columns
    (2, ('seed', 'acc.'))
    >>> "<thead>" in t._repr_html_()
    True
    """

    def __init__(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
        formats: Mapping[str, Format] | None = None,
        align: Mapping[str, Align] | None = None,
        notes: Sequence[str] = (),
        separator: str = " | ",
    ) -> None:
        if isinstance(columns, str) or not isinstance(columns, Sequence) or len(columns) == 0:
            raise ValueError(f"Expected `columns` to be a non-empty sequence of names, "
                             f"got {columns!r}")
        for name in columns:
            if not isinstance(name, str):
                raise TypeError(f"Expected every column name to be a str, got {name!r}")
        if len(set(columns)) != len(columns):
            raise ValueError(f"Expected distinct column names, got {list(columns)}")
        self.columns: tuple[str, ...] = tuple(columns)
        if title is not None and not isinstance(title, str):
            raise TypeError(f"Expected `title` to be a str or None, got {title!r}")
        self.title = title
        if isinstance(notes, str):
            notes = [notes]
        for note in notes:
            if not isinstance(note, str):
                raise TypeError(f"Expected every note to be a str, got {note!r}")
        self.notes: tuple[str, ...] = tuple(notes)
        if not isinstance(separator, str):
            raise TypeError(f"Expected `separator` to be a str, got {separator!r}")
        self.separator = separator
        formats = dict(formats or {})
        align = dict(align or {})
        for label, given in (("formats", formats), ("align", align)):
            unknown = [k for k in given if k not in self.columns]
            if unknown:
                raise ValueError(f"Expected `{label}` keys among the columns {list(self.columns)}, "
                                 f"got {unknown}")
        for name, fmt in formats.items():
            if not (isinstance(fmt, str) or callable(fmt)):
                raise TypeError(f"Expected the format of column {name!r} to be a str or a "
                                f"function, got {fmt!r}")
        for name, side in align.items():
            if side not in ("left", "right"):
                raise ValueError(f"Expected the alignment of column {name!r} to be 'left' or "
                                 f"'right', got {side!r}")
        if isinstance(rows, str) or not isinstance(rows, Sequence):
            raise ValueError(f"Expected `rows` to be a sequence of rows, got {rows!r}")
        self.rows: tuple[tuple[Any, ...], ...] = tuple(tuple(r) for r in rows)
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"Expected {len(self.columns)} values in every row, got "
                                 f"{len(row)} in row {i}")
        self.formats: dict[str, Format] = formats
        self.cells: tuple[tuple[str, ...], ...] = tuple(
            tuple(_apply(formats.get(c), v, c) for c, v in zip(self.columns, row, strict=True))
            for row in self.rows
        )
        self.align: tuple[Align, ...] = tuple(
            align.get(c, self._guess_align(j)) for j, c in enumerate(self.columns)
        )

    def _guess_align(self, j: int) -> Align:
        if j == 0:
            return "left"
        values = [row[j] for row in self.rows if row[j] is not None]
        cells = [row[j] for row in self.cells if row[j]]
        if not cells:
            return "left"
        numbers_only = all(isinstance(v, numbers.Number) and not isinstance(v, bool)
                           for v in values)
        if numbers_only or all(_NUMERIC.fullmatch(c) for c in cells):
            return "right"
        return "left"

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return len(self.rows)

    def column(self, name: str) -> list[Any]:
        """The raw values of one column.

        Examples
        --------
        >>> Table(["a", "b"], [[1, 2], [3, 4]]).column("b")
        [2, 4]
        """
        if name not in self.columns:
            raise KeyError(f"No column {name!r}; columns are {list(self.columns)}")
        j = self.columns.index(name)
        return [row[j] for row in self.rows]

    # --- plain text -------------------------------------------------------------------------

    def _widths(self) -> list[int]:
        return [max(len(h), *(len(r[j]) for r in self.cells)) if self.cells else len(h)
                for j, h in enumerate(self.columns)]

    def text_lines(self) -> list[str]:
        """The header and row lines of the text form (no title or notes), trailing spaces cut.

        Examples
        --------
        >>> Table(["x", "y"], [["a", 1]]).text_lines()
        ['x | y', 'a | 1']
        """
        widths = self._widths()

        def line(cells: Sequence[str]) -> str:
            padded = [c.ljust(w) if side == "left" else c.rjust(w)
                      for c, w, side in zip(cells, widths, self.align, strict=True)]
            return self.separator.join(padded).rstrip()

        return [line(self.columns), *(line(r) for r in self.cells)]

    def __str__(self) -> str:
        lines = ([self.title] if self.title else []) + self.text_lines() + list(self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's text form: the same aligned text as ``str``."""
        p.text(str(self))

    # --- HTML -------------------------------------------------------------------------------

    def to_html(self) -> str:
        """The table as HTML: ``<table class="sb-table">`` with ``<thead>`` and ``<tbody>``.

        Header cells are ``<th scope="col">``; each row's first cell is a ``<th scope="row">``
        (it names the row). Right-aligned cells carry the class ``sb-num`` and an inline
        ``text-align`` (only alignment: no colours, so dark mode applies); the title is the
        ``<caption>``, the notes a ``<tfoot>``.

        Examples
        --------
        >>> print(Table(["x", "y"], [["a", 1.5]], formats={"y": ".1f"}).to_html())
        <table class="sb-table">
        <thead>
        <tr><th scope="col" class="sb-text" style="text-align: left">x</th><th scope="col" class="sb-num" style="text-align: right">y</th></tr>
        </thead>
        <tbody>
        <tr><th scope="row" class="sb-text" style="text-align: left">a</th><td class="sb-num" style="text-align: right">1.5</td></tr>
        </tbody>
        </table>
        """
        def attrs(side: Align) -> str:
            cls = "sb-num" if side == "right" else "sb-text"
            return f' class="{cls}" style="text-align: {side}"'

        out = ['<table class="sb-table">']
        if self.title:
            out.append(f"<caption>{html.escape(self.title)}</caption>")
        out.append("<thead>")
        out.append("<tr>" + "".join(f'<th scope="col"{attrs(side)}>{html.escape(h)}</th>'
                                    for h, side in zip(self.columns, self.align, strict=True))
                   + "</tr>")
        out.append("</thead>")
        out.append("<tbody>")
        for row in self.cells:
            parts = []
            for j, (cell, side) in enumerate(zip(row, self.align, strict=True)):
                tag = "th" if j == 0 else "td"
                scope = ' scope="row"' if j == 0 else ""
                parts.append(f"<{tag}{scope}{attrs(side)}>{html.escape(cell)}</{tag}>")
            out.append("<tr>" + "".join(parts) + "</tr>")
        out.append("</tbody>")
        if self.notes:
            out.append("<tfoot>")
            for note in self.notes:
                out.append(f'<tr><td colspan="{len(self.columns)}" class="sb-note">'
                           f"{html.escape(note)}</td></tr>")
            out.append("</tfoot>")
        out.append("</table>")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        """Jupyter's rich display: :meth:`to_html`."""
        return self.to_html()

    # --- Markdown ---------------------------------------------------------------------------

    def to_markdown(self) -> str:
        """The table as a GitHub/MyST pipe table (title in bold above it, notes below).

        Examples
        --------
        >>> print(Table(["x", "y"], [["a", 1]]).to_markdown())
        | x  |  y |
        |:---|---:|
        | a  |  1 |
        """
        def esc(cell: str) -> str:
            return cell.replace("|", "\\|")

        cells = [[esc(c) for c in row] for row in self.cells]
        heads = [esc(h) for h in self.columns]
        widths = [max(len(h), *(len(r[j]) for r in cells)) if cells else len(h)
                  for j, h in enumerate(heads)]
        widths = [max(w, 2) for w in widths]

        def line(row: Sequence[str]) -> str:
            return "| " + " | ".join(c.ljust(w) if side == "left" else c.rjust(w)
                                     for c, w, side in zip(row, widths, self.align,
                                                           strict=True)) + " |"

        rule = "|" + "|".join((":" + "-" * (w + 1)) if side == "left" else ("-" * (w + 1) + ":")
                              for w, side in zip(widths, self.align, strict=True)) + "|"
        lines = [line(heads), rule, *(line(r) for r in cells)]
        head = [f"**{self.title}**", ""] if self.title else []
        tail = ["", *self.notes] if self.notes else []
        return "\n".join(head + lines + tail)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        return (self.columns, self.cells, self.align, self.title, self.notes) == (
            other.columns, other.cells, other.align, other.title, other.notes)

    __hash__ = None  # type: ignore[assignment]
