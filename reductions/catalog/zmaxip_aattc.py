"""Z-Max-IP -> AAttC with large entries (``zmaxip-aattc``), through ``maxip-aattc``.

The construction is :class:`~reductions.catalog.maxip_aattc.MaxIPToAttention`'s
(logits ``beta (<a_i, b_j> - tau + 1/2)`` against a dummy key at 0), applied
to the integer instance once its inner products are known to be exact in
float64 (``d W^2 <= 2^53``, the attention oracles compute in float64); a larger
instance is refused in one line with its ``d`` and ``W`` before anything is
built. This is the last step of Gupta, Huang, Saha, Xu and Ye's (2025) hardness
in dimension ``2^Theta(log* n)`` (their Theorem 1.4 from Chen's Z-Max-IP).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, ClassVar

import attrs
import sympy

from instances.attention import AttentionInstance, AttentionOutput
from instances.errors import InvalidInstanceError, SolverBudgetExceeded
from instances.maxip import EXACT_PRODUCT_LIMIT, InnerProductPair
from instances.zmaxip import ZMaxIPInstance
from reductions.catalog.maxip_aattc import MaxIPToAttention
from reductions.core import ParameterMap, Reduced, Reduction
from reductions.problems import problem_symbols
from reductions.readout import DEFAULT_DELTA, as_delta, check_delta

__all__ = ["ZMaxIPToAttention"]


@attrs.frozen
class ZMaxIPToAttention(Reduction):
    """Z-Max-IP -> AAttC: ``maxip-aattc``'s logits on an integer instance with ``d W^2 <= 2^53``.

    Parameters
    ----------
    delta : Fraction or float in (0, 1/2)
        As for :class:`~reductions.catalog.maxip_aattc.MaxIPToAttention`: outputs
        ``>= 1 - delta`` for a query with a pair reaching ``tau``, ``<= delta`` otherwise.

    Notes
    -----
    Sizes: ``n = n_a``, ``n_keys = n_b + 1``, ``d = d + 1`` and
    ``B = sqrt(2 (d + 1) ln(max(n_b, 1)/delta)) max(W, sqrt(|tau - 1/2|))``,
    with ``W`` the instance's stated bound. Refused (:class:`SolverBudgetExceeded`)
    when ``d W^2 > 2^53``.

    Examples
    --------
    >>> from solvers.attention.exact import ExactAttention
    >>> inst = ZMaxIPInstance([[1, 2], [0, 1]], [[1, 1], [2, 0]], 3)
    >>> reduced = ZMaxIPToAttention().forward(inst)
    >>> reduced.backward(ExactAttention()(reduced.target, log_space=True))
    InnerProductPair(i=0, j=0)
    >>> ZMaxIPToAttention().forward(ZMaxIPInstance([[2**40]], [[1]], 0))
    Traceback (most recent call last):
    ...
    instances.errors.SolverBudgetExceeded: zmaxip-aattc needs d W^2 <= 2^53 (float64-exact logits); got d = 1, W = 1099511627776
    """

    name: ClassVar[str] = "zmaxip-aattc"
    source: ClassVar[str] = "zmaxip"
    target: ClassVar[str] = "aattc"

    delta: Fraction | float = attrs.field(default=DEFAULT_DELTA, converter=as_delta, validator=check_delta)

    def random_source(self, rng: Any, size: int) -> ZMaxIPInstance:
        """Random integer instances with entries up to ``2^(4 + size)`` (``d W^2`` within ``2^53``), threshold near
        the maximum (both answers occur)."""
        n_a, n_b = int(rng.integers(1, size + 2)), int(rng.integers(1, size + 2))
        d = int(rng.integers(0, 4))
        high = 2 ** (4 + size)
        a = [[int(rng.integers(-high, high + 1)) for _ in range(d)] for _ in range(n_a)]
        b = [[int(rng.integers(-high, high + 1)) for _ in range(d)] for _ in range(n_b)]
        best = max((sum(x * y for x, y in zip(u, w, strict=True)) for u in a for w in b), default=0)
        return ZMaxIPInstance(a if d else [[]] * n_a, b if d else [[]] * n_b, best + int(rng.integers(-1, 2)))

    def _inner(self) -> MaxIPToAttention:
        return MaxIPToAttention(delta=self.delta)

    def _forward(self, instance: ZMaxIPInstance) -> tuple[AttentionInstance, Mapping[str, Any], Mapping[str, Any]]:
        if instance.dimension * instance.entry_bound**2 > EXACT_PRODUCT_LIMIT:
            raise SolverBudgetExceeded(
                f"zmaxip-aattc needs d W^2 <= 2^53 (float64-exact logits); got d = {instance.dimension}, "
                f"W = {instance.entry_bound}"
            )
        try:
            maxip = instance.to_maxip()
        except InvalidInstanceError as err:  # pragma: no cover - the stated bound already covers the entries
            raise SolverBudgetExceeded(f"zmaxip-aattc: {err}") from err
        inner = self._inner().forward(maxip)
        # the stated bound W (not the largest entry) sets B, as the parameter map says
        scale = math.sqrt(inner.info["beta"] * (instance.dimension + 1))
        declared = scale * max(instance.entry_bound, math.sqrt(abs(0.5 - instance.threshold)))
        target = inner.target
        if declared > target.bound:
            target = AttentionInstance(target.query, target.key, target.value, declared)
        return target, {"inner": inner}, dict(inner.info)

    def backward(self, reduced: Reduced, answer: AttentionOutput) -> InnerProductPair | None:
        """``maxip-aattc``'s read-back: the first query with output above 1/2 and its checked partner, or ``None``."""
        inner: Reduced = reduced.decoding["inner"]
        return self._inner().backward(inner, answer)

    def parameters(self) -> ParameterMap:
        inner = self._inner().parameters()
        s = problem_symbols("zmaxip")
        renamed = {sympy.Symbol(k, positive=True): v for k, v in s.items()}
        outputs = {name: sympy.sympify(expr).subs(renamed) for name, expr in inner.outputs.items()}
        return ParameterMap("zmaxip", "aattc", outputs, inner.free)
