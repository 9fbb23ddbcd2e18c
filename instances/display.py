"""HTML building blocks for the notebook display of instances, results and reductions.

Jupyter shows an object through its ``_repr_html_`` method when it has one;
the classes of all three packages build theirs from the helpers here, so the
look, the escaping and the limits are the same everywhere. Every text that
reaches the page goes through :func:`escape`, and every preview is bounded:
at most :data:`MAX_ROWS` rows and :data:`MAX_COLUMNS` columns of a matrix,
:data:`MAX_CLAUSES` clauses of :data:`MAX_LITERALS` literals, texts of
:data:`MAX_TEXT` characters, each cut saying how much it left out. Nothing
here imports IPython: the display protocol is plain methods.

>>> from instances.display import escape, html_table
>>> escape("<b> & 'x'")
'&lt;b&gt; &amp; &#x27;x&#x27;'
>>> html_table(["n", "d"], [[3, 4]])
'<table><thead><tr><th>n</th><th>d</th></tr></thead><tbody><tr><td>3</td><td>4</td></tr></tbody></table>'
"""

from __future__ import annotations

import html
from collections.abc import Collection, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "MAX_ROWS",
    "MAX_COLUMNS",
    "MAX_CLAUSES",
    "MAX_LITERALS",
    "MAX_TEXT",
    "MAX_FORMULA",
    "escape",
    "shorten",
    "format_value",
    "more_note",
    "html_table",
    "key_value_table",
    "matrix_preview",
    "clause_text",
    "text_list",
    "stage_table",
    "formula_table",
    "html_block",
]

MAX_ROWS = 8
"""Rows of a matrix (and of a stage table's long cousins) shown before "... N more rows"."""

MAX_COLUMNS = 8
"""Columns of a matrix shown before "... N more columns"."""

MAX_CLAUSES = 10
"""Clauses of a formula shown before "... N more clauses"."""

MAX_LITERALS = 16
"""Literals of one clause (or of an assignment) shown before "... N more literals"."""

MAX_TEXT = 160
"""Characters of one text (a name, a message, a formula) shown before it is cut."""

MAX_FORMULA = 2000
"""Characters of LaTeX rendered as a formula; a longer one is shown as plain text only."""

_MAX_LIST_ITEMS = 10  # warnings and other bulleted lists
_MAX_TABLE_ROWS = 40  # stage tables: chains are short, plug-ins may not be


def escape(value: Any) -> str:
    """``str(value)`` made safe to place inside HTML text or an attribute value.

    >>> escape('<script>alert("x")</script>')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    """
    return html.escape(str(value), quote=True)


def shorten(text: Any, limit: int = MAX_TEXT) -> str:
    """``str(text)`` cut to ``limit`` characters, saying how many it dropped (not escaped).

    >>> shorten("abcdefghij", 4)
    'abcd... (6 more characters)'
    >>> shorten("abc", 4)
    'abc'
    """
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def format_value(value: Any) -> str:
    """Short text for a number or a parameter: ints with thousands separators, floats to 4 digits.

    >>> format_value(1048576), format_value(0.000123456), format_value(Fraction(1, 3)), format_value(True)
    ('1,048,576', '0.0001235', '1/3', 'True')
    """
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, Fraction):
        return str(value)
    return shorten(value)


def more_note(count: int, noun: str) -> str:
    """``"... N more NOUN"`` (an HTML paragraph) when ``count > 0``, else the empty string.

    >>> more_note(3, "clauses")
    '<p>... 3 more clauses</p>'
    >>> more_note(0, "clauses")
    ''
    """
    return f"<p>... {count:,} more {escape(noun)}</p>" if count > 0 else ""


def html_table(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], *, caption: str | None = None, limit: int = MAX_TEXT
) -> str:
    """A table; every header and cell is escaped (cells go through :func:`format_value`).

    A text cell is cut at ``limit`` characters.

    >>> html_table(["name"], [["<i>"]], caption="x")
    '<table><caption>x</caption><thead><tr><th>name</th></tr></thead><tbody><tr><td>&lt;i&gt;</td></tr></tbody></table>'
    """
    parts = ["<table>"]
    if caption is not None:
        parts.append(f"<caption>{escape(shorten(caption))}</caption>")
    if header:
        parts.append("<thead><tr>" + "".join(f"<th>{escape(format_value(h))}</th>" for h in header) + "</tr></thead>")
    parts.append("<tbody>")
    for row in rows:
        cells = (shorten(cell, limit) if isinstance(cell, str) else format_value(cell) for cell in row)
        parts.append("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def key_value_table(items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """A two-column table, one ``name | value`` row per item.

    >>> key_value_table({"n": 4})
    '<table><tbody><tr><th>n</th><td>4</td></tr></tbody></table>'
    """
    pairs = items.items() if isinstance(items, Mapping) else items
    rows = "".join(
        f"<tr><th>{escape(shorten(name))}</th><td>{escape(format_value(value))}</td></tr>" for name, value in pairs
    )
    return f"<table><tbody>{rows}</tbody></table>"


def _cell(value: Any) -> str:
    if isinstance(value, (np.integer, np.bool_)) or (isinstance(value, np.floating) and float(value).is_integer()):
        return str(int(value))
    if isinstance(value, np.floating):
        return f"{float(value):.4g}"
    return str(value)


def matrix_preview(name: str, matrix: Any, *, max_rows: int = MAX_ROWS, max_columns: int = MAX_COLUMNS) -> str:
    """The top-left corner of a matrix as a table captioned with its name and shape.

    Rows and columns are labelled with their indices; what is cut is stated
    under the table.

    >>> import numpy as np
    >>> text = matrix_preview("A", np.eye(10, dtype=np.uint8))
    >>> text.count("<tr>"), "<p>... 2 more rows, 2 more columns</p>" in text
    (9, True)
    """
    array = np.asarray(matrix)
    rows, columns = (int(array.shape[0]), int(array.shape[1])) if array.ndim == 2 else (int(array.size), 1)
    corner = array.reshape(rows, columns)[:max_rows, :max_columns]
    header = ["", *range(corner.shape[1])]
    body = [[index, *(_cell(v) for v in row)] for index, row in enumerate(corner)]
    cut = []
    if rows > max_rows:
        cut.append(f"{rows - max_rows:,} more rows")
    if columns > max_columns:
        cut.append(f"{columns - max_columns:,} more columns")
    note = f"<p>... {escape(', '.join(cut))}</p>" if cut else ""
    return html_table(header, body, caption=f"{name} ({rows:,} x {columns:,})") + note


def clause_text(clause: Sequence[int], max_literals: int = MAX_LITERALS) -> str:
    """A clause as a DIMACS line, ending in ``0``; a long clause is cut with a count.

    >>> clause_text((1, -2))
    '1 -2 0'
    >>> clause_text(tuple(range(1, 21)), 3)
    '1 2 3 ... (17 more literals) 0'
    """
    shown = " ".join(str(literal) for literal in clause[:max_literals])
    if len(clause) > max_literals:
        shown += f" ... ({len(clause) - max_literals:,} more literals)"
    return f"{shown} 0" if shown else "0"


def text_list(items: Sequence[Any], *, max_items: int = _MAX_LIST_ITEMS, noun: str = "items") -> str:
    """A bulleted list of (shortened, escaped) texts, at most ``max_items`` of them.

    >>> text_list(["a", "b", "c"], max_items=2, noun="warnings")
    '<ul><li>a</li><li>b</li></ul><p>... 1 more warnings</p>'
    """
    entries = "".join(f"<li>{escape(shorten(item))}</li>" for item in items[:max_items])
    return f"<ul>{entries}</ul>" + more_note(len(items) - max_items, noun)


def _pairs(mapping: Mapping[str, Any], skip: Collection[str] = ()) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in mapping.items() if v is not None and k not in skip)


def stage_table(stages: Sequence[Any], *, skip_info: Collection[str] = ()) -> str:
    """A trace as a table: stage, source -> target, sizes, choices and seconds, one row per stage.

    ``stages`` are objects with ``name``, ``source``, ``target``, ``sizes``,
    ``info`` and ``seconds`` (such as ``reductions.core.Stage``); ``info``
    entries that are ``None`` or named in ``skip_info`` are left out.

    >>> from types import SimpleNamespace
    >>> stage = SimpleNamespace(name="sat-ov", source="sat", target="ov", sizes={"d": 3}, info={}, seconds=0.5)
    >>> "<td>sat-ov</td><td>sat -&gt; ov</td><td>d=3</td>" in stage_table([stage])
    True
    """
    rows = [
        (
            shorten(stage.name),
            shorten(f"{stage.source} -> {stage.target}"),
            shorten(_pairs(stage.sizes)),
            shorten(_pairs(stage.info, skip_info)),
            f"{stage.seconds:.3f}",
        )
        for stage in stages[:_MAX_TABLE_ROWS]
    ]
    table = html_table(("stage", "source -> target", "sizes", "choices", "seconds"), rows)
    return table + more_note(len(stages) - _MAX_TABLE_ROWS, "stages")


def formula_table(rows: Iterable[tuple[str, str | None, str]], *, max_rows: int = _MAX_TABLE_ROWS) -> str:
    """Formulas as a table: ``name | $latex$ | plain text``, one row per ``(name, latex, plain)``.

    The LaTeX goes inside ``$...$`` for the notebook's MathJax to render; a
    missing (``None``) or overlong one leaves only the plain text, which is
    always there for pages without MathJax. Everything is escaped.

    >>> formula_table([("d", r"d = 3 m", "d = 3*m")])
    '<table><thead><tr><th>parameter</th><th>formula</th><th>plain text</th></tr></thead><tbody><tr><td>d</td><td>$d = 3 m$</td><td>d = 3*m</td></tr></tbody></table>'
    """
    rows = list(rows)
    body = []
    for name, latex, plain in rows[:max_rows]:
        rendered = f"${latex}$" if latex is not None and len(latex) <= MAX_FORMULA else "(see the plain text)"
        body.append(
            f"<tr><td>{escape(shorten(name))}</td><td>{escape(rendered)}</td><td>{escape(shorten(plain))}</td></tr>"
        )
    head = "<thead><tr><th>parameter</th><th>formula</th><th>plain text</th></tr></thead>"
    return f"<table>{head}<tbody>{''.join(body)}</tbody></table>" + more_note(len(rows) - max_rows, "parameters")


def html_block(title: str, *parts: str) -> str:
    """The outer frame of a display: an escaped bold title, then ``parts`` (already HTML).

    >>> html_block("CNF <x>", "<p>hi</p>")
    '<div class="reductions-display"><p><strong>CNF &lt;x&gt;</strong></p><p>hi</p></div>'
    """
    return f'<div class="reductions-display"><p><strong>{escape(shorten(title))}</strong></p>{"".join(parts)}</div>'
