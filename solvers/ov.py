"""Reference solvers for Orthogonal Vectors."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from instances._validation import check_int
from instances.answers import OrthogonalPair
from instances.vectors import OVInstance

__all__ = ["brute_force_ov", "orthogonal_pairs", "count_orthogonal_pairs"]

# Rows of ``a`` per block: the block's product with ``b`` is ``block x n_b`` float32.
_DEFAULT_BLOCK_BYTES = 64 * 2**20


def _blocks(instance: OVInstance, block_rows: int | None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, overlaps)`` with ``overlaps = a[start:stop] @ b.T`` block by block."""
    n_a, n_b = instance.a.shape[0], instance.b.shape[0]
    if block_rows is None:
        block_rows = max(1, _DEFAULT_BLOCK_BYTES // (4 * max(n_b, 1)))
    block_rows = check_int("block_rows", block_rows, minimum=1)
    b_t = instance.b.T.astype(np.float32)
    for start in range(0, n_a, block_rows):
        # float32 products of 0/1 vectors are exact integers up to d = 2^24.
        yield start, instance.a[start : start + block_rows].astype(np.float32) @ b_t


def brute_force_ov(instance: OVInstance, *, block_rows: int | None = None) -> OrthogonalPair | None:
    """The first orthogonal pair in row-major order, or ``None``.

    One matrix product per block of rows of ``a``, so memory stays bounded
    (about 64 MB by default) whatever the sizes.

    Notes
    -----
    Time ``O(n_a n_b d)`` (BLAS), memory ``O(block_rows * n_b)``.

    Examples
    --------
    >>> from instances.vectors import OVInstance
    >>> brute_force_ov(OVInstance([[1, 1], [1, 0]], [[1, 0], [0, 1]]))
    OrthogonalPair(i=1, j=1)
    >>> brute_force_ov(OVInstance([[1, 1]], [[1, 0]])) is None
    True
    """
    if instance.b.shape[0] == 0:
        return None
    for start, overlaps in _blocks(instance, block_rows):
        hits = np.flatnonzero(overlaps.ravel() == 0)
        if hits.size:
            i, j = divmod(int(hits[0]), overlaps.shape[1])
            return OrthogonalPair(start + i, j)
    return None


def orthogonal_pairs(
    instance: OVInstance, *, limit: int | None = None, block_rows: int | None = None
) -> list[OrthogonalPair]:
    """All orthogonal pairs in row-major order (at most ``limit`` of them).

    >>> from instances.vectors import OVInstance
    >>> orthogonal_pairs(OVInstance([[0, 1], [1, 0]], [[1, 0], [0, 0]]))
    [OrthogonalPair(i=0, j=0), OrthogonalPair(i=0, j=1), OrthogonalPair(i=1, j=1)]
    """
    pairs: list[OrthogonalPair] = []
    if instance.b.shape[0] == 0:
        return pairs
    for start, overlaps in _blocks(instance, block_rows):
        for i, j in np.argwhere(overlaps == 0):
            if limit is not None and len(pairs) >= limit:
                return pairs
            pairs.append(OrthogonalPair(start + int(i), int(j)))
    return pairs


def count_orthogonal_pairs(instance: OVInstance, *, block_rows: int | None = None) -> int:
    """Number of orthogonal pairs.

    >>> from instances.vectors import OVInstance
    >>> count_orthogonal_pairs(OVInstance([[0, 1], [1, 0]], [[1, 0], [0, 0]]))
    3
    """
    if instance.b.shape[0] == 0:
        return 0
    return sum(int(np.count_nonzero(overlaps == 0)) for _, overlaps in _blocks(instance, block_rows))
