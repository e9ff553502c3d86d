"""The Numba CPU kernel (kernels/cpu.py) against sb.softmax and torch.softmax."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import softmax_bottleneck as sb

pytest.importorskip("numba")
from softmax_bottleneck.kernels import softmax_cpu

# dtype -> relative tolerance against a float64 softmax of the same values. In float32 the
# error is dominated by rounding z - shift (|z - max| * 2**-24, here up to ~2e-6: sb.softmax and
# torch.softmax are off by as much); the polynomial exp adds less than an ulp.
RTOL = {np.float32: 3e-6, np.float64: 1e-13}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (5, 31), (4, 32), (2, 33), (7, 1025), (3, 5000)])
def test_matches_softmax(dtype, shape):
    # widths around the 32-lane max pass (31, 32, 33) and odd lengths hit every tail
    x = (np.random.default_rng(0).normal(size=shape) * 8).astype(dtype)
    out = softmax_cpu(x)
    assert out.dtype == dtype and out.shape == shape
    np.testing.assert_allclose(out, sb.softmax(x.astype(np.float64)), rtol=RTOL[dtype], atol=1e-30)


@given(
    x=arrays(
        np.float64,
        st.tuples(st.integers(1, 5), st.integers(1, 70)),
        elements=st.floats(-700, 700, allow_nan=False),
    )
)
def test_matches_softmax_property(x):
    np.testing.assert_allclose(softmax_cpu(x), sb.softmax(x), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_values(dtype):
    inf = np.inf
    x = np.zeros((7, 40), dtype=dtype)
    x[0, 3] = -inf  # masked entry
    x[1, :] = -inf  # all masked: NaN
    x[2, 5] = inf  # one +inf: one-hot
    x[3, [1, 2]] = inf  # two +inf: NaN
    x[4, 39] = np.nan  # NaN in the tail: NaN row
    x[5, :] = np.nan  # all NaN
    x[6, :] = -200.0  # exp underflows without the shift; with it, uniform
    np.testing.assert_allclose(softmax_cpu(x), sb.softmax(x), rtol=RTOL[dtype])


def test_tiny_probabilities_flush_to_zero_not_nan():
    x = np.array([[0.0, -90.0, -1000.0]], dtype=np.float32)  # e^-90 < smallest float32 normal
    out = softmax_cpu(x)
    assert np.all(np.isfinite(out)) and out[0, 2] == 0.0


def test_axis_and_layouts():
    x = np.random.default_rng(1).normal(size=(3, 50, 4))
    np.testing.assert_allclose(softmax_cpu(x, axis=1), sb.softmax(x, axis=1), rtol=1e-13)
    strided = x[:, ::3, 1]
    np.testing.assert_allclose(softmax_cpu(strided), sb.softmax(strided), rtol=1e-13)


def test_out_and_in_place():
    x = np.random.default_rng(2).normal(size=(4, 100)).astype(np.float32)
    expected = sb.softmax(x)
    out = np.empty_like(x)
    assert softmax_cpu(x, out=out) is out
    np.testing.assert_allclose(out, expected, rtol=2e-6)
    y = x.copy()
    softmax_cpu(y, out=y)
    np.testing.assert_allclose(y, expected, rtol=2e-6)
    z = np.empty((100, 4), dtype=np.float32)
    softmax_cpu(x.T, axis=0, out=z)
    np.testing.assert_allclose(z, expected.T, rtol=2e-6)


def test_promotion():
    assert softmax_cpu(np.array([1, 2, 3])).dtype == np.float64
    h = softmax_cpu(np.array([1.0, 2.0], dtype=np.float16))
    assert h.dtype == np.float16  # computed in float32, given back in float16
    np.testing.assert_allclose(h, sb.softmax(np.array([1.0, 2.0])), rtol=1e-3)


def test_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    x = torch.randn(6, 300, generator=torch.Generator().manual_seed(0))
    y = softmax_cpu(x)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32
    torch.testing.assert_close(y, torch.softmax(x, -1), rtol=2e-6, atol=1e-8)
    out = torch.empty_like(x)
    assert softmax_cpu(x, out=out) is out
    torch.testing.assert_close(out, y)
    xb = x.to(torch.bfloat16)
    assert softmax_cpu(xb).dtype == torch.bfloat16


def test_empty_batch():
    out = softmax_cpu(np.zeros((0, 5), dtype=np.float32))
    assert out.shape == (0, 5)


def test_errors():
    x = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="at least one dimension"):
        softmax_cpu(np.float32(1.0))
    with pytest.raises(ValueError, match="at least one class"):
        softmax_cpu(np.zeros((2, 0)))
    with pytest.raises(ValueError, match="`axis`"):
        softmax_cpu(x, axis=2)
    with pytest.raises(TypeError, match="`x`"):
        softmax_cpu(np.array(["a"]))
    with pytest.raises(TypeError, match="`out` to have dtype float32"):
        softmax_cpu(x, out=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="`out` to have shape"):
        softmax_cpu(x, out=np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="`out` to be C-contiguous"):
        softmax_cpu(x, out=np.zeros((2, 6), dtype=np.float32)[:, ::2])
    with pytest.raises(TypeError, match=r"`out` to be a numpy\.ndarray"):
        softmax_cpu(x, out=[0.0])
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"`out` to be a torch\.Tensor"):
        softmax_cpu(torch.zeros(2, 3), out=x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocks_and_special_values_anywhere_in_a_long_row(dtype):
    """The kernel streams each row in blocks with a running maximum: the maximum may rise in a
    late block, leading blocks may be all -inf, and +inf or NaN may sit in the last block."""
    k = 3 * 256 + 5
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(6, k)) * 4).astype(dtype)
    x[0] = np.sort(x[0])  # the maximum rises in every block
    x[1, :600] = -np.inf  # leading blocks entirely masked
    x[2, k - 1] = np.inf  # one +inf in the ragged last block: one-hot
    x[3, k - 2] = np.nan
    x[4, [3, k - 1]] = np.inf  # two +inf: NaN
    x[5, 700] = 80.0  # a late maximum far above the rest
    out = softmax_cpu(x)
    ref = sb.softmax(x.astype(np.float64))
    np.testing.assert_allclose(out[[0, 1, 5]], ref[[0, 1, 5]], rtol=RTOL[dtype], atol=1e-30)
    assert out[2].tolist() == [0.0] * (k - 1) + [1.0]
    assert np.isnan(out[3]).all() and np.isnan(out[4]).all()


def test_compiled_code_is_cached_across_processes():
    """Numba's cache: a new process loads the kernels instead of compiling them (~10 s).
    Checked by the dispatcher's own counters (a cache hit, nothing compiled) and by the time
    of the first call, measured as the process's CPU time (wall time on a busy shared machine
    also counts waiting for a core; on an idle one the two agree). The issue's target, under
    1 s, is for an idle machine; this bound only has to tell loading from compiling."""
    import json
    import subprocess
    import sys

    script = (
        "import json, time\n"
        "import numpy as np\n"
        "c0, w0 = time.process_time(), time.perf_counter()\n"
        "from softmax_bottleneck.kernels import softmax_cpu\n"
        "from softmax_bottleneck.kernels import _cpu_numba as k\n"
        "softmax_cpu(np.ones((2, 3), np.float32))\n"
        "cpu, wall = time.process_time() - c0, time.perf_counter() - w0\n"
        "print(json.dumps({'cpu': cpu, 'wall': wall, 'hits': sum(k.softmax32.stats.cache_hits.values()),"
        " 'misses': sum(k.softmax32.stats.cache_misses.values())}))\n"
    )
    run = [sys.executable, "-c", script]
    subprocess.run(run, check=True, capture_output=True)  # fills the cache if it is empty
    result = json.loads(subprocess.run(run, check=True, capture_output=True, text=True)
                        .stdout.strip().splitlines()[-1])
    assert result["hits"] >= 1 and result["misses"] == 0, result
    # Importing Numba and loading the cached code take about 0.8 s of CPU time on an idle
    # 2-core VM, compiling about 7 s; a busy machine inflates even CPU time (1.3 s measured at
    # load average 10), so the bound separates loading from compiling with room for that.
    assert result["cpu"] < 2.0, result
