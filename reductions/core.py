"""The reduction protocol, reduced-instance records, parameter maps and chains.

A reduction maps instances of a *source* problem to instances of a *target*
problem (``forward``) and maps answers of the target back to answers of the
source (``backward``). Its ``parameters()`` states the target's size
parameters as sympy expressions of the source's, so chains can be printed
symbolically and checked against the sizes they actually produce.
"""

from __future__ import annotations

import abc
import functools
import math
import numbers
import time
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import sympy

from instances import display
from instances.errors import IncompatibleReductionError
from reductions.problems import problem_symbols

__all__ = ["Reduction", "Reduced", "ParameterMap", "Chain", "Stage", "json_numbers", "problem_symbols"]


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen
class ParameterMap:
    """Target parameters as sympy expressions of the source parameters.

    ``free`` lists symbols that are not sizes of the source but chosen per
    instance (for example the inverse temperature ``beta`` in certified mode);
    their values are recorded in each :class:`Reduced`'s ``info``.

    Examples
    --------
    >>> import sympy
    >>> v, m = sympy.symbols("v m", positive=True)
    >>> pm = ParameterMap("sat", "ov", {"n_a": 2 ** sympy.ceiling(v / 2), "n_b": 2 ** sympy.floor(v / 2), "d": m})
    >>> pm.evaluate({"v": 5, "m": 7})
    {'n_a': 8, 'n_b': 4, 'd': 7}
    """

    source: str
    target: str
    outputs: Mapping[str, sympy.Expr] = attrs.field(converter=_frozen_mapping)
    free: tuple[str, ...] = ()

    def evaluate(
        self, source_values: Mapping[str, Any], free_values: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Numbers for the target parameters, given the source's (and the free ones')."""
        substitutions = {sympy.Symbol(k, positive=True): _to_sympy(v) for k, v in source_values.items()}
        for name, value in (free_values or {}).items():
            if value is not None:  # a free symbol the chosen branch does not use
                substitutions[sympy.Symbol(name, positive=True)] = _to_sympy(value)
        result: dict[str, Any] = {}
        for name, expression in self.outputs.items():
            value = sympy.sympify(expression).subs(substitutions)
            result[name] = _to_python_number(value)
        return result

    def then(self, following: ParameterMap) -> ParameterMap:
        """Compose: substitute this map's outputs into ``following``'s expressions.

        >>> import sympy
        >>> n, d = sympy.symbols("n d", positive=True)
        >>> first = ParameterMap("x", "y", {"n": 2 * n, "d": d + 1})
        >>> second = ParameterMap("y", "z", {"n": n ** 2, "d": 3 * d})
        >>> dict(first.then(second).outputs)
        {'n': 4*n**2, 'd': 3*d + 3}
        """
        substitutions = {sympy.Symbol(k, positive=True): v for k, v in self.outputs.items()}
        outputs = {
            name: sympy.sympify(expr).subs(substitutions, simultaneous=True) for name, expr in following.outputs.items()
        }
        free = tuple(dict.fromkeys(self.free + following.free))
        return ParameterMap(self.source, following.target, outputs, free)

    def pretty(self) -> str:
        """One line per target parameter, e.g. ``d = 3*m``."""
        return "\n".join(f"{name} = {sympy.sstr(expr)}" for name, expr in self.outputs.items())

    def _repr_html_(self) -> str:
        """Notebook display: one row per target parameter, as a formula (LaTeX) and as plain text.

        >>> import sympy
        >>> m = sympy.Symbol("m", positive=True)
        >>> "<td>$d = 3 m$</td><td>d = 3*m</td>" in ParameterMap("sat", "ov", {"d": 3 * m})._repr_html_()
        True
        """
        rows = []
        for name, expression in self.outputs.items():
            plain = f"{name} = {sympy.sstr(expression)}"
            try:
                latex: str | None = f"{sympy.latex(sympy.Symbol(name))} = {sympy.latex(expression)}"
            except Exception:  # a display must not raise: the plain text stays
                latex = None
            rows.append((name, latex, plain))
        free = (
            f"<p>chosen per instance: {display.escape(display.shorten(', '.join(self.free)))}</p>" if self.free else ""
        )
        return display.html_block(f"Parameter map: {self.source} -> {self.target}", display.formula_table(rows), free)


def _to_sympy(value: Any) -> sympy.Basic:
    """Exact sympy numbers for ints and fractions, floats kept as floats."""
    if isinstance(value, float):
        return sympy.Float(value)
    if hasattr(value, "numerator") and hasattr(value, "denominator"):
        return sympy.Rational(int(value.numerator), int(value.denominator))
    return sympy.sympify(value)


def _to_python_number(value: sympy.Basic) -> Any:
    if value.free_symbols:
        return value
    if value.is_Integer:
        return int(value)
    if value.is_Rational:
        from fractions import Fraction

        return Fraction(int(value.p), int(value.q))
    return float(value)


@attrs.frozen
class Stage:
    """One step of a forward run, as a trace records it.

    ``sizes`` are the target instance's parameters; ``info`` holds the choices
    the step made (branch taken, beta, threshold, ...).
    """

    name: str
    source: str
    target: str
    sizes: Mapping[str, Any] = attrs.field(converter=_frozen_mapping)
    info: Mapping[str, Any] = attrs.field(converter=_frozen_mapping)
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """JSON form: numbers as JSON numbers, with an exact string beside where one is lost.

        A fraction ``1/92`` becomes ``"eps": 0.01086..., "eps_exact": "1/92"``; an
        integral one is an int; a non-finite float is ``null`` with ``"<name>_exact": "-inf"``.

        >>> from fractions import Fraction
        >>> stage = Stage("ov-gapann", "ov", "gapann", {"t": Fraction(92), "eps": Fraction(1, 92)}, {"log_upper": float("-inf")}, 0.5)
        >>> d = stage.as_dict()
        >>> d["sizes"]
        {'t': 92, 'eps': 0.010869565217391304, 'eps_exact': '1/92'}
        >>> d["info"]
        {'log_upper': None, 'log_upper_exact': '-inf'}
        """
        return {
            "name": self.name,
            "source": self.source,
            "target": self.target,
            "sizes": json_numbers(self.sizes),
            "info": json_numbers(self.info),
            "seconds": self.seconds,
        }


def json_numbers(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``mapping`` with JSON numbers for its numbers, and ``<key>_exact`` strings where a number is not exact.

    >>> from fractions import Fraction
    >>> json_numbers({"beta": 12.5, "t": Fraction(4, 2), "split": "2+1", "n": 8})
    {'beta': 12.5, 't': 2, 'split': '2+1', 'n': 8}
    """
    result: dict[str, Any] = {}
    for key, value in mapping.items():
        number, exact = _jsonable(value)
        result[key] = number
        if exact is not None:
            result[f"{key}_exact"] = exact
    return result


def _jsonable(value: Any) -> tuple[Any, str | None]:
    """``(JSON value, exact string or None)`` for one trace entry."""
    if value is None or isinstance(value, (bool, str)):
        return value, None
    if isinstance(value, numbers.Integral):
        return int(value), None
    if isinstance(value, numbers.Rational):
        if value.denominator == 1:
            return int(value.numerator), None
        return float(value), f"{value.numerator}/{value.denominator}"
    if isinstance(value, sympy.Basic) and not value.free_symbols:
        number = _to_python_number(value)
        return _jsonable(number) if not isinstance(number, sympy.Basic) else (None, str(value))
    if isinstance(value, numbers.Real) or (hasattr(value, "item") and callable(value.item)):
        number = value.item() if hasattr(value, "item") else value
        if isinstance(number, (bool, int)):
            return number, None
        number = float(number)
        return (number, None) if math.isfinite(number) else (None, str(number))
    return str(value), None


@attrs.frozen(eq=False)
class Reduced:
    """What ``forward`` returns: the target instance plus what ``backward`` needs.

    Attributes
    ----------
    reduction : Reduction
        The reduction that produced this record.
    source, target : instance
        The source instance and the instance it was mapped to.
    decoding : Mapping
        Data the backward map needs (index maps, thresholds, ...).
    info : Mapping
        Choices made on this instance (branch, beta, ...), shown in traces and
        giving values of the parameter map's free symbols.
    parts : tuple of Reduced
        For a chain, the record of each step, in order.
    seconds : float
        Wall time of the forward map.
    """

    reduction: Reduction
    source: Any
    target: Any
    decoding: Mapping[str, Any] = attrs.field(converter=_frozen_mapping, factory=dict)
    info: Mapping[str, Any] = attrs.field(converter=_frozen_mapping, factory=dict)
    parts: tuple[Reduced, ...] = ()
    seconds: float = 0.0

    def stages(self) -> tuple[Stage, ...]:
        """The trace: one :class:`Stage` per elementary step."""
        if self.parts:
            return tuple(stage for part in self.parts for stage in part.stages())
        return (
            Stage(
                name=self.reduction.name,
                source=self.reduction.source,
                target=self.reduction.target,
                sizes=self.target.parameters(),
                info=self.info,
                seconds=self.seconds,
            ),
        )

    def backward(self, answer: Any) -> Any:
        """Shorthand for ``self.reduction.backward(self, answer)``."""
        return self.reduction.backward(self, answer)

    def _repr_html_(self) -> str:
        """Notebook display: the reduction, the forward time, and each stage with its sizes.

        >>> from instances import CNF
        >>> from reductions.catalog.sat_ov import SatToOV
        >>> html = SatToOV().forward(CNF(2, [[1, -2]]))._repr_html_()
        >>> "<td>sat-ov</td><td>sat -&gt; ov</td><td>n_a=2, n_b=2, d=1</td>" in html
        True
        """
        name, source, target = self.reduction.name, self.reduction.source, self.reduction.target
        return display.html_block(
            f"Reduced by {name}: {source} -> {target}",
            display.key_value_table({"forward seconds": f"{self.seconds:.3f}", "target": repr(self.target)}),
            display.stage_table(self.stages()),
        )


@attrs.frozen
class Reduction(abc.ABC):
    """Base class of every reduction.

    Subclasses set the class variables ``name``, ``source`` and ``target``
    (problem names such as ``"sat"``), hold only options as attrs fields, and
    implement :meth:`_forward`, :meth:`backward` and :meth:`parameters`.
    ``a >> b`` composes into a :class:`Chain`.
    """

    if TYPE_CHECKING:
        # Read-only to the type checker: a step sets class constants, a Chain computes them from its parts.
        @property
        def name(self) -> str: ...
        @property
        def source(self) -> str: ...
        @property
        def target(self) -> str: ...
    else:
        name: ClassVar[str]
        source: ClassVar[str]
        target: ClassVar[str]

    def forward(self, instance: Any) -> Reduced:
        """Map a source instance to a :class:`Reduced` record holding the target instance."""
        problem = getattr(instance, "problem", None)
        if problem != self.source:
            raise IncompatibleReductionError(
                f"{self.name} reduces {self.source!r} instances, got a {type(instance).__name__} ({problem!r})"
            )
        start = time.perf_counter()
        target, decoding, info = self._forward(instance)
        return Reduced(self, instance, target, decoding, info, seconds=time.perf_counter() - start)

    @abc.abstractmethod
    def _forward(self, instance: Any) -> tuple[Any, Mapping[str, Any], Mapping[str, Any]]:
        """Return ``(target instance, decoding data, info)``."""

    @abc.abstractmethod
    def backward(self, reduced: Reduced, answer: Any) -> Any:
        """Map an answer for ``reduced.target`` to an answer for ``reduced.source``."""

    @abc.abstractmethod
    def parameters(self) -> ParameterMap:
        """Target size parameters as sympy expressions of the source's."""

    def __rshift__(self, other: Reduction) -> Chain:
        if getattr(other, "multi_instance", False):
            return NotImplemented  # a family step composes itself (reductions.family.FamilyChain)
        return Chain.of(self, other)

    @property
    def steps(self) -> tuple[Reduction, ...]:
        """The elementary reductions this one is made of (itself, for a single step)."""
        return (self,)


def _reduction_tuple(parts: Iterable[Reduction]) -> tuple[Reduction, ...]:
    return tuple(parts)


@attrs.frozen
class Chain(Reduction):
    """A composite reduction: forward maps left to right, backward maps right
    to left, parameter maps by substitution.

    Building one checks that each step's target is the next step's source.

    Examples
    --------
    >>> from reductions.catalog.sat_ov import SatToOV
    >>> chain = Chain.of(SatToOV())
    >>> chain.name, chain.source, chain.target
    ('sat-ov', 'sat', 'ov')
    >>> SatToOV() >> SatToOV()
    Traceback (most recent call last):
    ...
    instances.errors.IncompatibleReductionError: cannot compose sat-ov (sat -> ov) with sat-ov (sat -> ov): 'ov' is not 'sat'
    """

    parts: tuple[Reduction, ...] = attrs.field(converter=_reduction_tuple)
    label: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.parts:
            raise ValueError("'parts' must hold at least one reduction")
        for part in self.parts:
            if getattr(part, "multi_instance", False):
                raise IncompatibleReductionError(
                    f"{part.name} yields many instances: compose it with reductions.family.FamilyChain "
                    "(or with >>), not with Chain"
                )
        for left, right in zip(self.parts, self.parts[1:], strict=False):
            if left.target != right.source:
                raise IncompatibleReductionError(
                    f"cannot compose {left.name} ({left.source} -> {left.target}) with "
                    f"{right.name} ({right.source} -> {right.target}): {left.target!r} is not {right.source!r}"
                )

    @classmethod
    def of(cls, *reductions: Reduction, label: str | None = None) -> Chain:
        """Chain the given reductions, flattening nested chains."""
        flat: list[Reduction] = []
        for reduction in reductions:
            flat.extend(reduction.parts if isinstance(reduction, Chain) else (reduction,))
        return cls(tuple(flat), label)

    @property
    def name(self) -> str:
        return self.label or " >> ".join(part.name for part in self.parts)

    @property
    def source(self) -> str:
        return self.parts[0].source

    @property
    def target(self) -> str:
        return self.parts[-1].target

    @property
    def steps(self) -> tuple[Reduction, ...]:
        return self.parts

    def _forward(self, instance: Any) -> tuple[Any, Mapping[str, Any], Mapping[str, Any]]:
        raise AssertionError("Chain.forward does not use _forward")

    def forward(self, instance: Any) -> Reduced:
        start = time.perf_counter()
        records: list[Reduced] = []
        current = instance
        for part in self.parts:
            record = part.forward(current)
            records.append(record)
            current = record.target
        info: dict[str, Any] = {}
        for record in records:
            info.update(record.info)
        return Reduced(self, instance, current, {}, info, tuple(records), time.perf_counter() - start)

    def backward(self, reduced: Reduced, answer: Any) -> Any:
        for record in reversed(reduced.parts):
            answer = record.reduction.backward(record, answer)
        return answer

    def parameters(self) -> ParameterMap:
        return _composed_parameters(self.parts)

    def _repr_html_(self) -> str:
        """Notebook display: the path, each step's problems and sizes, and the composed parameter map.

        >>> from reductions.catalog.chains import attention_chain
        >>> html = attention_chain()._repr_html_()
        >>> "sat -&gt; ov -&gt; gapann -&gt; gapann -&gt; aattc" in html, "<td>half-ones</td>" in html
        (True, True)
        """
        path = " -> ".join([self.parts[0].source, *(part.target for part in self.parts)])
        rows = [
            (index, part.name, part.source, part.target, _sizes_text(part)) for index, part in enumerate(self.parts)
        ]
        steps = display.html_table(
            ("#", "reduction", "source", "target", "target sizes"), rows, caption=path, limit=4 * display.MAX_TEXT
        )
        try:
            composed = self.parameters()._repr_html_()
        except Exception as err:  # a display must not raise; say why the map is missing
            composed = f"<p>{display.escape(display.shorten(f'no parameter map: {type(err).__name__}: {err}'))}</p>"
        return display.html_block(f"Chain {self.name}: {self.source} -> {self.target}", steps, composed)


def _sizes_text(reduction: Reduction) -> str:
    try:
        outputs = reduction.parameters().outputs
    except Exception as err:  # shown in a display, which must not raise
        return f"unavailable ({type(err).__name__}: {err})"
    return "; ".join(display.shorten(f"{name} = {sympy.sstr(expression)}") for name, expression in outputs.items())


@functools.lru_cache(maxsize=64)
def _composed_parameters(parts: tuple[Reduction, ...]) -> ParameterMap:
    """Compose once per distinct chain: sympy substitution is slow to repeat per instance."""
    composed = parts[0].parameters()
    for part in parts[1:]:
        composed = composed.then(part.parameters())
    return composed
