"""Numerically gentle reductions to attention: outputs near 0 or near 1.

Alman–Song's Lemma 4.7 (:mod:`reductions.ann_attention`) reads a share of
mass that is astronomically small (``e^-1650`` on SATLIB's ``uf20``) and needs
an oracle with a tiny *relative* error. The reductions here put one *dummy key*
with ``V = 0`` beside the real keys (``V = 1``) and place the logits so that a
query with a partner has output ``>= L`` close to 1 and a query without one has
output ``<= U`` close to 0; thresholding at 1/2 then decides, and any *additive*
error below ``min(L - 1/2, 1/2 - U)`` (about ``1/2 - delta``) is good enough.

* ``ov-aattc`` (:class:`OVToAttention`): OV -> AAttC directly, logits
  ``-beta <a_i, b_j>`` against a dummy at ``-beta/2``.
* ``gapann-aattc-gentle`` (:class:`GentleGapANNToAttention`): Gap-ANN -> AAttC
  with logits ``-beta (dist(a_i, b_j) - t_mid)`` against a dummy at 0
  (reconstruction from the description of Haverbeck et al. 2026, Lemma A.5).

:class:`MarginReadout` holds the two bounds and does the read-back and the
check of the oracle's stated error; :mod:`reductions.maxip` and
:mod:`reductions.self_attention` use it too.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, ClassVar

import attrs
import numpy as np
import sympy

from instances.answers import NeighborDecisions, OrthogonalPair
from instances.attention import AttentionInstance, AttentionOutput
from instances.errors import InvalidInstanceError, NotAWitnessError, OracleContradiction, OracleRefusal
from instances.vectors import GapANNInstance, OVInstance
from reductions.core import ParameterMap, Reduced, Reduction, problem_symbols

__all__ = [
    "MarginReadout",
    "dummy_margin",
    "OVToAttention",
    "GentleGapANNToAttention",
    "gentle_distances",
    "DEFAULT_DELTA",
]

DEFAULT_DELTA = Fraction(1, 4)
"""Default ``delta``: outputs ``>= 1 - delta`` or ``<= delta``, so additive error below 1/4 decides."""

_LOG_HALF = -math.log(2.0)


def _check_delta(_instance: Any, _attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise TypeError(f"'delta' must be a rational or float (got {value!r})")
    if not 0 < value < Fraction(1, 2):
        raise ValueError(f"'delta' must be in (0, 1/2) (got {value})")


def _as_delta(value: Any) -> Fraction | float:
    return Fraction(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _sympy_number(value: Fraction | float) -> sympy.Expr:
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


def _first_partner(ov: OVInstance, decisions: tuple[bool, ...], who: str) -> OrthogonalPair | None:
    """An orthogonal pair for the first query declared to have one, checked."""
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


@attrs.frozen
class OVToAttention(Reduction):
    """OV -> AAttC directly: logits ``-beta <a_i, b_j>``, a dummy key at ``-beta/2``.

    Parameters
    ----------
    delta : Fraction or float in (0, 1/2)
        Outputs are ``>= 1 - delta`` for a query with an orthogonal partner and
        ``<= delta`` for one without; additive error below ``1/2 - delta``
        decides (``1/4`` by default).

    Notes
    -----
    **Construction.** ``D = d + 1`` columns, ``c = sqrt(beta D)``::

        q_i = c [-a_i, 1]      k_j = c [b_j, 0]      dummy key c [0_d, -1/2]
        V   = 1 on the n_b real keys, 0 on the dummy

    so ``<q_i, k_j>/D = -beta <a_i, b_j>`` and the dummy's logit is ``-beta/2``
    (the ``1/D`` of AAttC is absorbed in ``c``).

    **Correctness.** With ``R_i = sum_j e^(-beta <a_i, b_j>)`` the output is
    ``u_i = R_i / (R_i + e^(-beta/2))``, increasing in ``R_i``. An orthogonal
    partner gives ``R_i >= 1``, so ``u_i >= 1/(1 + e^(-beta/2))``; without one,
    ``<a_i, b_j> >= 1`` for every ``j``, so ``R_i <= n_b e^-beta`` and
    ``u_i <= n_b e^(-beta/2) / (1 + n_b e^(-beta/2))``. With
    ``beta = 2 ln(max(n_b, 1)/delta)``: ``u_i >= 1/(1 + delta/n_b) >= 1 - delta``
    and ``u_i <= delta/(1 + delta) < delta``. Read back: query ``i`` has a partner
    iff ``u_i > 1/2``; the backward map checks the oracle's stated absolute or
    relative error against these bounds first (:class:`MarginReadout`) and then
    the pair itself.

    **Sizes.** ``n = n_a``, ``m = n_b + 1``, ``d = d + 1``,
    ``B = sqrt(2 (d + 1) ln(max(n_b, 1)/delta))``: entries ``O(sqrt(d log n))``,
    logits of size ``O(d log n)``, all outputs in ``[0, 1]`` far from 1/2.

    References
    ----------
    A direct form of the OV -> attention step of J. Alman, Z. Song, "Fast
    Attention Requires Bounded Entries", NeurIPS 2023, §4, without the Gap-ANN
    detour. The dummy-key construction and its constants are this project's
    (a reconstruction, not a paper's text).

    Examples
    --------
    >>> from instances.vectors import OVInstance
    >>> from solvers.attention.exact import ExactAttention
    >>> ov = OVInstance([[1, 0], [1, 1]], [[0, 1], [1, 1]])
    >>> reduced = OVToAttention().forward(ov)
    >>> reduced.target.parameters()["m"], round(reduced.info["beta"], 4)
    (3, 4.1589)
    >>> reduced.backward(ExactAttention()(reduced.target, log_space=True))
    OrthogonalPair(i=0, j=0)
    >>> from instances.attention import AttentionOutput
    >>> reduced.backward(AttentionOutput(values=[[1.0], [0.0]], abs_error=0.35, oracle="rough"))
    Traceback (most recent call last):
    ...
    instances.errors.OracleRefusal: oracle 'rough' guarantees absolute error 0.35 and relative error inf; deciding this instance needs absolute error below 0.3 or relative error below 0.438 (outputs are >= 0.889 with a partner, <= 0.2 without)
    """

    name: ClassVar[str] = "ov-aattc"
    source: ClassVar[str] = "ov"
    target: ClassVar[str] = "aattc"

    delta: Fraction | float = attrs.field(default=DEFAULT_DELTA, converter=_as_delta, validator=_check_delta)

    def beta(self, num_points: int) -> float:
        """``2 ln(max(n_b, 1)/delta)``."""
        return 2 * math.log(max(num_points, 1) / float(self.delta))

    def _forward(self, instance: OVInstance) -> tuple[AttentionInstance, Mapping[str, Any], Mapping[str, Any]]:
        n_a, n_b, d = instance.a.shape[0], instance.b.shape[0], instance.dimension
        beta = self.beta(n_b)
        D = d + 1
        scale = math.sqrt(beta * D)
        query = np.zeros((n_a, D))
        query[:, :d] = -scale * instance.a
        query[:, d] = scale
        key = np.zeros((n_b + 1, D))
        key[:n_b, :d] = scale * instance.b
        key[n_b, d] = -scale / 2
        value = np.zeros((n_b + 1, 1))
        value[:n_b] = 1.0
        target = AttentionInstance(query, key, value, scale)
        readout = dummy_margin(beta / 2, n_b, n_a)
        info = {
            "beta": beta,
            "lower": readout.lower,
            "upper": readout.upper,
            "tolerated_abs_error": readout.tolerated_abs_error,
        }
        return target, {"readout": readout}, info

    def backward(self, reduced: Reduced, answer: AttentionOutput) -> OrthogonalPair | None:
        """Outputs > 1/2 -> the first such query's orthogonal partner (checked), else ``None``."""
        readout: MarginReadout = reduced.decoding["readout"]
        decisions = readout.decide(answer)
        return _first_partner(reduced.source, decisions, answer.oracle or "the attention oracle")

    def parameters(self) -> ParameterMap:
        s = problem_symbols("ov")
        n_a, n_b, d = s["n_a"], s["n_b"], s["d"]
        beta = 2 * sympy.log(sympy.Max(n_b, 1) / _sympy_number(self.delta))
        return ParameterMap("ov", "aattc", {"n": n_a, "m": n_b + 1, "d": d + 1, "B": sympy.sqrt(beta * (d + 1))})


def gentle_distances(threshold: Fraction, far_distance: Fraction, dimension: int) -> tuple[int, int]:
    """``(close, far)`` for equal-weight vectors (even distances, ``D`` even).

    ``close = min(2 ceil(t/2) - 2, D)`` is the largest even distance ``< t``
    (capped at ``D``: no distance is larger), ``far = min(2 ceil((1 + eps) t / 2), D + 2)``
    the smallest even distance ``>= (1 + eps) t`` (capped at ``D + 2``: beyond ``D``
    no far pair exists, and the cap keeps the logits small). ``far - close >= 2``.

    >>> gentle_distances(Fraction(5), Fraction(6), 10)
    (4, 6)
    >>> gentle_distances(Fraction(1, 2), Fraction(40), 8)
    (0, 10)
    """
    close = min(2 * math.ceil(threshold / 2) - 2, dimension)
    far = min(2 * math.ceil(far_distance / 2), dimension + 2)
    return close, far


@attrs.frozen
class GentleGapANNToAttention(Reduction):
    """Gap-ANN (equal weights) -> AAttC with outputs near 0 or 1 (after Haverbeck et al. 2026, Lemma A.5).

    Parameters
    ----------
    delta : Fraction or float in (0, 1/2)
        Outputs are ``>= 1 - delta`` for a close query and ``<= delta`` for a
        far one; additive error below ``1/2 - delta`` decides.

    Notes
    -----
    **Construction** (a reconstruction from the description of Lemma A.5, not
    its text). Every vector has weight ``D/2`` (pad with ``half-ones``), so
    ``dist(a, b) = D - 2<a, b>`` is even. Let ``close``/``far`` be the
    largest case-1 and smallest case-2 distances (:func:`gentle_distances`),
    ``g = far - close >= 2``, ``t_mid = (close + far)/2``, and
    ``beta = 2 ln(max(n_b, 1)/delta) / g``. With ``D' = D + 1``,
    ``c = sqrt(2 beta D')`` and ``kappa = (t_mid - D)/2``::

        q_i = c [a_i, 1]      k_j = c [b_j, kappa]      dummy key 0
        V   = 1 on the n_b real keys, 0 on the dummy

    so ``<q_i, k_j>/D' = 2 beta (<a_i, b_j> + kappa) = -beta (dist(a_i, b_j) - t_mid)``
    and the dummy's logit is 0.

    **Correctness.** A close pair has logit ``>= beta g/2 = h``; a far query has
    every logit ``<= -h``, with ``h = ln(max(n_b, 1)/delta)``. As in
    :class:`OVToAttention`, ``u_i >= 1/(1 + e^-h) >= 1 - delta`` for a close
    query and ``u_i <= n_b e^-h/(1 + n_b e^-h) < delta`` for a far one; a query
    in the gap may go either way, as Gap-ANN allows. Read back: close iff
    ``u_i > 1/2``, after checking the oracle's stated error (:class:`MarginReadout`).

    **Sizes.** ``n = n_a``, ``m = n_b + 1``, ``d = D + 1``,
    ``B = c (1 + D/2) = sqrt(2 beta (D + 1)) (1 + D/2)`` (``close <= D`` and
    ``far <= D + 2`` keep ``1 <= t_mid <= D + 1``, so ``|kappa| <= 1 + D/2``). Unlike
    Lemma 4.7, ``beta`` shrinks with the gap instead of growing with ``D``,
    and the output needs no log-space read-back.

    References
    ----------
    Haverbeck et al., 2026, Lemma A.5 (known here only by its description:
    output near 1 for a close pair and near 0 otherwise, so any additive
    error below 1/2 decides); compare J. Alman, Z. Song, NeurIPS 2023, Lemma 4.7.

    Examples
    --------
    >>> from reductions.ov_ann import HalfOnesPadding
    >>> from solvers.attention.exact import ExactAttention
    >>> g = HalfOnesPadding().forward(GapANNInstance([[1, 0], [0, 1]], [[1, 0]], 1, 1)).target
    >>> reduced = GentleGapANNToAttention().forward(g)
    >>> reduced.info["close_distance"], reduced.info["far_distance"], reduced.target.parameters()["d"]
    (0, 4, 5)
    >>> reduced.backward(ExactAttention()(reduced.target, log_space=True)).close
    (True, False)
    >>> GentleGapANNToAttention().forward(GapANNInstance([[1, 0]], [[1, 1]], 1, 1))
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: gapann-aattc-gentle needs every vector of weight D/2 = 1.0; pad with HalfOnesPadding first
    """

    name: ClassVar[str] = "gapann-aattc-gentle"
    source: ClassVar[str] = "gapann"
    target: ClassVar[str] = "aattc"
    verify_max_size: ClassVar[int] = 6
    prepare: ClassVar[tuple[str, ...]] = ("half-ones",)

    delta: Fraction | float = attrs.field(default=DEFAULT_DELTA, converter=_as_delta, validator=_check_delta)

    def random_source(self, rng: np.random.Generator, size: int) -> GapANNInstance:
        """Random equal-weight Gap-ANN instances (half-ones padded), for testing."""
        from reductions.ov_ann import HalfOnesPadding
        from reductions.problems import get_problem

        return HalfOnesPadding().forward(get_problem("gapann").random_instance(rng, size)).target

    def _forward(self, instance: GapANNInstance) -> tuple[AttentionInstance, Mapping[str, Any], Mapping[str, Any]]:
        if not instance.has_equal_weights():
            raise InvalidInstanceError(
                f"{self.name} needs every vector of weight D/2 = {instance.dimension / 2}; pad with HalfOnesPadding first"
            )
        n_a, n_b, D = instance.a.shape[0], instance.b.shape[0], instance.dimension
        close, far = gentle_distances(instance.threshold, instance.far_distance, D)
        gap = far - close
        half_gap = math.log(max(n_b, 1) / float(self.delta))
        beta = 2 * half_gap / gap
        kappa = (Fraction(close + far, 2) - D) / 2
        width = D + 1
        scale = math.sqrt(2 * beta * width)
        query = np.zeros((n_a, width))
        query[:, :D] = scale * instance.a
        query[:, D] = scale
        key = np.zeros((n_b + 1, width))
        key[:n_b, :D] = scale * instance.b
        key[:n_b, D] = scale * float(kappa)
        value = np.zeros((n_b + 1, 1))
        value[:n_b] = 1.0
        # |kappa| <= max(1/2, (D - 1)/2) since 1 <= t_mid <= D + 1: B = c (1 + D/2) bounds every entry.
        bound = max(scale * (1 + D / 2), float(np.max(np.abs(key))) if key.size else 0.0)
        target = AttentionInstance(query, key, value, bound)
        readout = dummy_margin(half_gap, n_b, n_a)
        info = {
            "beta": beta,
            "close_distance": close,
            "far_distance": far,
            "lower": readout.lower,
            "upper": readout.upper,
            "tolerated_abs_error": readout.tolerated_abs_error,
        }
        return target, {"readout": readout}, info

    def backward(self, reduced: Reduced, answer: AttentionOutput) -> NeighborDecisions:
        """Per real query: close iff its output is above 1/2 (after the guarantee check)."""
        readout: MarginReadout = reduced.decoding["readout"]
        return NeighborDecisions(readout.decide(answer), decided_by=answer.oracle or None)

    def parameters(self) -> ParameterMap:
        return _gentle_parameters(self.delta)


@functools.lru_cache(maxsize=8)
def _gentle_parameters(delta: Fraction | float) -> ParameterMap:
    """The parameter map of :class:`GentleGapANNToAttention` (built once per ``delta``).

    ``Min`` is left unevaluated: sympy's simplification of ``Min`` with
    symbolic arguments is slow, and the map is evaluated on every instance.
    """
    s = problem_symbols("gapann")
    n_a, n_b, d, t, eps = s["n_a"], s["n_b"], s["d"], s["t"], s["eps"]
    close = sympy.Min(2 * sympy.ceiling(t / 2) - 2, d, evaluate=False)
    far = sympy.Min(2 * sympy.ceiling((1 + eps) * t / 2), d + 2, evaluate=False)
    beta = 2 * sympy.log(sympy.Max(n_b, 1) / _sympy_number(delta)) / (far - close)
    bound = sympy.sqrt(2 * beta * (d + 1)) * (1 + d / 2)
    return ParameterMap("gapann", "aattc", {"n": n_a, "m": n_b + 1, "d": d + 1, "B": bound})


def _register() -> None:
    from reductions.core import Chain
    from reductions.ov_ann import HalfOnesPadding, OVToGapANN
    from reductions.registry import register
    from reductions.sat_ov import SatToOV

    register("ov-aattc", OVToAttention())
    register("gapann-aattc-gentle", GentleGapANNToAttention())
    register("sat-aattc-direct", Chain.of(SatToOV(), OVToAttention(), label="sat-aattc-direct"))
    register(
        "sat-aattc-gentle",
        Chain.of(SatToOV(), OVToGapANN(), HalfOnesPadding(), GentleGapANNToAttention(), label="sat-aattc-gentle"),
    )


_register()
