"""The DIMACS CNF syntax without the formula type: text or a stream to counts and clauses, clauses to text.

:mod:`instances.dimacs` (the public reader and writer) and the conveniences
:meth:`CNF.from_dimacs <instances.cnf.CNF.from_dimacs>`, ``CNF.from_file`` and
``CNF.to_dimacs`` share it, so that neither of those two modules imports the other
and every way in goes through the same limits.

>>> scan_dimacs("p cnf 2 1\\n1 -2 0\\n")
DimacsScan(num_vars=2, clauses=((1, -2),), warnings=(), declared_variables=2, declared_clauses=1)
>>> print(format_dimacs(2, ((1, -2), ()), ["demo"]), end="")
c demo
p cnf 2 2
1 -2 0
0
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

from instances.errors import DimacsParseError
from instances.formatting import plural

__all__ = [
    "DimacsScan",
    "scan_dimacs",
    "scan_dimacs_file",
    "format_dimacs",
    "MAX_VARIABLE",
    "MAX_CLAUSES",
    "MAX_FILE_BYTES",
    "MAX_LINE_BYTES",
]

MAX_VARIABLE = 2**31 - 1
"""Largest variable a file may name or declare (the 32-bit limit of DIMACS solvers)."""

MAX_CLAUSES = 2**31 - 1
"""Largest clause count a ``p`` line may declare."""

MAX_FILE_BYTES = 128 * 2**20
"""Largest file :func:`read_dimacs` reads (128 MiB); larger input is refused while streaming."""

MAX_LINE_BYTES = 2**20
"""Longest line :func:`read_dimacs` accepts (1 MiB); ``/dev/zero`` is refused after one such line."""

_BLOCK_BYTES = 2**20
_BOM = b"\xef\xbb\xbf"

# Horizontal white space inside a line (line breaks are normalised away first).
_SPACE = " \t\f\v"
# A whole clause line: integers separated by white space.  Each integer must
# be followed by white space or the end, so the match is linear (no
# backtracking between adjacent digit runs).
# At most ten significant digits, so int() stays cheap; larger values are
# refused against MAX_VARIABLE after the pass (see _refuse_literal). The
# quantifiers are possessive: a failing line costs one pass, never a backtrack
# through its tokens.
_CLAUSE_LINE = re.compile(r"[ \t\f\v]*+(?:-?(?:0*+[1-9][0-9]{0,9}|0++)(?:[ \t\f\v]++|\Z))*+", re.ASCII)
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
_COUNT = re.compile(r"[0-9]+", re.ASCII)
_SPLIT = re.compile(r"[ \t\f\v]+")


class DimacsScan(NamedTuple):
    """What a scan read: the formula's parts, the warnings and the ``p`` line's counts."""

    num_vars: int
    clauses: tuple[tuple[int, ...], ...]
    warnings: tuple[str, ...]
    declared_variables: int | None
    declared_clauses: int | None


def scan_dimacs(text: str | bytes, source: str | None = None) -> DimacsScan:
    """Read DIMACS CNF text; see :func:`instances.dimacs.parse_dimacs` for what is forgiven and refused.

    >>> scan_dimacs("1 2 0\\n").warnings
    ("line 1: no p line; using the content's 2 variables and 1 clause",)
    """
    if source is not None and not isinstance(source, str):
        raise TypeError(f"'source' must be a str or None (got {type(source).__name__})")
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = _decode(bytes(text), source)
    elif not isinstance(text, str):
        raise TypeError(f"'text' must be str or bytes (got {type(text).__name__})")
    elif text.startswith("\ufeff"):
        text = text[1:]
    return _scan_lines(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), source)


def scan_dimacs_file(
    path: str | os.PathLike[str] | BinaryIO,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> DimacsScan:
    """Read a DIMACS file or binary stream block by block; see :func:`instances.dimacs.read_dimacs`.

    >>> import io
    >>> scan_dimacs_file(io.BytesIO(b"p cnf 1 1\\n1 0\\n")).clauses
    ((1,),)
    """
    for name, limit in (("max_bytes", max_bytes), ("max_line_bytes", max_line_bytes)):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"'{name}' must be a positive int (got {limit!r})")
    if not isinstance(path, (str, os.PathLike)):
        stream_name = getattr(path, "name", None)
        source = stream_name if isinstance(stream_name, str) else "<stream>"
        return _scan_lines(_stream_lines(path.read, source, max_bytes, max_line_bytes), source)
    file_path = Path(path)
    with file_path.open("rb") as handle:
        return _scan_lines(_stream_lines(handle.read, str(file_path), max_bytes, max_line_bytes), str(file_path))


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


def _shown(token: str, width: int = 40) -> str:
    """A token as shown in a message: long ones cut, with their length."""
    if len(token) <= width:
        return token
    return f"{token[:20]}...({len(token)} characters)"


def _refuse_literal(token: str, number: int, source: str | None) -> None:
    raise DimacsParseError(
        f"literal {_shown(token)} names a variable above the limit of {MAX_VARIABLE:,}", line=number, source=source
    )


def _bad_token(line: str) -> str:
    """The first token of a clause line that is not an integer literal."""
    for token in _SPLIT.split(line.strip(_SPACE)):
        if not _INTEGER.fullmatch(token) or len(token.lstrip("-0")) > 10:
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
    for what, token, limit in (("variable", fields[2], MAX_VARIABLE), ("clause", fields[3], MAX_CLAUSES)):
        if not _COUNT.fullmatch(token):
            raise DimacsParseError(
                f"p line {what} count {_shown(token)!r} is not a non-negative integer", line=number, source=source
            )
        # compare digit counts first: int() of a long digit string is itself slow
        if len(token.lstrip("0")) > len(str(limit)) or int(token) > limit:
            raise DimacsParseError(
                f"p line declares {_shown(token)} {what}s, above the limit of {limit:,}", line=number, source=source
            )
        counts.append(int(token))
    warning = None
    if len(fields) > 4:
        extra = " ".join(fields[4:])
        plural = "s" if len(fields) > 5 else ""
        warning = f"line {number}: p line has {len(fields) - 4} extra field{plural} ({extra!r}); ignored"
    return counts[0], counts[1], warning


def _scan_lines(lines: Iterable[str], source: str | None) -> DimacsScan:
    """The reader proper, over lines without their line ends (see :func:`parse_dimacs`)."""
    numbered = enumerate(lines, 1)
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
    for number, raw in numbered:
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
            _check_after_end_marker(numbered, number, warnings)
            break
        if match_clause_line(line) is None:
            token = _bad_token(line)
            if _INTEGER.fullmatch(token):
                _refuse_literal(token, number, source)
            raise DimacsParseError(
                f"{_shown(_bad_token(line))!r} is not an integer literal", line=number, source=source
            )
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
    if largest > MAX_VARIABLE:
        index = next(i for i, clause in enumerate(clauses) if any(abs(lit) > MAX_VARIABLE for lit in clause))
        _refuse_literal(str(max(clauses[index], key=abs)), starts[index], source)
    if not header_line:
        where = first_clause_line or 1
        warnings.insert(
            0,
            f"line {where}: no p line; using the content's {plural(largest, 'variable')} and "
            f"{plural(len(clauses), 'clause')}",
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


def _check_after_end_marker(numbered: Iterator[tuple[int, str]], marker: int, warnings: list[str]) -> None:
    """Warn when the text after SATLIB's ``%`` marker holds more than a ``0`` line."""
    for number, raw in numbered:
        line = raw.strip(_SPACE)
        if not line or line == "0" or line[0] == "c":
            continue
        shown = line if len(line) <= 40 else line[:37] + "..."
        warnings.append(
            f"line {number}: {shown!r} follows the '%' end marker on line {marker}; "
            "ignored, with everything after the marker"
        )
        return


def _stream_lines(
    read: Callable[[int], bytes], source: str | None, max_bytes: int, max_line_bytes: int
) -> Iterator[str]:
    """Lines of a binary stream, decoded block by block, refused beyond the limits.

    Blocks are cut after their last line end, so a CRLF pair and a UTF-8
    character never straddle two decodes; what follows the cut waits for the
    next block and is refused once it is longer than ``max_line_bytes``.
    """
    total = 0
    done = 0  # lines yielded so far
    carry = b""
    first = True
    while True:
        block = read(_BLOCK_BYTES)
        total += len(block)
        if total > max_bytes:
            raise DimacsParseError(
                f"the input is larger than the limit of {max_bytes:,} bytes; refused", line=done + 1, source=source
            )
        data = carry + block
        if first:
            if block and len(data) < len(_BOM) and _BOM.startswith(data):
                carry = data  # perhaps a byte-order mark cut by a short read
                continue
            first = False
            if data.startswith(_BOM):
                data = data[len(_BOM) :]
        if block:
            search = data[:-1] if data.endswith(b"\r") else data
            cut = max(search.rfind(b"\n"), search.rfind(b"\r")) + 1
            complete, carry = data[:cut], data[cut:]
        else:
            complete, carry = data, b""
        if complete or not block:
            text = _decode_block(complete, done, source)
            parts = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            if block:
                parts.pop()  # the empty remainder after the block's last line end
            if len(complete) > max_line_bytes:
                for offset, part in enumerate(parts):
                    if len(part) > max_line_bytes:
                        _refuse_long_line(done + offset + 1, max_line_bytes, source)
            yield from parts
            done += len(parts)
        if len(carry) > max_line_bytes:
            _refuse_long_line(done + 1, max_line_bytes, source)
        if not block:
            return


def _refuse_long_line(number: int, limit: int, source: str | None) -> None:
    raise DimacsParseError(f"line longer than the limit of {limit:,} bytes; refused", line=number, source=source)


def _decode_block(data: bytes, lines_before: int, source: str | None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        prefix = data[: err.start]
        line = prefix.count(b"\n") + prefix.count(b"\r") - prefix.count(b"\r\n") + 1
        column = err.start - max(prefix.rfind(b"\n"), prefix.rfind(b"\r"))
        raise DimacsParseError(
            f"byte 0x{data[err.start]:02x} at column {column} is not valid UTF-8",
            line=lines_before + line,
            source=source,
        ) from err


def format_dimacs(num_vars: int, clauses: Iterable[tuple[int, ...]], comments: Iterable[str] = ()) -> str:
    """DIMACS text: one ``c`` line per comment line, the ``p`` line, one clause a line.

    See :func:`instances.dimacs.write_dimacs`.

    >>> format_dimacs(1, [(1,)])
    'p cnf 1 1\\n1 0\\n'
    """
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
