"""The attention stage: the block structure of Lemma 4.7's scores and the decision margin against beta."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from instances.cnf import CNF
from reductions.app.figures.style import (
    CLOSE,
    EXAMPLE_FORMULA,
    FAR,
    NEUTRAL,
    ONE,
    formula_label,
    new_figure,
    text_colour,
)

if TYPE_CHECKING:  # matplotlib is an optional dependency (the demo extra)
    from matplotlib.figure import Figure

__all__ = ["attention_blocks_figure", "margin_figure", "margin_curves"]


def attention_blocks_figure(formula: CNF | None = None, *, mode: str = "certified") -> Figure:
    """The attention instance of Lemma 4.7 built from a small formula, paper vs tight balancing.

    Top: the log-scores ``Q K^T / d~`` (the exponents of the attention matrix
    before normalisation) with the real block ``(beta/4)(1 - dist/D)``, the
    balancing block ``log tau`` and the padding queries marked; both panels
    share one colour scale. Bottom: what the oracle's answer says about each
    real query, ``log u_i`` (its share of attention on real keys) against the
    decision threshold ``theta = sqrt(L U)`` and the bounds ``L``, ``U``.

    Parameters
    ----------
    formula : CNF, optional
        At most 6 variables (default :data:`EXAMPLE_FORMULA`).
    mode : {"certified", "paper"}
        How ``beta`` is chosen (see :class:`~reductions.catalog.gapann_aattc.GapANNToAttention`).

    Examples
    --------
    >>> fig = attention_blocks_figure()
    >>> [fig.axes[k].get_title().split(":")[0] for k in (0, 2)]
    ['paper balancing, w = 1_D', 'tight balancing, |w| = D/2']
    """
    from matplotlib.patches import Rectangle

    from reductions.catalog.gapann_aattc import GapANNToAttention
    from reductions.catalog.half_ones import HalfOnesPadding
    from reductions.catalog.ov_gapann import OVToGapANN
    from reductions.catalog.sat_ov import SatToOV
    from reductions.core import Chain
    from solvers.attention.exact import ExactAttention

    formula = EXAMPLE_FORMULA if formula is None else formula
    if formula.num_vars > 6:
        raise ValueError(f"'formula' must have at most 6 variables to be drawn (got {formula.num_vars})")
    prefix = Chain.of(SatToOV(), OVToGapANN(), HalfOnesPadding()).forward(formula)
    gap = prefix.target
    runs = []
    for balance in ("paper", "tight"):
        reduced = GapANNToAttention(mode=mode, balance=balance, branch="attention").forward(gap)
        block = reduced.decoding["block"]
        attention = reduced.target
        scores = attention.query @ attention.key.T / attention.d
        log_u = ExactAttention(workers=1)(attention, log_space=True).log_column(0)[: block.num_queries]
        runs.append((balance, block, scores, log_u))
    distances = gap.nearest_distances()
    top_score = max(float(s.max()) for _, _, s, _ in runs)
    figure = new_figure(12.5, 9.4)
    grid = figure.add_gridspec(2, 2, height_ratios=[1.35, 1])
    image = None
    for column, (balance, block, scores, log_u) in enumerate(runs):
        ax = figure.add_subplot(grid[0, column])
        image = ax.imshow(scores, cmap="viridis", vmin=0, vmax=top_score, aspect="equal")
        n_a, n_b, size = block.num_queries, block.num_points, block.size
        for (i, j), value in np.ndenumerate(scores):
            colour = text_colour(tuple(image.cmap(image.norm(value))))
            close = (
                i < n_a and j < n_b and value >= (block.beta / 4) * (1 - block.close_distance / block.dimension) - 1e-9
            )
            ax.text(
                j,
                i,
                f"{value:.1f}",
                ha="center",
                va="center",
                fontsize=7.5 if size <= 8 else 6,
                color=colour,
                fontweight="bold" if close else "normal",
            )
        ax.add_patch(Rectangle((-0.5, -0.5), n_b, n_a, fill=False, edgecolor="white", linewidth=2.5))
        ax.add_patch(
            Rectangle(
                (n_b - 0.5, -0.5), size - n_b, size, fill=False, edgecolor="#fdae61", linewidth=2.5, linestyle="--"
            )
        )
        ax.set_xticks(range(size), [f"$b_{j}$" for j in range(n_b)] + [f"$w_{k}$" for k in range(size - n_b)])
        ax.set_yticks(range(size), [f"$a_{i}$" for i in range(n_a)] + [f"pad {k}" for k in range(size - n_a)])
        ax.set_xlabel(f"keys: {n_b} real points b_j, then {size - n_b} balancing keys", fontsize=9)
        ax.set_ylabel(f"queries: {n_a} real a_i, then {size - n_a} padding rows", fontsize=9)
        ax.axhline(n_a - 0.5, color="white", linewidth=1, linestyle=":")
        what = "w = 1_D" if balance == "paper" else "|w| = D/2"
        share = "β/2" if balance == "paper" else "β/4"
        ax.set_title(
            f"{balance} balancing, {what}: log τ = {share} = {block.log_tau:.1f}\n"
            f"white box: real block (β/4)(1 − dist/D); orange: τ-block; bold: close pairs",
            fontsize=9.5,
        )
        ax = figure.add_subplot(grid[1, column])
        queries = np.arange(block.num_queries)
        close = log_u >= block.log_threshold
        ax.axhline(block.log_lower, color=CLOSE, linestyle="--", linewidth=1.2, label=f"log L = {block.log_lower:.1f}")
        ax.axhline(
            block.log_threshold,
            color="black",
            linewidth=1.6,
            label=f"decision threshold log θ = {block.log_threshold:.1f}",
        )
        if math.isfinite(block.log_upper):
            ax.axhline(
                block.log_upper, color=FAR, linestyle="--", linewidth=1.2, label=f"log U = {block.log_upper:.1f}"
            )
        ax.scatter(queries[close], log_u[close], s=70, color=CLOSE, zorder=3, label="u_i ≥ θ: close (partner found)")
        ax.scatter(queries[~close], log_u[~close], s=70, color=FAR, marker="s", zorder=3, label="u_i < θ: far")
        for i in queries:
            ax.annotate(
                f"dist {int(distances[i])}", (i, log_u[i]), textcoords="offset points", xytext=(8, -3), fontsize=8
            )
        ax.set_xticks(queries, [f"$a_{i}$" for i in queries])
        ax.set_xlim(-0.5, block.num_queries - 0.2)
        ax.set_xlabel("real query (nearest distance after padding in the label)", fontsize=9)
        ax.set_ylabel("log u_i  (share of attention on real keys)", fontsize=9)
        ax.set_title(
            f"oracle answer, read in log space: L/U = e^{block.log_margin:.2f} "
            f"(close ≤ {block.close_distance}, far ≥ {block.far_distance})",
            fontsize=9.5,
        )
        ax.legend(fontsize=7.5, loc="upper center")
        ax.grid(alpha=0.3)
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + 0.6 * (high - low))  # room for the legend above the points
    assert image is not None  # one panel per balancing block, at least one
    figure.colorbar(
        image,
        ax=[figure.axes[0], figure.axes[2]],
        shrink=0.8,
        label=r"score $q \cdot k / \tilde d$ = log of the unnormalised attention weight",
    )
    block = runs[0][1]
    figure.suptitle(
        f"Gap-ANN → AAttC (Lemma 4.7) for {formula_label(formula)}\n"
        f"N = {block.size} queries and keys, " + r"$\tilde d$" + f" = 2D = {2 * block.dimension}, β = {block.beta:.1f} "
        f"({mode} mode), B = √β = {math.sqrt(block.beta):.2f}; tight balancing lifts every log u_i by β/4 "
        f"= {block.beta / 4:.1f}",
        fontsize=11,
    )
    return figure


# -- the margin against beta --------------------------------------------------------------


def margin_curves(block: Any, beta: np.ndarray | float) -> dict[str, np.ndarray]:
    """``log L``, ``log U``, ``log theta = (log L + log U)/2`` and ``log(L/U)`` as functions of ``beta``.

    ``block`` is a :class:`~reductions.catalog.gapann_aattc.BlockParameters`; its sizes,
    distances and balancing (``log tau / beta``) are kept and ``beta`` varied.

    Examples
    --------
    >>> from reductions.catalog.gapann_aattc import block_parameters
    >>> from instances.vectors import GapANNInstance
    >>> p = block_parameters(GapANNInstance([[1, 0, 1, 0], [0, 1, 1, 0]], [[1, 0, 0, 1]], 2, 1))
    >>> curves = margin_curves(p, p.beta)
    >>> bool(np.isclose(curves["log_lower"], p.log_lower)), bool(np.isclose(curves["log_upper"], p.log_upper))
    (True, True)
    """
    beta = np.asarray(beta, dtype=float)
    tau_share = block.log_tau / block.beta
    dimension = block.dimension
    log_lower = (beta / 4) * (1 - block.close_distance / dimension) - math.log(block.size) - tau_share * beta
    log_upper = (
        math.log(max(block.num_points, 1))
        + (beta / 4) * (1 - block.far_distance / dimension)
        - math.log(block.num_balancing)
        - tau_share * beta
    )
    return {
        "log_lower": log_lower,
        "log_upper": log_upper,
        "log_threshold": (log_lower + log_upper) / 2,
        "log_margin": log_lower - log_upper,
    }


def _uf20_formula() -> CNF:
    from importlib.resources import files

    from instances.dimacs import parse_dimacs

    return parse_dimacs((files("instances") / "data" / "uf20-01.cnf").read_text(encoding="utf-8")).formula


def margin_figure(formula: CNF | None = None) -> Figure:
    """How small the read-back share ``u_i`` gets, and the decision margin, against ``beta``.

    Left: ``log theta`` (``log L`` and ``log U`` lie within a few units of it)
    for the paper's and the tight balancing block, beside float64's smallest
    normal number: with the paper's block the oracle must answer in log space.
    Right: ``log L - log theta`` and ``log U - log theta``, i.e. how far above
    the threshold a close query and how far below it a far query must end;
    the certified ``beta`` is where ``L/U`` reaches the margin ``kappa``.

    Parameters
    ----------
    formula : CNF, optional
        Default: SATLIB's uf20-01 (20 variables, 91 clauses).

    Examples
    --------
    >>> fig = margin_figure(EXAMPLE_FORMULA)
    >>> fig.axes[1].get_title()
    'the decision margin around the threshold (both blocks)'
    """
    from reductions.catalog.gapann_aattc import GapANNToAttention, block_parameters
    from reductions.catalog.half_ones import HalfOnesPadding
    from reductions.catalog.ov_gapann import OVToGapANN
    from reductions.catalog.sat_ov import SatToOV
    from reductions.core import Chain

    formula = _uf20_formula() if formula is None else formula
    gap = Chain.of(SatToOV(), OVToGapANN(), HalfOnesPadding()).forward(formula).target
    kappa = GapANNToAttention().margin
    blocks = {
        balance: block_parameters(gap, mode="certified", balance=balance, margin=kappa)
        for balance in ("paper", "tight")
    }
    paper_beta = block_parameters(gap, mode="paper", margin=kappa).beta
    certified = blocks["paper"].beta
    beta = np.linspace(0.0, 2.0 * certified, 400)[1:]
    underflow = math.log(np.finfo(np.float64).tiny)
    figure = new_figure(13.0, 5.4)
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    for (balance, block), colour in zip(blocks.items(), (FAR, ONE), strict=False):
        curves = margin_curves(block, beta)
        share = "β/2" if balance == "paper" else "β/4"
        left.plot(
            beta,
            curves["log_threshold"],
            color=colour,
            linewidth=2,
            label=f"{balance} balancing (log τ = {share}): log θ",
        )
        left.annotate(
            f"log L = {block.log_lower:,.0f}",
            (certified, block.log_lower),
            textcoords="offset points",
            xytext=(12, 10),
            fontsize=9,
            color=colour,
            arrowprops={"arrowstyle": "->", "color": colour},
        )
    bottom = 1.1 * min(underflow, float(margin_curves(blocks["paper"], beta[-1])["log_threshold"]))
    left.set_ylim(bottom, -0.05 * bottom)
    left.axhspan(bottom, underflow, color="#e7d4e8", label="below float64's smallest normal (2^-1022): underflows to 0")
    left.axhline(underflow, color="#7b3294", linestyle=":", linewidth=1.5)
    left.axvline(certified, color=NEUTRAL, linewidth=1)
    left.text(
        certified,
        0.97,
        f" certified β = {certified:,.0f}",
        transform=left.get_xaxis_transform(),
        fontsize=8.5,
        va="top",
    )
    left.set_xlim(0, beta[-1])
    left.set_xlabel("β = B²  (the inverse temperature of the construction)")
    left.set_ylabel("natural log of the share u_i read back")
    left.set_title("how small the answer gets: log θ ≈ log L ≈ log U", fontsize=10)
    left.legend(fontsize=8, loc="lower left")
    left.grid(alpha=0.3)
    curves = margin_curves(blocks["paper"], beta)
    right.axvspan(0, certified, color="#eeeeee", label="L/U < κ: the oracle's error could flip a decision")
    right.plot(
        beta,
        curves["log_lower"] - curves["log_threshold"],
        color=CLOSE,
        linewidth=2,
        label="log L − log θ: a close query ends at least this far above θ",
    )
    right.plot(
        beta,
        curves["log_upper"] - curves["log_threshold"],
        color=FAR,
        linewidth=2,
        label="log U − log θ: a far query ends at least this far below θ",
    )
    right.axhline(0, color="black", linewidth=1)
    right.axhline(
        math.log(kappa) / 2,
        color=CLOSE,
        linestyle="--",
        linewidth=1,
        label=f"± log(κ)/2: κ = 4((1+ρ)/(1−ρ))² = {kappa:.5f}, ρ = the oracle's relative error",
    )
    right.axhline(-math.log(kappa) / 2, color=FAR, linestyle="--", linewidth=1)
    right.axvline(certified, color=NEUTRAL, linewidth=1)
    right.set_xlim(0, beta[-1])
    right.set_xlabel("β = B²")
    right.set_ylabel("distance from the threshold, in nats")
    right.set_title("the decision margin around the threshold (both blocks)", fontsize=10)
    right.legend(fontsize=8, loc="upper left")
    right.grid(alpha=0.3)
    block = blocks["paper"]
    figure.suptitle(
        f"Gap-ANN → AAttC for a formula with {formula.num_vars} variables and {formula.num_clauses} clauses "
        f"(D = {gap.dimension}, close distance ≤ {block.close_distance}, far ≥ {block.far_distance})\n"
        f"certified mode takes the smallest β with L/U ≥ κ; the paper's constants would take β = {paper_beta:,.0f}, "
        f"off this chart (log L ≈ {float(margin_curves(block, paper_beta)['log_lower']):,.0f} with its balancing)",
        fontsize=11,
    )
    return figure


# -- the polynomial method ------------------------------------------------------------------
