"""The project's exception hierarchy.

It lives in the lowest package so that every layer can raise and catch the same
types. Each error subclasses the built-in error a caller would expect
(``ValueError`` for bad values, ``TypeError`` for mismatched types), so plain
``except ValueError`` keeps working.

Examples
--------
>>> from instances.errors import InvalidInstanceError, FrameworkError
>>> issubclass(InvalidInstanceError, ValueError)
True
>>> isinstance(InvalidInstanceError("'k' must be >= 2 (got 1)"), FrameworkError)
True
"""

from __future__ import annotations

__all__ = [
    "FrameworkError",
    "InvalidInstanceError",
    "DimacsParseError",
    "NotAWitnessError",
    "IncompatibleReductionError",
    "SolverBudgetExceeded",
    "OracleRefusal",
    "OracleContradiction",
]


class FrameworkError(Exception):
    """Base class of every error this project raises on purpose."""


class InvalidInstanceError(FrameworkError, ValueError):
    """An instance, answer or argument violates its stated requirements."""


class DimacsParseError(InvalidInstanceError):
    """A DIMACS file is malformed; ``line`` is the 1-based line number.

    Examples
    --------
    >>> err = DimacsParseError("bad literal 'x1'", line=4, source="f.cnf")
    >>> str(err)
    "f.cnf:4: bad literal 'x1'"
    >>> err.line
    4
    """

    def __init__(self, message: str, line: int | None = None, source: str | None = None):
        self.line = line
        self.source = source
        self.reason = message
        where = source or "<dimacs>"
        prefix = f"{where}:{line}: " if line is not None else f"{where}: "
        super().__init__(prefix + message)


class NotAWitnessError(FrameworkError, ValueError):
    """A backward map or verifier was handed a certificate that is not one."""


class IncompatibleReductionError(FrameworkError, TypeError):
    """Two reductions were composed whose problems do not match."""


class SolverBudgetExceeded(FrameworkError):
    """A solver refused (or stopped) because the work exceeds its budget.

    The message states the predicted cost and the limit that was exceeded.
    """


class OracleRefusal(SolverBudgetExceeded):
    """An oracle refused an instance it cannot answer within its guarantee,
    time or memory; the message gives the numbers."""


class OracleContradiction(FrameworkError):
    """An oracle's answer contradicts a checkable fact (for example a query
    declared close with no close partner). Raised instead of answering."""
