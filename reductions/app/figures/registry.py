"""The registry figure: problems as boxes, registered reductions as arrows, read from the registry."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from reductions.app.figures.style import (
    NEUTRAL,
    new_figure,
)

if TYPE_CHECKING:  # matplotlib is an optional dependency (the demo extra)
    from matplotlib.figure import Figure

__all__ = ["registry_figure"]


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
    figure = new_figure(max(7.0, 3.3 * columns + 0.5), 2.4 + 1.35 * tallest + 0.22 * len(chains))
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
        ax.text(x, y - 0.22, title, ha="center", va="center", fontsize=7.5, color=NEUTRAL, zorder=3)
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
                        color=NEUTRAL,
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
                    color=NEUTRAL,
                    zorder=1,
                )
            )
        (x0, y0), (x1, y1) = position[u], position[v]
        # A point of the arc3 curve (a quadratic Bezier whose control point is the midpoint moved by
        # rad * (dy, -dx)): the middle for neighbouring layers; nearer the source for an arrow that
        # crosses several layers, whose middle lies among the labels of the layers it crosses.
        span = max(1, round(abs(x1 - x0) / x_step))
        t = min(0.5, 0.75 / span)
        control = ((x0 + x1) / 2 + base * (y1 - y0), (y0 + y1) / 2 - base * (x1 - x0))
        at = tuple(
            (1 - t) ** 2 * a + 2 * t * (1 - t) * c + t**2 * b
            for a, c, b in zip((x0, y0), control, (x1, y1), strict=True)
        )
        ax.text(*at, label, ha="center", va="center", fontsize=8, zorder=3, bbox=label_box)
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
    figure.supxlabel("\n".join(lines), fontsize=8.5, color=NEUTRAL)
    return figure


# -- k-SAT -> OV --------------------------------------------------------------------------
