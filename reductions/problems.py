"""Problems as registered objects: what the registry, the verifier and the parameter maps need of each.

A :class:`Problem` names its size parameters (the symbols of every parameter
map that starts or ends at it), its instance type, a random generator, a
reference solver, an answer check and a source of valid answers for contract
tests. The framework lists no problem itself: the built-in catalogue and
plug-ins register theirs (:mod:`reductions.plugins`).

>>> get_problem("ov").parameters
('n_a', 'n_b', 'd')
>>> problem_symbols("sat")
{'v': v, 'm': m}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from reductions.plugins import load_plugins

__all__ = ["Problem", "register_problem", "unregister_problem", "get_problem", "problem_names", "problem_symbols"]


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


def _optional_tuple(value: Any) -> Any:
    return None if value is None else tuple(value)


def _parameter_names(value: Any) -> tuple[str, ...]:
    names = tuple(value)
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a problem parameter must be a Python identifier (got {name!r})")
    if len(set(names)) != len(names):
        raise ValueError(f"problem parameters must be distinct (got {names})")
    return names


@attrs.frozen
class Problem:
    """A problem as the registry and the verifier see it.

    Attributes
    ----------
    name : str
        Short name used on the command line (``sat``, ``ov``, ...).
    title : str
        Human-readable name.
    instance_type : type
        The instance class (it carries ``problem = name``).
    random_instance : callable ``(rng, size) -> instance``
        Small random instances for testing; ``size`` grows from 1.
    solve : callable ``(instance) -> answer``
        The reference solver.
    check : callable ``(instance, answer, reference) -> str | None``
        ``None`` when ``answer`` is a correct answer for ``instance``
        (``reference`` is the reference solver's answer), else the reason.
    witnesses : callable ``(instance, limit) -> list``
        Valid answers to map back in contract tests.
    parameters : tuple of str
        Names of the size parameters (``instance.parameters()`` gives their
        values); parameter maps use them as positive sympy symbols.
    oracles : mapping of str to callable
        Oracles that answer this problem's instances, by the name the command
        line uses; each is a factory called with the oracle's options
        (:func:`reductions.pipeline.make_oracle`). Empty for most problems.
    attention_shape : tuple of three str, or None
        For an attention problem: the parameters giving the number of queries,
        the number of keys and the head dimension (the sizes that time and
        memory predictions and the fine-grained implication read); None for
        other problems.

    Examples
    --------
    >>> Problem("pairs", "Pairs", tuple, None, len, None, None, parameters=("n",)).parameters
    ('n',)
    >>> get_problem("aattc").attention_shape, sorted(get_problem("aattc").oracles)[:2]
    (('n', 'n_keys', 'd'), ['anytemp', 'exact'])
    """

    name: str
    title: str
    instance_type: type
    random_instance: Callable[[Any, int], Any]
    solve: Callable[[Any], Any]
    check: Callable[[Any, Any, Any], str | None]
    witnesses: Callable[[Any, int], list[Any]]
    parameters: tuple[str, ...] = attrs.field(default=(), converter=_parameter_names)
    oracles: Mapping[str, Callable[..., Any]] = attrs.field(factory=dict, converter=_frozen_mapping, kw_only=True)
    attention_shape: tuple[str, str, str] | None = attrs.field(default=None, kw_only=True, converter=_optional_tuple)

    def __attrs_post_init__(self) -> None:
        shape = self.attention_shape
        if shape is not None and (len(shape) != 3 or any(name not in self.parameters for name in shape)):
            raise ValueError(
                f"attention_shape of {self.name!r} must name three of its parameters {self.parameters} "
                f"(queries, keys, head dimension); got {shape!r}"
            )


_PROBLEMS: dict[str, Problem] = {}


def register_problem(problem: Problem) -> Problem:
    """Register ``problem`` under its name; the same description again is a no-op.

    >>> toy = Problem("toy", "Toy problem", tuple, None, len, None, None, parameters=("n",))
    >>> register_problem(toy).name
    'toy'
    >>> unregister_problem("toy").title
    'Toy problem'
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"register_problem takes a Problem (got {type(problem).__name__})")
    existing = _PROBLEMS.get(problem.name)
    if existing is not None and existing != problem and _identity(existing) != _identity(problem):
        raise ValueError(f"a different problem is already registered as {problem.name!r}")
    _PROBLEMS[problem.name] = problem
    return problem


def _identity(problem: Problem) -> tuple[str, str, tuple[str, ...], str]:
    # Re-importing a catalogue module (as doctest collection may) makes new
    # function objects for the same description; compare what they describe.
    return (problem.title, problem.instance_type.__qualname__, problem.parameters, problem.solve.__qualname__)


def unregister_problem(name: str) -> Problem:
    """Remove and return the problem registered as ``name`` (see :func:`register_problem`)."""
    _loaded()
    try:
        return _PROBLEMS.pop(name)
    except KeyError:
        raise ValueError(f"unknown problem {name!r}; known problems: {', '.join(sorted(_PROBLEMS))}") from None


def get_problem(name: str) -> Problem:
    """The registered problem called ``name``.

    >>> get_problem("ov").title
    'Orthogonal Vectors'
    >>> get_problem("tsp")
    Traceback (most recent call last):
    ...
    ValueError: unknown problem 'tsp'; known problems: aattc, gapann, ...
    """
    problems = _loaded()
    try:
        return problems[name]
    except KeyError:
        raise ValueError(f"unknown problem {name!r}; known problems: {', '.join(sorted(problems))}") from None


def problem_names() -> list[str]:
    """Registered problem names, in registration order.

    >>> problem_names()[:4]
    ['sat', 'ov', 'gapann', 'aattc']
    """
    return list(_loaded())


def problem_symbols(problem: str) -> dict[str, Any]:
    """The sympy symbols naming ``problem``'s size parameters (positive symbols).

    >>> problem_symbols("gapann")
    {'n_a': n_a, 'n_b': n_b, 'd': d, 't': t, 'eps': eps}
    """
    import sympy

    return {name: sympy.Symbol(name, positive=True) for name in get_problem(problem).parameters}


def _loaded() -> dict[str, Problem]:
    load_plugins()
    return _PROBLEMS
