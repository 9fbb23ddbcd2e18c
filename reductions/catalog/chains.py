"""The named chains of the built-in catalogue, built from its single steps.

>>> attention_chain().name
'sat-ov >> ov-gapann >> half-ones >> gapann-aattc'
>>> sorted(builtin_chains())[:2]
['sat-aattc', 'sat-aattc-direct']
"""

from __future__ import annotations

import numpy as np

from instances.cnf import CNF
from reductions.catalog.gapann_aattc import GapANNToAttention
from reductions.catalog.gapann_aattc_gentle import GentleGapANNToAttention
from reductions.catalog.half_ones import HalfOnesPadding
from reductions.catalog.maxip_aattc import MaxIPToAttention
from reductions.catalog.ov_aattc import OVToAttention
from reductions.catalog.ov_gapann import OVToGapANN
from reductions.catalog.ov_gapann_pcp import OVToGapANNPCP
from reductions.catalog.ov_maxip import OVToMaxIP
from reductions.catalog.ov_selfattn import OVToL2SelfAttention, OVToSelfAttention
from reductions.catalog.ov_zmaxip import OVToZMaxIP
from reductions.catalog.sat_ov import SatToOV
from reductions.catalog.zmaxip_aattc import ZMaxIPToAttention
from reductions.core import Chain
from reductions.family import FamilyChain

__all__ = [
    "attention_chain",
    "pcp_attention_chain",
    "lowdim_attention_chain",
    "random_small_formula",
    "builtin_chains",
]


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


def random_small_formula(rng: np.random.Generator, size: int) -> CNF:
    """A random CNF with 2-6 variables and 0-3 clauses of width 1-3 (3 clauses rarely, and only at sizes 5, 10, ...; a quarter of them
    unsatisfiable by a unit clause and its negation or an empty clause): the sizes
    ``sat-aattc-pcp`` can run (``p^(2m-2)`` members for ``m`` clauses: 1, 1, 9, 2401).

    >>> random_small_formula(np.random.default_rng(1), 4).num_vars
    5
    """
    num_vars = 2 + (size - 1) % 5
    if rng.random() < 0.25:  # an unsatisfiable pair: (x) and (-x), or an empty clause
        x = int(rng.integers(1, num_vars + 1))
        return CNF(num_vars, [(x,), (-x,)] if rng.random() < 0.8 else [(), (x,)])
    num_clauses = int(rng.choice([0, 1, 2, 2, 2, 2, 2, 2, 2, 3 if size % 5 == 0 else 2]))
    clauses = []
    for _ in range(num_clauses):
        width = int(rng.integers(1, min(3, num_vars) + 1))
        variables = rng.choice(num_vars, size=width, replace=False) + 1
        signs = np.where(rng.random(width) < 0.5, -1, 1)
        clauses.append(tuple(int(x) for x in variables * signs))
    return CNF(num_vars, clauses)


def pcp_attention_chain(
    *, mode: str = "certified", balance: str = "paper", branch: str = "auto", oracle_rel_error: float = 1e-6
) -> FamilyChain:
    """SAT -> OV -> Gap-ANN with a constant gap (one instance per Merlin message) -> half-ones -> AAttC.

    The steps after ``ov-gapann-pcp`` run on every member; the backward map reads every member's answer.

    >>> chain = pcp_attention_chain(mode="paper")
    >>> chain.name, chain.after[-1].mode
    ('sat-ov >> ov-gapann-pcp >> half-ones >> gapann-aattc', 'paper')
    """
    return FamilyChain.of(
        SatToOV(),
        OVToGapANNPCP(),
        HalfOnesPadding(),
        GapANNToAttention(mode=mode, balance=balance, branch=branch, oracle_rel_error=oracle_rel_error),
        random_source=random_small_formula,
    )


def lowdim_attention_chain(*, delta: float = 0.25) -> FamilyChain:
    """SAT -> OV -> Z-Max-IP in dimension ``2^O(log* n)`` (one instance per admissible value) -> AAttC.

    The OV -> Z-Max-IP step refuses, before building, members whose ``D W^2``
    exceeds ``2^53`` (the attention step needs float64-exact logits): this
    chain runs formulas of at most 8 clauses.

    >>> chain = lowdim_attention_chain()
    >>> chain.name, chain.head.max_product == 2**53
    ('sat-ov >> ov-zmaxip >> zmaxip-aattc', True)
    """
    return FamilyChain.of(
        SatToOV(),
        OVToZMaxIP(max_product=2**53),
        ZMaxIPToAttention(delta=delta),
        random_source=random_small_formula,
    )


def builtin_chains() -> dict[str, Chain | FamilyChain]:
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
    chains: dict[str, Chain | FamilyChain] = {name: Chain.of(*steps, label=name) for name, steps in named.items()}
    pcp = pcp_attention_chain()
    chains["sat-aattc-pcp"] = FamilyChain.of(pcp, label="sat-aattc-pcp", random_source=pcp.random_source)
    lowdim = lowdim_attention_chain()
    chains["sat-aattc-lowdim"] = FamilyChain.of(lowdim, label="sat-aattc-lowdim", random_source=lowdim.random_source)
    return chains
