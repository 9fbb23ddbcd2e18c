"""k-SAT -> OV against PySAT on many random formulas, and its certificates."""

from itertools import product

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from instances import CNF, InvalidInstanceError, NotAWitnessError, OrthogonalPair
from reductions.catalog.sat_ov import SatToOV, clause_vectors
from reductions.testing import assert_reduction_sound
from solvers.ov import brute_force_ov, orthogonal_pairs
from solvers.sat import solve_sat
from tests.strategies import cnf_formulas


@settings(max_examples=2000)
@given(cnf_formulas(max_vars=9, max_clauses=14))
@example(CNF(0, []))
@example(CNF(0, [()]))
@example(CNF(1, [(1, -1)]))
@example(CNF(3, [(), (1, 2)]))
def test_answer_agrees_with_pysat_and_every_pair_maps_to_a_model(formula):
    reduced = SatToOV().forward(formula)
    pairs = orthogonal_pairs(reduced.target)
    satisfiable = solve_sat(formula) is not None
    assert bool(pairs) == satisfiable
    for pair in pairs:
        assert formula.is_satisfied_by(reduced.backward(pair))
    assert reduced.backward(brute_force_ov(reduced.target)) is None or satisfiable


@given(cnf_formulas(min_vars=1, max_vars=7, max_clauses=8), st.data())
def test_any_split_works(formula, data):
    split = data.draw(st.integers(0, formula.num_vars))
    reduced = SatToOV(split=split).forward(formula)
    assert reduced.target.parameters() == {
        "n_a": 2**split,
        "n_b": 2 ** (formula.num_vars - split),
        "d": formula.num_clauses,
    }
    assert_reduction_sound(SatToOV(split=split), formula)


def test_vectors_match_the_definition_by_loops():
    formula = CNF(4, [(1, -3), (2,), (-1, -2, 4), (3, -3), ()])
    a = clause_vectors(formula, range(1, 3))
    for alpha, (_x1, _x2) in enumerate(product([0, 1], repeat=2)):
        values = {1: bool(alpha & 1), 2: bool(alpha >> 1 & 1)}
        for c, clause in enumerate(formula.clauses):
            satisfied = any(abs(l) in values and values[abs(l)] == (l > 0) for l in clause)
            assert a[alpha, c] == (0 if satisfied else 1)


def test_empty_clause_is_a_coordinate_of_ones_and_tautology_of_zeros():
    reduced = SatToOV().forward(CNF(2, [(), (1, -1)]))
    assert np.all(reduced.target.a[:, 0] == 1) and np.all(reduced.target.b[:, 0] == 1)
    # the tautology's variable lies in the first half, whose every assignment satisfies it
    assert np.all(reduced.target.a[:, 1] == 0)
    assert np.all(reduced.target.a[:, 1:] @ reduced.target.b[:, 1:].T == 0)


def test_odd_variable_count_gives_unequal_sides():
    assert SatToOV().forward(CNF(5, [(1, 5)])).target.parameters() == {"n_a": 8, "n_b": 4, "d": 1}


def test_backward_rejects_a_pair_that_is_not_orthogonal():
    formula = CNF(2, [(1,), (2,)])
    reduced = SatToOV().forward(formula)
    with pytest.raises(NotAWitnessError, match="not orthogonal"):
        reduced.backward(OrthogonalPair(0, 0))


def test_backward_rejects_out_of_range_pair():
    reduced = SatToOV().forward(CNF(2, [(1,)]))
    with pytest.raises(NotAWitnessError, match="out of range"):
        reduced.backward(OrthogonalPair(2, 0))


def test_backward_of_none_is_unsat():
    assert SatToOV().forward(CNF(1, [(1,), (-1,)])).backward(None) is None


def test_split_above_variable_count_is_refused():
    with pytest.raises(InvalidInstanceError, match="'split' = 3 exceeds the formula's 2 variables"):
        SatToOV(split=3).forward(CNF(2, []))


def test_forward_rejects_other_problems():
    from instances.errors import IncompatibleReductionError
    from instances.vectors import OVInstance

    with pytest.raises(IncompatibleReductionError, match="sat-ov reduces 'sat' instances"):
        SatToOV().forward(OVInstance([[1]], [[1]]))


def test_thirty_variables_builds_two_sets_of_32768():
    from instances.generators import random_ksat

    reduced = SatToOV().forward(random_ksat(30, 128, seed=1))
    assert reduced.target.a.shape == (32768, 128) and reduced.target.b.shape == (32768, 128)
    assert reduced.backward(None) is None
    model = solve_sat(random_ksat(30, 128, seed=1))
    if model is not None:  # the model's halves index an orthogonal pair
        bits = np.array(model.values, dtype=np.int64)
        i = int((bits[:15] << np.arange(15)).sum())
        j = int((bits[15:] << np.arange(15)).sum())
        assert reduced.target.is_orthogonal_pair(OrthogonalPair(i, j))
        assert reduced.backward(OrthogonalPair(i, j)) == model
