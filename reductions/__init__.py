"""Reductions between problems, chains, the registry, verification and the command line.

Importing the package registers the built-in reductions.

>>> from reductions import get_reduction, path
>>> path("sat", "ov").name
'sat-ov'
"""

# Import order is registration order: the chain's steps first, then the chain.
from reductions.core import Chain, ParameterMap, Reduced, Reduction, Stage
from reductions.registry import (
    all_paths,
    get_reduction,
    path,
    reduction_names,
    register,
    registry_graph,
    unregister,
)

from reductions.sat_ov import SatToOV  # isort: skip
from reductions.ov_ann import HalfOnesPadding, OVToGapANN  # isort: skip
from reductions.ann_attention import GapANNToAttention  # isort: skip
from reductions.pipeline import SolveResult, attention_chain, solve_via_attention  # isort: skip
from reductions.direct import GentleGapANNToAttention, OVToAttention  # isort: skip
from reductions.maxip import MaxIPToAttention, OVToMaxIP  # isort: skip
from reductions.self_attention import OVToL2SelfAttention, OVToSelfAttention  # isort: skip

__all__ = [
    "Reduction",
    "Reduced",
    "ParameterMap",
    "Chain",
    "Stage",
    "SatToOV",
    "OVToGapANN",
    "HalfOnesPadding",
    "GapANNToAttention",
    "attention_chain",
    "solve_via_attention",
    "SolveResult",
    "register",
    "unregister",
    "get_reduction",
    "reduction_names",
    "registry_graph",
    "path",
    "all_paths",
    "OVToAttention",
    "GentleGapANNToAttention",
    "OVToMaxIP",
    "MaxIPToAttention",
    "OVToSelfAttention",
    "OVToL2SelfAttention",
]
