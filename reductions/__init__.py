"""Reductions between problems, chains, the registry, verification and the command line.

Importing the package registers the built-in reductions.

>>> from reductions import get_reduction, path
>>> path("sat", "ov").name
'sat-ov'
"""

from reductions.core import Chain, ParameterMap, Reduced, Reduction, Stage
from reductions.registry import all_paths, get_reduction, path, reduction_names, register, registry_graph
from reductions.sat_ov import SatToOV

__all__ = [
    "Reduction",
    "Reduced",
    "ParameterMap",
    "Chain",
    "Stage",
    "SatToOV",
    "register",
    "get_reduction",
    "reduction_names",
    "registry_graph",
    "path",
    "all_paths",
]
