"""Triton softmax / log-softmax (kernels/triton_softmax.py), forward and backward vs torch.

Without a GPU the kernels run in Triton's interpreter (TRITON_INTERPRET=1, set here before the
module is imported), so the shapes are tiny; the launch heuristic's thresholds are shrunk so that
tiny rows still reach the multi-block kernel. GPU-marked tests use real sizes.
"""

from __future__ import annotations

import warnings

import pytest
from triton_interpreter import DEVICE, torch, ts

# dtype -> (rtol, atol) against torch computed in float32 and cast to the dtype
TOL = {
    torch.float32: (1e-5, 1e-6),
    torch.float16: (1e-2, 1e-3),
    torch.bfloat16: (2e-2, 1e-2),
}


@pytest.fixture(params=["single", "multi"])
def branch(request, monkeypatch):
    """Force the single-block or the online multi-block kernel on tiny rows."""
    if request.param == "multi":
        monkeypatch.setattr(ts, "MAX_FUSED_COLS", 16)
        monkeypatch.setattr(ts, "ONLINE_BLOCK", 16)
    return request.param


def _check(x, log, dy=None):
    dt = x.dtype
    rtol, atol = TOL[dt]
    x1 = x.detach().clone().requires_grad_(True)
    y = (ts.log_softmax_triton if log else ts.softmax_triton)(x1)
    ref_fn = torch.log_softmax if log else torch.softmax
    x2 = x.detach().float().requires_grad_(True)
    y_ref = ref_fn(x2, -1)
    torch.testing.assert_close(y, y_ref.to(dt), rtol=rtol, atol=atol, equal_nan=True)
    dy = torch.randn(x.shape, generator=torch.Generator().manual_seed(1)).to(DEVICE, dt)
    y.backward(dy)
    y_ref.backward(dy.float())
    torch.testing.assert_close(x1.grad, x2.grad.to(dt), rtol=rtol, atol=atol, equal_nan=True)
    assert y.dtype == dt and y.shape == x.shape


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape", [(3, 1), (5, 37), (2, 64), (4, 50)])
def test_forward_backward_match_torch(branch, log, dtype, shape):
    # 37 and 50: masked tails (of a 64-block, or of 16-blocks with 3 and 2 full ones)
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(shape, generator=g) * 4).to(DEVICE, dtype)
    _check(x, log)


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_masked_entries_and_all_masked_rows(branch, log):
    x = torch.randn(4, 40, generator=torch.Generator().manual_seed(2)).to(DEVICE)
    x[0, ::3] = -float("inf")  # masked entries: probability 0
    x[1, :] = -float("inf")  # all masked: NaN, as torch.softmax gives
    x[2, :17] = -float("inf")  # a whole first block masked: the online kernel must not NaN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the interpreter's NumPy on -inf - -inf
        _check(x, log)


def test_large_logits_do_not_overflow(branch):
    x = torch.tensor([[1000.0, 999.0, -1000.0] * 7]).to(DEVICE)
    _check(x, log=False)


def test_other_axis_and_batch_dims(branch):
    x = torch.randn(2, 21, 3, generator=torch.Generator().manual_seed(3)).to(DEVICE)
    torch.testing.assert_close(ts.softmax_triton(x, axis=1), torch.softmax(x, 1))
    torch.testing.assert_close(ts.log_softmax_triton(x, axis=-2), torch.log_softmax(x, 1))


def test_empty_batch():
    x = torch.zeros(0, 5, device=DEVICE)
    assert ts.softmax_triton(x).shape == (0, 5)


def test_launch_heuristic():
    small = ts.launch_config(781)
    assert (small.block, small.multi_block) == (1024, False)
    assert ts.launch_config(ts.MAX_FUSED_COLS).multi_block is False
    big = ts.launch_config(ts.MAX_FUSED_COLS + 1)
    assert big.multi_block and big.block == ts.ONLINE_BLOCK
    assert ts.launch_config(1).block == 1
    assert [ts.launch_config(n).num_warps for n in (1000, 4000, 16000)] == [4, 8, 16]


def test_errors(monkeypatch):
    with pytest.raises(TypeError, match=r"`x` to be a torch\.Tensor"):
        ts.softmax_triton([1.0, 2.0])
    with pytest.raises(TypeError, match="dtype"):
        ts.softmax_triton(torch.zeros(2, 3, dtype=torch.float64, device=DEVICE))
    with pytest.raises(TypeError, match="dtype"):
        ts.log_softmax_triton(torch.zeros(2, 3, dtype=torch.int64, device=DEVICE))
    with pytest.raises(ValueError, match="at least one dimension"):
        ts.softmax_triton(torch.tensor(1.0, device=DEVICE))
    with pytest.raises(ValueError, match="at least one class"):
        ts.softmax_triton(torch.zeros(2, 0, device=DEVICE))
    with pytest.raises(ValueError, match="`axis`"):
        ts.softmax_triton(torch.zeros(2, 3, device=DEVICE), axis=2)
    monkeypatch.setattr(ts, "INTERPRET", False)
    with pytest.raises(ValueError, match="CUDA device"):
        ts.softmax_triton(torch.zeros(2, 3))


# Real sizes on a GPU (781 to 262144 columns, three dtypes) are tested in
# tests/test_kernels_triton_gpu.py against torch *and* float64: the fixed 1e-6 tolerance the
# test here used was tighter than float32 rounding of sum(dy) over 128256 columns allows
# (the interpreter already differed by 3.7e-5 from torch's float32 gradient, while both were
# within a few ulps of the float64 gradient).


def test_gpu_benchmark_code_path_runs_under_the_interpreter():
    from softmax_bottleneck import bench

    rows = bench._bench_cuda([37], 4096, 1, device=DEVICE)
    kernels = {r["kernel"] for r in rows}
    assert {"softmax_triton", "torch.softmax", "softmax_triton_backward", "copy"} <= kernels
    assert all(r["correct"] for r in rows)
    assert all(r["device"] == DEVICE for r in rows)
