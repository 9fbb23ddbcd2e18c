"""Tests of any-temperature attention: the stated error bound against exact attention, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from instances.attention import AttentionInstance, random_attention
from instances.errors import OracleRefusal
from solvers.attention.anytemp.oracle import AnyTemperatureAttention
from solvers.attention.exact import ExactAttention
from solvers.attention.oracle import AttentionOracle

BOUNDS = [1.0, 3.0, 10.0, 100.0, 1e3, 1e4]


def test_follows_the_oracle_protocol() -> None:
    oracle = AnyTemperatureAttention()
    assert isinstance(oracle, AttentionOracle)
    assert oracle.name == "anytemp"


@pytest.mark.parametrize("dimension", [1, 2, 3])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    m=st.integers(1, 200),
    bound=st.sampled_from(BOUNDS),
    nonnegative=st.booleans(),
)
@example(seed=0, n=1, m=1, bound=1e4, nonnegative=False)
@settings(max_examples=30, deadline=None)
def test_stated_error_holds(dimension: int, seed: int, n: int, m: int, bound: float, nonnegative: bool) -> None:
    inst = random_attention(n, dimension, bound, num_keys=m, nonnegative_values=nonnegative, seed=seed)
    oracle = AnyTemperatureAttention(leaf_size=4)  # small leaves: polynomials are used even at small m
    out = oracle(inst)
    reference = ExactAttention()(inst)
    assert out.values is not None and reference.values is not None
    assert np.all(np.isfinite(out.values))
    error = float(np.max(np.abs(out.values - reference.values)))
    assert error <= out.abs_error + reference.abs_error
    assert out.abs_error == oracle.guarantee(inst).abs_error


@pytest.mark.parametrize(("dimension", "degree", "radius"), [(1, 24, 10.0), (2, 20, 8.0), (3, 12, 6.0)])
@given(seed=st.integers(0, 2**32 - 1), bound=st.sampled_from(BOUNDS))
@settings(max_examples=10, deadline=None)
def test_stated_error_holds_with_wide_nodes(
    dimension: int, degree: int, radius: float, seed: int, bound: float
) -> None:
    # wide nodes and high degrees: the rounding bound of the monomial form is what is tested
    inst = random_attention(40, dimension, bound, num_keys=1500, seed=seed)
    oracle = AnyTemperatureAttention(degree=degree, max_radius=radius, leaf_size=8)
    out = oracle(inst)
    reference = ExactAttention()(inst)
    assert out.values is not None and reference.values is not None
    error = float(np.max(np.abs(out.values - reference.values)))
    assert error <= out.abs_error + reference.abs_error
    assert out.abs_error <= 2e-6 * inst.value_norm


@pytest.mark.parametrize("dimension", [1, 2, 3])
@pytest.mark.parametrize("bound", BOUNDS)
def test_stated_error_holds_with_many_keys(dimension: int, bound: float) -> None:
    inst = random_attention(64, dimension, bound, num_keys=3000, seed=int(bound) + dimension)
    out = AnyTemperatureAttention()(inst)
    reference = ExactAttention()(inst)
    assert out.values is not None and reference.values is not None
    error = float(np.max(np.abs(out.values - reference.values)))
    assert error <= out.abs_error + reference.abs_error
    assert out.abs_error <= 1e-6 * inst.value_norm


@pytest.mark.parametrize("eps", [1e-3, 1e-9])
def test_eps_sets_the_guarantee(eps: float) -> None:
    inst = random_attention(50, 2, 5.0, num_keys=500, seed=4)
    out = AnyTemperatureAttention(eps=eps)(inst)
    reference = ExactAttention()(inst)
    assert out.values is not None and reference.values is not None
    assert out.abs_error <= eps * inst.value_norm
    assert float(np.max(np.abs(out.values - reference.values))) <= out.abs_error + reference.abs_error


def test_bruteforce_structure_agrees() -> None:
    inst = random_attention(40, 2, 20.0, num_keys=300, seed=5)
    tree = AnyTemperatureAttention()(inst)
    brute = AnyTemperatureAttention(structure="bruteforce")(inst)
    assert tree.values is not None and brute.values is not None
    assert float(np.max(np.abs(tree.values - brute.values))) <= tree.abs_error + brute.abs_error


def test_rows_answer_a_subset_in_order() -> None:
    inst = random_attention(30, 1, 50.0, seed=6)
    full = AnyTemperatureAttention()(inst)
    part = AnyTemperatureAttention()(inst, rows=[7, 2])
    assert full.values is not None and part.values is not None
    assert part.rows is not None and part.rows.tolist() == [7, 2]
    assert np.allclose(part.values, full.values[[7, 2]], rtol=0, atol=2 * full.abs_error)


def test_no_queries() -> None:
    inst = AttentionInstance(np.zeros((0, 2)), [[1.0, 0.0]], [[1.0]], 1.0)
    assert AnyTemperatureAttention()(inst).shape == (0, 1)


def test_identical_keys_and_zero_values() -> None:
    inst = AttentionInstance([[100.0], [-100.0]], [[3.0]] * 10, [[0.0]] * 10, 100.0)
    out = AnyTemperatureAttention()(inst)
    assert out.values is not None and out.values.tolist() == [[0.0], [0.0]]
    assert out.abs_error == 0.0


@pytest.mark.parametrize("bound", [1.0, 100.0, 1e4])
def test_log_space_relative_error(bound: float) -> None:
    inst = random_attention(40, 2, bound, num_keys=400, nonnegative_values=True, seed=8)
    out = AnyTemperatureAttention()(inst, log_space=True)
    reference = ExactAttention()(inst, log_space=True)
    assert out.log_values is not None and reference.log_values is not None
    assert not np.any(np.isnan(out.log_values))
    finite = np.isfinite(reference.log_values)
    assert np.array_equal(finite, np.isfinite(out.log_values))
    gap = np.abs(out.log_values[finite] - reference.log_values[finite])
    assert np.max(gap) <= -math.log1p(-out.rel_error) + -math.log1p(-reference.rel_error)


def test_log_space_recomputes_tiny_entries_exactly() -> None:
    # the second column is about e^-3000 of the first: far below the absolute bound
    inst = AttentionInstance([[100.0]], [[30.0], [0.0]], [[1.0, 0.0], [0.0, 1.0]], 100.0)
    out = AnyTemperatureAttention()(inst, log_space=True)
    assert out.log_values is not None
    assert out.log_values[0, 0] == pytest.approx(0.0, abs=1e-12)
    assert out.log_values[0, 1] == pytest.approx(-3000.0, rel=1e-12)


def test_log_space_needs_nonnegative_values() -> None:
    inst = AttentionInstance([[1.0]], [[1.0], [0.0]], [[1.0], [-0.5]], 1.0)
    with pytest.raises(ValueError, match=r"'V' entry \(1, 0\) is -0.5"):
        AnyTemperatureAttention()(inst, log_space=True)


def test_refuses_large_dimension_with_numbers() -> None:
    inst = random_attention(8, 4, 1.0, seed=0)
    with pytest.raises(OracleRefusal, match=r"refuses d = 4: above 'max_dimension' = 3 .*r = C\(d \+ g, g\) = \d+"):
        AnyTemperatureAttention()(inst)


def test_refuses_beyond_the_time_limit_with_numbers() -> None:
    inst = random_attention(64, 2, 1.0, seed=0)
    with pytest.raises(OracleRefusal, match=r"predicted [0-9.e-]+ s exceeds 'max_seconds' = 1e-09 s"):
        AnyTemperatureAttention(max_seconds=1e-9)(inst)


def test_refuses_beyond_the_memory_limit_with_numbers() -> None:
    inst = random_attention(64, 2, 1.0, seed=0)
    with pytest.raises(OracleRefusal, match=r"predicted peak memory .* exceeds 'max_bytes' = 10 B"):
        AnyTemperatureAttention(max_bytes=10)(inst)


def test_refuses_when_rounding_leaves_no_accuracy() -> None:
    inst = AttentionInstance([[1e9]], [[1e9], [0.0]], [[1.0], [0.0]], 1e9)
    with pytest.raises(OracleRefusal, match=r"score bound R = 1e\+18"):
        AnyTemperatureAttention(degree=0)(inst)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"eps": 0.0}, ValueError, r"'eps' must be a finite number > 0 \(got 0.0\)"),
        ({"eps": 2.0}, ValueError, r"'eps' must be < 1 \(got 2.0\)"),
        ({"eps": "small"}, TypeError, r"'eps' must be a real number \(got 'small'\)"),
        ({"degree": -1}, ValueError, r"'degree' must be >= 0 \(got -1\)"),
        ({"leaf_size": 0}, ValueError, r"'leaf_size' must be >= 1 \(got 0\)"),
        ({"structure": "octree"}, ValueError, r"'structure' must be in"),
    ],
)
def test_parameter_validation(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        AnyTemperatureAttention(**kwargs)  # type: ignore[arg-type]


def test_rows_out_of_range() -> None:
    inst = random_attention(5, 1, 1.0, seed=0)
    with pytest.raises(ValueError, match=r"'rows' entry 1 is 9, outside 0..4"):
        AnyTemperatureAttention()(inst, rows=[0, 9])


def test_guarantee_and_cost_are_known_before_running() -> None:
    inst = random_attention(2**12, 2, 100.0, seed=1)
    oracle = AnyTemperatureAttention()
    assert 0 < oracle.guarantee(inst).abs_error <= 1e-6 * inst.value_norm
    cost = oracle.cost(inst)
    assert cost.seconds > 0 and cost.peak_bytes > 0


@pytest.mark.slow
@pytest.mark.parametrize("dimension", [1, 2, 3])
def test_larger_instances_against_sampled_exact_rows(dimension: int) -> None:
    inst = random_attention(2**14, dimension, 30.0, seed=dimension)
    oracle = AnyTemperatureAttention()
    out = oracle(inst)
    rows = ExactAttention().sample_rows(inst, 64, seed=0)
    reference = ExactAttention()(inst, rows=rows)
    assert out.values is not None and reference.values is not None
    assert float(np.max(np.abs(out.values[rows] - reference.values))) <= out.abs_error + reference.abs_error
