"""OV -> AAttC directly (``ov-aattc``): logits ``-beta <a_i, b_j>`` against a dummy key at ``-beta/2``.

A query with an orthogonal partner has output close to 1, one without close to
0 (:mod:`reductions.readout`); any *additive* error below about ``1/2 - delta``
decides, so the exact oracle's tiny relative error is not needed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, ClassVar

import attrs
import numpy as np
import sympy

from instances.answers import OrthogonalPair
from instances.attention import AttentionInstance, AttentionOutput
from instances.vectors import OVInstance
from reductions.core import ParameterMap, Reduced, Reduction
from reductions.problems import problem_symbols
from reductions.readout import (
    DEFAULT_DELTA,
    MarginReadout,
    as_delta,
    check_delta,
    dummy_margin,
    first_orthogonal_partner,
    sympy_number,
)

__all__ = ["OVToAttention"]


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

    **Sizes.** ``n = n_a``, ``n_keys = n_b + 1``, ``d = d + 1``,
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
    >>> reduced.target.parameters()["n_keys"], round(reduced.info["beta"], 4)
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

    delta: Fraction | float = attrs.field(default=DEFAULT_DELTA, converter=as_delta, validator=check_delta)

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
            "yes_at_least": readout.lower,  # output of every query whose answer is yes
            "no_at_most": readout.upper,  # output of every query whose answer is no
            "tolerated_abs_error": readout.tolerated_abs_error,
        }
        return target, {"readout": readout}, info

    def backward(self, reduced: Reduced, answer: AttentionOutput) -> OrthogonalPair | None:
        """Outputs > 1/2 -> the first such query's orthogonal partner (checked), else ``None``."""
        readout: MarginReadout = reduced.decoding["readout"]
        decisions = readout.decide(answer)
        return first_orthogonal_partner(reduced.source, decisions, answer.oracle or "the attention oracle")

    def parameters(self) -> ParameterMap:
        s = problem_symbols("ov")
        n_a, n_b, d = s["n_a"], s["n_b"], s["d"]
        beta = 2 * sympy.log(sympy.Max(n_b, 1) / sympy_number(self.delta))
        return ParameterMap("ov", "aattc", {"n": n_a, "n_keys": n_b + 1, "d": d + 1, "B": sympy.sqrt(beta * (d + 1))})
