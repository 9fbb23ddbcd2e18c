"""The named chains of the built-in catalogue, built from its single steps.

>>> attention_chain().name
'sat-ov >> ov-gapann >> half-ones >> gapann-aattc'
>>> sorted(builtin_chains())[:2]
['sat-aattc', 'sat-aattc-direct']
"""

from __future__ import annotations

from reductions.catalog.gapann_aattc import GapANNToAttention
from reductions.catalog.gapann_aattc_gentle import GentleGapANNToAttention
from reductions.catalog.half_ones import HalfOnesPadding
from reductions.catalog.maxip_aattc import MaxIPToAttention
from reductions.catalog.ov_aattc import OVToAttention
from reductions.catalog.ov_gapann import OVToGapANN
from reductions.catalog.ov_maxip import OVToMaxIP
from reductions.catalog.ov_selfattn import OVToL2SelfAttention, OVToSelfAttention
from reductions.catalog.sat_ov import SatToOV
from reductions.core import Chain

__all__ = ["attention_chain", "builtin_chains"]


def attention_chain(
    *, mode: str = "certified", balance: str = "paper", branch: str = "auto", oracle_rel_error: float = 1e-6
) -> Chain:
    """The chain SAT -> OV -> Gap-ANN -> half-ones -> AAttC with the given options.

    >>> attention_chain(mode="paper").parts[-1].mode
    'paper'
    """
    return Chain.of(
        SatToOV(),
        OVToGapANN(),
        HalfOnesPadding(),
        GapANNToAttention(mode=mode, balance=balance, branch=branch, oracle_rel_error=oracle_rel_error),
    )


def builtin_chains() -> dict[str, Chain]:
    """Every named chain of the catalogue, by its registered name, in registration order.

    >>> builtin_chains()["sat-aattc-maxip"].name
    'sat-aattc-maxip'
    """
    named = {
        "sat-aattc": (attention_chain(),),
        "sat-aattc-direct": (SatToOV(), OVToAttention()),
        "sat-aattc-gentle": (SatToOV(), OVToGapANN(), HalfOnesPadding(), GentleGapANNToAttention()),
        "sat-aattc-maxip": (SatToOV(), OVToMaxIP(), MaxIPToAttention()),
        "sat-selfattn": (SatToOV(), OVToSelfAttention()),
        "sat-selfattn-l2": (SatToOV(), OVToL2SelfAttention()),
    }
    return {name: Chain.of(*steps, label=name) for name, steps in named.items()}
