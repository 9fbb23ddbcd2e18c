"""Integer matrix multiplication -> AAttC: the product read back exactly, against numpy's product."""

import math

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from instances.attention import AttentionOutput
from instances.errors import (
    InvalidInstanceError,
    NotAWitnessError,
    OracleContradiction,
    OracleRefusal,
    SolverBudgetExceeded,
)
from instances.matmul import MatMulInstance, MatrixProduct
from reductions.catalog.matmul_aattc import MatMulToAttention, product_readout
from reductions.problems import get_problem
from reductions.registry import get_reduction
from reductions.testing import assert_reduction_sound
from reductions.verify import verify_reduction
from solvers.attention.exact import ExactAttention

EXACT = ExactAttention()
# bounds at, just below and just past powers of two, where w = 2^ceil(log2 W) changes
SPECIAL_BOUNDS = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 255, 256, 257, 1023, 1024, 1025, 4096]


@st.composite
def matmul_instances(draw, max_rows=6, max_dimension=6):
    n_a, n_b = draw(st.integers(0, max_rows)), draw(st.integers(0, max_rows))
    d = draw(st.integers(0, max_dimension))
    bound = draw(st.one_of(st.sampled_from(SPECIAL_BOUNDS), st.integers(1, 2000)))
    entries = st.one_of(st.integers(-bound, bound), st.sampled_from([bound, -bound, 0]))
    a = np.array(draw(st.lists(st.lists(entries, min_size=d, max_size=d), min_size=n_a, max_size=n_a)), dtype=np.int64)
    b = np.array(draw(st.lists(st.lists(entries, min_size=n_b, max_size=n_b), min_size=d, max_size=d)), dtype=np.int64)
    a, b = a.reshape(n_a, d), b.reshape(d, n_b)
    if n_a and draw(st.booleans()):
        a[draw(st.integers(0, n_a - 1))] = 0  # a zero row of A
    if n_b and draw(st.booleans()):
        b[:, draw(st.integers(0, n_b - 1))] = 0  # a zero column of B
    return MatMulInstance(a, b, bound=bound)


def numpy_product(instance):
    return instance.a @ instance.b  # int64: |entries| <= d W^2 <= 6 * 4096^2 here


@settings(max_examples=150, deadline=None)
@given(matmul_instances())
def test_read_back_from_log_outputs_equals_numpys_product(instance):
    reduced = MatMulToAttention().forward(instance)
    read = reduced.backward(EXACT(reduced.target, log_space=True))
    assert isinstance(read, MatrixProduct)
    assert np.array_equal(read.entries, numpy_product(instance))


@settings(max_examples=100, deadline=None)
@given(matmul_instances())
def test_read_back_from_plain_outputs_equals_numpys_product(instance):
    reduced = MatMulToAttention().forward(instance)
    assert np.array_equal(reduced.backward(EXACT(reduced.target)).entries, numpy_product(instance))


@settings(max_examples=60, deadline=None)
@given(matmul_instances())
def test_contract_checks_pass_and_the_target_has_bounded_entries(instance):
    assert_reduction_sound(MatMulToAttention(), instance)
    target = MatMulToAttention().forward(instance).target
    assert target.bound == 1.0
    for matrix in (target.query, target.key, target.value):
        assert np.abs(matrix).max(initial=0.0) <= 1.0


def test_the_stored_instance_is_exactly_the_intended_one():
    """Dividing by w = 2^ceil(log2 W) is exact: scores are P / S with no rounding in the instance."""
    instance = MatMulInstance([[5, -3, 0]], [[1, -5], [2, 2], [5, 0]], bound=5)
    target = MatMulToAttention().forward(instance).target
    w, d = 8, 3
    assert np.array_equal(target.query[:, :d] * w, instance.a) and np.all(target.query[:, d] == 0)
    assert np.array_equal(target.key[:2, :d] * w, instance.b.T) and np.all(target.key[2] == 0)
    assert np.array_equal(target.value, np.eye(3))


def exact_logs(instance):
    """``log T`` of the construction, from the product itself (float64 logaddexp; S is small here)."""
    readout = product_readout(*instance.shape, dimension=instance.dimension, entry_bound=instance.entry_bound)
    scores = np.hstack([numpy_product(instance) / readout.scale, np.zeros((instance.shape[0], 1))])
    return readout, scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)


def test_the_margin_is_enough_and_nearly_tight():
    """Errors of 0.99 of the tolerated size in the worst direction still read exactly; 1.05 of it do not."""
    instance = MatMulInstance([[7, -7, 3], [0, 7, 7]], [[7, -7, 1], [7, 7, 0], [-7, 2, 7]], bound=7)
    readout, logs = exact_logs(instance)
    product = numpy_product(instance)
    for factor, exact in ((0.99, True), (1.05, False)):
        rho = factor * readout.tolerated_rel_error
        worst = logs.copy()
        worst[:, :-1] += math.log1p(rho)  # every real entry up, the dummy down: the read moves by 2 rho S
        worst[:, -1] += math.log1p(-rho)
        raw = np.rint((worst[:, :-1] - worst[:, -1:]) * readout.scale)
        assert np.array_equal(raw, product) == exact
        answer = AttentionOutput(log_values=worst, rel_error=rho, oracle="adversary")
        if exact:
            assert np.array_equal(readout.read(answer), product)
        else:
            with pytest.raises(OracleRefusal, match="relative error below"):
                readout.read(answer)


def test_an_absolute_guarantee_counts_through_the_smallest_output():
    instance = MatMulInstance([[1, -1]], [[1, 0], [0, 1]], bound=1)
    readout, logs = exact_logs(instance)
    product = numpy_product(instance)
    epsilon = 0.9 * readout.tolerated_abs_error
    values = np.exp(logs)
    values[:, :-1] += epsilon
    values[:, -1] -= epsilon
    assert np.array_equal(readout.read(AttentionOutput(values=values, abs_error=epsilon, oracle="x")), product)
    with pytest.raises(OracleRefusal, match=r"needs absolute error below"):
        readout.read(AttentionOutput(values=values, abs_error=1.01 * readout.tolerated_abs_error, oracle="x"))


def test_a_low_precision_oracle_is_refused_in_one_line():
    instance = MatMulInstance([[1000, -3, 2]], [[999], [1], [-1000]], bound=1000)
    reduced = MatMulToAttention().forward(instance)
    answer = ExactAttention(dtype="float32")(reduced.target, log_space=True)
    with pytest.raises(OracleRefusal) as caught:
        reduced.backward(answer)
    message = str(caught.value)
    assert "\n" not in message and "'exact" in message and "reading the product exactly needs" in message
    # the same instance in float64 reads exactly
    assert np.array_equal(reduced.backward(EXACT(reduced.target, log_space=True)).entries, numpy_product(instance))


def test_outputs_the_guarantee_rules_out_are_contradictions():
    instance = MatMulInstance([[1, 2]], [[1], [1]])
    reduced = MatMulToAttention().forward(instance)
    with pytest.raises(OracleContradiction, match=r"output entry \(0, 1\) = 0.0"):
        reduced.backward(AttentionOutput(values=[[1.0, 0.0]], rel_error=1e-12, oracle="liar"))
    with pytest.raises(OracleContradiction, match=r"log value -inf"):
        reduced.backward(AttentionOutput(log_values=[[0.0, -np.inf]], rel_error=1e-12, oracle="liar"))
    with pytest.raises(OracleContradiction, match=r"read product entry \(0, 0\) as \d+, beyond d W\^2 = 8"):
        reduced.backward(AttentionOutput(values=[[0.9, 0.1]], rel_error=1e-12, oracle="liar"))


def test_answers_of_the_wrong_shape_or_rows_are_not_witnesses():
    reduced = MatMulToAttention().forward(MatMulInstance([[1], [2]], [[1, 1]]))
    full = EXACT(reduced.target)
    with pytest.raises(NotAWitnessError, match=r"rows \[1, 0\]"):
        reduced.backward(EXACT(reduced.target, rows=[1, 0]))
    with pytest.raises(NotAWitnessError, match=r"shape \(2, 2\); the read-back needs \(2, 3\)"):
        reduced.backward(AttentionOutput(values=full.values[:, :2], rel_error=1e-12, oracle="x"))
    with pytest.raises(TypeError, match="must be an AttentionOutput"):
        reduced.backward(full.values)


def test_products_beyond_float64s_read_back_are_refused_before_building():
    instance = MatMulInstance(np.full((1, 1024), 2**20), np.ones((1024, 1), dtype=np.int64))
    with pytest.raises(InvalidInstanceError, match=r"float64 cannot do that exactly"):
        MatMulToAttention().forward(instance)


def test_the_size_limit_is_checked_before_allocating():
    wide = MatMulInstance(np.zeros((1, 0), dtype=np.int64), np.zeros((0, 10**6), dtype=np.int64))
    assert MatMulToAttention().predicted_bytes(wide) == 8 * (1 + (10**6 + 1) + (10**6 + 1) ** 2)
    with pytest.raises(SolverBudgetExceeded, match=r"V of 1000001\^2 entries\); the limit is 1073741824"):
        MatMulToAttention().forward(wide)
    with pytest.raises(SolverBudgetExceeded, match="the limit is 100"):
        MatMulToAttention(max_bytes=100).forward(MatMulInstance([[1, 2]], [[1], [2]]))


@given(matmul_instances())
def test_the_parameter_map_gives_the_target_sizes(instance):
    mapping = MatMulToAttention().parameters()
    assert mapping.evaluate(instance.parameters()) == MatMulToAttention().forward(instance).target.parameters()


def test_the_parameter_map_is_symbolic_in_the_matmul_sizes():
    n_a, n_b, d = sympy.symbols("n_a n_b d", positive=True)
    outputs = MatMulToAttention().parameters().outputs
    assert outputs == {"n": n_a, "n_keys": n_b + 1, "d": d + 1, "B": 1}


def test_registered_with_its_problem_and_verified():
    assert get_reduction("matmul-aattc") == MatMulToAttention()
    assert get_problem("matmul").parameters == ("n_a", "n_b", "d", "W")
    report = verify_reduction(get_reduction("matmul-aattc"), trials=200, seed=5)
    assert report.passed, report.summary()


def test_the_problem_check_names_the_wrong_entry():
    problem = get_problem("matmul")
    instance = MatMulInstance([[1, 2]], [[3], [4]])
    reference = problem.solve(instance)
    assert problem.check(instance, MatrixProduct([[11]]), reference) is None
    assert problem.check(instance, MatrixProduct([[12]]), reference) == "product entry (0, 0) is 12, A B has 11"
    assert (
        problem.check(instance, MatrixProduct([[11, 0]]), reference) == "product has shape (1, 2), A B has shape (1, 1)"
    )
    assert problem.check(instance, [[11]], reference) == "answer is a list, not a MatrixProduct"
