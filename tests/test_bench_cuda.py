"""The GPU benchmark (bench_cuda.py): arguments, JSON schema, targets, and a CPU dry run.

Without a GPU the benchmark's code runs on tiny CPU tensors in Triton's interpreter
(``--device cpu --interpret``); the numbers of a real run come only from a GPU
(scripts/gpu_check.sh). The results checked here are synthetic dicts built by the tests, never
written to benchmarks/results/. The one ``gpu`` test runs the CUDA path on small sizes.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from triton_interpreter import CUDA, ts

from softmax_bottleneck import bench_cuda as bc

SRC = Path(__file__).resolve().parents[1] / "src"
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
no_cuda = pytest.mark.skipif(CUDA, reason="the dry run is the CPU path")


def _synthetic(fwd=None, vs_torch=None, bwd=None, cols=bc.ISSUE_COLS, dtypes=("float32",)):
    """A made-up GPU result: ratios per N (default 0.9 of copy, 1.1x torch, 0.8 of copy)."""
    fwd, vs_torch, bwd = fwd or {}, vs_torch or {}, bwd or {}
    copy_gbps, rows = 4000.0, []
    for dt in dtypes:
        for n in cols:
            f, v, b = fwd.get(n, 0.9), vs_torch.get(n, 1.1), bwd.get(n, 0.8)
            gbps = {
                "softmax_triton": f * copy_gbps,
                "torch.softmax": f * copy_gbps / v,
                "softmax_triton_backward": b * copy_gbps,
                "torch.softmax_backward": b * copy_gbps,
                "copy": copy_gbps,
            }
            for k in bc.KERNELS:
                sec = bc._TRAFFIC[k] * (1 << 29) / gbps[k] / 1e9
                rows.append(
                    {
                        "kernel": k,
                        "device": "cuda",
                        "dtype": dt,
                        "n_rows": -(-(1 << 29) // (4 * n)),
                        "n_cols": n,
                        "seconds": sec,
                        "seconds_min": sec * 0.99,
                        "gbps": gbps[k],
                        "ratio_vs_torch": gbps[k] / gbps[bc._BASELINE[k]],
                        "fraction_of_copy": gbps[k] / copy_gbps,
                        "max_rel_err": 1e-6,
                        "correct": True,
                    }
                )
    summary = bc.summarize(rows)
    return {
        "schema": bc.SCHEMA,
        "dry_run": False,
        "complete": True,
        "machine": {"gpu": "synthetic GPU", "driver": "0.0", "cuda": "0.0"},
        "versions": {"python": "3.12", "torch": "0.0", "triton": "0.0"},
        "date": "2000-01-01T00:00:00+00:00",
        "protocol": {},
        "rows": rows,
        "summary": summary,
        "memory": dict.fromkeys(bc._MEMORY_FIELDS, 1) | {"naive_peak_extra_bytes": 10},
        "targets": [c._asdict() for c in bc.cuda_targets({"summary": summary})],
        "skipped": [],
        "elapsed_s": 1.0,
    }


# -- targets ----------------------------------------------------------------------------------


def test_targets_cover_the_issue_row_lengths_with_their_bounds():
    res = _synthetic(
        fwd={2048: 0.1, 4096: 0.80, 16384: 0.79, 32768: 0.59, 262144: 0.60},
        vs_torch={1024: 0.5, 2048: 0.99},
        bwd={50257: 0.74},
    )
    checks = bc.cuda_targets(res)
    # per N: backward (10), vs torch for N > 1024 (9), 80 % for 4K..16K (3), 60 % from 32K (5)
    assert len(checks) == 27
    missed = {c.target for c in checks if not c.met}
    assert missed == {
        "forward >= 80% of copy bandwidth, N=16384, float32",
        "forward >= 60% of copy bandwidth, N=32768, float32",
        "forward >= 1.0x torch.softmax, N=2048, float32",
        "backward >= 75% of copy bandwidth, N=50257, float32",
    }
    by_name = {c.target: c for c in checks}
    assert by_name["forward >= 80% of copy bandwidth, N=4096, float32"].met  # bound included
    assert by_name["forward >= 60% of copy bandwidth, N=262144, float32"].measured == 0.60
    assert not any("N=1024" in c.target and "torch" in c.target for c in checks)
    assert not any("N=2048" in c.target and "of copy" in c.target and "forward" in c.target
                   for c in checks)
    target, measured, met = checks[0]  # a plain (target, measured, met) tuple
    assert isinstance(target, str) and isinstance(measured, float) and isinstance(met, bool)


def test_targets_filter_by_dtype():
    res = _synthetic(cols=(4096,), dtypes=("float32", "bfloat16"))
    assert len(bc.cuda_targets(res)) == 6
    only = bc.cuda_targets(res, dtypes=["bfloat16"])
    assert len(only) == 3 and all(c.target.endswith("bfloat16") for c in only)


@pytest.mark.parametrize(
    ("results", "dtypes", "error", "match"),
    [
        ([], None, TypeError, "`results`"),
        ({}, None, ValueError, "summary"),
        ({"summary": [{"n_cols": 4096}]}, None, ValueError, "'dtype'"),
        ({"summary": [{"n_cols": 4096, "dtype": "float32"}]}, None, ValueError, "fwd_fraction"),
        ({"summary": []}, "float32", TypeError, "`dtypes`"),
        ({"summary": []}, ["float64"], ValueError, "`dtypes`"),
    ],
)
def test_targets_reject_bad_arguments(results, dtypes, error, match):
    with pytest.raises(error, match=match):
        bc.cuda_targets(results, dtypes)


# -- schema -----------------------------------------------------------------------------------


def test_a_complete_synthetic_result_validates_also_after_a_json_round_trip():
    res = _synthetic()
    bc.validate_cuda_results(res, require_complete=True)
    bc.validate_cuda_results(json.loads(json.dumps(res)), require_complete=True)


def _drop_copy_row(r):
    r["rows"] = [x for x in r["rows"] if not (x["kernel"] == "copy" and x["n_cols"] == 1024)]


def _set(path, value):
    def mutate(r):
        obj = r
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (_set(("schema",), "other"), "schema"),
        (lambda r: r.pop("memory"), "missing fields"),
        (_set(("machine", "gpu"), None), r"machine\.gpu"),
        (_set(("machine", "driver"), ""), r"machine\.driver"),
        (_set(("versions", "triton"), None), r"versions\.triton"),
        (_set(("date",), "yesterday"), "ISO date"),
        (_set(("rows", 0, "seconds"), -1.0), "not positive"),
        (_set(("rows", 0, "gbps"), float("nan")), "gbps"),
        (_set(("rows", 0, "n_rows"), True), "n_rows"),
        (_set(("rows", 0, "correct"), "yes"), "correct"),
        (_set(("rows", 0, "kernel"), "softmax_numba"), "unknown"),
        (_set(("rows", 0, "device"), "cpu"), "device"),
        (_drop_copy_row, "rows: Expected rows of"),
        (_set(("summary", 3, "fwd_fraction_of_copy"), 0.99), "summary does not agree"),
        (_set(("targets", 0, "met"), False), "targets do not agree"),
        (_set(("memory", "chunked_peak_extra_bytes"), None), "chunked_peak_extra_bytes"),
        (lambda r: r["memory"].pop("ratio"), "memory lacks"),
        (_set(("dry_run",), "no"), "dry_run"),
    ],
)
def test_invalid_results_are_refused_with_the_reason(mutate, match):
    res = _synthetic()
    mutate(res)
    with pytest.raises(ValueError, match=match):
        bc.validate_cuda_results(res)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (_set(("dry_run",), True), "dry run"),
        (_set(("skipped",), ["bfloat16 N=1024"]), "not complete"),
        (_set(("memory",), None), "memory case"),
    ],
)
def test_require_complete_asks_for_a_full_gpu_run(mutate, match):
    res = _synthetic()
    mutate(res)
    bc.validate_cuda_results(res)  # a valid file, just not a complete GPU run
    with pytest.raises(ValueError, match=match):
        bc.validate_cuda_results(res, require_complete=True)
    short = _synthetic(cols=(1024, 4096))
    with pytest.raises(ValueError, match=r"lack N = \[2048, 8192"):
        bc.validate_cuda_results(short, require_complete=True)


def test_validate_rejects_a_non_dict():
    with pytest.raises(TypeError, match="`results`"):
        bc.validate_cuda_results([])


def test_summarize_needs_each_kernel_once_per_row_length():
    rows = _synthetic(cols=(4096,))["rows"]
    with pytest.raises(ValueError, match="got two"):
        bc.summarize([*rows, copy.deepcopy(rows[0])])
    with pytest.raises(ValueError, match="copy"):
        bc.summarize(rows[:-1])


# -- the dry run on the CPU -------------------------------------------------------------------


@no_cuda
def test_dry_run_follows_the_schema_and_checks_correctness():
    seen = []
    res = bc.run(device="cpu", cols=[37, 16385], target_mib=1 / 1024, repeats=1, warmup=1,
                 progress=seen.append)
    bc.validate_cuda_results(res)
    assert res["dry_run"] and res["complete"] and not res["skipped"]
    assert len(seen) == 4  # after each of the two lengths, the memory case, and at the end
    assert [(s["dtype"], s["n_cols"]) for s in res["summary"]] == [
        ("float32", 37),
        ("float32", 16385),
    ]
    assert all(r["correct"] and r["device"] == "cpu" for r in res["rows"])
    assert [r["n_rows"] for r in res["rows"]] == [7] * 5 + [1] * 5  # 1 KiB tensors
    mem = res["memory"]
    assert mem["naive_peak_extra_bytes"] is None and mem["ratio"] is None  # not on a CPU
    assert mem["grad_rel_diff"] < 2e-2 and mem["loss_abs_diff"] < 0.1  # bfloat16
    assert {t["target"].split(",")[0] for t in res["targets"]} >= {
        "backward >= 75% of copy bandwidth"
    }
    with pytest.raises(ValueError, match="dry run"):
        bc.validate_cuda_results(res, require_complete=True)


@no_cuda
def test_dry_run_in_bfloat16_and_float16():
    res = bc.run(device="cpu", cols=[1000], dtypes=["bfloat16", "float16"], repeats=1,
                 warmup=1, memory=None, target_mib=1 / 256)
    bc.validate_cuda_results(res)
    assert [s["dtype"] for s in res["summary"]] == ["bfloat16", "float16"]
    assert all(r["correct"] for r in res["rows"]), [
        (r["kernel"], r["dtype"], r["max_rel_err"]) for r in res["rows"]
    ]


@no_cuda
def test_time_budget_skips_what_is_left_and_marks_the_run_incomplete(tmp_path):
    res = bc.run(device="cpu", cols=[37, 1000], repeats=1, warmup=1, budget_s=1e-9)
    assert not res["complete"] and res["rows"] == []
    assert res["skipped"] == ["float32 N=37", "float32 N=1000", "memory [64, 1000, 32, 16]"]
    bc.validate_cuda_results(res)
    out = tmp_path / "partial.json"
    rc = bc.main(["--device", "cpu", "--interpret", "--cols", "37", "--no-memory",
                  "--budget-s", "1e-9", "--out", str(out)])
    assert rc == 1 and not json.loads(out.read_text())["complete"]


@no_cuda
def test_cli_dry_run_writes_a_valid_file(tmp_path, capsys):
    out = tmp_path / "sub" / "cuda-dry.json"
    rc = bc.main(["--device", "cpu", "--interpret", "--cols", "37", "--mib", "0.001",
                  "--repeats", "1", "--warmup", "1", "--no-memory", "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "DRY RUN" in printed and "fwd/copy" in printed and str(out) in printed
    res = json.loads(out.read_text())
    bc.validate_cuda_results(res)
    assert res["memory"] is None and res["protocol"]["cols"] == [37]
    assert not list(out.parent.glob("*.tmp"))


def test_the_module_runs_as_a_command():
    # Only argparse is imported before the arguments are read: --help is quick. (The full
    # command, from a fresh process, is what `bash scripts/gpu_check.sh --dry-run` runs.)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "softmax_bottleneck.bench_cuda", "--help"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )
    assert "--interpret" in proc.stdout and "--out" in proc.stdout


@no_cuda
def test_interpret_flag_sets_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("TRITON_INTERPRET")
    rc = bc.main(["--device", "cpu", "--interpret", "--cols", "8", "--mib", "0.001",
                  "--repeats", "1", "--warmup", "1", "--memory", "16", "100", "8", "4",
                  "--memory-dtype", "float32", "--out", str(tmp_path / "r.json")])
    assert rc == 0 and os.environ["TRITON_INTERPRET"] == "1"
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["memory"]["dtype"] == "float32" and res["memory"]["loss_abs_diff"] < 1e-5


# -- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"device": "tpu"}, ValueError, "`device`"),
        ({"dtypes": ["float64"]}, ValueError, "dtypes"),
        ({"dtypes": "float32"}, TypeError, "`dtypes`"),
        ({"dtypes": []}, ValueError, "at least one dtype"),
        ({"memory_dtype": "int8"}, ValueError, "dtypes"),
        ({"cols": []}, ValueError, "at least one row length"),
        ({"cols": [0]}, ValueError, "`cols`"),
        ({"cols": [1.5]}, TypeError, "`cols`"),
        ({"repeats": 0}, ValueError, "`repeats`"),
        ({"warmup": True}, TypeError, "`warmup`"),
        ({"target_mib": -1}, ValueError, "`target_mib`"),
        ({"memory": (1, 2, 3)}, ValueError, "`memory`"),
        ({"memory": (1, 2, 3, 0)}, ValueError, "`memory`"),
        ({"budget_s": 0}, ValueError, "`budget_s`"),
    ],
)
def test_run_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        bc.run(**{"device": "cpu", "cols": [37], **kwargs})


@no_cuda
def test_cuda_without_a_gpu_is_refused():
    with pytest.raises(ValueError, match="CUDA GPU"):
        bc.run(device="cuda")


@no_cuda
def test_cpu_without_the_interpreter_is_refused(monkeypatch):
    monkeypatch.setattr(ts, "INTERPRET", False)
    with pytest.raises(ValueError, match="TRITON_INTERPRET=1"):
        bc.run(device="cpu", cols=[37])


@pytest.mark.parametrize(
    "argv",
    [
        ["--interpret"],  # the interpreter on CUDA tensors makes no sense
        ["--device", "cpu", "--interpret", "--cols", "0"],
        ["--dtypes", "float64"],
        ["--memory", "1", "2"],
    ],
)
def test_cli_rejects_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        bc.main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


# -- on a GPU ---------------------------------------------------------------------------------


@pytest.mark.gpu
@needs_cuda
def test_cuda_path_on_small_sizes():
    # The benchmark's own code on the GPU, small and fast, before scripts/gpu_check.sh runs
    # it at full size: every kernel correct, the file valid, the memory case measured.
    res = bc.run(device="cuda", cols=[1000, 50257], dtypes=["float32", "bfloat16"],
                 target_mib=8, repeats=3, warmup=1, memory=(512, 8192, 256, 128))
    bc.validate_cuda_results(res)
    assert all(r["correct"] for r in res["rows"]), [
        (r["kernel"], r["dtype"], r["n_cols"], r["max_rel_err"]) for r in res["rows"]
        if not r["correct"]
    ]
    assert res["machine"]["gpu"] and res["versions"]["triton"]
    mem = res["memory"]
    assert mem["naive_peak_extra_bytes"] > 0 and mem["chunked_peak_extra_bytes"] > 0
    assert mem["grad_rel_diff"] < 2e-2
