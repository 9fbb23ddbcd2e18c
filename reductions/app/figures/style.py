"""What the figures share: the Agg canvas, the colours, bit matrices and tables, formula labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from instances.cnf import CNF

if TYPE_CHECKING:  # matplotlib is an optional dependency (the demo extra)
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "EXAMPLE_FORMULA",
    "CLOSE",
    "FAR",
    "NEUTRAL",
    "ONE",
    "ZERO",
    "BIT_COLOURS",
    "new_figure",
    "text_colour",
    "draw_bits",
    "draw_table",
    "literal_label",
    "clause_label",
    "formula_label",
]

EXAMPLE_FORMULA = CNF(4, [[1, -2], [2, 3], [-1, -3, 4], [-4, 2]])
"""The README's four-variable formula, used by the small figures."""

# Colours shared by the figures: close / orthogonal (green), far (red), neutral.
CLOSE = "#1a9850"
FAR = "#d73027"
NEUTRAL = "#4d4d4d"
ONE = "#2c7fb8"
ZERO = "#f7f7f7"
BIT_COLOURS = (ZERO, ONE)


def new_figure(width: float, height: float) -> Figure:
    """A new figure on the Agg canvas (no display, not registered with pyplot).

    >>> new_figure(4, 3).get_size_inches().tolist()
    [4.0, 3.0]
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - the demo extra is installed in development
        raise ImportError("the teaching figures need matplotlib: pip install 'reductions[demo]'") from err
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def text_colour(rgba: Sequence[float]) -> str:
    """Black or white, whichever reads better on a cell of colour ``rgba``.

    >>> text_colour((1.0, 1.0, 0.9)), text_colour((0.1, 0.1, 0.4))
    ('black', 'white')
    """
    red, green, blue = rgba[:3]
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.55 else "white"


def draw_bits(
    ax: Axes,
    matrix: np.ndarray,
    title: str,
    *,
    row_labels: Sequence[str] = (),
    column_labels: Sequence[str] = (),
    groups: int = 0,
    title_loc: Literal["left", "center", "right"] = "center",
) -> None:
    """A 0/1 matrix as coloured cells with its digits; ``groups`` draws a separator every so many columns.

    >>> ax = new_figure(3, 2).subplots()
    >>> draw_bits(ax, np.array([[0, 1], [1, 1]]), "bits")
    >>> ax.get_title(), len(ax.texts)
    ('bits', 4)
    """
    from matplotlib.colors import ListedColormap

    rows, columns = matrix.shape
    ax.imshow(matrix, cmap=ListedColormap(BIT_COLOURS), vmin=0, vmax=1, aspect="equal")
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


def draw_table(
    ax: Axes,
    values: np.ndarray,
    close: np.ndarray,
    title: str,
    *,
    row_prefix: str = "a",
    column_prefix: str = "b",
    note: str = "",
) -> None:
    """An ``n_a x n_b`` table of numbers, green where ``close`` and red elsewhere.

    >>> ax = new_figure(3, 2).subplots()
    >>> draw_table(ax, np.array([[0, 2]]), np.array([[True, False]]), "<a, b>")
    >>> [text.get_color() == CLOSE for text in ax.texts]
    [True, False]
    """
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
            color=CLOSE if close[i, j] else FAR,
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


def literal_label(literal: int) -> str:
    r"""A literal in TeX: ``-3`` is ``\neg x_{3}``.

    >>> literal_label(-3)
    '\\neg x_{3}'
    """
    return (r"\neg " if literal < 0 else "") + f"x_{{{abs(literal)}}}"


def clause_label(clause: Sequence[int]) -> str:
    r"""A clause in TeX, ``$\bot$`` when empty.

    >>> clause_label([1, -2]), clause_label([])
    ('$x_{1} \\vee \\neg x_{2}$', '$\\bot$')
    """
    return "$" + r" \vee ".join(literal_label(lit) for lit in clause) + "$" if clause else r"$\bot$"


def formula_label(formula: CNF) -> str:
    """A formula in plain text, one parenthesis per clause.

    >>> formula_label(CNF(2, [[1, -2], [2]]))
    '(x1 ∨ ¬x2)(x2)'
    """

    def literal(lit: int) -> str:
        return ("¬" if lit < 0 else "") + f"x{abs(lit)}"

    return "".join("(" + " ∨ ".join(literal(lit) for lit in clause) + ")" for clause in formula.clauses)


# -- registry ---------------------------------------------------------------------------
