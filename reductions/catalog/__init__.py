"""The built-in catalogue: one module per arrow, named after it, and the named chains.

| module | registered as | arrow |
|---|---|---|
| ``sat_ov`` | ``sat-ov`` | k-SAT -> OV by split and list |
| ``ov_gapann`` | ``ov-gapann`` | OV -> Gap-ANN by the coordinate gadget |
| ``ov_gapann_pcp`` | ``ov-gapann-pcp`` | OV -> many Gap-ANN instances with a constant gap (Merlin–Arthur protocol) |
| ``half_ones`` | ``half-ones`` | Gap-ANN -> Gap-ANN with equal weights (Remark 4.4) |
| ``gapann_aattc`` | ``gapann-aattc`` | Gap-ANN -> AAttC (Lemma 4.7) |
| ``ov_aattc`` | ``ov-aattc`` | OV -> AAttC directly, outputs near 0 or 1 |
| ``gapann_aattc_gentle`` | ``gapann-aattc-gentle`` | Gap-ANN -> AAttC, outputs near 0 or 1 |
| ``ov_maxip`` | ``ov-maxip`` | OV -> Max-IP |
| ``maxip_aattc`` | ``maxip-aattc`` | Max-IP -> AAttC with large entries |
| ``ov_selfattn`` | ``ov-selfattn``, ``ov-selfattn-l2`` | OV -> self-attention |
| ``matmul_aattc`` | ``matmul-aattc`` | integer matrix multiplication -> AAttC at ``d = poly(n)`` |
| ``ov_zmaxip`` | ``ov-zmaxip`` | OV -> many Z-Max-IP instances in dimension ``2^O(log* n)`` (Chinese remainders) |
| ``zmaxip_aattc`` | ``zmaxip-aattc`` | Z-Max-IP -> AAttC with large entries |

Importing a module registers nothing. :func:`register_builtins` registers the
problems, the single steps and the chains in one explicit order; the registry
calls it through the ``reductions.plugins`` entry point ``builtin``, the same
way it calls any other plug-in (:mod:`reductions.plugins`).

>>> from reductions.registry import get_reduction
>>> get_reduction("half-ones")
HalfOnesPadding()
"""

from __future__ import annotations

from reductions.catalog.chains import builtin_chains
from reductions.catalog.gapann_aattc import GapANNToAttention
from reductions.catalog.gapann_aattc_gentle import GentleGapANNToAttention
from reductions.catalog.half_ones import HalfOnesPadding
from reductions.catalog.matmul_aattc import MatMulToAttention
from reductions.catalog.maxip_aattc import MaxIPToAttention
from reductions.catalog.ov_aattc import OVToAttention
from reductions.catalog.ov_gapann import OVToGapANN
from reductions.catalog.ov_gapann_pcp import OVToGapANNPCP
from reductions.catalog.ov_maxip import OVToMaxIP
from reductions.catalog.ov_selfattn import OVToL2SelfAttention, OVToSelfAttention
from reductions.catalog.ov_zmaxip import OVToZMaxIP
from reductions.catalog.problems import builtin_problems
from reductions.catalog.sat_ov import SatToOV
from reductions.catalog.zmaxip_aattc import ZMaxIPToAttention
from reductions.core import Reduction
from reductions.problems import register_problem
from reductions.registry import register

__all__ = ["register_builtins", "builtin_reductions"]


def builtin_reductions() -> dict[str, Reduction]:
    """The single steps of the catalogue by registered name, in registration order.

    >>> list(builtin_reductions())[:3]
    ['sat-ov', 'ov-gapann', 'half-ones']
    """
    return {
        "sat-ov": SatToOV(),
        "ov-gapann": OVToGapANN(),
        "half-ones": HalfOnesPadding(),
        "gapann-aattc": GapANNToAttention(),
        "ov-aattc": OVToAttention(),
        "gapann-aattc-gentle": GentleGapANNToAttention(),
        "ov-maxip": OVToMaxIP(),
        "maxip-aattc": MaxIPToAttention(),
        "ov-selfattn": OVToSelfAttention(),
        "ov-selfattn-l2": OVToL2SelfAttention(),
        "matmul-aattc": MatMulToAttention(),
        "ov-gapann-pcp": OVToGapANNPCP(),
        "ov-zmaxip": OVToZMaxIP(),
        "zmaxip-aattc": ZMaxIPToAttention(),
    }


def register_builtins() -> None:
    """Register the built-in problems, then the single steps, then the named chains.

    Registering again is harmless (the same objects are registered again).
    """
    for problem in builtin_problems():
        register_problem(problem)
    for name, reduction in builtin_reductions().items():
        register(name, reduction)
    for name, chain in builtin_chains().items():
        register(name, chain)
