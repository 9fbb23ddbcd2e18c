"""Max-IP -> AAttC with large entries (``maxip-aattc``).

Logits ``beta (<a_i, b_j> - tau + 1/2)`` against a dummy key at 0, ``V = 1`` on
real keys: outputs near 1 when query ``i`` has a pair reaching ``tau`` and near
0 otherwise. Entries grow with ``sqrt(d W^2 log n)``; this is the regime of
large entries (high inverse temperature) in which Gupta, Huang, Saha, Xu and Ye
(2025) show attention needs ``n^(2 - o(1))`` time under SETH even in tiny
dimension.
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
from instances.errors import OracleContradiction
from instances.maxip import InnerProductPair, MaxIPInstance
from reductions.core import ParameterMap, Reduced, Reduction
from reductions.problems import problem_symbols
from reductions.readout import DEFAULT_DELTA, MarginReadout, as_delta, check_delta, dummy_margin, sympy_number

__all__ = ["MaxIPToAttention"]


@attrs.frozen
class MaxIPToAttention(Reduction):
    """Max-IP -> AAttC: logits ``beta (<a_i, b_j> - tau + 1/2)``, a dummy key at 0.

    Parameters
    ----------
    delta : Fraction or float in (0, 1/2)
        Outputs are ``>= 1 - delta`` when query ``i`` has a pair reaching
        ``tau`` and ``<= delta`` otherwise; additive error below ``1/2 - delta``
        decides (1/4 by default).

    Notes
    -----
    **Construction.** ``D = d + 1`` columns, ``c = sqrt(beta D)`` (the ``1/D``
    of AAttC's ``exp(Q K^T / D)`` is absorbed in ``c``), and
    ``s = sqrt(|tau - 1/2|)`` balancing the last column::

        q_i = c [a_i, s]      k_j = c [b_j, (1/2 - tau)/s]      dummy key 0
        V   = 1 on the n_b real keys, 0 on the dummy

    so ``<q_i, k_j>/D = beta (<a_i, b_j> - tau + 1/2)`` exactly (up to rounding)
    and the dummy's logit is 0.

    **Correctness.** Inner products are integers. If some ``j`` has
    ``<a_i, b_j> >= tau`` its logit is ``>= beta/2``; otherwise every logit is
    ``<= -beta/2``. With ``S_i`` the real mass, ``u_i = S_i/(1 + S_i)`` is
    increasing in ``S_i``: ``u_i >= 1/(1 + e^(-beta/2))`` in the first case and
    ``u_i <= n_b e^(-beta/2)/(1 + n_b e^(-beta/2))`` in the second. With
    ``beta = 2 ln(max(n_b, 1)/delta)`` these are ``>= 1 - delta`` and ``< delta``.
    Read back: query ``i`` has a pair iff ``u_i > 1/2``, after the oracle's
    stated error is checked against both bounds (:class:`~reductions.readout.MarginReadout`);
    backward then scans ``b`` for the pair and checks it.

    **Sizes.** ``n = n_a``, ``n_keys = n_b + 1``, ``d = d + 1``,
    ``B = sqrt(2 (d + 1) ln(max(n_b, 1)/delta)) max(W, sqrt(|tau - 1/2|))`` —
    entries polynomial in ``n`` (through ``d``, ``W`` and ``tau``) with constant
    additive error: the large-entry regime of Gupta et al.

    References
    ----------
    Reconstruction in the spirit of H. Gupta, Z. Huang, B. Saha, Y. Xu, C. Ye,
    "Subquadratic Algorithms and Hardness for Attention with Any Temperature",
    2025 (hardness from Max-IP with large entries); the construction is this
    project's, not the paper's text.

    Examples
    --------
    >>> from solvers.attention.exact import ExactAttention
    >>> inst = MaxIPInstance([[1, 2], [0, 1]], [[1, 1], [2, 0]], 3)
    >>> reduced = MaxIPToAttention().forward(inst)
    >>> reduced.target.parameters()["n_keys"], reduced.target.parameters()["d"]
    (3, 3)
    >>> reduced.backward(ExactAttention()(reduced.target, log_space=True))
    InnerProductPair(i=0, j=0)
    """

    name: ClassVar[str] = "maxip-aattc"
    source: ClassVar[str] = "maxip"
    target: ClassVar[str] = "aattc"

    delta: Fraction | float = attrs.field(default=DEFAULT_DELTA, converter=as_delta, validator=check_delta)

    def beta(self, num_points: int) -> float:
        """``2 ln(max(n_b, 1)/delta)``."""
        return 2 * math.log(max(num_points, 1) / float(self.delta))

    def _forward(self, instance: MaxIPInstance) -> tuple[AttentionInstance, Mapping[str, Any], Mapping[str, Any]]:
        n_a, n_b, d = instance.a.shape[0], instance.b.shape[0], instance.dimension
        beta = self.beta(n_b)
        D = d + 1
        scale = math.sqrt(beta * D)
        offset = 0.5 - instance.threshold
        balance = math.sqrt(abs(offset))
        query = np.zeros((n_a, D))
        query[:, :d] = scale * instance.a
        query[:, d] = scale * balance
        key = np.zeros((n_b + 1, D))
        key[:n_b, :d] = scale * instance.b
        key[:n_b, d] = scale * (offset / balance)
        value = np.zeros((n_b + 1, 1))
        value[:n_b] = 1.0
        declared = scale * max(instance.entry_bound, balance)
        largest = max(float(np.max(np.abs(a))) if a.size else 0.0 for a in (query, key))
        target = AttentionInstance(query, key, value, max(declared, largest))
        readout = dummy_margin(beta / 2, n_b, n_a)
        info = {
            "beta": beta,
            "yes_at_least": readout.lower,  # output of every query whose answer is yes
            "no_at_most": readout.upper,  # output of every query whose answer is no
            "tolerated_abs_error": readout.tolerated_abs_error,
        }
        return target, {"readout": readout}, info

    def backward(self, reduced: Reduced, answer: AttentionOutput) -> InnerProductPair | None:
        """The first query with output > 1/2 and its partner (found and checked), else ``None``."""
        readout: MarginReadout = reduced.decoding["readout"]
        decisions = readout.decide(answer)
        source: MaxIPInstance = reduced.source
        for i, has_pair in enumerate(decisions):
            if not has_pair:
                continue
            hits = np.flatnonzero(source.row_products(i) >= source.threshold)
            if hits.size == 0:
                raise OracleContradiction(
                    f"{answer.oracle or 'the attention oracle'!r} gave query {i} an output above 1/2, "
                    f"but no b_j has <a_{i}, b_j> >= {source.threshold}: the answer is wrong"
                )
            return InnerProductPair(i, int(hits[0]))
        return None

    def parameters(self) -> ParameterMap:
        s = problem_symbols("maxip")
        n_a, n_b, d, tau, W = s["n_a"], s["n_b"], s["d"], s["tau"], s["W"]
        beta = 2 * sympy.log(sympy.Max(n_b, 1) / sympy_number(self.delta))
        bound = sympy.sqrt(beta * (d + 1)) * sympy.Max(W, sympy.sqrt(sympy.Abs(tau - sympy.Rational(1, 2))))
        return ParameterMap("maxip", "aattc", {"n": n_a, "n_keys": n_b + 1, "d": d + 1, "B": bound})
