"""Paired comparisons over seeds: the book's rule for saying one method beats another.

Every experiment chapter compares methods **paired by seed**: for seed ``s`` every method gets
the same data split, the same initial weights and the same batch order, so the difference
``a[s] - b[s]`` cancels everything the two runs share. The book then states a verdict only
from those differences:

* the mean difference and its **sample** standard deviation (``ddof = 1``);
* how many seeds favour each method (a sign count, which a single outlier cannot move much);
* a 95 % paired t-interval for the mean difference.

A difference is **clear** when the interval excludes zero, and **within noise** otherwise;
the sign count is printed beside it so a reader sees how consistent the direction was.

>>> c = compare_paired([0.90, 0.88, 0.91, 0.87], [0.85, 0.86, 0.86, 0.84], names=("A", "B"))
>>> c.verdict
'A better'
>>> print(c)
A - B: +0.038 (sd 0.015), A ahead in 4/4 seeds, 95% CI [+0.014, +0.061]: A better
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .tables import Align, Table

__all__ = ["PairedComparison", "compare_paired", "comparisons_table", "format_comparisons",
           "mean_sd"]


def _as_scores(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"Expected `{name}` to be a 1-d sequence of at least 2 scores (one per "
                         f"seed), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"Expected `{name}` to hold finite scores")
    return arr


def mean_sd(values: Any, /) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof = 1``) of per-seed scores.

    Parameters
    ----------
    values : array_like, shape (n,)
        One score per seed, n >= 2.

    Returns
    -------
    (float, float)

    Raises
    ------
    ValueError
        If fewer than two finite scores are given.

    Examples
    --------
    >>> mean_sd([1.0, 2.0, 3.0])
    (2.0, 1.0)
    """
    arr = _as_scores(values, "values")
    return float(arr.mean()), float(arr.std(ddof=1))


@dataclass(frozen=True)
class PairedComparison:
    """The paired difference ``a - b`` over seeds, and the verdict it supports.

    Attributes
    ----------
    names : (str, str)
        Names of the two methods, ``a`` first.
    differences : ndarray
        ``a[s] - b[s]`` for every seed.
    mean, sd : float
        Mean difference and its sample standard deviation (ddof = 1).
    wins, losses : int
        Seeds where ``a`` is ahead / behind by more than `tie` (others are ties); "ahead"
        means higher, or lower when ``higher_is_better`` is False (ECE, a loss).
    low, high : float
        The paired t confidence interval of the mean difference.
    confidence : float
        Its level (0.95 by default).
    higher_is_better : bool
        Direction of the score (True for accuracies, False for ECE or a loss).
    unit : str
        What one pair is ("seeds", "splits"), for the printed line.
    """

    names: tuple[str, str]
    differences: np.ndarray
    mean: float
    sd: float
    wins: int
    losses: int
    low: float
    high: float
    confidence: float
    higher_is_better: bool = True
    unit: str = "seeds"

    @property
    def n(self) -> int:
        """Number of seeds."""
        return int(self.differences.size)

    @property
    def verdict(self) -> str:
        """``"<a> better"``, ``"<b> better"`` or ``"within noise"`` (interval contains 0)."""
        if self.low > 0:
            return f"{self.names[0 if self.higher_is_better else 1]} better"
        if self.high < 0:
            return f"{self.names[1 if self.higher_is_better else 0]} better"
        return "within noise"

    @property
    def clear(self) -> bool:
        """True when the interval excludes zero."""
        return self.verdict != "within noise"

    def __str__(self) -> str:
        a, b = self.names
        level = f"{100 * self.confidence:g}%"
        return (f"{a} - {b}: {self.mean:+.3f} (sd {self.sd:.3f}), {a} ahead in "
                f"{self.wins}/{self.n} {self.unit}, {level} CI [{self.low:+.3f}, {self.high:+.3f}]: "
                f"{self.verdict}")


def compare_paired(
    a: Any,
    b: Any,
    /,
    *,
    names: Sequence[str] = ("a", "b"),
    confidence: float = 0.95,
    tie: float = 0.0,
    higher_is_better: bool = True,
    unit: str = "seeds",
) -> PairedComparison:
    """Compare two methods scored on the same seeds (paired), by the book's rule.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Scores of the two methods, seed ``s`` at position ``s`` in both (n >= 2).
    names : (str, str), default ("a", "b")
        Names used in the verdict and the printed line.
    confidence : float, default 0.95
        Level of the paired t-interval, in (0, 1).
    tie : float, default 0.0
        Differences with ``|a - b| <= tie`` count as neither a win nor a loss (e.g. half the
        printed resolution).
    higher_is_better : bool, default True
        False for scores where lower is better (ECE, a loss): then ``a`` is "ahead" on a seed
        where ``a < b``, and the verdict names the method with the lower mean.
    unit : str, default "seeds"
        What one pair of scores is, as printed ("seeds", "splits").

    Returns
    -------
    PairedComparison

    Raises
    ------
    ValueError
        If the score arrays differ in length, hold fewer than two or non-finite scores,
        `names` is not two strings, or `confidence` is not in (0, 1), or `tie` < 0.
    TypeError
        If `confidence` or `tie` is not a number.

    Notes
    -----
    The interval is ``mean ± t_{n-1} · sd / sqrt(n)`` (scipy.stats.t). With identical
    differences (sd = 0) it collapses to the mean. Book: chapters 3-7 and appendix E.

    Examples
    --------
    >>> c = compare_paired([0.80, 0.82, 0.79], [0.81, 0.80, 0.80], names=("SMOTE", "copies"))
    >>> c.verdict, c.wins
    ('within noise', 1)
    >>> ece = compare_paired([0.05, 0.04, 0.06], [0.09, 0.08, 0.11], names=("TS", "raw"),
    ...                      higher_is_better=False)
    >>> ece.verdict, ece.wins
    ('TS better', 3)
    """
    from scipy import stats as st

    x, y = _as_scores(a, "a"), _as_scores(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"Expected `a` and `b` to hold one score per seed each, got {x.size} "
                         f"and {y.size}")
    if (isinstance(names, str) or len(names) != 2
            or not all(isinstance(n, str) for n in names)):
        raise ValueError(f"Expected `names` to be two strings, got {names!r}")
    for value, label in ((confidence, "confidence"), (tie, "tie")):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"Expected `{label}` to be a number, got {value!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"Expected `confidence` in (0, 1), got {confidence!r}")
    if not tie >= 0:
        raise ValueError(f"Expected `tie` >= 0, got {tie!r}")
    if not isinstance(higher_is_better, bool):
        raise TypeError(f"Expected `higher_is_better` to be a bool, got {higher_is_better!r}")
    if not isinstance(unit, str) or not unit:
        raise ValueError(f"Expected `unit` to be a non-empty string, got {unit!r}")
    d = x - y
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    half = float(st.t.ppf(0.5 + confidence / 2, d.size - 1)) * sd / np.sqrt(d.size)
    ahead, behind = (d > tie, d < -tie) if higher_is_better else (d < -tie, d > tie)
    return PairedComparison(
        names=(names[0], names[1]), differences=d, mean=mean, sd=sd,
        wins=int(ahead.sum()), losses=int(behind.sum()),
        low=mean - half, high=mean + half, confidence=float(confidence),
        higher_is_better=higher_is_better, unit=unit,
    )


def comparisons_table(
    comparisons: Sequence[PairedComparison], /, *, title: str | None = None
) -> Table:
    """Several paired comparisons as a :class:`~softmax_bottleneck.tables.Table`.

    One row per comparison: the mean paired difference, its sample sd, the sign count
    ("ahead" in k of n seeds), the confidence interval and the verdict. In a notebook, a cell
    that ends with this table shows it as an HTML table; ``print`` gives the aligned text of
    :func:`format_comparisons`.

    Parameters
    ----------
    comparisons : sequence of PairedComparison
        From :func:`compare_paired` (all at the same confidence level).
    title : str, optional
        A caption above the table.

    Returns
    -------
    softmax_bottleneck.tables.Table

    Raises
    ------
    ValueError
        If `comparisons` is empty or mixes confidence levels.
    TypeError
        If an element is not a PairedComparison.

    Examples
    --------
    >>> c = compare_paired([0.9, 0.8, 0.85], [0.8, 0.7, 0.8], names=("A", "B"))
    >>> t = comparisons_table([c], title="A against B")
    >>> print(t)
    A against B
    comparison | mean diff. |    sd | ahead |           95% CI | verdict
    A - B      |     +0.083 | 0.029 |   3/3 | [+0.012, +0.155] | A better
    >>> t.column("verdict")
    ['A better']
    """
    if len(comparisons) == 0:
        raise ValueError("Expected at least one comparison")
    for c in comparisons:
        if not isinstance(c, PairedComparison):
            raise TypeError(f"Expected PairedComparison objects, got {c!r}")
    if len({c.confidence for c in comparisons}) > 1:
        raise ValueError("Expected every comparison at the same confidence level")
    level = f"{100 * comparisons[0].confidence:g}% CI"
    heads = ["comparison", "mean diff.", "sd", "ahead", level, "verdict"]
    rows = [[f"{c.names[0]} - {c.names[1]}", f"{c.mean:+.3f}", f"{c.sd:.3f}",
             f"{c.wins}/{c.n}", f"[{c.low:+.3f}, {c.high:+.3f}]", c.verdict]
            for c in comparisons]
    align: dict[str, Align] = {"comparison": "left", "mean diff.": "right", "sd": "right",
                               "ahead": "right", level: "right", "verdict": "left"}
    return Table(heads, rows, title=title, align=align)


def format_comparisons(comparisons: Sequence[PairedComparison], /) -> str:
    """Several paired comparisons as an aligned text table (``str`` of :func:`comparisons_table`).

    Parameters
    ----------
    comparisons : sequence of PairedComparison

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If `comparisons` is empty.

    Examples
    --------
    >>> c = compare_paired([0.9, 0.8, 0.85], [0.8, 0.7, 0.8], names=("A", "B"))
    >>> print(format_comparisons([c]))
    comparison | mean diff. |    sd | ahead |           95% CI | verdict
    A - B      |     +0.083 | 0.029 |   3/3 | [+0.012, +0.155] | A better
    """
    return str(comparisons_table(comparisons))
