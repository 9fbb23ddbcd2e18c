"""The Taylor oracle of Keles et al.: even degrees, its Lagrange bound, the guarantee against exact attention."""

from __future__ import annotations

import math
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instances.attention import AttentionInstance, AttentionOutput, random_attention
from instances.errors import OracleRefusal
from solvers.attention import AttentionOracle, ExactAttention
from solvers.attention.polynomial.approximation import taylor_remainder_bound
from solvers.attention.polynomial.oracle import PolynomialAttention
from solvers.attention.polynomial.taylor import TaylorAttention, odd_taylor_root

TINY = np.finfo(np.float64).tiny
EXACT = ExactAttention()


@st.composite
def instances(draw: Any, nonnegative: bool | None = None) -> AttentionInstance:
    n = draw(st.integers(0, 7))
    m = draw(st.integers(1, 9))
    d = draw(st.integers(1, 4))
    dv = draw(st.integers(1, 3))
    bound = draw(st.sampled_from([0.0, 0.3, 1.0, 1.5]))
    positive = draw(st.booleans()) if nonnegative is None else nonnegative
    seed = draw(st.integers(0, 2**32 - 1))
    inst = random_attention(n, d, bound, num_keys=m, value_columns=dv, nonnegative_values=positive, seed=seed)
    if draw(st.booleans()):
        scale = draw(st.sampled_from([1e-300, 1e-30, 1e30, 1e300]))
        value = inst.value / max(bound, 1.0) * scale
        if draw(st.booleans()):
            value[:, 0] = 0.0
        inst = AttentionInstance(inst.query, inst.key, value, max(bound, float(np.abs(value).max())))
    return inst


def assert_within_guarantee(out: AttentionOutput, inst: AttentionInstance) -> None:
    ref = EXACT(inst)
    assert out.values is not None and ref.values is not None
    error = np.abs(out.values - ref.values)
    assert np.all(error <= out.abs_error + ref.abs_error), (float(error.max()), out.abs_error)
    if inst.nonnegative_values:
        normal = np.abs(ref.values) >= TINY
        relative = error[normal] / np.abs(ref.values[normal])
        assert np.all(relative <= out.rel_error + ref.rel_error), (float(relative.max()), out.rel_error)


def test_is_an_attention_oracle() -> None:
    oracle = TaylorAttention()
    assert isinstance(oracle, AttentionOracle) and oracle.name == "taylor"
    assert not isinstance(oracle, PolynomialAttention)


@pytest.mark.parametrize("route", ["auto", "features", "dense"])
@settings(max_examples=500, deadline=None)
@given(inst=instances())
def test_guarantee_holds_on_random_instances(route: str, inst: AttentionInstance) -> None:
    out = TaylorAttention(eps=1e-6, route=route)(inst)
    assert out.oracle == "taylor"
    assert_within_guarantee(out, inst)


@settings(max_examples=200, deadline=None)
@given(inst=instances(nonnegative=True), eps=st.sampled_from([1e-3, 1e-6, 1e-10]))
def test_log_space(inst: AttentionInstance, eps: float) -> None:
    out = TaylorAttention(eps=eps)(inst, log_space=True)
    ref = EXACT(inst, log_space=True)
    assert out.log_values is not None and ref.log_values is not None
    zero = ref.log_values == -np.inf
    np.testing.assert_array_equal(out.log_values == -np.inf, zero)
    error = np.abs(out.log_values[~zero] - ref.log_values[~zero])
    assert np.all(error <= -math.log1p(-out.rel_error) - math.log1p(-ref.rel_error))


@pytest.mark.parametrize("degree", [1, 3, 5, 7, 11])
def test_odd_degrees_are_refused_with_the_reason(degree: int) -> None:
    inst = random_attention(20, 2, 1.0, seed=0)
    oracle = TaylorAttention(degree=degree)
    root = odd_taylor_root(degree)
    message = (
        f"taylor oracle refuses degree {degree}: an odd-degree Taylor polynomial of e^x is negative left of its "
        f"real root x = {root:.4g}, so the softmax normaliser can vanish or go negative; use an even degree"
    )
    with pytest.raises(OracleRefusal) as info:
        oracle(inst)
    assert str(info.value) == message
    with pytest.raises(OracleRefusal, match="odd-degree"):
        oracle.check(inst)
    assert oracle.guarantee(inst).abs_error == math.inf


@pytest.mark.parametrize("degree", [1, 3, 5, 9, 15])
def test_the_odd_root_is_a_root(degree: int) -> None:
    root = odd_taylor_root(degree)
    with mpmath.workprec(200):
        value = mpmath.fsum(mpmath.mpf(root) ** k / mpmath.factorial(k) for k in range(degree + 1))
        slope = mpmath.fsum(mpmath.mpf(root) ** k / mpmath.factorial(k) for k in range(degree))
    assert abs(value) <= 1e-13 * abs(slope)
    assert root < 0


@pytest.mark.parametrize("degree", [0, 2, 4, 6, 10])
def test_even_taylor_polynomials_are_positive(degree: int) -> None:
    # minimum of P_g is at the root of P_(g-1), where P_g = x^g / g! > 0
    xs = np.linspace(-40, 5, 2001)
    values = sum(xs**k / math.factorial(k) for k in range(degree + 1))
    assert np.all(values > 0)


@pytest.mark.parametrize(("bound", "eps", "degree"), [(1.0, 1e-6, 10), (0.5, 1e-6, 6), (1.0, 1e-3, 6)])
def test_degree_for_a_requested_eps_is_even_and_meets_it(bound: float, eps: float, degree: int) -> None:
    inst = random_attention(200, 4, bound, seed=0)
    plan = TaylorAttention(eps=eps, interval="paper").plan(inst)
    assert plan.degree == degree and degree % 2 == 0
    lagrange = taylor_remainder_bound(bound * bound, degree)
    # the Lagrange bound plus the (tiny) rounding of the stored coefficients
    assert lagrange <= plan.approximation_error <= lagrange * (1 + 1e-12) and plan.approximation_error <= eps
    assert plan.entry_error <= eps
    chebyshev = PolynomialAttention(eps=eps, interval="paper").plan(inst)
    assert chebyshev.degree <= plan.degree and chebyshev.rank <= plan.rank


def test_the_remainder_bound_holds_at_the_worst_point() -> None:
    for radius, degree in ((1.0, 6), (2.0, 10), (4.0, 20)):
        bound = taylor_remainder_bound(radius, degree)
        with mpmath.workprec(200):
            for x in (-radius, -radius / 2, 0.0, radius):
                p = mpmath.fsum(mpmath.mpf(x) ** k / mpmath.factorial(k) for k in range(degree + 1))
                assert abs(p / mpmath.exp(x) - 1) <= bound


def test_even_fixed_degree_states_what_it_achieves() -> None:
    inst = random_attention(300, 3, 1.0, nonnegative_values=True, seed=4)
    plan = TaylorAttention(degree=4).plan(inst)
    assert plan.degree == 4 and plan.route != "refuse"
    radius = plan.upper
    lagrange = taylor_remainder_bound(radius, 4)
    assert lagrange <= plan.approximation_error <= lagrange * (1 + 1e-12) and lagrange > 1e-6
    assert_within_guarantee(TaylorAttention(degree=4)(inst), inst)


def test_interval_is_symmetric_about_zero() -> None:
    inst = AttentionInstance(np.full((4, 2), 0.5), np.full((5, 2), 0.9), np.ones((5, 1)), 1.0)
    plan = TaylorAttention().plan(inst)
    assert plan.lower == -plan.upper and plan.upper >= 0.45
    assert PolynomialAttention().plan(inst).lower > 0  # the Chebyshev interval needs no symmetry


def test_low_temperature_refusal() -> None:
    cold = random_attention(512, 16, 20.0, nonnegative_values=True, seed=0)
    with pytest.raises(OracleRefusal, match=r"taylor oracle refuses: .* rank r = C\(16\+g, g\) = 10\^"):
        TaylorAttention()(cold, log_space=True)
