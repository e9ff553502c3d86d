"""An nbval extension: a cell may declare how far its printed decimals may move between machines.

Strict nbval compares every output of every cell character by character. That is right for
nearly all of the book: its training runs in float64 on one thread, so the printed digits are
the same on every machine tried. A few cells print a number whose last printed digit can still
move with the CPU's vector unit (AVX2 against AVX-512 kernels round differently, and a long
SGD run can carry such a difference into the third decimal). Such a cell declares it in its
metadata::

    "tolerance": {"abs": 0.002, "why": "ECE after 60 epochs of SGD: spread 0.001 across the
                  configurations of scripts/check_portability.py"}

and this plugin then accepts a fresh output whose text equals the stored one **except** for
decimal numbers that differ by at most ``abs``. Everything else stays strict:

* the words, the layout and every integer (a count of seeds, a number of steps) must match;
* numbers are compared as printed, so a verdict word that changes still fails;
* ``abs`` must be positive and at most :data:`MAX_ABS`, and ``why`` must say what was measured;
  a cell without the key is compared exactly, as nbval always does.

The plugin loads from the repository's root ``conftest.py``; ``tests/test_nbval_tolerance.py``
tests it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

#: The largest tolerance a cell may declare: a bigger one would hide a changed result.
MAX_ABS = 0.01

_NUMBER = re.compile(r"[-+\u2212]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_TEXT_KEYS = ("text/plain", "text/html", "text/markdown", "text/latex")


def check_spec(spec: Any) -> float:
    """Validate a cell's ``tolerance`` metadata and return its ``abs``.

    Raises
    ------
    ValueError
        If the spec is not ``{"abs": number in (0, MAX_ABS]], "why": non-empty str}``.
    """
    if not isinstance(spec, dict) or set(spec) != {"abs", "why"}:
        raise ValueError(f"Expected cell metadata `tolerance` to be {{'abs': ..., 'why': ...}}, "
                         f"got {spec!r}")
    tol, why = spec["abs"], spec["why"]
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol <= MAX_ABS:
        raise ValueError(f"Expected `tolerance.abs` in (0, {MAX_ABS}], got {tol!r}")
    if not isinstance(why, str) or len(why.strip()) < 20:
        raise ValueError("Expected `tolerance.why` to say what spread was measured, "
                         f"got {why!r}")
    return float(tol)


def _float(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def within_tolerance(stored: str, fresh: str, tol: float) -> bool:
    """True if `fresh` equals `stored` except for decimal numbers at most `tol` apart.

    Examples
    --------
    >>> within_tolerance("ECE 0.052 (seed 3)", "ECE 0.053 (seed 3)", 0.002)
    True
    >>> within_tolerance("ECE 0.052 (seed 3)", "ECE 0.053 (seed 4)", 0.002)
    False
    >>> within_tolerance("0.052: clear", "0.053: within noise", 0.002)
    False
    """
    if stored == fresh:
        return True
    if _NUMBER.split(stored) != _NUMBER.split(fresh):
        return False
    for a, b in zip(_NUMBER.findall(stored), _NUMBER.findall(fresh), strict=True):
        if a == b:
            continue
        if "." not in a or "." not in b or len(a.split(".")[1]) != len(b.split(".")[1]):
            return False  # integers, and the number of printed decimals, must match exactly
        if abs(_float(a) - _float(b)) > tol * (1 + 1e-9):
            return False
    return True


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else value


def snap_outputs(fresh: list[dict], stored: list[dict], tol: float) -> list[dict]:
    """A copy of `fresh` in which every text within tolerance of `stored` is replaced by it."""
    out = []
    for i, new in enumerate(fresh):
        new = copy.deepcopy(new)  # a NotebookNode stays one: nbval reads attributes
        old = stored[i] if i < len(stored) else None
        if old is not None and old.get("output_type") == new.get("output_type"):
            if "text" in new and "text" in old:
                if within_tolerance(_text(old["text"]), _text(new["text"]), tol):
                    new["text"] = old["text"]
            if isinstance(new.get("data"), dict) and isinstance(old.get("data"), dict):
                for key in _TEXT_KEYS:
                    if key in new["data"] and key in old["data"] and within_tolerance(
                            _text(old["data"][key]), _text(new["data"][key]), tol):
                        new["data"][key] = old["data"][key]
        out.append(new)
    return out


def _install() -> None:
    from nbval.plugin import IPyNbCell, coalesce_streams

    if getattr(IPyNbCell.compare_outputs, "_with_tolerance", False):
        return
    original = IPyNbCell.compare_outputs

    def compare_outputs(self: Any, test: list, ref: list, skip_compare: Any = None) -> bool:
        spec = self.cell.metadata.get("tolerance")
        if spec is not None:
            tol = check_spec(spec)
            test = snap_outputs(coalesce_streams(test), coalesce_streams(ref), tol)
        return original(self, test, ref, skip_compare)

    compare_outputs._with_tolerance = True  # type: ignore[attr-defined]
    IPyNbCell.compare_outputs = compare_outputs


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "nbval", False):
        _install()
