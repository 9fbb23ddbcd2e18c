"""Max-IP instances, generators and the reference solvers."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from instances import InvalidInstanceError, NotAWitnessError
from instances.maxip import InnerProductPair, MaxIPInstance, planted_maxip, random_maxip
from solvers.maxip import brute_force_maxip, decide_maxip, max_inner_product, maxip_pairs


@st.composite
def maxip_instances(draw, max_rows=6, max_dimension=6, max_entry=4):
    n_a = draw(st.integers(0, max_rows))
    n_b = draw(st.integers(0, max_rows))
    d = draw(st.integers(0, max_dimension))
    low = -draw(st.integers(0, max_entry))
    high = draw(st.integers(0, max_entry))
    entries = st.integers(low, max(low, high))
    a = np.array(draw(st.lists(st.lists(entries, min_size=d, max_size=d), min_size=n_a, max_size=n_a)), dtype=np.int64)
    b = np.array(draw(st.lists(st.lists(entries, min_size=d, max_size=d), min_size=n_b, max_size=n_b)), dtype=np.int64)
    threshold = draw(st.integers(-d * max_entry**2 - 1, d * max_entry**2 + 1))
    return MaxIPInstance(a.reshape(n_a, d), b.reshape(n_b, d), threshold)


def _naive_pairs(instance):
    return [
        InnerProductPair(i, j)
        for i, j in itertools.product(range(instance.a.shape[0]), range(instance.b.shape[0]))
        if int(sum(int(x) * int(y) for x, y in zip(instance.a[i], instance.b[j], strict=False))) >= instance.threshold
    ]


# -- instances -----------------------------------------------------------------------------


def test_empty_sides_and_zero_dimension():
    empty = MaxIPInstance(np.zeros((0, 3), dtype=int), np.zeros((2, 3), dtype=int), 0)
    assert empty.parameters() == {"n_a": 0, "n_b": 2, "d": 3, "tau": 0, "W": 1}
    flat = MaxIPInstance(np.zeros((2, 0), dtype=int), np.zeros((1, 0), dtype=int), 0)
    assert brute_force_maxip(flat) == InnerProductPair(0, 0)
    assert brute_force_maxip(MaxIPInstance(np.zeros((2, 0), dtype=int), np.zeros((1, 0), dtype=int), 1)) is None


def test_entries_must_be_integers():
    with pytest.raises(InvalidInstanceError, match=r"'b' must hold integers: entry \(0, 1\) is 1.5"):
        MaxIPInstance([[1, 1]], [[1, 1.5]], 1)


def test_float_integers_are_accepted():
    assert MaxIPInstance([[1.0, -2.0]], [[3.0, 0.0]], 1).a.dtype == np.int64


def test_dimensions_must_match():
    with pytest.raises(InvalidInstanceError, match="same dimension"):
        MaxIPInstance([[1]], [[1, 0]], 0)


def test_threshold_must_be_an_int():
    with pytest.raises(TypeError, match="'threshold' must be an int"):
        MaxIPInstance([[1]], [[1]], 1.5)


def test_threshold_rejects_bool():
    with pytest.raises(TypeError, match="'threshold' must be an int"):
        MaxIPInstance([[1]], [[1]], True)


def test_products_must_be_exact_in_float64():
    with pytest.raises(InvalidInstanceError, match=r"'d W\^2' must be <= 2\^53"):
        MaxIPInstance([[2**27, 0]], [[1, 1]], 0)


def test_matrices_are_read_only():
    inst = MaxIPInstance([[1, 0]], [[0, 1]], 0)
    with pytest.raises(ValueError, match="read-only"):
        inst.a[0, 0] = 5


def test_out_of_range_pair_is_not_a_witness():
    with pytest.raises(NotAWitnessError, match=r"pair \(0, 3\) is out of range"):
        MaxIPInstance([[1]], [[1]], 0).is_witness(InnerProductPair(0, 3))


def test_entry_bound_and_binary_flag():
    inst = MaxIPInstance([[0, -7]], [[1, 0]], 0)
    assert inst.entry_bound == 7 and not inst.is_binary
    assert MaxIPInstance([[0, 1]], [[1, 0]], 0).is_binary


# -- generators ----------------------------------------------------------------------------


def test_random_maxip_is_reproducible():
    assert random_maxip(4, 3, 5, 2, low=-3, high=3, seed=11) == random_maxip(4, 3, 5, 2, low=-3, high=3, seed=11)
    assert random_maxip(4, 3, 5, 2, seed=11) != random_maxip(4, 3, 5, 2, seed=12)


def test_random_maxip_rejects_an_empty_range():
    with pytest.raises(ValueError, match="'high' must be >= 'low' = 2 \\(got 1\\)"):
        random_maxip(2, 2, 2, 0, low=2, high=1)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 8), st.data(), st.integers(0, 2**32 - 1), st.booleans())
def test_planted_pair_reaches_the_threshold(num_a, num_b, dimension, data, seed, integer_entries):
    threshold = data.draw(st.integers(0, dimension))
    low, high = (-3, 3) if integer_entries else (0, 1)
    inst, pair = planted_maxip(num_a, num_b, dimension, threshold, low=low, high=high, seed=seed)
    assert inst.inner_product(pair) == threshold
    assert decide_maxip(inst)
    assert inst == planted_maxip(num_a, num_b, dimension, threshold, low=low, high=high, seed=seed)[0]


def test_planting_needs_zero_and_one_in_range():
    with pytest.raises(ValueError, match="planting needs"):
        planted_maxip(2, 2, 3, 1, low=2, high=5)


# -- solvers -------------------------------------------------------------------------------


@given(maxip_instances(), st.integers(1, 4))
def test_solvers_agree_with_a_naive_double_loop(instance, block_rows):
    naive = _naive_pairs(instance)
    assert brute_force_maxip(instance, block_rows=block_rows) == (naive[0] if naive else None)
    assert maxip_pairs(instance, block_rows=block_rows) == naive
    assert maxip_pairs(instance, limit=2) == naive[:2]
    assert decide_maxip(instance) == bool(naive)


@given(maxip_instances())
def test_max_inner_product_is_the_largest(instance):
    best = max_inner_product(instance, block_rows=2)
    if instance.a.shape[0] == 0 or instance.b.shape[0] == 0:
        assert best is None
        return
    products = instance.a @ instance.b.T
    assert best[0] == int(products.max())
    assert instance.inner_product(best[1]) == best[0]


def test_large_entries_in_small_dimension_are_exact():
    big = 2**25
    inst = MaxIPInstance([[big, -big], [big, big - 1]], [[big, big]], 2 * big * big - big)
    assert brute_force_maxip(inst) == InnerProductPair(1, 0)
    assert max_inner_product(inst) == (2 * big * big - big, InnerProductPair(1, 0))
