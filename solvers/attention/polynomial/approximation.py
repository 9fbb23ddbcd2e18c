"""Polynomials for ``e^x`` with a relative error on an interval (Corollary 2.2).

The polynomial method replaces every entry ``e^x`` of the attention matrix by
``P(x)`` with ``|P(x) - e^x| <= eps e^x`` for all scores ``x`` in an interval
``[a, b]``. This module builds such polynomials, finds the smallest degree that
is *verified*, and compares it with the bound Alman and Song quote.

Two constructions:

``"chebyshev"``
    The Chebyshev series of ``e^x`` on ``[a, b]``, truncated at degree ``g``.
    With ``c = (a + b) / 2``, ``h = (b - a) / 2`` and ``x = c + h t``,
    ``e^(h t) = I_0(h) + 2 sum_k I_k(h) T_k(t)`` exactly (``I_k`` modified
    Bessel functions), so the coefficients are known in closed form and the
    truncation error is at most ``2 sum_{k>g} I_k(h)`` everywhere on
    ``[-1, 1]``; relative to ``e^(h t) >= e^(-h)`` this is the *tail bound*
    ``e^h 2 sum_{k>g} I_k(h)``, made rigorous by Amos's ratio bound on
    ``I_(k+1) / I_k``.
``"taylor"``
    The Taylor polynomial of ``e^x`` at 0 on ``[-R, R]`` (Keles et al. 2023),
    with the Lagrange remainder ``e^R R^(g+1) / (g+1)!`` as its relative bound.

Everything is done in mpmath at a precision chosen from the degree and the
radius (the monomial forms of these polynomials cancel about ``e^(2h)``), and
the result is then *verified*: the relative error is evaluated on a grid in
``theta`` (``t = cos theta``) that contains both end points and every extremum of
``T_(g+1)``, and a bound on its derivative covers the gaps between grid points.
Every certified error is an upper bound, however small: the precision grows
with ``log(1/error)``, and the grid adds its own rounding, the distance of the
stored (rounded) coefficients to the exact polynomial and the drift of rounded
grid points; a priori bounds are computed in mpmath and rounded up, never to 0
(at radius ``2^-126`` the certified error is ``1.1754943508222880e-38`` against a
true ``1.1754943508222875e-38``).

Examples
--------
>>> from solvers.attention.polynomial.approximation import exp_approximation, paper_degree
>>> p = exp_approximation(-1.0, 1.0, 1e-6)
>>> p.degree, p.rel_error <= 1e-6, p.certified_by
(7, True, 'grid')
>>> round(paper_degree(1.0, 1e-6), 2)  # the Theta(...) expression with constant 1
5.26
>>> float(abs(p.evaluate(-1.0) / mpmath.exp(-1) - 1)) <= 1e-6
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal

import attrs
import mpmath

from instances._validation import check_int, check_real

__all__ = [
    "ExpApproximation",
    "exp_approximation",
    "chebyshev_tail_bound",
    "taylor_remainder_bound",
    "predict_chebyshev_degree",
    "taylor_degree",
    "paper_degree",
    "explicit_degree_bound",
    "working_precision",
    "MAX_SEARCH_RADIUS",
]

Method = Literal["chebyshev", "taylor"]

_GRID_BUDGET = 400_000  # mpmath multiply-adds spent on grid verification at most
_GRID_SLACK = 0.05  # the derivative term may use this fraction of the target


def working_precision(degree: int, radius: float, eps: float = 1e-6) -> int:
    """Bits of mpmath precision used to build and convert a polynomial.

    Converting a Chebyshev series of degree ``g`` to monomials multiplies
    magnitudes by up to ``(1 + sqrt 2)^g``, and the monomial forms of a
    polynomial for ``e^x`` on a radius-``h`` interval cancel up to ``e^(2h)``;
    on top of these, 64 guard bits beyond float64's 53 and ``log2(1/eps)``.

    Examples
    --------
    >>> from solvers.attention.polynomial.approximation import working_precision
    >>> working_precision(7, 1.0)
    149
    """
    degree = check_int("degree", degree, minimum=0)
    radius = check_real("radius", radius, minimum=0)
    eps = check_real("eps", eps, minimum=0, strict_minimum=True)
    growth = 1.28 * degree + 2.9 * radius + max(0.0, -math.log2(eps))
    return 117 + math.ceil(growth)


def _amos_ratio(order: int, x: mpmath.mpf) -> mpmath.mpf:
    """Upper bound on ``I_(order+1)(x) / I_order(x)`` (Amos 1974), valid for ``order >= 0``."""
    half = mpmath.mpf(order) + mpmath.mpf(1) / 2
    return x / (half + mpmath.sqrt(half * half + x * x))


def chebyshev_tail_bound(radius: float, degree: int) -> float:
    """Rigorous bound on the relative error of the degree-``g`` Chebyshev truncation.

    ``e^h * 2 sum_{k>g} I_k(h) <= e^h 2 I_(g+1)(h) / (1 - rho)`` with
    ``rho = h / (g + 3/2 + sqrt((g + 3/2)^2 + h^2))`` bounding every later ratio
    ``I_(k+1) / I_k`` (Amos 1974). Returns ``inf`` above float range.

    Parameters
    ----------
    radius : float
        Half-width ``h >= 0`` of the interval.
    degree : int
        The degree ``g >= 0``.

    Returns
    -------
    float

    Examples
    --------
    >>> from solvers.attention.polynomial.approximation import chebyshev_tail_bound
    >>> f"{chebyshev_tail_bound(1.0, 7):.3e}"
    '5.752e-07'
    >>> chebyshev_tail_bound(0.0, 0)
    0.0
    """
    radius = check_real("radius", radius, minimum=0)
    degree = check_int("degree", degree, minimum=0)
    if radius == 0:
        return 0.0
    return _float_up(_log_tail_bound(radius, degree), log=True)


def _log_tail_bound(radius: float, degree: int) -> mpmath.mpf:
    """``log`` of the tail bound, computed with enough bits that its absolute error stays below ``2^-60``."""
    with mpmath.workprec(_log_bits(radius, degree)):
        x = mpmath.mpf(radius)
        rho = _amos_ratio(degree + 1, x)
        log_bessel: mpmath.mpf | None = None
        if radius <= _LARGE_RADIUS:
            try:
                log_bessel = mpmath.log(mpmath.besseli(degree + 1, x))
            except mpmath.libmp.NoConvergence:
                log_bessel = None
        if log_bessel is None:
            # Very large h: the series behind besseli stalls. Use the explicit bound
            # I_k(h) <= (h/2)^k e^(h^2 / (4(k+1))) / k!, from (j+k)! >= k! (k+1)^j.
            k = degree + 1
            log_bessel = k * mpmath.log(x / 2) + x * (x / (4 * (k + 1))) - mpmath.loggamma(k + 1)
        return x + mpmath.log(2) + log_bessel - mpmath.log(1 - rho)


def _log_bits(radius: float, degree: int) -> int:
    """Bits that keep the absolute error of a log-sized sum of terms up to ``(g + 2) log(g + 2) + h`` below ``2^-60``."""
    magnitude = radius + (degree + 2) * (1 + math.log(degree + 2)) + 2
    return 72 + max(0, math.frexp(magnitude)[1])


def _float_up(value: mpmath.mpf, *, log: bool = False) -> float:
    """The float just above ``value`` (or above ``e^value`` when ``log``): ``inf`` above float64's
    range, the smallest subnormal rather than 0 below it. Certified bounds go through here."""
    if log:
        if value > 710:
            return math.inf
        if value < -746:
            return 5e-324
        with mpmath.workprec(max(mpmath.mp.prec, 64) + 16):
            value = mpmath.exp(value) * (1 + mpmath.mpf(2) ** -58)
    if value <= 0:
        return 0.0 if value == 0 else -_float_up(-value)
    result = float(value)
    if math.isinf(result):
        return math.inf
    if mpmath.mpf(result) < value:
        result = math.nextafter(result, math.inf)
    return result


def taylor_remainder_bound(radius: float, degree: int) -> float:
    """Lagrange bound ``e^R R^(g+1) / (g+1)!`` on the relative error of the Taylor polynomial.

    For ``x in [-R, 0]`` the remainder is at most ``|x|^(g+1) / (g+1)!`` and
    ``e^x >= e^-R``; for ``x in [0, R]`` it is at most ``x^(g+1) e^x / (g+1)!``.

    Examples
    --------
    >>> from solvers.attention.polynomial.approximation import taylor_remainder_bound
    >>> f"{taylor_remainder_bound(1.0, 10):.3e}"
    '6.810e-08'
    """
    radius = check_real("radius", radius, minimum=0)
    degree = check_int("degree", degree, minimum=0)
    if radius == 0:
        return 0.0
    with mpmath.workprec(_log_bits(radius, degree)):
        x = mpmath.mpf(radius)
        log_bound = x + (degree + 1) * mpmath.log(x) - mpmath.loggamma(degree + 2)
        return _float_up(log_bound, log=True)


def _search_degree(bound: Callable[[int], float], eps: float, start: int = 0, step: int = 1) -> int:
    """Smallest ``g >= start`` (in steps of ``step``) with ``bound(g) <= eps``; ``bound`` decreases in ``g``
    once ``g`` is past the radius, so search by doubling then bisection above a linear scan."""
    g = start
    while g < start + 64 * step:
        if bound(g) <= eps:
            return g
        g += step
    low, high = g, 2 * g
    while not bound(high) <= eps:
        low, high = high, 2 * high
    while high - low > step:
        middle = low + ((high - low) // (2 * step)) * step
        if middle == low:
            break
        if bound(middle) <= eps:
            high = middle
        else:
            low = middle
    return high


_LARGE_RADIUS = 1e4
"""Above this half-width the degree search uses the explicit Bessel bound in floats."""

MAX_SEARCH_RADIUS: float = 2.0**52
"""Largest radius whose degree the searches find (the degree, about ``2.3 h``, stays an exact float)."""


def _search_radius(radius: Any) -> float:
    radius = check_real("radius", radius, minimum=0)
    if radius > MAX_SEARCH_RADIUS:
        raise ValueError(
            f"'radius' must be <= 2^52 = {MAX_SEARCH_RADIUS:.4g} for a degree search (got {radius!r}); "
            f"the degree would be about {2.2 * radius:.3g}"
        )
    return radius


def _explicit_log_tail(radius: float, degree: int) -> float:
    """``log`` of the tail bound with ``I_k(h) <= (h/2)^k e^(h^2/(4(k+1))) / k!`` (``k = g + 1``)."""
    k = degree + 1
    rho = radius / (k + 0.5 + math.hypot(k + 0.5, radius))
    log_bessel = k * math.log(radius / 2) + radius * (radius / (4 * (k + 1))) - math.lgamma(k + 1)
    return radius + math.log(2) + log_bessel - math.log1p(-rho)


@functools.lru_cache(maxsize=1024)
def _predict_chebyshev(radius: float, eps: float) -> int:
    if radius == 0:
        return 0
    start = max(0, 2 * int(radius) - 64) if radius > 64 else 0
    if radius > _LARGE_RADIUS:
        # Bessel evaluations in mpmath take seconds per call out here; the explicit
        # bound is still rigorous (so the degree is never too small) and costs nothing.
        log_eps = math.log(eps)
        return _search_degree(lambda g: 0.0 if _explicit_log_tail(radius, g) <= log_eps else math.inf, 0.5, start=start)
    return _search_degree(lambda g: chebyshev_tail_bound(radius, g), eps, start=start)


def predict_chebyshev_degree(radius: float, eps: float) -> int:
    """Smallest degree whose Chebyshev tail bound is at most ``eps`` (no polynomial is built).

    Fast even for huge radii (a few Bessel evaluations), so an oracle can
    predict the degree before deciding whether to build anything.

    Examples
    --------
    >>> from solvers.attention.polynomial.approximation import predict_chebyshev_degree
    >>> predict_chebyshev_degree(1.0, 1e-6), predict_chebyshev_degree(4.0, 1e-6)
    (7, 15)
    >>> predict_chebyshev_degree(2460.0, 1e-6)
    5500
    """
    radius = _search_radius(radius)
    eps = check_real("eps", eps, minimum=0, strict_minimum=True)
    return _predict_chebyshev(radius, eps)


@functools.lru_cache(maxsize=1024)
def _taylor_degree(radius: float, eps: float, even: bool) -> int:
    if radius == 0:
        return 0
    step = 2 if even else 1
    return _search_degree(lambda g: taylor_remainder_bound(radius, g), eps, start=0, step=step)


def taylor_degree(radius: float, eps: float, *, even: bool = True) -> int:
    """Smallest (even) degree whose Lagrange bound is at most ``eps``.

    Examples
    --------
    >>> from solvers.attention.polynomial.approximation import taylor_degree
    >>> taylor_degree(1.0, 1e-6), taylor_degree(1.0, 1e-6, even=False)
    (10, 9)
    """
    radius = _search_radius(radius)
    eps = check_real("eps", eps, minimum=0, strict_minimum=True)
    if not isinstance(even, bool):
        raise TypeError(f"'even' must be a bool (got {even!r})")
    return _taylor_degree(radius, eps, even)


def paper_degree(radius: float, eps: float) -> float:
    """The paper's degree ``max{log(1/eps) / log(log(1/eps)/R), R}`` with constant 1.

    Corollary 2.2 states ``g = Theta(...)`` of this expression; the logarithm in
    the denominator is taken as at least 1 (the expression is meant for
    ``log(1/eps) >> R``).

    Examples
    --------
    >>> from solvers.attention.polynomial.approximation import paper_degree
    >>> round(paper_degree(1.0, 1e-6), 3), paper_degree(50.0, 1e-6)
    (5.261, 50.0)
    """
    radius = check_real("radius", radius, minimum=0)
    eps = check_real("eps", eps, minimum=0, strict_minimum=True, maximum=1)
    log_inverse = math.log(1.0 / eps)
    if radius == 0:
        return log_inverse / max(1.0, math.log(log_inverse)) if log_inverse > 0 else 0.0
    first = log_inverse / max(1.0, math.log(log_inverse / radius)) if log_inverse > 0 else 0.0
    return max(first, radius)


def explicit_degree_bound(radius: float, eps: float) -> int:
    """An explicit degree that Corollary 2.2's construction never needs to exceed.

    From ``I_k(h) <= (h/2)^k e^(h^2 / (4(k+1))) / k!``: the smallest ``g`` with
    ``2 e^(h + h^2/(4(g+2))) (h/2)^(g+1) / ((g+1)! (1 - h/(2(g+2)))) <= eps``.
    This is ``Theta(max{log(1/eps) / log(log(1/eps)/h), h})`` (about ``2.3 h``
    for large ``h``) and bounds :func:`predict_chebyshev_degree` from above.

    Examples
    --------
    >>> from solvers.attention.polynomial.approximation import explicit_degree_bound
    >>> explicit_degree_bound(1.0, 1e-6), explicit_degree_bound(16.0, 1e-6)
    (7, 43)
    """
    radius = _search_radius(radius)
    eps = check_real("eps", eps, minimum=0, strict_minimum=True)
    if radius == 0:
        return 0
    h = radius

    def bound(g: int) -> float:
        ratio = h / (2 * (g + 2))
        if ratio >= 1:
            return math.inf
        log_value = (
            math.log(2)
            + h
            + h * (h / (4 * (g + 2)))
            + (g + 1) * math.log(h / 2)
            - math.lgamma(g + 2)
            - math.log1p(-ratio)
        )
        return math.exp(log_value) if log_value < 709 else math.inf

    return _search_degree(bound, eps, start=max(0, 2 * int(h) - 64) if h > 64 else 0)


def _check_method(value: str) -> str:
    if value not in ("chebyshev", "taylor"):
        raise ValueError(f"'method' must be 'chebyshev' or 'taylor' (got {value!r})")
    return value


@attrs.frozen
class ExpApproximation:
    """A polynomial ``P`` with ``|P(x) - e^x| <= rel_error * e^x`` on ``[lower, upper]``.

    ``P(x) = e^c sum_k coefficients[k] t^k`` with ``t = (x - c) / h``,
    ``c = (lower + upper) / 2`` and ``h = (upper - lower) / 2`` (``t = 0`` when
    ``h = 0``). The factor ``e^c`` is common to every entry, so attention never
    needs it. Build instances with :func:`exp_approximation`.

    Parameters
    ----------
    method : {"chebyshev", "taylor"}
    lower, upper : float
        The interval (``taylor`` is always centred at 0).
    degree : int
    eps : float
        The relative error asked for.
    coefficients : tuple of mpmath.mpf
        Monomial coefficients in ``t`` (exact to ``precision`` bits).
    precision : int
        Bits used for the coefficients and every conversion.
    rel_error : float
        Guaranteed maximum relative error on the interval (``<= eps`` when the
        degree was searched for).
    rel_error_bound : float
        The a priori bound (Chebyshev tail or Lagrange remainder).
    certified_by : {"grid", "bound"}
        Whether ``rel_error`` comes from the verification grid (plus the
        derivative term) or from the a priori bound.

    Examples
    --------
    >>> from solvers.attention.polynomial.approximation import exp_approximation
    >>> p = exp_approximation(0.0, 8.0, 1e-6)
    >>> p.center, p.radius, p.degree
    (4.0, 4.0, 15)
    >>> p.rel_error <= 1e-6, p.certified_by
    (True, 'grid')
    """

    method: str = attrs.field(converter=_check_method)
    lower: float
    upper: float
    degree: int
    eps: float
    coefficients: tuple[mpmath.mpf, ...] = attrs.field(repr=False)
    precision: int = attrs.field(repr=False)
    rel_error: float
    rel_error_bound: float
    certified_by: str

    @property
    def center(self) -> float:
        """``c = (lower + upper) / 2`` (rounded)."""
        return _center_radius(self.lower, self.upper)[0]

    @property
    def radius(self) -> float:
        """``h = (upper - lower) / 2``, rounded up where needed so that ``[c - h, c + h]`` holds the interval."""
        return _center_radius(self.lower, self.upper)[1]

    def evaluate(self, x: float | mpmath.mpf) -> mpmath.mpf:
        """``P(x)`` in mpmath (including the factor ``e^c``).

        >>> from solvers.attention.polynomial.approximation import exp_approximation
        >>> p = exp_approximation(-2.0, 2.0, 1e-8)
        >>> float(abs(p.evaluate(0.5) / mpmath.exp(0.5) - 1)) < 1e-8
        True
        """
        with mpmath.workprec(self.precision):
            t = mpmath.mpf(0)
            if self.radius > 0:
                t = (mpmath.mpf(x) - mpmath.mpf(self.center)) / mpmath.mpf(self.radius)
            return mpmath.exp(mpmath.mpf(self.center)) * _horner(self.coefficients, t)

    @cached_property
    def power_coefficients(self) -> tuple[mpmath.mpf, ...]:
        """Coefficients ``gamma_j`` of ``P(x) e^(-c) = sum_j gamma_j x^j`` (powers of the score itself).

        These feed the symmetric tensor features. Their float64 evaluation
        cancels about ``sum_j |gamma_j| X^j / min P`` (see
        :meth:`condition_number`).

        >>> from solvers.attention.polynomial.approximation import exp_approximation
        >>> p = exp_approximation(-1.0, 1.0, 1e-6)
        >>> [round(float(c), 4) for c in p.power_coefficients[:4]]
        [1.0, 1.0, 0.5, 0.1667]
        """
        extra = 16 + math.ceil(2.9 * abs(self.center))
        with mpmath.workprec(self.precision + extra):
            c, h = mpmath.mpf(self.center), mpmath.mpf(self.radius)
            if self.radius == 0:
                return (self.coefficients[0],) + (mpmath.mpf(0),) * self.degree
            scaled = [b / h**k for k, b in enumerate(self.coefficients)]
            return tuple(_taylor_shift(scaled, -c))

    @cached_property
    def _float_t_coefficients(self) -> tuple[float, ...]:
        return tuple(float(b) for b in self.coefficients)

    @cached_property
    def _float_power_coefficients(self) -> tuple[float, ...]:
        return tuple(float(g) for g in self.power_coefficients)

    @cached_property
    def _log2_t_condition(self) -> float:
        with mpmath.workprec(64):
            total = mpmath.fsum(abs(b) for b in self.coefficients)
            if total == 0 or not self.rel_error < 1:
                return math.inf
            # sum |b_k| e^h / (1 - rel_error), rounded up by a margin far above the rounding of these few operations
            log2 = (
                mpmath.log(total) + mpmath.mpf(self.radius) - mpmath.log1p(-mpmath.mpf(self.rel_error))
            ) / mpmath.log(2)
            return float(log2) + 2.0**-40 * (1 + abs(float(log2))) + 4 * (self.degree + 4) * 2.0**-53

    def log2_t_condition_number(self) -> float:
        """``log2`` of :meth:`t_condition_number`, finite however large the radius (``inf`` only when
        ``rel_error >= 1``).

        >>> from solvers.attention.polynomial.approximation import exp_approximation
        >>> round(exp_approximation(-1.0, 1.0, 1e-6).log2_t_condition_number(), 3)  # log2(e^2)
        2.885
        >>> round(exp_approximation(-400.0, 400.0, 1e-6).log2_t_condition_number())  # beyond float64
        1154
        """
        return self._log2_t_condition

    def t_condition_number(self) -> float:
        """``sum_k |coefficients[k]| / ((1 - rel_error) e^-h)``, at least ``sum |b_k| / min P e^-c`` on ``[-1, 1]``.

        Horner's rule in ``t`` (the dense route) has relative rounding error at
        most ``gamma_(2g+2)`` times this: about ``e^(2h)``; ``inf`` beyond float64
        (see :meth:`log2_t_condition_number`).

        >>> from solvers.attention.polynomial.approximation import exp_approximation
        >>> round(exp_approximation(-1.0, 1.0, 1e-6).t_condition_number(), 2)  # about e^2
        7.39
        """
        log2 = self._log2_t_condition
        return math.inf if log2 >= 1023 else 2.0**log2

    def condition_number(self, score_bound: float) -> float:
        """``sum_j |gamma_j| X^j / ((1 - rel_error) e^-h)`` for ``X = score_bound``.

        Every float64 evaluation of ``P`` through its powers of ``x`` (and so the
        feature route) has relative rounding error at most a small multiple of
        ``u`` times this: about ``e^(2h)`` for a centred interval. Computed in
        float64 from positive terms and rounded up; ``inf`` beyond float64.

        >>> from solvers.attention.polynomial.approximation import exp_approximation
        >>> round(exp_approximation(-1.0, 1.0, 1e-6).condition_number(1.0), 2)  # about e^2
        7.39
        """
        score_bound = check_real("score_bound", score_bound, minimum=0)
        if self._log2_t_condition >= 1023 or self.radius >= 700:
            return math.inf  # float64 cannot hold P(b) / P(a) ~ e^(2h), let alone this
        total = 0.0
        for gamma in reversed(self._float_power_coefficients):
            total = total * score_bound + abs(gamma)
        return self._ratio(total)

    @cached_property
    def _minimum(self) -> float:
        """``(1 - rel_error) e^-h``, a lower bound of ``P e^-c`` on the interval."""
        return (1 - self.rel_error) * math.exp(-self.radius) if self.radius < 700 else 0.0

    def _ratio(self, total: float) -> float:
        minimum = self._minimum
        if not math.isfinite(total) or minimum <= 0:
            return math.inf
        value = total / minimum * (1 + 4 * (self.degree + 4) * 2.0**-53)
        return value if math.isfinite(value) else math.inf

    @cached_property
    def _log_derivative(self) -> float:
        return self._compute_log_derivative()

    def log_derivative_bound(self) -> float:
        """Bound on ``|dP/dt| / P`` over ``t in [-1, 1]`` (so ``|d log P / dx| <= this / h``).

        For the Chebyshev construction ``dP/dt = h e^(ht) - sum_(k>g) a_k T_k'(t)``
        with ``|T_k'| <= k^2``; for Taylor ``dP/dt = h P_(g-1)`` with ``P_(g-1) <= e^(ht)/(1 - err)``.

        >>> from solvers.attention.polynomial.approximation import exp_approximation
        >>> round(exp_approximation(-3.0, 3.0, 1e-6).log_derivative_bound(), 4)
        3.0
        """
        return self._log_derivative

    def _compute_log_derivative(self) -> float:
        h = self.radius
        if h == 0 or self.degree == 0:
            return 0.0 if self.degree == 0 else h
        err = self.rel_error
        if self.method == "taylor":
            lower_err = taylor_remainder_bound(h, self.degree - 1)
            return h * (1 + lower_err) / (1 - err)
        with mpmath.workprec(64):
            x = mpmath.mpf(h)
            g = self.degree
            rho = _amos_ratio(g + 1, x)
            first = 2 * mpmath.besseli(g + 1, x)
            # sum_{k>g} k^2 a_k <= a_(g+1) sum_j (g+1+j)^2 rho^j
            k0 = mpmath.mpf(g + 1)
            series = (k0 * k0) / (1 - rho) + (2 * k0 + 1) * rho / (1 - rho) ** 2 + 2 * rho**2 / (1 - rho) ** 3
            derivative = mpmath.exp(x) * first * series
            return float((x + derivative) / (1 - mpmath.mpf(err))) * (1 + 2.0**-50)

    def float_power_coefficients(self) -> list[float]:
        """``power_coefficients`` rounded to float64 (each within one rounding).

        >>> from solvers.attention.polynomial.approximation import exp_approximation
        >>> len(exp_approximation(-1.0, 1.0, 1e-6).float_power_coefficients())
        8
        """
        return list(self._float_power_coefficients)

    def describe(self) -> str:
        """One line: method, interval, degree, error, and the paper's Theta expression.

        >>> from solvers.attention.polynomial.approximation import exp_approximation
        >>> exp_approximation(-1.0, 1.0, 1e-6).describe()
        'chebyshev degree 7 on [-1, 1] (radius 1): relative error 5.41e-07 <= 1e-06 (grid-verified); paper Theta-expression 5.26'
        """
        certified = "grid-verified" if self.certified_by == "grid" else "tail bound"
        return (
            f"{self.method} degree {self.degree} on [{self.lower:.6g}, {self.upper:.6g}] (radius {self.radius:.6g}): "
            f"relative error {self.rel_error:.3g} <= {self.eps:.3g} ({certified}); "
            f"paper Theta-expression {paper_degree(self.radius, min(self.eps, 1.0)):.3g}"
        )


def _horner(coefficients: Sequence[mpmath.mpf], t: mpmath.mpf) -> mpmath.mpf:
    value = mpmath.mpf(0)
    for coefficient in reversed(coefficients):
        value = value * t + coefficient
    return value


def _taylor_shift(coefficients: list[mpmath.mpf], shift: mpmath.mpf) -> list[mpmath.mpf]:
    """Coefficients of ``p(y + shift)`` in powers of ``y`` from those of ``p`` (synthetic division, O(g^2))."""
    result = list(coefficients)
    n = len(result)
    if shift == 0:
        return result
    for i in range(n - 1):
        for j in range(n - 2, i - 1, -1):
            result[j] += shift * result[j + 1]
    return result


def _chebyshev_coefficients(radius: float, degree: int) -> list[mpmath.mpf]:
    """``a_0 = I_0(h)``, ``a_k = 2 I_k(h)``: the Chebyshev series of ``e^(h t)`` (current precision).

    ``I_(g+1)`` and ``I_g`` come from mpmath; the rest from the backward
    recurrence ``I_(k-1) = I_(k+1) + (2k/h) I_k``, which is stable downwards
    (every term is positive).
    """
    x = mpmath.mpf(radius)
    if radius == 0:
        return [mpmath.mpf(1)] + [mpmath.mpf(0)] * degree
    if degree == 0:
        return [mpmath.besseli(0, x)]
    upper, current = mpmath.besseli(degree + 1, x), mpmath.besseli(degree, x)
    values = [mpmath.mpf(0)] * (degree + 1)
    values[degree] = current
    for k in range(degree, 0, -1):
        upper, current = current, upper + (2 * k / x) * current
        values[k - 1] = current
    return [values[0]] + [2 * v for v in values[1:]]


def _chebyshev_to_monomial(chebyshev: list[mpmath.mpf]) -> list[mpmath.mpf]:
    """Monomial coefficients of ``sum_k a_k T_k(t)`` (three-term recurrence on coefficient lists)."""
    n = len(chebyshev)
    result = [mpmath.mpf(0)] * n
    previous = [mpmath.mpf(1)]  # T_0
    current = [mpmath.mpf(0), mpmath.mpf(1)]  # T_1
    result[0] += chebyshev[0]
    if n > 1:
        result[1] += chebyshev[1]
    for k in range(2, n):
        following = [mpmath.mpf(0)] * (k + 1)
        for j, value in enumerate(current):
            following[j + 1] += 2 * value
        for j, value in enumerate(previous):
            following[j] -= value
        for j, value in enumerate(following):
            if value:
                result[j] += chebyshev[k] * value
        previous, current = current, following
    return result


def _grid_error(coefficients: Sequence[mpmath.mpf], radius: float, points: int) -> mpmath.mpf:
    """Largest ``|P(t) e^(-h t) - 1|`` on ``t = cos(pi j / points)``, ``j = 0..points`` (current precision)."""
    h = mpmath.mpf(radius)
    worst = mpmath.mpf(0)
    step = mpmath.pi / points
    for j in range(points + 1):
        t = mpmath.cos(step * j)
        error = abs(_horner(coefficients, t) * mpmath.exp(-h * t) - 1)
        if error > worst:
            worst = error
    return worst


def _theta_lipschitz(radius: float, degree: int) -> mpmath.mpf:
    """Bound on ``|dE/dtheta|`` for ``E = P(cos theta) e^(-h cos theta) - 1`` (Chebyshev truncation):
    ``e^h (h sum_(k>g) a_k + sum_(k>g) k a_k)``."""
    x = mpmath.mpf(radius)
    rho = _amos_ratio(degree + 1, x)
    first = 2 * mpmath.besseli(degree + 1, x)
    k0 = mpmath.mpf(degree + 1)
    tail = first / (1 - rho)
    weighted = first * (k0 / (1 - rho) + rho / (1 - rho) ** 2)
    return mpmath.exp(x) * (x * tail + weighted)


def _build(method: str, lower: float, upper: float, degree: int, eps: float, verify: bool) -> ExpApproximation:
    radius = _center_radius(lower, upper)[1]
    # the a priori bound (rounded up), for the exact polynomial
    bound = taylor_remainder_bound(radius, degree) if method == "taylor" else chebyshev_tail_bound(radius, degree)
    # enough bits that rounding the coefficients stays far below the error, however small the error is
    precision = working_precision(degree, radius, min(eps, 0.5, bound) if bound > 0 else min(eps, 0.5))
    unit = mpmath.mpf(2) ** -precision
    with mpmath.workprec(precision):
        h = mpmath.mpf(radius)
        if method == "taylor":
            factorial = mpmath.mpf(1)
            coefficients = []
            for k in range(degree + 1):
                if k:
                    factorial *= k
                coefficients.append(h**k / factorial)
            # each h^k / k! is within (k + 4) u of its value
            drift = (degree + 4) * unit * mpmath.fsum(coefficients) if radius > 0 else mpmath.mpf(0)
        else:
            chebyshev = _chebyshev_coefficients(radius, degree)
            coefficients = _chebyshev_to_monomial(chebyshev)
            # Bessel values within (3g + 8) u (positive backward recurrence); the conversion adds
            # gamma_(g+2) sum_k |a_k| ||T_k||_1 with ||T_k||_1 <= (1 + sqrt 2)^k
            growth = 1 + mpmath.sqrt(2)
            weighted = mpmath.fsum(abs(a) * growth**k for k, a in enumerate(chebyshev))
            drift = (4 * degree + 12) * unit * weighted if radius > 0 else mpmath.mpf(0)
        # sup_t |P(t) - P_exact(t)| e^(-h t) <= drift e^h: the stored polynomial's distance to the exact one
        drift = drift * mpmath.exp(h) * (1 + mpmath.mpf(2) ** -40)
        certified = mpmath.mpf(bound) + drift
        rel_error_bound = _float_up(certified)
        rel_error, certified_by = rel_error_bound, "bound"
        if method == "chebyshev" and verify and radius > 0:
            verified = _verify_on_grid(coefficients, radius, degree, min(bound, eps), drift)
            if verified is not None and verified < certified:
                rel_error, certified_by = _float_up(verified), "grid"
        return ExpApproximation(
            method, lower, upper, degree, eps, tuple(coefficients), precision, rel_error, rel_error_bound, certified_by
        )


def _verify_on_grid(
    coefficients: Sequence[mpmath.mpf], radius: float, degree: int, goal: float, drift: mpmath.mpf
) -> mpmath.mpf | None:
    """A rigorous bound on ``sup |P(t) e^(-h t) - 1|`` over ``[-1, 1]`` from a grid in ``theta``, or None when
    the grid would exceed the budget.

    With ``E`` the exact truncation's error, ``L`` a bound on ``|dE/dtheta|`` and ``N`` grid intervals:
    ``sup |E_P| <= max_j |E_P(t_j)| + rounding + L (pi / (2N) + 4 sqrt(u)) + 2 drift``, where ``drift``
    bounds ``|P - P_exact| e^(-h t)``, ``rounding`` the error of evaluating ``E_P`` at ``u = 2^-bits``
    (Horner with ``|t| <= 1``: ``gamma_2g sum |b_k|``; the exponential and the products: ``(h + 6) u``), and
    ``4 sqrt(u)`` the distance in ``theta`` that rounding ``t_j = cos(theta_j)`` may move a grid point.
    """
    lipschitz = _theta_lipschitz(radius, degree) * (1 + mpmath.mpf(2) ** -40)
    target = mpmath.mpf(goal) * _GRID_SLACK
    if not target > 0:
        return None
    points = int(mpmath.ceil(mpmath.pi * lipschitz / (2 * target)))
    points = max(degree + 1, ((points + degree) // (degree + 1)) * (degree + 1))
    if points * (degree + 2) > _GRID_BUDGET:
        return None
    h = mpmath.mpf(radius)
    scale = mpmath.fsum(abs(b) for b in coefficients) * mpmath.exp(h)  # bounds |P(t)| e^(-h t) on [-1, 1]
    amplification = (2 * degree + 10 + h) * scale + 4
    bits = max(mpmath.mp.prec, int(mpmath.ceil(mpmath.log(amplification / target, 2))) + 24)
    with mpmath.workprec(bits):
        grid = _grid_error(coefficients, radius, points)
        unit = mpmath.mpf(2) ** -bits
        rounding = amplification * unit
        gaps = lipschitz * (mpmath.pi / (2 * points) + 4 * mpmath.sqrt(unit))
        return (grid + rounding + gaps + 2 * drift) * (1 + mpmath.mpf(2) ** -40)


@functools.lru_cache(maxsize=256)
def _cached(method: str, lower: float, upper: float, eps: float, degree: int | None, verify: bool) -> ExpApproximation:
    radius = _center_radius(lower, upper)[1]
    if degree is not None:
        return _build(method, lower, upper, degree, eps, verify)
    if method == "taylor":
        return _cached(method, lower, upper, eps, taylor_degree(radius, eps), verify)
    best = _cached(method, lower, upper, eps, predict_chebyshev_degree(radius, eps), verify)
    # the grid may certify a smaller degree than the tail bound
    while verify and best.degree > 0 and best.certified_by == "grid":
        candidate = _cached(method, lower, upper, eps, best.degree - 1, verify)
        if candidate.certified_by != "grid" or candidate.rel_error > eps:
            break
        best = candidate
    return best


def exp_approximation(
    lower: float,
    upper: float,
    eps: float,
    *,
    method: Method = "chebyshev",
    degree: int | None = None,
    verify: bool = True,
) -> ExpApproximation:
    """A polynomial for ``e^x`` with relative error ``eps`` on ``[lower, upper]``, of the smallest verified degree.

    Parameters
    ----------
    lower, upper : float
        The interval; ``lower <= upper``. For ``method="taylor"`` it must be
        symmetric (``lower = -upper``): the Taylor polynomial is taken at 0.
    eps : float
        Relative error asked for, ``0 < eps < 1``.
    method : {"chebyshev", "taylor"}
        Truncated Chebyshev series (Corollary 2.2's construction) or Taylor
        polynomial at 0 (Keles et al.).
    degree : int, optional
        Build this degree instead of searching; ``rel_error`` then says what it
        achieves (possibly more than ``eps``).
    verify : bool
        Verify on a grid in mpmath (when it costs at most a few hundred thousand
        operations); otherwise the a priori bound is the guarantee.

    Returns
    -------
    ExpApproximation
        Cached: the same arguments return the same object.

    Raises
    ------
    ValueError
        ``lower > upper``, ``eps`` outside ``(0, 1)``, or an asymmetric Taylor interval.

    Notes
    -----
    **Degree search (Chebyshev).** The smallest ``g`` whose rigorous tail bound
    is at most ``eps`` is found first (doubling and bisection over Bessel
    values); then ``g - 1``, ``g - 2``, ... are verified on the grid and kept while
    the verified error (grid maximum plus ``pi L / (2N)``, ``L`` a bound on the
    ``theta``-derivative of the relative error, ``N`` grid intervals) stays below
    ``eps``. Grid and bound are rigorous including rounding: both add the
    distance of the stored coefficients to the exact polynomial, the grid its
    evaluation error at a precision chosen from the error it certifies.

    **Taylor.** The smallest degree whose Lagrange bound is below ``eps``; even
    degrees only (an odd Taylor polynomial of ``e^x`` has a real root, left of
    which it is negative). Pass ``degree`` to build any degree.

    References
    ----------
    J. Alman, Z. Song, "Fast Attention Requires Bounded Entries", NeurIPS 2023,
    Lemma 2.1 and Corollary 2.2. D. E. Amos, "Computation of modified Bessel
    functions and their ratios", Math. Comp. 28 (1974).

    Examples
    --------
    >>> from solvers.attention.polynomial.approximation import exp_approximation
    >>> [exp_approximation(-r, r, 1e-6).degree for r in (0.25, 1.0, 4.0)]
    [4, 7, 15]
    >>> exp_approximation(-1.0, 1.0, 1e-6, method="taylor").degree
    10
    >>> exp_approximation(1.0, -1.0, 1e-6)
    Traceback (most recent call last):
    ...
    ValueError: 'lower' must be <= 'upper' (got 1.0 > -1.0)
    """
    lower = check_real("lower", lower)
    upper = check_real("upper", upper)
    eps = check_real("eps", eps, minimum=0, strict_minimum=True)
    if not eps < 1:
        raise ValueError(f"'eps' must be < 1 (got {eps!r})")
    if lower > upper:
        raise ValueError(f"'lower' must be <= 'upper' (got {lower!r} > {upper!r})")
    _check_method(method)
    if method == "taylor" and lower != -upper:
        raise ValueError(f"a Taylor polynomial at 0 needs a symmetric interval (got [{lower!r}, {upper!r}])")
    if degree is not None:
        degree = check_int("degree", degree, minimum=0)
    if not isinstance(verify, bool):
        raise TypeError(f"'verify' must be a bool (got {verify!r})")
    if not math.isfinite(upper - lower):
        raise ValueError(f"the interval [{lower!r}, {upper!r}] is wider than float64 can hold")
    return _cached(method, lower, upper, eps, degree, verify)


@functools.lru_cache(maxsize=1024)
def _center_radius(lower: float, upper: float) -> tuple[float, float]:
    """``c = fl((a + b) / 2)`` and the least float ``h`` with ``[c - h, c + h]`` containing ``[a, b]`` exactly
    (``(b - a) / 2`` itself unless the centre was rounded)."""
    c = (lower + upper) / 2
    h = max(upper - c, c - lower, 0.0)
    while Fraction(c) - Fraction(h) > Fraction(lower) or Fraction(c) + Fraction(h) < Fraction(upper):
        h = math.nextafter(h, math.inf)
    return c, h
