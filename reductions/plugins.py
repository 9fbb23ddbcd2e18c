"""Plug-ins: problems, reductions and chains added by installed distributions.

A distribution declares, in its ``pyproject.toml``::

    [project.entry-points."reductions.plugins"]
    my-reductions = "my_package.plugin:register"

where ``register`` is a callable taking no arguments that registers through the
public API (:func:`reductions.register`, :func:`reductions.register_problem`).
The registries call every plug-in once, the first time one of them is
consulted. The built-in catalogue is itself the first plug-in
(``builtin = "reductions.catalog:register_builtins"``), so the framework
imports no catalogue module and a plug-in can build on the built-ins; the
others follow in the order of their names. A plug-in that fails to load or
raises gets one :class:`PluginWarning` naming it, issued once every plug-in has
been called, so the rest keep working (what the broken one registered before
it raised stays registered). ``docs/your-own-reduction.md`` shows a plug-in
from start to finish.

>>> from reductions.plugins import loaded_plugins
>>> from reductions.problems import problem_names
>>> "sat" in problem_names() and "builtin" in loaded_plugins()
True
"""

from __future__ import annotations

import warnings
from importlib.metadata import EntryPoint, entry_points

__all__ = ["ENTRY_POINT_GROUP", "BUILTIN", "PluginWarning", "load_plugins", "loaded_plugins", "reload_plugins"]

ENTRY_POINT_GROUP = "reductions.plugins"
BUILTIN = "builtin"
"""Name of the entry point that registers the built-in catalogue (loaded first)."""

_OWN_DISTRIBUTION = "reductions"


class PluginWarning(UserWarning):
    """A plug-in could not be loaded or raised while registering."""


_state = {"loaded": False}
_loaded_names: list[str] = []


def _ordered(found: list[EntryPoint]) -> list[EntryPoint]:
    """The built-in catalogue first, then the others by name (a stable order)."""

    def own(point: EntryPoint) -> bool:
        dist = getattr(point, "dist", None)
        return point.name == BUILTIN and (dist is None or dist.metadata["Name"] == _OWN_DISTRIBUTION)

    return sorted(found, key=lambda point: (not own(point), point.name, point.value))


def _warn(message: str) -> None:
    # Attributed to this module rather than to a source line: printed, it is one line on
    # standard error ("reductions.plugins:0: PluginWarning: ..."), whichever registry call
    # happened to load the plug-ins.
    warnings.warn_explicit(message, PluginWarning, filename=__name__, lineno=0, module=__name__)


def load_plugins() -> None:
    """Call every ``reductions.plugins`` entry point once (later calls return at once).

    Consultations of a registry made while plug-ins are loading see what has
    been registered so far, so a plug-in may look up the built-ins.
    """
    if _state["loaded"]:
        return
    _state["loaded"] = True
    points = _ordered(list(entry_points(group=ENTRY_POINT_GROUP)))
    problems: list[str] = []
    if not any(point.name == BUILTIN for point in points):
        problems.append(
            "the built-in catalogue is not registered: the 'reductions' distribution's entry points are "
            "missing (install the project, e.g. pip install -e .)"
        )
    seen: set[tuple[str, str]] = set()
    for point in points:
        if (point.name, point.value) in seen:  # one distribution found twice on sys.path
            continue
        seen.add((point.name, point.value))
        try:
            register = point.load()
            register()
        except Exception as error:  # a broken plug-in must not take the others down
            problems.append(f"plug-in {point.name!r} ({point.value}) failed: {type(error).__name__}: {error}")
            continue
        _loaded_names.append(point.name)
    # Warned only once every plug-in has loaded: where warnings are errors, the others still register.
    for message in problems:
        _warn(message)


def loaded_plugins() -> list[str]:
    """Names of the plug-ins that registered without error, in loading order."""
    load_plugins()
    return list(_loaded_names)


def reload_plugins() -> None:
    """Forget that plug-ins were loaded, so the next consultation loads them again.

    For tests and for a session that installed a distribution after start-up;
    registering the same objects again is harmless.
    """
    import importlib

    importlib.invalidate_caches()
    _state["loaded"] = False
    _loaded_names.clear()
