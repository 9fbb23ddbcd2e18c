"""The command line: output formats, exit codes and one-line errors."""

import json
import subprocess
import sys

import pytest

from reductions.app.cli import main
from tests.conftest import DATA

CNF_DIR = DATA / "cnf"


def run(*args):
    """Run the installed entry point as a user would."""
    return subprocess.run([sys.executable, "-m", "reductions", *args], capture_output=True, text=True, timeout=300)


def test_inspect_json_reports_counts_and_warnings(capsys):
    assert main(["inspect", str(CNF_DIR / "parser_quirks" / "uf20-01.header-says-90.cnf"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["variables"], report["clauses"]) == (20, 91)
    assert any("90" in warning for warning in report["warnings"])


def test_inspect_plain_mentions_the_counts(capsys):
    assert main(["inspect", str(CNF_DIR / "sat" / "quinn.cnf")]) == 0
    assert "16 variables, 18 clauses" in capsys.readouterr().out


def test_inspect_bad_file_exits_1_with_one_line_naming_the_line(tmp_path):
    bad = tmp_path / "bad.cnf"
    bad.write_text("p cnf 2 1\n1 x 0\n")
    result = run("inspect", str(bad))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.cnf:2" in lines[0]


def test_missing_file_exits_1_with_one_line():
    result = run("inspect", "no-such-file.cnf")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "no-such-file.cnf" in result.stderr


def test_bad_argument_exits_1_with_one_line():
    result = run("verify", "--trials", "many")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1


def test_solve_sat_file_prints_solver_output_and_exits_10():
    result = run("solve", str(CNF_DIR / "sat" / "quinn.cnf"))
    assert result.returncode == 10
    lines = result.stdout.splitlines()
    assert "s SATISFIABLE" in lines
    literals = [int(x) for line in lines if line.startswith("v ") for x in line[2:].split()]
    assert literals[-1] == 0 and sorted(abs(x) for x in literals[:-1]) == list(range(1, 17))
    assert result.stderr == ""  # no progress when piped


def test_solve_unsat_file_exits_20():
    result = run("solve", str(CNF_DIR / "unsat" / "waerden_3_3_9.cnf"))
    assert result.returncode == 20
    assert result.stdout.strip().splitlines()[-1] == "s UNSATISFIABLE"


def test_solve_json_has_the_contract_keys(capsys):
    assert main(["solve", str(CNF_DIR / "sat" / "uf20-01.cnf"), "--json", "--balance", "tight"]) == 10
    data = json.loads(capsys.readouterr().out)
    assert {"status", "assignment", "oracle", "stages", "seconds"} <= set(data)
    assert data["status"] == "SAT" and data["oracle"] == "exact"
    assert [s["name"] for s in data["stages"]][:4] == ["sat-ov", "ov-gapann", "half-ones", "gapann-aattc"]


def test_solve_trace_prints_stages_as_comments(capsys):
    assert main(["solve", str(CNF_DIR / "unsat" / "hole1.cnf"), "--trace", "--branch", "attention"]) == 20
    out = capsys.readouterr().out
    assert "c stage" in out and "c gapann-aattc" in out


def test_solve_refuses_a_large_file_in_one_line():
    result = run("solve", str(CNF_DIR / "parser_quirks" / "aim-50-1_6-no-1.p-line-extra-field.cnf"))
    assert result.returncode == 0  # UNKNOWN, as SAT solvers that give up
    assert result.stdout.splitlines()[-1] == "s UNKNOWN"
    assert len(result.stderr.strip().splitlines()) == 1 and "above the limit" in result.stderr


def test_verify_json_passes(capsys):
    assert main(["verify", "sat-ov", "ov-gapann", "--trials", "30", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] and [r["name"] for r in data["reductions"]] == ["sat-ov", "ov-gapann"]


def test_verify_unknown_name_exits_1(capsys):
    assert main(["verify", "sat-tsp"]) == 1
    assert "unknown reduction 'sat-tsp'" in capsys.readouterr().err


def test_chain_symbolic_prints_the_composed_sizes(capsys):
    assert main(["chain", "sat", "aattc", "--symbolic"]) == 0
    out = capsys.readouterr().out
    assert "sat-ov" in out and "gapann-aattc" in out and "12*m" in out


@pytest.mark.parametrize(
    "args",
    [
        ["random", "--vars", "7", "--clauses", "20", "--seed", "3"],
        ["planted", "--vars", "7", "--clauses", "20"],
        ["pigeonhole", "--pigeons", "3", "--holes", "2"],
    ],
)
def test_generate_writes_dimacs_that_reads_back(args, tmp_path, capsys):
    out = tmp_path / "f.cnf"
    assert main(["generate", *args, "--out", str(out)]) == 0
    assert main(["inspect", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []


def test_bench_reductions_reports_the_forward_time(capsys):
    assert main(["bench", "reductions", "--vars", "12", "--clauses", "40", "--repeat", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["results"][0]["sizes"] == {"n_a": 64, "n_b": 64, "d": 40}
    assert data["results"][0]["seconds"] > 0


def test_bench_oracles_anytemp_prints_the_report_with_its_summary(capsys, tmp_path):
    out = tmp_path / "anytemp.json"
    assert main(["bench", "oracles", "--anytemp", "--out", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == data
    summary = data["summary"]
    assert [(x["d"], x["B"]) for x in summary["scaling"]] == [(2, 10.0), (3, 10.0)]
    assert summary["d1"]["speedup"] == next(r["speedup"] for r in data["results"] if r["part"] == "d1")
    # every measured error within the stated bound
    assert 0 <= summary["largest_error_over_bound"] <= 1
    degrees = summary["temperature"][0]["polynomial_degree"]
    assert degrees == sorted(degrees) and degrees[-1] > 10**6


def test_help_works_for_every_command():
    for command in ["inspect", "generate", "verify", "chain", "bench", "solve"]:
        result = run(command, "--help")
        assert result.returncode == 0 and "usage" in result.stdout


def test_solve_through_another_registered_chain(capsys):
    assert main(["solve", str(CNF_DIR / "sat" / "quinn.cnf"), "--chain", "sat-selfattn", "--json"]) == 10
    data = json.loads(capsys.readouterr().out)
    assert data["oracle"] == "exact-selfattn" and data["stages"][0]["name"] == "sat-ov"


def test_solve_refuses_a_chain_that_does_not_start_at_sat(capsys):
    assert main(["solve", str(CNF_DIR / "sat" / "quinn.cnf"), "--chain", "ov-gapann"]) == 1
    assert "starts at 'ov', not at 'sat'" in capsys.readouterr().err
