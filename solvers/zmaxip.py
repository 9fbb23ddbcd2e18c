"""Reference solvers for Z-Max-IP: every inner product, exact.

Products are computed in ``int64`` when ``d W^2 <= 2^62`` and in Python
integers otherwise (:meth:`~instances.zmaxip.ZMaxIPInstance.products`); no
float is involved, so entries of any size are decided exactly.

Examples
--------
>>> from instances.zmaxip import ZMaxIPInstance
>>> from solvers.zmaxip import brute_force_zmaxip, max_inner_product_z
>>> inst = ZMaxIPInstance([[2**64, 1], [1, 1]], [[1, 0], [0, 2**64]], 2**64)
>>> brute_force_zmaxip(inst)
InnerProductPair(i=0, j=0)
>>> max_inner_product_z(inst)
(18446744073709551616, InnerProductPair(i=0, j=0))
"""

from __future__ import annotations

import numpy as np

from instances.maxip import InnerProductPair
from instances.zmaxip import ZMaxIPInstance

__all__ = ["brute_force_zmaxip", "zmaxip_pairs", "max_inner_product_z"]


def zmaxip_pairs(instance: ZMaxIPInstance, *, limit: int | None = None) -> list[InnerProductPair]:
    """All pairs with ``<a_i, b_j> >= tau``, in row-major order (at most ``limit``).

    Time ``O(n_a n_b d)`` multiplications of integers of ``log W`` bits.

    >>> from instances.zmaxip import ZMaxIPInstance
    >>> zmaxip_pairs(ZMaxIPInstance([[1, 0], [1, 1]], [[1, 0], [0, 1]], 1))
    [InnerProductPair(i=0, j=0), InnerProductPair(i=1, j=0), InnerProductPair(i=1, j=1)]
    """
    products = instance.products()  # int64 or Python ints: the comparison is exact either way
    hits = np.argwhere(products >= instance.threshold) if products.size else np.empty((0, 2), dtype=np.intp)
    return [InnerProductPair(int(i), int(j)) for i, j in hits[:limit]]


def brute_force_zmaxip(instance: ZMaxIPInstance) -> InnerProductPair | None:
    """The first pair in row-major order with ``<a_i, b_j> >= tau``, or ``None``.

    >>> from instances.zmaxip import ZMaxIPInstance
    >>> brute_force_zmaxip(ZMaxIPInstance([[1, 0]], [[0, 1]], 1)) is None
    True
    """
    pairs = zmaxip_pairs(instance, limit=1)
    return pairs[0] if pairs else None


def max_inner_product_z(instance: ZMaxIPInstance) -> tuple[int, InnerProductPair] | None:
    """The largest inner product and the first pair (row-major) reaching it; ``None`` if a side is empty.

    >>> from instances.zmaxip import ZMaxIPInstance
    >>> max_inner_product_z(ZMaxIPInstance([[-3]], [[-2**70], [5]], 0))
    (3541774862152233910272, InnerProductPair(i=0, j=0))
    """
    products = instance.products()
    if products.size == 0:
        return None
    i, j = np.unravel_index(int(np.argmax(products)), products.shape)  # the first maximum, row-major
    return int(products[i, j]), InnerProductPair(int(i), int(j))
