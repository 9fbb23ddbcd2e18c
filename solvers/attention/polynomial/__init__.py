"""The polynomial method (Alman–Song Algorithm 1) and its Taylor variant (Keles et al.).

* :mod:`~solvers.attention.polynomial.approximation`: polynomial approximations
  of ``exp`` on an interval with a certified error (Chebyshev, Taylor);
* :mod:`~solvers.attention.polynomial.features`: the symmetric tensor features
  ``phi(q) . phi(k) = p(<q, k>)``;
* :mod:`~solvers.attention.polynomial.oracle`: :class:`PolynomialAttention`, which
  plans degree and rank, refuses what it cannot do and computes attention in
  ``O(n r)``;
* :mod:`~solvers.attention.polynomial.taylor`: :class:`TaylorAttention`.

>>> from solvers.attention.polynomial import PolynomialAttention, TaylorAttention
>>> PolynomialAttention().name, TaylorAttention().name
('polynomial', 'taylor')
"""

from solvers.attention.polynomial.oracle import PolynomialAttention
from solvers.attention.polynomial.taylor import TaylorAttention

__all__ = ["PolynomialAttention", "TaylorAttention"]
