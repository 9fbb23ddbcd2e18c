"""Attention through a truncated Taylor series of ``e^x`` (Keles, Wijewardena & Hegde 2023).

:class:`TaylorAttention` is the polynomial method with ``P(x) = sum_{k<=g} x^k / k!``,
the Taylor polynomial of ``e^x`` at 0, on the symmetric score interval
``[-R, R]``. It shares the feature machinery, the routes and the error
analysis of :class:`~solvers.attention.polynomial.oracle.PolynomialAttention`; only
the polynomial and its error bound differ:

- the relative error is the Lagrange remainder ``e^R R^(g+1) / (g+1)!`` (the
  worst case is ``x = -R``, where ``e^x`` is smallest);
- the degree is the smallest *even* ``g`` meeting ``eps``: an even Taylor
  polynomial of ``e^x`` is positive on the whole real line, while an odd one
  has a real root, left of which it is negative, so the softmax normaliser
  ``sum_j P(x_ij)`` can vanish or change sign. Odd degrees are refused.

For the same ``eps`` the Taylor degree is higher than the Chebyshev one
(``R = 1, eps = 1e-6``: 10 against 7; about ``e R`` against ``2.3 R`` for
large ``R``), and the rank ``C(d + g, g)`` grows accordingly.

Examples
--------
>>> import numpy as np
>>> from instances.attention import random_attention
>>> from solvers.attention.exact import ExactAttention
>>> from solvers.attention.polynomial.taylor import TaylorAttention
>>> inst = random_attention(1000, 4, 1.0, seed=0)
>>> oracle = TaylorAttention(eps=1e-6)
>>> plan = oracle.plan(inst)
>>> plan.degree, plan.rank
(10, 1001)
>>> out = oracle(inst)
>>> bool(np.max(np.abs(out.values - ExactAttention()(inst).values)) <= out.abs_error)
True
>>> TaylorAttention(degree=3)(inst)
Traceback (most recent call last):
...
instances.errors.OracleRefusal: taylor oracle refuses degree 3: an odd-degree Taylor polynomial of e^x is negative left of its real root x = -1.596, so the softmax normaliser can vanish or go negative; use an even degree
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import attrs
import mpmath

from instances.attention import AttentionInstance
from solvers.attention.polynomial.approximation import ExpApproximation, exp_approximation, taylor_degree
from solvers.attention.polynomial.oracle import _PolynomialOracle, _quantise, score_interval

__all__ = ["TaylorAttention", "odd_taylor_root"]


@functools.lru_cache(maxsize=64)
def odd_taylor_root(degree: int) -> float:
    """The real root of ``sum_{k<=g} x^k / k!`` for odd ``g`` (the only one; it is negative).

    Examples
    --------
    >>> from solvers.attention.polynomial.taylor import odd_taylor_root
    >>> round(odd_taylor_root(1), 6), round(odd_taylor_root(3), 6)
    (-1.0, -1.596072)
    >>> odd_taylor_root(2)
    Traceback (most recent call last):
    ...
    ValueError: 'degree' must be odd (got 2)
    """
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1 or degree % 2 == 0:
        raise ValueError(f"'degree' must be odd (got {degree!r})")
    with mpmath.workprec(64 + 4 * degree):
        coefficients = [1 / mpmath.factorial(k) for k in range(degree + 1)]

        def value(x: mpmath.mpf) -> mpmath.mpf:
            total = mpmath.mpf(0)
            for c in reversed(coefficients):
                total = total * x + c
            return total

        low, high = mpmath.mpf(-(degree + 2)), mpmath.mpf(0)
        while value(low) > 0:
            low *= 2
        for _ in range(80):
            middle = (low + high) / 2
            if value(middle) > 0:
                high = middle
            else:
                low = middle
        return float((low + high) / 2)


@attrs.frozen
class TaylorAttention(_PolynomialOracle):
    """Approximate attention with the Taylor polynomial of ``e^x`` at 0 (Keles et al. 2023).

    Parameters
    ----------
    eps : float
        Entrywise relative error allowed on ``A`` (polynomial and rounding), ``< 0.5``.
    degree : int, optional
        Use this degree (must be even) instead of the smallest even one whose
        Lagrange bound meets ``eps``.
    route, interval, block, workers, max_bytes, max_seconds
        As for :class:`~solvers.attention.polynomial.oracle.PolynomialAttention`.

    Raises
    ------
    OracleRefusal
        An odd degree (with the reason), or no route within the limits.

    Notes
    -----
    **Error bound.** For ``x in [-R, 0]`` the remainder of the degree-``g``
    Taylor polynomial is at most ``|x|^(g+1) / (g+1)!`` (Lagrange, ``e^xi <= 1``)
    and ``e^x >= e^-R``; for ``x in [0, R]`` it is at most
    ``x^(g+1) e^x / (g+1)!``. So ``|P(x) - e^x| <= eps_P e^x`` with
    ``eps_P = e^R R^(g+1) / (g+1)!`` on ``[-R, R]``, where ``R`` is the largest
    score magnitude (data-aware, at most ``B^2``). From there the guarantee,
    the routes and the rounding analysis are those of
    :class:`~solvers.attention.polynomial.oracle.PolynomialAttention`: absolute error
    ``||V|| (2 eps_A + u (1 + eps_A)) / (1 - eps_A)``, relative error
    ``(1 + eps_A)/(1 - eps_A)(1 + u) - 1`` for ``V >= 0``.

    **Odd degrees.** ``P_g(x) = sum_{k<=g} x^k/k!`` has no real root for even
    ``g`` (its minimum ``P_g(x*) = x*^g / g! > 0`` is where ``P_g' = P_(g-1)``
    vanishes) and exactly one for odd ``g`` (:func:`odd_taylor_root`), left of
    which it is negative.

    References
    ----------
    F. D. Keles, P. M. Wijewardena, C. Hegde, "On the Computational Complexity
    of Self-Attention", ALT 2023.

    Examples
    --------
    >>> from instances.attention import random_attention
    >>> from solvers.attention.polynomial.taylor import TaylorAttention
    >>> TaylorAttention(eps=1e-3).plan(random_attention(512, 2, 1.0, seed=0)).degree
    6
    >>> TaylorAttention(degree=4).guarantee(random_attention(64, 2, 0.5, seed=0)).rel_error
    inf
    """

    _method: ClassVar[str] = "taylor"
    _name: ClassVar[str] = "taylor"
    _degree_step: ClassVar[int] = 2
    _degree_per_radius: ClassVar[tuple[int, int]] = (2718, 1000)  # g / h for large h (Lagrange bound: e)

    def _interval(self, instance: AttentionInstance) -> tuple[float, float, float]:
        lower, upper, bound = score_interval(instance, interval=self.interval)
        radius = _quantise(-max(abs(lower), abs(upper)), max(abs(lower), abs(upper)))[1]
        return (-radius, radius, bound)

    def _predict_degree(self, lower: float, upper: float, target: float) -> int:
        return taylor_degree(upper, target, even=True)

    def _approximation(self, lower: float, upper: float, degree: int | None) -> ExpApproximation:
        return exp_approximation(lower, upper, self.eps, method="taylor", degree=degree)

    def _degree_refusal(self, degree: int) -> str:
        if degree % 2 == 0:
            return ""
        return (
            f"degree {degree}: an odd-degree Taylor polynomial of e^x is negative left of its real root "
            f"x = {odd_taylor_root(degree):.4g}, so the softmax normaliser can vanish or go negative; "
            "use an even degree"
        )

    def _refusal_message(
        self,
        instance: AttentionInstance,
        n: int,
        lower: float,
        upper: float,
        bound: float,
        degree: int,
        evaluation: list[Any],
        reason: str,
    ) -> str:
        if reason and degree % 2 == 1:
            return f"{self.name} oracle refuses {reason}"
        return super()._refusal_message(instance, n, lower, upper, bound, degree, evaluation, reason)
