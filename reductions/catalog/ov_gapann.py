"""OV -> Gap-ANN by the coordinate gadget (``ov-gapann``).

Every coordinate becomes three bits, ``f(0)=100, f(1)=010`` on the
``a`` side and ``g(0)=110, g(1)=101`` on the ``b`` side, so that
``||f(a) - g(b)||_0 = d + 2<a, b>``: orthogonal pairs sit at distance exactly
``d``, all others at ``>= d + 2``. OV(n, d) becomes Gap-ANN(n, 3d, t = d + 1,
eps = 1/(d + 1)).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any, ClassVar

import attrs
import numpy as np

from instances.answers import NeighborDecisions, OrthogonalPair
from instances.errors import NotAWitnessError, OracleContradiction
from instances.vectors import GapANNInstance, OVInstance
from reductions.core import ParameterMap, Reduced, Reduction
from reductions.problems import problem_symbols

__all__ = ["OVToGapANN", "gadget_a", "gadget_b", "find_partner"]


_GADGET_A = np.array([[1, 0, 0], [0, 1, 0]], dtype=np.uint8)  # f(0), f(1)
_GADGET_B = np.array([[1, 1, 0], [1, 0, 1]], dtype=np.uint8)  # g(0), g(1)


def gadget_a(a: np.ndarray) -> np.ndarray:
    """Apply ``f`` to every coordinate: ``(n, d) -> (n, 3d)``.

    >>> gadget_a(np.array([[0, 1]], dtype=np.uint8)).tolist()
    [[1, 0, 0, 0, 1, 0]]
    """
    return _GADGET_A[a].reshape(a.shape[0], 3 * a.shape[1])


def gadget_b(b: np.ndarray) -> np.ndarray:
    """Apply ``g`` to every coordinate: ``(n, d) -> (n, 3d)``.

    >>> gadget_b(np.array([[0, 1]], dtype=np.uint8)).tolist()
    [[1, 1, 0, 1, 0, 1]]
    """
    return _GADGET_B[b].reshape(b.shape[0], 3 * b.shape[1])


def find_partner(ov: OVInstance, decisions: NeighborDecisions) -> OrthogonalPair | None:
    """Turn Gap-ANN decisions into an orthogonal pair, checking every claim used.

    For the first query declared close, scan ``b`` for an orthogonal partner
    (``O(n_b d)``). If there is none the decisions are wrong: raise
    :class:`OracleContradiction` naming who made them, never answer.

    >>> ov = OVInstance([[1, 0], [0, 1]], [[0, 1]])
    >>> find_partner(ov, NeighborDecisions((True, False)))
    OrthogonalPair(i=0, j=0)
    >>> find_partner(ov, NeighborDecisions((False, True), decided_by="exact"))
    Traceback (most recent call last):
    ...
    instances.errors.OracleContradiction: 'exact' declared query 1 close, but no vector of B is orthogonal to a_1: the answer is wrong
    """
    if len(decisions.close) != ov.a.shape[0]:
        raise NotAWitnessError(f"{len(decisions.close)} decisions for {ov.a.shape[0]} queries")
    for i in decisions.close_queries:
        overlaps = ov.b.astype(np.int64) @ ov.a[i].astype(np.int64)
        partners = np.flatnonzero(overlaps == 0)
        if partners.size == 0:
            who = decisions.decided_by or "the Gap-ANN solver"
            raise OracleContradiction(
                f"{who!r} declared query {i} close, but no vector of B is orthogonal to a_{i}: the answer is wrong"
            )
        return OrthogonalPair(i, int(partners[0]))
    return None


@attrs.frozen
class OVToGapANN(Reduction):
    """OV -> Gap-ANN by the coordinate gadget.

    Notes
    -----
    Exact, with gap ``1 + 1/(d+1)``. The paper cites Rubinstein (2018) for a
    constant gap in dimension ``O(log n)``; that construction is not attempted,
    so along the SAT chain the attention bound grows like ``sqrt(d log n)``.
    Time ``O((n_a + n_b) d)``. Backward: a query declared close is checked by
    scanning for an orthogonal partner (:func:`find_partner`).

    References
    ----------
    J. Alman, Z. Song, "Fast Attention Requires Bounded Entries", NeurIPS 2023, §4.

    Examples
    --------
    >>> ov = OVInstance([[1, 0], [1, 1]], [[0, 1], [1, 1]])
    >>> reduced = OVToGapANN().forward(ov)
    >>> reduced.target
    GapANNInstance(n_a=2, n_b=2, d=6, t=3, eps=1/3)
    >>> from solvers.ann import brute_force_gap_ann
    >>> reduced.backward(brute_force_gap_ann(reduced.target))
    OrthogonalPair(i=0, j=0)
    """

    name: ClassVar[str] = "ov-gapann"
    source: ClassVar[str] = "ov"
    target: ClassVar[str] = "gapann"

    def _forward(self, instance: OVInstance) -> tuple[GapANNInstance, Mapping[str, Any], Mapping[str, Any]]:
        d = instance.dimension
        target = GapANNInstance(gadget_a(instance.a), gadget_b(instance.b), d + 1, Fraction(1, d + 1))
        return target, {}, {"gap": f"distances d={d} (orthogonal) or >= {d + 2}"}

    def backward(self, reduced: Reduced, answer: NeighborDecisions) -> OrthogonalPair | None:
        """Decisions -> an orthogonal pair (checked) or ``None``."""
        if not isinstance(answer, NeighborDecisions):
            raise TypeError(f"'answer' must be NeighborDecisions (got {type(answer).__name__})")
        return find_partner(reduced.source, answer)

    def parameters(self) -> ParameterMap:
        s = problem_symbols("ov")
        d = s["d"]
        return ParameterMap(
            "ov", "gapann", {"n_a": s["n_a"], "n_b": s["n_b"], "d": 3 * d, "t": d + 1, "eps": 1 / (d + 1)}
        )
