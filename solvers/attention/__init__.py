"""Attention oracles: the shared protocol, exact attention, the mpmath reference, one sub-package per technique.

* :mod:`~solvers.attention.oracle`: the protocol (guarantee, cost, refusal);
* :mod:`~solvers.attention.exact`: exact attention, robust at any temperature;
* :mod:`~solvers.attention.reference`: the mpmath reference;
* :mod:`~solvers.attention.self_attention`: exact self-attention;
* :mod:`~solvers.attention.polynomial`: the polynomial method and its Taylor variant;
* :mod:`~solvers.attention.anytemp`: attention at any temperature in small dimension.

Examples
--------
>>> from instances.attention import random_attention
>>> from solvers.attention import ExactAttention, mpmath_attention
>>> inst = random_attention(4, 2, 1.0, nonnegative_values=True, seed=0)
>>> exact, reference = ExactAttention()(inst), mpmath_attention(inst)
>>> bool(abs(exact.values - reference.values).max() <= exact.abs_error + reference.abs_error)
True
"""

from solvers.attention.anytemp import AnyTemperatureAttention
from solvers.attention.exact import ExactAttention
from solvers.attention.oracle import AttentionOracle, Cost, Guarantee, check_budget
from solvers.attention.polynomial import PolynomialAttention, TaylorAttention
from solvers.attention.reference import mpmath_attention

__all__ = [
    "AttentionOracle",
    "Guarantee",
    "Cost",
    "check_budget",
    "ExactAttention",
    "PolynomialAttention",
    "TaylorAttention",
    "AnyTemperatureAttention",
    "mpmath_attention",
]
