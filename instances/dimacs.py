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
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import attrs

from instances._dimacs_syntax import (
    MAX_CLAUSES,
    MAX_FILE_BYTES,
    MAX_LINE_BYTES,
    MAX_VARIABLE,
    DimacsScan,
    format_dimacs,
    scan_dimacs,
    scan_dimacs_file,
)
from instances.cnf import CNF
from instances.display import html_block, key_value_table, text_list

__all__ = [
    "ParsedDimacs",
    "parse_dimacs",
    "read_dimacs",
    "write_dimacs",
    "write_dimacs_file",
    "MAX_VARIABLE",
    "MAX_CLAUSES",
    "MAX_FILE_BYTES",
    "MAX_LINE_BYTES",
]


def _string_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


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
        converter=_string_tuple,
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


def _parsed(scan: DimacsScan) -> ParsedDimacs:
    return ParsedDimacs(
        formula=CNF(scan.num_vars, scan.clauses),
        warnings=scan.warnings,
        declared_variables=scan.declared_variables,
        declared_clauses=scan.declared_clauses,
    )


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
    return _parsed(scan_dimacs(text, source))


def read_dimacs(
    path: str | os.PathLike[str] | BinaryIO,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> ParsedDimacs:
    """Read a DIMACS CNF file as a stream; errors and warnings name the path and line.

    Parameters
    ----------
    path : str, path-like or binary file object
        The file (or an open binary stream such as ``sys.stdin.buffer``),
        read block by block and decoded as UTF-8.
    max_bytes : int
        Refuse input longer than this (default :data:`MAX_FILE_BYTES`),
        after reading no more than one block past it.
    max_line_bytes : int
        Refuse a line longer than this (default :data:`MAX_LINE_BYTES`):
        a file of one endless line (``/dev/zero``) is refused after about
        this much, not read into memory.

    Returns
    -------
    ParsedDimacs
        See :func:`parse_dimacs`.

    Raises
    ------
    DimacsParseError
        The file is malformed (the message starts with ``path:line:``).
        The input is malformed or beyond a limit (the message starts with
        ``path:line:``).
    OSError
        The file cannot be read.

    Examples
    --------
    >>> import io, tempfile, pathlib
    >>> from instances.dimacs import read_dimacs
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "tiny.cnf"
    ...     _ = path.write_bytes(b"p cnf 2 1\\r\\n1 -2 0\\r\\n")
    ...     read_dimacs(path).formula
    CNF(num_vars=2, clauses=((1, -2),))
    >>> read_dimacs(io.BytesIO(b"p cnf 1 1\\n1 0\\n")).formula
    CNF(num_vars=1, clauses=((1,),))
    >>> read_dimacs(io.BytesIO(b"1 2 3 0\\n" * 10), max_bytes=64)
    Traceback (most recent call last):
    ...
    instances.errors.DimacsParseError: <stream>:1: the input is larger than the limit of 64 bytes; refused
    """
    return _parsed(scan_dimacs_file(path, max_bytes=max_bytes, max_line_bytes=max_line_bytes))


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
    return format_dimacs(cnf.num_vars, cnf.clauses, comments)


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
