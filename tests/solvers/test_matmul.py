"""The exact integer product, on every arithmetic path, against Python integers."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from instances.matmul import ENTRY_LIMIT, MatMulInstance
from solvers.matmul import integer_product, product_arithmetic


def python_product(instance):
    """Schoolbook product in Python integers: the independent reference."""
    a = [[int(x) for x in row] for row in instance.a.tolist()]
    b = [[int(x) for x in row] for row in instance.b.tolist()]
    n_a, n_b = instance.shape
    d = instance.dimension
    return [[sum(a[i][k] * b[k][j] for k in range(d)) for j in range(n_b)] for i in range(n_a)]


@st.composite
def factors(draw, max_entry):
    n_a, n_b, d = draw(st.integers(0, 4)), draw(st.integers(0, 4)), draw(st.integers(0, 5))
    bound = draw(st.integers(1, max_entry))
    entries = st.one_of(st.integers(-bound, bound), st.sampled_from([bound, -bound, 0]))
    a = draw(st.lists(st.lists(entries, min_size=d, max_size=d), min_size=n_a, max_size=n_a))
    b = draw(st.lists(st.lists(entries, min_size=n_b, max_size=n_b), min_size=d, max_size=d))
    return MatMulInstance(np.array(a, dtype=np.int64).reshape(n_a, d), np.array(b, dtype=np.int64).reshape(d, n_b))


@given(st.one_of(factors(50), factors(2**26), factors(2**31), factors(ENTRY_LIMIT)))
def test_product_equals_the_python_integer_product(instance):
    product = integer_product(instance)
    assert product.shape == instance.shape
    assert [[int(x) for x in row] for row in product.entries.tolist()] == python_product(instance)


def test_each_arithmetic_is_chosen_from_d_w_squared():
    assert product_arithmetic(MatMulInstance([[2**26, 0]], [[1], [1]])) == "float64"  # 2 * 2^52 = 2^53
    assert product_arithmetic(MatMulInstance([[2**26, 0, 0]], [[1], [1], [1]])) == "int64"
    assert product_arithmetic(MatMulInstance([[2**31 - 1, 0]], [[1], [1]])) == "int64"
    assert product_arithmetic(MatMulInstance([[2**31, 0]], [[1], [1]])) == "python"  # 2 * 2^62 > 2^63 - 1


def test_int64_overflow_is_avoided_at_the_entry_limit():
    instance = MatMulInstance([[ENTRY_LIMIT, ENTRY_LIMIT]], [[ENTRY_LIMIT], [ENTRY_LIMIT]])
    assert integer_product(instance).entries[0, 0] == 2 * ENTRY_LIMIT**2


def test_float64_path_is_exact_at_its_limit():
    # 2^53 + 1 is not a float64; every partial sum below 2^53 is, so the product is exact
    instance = MatMulInstance([[2**26, 1]], [[2**26], [1]], bound=2**26)
    assert product_arithmetic(instance) == "float64"
    assert integer_product(instance).entries[0, 0] == 2**52 + 1


def test_the_solver_takes_only_matmul_instances():
    with pytest.raises(TypeError, match="must be a MatMulInstance"):
        integer_product([[1]])
