"""Reference solvers for Max-IP: blocked exact inner products.

Instances guarantee ``d W^2 <= 2^53`` (see :class:`~instances.maxip.MaxIPInstance`),
so a float64 matrix product of integer rows is exact: every partial sum is an
integer of magnitude at most ``d W^2``. Memory stays bounded by processing
``A`` in blocks of rows.

Examples
--------
>>> from instances.maxip import MaxIPInstance
>>> from solvers.maxip import brute_force_maxip, max_inner_product
>>> inst = MaxIPInstance([[1, 0, 1], [1, 1, 1]], [[0, 1, 1], [1, 1, 0]], 2)
>>> brute_force_maxip(inst)
InnerProductPair(i=1, j=0)
>>> max_inner_product(inst)
(2, InnerProductPair(i=1, j=0))
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from instances._validation import check_int
from instances.maxip import InnerProductPair, MaxIPInstance

__all__ = ["brute_force_maxip", "decide_maxip", "max_inner_product", "maxip_pairs"]

_DEFAULT_BLOCK_BYTES = 64 * 2**20


def _blocks(instance: MaxIPInstance, block_rows: int | None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, products)`` with ``products = a[start:stop] @ b.T`` (exact int64)."""
    n_a, n_b = instance.a.shape[0], instance.b.shape[0]
    if block_rows is None:
        block_rows = max(1, _DEFAULT_BLOCK_BYTES // (8 * max(n_b, 1)))
    block_rows = check_int("block_rows", block_rows, minimum=1)
    b_t = instance.b.T.astype(np.float64)
    for start in range(0, n_a, block_rows):
        block = instance.a[start : start + block_rows].astype(np.float64) @ b_t
        yield start, np.rint(block).astype(np.int64)


def brute_force_maxip(instance: MaxIPInstance, *, block_rows: int | None = None) -> InnerProductPair | None:
    """The first pair in row-major order with ``<a_i, b_j> >= tau``, or ``None``.

    Notes
    -----
    Time ``O(n_a n_b d)`` (BLAS), memory ``O(block_rows * n_b)`` (64 MB by default).

    Examples
    --------
    >>> from instances.maxip import MaxIPInstance
    >>> brute_force_maxip(MaxIPInstance([[2, -1]], [[1, 1], [3, 0]], 5))
    InnerProductPair(i=0, j=1)
    >>> brute_force_maxip(MaxIPInstance([[1, 0]], [[0, 1]], 1)) is None
    True
    """
    if instance.b.shape[0] == 0:
        return None
    for start, products in _blocks(instance, block_rows):
        hits = np.flatnonzero(products.ravel() >= instance.threshold)
        if hits.size:
            i, j = divmod(int(hits[0]), products.shape[1])
            return InnerProductPair(start + i, j)
    return None


def decide_maxip(instance: MaxIPInstance) -> bool:
    """Whether some pair reaches the threshold.

    >>> from instances.maxip import MaxIPInstance
    >>> decide_maxip(MaxIPInstance([[1, 1]], [[1, 1]], 2))
    True
    """
    return brute_force_maxip(instance) is not None


def max_inner_product(instance: MaxIPInstance, *, block_rows: int | None = None) -> tuple[int, InnerProductPair] | None:
    """The largest inner product and the first pair (row-major) reaching it; ``None`` if a side is empty.

    >>> from instances.maxip import MaxIPInstance
    >>> max_inner_product(MaxIPInstance([[1, -2]], [[0, -1], [2, 0]], 0))
    (2, InnerProductPair(i=0, j=0))
    >>> max_inner_product(MaxIPInstance([[1]], np.zeros((0, 1), dtype=int), 0)) is None
    True
    """
    if instance.a.shape[0] == 0 or instance.b.shape[0] == 0:
        return None
    best: tuple[int, InnerProductPair] | None = None
    for start, products in _blocks(instance, block_rows):
        flat = int(np.argmax(products))
        i, j = divmod(flat, products.shape[1])
        value = int(products[i, j])
        if best is None or value > best[0]:
            best = (value, InnerProductPair(start + i, j))
    return best


def maxip_pairs(
    instance: MaxIPInstance, *, limit: int | None = None, block_rows: int | None = None
) -> list[InnerProductPair]:
    """All pairs reaching the threshold, in row-major order (at most ``limit``).

    >>> from instances.maxip import MaxIPInstance
    >>> maxip_pairs(MaxIPInstance([[1, 0], [1, 1]], [[1, 0], [0, 1]], 1))
    [InnerProductPair(i=0, j=0), InnerProductPair(i=1, j=0), InnerProductPair(i=1, j=1)]
    """
    pairs: list[InnerProductPair] = []
    if instance.b.shape[0] == 0:
        return pairs
    for start, products in _blocks(instance, block_rows):
        for i, j in np.argwhere(products >= instance.threshold):
            if limit is not None and len(pairs) >= limit:
                return pairs
            pairs.append(InnerProductPair(start + int(i), int(j)))
    return pairs
