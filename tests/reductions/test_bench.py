"""Tests for ``reductions bench``: one JSON shape for every benchmark, and refusals before allocation."""

from __future__ import annotations

import io
import json
import re
import tracemalloc
from typing import Any

import numpy as np
import pytest

from instances import Assignment
from instances.attention import random_attention
from instances.generators import random_ksat
from reductions.app.bench import anytemp as anytemp_bench
from reductions.app.bench.exact import exact_peak_bytes
from reductions.app.bench.reductions import sat_ov_peak_bytes
from reductions.app.bench.solve import bench_solve
from reductions.app.bench.timing import BenchmarkTooLarge, fit_exponent, json_ready, machine_info
from reductions.app.cli import main
from reductions.catalog.sat_ov import SatToOV
from solvers.attention.exact import ExactAttention, fused_available

_NUMBER_TEXT = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?(/\d+)?$")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [item for key, child in value.items() for item in _walk(child, f"{path}.{key}")]
    if isinstance(value, list):
        return [item for index, child in enumerate(value) for item in _walk(child, f"{path}[{index}]")]
    return [(path, value)]


def _check_shape(data: dict[str, Any], benchmark: str) -> None:
    assert list(data)[:2] == ["benchmark", "machine"] and data["benchmark"] == benchmark
    assert set(data) <= {"benchmark", "machine", "parameters", "summary", "results"}
    machine = data["machine"]
    assert isinstance(machine["cpu"], str) and machine["cpu"]
    assert isinstance(machine["cores"], int) and machine["cores"] >= 1
    assert machine["numpy"] == np.__version__
    assert isinstance(machine["blas"], list)
    assert isinstance(data["results"], list) and data["results"]
    assert all(isinstance(result, dict) for result in data["results"])
    for path, leaf in _walk(data):
        assert leaf is None or isinstance(leaf, (bool, int, float, str)), path
        if isinstance(leaf, str) and not path.endswith("_exact") and ".machine." not in path:
            assert not _NUMBER_TEXT.match(leaf), f"{path} is a number written as a string: {leaf!r}"
    for result in data["results"]:
        if "seconds" in result and result["seconds"] is not None:
            assert isinstance(result["seconds"], float) and result["seconds"] >= 0


# -- one JSON shape -------------------------------------------------------------------------------


def test_bench_reductions_json_shape(capsys, tmp_path):
    out = tmp_path / "r.json"
    status, stdout, _ = _run(
        capsys, "bench", "reductions", "--vars", "8", "--clauses", "20", "--repeat", "1", "--out", str(out)
    )
    assert status == 0
    data = json.loads(stdout)
    assert json.loads(out.read_text()) == data
    _check_shape(data, "reductions")
    assert data["results"][0]["sizes"] == {"n_a": 16, "n_b": 16, "d": 20}
    assert data["parameters"]["variables"] == 8 and data["parameters"]["repeat"] == 1


def test_bench_solve_json_shape_agrees_with_pysat(capsys):
    status, stdout, stderr = _run(capsys, "bench", "solve", "--vars", "5", "--clauses", "12", "--formulas", "2")
    assert status == 0 and stderr == ""  # no progress when stderr is not a terminal
    data = json.loads(stdout)
    _check_shape(data, "solve")
    assert [r["seed"] for r in data["results"]] == [0, 1]
    assert data["summary"]["agreeing"] == 2 == sum(r["agrees_with_pysat"] for r in data["results"])
    for result in data["results"]:
        formula = random_ksat(5, 12, k=3, seed=result["seed"])
        brute = any(  # independent of PySAT
            formula.is_satisfied_by(Assignment(tuple(bool((mask >> i) & 1) for i in range(5)))) for mask in range(32)
        )
        assert result["status"] == ("SAT" if brute else "UNSAT") == result["reference"]
        assert result["stages"][0]["name"] == "sat-ov"


def test_bench_exact_json_shape_with_both_oracles(capsys):
    status, stdout, _ = _run(
        capsys, "bench", "exact", "--n", "256", "--d", "2", "--repeat", "1", "--oracle", "exact,exact-float32"
    )
    assert status == 0
    data = json.loads(stdout)
    _check_shape(data, "exact")
    assert [r["oracle"] for r in data["results"]] == ["exact", "exact-float32"]
    for result in data["results"]:
        assert result["n"] == 256 and result["d"] == 2 and not result["sampled"]
        assert result["max_abs_error"] <= result["abs_error_bound"]


def test_bench_solve_ratio_sets_the_clauses(capsys):
    status, stdout, _ = _run(capsys, "bench", "solve", "--vars", "6", "--ratio", "4.26", "--formulas", "1")
    assert status == 0
    data = json.loads(stdout)
    assert data["parameters"]["variables"] == 6 and data["parameters"]["clauses"] == 26
    assert data["summary"]["agreeing"] == 1
    for argv, expected in [
        (("--ratio", "4", "--clauses", "3"), "--clauses: not allowed with argument --ratio"),
        *((("--ratio", bad), "argument --ratio:") for bad in ("inf", "nan", "0", "-1")),  # inf raised OverflowError
    ]:
        with pytest.raises(SystemExit) as stopped:
            main(["bench", "solve", "--vars", "6", *argv])
        assert stopped.value.code != 0 and expected in capsys.readouterr().err


def test_bench_exact_default_reports_both_precisions_and_both_kernels(capsys):
    status, stdout, _ = _run(capsys, "bench", "exact", "--n", "128", "--d", "2", "--repeat", "1", "--error-rows", "1")
    assert status == 0
    results = json.loads(stdout)["results"]
    assert [r["oracle"] for r in results] == ["exact", "exact-float32", "exact-numpy", "exact-float32-numpy"]
    fused = "fused" if fused_available() else "numpy"
    assert [r["kernel"] for r in results] == [fused, fused, "numpy", "numpy"]
    for result in results:
        assert result["max_abs_error"] <= result["abs_error_bound"]


def test_bench_exact_sampled(capsys):
    status, stdout, _ = _run(capsys, "bench", "exact", "--n", "512", "--d", "2", "--sample-rows", "32", "--repeat", "1")
    assert status == 0
    result = json.loads(stdout)["results"][0]
    assert result["sampled"] and result["rows_timed"] == 32 and result["seconds"] >= result["fixed_seconds"]


def test_bench_oracles_json_shape(capsys):
    status, stdout, _ = _run(capsys, "bench", "oracles", "--n", "256", "--d", "2", "--repeat", "1")
    assert status == 0
    data = json.loads(stdout)
    _check_shape(data, "oracles")
    assert [r["oracle"] for r in data["results"]] == ["exact", "polynomial", "taylor"]
    for result in data["results"][1:]:  # the approximate oracles, checked against exact attention
        assert result["within_guarantee"] is True and result["max_abs_error"] <= result["abs_error_bound"]


def test_bench_oracles_sweep_json_shape(capsys, tmp_path):
    status, stdout, _ = _run(
        capsys,
        "bench",
        "oracles",
        "--sweep",
        "--n",
        "128",
        "--n",
        "256",
        "--d",
        "2",
        "--bound",
        "1",
        "--repeat",
        "1",
        "--out-dir",
        str(tmp_path),
    )
    assert status == 0
    data = json.loads(stdout)
    _check_shape(data, "oracles-sweep")
    assert {r["n"] for r in data["results"]} == {128, 256}
    assert json.loads((tmp_path / "bench_polynomial.json").read_text()) == data
    assert [fit["oracle"] for fit in data["summary"]["fits"]] == ["polynomial", "taylor"]


@pytest.mark.parametrize("spelling", [["bench", "anytemp"], ["bench", "oracles", "--anytemp"]])
def test_bench_anytemp_json_shape_under_both_spellings(capsys, spelling):
    status, stdout, _ = _run(capsys, *spelling)
    assert status == 0
    data = json.loads(stdout)
    _check_shape(data, "anytemp")
    assert {r["part"] for r in data["results"]} == {"d1", "scaling", "temperature"}
    summary = data["summary"]
    assert [(x["d"], x["B"]) for x in summary["scaling"]] == [(2, 10.0), (3, 10.0)]
    assert summary["d1"]["speedup"] == next(r["speedup"] for r in data["results"] if r["part"] == "d1")
    assert 0 <= summary["largest_error_over_bound"] <= 1
    for scaling in summary["scaling"]:  # quick sizes: no exponent pretends to be meaningful
        assert scaling["exponent"] is None and scaling["tail_exponent"] is None
        assert "not" in scaling["exponent_note"] or "nothing" in scaling["exponent_note"]
        assert str(scaling["n_range"][1]) in scaling["exponent_note"]


def test_plain_bench_runs_the_reductions_benchmark(capsys, monkeypatch):
    from reductions.app.bench import reductions as module

    calls: list[dict[str, Any]] = []
    real = module.bench_reductions

    def smaller(**options: Any) -> dict[str, Any]:
        calls.append(options)
        return real(**{**options, "num_vars": 8, "num_clauses": 20, "repeat": 1})

    monkeypatch.setattr(module, "bench_reductions", smaller)
    status, stdout, _ = _run(capsys, "bench")
    assert status == 0 and json.loads(stdout)["benchmark"] == "reductions"
    assert calls[0]["num_vars"] == 30 and calls[0]["num_clauses"] == 128 and calls[0]["repeat"] == 3


def test_exponents_are_reported_from_the_stated_size(monkeypatch):
    monkeypatch.setattr(anytemp_bench, "MIN_N_FOR_EXPONENT", 256)
    summary = anytemp_bench.bench_anytemp_scaling(2, (128, 256), bound=3.0, sample_rows=None)["summary"]
    assert isinstance(summary["exponent"], float) and "exponent_note" not in summary


# -- refusals before allocation --------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "reductions", "--vars", "60", "--clauses", "100"],
        ["bench", "exact", "--n", "1000000000"],
        ["bench", "exact", "--n", "1000000000", "--sample-rows", "1"],
        ["bench", "oracles", "--n", "1000000000"],
        ["bench", "oracles", "--sweep", "--n", "1000000000"],
        ["bench", "solve", "--formulas", "1000000000"],
        ["bench", "solve", "--vars", "60", "--clauses", "100", "--formulas", "1"],
        ["bench", "exact", "--n", "1000000"],
        ["bench", "oracles", "--n", "1000000"],
    ],
)
def test_oversized_benchmarks_are_refused_in_one_line_before_allocating(capsys, argv):
    import solvers.sat  # noqa: F401  (imports are not what is measured)

    tracemalloc.start()
    try:
        status, stdout, stderr = _run(capsys, *argv)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 1 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("reductions: error: ")
    assert "above the limit" in stderr and "Traceback" not in stderr
    assert peak < 64 * 2**20, f"allocated {peak} bytes before refusing"


def test_the_memory_limit_is_an_option(capsys):
    argv = ["bench", "exact", "--n", "4096", "--d", "2", "--repeat", "1", "--error-rows", "0"]
    status, _, stderr = _run(capsys, *argv, "--max-memory", "100KiB")
    assert status == 1 and "above the limit of 100 KiB (--max-memory)" in stderr
    assert _run(capsys, *argv)[0] == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "solve", "--formulas", "-1"],
        ["bench", "solve", "--formulas", "0"],
        ["bench", "reductions", "--repeat", "0"],
        ["bench", "exact", "--n", "0"],
        ["bench", "oracles", "--eps", "-1"],
        ["bench", "solve", "--max-seconds", "inf"],
        ["bench", "exact", "--max-memory", "0"],
        ["bench", "--repeat", "0"],
    ],
)
def test_non_positive_counts_are_refused(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 1
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and "error:" in stderr


def test_bench_help_shows_the_defaults(capsys):
    for argv, expected in [
        (["bench", "--help"], ["default 30 variables, 128 clauses", "default n = 16384", "default 3"]),
        (["bench", "solve", "--help"], ["(default: 20)", "(default: 91)", "(default: 3)", "(default: 1800.0)"]),
        (
            ["bench", "exact", "--help"],
            [
                "(default: 16384)",
                "(default: 4 and 8)",
                "or all four (default: all)",
            ],
        ),
        (["bench", "oracles", "--help"], ["(default: 1e-06)", "(default: exact,polynomial,taylor)"]),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        for fragment in expected:
            assert fragment in text, (argv, fragment)


def test_bench_solve_predicts_its_cost_and_shows_progress():
    stream = io.StringIO()
    report = bench_solve(num_vars=4, num_clauses=6, formulas=3, progress=True, stream=stream)
    lines = stream.getvalue().replace("\r", "\n").split("\n")
    assert lines[0].startswith("bench solve: 3 formulas of 4 variables and 6 clauses, predicted about")
    assert any(line.startswith("bench solve: 3/3 formulas") for line in lines)
    assert report["summary"]["predicted_seconds_per_formula"] > 0
    quiet = io.StringIO()
    bench_solve(num_vars=4, num_clauses=6, formulas=1, stream=quiet)  # not a terminal: silent
    assert quiet.getvalue() == ""


def test_bench_solve_refuses_after_the_first_formula_when_measured_too_slow(monkeypatch):
    import reductions.app.bench.solve as solve_bench
    import reductions.pipeline

    monkeypatch.setattr(reductions.pipeline, "predict_chain", lambda *args: None)  # bench_solve then assumes 1 ms
    clock = iter(float(second) for second in range(10**6))  # every reading one second later: no real timing
    monkeypatch.setattr(solve_bench.time, "perf_counter", lambda: next(clock))
    with pytest.raises(BenchmarkTooLarge, match=r"measured on the first\) needs about .* above the limit of 1.5 s"):
        bench_solve(num_vars=4, num_clauses=6, formulas=2, max_seconds=1.5)


# -- the size predictions cover the real peak ------------------------------------------------------


@pytest.mark.parametrize(("num_vars", "num_clauses"), [(10, 40), (16, 70), (19, 91)])
def test_sat_ov_prediction_covers_the_measured_peak(num_vars, num_clauses):
    formula = random_ksat(num_vars, num_clauses, k=3, seed=1)
    reduction = SatToOV()
    tracemalloc.start()
    try:
        kept = reduction.forward(formula)  # one result alive while the next is built, as while timing
        reduction.forward(formula)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del kept
    predicted = sat_ov_peak_bytes(num_vars, num_clauses)
    assert peak <= predicted <= 8 * peak + 2**21


@pytest.mark.parametrize(("n", "d", "rows"), [(2048, 4, None), (4096, 8, 64), (3000, 2, None)])
def test_exact_prediction_covers_the_measured_peak(n, d, rows):
    ExactAttention()(random_attention(8, d, 1.0, seed=0))  # numba's import and cache load are once per process
    tracemalloc.start()
    try:
        instance = random_attention(n, d, 1.0, seed=0)
        oracle = ExactAttention()
        sample = oracle.sample_rows(instance, rows, seed=0) if rows else None
        first = oracle(instance, rows=sample)
        oracle(instance, rows=sample)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del first
    predicted = exact_peak_bytes(n, d, rows)
    assert peak <= predicted <= 8 * peak + 2**23


# -- the shared helpers ----------------------------------------------------------------------------


def test_machine_info_names_the_blas():
    info = machine_info()
    pytest.importorskip("threadpoolctl")
    assert info["blas"] and all({"library", "version", "threads"} <= set(entry) for entry in info["blas"])


def test_json_ready_writes_numbers_as_numbers():
    from fractions import Fraction

    ready = json_ready({"t": Fraction(92), "eps": Fraction(1, 92), "x": np.float64("nan"), "k": np.arange(3)})
    assert ready == {"t": 92, "eps": 1 / 92, "eps_exact": "1/92", "x": None, "k": [0, 1, 2]}
    json.dumps(ready, allow_nan=False)
    with pytest.raises(TypeError, match="not JSON-ready"):
        json_ready({"f": object()})


def test_fit_exponent_recovers_a_power_law():
    rng = np.random.default_rng(3)
    for exponent in (0.5, 1.0, 1.5, 2.0):
        ns = [2.0**k for k in range(8, 16)]
        times = [1e-6 * n**exponent * float(rng.uniform(0.98, 1.02)) for n in ns]
        assert abs(fit_exponent(ns, times) - exponent) < 0.02  # type: ignore[operator]


def test_building_the_bench_command_imports_no_benchmark():
    """``reductions --help`` builds this parser: it must not pull in numpy or a benchmark module."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, argparse\n"
        "from reductions.app.bench.command import add_bench_command\n"
        "add_bench_command(argparse.ArgumentParser().add_subparsers())\n"
        "heavy = ('numpy', 'sympy', 'matplotlib', 'reductions.app.bench.timing', 'reductions.app.bench.exact')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_bench_memory_json_shape_and_prediction_covers_the_peak(capsys):
    status, out, _ = _run(capsys, "bench", "memory", "--vars", "8", "--vars", "10")
    assert status == 0
    report = json.loads(out)
    assert list(report) == ["benchmark", "machine", "parameters", "summary", "results"]
    assert report["benchmark"] == "memory" and report["summary"]["target"] == [1.0, 1.5]
    assert [point["num_vars"] for point in report["results"]] == [8, 10]
    for point in report["results"]:
        assert point["predicted_bytes"] >= point["traced_peak_bytes"] > 0
        assert point["ratio"] == pytest.approx(point["predicted_bytes"] / point["traced_peak_bytes"])
    numbers_as_text = [
        where
        for where, value in _walk(report["results"])
        if isinstance(value, str) and value.replace(".", "").isdigit()
    ]
    assert not numbers_as_text


def test_bench_memory_refuses_a_point_above_the_limit_before_running(capsys):
    status, out, err = _run(capsys, "bench", "memory", "--vars", "40", "--max-memory", "1GiB")
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and "40 variables, 170 clauses are predicted to need" in err
    assert "above the limit of 1 GiB (--max-memory)" in err


def test_bench_verify_times_one_and_two_workers_and_gets_the_same_report(capsys):
    pytest.importorskip("distributed")
    status, out, _ = _run(capsys, "bench", "verify", "half-ones", "--trials", "300", "--seed", "2")
    assert status == 0
    report = json.loads(out)
    assert list(report) == ["benchmark", "machine", "parameters", "summary", "results"]
    assert report["benchmark"] == "verify" and report["parameters"]["workers"] == [1, 2]
    one, two = report["results"]
    assert (one["workers"], two["workers"]) == (1, 2)
    assert one["ran_on"] == "serial (one process)" and "local Dask cluster of 2" in two["ran_on"]
    assert report["summary"]["same_report"] is True and one["passed"] and two["passed"]
    assert report["summary"]["speedup"] == pytest.approx(one["seconds"] / two["seconds"])
