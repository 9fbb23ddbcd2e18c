"""``reductions solve`` over many files, in this process: answers against the shared files' known status.

The reference is ``tests/data/cnf/EXPECTED.tsv`` (every status checked with
two SAT solvers) and PySAT (``--check``). The same batch on a Dask cluster is
tested in ``test_parallel.py``.
"""

from __future__ import annotations

import csv
import json

import pytest

from instances import Assignment
from instances.dimacs import read_dimacs
from reductions.app.cli import EXIT_ERROR, EXIT_SAT, main
from tests.conftest import DATA

CNF = DATA / "cnf"
# hole5 needs minutes and aim-50 terabytes: both are refused at this limit, the rest solved
LIMITS = ["--max-seconds", "5", "--workers", "1", "--quiet"]


def _expected() -> dict[str, str]:
    with (CNF / "EXPECTED.tsv").open(newline="", encoding="utf-8") as handle:
        return {str(CNF / row["path"]): row["expected"] for row in csv.DictReader(handle, delimiter="\t")}


@pytest.fixture(scope="module")
def batch_json() -> list[dict]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        status = main(["solve", str(CNF), "--check", "--json", *LIMITS])
    assert status == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_directory_is_solved_file_by_file_and_agrees_with_the_known_status(batch_json):
    *records, last = batch_json
    expected = _expected()
    assert [r["file"] for r in records] == sorted(expected)  # every file once, in order
    refused = {r["file"] for r in records if r["status"] == "UNKNOWN"}
    assert refused == {str(CNF / "unsat/hole5.cnf"), str(CNF / "parser_quirks/aim-50-1_6-no-1.p-line-extra-field.cnf")}
    for record in records:
        if record["status"] != "UNKNOWN":
            assert record["status"] == expected[record["file"]] == record["pysat"], record["file"]
            assert record["agrees"] is True
    summary = last["summary"]
    assert summary["files"] == 20 and summary["solved"] == 18 and summary["agreed"] == 18
    assert sorted(item["file"] for item in summary["refused"]) == sorted(refused)
    assert summary["errors"] == [] and summary["disagreed"] == []
    assert set(summary["stage_seconds"]) >= {"read", "sat-ov", "pysat check"}


def test_the_text_form_prefixes_each_answer_with_its_file_and_ends_with_the_summary(capsys):
    files = [str(CNF / "unsat/hole1.cnf"), str(CNF / "sat/quinn.cnf"), str(CNF / "unsat/hole5.cnf")]
    assert main(["solve", *files, "--check", *LIMITS]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [f"c file {files[0]}", "c check: PySAT says UNSAT: agrees", "s UNSATISFIABLE"]
    assert lines[3:6] == [f"c file {files[1]}", "c check: PySAT says SAT: agrees", "s SATISFIABLE"]
    values = [int(word) for line in lines if line.startswith("v ") for word in line.split()[1:]]
    assert values[-1] == 0 and read_dimacs(files[1]).formula.is_satisfied_by(Assignment.from_literals(values[:-1]))
    hole5 = lines.index(f"c file {files[2]}")
    assert (
        lines[hole5 + 1].startswith("c refused: 30 variables and 81 clauses need") and lines[hole5 + 2] == "s UNKNOWN"
    )
    summary = lines[lines.index(next(line for line in lines if line.startswith("c summary:"))) :]
    assert summary[0].startswith("c summary: 3 files in ")
    assert "c   solved        2  (1 SAT, 1 UNSAT)" in summary
    assert "c   agreed        2  with PySAT, of 2 checked" in summary
    assert any(line.startswith(f"c     {files[2]}: 30 variables") for line in summary)


def test_an_unreadable_file_does_not_stop_the_batch_and_sets_status_1(tmp_path, capsys):
    broken = tmp_path / "broken.cnf"
    broken.write_text("p cnf 2 1\n1 x 0\n")
    good = str(CNF / "unsat/hole1.cnf")
    assert main(["solve", str(broken), good, *LIMITS]) == EXIT_ERROR
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == f"c file {broken}" and lines[1].startswith("c error: ") and lines[2] == "s UNKNOWN"
    assert lines[3:5] == [f"c file {good}", "s UNSATISFIABLE"]
    assert captured.err.count("\n") == 1 and captured.err.startswith(f"reductions: error: {broken}:")


def test_one_file_keeps_its_exit_status_and_check_adds_one_line(capsys):
    assert main(["solve", str(CNF / "sat/quinn.cnf"), "--check", "--quiet"]) == EXIT_SAT
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "c check: PySAT says SAT: agrees" and lines[1] == "s SATISFIABLE"


def test_standard_input_is_read_only_alone(capsys):
    assert main(["solve", "-", str(CNF / "sat/quinn.cnf")]) == EXIT_ERROR
    assert "'-' (standard input) is read only when it is the one file given" in capsys.readouterr().err


def test_a_missing_path_is_an_error_before_anything_runs(tmp_path, capsys):
    assert main(["solve", str(CNF / "sat/quinn.cnf"), str(tmp_path / "nothing.cnf")]) == EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == "" and "nothing.cnf: no such file or directory" in captured.err


def test_a_file_lost_twice_by_its_worker_is_an_error_record_in_its_place():
    from reductions.app.batch import SolveSettings, solve_files
    from reductions.parallel import TaskFailure
    from reductions.pipeline import default_chain

    class LosesTheMiddleFile:
        """An engine whose worker died twice on the second task; the other tasks run here, last first."""

        def map(self, function, tasks, on_result, describe):
            for index in (2, 0):
                on_result(index, function(*tasks[index]))
            return [TaskFailure(1, "KilledWorker: the worker died")]

    files = [str(CNF / "unsat/hole1.cnf"), str(CNF / "sat/quinn.cnf"), str(CNF / "unsat/waerden_3_3_9.cnf")]
    settings = SolveSettings(default_chain(), "exact", 2**30, 5.0)
    shown: list[str] = []
    records = solve_files(files, settings, LosesTheMiddleFile(), lambda record: shown.append(record["file"]))
    assert shown == files  # in the files' order, although they finished in another
    assert [r["status"] for r in records] == ["UNSAT", "ERROR", "UNSAT"]
    assert records[1]["reason"] == "KilledWorker: the worker died"
    assert records[2]["file"] == files[2] and records[2]["assignment"] is None


def test_a_directory_yields_cnf_files_in_any_case_and_no_pipes(tmp_path):
    import os

    from reductions.app.batch import cnf_files

    (tmp_path / "a.cnf").write_text("p cnf 1 1\n1 0\n")
    (tmp_path / "B.CNF").write_text("p cnf 1 1\n-1 0\n")
    (tmp_path / "notes.txt").write_text("not a formula\n")
    (tmp_path / "sub.cnf").mkdir()
    os.mkfifo(tmp_path / "pipe.cnf")
    assert cnf_files([str(tmp_path)]) == [str(tmp_path / "B.CNF"), str(tmp_path / "a.cnf")]
    with pytest.raises(ValueError, match=r"pipe\.cnf: not a regular file"):
        cnf_files([str(tmp_path / "a.cnf"), str(tmp_path / "pipe.cnf")])
