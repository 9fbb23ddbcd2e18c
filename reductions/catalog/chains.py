"""The named chains of the built-in catalogue, built from its single steps.

>>> attention_chain().name
'sat-ov >> ov-gapann >> half-ones >> gapann-aattc'
>>> sorted(builtin_chains())[:2]
['sat-aattc', 'sat-aattc-direct']
"""

from __future__ import annotations

import math
from fractions import Fraction

import attrs
import numpy as np

from instances.cnf import CNF
from reductions.catalog.gapann_aattc import GapANNToAttention, block_beta
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
    "EntryBounds",
    "entry_bounds",
    "SATLIB_SIZES",
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
    ``sat-aattc-pcp`` can run (``p^(2m-2)`` members for ``m`` clauses: 1, 1, 25, 2401).

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
    """SAT -> OV -> Gap-ANN with a constant gap (one instance per Merlin message) -> AAttC.

    The steps after ``ov-gapann-pcp`` run on every member; the backward map reads every member's answer.
    No half-ones padding: every member already has all weights ``D/2``, as Lemma 4.7 needs.

    >>> chain = pcp_attention_chain(mode="paper")
    >>> chain.name, chain.after[-1].mode
    ('sat-ov >> ov-gapann-pcp >> gapann-aattc', 'paper')
    """
    return FamilyChain.of(
        SatToOV(),
        OVToGapANNPCP(),
        GapANNToAttention(mode=mode, balance=balance, branch=branch, oracle_rel_error=oracle_rel_error),
        random_source=random_small_formula,
    )


def lowdim_attention_chain(*, delta: Fraction | float = Fraction(1, 4)) -> FamilyChain:
    """SAT -> OV -> Z-Max-IP in dimension ``2^O(log* n)`` (one instance per admissible value) -> AAttC.

    The OV -> Z-Max-IP step refuses, before building, members whose ``D W^2``
    exceeds ``2^53`` (the attention step stores its logits exactly in float64
    entries, which needs ``W <= 2^53`` and a reach ``R <= D W^2`` below ``2^52``):
    this chain runs formulas of at most 8 clauses, and of 17 to 32 (where
    ``l = m``: one member, nothing packed). ``delta`` is exact by default,
    so the symbolic sizes read ``log(4 ...)``, not ``log(4.0 ...)``.

    >>> chain = lowdim_attention_chain()
    >>> chain.name, chain.head.max_product == 2**53
    ('sat-ov >> ov-zmaxip >> zmaxip-aattc', True)
    >>> "4.0" in str(chain.parameters().outputs["B"])
    False
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


SATLIB_SIZES: tuple[tuple[int, int], ...] = ((20, 91), (50, 218), (75, 325), (100, 430), (150, 645), (250, 1065))
"""``(v, m)`` of SATLIB's random 3-SAT families uf20-91 ... uf250-1065 (clause ratio about 4.3)."""


@attrs.frozen
class EntryBounds:
    """``B = sqrt(beta)`` each chain needs for a CNF with ``v`` variables and ``m`` clauses, from the sizes alone.

    ``exact_*`` is ``sat-aattc`` (the exact-gap gadget, ``eps = 1/(m + 1)``), ``constant_*``
    is ``sat-aattc-pcp`` (``eps = 1/5``), each in certified and paper mode; ``limit`` is
    ``sqrt(ln n)``, the scale below which the polynomial method runs in ``n^(1 + o(1))``.
    """

    num_vars: int
    num_clauses: int
    points: int
    exact_certified: float
    exact_paper: float
    constant_certified: float
    constant_paper: float

    @property
    def limit(self) -> float:
        """``sqrt(ln n)`` with ``n`` the number of points."""
        return math.sqrt(math.log(max(self.points, 2)))

    def as_dict(self) -> dict[str, float | int]:
        """JSON-friendly form."""
        return {
            "v": self.num_vars,
            "m": self.num_clauses,
            "n": self.points,
            "exact_certified": self.exact_certified,
            "exact_paper": self.exact_paper,
            "constant_certified": self.constant_certified,
            "constant_paper": self.constant_paper,
            "sqrt_ln_n": self.limit,
        }


def entry_bounds(num_vars: int, num_clauses: int, *, oracle_rel_error: float = 1e-6) -> EntryBounds:
    """``B`` of ``sat-aattc`` and of ``sat-aattc-pcp`` (attention branch) for ``v`` variables and ``m >= 1`` clauses.

    The Gap-ANN sizes the two chains' parameter maps give (split and list: ``n_a = 2^ceil(v/2)``,
    ``n_b = 2^floor(v/2)``; exact gap: ``D = 6m``, ``t = 2(m + 1)``, ``eps = 1/(m + 1)``; constant
    gap: ``D = 4kp``, ``t = k(3p - 2(m - 1))/(1 + eps)``), put into Lemma 4.7's ``beta``
    (:func:`~reductions.catalog.gapann_aattc.block_beta`), with no vectors built. The same numbers
    as the chains' ``info["beta"]`` on concrete formulas (tests compare them, and so check the maps).

    >>> bounds = entry_bounds(20, 91)  # uf20-91
    >>> round(bounds.exact_paper, 1), round(bounds.constant_paper, 1), round(bounds.limit, 2)
    (275.1, 52.5, 2.63)
    """
    if num_clauses < 1 or num_vars < 1:
        raise ValueError(f"need v >= 1 and m >= 1 (got v = {num_vars}, m = {num_clauses})")
    margin = GapANNToAttention(oracle_rel_error=oracle_rel_error).margin
    sizes = {"v": num_vars, "m": num_clauses}
    pcp = OVToGapANNPCP()
    exact = Chain.of(SatToOV(), OVToGapANN(), HalfOnesPadding()).parameters().evaluate(sizes)
    constant = (
        FamilyChain.of(SatToOV(), pcp)
        .parameters()
        .evaluate(sizes, {"p": pcp.prime_for(num_clauses), "k": pcp.code_length_for(num_clauses)})
    )
    values = [
        math.sqrt(block_beta(g["d"], g["n_a"], g["n_b"], g["t"], g["eps"], mode=mode, margin=margin))
        for g in (exact, constant)
        for mode in ("certified", "paper")
    ]
    return EntryBounds(num_vars, num_clauses, max(exact["n_a"], exact["n_b"]), *values)
