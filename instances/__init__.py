r"""Problem instances, their answers, file formats and generators.

The lowest layer of the project: nothing here imports ``solvers`` or
``reductions``.

>>> from instances import CNF, parse_dimacs
>>> parse_dimacs("p cnf 2 1\n1 -2 0\n").formula
CNF(num_vars=2, clauses=((1, -2),))
"""

from instances.answers import Assignment, NeighborDecisions, OrthogonalPair
from instances.attention import AttentionInstance, AttentionOutput, random_attention
from instances.cnf import CNF
from instances.dimacs import ParsedDimacs, parse_dimacs, read_dimacs, write_dimacs, write_dimacs_file
from instances.errors import (
    DimacsParseError,
    FrameworkError,
    IncompatibleReductionError,
    InvalidInstanceError,
    NotAWitnessError,
    OracleContradiction,
    OracleRefusal,
    SolverBudgetExceeded,
)
from instances.generators import pigeonhole, planted_ksat, random_ksat
from instances.vectors import (
    GapANNInstance,
    OVInstance,
    hamming_distances,
    planted_gap_ann,
    planted_ov,
    random_gap_ann,
    random_ov,
)

__all__ = [
    "CNF",
    "Assignment",
    "OrthogonalPair",
    "NeighborDecisions",
    "OVInstance",
    "GapANNInstance",
    "AttentionInstance",
    "AttentionOutput",
    "ParsedDimacs",
    "parse_dimacs",
    "read_dimacs",
    "write_dimacs",
    "write_dimacs_file",
    "random_ksat",
    "planted_ksat",
    "pigeonhole",
    "random_ov",
    "planted_ov",
    "random_gap_ann",
    "planted_gap_ann",
    "random_attention",
    "hamming_distances",
    "FrameworkError",
    "InvalidInstanceError",
    "DimacsParseError",
    "NotAWitnessError",
    "IncompatibleReductionError",
    "SolverBudgetExceeded",
    "OracleRefusal",
    "OracleContradiction",
]
