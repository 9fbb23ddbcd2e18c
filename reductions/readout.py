"""Reading a decision from attention outputs against a stated margin.

The gentle reductions to attention (``ov-aattc``, ``gapann-aattc-gentle``,
``maxip-aattc``, ``ov-selfattn``) put one *dummy key* with ``V = 0`` beside the
real keys (``V = 1``) and place the logits so that a query with a partner has
output ``>= L`` close to 1 and a query without one has output ``<= U`` close to
0. :class:`MarginReadout` holds the two bounds, checks the oracle's stated
error against the margin and thresholds at 1/2; :func:`dummy_margin` computes
the bounds from the half gap of the logits.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import attrs
import numpy as np
import sympy

from instances.answers import OrthogonalPair
from instances.attention import AttentionOutput
from instances.errors import NotAWitnessError, OracleContradiction, OracleRefusal
from instances.vectors import OVInstance

__all__ = [
    "DEFAULT_DELTA",
    "MarginReadout",
    "dummy_margin",
    "as_delta",
    "check_delta",
    "sympy_number",
    "first_orthogonal_partner",
]

DEFAULT_DELTA = Fraction(1, 4)
"""Default ``delta``: outputs ``>= 1 - delta`` or ``<= delta``, so additive error below 1/4 decides."""

_LOG_HALF = -math.log(2.0)


def check_delta(_instance: Any, _attribute: Any, value: Any) -> None:
    """An attrs validator: ``delta`` is a rational or float in ``(0, 1/2)``.

    >>> check_delta(None, None, Fraction(1, 4))
    >>> check_delta(None, None, 0.5)
    Traceback (most recent call last):
    ...
    ValueError: 'delta' must be in (0, 1/2) (got 0.5)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise TypeError(f"'delta' must be a rational or float (got {value!r})")
    if not 0 < value < Fraction(1, 2):
        raise ValueError(f"'delta' must be in (0, 1/2) (got {value})")


def as_delta(value: Any) -> Fraction | float:
    """Integers become exact fractions; floats and fractions stay as they are.

    >>> as_delta(0), as_delta(0.25)
    (Fraction(0, 1), 0.25)
    """
    return Fraction(value) if isinstance(value, int) and not isinstance(value, bool) else value


def sympy_number(value: Fraction | float) -> sympy.Expr:
    """An exact sympy rational for a fraction, a sympy float for a float.

    >>> sympy_number(Fraction(1, 4)), sympy_number(0.5)
    (1/4, 0.500000000000000)
    """
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    return sympy.Float(value)


@attrs.frozen
class MarginReadout:
    """Read-back of "output > 1/2" with the bounds that make it correct.

    Attributes
    ----------
    lower : float
        Every query with a partner has output ``>= lower`` (``> 1/2``).
    upper : float
        Every query without one has output ``<= upper`` (``< 1/2``).
    rows : int
        How many leading output rows are read (the real queries).

    Examples
    --------
    >>> r = MarginReadout(0.9, 0.05, rows=2)
    >>> r.tolerated_abs_error, round(r.tolerated_rel_error, 4)
    (0.4, 0.4444)
    >>> from instances.attention import AttentionOutput
    >>> r.decide(AttentionOutput(values=[[0.93], [0.01]], abs_error=0.1, oracle="x"))
    (True, False)
    >>> r.decide(AttentionOutput(values=[[0.93], [0.01]], abs_error=0.45, oracle="x"))
    Traceback (most recent call last):
    ...
    instances.errors.OracleRefusal: oracle 'x' guarantees absolute error 0.45 and relative error inf; deciding this instance needs absolute error below 0.4 or relative error below 0.444 (outputs are >= 0.9 with a partner, <= 0.05 without)
    """

    lower: float
    upper: float
    rows: int

    def __attrs_post_init__(self) -> None:
        if not (0.5 < self.lower <= 1 and 0 <= self.upper < 0.5):
            raise ValueError(f"need 1/2 < 'lower' <= 1 and 0 <= 'upper' < 1/2 (got {self.lower} and {self.upper})")

    @property
    def tolerated_abs_error(self) -> float:
        """Largest additive error (exclusive) that still decides: ``min(L - 1/2, 1/2 - U)``."""
        return min(self.lower - 0.5, 0.5 - self.upper)

    @property
    def tolerated_rel_error(self) -> float:
        """Largest relative error (exclusive) that still decides: ``min(1 - 1/(2L), 1/(2U) - 1)``."""
        above = 1 - 0.5 / self.lower
        below = math.inf if self.upper == 0 else 0.5 / self.upper - 1
        return min(above, below)

    def check(self, answer: AttentionOutput) -> None:
        """Raise :class:`OracleRefusal` unless the stated error cannot cross 1/2.

        Each side may be covered by the absolute or the relative bound.
        """
        eps, rho = float(answer.abs_error), float(answer.rel_error)
        lower_safe = self.lower - eps > 0.5 or self.lower * (1 - rho) > 0.5
        upper_safe = self.upper + eps < 0.5 or self.upper * (1 + rho) < 0.5
        if lower_safe and upper_safe:
            return
        raise OracleRefusal(
            f"oracle {answer.oracle!r} guarantees absolute error {eps:.3g} and relative error {rho:.3g}; "
            f"deciding this instance needs absolute error below {self.tolerated_abs_error:.3g} "
            f"or relative error below {self.tolerated_rel_error:.3g} "
            f"(outputs are >= {self.lower:.3g} with a partner, <= {self.upper:.3g} without)"
        )

    def decide(self, answer: AttentionOutput) -> tuple[bool, ...]:
        """Check the guarantee, then ``output > 1/2`` for each of the first ``rows`` rows (column 0)."""
        if not isinstance(answer, AttentionOutput):
            raise TypeError(f"'answer' must be an AttentionOutput (got {type(answer).__name__})")
        if answer.rows is not None and not np.array_equal(answer.rows[: self.rows], np.arange(self.rows)):
            raise NotAWitnessError(
                f"the answer covers rows {answer.rows.tolist()}; the read-back needs rows 0..{self.rows - 1}"
            )
        if answer.shape[0] < self.rows:
            raise NotAWitnessError(f"the attention output has {answer.shape[0]} rows; the read-back needs {self.rows}")
        self.check(answer)
        if answer.values is not None:
            column = np.asarray(answer.values)[: self.rows, 0]
            return tuple(bool(x > 0.5) for x in column)
        assert answer.log_values is not None
        log_column = np.asarray(answer.log_values)[: self.rows, 0]
        return tuple(bool(x > _LOG_HALF) for x in log_column)


def dummy_margin(half_gap: float, num_keys: int, rows: int, *, extra: float = 0.0) -> MarginReadout:
    """Bounds for real keys (``V = 1``) beside one dummy key (``V = 0``).

    With logits measured from the dummy's, a query with a partner has a logit
    ``>= h`` (``h = half_gap``) and one without has every logit ``<= -h``; so
    ``u >= 1/(1 + e^-h + extra)`` and ``u <= n e^-h / (1 + n e^-h)`` for
    ``n = num_keys`` real keys (``extra`` bounds further mass in the
    denominator relative to the dummy's, e.g. same-side tokens).

    >>> r = dummy_margin(math.log(4 * 8), 8, rows=3)
    >>> round(r.lower, 4), round(r.upper, 4)
    (0.9697, 0.2)
    """
    tail = math.exp(-half_gap)
    lower = 1.0 / (1.0 + tail + extra)
    upper = num_keys * tail / (1.0 + num_keys * tail)
    return MarginReadout(lower, upper, rows)


def first_orthogonal_partner(ov: OVInstance, decisions: tuple[bool, ...], who: str) -> OrthogonalPair | None:
    """An orthogonal pair for the first query declared to have one, checked.

    Raises :class:`OracleContradiction` naming ``who`` when the declared query
    has no orthogonal partner.

    >>> ov = OVInstance([[1, 0], [0, 1]], [[0, 1]])
    >>> first_orthogonal_partner(ov, (False, False), "exact")
    >>> first_orthogonal_partner(ov, (True, False), "exact")
    OrthogonalPair(i=0, j=0)
    """
    for i, has_partner in enumerate(decisions):
        if not has_partner:
            continue
        overlaps = ov.b.astype(np.int64) @ ov.a[i].astype(np.int64)
        partners = np.flatnonzero(overlaps == 0)
        if partners.size == 0:
            raise OracleContradiction(
                f"{who!r} gave query {i} an output above 1/2, but no vector of B is orthogonal to a_{i}: the answer is wrong"
            )
        return OrthogonalPair(i, int(partners[0]))
    return None
