"""Triton softmax and log-softmax on a CUDA GPU at real sizes, against torch (issue 14).

Forward and backward, float32, float16 and bfloat16, the single-block kernel (rows up to
16384) and the online multi-block kernel (longer rows), row lengths from 8 to 262144 and more
than 65535 rows. Each result is compared twice:

* the forward output with ``torch.softmax`` / ``torch.log_softmax`` on the same input in the
  same dtype (``torch.testing.assert_close``, the tolerances of tests/test_kernels_triton.py);
* forward output, backward kernel and autograd gradient with a float64 reference: the Triton
  kernel's largest error may be at most twice PyTorch's own, plus a few units in the last
  place of the largest entry (see ``_compare``).

The tests marked ``gpu`` skip without CUDA (tests/conftest.py, and a ``skipif`` here so that the
file also skips when run with ``--noconftest``, as scripts/gpu_check.sh does where hypothesis is
missing). They need only pytest, torch and triton. The one unmarked test runs the same
comparison on tiny CPU tensors in Triton's interpreter, so that the checking code itself is
tested where there is no GPU.
"""

from __future__ import annotations

import pytest
from triton_interpreter import CUDA, torch, ts

needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
DTYPES = [torch.float32, torch.float16, torch.bfloat16]
# dtype -> (rtol, atol) between Triton and torch in the same dtype
TOL = {
    torch.float32: (1e-5, 1e-6),
    torch.float16: (1e-2, 1e-3),
    torch.bfloat16: (2e-2, 1e-2),
}
# Allowed error beyond twice torch's, in units of eps(dtype) * largest reference entry:
# one unit in the last place for the rounded narrow dtypes; more for float32, whose rounding
# error is small enough that the order of the sums and Triton's approximate exp (ex2.approx,
# about 2^-22 relative) show.
ULPS = {torch.float32: 32.0, torch.float16: 2.0, torch.bfloat16: 2.0}

SHAPES = [
    (1823, 781),  # Triton tutorial's irregular shape: single block with a masked tail
    (512, 16384),  # the longest single-block row (MAX_FUSED_COLS)
    (256, 16385),  # the shortest online row: one value in the last block
    (64, 50257),  # GPT-2's vocabulary: online, odd tail
    (32, 128256),  # Llama 3's vocabulary
    (8, 262144),  # 64 full blocks
    (65537, 8),  # more rows than a 16-bit grid dimension
]


def _max_err(a, ref):
    return float((a.detach().double() - ref).abs().max())


def _as_accurate_as_torch(what, ours, theirs, ref, dt, scale=None):
    """Our largest error against float64 is at most twice torch's, plus `ULPS` units of
    `scale` (default: the largest reference entry)."""
    finite = torch.isfinite(ref)
    assert torch.equal(torch.isfinite(ours), finite), f"{what}: non-finite where torch is not"
    if not bool(finite.any()):
        return
    ref_f = ref[finite]
    err_ours = _max_err(ours[finite], ref_f)
    err_theirs = _max_err(theirs[finite], ref_f)
    scale = float(ref_f.abs().max()) if scale is None else scale
    floor = ULPS[dt] * torch.finfo(dt).eps * scale
    assert err_ours <= 2 * err_theirs + floor, (
        f"{what}: max error {err_ours:.3e} against float64, torch's {err_theirs:.3e}, "
        f"allowed 2 x torch's + {floor:.3e}"
    )


def _compare(x, log, dy, *, reach=None):
    """Triton against torch in x's dtype, and both against float64: forward and gradient.

    The backward kernel is checked twice: alone, on torch's forward output (the float64
    reference then uses that same rounded output), and through autograd, where it reads
    Triton's own output and the reference is the exact gradient of the float64 softmax.
    Through autograd one unit in the last place of a probability near 1 (bfloat16 0.9883
    against 0.9922) moves ``sum(dy * y)``, hence the row's gradient, by that unit times
    ``dy``, so only the float64 comparison is made there. For the gradient no fixed ``atol``
    is used: the rounding error of ``sum(dy)`` over 262144 float32 values alone reaches 1e-4.
    """
    dt = x.dtype
    rtol, atol = TOL[dt]
    fn_tri = ts.log_softmax_triton if log else ts.softmax_triton
    fn_ref = torch.log_softmax if log else torch.softmax
    what = f"{'log_softmax' if log else 'softmax'} {dt} {tuple(x.shape)}"
    x_tri = x.detach().clone().requires_grad_(True)
    x_tor = x.detach().clone().requires_grad_(True)
    x_64 = x.detach().double().requires_grad_(True)
    y_tri, y_tor, y_64 = fn_tri(x_tri), fn_ref(x_tor, -1), fn_ref(x_64, -1)
    y_tri.backward(dy)
    y_tor.backward(dy)
    y_64.backward(dy.double())
    assert y_tri.dtype == dt and y_tri.shape == x.shape and x_tri.grad.dtype == dt
    torch.testing.assert_close(y_tri, y_tor, rtol=rtol, atol=atol, equal_nan=True)
    _as_accurate_as_torch(f"forward {what}", y_tri, y_tor, y_64.detach(), dt)

    rows = y_tor.detach().reshape(-1, x.shape[-1])  # the backward kernel alone
    dx_alone = ts._backward(rows, dy.reshape(rows.shape).contiguous(), log).reshape(x.shape)
    y_d, dy_d = y_tor.detach().double(), dy.double()
    if log:
        dx_ref = dy_d - y_d.exp() * dy_d.sum(-1, keepdim=True)
    else:
        dx_ref = y_d * (dy_d - (dy_d * y_d).sum(-1, keepdim=True))
    # The gradient is a difference of two terms that may nearly cancel: its rounding error
    # is relative to the larger term, not to the result.
    p_64, dy_64 = (y_64.detach().exp() if log else y_64.detach()), dy.double()
    total = (dy_64 if log else p_64 * dy_64).sum(-1, keepdim=True)
    terms = (dy_64 if log else p_64 * dy_64).abs() + (p_64 * total).abs()
    g_scale = float(terms.nan_to_num(0.0).max())
    _as_accurate_as_torch(
        f"backward kernel {what}", dx_alone, x_tor.grad, dx_ref, dt, scale=g_scale
    )
    _as_accurate_as_torch(
        f"autograd gradient {what}", x_tri.grad, x_tor.grad, x_64.grad, dt, scale=g_scale
    )
    if reach is not None:  # the kernel the launch heuristic picks for this row length
        assert ts.launch_config(x.shape[-1]).multi_block is reach


def _inputs(shape, dtype, device, scale=3.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=g) * scale).to(device, dtype)
    dy = torch.randn(shape, generator=g).to(device, dtype)
    return x, dy


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d).removeprefix("torch."))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_forward_backward_match_torch_at_real_sizes(shape, dtype, log):
    x, dy = _inputs(shape, dtype, "cuda")
    _compare(x, log, dy, reach=shape[-1] > ts.MAX_FUSED_COLS)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("n_cols", [4096, 65536], ids=["single", "online"])
def test_masked_entries_and_all_masked_rows(n_cols, log):
    x, dy = _inputs((4, n_cols), torch.float32, "cuda", seed=2)
    x[0, ::3] = -float("inf")  # masked entries: probability 0
    x[1, :] = -float("inf")  # all masked: NaN, as torch gives
    x[2, : n_cols * 5 // 8] = -float("inf")  # the online kernel's first blocks all masked
    _compare(x, log, dy)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d).removeprefix("torch."))
@pytest.mark.parametrize("n_cols", [4096, 65536], ids=["single", "online"])
def test_large_and_spread_logits(n_cols, dtype):
    # float32: a spread of hundreds, most exponentials underflow. float16 and bfloat16:
    # logits near 60000 (float16's largest finite value is 65504) and 10000, where exp
    # overflows unless the maximum is subtracted first, and only multiples of 32 or 64 apart.
    x, dy = _inputs((16, n_cols), torch.float32, "cuda", scale=50.0, seed=3)
    if dtype != torch.float32:
        big = 6e4 if dtype == torch.float16 else 1e4
        x = x.clamp(-100, 100) + (big - 100)
    _compare(x.to(dtype), False, dy.to(dtype))
    _compare(x.to(dtype), True, dy.to(dtype))


@pytest.mark.gpu
@needs_cuda
def test_other_axis_and_batch_dims_at_real_size():
    x = torch.randn(3, 50257, 4, device="cuda")
    torch.testing.assert_close(ts.softmax_triton(x, axis=1), torch.softmax(x, 1))
    torch.testing.assert_close(ts.log_softmax_triton(x, axis=-2), torch.log_softmax(x, 1))


@pytest.mark.gpu
@needs_cuda
def test_inputs_are_not_modified_and_outputs_are_fresh():
    x, _ = _inputs((64, 50257), torch.bfloat16, "cuda")
    before = x.clone()
    y = ts.softmax_triton(x)
    assert torch.equal(x, before) and y.data_ptr() != x.data_ptr()
    sums = y.float().sum(-1)
    torch.testing.assert_close(sums, torch.ones_like(sums), rtol=0, atol=2e-2)


# -- the checking code itself, on tiny tensors in the interpreter (no GPU needed) -------------


@pytest.mark.skipif(CUDA, reason="the GPU tests above run the same comparison for real")
@pytest.mark.parametrize("multi", [False, True], ids=["single", "multi"])
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d).removeprefix("torch."))
def test_comparison_under_the_interpreter(dtype, log, multi, monkeypatch):
    if multi:  # shrink the thresholds so a tiny row reaches the online kernel
        monkeypatch.setattr(ts, "MAX_FUSED_COLS", 16)
        monkeypatch.setattr(ts, "ONLINE_BLOCK", 16)
    x, dy = _inputs((3, 37), dtype, "cpu")
    _compare(x, log, dy, reach=multi)
