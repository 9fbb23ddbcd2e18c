"""The half-ones padding (``half-ones``, Alman–Song Remark 4.4).

``a -> [a; 1 - a]`` doubles the dimension and every distance, and gives every
vector weight exactly half its length, as Lemma 4.7 needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np

from instances.answers import NeighborDecisions
from instances.vectors import GapANNInstance
from reductions.core import ParameterMap, Reduced, Reduction
from reductions.problems import problem_symbols

__all__ = ["HalfOnesPadding"]


@attrs.frozen
class HalfOnesPadding(Reduction):
    """Gap-ANN(n, d, t, eps) -> Gap-ANN(n, 2d, 2t, eps) by ``a -> [a; 1 - a]``.

    Every output vector has weight exactly ``d`` (half of ``2d``) and every
    distance doubles, so the promise carries over unchanged (Remark 4.4).

    Examples
    --------
    >>> from fractions import Fraction
    >>> g = GapANNInstance([[1, 0, 1]], [[0, 0, 1]], threshold=2, epsilon=Fraction(1, 2))
    >>> padded = HalfOnesPadding().forward(g).target
    >>> padded.a.tolist(), padded.threshold, padded.has_equal_weights()
    ([[1, 0, 1, 0, 1, 0]], Fraction(4, 1), True)
    """

    name: ClassVar[str] = "half-ones"
    source: ClassVar[str] = "gapann"
    target: ClassVar[str] = "gapann"

    def _forward(self, instance: GapANNInstance) -> tuple[GapANNInstance, Mapping[str, Any], Mapping[str, Any]]:
        a = np.hstack([instance.a, 1 - instance.a])
        b = np.hstack([instance.b, 1 - instance.b])
        return GapANNInstance(a, b, 2 * instance.threshold, instance.epsilon), {}, {}

    def backward(self, reduced: Reduced, answer: NeighborDecisions) -> NeighborDecisions:
        """Decisions carry over unchanged (distances only doubled)."""
        if not isinstance(answer, NeighborDecisions):
            raise TypeError(f"'answer' must be NeighborDecisions (got {type(answer).__name__})")
        return answer

    def parameters(self) -> ParameterMap:
        s = problem_symbols("gapann")
        return ParameterMap(
            "gapann", "gapann", {"n_a": s["n_a"], "n_b": s["n_b"], "d": 2 * s["d"], "t": 2 * s["t"], "eps": s["eps"]}
        )
