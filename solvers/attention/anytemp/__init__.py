"""Attention at any temperature in small dimension (Gupta et al. 2025).

* :mod:`~solvers.attention.anytemp.halfspace`: kd-tree and brute-force
  structures that sum ``exp`` of inner products over the keys with stated
  error;
* :mod:`~solvers.attention.anytemp.oracle`: :class:`AnyTemperatureAttention`.

>>> from solvers.attention.anytemp import AnyTemperatureAttention
>>> AnyTemperatureAttention().name
'anytemp'
"""

from solvers.attention.anytemp.oracle import AnyTemperatureAttention

__all__ = ["AnyTemperatureAttention"]
