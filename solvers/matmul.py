"""Reference solver for integer matrix multiplication: the exact product, overflow-safe.

Every entry of ``A B`` and every partial sum of one is at most ``d W^2`` in
absolute value (:attr:`~instances.matmul.MatMulInstance.product_bound`). The
solver picks its arithmetic from that bound, with Python integers:

- ``d W^2 <= 2^53``: a float64 (BLAS) product, exact because every partial sum
  is an integer float64 represents exactly;
- ``d W^2 < 2^63``: an ``int64`` product (exact, no overflow);
- otherwise Python integers (``object`` arrays): exact at any size, slowly.

Examples
--------
>>> from instances.matmul import MatMulInstance
>>> from solvers.matmul import integer_product, product_arithmetic
>>> inst = MatMulInstance([[1, -2], [0, 3]], [[4, 0], [1, 1]])
>>> integer_product(inst).entries.tolist()
[[2, -2], [3, 3]]
>>> product_arithmetic(inst), product_arithmetic(MatMulInstance([[2**40]], [[2**40]]))
('float64', 'python')
"""

from __future__ import annotations

import numpy as np

from instances.matmul import MatMulInstance, MatrixProduct

__all__ = ["integer_product", "product_arithmetic", "FLOAT_EXACT_LIMIT", "INT64_EXACT_LIMIT"]

FLOAT_EXACT_LIMIT = 2**53
"""Largest ``d W^2`` for which the float64 product is exact."""

INT64_EXACT_LIMIT = 2**63 - 1
"""Largest ``d W^2`` for which the ``int64`` product cannot overflow."""


def product_arithmetic(instance: MatMulInstance) -> str:
    """Which arithmetic :func:`integer_product` uses: ``"float64"``, ``"int64"`` or ``"python"``.

    >>> from instances.matmul import MatMulInstance
    >>> product_arithmetic(MatMulInstance([[2**30, 1]], [[2**30], [1]]))
    'int64'
    """
    bound = instance.product_bound
    if bound <= FLOAT_EXACT_LIMIT:
        return "float64"
    if bound <= INT64_EXACT_LIMIT:
        return "int64"
    return "python"


def integer_product(instance: MatMulInstance) -> MatrixProduct:
    """The exact product ``A B`` of ``instance``.

    Notes
    -----
    Time ``O(n_a d n_b)``; the float64 path runs in BLAS, the ``int64`` path in
    numpy's integer loops, the Python path entry by entry (toy sizes only).

    Examples
    --------
    >>> from instances.matmul import MatMulInstance
    >>> big = MatMulInstance([[2**62, 2**62]], [[2**62], [-1]])
    >>> integer_product(big).entries.tolist() == [[2**124 - 2**62]]
    True
    """
    if not isinstance(instance, MatMulInstance):
        raise TypeError(f"'instance' must be a MatMulInstance (got {type(instance).__name__})")
    arithmetic = product_arithmetic(instance)
    if arithmetic == "float64":
        product = np.rint(instance.a.astype(np.float64) @ instance.b.astype(np.float64)).astype(np.int64)
    elif arithmetic == "int64":
        product = instance.a @ instance.b
    else:
        product = instance.a.astype(object) @ instance.b.astype(object)
        if product.size == 0:
            product = np.zeros(instance.shape, dtype=np.int64)
    return MatrixProduct(product)
