"""Reductions between problems: the framework, the catalogue of reductions and the application.

* the **framework** (this package's top level): the reduction protocol and
  chains (:mod:`~reductions.core`), problems (:mod:`~reductions.problems`),
  the registry (:mod:`~reductions.registry`), plug-ins
  (:mod:`~reductions.plugins`), margin read-back (:mod:`~reductions.readout`),
  verification and contract checks (:mod:`~reductions.verify`,
  :mod:`~reductions.testing`), symbolic implications
  (:mod:`~reductions.symbolic`) and the solve pipeline
  (:mod:`~reductions.pipeline`);
* the **catalogue** (:mod:`reductions.catalog`): one module per arrow;
* the **application** (:mod:`reductions.app`): the command line, benchmarks
  and figures.

Names are imported on first use, so ``import reductions`` is cheap and the
command line starts at once.

>>> from reductions import get_reduction, path
>>> path("sat", "ov").name
'sat-ov'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # framework
    "Reduction": "reductions.core",
    "Reduced": "reductions.core",
    "ParameterMap": "reductions.core",
    "Chain": "reductions.core",
    "Stage": "reductions.core",
    "Problem": "reductions.problems",
    "register_problem": "reductions.problems",
    "unregister_problem": "reductions.problems",
    "get_problem": "reductions.problems",
    "problem_names": "reductions.problems",
    "register": "reductions.registry",
    "unregister": "reductions.registry",
    "get_reduction": "reductions.registry",
    "reduction_names": "reductions.registry",
    "registry_graph": "reductions.registry",
    "path": "reductions.registry",
    "all_paths": "reductions.registry",
    "solve_via_attention": "reductions.pipeline",
    "SolveResult": "reductions.pipeline",
    # catalogue
    "attention_chain": "reductions.catalog.chains",
    "SatToOV": "reductions.catalog.sat_ov",
    "OVToGapANN": "reductions.catalog.ov_gapann",
    "HalfOnesPadding": "reductions.catalog.half_ones",
    "GapANNToAttention": "reductions.catalog.gapann_aattc",
    "OVToAttention": "reductions.catalog.ov_aattc",
    "GentleGapANNToAttention": "reductions.catalog.gapann_aattc_gentle",
    "OVToMaxIP": "reductions.catalog.ov_maxip",
    "MaxIPToAttention": "reductions.catalog.maxip_aattc",
    "OVToSelfAttention": "reductions.catalog.ov_selfattn",
    "OVToL2SelfAttention": "reductions.catalog.ov_selfattn",
    "MatMulToAttention": "reductions.catalog.matmul_aattc",
}

__all__ = [
    "Reduction",
    "Reduced",
    "ParameterMap",
    "Chain",
    "Stage",
    "Problem",
    "register_problem",
    "unregister_problem",
    "get_problem",
    "problem_names",
    "register",
    "unregister",
    "get_reduction",
    "reduction_names",
    "registry_graph",
    "path",
    "all_paths",
    "solve_via_attention",
    "SolveResult",
    "attention_chain",
    "SatToOV",
    "OVToGapANN",
    "HalfOnesPadding",
    "GapANNToAttention",
    "OVToAttention",
    "GentleGapANNToAttention",
    "OVToMaxIP",
    "MaxIPToAttention",
    "OVToSelfAttention",
    "OVToL2SelfAttention",
    "MatMulToAttention",
]

if TYPE_CHECKING:
    from reductions.catalog.chains import attention_chain
    from reductions.catalog.gapann_aattc import GapANNToAttention
    from reductions.catalog.gapann_aattc_gentle import GentleGapANNToAttention
    from reductions.catalog.half_ones import HalfOnesPadding
    from reductions.catalog.matmul_aattc import MatMulToAttention
    from reductions.catalog.maxip_aattc import MaxIPToAttention
    from reductions.catalog.ov_aattc import OVToAttention
    from reductions.catalog.ov_gapann import OVToGapANN
    from reductions.catalog.ov_maxip import OVToMaxIP
    from reductions.catalog.ov_selfattn import OVToL2SelfAttention, OVToSelfAttention
    from reductions.catalog.sat_ov import SatToOV
    from reductions.core import Chain, ParameterMap, Reduced, Reduction, Stage
    from reductions.pipeline import SolveResult, solve_via_attention
    from reductions.problems import Problem, get_problem, problem_names, register_problem, unregister_problem
    from reductions.registry import (
        all_paths,
        get_reduction,
        path,
        reduction_names,
        register,
        registry_graph,
        unregister,
    )


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'reductions' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
