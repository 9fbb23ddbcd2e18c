"""Attention instances, outputs and the random generator."""

from __future__ import annotations

import math

import attrs
import numpy as np
import pytest

from instances.attention import AttentionInstance, AttentionOutput, random_attention
from instances.errors import InvalidInstanceError


def small(**changes: object) -> AttentionInstance:
    fields = {"query": [[0.5, -1.0]], "key": [[1.0, 0.0], [0.0, 1.0]], "value": [[1.0], [0.0]], "bound": 1.0}
    fields.update(changes)
    return AttentionInstance(**fields)  # type: ignore[arg-type]


# -- construction and validation --------------------------------------------------------------


def test_empty_query_set_is_allowed() -> None:
    inst = AttentionInstance(np.zeros((0, 3)), np.zeros((2, 3)), np.zeros((2, 1)), 0.0)
    assert inst.parameters() == {"n": 0, "n_keys": 2, "d": 3, "B": 0.0}
    assert inst.score_bound == 0.0


def test_rectangular_instance() -> None:
    inst = random_attention(3, 2, 1.0, num_keys=5, value_columns=4, seed=0)
    assert (inst.n, inst.m, inst.d, inst.value_columns) == (3, 5, 2, 4)
    assert inst.parameters() == {"n": 3, "n_keys": 5, "d": 2, "B": 1.0}


def test_arrays_are_read_only_float64_copies() -> None:
    query = np.array([[0.5, -1.0]])
    inst = small(query=query)
    query[0, 0] = 0.25
    assert inst.query[0, 0] == 0.5
    assert inst.query.dtype == np.float64
    for array in (inst.query, inst.key, inst.value):
        assert not array.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        inst.query[0, 0] = 1.0


def test_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        small().bound = 2.0  # type: ignore[misc]


def test_equality_compares_arrays_and_hash_ignores_them() -> None:
    assert small() == small()
    assert small() != small(value=[[1.0], [0.5]])
    assert hash(small()) == hash(small())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"query": [[0.5, float("nan")]]}, r"'Q' entry \(0, 1\) is nan; entries must be finite"),
        ({"key": [[1.0, 0.0], [float("inf"), 1.0]]}, r"'K' entry \(1, 0\) is inf; entries must be finite"),
        ({"value": [[1.0], [-float("inf")]]}, r"'V' entry \(1, 0\) is -inf; entries must be finite"),
        ({"query": [[0.5, -1.5]]}, r"'Q' entry \(0, 1\) is -1.5, above the bound B = 1.0"),
        ({"key": [[1.0, 0.0], [0.0, 1.25]]}, r"'K' entry \(1, 1\) is 1.25, above the bound B = 1.0"),
        ({"value": [[1.0], [2.0]]}, r"'V' entry \(1, 0\) is 2.0, above the bound B = 1.0"),
        ({"key": [[1.0], [0.0]]}, r"'K' must have d = 2 columns like 'Q' \(got shape \(2, 1\)\)"),
        ({"value": [[1.0]]}, r"'V' must have m = 2 rows like 'K' \(got shape \(1, 1\)\)"),
        ({"query": [1.0, 2.0]}, r"'Q' must be a 2-dimensional matrix"),
        ({"value": np.zeros((2, 0))}, r"'V' must have at least one column"),
        ({"key": np.zeros((0, 2)), "value": np.zeros((0, 1))}, r"'K' must have at least one row"),
        ({"query": np.zeros((1, 0)), "key": np.zeros((2, 0))}, r"'Q' must have at least one column"),
    ],
)
def test_invalid_instances_name_the_position(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInstanceError, match=message):
        small(**changes)


def test_bound_must_be_finite_and_nonnegative() -> None:
    with pytest.raises(ValueError, match="'bound' must be >= 0"):
        small(bound=-1.0)
    with pytest.raises(ValueError, match="'bound' must be finite"):
        small(bound=math.inf)


def test_from_arrays_infers_the_bound() -> None:
    inst = AttentionInstance.from_arrays([[0.5, -3.0]], [[1.0, 0.0]], [[2.5]])
    assert inst.bound == 3.0


def test_derived_properties() -> None:
    inst = AttentionInstance([[1.0, -2.0]], [[0.5, 1.0], [-1.0, 0.0]], [[1.0], [-0.5]], 2.0)
    assert inst.score_bound == pytest.approx((1.0 * 1.0 + 2.0 * 1.0) / 2)
    assert inst.value_norm == 1.0
    assert not inst.nonnegative_values
    assert inst.problem == "aattc"
    assert "n=1" in repr(inst)


# -- generator -------------------------------------------------------------------------------


def test_same_seed_gives_equal_instance() -> None:
    first = random_attention(7, 3, 2.0, num_keys=4, value_columns=2, seed=11)
    assert first == random_attention(7, 3, 2.0, num_keys=4, value_columns=2, seed=11)
    assert first != random_attention(7, 3, 2.0, num_keys=4, value_columns=2, seed=12)


def test_generator_seed_accepts_a_numpy_generator() -> None:
    a = random_attention(3, 2, 1.0, seed=np.random.default_rng(5))
    b = random_attention(3, 2, 1.0, seed=np.random.default_rng(5))
    assert a == b


def test_generator_respects_bound_and_sign() -> None:
    inst = random_attention(50, 4, 0.25, nonnegative_values=True, seed=3)
    for array in (inst.query, inst.key, inst.value):
        assert np.abs(array).max() <= 0.25
    assert inst.value.min() >= 0
    assert inst.nonnegative_values


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n": -1}, ValueError, "'n' must be >= 0"),
        ({"d": 0}, ValueError, "'d' must be >= 1"),
        ({"bound": -0.5}, ValueError, "'bound' must be >= 0"),
        ({"num_keys": 0}, ValueError, "'num_keys' must be >= 1"),
        ({"value_columns": 0}, ValueError, "'value_columns' must be >= 1"),
        ({"n": True}, TypeError, "'n' must be an int"),
        ({"seed": 1.5}, TypeError, "'seed' must be an int"),
        ({"nonnegative_values": 1}, TypeError, "'nonnegative_values' must be a bool"),
    ],
)
def test_generator_argument_errors(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    arguments: dict[str, object] = {"n": 3, "d": 2, "bound": 1.0}
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        random_attention(**arguments)  # type: ignore[arg-type]


def test_generator_with_no_queries() -> None:
    inst = random_attention(0, 2, 1.0, seed=0)
    assert (inst.n, inst.m) == (0, 1)


# -- outputs ---------------------------------------------------------------------------------


def test_output_needs_a_form() -> None:
    with pytest.raises(InvalidInstanceError, match="needs 'values' or 'log_values'"):
        AttentionOutput(oracle="x")


def test_output_shapes_must_agree() -> None:
    with pytest.raises(InvalidInstanceError, match="'values' has shape"):
        AttentionOutput(values=[[1.0, 2.0]], log_values=[[0.0]], oracle="x")


def test_output_rows_must_match() -> None:
    with pytest.raises(InvalidInstanceError, match="'rows' names 2 queries for 1 output rows"):
        AttentionOutput(values=[[1.0]], rows=[0, 1], oracle="x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": [[np.inf]]}, r"'values' entry \(0, 0\) is inf; entries must be finite"),
        ({"values": [[-np.inf]]}, r"'values' entry \(0, 0\) is -inf; entries must be finite"),
        ({"log_values": [[np.nan]]}, r"'log_values' entry \(0, 0\) is nan; entries must be finite or -inf"),
        ({"log_values": [[0.0, np.inf]]}, r"'log_values' entry \(0, 1\) is inf"),
    ],
)
def test_output_rejects_nan_and_inf(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInstanceError, match=message):
        AttentionOutput(oracle="x", **kwargs)  # type: ignore[arg-type]


def test_output_error_bounds_validated() -> None:
    with pytest.raises(ValueError, match="'rel_error' must be >= 0 or inf"):
        AttentionOutput(values=[[1.0]], rel_error=-1.0)
    with pytest.raises(TypeError, match="'abs_error' must be a real number"):
        AttentionOutput(values=[[1.0]], abs_error="small")  # type: ignore[arg-type]


def test_output_row_and_log_column() -> None:
    out = AttentionOutput(log_values=[[-1650.0, 0.0], [-np.inf, -1.0]], rel_error=1e-12, abs_error=1e-12, oracle="x")
    assert out.shape == (2, 2)
    np.testing.assert_array_equal(out.log_column(0), [-1650.0, -np.inf])
    np.testing.assert_allclose(out.row(1), [0.0, math.exp(-1.0)])
    np.testing.assert_array_equal(out.row(-1), out.row(1))
    with pytest.raises(ValueError, match="'i' must be <= 1"):
        out.row(2)
    plain = AttentionOutput(values=[[0.5, 0.0]], oracle="x")
    np.testing.assert_allclose(plain.log_column(0), [math.log(0.5)])
    np.testing.assert_array_equal(plain.log_column(1), [-np.inf])


def test_output_arrays_are_read_only() -> None:
    out = AttentionOutput(values=[[0.5]], log_values=[[math.log(0.5)]], rows=[3], oracle="x")
    assert not out.values.flags.writeable  # type: ignore[union-attr]
    assert not out.log_values.flags.writeable  # type: ignore[union-attr]
    assert out.rows.tolist() == [3]  # type: ignore[union-attr]


@pytest.mark.parametrize(("rows", "d"), [(1, 3), (1100, 512), (5000, 7)])
def test_bounds_computed_by_slices_match_whole_matrix_formulas(rows: int, d: int) -> None:
    """key_column_max and score_bound go a slice of rows at a time (1100 x 512 is two slices)."""
    rng = np.random.default_rng(rows + d)
    inst = AttentionInstance(rng.normal(size=(rows, d)), rng.normal(size=(rows, d)), np.ones((rows, 1)), 10.0)
    np.testing.assert_array_equal(inst.key_column_max, np.max(np.abs(inst.key), axis=0))
    whole = float(np.max(np.abs(inst.query) @ np.max(np.abs(inst.key), axis=0)) / d)
    assert inst.score_bound == pytest.approx(whole, rel=1e-13)
    assert float(np.max(np.abs(inst.query @ inst.key.T))) / d <= inst.score_bound * (1 + 1e-13)
