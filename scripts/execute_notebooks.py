"""Execute notebooks in place so that their stored outputs are what the code produces.

Usage: python scripts/execute_notebooks.py book/01-softmax/what-softmax-is.ipynb [...]

Each notebook runs top to bottom in a fresh kernel from its own folder. Volatile metadata is
dropped afterwards: cell timings, saved widget state and widget views (the website must not
load widget JavaScript from a CDN, model ids are random, and a stored view shows "model not
found" in JupyterLab). Strict nbval (`make test`) then checks that
a fresh run reproduces every stored output.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    elapsed = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        # A stored widget view points at a model that exists only in the live kernel: opened
        # later, JupyterLab shows "Error displaying widget: model not found". The explorers'
        # plain-text form (a sentence saying the widget needs a running kernel) is kept.
        for output in cell.get("outputs", []):
            output.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return elapsed


def main(paths: list[str]) -> int:
    if not paths:
        sys.stderr.write(__doc__ or "")
        return 2
    for name in paths:
        seconds = execute(Path(name))
        print(f"{name}: executed in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
