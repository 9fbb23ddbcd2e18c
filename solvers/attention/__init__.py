"""Attention oracles: the shared protocol, exact attention, the mpmath reference.

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
from solvers.attention.polynomial import PolynomialAttention
from solvers.attention.reference import mpmath_attention
from solvers.attention.taylor import TaylorAttention

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
