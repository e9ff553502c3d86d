"""Reference loops (kernels/reference.py) against sb.softmax and each other."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import softmax_bottleneck as sb
from softmax_bottleneck.kernels import (
    naive_softmax_loop,
    online_softmax_loop,
    three_pass_softmax_loop,
)

STABLE = [three_pass_softmax_loop, online_softmax_loop]
ALL = [naive_softmax_loop, *STABLE]

finite_rows = arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(1, 9)),
    elements=st.floats(-50, 50, allow_nan=False),
)


@pytest.mark.parametrize("fn", ALL)
def test_matches_softmax_on_moderate_logits(fn):
    x = np.random.default_rng(0).normal(size=(6, 13)) * 5
    np.testing.assert_allclose(fn(x), sb.softmax(x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("fn", STABLE)
@given(x=finite_rows)
def test_stable_loops_match_softmax(fn, x):
    np.testing.assert_allclose(fn(x), sb.softmax(x), rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("fn", STABLE)
@given(x=finite_rows, shift=st.floats(-1e3, 1e3))
def test_translation_invariance(fn, x, shift):
    np.testing.assert_allclose(fn(x + shift), fn(x), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("fn", STABLE)
def test_large_logits_do_not_overflow(fn):
    np.testing.assert_allclose(fn([1000.0, 999.0]), sb.softmax([1000.0, 999.0]))


def test_naive_loop_overflows_like_the_formula():
    out = naive_softmax_loop([1000.0, 0.0])
    assert np.isnan(out[0]) and out[1] == 0.0


@pytest.mark.parametrize("fn", STABLE)
def test_special_values_follow_sb_softmax(fn):
    inf = np.inf
    x = np.array(
        [
            [0.0, -inf, 1.0],  # masked entry: probability 0
            [-inf, -inf, -inf],  # all masked: NaN
            [inf, 0.0, 1.0],  # one +inf: one-hot
            [inf, inf, 0.0],  # two +inf: NaN
            [np.nan, 0.0, 1.0],  # NaN: NaN row
            [-inf, 5.0, -inf],  # -inf before the first finite value (online: no NaN)
        ]
    )
    np.testing.assert_allclose(fn(x), sb.softmax(x), rtol=1e-15)  # NaN where NaN


@pytest.mark.parametrize("fn", ALL)
def test_axis_and_dtype(fn):
    x = np.random.default_rng(1).normal(size=(3, 4, 5)).astype(np.float32)
    out = fn(x, axis=1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, sb.softmax(x, axis=1), rtol=1e-6)


def test_torch_input_gives_numpy():
    torch = pytest.importorskip("torch")
    out = online_softmax_loop(torch.tensor([[1.0, 2.0]]))
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, sb.softmax(np.array([[1.0, 2.0]], dtype=np.float32)), rtol=1e-6)


@pytest.mark.parametrize("fn", ALL)
def test_errors(fn):
    with pytest.raises(ValueError, match="at least one dimension"):
        fn(1.0)
    with pytest.raises(ValueError, match="at least one class"):
        fn(np.zeros((2, 0)))
    with pytest.raises(TypeError, match="`axis` to be an integer"):
        fn([1.0, 2.0], axis=0.5)
    with pytest.raises(TypeError, match="`x`"):
        fn(["a", "b"])


@pytest.mark.parametrize("fn", ALL)
def test_torch_low_precision_and_grad_inputs(fn):
    """bfloat16 (no NumPy dtype) comes back as float32, float16 as float16; a tensor that
    requires grad is read detached."""
    torch = pytest.importorskip("torch")
    z = torch.tensor([[1.0, 2.0, -3.0]])
    ref = sb.softmax(z.double()).numpy()
    for dtype, out_dtype in ((torch.bfloat16, np.float32), (torch.float16, np.float16)):
        out = fn(z.to(dtype))
        assert out.dtype == out_dtype
        np.testing.assert_allclose(out, ref, rtol=1e-2)
    out = fn(z.clone().requires_grad_(True))
    np.testing.assert_allclose(out, ref, rtol=1e-6)


def _hide(monkeypatch, *modules):
    import sys

    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)  # `import m` now raises ModuleNotFoundError


def test_missing_numba_names_the_extra(monkeypatch):
    import importlib

    kernels = importlib.import_module("softmax_bottleneck.kernels")
    _hide(monkeypatch, "numba", "llvmlite")
    with pytest.raises(
        ModuleNotFoundError, match=r"numba.*pip install 'softmax-bottleneck\[kernels\]'"
    ):
        kernels.softmax_cpu  # noqa: B018
    with pytest.raises(ModuleNotFoundError, match=r"softmax-bottleneck\[kernels\]"):
        sb.softmax_cpu  # noqa: B018
    # the pure-Python loops need nothing optional
    assert kernels.online_softmax_loop([0.0, 0.0]).tolist() == [0.5, 0.5]


def test_missing_triton_or_torch_names_the_extra():
    import subprocess
    import sys

    for missing, extra in (("triton", "kernels"), ("torch", "torch")):
        code = (
            f"import sys; sys.modules[{missing!r}] = None\n"
            "import softmax_bottleneck.kernels as k\n"
            "try:\n    k.softmax_triton\nexcept ModuleNotFoundError as err:\n    print(err)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert f"pip install 'softmax-bottleneck[{extra}]'" in out, out


def test_kernels_dir_lists_kernels_only():
    import softmax_bottleneck.kernels as kernels

    names = dir(kernels)
    assert "softmax_cpu" in names and "chunked_cross_entropy" in names
    assert not {"Any", "importlib", "annotations"} & set(names)
