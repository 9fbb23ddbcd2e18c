"""OV -> self-attention (dot-product and ``l2`` scores), after Keles, Wijewardena, Hegde (2023).

Both vector sets go into *one* token sequence, with flag coordinates that tell
the weight matrices which side a token is on, plus one dummy token::

    rows 0 .. n_a-1            A-tokens   (a_i, flag A)
    rows n_a .. n_a+n_b-1      B-tokens   (b_j, flag B)
    row  n_a+n_b               the dummy  (flag D)

``V = X W_V`` reads flag B (1 on B-tokens, 0 elsewhere), so output row ``i``
is the share of A-token ``i``'s attention that lands on B-tokens. The weights
make, relative to the dummy, a B-token's logit ``-beta <a_i, b_j> + beta/2``
and every A-token's logit (itself included) ``<= -beta/2``: the same-side
tokens cannot interfere. Query ``i`` has an orthogonal partner iff its output
is above 1/2; the answer is read back per A-token and the pair is checked.
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
from instances.attention import AttentionOutput
from instances.self_attention import SelfAttentionInstance
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

__all__ = ["OVToSelfAttention", "OVToL2SelfAttention", "l2_constants"]


def l2_constants(dimension: int) -> tuple[int, int, int]:
    """``(eta, lambda_a, lambda_d)`` for the ``l2`` construction in dimension ``d``.

    ``lambda_d = floor(sqrt(d)) + 1``, ``eta = lambda_d^2 - d >= 1`` and
    ``lambda_a = ceil(sqrt(d + 2 eta))``, all integers, so that
    ``lambda_d^2 - d = eta`` and ``lambda_a^2 - d >= 2 eta``.

    >>> l2_constants(0), l2_constants(4), l2_constants(91)
    ((1, 2, 1), (5, 4, 3), (9, 11, 10))
    """
    lambda_d = math.isqrt(dimension) + 1
    eta = lambda_d * lambda_d - dimension
    target = dimension + 2 * eta
    lambda_a = math.isqrt(target)
    if lambda_a * lambda_a < target:
        lambda_a += 1
    return eta, lambda_a, lambda_d


@attrs.frozen
class OVToSelfAttention(Reduction):
    """OV -> softmax dot-product self-attention (``s = <q, k>/d``).

    Parameters
    ----------
    delta : Fraction or float in (0, 1/2)
        Outputs of A-tokens are ``>= 1 - delta`` with an orthogonal partner and
        ``<= delta`` without; additive error below ``1/2 - delta`` decides.

    Notes
    -----
    **Construction.** ``N = n_a + n_b + 1`` tokens of width ``d_x = d + 3``
    (vector, flag A, flag B, flag D); head dimension ``D = d + 1``;
    ``c = sqrt(beta D)`` with ``beta = 2 ln(2 max(n_a, n_b, 1)/delta)``::

        q(x) = c [-x_vec, flagA]
        k(x) = c [ x_vec, -flagA - flagD/2]
        v(x) = flagB

    Logits ``<q, k>/D`` of A-token ``i`` against: B-token ``j``,
    ``-beta <a_i, b_j>``; A-token ``i'`` (itself included),
    ``-beta <a_i, a_i'> - beta <= -beta``; the dummy, ``-beta/2``.

    **Correctness.** With ``R_i = sum_j e^(-beta <a_i, b_j>)`` and ``S_i <= n_a e^-beta``
    the A-token mass, ``u_i = R_i/(R_i + e^(-beta/2) + S_i)``, increasing in
    ``R_i``. A partner gives ``R_i >= 1`` and ``u_i >= 1/(1 + e^(-beta/2) + n_a e^-beta)``;
    without one ``R_i <= n_b e^-beta`` and (dropping ``S_i >= 0``)
    ``u_i <= n_b e^(-beta/2)/(1 + n_b e^(-beta/2))``. With ``e^(-beta/2) = delta/(2n)``,
    ``n = max(n_a, n_b, 1)``: ``u_i >= 1 - 3 delta/4`` and ``u_i <= delta/2``.
    Backward checks the oracle's stated absolute or relative error against
    these bounds (refusing with :class:`~instances.errors.OracleRefusal`
    otherwise), decides ``u_i > 1/2`` per A-token, and checks the pair.

    **Sizes.** ``N = n_a + n_b + 1``, ``d_x = d + 3``, ``d = d + 1``, ``d_v = 1``,
    ``B = c = sqrt(2 (d + 1) ln(2 max(n_a, n_b, 1)/delta))``.

    References
    ----------
    F. D. Keles, P. M. Wijewardena, C. Hegde, "On the Computational Complexity
    of Self-Attention", ALT 2023: quadratic lower bounds for (approximate)
    softmax dot-product and ``l2`` self-attention under SETH via OV. The
    construction here (one sequence, flag coordinates, a dummy token) is a
    reconstruction from the paper's statement, not its text.

    Examples
    --------
    >>> from solvers.attention.self_attention import ExactSelfAttention
    >>> reduced = OVToSelfAttention().forward(OVInstance([[1, 0], [1, 1]], [[1, 1], [0, 1]]))
    >>> reduced.target
    SelfAttentionInstance(N=5, d_x=5, d=3, d_v=1, B=4.07..., score='dot')
    >>> reduced.backward(ExactSelfAttention()(reduced.target, log_space=True))
    OrthogonalPair(i=0, j=1)
    """

    name: ClassVar[str] = "ov-selfattn"
    source: ClassVar[str] = "ov"
    target: ClassVar[str] = "selfattn"
    score: ClassVar[str] = "dot"

    delta: Fraction | float = attrs.field(default=DEFAULT_DELTA, converter=as_delta, validator=check_delta)

    def beta(self, num_a: int, num_b: int) -> float:
        """``2 ln(2 max(n_a, n_b, 1)/delta)``."""
        return 2 * math.log(2 * max(num_a, num_b, 1) / float(self.delta))

    def _tokens(self, instance: OVInstance, width: int) -> np.ndarray:
        """``X``: A-tokens, B-tokens, dummy; the three flags are the last columns."""
        n_a, n_b, d = instance.a.shape[0], instance.b.shape[0], instance.dimension
        tokens = np.zeros((n_a + n_b + 1, width))
        tokens[:n_a, :d] = instance.a
        tokens[n_a : n_a + n_b, :d] = instance.b
        tokens[:n_a, width - 3] = 1.0
        tokens[n_a : n_a + n_b, width - 2] = 1.0
        tokens[n_a + n_b, width - 1] = 1.0
        return tokens

    def _weights(
        self, instance: OVInstance, beta: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        d = instance.dimension
        width, D = d + 3, d + 1
        flag_a, flag_d = d, d + 2
        scale = math.sqrt(beta * D)
        query_weights = np.zeros((width, D))
        key_weights = np.zeros((width, D))
        query_weights[:d, :d] = -scale * np.eye(d)
        query_weights[flag_a, d] = scale
        key_weights[:d, :d] = scale * np.eye(d)
        key_weights[flag_a, d] = -scale
        key_weights[flag_d, d] = -scale / 2
        value_weights = np.zeros((width, 1))
        value_weights[d + 1, 0] = 1.0
        return self._tokens(instance, width), query_weights, key_weights, value_weights, scale

    def _readout(self, instance: OVInstance, beta: float) -> MarginReadout:
        n_a, n_b = instance.a.shape[0], instance.b.shape[0]
        # Same-side mass relative to the dummy's e^(-beta/2): at most n_a e^-beta / e^(-beta/2).
        return dummy_margin(beta / 2, n_b, n_a, extra=n_a * math.exp(-beta))

    def _forward(self, instance: OVInstance) -> tuple[SelfAttentionInstance, Mapping[str, Any], Mapping[str, Any]]:
        beta = self.beta(instance.a.shape[0], instance.b.shape[0])
        tokens, query_weights, key_weights, value_weights, bound = self._weights(instance, beta)
        largest = max(float(np.max(np.abs(w))) for w in (tokens, query_weights, key_weights, value_weights))
        target = SelfAttentionInstance(
            tokens, query_weights, key_weights, value_weights, max(bound, largest), self.score
        )
        readout = self._readout(instance, beta)
        info = {
            "beta": beta,
            "yes_at_least": readout.lower,  # output of every query whose answer is yes
            "no_at_most": readout.upper,  # output of every query whose answer is no
            "tolerated_abs_error": readout.tolerated_abs_error,
        }
        return target, {"readout": readout}, info

    def backward(self, reduced: Reduced, answer: AttentionOutput) -> OrthogonalPair | None:
        """A-token outputs > 1/2 -> the first such token's orthogonal partner (checked), else ``None``."""
        readout: MarginReadout = reduced.decoding["readout"]
        decisions = readout.decide(answer)
        return first_orthogonal_partner(reduced.source, decisions, answer.oracle or "the self-attention oracle")

    def _beta_expression(self) -> sympy.Expr:
        s = problem_symbols("ov")
        return 2 * sympy.log(2 * sympy.Max(s["n_a"], s["n_b"], 1) / sympy_number(self.delta))

    def parameters(self) -> ParameterMap:
        s = problem_symbols("ov")
        n_a, n_b, d = s["n_a"], s["n_b"], s["d"]
        bound = sympy.sqrt(self._beta_expression() * (d + 1))
        return ParameterMap(
            "ov", "selfattn", {"N": n_a + n_b + 1, "d_x": d + 3, "d": d + 1, "d_v": sympy.Integer(1), "B": bound}
        )


@attrs.frozen
class OVToL2SelfAttention(OVToSelfAttention):
    """OV -> softmax ``l2`` self-attention (``s = -||q - k||^2/d``).

    Notes
    -----
    **Construction.** Tokens of width ``d_x = 2d + 3``: A-token ``(a, 0_d, 1, 0, 0)``,
    B-token ``(b, 1 - b, 0, 1, 0)`` (the complement makes every B-key's norm
    equal), dummy ``(0, 0, 0, 0, 1)``. Head dimension ``D = 2d + 1``; integers
    ``eta, lambda_a, lambda_d`` from :func:`l2_constants`; ``c = sqrt(beta D/(2 eta))``::

        q(x) = c [-eta x_vec, 0_d, 0]
        k(x) = c [x_vec, x_comp, lambda_a flagA + lambda_d flagD]
        v(x) = flagB

    **Correctness.** ``-||q - k||^2 = -||q||^2 + 2<q, k> - ||k||^2``; the first
    term is the same for every key of a row and cancels, so does the constant
    ``c^2 d``. Relative to that, A-token ``i``'s logit (``/D``) against
    B-token ``j`` (``||k||^2 = c^2 d``) is ``-2 eta c^2 <a_i, b_j>/D = -beta <a_i, b_j>``;
    against the dummy, ``-c^2 (lambda_d^2 - d)/D = -beta/2``; against A-token
    ``i'``, ``-c^2 (2 eta <a_i, a_i'> + |a_i'| + lambda_a^2 - d)/D <= -beta``.
    These are the dot-product construction's logits, so the same bounds and
    the same ``beta = 2 ln(2 max(n_a, n_b, 1)/delta)`` decide.

    **Sizes.** ``N = n_a + n_b + 1``, ``d_x = 2d + 3``, ``d = 2d + 1``, ``d_v = 1``,
    ``B = c max(eta, lambda_a)``.

    References
    ----------
    F. D. Keles, P. M. Wijewardena, C. Hegde, ALT 2023 (``l2`` self-attention,
    the score of Kim, Papamakarios, Mnih 2021). Reconstruction, not the paper's text.

    Examples
    --------
    >>> from solvers.attention.self_attention import ExactSelfAttention
    >>> reduced = OVToL2SelfAttention().forward(OVInstance([[1, 0], [1, 1]], [[1, 1], [0, 1]]))
    >>> reduced.target.parameters()["d_x"], reduced.target.score
    (7, 'l2')
    >>> reduced.backward(ExactSelfAttention()(reduced.target, log_space=True))
    OrthogonalPair(i=0, j=1)
    """

    name: ClassVar[str] = "ov-selfattn-l2"
    score: ClassVar[str] = "l2"

    def _weights(
        self, instance: OVInstance, beta: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        d = instance.dimension
        n_a, n_b = instance.a.shape[0], instance.b.shape[0]
        width, D = 2 * d + 3, 2 * d + 1
        eta, lambda_a, lambda_d = l2_constants(d)
        scale = math.sqrt(beta * D / (2 * eta))
        tokens = self._tokens(instance, width)
        tokens[n_a : n_a + n_b, d : 2 * d] = 1 - instance.b
        query_weights = np.zeros((width, D))
        key_weights = np.zeros((width, D))
        query_weights[:d, :d] = -scale * eta * np.eye(d)
        key_weights[: 2 * d, : 2 * d] = scale * np.eye(2 * d)
        key_weights[2 * d, 2 * d] = scale * lambda_a
        key_weights[2 * d + 2, 2 * d] = scale * lambda_d
        value_weights = np.zeros((width, 1))
        value_weights[2 * d + 1, 0] = 1.0
        return tokens, query_weights, key_weights, value_weights, scale * max(eta, lambda_a)

    def parameters(self) -> ParameterMap:
        s = problem_symbols("ov")
        n_a, n_b, d = s["n_a"], s["n_b"], s["d"]
        lambda_d = sympy.floor(sympy.sqrt(d)) + 1
        eta = lambda_d**2 - d
        lambda_a = sympy.ceiling(sympy.sqrt(d + 2 * eta))
        scale = sympy.sqrt(self._beta_expression() * (2 * d + 1) / (2 * eta))
        return ParameterMap(
            "ov",
            "selfattn",
            {
                "N": n_a + n_b + 1,
                "d_x": 2 * d + 3,
                "d": 2 * d + 1,
                "d_v": sympy.Integer(1),
                "B": scale * sympy.Max(eta, lambda_a),
            },
        )
