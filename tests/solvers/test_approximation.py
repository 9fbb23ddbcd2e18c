"""Polynomials for e^x with a relative error: degrees, verification, the bounds they are compared with."""

from __future__ import annotations

import math

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers.attention.polynomial.approximation import (
    chebyshev_tail_bound,
    exp_approximation,
    explicit_degree_bound,
    paper_degree,
    predict_chebyshev_degree,
    taylor_degree,
    taylor_remainder_bound,
    working_precision,
)


def observed_error(p, points: int = 97, extra_bits: int = 64) -> float:  # type: ignore[no-untyped-def]
    """Largest relative error of ``p`` at ``points`` evenly spaced points and the end points, computed
    independently (powers of ``x``, higher precision)."""
    worst = mpmath.mpf(0)
    with mpmath.workprec(p.precision + extra_bits + int(3 * abs(p.center))):
        lower, upper = mpmath.mpf(p.lower), mpmath.mpf(p.upper)
        for j in range(points + 1):
            x = lower + (upper - lower) * j / points
            value = mpmath.fsum(g * x**k for k, g in enumerate(p.power_coefficients)) * mpmath.exp(mpmath.mpf(p.center))
            worst = max(worst, abs(value / mpmath.exp(x) - 1))
    return float(worst)


@pytest.mark.parametrize(
    ("radius", "eps", "degree"),
    [(0.25, 1e-6, 4), (1.0, 1e-6, 7), (4.0, 1e-6, 15), (1.0, 1e-3, 5), (9.0, 1e-6, 27), (16.0, 1e-6, 42)],
)
def test_chebyshev_degrees(radius: float, eps: float, degree: int) -> None:
    p = exp_approximation(-radius, radius, eps)
    assert p.degree == degree
    assert p.rel_error <= eps
    assert observed_error(p) <= p.rel_error


def test_degree_is_minimal_for_the_verified_error() -> None:
    p = exp_approximation(-4.0, 4.0, 1e-6)
    lower = exp_approximation(-4.0, 4.0, 1e-6, degree=p.degree - 1)
    assert lower.rel_error > 1e-6
    assert observed_error(lower) > 1e-6  # the degree below really fails


@settings(max_examples=40, deadline=None)
@given(
    center=st.floats(-20, 20),
    radius=st.floats(0, 12),
    log_eps=st.floats(-12, -1.5),
)
def test_random_intervals(center: float, radius: float, log_eps: float) -> None:
    eps = 10.0**log_eps
    p = exp_approximation(center - radius, center + radius, eps)
    assert p.rel_error <= eps
    assert p.degree <= explicit_degree_bound(p.radius, eps)
    assert p.degree <= predict_chebyshev_degree(p.radius, eps)
    assert observed_error(p, points=31) <= p.rel_error


@pytest.mark.parametrize("radius", [0.1, 0.5, 1.0, 2.0, 4.0, 9.0, 16.0, 50.0, 200.0, 2000.0])
@pytest.mark.parametrize("eps", [1e-3, 1e-6, 1e-12])
def test_never_above_the_explicit_bound_and_within_a_constant_of_the_paper(radius: float, eps: float) -> None:
    predicted = predict_chebyshev_degree(radius, eps)
    assert predicted <= explicit_degree_bound(radius, eps)
    # Theta(max{log(1/eps)/log(log(1/eps)/R), R}): the ratio stays bounded (about 2.3 for large R)
    assert predicted <= 3 * paper_degree(radius, eps) + 2


def test_prediction_is_quick_for_huge_radii() -> None:
    g = predict_chebyshev_degree(2460.0, 1e-6)
    assert 2 * 2460 < g < 2.5 * 2460
    assert chebyshev_tail_bound(2460.0, g) <= 1e-6 < chebyshev_tail_bound(2460.0, g - 1)


def test_tail_bound_decreases_and_bounds_the_verified_error() -> None:
    bounds = [chebyshev_tail_bound(3.0, g) for g in range(4, 30)]
    assert all(a > b for a, b in zip(bounds, bounds[1:], strict=False))
    for g in (6, 10, 14):
        p = exp_approximation(-3.0, 3.0, 1e-6, degree=g)
        assert p.rel_error <= p.rel_error_bound
        assert observed_error(p) <= p.rel_error


def test_asymmetric_interval_and_power_coefficients() -> None:
    p = exp_approximation(0.0, 30.0, 1e-6)
    assert p.center == 15.0 and p.radius == 15.0
    with mpmath.workprec(p.precision + 64):
        for x in (0.0, 7.5, 29.0, 30.0):
            direct = p.evaluate(x)
            powers = mpmath.fsum(g * mpmath.mpf(x) ** k for k, g in enumerate(p.power_coefficients))
            assert abs(powers * mpmath.exp(15) / direct - 1) < 1e-30


def test_zero_radius_is_exact() -> None:
    p = exp_approximation(2.0, 2.0, 1e-6)
    assert (p.degree, p.rel_error) == (0, 0.0)
    assert float(p.evaluate(2.0)) == pytest.approx(math.exp(2.0), rel=1e-15)


def test_condition_numbers_grow_like_e_to_the_width() -> None:
    for radius in (1.0, 3.0, 6.0):
        p = exp_approximation(-radius, radius, 1e-6)
        assert math.exp(2 * radius) * 0.9 <= p.condition_number(radius) <= math.exp(2 * radius) * 3
        assert math.exp(2 * radius) * 0.9 <= p.t_condition_number() <= math.exp(2 * radius) * 3


def test_log_derivative_bound() -> None:
    p = exp_approximation(-5.0, 5.0, 1e-6)
    bound = p.log_derivative_bound()
    assert 5.0 <= bound < 5.01
    with mpmath.workprec(p.precision):
        for t in (-1, -0.5, 0, 0.7, 1):
            value = mpmath.polyval(list(reversed(p.coefficients)), t)
            slope = mpmath.polyval(list(reversed([k * b for k, b in enumerate(p.coefficients)][1:])), t)
            assert abs(slope / value) <= bound


@pytest.mark.parametrize(("radius", "eps", "degree"), [(1.0, 1e-6, 10), (0.25, 1e-6, 6), (4.0, 1e-6, 22)])
def test_taylor_degrees_are_even_and_bounded_by_lagrange(radius: float, eps: float, degree: int) -> None:
    p = exp_approximation(-radius, radius, eps, method="taylor")
    assert p.degree == degree == taylor_degree(radius, eps)
    # the Lagrange bound plus the (tiny) rounding of the stored coefficients
    assert taylor_remainder_bound(radius, degree) <= p.rel_error <= taylor_remainder_bound(radius, degree) * (1 + 1e-12)
    assert p.rel_error <= eps
    assert observed_error(p) <= p.rel_error
    assert p.degree >= exp_approximation(-radius, radius, eps).degree


def test_taylor_odd_degree_search() -> None:
    assert taylor_degree(1.0, 1e-6, even=False) == 9
    assert taylor_degree(1.0, 1e-6) == 10


def test_working_precision_covers_the_cancellation() -> None:
    assert working_precision(10, 50.0) >= 53 + 64 + 2 * 50 / math.log(2)


def test_paper_degree() -> None:
    assert paper_degree(50.0, 1e-6) == 50.0
    assert paper_degree(1.0, 1e-6) == pytest.approx(math.log(1e6) / math.log(math.log(1e6)))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((1.0, -1.0, 1e-6), {}, ValueError, "'lower' must be <= 'upper' (got 1.0 > -1.0)"),
        ((-1.0, 1.0, 1.5), {}, ValueError, "'eps' must be < 1 (got 1.5)"),
        ((-1.0, 1.0, 0.0), {}, ValueError, "'eps' must be > 0 (got 0.0)"),
        ((-1.0, 2.0, 1e-6), {"method": "taylor"}, ValueError, "a Taylor polynomial at 0 needs a symmetric interval"),
        ((-1.0, 1.0, 1e-6), {"method": "remez"}, ValueError, "'method' must be 'chebyshev' or 'taylor'"),
        ((-1.0, 1.0, 1e-6), {"degree": -1}, ValueError, "'degree' must be >= 0 (got -1)"),
        ((-1.0, 1.0, 1e-6), {"degree": 2.0}, TypeError, "'degree' must be an int"),
    ],
)
def test_argument_errors(args: tuple, kwargs: dict, error: type, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        exp_approximation(*args, **kwargs)
