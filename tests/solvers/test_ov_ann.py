from fractions import Fraction
from itertools import product

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from instances import SolverBudgetExceeded
from instances.vectors import GapANNInstance, OVInstance, random_gap_ann, random_ov
from solvers.ann import brute_force_gap_ann, hamming_ball_cost, hamming_ball_gap_ann
from solvers.ov import brute_force_ov, count_orthogonal_pairs, orthogonal_pairs


def _pairs_by_loops(ov):
    return [(i, j) for i, j in product(range(ov.a.shape[0]), range(ov.b.shape[0])) if not np.any(ov.a[i] & ov.b[j])]


@given(st.integers(0, 7), st.integers(0, 7), st.integers(0, 8), st.floats(0.05, 0.9), st.integers(0, 2**32 - 1))
def test_ov_solvers_agree_with_python_loops(num_a, num_b, d, density, seed):
    ov = random_ov(num_a, num_b, d, density=density, seed=seed)
    expected = _pairs_by_loops(ov)
    found = brute_force_ov(ov, block_rows=3)
    assert (found is None) == (not expected)
    if found is not None:
        assert (found.i, found.j) == expected[0]
    assert [(p.i, p.j) for p in orthogonal_pairs(ov, block_rows=2)] == expected
    assert count_orthogonal_pairs(ov) == len(expected)


def test_ov_with_no_second_set_has_no_pair():
    assert brute_force_ov(OVInstance(np.ones((2, 3)), np.zeros((0, 3)))) is None


def test_ov_dimension_zero_everything_is_orthogonal():
    ov = OVInstance(np.zeros((2, 0)), np.zeros((3, 0)))
    assert count_orthogonal_pairs(ov) == 6


@given(
    st.integers(1, 6),
    st.integers(0, 6),
    st.integers(0, 8),
    st.fractions(Fraction(1, 2), Fraction(6)),
    st.integers(0, 2**32 - 1),
)
def test_hamming_ball_agrees_with_brute_force(num_a, num_b, d, threshold, seed):
    g = random_gap_ann(num_a, num_b, d, threshold, Fraction(1, 2), seed=seed)
    assert hamming_ball_gap_ann(g) == brute_force_gap_ann(g)


def test_brute_force_answer_is_valid_for_the_promise():
    g = random_gap_ann(6, 6, 10, 3, Fraction(1, 3), seed=3)
    assert g.is_valid_answer(brute_force_gap_ann(g))


def test_hamming_ball_refuses_above_budget_with_numbers():
    g = GapANNInstance(np.zeros((4, 20)), np.zeros((1, 20)), 5, 1)
    cost = hamming_ball_cost(g)
    assert cost == 4 * sum([1, 20, 190, 1140, 4845])
    with pytest.raises(SolverBudgetExceeded, match=f"would visit {cost} points, above the budget of 100"):
        hamming_ball_gap_ann(g, budget=100)
