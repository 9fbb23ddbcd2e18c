"""Problem instances, their answers, file formats and generators.

The lowest layer of the project: nothing here imports ``solvers`` or
``reductions``.
"""

from instances.answers import Assignment, NeighborDecisions, OrthogonalPair
from instances.cnf import CNF
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

__all__ = [
    "CNF",
    "Assignment",
    "OrthogonalPair",
    "NeighborDecisions",
    "FrameworkError",
    "InvalidInstanceError",
    "DimacsParseError",
    "NotAWitnessError",
    "IncompatibleReductionError",
    "SolverBudgetExceeded",
    "OracleRefusal",
    "OracleContradiction",
]
