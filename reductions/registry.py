"""The registry: problems are nodes, registered reductions are edges of a networkx graph.

Reductions are registered under short names (``sat-ov``, ``ov-gapann``, ...);
composite chains (``sat-aattc``) are registered too but are not edges.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from reductions.core import Chain, Reduction
from reductions.problems import PROBLEMS

__all__ = ["register", "get_reduction", "reduction_names", "registry_graph", "path", "all_paths", "draw_registry"]

_REDUCTIONS: dict[str, Reduction] = {}


def register(name: str, reduction: Reduction) -> Reduction:
    """Register ``reduction`` under the short ``name`` (used by the command line).

    >>> from reductions.sat_ov import SatToOV
    >>> register("sat-ov-split1", SatToOV(split=1)).name
    'sat-ov'
    >>> _ = _REDUCTIONS.pop("sat-ov-split1")
    """
    existing = _REDUCTIONS.get(name)
    # Compare by class name and options, so that re-importing a module (as doctest
    # collection may do) re-registers the same reduction instead of failing.
    if existing is not None and (type(existing).__qualname__, repr(existing)) != (type(reduction).__qualname__, repr(reduction)):
        raise ValueError(f"a different reduction is already registered as {name!r}")
    _REDUCTIONS[name] = reduction
    return reduction


def get_reduction(name: str) -> Reduction:
    """The reduction registered as ``name``; an unknown name lists the valid ones.

    >>> get_reduction("sat-ov")
    SatToOV(split=None)
    >>> get_reduction("sat-tsp")
    Traceback (most recent call last):
    ...
    ValueError: unknown reduction 'sat-tsp'; registered: sat-ov, ...
    """
    try:
        return _REDUCTIONS[name]
    except KeyError:
        raise ValueError(f"unknown reduction {name!r}; registered: {', '.join(reduction_names())}") from None


def reduction_names(*, include_chains: bool = True) -> list[str]:
    """Registered names, single steps first, then chains."""
    singles = [n for n, r in _REDUCTIONS.items() if not isinstance(r, Chain)]
    chains = [n for n, r in _REDUCTIONS.items() if isinstance(r, Chain)]
    return singles + (chains if include_chains else [])


def registry_graph() -> nx.MultiDiGraph:
    """Problems as nodes, single-step reductions as edges (key = short name).

    >>> g = registry_graph()
    >>> g.has_edge("sat", "ov", key="sat-ov")
    True
    """
    graph = nx.MultiDiGraph()
    for name, problem in PROBLEMS.items():
        graph.add_node(name, title=problem.title)
    for name, reduction in _REDUCTIONS.items():
        if not isinstance(reduction, Chain):
            graph.add_edge(reduction.source, reduction.target, key=name, reduction=reduction)
    return graph


def all_paths(source: str, target: str) -> list[Chain]:
    """Every simple path from ``source`` to ``target`` as a chain, shortest first.

    Self-loops (for example a padding step from a problem to itself) are not
    inserted automatically: register a chain that uses them.
    """
    graph = registry_graph()
    for problem in (source, target):
        if problem not in graph:
            raise ValueError(f"unknown problem {problem!r}; known problems: {', '.join(sorted(graph))}")
    chains: list[Chain] = []
    for edge_path in nx.all_simple_edge_paths(graph, source, target):
        chains.append(Chain.of(*(graph.edges[u, v, key]["reduction"] for u, v, key in edge_path)))
    for name, reduction in _REDUCTIONS.items():
        if isinstance(reduction, Chain) and reduction.source == source and reduction.target == target:
            if all(reduction.parts != c.parts for c in chains):
                chains.append(reduction)
    chains.sort(key=lambda c: len(c.parts))
    return chains


def path(source: str, target: str) -> Chain:
    """A registered chain from ``source`` to ``target``: a registered composite
    if there is one, else the shortest path of single steps.

    >>> path("sat", "ov").name
    'sat-ov'
    """
    for reduction in _REDUCTIONS.values():
        if isinstance(reduction, Chain) and reduction.source == source and reduction.target == target:
            return reduction
    chains = all_paths(source, target)
    if not chains:
        raise ValueError(f"no registered reduction path from {source!r} to {target!r}")
    return chains[0]


def draw_registry(ax: Any = None) -> Any:
    """Draw the registry graph with matplotlib (needs the ``demo`` extra); returns the axes."""
    import matplotlib.pyplot as plt

    graph = registry_graph()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    layout = nx.spring_layout(nx.DiGraph(graph), seed=1)
    nx.draw_networkx(nx.DiGraph(graph), layout, ax=ax, node_color="#dbe9f6", node_size=1400)
    labels = {(u, v): ", ".join(k for (a, b, k) in graph.edges(keys=True) if (a, b) == (u, v)) for u, v in nx.DiGraph(graph).edges}
    nx.draw_networkx_edge_labels(nx.DiGraph(graph), layout, edge_labels=labels, ax=ax, font_size=8)
    ax.set_axis_off()
    return ax
