"""Tests of the CNF generators: shapes, determinism, distributions, argument checks."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from instances import CNF, Assignment
from instances.dimacs import read_dimacs
from instances.generators import pigeonhole, planted_ksat, random_ksat
from solvers.sat import brute_force_sat, solve_sat

DATA = Path(__file__).parents[1] / "data" / "cnf"


def _assert_width_k_clauses(formula: CNF, k: int) -> None:
    for clause in formula.clauses:
        assert len(clause) == k
        assert len({abs(literal) for literal in clause}) == k
        assert all(1 <= abs(literal) <= formula.num_vars for literal in clause)


# -- random_ksat ---------------------------------------------------------------------


@given(
    num_vars=st.integers(1, 30),
    num_clauses=st.integers(0, 60),
    k=st.integers(1, 6),
    seed=st.integers(0, 2**32),
)
def test_random_ksat_shape(num_vars: int, num_clauses: int, k: int, seed: int) -> None:
    k = min(k, num_vars)
    formula = random_ksat(num_vars, num_clauses, k, seed=seed)
    assert (formula.num_vars, formula.num_clauses) == (num_vars, num_clauses)
    _assert_width_k_clauses(formula, k)


def test_random_ksat_same_seed_same_formula() -> None:
    assert random_ksat(20, 91, seed=5) == random_ksat(20, 91, seed=5)
    assert random_ksat(20, 91, seed=5) != random_ksat(20, 91, seed=6)


def test_random_ksat_accepts_a_generator() -> None:
    first = random_ksat(10, 5, seed=np.random.default_rng(1))
    assert first == random_ksat(10, 5, seed=1)
    rng = np.random.default_rng(1)
    assert random_ksat(10, 5, seed=rng) != random_ksat(10, 5, seed=rng)


@pytest.mark.parametrize(("num_vars", "ratio", "expected"), [(20, 4.55, 91), (20, 4.26, 85), (7, 0.5, 4), (5, 0, 0)])
def test_random_ksat_ratio(num_vars: int, ratio: float, expected: int) -> None:
    assert random_ksat(num_vars, ratio=ratio, seed=0).num_clauses == expected == round(ratio * num_vars)


def test_random_ksat_when_k_equals_num_vars_uses_every_variable() -> None:
    formula = random_ksat(4, 50, k=4, seed=2)
    assert all(sorted(map(abs, clause)) == [1, 2, 3, 4] for clause in formula.clauses)


def test_random_ksat_subsets_positions_and_signs_are_uniform() -> None:
    num_vars, k, num_clauses = 5, 3, 30_000
    formula = random_ksat(num_vars, num_clauses, k, seed=11)
    subsets = Counter(frozenset(map(abs, clause)) for clause in formula.clauses)
    assert len(subsets) == math.comb(num_vars, k)
    expected = num_clauses / math.comb(num_vars, k)
    assert all(abs(count - expected) < 5 * math.sqrt(expected) for count in subsets.values())
    first = Counter(abs(clause[0]) for clause in formula.clauses)
    assert all(abs(count - num_clauses / num_vars) < 5 * math.sqrt(num_clauses / num_vars) for count in first.values())
    negative = sum(literal < 0 for clause in formula.clauses for literal in clause)
    total = num_clauses * k
    assert abs(negative - total / 2) < 5 * math.sqrt(total / 4)


def test_random_ksat_large_and_sparse() -> None:
    formula = random_ksat(100_000, 1_000, k=5, seed=3)
    _assert_width_k_clauses(formula, 5)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"num_vars": 2, "num_clauses": 5}, ValueError, r"'k' = 3 must be <= 'num_vars' = 2"),
        ({"num_vars": 0, "num_clauses": 0}, ValueError, r"'k' = 3 must be <= 'num_vars' = 0"),
        ({"num_vars": 5}, ValueError, r"exactly one of 'num_clauses' and 'ratio' must be given \(got neither\)"),
        ({"num_vars": 5, "num_clauses": 3, "ratio": 1.0}, ValueError, r"\(got both\)"),
        ({"num_vars": 5, "num_clauses": -1}, ValueError, r"'num_clauses' must be >= 0 \(got -1\)"),
        ({"num_vars": 5, "num_clauses": 3, "k": 0}, ValueError, r"'k' must be >= 1 \(got 0\)"),
        ({"num_vars": -1, "num_clauses": 3}, ValueError, r"'num_vars' must be >= 0 \(got -1\)"),
        ({"num_vars": 5, "ratio": -0.5}, ValueError, r"'ratio' must be >= 0 \(got -0.5\)"),
        ({"num_vars": 5, "ratio": float("nan")}, ValueError, r"'ratio' must be finite"),
        ({"num_vars": 5.0, "num_clauses": 3}, TypeError, r"'num_vars' must be an int"),
        ({"num_vars": True, "num_clauses": 3}, TypeError, r"'num_vars' must be an int"),
        ({"num_vars": 5, "num_clauses": 3, "seed": "x"}, TypeError, r"'seed' must be an int"),
    ],
)
def test_random_ksat_rejects_bad_arguments(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        random_ksat(**kwargs)  # type: ignore[arg-type]


# -- planted_ksat --------------------------------------------------------------------


@given(
    num_vars=st.integers(1, 25),
    num_clauses=st.integers(0, 80),
    k=st.integers(1, 5),
    seed=st.integers(0, 2**32),
)
def test_planted_formula_is_satisfied_by_its_assignment(num_vars: int, num_clauses: int, k: int, seed: int) -> None:
    k = min(k, num_vars)
    formula, planted = planted_ksat(num_vars, num_clauses, k, seed=seed)
    assert isinstance(planted, Assignment)
    assert (formula.num_vars, formula.num_clauses, planted.num_vars) == (num_vars, num_clauses, num_vars)
    _assert_width_k_clauses(formula, k)
    assert formula.is_satisfied_by(planted)


def test_planted_same_seed_same_output() -> None:
    assert planted_ksat(20, 80, seed=9) == planted_ksat(20, 80, seed=9)
    assert planted_ksat(20, 80, seed=9) != planted_ksat(20, 80, seed=10)


def test_planted_at_high_ratio_is_satisfiable_per_the_solvers() -> None:
    formula, _ = planted_ksat(20, 200, seed=4)
    assignment = brute_force_sat(formula)
    assert assignment is not None and formula.is_satisfied_by(assignment)
    assert solve_sat(formula) is not None


def test_planted_clauses_are_uniform_among_satisfied_ones() -> None:
    num_vars, k, num_clauses = 6, 3, 35_000
    formula, planted = planted_ksat(num_vars, num_clauses, k, seed=8)
    # The number of true literals j has probability C(k, j) / (2^k - 1), j = 1..k.
    true_counts = Counter(
        sum((literal > 0) == planted.values[abs(literal) - 1] for literal in clause) for clause in formula.clauses
    )
    assert 0 not in true_counts
    for true, count in true_counts.items():
        expected = num_clauses * math.comb(k, true) / (2**k - 1)
        assert abs(count - expected) < 5 * math.sqrt(expected)
    subsets = Counter(frozenset(map(abs, clause)) for clause in formula.clauses)
    expected = num_clauses / math.comb(num_vars, k)
    assert len(subsets) == math.comb(num_vars, k)
    assert all(abs(count - expected) < 5 * math.sqrt(expected) for count in subsets.values())


def test_planted_unit_clauses_agree_with_the_assignment() -> None:
    formula, planted = planted_ksat(10, 40, k=1, seed=0)
    assert all((clause[0] > 0) == planted.values[abs(clause[0]) - 1] for clause in formula.clauses)


def test_planted_with_no_clauses() -> None:
    formula, planted = planted_ksat(4, 0, seed=0)
    assert formula == CNF(4, []) and planted.num_vars == 4


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((2, 5), ValueError, r"'k' = 3 must be <= 'num_vars' = 2"),
        ((5, -2), ValueError, r"'num_clauses' must be >= 0 \(got -2\)"),
        ((5, 2, 0), ValueError, r"'k' must be >= 1 \(got 0\)"),
        ((5, 2.0), TypeError, r"'num_clauses' must be an int"),
    ],
)
def test_planted_rejects_bad_arguments(args: tuple[object, ...], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        planted_ksat(*args)  # type: ignore[arg-type]


# -- pigeonhole ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "pigeons", "holes"),
    [("unsat/hole1.cnf", 2, 1), ("parser_quirks/hole4.no-p-line.cnf", 5, 4), ("unsat/hole5.cnf", 6, 5)],
)
def test_pigeonhole_matches_the_classic_files(path: str, pigeons: int, holes: int) -> None:
    assert pigeonhole(pigeons, holes) == read_dimacs(DATA / path).formula


@pytest.mark.parametrize(("pigeons", "holes"), list(itertools.product(range(5), range(5))))
def test_pigeonhole_shape_and_status(pigeons: int, holes: int) -> None:
    formula = pigeonhole(pigeons, holes)
    assert formula.num_vars == pigeons * holes
    assert formula.num_clauses == holes * math.comb(pigeons, 2) + pigeons
    assignment = brute_force_sat(formula)
    assert (assignment is not None) == (pigeons <= holes)
    if assignment is not None:
        assert formula.is_satisfied_by(assignment)
    assert (solve_sat(formula) is not None) == (pigeons <= holes)


def test_pigeonhole_variable_numbering() -> None:
    # Pigeon p in hole h is variable (p - 1) * holes + h: pigeon 2's clause in PHP(3, 4).
    assert pigeonhole(3, 4).clauses[-2] == (5, 6, 7, 8)


def test_pigeonhole_without_holes_has_empty_clauses() -> None:
    assert pigeonhole(2, 0) == CNF(0, [[], []])


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((-1, 2), ValueError, r"'pigeons' must be >= 0 \(got -1\)"),
        ((2, -3), ValueError, r"'holes' must be >= 0 \(got -3\)"),
        ((2, "3"), TypeError, r"'holes' must be an int"),
    ],
)
def test_pigeonhole_rejects_bad_arguments(args: tuple[object, ...], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        pigeonhole(*args)  # type: ignore[arg-type]
