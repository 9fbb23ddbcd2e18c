"""Answer types: what a solver returns and a backward map produces.

Search solvers return one of these witnesses, or ``None`` for "no".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from instances._validation import check_int

__all__ = ["Assignment", "OrthogonalPair", "NeighborDecisions"]


def _bool_tuple(values: Iterable[Any]) -> tuple[bool, ...]:
    result = []
    for index, value in enumerate(values):
        if isinstance(value, bool) or (hasattr(value, "dtype") and value.dtype == bool):
            result.append(bool(value))
        elif value in (0, 1):
            result.append(bool(value))
        else:
            raise TypeError(f"entry {index} must be a bool or 0/1 (got {value!r})")
    return tuple(result)


@attrs.frozen
class Assignment:
    """A truth assignment to variables ``1..num_vars`` (``values[i]`` is x_{i+1}).

    Examples
    --------
    >>> from instances import Assignment
    >>> a = Assignment.from_literals([1, -2, 3])
    >>> a.values
    (True, False, True)
    >>> a.to_literals()
    (1, -2, 3)
    """

    values: tuple[bool, ...] = attrs.field(converter=_bool_tuple)

    @property
    def num_vars(self) -> int:
        """Number of variables assigned."""
        return len(self.values)

    @classmethod
    def from_literals(cls, literals: Iterable[int], num_vars: int | None = None) -> Assignment:
        """Build from DIMACS literals; unmentioned variables are False.

        >>> Assignment.from_literals([-1, 3], num_vars=4).values
        (False, False, True, False)
        """
        literals = [int(lit) for lit in literals]
        size = max((abs(lit) for lit in literals), default=0) if num_vars is None else num_vars
        values = [False] * size
        for lit in literals:
            if lit == 0 or abs(lit) > size:
                raise ValueError(f"literal {lit} is outside variables 1..{size}")
            values[abs(lit) - 1] = lit > 0
        return cls(values)

    def to_literals(self) -> tuple[int, ...]:
        """DIMACS literals, one per variable, in order."""
        return tuple(i + 1 if v else -(i + 1) for i, v in enumerate(self.values))


@attrs.frozen
class OrthogonalPair:
    """An OV witness: row ``i`` of the first set and row ``j`` of the second.

    >>> OrthogonalPair(0, 3)
    OrthogonalPair(i=0, j=3)
    """

    i: int = attrs.field(converter=lambda v: check_int("i", v, minimum=0))
    j: int = attrs.field(converter=lambda v: check_int("j", v, minimum=0))


@attrs.frozen
class NeighborDecisions:
    """Gap-ANN answer: ``close[i]`` says query ``i`` is in case 1 (a point
    closer than ``t``); False means case 2 (every point at ``>= (1+eps) t``).
    ``decided_by`` names the solver or oracle behind the decisions, so a
    contradiction found later can name it (it does not take part in equality).

    >>> d = NeighborDecisions((False, True))
    >>> d.any_close, d.close_queries
    (True, (1,))
    """

    close: tuple[bool, ...] = attrs.field(converter=_bool_tuple)
    decided_by: str | None = attrs.field(default=None, eq=False, kw_only=True)

    @property
    def any_close(self) -> bool:
        """Whether some query was declared close."""
        return any(self.close)

    @property
    def close_queries(self) -> tuple[int, ...]:
        """Indices of the queries declared close."""
        return tuple(i for i, c in enumerate(self.close) if c)
