"""Hypothesis strategies shared by the test suites.

Sizes are kept small so that brute force stays cheap on every example.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from instances import CNF
from instances.attention import AttentionInstance, random_attention
from instances.vectors import OVInstance

__all__ = [
    "literals",
    "clauses",
    "cnf_formulas",
    "dimacs_comments",
    "dimacs_layouts",
    "ov_instances",
    "attention_instances",
]


def literals(num_vars: int) -> st.SearchStrategy[int]:
    """Non-zero DIMACS literals over variables ``1..num_vars`` (``num_vars >= 1``)."""
    return st.integers(-num_vars, num_vars - 1).map(lambda x: x + 1 if x >= 0 else x)


def clauses(num_vars: int, max_width: int = 4, allow_empty: bool = False) -> st.SearchStrategy[tuple[int, ...]]:
    """One clause over ``1..num_vars``; repeated literals and tautologies occur
    naturally when ``num_vars`` is small."""
    if num_vars == 0:
        return st.just(())
    return st.lists(literals(num_vars), min_size=0 if allow_empty else 1, max_size=max_width).map(tuple)


@st.composite
def cnf_formulas(
    draw: st.DrawFn,
    min_vars: int = 0,
    max_vars: int = 7,
    max_clauses: int = 10,
    max_width: int = 4,
    empty_clauses: bool = True,
) -> CNF:
    """Small CNF formulas: 0 variables, odd and even counts, no clauses, empty
    clauses now and then (unless ``empty_clauses`` is False), tautologies,
    duplicate literals, and variables declared but unused.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(cnf_formulas(), lambda f: f.has_empty_clause and f.num_vars > 0).clauses
    ((),)
    """
    num_vars = draw(st.integers(min_vars, max_vars))
    if num_vars == 0:
        count = draw(st.integers(0, 2)) if empty_clauses else 0
        return CNF(0, [()] * count)
    # One flat stream of literals in which 0 ends a clause (as in DIMACS) is far
    # cheaper to generate than nested lists; empty segments are dropped here and
    # empty clauses inserted below on purpose.
    length = draw(st.integers(0, max_clauses * (max_width + 1)))
    stream = draw(st.lists(st.integers(-num_vars, num_vars), min_size=length, max_size=length))
    formula_clauses: list[tuple[int, ...]] = []
    current: list[int] = []
    for literal in (*stream, 0):
        if literal:
            current.append(literal)
        elif current:
            formula_clauses.append(tuple(current[:max_width]))
            current = []
    del formula_clauses[max_clauses:]
    if formula_clauses and draw(st.integers(0, 7)) == 0:
        # A tautology: some clause also gets the negation of one of its literals.
        index = draw(st.integers(0, len(formula_clauses) - 1))
        clause = formula_clauses[index]
        formula_clauses[index] = (*clause, -clause[draw(st.integers(0, len(clause) - 1))])
    if empty_clauses and draw(st.integers(0, 15)) == 9:
        formula_clauses.insert(draw(st.integers(0, len(formula_clauses))), ())
    return CNF(num_vars, formula_clauses)


def dimacs_comments() -> st.SearchStrategy[list[str]]:
    """Comment texts for ``write_dimacs``: any text, line breaks included."""
    return st.lists(st.text(max_size=20), max_size=3)


@st.composite
def dimacs_layouts(draw: st.DrawFn, formula: CNF) -> str:
    """A legal but untidy DIMACS text of ``formula``: random line ends (LF,
    CRLF, CR), leading blank lines, spaces and tabs, comments between and
    inside clauses, clauses split over lines or sharing one, optionally
    SATLIB's ``%``/``0`` ending and no final line break."""
    newline = draw(st.sampled_from(("\n", "\r\n", "\r")))
    space = st.text(alphabet=" \t", min_size=1, max_size=3)
    pieces: list[str] = [newline * draw(st.integers(0, 2))]
    if draw(st.booleans()):
        pieces.append("c header comment" + newline)
    pieces.append(f"{draw(space)}p{draw(space)}cnf{draw(space)}{formula.num_vars}{draw(space)}{formula.num_clauses}")
    pieces.append(newline)
    for clause in formula.clauses:
        for literal in (*clause, 0):
            pieces.append(str(literal))
            if draw(st.integers(0, 5)) == 0:
                pieces.append(newline)
                if draw(st.integers(0, 3)) == 0:
                    pieces.append("c inside" + newline)
            else:
                pieces.append(draw(space))
        if draw(st.booleans()):
            pieces.append(newline)
    if draw(st.booleans()):
        pieces.append(newline + "%" + newline + "0" + newline)
    text = "".join(pieces)
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    return text


@st.composite
def ov_instances(draw: st.DrawFn, min_rows_a: int = 0, max_rows: int = 7, max_dimension: int = 7) -> OVInstance:
    """Small OV instances, possibly with an empty second set or dimension 0."""
    n_a = draw(st.integers(min_rows_a, max_rows))
    n_b, d = draw(st.integers(0, max_rows)), draw(st.integers(0, max_dimension))
    bits = st.integers(0, 1)
    a = draw(st.lists(st.lists(bits, min_size=d, max_size=d), min_size=n_a, max_size=n_a))
    b = draw(st.lists(st.lists(bits, min_size=d, max_size=d), min_size=n_b, max_size=n_b))
    return OVInstance(np.array(a, dtype=np.uint8).reshape(n_a, d), np.array(b, dtype=np.uint8).reshape(n_b, d))


@st.composite
def attention_instances(
    draw: st.DrawFn,
    bounds: tuple[float, ...] = (0.0, 0.3, 1.0, 1.5),
    nonnegative: bool | None = None,
    max_rows: int = 7,
    max_dimension: int = 4,
) -> AttentionInstance:
    """Small attention instances; sometimes V lives on another scale (1e-300 .. 1e300)
    than the scores, sometimes with a zero column."""
    n = draw(st.integers(0, max_rows))
    m = draw(st.integers(1, 9))
    d = draw(st.integers(1, max_dimension))
    dv = draw(st.integers(1, 3))
    bound = draw(st.sampled_from(bounds))
    positive = draw(st.booleans()) if nonnegative is None else nonnegative
    seed = draw(st.integers(0, 2**32 - 1))
    inst = random_attention(n, d, bound, num_keys=m, value_columns=dv, nonnegative_values=positive, seed=seed)
    if draw(st.booleans()):
        scale = draw(st.sampled_from([1e-300, 1e-30, 1e30, 1e300]))
        value = inst.value / max(bound, 1.0) * scale
        if draw(st.booleans()):
            value[:, 0] = 0.0
        inst = AttentionInstance(inst.query, inst.key, value, max(bound, float(np.abs(value).max())))
    return inst
