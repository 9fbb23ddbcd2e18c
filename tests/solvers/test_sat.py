"""Tests of the reference SAT solvers against the shared files, PySAT and each other."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import solvers.sat as sat_module
from instances import CNF, Assignment, SolverBudgetExceeded
from instances.dimacs import read_dimacs
from instances.generators import pigeonhole, planted_ksat, random_ksat
from solvers.sat import DEFAULT_BACKEND, SAT_BACKENDS, brute_force_sat, is_satisfiable, solve_sat
from tests.strategies import cnf_formulas

DATA = Path(__file__).parents[1] / "data" / "cnf"

with (DATA / "EXPECTED.tsv").open(newline="", encoding="utf-8") as _handle:
    EXPECTED = list(csv.DictReader(_handle, delimiter="\t"))

BACKENDS = sorted(SAT_BACKENDS)

EDGE_CASES = [
    pytest.param(CNF(0, []), True, id="no-variables-no-clauses"),
    pytest.param(CNF(0, [[]]), False, id="no-variables-empty-clause"),
    pytest.param(CNF(3, []), True, id="no-clauses"),
    pytest.param(CNF(3, [[1], []]), False, id="empty-clause"),
    pytest.param(CNF(2, [[1, -1]]), True, id="tautology"),
    pytest.param(CNF(2, [[2, 2, 2], [-2, -2]]), False, id="duplicate-literals"),
    pytest.param(CNF(9, [[2]]), True, id="unused-variables"),
    pytest.param(CNF(2, [[1, 2], [1, -2], [-1, 2], [-1, -2]]), False, id="all-four-clauses"),
]


def _first_satisfying(formula: CNF) -> Assignment | None:
    """The first satisfying assignment in counting order (x1 the lowest bit), by plain enumeration."""
    for value in range(2**formula.num_vars):
        values = [(value >> index) & 1 == 1 for index in range(formula.num_vars)]
        if all(any(values[abs(lit) - 1] == (lit > 0) for lit in clause) for clause in formula.clauses):
            return Assignment(values)
    return None


def _check(formula: CNF, answer: Assignment | None, satisfiable: bool) -> None:
    assert (answer is not None) == satisfiable
    if answer is not None:
        assert answer.num_vars == formula.num_vars
        assert formula.is_satisfied_by(answer)


# -- the shared files ----------------------------------------------------------------


@pytest.mark.parametrize("row", EXPECTED, ids=[row["path"] for row in EXPECTED])
def test_files_status_with_the_default_backend(row: dict[str, str]) -> None:
    formula = read_dimacs(DATA / row["path"]).formula
    _check(formula, solve_sat(formula), row["expected"] == "SAT")
    assert is_satisfiable(formula) == (row["expected"] == "SAT")


@pytest.mark.parametrize(
    "row",
    [row for row in EXPECTED if max(int(row["max_variable"]), int(row["header_variables"].replace("NA", "0"))) <= 22],
    ids=lambda row: row["path"],
)
def test_files_status_by_brute_force(row: dict[str, str]) -> None:
    formula = read_dimacs(DATA / row["path"]).formula
    _check(formula, brute_force_sat(formula), row["expected"] == "SAT")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("row", EXPECTED, ids=[row["path"] for row in EXPECTED])
def test_files_status_with_every_backend(row: dict[str, str], backend: str) -> None:
    formula = read_dimacs(DATA / row["path"]).formula
    _check(formula, solve_sat(formula, backend=backend), row["expected"] == "SAT")


# -- edge cases ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("formula", "satisfiable"), EDGE_CASES)
def test_edge_cases_with_every_backend(formula: CNF, satisfiable: bool, backend: str) -> None:
    _check(formula, solve_sat(formula, backend=backend), satisfiable)


@pytest.mark.parametrize(("formula", "satisfiable"), EDGE_CASES)
def test_edge_cases_by_brute_force(formula: CNF, satisfiable: bool) -> None:
    _check(formula, brute_force_sat(formula), satisfiable)


def test_unused_variables_are_false() -> None:
    assert solve_sat(CNF(5, [[2]])) == Assignment((False, True, False, False, False))


# -- brute force against enumeration and PySAT -----------------------------------------


@settings(max_examples=2000)
@given(cnf_formulas(max_vars=8, max_clauses=12))
@example(CNF(0, []))
@example(CNF(0, [[]]))
@example(CNF(1, [[1, -1]]))
def test_brute_force_agrees_with_pysat(formula: CNF) -> None:
    answer = brute_force_sat(formula)
    _check(formula, answer, solve_sat(formula) is not None)


@given(cnf_formulas(max_vars=8, max_clauses=12))
def test_brute_force_returns_the_first_assignment_in_counting_order(formula: CNF) -> None:
    assert brute_force_sat(formula) == _first_satisfying(formula)


@given(cnf_formulas(max_vars=9, max_clauses=10), st.integers(0, 3), st.integers(0, 7))
def test_brute_force_with_tiny_blocks_and_chunks(formula: CNF, low_bits: int, scratch: int) -> None:
    # Shrink the block and scratch sizes so that several blocks, clause chunks and
    # AND groups are exercised on small formulas.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sat_module, "_MAX_LOW_BITS", low_bits)
        patch.setattr(sat_module, "_SCRATCH_BYTES", scratch)
        patch.setattr(sat_module, "_AND_GROUP", 2)
        answer = brute_force_sat(formula)
    assert answer == _first_satisfying(formula)


@settings(max_examples=200)
@given(cnf_formulas(min_vars=17, max_vars=20, max_clauses=8, max_width=3))
def test_brute_force_above_one_block_agrees_with_pysat(formula: CNF) -> None:
    _check(formula, brute_force_sat(formula), solve_sat(formula) is not None)


@pytest.mark.parametrize("seed", range(10))
def test_brute_force_on_random_3sat_near_the_threshold(seed: int) -> None:
    formula = random_ksat(16, ratio=4.26, seed=seed)
    _check(formula, brute_force_sat(formula), solve_sat(formula) is not None)


def test_brute_force_on_22_variables() -> None:
    formula, _ = planted_ksat(22, 95, seed=1)
    _check(formula, brute_force_sat(formula), True)
    unsat = CNF(22, [*formula.clauses, [22], [-22]])
    _check(unsat, brute_force_sat(unsat), False)


def test_brute_force_last_assignment_in_counting_order() -> None:
    formula = CNF(20, [[v] for v in range(1, 21)])
    assert brute_force_sat(formula) == Assignment((True,) * 20)


def test_brute_force_refuses_above_max_vars() -> None:
    with pytest.raises(
        SolverBudgetExceeded, match=r"^brute force over 23 variables \(2\^23 assignments\) exceeds 'max_vars' = 22$"
    ):
        brute_force_sat(CNF(23, [[1]]))


def test_brute_force_max_vars_is_inclusive() -> None:
    assert brute_force_sat(CNF(3, [[3]]), max_vars=3) == Assignment((False, False, True))
    with pytest.raises(SolverBudgetExceeded, match=r"exceeds 'max_vars' = 2"):
        brute_force_sat(CNF(3, [[3]]), max_vars=2)


@pytest.mark.parametrize(
    ("max_vars", "error", "message"),
    [
        (-1, ValueError, r"'max_vars' must be >= 0 \(got -1\)"),
        (64, ValueError, r"'max_vars' must be <= 63 \(got 64\)"),
        (True, TypeError, r"'max_vars' must be an int"),
    ],
)
def test_brute_force_rejects_bad_max_vars(max_vars: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        brute_force_sat(CNF(1, [[1]]), max_vars=max_vars)  # type: ignore[arg-type]


@pytest.mark.parametrize("solver", [brute_force_sat, solve_sat])
def test_solvers_reject_non_formulas(solver: object) -> None:
    with pytest.raises(TypeError, match=r"'cnf' must be a CNF \(got list\)"):
        solver([[1]])  # type: ignore[operator]


# -- back ends -------------------------------------------------------------------------


def test_backends_registry() -> None:
    assert DEFAULT_BACKEND in SAT_BACKENDS
    assert {"cadical195", "minisat22", "glucose4"} <= set(SAT_BACKENDS)
    assert all(isinstance(description, str) and description for description in SAT_BACKENDS.values())
    with pytest.raises(TypeError):
        SAT_BACKENDS["mine"] = "x"  # type: ignore[index]


@pytest.mark.parametrize("backend", ["nope", "CADICAL195", "cd19", "", None])
def test_unknown_backend_lists_the_valid_names(backend: object) -> None:
    with pytest.raises(ValueError, match=r"unknown SAT backend .*; valid names: cadical103, .*minisat22"):
        solve_sat(CNF(1, [[1]]), backend=backend)  # type: ignore[arg-type]


def test_unknown_backend_is_rejected_even_for_trivial_formulas() -> None:
    with pytest.raises(ValueError, match=r"unknown SAT backend 'nope'"):
        is_satisfiable(CNF(0, []), backend="nope")


@settings(max_examples=300)
@given(cnf_formulas(max_vars=6, max_clauses=10), st.sampled_from(BACKENDS))
def test_backends_agree_with_brute_force(formula: CNF, backend: str) -> None:
    _check(formula, solve_sat(formula, backend=backend), brute_force_sat(formula) is not None)


@pytest.mark.parametrize(("pigeons", "holes"), list(itertools.product(range(1, 4), range(1, 4))))
def test_is_satisfiable_on_pigeonholes(pigeons: int, holes: int) -> None:
    assert is_satisfiable(pigeonhole(pigeons, holes)) == (pigeons <= holes)
