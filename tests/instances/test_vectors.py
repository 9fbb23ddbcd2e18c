from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from instances import InvalidInstanceError, NeighborDecisions, NotAWitnessError, OrthogonalPair
from instances.vectors import (
    GapANNInstance,
    OVInstance,
    hamming_distances,
    planted_gap_ann,
    planted_ov,
    random_gap_ann,
    random_ov,
)


def test_ov_sides_may_differ_in_size():
    ov = OVInstance(np.zeros((3, 4)), np.ones((5, 4)))
    assert ov.parameters() == {"n_a": 3, "n_b": 5, "d": 4}


def test_ov_arrays_are_read_only_copies():
    a = np.array([[0, 1]], dtype=np.uint8)
    ov = OVInstance(a, a)
    a[0, 0] = 1
    assert ov.a[0, 0] == 0
    with pytest.raises(ValueError):
        ov.a[0, 0] = 1


def test_ov_rejects_non_binary_entry_with_position():
    with pytest.raises(InvalidInstanceError, match=r"'b' must be binary: entry \(1, 0\) is 3"):
        OVInstance([[0]], [[1], [3]])


def test_ov_rejects_ragged_rows():
    with pytest.raises(InvalidInstanceError, match="'a' must be"):
        OVInstance([[0, 1], [1]], [[0, 1]])


def test_ov_equality_is_by_value():
    assert OVInstance([[1, 0]], [[0, 1]]) == OVInstance(np.array([[1, 0]]), np.array([[0, 1]]))
    assert OVInstance([[1, 0]], [[0, 1]]) != OVInstance([[1, 0]], [[1, 1]])


def test_ov_pair_out_of_range_raises():
    with pytest.raises(NotAWitnessError, match="out of range"):
        OVInstance([[1]], [[0]]).is_orthogonal_pair(OrthogonalPair(1, 0))


def test_gap_ann_rejects_non_positive_threshold():
    with pytest.raises(InvalidInstanceError, match="'threshold' must be > 0"):
        GapANNInstance([[0]], [[1]], 0, 1)


def test_gap_ann_keeps_threshold_exact():
    g = GapANNInstance([[0, 1]], [[1, 1]], Fraction(3, 2), Fraction(1, 3))
    assert g.far_distance == Fraction(2)


def test_gap_ann_validity_allows_either_answer_inside_the_gap():
    # nearest distance 2, t = 2 (not close), (1+eps) t = 3 (not far): either answer is valid
    g = GapANNInstance([[0, 0]], [[1, 1]], 2, Fraction(1, 2))
    assert g.is_valid_answer(NeighborDecisions((True,)))
    assert g.is_valid_answer(NeighborDecisions((False,)))


def test_gap_ann_wrong_number_of_decisions_raises():
    with pytest.raises(NotAWitnessError, match="2 decisions for 1 queries"):
        GapANNInstance([[0]], [[1]], 1, 1).is_valid_answer(NeighborDecisions((True, False)))


@given(st.integers(0, 6), st.integers(0, 6), st.integers(0, 9), st.integers(0, 2**32 - 1))
def test_hamming_distances_match_a_direct_count(num_a, num_b, d, seed):
    ov = random_ov(num_a, num_b, d, seed=seed)
    direct = np.array([[int(np.sum(x != y)) for y in ov.b] for x in ov.a]).reshape(num_a, num_b)
    assert np.array_equal(hamming_distances(ov.a, ov.b).reshape(num_a, num_b), direct)


@given(st.integers(1, 8), st.integers(1, 8), st.integers(0, 12), st.integers(0, 2**32 - 1))
def test_planted_ov_contains_its_pair(num_a, num_b, d, seed):
    ov, pair = planted_ov(num_a, num_b, d, seed=seed)
    assert ov.is_orthogonal_pair(pair)


@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 12), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_planted_gap_ann_point_is_close(num_a, num_b, d, t, seed):
    g, pair = planted_gap_ann(num_a, num_b, d, t, Fraction(1, 2), seed=seed)
    assert int(np.sum(g.a[pair.i] != g.b[pair.j])) < t


def test_generators_are_deterministic():
    assert random_ov(4, 3, 5, seed=7) == random_ov(4, 3, 5, seed=7)
    assert random_ov(4, 3, 5, seed=7) != random_ov(4, 3, 5, seed=8)
    assert random_gap_ann(3, 3, 4, 2, 1, seed=1) == random_gap_ann(3, 3, 4, 2, 1, seed=1)
    assert planted_ov(4, 3, 5, seed=7) == planted_ov(4, 3, 5, seed=7)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: random_ov(-1, 2, 3), "'num_a' must be >= 0"),
        (lambda: random_ov(1, 2, 3, density=1.5), "'density' must be <= 1"),
        (lambda: random_ov(1, 2, 3, seed=-4), "'seed' must be >= 0"),
    ],
)
def test_generator_arguments_are_checked(call, message):
    with pytest.raises(ValueError, match=message):
        call()
