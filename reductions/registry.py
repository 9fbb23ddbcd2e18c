"""The registry: problems are nodes, registered reductions are edges of a networkx graph.

Reductions are registered under short names (``sat-ov``, ``ov-gapann``, ...);
composite chains (``sat-aattc``) are registered too but are not edges. A
reduction to many instances (:mod:`reductions.family`) is an edge marked
``multi_instance``, which paths do not follow: they are single-instance chains. The
first consultation loads the plug-ins, the built-in catalogue first
(:mod:`reductions.plugins`).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, cast

from reductions.core import Chain, Reduction
from reductions.plugins import load_plugins
from reductions.problems import get_problem, problem_names

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "register",
    "unregister",
    "get_reduction",
    "reduction_names",
    "registry_graph",
    "path",
    "all_paths",
]

_REDUCTIONS: dict[str, Reduction] = {}


def register(name: str, reduction: Reduction) -> Reduction:
    """Register ``reduction`` under the short ``name`` (used by the command line).

    >>> from reductions.catalog.sat_ov import SatToOV
    >>> register("sat-ov-split1", SatToOV(split=1)).name
    'sat-ov'
    >>> _ = _REDUCTIONS.pop("sat-ov-split1")
    """
    existing = _REDUCTIONS.get(name)
    # Compare by class name and options, so that re-importing a module (as doctest
    # collection may do) re-registers the same reduction instead of failing.
    if existing is not None and (type(existing).__qualname__, repr(existing)) != (
        type(reduction).__qualname__,
        repr(reduction),
    ):
        raise ValueError(f"a different reduction is already registered as {name!r}")
    _REDUCTIONS[name] = reduction
    return reduction


def unregister(name: str) -> Reduction:
    """Remove and return the reduction registered as ``name``.

    >>> from reductions.catalog.sat_ov import SatToOV
    >>> _ = register("sat-ov-split2", SatToOV(split=2))
    >>> unregister("sat-ov-split2")
    SatToOV(split=2)
    """
    load_plugins()
    try:
        return _REDUCTIONS.pop(name)
    except KeyError:
        raise ValueError(f"unknown reduction {name!r}; registered: {', '.join(reduction_names())}") from None


def get_reduction(name: str) -> Reduction:
    """The reduction registered as ``name``; an unknown name lists the valid ones.

    >>> get_reduction("sat-ov")
    SatToOV(split=None)
    >>> get_reduction("sat-tsp")
    Traceback (most recent call last):
    ...
    ValueError: unknown reduction 'sat-tsp'; registered: sat-ov, ...
    """
    load_plugins()
    try:
        return _REDUCTIONS[name]
    except KeyError:
        raise ValueError(f"unknown reduction {name!r}; registered: {', '.join(reduction_names())}") from None


def reduction_names(*, include_chains: bool = True) -> list[str]:
    """Registered names, single steps first, then chains.

    >>> reduction_names(include_chains=False)[:2]
    ['sat-ov', 'ov-gapann']
    """
    load_plugins()
    singles = [n for n, r in _REDUCTIONS.items() if not _composite(r)]
    chains = [n for n, r in _REDUCTIONS.items() if _composite(r)]
    return singles + (chains if include_chains else [])


def registry_graph() -> nx.MultiDiGraph[str]:
    """Problems as nodes, single-step reductions as edges (key = short name).

    A reduction to many instances is an edge too, marked ``multi_instance=True``;
    :func:`all_paths` and :func:`path` do not follow it.

    >>> g = registry_graph()
    >>> g.has_edge("sat", "ov", key="sat-ov")
    True
    """
    import networkx as nx

    load_plugins()
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for name in problem_names():
        graph.add_node(name, title=get_problem(name).title)
    for name, reduction in _REDUCTIONS.items():
        if not _composite(reduction):
            family = bool(getattr(reduction, "multi_instance", False))
            graph.add_edge(reduction.source, reduction.target, key=name, reduction=reduction, multi_instance=family)
    return graph


def _with_preparation(steps: list[Reduction]) -> list[Reduction]:
    """Insert the registered steps each reduction names in ``prepare`` right before it.

    A reduction such as Lemma 4.7 needs its input in a special form (equal
    weights) that a problem-to-itself step (``half-ones``) provides; such a
    loop is never part of a simple path, so it is inserted here.
    """
    result: list[Reduction] = []
    for step in steps:
        for name in getattr(step, "prepare", ()):
            helper = get_reduction(name)
            if not result or result[-1] != helper:
                result.append(helper)
        result.append(step)
    return result


def all_paths(source: str, target: str) -> list[Chain]:
    """Every simple path from ``source`` to ``target`` as a chain, shortest first,
    plus the registered chains between them.

    Steps that a reduction declares in ``prepare`` (for example ``half-ones``
    before Lemma 4.7) are inserted; from a problem to itself the paths are its
    self-loops.

    >>> [chain.name for chain in all_paths("gapann", "gapann")]
    ['half-ones']
    >>> all_paths("ov", "aattc")[0].name
    'ov-aattc'
    """
    import networkx as nx

    graph = registry_graph()
    for problem in (source, target):
        if problem not in graph:
            raise ValueError(f"unknown problem {problem!r}; known problems: {', '.join(sorted(graph))}")
    if source == target:
        loops: dict[Hashable, dict[str, Any]] = graph.get_edge_data(source, source, default={})
        edge_paths = [[(source, source, key)] for key, data in loops.items() if not data.get("multi_instance")]
    else:
        single: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        single.add_nodes_from(graph.nodes)
        multi_instance: dict[Any, Any] = nx.get_edge_attributes(graph, "multi_instance")  # keyed (u, v, key)
        single.add_edges_from((u, v, k) for u, v, k in graph.edges(keys=True) if not multi_instance.get((u, v, k)))
        # on a multigraph each edge of a path is a (u, v, key) triple; the stubs type it as a pair
        edge_paths = cast(list[list[tuple[str, str, Hashable]]], list(nx.all_simple_edge_paths(single, source, target)))
    chains: list[Chain] = []
    for edge_path in edge_paths:
        steps = [graph.edges[u, v, key]["reduction"] for u, v, key in edge_path]
        chains.append(Chain.of(*_with_preparation(steps)))
    for reduction in _REDUCTIONS.values():
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
    load_plugins()
    for reduction in _REDUCTIONS.values():
        if isinstance(reduction, Chain) and reduction.source == source and reduction.target == target:
            return reduction
    chains = all_paths(source, target)
    if not chains:
        raise ValueError(f"no registered reduction path from {source!r} to {target!r}")
    return chains[0]


def _composite(reduction: Reduction) -> bool:
    """A chain, single-instance or through a family step (:class:`reductions.family.FamilyChain`)."""
    return isinstance(reduction, Chain) or len(reduction.steps) > 1
