"""The entry bound ``B`` each SAT -> AAttC chain needs: exact gap against constant gap against ``sqrt(ln n)``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from instances.cnf import CNF
from instances.generators import random_ksat
from reductions.app.figures.style import CLOSE, FAR, NEUTRAL, new_figure

if TYPE_CHECKING:  # matplotlib is an optional dependency (the demo extra)
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["entry_bound_figure", "concrete_entry_bounds", "CLAUSE_RATIO"]

CLAUSE_RATIO = 4.26
"""Clauses per variable of the random 3-SAT formulas drawn (the satisfiability threshold)."""

_MAX_MEMBER_VARIABLES = 8  # one constant-gap member at v = 8, m = 35: D = 65,024, Q of 32 x 130,048 floats


def concrete_entry_bounds(formula: CNF, mode: str) -> tuple[float, float]:
    """``(B exact gap, B constant gap)`` read from instances the two chains build on ``formula`` (attention branch).

    The exact-gap chain runs whole; of the constant-gap chain one member is
    built (the first Merlin message; every member has the same sizes, so the
    same ``beta``), which keeps formulas with more clauses than the family
    limit drawable.

    >>> exact, constant = concrete_entry_bounds(CNF(4, [(1, -2, 3), (2, 4), (-1, -4)]), "paper")
    >>> round(exact, 2), round(constant, 2)
    (22.34, 23.41)
    """
    from reductions.catalog.chains import attention_chain
    from reductions.catalog.gapann_aattc import GapANNToAttention
    from reductions.catalog.ov_gapann_pcp import OVToGapANNPCP
    from reductions.catalog.sat_ov import SatToOV

    exact = attention_chain(mode=mode, branch="attention").forward(formula).info["beta"]
    ov = SatToOV().forward(formula).target
    pcp = OVToGapANNPCP()
    member = pcp.member(ov, pcp.protocol(ov.dimension).merlin_message(0))
    constant = GapANNToAttention(mode=mode, branch="attention").forward(member).info["beta"]
    return math.sqrt(exact), math.sqrt(constant)


def _panel_against_n(ax: Axes, mode: str, variables: Sequence[int], dots: dict[str, list[tuple[float, float]]]) -> None:
    from reductions.catalog.chains import entry_bounds

    bounds = [entry_bounds(v, math.ceil(CLAUSE_RATIO * v)) for v in variables]
    log2_n = [math.ceil(v / 2) for v in variables]
    exact = [b.exact_certified if mode == "certified" else b.exact_paper for b in bounds]
    constant = [b.constant_certified if mode == "certified" else b.constant_paper for b in bounds]
    ax.plot(log2_n, exact, color=FAR, linewidth=2, label="exact gap (sat-aattc): B² = Θ(m log n)")
    ax.plot(
        log2_n,
        constant,
        color=CLOSE,
        linewidth=2,
        label="constant gap (sat-aattc-pcp): B² = Θ(log n), parallel to √(ln n)",
    )
    ax.plot(
        log2_n, [b.limit for b in bounds], color=NEUTRAL, linestyle="--", label="√(ln n): polynomial method's scale"
    )
    for key, colour in (("exact", FAR), ("constant", CLOSE)):
        xs, ys = zip(*dots[key], strict=True)
        ax.scatter(xs, ys, color=colour, edgecolor="black", zorder=3, s=28)
    ax.scatter([], [], color="white", edgecolor="black", s=28, label="concrete instances (β the chain chose)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(f"log₂ n  (random 3-SAT, m = ⌈{CLAUSE_RATIO} v⌉, n = 2^⌈v/2⌉)")
    ax.set_ylabel("entry bound B = √β")
    ax.set_title(f"B against n, {mode} mode", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left")


def entry_bound_figure(
    *, max_vars: int = 1000, concrete_vars: Sequence[int] = (2, 4, 6, 8, 10, 12, 14, 16, 18, 20)
) -> Figure:
    """``B`` needed by the exact-gap and the constant-gap chain against ``n``, and against ``m`` at fixed ``n``.

    Curves come from the sizes alone (:func:`~reductions.catalog.chains.entry_bounds`, the
    formulas of the parameter maps); dots are the ``beta`` the chains chose on concrete random
    3-SAT formulas (:func:`concrete_entry_bounds`; constant-gap dots up to ``v = 8``, where one
    member's attention instance still fits in memory). Left and middle: ``n`` grows along
    random 3-SAT at the threshold (``m = 4.26 v``), certified and paper mode, beside ``sqrt(ln n)``.
    Right: ``n = 8`` fixed and ``m`` growing, where the exact gap's ``sqrt(m)`` shows alone.

    Parameters
    ----------
    max_vars : int
        Largest ``v`` of the curves (``n = 2^ceil(v/2)``).
    concrete_vars : sequence of int
        ``v`` of the dots.

    Examples
    --------
    >>> fig = entry_bound_figure(max_vars=100, concrete_vars=(2, 4))
    >>> fig.axes[2].get_title()
    'B against m at n = 8 (v = 6), certified mode'
    """
    from reductions.catalog.chains import entry_bounds

    if not 20 <= max_vars <= 100_000:
        raise ValueError(f"'max_vars' must be in 20..100000 (got {max_vars!r})")
    if not all(2 <= v <= 20 for v in concrete_vars):
        raise ValueError(f"'concrete_vars' must lie in 2..20 to be built in a few seconds (got {list(concrete_vars)})")
    rng = np.random.default_rng(2026)
    dots: dict[str, dict[str, list[tuple[float, float]]]] = {
        mode: {"exact": [], "constant": []} for mode in ("certified", "paper")
    }
    for v in concrete_vars:
        formula = random_ksat(v, math.ceil(CLAUSE_RATIO * v), k=min(3, v), seed=rng)
        for mode in ("certified", "paper"):
            exact, constant = (
                concrete_entry_bounds(formula, mode)
                if v <= _MAX_MEMBER_VARIABLES
                else (
                    _exact_only(formula, mode),
                    math.nan,
                )
            )
            dots[mode]["exact"].append((math.ceil(v / 2), exact))
            if not math.isnan(constant):
                dots[mode]["constant"].append((math.ceil(v / 2), constant))
    variables = sorted({*np.unique(np.geomspace(2, max_vars, 60).astype(int)).tolist()})
    figure = new_figure(16.0, 5.4)
    axes = [figure.add_subplot(1, 3, k + 1) for k in range(3)]
    for ax, mode in zip(axes, ("certified", "paper"), strict=False):
        _panel_against_n(ax, mode, variables, dots[mode])
    ax = axes[2]
    clauses = list(range(1, 201))
    fixed = [entry_bounds(6, m) for m in clauses]
    ax.plot(clauses, [b.exact_certified for b in fixed], color=FAR, linewidth=2, label="exact gap: √m growth")
    ax.plot(clauses, [b.constant_certified for b in fixed], color=CLOSE, linewidth=2, label="constant gap: flat in m")
    ax.axhline(fixed[0].limit, color=NEUTRAL, linestyle="--", label="√(ln 8)")
    for m in (1, 2, 3, 5, 8, 13, 21, 34):
        exact, constant = concrete_entry_bounds(random_ksat(6, m, seed=rng), "certified")
        ax.scatter([m, m], [exact, constant], color=[FAR, CLOSE], edgecolor="black", zorder=3, s=28)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("m (clauses = OV dimension d)")
    ax.set_ylabel("entry bound B = √β")
    ax.set_title("B against m at n = 8 (v = 6), certified mode", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left")
    figure.suptitle(
        "Entry bound B each SAT → AAttC chain needs: the exact-gap gadget (ε = 1/(m+1)) against the "
        "Merlin–Arthur construction (ε = 1/5)\nlines: the parameter maps' sizes put into Lemma 4.7's β; "
        "dots: β chosen on concrete formulas",
        fontsize=11,
    )
    return figure


def _exact_only(formula: CNF, mode: str) -> float:
    from reductions.catalog.chains import attention_chain

    return math.sqrt(attention_chain(mode=mode, branch="attention").forward(formula).info["beta"])
