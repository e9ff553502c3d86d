"""The nbval tolerance extension: exact everywhere except declared, bounded decimal drift."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbval_tolerance import MAX_ABS, check_spec, snap_outputs, within_tolerance

WHY = "measured spread 0.001 across the portability configurations"


@pytest.mark.parametrize(
    ("stored", "fresh", "tol", "ok"),
    [
        ("acc 0.852 ± 0.021", "acc 0.853 ± 0.020", 0.002, True),
        ("acc 0.852 ± 0.021", "acc 0.855 ± 0.021", 0.002, False),  # beyond the tolerance
        ("0.852 over 11 seeds", "0.852 over 12 seeds", 0.5, False),  # integers are exact
        ("ahead in 10/11", "ahead in 9/11", 0.01, False),
        ("0.852: A better", "0.851: within noise", 0.01, False),  # words are exact
        ("0.85", "0.852", 0.01, False),  # printed precision is exact
        ("\u22120.004", "-0.004", 0.001, True),  # a typographic minus is a minus
        ("x 1.5e-03", "x 1.6e-03", 0.001, True),
    ],
)
def test_within_tolerance(stored, fresh, tol, ok):
    assert within_tolerance(stored, fresh, tol) is ok


@pytest.mark.parametrize(
    "spec",
    [0.01, {"abs": 0.001}, {"abs": 0.0, "why": WHY}, {"abs": 2 * MAX_ABS, "why": WHY},
     {"abs": True, "why": WHY}, {"abs": 0.001, "why": "noise"},
     {"abs": 0.001, "why": WHY, "rel": 0.1}],
)
def test_bad_specs_are_refused(spec):
    with pytest.raises(ValueError, match="tolerance"):
        check_spec(spec)


def test_snap_outputs_replaces_only_text_within_tolerance():
    stored = [nbformat.v4.new_output("stream", name="stdout", text="ECE 0.052\n"),
              nbformat.v4.new_output("execute_result", data={"text/plain": "0.100"},
                                     execution_count=1)]
    fresh = [nbformat.v4.new_output("stream", name="stdout", text="ECE 0.053\n"),
             nbformat.v4.new_output("execute_result", data={"text/plain": "0.200"},
                                    execution_count=1)]
    out = snap_outputs(fresh, stored, 0.002)
    assert out[0].text == "ECE 0.052\n"  # snapped, and still a NotebookNode
    assert out[1]["data"]["text/plain"] == "0.200"  # too far: left for nbval to report
    assert fresh[0].text == "ECE 0.053\n"  # the input is not modified


def _notebook(tmp_path: Path, stored: str, metadata: dict) -> Path:
    code = 'print("ECE 0.053")'
    cell = nbformat.v4.new_code_cell(code, metadata=metadata, execution_count=1,
                                     outputs=[nbformat.v4.new_output("stream", name="stdout",
                                                                     text=stored)])
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "tol.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize(
    ("stored", "metadata", "passes"),
    [
        ("ECE 0.052\n", {"tolerance": {"abs": 0.002, "why": WHY}}, True),
        ("ECE 0.052\n", {}, False),  # without the declaration, strict as always
        ("ECE 0.050\n", {"tolerance": {"abs": 0.002, "why": WHY}}, False),
        ("ECE 0.052\n", {"tolerance": {"abs": 0.5, "why": WHY}}, False),  # refused spec
    ],
)
def test_nbval_uses_the_declared_tolerance(tmp_path, stored, metadata, passes):
    path = _notebook(tmp_path, stored, metadata)
    here = Path(__file__).parent
    result = subprocess.run(  # the plugin as the root conftest.py loads it for the book
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "nbval_tolerance",
         "--nbval", "--nbval-current-env", str(path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, "PYTHONPATH": str(here)},
    )
    assert (result.returncode == 0) is passes, result.stdout[-2000:]
