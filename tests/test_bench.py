"""The benchmark command (bench.py): output fields, correctness flag, JSON file."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("numba")

from softmax_bottleneck import bench

FIELDS = {
    "kernel",
    "device",
    "dtype",
    "n_rows",
    "n_cols",
    "gbps",
    "ratio_vs_torch",
    "fraction_of_copy",
}


def test_cli_writes_json_with_the_documented_fields(tmp_path, capsys):
    path = tmp_path / "out" / "cpu.json"
    rc = bench.main(
        [
            "--cols",
            "1000",
            "3001",
            "--mib",
            "1",
            "--repeats",
            "2",
            "--no-memory",
            "--threads",
            "1",
            "--json",
            str(path),
        ]
    )
    assert rc == 0
    table = capsys.readouterr().out
    assert "softmax_cpu" in table and "vs torch" in table
    result = json.loads(path.read_text())
    assert {"machine", "versions", "date", "rows"} <= set(result)
    assert result["versions"]["torch"]
    assert result["machine"]["torch_threads"] == 1
    load = result["load_average"]  # None only where the platform has no load average
    assert set(load) == {"before", "after"} and (load["before"] is None or len(load["before"]) == 3)
    kernels = {r["kernel"] for r in result["rows"]}
    assert kernels == {"softmax_cpu", "torch.softmax", "copy"}
    for row in result["rows"]:
        assert FIELDS <= set(row)
        assert row["device"] == "cpu" and row["gbps"] > 0 and row["correct"]
        if row["kernel"] == "torch.softmax":
            assert row["ratio_vs_torch"] == 1.0
        if row["kernel"] == "copy":
            assert row["fraction_of_copy"] == 1.0
    assert {r["n_cols"] for r in result["rows"]} == {1000, 3001}
    assert all(r["n_rows"] * r["n_cols"] * 4 >= 1 << 20 for r in result["rows"])


def test_bad_device_is_refused():
    with pytest.raises(ValueError, match="`device`"):
        bench.run(device="tpu")


@pytest.mark.slow
def test_chunked_cross_entropy_uses_a_fraction_of_the_memory():
    mem = bench._bench_memory(1024, 16384, 32, 64)
    assert mem["loss_abs_diff"] < 1e-5
    assert mem["naive_peak_extra_bytes"] > 100 * 2**20  # the (N, V) logits and friends
    assert mem["ratio"] < 0.1
