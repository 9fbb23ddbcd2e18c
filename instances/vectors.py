"""Vector problems: Orthogonal Vectors (OV) and gap approximate nearest neighbour (Gap-ANN).

Both hold two sets of binary vectors as read-only ``uint8`` matrices, one row
per vector. The two sets may differ in size (``n_a != n_b``); they share the
dimension ``d``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, ClassVar

import attrs
import numpy as np

from instances._validation import Seed, as_generator, binary_matrix, check_int, check_real
from instances.answers import NeighborDecisions, OrthogonalPair
from instances.display import html_block, key_value_table, matrix_preview
from instances.errors import InvalidInstanceError, NotAWitnessError

__all__ = [
    "OVInstance",
    "GapANNInstance",
    "hamming_distances",
    "random_ov",
    "planted_ov",
    "random_gap_ann",
    "planted_gap_ann",
]

_ARRAY_EQ = attrs.cmp_using(eq=np.array_equal)


def _check_same_dimension(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[1] != b.shape[1]:
        raise InvalidInstanceError(
            f"'a' and 'b' must have the same dimension (got {a.shape[1]} and {b.shape[1]} columns)"
        )


def _as_fraction(name: str, value: Any) -> Fraction:
    if isinstance(value, bool):
        raise TypeError(f"'{name}' must be a rational number (got {value!r})")
    try:
        return Fraction(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"'{name}' must be a rational number (got {value!r})") from err


def hamming_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All pairwise Hamming distances between the rows of two binary matrices.

    Computed as ``|a| + |b| - 2<a, b>`` with one matrix product.

    >>> hamming_distances(np.array([[1, 0, 1]]), np.array([[1, 1, 1], [0, 1, 0]])).tolist()
    [[1, 3]]
    """
    a32 = np.asarray(a, dtype=np.float32)
    b32 = np.asarray(b, dtype=np.float32)
    overlap = a32 @ b32.T
    dist = a32.sum(axis=1)[:, None] + b32.sum(axis=1)[None, :] - 2 * overlap
    return np.rint(dist).astype(np.int64)


@attrs.frozen
class OVInstance:
    """Bichromatic Orthogonal Vectors: is there ``(i, j)`` with ``<a_i, b_j> = 0``?

    Parameters
    ----------
    a, b : array_like of 0/1, shapes ``(n_a, d)`` and ``(n_b, d)``

    Examples
    --------
    >>> from instances.vectors import OVInstance
    >>> ov = OVInstance([[1, 0], [1, 1]], [[0, 1]])
    >>> ov.parameters()
    {'n_a': 2, 'n_b': 1, 'd': 2}
    >>> ov.is_orthogonal_pair(OrthogonalPair(0, 0))
    True
    >>> OVInstance([[1, 0]], [[0, 1, 1]])
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'a' and 'b' must have the same dimension (got 2 and 3 columns)
    """

    problem: ClassVar[str] = "ov"

    a: np.ndarray = attrs.field(converter=lambda v: binary_matrix("a", v), eq=_ARRAY_EQ, hash=False)
    b: np.ndarray = attrs.field(converter=lambda v: binary_matrix("b", v), eq=_ARRAY_EQ, hash=False)

    def __attrs_post_init__(self) -> None:
        _check_same_dimension(self.a, self.b)

    @property
    def dimension(self) -> int:
        """The common dimension ``d``."""
        return int(self.a.shape[1])

    def parameters(self) -> dict[str, int]:
        """Sizes for the parameter bookkeeping: ``n_a``, ``n_b``, ``d``."""
        return {"n_a": int(self.a.shape[0]), "n_b": int(self.b.shape[0]), "d": self.dimension}

    def is_orthogonal_pair(self, pair: OrthogonalPair) -> bool:
        """Whether ``pair`` is an orthogonal pair; an index out of range raises.

        >>> OVInstance([[1, 0]], [[1, 1]]).is_orthogonal_pair(OrthogonalPair(0, 0))
        False
        """
        if pair.i >= self.a.shape[0] or pair.j >= self.b.shape[0]:
            raise NotAWitnessError(
                f"pair {(pair.i, pair.j)} is out of range for sets of sizes {self.a.shape[0]} and {self.b.shape[0]}"
            )
        return not bool(np.any(self.a[pair.i] & self.b[pair.j]))

    def __repr__(self) -> str:
        n_a, n_b, d = self.parameters().values()
        return f"OVInstance(n_a={n_a}, n_b={n_b}, d={d})"

    def _repr_html_(self) -> str:
        """Notebook display: the sizes and the first rows and columns of ``a`` and ``b``.

        >>> html = OVInstance([[1, 0], [1, 1]], [[0, 1]])._repr_html_()
        >>> "<caption>a (2 x 2)</caption>" in html, "<caption>b (1 x 2)</caption>" in html
        (True, True)
        """
        p = self.parameters()
        return html_block(
            f"OV instance: n_a = {p['n_a']:,}, n_b = {p['n_b']:,}, d = {p['d']:,}",
            key_value_table(p),
            matrix_preview("a", self.a),
            matrix_preview("b", self.b),
        )


@attrs.frozen
class GapANNInstance:
    """Gap approximate nearest neighbour, Gap-ANN(n, d, t, eps) (Alman–Song Def. 4.5).

    For every query ``a_i``: case 1 if some ``b_j`` has ``||a_i - b_j||_0 < t``;
    case 2 if every ``b_j`` has ``||a_i - b_j||_0 >= (1 + eps) t``. A query in
    neither case may be answered either way. ``threshold`` and ``epsilon`` are
    exact rationals.

    Examples
    --------
    >>> from instances.vectors import GapANNInstance
    >>> g = GapANNInstance([[1, 0, 0]], [[1, 1, 0], [0, 1, 1]], threshold=2, epsilon=Fraction(1, 2))
    >>> g.nearest_distances().tolist()
    [1]
    >>> g.is_valid_answer(NeighborDecisions((True,)))
    True
    >>> g.is_valid_answer(NeighborDecisions((False,)))
    False
    """

    problem: ClassVar[str] = "gapann"

    a: np.ndarray = attrs.field(converter=lambda v: binary_matrix("a", v), eq=_ARRAY_EQ, hash=False)
    b: np.ndarray = attrs.field(converter=lambda v: binary_matrix("b", v), eq=_ARRAY_EQ, hash=False)
    threshold: Fraction = attrs.field(converter=lambda v: _as_fraction("threshold", v))
    epsilon: Fraction = attrs.field(converter=lambda v: _as_fraction("epsilon", v))

    def __attrs_post_init__(self) -> None:
        _check_same_dimension(self.a, self.b)
        if self.threshold <= 0:
            raise InvalidInstanceError(f"'threshold' must be > 0 (got {self.threshold})")
        if self.epsilon <= 0:
            raise InvalidInstanceError(f"'epsilon' must be > 0 (got {self.epsilon})")

    @property
    def dimension(self) -> int:
        """The common dimension ``d``."""
        return int(self.a.shape[1])

    @property
    def far_distance(self) -> Fraction:
        """``(1 + eps) t``: case 2 means every distance is at least this."""
        return (1 + self.epsilon) * self.threshold

    def parameters(self) -> dict[str, Any]:
        """Sizes for the parameter bookkeeping: ``n_a``, ``n_b``, ``d``, ``t``, ``eps``."""
        return {
            "n_a": int(self.a.shape[0]),
            "n_b": int(self.b.shape[0]),
            "d": self.dimension,
            "t": self.threshold,
            "eps": self.epsilon,
        }

    def nearest_distances(self) -> np.ndarray:
        """Distance from each query to its nearest point of ``b``.

        With ``b`` empty every query is far from everything: the distances are
        ``inf`` (a float array), so every query is in case 2.
        """
        if self.b.shape[0] == 0:
            return np.full(self.a.shape[0], np.inf)
        return hamming_distances(self.a, self.b).min(axis=1)

    def is_valid_answer(self, decisions: NeighborDecisions) -> bool:
        """Whether ``decisions`` is correct on every query where the promise holds.

        A decisions tuple of the wrong length raises ``NotAWitnessError``.
        """
        if len(decisions.close) != self.a.shape[0]:
            raise NotAWitnessError(f"{len(decisions.close)} decisions for {self.a.shape[0]} queries")
        nearest = self.nearest_distances()
        close = np.asarray(decisions.close, dtype=bool)
        wrong_far = (nearest < self.threshold) & ~close
        wrong_close = (nearest >= self.far_distance) & close
        return not bool(np.any(wrong_far | wrong_close))

    def has_equal_weights(self) -> bool:
        """Whether every vector has weight exactly ``d / 2`` (the half-ones form)."""
        half = self.dimension / 2
        return bool(np.all(self.a.sum(axis=1) == half) and np.all(self.b.sum(axis=1) == half))

    def __repr__(self) -> str:
        p = self.parameters()
        return f"GapANNInstance(n_a={p['n_a']}, n_b={p['n_b']}, d={p['d']}, t={p['t']}, eps={p['eps']})"

    def _repr_html_(self) -> str:
        """Notebook display: sizes, threshold and gap, and the first rows and columns of ``a`` and ``b``.

        >>> html = GapANNInstance([[1, 0]], [[1, 1]], threshold=2, epsilon=Fraction(1, 2))._repr_html_()
        >>> "<th>(1 + eps) t</th><td>3</td>" in html
        True
        """
        p = self.parameters()
        return html_block(
            f"Gap-ANN instance: n_a = {p['n_a']:,}, n_b = {p['n_b']:,}, d = {p['d']:,}, t = {p['t']}, eps = {p['eps']}",
            key_value_table({**p, "(1 + eps) t": self.far_distance}),
            matrix_preview("a (queries)", self.a),
            matrix_preview("b (points)", self.b),
        )


def _random_binary(rng: np.random.Generator, rows: int, columns: int, density: float) -> np.ndarray:
    return (rng.random((rows, columns)) < density).astype(np.uint8)


def random_ov(num_a: int, num_b: int, dimension: int, *, density: float = 0.5, seed: Seed = None) -> OVInstance:
    """Random OV instance with independent entries equal to 1 with probability ``density``.

    >>> random_ov(3, 2, 4, seed=1) == random_ov(3, 2, 4, seed=1)
    True
    >>> random_ov(3, 2, 4, seed=1).parameters()
    {'n_a': 3, 'n_b': 2, 'd': 4}
    """
    num_a = check_int("num_a", num_a, minimum=0)
    num_b = check_int("num_b", num_b, minimum=0)
    dimension = check_int("dimension", dimension, minimum=0)
    density = check_real("density", density, minimum=0, maximum=1)
    rng = as_generator(seed)
    a = _random_binary(rng, num_a, dimension, density)
    b = _random_binary(rng, num_b, dimension, density)
    return OVInstance(a, b)


def planted_ov(
    num_a: int, num_b: int, dimension: int, *, density: float = 0.5, seed: Seed = None
) -> tuple[OVInstance, OrthogonalPair]:
    """Random OV instance with one orthogonal pair planted at a random position.

    >>> ov, pair = planted_ov(4, 5, 6, seed=2)
    >>> ov.is_orthogonal_pair(pair)
    True
    """
    num_a = check_int("num_a", num_a, minimum=1)
    num_b = check_int("num_b", num_b, minimum=1)
    instance = random_ov(num_a, num_b, dimension, density=density, seed=seed)
    rng = (
        as_generator(seed)
        if isinstance(seed, np.random.Generator)
        else np.random.default_rng(None if seed is None else [int(seed), 1])
    )
    i, j = int(rng.integers(num_a)), int(rng.integers(num_b))
    b = instance.b.copy()
    b[j] &= 1 - instance.a[i]
    return OVInstance(instance.a, b), OrthogonalPair(i, j)


def random_gap_ann(
    num_a: int,
    num_b: int,
    dimension: int,
    threshold: int | Fraction,
    epsilon: int | Fraction,
    *,
    density: float = 0.5,
    seed: Seed = None,
) -> GapANNInstance:
    """Random Gap-ANN instance (entries 1 with probability ``density``).

    >>> random_gap_ann(2, 3, 5, 2, Fraction(1, 2), seed=0).parameters()["t"]
    Fraction(2, 1)
    """
    ov = random_ov(num_a, num_b, dimension, density=density, seed=seed)
    return GapANNInstance(ov.a, ov.b, threshold, epsilon)


def planted_gap_ann(
    num_a: int,
    num_b: int,
    dimension: int,
    threshold: int | Fraction,
    epsilon: int | Fraction,
    *,
    density: float = 0.5,
    seed: Seed = None,
) -> tuple[GapANNInstance, OrthogonalPair]:
    """Random Gap-ANN instance with ``b_j`` planted at distance ``< t`` of ``a_i``.

    Returns the instance and the planted pair (query ``i``, point ``j``).

    >>> g, pair = planted_gap_ann(3, 3, 8, 3, Fraction(1, 3), seed=4)
    >>> int(g.nearest_distances()[pair.i]) < 3
    True
    """
    threshold = _as_fraction("threshold", threshold)
    if threshold <= 0:
        raise ValueError(f"'threshold' must be > 0 (got {threshold})")
    instance = random_gap_ann(num_a, num_b, dimension, threshold, epsilon, density=density, seed=seed)
    if num_a < 1 or num_b < 1:
        raise ValueError(f"'num_a' and 'num_b' must be >= 1 to plant a pair (got {num_a} and {num_b})")
    rng = (
        as_generator(seed)
        if isinstance(seed, np.random.Generator)
        else np.random.default_rng(None if seed is None else [int(seed), 2])
    )
    i, j = int(rng.integers(num_a)), int(rng.integers(num_b))
    max_flips = min(math.ceil(threshold) - 1, dimension)
    flips = int(rng.integers(0, max_flips + 1))
    point = instance.a[i].copy()
    point[rng.choice(dimension, size=flips, replace=False)] ^= 1
    b = instance.b.copy()
    b[j] = point
    return GapANNInstance(instance.a, b, threshold, epsilon), OrthogonalPair(i, j)
