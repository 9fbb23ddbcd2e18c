"""Solving CNF formulas through attention, end to end, against PySAT."""

import csv

import pytest
from hypothesis import given, settings

from instances import CNF, OracleRefusal
from instances.dimacs import read_dimacs
from instances.generators import random_ksat
from reductions.catalog.chains import attention_chain
from reductions.pipeline import predict_chain, solve_via_attention
from solvers.sat import solve_sat
from tests.conftest import DATA
from tests.strategies import cnf_formulas

COMBINATIONS = [(mode, balance) for mode in ("certified", "paper") for balance in ("paper", "tight")]


def _expected_files():
    with open(DATA / "cnf" / "EXPECTED.tsv", encoding="utf-8") as handle:
        return [(row["path"], row["expected"]) for row in csv.DictReader(handle, delimiter="\t")]


def _fits(formula):
    prediction = predict_chain(formula)
    return prediction.bytes < 2**30 and prediction.seconds < 20


@pytest.mark.parametrize("mode, balance", COMBINATIONS)
@settings(max_examples=250)
@given(formula=cnf_formulas(max_vars=8, max_clauses=12))
def test_random_formulas_agree_with_pysat(formula, mode, balance):
    result = solve_via_attention(formula, mode=mode, balance=balance, progress=False)
    reference = solve_sat(formula)
    assert result.status == ("SAT" if reference is not None else "UNSAT")
    if result.assignment is not None:
        assert formula.is_satisfied_by(result.assignment)


@pytest.mark.parametrize("mode, balance", COMBINATIONS)
@settings(max_examples=60)
@given(formula=cnf_formulas(min_vars=1, max_vars=8, max_clauses=12))
def test_attention_branch_forced_agrees_with_pysat(formula, mode, balance):
    if formula.num_clauses == 0:
        return  # dimension 0: the strict attention branch refuses, tested elsewhere
    result = solve_via_attention(formula, mode=mode, balance=balance, branch="attention", progress=False)
    assert result.status == ("SAT" if solve_sat(formula) is not None else "UNSAT")
    oracle_stage = next(s for s in result.stages if s.name.startswith("oracle:"))
    precision = oracle_stage.info["precision"]
    assert result.oracle == {"float64": "exact", "float32": "exact-float32"}[precision]


@pytest.mark.parametrize("mode, balance", COMBINATIONS)
@pytest.mark.parametrize("path, expected", _expected_files(), ids=[p for p, _ in _expected_files()])
def test_shared_cnf_files_that_fit(path, expected, mode, balance):
    formula = read_dimacs(DATA / "cnf" / path).formula
    if not _fits(formula):
        with pytest.raises(OracleRefusal, match="above the limit"):
            solve_via_attention(formula, max_bytes=2**30, max_seconds=20, progress=False)
        return
    result = solve_via_attention(formula, mode=mode, balance=balance, progress=False)
    assert result.status == expected
    if expected == "SAT":
        assert formula.is_satisfied_by(result.assignment)


@pytest.mark.parametrize("seed", range(3))
def test_uf20_sized_random_formulas(seed):
    formula = random_ksat(20, 91, seed=seed)
    result = solve_via_attention(formula, progress=False)
    assert result.status == ("SAT" if solve_sat(formula) is not None else "UNSAT")
    attention = [s for s in result.stages if s.name == "gapann-aattc"][0]
    assert attention.info["branch"] == "attention"
    assert attention.sizes["n"] == 2048 and attention.sizes["d"] == 12 * 91
    oracle = [s for s in result.stages if s.name.startswith("oracle:")][0]
    # scores near beta = 4,900 over d = 1,092: float32's bound is far outside the margin
    assert oracle.name == "oracle:exact" and oracle.info["precision"] == "float64"
    assert oracle.info["float32_rel_error"] > 0.5


def test_sixty_variables_are_refused_with_numbers_before_building_anything():
    formula = random_ksat(60, 250, seed=0)
    with pytest.raises(OracleRefusal, match=r"60 variables and 250 clauses need attention with N = 2,147,483,648"):
        solve_via_attention(formula, progress=False)


def test_trace_records_every_stage_and_the_choices():
    result = solve_via_attention(CNF(4, [[1, -2], [2, 3], [-3, 4]]), branch="attention", progress=False)
    names = [stage.name for stage in result.stages]
    assert names == ["sat-ov", "ov-gapann", "half-ones", "gapann-aattc", "oracle:exact-float32", "backward"]
    oracle = result.stages[4].info
    assert oracle["precision"] == "float32" and oracle["rel_error"] == oracle["float32_rel_error"]
    record = attention_chain(branch="attention").forward(CNF(4, [[1, -2], [2, 3], [-3, 4]])).parts[-1]
    assert record.reduction.tolerates(record, oracle["float32_rel_error"], oracle["float32_abs_error"])
    info = result.stages[3].info
    assert {"beta", "log_threshold", "log_margin", "branch"} <= set(info)
    data = result.as_dict()
    assert set(data) == {"status", "assignment", "oracle", "stages", "seconds"}
    assert "gapann-aattc" in result.trace_table()


def test_hamming_ball_branch_reports_that_the_oracle_was_not_called():
    result = solve_via_attention(CNF(2, [[1], [2]]), branch="hamming-ball", progress=False)
    assert result.status == "SAT" and "not called" in result.oracle


def test_unknown_oracle_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown oracle 'nope' for aattc; choose one of: .*exact"):
        solve_via_attention(CNF(1, [[1]]), oracle="nope")


def test_progress_goes_to_stderr_when_asked(capsys):
    solve_via_attention(CNF(2, [[1, 2]]), branch="attention", progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "forward:" in captured.err and "oracle exact" in captured.err and "backward" in captured.err


CHAINS_FROM_SAT = [
    "sat-aattc",
    "sat-aattc-direct",
    "sat-aattc-maxip",
    "sat-aattc-gentle",
    "sat-selfattn",
    "sat-selfattn-l2",
]


@pytest.mark.parametrize("name", CHAINS_FROM_SAT)
@settings(max_examples=40)
@given(formula=cnf_formulas(max_vars=6, max_clauses=8))
def test_every_registered_chain_from_sat_agrees_with_pysat(name, formula):
    from reductions.registry import get_reduction

    result = solve_via_attention(formula, chain=get_reduction(name), progress=False)
    assert result.status == ("SAT" if solve_sat(formula) is not None else "UNSAT")
    if result.assignment is not None:
        assert formula.is_satisfied_by(result.assignment)


def test_json_gives_numbers_as_numbers_with_exact_strings_beside():
    import json

    result = solve_via_attention(CNF(4, [[1, -2], [2, 3], [-3, 4]]), branch="attention", progress=False)
    data = json.loads(json.dumps(result.as_dict(), allow_nan=False))
    gapann = next(stage for stage in data["stages"] if stage["name"] == "ov-gapann")["sizes"]
    assert gapann["t"] == 4 and isinstance(gapann["t"], int)
    assert isinstance(gapann["eps"], float) and gapann["eps_exact"] == "1/4"
    assert gapann["eps"] == pytest.approx(0.25)

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if not key.endswith("_exact") and key not in ("name", "source", "target", "status", "oracle"):
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            assert not value.replace(".", "").replace("/", "").replace("-", "").isdigit(), f"number as string: {value}"

    walk(data)


def test_float32_is_not_chosen_for_entries_it_cannot_hold() -> None:
    """The float32 bound may fit the margin while float32 cannot hold the entries: the exact
    oracle then stays in float64 and the stage says why."""
    from types import SimpleNamespace

    from instances.attention import AttentionInstance
    from reductions.pipeline import _choose_precision
    from solvers.attention.exact import ExactAttention

    target = AttentionInstance([[1e38, 1.0]], [[0.0, 1.0], [0.0, -1.0]], [[1.0], [0.0]], 1e38)
    record = SimpleNamespace(target=target, reduction=SimpleNamespace(tolerates=lambda *_: True))
    chosen, info = _choose_precision(ExactAttention(), record, by_name=True)
    assert chosen.dtype == "float64" and info["precision"] == "float64"
    assert "'Q' entries up to 1e+38 do not fit float32" in info["precision_reason"]
    assert abs(float(chosen(target).values[0, 0]) - 0.7310585786300049) < 1e-12  # float64 answers
