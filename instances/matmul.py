"""Integer matrix multiplication: the instance ``(A, B, W)`` and its answer, the exact product.

An instance holds an integer matrix ``A`` (``n_a x d``), an integer matrix
``B`` (``d x n_b``) and a stated entry bound ``W`` (``|entry| <= W`` for every
entry of both). The answer is the whole product ``A B`` (the evaluation form,
not a decision), as a :class:`MatrixProduct` of exact integers. Row ``i`` of
``A`` and column ``j`` of ``B`` play the parts of Max-IP's vectors ``a_i`` and
``b_j``: the product lists every inner product ``<a_i, b_j>``.

This is the problem behind the hardness of attention in dimension
``d = poly(n)`` (Gupta, Huang, Saha, Xu, Ye 2025, Theorem 1.5: attention needs
``T_MUL(n, d, n)^(1 - o(1))`` time there).

Examples
--------
>>> from instances.matmul import MatMulInstance, MatrixProduct
>>> inst = MatMulInstance([[1, -2], [0, 3]], [[4, 0, 1], [1, 1, -1]])
>>> inst.parameters()
{'n_a': 2, 'n_b': 3, 'd': 2, 'W': 4}
>>> MatrixProduct([[2, -2, 3], [3, 3, -3]]).shape
(2, 3)
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

from instances._validation import readonly, settle_bound
from instances.errors import InvalidInstanceError

__all__ = ["MatMulInstance", "MatrixProduct", "ENTRY_LIMIT"]

ENTRY_LIMIT = 2**62
"""Largest ``|entry|`` (and stated bound ``W``) an instance may have: entries are stored as ``int64``."""

_ARRAY_EQ = attrs.cmp_using(eq=np.array_equal)


def _as_integer_array(name: str, value: Any, limit: int | None) -> np.ndarray:
    """A 2-D integer array (``int64``, or ``object`` holding Python ints when ``limit`` is None).

    Bad input raises one :class:`InvalidInstanceError` naming the matrix and the entry.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise InvalidInstanceError(f"'{name}' must be a rectangular integer matrix ({err})") from err
    if array.size == 0 and array.ndim == 2:
        return np.zeros(array.shape, dtype=np.int64 if limit is not None else object)
    if array.ndim != 2:
        raise InvalidInstanceError(f"'{name}' must be a 2-dimensional matrix (got shape {array.shape})")
    if array.dtype == np.bool_:
        array = array.astype(np.int64)
    if array.dtype == object:
        for position, entry in np.ndenumerate(array):
            if isinstance(entry, bool) or not isinstance(entry, (int, np.integer)):
                raise InvalidInstanceError(f"'{name}' must hold integers: entry {position} is {entry!r}")
        array = np.vectorize(int, otypes=[object])(array)
    elif np.issubdtype(array.dtype, np.signedinteger) and limit is None:
        return array.astype(np.int64)  # fits int64 already: no per-entry work
    elif np.issubdtype(array.dtype, np.integer):
        pass
    elif np.issubdtype(array.dtype, np.floating):
        finite = np.isfinite(array)
        bad = ~finite
        bad[finite] = array[finite] != np.round(array[finite])
        if bad.any():
            position = tuple(int(x) for x in np.argwhere(bad)[0])
            raise InvalidInstanceError(f"'{name}' must hold integers: entry {position} is {array[position].item()!r}")
        array = np.vectorize(int, otypes=[object])(array)
    else:
        raise InvalidInstanceError(f"'{name}' must hold integers (got dtype {array.dtype})")
    if limit is None:
        return array if array.dtype == object else array.astype(object)
    if array.dtype != object and np.issubdtype(array.dtype, np.signedinteger):
        too_large = (array > limit) | (array < -limit)
    elif array.dtype != object:  # unsigned
        too_large = array > limit
    else:
        too_large = np.vectorize(lambda x: abs(int(x)) > limit, otypes=[bool])(array)
    if too_large.any():
        position = tuple(int(x) for x in np.argwhere(too_large)[0])
        raise InvalidInstanceError(
            f"'{name}' entry {position} is {int(array[position])}, beyond the limit 2^62 in absolute value"
        )
    return array.astype(np.int64)


def _left_factor(value: Any) -> np.ndarray:
    return readonly(_as_integer_array("a", value, ENTRY_LIMIT))


def _right_factor(value: Any) -> np.ndarray:
    return readonly(_as_integer_array("b", value, ENTRY_LIMIT))


def _stated_bound(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"'bound' must be an int or None (got {value!r} of type {type(value).__name__})")
    value = int(value)
    if not 1 <= value <= ENTRY_LIMIT:
        raise InvalidInstanceError(f"'bound' must be in [1, 2^62] (got {value})")
    return value


@attrs.frozen
class MatMulInstance:
    """Integer matrix multiplication: compute ``A B`` exactly.

    Parameters
    ----------
    a : array_like of int, shape ``(n_a, d)``
        The left factor ``A`` (stored as read-only ``int64``).
    b : array_like of int, shape ``(d, n_b)``
        The right factor ``B``.
    bound : int, optional
        The stated entry bound ``W >= 1``: every entry of ``A`` and ``B`` must
        satisfy ``|entry| <= W``. By default ``W = max(1, max |entry|)``.

    Raises
    ------
    InvalidInstanceError
        A non-integer entry, an entry above the stated bound (or above
        :data:`ENTRY_LIMIT`), or inner dimensions that do not match; the message
        names the matrix and the entry.

    Notes
    -----
    Every entry of the product, and every partial sum of one, is at most
    ``d W^2`` in absolute value (:attr:`product_bound`); the reference solver
    uses exact ``int64`` arithmetic below ``2^63`` and Python integers above.
    Empty matrices are allowed (``n_a``, ``n_b`` or ``d`` may be 0); with
    ``d = 0`` the product is the zero matrix.

    Examples
    --------
    >>> MatMulInstance([[1, 0, -1]], [[2], [5], [2]], bound=5)
    MatMulInstance(n_a=1, n_b=1, d=3, W=5)
    >>> MatMulInstance([[1, 0]], [[1, 1]])
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'a' has d = 2 columns but 'b' has 1 rows; A B needs them equal
    >>> MatMulInstance([[1, 7]], [[1], [1]], bound=5)
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'a' entry (0, 1) is 7, above the stated bound W = 5 in absolute value
    >>> MatMulInstance([[0.5]], [[1]])
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'a' must hold integers: entry (0, 0) is 0.5
    """

    problem: ClassVar[str] = "matmul"

    a: np.ndarray = attrs.field(converter=_left_factor, eq=_ARRAY_EQ, hash=False, repr=False)
    b: np.ndarray = attrs.field(converter=_right_factor, eq=_ARRAY_EQ, hash=False, repr=False)
    bound: int | None = attrs.field(default=None, converter=_stated_bound, kw_only=False)

    def __attrs_post_init__(self) -> None:
        if self.a.shape[1] != self.b.shape[0]:
            raise InvalidInstanceError(
                f"'a' has d = {self.a.shape[1]} columns but 'b' has {self.b.shape[0]} rows; A B needs them equal"
            )
        object.__setattr__(self, "bound", settle_bound(self.bound, {"a": self.a, "b": self.b}))

    @property
    def entry_bound(self) -> int:
        """The stated bound ``W`` (``>= 1``)."""
        assert self.bound is not None
        return self.bound

    @property
    def dimension(self) -> int:
        """The inner dimension ``d`` (columns of ``A``, rows of ``B``)."""
        return int(self.a.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        """The product's shape ``(n_a, n_b)``."""
        return (int(self.a.shape[0]), int(self.b.shape[1]))

    @property
    def product_bound(self) -> int:
        """``d W^2``, a bound on every product entry and every partial sum of one (a Python int).

        >>> MatMulInstance([[3, -3]], [[3], [3]]).product_bound
        18
        """
        return self.dimension * self.entry_bound**2

    def parameters(self) -> dict[str, int]:
        """Sizes for the parameter bookkeeping: ``n_a``, ``n_b``, ``d``, ``W``."""
        n_a, n_b = self.shape
        return {"n_a": n_a, "n_b": n_b, "d": self.dimension, "W": self.entry_bound}

    def __repr__(self) -> str:
        p = self.parameters()
        return f"MatMulInstance(n_a={p['n_a']}, n_b={p['n_b']}, d={p['d']}, W={p['W']})"


def _product_entries(value: Any) -> np.ndarray:
    array = _as_integer_array("entries", value, None)
    if array.dtype == np.int64:
        return readonly(array)
    fits = all(-(2**63) <= int(x) < 2**63 for x in array.flat)
    return readonly(array.astype(np.int64) if fits else array)


@attrs.frozen
class MatrixProduct:
    """The answer to a :class:`MatMulInstance`: the product's exact integer entries.

    ``entries`` is stored read-only, as ``int64`` when every entry fits and as
    an ``object`` array of Python integers otherwise. Equality compares the
    entries exactly.

    Examples
    --------
    >>> p = MatrixProduct([[1, 2], [3, 2**70]])
    >>> p.shape, p.entries.dtype
    ((2, 2), dtype('O'))
    >>> p == MatrixProduct([[1, 2], [3, 2**70]]), p == MatrixProduct([[1, 2], [3, 4]])
    (True, False)
    >>> MatrixProduct([[1.5]])
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'entries' must hold integers: entry (0, 0) is 1.5
    """

    entries: np.ndarray = attrs.field(converter=_product_entries, eq=_ARRAY_EQ, hash=False, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)``."""
        return (int(self.entries.shape[0]), int(self.entries.shape[1]))

    def first_difference(self, other: MatrixProduct) -> tuple[int, int] | None:
        """The first entry (row-major) where the two products differ; ``None`` when equal.

        Shapes must agree.

        >>> MatrixProduct([[1, 2]]).first_difference(MatrixProduct([[1, 3]]))
        (0, 1)
        """
        if self.shape != other.shape:
            raise ValueError(f"cannot compare products of shapes {self.shape} and {other.shape}")
        differ = np.asarray(self.entries != other.entries, dtype=bool)
        if not differ.any():
            return None
        i, j = np.argwhere(differ)[0]
        return (int(i), int(j))

    def __repr__(self) -> str:
        return f"MatrixProduct(shape={self.shape})"
