"""The vector stages: k-SAT -> OV by split and list, and the OV -> Gap-ANN coordinate gadget."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from instances.cnf import CNF
from reductions.app.figures.style import (
    EXAMPLE_FORMULA,
    draw_bits,
    draw_table,
    formula_label,
    new_figure,
)

if TYPE_CHECKING:  # matplotlib is an optional dependency (the demo extra)
    from matplotlib.figure import Figure

__all__ = ["split_and_list_figure", "gadget_figure"]


def _half_labels(first: int, count: int, prefix: str) -> list[str]:
    """Row labels ``a_i: x1=0, x2=1`` of the half-assignments of variables ``first ..`` (bit k of the row index)."""
    if count == 0:
        return [f"${prefix}_0$: (no variables)"]
    return [
        f"${prefix}_{{{row}}}$: " + ", ".join(f"x{first + k}={(row >> k) & 1}" for k in range(count))
        for row in range(2**count)
    ]


def split_and_list_figure(formula: CNF | None = None) -> Figure:
    """k-SAT -> OV by split and list: the clause vectors of both halves and their inner products.

    Row ``alpha`` of ``A`` is a half-assignment of the first variables, with a 1
    in column ``c`` when ``alpha`` does *not* yet satisfy clause ``c``; likewise
    ``B`` for the other variables. A zero inner product means no clause is left
    unsatisfied by both halves: a satisfying assignment.

    Parameters
    ----------
    formula : CNF, optional
        At most 8 variables (default :data:`EXAMPLE_FORMULA`).

    Examples
    --------
    >>> fig = split_and_list_figure()
    >>> fig.axes[2].get_title()
    '<a, b>: 0 = satisfying assignment'
    """
    from reductions.catalog.sat_ov import SatToOV

    formula = EXAMPLE_FORMULA if formula is None else formula
    if formula.num_vars > 8:
        raise ValueError(f"'formula' must have at most 8 variables to be drawn (got {formula.num_vars})")
    reduced = SatToOV().forward(formula)
    ov = reduced.target
    first = reduced.decoding["first_half"]
    second = formula.num_vars - first
    products = ov.a.astype(int) @ ov.b.T.astype(int)
    clauses = [f"C{c + 1}" for c in range(formula.num_clauses)]
    figure = new_figure(5.5 + 1.1 * formula.num_clauses + 0.6 * 2**second, 3.2 + 0.5 * 2**first)
    grid = figure.add_gridspec(1, 3, width_ratios=[formula.num_clauses, formula.num_clauses, 2**second])
    left, middle, right = (figure.add_subplot(grid[0, k]) for k in range(3))
    draw_bits(
        left, ov.a, f"A: assignments of x1..x{first}", row_labels=_half_labels(1, first, "a"), column_labels=clauses
    )
    draw_bits(
        middle,
        ov.b,
        f"B: assignments of x{first + 1}..x{formula.num_vars}",
        row_labels=_half_labels(first + 1, second, "b"),
        column_labels=clauses,
    )
    pairs = np.argwhere(products == 0)
    if pairs.size:
        i, j = (int(k) for k in pairs[0])
        example = f"green = satisfying assignment,\ne.g. $a_{{{i}}}$ with $b_{{{j}}}$: " + ", ".join(
            f"x{k + 1}={v}"
            for k, v in enumerate([(i >> k) & 1 for k in range(first)] + [(j >> k) & 1 for k in range(second)])
        )
    else:
        example = "no zero: the formula is unsatisfiable"
    draw_table(right, products, products == 0, "<a, b>: 0 = satisfying assignment", note=example)
    left.set_xlabel("clauses (1 = not yet satisfied)", fontsize=8)
    middle.set_xlabel("clauses (1 = not yet satisfied)", fontsize=8)
    listing = "   ".join(
        f"C{c + 1} = {formula_label(CNF(formula.num_vars, [clause]))}" for c, clause in enumerate(formula.clauses)
    )
    figure.suptitle(
        f"k-SAT → OV (split and list): {listing}\n"
        f"n_a = 2^{first} = {2**first} and n_b = 2^{second} = {2**second} vectors, "
        f"dimension d = m = {formula.num_clauses} (one coordinate per clause)",
        fontsize=11,
    )
    return figure


# -- OV -> Gap-ANN ------------------------------------------------------------------------


def gadget_figure(a: Sequence[Sequence[int]] | None = None, b: Sequence[Sequence[int]] | None = None) -> Figure:
    """The coordinate gadget and the half-ones padding on a tiny OV instance.

    Three rows of panels: the OV instance and its inner products; the gadget
    ``f(0)=100, f(1)=010`` (A side), ``g(0)=110, g(1)=101`` (B side) and the
    distances ``d + 2<a, b>`` (orthogonal pairs at exactly ``d``, all others
    ``>= d + 2``); the padding ``[x; 1 - x]``, which doubles every distance and
    gives every vector weight ``3d``, half its length. Every bit is drawn the
    same size, so the growth of the dimension shows.

    Parameters
    ----------
    a, b : 0/1 rows, optional
        The OV instance (default ``A = [101, 110]``, ``B = [010, 110]``: inner
        products 0, 1, 1, 2). At most 4 rows and 4 columns each.

    Examples
    --------
    >>> fig = gadget_figure()
    >>> fig.axes[0].get_title(loc="left"), fig.axes[5].get_title()
    ('A  (n_a = 2, d = 3)', 'distance = d + 2<a, b>')
    """
    from matplotlib.patches import Rectangle

    from instances.vectors import OVInstance, hamming_distances
    from reductions.catalog.half_ones import HalfOnesPadding
    from reductions.catalog.ov_gapann import OVToGapANN

    ov = OVInstance([[1, 0, 1], [1, 1, 0]] if a is None else a, [[0, 1, 0], [1, 1, 0]] if b is None else b)
    d = ov.dimension
    n_a, n_b = ov.a.shape[0], ov.b.shape[0]
    if not (1 <= d <= 4 and 1 <= n_a <= 4 and 1 <= n_b <= 4):
        raise ValueError(f"'a' and 'b' must have 1..4 rows and 1..4 columns to be drawn (got {ov.parameters()})")
    gap = OVToGapANN().forward(ov).target
    padded = HalfOnesPadding().forward(gap).target
    products = ov.a.astype(int) @ ov.b.T.astype(int)
    distances = hamming_distances(gap.a, gap.b)
    padded_distances = hamming_distances(padded.a, padded.b)
    wide = 6 * d  # the widest matrix, in bits
    table = 1.5 * n_b + 3
    rows = max(n_a, n_b)
    figure = new_figure(0.3 * (2 * wide + table) + 1.8, 1.6 + 3 * (0.9 + 0.4 * rows))
    grid = figure.add_gridspec(3, 5, width_ratios=[wide, 1.5, wide, 1.5, table], wspace=0.02)
    rows_a = [f"$a_{i}$" for i in range(n_a)]
    rows_b = [f"$b_{j}$" for j in range(n_b)]
    tables = [
        (products, products == 0, "<a, b>  (0 = orthogonal)", f"dimension d = {d}"),
        (
            distances,
            distances < gap.threshold,
            "distance = d + 2<a, b>",
            f"orthogonal: d = {d}\nothers: ≥ d + 2 = {d + 2}\nthreshold t = d + 1 = {gap.threshold}",
        ),
        (
            padded_distances,
            padded_distances < padded.threshold,
            "distances doubled",
            f"orthogonal: 2d = {2 * d}\nothers: ≥ 2d + 4 = {2 * d + 4}\nthreshold 2t = {padded.threshold}",
        ),
    ]
    stages = [
        (ov.a, ov.b, 0, f"A  (n_a = {n_a}, d = {d})", f"B  (n_b = {n_b}, d = {d})"),
        (gap.a, gap.b, 3, "f(A):  f(0) = 100,  f(1) = 010", "g(B):  g(0) = 110,  g(1) = 101"),
        (
            padded.a,
            padded.b,
            3 * d,
            f"[f(a); 1 − f(a)]: weight {3 * d} per row",
            f"[g(b); 1 − g(b)]: weight {3 * d} per row",
        ),
    ]
    for row, (left, right, groups, left_title, right_title) in enumerate(stages):
        for column, matrix, title, labels in ((0, left, left_title, rows_a), (2, right, right_title, rows_b)):
            ax = figure.add_subplot(grid[row, column])
            draw_bits(ax, matrix, title, row_labels=labels, groups=groups, title_loc="left")
            ax.set_xlim(-0.5, wide - 0.5)  # same bit size in every row
            ax.set_anchor("W")
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.add_patch(
                Rectangle((-0.5, -0.5), matrix.shape[1], matrix.shape[0], fill=False, edgecolor="black", linewidth=1)
            )
        values, close, title, note = tables[row]
        draw_table(figure.add_subplot(grid[row, 4]), values, close, title, note=note)
    figure.suptitle(
        f"OV → Gap-ANN: the coordinate gadget (dimension {d} → 3d = {3 * d}), then half-ones padding "
        f"({3 * d} → {6 * d})\nGap-ANN(t = {gap.threshold}, ε = {gap.epsilon}): a query is close iff it has an "
        "orthogonal partner; padding gives every vector weight half its length, as Lemma 4.7 needs",
        fontsize=11,
    )
    return figure


# -- Gap-ANN -> AAttC ---------------------------------------------------------------------
