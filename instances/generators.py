"""Generators of CNF formulas: uniform random k-SAT, planted k-SAT, pigeonhole.

Every random generator takes the keyword ``seed`` (an int, a numpy
``Generator`` or None), normalised by :func:`instances._validation.as_generator`;
the same int seed gives an equal formula. Arguments are checked before any
randomness is drawn.

Examples
--------
>>> from instances.generators import random_ksat, pigeonhole
>>> random_ksat(20, ratio=4.55, seed=1).num_clauses
91
>>> random_ksat(5, 4, seed=7) == random_ksat(5, 4, seed=7)
True
>>> pigeonhole(3, 2).parameters()
{'v': 6, 'm': 9}
"""

from __future__ import annotations

import numpy as np

from instances._validation import Seed, as_generator, check_int, check_real
from instances.answers import Assignment
from instances.cnf import CNF

__all__ = ["random_ksat", "planted_ksat", "pigeonhole"]


def _check_width(num_vars: int, k: int) -> None:
    if k > num_vars:
        raise ValueError(f"'k' = {k} must be <= 'num_vars' = {num_vars}: a clause needs k distinct variables")


def _distinct_variables(rng: np.random.Generator, num_vars: int, num_clauses: int, k: int) -> np.ndarray:
    """A ``(num_clauses, k)`` array of variables ``1..num_vars``, each row ``k``
    distinct ones, uniform among the ``k``-subsets and in random order.

    Floyd's sampling, vectorised over rows: for ``j = n-k .. n-1`` draw
    ``t`` in ``0..j`` and take ``t`` unless the row already holds it, in which
    case take ``j``. This yields a uniform ``k``-subset of ``0..n-1``; a
    random permutation of each row then makes the order uniform too.
    """
    chosen = np.empty((num_clauses, k), dtype=np.int64)
    for column, j in enumerate(range(num_vars - k, num_vars)):
        draw = rng.integers(0, j + 1, size=num_clauses)
        taken = (chosen[:, :column] == draw[:, None]).any(axis=1)
        chosen[:, column] = np.where(taken, j, draw)
    order = np.argsort(rng.random((num_clauses, k)), axis=1)
    return np.take_along_axis(chosen, order, axis=1) + 1


def _to_cnf(num_vars: int, variables: np.ndarray, negative: np.ndarray) -> CNF:
    literals = np.where(negative, -variables, variables)
    return CNF(num_vars, [tuple(row) for row in literals.tolist()])


def random_ksat(
    num_vars: int,
    num_clauses: int | None = None,
    k: int = 3,
    *,
    ratio: float | None = None,
    seed: Seed = None,
) -> CNF:
    """A uniform random k-SAT formula.

    Each clause independently: ``k`` distinct variables drawn uniformly
    (in random order), each negated with probability 1/2.

    Parameters
    ----------
    num_vars : int
        Number of variables, ``>= k``.
    num_clauses : int, optional
        Number of clauses, ``>= 0``. Give exactly one of ``num_clauses``
        and ``ratio``.
    k : int
        Clause width, ``>= 1``.
    ratio : float, optional
        Clause-to-variable ratio: ``num_clauses = round(ratio * num_vars)``
        (Python's ``round``). Near 4.26 random 3-SAT is hardest.
    seed : int, numpy.random.Generator or None
        Randomness; the same int gives an equal formula.

    Returns
    -------
    CNF
        ``num_vars`` variables, ``num_clauses`` clauses of width ``k``.

    Raises
    ------
    ValueError
        Neither or both of ``num_clauses`` and ``ratio``; ``k > num_vars``;
        a negative count or ratio; ``k < 1``.
    TypeError
        A count that is not an int.

    See Also
    --------
    planted_ksat : random formulas guaranteed satisfiable.

    Notes
    -----
    Time and memory ``O(num_clauses * k^2)``, vectorised with numpy.
    SATLIB's ``uf20-91`` set is this distribution with ``num_vars = 20``,
    ``num_clauses = 91``, ``k = 3``, filtered to satisfiable formulas.

    Examples
    --------
    >>> from instances.generators import random_ksat
    >>> f = random_ksat(10, 5, k=3, seed=0)
    >>> f.num_vars, f.num_clauses, {len(set(map(abs, c))) for c in f.clauses}
    (10, 5, {3})
    >>> random_ksat(20, ratio=4.26, seed=0).num_clauses
    85
    >>> random_ksat(2, 5, k=3)
    Traceback (most recent call last):
    ...
    ValueError: 'k' = 3 must be <= 'num_vars' = 2: a clause needs k distinct variables
    """
    num_vars = check_int("num_vars", num_vars, minimum=0)
    k = check_int("k", k, minimum=1)
    if (num_clauses is None) == (ratio is None):
        got = "neither" if num_clauses is None else "both"
        raise ValueError(f"exactly one of 'num_clauses' and 'ratio' must be given (got {got})")
    if ratio is not None:
        ratio = check_real("ratio", ratio, minimum=0)
        num_clauses = round(ratio * num_vars)
    num_clauses = check_int("num_clauses", num_clauses, minimum=0)
    _check_width(num_vars, k)
    rng = as_generator(seed)
    variables = _distinct_variables(rng, num_vars, num_clauses, k)
    negative = rng.integers(0, 2, size=(num_clauses, k), dtype=np.int8).astype(bool)
    return _to_cnf(num_vars, variables, negative)


def planted_ksat(num_vars: int, num_clauses: int, k: int = 3, *, seed: Seed = None) -> tuple[CNF, Assignment]:
    """A random k-SAT formula satisfied by a hidden assignment, and that assignment.

    A uniformly random assignment is drawn first; each clause is then drawn
    uniformly among the width-``k`` clauses (distinct variables) that it
    satisfies.

    Parameters
    ----------
    num_vars : int
        Number of variables, ``>= k``.
    num_clauses : int
        Number of clauses, ``>= 0``.
    k : int
        Clause width, ``>= 1``.
    seed : int, numpy.random.Generator or None
        Randomness; the same int gives an equal formula and assignment.

    Returns
    -------
    formula : CNF
        ``num_vars`` variables, ``num_clauses`` clauses of width ``k``.
    planted : Assignment
        The hidden assignment; ``formula.is_satisfied_by(planted)`` holds.

    Raises
    ------
    ValueError
        ``k > num_vars``, a negative count, ``k < 1``.
    TypeError
        A count that is not an int.

    See Also
    --------
    random_ksat : the unconditioned distribution.

    Notes
    -----
    Variables are drawn as in :func:`random_ksat`; signs uniformly, and the
    rows whose ``k`` literals are all false under the planted assignment are
    redrawn (all of them at once, as one numpy operation) until none is
    left. Every set of ``k`` variables has the same number ``2^k - 1`` of
    satisfied sign patterns, so the clause is uniform among the satisfied
    ones. Each round keeps a fraction ``2^-k`` of the rows, so about
    ``log2(num_clauses) / k`` rounds are needed. Planted formulas are easier
    than uniform ones at the same ratio: the planted assignment biases the
    literals' signs.

    Examples
    --------
    >>> from instances.generators import planted_ksat
    >>> formula, planted = planted_ksat(8, 30, seed=3)
    >>> formula.is_satisfied_by(planted)
    True
    >>> planted_ksat(8, 30, seed=3) == (formula, planted)
    True
    """
    num_vars = check_int("num_vars", num_vars, minimum=0)
    num_clauses = check_int("num_clauses", num_clauses, minimum=0)
    k = check_int("k", k, minimum=1)
    _check_width(num_vars, k)
    rng = as_generator(seed)
    hidden = rng.integers(0, 2, size=num_vars, dtype=np.int8).astype(bool)
    variables = _distinct_variables(rng, num_vars, num_clauses, k)
    values = hidden[variables - 1]
    negative = rng.integers(0, 2, size=(num_clauses, k), dtype=np.int8).astype(bool)
    # A literal is true when it is positive and its variable true, or negative and false.
    unsatisfied = np.flatnonzero(~(negative != values).any(axis=1))
    while unsatisfied.size:
        negative[unsatisfied] = rng.integers(0, 2, size=(unsatisfied.size, k), dtype=np.int8).astype(bool)
        still = ~(negative[unsatisfied] != values[unsatisfied]).any(axis=1)
        unsatisfied = unsatisfied[still]
    return _to_cnf(num_vars, variables, negative), Assignment(hidden.tolist())


def pigeonhole(pigeons: int, holes: int) -> CNF:
    """The pigeonhole formula PHP(pigeons, holes): every pigeon in a hole, no two in one.

    Variable ``(p - 1) * holes + h`` says pigeon ``p`` sits in hole ``h``
    (``1 <= p <= pigeons``, ``1 <= h <= holes``). The clauses, in this order:
    for each pigeon ``p``, each hole ``h`` and each later pigeon ``q > p``,
    ``(-x[p,h] or -x[q,h])``; then for each pigeon ``p``,
    ``(x[p,1] or ... or x[p,holes])``. This is the numbering and order of the
    classic ``holeN.cnf`` benchmark files (``pigeonhole(n + 1, n)``).

    Parameters
    ----------
    pigeons : int
        Number of pigeons, ``>= 0``.
    holes : int
        Number of holes, ``>= 0``.

    Returns
    -------
    CNF
        ``pigeons * holes`` variables and
        ``holes * C(pigeons, 2) + pigeons`` clauses; satisfiable if and only
        if ``pigeons <= holes``.

    Raises
    ------
    ValueError
        A negative count.
    TypeError
        A count that is not an int.

    Notes
    -----
    With no holes every pigeon's clause is empty. Resolution proofs of
    unsatisfiability need size exponential in ``holes`` (Haken 1985), so CDCL
    solvers struggle beyond a dozen holes.

    Examples
    --------
    >>> from instances.generators import pigeonhole
    >>> pigeonhole(3, 2).clauses
    ((-1, -3), (-1, -5), (-2, -4), (-2, -6), (-3, -5), (-4, -6), (1, 2), (3, 4), (5, 6))
    >>> pigeonhole(-1, 2)
    Traceback (most recent call last):
    ...
    ValueError: 'pigeons' must be >= 0 (got -1)
    """
    pigeons = check_int("pigeons", pigeons, minimum=0)
    holes = check_int("holes", holes, minimum=0)

    def variable(pigeon: int, hole: int) -> int:
        return (pigeon - 1) * holes + hole

    clauses: list[tuple[int, ...]] = [
        (-variable(p, h), -variable(q, h))
        for p in range(1, pigeons + 1)
        for h in range(1, holes + 1)
        for q in range(p + 1, pigeons + 1)
    ]
    clauses.extend(tuple(variable(p, h) for h in range(1, holes + 1)) for p in range(1, pigeons + 1))
    return CNF(pigeons * holes, clauses)
