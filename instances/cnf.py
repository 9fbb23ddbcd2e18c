"""CNF formulas: the instances of k-SAT / CNF-SAT.

A formula is an immutable value: a variable count and a tuple of clauses, each
clause a tuple of non-zero DIMACS literals (``3`` is x3, ``-3`` is not x3).
Duplicate literals, tautological clauses and empty clauses are all legal
formulas and are kept exactly as given.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import attrs
import numpy as np

from instances._dimacs_syntax import format_dimacs, scan_dimacs, scan_dimacs_file
from instances._validation import check_int
from instances.answers import Assignment
from instances.display import MAX_CLAUSES, clause_text, html_block, html_table, key_value_table, more_note
from instances.errors import InvalidInstanceError, NotAWitnessError

__all__ = ["CNF"]


def _clauses_converter(clauses: Iterable[Iterable[int]]) -> tuple[tuple[int, ...], ...]:
    converted: list[tuple[int, ...]] = []
    for index, clause in enumerate(clauses):
        if isinstance(clause, (str, bytes)) or not isinstance(clause, Iterable):
            raise InvalidInstanceError(f"clause {index} must be a sequence of literals (got {clause!r})")
        literals: list[int] = []
        for literal in clause:
            if isinstance(literal, bool) or not isinstance(literal, numbers.Integral):
                raise InvalidInstanceError(f"clause {index} holds {literal!r}; literals must be non-zero ints")
            literals.append(int(literal))
        converted.append(tuple(literals))
    return tuple(converted)


@attrs.frozen
class CNF:
    """A CNF formula over variables ``1..num_vars``.

    Parameters
    ----------
    num_vars : int
        Number of variables; may exceed the largest variable used.
    clauses : iterable of iterables of int
        Each clause a sequence of non-zero literals with ``|literal| <= num_vars``.

    Raises
    ------
    InvalidInstanceError
        A zero literal, a literal above ``num_vars`` or a non-integer literal.

    Examples
    --------
    >>> from instances import CNF
    >>> f = CNF(3, [[1, -2], [2, 3], []])
    >>> f.num_clauses, f.max_clause_width, f.has_empty_clause
    (3, 2, True)
    >>> CNF.from_clauses([[1, -5]]).num_vars
    5
    >>> CNF(2, [[1, 3]])
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: clause 0 uses variable 3, above 'num_vars' = 2
    """

    problem: ClassVar[str] = "sat"

    num_vars: int = attrs.field(converter=lambda v: check_int("num_vars", v, minimum=0))
    clauses: tuple[tuple[int, ...], ...] = attrs.field(converter=_clauses_converter, default=())

    def __attrs_post_init__(self) -> None:
        for index, clause in enumerate(self.clauses):
            for literal in clause:
                if literal == 0:
                    raise InvalidInstanceError(f"clause {index} holds the literal 0; literals must be non-zero")
                if abs(literal) > self.num_vars:
                    raise InvalidInstanceError(
                        f"clause {index} uses variable {abs(literal)}, above 'num_vars' = {self.num_vars}"
                    )

    # -- constructors and writers -------------------------------------------------
    @classmethod
    def from_clauses(cls, clauses: Iterable[Iterable[int]], num_vars: int | None = None) -> CNF:
        """Build a formula; ``num_vars`` defaults to the largest variable used.

        >>> CNF.from_clauses([[2, -3], [1]])
        CNF(num_vars=3, clauses=((2, -3), (1,)))
        """
        clauses = _clauses_converter(clauses)
        largest = max((abs(lit) for clause in clauses for lit in clause), default=0)
        return cls(largest if num_vars is None else max(num_vars, largest), clauses)

    @classmethod
    def from_dimacs(cls, text: str | bytes, source: str | None = None) -> CNF:
        """Parse DIMACS text (see :func:`instances.dimacs.parse_dimacs`); warnings are dropped.

        >>> CNF.from_dimacs("p cnf 2 1\\n1 -2 0\\n")
        CNF(num_vars=2, clauses=((1, -2),))
        """
        scanned = scan_dimacs(text, source)
        return cls(scanned.num_vars, scanned.clauses)

    @classmethod
    def from_file(cls, path: str | Path) -> CNF:
        """Read a DIMACS file (see :func:`instances.dimacs.read_dimacs`)."""
        scanned = scan_dimacs_file(Path(path))
        return cls(scanned.num_vars, scanned.clauses)

    def to_dimacs(self, comments: Iterable[str] = ()) -> str:
        """DIMACS text of this formula, one clause a line.

        >>> print(CNF(2, [[1, -2], []]).to_dimacs(comments=["demo"]), end="")
        c demo
        p cnf 2 2
        1 -2 0
        0
        """
        return format_dimacs(self.num_vars, self.clauses, comments)

    # -- derived data ------------------------------------------------------------
    @property
    def num_clauses(self) -> int:
        """Number of clauses, the ``m`` of the reductions."""
        return len(self.clauses)

    @cached_property
    def max_clause_width(self) -> int:
        """Largest clause length (0 for no clauses)."""
        return max((len(c) for c in self.clauses), default=0)

    @cached_property
    def has_empty_clause(self) -> bool:
        """Whether some clause is empty (the formula is then unsatisfiable)."""
        return any(len(c) == 0 for c in self.clauses)

    def parameters(self) -> dict[str, int]:
        """Size parameters used by the reductions' bookkeeping: ``v`` and ``m``.

        >>> CNF(4, [[1], [2]]).parameters()
        {'v': 4, 'm': 2}
        """
        return {"v": self.num_vars, "m": self.num_clauses}

    def is_satisfied_by(self, assignment: Assignment) -> bool:
        """Whether ``assignment`` satisfies every clause.

        Raises ``NotAWitnessError`` when the assignment has the wrong length.

        >>> from instances import Assignment
        >>> CNF(2, [[1, -2]]).is_satisfied_by(Assignment((False, False)))
        True
        >>> CNF(2, [[1], [-1]]).is_satisfied_by(Assignment((True, False)))
        False
        """
        if not isinstance(assignment, Assignment):
            raise TypeError(f"'assignment' must be an Assignment (got {type(assignment).__name__})")
        if assignment.num_vars != self.num_vars:
            raise NotAWitnessError(f"assignment has {assignment.num_vars} variables, the formula has {self.num_vars}")
        values = np.asarray(assignment.values, dtype=bool)
        for clause in self.clauses:
            if not any(values[abs(lit) - 1] == (lit > 0) for lit in clause):
                return False
        return True

    def _repr_html_(self) -> str:
        """Notebook display: the sizes and the first clauses in DIMACS notation.

        >>> html = CNF(2, [[1, -2], [2]])._repr_html_()
        >>> "<td>1 -2 0</td>" in html, "<td>2 0</td>" in html
        (True, True)
        """
        facts = {
            "variables": self.num_vars,
            "clauses": self.num_clauses,
            "largest clause": self.max_clause_width,
        }
        shown = self.clauses[:MAX_CLAUSES]
        clauses = html_table(("#", "clause"), ((i, clause_text(c)) for i, c in enumerate(shown)), caption="clauses")
        notes = "<p>holds an empty clause: unsatisfiable</p>" if self.has_empty_clause else ""
        return html_block(
            f"CNF formula: {self.num_vars:,} variables, {self.num_clauses:,} clauses",
            key_value_table(facts),
            notes,
            clauses if shown else "<p>no clauses: satisfied by every assignment</p>",
            more_note(self.num_clauses - len(shown), "clauses"),
        )
