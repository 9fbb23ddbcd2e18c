"""The fused numba kernel of the exact oracle: its exp2 against mpmath, the oracle against mpmath
and against the numpy kernel within the stated bound, and the fallback without numba."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instances.attention import AttentionInstance, random_attention
from solvers.attention import mpmath_attention
from solvers.attention.exact import ERROR_CONSTANTS, FUSED_ENV, ExactAttention, _fused_kernel, fused_available
from tests.conftest import traced_peak
from tests.strategies import attention_instances

ROOT = Path(__file__).resolve().parents[2]
UNIT = {"float64": 2.0**-53, "float32": 2.0**-24}
RANGE = {"float64": (-1022.0, 1023.0), "float32": (-126.0, 127.0)}

needs_numba = pytest.mark.skipif(not fused_available(), reason="numba not installed (the 'fast' extra)")


def mp_exp2(x: float) -> mpmath.mpf:
    with mpmath.workdps(40):
        return mpmath.power(2, mpmath.mpf(x))


def edge_points(dtype: str) -> np.ndarray:
    """Integers, half-integers (the rounding ties) and their neighbours, the range ends, zeros."""
    lo, hi = RANGE[dtype]
    base = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, lo, hi, lo + 0.5, hi - 0.5, 92.0, -92.0, 1e-30, -1e-30]
    points = np.array(base, dtype=dtype)
    up = np.nextafter(points, np.array(np.inf, dtype=dtype))
    down = np.nextafter(points, np.array(-np.inf, dtype=dtype))
    inside = np.concatenate([points, up, down])
    return inside[(inside >= lo) & (inside <= hi)]


@needs_numba
def test_memory_prediction_uses_the_kernels_chunk() -> None:
    from solvers.attention import _fused, exact

    assert exact._FUSED_CHUNK == _fused.CHUNK


# -- the exponential -----------------------------------------------------------------------------


def test_float64_coefficients_are_the_chebyshev_fit_rounded() -> None:
    from solvers.attention._fused import EXP2_DEGREE, exp2_coefficients

    with mpmath.workdps(50):
        fit = mpmath.chebyfit(lambda x: mpmath.power(2, x), [-0.5, 0.5], EXP2_DEGREE["float64"] + 1)
    assert exp2_coefficients("float64") == tuple(float(c) for c in reversed(fit))


def test_exp2_bound_refuses_coefficients_its_horner_argument_does_not_cover(monkeypatch: pytest.MonkeyPatch) -> None:
    from solvers.attention import _fused

    for bad in ((1.0, -0.7, 0.2, 0.05, 0.01, 0.0, 0.0, 0.0), (1.0, 0.1, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005)):
        # a negative coefficient; c_2 > c_1 (then the tail q_0 decreases on [-1/2, -31/64])
        monkeypatch.setattr(_fused, "exp2_coefficients", lambda dtype, bad=bad: bad)
        with pytest.raises(ValueError, match="positive coefficients"):
            _fused.exp2_error_bound("float32")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_certified_exp2_bound_is_recomputed_and_below_the_oracles_constant(dtype: str) -> None:
    from solvers.attention._fused import EXP2_ERROR, exp2_error_bound

    bound = exp2_error_bound(dtype)
    assert 0 < bound <= EXP2_ERROR[dtype] <= ERROR_CONSTANTS[dtype]["exp_error"]


@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kernel_exp2_against_mpmath_within_the_certified_bound(dtype: str) -> None:
    from solvers.attention._fused import EXP2_ERROR, exp2_array

    lo, hi = RANGE[dtype]
    rng = np.random.default_rng(0)
    samples = [
        edge_points(dtype),
        rng.uniform(-0.5, 0.5, 1500).astype(dtype),  # the reduced argument itself
        rng.uniform(lo, hi, 1500).astype(dtype),
        (rng.integers(-60, 60, 500) + rng.uniform(-1e-6, 1e-6, 500)).astype(dtype),
    ]
    x = np.concatenate(samples)
    y = exp2_array(x)
    assert y.dtype == np.dtype(dtype)
    with mpmath.workdps(40):
        worst = max(abs(mpmath.mpf(float(yi)) / mp_exp2(float(xi)) - 1) for xi, yi in zip(x, y, strict=True))
    assert float(worst) <= EXP2_ERROR[dtype] * UNIT[dtype], float(worst) / UNIT[dtype]


@needs_numba
@settings(max_examples=300)
@given(st.floats(-1022.0, 1023.0, allow_nan=False))
def test_kernel_exp2_hypothesis_points(x: float) -> None:
    from solvers.attention._fused import EXP2_ERROR, exp2_array

    y = float(exp2_array(np.array([x]))[0])
    with mpmath.workdps(40):
        assert abs(mpmath.mpf(y) / mp_exp2(x) - 1) <= EXP2_ERROR["float64"] * UNIT["float64"]


@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kernel_exp2_below_the_range_gives_the_smallest_normal(dtype: str) -> None:
    from solvers.attention._fused import exp2_array

    lo, _ = RANGE[dtype]
    tiny = np.finfo(dtype).tiny
    y = exp2_array(np.array([lo - 0.25, lo - 1, -4e4, -3e38], dtype=dtype))
    np.testing.assert_array_equal(y, np.full(4, tiny, dtype=dtype))  # absolute error below tiny


# -- the oracle with the kernel ------------------------------------------------------------------

ORACLE_BOUNDS = (0.0, 1.0, 30.0, 200.0)  # scores up to 200^2 = 4e4


@needs_numba
@settings(max_examples=60, deadline=None)
@given(
    attention_instances(ORACLE_BOUNDS, None, max_rows=5, max_dimension=5),
    st.sampled_from(["float64", "float32"]),
    st.sampled_from([(256, 2048), (2, 3), (3, 600)]),
)
def test_fused_matches_mpmath_and_numpy_kernel_within_the_bound(
    inst: AttentionInstance, dtype: str, tile: tuple[int, int]
) -> None:
    fused = ExactAttention(dtype=dtype, query_block=tile[0], key_block=tile[1])
    numpy_kernel = ExactAttention(dtype=dtype, query_block=tile[0], key_block=tile[1], kernel="numpy")
    out, ref, base = fused(inst), mpmath_attention(inst), numpy_kernel(inst)
    assert out.values is not None and ref.values is not None and base.values is not None
    assert np.all(np.isfinite(out.values))
    assert np.all(np.abs(out.values - ref.values) <= out.abs_error + ref.abs_error)
    assert np.all(np.abs(out.values - base.values) <= 2 * out.abs_error)
    if inst.nonnegative_values:
        normal = np.abs(ref.values) >= np.finfo(np.float64).tiny
        relative = np.abs(out.values - ref.values)[normal] / np.abs(ref.values[normal])
        assert np.all(relative <= out.rel_error + ref.rel_error)


@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_fused_scores_of_forty_thousand_many_chunks(dtype: str, sign: float) -> None:
    """m = 1500 keys: three chunks of 512 per tile of 1024, rescales within and across tiles."""
    rng = np.random.default_rng(3)
    inst = random_attention(4, 3, 200.0, num_keys=1500, value_columns=2, seed=int(rng.integers(1000)))
    value = rng.uniform(-1, 1, (1500, 2))
    value[:, 1] = np.abs(value[:, 1])
    inst = AttentionInstance(inst.query * sign, inst.key, value, inst.bound)
    assert inst.score_bound > 2e4
    for kernel_tile in [(256, 2048), (3, 1024)]:
        out = ExactAttention(dtype=dtype, query_block=kernel_tile[0], key_block=kernel_tile[1])(inst, rows=[0, 3])
        ref = mpmath_attention(AttentionInstance(inst.query[[0, 3]], inst.key, inst.value, inst.bound))
        assert out.values is not None and ref.values is not None
        assert np.all(np.abs(out.values - ref.values) <= out.abs_error + ref.abs_error)


@needs_numba
def test_fused_log_space_far_below_float64_range() -> None:
    inst = random_attention(3, 4, 60.0, num_keys=700, value_columns=2, nonnegative_values=True, seed=5)
    value = inst.value * 1e-300
    inst = AttentionInstance(inst.query, inst.key, value, inst.bound)
    fused = ExactAttention(key_block=600)(inst, log_space=True).log_values
    base = ExactAttention(key_block=600, kernel="numpy")(inst, log_space=True).log_values
    assert fused is not None and base is not None
    rel = ExactAttention(key_block=600).guarantee(inst).rel_error
    np.testing.assert_allclose(fused, base, rtol=0, atol=2 * rel)


@needs_numba
def test_fused_two_workers_match_one_exactly() -> None:
    inst = random_attention(300, 4, 1.0, num_keys=900, seed=6)
    one = ExactAttention(query_block=16, workers=1)(inst).values
    two = ExactAttention(query_block=16, workers=2)(inst).values
    np.testing.assert_array_equal(one, two)  # blocks are independent: same operations, same order


# -- the fallback --------------------------------------------------------------------------------


def test_environment_variable_forces_the_numpy_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FUSED_ENV, "numpy")
    assert _fused_kernel() is None and not fused_available()
    inst = random_attention(20, 3, 30.0, num_keys=40, seed=1)
    out = ExactAttention()(inst)
    ref = mpmath_attention(inst)
    assert out.values is not None and ref.values is not None
    assert np.all(np.abs(out.values - ref.values) <= out.abs_error + ref.abs_error)


def test_kernel_choice_by_dimension() -> None:
    fused = "fused" if fused_available() else "numpy"
    assert ExactAttention().kernel_for(4) == fused and ExactAttention().kernel_for(128) == fused
    assert ExactAttention().kernel_for(129) == "numpy" and ExactAttention(kernel="numpy").kernel_for(4) == "numpy"


def test_kernel_field_is_validated() -> None:
    with pytest.raises(ValueError, match="'kernel' must be in"):
        ExactAttention(kernel="fused")  # type: ignore[arg-type]


def test_oracle_works_without_numba_installed() -> None:
    """In a fresh interpreter where ``import numba`` fails: the numpy kernel answers."""
    script = (
        "import sys; sys.modules['numba'] = None\n"
        "import numpy as np\n"
        "from instances.attention import random_attention\n"
        "from solvers.attention.exact import ExactAttention, fused_available\n"
        "from solvers.attention import mpmath_attention\n"
        "inst = random_attention(5, 3, 200.0, num_keys=30, seed=2)\n"
        "out, ref = ExactAttention()(inst), mpmath_attention(inst)\n"
        "assert not fused_available()\n"
        "assert np.all(np.abs(out.values - ref.values) <= out.abs_error + ref.abs_error)\n"
        "print('fallback ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(FUSED_ENV, None)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "fallback ok" in done.stdout


@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_predicted_peak_covers_the_fused_kernel_with_few_rows_and_many_keys(dtype: str) -> None:
    """Sampled rows against many keys: the key side's copies dominate the peak."""
    from solvers.attention.exact import warm_up

    instance = random_attention(4000, 4, 1.0, num_keys=2**19, nonnegative_values=True, seed=9)
    oracle = ExactAttention(dtype=dtype)
    rows = np.arange(8)
    predicted = oracle.cost(instance, rows=rows, log_space=True).peak_bytes
    warm_up()
    peak = traced_peak(lambda: oracle(instance, rows=rows, log_space=True))
    assert predicted >= peak


@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("rows", [1, 2, 3, 4, 5, 6, 7, 8, 9, 11])
@pytest.mark.parametrize("value_columns", [1, 3, 4, 8])
def test_fused_rows_taken_four_then_one_at_a_time(dtype: str, rows: int, value_columns: int) -> None:
    """Row blocks go four rows at a time, then one, and value columns four at a time then one:
    every remainder against mpmath, with mixed-sign values."""
    rng = np.random.default_rng(rows * 10 + value_columns)
    inst = AttentionInstance(
        rng.uniform(-3, 3, (rows, 6)), rng.uniform(-3, 3, (700, 6)), rng.uniform(-1, 1, (700, value_columns)), 3.0
    )
    out, ref = ExactAttention(dtype=dtype, kernel="auto")(inst), mpmath_attention(inst)
    assert out.values is not None and ref.values is not None
    assert np.all(np.abs(out.values - ref.values) <= out.abs_error + ref.abs_error)
