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
from functools import cached_property
from typing import Literal

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
    growth = 1.28 * degree + 2.9 * radius + max(0.0, math.log2(1.0 / eps))
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
    with mpmath.workprec(64):
        x = mpmath.mpf(radius)
        rho = _amos_ratio(degree + 1, x)
        try:
            log_bessel = mpmath.log(mpmath.besseli(degree + 1, x))
        except mpmath.libmp.NoConvergence:
            # Very large h: the series behind besseli stalls. Use the explicit bound
            # I_k(h) <= (h/2)^k e^(h^2 / (4(k+1))) / k!, from (j+k)! >= k! (k+1)^j.
            k = degree + 1
            log_bessel = k * mpmath.log(x / 2) + x**2 / (4 * (k + 1)) - mpmath.loggamma(k + 1)
        log_bound = x + mpmath.log(2) + log_bessel - mpmath.log(1 - rho)
        return _exp_float(log_bound)


def _exp_float(log_value: mpmath.mpf) -> float:
    if log_value > 709:
        return math.inf
    return float(mpmath.exp(log_value)) * (1 + 2.0**-50)


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
    log_bound = radius + (degree + 1) * math.log(radius) - math.lgamma(degree + 2)
    return math.exp(log_bound) * (1 + 2.0**-50) if log_bound < 709 else math.inf


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


def _explicit_log_tail(radius: float, degree: int) -> float:
    """``log`` of the tail bound with ``I_k(h) <= (h/2)^k e^(h^2/(4(k+1))) / k!`` (``k = g + 1``)."""
    k = degree + 1
    rho = radius / (k + 0.5 + math.sqrt((k + 0.5) ** 2 + radius**2))
    log_bessel = k * math.log(radius / 2) + radius**2 / (4 * (k + 1)) - math.lgamma(k + 1)
    return radius + math.log(2) + log_bessel - math.log1p(-rho)


@functools.lru_cache(maxsize=1024)
def _predict_chebyshev(radius: float, eps: float) -> int:
    if radius == 0:
        return 0
    start = max(0, int(2 * radius) - 64) if radius > 64 else 0
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
    radius = check_real("radius", radius, minimum=0)
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
    radius = check_real("radius", radius, minimum=0)
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
    radius = check_real("radius", radius, minimum=0)
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
            + h * h / (4 * (g + 2))
            + (g + 1) * math.log(h / 2)
            - math.lgamma(g + 2)
            - math.log1p(-ratio)
        )
        return math.exp(log_value) if log_value < 709 else math.inf

    return _search_degree(bound, eps, start=max(0, int(2 * h) - 64) if h > 64 else 0)


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
        """``c = (lower + upper) / 2``."""
        return (self.lower + self.upper) / 2

    @property
    def radius(self) -> float:
        """``h = (upper - lower) / 2``."""
        return (self.upper - self.lower) / 2

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
    def _float_coefficients(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return tuple(float(b) for b in self.coefficients), tuple(float(g) for g in self.power_coefficients)

    @cached_property
    def _minimum(self) -> float:
        """``(1 - rel_error) e^-h``, a lower bound of ``P e^-c`` on the interval."""
        return (1 - self.rel_error) * math.exp(-self.radius) if self.radius < 700 else 0.0

    def t_condition_number(self) -> float:
        """``sum_k |coefficients[k]| / ((1 - rel_error) e^-h)``, at least ``sum |b_k| / min P e^-c`` on ``[-1, 1]``.

        Horner's rule in ``t`` (the dense route) has relative rounding error at
        most ``gamma_(2g+2)`` times this: about ``e^(2h)``.

        >>> from solvers.attention.polynomial.approximation import exp_approximation
        >>> round(exp_approximation(-1.0, 1.0, 1e-6).t_condition_number(), 2)  # about e^2
        7.39
        """
        return self._ratio(math.fsum(abs(b) for b in self._float_coefficients[0]))

    def condition_number(self, score_bound: float) -> float:
        """``sum_j |gamma_j| X^j / ((1 - rel_error) e^-h)`` for ``X = score_bound``.

        Every float64 evaluation of ``P`` through its powers of ``x`` (and so the
        feature route) has relative rounding error at most a small multiple of
        ``u`` times this: about ``e^(2h)`` for a centred interval. Computed in
        float64 from positive terms and rounded up.

        >>> from solvers.attention.polynomial.approximation import exp_approximation
        >>> round(exp_approximation(-1.0, 1.0, 1e-6).condition_number(1.0), 2)  # about e^2
        7.39
        """
        score_bound = check_real("score_bound", score_bound, minimum=0)
        total = 0.0
        for gamma in reversed(self._float_coefficients[1]):
            total = total * score_bound + abs(gamma)
        return self._ratio(total)

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
        return list(self._float_coefficients[1])

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


def _grid_error(coefficients: Sequence[mpmath.mpf], radius: float, degree: int, points: int) -> mpmath.mpf:
    """Largest ``|P(t) e^(-h t) - 1|`` on ``t = cos(pi j / points)``, ``j = 0..points``."""
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
    radius = (upper - lower) / 2
    precision = working_precision(degree, radius, min(eps, 0.5))
    with mpmath.workprec(precision):
        h = mpmath.mpf(radius)
        if method == "taylor":
            factorial = mpmath.mpf(1)
            coefficients = []
            for k in range(degree + 1):
                if k:
                    factorial *= k
                coefficients.append(h**k / factorial)
            bound = taylor_remainder_bound(radius, degree)
            return ExpApproximation(
                method, lower, upper, degree, eps, tuple(coefficients), precision, bound, bound, "bound"
            )
        coefficients = _chebyshev_to_monomial(_chebyshev_coefficients(radius, degree))
        bound = chebyshev_tail_bound(radius, degree)
        rel_error, certified_by = bound, "bound"
        if verify and radius > 0:
            lipschitz = _theta_lipschitz(radius, degree)
            target = mpmath.mpf(min(bound, eps)) * _GRID_SLACK
            points = int(mpmath.ceil(mpmath.pi * lipschitz / (2 * target))) if target > 0 else 0
            points = max(degree + 1, ((points + degree) // (degree + 1)) * (degree + 1))
            if points * (degree + 2) <= _GRID_BUDGET:
                grid = _grid_error(coefficients, radius, degree, points)
                verified = grid + mpmath.pi * lipschitz / (2 * points)
                verified *= 1 + mpmath.mpf(2) ** (-40)
                if verified < bound:
                    rel_error, certified_by = float(verified), "grid"
                else:
                    certified_by = "bound"
        elif radius == 0:
            rel_error, certified_by = 0.0, "bound"
        return ExpApproximation(
            method, lower, upper, degree, eps, tuple(coefficients), precision, rel_error, bound, certified_by
        )


@functools.lru_cache(maxsize=256)
def _cached(method: str, lower: float, upper: float, eps: float, degree: int | None, verify: bool) -> ExpApproximation:
    radius = (upper - lower) / 2
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
    ``eps``. Grid and bound are both rigorous up to mpmath rounding, which the
    working precision keeps below ``2^-64`` relative.

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
    return _cached(method, lower, upper, eps, degree, verify)
