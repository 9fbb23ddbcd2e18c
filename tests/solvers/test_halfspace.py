"""Tests of the halfspace range-sum structures: the kd-tree against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers.attention.anytemp.halfspace import (
    BruteForceHalfspace,
    ChebyshevTable,
    HalfspaceSums,
    KDTreeHalfspace,
    Monomials,
    monomial_count,
)


def _cloud(seed: int, m: int, d: int, c: int, spread: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-spread, spread, (m, d)), rng.uniform(-1, 1, (m, c))


@pytest.mark.parametrize("structure", [KDTreeHalfspace, BruteForceHalfspace])
def test_both_structures_follow_the_protocol(structure: type) -> None:
    points, values = _cloud(0, 20, 2, 1, 1.0)
    assert isinstance(structure.build(points, values, degree=1), HalfspaceSums)


@pytest.mark.parametrize("dimension", [1, 2, 3])
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 120), leaf=st.integers(1, 9), degree=st.integers(0, 3))
@settings(max_examples=40, deadline=None)
def test_kdtree_moments_agree_with_brute_force(dimension: int, seed: int, m: int, leaf: int, degree: int) -> None:
    points, values = _cloud(seed, m, dimension, 2, 3.0)
    tree = KDTreeHalfspace.build(points, values, degree=degree, leaf_size=leaf)
    brute = BruteForceHalfspace.build(points, values, degree=degree)
    rng = np.random.default_rng(seed + 1)
    normals = rng.normal(size=(6, dimension))
    offsets = rng.uniform(-4, 4, 6)
    centers = rng.uniform(-1, 1, (6, dimension))
    got = tree.halfspace_moments(normals, offsets, centers)
    want = brute.halfspace_moments(normals, offsets, centers)
    scale = brute.halfspace_moments(normals, np.full(6, -1e9), centers)  # every point: magnitude
    tolerance = 1e-12 * (np.abs(scale).max() + 1) * (m + 1)
    assert np.max(np.abs(got - want)) <= tolerance


def test_halfspace_through_a_point_counts_it_inside() -> None:
    points = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    tree = KDTreeHalfspace.build(points, np.ones(3), degree=0, leaf_size=1)
    assert tree.halfspace_moments([[1.0, 1.0]], [2.0]).tolist() == [[[2.0]]]


def test_duplicate_points_make_one_leaf() -> None:
    tree = KDTreeHalfspace.build(np.zeros((50, 2)), np.ones(50), degree=2, leaf_size=4)
    assert tree.node_count == 1
    assert tree.halfspace_moments([[1.0, 0.0]], [-1.0])[0, 0, 0] == 50.0


@pytest.mark.parametrize("dimension", [1, 2, 3])
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 300), spread=st.sampled_from([0.1, 1.0, 30.0, 1e4]))
@settings(max_examples=25, deadline=None)
def test_max_inner_product_is_exact(dimension: int, seed: int, m: int, spread: float) -> None:
    points, values = _cloud(seed, m, dimension, 1, spread)
    tree = KDTreeHalfspace.build(points, values, degree=0, leaf_size=5)
    queries = np.random.default_rng(seed + 7).normal(size=(9, dimension)) * spread
    want = (queries @ points.T).max(axis=1)
    got = tree.max_inner_product(queries)
    assert np.all(np.abs(got - want) <= 1e-13 * np.abs(queries) @ np.abs(points).max(axis=0))


@pytest.mark.parametrize("dimension", [1, 2, 3])
@given(seed=st.integers(0, 2**32 - 1), spread=st.sampled_from([0.3, 2.0, 5.0, 40.0]))
@settings(max_examples=20, deadline=None)
def test_exp_sums_within_the_per_point_tolerance(dimension: int, seed: int, spread: float) -> None:
    m = 400
    points, values = _cloud(seed, m, dimension, 2, spread)
    tree = KDTreeHalfspace.build(points, values, degree=8, leaf_size=8)
    brute = BruteForceHalfspace.build(points, values)
    queries = np.random.default_rng(seed + 3).uniform(-spread, spread, (30, dimension))
    shifts = tree.max_inner_product(queries)
    delta = 1e-10
    got, stats = tree.exp_sums(queries, shifts, math.log(delta))
    want, _ = brute.exp_sums(queries, shifts, math.log(delta))
    assert np.all(np.isfinite(got))
    assert np.max(np.abs(got - want)) <= m * delta + 1e-12 * np.abs(want).max()
    assert stats.visited >= queries.shape[0]


def test_monomial_translation_matches_direct_moments() -> None:
    mono = Monomials.of(2, 4)
    rng = np.random.default_rng(0)
    points, weights = rng.uniform(-1, 1, (40, 2)), rng.uniform(0, 1, (40, 1))
    centre, target = np.array([0.2, -0.1]), np.array([-0.3, 0.4])
    moments = mono.evaluate(points - centre) @ weights
    moved = mono.translate(moments[None], (centre - target)[None])[0]
    assert np.allclose(moved, mono.evaluate(points - target) @ weights, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("radius", [1e-3, 0.5, 2.0, 4.0])
def test_chebyshev_table_bound_holds_on_a_grid(radius: float) -> None:
    table = ChebyshevTable.of(4.0, 10)
    k = int(table.grid_index([radius])[0])
    rho0 = float(table.radii[k])
    assert rho0 >= radius
    t = np.linspace(-rho0, rho0, 2001)
    for h in range(11):
        coefficients = table.coefficients[k, h] / np.array([math.factorial(j) for j in range(11)])
        poly = np.polynomial.polynomial.polyval(t, coefficients)
        bound = math.exp(float(table.log_error[k, h]))
        assert np.max(np.abs(poly - np.exp(t))) <= bound + 1e-13 * math.exp(rho0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: KDTreeHalfspace.build(np.zeros((0, 2)), np.zeros((0, 1))),
            r"at least one point \(got shape \(0, 2\)\)",
        ),
        (lambda: KDTreeHalfspace.build(np.zeros((3, 2)), np.zeros((4, 1))), r"shape \(3, c\).*got shape \(4, 1\)"),
        (lambda: KDTreeHalfspace.build([[0.0, np.nan]], [[1.0]]), r"'points' entry \(0, 1\) is nan"),
        (lambda: KDTreeHalfspace.build([[0.0]], [[1.0]], leaf_size=0), r"'leaf_size' must be >= 1 \(got 0\)"),
        (lambda: monomial_count(2, -1), r"'degree' must be >= 0 \(got -1\)"),
    ],
)
def test_validation_messages_name_the_value(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_query_shape_is_checked() -> None:
    tree = KDTreeHalfspace.build(np.zeros((3, 2)), np.ones(3), degree=1)
    with pytest.raises(ValueError, match=r"'queries' must have shape \(h, 2\) \(got shape \(1, 3\)\)"):
        tree.max_inner_product(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"'log_tolerance' must be <= 0.0 \(got 1.0\)"):
        tree.exp_sums(np.zeros((1, 2)), np.zeros(1), 1.0)


@given(seed=st.integers(0, 2**32 - 1), dimension=st.integers(1, 3), leaf_size=st.sampled_from([1, 4, 16]))
@settings(max_examples=40, deadline=None)
def test_max_leaf_holds_the_maximum_and_bounds_the_row_sum(seed: int, dimension: int, leaf_size: int) -> None:
    rng = np.random.default_rng(seed)
    points = rng.integers(-3, 4, size=(int(rng.integers(1, 300)), dimension)).astype(float)  # ties included
    queries = rng.normal(size=(25, dimension)) * 3
    tree = KDTreeHalfspace.build(points, np.ones(points.shape[0]), degree=0, leaf_size=leaf_size)
    best, leaf = tree.max_inner_product(queries, with_leaf=True)
    scores = queries @ points.T
    assert np.allclose(best, scores.max(axis=1), rtol=1e-14, atol=1e-14)
    found = leaf >= 0
    for i in np.flatnonzero(found):
        assert tree.is_leaf[leaf[i]]
        members = tree.scaled_points[tree.start[leaf[i]] : tree.end[leaf[i]]] * tree.scale
        assert np.isclose((members @ queries[i]).max(), best[i], rtol=1e-14, atol=1e-14)
    sums = tree.leaf_exp_sums(queries, best, leaf)
    row_sums = np.exp(scores - best[:, None]).sum(axis=1)
    assert np.all(sums[~found] == 0)
    assert np.all(sums[found] >= 1 - 1e-12) and np.all(sums <= row_sums * (1 + 1e-12))


def test_exp_sums_take_one_tolerance_per_query() -> None:
    rng = np.random.default_rng(5)
    points, values = rng.uniform(-3, 3, (2000, 2)), rng.uniform(0, 1, (2000, 1))
    queries = rng.uniform(-3, 3, (30, 2))
    tree = KDTreeHalfspace.build(points, values, degree=10, leaf_size=16)
    shifts = tree.max_inner_product(queries)
    tolerance = rng.uniform(np.log(1e-14), np.log(1e-4), 30)
    approx, _ = tree.exp_sums(queries, shifts, tolerance)
    exact = np.exp(queries @ points.T - shifts[:, None]) @ values
    assert np.all(np.abs(approx - exact)[:, 0] <= 2000 * np.exp(tolerance) * (1 + 1e-9))
    with pytest.raises(ValueError, match="'log_tolerance' entry 0 is 0.5"):
        tree.exp_sums(queries, shifts, np.full(30, 0.5))
