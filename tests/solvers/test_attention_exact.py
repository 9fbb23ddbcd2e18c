"""Exact attention against the mpmath reference, within the stated guarantee."""

from __future__ import annotations

import math
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from instances.attention import AttentionInstance, AttentionOutput, random_attention
from instances.errors import OracleRefusal
from solvers.attention import AttentionOracle, Cost, ExactAttention, Guarantee, mpmath_attention
from solvers.attention.exact import ERROR_CONSTANTS, warm_up
from solvers.attention.oracle import DEFAULT_MAX_BYTES, check_budget, machine_memory_bytes
from solvers.attention.reference import reference_precision
from tests.conftest import traced_peak
from tests.strategies import attention_instances

TINY = np.finfo(np.float64).tiny

# Bounds up to 200 give scores up to B^2 = 40000: far below temperature 1.
BOUNDS = [0.0, 0.1, 1.0, 3.0, 30.0, 200.0]
TILES = [(256, 2048), (2, 3), (1, 1), (3, 2)]


def instances(nonnegative: bool | None = None) -> st.SearchStrategy[AttentionInstance]:
    return attention_instances(tuple(BOUNDS), nonnegative, max_rows=6, max_dimension=5)


def oracles() -> st.SearchStrategy[ExactAttention]:
    return st.builds(
        lambda dtype, tile, workers: ExactAttention(
            dtype=dtype, query_block=tile[0], key_block=tile[1], workers=workers
        ),
        st.sampled_from(["float64", "float32"]),
        st.sampled_from(TILES),
        st.sampled_from([1, 2]),
    )


def assert_within_guarantee(out: AttentionOutput, ref: AttentionOutput, inst: AttentionInstance) -> None:
    """``out`` within its stated abs (and, for V >= 0, rel) error of the reference."""
    assert out.values is not None and ref.values is not None
    assert np.all(np.isfinite(out.values))
    error = np.abs(out.values - ref.values)
    allowed = out.abs_error + ref.abs_error
    assert np.all(error <= allowed), (float(error.max()), allowed)
    if inst.nonnegative_values:
        normal = np.abs(ref.values) >= TINY
        relative = error[normal] / np.abs(ref.values[normal])
        assert np.all(relative <= out.rel_error + ref.rel_error), (float(relative.max()), out.rel_error)
        exact_zero = ref.log_values == -np.inf  # type: ignore[operator]
        assert np.all(out.values[exact_zero] == 0)


def assert_log_within_guarantee(out: AttentionOutput, ref: AttentionOutput) -> None:
    assert out.log_values is not None and ref.log_values is not None
    assert not np.any(np.isnan(out.log_values)) and not np.any(out.log_values == np.inf)
    zero = ref.log_values == -np.inf
    np.testing.assert_array_equal(out.log_values == -np.inf, zero)
    error = np.abs(out.log_values[~zero] - ref.log_values[~zero])
    allowed = -math.log1p(-out.rel_error) + -math.log1p(-ref.rel_error)
    assert np.all(error <= allowed), (float(error.max()) if error.size else 0.0, allowed)


# -- against the reference ---------------------------------------------------------------------


@given(instances(), oracles())
def test_matches_reference_within_guarantee(inst: AttentionInstance, oracle: ExactAttention) -> None:
    out = oracle(inst)
    assert out.oracle == oracle.name
    guarantee = oracle.guarantee(inst)
    assert (out.abs_error, out.rel_error) == (guarantee.abs_error, guarantee.rel_error)
    assert_within_guarantee(out, mpmath_attention(inst), inst)


@given(instances(nonnegative=True), oracles())
def test_log_space_matches_reference_log(inst: AttentionInstance, oracle: ExactAttention) -> None:
    out = oracle(inst, log_space=True)
    assert out.values is None
    assert_log_within_guarantee(out, mpmath_attention(inst))


@given(instances(nonnegative=False))
def test_mixed_sign_values_only_absolute(inst: AttentionInstance) -> None:
    guarantee = ExactAttention().guarantee(inst)
    if not inst.nonnegative_values:
        assert guarantee.rel_error == math.inf
    assert math.isfinite(guarantee.abs_error)


@pytest.mark.parametrize("tile", TILES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_low_temperature_scores_of_ten_thousand(dtype: str, tile: tuple[int, int]) -> None:
    # scores q.k/d up to 2e4 and differences of thousands between keys
    inst = random_attention(5, 2, 200.0, num_keys=7, value_columns=2, nonnegative_values=True, seed=4)
    assert inst.score_bound > 1e4
    oracle = ExactAttention(dtype=dtype, query_block=tile[0], key_block=tile[1])
    ref = mpmath_attention(inst)
    assert_within_guarantee(oracle(inst), ref, inst)
    assert_log_within_guarantee(oracle(inst, log_space=True), ref)


def test_output_far_below_float64_range_in_log_space() -> None:
    # weight e^1950 / (e^3600 + e^1950) = e^-1650 on the value-carrying key, as in the SAT chain
    inst = AttentionInstance([[60.0], [0.0]], [[60.0], [32.5]], [[0.0], [1.0]], 60.0)
    out = ExactAttention()(inst, log_space=True)
    ref = mpmath_attention(inst)
    assert out.log_values is not None
    assert out.log_values[0, 0] == pytest.approx(-1650.0, rel=1e-14)
    assert_log_within_guarantee(out, ref)
    plain = ExactAttention()(inst)
    assert plain.values is not None and plain.values[0, 0] == 0.0  # below float64: read it in log space
    assert plain.values[1, 0] == pytest.approx(0.5)


def test_rescaling_across_key_tiles() -> None:
    # later key tiles raise the row maximum by far more than e^theta: forces rescales
    key = np.arange(40, dtype=float)[:, None]
    inst = AttentionInstance([[200.0], [-200.0], [1.0]], key * 5, np.ones((40, 1)) * np.arange(1, 41)[:, None], 200.0)
    ref = mpmath_attention(inst)
    for tile in [(1, 1), (2, 3), (3, 7)]:
        oracle = ExactAttention(query_block=tile[0], key_block=tile[1])
        assert_within_guarantee(oracle(inst), ref, inst)
        assert_log_within_guarantee(oracle(inst, log_space=True), ref)


def test_zero_value_column_is_exactly_zero() -> None:
    inst = random_attention(4, 3, 1.0, value_columns=2, nonnegative_values=True, seed=1)
    value = inst.value.copy()
    value[:, 1] = 0.0
    inst = AttentionInstance(inst.query, inst.key, value, 1.0)
    out = ExactAttention()(inst)
    assert out.values is not None and np.all(out.values[:, 1] == 0.0)
    logs = ExactAttention()(inst, log_space=True).log_values
    assert logs is not None and np.all(logs[:, 1] == -np.inf) and np.all(np.isfinite(logs[:, 0]))


def test_single_key_returns_its_value() -> None:
    inst = AttentionInstance([[3.0, -1.0], [0.0, 0.0]], [[2.0, 2.0]], [[-0.75, 0.5]], 3.0)
    out = ExactAttention()(inst)
    np.testing.assert_array_equal(out.values, [[-0.75, 0.5], [-0.75, 0.5]])


def test_no_queries() -> None:
    inst = AttentionInstance(np.zeros((0, 2)), np.ones((3, 2)), np.ones((3, 1)), 1.0)
    assert ExactAttention()(inst).shape == (0, 1)
    assert ExactAttention()(inst, log_space=True).shape == (0, 1)


@pytest.mark.parametrize("scale", [1e-300, 1e300, 2.0**-1074])
def test_extreme_value_scales(scale: float) -> None:
    base = random_attention(4, 2, 1.0, num_keys=5, value_columns=2, nonnegative_values=True, seed=8)
    inst = AttentionInstance(base.query, base.key, base.value * scale, max(1.0, scale))
    out = ExactAttention()(inst)
    assert out.values is not None and np.all(np.isfinite(out.values))
    ref = mpmath_attention(inst)
    assert_within_guarantee(out, ref, inst)
    assert_log_within_guarantee(ExactAttention()(inst, log_space=True), ref)


@given(instances(), oracles(), st.booleans())
def test_never_nan_or_inf(inst: AttentionInstance, oracle: ExactAttention, log_space: bool) -> None:
    if log_space and not inst.nonnegative_values:
        return
    out = oracle(inst, log_space=log_space)
    if out.values is not None:
        assert np.all(np.isfinite(out.values))
    if out.log_values is not None:
        assert not np.any(np.isnan(out.log_values)) and not np.any(out.log_values == np.inf)


def test_huge_scores_are_refused_not_nan() -> None:
    inst = AttentionInstance([[1e200]], [[1e200]], [[1.0]], 1e200)
    with pytest.raises(OracleRefusal, match=r"scores up to R = 1e\+400|scores up to R = inf"):
        ExactAttention()(inst)
    big = AttentionInstance([[1e100]], [[1e-100]], [[1.0]], 1e100)
    with pytest.raises(OracleRefusal, match=r"'Q' entries up to 1e\+100 do not fit float32"):
        ExactAttention(dtype="float32")(big)
    assert np.all(np.isfinite(ExactAttention()(big).values))  # type: ignore[arg-type]


# -- subsets, tiles and threads give the same answer --------------------------------------------


def test_rows_subset_matches_full_rows() -> None:
    inst = random_attention(20, 3, 2.0, num_keys=13, nonnegative_values=True, seed=5)
    oracle = ExactAttention(query_block=4, key_block=5)
    full = oracle(inst)
    rows = [19, 0, 7, 7]
    part = oracle(inst, rows=rows)
    assert part.rows is not None and part.rows.tolist() == rows
    np.testing.assert_array_equal(part.values, full.values[rows])  # type: ignore[index]
    logs = oracle(inst, rows=rows, log_space=True).log_values
    np.testing.assert_allclose(logs, np.log(full.values[rows]), rtol=1e-13)  # type: ignore[index]


def test_rows_argument_errors() -> None:
    inst = random_attention(5, 2, 1.0, seed=0)
    with pytest.raises(ValueError, match=r"'rows' entry 1 is 5, outside 0..4"):
        ExactAttention()(inst, rows=[0, 5])
    with pytest.raises(ValueError, match="'rows' must be a 1-dimensional sequence"):
        ExactAttention()(inst, rows=[[0]])


def test_sample_rows_is_deterministic() -> None:
    inst = random_attention(50, 2, 1.0, seed=0)
    oracle = ExactAttention()
    first = oracle.sample_rows(inst, 10, seed=3)
    np.testing.assert_array_equal(first, oracle.sample_rows(inst, 10, seed=3))
    assert len(set(first.tolist())) == 10 and np.all(np.diff(first) > 0)


def test_two_workers_match_one() -> None:
    inst = random_attention(40, 4, 1.0, num_keys=30, seed=6)
    one = ExactAttention(query_block=4, key_block=8, workers=1)(inst).values
    two = ExactAttention(query_block=4, key_block=8, workers=2)(inst).values
    np.testing.assert_allclose(two, one, rtol=0, atol=1e-15)


def test_tile_shape_changes_only_rounding() -> None:
    inst = random_attention(30, 4, 3.0, num_keys=25, value_columns=3, seed=7)
    results = [ExactAttention(query_block=q, key_block=k)(inst).values for q, k in [(256, 2048), (7, 5), (1, 1)]]
    guarantee = ExactAttention(key_block=1).guarantee(inst).abs_error
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], rtol=0, atol=2 * guarantee)


def test_worker_count_auto() -> None:
    assert ExactAttention(workers=1).worker_count(2**20, 2**20) == 1
    assert ExactAttention(workers=3).worker_count(10, 10) == 3
    assert ExactAttention().worker_count(8, 8) == 1


# -- guarantee, cost, refusal ------------------------------------------------------------------


def test_guarantee_formula_scales_with_score_bound_and_precision() -> None:
    warm = random_attention(32, 4, 1.0, nonnegative_values=True, seed=0)
    cold = random_attention(32, 4, 100.0, nonnegative_values=True, seed=0)
    g64, g32 = ExactAttention().guarantee(warm), ExactAttention(dtype="float32").guarantee(warm)
    assert isinstance(g64, Guarantee) and "float64" in g64.description and "relative error" in g64.description
    assert 1e-14 < g64.rel_error < 1e-11
    assert 1e-6 < g32.rel_error < 1e-2
    assert ExactAttention().guarantee(cold).rel_error > 10 * g64.rel_error
    assert g64.abs_error <= g64.rel_error * warm.value_norm + 2 * TINY


def test_guarantee_of_zero_values_is_exact() -> None:
    inst = AttentionInstance([[1.0]], [[1.0], [0.0]], [[0.0], [0.0]], 1.0)
    assert ExactAttention().guarantee(inst).abs_error == 0.0
    np.testing.assert_array_equal(ExactAttention()(inst).values, [[0.0]])


def test_mixed_sign_guarantee_description() -> None:
    g = ExactAttention().guarantee(random_attention(4, 2, 1.0, seed=1))
    assert g.rel_error == math.inf and "no relative bound" in g.description


def test_cost_grows_with_size() -> None:
    oracle = ExactAttention()
    small, large = random_attention(64, 4, 1.0, seed=0), random_attention(512, 4, 1.0, seed=0)
    assert isinstance(oracle.cost(small), Cost)
    assert oracle.cost(large).seconds > oracle.cost(small).seconds
    assert oracle.cost(large).peak_bytes > oracle.cost(small).peak_bytes
    assert oracle.cost(large, rows=[0, 1]).seconds < oracle.cost(large).seconds
    assert oracle.cost(large, log_space=True).seconds > oracle.cost(large).seconds


def test_refusal_message_has_the_numbers() -> None:
    inst = random_attention(300, 4, 1.0, seed=0)
    seconds = ExactAttention().cost(inst).seconds
    expected = r"refuses n = 300 rows, m = 300 keys: predicted [0-9.e-]+ s exceeds 'max_seconds' = 1e-06 s"
    with pytest.raises(OracleRefusal, match=expected):
        ExactAttention(max_seconds=1e-6)(inst)
    with pytest.raises(OracleRefusal, match=r"predicted peak memory [0-9.]+ KiB exceeds 'max_bytes' = 1000 B"):
        ExactAttention(max_bytes=1000)(inst)
    assert seconds > 0
    ExactAttention(max_seconds=3600.0)(inst)  # within the limits: no refusal


def test_check_budget_passes_within_limits() -> None:
    check_budget("x", Cost(1.0, 10), max_seconds=2.0, max_bytes=100)
    check_budget("x", Cost(1e9, 10**15), max_seconds=None, max_bytes=None)


def test_default_memory_limit_is_a_fraction_of_the_machine() -> None:
    assert 0 < DEFAULT_MAX_BYTES < machine_memory_bytes()
    assert ExactAttention().max_bytes == DEFAULT_MAX_BYTES


def test_satisfies_the_protocol() -> None:
    assert isinstance(ExactAttention(), AttentionOracle)
    assert ExactAttention(dtype="float32").name == "exact-float32"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"dtype": "float16"}, ValueError, "'dtype' must be in"),
        ({"query_block": 0}, ValueError, "'query_block' must be >= 1"),
        ({"key_block": 1.5}, TypeError, "'key_block' must be an int"),
        ({"workers": "many"}, TypeError, "'workers' must be an int"),
        ({"max_seconds": -1}, ValueError, "'max_seconds' must be a number >= 0 or None"),
        ({"max_bytes": -1}, ValueError, "'max_bytes' must be >= 0"),
    ],
)
def test_constructor_errors(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        ExactAttention(**kwargs)


def test_call_argument_errors() -> None:
    inst = AttentionInstance([[1.0]], [[1.0], [0.5]], [[1.0], [-0.25]], 1.0)
    with pytest.raises(ValueError, match=r"'log_space=True' needs V >= 0; 'V' entry \(1, 0\) is -0.25"):
        ExactAttention()(inst, log_space=True)
    with pytest.raises(TypeError, match="'instance' must be an AttentionInstance"):
        ExactAttention()([[1.0]])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'log_space' must be a bool"):
        ExactAttention()(inst, log_space=1)  # type: ignore[arg-type]


# -- the constants the bound relies on ---------------------------------------------------------


@pytest.mark.parametrize("base", ["e", "2"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_numpy_exp_accuracy_matches_the_stated_constant(dtype: str, base: str) -> None:
    # the weights are exp2 of base-2 scores (up to theta log2 e), the rest uses exp
    constants = ERROR_CONSTANTS[dtype]
    scale = 1.0 if base == "e" else 1.0 / math.log(2.0)
    low, high = (-700 if dtype == "float64" else -85) * scale, 64 * scale
    points = np.random.default_rng(0).uniform(low, high, size=2000).astype(dtype)
    computed = np.exp(points) if base == "e" else np.exp2(points)
    with mpmath.workdps(40):
        if base == "e":
            exact = [mpmath.exp(mpmath.mpf(float(x))) for x in points]
        else:
            exact = [mpmath.power(2, mpmath.mpf(float(x))) for x in points]
        worst = max(
            abs((mpmath.mpf(float(c)) - e) / e) for c, e in zip(computed, exact, strict=True) if c >= constants["tiny"]
        )
    assert float(worst) <= constants["exp_error"] * constants["unit_roundoff"]


def test_numpy_log_accuracy_matches_the_stated_constant() -> None:
    points = np.exp(np.random.default_rng(1).uniform(-700, 700, size=2000))
    computed = np.log(points)
    with mpmath.workdps(40):
        worst = max(
            abs(mpmath.mpf(float(c)) - mpmath.log(mpmath.mpf(float(x)))) / abs(mpmath.log(mpmath.mpf(float(x))))
            for c, x in zip(computed, points, strict=True)
            if abs(float(c)) > 1e-3
        )
    assert float(worst) <= 4 * 2.0**-53


# -- the reference itself ----------------------------------------------------------------------


def test_reference_refuses_large_instances_with_numbers() -> None:
    with pytest.raises(OracleRefusal, match=r"refuses n m = 2500 score entries \(limit 'max_scores' = 1000\)"):
        mpmath_attention(random_attention(50, 2, 1.0, seed=0), max_scores=1000)


def test_reference_precision_follows_requested_error_and_score_range() -> None:
    warm = random_attention(4, 2, 1.0, seed=0)
    cold = random_attention(4, 2, 100.0, seed=0)
    assert reference_precision(cold) > reference_precision(warm)
    assert reference_precision(warm, abs_error=1e-60) > reference_precision(warm)
    assert reference_precision(warm, digits=30) == math.ceil(30 * math.log2(10))


def test_reference_does_not_touch_global_precision() -> None:
    before = mpmath.mp.prec
    mpmath_attention(random_attention(3, 2, 30.0, seed=0), digits=60)
    assert mpmath.mp.prec == before


def test_reference_agrees_with_more_digits() -> None:
    inst = random_attention(3, 3, 30.0, nonnegative_values=True, seed=2)
    default, precise = mpmath_attention(inst), mpmath_attention(inst, digits=80)
    assert default.values is not None and precise.values is not None
    assert np.all(np.abs(default.values - precise.values) <= default.abs_error + precise.abs_error)


def test_larger_instance_against_reference() -> None:
    inst = random_attention(40, 8, 3.0, num_keys=300, value_columns=4, nonnegative_values=True, seed=9)
    ref = mpmath_attention(inst)
    for oracle in (ExactAttention(query_block=16, key_block=64), ExactAttention(dtype="float32", key_block=100)):
        assert_within_guarantee(oracle(inst), ref, inst)
        assert_log_within_guarantee(oracle(inst, log_space=True), ref)


@pytest.mark.parametrize(("n", "m", "d"), [(64, 64, 8), (300, 500, 40), (1024, 700, 200), (2048, 2048, 96)])
@pytest.mark.parametrize("log_space", [False, True])
def test_predicted_peak_bytes_cover_the_traced_peak(n: int, m: int, d: int, log_space: bool) -> None:
    """peak_bytes >= what tracemalloc sees beyond the instance, and not more than 1.5x + 10 MiB."""
    from instances.attention import random_attention

    instance = random_attention(n, d, 1.0, num_keys=m, nonnegative_values=True, seed=n + d)
    assert instance.score_bound > 0 and instance.key_column_max.size == d  # cached: part of the instance
    oracle = ExactAttention()
    predicted = oracle.cost(instance, log_space=log_space).peak_bytes
    warm_up()  # numba's one-time load of the fused kernel is not the call's memory
    peak = traced_peak(lambda: oracle(instance, log_space=log_space))
    assert predicted >= peak
    assert predicted <= 1.5 * peak + 10 * 2**20


@pytest.mark.parametrize(
    ("dtype", "d", "query_entry", "key_entry"),
    [
        ("float32", 128, 1.5 * 2.0**-149, 5.0e36),  # the last width the fused kernel takes (d + 1 <= 129)
        ("float64", 128, 1.5 * 2.0**-1074, 2.0**1020),
        ("float32", 400, 1.5 * 2.0**-149, 5.0e36),
        ("float32", 2000, 1.5 * 2.0**-149, 5.0e36),
        ("float64", 300, 1.5 * 2.0**-1074, 2.0**1020),
        ("float64", 2000, 1.5 * 2.0**-1074, 2.0**1020),
    ],
)
@pytest.mark.parametrize("kernel", ["auto", "numpy"])
def test_stated_bound_holds_where_q_over_d_is_subnormal(
    dtype: str, d: int, query_entry: float, key_entry: float, kernel: str
) -> None:
    """Q/d below the smallest normal number rounds with an absolute error (up to the smallest
    subnormal), which a huge key entry multiplies: the stated bound must count it."""
    query = np.full((1, d), query_entry * d)
    key = np.vstack([np.full((1, d), key_entry), np.full((1, d), -key_entry)])
    instance = AttentionInstance(query, key, np.array([[1.0], [-1.0]]), key_entry)
    reference = mpmath_attention(instance, digits=60)
    output = ExactAttention(dtype=dtype, kernel=kernel)(instance)
    error = abs(float(output.values[0, 0]) - float(reference.values[0, 0]))
    assert error > 0  # the case really rounds
    assert error <= output.abs_error


# -- the memory prediction at the kernel's edges --------------------------------------------------


def test_peak_prediction_covers_the_log_form_pass_at_d_128() -> None:
    # at d = 128 the log-form recomputation has d + 2 = 130 columns: it runs the numpy kernel with its
    # 256 x 2048 tile even where the first pass was fused, and the prediction counts that tile
    rng = np.random.default_rng(0)
    value = np.ones((2048, 2))
    value[:, 1] = 1e-300  # weights this small send the column to the log-form recomputation
    instance = AttentionInstance(rng.uniform(-1, 1, (2048, 128)), rng.uniform(-1, 1, (2048, 128)), value, 1.0)
    oracle = ExactAttention(workers=2)
    warm_up()
    peak = traced_peak(lambda: oracle(instance))
    assert oracle.peak_bytes(2048, 2048, 128, 2) >= peak


def test_peak_prediction_covers_the_key_copy_of_many_keys() -> None:
    # the fused kernel's feature-major key copy is made once (np.delete of the transpose kept its column
    # order, and making it contiguous copied it a second time, 64 MiB past the prediction here)
    rng = np.random.default_rng(1)
    instance = AttentionInstance(
        rng.uniform(-1, 1, (8, 32)), rng.uniform(-1, 1, (2**18, 32)), rng.uniform(-1, 1, (2**18, 1)), 1.0
    )
    oracle = ExactAttention(duplicates="keep")
    warm_up()
    peak = traced_peak(lambda: oracle(instance))
    assert oracle.peak_bytes(8, 2**18, 32, 1) >= peak


def test_the_prediction_counts_the_fused_scratch_only_once_the_kernel_has_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys
    import types

    from solvers.attention import exact

    for available in (True, False):  # numba importable or not: the module says which
        module = types.ModuleType("solvers.attention._fused")
        module.FUSED_AVAILABLE = available  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "solvers.attention._fused", module)
        assert exact._fused_expected() is available
    monkeypatch.delitem(sys.modules, "solvers.attention._fused")
    assert exact._fused_expected() is False  # not loaded yet: the numpy tile is counted
    # the numpy kernel's tile, plus the fused kernel's contiguous key copy that auto counts anyway
    auto, numpy_kernel = ExactAttention(kernel="auto"), ExactAttention(kernel="numpy")
    assert auto.peak_bytes(2048, 2048, 4, 1) == numpy_kernel.peak_bytes(2048, 2048, 4, 1) + 8 * 2048 * (4 + 1 + 1)
