"""The benchmark results that ship inside the package (bench.committed_results)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from softmax_bottleneck import bench

ROOT = Path(__file__).resolve().parents[1]
REPO_RESULTS = ROOT / "benchmarks" / "results"
PACKAGED = ROOT / "src" / "softmax_bottleneck" / "bench_results"


def test_packaged_copy_equals_the_repository_results():
    repo = sorted(p.name for p in REPO_RESULTS.glob("*.json"))
    assert repo, "no committed benchmark results"
    assert sorted(p.name for p in PACKAGED.glob("*.json")) == repo
    for name in repo:
        assert (PACKAGED / name).read_bytes() == (REPO_RESULTS / name).read_bytes(), name


def test_committed_results_parses_every_file_and_filters_by_pattern():
    everything = bench.committed_results()
    assert set(everything) == {p.name for p in REPO_RESULTS.glob("*.json")}
    for name, result in everything.items():
        assert result == json.loads((REPO_RESULTS / name).read_text()), name
        assert {"machine", "versions", "date", "rows"} <= set(result)
    cpu = bench.committed_results("cpu-*.json")
    assert cpu and all(name.startswith("cpu-") for name in cpu)
    assert bench.committed_results("no-such-*.json") == {}


@pytest.mark.parametrize("bad", [None, "", 3])
def test_committed_results_rejects_a_bad_pattern(bad):
    with pytest.raises(TypeError, match="pattern"):
        bench.committed_results(bad)


def test_the_wheel_ships_the_results(tmp_path):
    # A pip install from git (the Colab path) gets only what the wheel holds.
    # Built from a clean copy: a stale build/ or egg-info in the checkout could hide a gap.
    import shutil
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "source"
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path / "wheel"), str(source)],
        check=True,
    )
    (wheel,) = (tmp_path / "wheel").glob("softmax_bottleneck-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for p in REPO_RESULTS.glob("*.json"):
        assert f"softmax_bottleneck/bench_results/{p.name}" in names
