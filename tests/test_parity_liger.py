"""Parity of ``sb.cross_entropy`` and ``sb.kernels.chunked_cross_entropy`` with PyTorch, on the
cases of Liger-Kernel's own test suite.

Liger-Kernel (Hsu et al. 2024) needs a GPU and is not installed, so its kernels cannot be run
here; its tests compare them with ``torch.nn.functional.cross_entropy``, and that is the
reference used below. Ported from github.com/linkedin/Liger-Kernel:

* ``test/transformers/test_cross_entropy.py`` (commit 0097d15): test_correctness,
  test_correctness_functional (its upstream-gradient part), test_correctness_with_ignore_index
  (ignore_index 2 and -123), test_correctness_with_label_smoothing_once (0.1),
  test_correctness_with_label_smoothing_with_ignore_index_once ((1, 0.1), (-300, 0.2)) and
  test_correctness_not_last_layer (loss * 3), for reductions sum and mean, float32 and bfloat16;
* ``test/transformers/test_fused_linear_cross_entropy.py`` (commit da1e92d): test_correctness
  (reductions mean/sum/none, bias or not, bfloat16 and float32, the default row with -100
  padding and the label-smoothing / ignore_index part of the non-default row: 0.1 and 42),
  test_correctness_functional (upstream gradient, bias) and test_amp (a float32 model under
  ``torch.autocast`` in bfloat16 and float16, bias or not, trainable weight).

Shapes: Liger's small shapes as they are ((4, 47, 31, 123), (2, 2, 8, 8), (9, 7, 41, 41));
the large ones scaled down ((8, 128, 1024, 4096) -> (2, 8, 64, 256); (3, 423, 32000) ->
(3, 21, 1600); (2, 4096, 32000) -> (2, 32, 512)) so that the file runs in seconds on a CPU, and
``chunk_size`` 37 so that every case spans several chunks with a ragged last one. The
non-default FLCE row runs on the random shape only.

Not applicable (sb has no such option): class weights (``ce_weight``), the z-loss
(``lse_square_scale``, ``return_z_loss``, the three z-loss tests of test_cross_entropy.py) and
``softcap``; for these the non-default row of FLCE test_correctness is run with the two options
sb has (label smoothing 0.1, ignore_index 42).

Deliberate differences (asserted by the ``test_difference_*`` tests; the docstrings of
``sb.cross_entropy`` and ``chunked_cross_entropy`` say why):

* ``ignore_index`` defaults to None, not -100: a target of -100 is an error unless asked for
  (padding must be declared; PyTorch silently drops it);
* options are keyword-only;
* in bfloat16 the reference is ``F.cross_entropy`` on the same bfloat16 values upcast to
  float32 (as Liger's own reference does for the fused loss): sb computes in float32 and rounds
  once, and is closer to the float64 truth than torch's bfloat16 ``F.cross_entropy``, which
  the last test shows.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import softmax_bottleneck as sb  # noqa: E402
from softmax_bottleneck.kernels import chunked_cross_entropy  # noqa: E402

CHUNK = 37

# Liger's tolerances for the loss and gradients, per dtype.
TOL = {torch.float32: {"atol": 1e-5, "rtol": 5e-4}, torch.bfloat16: {"atol": 5e-3, "rtol": 5e-2}}


def _close(a, b, dtype, scale=1.0):
    tol = TOL[dtype]
    torch.testing.assert_close(
        a.float(), b.float(), atol=tol["atol"] * scale, rtol=tol["rtol"], check_dtype=False
    )


def _targets(n, v, seed, ignore_index=None):
    """Random class indices; with `ignore_index`, a random number (1 .. n/2) of them are
    replaced by it, as in Liger's tests."""
    g = torch.Generator().manual_seed(seed)
    t = torch.randint(0, v, (n,), generator=g)
    if ignore_index is not None:
        k = int(torch.randint(1, max(2, n // 2), (1,), generator=g))
        t[torch.randperm(n, generator=g)[:k]] = ignore_index
    return t


# ---------------------------------------------------------------------------------------------
# test_cross_entropy.py -> sb.cross_entropy


CE_SHAPES = [(2, 32, 512), (3, 21, 1600)]


def _ce_case(b, t, v, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b * t, v, generator=g).to(dtype)
    return x


def _ce_pair(x, target, dtype, upstream=None, **options):
    """sb's and torch's loss and input gradient; torch runs in float32 on the same values."""
    x1 = x.detach().clone().requires_grad_(True)
    x2 = x.detach().float().clone().requires_grad_(True)
    out1 = sb.cross_entropy(x1, target, **options)
    torch_options = dict(options)
    if torch_options.get("ignore_index") is None:
        torch_options.pop("ignore_index", None)
    out2 = F.cross_entropy(x2, target, **torch_options)
    assert out1.dtype == dtype
    g = torch.ones_like(out2) if upstream is None else upstream
    out1.backward(g.to(dtype))
    out2.backward(g)
    return out1, out2, x1.grad, x2.grad


@pytest.mark.parametrize(("b", "t", "v"), CE_SHAPES)
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_ce_correctness(b, t, v, reduction, dtype):
    x = _ce_case(b, t, v, dtype)
    target = _targets(b * t, v, 1)
    out1, out2, g1, g2 = _ce_pair(x, target, dtype, reduction=reduction)
    # Liger: atol 1e-8, rtol 1e-6 in float32 (5e-2 in bfloat16)
    rtol = 1e-6 if dtype == torch.float32 else 5e-2
    torch.testing.assert_close(out1.float(), out2, atol=1e-8, rtol=rtol * 10)
    torch.testing.assert_close(g1.float(), g2, atol=1e-8, rtol=rtol * 10)


@pytest.mark.parametrize(("b", "t", "v"), [(2, 2, 8), (9, 7, 41)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_ce_functional_upstream_gradient(b, t, v, dtype):
    x = _ce_case(b, t, v, dtype, seed=2)
    target = _targets(b * t, v, 3)
    g = torch.randn(b * t, generator=torch.Generator().manual_seed(4))
    out1, out2, g1, g2 = _ce_pair(
        x, target, dtype, upstream=g, reduction="none", label_smoothing=0.1
    )
    _close(out1, out2, dtype)
    _close(g1, g2, dtype)


@pytest.mark.parametrize(("b", "t", "v", "ignore_index"), [(2, 32, 512, 2), (3, 21, 1600, -123)])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_ce_ignore_index(b, t, v, ignore_index, reduction, dtype):
    x = _ce_case(b, t, v, dtype, seed=5)
    target = _targets(b * t, v, 6, ignore_index=ignore_index)
    out1, out2, g1, g2 = _ce_pair(x, target, dtype, reduction=reduction, ignore_index=ignore_index)
    _close(out1, out2, dtype, scale=b * t if reduction == "sum" else 1)
    _close(g1, g2, dtype)
    assert torch.all(g1[target == ignore_index] == 0)


@pytest.mark.parametrize(
    ("b", "t", "v", "ignore_index", "label_smoothing"),
    [(2, 32, 512, None, 0.1), (3, 21, 1600, 1, 0.1), (3, 21, 1600, -300, 0.2)],
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_ce_label_smoothing(b, t, v, ignore_index, label_smoothing, dtype):
    x = _ce_case(b, t, v, dtype, seed=7)
    target = _targets(b * t, v, 8, ignore_index=ignore_index)
    out1, out2, g1, g2 = _ce_pair(
        x, target, dtype, ignore_index=ignore_index, label_smoothing=label_smoothing
    )
    _close(out1, out2, dtype)
    _close(g1, g2, dtype)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_ce_not_last_layer(reduction):
    x = _ce_case(3, 21, 1600, torch.float32, seed=9)
    target = _targets(3 * 21, 1600, 10)
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    (sb.cross_entropy(x1, target, reduction=reduction) * 3).backward()
    (F.cross_entropy(x2, target, reduction=reduction) * 3).backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-8, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# test_fused_linear_cross_entropy.py -> sb.kernels.chunked_cross_entropy


def _lm_head(n, h, v, dtype, bias, seed):
    g = torch.Generator().manual_seed(seed)
    weight = torch.rand(v, h, generator=g).to(dtype)
    b = torch.rand(v, generator=g).to(dtype) if bias else None
    hidden = torch.randn(n, h, generator=g).to(dtype)
    return hidden, weight, b


def _torch_lm_head_ce(hidden, weight, bias, target, **options):
    """Liger's TorchLMHeadCE: the linear layer in the input dtype, the loss in float32."""
    logits = F.linear(hidden, weight, bias)
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    if options.get("ignore_index") is None:
        options.pop("ignore_index", None)
    return F.cross_entropy(logits, target, **options)


def _flce_pair(hidden, weight, bias, target, upstream=None, **options):
    leaves1 = [hidden.clone().requires_grad_(True), weight.clone().requires_grad_(True)]
    leaves2 = [hidden.clone().requires_grad_(True), weight.clone().requires_grad_(True)]
    if bias is not None:
        leaves1.append(bias.clone().requires_grad_(True))
        leaves2.append(bias.clone().requires_grad_(True))
    b1 = leaves1[2] if bias is not None else None
    b2 = leaves2[2] if bias is not None else None
    out1 = chunked_cross_entropy(
        leaves1[0], leaves1[1], target, bias=b1, chunk_size=CHUNK, **options
    )
    out2 = _torch_lm_head_ce(leaves2[0], leaves2[1], b2, target, **options)
    g = torch.ones_like(out2) if upstream is None else upstream
    out1.backward(g.to(out1.dtype))
    out2.backward(g)
    return out1, out2, [p.grad for p in leaves1], [p.grad for p in leaves2]


FLCE_SHAPES = [(2, 8, 64, 256), (4, 47, 31, 123)]
# (reduction, dtype, atol, rtol) as in Liger, except that for sum/none in bfloat16 Liger's
# 5e0 / 5e1 (no check at all) is replaced by the mean row's relative tolerance.
FLCE_ROWS = [
    ("mean", torch.bfloat16, 5e-3, 5e-2),
    ("mean", torch.float32, 1e-5, 5e-4),
    ("sum", torch.bfloat16, 5e-1, 5e-2),
    ("sum", torch.float32, 1e-3, 5e-2),
    ("none", torch.bfloat16, 5e-2, 5e-2),
    ("none", torch.float32, 1e-3, 5e-2),
]


# Liger runs its non-default row on every shape; here on the random shape only.
FLCE_CASES = [(*shape, 0.0, -100) for shape in FLCE_SHAPES] + [(*FLCE_SHAPES[1], 0.1, 42)]


@pytest.mark.parametrize(("b", "t", "h", "v", "label_smoothing", "ignore_index"), FLCE_CASES)
@pytest.mark.parametrize(("reduction", "dtype", "atol", "rtol"), FLCE_ROWS)
@pytest.mark.parametrize("bias", [True, False])
def test_flce_correctness(
    b, t, h, v, reduction, dtype, atol, rtol, bias, label_smoothing, ignore_index
):
    n = b * t
    hidden, weight, bias_t = _lm_head(n, h, v, dtype, bias, seed=11)
    target = _targets(n, v, 12, ignore_index=ignore_index)
    out1, out2, grads1, grads2 = _flce_pair(
        hidden,
        weight,
        bias_t,
        target,
        reduction=reduction,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
    )
    for a, c in zip([out1, *grads1], [out2, *grads2], strict=True):
        torch.testing.assert_close(a.float(), c.float(), atol=atol, rtol=rtol)
    assert torch.all(grads1[0][target == ignore_index] == 0)


@pytest.mark.parametrize(("b", "t", "h", "v"), [(2, 2, 8, 8), (9, 7, 41, 41)])
@pytest.mark.parametrize(
    ("dtype", "atol", "rtol"), [(torch.bfloat16, 5e-3, 5e-2), (torch.float32, 1e-5, 5e-4)]
)
@pytest.mark.parametrize("bias", [True, False])
def test_flce_functional_upstream_gradient(b, t, h, v, dtype, atol, rtol, bias):
    n = b * t
    hidden, weight, bias_t = _lm_head(n, h, v, dtype, bias, seed=13)
    target = _targets(n, v, 14, ignore_index=-100)
    g = torch.randn(n, generator=torch.Generator().manual_seed(15))
    options = {"reduction": "none", "ignore_index": -100, "label_smoothing": 0.1}
    out1, _, grads1, _ = _flce_pair(hidden, weight, bias_t, target, upstream=g, **options)
    # Upstream compares two Liger entry points; here the reference is torch on the same values
    # in float64 (in bfloat16, torch's own bfloat16 linear backward is off by up to 0.012 on
    # these randn weights, more than the tolerance, so it cannot serve as the reference).
    b64 = None if bias_t is None else bias_t.double()
    _, out2, _, grads2 = _flce_pair(
        hidden.double(), weight.double(), b64, target, upstream=g.double(), **options
    )
    for a, c in zip([out1, *grads1], [out2, *grads2], strict=True):
        torch.testing.assert_close(a.double(), c, atol=atol, rtol=rtol)


@pytest.mark.parametrize(("b", "t", "h", "v"), FLCE_SHAPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cast_dtype", [torch.bfloat16, torch.float16])
def test_flce_amp(b, t, h, v, bias, cast_dtype):
    """A float32 model under autocast, weight (and bias) trainable: the usual mixed-precision
    training step, which crashed before (review §1c, ``mat1 and mat2 must have the same dtype``)."""
    n = b * t
    hidden, weight, bias_t = _lm_head(n, h, v, torch.float32, bias, seed=16)
    target = _targets(n, v, 17)
    with torch.autocast(device_type="cpu", dtype=cast_dtype):
        out1, out2, grads1, grads2 = _flce_pair(hidden, weight, bias_t, target, reduction="mean")
    assert out1.dtype == torch.float32
    for a, c in zip([out1, *grads1], [out2, *grads2], strict=True):
        assert a.dtype == c.dtype
        torch.testing.assert_close(a, c, atol=5e-3, rtol=5e-2)


# ---------------------------------------------------------------------------------------------
# Deliberate differences.


@pytest.mark.parametrize("which", ["cross_entropy", "chunked"])
def test_difference_ignore_index_defaults_to_none(which):
    """torch and Liger drop targets equal to -100 by default; sb refuses them unless
    ``ignore_index=-100`` is passed, so that padding is never ignored by accident."""
    hidden, weight, _ = _lm_head(6, 5, 7, torch.float32, False, seed=18)
    target = torch.tensor([0, 1, -100, 3, -100, 6])

    def call(**kw):
        if which == "chunked":
            return chunked_cross_entropy(hidden, weight, target, chunk_size=4, **kw)
        return sb.cross_entropy(hidden @ weight.T, target, **kw)

    with pytest.raises(ValueError, match=r"class indices in \[0, 6\].*-100"):
        call()
    torch.testing.assert_close(call(ignore_index=-100), F.cross_entropy(hidden @ weight.T, target))


def test_difference_options_are_keyword_only():
    """F.cross_entropy(input, target, weight, ...) takes options positionally; sb does not."""
    x, t = torch.zeros(2, 3), torch.tensor([0, 1])
    with pytest.raises(TypeError):
        sb.cross_entropy(x, t, -1)
    with pytest.raises(TypeError):
        chunked_cross_entropy(x, torch.zeros(3, 3), t, None)


def test_difference_bfloat16_reference_is_float32():
    """torch's bfloat16 ``F.cross_entropy`` is less accurate than sb's (float32 inside, rounded
    once): against the float64 truth on the same bfloat16 logits, sb's gradient is within
    1 % everywhere, torch's is not."""
    x = _ce_case(3, 42, 3200, torch.bfloat16, seed=19)
    target = _targets(3 * 42, 3200, 20)
    truth_x = x.double().requires_grad_(True)
    F.cross_entropy(truth_x, target, reduction="sum").backward()
    errs = {}
    for name, f in (("sb", sb.cross_entropy), ("torch", F.cross_entropy)):
        xi = x.clone().requires_grad_(True)
        f(xi, target, reduction="sum").backward()
        rel = (xi.grad.double() - truth_x.grad).abs() / truth_x.grad.abs().clamp_min(1e-30)
        errs[name] = float(rel.max())
    assert errs["sb"] < 1e-2 < errs["torch"]


def test_chunked_equals_plain_on_numpy_free_path():
    """The two sb functions agree with each other on the same logits (float64, tight)."""
    hidden, weight, bias = _lm_head(50, 9, 31, torch.float64, True, seed=21)
    target = _targets(50, 31, 22, ignore_index=-100)
    a = chunked_cross_entropy(
        hidden, weight, target, bias=bias, chunk_size=7, ignore_index=-100, label_smoothing=0.2
    )
    c = sb.cross_entropy(
        F.linear(hidden, weight, bias), target, ignore_index=-100, label_smoothing=0.2
    )
    np.testing.assert_allclose(a.item(), c.item(), rtol=1e-12)
