"""The Triton kernels as the tests import them: on a machine without CUDA, in Triton's interpreter.

``TRITON_INTERPRET`` must be set before Triton is first imported (Triton reads it once), and a
module imported earlier without it is imported again. Shared by the Triton, GPU and CUDA
benchmark tests; importing this module skips the importing test file when torch or Triton is
missing.
"""

from __future__ import annotations

import importlib
import os
import sys

import pytest

torch = pytest.importorskip("torch")
CUDA = torch.cuda.is_available()
if not CUDA:
    os.environ["TRITON_INTERPRET"] = "1"  # before Triton is imported: it reads this once
pytest.importorskip("triton")
ts = importlib.import_module("softmax_bottleneck.kernels.triton_softmax")
if not CUDA and not ts.INTERPRET:  # imported earlier without the interpreter: import again
    ts = importlib.reload(sys.modules["softmax_bottleneck.kernels.triton_softmax"])
DEVICE = "cuda" if CUDA else "cpu"
