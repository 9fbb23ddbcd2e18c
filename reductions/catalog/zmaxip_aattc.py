"""Z-Max-IP -> AAttC with large entries (``zmaxip-aattc``), through ``maxip-aattc``.

The construction is :class:`~reductions.catalog.maxip_aattc.MaxIPToAttention`'s
(logits ``beta (<a_i, b_j> - tau + 1/2)`` against a dummy key at 0) with the
scale ``c`` and the balance ``s`` rounded to powers of two, after the threshold
is clamped to ``[-R, R + 1]`` with ``R = sum_k max_i |a_ik| max_j |b_jk| <= d W^2``
(every inner product lies in ``[-R, R]``, so the clamp never changes the
answer). Every entry of ``Q`` and ``K`` is then a float64 holding its value
exactly, so the target's logits are exactly ``beta' (<a_i, b_j> - t + 1/2)``
with ``beta' >= beta``; this needs ``W <= 2^53`` and ``R < 2^52`` (the last key
column holds ``c (1 - 2t) / 2s`` with ``|1 - 2t| <= 2R + 1``), and a larger
instance is refused in one line with its ``d``, ``W`` and ``R`` before anything
is built. How an oracle rounds the logits it computes is its own stated error,
which the read-back checks. This is the last step of Gupta, Huang, Saha, Xu and Ye's (2025) hardness
in dimension ``2^Theta(log* n)`` (their Theorem 1.4 from Chen's Z-Max-IP).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, ClassVar

import attrs
import numpy as np
import sympy

from instances.attention import AttentionInstance, AttentionOutput
from instances.errors import OracleContradiction, SolverBudgetExceeded
from instances.formatting import format_count
from instances.maxip import InnerProductPair
from instances.zmaxip import ZMaxIPInstance
from reductions.catalog.maxip_aattc import MaxIPToAttention
from reductions.core import ParameterMap, Reduced, Reduction
from reductions.problems import problem_symbols
from reductions.readout import DEFAULT_DELTA, MarginReadout, as_delta, check_delta, dummy_margin, sympy_number
from solvers.zmaxip import max_inner_product_z

__all__ = ["ZMaxIPToAttention"]

EXACT_ENTRY_LIMIT = 2**52
"""The reach ``R`` must stay below this: ``|1 - 2t| <= 2R + 1`` is then an odd integer below ``2^53``."""


def product_reach(instance: ZMaxIPInstance) -> int:
    """``R = sum_k max_i |a_ik| max_j |b_jk|`` (0 with an empty side): every ``|<a_i, b_j>| <= R <= d W^2``.

    >>> product_reach(ZMaxIPInstance([[2**40, 1], [0, -3]], [[1, 5]], 0))
    1099511627791
    """
    if instance.a.shape[0] == 0 or instance.b.shape[0] == 0:
        return 0
    return sum(
        max(abs(int(x)) for x in instance.a[:, k]) * max(abs(int(x)) for x in instance.b[:, k])
        for k in range(instance.dimension)
    )


def clamped_threshold(threshold: int, reach: int) -> int:
    """``tau`` clamped to ``[-R, R + 1]``: the same pairs reach it, since every product lies in ``[-R, R]``."""
    return min(max(threshold, -reach), reach + 1)


def _least_power_of_two_square_above(value: float) -> int:
    """The least ``k`` with ``4^k >= value (1 + 2^-50)``: ``c = 2^k`` has ``c^2 >= value`` despite rounding."""
    target = value * (1 + 2.0**-50)
    k = math.ceil(math.log2(target) / 2) - 1
    while math.ldexp(1.0, 2 * k) < target:
        k += 1
    return k


@attrs.frozen
class ZMaxIPToAttention(Reduction):
    """Z-Max-IP -> AAttC: ``maxip-aattc``'s logits, held exactly by float64 entries (``W <= 2^53``, ``R < 2^52``).

    Parameters
    ----------
    delta : Fraction or float in (0, 1/2)
        As for :class:`~reductions.catalog.maxip_aattc.MaxIPToAttention`: outputs
        ``>= 1 - delta`` for a query with a pair reaching ``tau``, ``<= delta`` otherwise.

    Notes
    -----
    **Exact logits.** With ``t = min(max(tau, -R), R + 1)`` (every inner
    product lies in ``[-R, R]``, so ``t`` has the same pairs as ``tau``;
    :func:`product_reach`), ``c`` the least power of two with ``c^2 >= beta D`` and ``s`` the
    power of two with ``s^2`` in ``[m/4, m]`` for ``m = |2t - 1|``::

        q_i = c [a_i, s]      k_j = c [b_j, (1 - 2t)/(2s)]      dummy key 0

    Every entry is a power of two times an integer of magnitude below ``2^53``
    (``|a_i|, |b_j| <= W <= 2^53``; ``m <= 2R + 1 < 2^53`` is odd), hence an exact
    float64, and ``<q_i, k_j>/D = (c^2/D) (<a_i, b_j> - t + 1/2)`` exactly, with
    ``c^2/D >= beta``: the half gap only widens, so ``maxip-aattc``'s read-back
    bounds hold unchanged. How an oracle rounds the logits it computes is part of
    its stated error, which the read-back checks (the float64 exact oracle
    refuses near ``R = 2^52``, where its own rounding exceeds the half gap).

    Sizes: ``n = n_a``, ``n_keys = n_b + 1``, ``d = d + 1`` and
    ``B = 4 sqrt(2 (d + 1) ln(max(n_b, 1)/delta)) max(W, sqrt(|t' - 1/2|))`` with
    ``t'`` the threshold clamped to ``[-d W^2, d W^2 + 1]`` (at least as far from
    1/2 as ``t``; ``c < 2 sqrt(beta D) (1 + 2^-50)`` and ``s, m/(2s) <= sqrt(m)``,
    so every entry is within ``B``), ``W`` the instance's stated bound. Refused
    (:class:`SolverBudgetExceeded`) when ``W > 2^53`` or ``R >= 2^52``.

    Examples
    --------
    >>> from solvers.attention.exact import ExactAttention
    >>> inst = ZMaxIPInstance([[1, 2], [0, 1]], [[1, 1], [2, 0]], 3)
    >>> reduced = ZMaxIPToAttention().forward(inst)
    >>> reduced.backward(ExactAttention()(reduced.target, log_space=True))
    InnerProductPair(i=0, j=0)
    >>> ZMaxIPToAttention().forward(ZMaxIPInstance([[2**40]], [[2**12]], 0))
    Traceback (most recent call last):
    ...
    instances.errors.SolverBudgetExceeded: zmaxip-aattc needs W <= 2^53 and R = sum_k max_i |a_ik| max_j |b_jk| < 2^52 (float64 entries that hold the logits exactly); got d = 1, W = 1,099,511,627,776, R = about 10^15
    """

    name: ClassVar[str] = "zmaxip-aattc"
    source: ClassVar[str] = "zmaxip"
    target: ClassVar[str] = "aattc"

    delta: Fraction | float = attrs.field(default=DEFAULT_DELTA, converter=as_delta, validator=check_delta)

    def random_source(self, rng: Any, size: int) -> ZMaxIPInstance:
        """Random integer instances with entries up to ``2^(4 + size)`` (``R`` below ``2^52``), threshold near
        the maximum (both answers occur)."""
        n_a, n_b = int(rng.integers(1, size + 2)), int(rng.integers(1, size + 2))
        d = int(rng.integers(0, 4))
        high = 2 ** (4 + size)
        a = [[int(rng.integers(-high, high + 1)) for _ in range(d)] for _ in range(n_a)]
        b = [[int(rng.integers(-high, high + 1)) for _ in range(d)] for _ in range(n_b)]
        drawn = ZMaxIPInstance(a, b, 0)
        best = max_inner_product_z(drawn)
        return ZMaxIPInstance(drawn.a, drawn.b, (best[0] if best else 0) + int(rng.integers(-1, 2)))

    def _inner(self) -> MaxIPToAttention:
        return MaxIPToAttention(delta=self.delta)

    def _forward(self, instance: ZMaxIPInstance) -> tuple[AttentionInstance, Mapping[str, Any], Mapping[str, Any]]:
        d, bound = instance.dimension, instance.entry_bound
        reach = product_reach(instance) if bound <= 2**53 else None
        if reach is None or reach >= EXACT_ENTRY_LIMIT:
            raise SolverBudgetExceeded(
                "zmaxip-aattc needs W <= 2^53 and R = sum_k max_i |a_ik| max_j |b_jk| < 2^52 (float64 entries "
                f"that hold the logits exactly); got d = {d}, W = {format_count(bound)}"
                + (f", R = {format_count(reach)}" if reach is not None else "")
            )
        threshold = clamped_threshold(instance.threshold, reach)
        inner = self._inner()
        n_a, n_b, D = instance.a.shape[0], instance.b.shape[0], d + 1
        beta = inner.beta(n_b)
        scale_power = _least_power_of_two_square_above(beta * D)
        odd = abs(2 * threshold - 1)  # m = |2t - 1| >= 1, odd, below 2^53
        balance_power = (odd.bit_length() - 1) // 2  # s^2 = 4^e in (m/4, m]
        scale, balance = math.ldexp(1.0, scale_power), math.ldexp(1.0, balance_power)
        query = np.zeros((n_a, D))
        query[:, :d] = scale * instance.a.astype(np.float64)  # integers of at most 53 bits: exact
        query[:, d] = scale * balance
        key = np.zeros((n_b + 1, D))
        key[:n_b, :d] = scale * instance.b.astype(np.float64)
        key[:n_b, d] = math.ldexp(float(1 - 2 * threshold), scale_power - balance_power - 1)
        value = np.zeros((n_b + 1, 1))
        value[:n_b] = 1.0
        # the parameter map's bound: the threshold clamped to [-d W^2, d W^2 + 1] is at least as far from 1/2
        declared = self._declared_bound(beta, D, bound, clamped_threshold(instance.threshold, d * bound**2))
        target = AttentionInstance(query, key, value, declared)
        readout = dummy_margin(beta / 2, n_b, n_a)
        info = {
            "beta": beta,
            "yes_at_least": readout.lower,
            "no_at_most": readout.upper,
            "tolerated_abs_error": readout.tolerated_abs_error,
        }
        return target, {"readout": readout}, info

    @staticmethod
    def _declared_bound(beta: float, columns: int, bound: int, threshold: int) -> float:
        return 4 * math.sqrt(beta * columns) * max(bound, math.sqrt(abs(threshold - 0.5)))

    def backward(self, reduced: Reduced, answer: AttentionOutput) -> InnerProductPair | None:
        """``maxip-aattc``'s read-back: the first query with output above 1/2 and its partner (found with exact
        integer products and checked), or ``None``."""
        readout: MarginReadout = reduced.decoding["readout"]
        source: ZMaxIPInstance = reduced.source
        for i, has_pair in enumerate(readout.decide(answer)):
            if not has_pair:
                continue
            for j in range(source.b.shape[0]):
                pair = InnerProductPair(i, j)
                if source.is_witness(pair):
                    return pair
            raise OracleContradiction(
                f"{answer.oracle or 'the attention oracle'!r} gave query {i} an output above 1/2, "
                f"but no b_j has <a_{i}, b_j> >= {format_count(source.threshold)}: the answer is wrong"
            )
        return None

    def parameters(self) -> ParameterMap:
        inner = self._inner().parameters()  # maxip and zmaxip share the size symbols n_a, n_b, d, tau, W
        s = problem_symbols("zmaxip")
        outputs = dict(inner.outputs)
        d, W, tau = s["d"], s["W"], s["tau"]
        # |t' - 1/2| for t' clamped to [-d W^2, d W^2 + 1], written without Max(tau, ...): the symbols are
        # declared positive, which would drop the lower clamp as soon as d is substituted
        offset = sympy.Min(sympy.Abs(tau - sympy.Rational(1, 2)), d * W**2 + sympy.Rational(1, 2))
        beta = 2 * sympy.log(sympy.Max(s["n_b"], 1) / sympy_number(self.delta))
        outputs["B"] = 4 * sympy.sqrt(beta * (d + 1)) * sympy.Max(W, sympy.sqrt(offset))
        return ParameterMap("zmaxip", "aattc", outputs, inner.free)
