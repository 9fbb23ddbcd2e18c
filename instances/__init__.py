r"""Problem instances, their answers, file formats and generators.

The lowest layer of the project: nothing here imports ``solvers`` or
``reductions``.

Names are imported on first use (numpy loads with the first instance class),
so ``import instances`` is cheap.

>>> from instances import CNF, parse_dimacs
>>> parse_dimacs("p cnf 2 1\n1 -2 0\n").formula
CNF(num_vars=2, clauses=((1, -2),))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "Assignment": "instances.answers",
    "NeighborDecisions": "instances.answers",
    "OrthogonalPair": "instances.answers",
    "AttentionInstance": "instances.attention",
    "AttentionOutput": "instances.attention",
    "random_attention": "instances.attention",
    "CNF": "instances.cnf",
    "ParsedDimacs": "instances.dimacs",
    "parse_dimacs": "instances.dimacs",
    "read_dimacs": "instances.dimacs",
    "write_dimacs": "instances.dimacs",
    "write_dimacs_file": "instances.dimacs",
    "DimacsParseError": "instances.errors",
    "FrameworkError": "instances.errors",
    "IncompatibleReductionError": "instances.errors",
    "InvalidInstanceError": "instances.errors",
    "NotAWitnessError": "instances.errors",
    "OracleContradiction": "instances.errors",
    "OracleRefusal": "instances.errors",
    "SolverBudgetExceeded": "instances.errors",
    "pigeonhole": "instances.generators",
    "planted_ksat": "instances.generators",
    "random_ksat": "instances.generators",
    "GapANNInstance": "instances.vectors",
    "OVInstance": "instances.vectors",
    "hamming_distances": "instances.vectors",
    "planted_gap_ann": "instances.vectors",
    "planted_ov": "instances.vectors",
    "random_gap_ann": "instances.vectors",
    "random_ov": "instances.vectors",
}

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

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        # a submodule reached as an attribute (``instances.cnf``)
        try:
            return importlib.import_module(f"instances.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module 'instances' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
