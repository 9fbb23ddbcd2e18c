"""Gap-ANN -> AAttC with outputs near 0 or 1 (``gapann-aattc-gentle``).

Logits ``-beta (dist(a_i, b_j) - t_mid)`` against a dummy key at 0, so a close
query has output near 1 and a far one near 0; thresholding at 1/2 decides, and
any additive error below about ``1/2 - delta`` is good enough. Reconstructed
from the description of Haverbeck et al. 2026, Lemma A.5.
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

from instances.answers import NeighborDecisions
from instances.attention import AttentionInstance, AttentionOutput
from instances.errors import InvalidInstanceError
from instances.vectors import GapANNInstance
from reductions.catalog.half_ones import HalfOnesPadding
from reductions.core import ParameterMap, Reduced, Reduction
from reductions.problems import get_problem, problem_symbols
from reductions.readout import (
    DEFAULT_DELTA,
    MarginReadout,
    as_delta,
    check_delta,
    dummy_margin,
    sympy_number,
)

__all__ = ["GentleGapANNToAttention", "gentle_distances"]


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

    **Sizes.** ``n = n_a``, ``n_keys = n_b + 1``, ``d = D + 1``,
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
    >>> from reductions.catalog.half_ones import HalfOnesPadding
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

    delta: Fraction | float = attrs.field(default=DEFAULT_DELTA, converter=as_delta, validator=check_delta)

    def random_source(self, rng: np.random.Generator, size: int) -> GapANNInstance:
        """Random equal-weight Gap-ANN instances (half-ones padded), for testing."""
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
            "yes_at_least": readout.lower,  # output of every query whose answer is yes
            "no_at_most": readout.upper,  # output of every query whose answer is no
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
    beta = 2 * sympy.log(sympy.Max(n_b, 1) / sympy_number(delta)) / (far - close)
    bound = sympy.sqrt(2 * beta * (d + 1)) * (1 + d / 2)
    return ParameterMap("gapann", "aattc", {"n": n_a, "n_keys": n_b + 1, "d": d + 1, "B": bound})
