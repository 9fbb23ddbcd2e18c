"""Teaching figures: every reduction and oracle of the chain, drawn from the code that runs it.

Each figure is built by a public function returning a
:class:`matplotlib.figure.Figure` (install the ``demo`` extra:
``pip install -e '.[demo]'``). The figures are drawn on matplotlib's Agg canvas
directly, so no display is needed and pyplot's global state (its backend, its
list of open figures) is never touched. :data:`DEMOS` names them for the
command line, ``reductions demo NAME [--out DIR]``; :func:`save_demo` and
:func:`save_all` write them to files.

============================  =========================================================
name                          what it shows
============================  =========================================================
``registry``                  problems and registered reductions as a graph
``split-and-list``            k-SAT -> OV: clause vectors of the two half-assignments
``gadget``                    OV -> Gap-ANN: the coordinate gadget and half-ones padding
``attention-blocks``          Gap-ANN -> AAttC: the score matrix, paper vs tight balancing
``margin``                    log L, log U and the threshold against beta (uf20-01)
``polynomial``                polynomials for e^x: error against degree, degree against R
``phase-transition``          rank and time of the polynomial method against B
============================  =========================================================

Examples
--------
>>> import io
>>> from reductions.app.demo import DEMOS
>>> list(DEMOS)  # doctest: +NORMALIZE_WHITESPACE
['registry', 'split-and-list', 'gadget', 'attention-blocks', 'margin', 'polynomial',
 'phase-transition']
>>> print(DEMOS["gadget"].description)
OV -> Gap-ANN: the coordinate gadget and the half-ones padding on a tiny OV instance
>>> fig = DEMOS["gadget"]()
>>> fig.axes[2].get_title()
'<a, b>  (0 = orthogonal)'
>>> fig.savefig(io.BytesIO(), format="png")
>>> from reductions.app.demo import save_demo
>>> save_demo("cubism", ".")
Traceback (most recent call last):
...
ValueError: unknown demo 'cubism'; choose one of: registry, split-and-list, gadget, attention-blocks, margin, polynomial, phase-transition
"""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from instances.cnf import CNF
from solvers.attention.polynomial.approximation import (
    chebyshev_tail_bound,
    paper_degree,
    predict_chebyshev_degree,
    taylor_degree,
)

if TYPE_CHECKING:  # matplotlib is an optional dependency (the demo extra)
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "Demo",
    "DEMOS",
    "EXAMPLE_FORMULA",
    "registry_figure",
    "split_and_list_figure",
    "gadget_figure",
    "attention_blocks_figure",
    "margin_figure",
    "margin_curves",
    "polynomial_figure",
    "phase_transition_figure",
    "save_demo",
    "save_all",
    "add_demo_command",
    "run_demo_command",
]

EXAMPLE_FORMULA = CNF(4, [[1, -2], [2, 3], [-1, -3, 4], [-4, 2]])
"""The README's four-variable formula, used by the small figures."""

# Colours shared by the figures: close / orthogonal (green), far (red), neutral.
_CLOSE = "#1a9850"
_FAR = "#d73027"
_NEUTRAL = "#4d4d4d"
_ONE = "#2c7fb8"
_ZERO = "#f7f7f7"
_BIT_COLOURS = (_ZERO, _ONE)


# -- plumbing ---------------------------------------------------------------------------


def _figure(width: float, height: float) -> Figure:
    """A new figure on the Agg canvas (no display, not registered with pyplot)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - the demo extra is installed in development
        raise ImportError("the teaching figures need matplotlib: pip install 'reductions[demo]'") from err
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _text_colour(rgba: Sequence[float]) -> str:
    """Black or white, whichever reads better on a cell of colour ``rgba``."""
    red, green, blue = rgba[:3]
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.55 else "white"


def _bits(
    ax: Axes,
    matrix: np.ndarray,
    title: str,
    *,
    row_labels: Sequence[str] = (),
    column_labels: Sequence[str] = (),
    groups: int = 0,
    title_loc: str = "center",
) -> None:
    """A 0/1 matrix as coloured cells with its digits; ``groups`` draws a separator every so many columns."""
    from matplotlib.colors import ListedColormap

    rows, columns = matrix.shape
    ax.imshow(matrix, cmap=ListedColormap(_BIT_COLOURS), vmin=0, vmax=1, aspect="equal")
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(int(value)), ha="center", va="center", fontsize=9, color="white" if value else "black")
    # cell borders drawn only over the data (the axes may be wider than the matrix)
    ax.hlines(np.arange(rows + 1) - 0.5, -0.5, columns - 0.5, color="#bbbbbb", linewidth=0.5)
    ax.vlines(np.arange(columns + 1) - 0.5, -0.5, rows - 0.5, color="#bbbbbb", linewidth=0.5)
    if groups:
        ax.vlines(
            [boundary - 0.5 for boundary in range(groups, columns, groups)],
            -0.5,
            rows - 0.5,
            color="black",
            linewidth=1.5,
        )
    ax.set_yticks(range(rows), list(row_labels) if row_labels else [str(i) for i in range(rows)])
    if column_labels:
        ax.set_xticks(range(columns), list(column_labels), fontsize=8)
    else:
        ax.set_xticks([])
    ax.set_title(title, fontsize=10, loc=title_loc)


def _table(
    ax: Axes,
    values: np.ndarray,
    close: np.ndarray,
    title: str,
    *,
    row_prefix: str = "a",
    column_prefix: str = "b",
    note: str = "",
) -> None:
    """An ``n_a x n_b`` table of numbers, green where ``close`` and red elsewhere."""
    from matplotlib.colors import ListedColormap

    ax.imshow(close.astype(int), cmap=ListedColormap(["#fbd5d0", "#cdeccf"]), vmin=0, vmax=1, aspect="equal")
    for (i, j), value in np.ndenumerate(values):
        ax.text(
            j,
            i,
            str(int(value)),
            ha="center",
            va="center",
            fontsize=11,
            fontweight="bold",
            color=_CLOSE if close[i, j] else _FAR,
        )
    ax.set_xticks(range(values.shape[1]), [f"${column_prefix}_{j}$" for j in range(values.shape[1])])
    ax.set_yticks(range(values.shape[0]), [f"${row_prefix}_{i}$" for i in range(values.shape[0])])
    ax.set_xticks(np.arange(values.shape[1] + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(values.shape[0] + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="minor", length=0)
    ax.set_title(title, fontsize=10)
    if note:
        ax.set_xlabel(note, fontsize=8)


def _literal(literal: int) -> str:
    return (r"\neg " if literal < 0 else "") + f"x_{{{abs(literal)}}}"


def _clause_label(clause: Sequence[int]) -> str:
    return "$" + r" \vee ".join(_literal(lit) for lit in clause) + "$" if clause else r"$\bot$"


def _formula_label(formula: CNF) -> str:
    def literal(lit: int) -> str:
        return ("¬" if lit < 0 else "") + f"x{abs(lit)}"

    return "".join("(" + " ∨ ".join(literal(lit) for lit in clause) + ")" for clause in formula.clauses)


# -- registry ---------------------------------------------------------------------------


def _layers(graph: Any) -> dict[str, int]:
    """Column of each problem, self-loops ignored: the longest path from a source when the
    graph has no cycle (every arrow then points right), else the shortest distance from ``sat``."""
    import networkx as nx

    simple = nx.DiGraph((u, v) for u, v in graph.edges() if u != v)
    simple.add_nodes_from(graph.nodes)
    if nx.is_directed_acyclic_graph(simple):
        return {node: depth for depth, nodes in enumerate(nx.topological_generations(simple)) for node in nodes}
    layer: dict[str, int] = {}
    roots = ["sat"] if "sat" in simple else []
    roots += sorted(n for n in simple if simple.in_degree(n) == 0 and n not in roots)
    for root in roots:
        for node, distance in nx.single_source_shortest_path_length(simple, root).items():
            layer.setdefault(node, distance)
    last = max(layer.values(), default=-1)
    for node in sorted(simple):
        layer.setdefault(node, last + 1)
    return layer


def _positions(graph: Any, x_step: float, y_step: float) -> dict[str, tuple[float, float]]:
    """Left-to-right layers; within a layer, nodes ordered by the mean height of their predecessors."""
    layer = _layers(graph)
    position: dict[str, tuple[float, float]] = {}
    for column in sorted(set(layer.values())):
        nodes = [node for node in graph.nodes if layer[node] == column]

        def height(node: str) -> float:
            placed = [position[p][1] for p in graph.predecessors(node) if p in position and p != node]
            return -sum(placed) / len(placed) if placed else 0.0

        nodes.sort(key=height)
        for index, node in enumerate(nodes):
            position[node] = (column * x_step, (index - (len(nodes) - 1) / 2) * -y_step)
    return position


def _clear_bend(
    start: tuple[float, float],
    end: tuple[float, float],
    others: Sequence[tuple[float, float]],
    half_width: float,
    half_height: float,
) -> float:
    """The smallest ``arc3`` bend whose curve from ``start`` to ``end`` misses every other box."""
    (x0, y0), (x1, y1) = start, end
    t = np.linspace(0.1, 0.9, 33)
    for bend in (0.0, -0.2, 0.2, -0.3, 0.3, -0.4, 0.4, -0.5, 0.5):
        cx, cy = (x0 + x1) / 2 + bend * (y1 - y0), (y0 + y1) / 2 - bend * (x1 - x0)
        xs = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t**2 * x1
        ys = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1
        if all(not np.any((np.abs(xs - ox) < half_width) & (np.abs(ys - oy) < half_height)) for ox, oy in others):
            return bend
    return 0.0


def registry_figure() -> Figure:
    """The registry as a graph: problems (boxes) and registered reductions (arrows).

    Problems are laid out left to right so that reductions point right where
    they can; a reduction from a problem to itself (such as the half-ones
    padding) is a loop above its box. Registered chains are listed underneath.

    Examples
    --------
    >>> fig = registry_figure()
    >>> fig.axes[0].get_title()
    'The registry: problems and the reductions between them'
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    from reductions.registry import get_reduction, reduction_names, registry_graph

    graph = registry_graph()
    width, height, x_step, y_step = 2.2, 1.2, 4.6, 2.6
    position = _positions(graph, x_step, y_step)
    columns = len({x for x, _ in position.values()})
    tallest = max(sum(1 for _, (x2, _) in position.items() if x2 == x) for x, _ in position.values())
    chains = [name for name in reduction_names() if name not in reduction_names(include_chains=False)]
    figure = _figure(max(7.0, 3.3 * columns + 0.5), 2.4 + 1.35 * tallest + 0.22 * len(chains))
    ax = figure.add_subplot()
    boxes = {}
    for node, (x, y) in position.items():
        box = FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0.08",
            facecolor="#dbe9f6",
            edgecolor="#2c5d8a",
            linewidth=1.5,
            zorder=2,
        )
        ax.add_patch(box)
        boxes[node] = box
        title = textwrap.fill(graph.nodes[node].get("title", ""), 22)
        ax.text(x, y + 0.25, node, ha="center", va="center", fontsize=13, fontweight="bold", zorder=3)
        ax.text(x, y - 0.22, title, ha="center", va="center", fontsize=7.5, color=_NEUTRAL, zorder=3)
    pairs: dict[tuple[str, str], list[str]] = {}
    for u, v, key in graph.edges(keys=True):
        pairs.setdefault((u, v), []).append(key)
    top = max(y for _, y in position.values()) + height / 2
    label_box = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}
    for (u, v), keys in pairs.items():
        label = "\n".join(f"{key} ({type(graph.edges[u, v, key]['reduction']).__name__})" for key in keys)
        if u == v:
            x, y = position[u]
            for index in range(len(keys)):
                ax.add_patch(
                    FancyArrowPatch(
                        (x - 0.55 - 0.15 * index, y + height / 2 + 0.08),
                        (x + 0.55 + 0.15 * index, y + height / 2 + 0.08),
                        connectionstyle=f"arc3,rad=-{1.1 + 0.2 * index}",
                        arrowstyle="-|>",
                        mutation_scale=16,
                        linewidth=1.4,
                        color=_NEUTRAL,
                        zorder=1,
                    )
                )
            rise = 0.85 + 0.25 * len(keys)
            ax.text(x, y + height / 2 + rise, label, ha="center", va="bottom", fontsize=8, zorder=3, bbox=label_box)
            top = max(top, y + height / 2 + rise + 0.3 * len(keys) + 0.2)
            continue
        base = _clear_bend(
            position[u],
            position[v],
            [position[n] for n in position if n not in (u, v)],
            width / 2 + 0.15,
            height / 2 + 0.15,
        )
        for index in range(len(keys)):
            bend = base + (0.0 if len(keys) == 1 else 0.25 * (index - (len(keys) - 1) / 2))
            ax.add_patch(
                FancyArrowPatch(
                    position[u],
                    position[v],
                    patchA=boxes[u],
                    patchB=boxes[v],
                    connectionstyle=f"arc3,rad={bend}",
                    arrowstyle="-|>",
                    mutation_scale=18,
                    linewidth=1.4,
                    color=_NEUTRAL,
                    zorder=1,
                )
            )
        (x0, y0), (x1, y1) = position[u], position[v]
        # the middle of the arc3 curve: its control point is the midpoint moved by rad * (dy, -dx)
        middle = ((x0 + x1) / 2 + 0.5 * base * (y1 - y0), (y0 + y1) / 2 - 0.5 * base * (x1 - x0))
        ax.text(*middle, label, ha="center", va="center", fontsize=8, zorder=3, bbox=label_box)
    xs = [x for x, _ in position.values()]
    ys = [y for _, y in position.values()]
    ax.set_xlim(min(xs) - width / 2 - 0.4, max(xs) + width / 2 + 0.4)
    ax.set_ylim(min(ys) - height / 2 - 0.3, top + 0.1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title("The registry: problems and the reductions between them", fontsize=12)
    lines = [f"registered chain {name}: " + " >> ".join(p.name for p in get_reduction(name).steps) for name in chains]
    lines.append(
        "reductions.path(source, target) finds a chain; a loop (a problem to itself, like half-ones) "
        "is never inserted by path, only used inside a registered chain"
    )
    figure.supxlabel("\n".join(lines), fontsize=8.5, color=_NEUTRAL)
    return figure


# -- k-SAT -> OV --------------------------------------------------------------------------


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
    figure = _figure(5.5 + 1.1 * formula.num_clauses + 0.6 * 2**second, 3.2 + 0.5 * 2**first)
    grid = figure.add_gridspec(1, 3, width_ratios=[formula.num_clauses, formula.num_clauses, 2**second])
    left, middle, right = (figure.add_subplot(grid[0, k]) for k in range(3))
    _bits(left, ov.a, f"A: assignments of x1..x{first}", row_labels=_half_labels(1, first, "a"), column_labels=clauses)
    _bits(
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
    _table(right, products, products == 0, "<a, b>: 0 = satisfying assignment", note=example)
    left.set_xlabel("clauses (1 = not yet satisfied)", fontsize=8)
    middle.set_xlabel("clauses (1 = not yet satisfied)", fontsize=8)
    listing = "   ".join(
        f"C{c + 1} = {_formula_label(CNF(formula.num_vars, [clause]))}" for c, clause in enumerate(formula.clauses)
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
    figure = _figure(0.3 * (2 * wide + table) + 1.8, 1.6 + 3 * (0.9 + 0.4 * rows))
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
            _bits(ax, matrix, title, row_labels=labels, groups=groups, title_loc="left")
            ax.set_xlim(-0.5, wide - 0.5)  # same bit size in every row
            ax.set_anchor("W")
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.add_patch(
                Rectangle((-0.5, -0.5), matrix.shape[1], matrix.shape[0], fill=False, edgecolor="black", linewidth=1)
            )
        values, close, title, note = tables[row]
        _table(figure.add_subplot(grid[row, 4]), values, close, title, note=note)
    figure.suptitle(
        f"OV → Gap-ANN: the coordinate gadget (dimension {d} → 3d = {3 * d}), then half-ones padding "
        f"({3 * d} → {6 * d})\nGap-ANN(t = {gap.threshold}, ε = {gap.epsilon}): a query is close iff it has an "
        "orthogonal partner; padding gives every vector weight half its length, as Lemma 4.7 needs",
        fontsize=11,
    )
    return figure


# -- Gap-ANN -> AAttC ---------------------------------------------------------------------


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
    figure = _figure(12.5, 9.4)
    grid = figure.add_gridspec(2, 2, height_ratios=[1.35, 1])
    image = None
    for column, (balance, block, scores, log_u) in enumerate(runs):
        ax = figure.add_subplot(grid[0, column])
        image = ax.imshow(scores, cmap="viridis", vmin=0, vmax=top_score, aspect="equal")
        n_a, n_b, size = block.num_queries, block.num_points, block.size
        for (i, j), value in np.ndenumerate(scores):
            colour = _text_colour(image.cmap(image.norm(value)))
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
        ax.axhline(block.log_lower, color=_CLOSE, linestyle="--", linewidth=1.2, label=f"log L = {block.log_lower:.1f}")
        ax.axhline(
            block.log_threshold,
            color="black",
            linewidth=1.6,
            label=f"decision threshold log θ = {block.log_threshold:.1f}",
        )
        if math.isfinite(block.log_upper):
            ax.axhline(
                block.log_upper, color=_FAR, linestyle="--", linewidth=1.2, label=f"log U = {block.log_upper:.1f}"
            )
        ax.scatter(queries[close], log_u[close], s=70, color=_CLOSE, zorder=3, label="u_i ≥ θ: close (partner found)")
        ax.scatter(queries[~close], log_u[~close], s=70, color=_FAR, marker="s", zorder=3, label="u_i < θ: far")
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
    figure.colorbar(
        image,
        ax=[figure.axes[0], figure.axes[2]],
        shrink=0.8,
        label=r"score $q \cdot k / \tilde d$ = log of the unnormalised attention weight",
    )
    block = runs[0][1]
    figure.suptitle(
        f"Gap-ANN → AAttC (Lemma 4.7) for {_formula_label(formula)}\n"
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
    figure = _figure(13.0, 5.4)
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    for (balance, block), colour in zip(blocks.items(), (_FAR, _ONE), strict=False):
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
    left.axvline(certified, color=_NEUTRAL, linewidth=1)
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
        color=_CLOSE,
        linewidth=2,
        label="log L − log θ: a close query ends at least this far above θ",
    )
    right.plot(
        beta,
        curves["log_upper"] - curves["log_threshold"],
        color=_FAR,
        linewidth=2,
        label="log U − log θ: a far query ends at least this far below θ",
    )
    right.axhline(0, color="black", linewidth=1)
    right.axhline(
        math.log(kappa) / 2,
        color=_CLOSE,
        linestyle="--",
        linewidth=1,
        label=f"± log(κ)/2: κ = 4((1+ρ)/(1−ρ))² = {kappa:.5f}, ρ = the oracle's relative error",
    )
    right.axhline(-math.log(kappa) / 2, color=_FAR, linestyle="--", linewidth=1)
    right.axvline(certified, color=_NEUTRAL, linewidth=1)
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


def _chebyshev_values(radius: float, degree: int, x: np.ndarray) -> np.ndarray:
    """The truncated Chebyshev series of ``e^x`` on ``[-R, R]`` (coefficients ``I_0(R), 2 I_k(R)``) at ``x``."""
    import mpmath

    coefficients = [float(mpmath.besseli(0, radius))] + [
        float(2 * mpmath.besseli(k, radius)) for k in range(1, degree + 1)
    ]
    return np.polynomial.chebyshev.chebval(x / radius, coefficients)


def polynomial_figure(*, radius: float = 4.0, eps: float = 1e-6) -> Figure:
    """Polynomials for ``e^x`` on ``[-R, R]``: the curves, their relative error, and the degree needed.

    Four panels: ``e^x`` with Chebyshev truncations of a few degrees; their
    relative error ``|P(x)/e^x - 1|`` along the interval; the (rigorously
    bounded) relative error against the degree for several radii, with
    ``eps``; and the smallest degree against ``R`` beside the paper's
    ``max{log(1/eps)/log(log(1/eps)/R), R}`` (constant 1) and the Taylor degree.

    Uses :mod:`solvers.attention.polynomial.approximation` for the bounds and degrees.

    Parameters
    ----------
    radius : float
        ``R`` of the first two panels.
    eps : float
        The relative error asked for, ``0 < eps < 1``.

    Examples
    --------
    >>> fig = polynomial_figure()
    >>> fig.axes[3].get_title()
    'smallest degree for relative error 1e-06'
    """
    if not 0 < eps < 1:
        raise ValueError(f"'eps' must be in (0, 1) (got {eps!r})")
    if not 0 < radius <= 12:
        raise ValueError(f"'radius' must be in (0, 12] to be drawn in float64 (got {radius!r})")
    figure = _figure(12.5, 9.0)
    axes = [figure.add_subplot(2, 2, k + 1) for k in range(4)]
    x = np.linspace(-radius, radius, 601)
    degrees = [2, 4, 6, 8, predict_chebyshev_degree(radius, eps)]
    colours = ["#fdae61", "#f46d43", "#d73027", "#a50026", _ONE]
    ax = axes[0]
    ax.plot(x, np.exp(x), color="black", linewidth=2.5, label="$e^x$")
    for degree, colour in zip(degrees, colours, strict=False):
        ax.plot(x, _chebyshev_values(radius, degree, x), color=colour, linewidth=1.2, label=f"degree {degree}")
    ax.set_ylim(-0.15 * math.exp(radius), 1.1 * math.exp(radius))
    ax.set_xlabel("x")
    ax.set_ylabel("value")
    ax.set_title(
        f"$e^x$ and its truncated Chebyshev series on [−{radius:g}, {radius:g}]: good to the eye, except at the left",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    ax = axes[1]
    for degree, colour in zip(degrees, colours, strict=False):
        error = np.abs(_chebyshev_values(radius, degree, x) * np.exp(-x) - 1)
        ax.plot(x, np.maximum(error, 1e-16), color=colour, label=f"degree {degree}")
    ax.axhline(eps, color="black", linestyle="--", label=f"ε = {eps:g}")
    ax.set_yscale("log")
    ax.set_xlabel("x")
    ax.set_ylabel("|P(x)/eˣ − 1|")
    ax.set_title("relative error along the interval: worst at the left end, where eˣ is smallest", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    ax = axes[2]
    for r, colour in zip((1.0, 4.0, 16.0, 64.0), ("#fdae61", "#d73027", "#2c7fb8", "#253494"), strict=False):
        needed = predict_chebyshev_degree(r, eps)
        top = max(needed + 12, int(1.3 * needed))
        gs = np.arange(0, top + 1)
        bounds = np.array([chebyshev_tail_bound(r, int(g)) for g in gs])
        ax.plot(gs, np.clip(bounds, 1e-18, 1e40), color=colour, label=f"R = {r:g}: degree {needed} reaches ε")
        ax.plot([needed], [chebyshev_tail_bound(r, needed)], "o", color=colour)
    ax.axhline(eps, color="black", linestyle="--", label=f"ε = {eps:g}")
    ax.set_yscale("log")
    ax.set_ylim(1e-16, 1e30)
    ax.set_xlabel("degree g")
    ax.set_ylabel("relative error bound on [−R, R]")
    ax.set_title("error bound against degree: it falls fast only once g passes about R", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax = axes[3]
    radii = np.geomspace(0.05, 500, 40)
    ax.plot(
        radii,
        [predict_chebyshev_degree(float(r), eps) for r in radii],
        color=_ONE,
        linewidth=2,
        label="Chebyshev (smallest degree, tail bound)",
    )
    ax.plot(
        radii, [taylor_degree(float(r), eps) for r in radii], color="#fdae61", label="Taylor at 0 (Lagrange remainder)"
    )
    ax.plot(
        radii,
        [paper_degree(float(r), eps) for r in radii],
        color="black",
        linestyle="--",
        label="paper's Θ-expression, constant 1: max{log(1/ε)/log(log(1/ε)/R), R}",
    )
    ax.axvline(math.log(1 / eps), color=_NEUTRAL, linestyle=":", linewidth=1)
    ax.text(math.log(1 / eps) * 1.08, 2, f"R = log(1/ε) = {math.log(1 / eps):.1f}", fontsize=8, color=_NEUTRAL)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("R (scores lie in [−R, R]; R = B² for entries bounded by B)")
    ax.set_ylabel("degree g")
    ax.set_title(f"smallest degree for relative error {eps:g}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3, which="both")
    figure.suptitle(
        "The polynomial method approximates every eˣ by one polynomial P: |P(x) − eˣ| ≤ ε eˣ on [−R, R] "
        "(Corollary 2.2)\nbelow R ≈ log(1/ε) the degree grows like log(1/ε)/log(log(1/ε)/R); above, linearly in R",
        fontsize=11,
    )
    return figure


def _rank(dimension: int, degree: int) -> int:
    """``C(d + g, g)``: monomials of degree at most ``g`` in ``d`` variables."""
    return math.comb(dimension + degree, degree)


def _crossover(n: int, dimension: int, eps: float) -> float:
    """The largest ``B`` (to 1 %) at which the polynomial method's work ``n r (d + g)`` is at most ``n^2 d``."""

    def wins(bound: float) -> bool:
        degree = predict_chebyshev_degree(bound * bound, eps)
        return _rank(dimension, degree) * (dimension + degree) <= n * dimension

    low, high = 0.05, 0.05
    if not wins(low):
        return 0.0
    while wins(high):
        low, high = high, 2 * high
    while high / low > 1.01:
        middle = math.sqrt(low * high)
        low, high = (middle, high) if wins(middle) else (low, middle)
    return low


def _polynomial_timings(n: int, dimension: int, eps: float, bounds: np.ndarray) -> tuple[list[float], ...] | None:
    """Predicted seconds of :class:`~solvers.attention.polynomial.oracle.PolynomialAttention` (Algorithm 1 on
    ``[-B^2, B^2]``) for every ``B``, and measured seconds where it predicts at most 0.1 s;
    ``None`` when that oracle is not installed (the figure then shows an operation count)."""
    try:
        from solvers.attention.polynomial.oracle import PolynomialAttention
    except ImportError:
        return None
    from instances.attention import random_attention

    oracle = PolynomialAttention(eps=eps, route="features", interval="paper", workers=1)
    plan_bounds, plan_seconds, run_bounds, run_seconds = [], [], [], []
    for bound in bounds:
        instance = random_attention(n, dimension, float(bound), value_columns=1, seed=0)
        plan = oracle.plan(instance)
        seconds = {route: predicted for route, predicted, _bytes, _why in plan.routes}.get("features")
        if seconds is None or not math.isfinite(seconds):
            continue
        plan_bounds.append(float(bound))
        plan_seconds.append(float(seconds))
        if plan.route == "features" and seconds <= 0.1:
            run_bounds.append(float(bound))
            run_seconds.append(_best_time(oracle, instance, 2))  # the first call also builds the polynomial
    return plan_bounds, plan_seconds, run_bounds, run_seconds


def _best_time(oracle: Any, instance: Any, repeat: int) -> float:
    """Best of ``repeat`` timed calls (other processes may share the cores)."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        oracle(instance)
        best = min(best, time.perf_counter() - start)
    return best


def _any_temperature_panel(ax: Axes, n: int, eps: float) -> None:
    """Time against ``B`` (log-log) in dimension 2: exact, the polynomial method, and the
    any-temperature oracle when :mod:`solvers.attention.anytemp.oracle` is installed."""
    from instances.attention import random_attention
    from solvers.attention.exact import ExactAttention

    try:
        from solvers.attention.anytemp.oracle import AnyTemperatureAttention
    except ImportError:
        AnyTemperatureAttention = None
    dimension = 2
    measured = [1.0, 16.0, 256.0]
    oracles = [("exact oracle, measured", "s-", _NEUTRAL, ExactAttention(workers=1))]
    if AnyTemperatureAttention is not None:
        oracles.append(("any-temperature oracle (kd-tree, small d), measured", "^-", _ONE, AnyTemperatureAttention()))
    instances = [random_attention(n, dimension, bound, value_columns=1, seed=0) for bound in measured]
    exact: list[float] = []
    for label, style, colour, oracle in oracles:
        times = [_best_time(oracle, instance, 2) for instance in instances]
        exact = exact or times
        ax.plot(measured, times, style, color=colour, label=label)
    bounds = np.geomspace(0.5, 32.0, 7)
    polynomial = _polynomial_timings(n, dimension, eps, bounds)
    if polynomial is None:
        per_operation = float(np.median(exact)) / (n * n * (dimension + 1))
        degrees = [predict_chebyshev_degree(float(b) ** 2, eps) for b in bounds]
        ax.plot(
            bounds,
            [n * _rank(dimension, g) * (dimension + g) * per_operation for g in degrees],
            "o-",
            color=_FAR,
            markersize=3,
            label="polynomial method, predicted: n·r·(d + g) work",
        )
    else:
        plan_bounds, plan_seconds, run_bounds, run_seconds = polynomial
        ax.plot(
            plan_bounds, plan_seconds, "o-", color=_FAR, markersize=3, label="polynomial oracle, its own prediction"
        )
        ax.plot(run_bounds, run_seconds, "D", color="#67001f", markersize=6, label="polynomial oracle, measured")
    ax.axvline(math.sqrt(math.log(n)), color=_CLOSE, linewidth=1.5)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylim(top=1e3)
    ax.set_xlabel("entry bound B (log scale)")
    ax.set_ylabel("seconds")
    ax.set_title(
        f"fixed small d escapes the bound: attention at any temperature (n = {n}, d = {dimension})", fontsize=10
    )
    ax.text(
        math.sqrt(math.log(n)),
        0.3,
        f" B = √(ln n) = {math.sqrt(math.log(n)):.2f}",
        transform=ax.get_xaxis_transform(),
        fontsize=8,
        color=_CLOSE,
        rotation=90,
        va="center",
        ha="right",
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3, which="both")


def phase_transition_figure(
    *, n: int = 2048, dimensions: Sequence[int] = (2, 4, 8, 16), timing_dimension: int = 8
) -> Figure:
    """The polynomial method against the entry bound ``B``: degree, rank, time, and where it stops winning.

    Scores lie in ``[-B^2, B^2]``; the degree ``g`` needed there (relative error
    ``1/n``) makes the rank of the factorisation ``r = C(d + g, g)`` and its work
    ``n r (d + g)``. The exact oracle is timed on random instances: its work
    ``n^2 d`` does not depend on ``B``. The last panel follows the crossover
    ``B*`` (polynomial work = exact work) as ``n`` grows with ``d = log2 n``,
    beside ``sqrt(ln n)``. The last panel times, in dimension 2 and up to
    ``B = 256``, the exact oracle, the polynomial method and the any-temperature
    oracle (:mod:`solvers.attention.anytemp.oracle`), whose cost depends on ``B``
    only mildly: the hardness needs ``d`` growing with ``n``.

    Parameters
    ----------
    n : int
        Sequence length (queries and keys) of the first three panels.
    dimensions : sequence of int
        Head dimensions ``d`` for the rank panel.
    timing_dimension : int
        The ``d`` of the timing panel.

    Examples
    --------
    >>> fig = phase_transition_figure(n=256)
    >>> fig.axes[1].get_title()
    'rank r = C(d + g, g) of the factorisation'
    """
    from instances.attention import random_attention
    from solvers.attention.exact import ExactAttention

    if not 16 <= n <= 8192:
        raise ValueError(f"'n' must be in 16..8192 to be timed in a few seconds (got {n!r})")
    eps = 1.0 / n
    threshold = math.sqrt(math.log(n))
    bounds = np.linspace(0.25, 5.0, 20)
    degrees = [predict_chebyshev_degree(float(b) ** 2, eps) for b in bounds]
    figure = _figure(17.0, 10.0)
    grid = figure.add_gridspec(2, 6)
    axes = [figure.add_subplot(grid[0, 2 * k : 2 * k + 2]) for k in range(3)]
    axes += [figure.add_subplot(grid[1, 3 * k : 3 * k + 3]) for k in range(2)]

    ax = axes[0]
    ax.plot(bounds, degrees, "o-", color=_ONE, label="Chebyshev degree needed")
    ax.plot(
        bounds,
        [paper_degree(float(b) ** 2, eps) for b in bounds],
        "--",
        color="black",
        label="paper's Θ-expression (constant 1)",
    )
    ax.plot(bounds, bounds**2, ":", color=_NEUTRAL, label="R = B²")
    ax.set_xlabel("entry bound B")
    ax.set_ylabel("degree g")
    ax.set_title(f"degree for relative error 1/n = {eps:.2g} on [−B², B²]", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[1]
    for dimension, colour in zip(dimensions, ("#fdae61", "#f46d43", "#d73027", "#a50026", "#67001f"), strict=False):
        ax.plot(
            bounds, [_rank(dimension, g) for g in degrees], "o-", markersize=3, color=colour, label=f"d = {dimension}"
        )
    ax.axhline(n, color="black", linestyle="--", label=f"r = n = {n}: no smaller than the n × n matrix")
    ax.set_yscale("log")
    ax.set_xlabel("entry bound B")
    ax.set_ylabel("rank r")
    ax.set_title("rank r = C(d + g, g) of the factorisation", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[2]
    oracle = ExactAttention(workers=1)
    measured_bounds = [0.5, 2.5, 4.5]
    instances = [random_attention(n, timing_dimension, b, value_columns=1, seed=0) for b in measured_bounds]
    oracle(instances[0])  # warm up before timing
    measured = [_best_time(oracle, instance, 2) for instance in instances]
    per_operation = float(np.median(measured)) / (n * n * (timing_dimension + 1))
    predicted = [n * _rank(timing_dimension, g) * (timing_dimension + g) * per_operation for g in degrees]
    polynomial = _polynomial_timings(n, timing_dimension, eps, bounds[1::2])
    crossing = _crossover(n, timing_dimension, eps)
    ax.plot(measured_bounds, measured, "s-", color=_NEUTRAL, label="exact oracle, measured: n² d work for any B")
    if polynomial is None:
        ax.plot(
            bounds,
            predicted,
            "o-",
            color=_FAR,
            markersize=3,
            label="polynomial method, predicted: n·r·(d + g) work at the same speed",
        )
    else:
        plan_bounds, plan_seconds, run_bounds, run_seconds = polynomial
        ax.plot(
            plan_bounds,
            plan_seconds,
            "o-",
            color=_FAR,
            markersize=3,
            label="polynomial oracle (features route), its own prediction",
        )
        ax.plot(run_bounds, run_seconds, "D", color="#67001f", markersize=7, label="polynomial oracle, measured")
    ax.axvline(crossing, color=_FAR, linestyle=":", linewidth=1.5)
    ax.text(
        crossing, 0.03, f" crossover B* = {crossing:.2f}", transform=ax.get_xaxis_transform(), fontsize=8, color=_FAR
    )
    ax.set_yscale("log")
    ax.set_xlabel("entry bound B")
    ax.set_ylabel("seconds")
    ax.set_title(f"time for n = {n}, d = {timing_dimension}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    for ax in axes[:3]:
        ax.axvline(threshold, color=_CLOSE, linewidth=1.5)
        ax.text(
            threshold,
            0.3,
            f" B = √(ln n) = {threshold:.2f}",
            transform=ax.get_xaxis_transform(),
            fontsize=8,
            color=_CLOSE,
            rotation=90,
            va="center",
            ha="right",
        )
        ax.grid(alpha=0.3, which="both")

    ax = axes[3]
    exponents = [8, 16, 32, 64, 128, 256, 512, 1024]
    crossings = [_crossover(2**k, k, 2.0**-k) for k in exponents]
    roots = [math.sqrt(k * math.log(2)) for k in exponents]
    ax.plot(exponents, roots, "-", color=_CLOSE, linewidth=2, label="√(ln n)")
    ax.plot(exponents, crossings, "o-", color=_FAR, label="crossover B*: polynomial work = n² d")
    for k, b in zip(exponents, crossings, strict=False):
        ax.annotate(
            f"{b / math.sqrt(k * math.log(2)):.2f}",
            (k, b),
            textcoords="offset points",
            xytext=(0, -14),
            fontsize=8,
            color=_FAR,
            ha="center",
        )
    ratio = crossings[-1] / roots[-1]
    ax.plot(exponents, [ratio * r for r in roots], ":", color=_FAR, label=f"{ratio:.2f}·√(ln n)")
    ax.text(
        0.02,
        0.68,
        f"numbers: B*/√(ln n), settling near {ratio:.2f}:\nB* = Θ(√log n), with a small constant",
        transform=ax.transAxes,
        ha="left",
        fontsize=8.5,
        color=_FAR,
    )
    ax.set_xscale("log", base=2)
    ax.set_xticks(exponents, [f"$2^{{{k}}}$" for k in exponents])
    ax.set_xlabel("n  (with d = log₂ n and relative error 1/n)")
    ax.set_ylabel("entry bound B")
    ax.set_title("where the polynomial method stops beating n² d, as n grows", fontsize=10)
    _any_temperature_panel(axes[4], n, eps)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3, which="both")
    figure.suptitle(
        "The polynomial method needs a degree that grows like B², and a rank C(d + g, g) that explodes with it:\n"
        "it beats the quadratic exact oracle only below a crossover B* = Θ(√log n). "
        "Alman–Song: above B = Θ(√log n), no algorithm is subquadratic (under SETH)",
        fontsize=11,
    )
    return figure


# -- the registry of demos ------------------------------------------------------------------


@attrs.frozen
class Demo:
    """A named teaching figure: ``demo()`` builds it."""

    name: str
    description: str
    build: Callable[[], Figure] = attrs.field(repr=False)

    def __call__(self) -> Figure:
        return self.build()


DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo("registry", "the registry graph: problems and the registered reductions between them", registry_figure),
        Demo(
            "split-and-list",
            "k-SAT -> OV: the clause vectors of the two halves and their inner products",
            split_and_list_figure,
        ),
        Demo(
            "gadget",
            "OV -> Gap-ANN: the coordinate gadget and the half-ones padding on a tiny OV instance",
            gadget_figure,
        ),
        Demo(
            "attention-blocks",
            "Gap-ANN -> AAttC: the block structure of the scores, paper vs tight balancing, and the decision threshold",
            attention_blocks_figure,
        ),
        Demo(
            "margin",
            "log L, log U and the decision threshold against beta for uf20-01, both balancing blocks",
            margin_figure,
        ),
        Demo(
            "polynomial",
            "polynomials for e^x on [-R, R]: relative error against degree, degree against R",
            polynomial_figure,
        ),
        Demo(
            "phase-transition",
            "degree, rank and time of the polynomial method against B, with sqrt(ln n) marked",
            phase_transition_figure,
        ),
    )
}
"""The teaching figures by name, in reading order."""

_FORMATS = ("png", "pdf", "svg")


def _check_name(name: str) -> Demo:
    try:
        return DEMOS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown demo {name!r}; choose one of: {', '.join(DEMOS)}") from None


def save_demo(name: str, out_dir: str | Path, *, format: str = "png", dpi: int = 110) -> Path:
    """Draw the demo ``name`` and write it to ``out_dir/NAME.FORMAT`` (folders are created).

    Parameters
    ----------
    name : str
        A key of :data:`DEMOS`.
    out_dir : str or Path
    format : {"png", "pdf", "svg"}
    dpi : int
        Resolution of PNG files.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_demo("gadget", folder)
    ...     path.name, path.stat().st_size > 10_000
    ('gadget.png', True)
    """
    demo = _check_name(name)
    if format not in _FORMATS:
        raise ValueError(f"'format' must be one of {', '.join(_FORMATS)} (got {format!r})")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{demo.name}.{format}"
    figure = demo()
    figure.savefig(path, dpi=dpi, format=format)
    return path


def save_all(out_dir: str | Path, *, format: str = "png", dpi: int = 110) -> list[Path]:
    """Write every demo into ``out_dir``; returns the files in :data:`DEMOS` order."""
    return [save_demo(name, out_dir, format=format, dpi=dpi) for name in DEMOS]


# -- command line ---------------------------------------------------------------------------


def add_demo_command(commands: Any) -> argparse.ArgumentParser:
    """Add ``demo`` to the ``reductions`` command's sub-parsers (``commands``, from ``add_subparsers``).

    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="reductions")
    >>> _ = add_demo_command(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["demo", "gadget", "--out", "figures"])
    >>> args.names, args.out, args.run is run_demo_command
    (['gadget'], 'figures', True)
    """
    listing = "\n".join(f"  {name:<18} {demo.description}" for name, demo in DEMOS.items())
    parser = commands.add_parser(
        "demo",
        help="draw the teaching figures (needs the demo extra: matplotlib)",
        description="Draw teaching figures as files. With no NAME, list them.",
        epilog=f"demos:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="demo names, or 'all'")
    parser.add_argument("--out", default="figures", help="folder to write into (default: ./figures)")
    parser.add_argument("--format", default="png", choices=_FORMATS, help="file format (default: png)")
    parser.add_argument("--dpi", type=int, default=110, help="resolution of PNG files (default: 110)")
    parser.set_defaults(run=run_demo_command)
    return parser


def run_demo_command(args: argparse.Namespace) -> int:
    """Run ``reductions demo``: list the demos (no NAME, or ``--list`` where the parser has it),
    or write the named ones and print each path.

    Unknown names raise ``ValueError`` before anything is drawn; without
    matplotlib the command prints one line on stderr and returns 1.
    """
    names = list(args.names)
    if not names or getattr(args, "list", False):
        for name, demo in DEMOS.items():
            print(f"{name:<18} {demo.description}")
        return 0
    if "all" in names:
        names = list(DEMOS)
    for name in names:
        _check_name(name)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("reductions: error: the demo command needs matplotlib: pip install 'reductions[demo]'", file=sys.stderr)
        return 1
    for name in dict.fromkeys(names):
        print(save_demo(name, args.out, format=args.format, dpi=args.dpi), flush=True)
    return 0
