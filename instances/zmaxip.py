"""Integer Max-IP with exact integers of any size (Z-Max-IP), decision form.

An instance holds two integer matrices ``A`` (``n_a x d``) and ``B``
(``n_b x d``), an integer threshold ``tau`` and a stated entry bound ``W``
(``|entry| <= W`` for every entry); it asks whether some pair ``(i, j)`` has
``<a_i, b_j> >= tau``. The answer is such a pair
(:class:`~instances.maxip.InnerProductPair`) or ``None``.

Unlike :class:`~instances.maxip.MaxIPInstance` (``d W^2 <= 2^53``, float64
exact), entries are Python integers of any size, stored in ``object`` arrays:
Chen's reduction from OV to Z-Max-IP in dimension ``2^O(log* n)`` (CCC 2018)
makes entries that int64 cannot hold, and every inner product here is exact.

Examples
--------
>>> from instances.zmaxip import ZMaxIPInstance
>>> from instances.maxip import InnerProductPair
>>> inst = ZMaxIPInstance([[10**20, 1]], [[10**20, -1], [0, 5]], threshold=10**40)
>>> inst.parameters()["d"], inst.inner_product(InnerProductPair(0, 0)) - 10**40
(2, -1)
>>> inst.is_witness(InnerProductPair(0, 0))
False
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

from instances._validation import Seed, as_generator, check_int, readonly, settle_bound
from instances.errors import InvalidInstanceError
from instances.maxip import InnerProductPair, InnerProductSets, _threshold

__all__ = ["ZMaxIPInstance", "random_zmaxip", "INT64_PRODUCT_LIMIT"]

INT64_PRODUCT_LIMIT = 2**62
"""Largest ``d W^2`` for which :meth:`ZMaxIPInstance.products` computes in ``int64``
(every partial sum then fits); above it the products are Python integers."""


def _object_eq(left: np.ndarray, right: np.ndarray) -> bool:
    return left.shape == right.shape and all(int(x) == int(y) for x, y in zip(left.flat, right.flat, strict=True))


_ARRAY_EQ = attrs.cmp_using(eq=_object_eq)


def _integer_matrix(name: str, value: Any) -> np.ndarray:
    """A 2-D ``object`` array of Python ints; one :class:`InvalidInstanceError` names a bad entry.

    A read-only 2-D ``object`` array of Python ints is kept as it is (no copy), so instances
    built from one matrix (a family's members) share it.
    """
    if (
        isinstance(value, np.ndarray)
        and value.dtype == object
        and value.ndim == 2
        and not value.flags.writeable
        and all(type(entry) is int for entry in value.flat)
    ):
        return value
    try:
        array = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
    except (TypeError, ValueError) as err:
        raise InvalidInstanceError(f"'{name}' must be a rectangular integer matrix ({err})") from err
    if array.ndim != 2:
        if array.size == 0:
            return readonly(np.zeros((array.shape[0] if array.ndim else 0, 0), dtype=object))
        raise InvalidInstanceError(f"'{name}' must be a 2-dimensional matrix (got shape {array.shape})")
    result = np.empty(array.shape, dtype=object)
    for position, entry in np.ndenumerate(array):
        if isinstance(entry, (bool, np.bool_)):
            result[position] = int(entry)
        elif isinstance(entry, (int, np.integer)):
            result[position] = int(entry)
        elif isinstance(entry, (float, np.floating)) and float(entry).is_integer():
            result[position] = int(entry)
        else:
            raise InvalidInstanceError(f"'{name}' must hold integers: entry {position} is {entry!r}")
    return readonly(result)


def _stated_bound(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"'bound' must be an int or None (got {value!r} of type {type(value).__name__})")
    if int(value) < 1:
        raise InvalidInstanceError(f"'bound' must be >= 1 (got {int(value)})")
    return int(value)


@attrs.frozen(repr=False)  # InnerProductSets.__repr__: the sizes
class ZMaxIPInstance(InnerProductSets):
    """Z-Max-IP (decision): is there ``(i, j)`` with ``<a_i, b_j> >= tau``, over exact integers?

    Parameters
    ----------
    a, b : array_like of int, shapes ``(n_a, d)`` and ``(n_b, d)``
        The two vector sets (stored as read-only ``object`` arrays of Python ints).
    threshold : int
        ``tau``; any integer.
    bound : int, optional
        The stated entry bound ``W >= 1``; every entry must satisfy
        ``|entry| <= W``. By default ``W = max(1, max |entry|)``.

    Raises
    ------
    InvalidInstanceError
        A non-integer entry, an entry above the stated bound, or mismatched
        dimensions; the message names the matrix and the entry.

    Examples
    --------
    >>> ZMaxIPInstance([[1, 0, 1]], [[1, 1, 0]], 2)
    ZMaxIPInstance(n_a=1, n_b=1, d=3, tau=2, W=1)
    >>> ZMaxIPInstance([[1, 9]], [[1, 1]], 2, bound=5)
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'a' entry (0, 1) is 9, above the stated bound W = 5 in absolute value
    >>> ZMaxIPInstance([[0.5]], [[1]], 1)
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'a' must hold integers: entry (0, 0) is 0.5
    """

    problem: ClassVar[str] = "zmaxip"

    a: np.ndarray = attrs.field(converter=lambda v: _integer_matrix("a", v), eq=_ARRAY_EQ, hash=False)
    b: np.ndarray = attrs.field(converter=lambda v: _integer_matrix("b", v), eq=_ARRAY_EQ, hash=False)
    threshold: int = attrs.field(converter=_threshold)
    bound: int | None = attrs.field(default=None, converter=_stated_bound)

    def __attrs_post_init__(self) -> None:
        self._check_dimensions()
        object.__setattr__(self, "bound", settle_bound(self.bound, {"a": self.a, "b": self.b}))

    @property
    def entry_bound(self) -> int:
        """The stated bound ``W`` (``max(1, max |entry|)`` unless stated)."""
        assert self.bound is not None
        return self.bound

    def inner_product(self, pair: InnerProductPair) -> int:
        """``<a_i, b_j>`` as an exact Python int; an index out of range raises ``NotAWitnessError``."""
        self._check_pair(pair)
        return sum((int(x) * int(y) for x, y in zip(self.a[pair.i], self.b[pair.j], strict=True)), 0)

    def products(self) -> np.ndarray:
        """Every ``<a_i, b_j>``, exact: ``int64`` when ``d W^2 <= 2^62``, else Python ints (``object``).

        >>> ZMaxIPInstance([[1, 2]], [[3, 4], [0, 1]], 0).products().tolist()
        [[11, 2]]
        """
        if self.dimension * self.entry_bound**2 <= INT64_PRODUCT_LIMIT:
            return self.a.astype(np.int64) @ self.b.astype(np.int64).T
        if self.a.shape[0] == 0 or self.b.shape[0] == 0 or self.dimension == 0:
            return np.zeros((self.a.shape[0], self.b.shape[0]), dtype=object)
        return self.a.dot(self.b.T)


def random_zmaxip(
    num_a: int, num_b: int, dimension: int, threshold: int, *, bits: int = 4, seed: Seed = None
) -> ZMaxIPInstance:
    """Random Z-Max-IP instance with entries uniform in ``[-2^bits, 2^bits]`` (exact for any ``bits``).

    Each entry is drawn by rejection from ``bits + 2`` random bits, so every integer of the
    range is equally likely; ``seed`` may be a ``numpy.random.Generator``, whose stream it uses.

    >>> random_zmaxip(2, 3, 4, 0, bits=80, seed=1) == random_zmaxip(2, 3, 4, 0, bits=80, seed=1)
    True
    >>> random_zmaxip(2, 3, 4, 0, bits=80, seed=1).parameters()["W"] <= 2**80
    True
    """
    num_a = check_int("num_a", num_a, minimum=0)
    num_b = check_int("num_b", num_b, minimum=0)
    dimension = check_int("dimension", dimension, minimum=0)
    bits = check_int("bits", bits, minimum=0)
    rng = as_generator(seed)

    span = 2 ** (bits + 1) + 1  # the integers in [-2^bits, 2^bits]
    width = span.bit_length()

    def entry() -> int:
        while True:  # rejection: uniform on [0, span), fewer than 2 draws on average (span > 2^(width - 1))
            candidate = int.from_bytes(rng.bytes((width + 7) // 8), "little") & ((1 << width) - 1)
            if candidate < span:
                return candidate - 2**bits

    def draw(rows: int) -> np.ndarray:
        out = np.empty((rows, dimension), dtype=object)
        for position in np.ndindex(rows, dimension):
            out[position] = entry()
        return out

    return ZMaxIPInstance(draw(num_a), draw(num_b), threshold)
