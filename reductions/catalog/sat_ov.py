"""k-SAT -> Orthogonal Vectors by split and list (Williams 2005; Alman–Song §4).

Split the variables into ``S1`` (the first ``split`` of them, ``ceil(v/2)`` by
default) and ``S2``. Every assignment ``alpha`` of ``S1`` becomes a vector
``a_alpha`` in ``{0,1}^m`` with ``a_alpha[c] = 0`` iff ``alpha`` already
satisfies clause ``c``; likewise ``b_beta`` for ``S2``. Then
``<a_alpha, b_beta> = 0`` iff ``alpha ∪ beta`` satisfies every clause.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np
import sympy

from instances._validation import check_int
from instances.answers import Assignment, OrthogonalPair
from instances.cnf import CNF
from instances.errors import InvalidInstanceError, NotAWitnessError
from instances.vectors import OVInstance
from reductions.core import ParameterMap, Reduced, Reduction
from reductions.problems import problem_symbols

__all__ = ["SatToOV", "half_assignments", "clause_vectors"]


def half_assignments(num_vars: int) -> np.ndarray:
    """All ``2^num_vars`` assignments as a ``(2^num_vars, num_vars)`` 0/1 matrix.

    Row ``i`` gives variable ``j`` the value of bit ``j`` of ``i``.

    >>> half_assignments(2).tolist()
    [[0, 0], [1, 0], [0, 1], [1, 1]]
    """
    indices = np.arange(2**num_vars, dtype=np.int64)
    return ((indices[:, None] >> np.arange(num_vars)) & 1).astype(np.uint8)


def clause_vectors(cnf: CNF, variables: range) -> np.ndarray:
    """The OV vectors of one half: row ``alpha``, column ``c`` is 0 iff the
    assignment ``alpha`` of ``variables`` satisfies clause ``c``.

    One matrix product over all assignments: ``satisfied = X P + (1 - X) N``
    where ``P``/``N`` mark positive/negative occurrences of each variable.

    >>> from instances import CNF
    >>> clause_vectors(CNF(2, [[1], [-1, 2]]), range(1, 2)).tolist()
    [[1, 0], [0, 1]]
    """
    width = len(variables)
    positive = np.zeros((width, cnf.num_clauses), dtype=np.float32)
    negative = np.zeros((width, cnf.num_clauses), dtype=np.float32)
    first = variables.start
    for c, clause in enumerate(cnf.clauses):
        for literal in clause:
            position = abs(literal) - first
            if 0 <= position < width:
                (positive if literal > 0 else negative)[position, c] = 1
    assignments = half_assignments(width).astype(np.float32)
    # Columns of N summed give the satisfied count for the all-false row; X (P - N) corrects it.
    satisfied = assignments @ (positive - negative) + negative.sum(axis=0)
    return (satisfied < 0.5).astype(np.uint8)


@attrs.frozen
class SatToOV(Reduction):
    """k-SAT -> OV by split and list.

    Parameters
    ----------
    split : int or None
        Number of variables in the first half ``S1`` (default ``ceil(v/2)``).

    Notes
    -----
    Sizes: ``n_a = 2^|S1|``, ``n_b = 2^|S2|``, ``d = m``. Time and memory
    ``O((n_a + n_b) m)``. An empty clause gives a coordinate equal to 1 in every
    vector (no orthogonal pair: UNSAT); a tautology gives a coordinate equal to 0
    everywhere. Backward: ``(i, j) -> alpha_i ∪ beta_j``, checked against the formula.

    References
    ----------
    R. Williams, "A new algorithm for optimal 2-constraint satisfaction and its
    implications", TCS 2005. J. Alman, Z. Song, "Fast Attention Requires Bounded
    Entries", NeurIPS 2023, Section 4.

    Examples
    --------
    >>> from instances import CNF
    >>> from solvers.ov import brute_force_ov
    >>> formula = CNF(3, [[1, 2], [-1, 3], [-2, -3]])
    >>> reduced = SatToOV().forward(formula)
    >>> reduced.target.parameters()
    {'n_a': 4, 'n_b': 2, 'd': 3}
    >>> assignment = reduced.backward(brute_force_ov(reduced.target))
    >>> formula.is_satisfied_by(assignment)
    True
    >>> SatToOV(split=4).forward(formula)
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'split' = 4 exceeds the formula's 3 variables
    """

    name: ClassVar[str] = "sat-ov"
    source: ClassVar[str] = "sat"
    target: ClassVar[str] = "ov"

    split: int | None = attrs.field(
        default=None, converter=attrs.converters.optional(lambda v: check_int("split", v, minimum=0))
    )

    def first_half_size(self, num_vars: int) -> int:
        """``|S1|`` for a formula with ``num_vars`` variables."""
        return (num_vars + 1) // 2 if self.split is None else self.split

    def _forward(self, instance: CNF) -> tuple[OVInstance, Mapping[str, Any], Mapping[str, Any]]:
        first = self.first_half_size(instance.num_vars)
        if first > instance.num_vars:
            raise InvalidInstanceError(f"'split' = {first} exceeds the formula's {instance.num_vars} variables")
        a = clause_vectors(instance, range(1, first + 1))
        b = clause_vectors(instance, range(first + 1, instance.num_vars + 1))
        return OVInstance(a, b), {"first_half": first}, {"split": f"{first}+{instance.num_vars - first}"}

    def backward(self, reduced: Reduced, answer: OrthogonalPair | None) -> Assignment | None:
        """Orthogonal pair -> satisfying assignment; ``None`` (no pair) -> ``None`` (UNSAT).

        Raises ``NotAWitnessError`` when the pair is out of range or not orthogonal.
        """
        if answer is None:
            return None
        if not isinstance(answer, OrthogonalPair):
            raise TypeError(f"'answer' must be an OrthogonalPair or None (got {type(answer).__name__})")
        formula: CNF = reduced.source
        first = reduced.decoding["first_half"]
        second = formula.num_vars - first
        if answer.i >= 2**first or answer.j >= 2**second:
            raise NotAWitnessError(f"pair {(answer.i, answer.j)} is out of range for sizes {2**first} and {2**second}")
        values = [bool((answer.i >> k) & 1) for k in range(first)]
        values += [bool((answer.j >> k) & 1) for k in range(second)]
        assignment = Assignment(values)
        if not formula.is_satisfied_by(assignment):
            raise NotAWitnessError(
                f"pair {(answer.i, answer.j)} is not orthogonal: the assignment it encodes falsifies the formula"
            )
        return assignment

    def parameters(self) -> ParameterMap:
        s = problem_symbols("sat")
        v, m = s["v"], s["m"]
        first = sympy.ceiling(v / 2) if self.split is None else sympy.Integer(self.split)
        return ParameterMap("sat", "ov", {"n_a": 2**first, "n_b": 2 ** (v - first), "d": m})
