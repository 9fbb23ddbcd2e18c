"""Integer matrix multiplication instances and their answers: validation and the stated bound."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from instances.errors import InvalidInstanceError
from instances.matmul import ENTRY_LIMIT, MatMulInstance, MatrixProduct


def test_parameters_and_the_default_bound():
    inst = MatMulInstance([[1, -7], [0, 3]], [[4, 0, 1], [1, 1, -1]])
    assert inst.parameters() == {"n_a": 2, "n_b": 3, "d": 2, "W": 7}
    assert inst.product_bound == 2 * 49
    assert MatMulInstance(np.zeros((2, 3), dtype=int), np.zeros((3, 1), dtype=int)).entry_bound == 1


def test_a_stated_bound_is_kept_and_enforced():
    inst = MatMulInstance([[1, 2]], [[3], [-3]], bound=10)
    assert inst.entry_bound == 10 and inst.parameters()["W"] == 10
    with pytest.raises(InvalidInstanceError, match=r"^'b' entry \(1, 0\) is -11, above the stated bound W = 10"):
        MatMulInstance([[1, 2]], [[3], [-11]], bound=10)


@pytest.mark.parametrize(
    ("a", "b", "bound", "message"),
    [
        ([[0.5]], [[1]], None, r"'a' must hold integers: entry \(0, 0\) is 0.5"),
        ([[1]], [[float("nan")]], None, r"'b' must hold integers: entry \(0, 0\) is nan"),
        ([[1, 2]], [[1, 2]], None, r"'a' has d = 2 columns but 'b' has 1 rows"),
        ([1, 2], [[1]], None, r"'a' must be a 2-dimensional matrix"),
        ([["x"]], [[1]], None, r"'a' must hold integers \(got dtype <U1\)"),
        ([[2**63]], [[1]], None, r"'a' entry \(0, 0\) is 9223372036854775808, beyond the limit 2\^62"),
        ([[1]], [[-(2**70)]], None, r"'b' entry \(0, 0\) is -1180591620717411303424, beyond the limit 2\^62"),
        ([[1]], [[1]], 0, r"'bound' must be in \[1, 2\^62\] \(got 0\)"),
        ([[1]], [[1]], 2**63, r"'bound' must be in \[1, 2\^62\]"),
    ],
)
def test_bad_input_gets_one_clear_line(a, b, bound, message):
    with pytest.raises(InvalidInstanceError, match=message):
        MatMulInstance(a, b, bound=bound)


def test_a_bound_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="'bound' must be an int or None"):
        MatMulInstance([[1]], [[1]], bound=2.0)
    with pytest.raises(TypeError, match="'bound' must be an int or None"):
        MatMulInstance([[1]], [[1]], bound=True)


def test_entries_at_the_limit_and_integral_floats_are_accepted():
    inst = MatMulInstance([[ENTRY_LIMIT, -ENTRY_LIMIT]], [[1], [1]])
    assert inst.entry_bound == ENTRY_LIMIT and inst.a.dtype == np.int64
    assert MatMulInstance([[2.0, -3.0]], [[1.0], [0.0]]).a.tolist() == [[2, -3]]


def test_matrices_are_read_only_copies():
    a = np.array([[1, 2]])
    inst = MatMulInstance(a, [[1], [1]])
    a[0, 0] = 9
    assert inst.a[0, 0] == 1
    with pytest.raises(ValueError, match="read-only"):
        inst.a[0, 0] = 5


@given(
    st.integers(0, 4).flatmap(
        lambda d: st.tuples(
            st.lists(st.lists(st.integers(-5, 5), min_size=d, max_size=d), min_size=1, max_size=4),
            st.lists(st.lists(st.integers(-5, 5), min_size=2, max_size=2), min_size=d, max_size=d),
        )
    )
)
def test_equal_inputs_give_equal_instances(factors):
    a, b = factors
    d = len(a[0])
    first = MatMulInstance(np.array(a).reshape(len(a), d), np.array(b, dtype=int).reshape(d, 2))
    second = MatMulInstance(np.array(a).reshape(len(a), d), np.array(b, dtype=int).reshape(d, 2))
    assert first == second
    assert first.entry_bound == max(1, max((abs(x) for row in a + b for x in row), default=0))


def test_products_hold_int64_or_python_integers():
    small = MatrixProduct([[1, -2]])
    big = MatrixProduct([[1, 2**64]])
    assert small.entries.dtype == np.int64 and big.entries.dtype == object
    assert big.entries[0, 1] == 2**64
    assert small.first_difference(MatrixProduct([[1, -2]])) is None
    assert MatrixProduct([[1, 2], [3, 4]]).first_difference(MatrixProduct([[1, 2], [3, 5]])) == (1, 1)
    with pytest.raises(ValueError, match=r"shapes \(1, 2\) and \(2, 1\)"):
        small.first_difference(MatrixProduct([[1], [2]]))
    assert MatrixProduct(np.zeros((0, 3), dtype=int)).shape == (0, 3)
