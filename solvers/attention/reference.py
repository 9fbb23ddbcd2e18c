"""Arbitrary-precision reference attention (mpmath), the test oracle for small instances.

Examples
--------
>>> from instances.attention import AttentionInstance
>>> from solvers.attention.reference import mpmath_attention
>>> inst = AttentionInstance([[60.0]], [[60.0], [32.5]], [[0.0], [1.0]], 60.0)
>>> out = mpmath_attention(inst)  # weight e^1950 / (e^3600 + e^1950) on the second key
>>> round(float(out.log_values[0, 0]), 6), float(out.values[0, 0])
(-1650.0, 0.0)
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from instances._validation import check_int, check_real
from instances.attention import AttentionInstance, AttentionOutput
from instances.errors import OracleRefusal

__all__ = ["mpmath_attention", "reference_precision"]

_U64 = 2.0**-53


def reference_precision(
    instance: AttentionInstance, *, digits: int | None = None, abs_error: float | None = None
) -> int:
    """Working precision in bits that :func:`mpmath_attention` uses on ``instance``.

    By default the internal relative error is kept below ``2^-80`` (far below
    float64's rounding): ``p = 80 + log2((2d + 10)(R + 1) + 2m + 4)`` bits, more
    when ``abs_error`` asks for it (``log2(||V|| / abs_error)`` plus the same
    terms); ``digits`` overrides (decimal digits).

    >>> from instances.attention import random_attention
    >>> from solvers.attention.reference import reference_precision
    >>> reference_precision(random_attention(4, 2, 1.0, seed=0))
    86
    >>> reference_precision(random_attention(4, 2, 1.0, seed=0), digits=50)
    167
    """
    if digits is not None:
        digits = check_int("digits", digits, minimum=1)
        return math.ceil(digits * math.log2(10))
    growth = math.log2((2 * instance.d + 10) * (instance.score_bound + 1) + 2 * instance.m + 4)
    bits = 80 + math.ceil(growth)
    if abs_error is not None:
        abs_error = check_real("abs_error", abs_error, minimum=0, strict_minimum=True)
        norm = instance.value_norm
        if norm > 0:
            bits = max(bits, math.ceil(math.log2(norm / abs_error) + growth) + 4)
    return bits


def mpmath_attention(
    instance: AttentionInstance,
    *,
    digits: int | None = None,
    abs_error: float | None = None,
    max_scores: int = 250_000,
) -> AttentionOutput:
    """Attention ``D^-1 exp(Q K^T / d) V`` in arbitrary precision, rounded to float64.

    Parameters
    ----------
    instance : AttentionInstance
    digits : int, optional
        Decimal digits of working precision (default: chosen from the score
        range, see :func:`reference_precision`).
    abs_error : float, optional
        Ask for at least enough precision that the internal absolute error is
        below this.
    max_scores : int
        Refuse instances with more than this many score entries ``n m``.

    Returns
    -------
    AttentionOutput
        ``values`` (float64, correctly rounded up to the internal error) and, for
        ``V >= 0``, ``log_values`` (``-inf`` exactly where the column of ``V`` is
        0); ``abs_error``/``rel_error`` bound both the internal error and the
        final rounding. ``oracle`` is ``"mpmath"``.

    Raises
    ------
    OracleRefusal
        ``n m > max_scores``; the message gives both numbers.

    Notes
    -----
    Scores are exact dot products (``mpmath.fdot``) rounded once to ``p`` bits
    and divided by ``d``; every score is shifted by the row maximum, then
    ``exp`` and ``fsum``. Per weight the relative error is at most
    ``eta = ((d + 4) R + 4) 2^-p``, each sum adds ``m 2^-p``, so for ``V >= 0``
    the relative error is at most ``2 eta + 2 m 2^-p + 2^-p`` (doubled for
    safety) and otherwise the absolute error at most ``||V||`` times that. The
    precision is raised only inside ``mpmath.workprec``, never globally.

    Examples
    --------
    >>> from instances.attention import random_attention
    >>> from solvers.attention.reference import mpmath_attention
    >>> out = mpmath_attention(random_attention(3, 2, 1.0, nonnegative_values=True, seed=0))
    >>> out.oracle, out.shape, out.rel_error < 1e-15
    ('mpmath', (3, 2), True)
    >>> mpmath_attention(random_attention(600, 2, 1.0, seed=0))
    Traceback (most recent call last):
    ...
    instances.errors.OracleRefusal: the mpmath reference refuses n m = 360000 score entries (limit 'max_scores' = 250000)
    """
    if not isinstance(instance, AttentionInstance):
        raise TypeError(f"'instance' must be an AttentionInstance (got {type(instance).__name__})")
    max_scores = check_int("max_scores", max_scores, minimum=0)
    n, m, d, dv = instance.n, instance.m, instance.d, instance.value_columns
    if n * m > max_scores:
        raise OracleRefusal(
            f"the mpmath reference refuses n m = {n * m} score entries (limit 'max_scores' = {max_scores})"
        )
    bits = reference_precision(instance, digits=digits, abs_error=abs_error)
    nonnegative = instance.nonnegative_values
    values = np.zeros((n, dv))
    log_values = np.zeros((n, dv)) if nonnegative else None
    unit = 2.0**-bits
    eta = ((d + 4) * instance.score_bound + 4) * unit
    internal = 2 * (2 * eta + 2 * m * unit + unit)
    largest_log = 0.0
    with mpmath.workprec(bits):
        keys = [[mpmath.mpf(float(x)) for x in row] for row in instance.key]
        columns = [[mpmath.mpf(float(x)) for x in instance.value[:, j]] for j in range(dv)]
        for i in range(n):
            query = [mpmath.mpf(float(x)) for x in instance.query[i]]
            scores = [mpmath.fdot(query, key) / d for key in keys]
            top = max(scores)
            weights = [mpmath.exp(s - top) for s in scores]
            normaliser = mpmath.fsum(weights)
            for j in range(dv):
                numerator = mpmath.fdot(weights, columns[j])
                entry = numerator / normaliser
                values[i, j] = float(entry)
                if log_values is not None:
                    if numerator == 0:
                        log_values[i, j] = -math.inf
                    else:
                        log_entry = mpmath.log(numerator) - mpmath.log(normaliser)
                        log_values[i, j] = float(log_entry)
                        largest_log = max(largest_log, abs(float(log_entry)))
    rel = 2 * (internal + _U64 * (1 + largest_log)) if nonnegative else math.inf
    abs_bound = (internal + _U64) * instance.value_norm + 2.0**-1074
    return AttentionOutput(
        values=values,
        log_values=log_values,
        abs_error=abs_bound,
        rel_error=rel,
        oracle="mpmath",
    )
