"""Solvers that answer one problem directly: reference solvers and attention oracles.

>>> from instances import CNF
>>> from solvers import solve_sat
>>> solve_sat(CNF(2, [[1], [-2]])).to_literals()
(1, -2)
"""

from solvers.ann import brute_force_gap_ann, hamming_ball_gap_ann
from solvers.attention import ExactAttention, mpmath_attention
from solvers.ov import brute_force_ov, count_orthogonal_pairs, orthogonal_pairs
from solvers.sat import SAT_BACKENDS, brute_force_sat, is_satisfiable, solve_sat

__all__ = [
    "brute_force_sat",
    "solve_sat",
    "is_satisfiable",
    "SAT_BACKENDS",
    "brute_force_ov",
    "orthogonal_pairs",
    "count_orthogonal_pairs",
    "brute_force_gap_ann",
    "hamming_ball_gap_ann",
    "ExactAttention",
    "mpmath_attention",
]
