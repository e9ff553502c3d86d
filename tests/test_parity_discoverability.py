"""Discoverability of the package (referee report section 3, issue 13): ``dir(sb)``, the flat
lazy re-exports, missing optional dependencies naming their pip extra, ``py.typed``."""

from __future__ import annotations

import importlib.resources
import subprocess
import sys

import pytest

import softmax_bottleneck as sb


def test_dir_lists_lazy_submodules_and_functions():
    names = set(dir(sb))
    for sub in (
        "sparse",
        "calibration",
        "resampling",
        "losses",
        "kernels",
        "metrics",
        "temperature_scaling",
    ):
        assert sub in names
    for fn in (
        "sparsemax",
        "expected_calibration_error",
        "focal_loss",
        "SMOTE",
        "chunked_cross_entropy",
        "fit_temperature",
        "softmax",
    ):
        assert fn in names


def test_dir_lists_every_public_module():
    # A module added to the package must be reachable as sb.<module> and listed by dir(sb).
    package = importlib.resources.files("softmax_bottleneck")
    modules = {p.name.removesuffix(".py") for p in package.iterdir()
               if p.name.endswith(".py") and not p.name.startswith("_")}
    modules |= {p.name for p in package.iterdir()
                if p.is_dir() and (p / "__init__.py").is_file()}
    missing = modules - set(dir(sb))
    assert not missing, f"modules not listed by dir(sb): {sorted(missing)}"
    for name in modules - {"softmax"}:  # sb.softmax is the function, its module's namesake
        assert getattr(sb, name).__name__ == f"softmax_bottleneck.{name}"


@pytest.mark.parametrize("name", sorted(sb._LAZY_FUNCTIONS))
def test_lazy_functions_are_the_submodule_objects(name):
    module = importlib.import_module(f"softmax_bottleneck.{sb._LAZY_FUNCTIONS[name]}")
    assert getattr(sb, name) is getattr(module, name)
    assert name in sb.__all__


def test_import_stays_cheap():
    code = (
        "import sys, softmax_bottleneck as sb; dir(sb); "
        "print(sorted(m for m in ('torch', 'sklearn', 'numba', 'triton', 'matplotlib') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_extra_is_named(monkeypatch):
    """A missing optional dependency says which extra to install."""
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now fails
    monkeypatch.setitem(sys.modules, "sklearn.neighbors", None)
    import numpy as np

    X = np.arange(40.0).reshape(20, 2)
    y = np.array([0] * 14 + [1] * 6)
    with pytest.raises(ModuleNotFoundError, match=r"softmax-bottleneck\[data\]"):
        sb.SMOTE(random_state=0).fit_resample(X, y)


def test_missing_extra_through_lazy_attribute():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import softmax_bottleneck as sb\n"
        "try:\n    sb.models\nexcept ModuleNotFoundError as err:\n    print(err)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'softmax-bottleneck[torch]'" in out.stdout


def test_unknown_attribute_is_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        sb.no_such_name  # noqa: B018


def test_py_typed_is_shipped():
    assert importlib.resources.files("softmax_bottleneck").joinpath("py.typed").is_file()
