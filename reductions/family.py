"""Reductions to many instances (Turing reductions with non-adaptive queries).

A :class:`FamilyReduction` maps one source instance to a *family* of target
instances, all of the same problem, and maps the list of **all** their
answers back to one source answer. Its ``forward`` returns a
:class:`ReducedFamily`: ``targets`` holds the members (``target`` is the same
tuple), ``decoding`` what ``backward`` needs. ``parameters()`` states the
sizes every member has, as for a single-instance reduction, and
``family_size()`` the number of members, as a sympy expression of the
source's parameters (and of the free symbols of ``parameters()``).

Composition (:class:`FamilyChain`): single-instance steps before the family
step run once; single-instance steps after it run on **each** member, and
their backward maps run on each member's answer before the family step's
backward reads them all. ``a >> family``, ``family >> b`` and
``FamilyChain.of(a, family, b, c)`` all build one; a plain :class:`Chain`
refuses a family step. A chain holds at most one family step.

The contract checks of :mod:`reductions.testing` (and so
:func:`reductions.verify.verify_reduction`) recognise a family reduction by its
``multi_instance`` flag: every member is solved by the target's reference
solver and the list of answers mapped back; every valid answer of each member,
with the reference answers for the others, maps back to a valid source answer;
the declared sizes match every member and ``family_size()`` the number of
members; two forward runs give equal families.

>>> from instances.vectors import OVInstance
>>> class Twice(FamilyReduction):  # a toy: two copies of the instance; answer = the first answer
...     name, source, target = "twice", "ov", "ov"
...     def _forward(self, instance):
...         return (instance, instance), {}, {}
...     def backward(self, reduced, answers):
...         return self.check_answers(reduced, answers)[0]
...     def parameters(self):
...         return ParameterMap("ov", "ov", problem_symbols("ov"))
...     def family_size(self):
...         return sympy.Integer(2)
>>> family = Twice().forward(OVInstance([[1, 0]], [[0, 1]]))
>>> len(family.targets), family.backward(["first", "second"])
(2, 'first')
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import attrs
import sympy

from instances.errors import IncompatibleReductionError, NotAWitnessError
from reductions.core import Chain, ParameterMap, Reduced, Reduction, Stage, problem_symbols

__all__ = ["FamilyReduction", "ReducedFamily", "FamilyChain", "is_family", "answer_members", "problem_symbols"]


def is_family(reduction: Any) -> bool:
    """Whether ``reduction`` maps one instance to many (it carries ``multi_instance = True``).

    >>> from reductions.catalog.sat_ov import SatToOV
    >>> is_family(SatToOV())
    False
    """
    return bool(getattr(reduction, "multi_instance", False))


@attrs.frozen(eq=False)
class ReducedFamily(Reduced):
    """What a family reduction's ``forward`` returns.

    Attributes
    ----------
    targets : tuple
        The member instances (``target`` is the same tuple).
    member_info : tuple of Mapping
        Per member, the choices made on it (the family step's ``info`` merged
        with that of the steps run on the member); the values of the
        parameter map's free symbols for that member.
    members : tuple of Reduced
        In a :class:`FamilyChain`, the record of the steps after the family
        step, one per member; ``parts`` holds the records of the steps before
        it and of the family step itself.

    Examples
    --------
    >>> ReducedFamily(None, "x", ("y", "z")).count
    2
    """

    member_info: tuple[Mapping[str, Any], ...] = ()
    members: tuple[Reduced, ...] = ()

    @property
    def targets(self) -> tuple[Any, ...]:
        """The member instances, in order."""
        return tuple(self.target)

    @property
    def count(self) -> int:
        """The number of members."""
        return len(self.target)

    def info_of(self, index: int) -> Mapping[str, Any]:
        """The choices made on member ``index`` (the family's ``info`` when no per-member record exists)."""
        return self.member_info[index] if self.member_info else self.info

    def stages(self) -> tuple[Stage, ...]:
        """The trace: the steps before the family step, the family step (sizes of member 0 and
        ``members``), then the steps run on member 0."""
        if self.parts:
            head: tuple[Stage, ...] = tuple(stage for part in self.parts for stage in part.stages())
        else:
            first = self.targets[0].parameters() if self.count else {}
            head = (
                Stage(
                    self.reduction.name,
                    self.reduction.source,
                    self.reduction.target,
                    {**first, "members": self.count},
                    self.info,
                    self.seconds,
                ),
            )
        return head + (self.members[0].stages() if self.members else ())


@attrs.frozen
class FamilyReduction(Reduction):
    """Base class of reductions whose forward map yields many target instances.

    Subclasses implement ``_forward`` returning ``(tuple of targets, decoding,
    info)``, ``backward(reduced, answers)`` reading one answer per member (in
    order), ``parameters()`` (the sizes of every member) and
    ``family_size()`` (the number of members).
    """

    multi_instance: ClassVar[bool] = True

    def forward(self, instance: Any) -> ReducedFamily:
        """Map a source instance to a :class:`ReducedFamily` holding every member."""
        problem = getattr(instance, "problem", None)
        if problem != self.source:
            raise IncompatibleReductionError(
                f"{self.name} reduces {self.source!r} instances, got a {type(instance).__name__} ({problem!r})"
            )
        start = time.perf_counter()
        targets, decoding, info = self._forward(instance)
        return ReducedFamily(self, instance, tuple(targets), decoding, info, seconds=time.perf_counter() - start)

    @abc.abstractmethod
    def backward(self, reduced: Reduced, answer: Any) -> Any:
        """Map the list of member answers (one per member, in order) to a source answer."""

    @abc.abstractmethod
    def family_size(self) -> sympy.Expr:
        """The number of members as a sympy expression of the source parameters (and free symbols)."""

    @staticmethod
    def check_answers(reduced: Reduced, answers: Any) -> list[Any]:
        """``answers`` as a list, refused in one line unless it holds one answer per member.

        >>> FamilyReduction.check_answers(ReducedFamily(None, "x", ("y", "z")), ["a"])
        Traceback (most recent call last):
        ...
        instances.errors.NotAWitnessError: 1 answers for a family of 2 instances: one answer per member is needed
        """
        if isinstance(answers, (str, bytes)) or not isinstance(answers, Sequence):
            raise NotAWitnessError(f"a family reduction reads a list of answers (got {type(answers).__name__})")
        count = len(reduced.target)
        if len(answers) != count:
            raise NotAWitnessError(
                f"{len(answers)} answers for a family of {count} instances: one answer per member is needed"
            )
        return list(answers)

    def __rshift__(self, other: Reduction) -> FamilyChain:  # type: ignore[override]
        return FamilyChain.of(self, other)

    def __rrshift__(self, other: Reduction) -> FamilyChain:  # type: ignore[misc]
        return FamilyChain.of(other, self)


def _steps(value: Iterable[Reduction]) -> tuple[Reduction, ...]:
    return tuple(value)


@attrs.frozen
class FamilyChain(FamilyReduction):
    """Single-instance steps, one family step, single-instance steps applied to each member.

    Examples
    --------
    >>> from reductions.catalog.sat_ov import SatToOV
    >>> from reductions.catalog.ov_gapann_pcp import OVToGapANNPCP
    >>> from reductions.catalog.half_ones import HalfOnesPadding
    >>> chain = SatToOV() >> OVToGapANNPCP() >> HalfOnesPadding()
    >>> type(chain).__name__, chain.name
    ('FamilyChain', 'sat-ov >> ov-gapann-pcp >> half-ones')
    >>> [step.name for step in chain.steps]
    ['sat-ov', 'ov-gapann-pcp', 'half-ones']
    """

    before: tuple[Reduction, ...] = attrs.field(converter=_steps)
    head: FamilyReduction
    after: tuple[Reduction, ...] = attrs.field(converter=_steps)
    label: str | None = None
    random_source: Callable[[Any, int], Any] | None = attrs.field(default=None, eq=False, repr=False)
    """Source instances for :func:`reductions.verify.verify_reduction` (``(rng, size) -> instance``);
    ``None``: the source problem's generator."""

    def __attrs_post_init__(self) -> None:
        extra = [step.name for step in (*self.before, *self.after) if is_family(step)]
        if extra:
            raise IncompatibleReductionError(
                f"a chain holds at most one family step ({self.head.name}, {', '.join(extra)}): "
                "a family of families is not modelled"
            )
        sequence: tuple[Any, ...] = (*self.before, self.head, *self.after)
        for left, right in zip(sequence, sequence[1:], strict=False):
            if left.target != right.source:
                raise IncompatibleReductionError(
                    f"cannot compose {left.name} ({left.source} -> {left.target}) with "
                    f"{right.name} ({right.source} -> {right.target}): {left.target!r} is not {right.source!r}"
                )

    @classmethod
    def of(
        cls,
        *reductions: Reduction,
        label: str | None = None,
        random_source: Callable[[Any, int], Any] | None = None,
    ) -> FamilyChain:
        """Chain the given steps (nested chains are flattened); exactly one must be a family step.

        >>> from reductions.catalog.sat_ov import SatToOV
        >>> FamilyChain.of(SatToOV())
        Traceback (most recent call last):
        ...
        instances.errors.IncompatibleReductionError: a FamilyChain needs exactly one family step (got 0 among sat-ov)
        """
        flat: list[Reduction] = []
        for reduction in reductions:
            if isinstance(reduction, FamilyChain):
                flat.extend((*reduction.before, reduction.head, *reduction.after))
            elif isinstance(reduction, Chain):
                flat.extend(reduction.parts)
            else:
                flat.append(reduction)
        heads = [index for index, step in enumerate(flat) if is_family(step)]
        if len(heads) != 1:
            names = ", ".join(step.name for step in flat)
            raise IncompatibleReductionError(
                f"a FamilyChain needs exactly one family step (got {len(heads)} among {names})"
            )
        index = heads[0]
        head = flat[index]
        assert isinstance(head, FamilyReduction)
        return cls(tuple(flat[:index]), head, tuple(flat[index + 1 :]), label, random_source)

    @property
    def name(self) -> str:
        return self.label or " >> ".join(step.name for step in self.steps)

    @property
    def source(self) -> str:
        return self.steps[0].source

    @property
    def target(self) -> str:
        return self.steps[-1].target

    @property
    def steps(self) -> tuple[Reduction, ...]:
        return (*self.before, self.head, *self.after)

    @property
    def parts(self) -> tuple[Reduction, ...]:
        """Refused in one line: code written for a single-instance :class:`Chain` (one oracle call on
        one final instance) cannot run a family; use ``steps``, or :func:`answer_members`."""
        raise IncompatibleReductionError(
            f"{self.name} goes through the reduction to many instances {self.head.name} "
            f"({self.head.family_size()} instances): it needs one answer per instance "
            "(reductions.family.answer_members), not a single-instance chain's one oracle call"
        )

    def _forward(self, instance: Any) -> tuple[Any, Mapping[str, Any], Mapping[str, Any]]:
        raise AssertionError("FamilyChain.forward does not use _forward")

    def forward(self, instance: Any) -> ReducedFamily:
        start = time.perf_counter()
        parts: list[Reduced] = []
        current = instance
        if self.before:
            first = Chain.of(*self.before).forward(instance)
            parts.append(first)
            current = first.target
        else:
            problem = getattr(instance, "problem", None)
            if problem != self.source:
                raise IncompatibleReductionError(
                    f"{self.name} reduces {self.source!r} instances, got a {type(instance).__name__} ({problem!r})"
                )
        family = self.head.forward(current)
        parts.append(family)
        info: dict[str, Any] = {}
        for part in parts:
            info.update(part.info)
        if not self.after:
            member_info = tuple(dict(info) for _ in family.targets)
            return ReducedFamily(
                self, instance, family.targets, {}, info, tuple(parts), time.perf_counter() - start, member_info
            )
        tail = Chain.of(*self.after)
        members = tuple(tail.forward(target) for target in family.targets)
        member_info = tuple({**info, **member.info} for member in members)
        if members:
            info.update(members[0].info)
        return ReducedFamily(
            self,
            instance,
            tuple(member.target for member in members),
            {},
            info,
            tuple(parts),
            time.perf_counter() - start,
            member_info,
            members,
        )

    def backward(self, reduced: Reduced, answer: Any) -> Any:
        """Each member's answer back through the steps after the family step, all of them through
        the family step, the result back through the steps before it."""
        assert isinstance(reduced, ReducedFamily)
        answers = self.check_answers(reduced, answer)
        if reduced.members:
            answers = [member.reduction.backward(member, a) for member, a in zip(reduced.members, answers, strict=True)]
        family = reduced.parts[-1]
        result = family.reduction.backward(family, answers)
        if len(reduced.parts) == 2:
            result = reduced.parts[0].reduction.backward(reduced.parts[0], result)
        return result

    def parameters(self) -> ParameterMap:
        composed = _compose((*self.before, self.head, *self.after))
        return ParameterMap(self.source, self.target, composed.outputs, composed.free)

    def family_size(self) -> sympy.Expr:
        return self.in_source_sizes(self.head.family_size())

    def in_source_sizes(self, expression: Any) -> sympy.Expr:
        """``expression``, written in the family step's source sizes, rewritten in the chain's source sizes.

        >>> from reductions.registry import get_reduction
        >>> get_reduction("sat-aattc-pcp").in_source_sizes(sympy.Symbol("d", positive=True) + 1)
        m + 1
        """
        expression = sympy.sympify(expression)
        if not self.before:
            return expression
        substitutions = {sympy.Symbol(k, positive=True): v for k, v in _compose(self.before).outputs.items()}
        return expression.subs(substitutions, simultaneous=True)


def _compose(steps: Sequence[Reduction]) -> ParameterMap:
    composed = steps[0].parameters()
    for step in steps[1:]:
        composed = composed.then(step.parameters())
    return composed


def answer_members(reduced: ReducedFamily, oracle: Callable[[Any], Any]) -> list[Any]:
    """One answer per member, for ``backward``: ``oracle(member)`` on each member's final instance,
    or ``None`` for a member whose last step says it needs no oracle (its ``needs_oracle(record)``
    is false, as on Lemma 4.7's Hamming-ball branch).

    >>> from instances import CNF
    >>> from reductions.catalog.chains import pcp_attention_chain
    >>> from solvers.attention.exact import ExactAttention
    >>> chain = pcp_attention_chain()
    >>> family = chain.forward(CNF(3, [[1, -2], [2, 3]]))
    >>> answers = answer_members(family, lambda target: ExactAttention()(target, log_space=True))
    >>> len(answers), chain.backward(family, answers).to_literals()
    (25, (1, 2, -3))
    """
    records: Sequence[Reduced | None] = reduced.members or [None] * reduced.count
    answers: list[Any] = []
    for target, record in zip(reduced.targets, records, strict=True):
        last = record.parts[-1] if record is not None and record.parts else record
        needs_oracle = getattr(last.reduction, "needs_oracle", None) if last is not None else None
        answers.append(oracle(target) if needs_oracle is None or needs_oracle(last) else None)
    return answers
