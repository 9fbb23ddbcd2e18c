"""Reading and writing CNF formulas in the DIMACS format.

The reader is our own tokenizer rather than PySAT's, because real files break
the letter of the format in ways a reader must forgive (SATLIB's ``%`` end
marker, missing or wrong ``p`` lines, clauses spanning lines) and in ways it
must refuse with a precise message (a token that is not an integer, a second
``p`` line). What it forgives it reports as a warning that names the line;
what it refuses raises :class:`~instances.errors.DimacsParseError` naming the
line and the offending token.

The grammar accepted, line by line (lines end with LF, CRLF or a lone CR;
leading spaces, tabs and blank lines are ignored):

``c ...``
    a comment, anywhere in the file;
``p cnf VARIABLES CLAUSES``
    the header: at most one, before the first clause; extra fields are
    ignored with a warning;
``%``
    SATLIB's end marker: reading stops; the customary ``0`` line after it is
    not an empty clause;
anything else
    integer literals; ``0`` ends a clause, so a clause may span lines and a
    line may hold several clauses; a ``0`` with no literals before it is an
    empty clause.

Examples
--------
>>> from instances.dimacs import parse_dimacs, write_dimacs
>>> parsed = parse_dimacs("c demo\\np cnf 3 2\\n1 -2 0\\n2 3 0\\n")
>>> parsed.formula
CNF(num_vars=3, clauses=((1, -2), (2, 3)))
>>> parsed.warnings
()
>>> print(write_dimacs(parsed.formula), end="")
p cnf 3 2
1 -2 0
2 3 0
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import attrs

from instances.cnf import CNF
from instances.display import html_block, key_value_table, text_list
from instances.errors import DimacsParseError

__all__ = ["ParsedDimacs", "parse_dimacs", "read_dimacs", "write_dimacs", "write_dimacs_file"]

# Horizontal white space inside a line (line breaks are normalised away first).
_SPACE = " \t\f\v"
# A whole clause line: integers separated by white space.  Each integer must
# be followed by white space or the end, so the match is linear (no
# backtracking between adjacent digit runs).
_CLAUSE_LINE = re.compile(r"[ \t\f\v]*(?:-?[0-9]+(?:[ \t\f\v]+|\Z))*", re.ASCII)
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
_COUNT = re.compile(r"[0-9]+", re.ASCII)
_SPLIT = re.compile(r"[ \t\f\v]+")


def _optional_count(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"declared counts must be ints or None (got {value!r})")
    if value < 0:
        raise ValueError(f"declared counts must be >= 0 (got {value})")
    return value


@attrs.frozen
class ParsedDimacs:
    """What a DIMACS file holds: the formula, and what the reader had to forgive.

    Parameters
    ----------
    formula : CNF
        The formula, with ``num_vars`` the larger of the declared count and
        the largest variable used, and every clause as written (empty
        clauses, tautologies and duplicate literals included).
    warnings : tuple of str
        One message per irregularity that was accepted, each starting with
        the line it concerns (``"line 8: ..."``).
    declared_variables, declared_clauses : int or None
        The counts on the ``p`` line, or None when the file has none.

    Examples
    --------
    >>> from instances.dimacs import parse_dimacs
    >>> parsed = parse_dimacs("p cnf 5 1\\n1 -2 0\\n")
    >>> parsed.declared_variables, parsed.formula.num_vars, parsed.formula.num_clauses
    (5, 5, 1)
    """

    formula: CNF = attrs.field(validator=attrs.validators.instance_of(CNF))
    warnings: tuple[str, ...] = attrs.field(
        default=(),
        converter=tuple,
        validator=attrs.validators.deep_iterable(attrs.validators.instance_of(str)),
    )
    declared_variables: int | None = attrs.field(default=None, converter=_optional_count)
    declared_clauses: int | None = attrs.field(default=None, converter=_optional_count)

    def _repr_html_(self) -> str:
        """Notebook display: the ``p`` line's counts, the warnings, then the formula.

        >>> html = parse_dimacs("1 -2 0\\n")._repr_html_()
        >>> "<li>line 1: no p line" in html, "<td>1 -2 0</td>" in html
        (True, True)
        """
        declared = {
            "declared variables": "none" if self.declared_variables is None else self.declared_variables,
            "declared clauses": "none" if self.declared_clauses is None else self.declared_clauses,
        }
        count = len(self.warnings)
        warnings = (
            f"<p>{count:,} warning{'' if count == 1 else 's'}:</p>" + text_list(self.warnings, noun="warnings")
            if self.warnings
            else "<p>no warnings</p>"
        )
        return html_block("DIMACS file", key_value_table(declared), warnings, self.formula._repr_html_())


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


def parse_dimacs(text: str | bytes, source: str | None = None) -> ParsedDimacs:
    """Parse DIMACS CNF text, forgiving what real files do and naming what it forgave.

    Parameters
    ----------
    text : str or bytes
        The file's contents; bytes are decoded as UTF-8 (a leading byte-order
        mark is dropped).
    source : str, optional
        Where the text came from (a path), used in error messages.

    Returns
    -------
    ParsedDimacs
        The formula, the warnings (each naming its line) and the ``p`` line's
        counts.

    Raises
    ------
    DimacsParseError
        With the line number: a token that is not an integer literal, a second
        ``p`` line, a ``p`` line after clauses, a ``p`` line with a format
        other than ``cnf`` or with missing, non-integer or negative counts,
        bytes that are not UTF-8.
    TypeError
        ``text`` is neither str nor bytes.

    Notes
    -----
    Accepted with a warning: no ``p`` line; a ``p`` line with extra fields;
    a declared clause count that differs from the file's; variables above
    the declared count (the formula then has as many variables as the
    largest one used); content after the ``%`` end marker other than a
    ``0`` line, blank lines and comments (it is ignored); a last clause
    without its terminating ``0`` (it is kept). Accepted silently: comments
    anywhere, CRLF or CR line ends, a missing final newline, blank lines,
    leading white space and tabs, clauses spanning lines or sharing one,
    empty clauses (a ``0`` with no literals before it), tautologies and
    duplicate literals (kept as written), fewer variables used than declared.

    The reader makes one pass over the lines, with the per-line work done
    by the regular-expression engine and ``int``: time is linear in the
    size of the text.

    Examples
    --------
    SATLIB's files end with ``%`` and a ``0`` line, which is not an empty clause:

    >>> from instances.dimacs import parse_dimacs
    >>> parse_dimacs("p cnf 2 1\\n1 -2 0\\n%\\n0\\n").formula
    CNF(num_vars=2, clauses=((1, -2),))

    What is forgiven is reported:

    >>> parsed = parse_dimacs("p cnf 2 1\\n1 0 2\\n-1 0\\n")
    >>> parsed.formula.clauses
    ((1,), (2, -1))
    >>> parsed.warnings
    ("line 1: p line declares 1 clause, the file holds 2; using the file's clauses",)

    What cannot be read is refused, naming the line and the token:

    >>> parse_dimacs("p cnf 2 1\\n1 x2 0\\n", source="f.cnf")
    Traceback (most recent call last):
    ...
    instances.errors.DimacsParseError: f.cnf:2: 'x2' is not an integer literal
    """
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
    return ParsedDimacs(
        formula=CNF(num_vars, clauses),
        warnings=tuple(warnings),
        declared_variables=declared_variables,
        declared_clauses=declared_clauses,
    )


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


def read_dimacs(path: str | os.PathLike[str]) -> ParsedDimacs:
    """Read a DIMACS CNF file; errors and warnings name the path and line.

    Parameters
    ----------
    path : str or path-like
        The file, read as bytes and decoded as UTF-8.

    Returns
    -------
    ParsedDimacs
        See :func:`parse_dimacs`.

    Raises
    ------
    DimacsParseError
        The file is malformed (the message starts with ``path:line:``).
    OSError
        The file cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from instances.dimacs import read_dimacs
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "tiny.cnf"
    ...     _ = path.write_bytes(b"p cnf 2 1\\r\\n1 -2 0\\r\\n")
    ...     read_dimacs(path).formula
    CNF(num_vars=2, clauses=((1, -2),))
    """
    path = Path(path)
    return parse_dimacs(path.read_bytes(), source=str(path))


def write_dimacs(cnf: CNF, comments: Iterable[str] = ()) -> str:
    """DIMACS text of a formula: comments, the ``p`` line, one clause a line.

    Parameters
    ----------
    cnf : CNF
        The formula.
    comments : iterable of str
        Written first, one ``c`` line each (a comment with line breaks
        becomes several ``c`` lines).

    Returns
    -------
    str
        ``c`` lines, ``p cnf V M``, then each clause's literals followed by
        `` 0`` (an empty clause is the line ``0``), with a final newline.
        :func:`parse_dimacs` reads it back to an equal formula, without
        warnings.

    Raises
    ------
    TypeError
        ``cnf`` is not a CNF, or ``comments`` is a single string or holds
        something other than strings.

    Examples
    --------
    >>> from instances import CNF
    >>> from instances.dimacs import write_dimacs
    >>> print(write_dimacs(CNF(3, [[1, -3], [], [2, 2]]), comments=["three clauses"]), end="")
    c three clauses
    p cnf 3 3
    1 -3 0
    0
    2 2 0
    >>> write_dimacs(CNF(1, [[1]]), comments="one")
    Traceback (most recent call last):
    ...
    TypeError: 'comments' must be an iterable of str, not a single str
    """
    if not isinstance(cnf, CNF):
        raise TypeError(f"'cnf' must be a CNF (got {type(cnf).__name__})")
    if isinstance(comments, (str, bytes)):
        raise TypeError(f"'comments' must be an iterable of str, not a single {type(comments).__name__}")
    parts = []
    for index, comment in enumerate(comments):
        if not isinstance(comment, str):
            raise TypeError(f"comment {index} must be a str (got {type(comment).__name__})")
        for line in comment.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            parts.append(f"c {line}\n" if line else "c\n")
    parts.append(f"p cnf {cnf.num_vars} {cnf.num_clauses}\n")
    parts.extend(" ".join(map(str, clause)) + " 0\n" if clause else "0\n" for clause in cnf.clauses)
    return "".join(parts)


def write_dimacs_file(cnf: CNF, path: str | os.PathLike[str], comments: Iterable[str] = ()) -> Path:
    """Write a formula to a DIMACS file (UTF-8, LF line ends); return the path.

    Parameters
    ----------
    cnf : CNF
        The formula.
    path : str or path-like
        The file to create or overwrite.
    comments : iterable of str
        As for :func:`write_dimacs`.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from instances import CNF
    >>> from instances.dimacs import read_dimacs, write_dimacs_file
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_dimacs_file(CNF(2, [[1, 2]]), pathlib.Path(folder) / "out.cnf")
    ...     read_dimacs(path).formula
    CNF(num_vars=2, clauses=((1, 2),))
    """
    text = write_dimacs(cnf, comments=comments)
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    return path
