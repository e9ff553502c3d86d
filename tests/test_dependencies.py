"""pyproject.toml, environment.yml, the README's table and the Makefile name the same dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _key(req: Requirement) -> tuple[str, str, str]:
    return (canonicalize_name(req.name), str(req.specifier), str(req.marker or ""))


def _pyproject() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"core": [Requirement(r) for r in project["dependencies"]]}
    for group, reqs in project["optional-dependencies"].items():
        groups[group] = [Requirement(r) for r in reqs]
    return groups


def _torch_pin() -> Requirement:
    match = re.search(r"^TORCH_SPEC \?= (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, "Makefile must define TORCH_SPEC ?= torch==<version>"
    return Requirement(match.group(1))


def _expected() -> set[tuple[str, str, str]]:
    """Every requirement of every group, with torch replaced by the Makefile's pin."""
    pin = _torch_pin()
    expected = set()
    for reqs in _pyproject().values():
        for req in reqs:
            expected.add(_key(pin) if canonicalize_name(req.name) == "torch" else _key(req))
    return expected


def test_torch_pin_is_exact_and_allowed_by_pyproject():
    pin = _torch_pin()
    (spec,) = pin.specifier
    assert spec.operator == "==", "torch must be pinned exactly, or pip pulls CUDA packages"
    torch_reqs = [r for r in _pyproject()["torch"] if canonicalize_name(r.name) == "torch"]
    assert torch_reqs and torch_reqs[0].specifier.contains(spec.version)


def test_torch_comes_from_the_same_cpu_index_everywhere():
    # The pin alone does not pick the CPU build: on Linux, PyPI's torch wheel is the CUDA one.
    make = (ROOT / "Makefile").read_text()
    index = re.search(r"^TORCH_INDEX \?= (\S+)$", make, re.M)
    assert index and index.group(1).endswith("/whl/cpu"), "Makefile must define a CPU index"
    assert '--extra-index-url "$(TORCH_INDEX)" "$(TORCH_SPEC)"' in make
    assert f"--extra-index-url {index.group(1)}" in (ROOT / "environment.yml").read_text()
    assert f"--extra-index-url {index.group(1)} torch==" in (
        ROOT / "book" / "appendices" / "setup.md"
    ).read_text()


def test_makefile_installs_every_extra():
    extras = re.search(r"^EXTRAS := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert extras, "Makefile must define EXTRAS"
    groups = set(_pyproject()) - {"core"}
    assert set(extras.group(1).split(",")) == groups


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = [line for line in pip_section if not line.startswith(("-", "--"))]
    keys = [_key(Requirement(line)) for line in listed]
    assert len(keys) == len(set(keys)), "environment.yml lists a requirement twice"
    assert set(keys) == _expected()
    assert "-e ." in pip_section, "environment.yml must install the package itself"
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    version = python[0].split("=", 1)[1]
    assert Requirement(f"python{requires}").specifier.contains(version + ".0")


def _readme_table() -> list[dict[str, str]]:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- dependencies:start -->\n(.*?)<!-- dependencies:end -->", text, re.S)
    assert match, "README.md must hold the dependency table between its markers"
    lines = [line for line in match.group(1).splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def test_readme_table_matches_pyproject():
    rows = _readme_table()
    keys = [_key(Requirement(row["package"] + row["version"])) for row in rows]
    assert len(keys) == len(set(keys)), "README lists a package twice"
    assert set(keys) == _expected()


def test_readme_groups_match_pyproject():
    groups = {
        canonicalize_name(req.name): group
        for group, reqs in _pyproject().items()
        for req in reqs
    }
    for row in _readme_table():
        assert groups[canonicalize_name(row["package"])] == row["group"], row["package"]


@pytest.mark.parametrize("command", ["make book", "make test"])
def test_readme_gives_the_two_commands_verbatim(command):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Two commands.*?```bash\n(.*?)```", readme, re.S)
    assert block and command in block.group(1).splitlines()


def test_ci_runs_the_readme_test_command():
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "make test" in lines


def test_readme_names_the_system_packages():
    match = re.search(r"^SYSTEM_PACKAGES := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, "Makefile must define SYSTEM_PACKAGES"
    readme = (ROOT / "README.md").read_text()
    for package in match.group(1).split():
        assert f"`{package}`" in readme, f"README does not mention the apt package {package}"
