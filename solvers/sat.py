"""Reference SAT solvers: vectorised brute force, and CDCL solvers through PySAT.

Both return a satisfying :class:`~instances.answers.Assignment` of all
``cnf.num_vars`` variables, or None when the formula is unsatisfiable.

Examples
--------
>>> from instances import CNF
>>> from solvers.sat import brute_force_sat, solve_sat
>>> formula = CNF(3, [[1, 2], [-1], [-2, 3]])
>>> brute_force_sat(formula).to_literals()
(-1, 2, 3)
>>> formula.is_satisfied_by(solve_sat(formula))
True
>>> solve_sat(CNF(1, [[1], [-1]])) is None
True
"""

from __future__ import annotations

import itertools
import types
from collections.abc import Mapping

import numpy as np
from pysat.solvers import NoSuchSolverError, Solver

from instances._validation import check_int
from instances.answers import Assignment
from instances.cnf import CNF
from instances.errors import SolverBudgetExceeded

__all__ = ["SAT_BACKENDS", "DEFAULT_BACKEND", "brute_force_sat", "solve_sat", "is_satisfiable"]

# PySAT's solvers that this module has been checked against, with what they are.
_KNOWN_BACKENDS = {
    "cadical103": "CaDiCaL 1.0.3",
    "cadical153": "CaDiCaL 1.5.3",
    "cadical195": "CaDiCaL 1.9.5",
    "cadical300": "CaDiCaL 3.0.0",
    "ergo": "Ergo",
    "gluecard3": "Gluecard 3",
    "gluecard4": "Gluecard 4",
    "glucose3": "Glucose 3",
    "glucose4": "Glucose 4.1",
    "glucose42": "Glucose 4.2.1",
    "kissat404": "Kissat 4.0.4",
    "lingeling": "Lingeling",
    "maplechrono": "MapleLCMDistChronoBT",
    "maplecm": "MapleCM",
    "maplesat": "MapleCOMSPS_LRB",
    "mergesat3": "MergeSat 3",
    "minicard": "Minicard",
    "minisat22": "MiniSat 2.2",
    "minisatep": "MiniSat with IPASIR-UP support",
}


def _available(name: str) -> bool:
    try:
        solver = Solver(name=name)
    except NoSuchSolverError:
        return False
    solver.delete()
    return True


SAT_BACKENDS: Mapping[str, str] = types.MappingProxyType(
    {name: description for name, description in _KNOWN_BACKENDS.items() if _available(name)}
)
"""Read-only mapping from the back-end names :func:`solve_sat` accepts to a
description of each; only solvers that this PySAT build provides are listed."""

DEFAULT_BACKEND = "cadical195"

# Brute force: the low variables' truth tables are kept bit-packed, one row per
# clause, within this many bytes; the block of low variables has at most
# _MAX_LOW_BITS of them (2^16 assignments per block).
_TABLE_BYTES = 1 << 24
_MAX_LOW_BITS = 16
# Scratch space (bytes) for one chunk of gathered literal rows.
_SCRATCH_BYTES = 1 << 24
# Clause tables ANDed between two checks for an empty block.
_AND_GROUP = 32


def _check_cnf(cnf: object) -> CNF:
    if not isinstance(cnf, CNF):
        raise TypeError(f"'cnf' must be a CNF (got {type(cnf).__name__})")
    return cnf


def _low_clause_table(
    rows: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, low: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bit-packed truth tables over the ``2^low`` assignments of the low variables.

    Returns ``(table, valid)``: ``table[c]`` has bit ``a`` set when assignment
    ``a`` of the low variables satisfies one of clause ``c``'s low literals;
    ``valid`` has exactly the ``2^low`` real bits set (the packing pads to
    whole bytes with zeros).
    """
    size = 1 << low
    counting = np.arange(size, dtype=np.int64)
    literal_rows = np.zeros((2 * low + 1, (size + 7) // 8), dtype=np.uint8)
    valid = np.packbits(np.ones(size, dtype=bool), bitorder="little")
    for variable in range(low):
        positive = np.packbits(((counting >> variable) & 1).astype(bool), bitorder="little")
        literal_rows[2 * variable + 1] = positive
        literal_rows[2 * variable + 2] = ~positive & valid
    table = np.empty((lengths.size, literal_rows.shape[1]), dtype=np.uint8)
    # Gather literal rows clause chunk by clause chunk to bound the scratch space.
    per_chunk = max(1, _SCRATCH_BYTES // literal_rows.shape[1])
    ends = offsets + lengths
    start = 0
    while start < lengths.size:
        first = int(offsets[start])
        stop = max(start + 1, int(np.searchsorted(ends, first + per_chunk, side="right")))
        gathered = literal_rows[rows[first : int(ends[stop - 1])]]
        table[start:stop] = np.bitwise_or.reduceat(gathered, offsets[start:stop] - first, axis=0)
        start = stop
    return table, valid


def brute_force_sat(cnf: CNF, *, max_vars: int = 22) -> Assignment | None:
    """Decide satisfiability by trying every assignment, vectorised with numpy.

    Parameters
    ----------
    cnf : CNF
        The formula.
    max_vars : int
        Refuse formulas with more variables than this (at most 63).

    Returns
    -------
    Assignment or None
        The first satisfying assignment in counting order (x1 the lowest
        bit, so all-false first), or None when there is none.

    Raises
    ------
    SolverBudgetExceeded
        ``cnf.num_vars > max_vars``.
    TypeError
        ``cnf`` is not a CNF.
    ValueError
        ``max_vars`` is negative or above 63.

    See Also
    --------
    solve_sat : a CDCL solver, for formulas of any size.

    Notes
    -----
    The variables are split into up to 16 *low* ones and the remaining
    *high* ones. For each clause, a bit-packed table over the ``2^low``
    assignments of the low variables records where its low literals
    satisfy it (``O(m · 2^low / 8)`` bytes, built once). A block fixes the
    high variables: the clauses already satisfied by them drop out, and the
    assignments of the block that satisfy the formula are the bitwise AND of
    the remaining clauses' tables (stopping early once the AND is zero). The
    loop runs once per block, not per assignment; the work is at most
    ``O(2^n · m / 8)`` byte operations. Empty
    clauses, tautologies and repeated literals need no special case. The
    whole computation is independent of the split-and-list reduction to OV,
    so it can serve as that reduction's reference.

    Examples
    --------
    >>> from instances import CNF
    >>> from solvers.sat import brute_force_sat
    >>> brute_force_sat(CNF(2, [[1, 2], [-1, 2]])).values
    (False, True)
    >>> brute_force_sat(CNF(2, [[1], [-1]])) is None
    True
    >>> brute_force_sat(CNF(0, [])).values
    ()
    >>> brute_force_sat(CNF(30, [[30]]))
    Traceback (most recent call last):
    ...
    instances.errors.SolverBudgetExceeded: brute force over 30 variables (2^30 assignments) exceeds 'max_vars' = 22
    """
    cnf = _check_cnf(cnf)
    max_vars = check_int("max_vars", max_vars, minimum=0, maximum=63)
    num_vars = cnf.num_vars
    if num_vars > max_vars:
        raise SolverBudgetExceeded(
            f"brute force over {num_vars} variables (2^{num_vars} assignments) exceeds 'max_vars' = {max_vars}"
        )
    if cnf.has_empty_clause:
        return None
    if not cnf.clauses:
        return Assignment((False,) * num_vars)

    num_clauses = cnf.num_clauses
    low = min(num_vars, _MAX_LOW_BITS, max(0, (_TABLE_BYTES * 8 // num_clauses).bit_length() - 1))
    high = num_vars - low

    lengths = np.fromiter(map(len, cnf.clauses), dtype=np.int64, count=num_clauses)
    offsets = np.zeros(num_clauses, dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    literals = np.fromiter(itertools.chain.from_iterable(cnf.clauses), dtype=np.int64, count=int(lengths.sum()))
    variables = np.abs(literals) - 1
    negative = literals < 0
    is_low = variables < low

    # Low literals index a row of the truth-table stack; high literals the empty row 0.
    rows = np.where(is_low, 2 * variables + 1 + negative, 0)
    table, valid = _low_clause_table(rows, offsets, lengths, low)

    # High literals as bit masks over the high variables, one pair per clause.
    shift = np.where(is_low, 0, variables - low).astype(np.uint64)
    bits = np.left_shift(np.uint64(1), shift)
    zero = np.uint64(0)
    positive_high = np.bitwise_or.reduceat(np.where(~is_low & ~negative, bits, zero), offsets)
    negative_high = np.bitwise_or.reduceat(np.where(~is_low & negative, bits, zero), offsets)

    blocks_per_chunk = max(1, (1 << 22) // num_clauses)
    for chunk_start in range(0, 1 << high, blocks_per_chunk):
        chunk_stop = min(1 << high, chunk_start + blocks_per_chunk)
        highs = np.arange(chunk_start, chunk_stop, dtype=np.uint64)[:, None]
        satisfied_high = ((highs & positive_high) | (~highs & negative_high)) != 0
        for offset, satisfied in enumerate(satisfied_high):
            remaining = np.flatnonzero(~satisfied)
            found = valid.copy()
            # AND the remaining clauses' tables a group at a time, stopping once
            # no assignment of the block is left.
            for group in range(0, remaining.size, _AND_GROUP):
                found &= np.bitwise_and.reduce(table[remaining[group : group + _AND_GROUP]], axis=0)
                if not found.any():
                    break
            hits = np.flatnonzero(found)
            if hits.size:
                byte = int(found[hits[0]])
                low_value = int(hits[0]) * 8 + (byte & -byte).bit_length() - 1
                value = ((chunk_start + offset) << low) | low_value
                return Assignment([(value >> index) & 1 for index in range(num_vars)])
    return None


def _check_backend(backend: object) -> str:
    if not isinstance(backend, str) or backend not in SAT_BACKENDS:
        raise ValueError(f"unknown SAT backend {backend!r}; valid names: {', '.join(sorted(SAT_BACKENDS))}")
    return backend


def solve_sat(cnf: CNF, backend: str = DEFAULT_BACKEND) -> Assignment | None:
    """Solve a formula with a CDCL solver through PySAT.

    Parameters
    ----------
    cnf : CNF
        The formula.
    backend : str
        A key of :data:`SAT_BACKENDS` (default ``"cadical195"``).

    Returns
    -------
    Assignment or None
        A satisfying assignment of all ``cnf.num_vars`` variables (those the
        solver leaves open are False), or None when unsatisfiable.

    Raises
    ------
    ValueError
        ``backend`` is not a known, available back end; the message lists
        the valid names.
    TypeError
        ``cnf`` is not a CNF.

    See Also
    --------
    brute_force_sat : exhaustive search, for small formulas.
    is_satisfiable : the decision version.

    Notes
    -----
    Formulas with an empty clause are answered None and formulas without
    clauses all-False, without calling the solver: PySAT's solvers are not
    asked about these edge cases (some crash on a formula with no clauses).
    The solver is used as a context manager, so it is freed on return.

    Examples
    --------
    >>> from instances import CNF
    >>> from solvers.sat import solve_sat
    >>> formula = CNF(4, [[1, -2], [2], [-3, 4]])
    >>> formula.is_satisfied_by(solve_sat(formula, backend="minisat22"))
    True
    >>> solve_sat(CNF(2, [[1], []])) is None
    True
    >>> solve_sat(formula, backend="nope")
    Traceback (most recent call last):
    ...
    ValueError: unknown SAT backend 'nope'; valid names: cadical103, ...
    """
    cnf = _check_cnf(cnf)
    backend = _check_backend(backend)
    if cnf.has_empty_clause:
        return None
    if not cnf.clauses:
        return Assignment((False,) * cnf.num_vars)
    with Solver(name=backend, bootstrap_with=cnf.clauses) as solver:
        if not solver.solve():
            return None
        model = solver.get_model()
    values = [False] * cnf.num_vars
    for literal in model:
        if literal > 0 and literal <= cnf.num_vars:
            values[literal - 1] = True
    return Assignment(values)


def is_satisfiable(cnf: CNF, backend: str = DEFAULT_BACKEND) -> bool:
    """Whether a formula has a satisfying assignment (through :func:`solve_sat`).

    Parameters
    ----------
    cnf : CNF
        The formula.
    backend : str
        A key of :data:`SAT_BACKENDS`.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        Unknown ``backend``.

    Examples
    --------
    >>> from instances import CNF
    >>> from solvers.sat import is_satisfiable
    >>> is_satisfiable(CNF(1, [[1]])), is_satisfiable(CNF(1, [[1], [-1]]))
    (True, False)
    """
    return solve_sat(cnf, backend=backend) is not None
