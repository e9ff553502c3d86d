"""A chapter runs where the helper package is not installed, as on Colab.

A fresh virtualenv sees the project's third-party libraries (numpy, torch, ipykernel, ...)
through a ``.pth`` line, as Colab has them preinstalled, but not ``softmax_bottleneck``. The
notebook's hidden first cell must notice that and install the package; the environment variable
``SOFTMAX_BOTTLENECK_SOURCE`` points it at this checkout instead of the pinned git tag, so the
test needs no network access to GitHub.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "01-softmax" / "what-softmax-is.ipynb"

RUNNER = textwrap.dedent(
    """
    import importlib.util, json, sys
    import nbformat
    from nbclient import NotebookClient

    before = importlib.util.find_spec("softmax_bottleneck")
    nb = nbformat.read(sys.argv[1], as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    streams = [
        "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
        for c in nb.cells if c.cell_type == "code"
    ]
    print(json.dumps({"found_before": before is not None, "streams": streams}))
    """
)


def _stored_streams(path: Path) -> list[str]:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return [
        "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
        for c in nb.cells
        if c.cell_type == "code"
    ]


def test_chapter_installs_the_package_and_runs(tmp_path):
    venv = tmp_path / "colab"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    # The project's libraries, but not its editable install: a .pth line adds a directory to
    # sys.path without running the .pth files inside it (where the editable hook lives).
    (Path(site) / "preinstalled.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    probe = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print(u.find_spec('softmax_bottleneck'))"],
        check=True, capture_output=True, text=True,
    )
    assert probe.stdout.strip() == "None", "the package must not be importable before the cell"

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_PATH")
    }
    env["SOFTMAX_BOTTLENECK_SOURCE"] = str(ROOT)
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter")   # no user kernelspecs: use this python
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    runner = tmp_path / "run.py"
    runner.write_text(RUNNER)
    result = subprocess.run(
        [str(python), str(runner), str(CHAPTER)],
        cwd=CHAPTER.parent, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["found_before"] is False
    installed = subprocess.run(
        [str(python), "-c", "import softmax_bottleneck as sb; print(sb.__file__)"],
        check=True, capture_output=True, text=True, env=env,
    ).stdout
    assert installed.startswith(str(venv)), f"imported from {installed}, not the fresh venv"
    # Every printed output of the chapter is what the stored notebook shows.
    assert report["streams"][1:] == _stored_streams(CHAPTER)[1:]
