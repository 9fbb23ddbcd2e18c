"""Reference solvers for Gap-ANN: brute force and the Hamming-ball search of
Alman–Song Lemma 4.7, case 1 (small radius)."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np

from instances.answers import NeighborDecisions
from instances.errors import SolverBudgetExceeded
from instances.vectors import GapANNInstance, hamming_distances

__all__ = ["brute_force_gap_ann", "hamming_ball_gap_ann", "hamming_ball_cost", "ball_radius"]

DEFAULT_BALL_BUDGET = 50_000_000
"""Largest number of ball points the Hamming-ball search visits unless told otherwise."""


def brute_force_gap_ann(instance: GapANNInstance, *, block_rows: int = 4096) -> NeighborDecisions:
    """Exact decisions: query ``i`` is close iff its nearest point is at distance ``< t``.

    This answer is valid whatever the promise; it is the reference for tests.

    Examples
    --------
    >>> from fractions import Fraction
    >>> from instances.vectors import GapANNInstance
    >>> g = GapANNInstance([[1, 0, 0], [0, 0, 1]], [[1, 1, 0]], threshold=2, epsilon=Fraction(1, 2))
    >>> brute_force_gap_ann(g).close
    (True, False)
    """
    n_a = instance.a.shape[0]
    if instance.b.shape[0] == 0:
        return NeighborDecisions((False,) * n_a)
    close = np.empty(n_a, dtype=bool)
    for start in range(0, n_a, block_rows):
        block = hamming_distances(instance.a[start : start + block_rows], instance.b)
        close[start : start + block_rows] = block.min(axis=1) < instance.threshold
    return NeighborDecisions(tuple(bool(c) for c in close))


def ball_radius(instance: GapANNInstance) -> int:
    """Largest integer distance that counts as close: ``ceil(t) - 1``, capped at ``d``.

    >>> from instances.vectors import GapANNInstance
    >>> ball_radius(GapANNInstance([[0, 0, 0]], [[0, 0, 0]], threshold=2, epsilon=1))
    1
    """
    return min(math.ceil(instance.threshold) - 1, instance.dimension)


def hamming_ball_cost(instance: GapANNInstance) -> int:
    """Points visited by :func:`hamming_ball_gap_ann`: ``n_a * sum_{k < t} C(d, k)``.

    >>> from instances.vectors import GapANNInstance
    >>> hamming_ball_cost(GapANNInstance([[0, 0, 0]] * 2, [[0, 0, 0]], threshold=2, epsilon=1))
    8
    """
    d = instance.dimension
    return instance.a.shape[0] * sum(math.comb(d, k) for k in range(ball_radius(instance) + 1))


def _pack(rows: np.ndarray) -> list[bytes]:
    packed = np.packbits(rows, axis=-1)
    return [row.tobytes() for row in packed]


def hamming_ball_gap_ann(instance: GapANNInstance, *, budget: int = DEFAULT_BALL_BUDGET) -> NeighborDecisions:
    """Decide Gap-ANN by enumerating each query's Hamming ball of radius ``< t``.

    Every point of the ball is looked up in a hash set of ``b``; a query is close
    iff some ball point is in ``b``. This is Lemma 4.7's branch for a small
    threshold, where no attention is needed.

    Raises
    ------
    SolverBudgetExceeded
        When ``n_a * sum_{k<t} C(d, k)`` exceeds ``budget``.

    Notes
    -----
    Time ``O(n_a * sum_{k<t} C(d, k) * d)``; memory ``O(n_b d + C(d, k) d)``.

    Examples
    --------
    >>> from instances.vectors import GapANNInstance
    >>> g = GapANNInstance([[1, 0, 0, 0], [0, 0, 1, 1]], [[1, 1, 0, 0]], threshold=2, epsilon=1)
    >>> hamming_ball_gap_ann(g).close
    (True, False)
    >>> hamming_ball_gap_ann(g, budget=3)
    Traceback (most recent call last):
    ...
    instances.errors.SolverBudgetExceeded: Hamming-ball search would visit 10 points, above the budget of 3
    """
    cost = hamming_ball_cost(instance)
    if cost > budget:
        raise SolverBudgetExceeded(f"Hamming-ball search would visit {cost} points, above the budget of {budget}")
    d = instance.dimension
    points = set(_pack(instance.b))
    close = [False] * instance.a.shape[0]
    if not points:
        return NeighborDecisions(tuple(close))
    flip_sets = [
        np.array(list(combinations(range(d), k)), dtype=np.intp).reshape(math.comb(d, k), k)
        for k in range(ball_radius(instance) + 1)
    ]
    for i, query in enumerate(instance.a):
        for flips in flip_sets:
            ball = np.repeat(query[None, :], flips.shape[0], axis=0)
            rows = np.arange(flips.shape[0])[:, None]
            ball[rows, flips] ^= 1
            if any(key in points for key in _pack(ball)):
                close[i] = True
                break
    return NeighborDecisions(tuple(close))
