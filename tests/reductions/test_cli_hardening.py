"""The command line under hostile input: every input gets an answer or one clear line.

Items refer to issue 11 (hardening) and issue 10 item 4 (start-up); the
inputs are the ones quoted there.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from instances.dimacs import MAX_FILE_BYTES, MAX_LINE_BYTES, MAX_VARIABLE, parse_dimacs, read_dimacs
from instances.errors import DimacsParseError
from reductions.app import cli
from reductions.app.cli import EXIT_UNKNOWN, GENERATE_MAX_SIZE, main
from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[2]
UF20 = ROOT / "instances" / "data" / "uf20-01.cnf"
QUINN = DATA / "cnf" / "sat" / "quinn.cnf"
HEAVY = ("sympy", "networkx", "matplotlib", "numba", "llvmlite")


def run(*args: str, stdin: bytes | None = None, limit_kib: int | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m reductions ARGS`` as a user runs it, optionally under ``ulimit -v``."""

    def limit() -> None:
        if limit_kib is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_kib * 1024, limit_kib * 1024))

    completed = subprocess.run(
        [sys.executable, "-m", "reductions", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        cwd=ROOT,
        preexec_fn=limit,
    )
    return subprocess.CompletedProcess(
        completed.args, completed.returncode, completed.stdout.decode(), completed.stderr.decode()
    )


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def write(tmp_path: Path, text: str, name: str = "f.cnf") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def sat_chains() -> list[str]:
    from reductions.pipeline import ORACLES
    from reductions.registry import get_reduction, reduction_names

    chains = [(name, get_reduction(name)) for name in reduction_names()]
    return [name for name, chain in chains if chain.source == "sat" and chain.target in ORACLES]


# -- issue 10 item 4: start-up ---------------------------------------------------------------

PROBE = """
import runpy, sys
sys.argv = ["reductions", *sys.argv[1:]]
try:
    runpy.run_module("reductions", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
sys.stderr.write("LOADED:" + ",".join(sorted({m.split(".")[0] for m in sys.modules})) + "\\n")
"""


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["inspect", str(UF20)], ["inspect", str(UF20), "--json"]])
def test_quick_commands_import_no_heavy_module(argv):
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    loaded = next(line for line in completed.stderr.splitlines() if line.startswith("LOADED:"))
    assert set(loaded[len("LOADED:") :].split(",")).isdisjoint(HEAVY), loaded


def test_help_needs_not_even_numpy():
    completed = subprocess.run([sys.executable, "-c", PROBE, "--help"], capture_output=True, text=True, cwd=ROOT)
    assert "numpy" not in completed.stderr.split("LOADED:")[1].split(",")


def test_version_prints_the_distribution_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"reductions {importlib.metadata.version('reductions')}"


def test_bench_startup_measures_fresh_processes_against_numpy():
    from reductions.app.bench.startup import bench_startup

    data = bench_startup(repeat=1, which=["help", "inspect"])
    assert data["benchmark"] == "startup" and {"cores", "numpy"} <= set(data["machine"])
    reference, help_entry, inspect_entry = data["results"]
    assert reference["command"] == 'python -c "import numpy"' and reference["ratio"] == 1.0
    for entry in (help_entry, inspect_entry):
        assert entry["exit_status"] == 0 and entry["heavy_modules"] == []
        assert entry["ratio"] == pytest.approx(entry["seconds"] / reference["seconds"])
        assert entry["meets_target"] == (entry["ratio"] <= float(entry["target"].split()[-1]))
    with pytest.raises(ValueError, match="unknown start-up command"):
        bench_startup(which=["tea"])


@pytest.mark.slow
def test_bench_startup_from_the_command_line(capsys):
    assert main(["bench", "startup", "--repeat", "1"]) == 0
    results = {entry["command"]: entry for entry in json.loads(capsys.readouterr().out)["results"]}
    solve = results["reductions solve instances/data/uf20-01.cnf --quiet"]
    assert solve["exit_status"] == 10 and "sympy" in solve["heavy_modules"]
    assert solve["target"] == "seconds <= 1.5" and solve["meets_target"] == (solve["seconds"] <= 1.5)
    assert results["reductions --version"]["heavy_modules"] == []


# -- items 1 and 2: sizes that overflowed or hung -------------------------------------------

HUGE_FORMULAS = ["p cnf 2040 1\n1 2 0\n", "p cnf 3000 0\n", "p cnf 999999999 999999999\n1 0\n"]


@pytest.mark.parametrize("text", HUGE_FORMULAS)
def test_item1_huge_formulas_are_unknown_not_a_traceback(text, tmp_path):
    result = run("solve", write(tmp_path, text))
    assert result.returncode == EXIT_UNKNOWN
    assert result.stdout.splitlines()[-1] == "s UNKNOWN"
    assert result.stdout.splitlines()[-2].startswith("c refused: ")
    assert "beyond any machine" in one_line(result.stderr)


@pytest.mark.parametrize("chain", sat_chains())
def test_item1_every_chain_refuses_in_one_line(chain, tmp_path, capsys):
    path = write(tmp_path, HUGE_FORMULAS[0])
    assert main(["solve", path, "--chain", chain]) == EXIT_UNKNOWN
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == "s UNKNOWN"
    one_line(captured.err)


def test_item1_a_formula_the_predictor_sizes_is_refused_with_the_numbers(tmp_path, capsys):
    path = write(tmp_path, "p cnf 40 2\n1 2 0\n-3 40 0\n")
    assert main(["solve", path, "--json", "--branch", "attention"]) == EXIT_UNKNOWN
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "UNKNOWN"
    # 40 variables split 20 + 20: N = max(2^20, 2 * 2^20) = 2^21
    assert "N = 2,097,152" in data["reason"] and "above the limit" in data["reason"]


@pytest.mark.parametrize("command", ["solve", "inspect"])
def test_item2_a_twenty_digit_variable_is_refused_with_the_line_and_the_limit(command, tmp_path):
    path = write(tmp_path, "p cnf 3 1\n1 99999999999999999999 0\n", "b.cnf")
    result = run(command, path)
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "b.cnf:2:" in line and "99999999999999999999" in line and f"{MAX_VARIABLE:,}" in line


@pytest.mark.parametrize(
    ("header", "what"),
    [("p cnf 99999999999 1", "variables"), ("p cnf 3 99999999999", "clauses"), ("p cnf 1 " + "9" * 5000, "clauses")],
)
def test_item2_absurd_header_counts_are_refused_by_the_reader(header, what):
    with pytest.raises(
        DimacsParseError, match=rf"x.cnf:1: p line declares .* {what}, above the limit of 2,147,483,647"
    ):
        parse_dimacs(header + "\n1 0\n", source="x.cnf")


@pytest.mark.parametrize("literal", ["2147483648", "-2147483648", "9" * 5000, "-0000000000002147483648"])
def test_item2_literals_beyond_the_limit_name_their_line(literal):
    with pytest.raises(DimacsParseError, match=r"x.cnf:3: literal .* names a variable above the limit"):
        parse_dimacs(f"p cnf 3 2\n1 2 0\n3 {literal} 0\n", source="x.cnf")


def test_item2_the_largest_allowed_variable_and_leading_zeros_still_read():
    parsed = parse_dimacs(f"1 -{MAX_VARIABLE} 0\n00000000000007 0\n")
    assert parsed.formula.num_vars == MAX_VARIABLE and parsed.formula.clauses == ((1, -MAX_VARIABLE), (7,))


# -- item 5: sizes checked before allocating ------------------------------------------------

GENERATE_TOO_LARGE = [
    ["random", "--vars", "1000000000", "--clauses", "1000000000"],
    ["pigeonhole", "--pigeons", "100000", "--holes", "100000"],
    ["random", "--vars", "10", "--ratio", "1e18"],
]


@pytest.mark.parametrize("args", GENERATE_TOO_LARGE)
def test_item5_generate_refuses_before_building(args, capsys):
    assert main(["generate", *args]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"limit of {GENERATE_MAX_SIZE:,}" in one_line(captured.err)


def test_item5_generate_just_inside_the_limit_is_built(capsys):
    # 20 variables + 3 * 1000 literals: small, and counted the same way as the refusals
    assert main(["generate", "random", "--vars", "20", "--clauses", "1000"]) == 0
    assert parse_dimacs(capsys.readouterr().out).formula.num_clauses == 1000


def test_item5_inspect_dev_zero_is_refused_after_one_line():
    result = run("inspect", "/dev/zero")
    assert result.returncode == 1
    assert f"/dev/zero:1: line longer than the limit of {MAX_LINE_BYTES:,} bytes" in one_line(result.stderr)


def test_item5_a_file_on_one_line_is_refused_by_streaming(tmp_path):
    path = tmp_path / "one-line.cnf"
    path.write_bytes(b"1 2 3 " * (MAX_LINE_BYTES // 2))  # 3 MiB, no line end
    with pytest.raises(DimacsParseError, match="one-line.cnf:1: line longer than the limit"):
        read_dimacs(path)


@pytest.mark.slow
def test_item5_a_100_mb_file_on_one_line_is_refused(tmp_path):
    path = tmp_path / "huge.cnf"
    with path.open("wb") as handle:
        for _ in range(100):
            handle.write(b"1 -2 3 " * (10**6 // 7))
    result = run("inspect", str(path))
    assert result.returncode == 1 and "line longer than the limit" in one_line(result.stderr)


def test_item5_input_beyond_the_size_limit_is_refused_while_streaming():
    class Endless(io.RawIOBase):
        """Valid clauses for ever; counts what was read."""

        served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            chunk = (b"1 -2 0\n" * (len(buffer) // 7 + 1))[: len(buffer)]
            buffer[: len(chunk)] = chunk
            self.served += len(chunk)
            return len(chunk)

    stream = Endless()
    with pytest.raises(DimacsParseError, match="larger than the limit of 1,000,000 bytes"):
        read_dimacs(io.BufferedReader(stream), max_bytes=10**6)
    assert stream.served < 10**6 + 2**21  # stopped within a block or two of the limit
    assert MAX_FILE_BYTES >= 100 * 10**6  # the 100 MB file of clauses is still read


def test_streaming_reader_agrees_with_the_text_reader_on_line_ends_and_blocks(tmp_path):
    text = "c x\r\np cnf 3 3\r1 -2\r\n0\n2 3 0\r\n-3 0"
    path = tmp_path / "mixed.cnf"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    expected = parse_dimacs(text)
    assert read_dimacs(path) == expected
    # one byte per read: every block boundary, CR LF split included
    with path.open("rb") as handle:
        reader = io.BufferedReader(handle, buffer_size=1)
        assert cli_read_in_tiny_blocks(reader) == expected


def cli_read_in_tiny_blocks(handle):  # type: ignore[no-untyped-def]
    class OneByteAtATime:
        name = "<tiny>"

        def read(self, _size: int) -> bytes:
            return handle.read(1)

    parsed = read_dimacs(OneByteAtATime())  # type: ignore[arg-type]
    return parsed


def test_streaming_reader_names_the_line_of_a_bad_byte(tmp_path):
    path = tmp_path / "bad.cnf"
    path.write_bytes(b"p cnf 2 1\n1 2 0\n" * 40000 + b"1 \xff 0\n")
    with pytest.raises(DimacsParseError, match=r"bad.cnf:80001: byte 0xff at column 3"):
        read_dimacs(path)


# -- item 6: progress and counts -------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["verify", "--trials", "0"], ["bench", "reductions", "--repeat", "0"], ["bench", "solve", "--formulas", "-1"]],
)
def test_item6_zero_and_negative_counts_are_refused(args):
    result = run(*args)
    assert result.returncode == 1
    assert "is not a positive count" in one_line(result.stderr)


def test_item6_verify_progress_says_what_it_will_cost(monkeypatch):
    clock = iter(float(second) for second in range(10**6))
    monkeypatch.setattr(cli.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()
    progress = cli._TrialProgress("sat-ov", 1000, enabled=True, stream=stream)
    for done in range(1, 1001):
        progress(done)
    text = stream.getvalue()
    # one second per trial: the expected total is announced once, early
    assert text.count("1,000 trials will take about") == 1
    assert "1,000/1,000 trials" in text and text.endswith("\n")


def test_item6_verify_shows_no_progress_when_stderr_is_not_a_terminal(capsys):
    assert main(["verify", "sat-ov", "--trials", "5"]) == 0
    assert capsys.readouterr().err == ""


# -- items 10, 13: names and plurals ---------------------------------------------------------


def test_item10_chain_all_lists_the_named_chains(capsys):
    assert main(["chain", "sat", "aattc", "--all"]) == 0
    out = capsys.readouterr().out
    for name in ("sat-aattc", "sat-aattc-direct", "sat-aattc-gentle", "sat-aattc-maxip"):
        assert f"named: {name}" in out or f", {name}" in out


def test_item10_solve_help_lists_oracles_and_chains():
    result = run("solve", "--help")
    assert result.returncode == 0
    for name in ("exact", "polynomial", "taylor", "anytemp", "sat-aattc-direct", "sat-selfattn"):
        assert name in result.stdout
    assert "0 unknown" in result.stdout


@pytest.mark.parametrize("option", [["--mode", "paper"], ["--balance", "tight"], ["--branch", "attention"]])
def test_item13_chain_options_with_chain_are_an_error(option, capsys):
    assert main(["solve", str(QUINN), "--chain", "sat-aattc-direct", *option]) == 1
    line = one_line(capsys.readouterr().err)
    assert option[0] in line and "default chain only" in line


def test_item13_counts_are_plural_only_when_they_should_be(tmp_path, capsys):
    assert main(["inspect", write(tmp_path, "p cnf 1 1\n1 0\n")]) == 0
    assert "1 variable, 1 clause " in capsys.readouterr().out
    assert main(["inspect", write(tmp_path, "p cnf 2 0\n")]) == 0
    assert "2 variables, 0 clauses " in capsys.readouterr().out


# -- item 14: refusals as SAT solvers give them -----------------------------------------------


def test_item14_refusal_prints_unknown_with_the_reason_and_exit_0(tmp_path):
    result = run("solve", str(UF20), "--max-memory", "1MiB")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [line for line in result.stdout.splitlines() if line.startswith(("c ", "s "))]
    assert result.stdout.splitlines()[-1] == "s UNKNOWN"
    reason = result.stdout.splitlines()[-2][len("c refused: ") :]
    assert one_line(result.stderr) == f"reductions: unknown: {reason}"
    assert "above the limit of 1 MiB" in reason


def test_item14_refusal_in_json(capsys):
    assert main(["solve", str(UF20), "--json", "--max-seconds", "0.000001"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "UNKNOWN" and "above the limit of 1e-06 s" in data["reason"]


def test_item14_errors_stay_exit_1(tmp_path):
    assert run("solve", write(tmp_path, "p cnf 2 1\n1 x 0\n")).returncode == 1
    assert run("solve", str(UF20), "--oracle", "psychic").returncode == 1
    assert run("solve", str(UF20), "--max-memory", "lots").returncode == 1


# -- item 15: standard input and closed pipes --------------------------------------------------


def test_item15_solve_reads_standard_input():
    result = run("solve", "-", stdin=QUINN.read_bytes())
    assert result.returncode == 10 and "s SATISFIABLE" in result.stdout


def test_item15_a_closed_pipe_keeps_the_solvers_status(monkeypatch):
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    errors = io.StringIO()
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    with contextlib.redirect_stderr(errors):
        status = main(["solve", str(QUINN)])
    assert status == 10 and errors.getvalue() == ""


def test_item15_head_of_a_long_output_exits_quietly():
    process = subprocess.Popen(
        [sys.executable, "-m", "reductions", "generate", "random", "--vars", "50", "--clauses", "200000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b"c random 3-SAT")
    process.stdout.close()  # as `| head -1` does
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=120) == 0
    assert "Broken pipe" not in stderr and "Traceback" not in stderr


# -- item 16: limits on solve, the prediction on inspect ----------------------------------------


def test_item16_inspect_cost_reports_what_solve_would_need(capsys):
    assert main(["inspect", str(UF20), "--cost", "--json"]) == 0
    solve = json.loads(capsys.readouterr().out)["solve"]
    # 20 variables split 10 + 10, 91 clauses: N = max(2^10, 2 * 2^10), d = 2 * 6 * 91
    assert (solve["N"], solve["d"], solve["branch"]) == (2048, 1092, "attention")
    assert solve["accepts"] is True and solve["bytes"] < 8 * 2**30
    assert main(["inspect", str(UF20), "--cost", "--max-memory", "1MiB"]) == 0
    assert "refuses: " in capsys.readouterr().out


def test_item16_the_verdict_of_inspect_is_what_solve_does(tmp_path, capsys):
    for limit in ("1MiB", "8GiB"):
        assert main(["inspect", str(UF20), "--cost", "--json", "--max-memory", limit]) == 0
        accepts = json.loads(capsys.readouterr().out)["solve"]["accepts"]
        status = main(["solve", str(UF20), "--quiet", "--max-memory", limit])
        capsys.readouterr()
        assert (status == 10) == accepts and (status == EXIT_UNKNOWN) == (not accepts)


# -- item 17: defaults in help -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("generate", "--vars VARS number of variables (random, planted) (default: 20)"),
        ("generate", "--seed SEED random seed (default: 0)"),
        ("bench solve", "--formulas FORMULAS random formulas to solve (default: 3)"),
        ("bench oracles", "--eps EPS error asked of the approximate oracles (default: 1e-06)"),
    ],
)
def test_item17_help_shows_defaults(command, shown):
    result = run(*command.split(), "--help")
    assert result.returncode == 0 and shown in " ".join(result.stdout.split())


# -- hostile DIMACS text ------------------------------------------------------------------------

numbers = st.one_of(
    st.integers(-5, 5),
    st.integers(-(10**25), 10**25),
    st.sampled_from([2**31 - 1, 2**31, -(2**31)]),
    st.just("9" * 4400),  # beyond int()'s digit limit: a string, so that hypothesis can show it
)
header = st.builds(
    lambda v, c, extra: f"p cnf {v} {c}{extra}\n",
    st.one_of(st.integers(0, 40), numbers, st.just("x")),
    st.one_of(st.integers(0, 40), numbers),
    st.sampled_from(["", " 7", " junk"]),
)
clause_line = st.builds(
    lambda literals, end: " ".join(map(str, literals)) + end,
    st.lists(st.one_of(st.integers(-12, 12), numbers), max_size=6),
    st.sampled_from([" 0\n", "\n", " 0\r\n", " 0 ", "\r"]),
)
structured = st.builds(
    lambda head, lines, tail: (head + "".join(lines) + tail).encode(),
    st.one_of(st.just(""), header, st.just("p dnf 3 1\n"), st.just("p cnf\n")),
    st.lists(st.one_of(clause_line, st.just("c note\n"), st.just("%\n"), header), max_size=12),
    st.sampled_from(["", "\n", "0\n", "%\n0\n"]),
)
hostile = st.one_of(
    st.binary(max_size=200),
    st.text(alphabet="pcnf 0123456789-\n\r\t%x", max_size=200).map(str.encode),
    structured,
)


@given(data=hostile, command=st.sampled_from(["inspect", "solve"]))
def test_hostile_dimacs_gets_an_answer_or_one_line(data, command):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "hostile.cnf")
        with open(path, "wb") as handle:
            handle.write(data)
        out, err = io.StringIO(), io.StringIO()
        limits = ["--max-memory", "256MiB", "--max-seconds", "3", "--quiet"] if command == "solve" else []
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([command, path, *limits])
    assert status in {0, 1, 10, 20}
    assert len(err.getvalue().splitlines()) <= 1 and "Traceback" not in err.getvalue()
    if command == "solve" and status in {0, 10, 20}:
        answer = {0: "s UNKNOWN", 10: "s SATISFIABLE", 20: "s UNSATISFIABLE"}[status]
        assert answer in out.getvalue().splitlines()
    if status == 1:
        assert err.getvalue().startswith("reductions: error: ")


# -- under ulimit -v 8000000: refused before allocating -------------------------------------

ULIMIT_KIB = 8_000_000

ULIMIT_CASES = [
    pytest.param(["solve", "{file}"], HUGE_FORMULAS[0], 0, id="item1-2040-vars"),
    pytest.param(["generate", "random", "--vars", "1000000000", "--clauses", "1000000000"], None, 1, id="item5-random"),
    pytest.param(["solve", "{file}"], HUGE_FORMULAS[2], 0, id="item1-999999999", marks=pytest.mark.slow),
    pytest.param(["solve", "{file}"], "p cnf 3 1\n1 99999999999999999999 0\n", 1, id="item2", marks=pytest.mark.slow),
    pytest.param(["inspect", "/dev/zero"], None, 1, id="item5-dev-zero", marks=pytest.mark.slow),
    pytest.param(
        ["generate", "pigeonhole", "--pigeons", "100000", "--holes", "100000"],
        None,
        1,
        id="item5-pigeonhole",
        marks=pytest.mark.slow,
    ),
    pytest.param(
        ["generate", "random", "--vars", "10", "--ratio", "1e18"], None, 1, id="item5-ratio", marks=pytest.mark.slow
    ),
]


@pytest.mark.parametrize(("args", "text", "status"), ULIMIT_CASES)
def test_refusals_happen_before_allocation_under_ulimit(args, text, status, tmp_path):
    file = write(tmp_path, text) if text is not None else ""
    result = run(*[arg.replace("{file}", file) for arg in args], limit_kib=ULIMIT_KIB)
    assert result.returncode == status, result.stderr
    line = one_line(result.stderr)
    assert "out of memory" not in line.lower()  # refused from the prediction, not after running out
    assert "MemoryError" not in result.stderr
