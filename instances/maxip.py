"""Maximum inner product (Max-IP), decision form, over integer or binary vectors.

An instance holds two integer matrices ``A`` (``n_a x d``) and ``B``
(``n_b x d``) and an integer threshold ``tau``; it asks whether some pair
``(i, j)`` has ``<a_i, b_j> >= tau``. The answer is such a pair
(:class:`InnerProductPair`) or ``None``.

Binary Max-IP is the problem Orthogonal Vectors reduces to by complementing one
side; Max-IP with large integer entries in small dimension is the problem
behind the hardness of attention at any temperature (Gupta, Huang, Saha, Xu,
Ye 2025, building on Chen's hardness of integer Max-IP).

Examples
--------
>>> from instances.maxip import MaxIPInstance, InnerProductPair
>>> inst = MaxIPInstance([[1, 2], [0, -1]], [[3, 0], [1, 1]], threshold=3)
>>> inst.parameters()
{'n_a': 2, 'n_b': 2, 'd': 2, 'tau': 3, 'W': 3}
>>> inst.inner_product(InnerProductPair(0, 1)), inst.is_witness(InnerProductPair(0, 1))
(3, True)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import attrs
import numpy as np

from instances._validation import Seed, as_generator, check_int, complex_position, largest_abs_entry, readonly
from instances.errors import InvalidInstanceError, NotAWitnessError

__all__ = [
    "MaxIPInstance",
    "InnerProductPair",
    "InnerProductSets",
    "random_maxip",
    "planted_maxip",
    "EXACT_PRODUCT_LIMIT",
]

EXACT_PRODUCT_LIMIT = 2**53
"""Largest ``d W^2`` an instance may have: every inner product (and every partial
sum of one) is then an integer float64 holds exactly."""

_ARRAY_EQ = attrs.cmp_using(eq=np.array_equal)


def _integer_matrix(name: str, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise InvalidInstanceError(f"'{name}' must be a rectangular integer matrix ({err})") from err
    if array.size == 0 and array.ndim <= 2:
        rows = array.shape[0] if array.ndim == 2 else 0
        columns = array.shape[1] if array.ndim == 2 else 0
        return readonly(np.zeros((rows, columns), dtype=np.int64))
    if array.ndim != 2:
        raise InvalidInstanceError(f"'{name}' must be a 2-dimensional matrix (got shape {array.shape})")
    if array.dtype == np.bool_ or np.issubdtype(array.dtype, np.integer):
        as_int = array.astype(np.int64)
        if np.issubdtype(array.dtype, np.unsignedinteger) and np.any(array > np.iinfo(np.int64).max):
            raise InvalidInstanceError(f"'{name}' has an entry beyond int64")
        return readonly(as_int)
    if not np.issubdtype(array.dtype, np.number):
        raise InvalidInstanceError(f"'{name}' must hold integers (got dtype {array.dtype})")
    if np.issubdtype(array.dtype, np.complexfloating):
        position = complex_position(array)
        raise InvalidInstanceError(
            f"'{name}' entry {position} is {array[position].item()!r}: complex; entries must be integers"
        )
    finite = np.isfinite(array)
    bad = ~finite
    bad[finite] = array[finite] != np.round(array[finite])
    if bad.any():
        position = tuple(int(x) for x in np.argwhere(bad)[0])
        raise InvalidInstanceError(f"'{name}' must hold integers: entry {position} is {array[position].item()!r}")
    if np.any(np.abs(array) > 2**62):
        raise InvalidInstanceError(f"'{name}' has an entry beyond 2^62")
    return readonly(array.astype(np.int64))


def _threshold(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"'threshold' must be an int (got {value!r} of type {type(value).__name__})")
    return int(value)


@attrs.frozen
class InnerProductPair:
    """A Max-IP witness: row ``i`` of ``A`` and row ``j`` of ``B``.

    >>> InnerProductPair(2, 0)
    InnerProductPair(i=2, j=0)
    """

    i: int = attrs.field(converter=lambda v: check_int("i", v, minimum=0))
    j: int = attrs.field(converter=lambda v: check_int("j", v, minimum=0))


class InnerProductSets(ABC):
    """What the two Max-IP instances share: sizes for the bookkeeping and the pair's range check.

    A base for attrs classes with fields ``a``, ``b`` (two sets of vectors as rows), ``threshold``
    and the properties ``dimension`` and ``entry_bound``.
    """

    __slots__ = ()
    a: np.ndarray
    b: np.ndarray
    threshold: int

    @property
    def dimension(self) -> int:
        """``d``, the length of every vector."""
        return int(self.a.shape[1])

    @abstractmethod
    def inner_product(self, pair: InnerProductPair) -> int:
        """``<a_i, b_j>``, exact; an index out of range raises ``NotAWitnessError``."""

    def is_witness(self, pair: InnerProductPair) -> bool:
        """Whether ``<a_i, b_j> >= tau``; an index out of range raises.

        >>> MaxIPInstance([[1, 1]], [[1, 0]], 2).is_witness(InnerProductPair(0, 0))
        False
        """
        return self.inner_product(pair) >= self.threshold

    def _check_dimensions(self) -> None:
        if self.a.shape[1] != self.b.shape[1]:
            raise InvalidInstanceError(
                f"'a' and 'b' must have the same dimension (got {self.a.shape[1]} and {self.b.shape[1]} columns)"
            )

    def __repr__(self) -> str:
        p = self.parameters()
        return f"{type(self).__name__}(n_a={p['n_a']}, n_b={p['n_b']}, d={p['d']}, tau={p['tau']}, W={p['W']})"

    @property
    @abstractmethod
    def entry_bound(self) -> int:
        """``W``, the bound the instance states on its entries."""

    def parameters(self) -> dict[str, int]:
        """Sizes for the parameter bookkeeping: ``n_a``, ``n_b``, ``d``, ``tau``, ``W``."""
        return {
            "n_a": int(self.a.shape[0]),
            "n_b": int(self.b.shape[0]),
            "d": self.dimension,
            "tau": self.threshold,
            "W": self.entry_bound,
        }

    def _check_pair(self, pair: InnerProductPair) -> None:
        if not isinstance(pair, InnerProductPair):
            raise TypeError(f"'pair' must be an InnerProductPair (got {type(pair).__name__})")
        if pair.i >= self.a.shape[0] or pair.j >= self.b.shape[0]:
            raise NotAWitnessError(
                f"pair {(pair.i, pair.j)} is out of range for sets of sizes {self.a.shape[0]} and {self.b.shape[0]}"
            )


@attrs.frozen(repr=False)  # InnerProductSets.__repr__: the sizes
class MaxIPInstance(InnerProductSets):
    """Max-IP (decision): is there ``(i, j)`` with ``<a_i, b_j> >= tau``?

    Parameters
    ----------
    a, b : array_like of int, shapes ``(n_a, d)`` and ``(n_b, d)``
        The two vector sets (stored as read-only ``int64``).
    threshold : int
        ``tau``; any integer, negative included.

    Raises
    ------
    InvalidInstanceError
        Non-integer entries, mismatched dimensions, or ``d W^2`` above
        :data:`EXACT_PRODUCT_LIMIT` (inner products would not be exact in float64).

    Notes
    -----
    ``W = max(1, max |entry|)`` is the entry bound the parameter map uses (at
    least 1, so that binary and empty instances have ``W = 1``).

    Examples
    --------
    >>> from instances.maxip import MaxIPInstance
    >>> MaxIPInstance([[1, 0, 1]], [[1, 1, 0]], 2)
    MaxIPInstance(n_a=1, n_b=1, d=3, tau=2, W=1)
    >>> MaxIPInstance([[1, 0]], [[1, 1, 0]], 1)
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'a' and 'b' must have the same dimension (got 2 and 3 columns)
    >>> MaxIPInstance([[0.5]], [[1]], 1)
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'a' must hold integers: entry (0, 0) is 0.5
    """

    problem: ClassVar[str] = "maxip"

    a: np.ndarray = attrs.field(converter=lambda v: _integer_matrix("a", v), eq=_ARRAY_EQ, hash=False)
    b: np.ndarray = attrs.field(converter=lambda v: _integer_matrix("b", v), eq=_ARRAY_EQ, hash=False)
    threshold: int = attrs.field(converter=_threshold)

    def __attrs_post_init__(self) -> None:
        self._check_dimensions()
        if self.dimension * self.entry_bound**2 > EXACT_PRODUCT_LIMIT:
            raise InvalidInstanceError(
                f"'d W^2' must be <= 2^53 so that inner products are exact (got d = {self.dimension}, W = {self.entry_bound})"
            )

    @property
    def entry_bound(self) -> int:
        """``W = max(1, max |entry|)``."""
        return max(1, largest_abs_entry(self.a), largest_abs_entry(self.b))

    @property
    def is_binary(self) -> bool:
        """Whether every entry is 0 or 1.

        >>> MaxIPInstance([[1, 0]], [[0, 2]], 1).is_binary
        False
        """
        return bool(np.all((self.a == 0) | (self.a == 1)) and np.all((self.b == 0) | (self.b == 1)))

    def inner_product(self, pair: InnerProductPair) -> int:
        """``<a_i, b_j>`` (exact); an index out of range raises ``NotAWitnessError``."""
        self._check_pair(pair)
        return int(self.a[pair.i] @ self.b[pair.j])

    def row_products(self, i: int) -> np.ndarray:
        """``<a_i, b_j>`` for every ``j``, exact ``int64`` (``O(n_b d)``).

        >>> MaxIPInstance([[1, 2]], [[1, 0], [1, 1]], 1).row_products(0).tolist()
        [1, 3]
        """
        i = check_int("i", i, minimum=0, maximum=self.a.shape[0] - 1)
        return self.b @ self.a[i]


def _check_range(low: int, high: int) -> tuple[int, int]:
    low = check_int("low", low)
    high = check_int("high", high)
    if high < low:
        raise ValueError(f"'high' must be >= 'low' = {low} (got {high})")
    return low, high


def random_maxip(
    num_a: int,
    num_b: int,
    dimension: int,
    threshold: int,
    *,
    low: int = 0,
    high: int = 1,
    seed: Seed = None,
) -> MaxIPInstance:
    """Random Max-IP instance with entries uniform in ``[low, high]`` (binary by default).

    >>> random_maxip(3, 2, 4, 2, seed=1) == random_maxip(3, 2, 4, 2, seed=1)
    True
    >>> random_maxip(3, 2, 4, 2, low=-5, high=5, seed=1).parameters()["W"] <= 5
    True
    """
    num_a = check_int("num_a", num_a, minimum=0)
    num_b = check_int("num_b", num_b, minimum=0)
    dimension = check_int("dimension", dimension, minimum=0)
    low, high = _check_range(low, high)
    rng = as_generator(seed)
    a = rng.integers(low, high + 1, size=(num_a, dimension))
    b = rng.integers(low, high + 1, size=(num_b, dimension))
    return MaxIPInstance(a, b, threshold)


def planted_maxip(
    num_a: int,
    num_b: int,
    dimension: int,
    threshold: int,
    *,
    low: int = 0,
    high: int = 1,
    seed: Seed = None,
) -> tuple[MaxIPInstance, InnerProductPair]:
    """Random Max-IP instance with a pair of inner product exactly ``threshold`` planted.

    The planted ``a_i`` and ``b_j`` share ``tau`` coordinates equal to 1, and
    ``b_j`` is 0 elsewhere, so ``<a_i, b_j> = tau`` whatever the other entries
    (``0 <= tau <= dimension``, and ``low <= 0 < 1 <= high``).

    Returns the instance and the planted pair.

    >>> inst, pair = planted_maxip(4, 5, 6, 3, seed=2)
    >>> inst.inner_product(pair), inst.is_witness(pair)
    (3, True)
    >>> planted_maxip(2, 2, 3, 4)
    Traceback (most recent call last):
    ...
    ValueError: 'threshold' must be <= 3 (got 4)
    """
    num_a = check_int("num_a", num_a, minimum=1)
    num_b = check_int("num_b", num_b, minimum=1)
    dimension = check_int("dimension", dimension, minimum=0)
    threshold = check_int("threshold", threshold, minimum=0, maximum=dimension)
    low, high = _check_range(low, high)
    if not (low <= 0 and high >= 1):
        raise ValueError(f"planting needs 'low' <= 0 and 'high' >= 1 (got {low} and {high})")
    rng = as_generator(seed)
    instance = random_maxip(num_a, num_b, dimension, threshold, low=low, high=high, seed=rng)
    i, j = int(rng.integers(num_a)), int(rng.integers(num_b))
    shared = rng.choice(dimension, size=threshold, replace=False)
    a, b = instance.a.copy(), instance.b.copy()
    a[i, shared] = 1
    b[j] = 0
    b[j, shared] = 1
    return MaxIPInstance(a, b, threshold), InnerProductPair(i, j)
