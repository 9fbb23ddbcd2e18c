"""Public contract checks that every reduction must pass.

Use them in your own test suite when you add a reduction::

    from reductions.testing import assert_reduction_sound
    assert_reduction_sound(MyReduction(), some_instance)

The four checks: (1) the answer is preserved against reference solvers,
(2) every valid target witness maps back to a valid source answer, (3) the
declared parameter map matches the sizes actually produced, and (4) the
forward map is deterministic.

A reduction to many instances (:mod:`reductions.family`) is checked member by
member: every member is solved and the list of answers mapped back; each
member's valid answers, with the reference answers of the others, map back;
the declared sizes match every member and ``family_size()`` their number; two
forward runs give equal families.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from reductions.core import Reduced, Reduction
from reductions.family import ReducedFamily, is_family
from reductions.problems import get_problem

__all__ = [
    "ContractViolation",
    "assert_answer_preserved",
    "assert_witnesses_map_back",
    "assert_parameters_match",
    "assert_forward_deterministic",
    "assert_reduction_sound",
    "CONTRACT_CHECKS",
    "contract_instances",
]


class ContractViolation(AssertionError):
    """A reduction broke its contract on a concrete instance."""


def _reduced(reduction: Reduction, instance: Any, reduced: Reduced | None) -> Reduced:
    return reduced if reduced is not None else reduction.forward(instance)


def assert_answer_preserved(reduction: Reduction, instance: Any, reduced: Reduced | None = None) -> None:
    """Solve the target with its reference solver, map back, and compare with
    the source's reference solver.

    >>> from instances import CNF
    >>> from reductions.catalog.sat_ov import SatToOV
    >>> assert_answer_preserved(SatToOV(), CNF(2, [[1, 2], [-1]]))
    """
    reduced = _reduced(reduction, instance, reduced)
    source_problem, target_problem = get_problem(reduction.source), get_problem(reduction.target)
    reference = source_problem.solve(instance)
    if is_family(reduction):
        answer = reduction.backward(reduced, [target_problem.solve(member) for member in reduced.target])
    else:
        answer = reduction.backward(reduced, target_problem.solve(reduced.target))
    problem = source_problem.check(instance, answer, reference)
    if problem is not None:
        raise ContractViolation(f"{reduction.name}: answer not preserved: {problem}")


def assert_witnesses_map_back(
    reduction: Reduction, instance: Any, reduced: Reduced | None = None, *, limit: int = 16
) -> None:
    """Every valid target answer (up to ``limit`` of them) maps back to a valid source answer.

    >>> from instances import CNF
    >>> from reductions.catalog.sat_ov import SatToOV
    >>> assert_witnesses_map_back(SatToOV(), CNF(3, [[1, 2], [-3]]))
    """
    reduced = _reduced(reduction, instance, reduced)
    source_problem, target_problem = get_problem(reduction.source), get_problem(reduction.target)
    reference = source_problem.solve(instance)
    if is_family(reduction):
        _family_witnesses_map_back(reduction, instance, reduced, limit, reference)
        return
    for witness in target_problem.witnesses(reduced.target, limit):
        answer = reduction.backward(reduced, witness)
        problem = source_problem.check(instance, answer, reference)
        if problem is not None:
            raise ContractViolation(f"{reduction.name}: target answer {witness!r} maps back wrongly: {problem}")


def _family_witnesses_map_back(
    reduction: Reduction, instance: Any, reduced: Reduced, limit: int, reference: Any
) -> None:
    """Member by member: each valid answer of that member (up to ``limit`` in all), the others answered
    by the reference solver, maps back to a valid source answer."""
    source_problem, target_problem = get_problem(reduction.source), get_problem(reduction.target)
    members = list(reduced.target)
    exact = [target_problem.solve(member) for member in members]
    tried = 0
    for index, member in enumerate(members):
        for witness in target_problem.witnesses(member, limit):
            if tried >= limit:
                return
            tried += 1
            answers = exact[:index] + [witness] + exact[index + 1 :]
            problem = source_problem.check(instance, reduction.backward(reduced, answers), reference)
            if problem is not None:
                raise ContractViolation(
                    f"{reduction.name}: answer {witness!r} of member {index} maps back wrongly: {problem}"
                )


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, float) or isinstance(right, float):
        return bool(np.isclose(float(left), float(right), rtol=1e-9, atol=0))
    return bool(left == right)


def assert_parameters_match(reduction: Reduction, instance: Any, reduced: Reduced | None = None) -> None:
    """The declared parameter map, evaluated on the source's sizes, gives the
    target's actual sizes (free symbols take the values recorded in ``info``).

    >>> from instances import CNF
    >>> from reductions.catalog.sat_ov import SatToOV
    >>> assert_parameters_match(SatToOV(), CNF(5, [[1], [2, -5]]))
    """
    reduced = _reduced(reduction, instance, reduced)
    mapping = reduction.parameters()
    if not is_family(reduction):
        declared = mapping.evaluate(instance.parameters(), {k: reduced.info.get(k) for k in mapping.free})
        _compare_sizes(reduction.name, declared, reduced.target.parameters(), "the target")
        return
    assert isinstance(reduced, ReducedFamily)
    count_expression = sympy.sympify(reduction.family_size())  # type: ignore[attr-defined]
    count_free = sorted(str(s) for s in count_expression.free_symbols)
    for index, member in enumerate(reduced.targets):
        info = reduced.info_of(index)
        free = {k: info.get(k) for k in (*mapping.free, *count_free)}
        declared = mapping.evaluate(instance.parameters(), free)
        _compare_sizes(reduction.name, declared, member.parameters(), f"member {index}")
    info = reduced.info_of(0) if reduced.count else reduced.info
    substitutions = {sympy.Symbol(k, positive=True): v for k, v in instance.parameters().items()}
    substitutions.update({sympy.Symbol(k, positive=True): info[k] for k in count_free if info.get(k) is not None})
    count = count_expression.subs(substitutions)
    if count.free_symbols or int(count) != reduced.count:
        raise ContractViolation(f"{reduction.name}: family size declared {count}, the forward map made {reduced.count}")


def _compare_sizes(name: str, declared: dict[str, Any], actual: dict[str, Any], where: str) -> None:
    for parameter, value in declared.items():
        if parameter not in actual:
            raise ContractViolation(f"{name}: declares parameter {parameter!r} {where} does not have")
        if not _equal(value, actual[parameter]):
            raise ContractViolation(
                f"{name}: parameter {parameter!r} declared {value}, {where} has {actual[parameter]}"
            )


def assert_forward_deterministic(reduction: Reduction, instance: Any, reduced: Reduced | None = None) -> None:
    """Two forward runs give equal target instances.

    >>> from instances import CNF
    >>> from reductions.catalog.sat_ov import SatToOV
    >>> assert_forward_deterministic(SatToOV(), CNF(2, [[1, -2]]))
    """
    first = _reduced(reduction, instance, reduced).target
    second = reduction.forward(instance).target
    if first != second:
        raise ContractViolation(f"{reduction.name}: forward is not deterministic")


CONTRACT_CHECKS: dict[str, Callable[..., None]] = {
    "answer": assert_answer_preserved,
    "witnesses": assert_witnesses_map_back,
    "parameters": assert_parameters_match,
    "deterministic": assert_forward_deterministic,
}
"""The contract checks by name, in the order :func:`assert_reduction_sound` runs them."""


def assert_reduction_sound(reduction: Reduction, instance: Any) -> None:
    """Run every contract check on one instance (one forward run shared).

    >>> from instances import CNF
    >>> from reductions.catalog.sat_ov import SatToOV
    >>> assert_reduction_sound(SatToOV(), CNF(3, [[1, 2, 3], [-1], []]))
    """
    reduced = reduction.forward(instance)
    for check in CONTRACT_CHECKS.values():
        check(reduction, instance, reduced)


def contract_instances(reduction: Reduction, count: int = 12, *, seed: int = 0, max_size: int = 6) -> list[Any]:
    """Small deterministic source instances for contract tests of ``reduction``.

    Reductions may define ``random_source(rng, size)`` to restrict their input
    (e.g. to equal-weight vectors); otherwise the source problem's generator is used.

    >>> from reductions.catalog.sat_ov import SatToOV
    >>> len(contract_instances(SatToOV(), 5))
    5
    """
    generate = getattr(reduction, "random_source", None) or get_problem(reduction.source).random_instance
    return [generate(np.random.default_rng([seed, k]), 1 + k % max_size) for k in range(count)]
