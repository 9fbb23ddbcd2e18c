"""Printing a chain's composed parameter map and the fine-grained implication it carries."""

from __future__ import annotations

import sympy

from reductions.core import Chain
from reductions.family import FamilyChain
from reductions.problems import get_problem, problem_symbols

__all__ = [
    "describe_chain",
    "shared_names",
    "attention_size_exponent",
    "fine_grained_implication",
    "family_implication",
    "log_star",
    "iterated_log",
]

_BALL = sympy.Symbol("hamming_ball", positive=True)


def iterated_log(x: int | float) -> int:
    """``log* x``: how many times ``log2`` must be applied before the value is ``<= 1`` (exact on ints).

    Computed against the tower ``1, 2, 4, 16, 65536, 2^65536``: ``log* x = k``
    for ``T(k-1) < x <= T(k)``, with no float rounding for integer ``x``.

    >>> [iterated_log(x) for x in (0, 1, 2, 3, 4, 5, 16, 17, 65536, 65537)]
    [0, 0, 1, 2, 2, 3, 3, 4, 4, 5]
    """
    count, tower = 0, 1
    while x > tower:
        count += 1
        if tower >= 65536:  # the next tower value, 2^65536, exceeds any size this project handles
            return count + (1 if x > 2**65536 else 0)
        tower = 2**tower
    return count


class log_star(sympy.Function):  # type: ignore[misc]  # sympy ships no stubs
    """The iterated logarithm ``log* x`` as a sympy function (evaluated on numbers by :func:`iterated_log`).

    >>> x = sympy.Symbol("x", positive=True)
    >>> log_star(x).subs(x, 16), log_star(sympy.Integer(17)), log_star(sympy.Rational(9, 2))
    (3, 4, 3)
    """

    @classmethod
    def eval(cls, x: sympy.Expr) -> sympy.Integer | None:
        if x.is_Number:
            return sympy.Integer(iterated_log(int(x) if x.is_Integer else float(x)))
        return None


def _attention_branch(expression: sympy.Expr) -> sympy.Expr:
    """The expression on Lemma 4.7's attention branch (``hamming_ball = 0``)."""
    return sympy.sympify(expression).subs(_BALL, 0) if _BALL in sympy.sympify(expression).free_symbols else expression


def shared_names(chain: Chain) -> list[str]:
    """Names that are both a target parameter and a source symbol of ``chain``'s composed map.

    On the catalogue's chains from ``sat`` there are none (``m`` is always the
    clauses, ``n_keys`` the attention keys); a chain between problems that both
    have a dimension ``d`` shares that name, and :func:`describe_chain` says so.

    >>> from reductions.registry import path
    >>> shared_names(path("sat", "aattc")), shared_names(path("ov", "gapann"))
    ([], ['d'])
    """
    mapping = chain.parameters()
    used = {str(symbol) for expr in mapping.outputs.values() for symbol in sympy.sympify(expr).free_symbols}
    # a size carried over unchanged (n_a = n_a) means the same thing on both sides
    carried = {name for name, expr in mapping.outputs.items() if str(expr) == name}
    return sorted((set(mapping.outputs) & used) - carried)


def describe_chain(chain: Chain) -> str:
    """The chain's composed parameter map, one line per target parameter.

    Where the map depends on Lemma 4.7's branch, the attention branch is shown
    and a note says so.

    >>> from reductions.registry import path
    >>> print(describe_chain(path("sat", "ov")))
      n_a = 2**ceiling(v/2)
      n_b = 2**(v - ceiling(v/2))
      d = m
    >>> print(describe_chain(path("sat", "aattc")).splitlines()[2])
      d = 12*m
    """
    mapping = chain.parameters()
    lines = [f"  {name} = {sympy.sstr(_attention_branch(expr))}" for name, expr in mapping.outputs.items()]
    free = [name for name in mapping.free if name != "hamming_ball"]
    if free:
        lines.append(f"  (chosen per instance: {', '.join(free)})")
    if "hamming_ball" in mapping.free:
        lines.append("  (attention branch; when the Hamming-ball search is cheaper, Lemma 4.7 builds a 1 x 1 instance)")
    shared = shared_names(chain)
    if shared:
        lines.append(f"  (left: {chain.target}'s {', '.join(shared)}; right: {chain.source}'s)")
    return "\n".join(lines)


def attention_size_exponent(chain: Chain | FamilyChain) -> sympy.Expr:
    """``c`` with ``log2(n) = c v + O(1)``: how the attention length grows with the variables.

    ``n`` is the number of queries of the chain's target (the first name of its
    problem's ``attention_shape``).

    >>> from reductions.registry import path
    >>> attention_size_exponent(path("sat", "aattc"))
    1/2
    """
    if chain.source != "sat":
        raise ValueError(f"'chain' must start at 'sat' (got {chain.source!r})")
    outputs = chain.parameters().outputs
    shape = get_problem(chain.target).attention_shape
    if shape is None:
        raise ValueError(f"{chain.name} does not end in an attention problem (it ends in {chain.target!r})")
    length = outputs[shape[0]]
    v = problem_symbols("sat")["v"]
    k = sympy.Symbol("k", positive=True, integer=True)
    even = _attention_branch(length).subs(v, 2 * k)  # ceilings and floors resolve for even v
    return sympy.limit(sympy.log(even, 2) / (2 * k), k, sympy.oo)


def fine_grained_implication(chain: Chain) -> str:
    """What an ``O(n^(2-q))`` algorithm for the chain's target would give for SAT.

    >>> from reductions.registry import path
    >>> print(fine_grained_implication(path("sat", "aattc")))
    n grows like 2^(1/2 v): an O(n^(2-q)) algorithm for aattc would decide CNF-SAT in O(2^((1 - q/2)v) poly(m)) time, against SETH for every q > 0.
    """
    c = attention_size_exponent(chain)
    return (
        f"n grows like 2^({sympy.sstr(c)} v): an O(n^(2-q)) algorithm for {chain.target} would decide CNF-SAT "
        f"in O(2^({_subquadratic_exponent(c)}) poly(m)) time, against SETH for every q > 0."
    )


def _subquadratic_exponent(c: sympy.Expr) -> str:
    """``(2c - c q)v`` written for humans: ``n^(2-q) = 2^(c (2 - q) v)``."""
    return f"({sympy.sstr(2 * c)} - q{'' if c == 1 else '/' + sympy.sstr(1 / c) if (1 / c).is_Integer else '*' + sympy.sstr(c)})v"


def family_implication(chain: FamilyChain) -> str:
    """What an ``O(n^(2-q))`` algorithm gives for SAT through a chain to many instances (``family_size()``).

    Each member is one oracle call, so the time is the per-member time times the
    member count; a SETH consequence needs a count of ``2^o(v)``. ``sat-aattc-pcp``
    does not show one (``p^(2m - 2) = 2^Theta(m log m)``); a family step that
    states ``member_growth`` (``ov-zmaxip``: ``2^o(m)`` members through Chen's
    recursion, and how far from the limit the computed sizes are) gives the
    consequence in the limit, for ``m = O(v)`` clauses.

    >>> from reductions.registry import get_reduction
    >>> chain = get_reduction("sat-aattc-pcp")
    >>> print(family_implication(chain))
    no SETH consequence by itself: an O(n^(2-q)) algorithm for aattc takes O(2^((1 - q/2)v) poly(m)) time per member (n grows like 2^(1/2 v)), times p**(2*Max(1, m) - 2) members, one oracle call each; a SETH consequence needs 2^o(v) members, not shown for this chain.
    """
    c = attention_size_exponent(chain)
    cost = (
        f"an O(n^(2-q)) algorithm for {chain.target} takes "
        f"O(2^({_subquadratic_exponent(c)}) poly(m)) time per member (n grows like 2^({sympy.sstr(c)} v)), "
        f"times {chain.family_size()} members, one oracle call each"
    )
    stated = getattr(getattr(chain, "head", chain), "member_growth", None)
    growth = stated() if callable(stated) else None
    if growth is None:
        return (
            f"no SETH consequence by itself: {cost}; a SETH consequence needs 2^o(v) members, not shown for this chain."
        )
    return (
        f"a SETH consequence in the limit: {cost}; {growth}, so for k-SAT with m = O(v) clauses (sparsification) "
        f"the total is O(2^({_subquadratic_exponent(c)} + o(v))), against SETH for every q > 0, in the limit."
    )
