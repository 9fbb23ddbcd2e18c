"""The DIMACS CNF syntax without the formula type: text to counts and clauses, clauses to text.

:mod:`instances.dimacs` (the public reader and writer) and the conveniences
:meth:`CNF.from_dimacs <instances.cnf.CNF.from_dimacs>`, ``CNF.from_file`` and
``CNF.to_dimacs`` share it, so that neither of those two modules imports the other.

>>> scan_dimacs("p cnf 2 1\\n1 -2 0\\n")
DimacsScan(num_vars=2, clauses=((1, -2),), warnings=(), declared_variables=2, declared_clauses=1)
>>> print(format_dimacs(2, ((1, -2), ()), ["demo"]), end="")
c demo
p cnf 2 2
1 -2 0
0
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from instances.errors import DimacsParseError

__all__ = ["DimacsScan", "scan_dimacs", "format_dimacs"]

# Horizontal white space inside a line (line breaks are normalised away first).
_SPACE = " \t\f\v"
# A whole clause line: integers separated by white space.  Each integer must
# be followed by white space or the end, so the match is linear (no
# backtracking between adjacent digit runs).
_CLAUSE_LINE = re.compile(r"[ \t\f\v]*(?:-?[0-9]+(?:[ \t\f\v]+|\Z))*", re.ASCII)
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
_COUNT = re.compile(r"[0-9]+", re.ASCII)
_SPLIT = re.compile(r"[ \t\f\v]+")


class DimacsScan(NamedTuple):
    """What :func:`scan_dimacs` read: the formula's parts, the warnings and the ``p`` line's counts."""

    num_vars: int
    clauses: tuple[tuple[int, ...], ...]
    warnings: tuple[str, ...]
    declared_variables: int | None
    declared_clauses: int | None


def _decode(data: bytes, source: str | None) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        # The codec reports positions in the data after any byte-order mark.
        decoded = bytes(err.object)
        prefix = decoded[: err.start]
        line = prefix.count(b"\n") + prefix.count(b"\r") - prefix.count(b"\r\n") + 1
        column = err.start - max(prefix.rfind(b"\n"), prefix.rfind(b"\r"))
        raise DimacsParseError(
            f"byte 0x{decoded[err.start]:02x} at column {column} is not valid UTF-8", line=line, source=source
        ) from err


def _bad_token(line: str) -> str:
    """The first token of a clause line that is not an integer literal."""
    for token in _SPLIT.split(line.strip(_SPACE)):
        if not _INTEGER.fullmatch(token):
            return token
    return line  # pragma: no cover - only called on lines that fail _CLAUSE_LINE


def _parse_header(line: str, number: int, source: str | None) -> tuple[int, int, str | None]:
    """Counts of a ``p`` line, and a warning when it has extra fields."""
    fields = _SPLIT.split(line.strip(_SPACE))
    if fields[0] != "p":
        raise DimacsParseError(
            f"malformed p line {line.strip(_SPACE)!r}: expected 'p cnf VARIABLES CLAUSES'", line=number, source=source
        )
    if len(fields) < 4:
        raise DimacsParseError(
            f"p line {line.strip(_SPACE)!r} must read 'p cnf VARIABLES CLAUSES'", line=number, source=source
        )
    if fields[1] != "cnf":
        raise DimacsParseError(
            f"p line format {fields[1]!r} is not supported (expected 'cnf')", line=number, source=source
        )
    counts = []
    for what, token in (("variable", fields[2]), ("clause", fields[3])):
        if not _COUNT.fullmatch(token):
            raise DimacsParseError(
                f"p line {what} count {token!r} is not a non-negative integer", line=number, source=source
            )
        counts.append(int(token))
    warning = None
    if len(fields) > 4:
        extra = " ".join(fields[4:])
        plural = "s" if len(fields) > 5 else ""
        warning = f"line {number}: p line has {len(fields) - 4} extra field{plural} ({extra!r}); ignored"
    return counts[0], counts[1], warning


def scan_dimacs(text: str | bytes, source: str | None = None) -> DimacsScan:
    """Read DIMACS CNF text; see :func:`instances.dimacs.parse_dimacs` for what is forgiven and refused."""
    if source is not None and not isinstance(source, str):
        raise TypeError(f"'source' must be a str or None (got {type(source).__name__})")
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = _decode(bytes(text), source)
    elif not isinstance(text, str):
        raise TypeError(f"'text' must be str or bytes (got {type(text).__name__})")
    elif text.startswith("\ufeff"):
        text = text[1:]

    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    warnings: list[str] = []
    clauses: list[tuple[int, ...]] = []
    starts: list[int] = []  # line on which each clause starts
    pending: list[int] = []
    pending_start = 0
    pending_end = 0
    header_line = 0
    declared_variables: int | None = None
    declared_clauses: int | None = None
    first_clause_line = 0
    match_clause_line = _CLAUSE_LINE.fullmatch

    number = 0
    for number, raw in enumerate(lines, 1):
        line = raw.lstrip(_SPACE)
        if not line:
            continue
        first = line[0]
        if first == "c":
            continue
        if first == "p":
            if header_line:
                raise DimacsParseError(
                    f"second p line (the first is on line {header_line})", line=number, source=source
                )
            if first_clause_line:
                raise DimacsParseError(
                    f"p line after clauses (the first clause starts on line {first_clause_line})",
                    line=number,
                    source=source,
                )
            declared_variables, declared_clauses, warning = _parse_header(line, number, source)
            header_line = number
            if warning:
                warnings.append(warning)
            continue
        if first == "%":
            _check_after_end_marker(lines, number, warnings)
            break
        if match_clause_line(line) is None:
            raise DimacsParseError(f"{_bad_token(line)!r} is not an integer literal", line=number, source=source)
        values = list(map(int, line.split()))
        if not values:  # pragma: no cover - a non-empty stripped line holds a token
            continue
        if not first_clause_line:
            first_clause_line = number
        if not pending and values[-1] == 0 and values.count(0) == 1:
            # The common case: one whole clause on one line.
            values.pop()
            clauses.append(tuple(values))
            starts.append(number)
            continue
        for value in values:
            if value:
                if not pending:
                    pending_start = number
                pending.append(value)
            else:
                clauses.append(tuple(pending))
                starts.append(pending_start if pending else number)
                pending = []
        if pending:
            pending_end = number

    if pending:
        shown = " ".join(map(str, pending))
        warnings.append(f"line {pending_end}: the last clause ({shown!r}) has no terminating 0; kept")
        clauses.append(tuple(pending))
        starts.append(pending_start)

    largest = max((abs(literal) for clause in clauses for literal in clause), default=0)
    if not header_line:
        where = first_clause_line or 1
        warnings.insert(
            0,
            f"line {where}: no p line; using the content's {largest} variables and {len(clauses)} clauses",
        )
        num_vars = largest
    else:
        num_vars = max(declared_variables or 0, largest)
        if declared_clauses != len(clauses):
            noun = "clause" if declared_clauses == 1 else "clauses"
            warnings.append(
                f"line {header_line}: p line declares {declared_clauses} {noun}, "
                f"the file holds {len(clauses)}; using the file's clauses"
            )
        if declared_variables is not None and largest > declared_variables:
            offending = next(
                index for index, clause in enumerate(clauses) if any(abs(lit) > declared_variables for lit in clause)
            )
            warnings.append(
                f"line {starts[offending]}: variables up to {largest} are used, above the {declared_variables} "
                f"declared on line {header_line}; using {largest} variables"
            )
    warnings.sort(key=_line_of)
    return DimacsScan(num_vars, tuple(clauses), tuple(warnings), declared_variables, declared_clauses)


def _line_of(warning: str) -> int:
    return int(warning[5 : warning.index(":")])


def _check_after_end_marker(lines: list[str], marker: int, warnings: list[str]) -> None:
    """Warn when the text after SATLIB's ``%`` marker holds more than a ``0`` line."""
    for number in range(marker + 1, len(lines) + 1):
        line = lines[number - 1].strip(_SPACE)
        if not line or line == "0" or line[0] == "c":
            continue
        shown = line if len(line) <= 40 else line[:37] + "..."
        warnings.append(
            f"line {number}: {shown!r} follows the '%' end marker on line {marker}; "
            "ignored, with everything after the marker"
        )
        return


def format_dimacs(num_vars: int, clauses: Iterable[tuple[int, ...]], comments: Iterable[str] = ()) -> str:
    """DIMACS text: one ``c`` line per comment line, the ``p`` line, one clause a line (see
    :func:`instances.dimacs.write_dimacs`)."""
    if isinstance(comments, (str, bytes)):
        raise TypeError(f"'comments' must be an iterable of str, not a single {type(comments).__name__}")
    parts = []
    for index, comment in enumerate(comments):
        if not isinstance(comment, str):
            raise TypeError(f"comment {index} must be a str (got {type(comment).__name__})")
        for line in comment.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            parts.append(f"c {line}\n" if line else "c\n")
    clauses = list(clauses)
    parts.append(f"p cnf {num_vars} {len(clauses)}\n")
    parts.extend(" ".join(map(str, clause)) + " 0\n" if clause else "0\n" for clause in clauses)
    return "".join(parts)
