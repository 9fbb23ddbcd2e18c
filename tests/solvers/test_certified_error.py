"""Certified errors are upper bounds: never below an error computed independently in mpmath.

Two layers are checked over radii spread log-uniformly down to 1e-300:

- built polynomials (:func:`exp_approximation`, Chebyshev and Taylor, radius up to 30): the certified
  ``rel_error`` against the largest relative error of the *stored* polynomial over a dense grid, the end
  points and the extrema of ``T_(g+1)``, computed with enough bits that 50 significant digits of the
  error survive the cancellation in ``P(x) e^-x - 1``;
- the a priori bounds (:func:`chebyshev_tail_bound`, :func:`taylor_remainder_bound`, radius up to 1e4)
  against the error of the exact truncated series, summed term by term from Bessel values (Chebyshev)
  or ``x^k / k!`` (Taylor) at 50 digits.
"""

from __future__ import annotations

import math

import mpmath
from hypothesis import example, given, settings
from hypothesis import strategies as st

from solvers.attention.polynomial.approximation import (
    ExpApproximation,
    chebyshev_tail_bound,
    exp_approximation,
    predict_chebyshev_degree,
    taylor_degree,
    taylor_remainder_bound,
)

DIGITS = 50


def _bits_for(p: ExpApproximation) -> int:
    """Bits that resolve the relative error of ``p`` to ``DIGITS`` digits even where it is far below 1."""
    scale = max(1.0, -math.log2(p.rel_error)) if p.rel_error > 0 else 64.0
    return p.precision + int(3 * (abs(p.center) + p.radius)) + int(scale) + int(DIGITS * 3.33) + 64


def true_error(p: ExpApproximation, grid: int = 200) -> mpmath.mpf:
    """``max |P(x) / e^x - 1|`` over a dense grid in ``[lower, upper]``, the end points and the extrema of
    ``T_(g+1)`` (where a truncated Chebyshev series errs most), for the stored coefficients of ``p``."""
    with mpmath.workprec(_bits_for(p)):
        c, h = mpmath.mpf(p.center), mpmath.mpf(p.radius)
        lower, upper = mpmath.mpf(p.lower), mpmath.mpf(p.upper)
        xs = [lower, upper] + [lower + (upper - lower) * j / grid for j in range(grid + 1)]
        xs += [c + h * mpmath.cos(mpmath.pi * k / (p.degree + 1)) for k in range(p.degree + 2)]
        worst = mpmath.mpf(0)
        coefficients = list(reversed(p.coefficients))
        for x in xs:
            x = min(max(x, lower), upper)
            t = (x - c) / h if h > 0 else mpmath.mpf(0)
            value = mpmath.polyval(coefficients, t)  # P(x) e^-c
            worst = max(worst, abs(value * mpmath.exp(c - x) - 1))
        return worst


radii = st.floats(-300.0, math.log10(30.0)).map(lambda e: 10.0**e)
tolerances = st.floats(-12.0, -1.0).map(lambda e: 10.0**e)


@settings(max_examples=25, deadline=None)
@given(radius=radii, eps=tolerances)
@example(radius=1e-300, eps=1e-2)
@example(radius=1.1754943508222875e-38, eps=1e-2)  # the radius where the grid once certified 5.8e-40 < 1.2e-38
@example(radius=5e-324, eps=1e-2)
@example(radius=2.225073858507203e-309, eps=1e-2)
@example(radius=30.0, eps=1e-12)
def test_chebyshev_certified_error_is_an_upper_bound(radius: float, eps: float) -> None:
    p = exp_approximation(-radius, radius, eps)
    assert p.rel_error <= eps
    assert true_error(p) <= p.rel_error <= p.rel_error_bound


@settings(max_examples=15, deadline=None)
@given(center=st.floats(-20.0, 20.0), radius=radii, eps=tolerances)
@example(center=10.5, radius=1e-300, eps=1e-3)
@example(center=-3.0, radius=1.1754943508222875e-38, eps=1e-2)
def test_asymmetric_intervals_are_covered(center: float, radius: float, eps: float) -> None:
    p = exp_approximation(center - radius, center + radius, eps)
    # the certified interval [c - h, c + h] holds [lower, upper] exactly
    assert p.center - p.radius <= p.lower and p.upper <= p.center + p.radius
    assert true_error(p) <= p.rel_error


@settings(max_examples=20, deadline=None)
@given(radius=radii, eps=tolerances)
@example(radius=1e-300, eps=1e-2)
@example(radius=1.1754943508222875e-38, eps=1e-2)
@example(radius=5e-324, eps=1e-2)
@example(radius=30.0, eps=1e-12)
def test_taylor_certified_error_is_an_upper_bound(radius: float, eps: float) -> None:
    p = exp_approximation(-radius, radius, eps, method="taylor")
    assert p.rel_error <= eps
    assert true_error(p) <= p.rel_error


def chebyshev_truncation_error(radius: float, degree: int, points: int = 64) -> mpmath.mpf:
    """``max |sum_(k>g) a_k T_k(t)| e^(-h t)`` over ``t = cos(pi j / points)`` and ``t = +-1``, with
    ``a_k = 2 I_k(h)`` from a backward recurrence normalised by mpmath's ``I_(g+1)``."""
    with mpmath.workdps(DIGITS + 20):
        h = mpmath.mpf(radius)
        terms = 80 + int(math.sqrt(radius))
        top = degree + 1 + terms
        # backward recurrence I_(k-1) = I_(k+1) + (2k/h) I_k from an arbitrary start, then normalised
        upper, current = mpmath.mpf(0), mpmath.mpf(1)
        values = {top: current}
        for k in range(top, degree + 1, -1):
            upper, current = current, upper + (2 * k / h) * current
            values[k - 1] = current
        scale = mpmath.besseli(degree + 1, h) / values[degree + 1]
        tail = [(k, 2 * values[k] * scale) for k in range(degree + 1, top + 1)]
        worst = mpmath.mpf(0)
        for j in range(points + 1):
            theta = mpmath.pi * j / points
            error = abs(mpmath.fsum(a * mpmath.cos(k * theta) for k, a in tail)) * mpmath.exp(-h * mpmath.cos(theta))
            worst = max(worst, error)
        return worst


def taylor_truncation_error(radius: float, degree: int, points: int = 64) -> mpmath.mpf:
    """``max |sum_(k>g) x^k / k!| e^-x`` over ``x`` on a grid of ``[-R, R]`` with both ends, at 50 digits."""
    with mpmath.workdps(DIGITS + 20):
        big_r = mpmath.mpf(radius)
        worst = mpmath.mpf(0)
        for j in range(points + 1):
            x = -big_r + 2 * big_r * j / points
            if x == 0:
                continue
            term = mpmath.exp((degree + 1) * mpmath.log(abs(x)) - mpmath.loggamma(degree + 2))
            term *= 1 if x > 0 or (degree + 1) % 2 == 0 else -1
            total, k = mpmath.mpf(0), degree + 1
            while True:
                total += term
                k += 1
                term *= x / k
                if abs(term) < abs(total) * mpmath.mpf(10) ** -(DIGITS + 10):
                    break
            worst = max(worst, abs(total) * mpmath.exp(-x))
        return worst


large_radii = st.floats(-300.0, 4.0).map(lambda e: 10.0**e)


@settings(max_examples=20, deadline=None)
@given(radius=large_radii, eps=tolerances, below=st.integers(0, 3))
@example(radius=1e-300, eps=1e-2, below=0)
@example(radius=1.1754943508222875e-38, eps=1e-2, below=0)
@example(radius=1e4, eps=1e-6, below=0)
@example(radius=1e4, eps=1e-12, below=2)
def test_chebyshev_tail_bound_is_an_upper_bound(radius: float, eps: float, below: int) -> None:
    degree = max(0, predict_chebyshev_degree(radius, eps) - below)
    assert chebyshev_truncation_error(radius, degree) <= chebyshev_tail_bound(radius, degree)


@settings(max_examples=20, deadline=None)
@given(radius=large_radii, eps=tolerances, below=st.integers(0, 3))
@example(radius=1e-300, eps=1e-2, below=0)
@example(radius=5e-324, eps=1e-2, below=0)
@example(radius=1e4, eps=1e-6, below=0)
def test_taylor_remainder_bound_is_an_upper_bound(radius: float, eps: float, below: int) -> None:
    degree = max(0, taylor_degree(radius, eps, even=False) - below)
    assert taylor_truncation_error(radius, degree) <= taylor_remainder_bound(radius, degree)
