"""OV -> Z-Max-IP in dimension ``2^O(log* n)``, one instance per admissible value (``ov-zmaxip``).

A reconstruction of L. Chen, "On the Hardness of Approximate and Exact
(Bichromatic) Maximum Inner Product" (CCC 2018; Theory of Computing 16(4),
2020), Section 4: OV in dimension ``c log n`` goes to Z-OV in small dimension
through the Chinese remainder theorem, applied recursively, and Z-OV to
Z-Max-IP by squaring. The steps and constants below are this project's; the
module says where they may depart from the paper.

**1. Chinese-remainder packing (Z-OV with an admissible set).** Pad ``x`` in
``{0,1}^d`` with zeros to ``l b`` coordinates, ``b = ceil(d / l)``, read as
``l`` blocks of ``b`` bits. A *packing level* maps the ``b`` bits of one
block to one integer ``X_k`` in ``[0, Q)`` (the same map for ``y``), so that
``S = sum_k X_k Y_k`` tells orthogonality through an *admissible set*:
``x . y = 0`` iff ``S`` is in ``V``. Every value of ``V`` and every possible
``S`` lies in ``[0, U)``, ``U = (T + 1) Q``, ``T = floor(l M^2 / Q)``, where
``M`` bounds the packed integers.

* *Bottom level* (groups of one bit): moduli ``q_1 < ... < q_b``, the ``b``
  smallest primes above ``l``; ``X_k = sum_j x_{k,j} e_j mod Q`` with the CRT
  idempotents ``e_j``. Modulo ``q_j``, ``S`` is ``c_j = sum_k x_{k,j} y_{k,j}``
  in ``[0, l]``, below ``q_j``; so ``x . y = 0`` iff ``S = 0 (mod Q)``:
  ``V = {t Q : 0 <= t <= T}``.
* *Recursive level* (Chen's recursion; groups of ``g`` bits): the bits of a
  block are cut into ``k = ceil(b / g)`` groups, each packed by a level for
  ``g`` bits (bound ``U'``, admissible set ``V'``), and the ``k`` packed values
  are joined by the CRT with moduli ``q_t``, the ``k`` smallest primes
  ``>= U'``. Modulo ``q_t``, ``S`` is the group's own ``S_t < U' <= q_t``, so
  ``x . y = 0`` iff every ``S_t`` is in ``V'``: ``V`` is every value
  ``r + t Q`` (``0 <= t <= T``) with ``r mod q_t`` in ``V'`` for each group,
  ``|V| = |V'|^k (T + 1)``.

The same small primes serve every group of a recursive level, so ``log Q``
grows like ``2 b log(g log g)`` instead of the bottom level's
``b log(b log b)``: with ``g = ceil(log2 b)`` at each level the exponent
doubles per level over ``log* b`` levels, Chen's ``6^(log* b)`` (here about
``2^(log* b)``). :meth:`OVToZMaxIP.plan` keeps, for each ``b``, whichever has
the fewest admissible values of the bottom level, Chen's rule (``g = ceil(log2 b)``
at every level of 4 bits or more) and the recursive level whose own levels are
chosen this way, so it never has more members than Chen's rule. At ``l = 32``
the recursion has the smaller modulus from about ``2^11`` bits a block and the
fewer members from about ``2^17``; with the default ``l`` that first happens
near ``d = 2^27`` (extrapolated), so every default plan computed here is the bottom level
(``docs/zmaxip.md`` has the numbers). A fixed ``groups`` fixes the plan instead.

**2. One Z-Max-IP instance per admissible value (squaring).** For ``v`` in
``V`` put ``x' = (X, 1)`` and ``y' = (Y, -v)``, so ``<x', y'> = S - v``,
and let ``a = (x'_i x'_j)_{i <= j}`` and ``b = (-c_ij y'_i y'_j)_{i <= j}``
with ``c_ii = 1`` and ``c_ij = 2`` otherwise: ``<a, b> = -(S - v)^2``, which
is ``>= 0`` iff ``S = v``. Each member is Z-Max-IP with threshold 0 in
dimension ``D = (l + 1)(l + 2)/2``; some member has a pair iff the OV
instance has an orthogonal pair, and that pair is the same ``(i, j)``.

**Sizes.** ``l = max(1, 2^(2 log* d - 3))`` (1, 2, 8, 32, 128 for ``log* d``
at most 1, 2, 3, 4, 5) by default, capped at ``d`` (a fixed ``blocks`` replaces
the rule), so ``D = 2^O(log* n)`` for ``d = c log n``; ``|V|`` members; entries
at most ``W = max(2 M^2, 2 M v_max, v_max^2)``. With the recursion
``log2 |V| <= 2 log2 Q + log2 l`` and ``log2 Q`` at most about
``(d / l) log2(2 l) 2^(log* d + 1)``, so ``|V| = n^O(2^(log* n) log* n / 4^(log* n))
= n^o(1)``, as in Chen's lemma, where the rule gives ``l`` growing faster than
``2^(log* d)``.

**Where it may depart from Chen.** Chen's lemma states entries below
``l^(6^(log* b) b)`` with his own choice of group sizes and primes; here the
groups, the primes (the smallest above each level's bound) and the rule for
``l`` are this project's, and a level is recursive only where that gives fewer
members. ``o(1)`` is reached only in the limit: at the sizes computed here
``log2 |V| / d`` is 0.2 to 0.5 for ``33 <= d <= 2^16`` and about 0.1 up to
``2^20`` (as Chen's ``(6/7)^(log* n)`` stays above 0.46 for every ``n`` below
``2^65536``); below ``d = 33`` the cap ``l = d`` packs nothing and leaves one
member, outside the ``2^O(log* n)`` regime. The sizes are stated exactly
(:meth:`OVToZMaxIP.sizes`) and refused beyond ``max_members``,
``max_entries`` and ``max_product`` before anything is built.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import sympy

from instances.answers import OrthogonalPair
from instances.errors import NotAWitnessError, OracleContradiction
from instances.formatting import format_count, json_count
from instances.maxip import InnerProductPair
from instances.vectors import OVInstance
from instances.zmaxip import ZMaxIPInstance
from reductions.catalog.ma_protocol import smallest_prime_above
from reductions.catalog.ov_family import OVFamilyReduction
from reductions.core import ParameterMap, Reduced
from reductions.family import ReducedFamily
from reductions.problems import problem_symbols
from reductions.symbolic import iterated_log, log_star

__all__ = ["OVToZMaxIP", "CRTSizes", "PackingLevel", "crt_primes", "packing_level"]


def crt_primes(count: int, above: int) -> tuple[int, ...]:
    """The ``count`` smallest primes larger than ``above``.

    >>> crt_primes(3, 4)
    (5, 7, 11)
    >>> crt_primes(100, 10) == tuple(int(p) for p in sympy.primerange(11, 10**4))[:100]
    True
    """
    if count <= 0:
        return ()
    if count > 64 and above < 2**48:  # many primes (a bottom level of thousands of bits): sieve a window
        span = max(1024, int(count * (math.log(count + above + 2) + 2)))  # gaps average ln(x); twice over
        while True:
            found = _primes_between(above + 1, above + span)
            if len(found) >= count:
                return found[:count]
            span *= 2
    primes: list[int] = []
    current = above
    while len(primes) < count:
        current = smallest_prime_above(current)
        primes.append(current)
    return tuple(primes)


def _primes_between(lo: int, hi: int) -> tuple[int, ...]:
    """The primes in ``[lo, hi]`` by a sieve of that window alone (memory ``hi - lo`` bytes, whatever ``lo``).

    >>> _primes_between(90, 110), _primes_between(0, 10)
    ((97, 101, 103, 107, 109), (2, 3, 5, 7))
    """
    root = math.isqrt(hi)
    small = np.ones(root + 1, dtype=bool)
    small[:2] = False
    for p in range(2, math.isqrt(root) + 1):
        if small[p]:
            small[p * p :: p] = False
    window = np.ones(hi - lo + 1, dtype=bool)
    for p in np.flatnonzero(small).tolist():
        start = max(p * p, -(-lo // p) * p)
        window[start - lo :: p] = False
    window[: max(0, 2 - lo)] = False  # 0 and 1
    return tuple(int(lo + i) for i in np.flatnonzero(window))


@attrs.frozen
class PackingLevel:
    """One level of the Chinese-remainder packing: ``bits`` bits of a block -> one integer in ``[0, modulus)``.

    ``group`` bits per CRT channel (1 at the bottom level, where ``child`` is
    ``None``), one modulus per channel; ``largest`` bounds the packed integers,
    ``top`` is ``T = floor(l M^2 / Q)``, ``count`` the number of admissible
    values ``|V|`` and ``largest_value`` a bound on them; every admissible value
    and every ``S`` lie below ``bound = (T + 1) Q``. Build it with
    :func:`packing_level`.

    >>> level = packing_level(2, 2, 1)
    >>> level.moduli, level.modulus, level.largest, level.top, level.count, level.bound
    ((3, 5), 15, 14, 26, 27, 405)
    >>> [level.encode(bits) for bits in ([1, 0], [0, 1], [1, 1])]
    [10, 6, 1]
    """

    blocks: int
    group: int
    moduli: tuple[int, ...]
    child: PackingLevel | None
    modulus: int
    largest: int
    top: int
    count: int
    largest_value: int

    @property
    def bits(self) -> int:
        """Bits of a block this level packs (the block is padded with zeros to this many)."""
        return len(self.moduli) * self.group

    @property
    def bound(self) -> int:
        """``U = (T + 1) Q``: every admissible value and every ``S = sum_k X_k Y_k`` is below it."""
        return (self.top + 1) * self.modulus

    @property
    def groups(self) -> tuple[int, ...]:
        """Bits per channel from this level down, ``(1,)`` for the bottom level.

        >>> packing_level(2, 4, 2, packing_level(2, 2, 1)).groups
        (2, 1)
        """
        return (self.group,) + (self.child.groups if self.child is not None else ())

    def encode(self, bits: Sequence[int]) -> int:
        """The packed integer of one block's bits (at most :attr:`bits` of them; missing ones are 0)."""
        if self.child is None:
            residues = [int(bits[t]) if t < len(bits) else 0 for t in range(len(self.moduli))]
        else:
            g = self.group
            residues = [self.child.encode(bits[t * g : (t + 1) * g]) for t in range(len(self.moduli))]
        return sum(r * e for r, e in zip(residues, _idempotents(self.moduli), strict=True)) % self.modulus

    def value(self, index: int) -> int:
        """Admissible value number ``index`` (``0 <= index < count``): ``r + t Q`` for the
        ``index // (T + 1)``-th residue ``r`` and ``t = index % (T + 1)``.

        >>> level = packing_level(1, 4, 2, packing_level(1, 2, 1))
        >>> level.count, [level.value(i) for i in (0, 1, 1146)]  # 37: 6 (admissible below) mod 31, 0 mod 37
        (28650, [0, 1147, 37])
        """
        rest, lift = divmod(index, self.top + 1)
        if self.child is None:
            residue = 0
        else:
            residues = []
            for _ in self.moduli:
                rest, which = divmod(rest, self.child.count)
                residues.append(self.child.value(which))
            residue = sum(r * e for r, e in zip(residues, _idempotents(self.moduli), strict=True)) % self.modulus
        return residue + lift * self.modulus

    def admissible(self, s: int) -> bool:
        """Whether ``s`` (in ``[0, bound)``) is an admissible value, from its residues.

        >>> level = packing_level(2, 2, 1)
        >>> [s for s in range(40) if level.admissible(s)]
        [0, 15, 30]
        """
        if not 0 <= s < self.bound:
            return False
        if self.child is None:
            return s % self.modulus == 0
        return all(self.child.admissible(s % q) for q in self.moduli)


@functools.lru_cache(maxsize=256)
def packing_level(blocks: int, bits: int, group: int, child: PackingLevel | None = None) -> PackingLevel:
    """The packing level for ``bits`` bits of each of ``blocks`` blocks in channels of ``group`` bits.

    ``group == 1`` is the bottom level (``child`` must be ``None``); a larger
    ``group`` needs the ``child`` level that packs ``group`` bits.

    >>> packing_level(4, 3, 1).moduli
    (5, 7, 11)
    """
    if group == 1:
        if child is not None:
            raise ValueError("the bottom level (group = 1) has no child level")
        moduli = crt_primes(bits, blocks)
        child_largest, child_count = 1, 1
    else:
        if child is None or child.bits < group or child.blocks != blocks:
            raise ValueError(
                f"a level with groups of {group} bits for l = {blocks} needs a child level for the same l "
                f"packing at least {group} bits"
            )
        moduli = crt_primes(-(-bits // group), child.bound - 1)
        child_largest, child_count = child.largest, child.count
    modulus = math.prod(moduli)
    largest = child_largest if len(moduli) == 1 else modulus - 1
    top = blocks * largest**2 // modulus
    count = child_count ** len(moduli) * (top + 1)
    if child is None:
        largest_residue = 0
    elif len(moduli) == 1:
        largest_residue = child.largest_value
    else:
        largest_residue = modulus - 1
    return PackingLevel(blocks, group, moduli, child, modulus, largest, top, count, largest_residue + top * modulus)


@functools.lru_cache(maxsize=4)
def _idempotents(moduli: tuple[int, ...]) -> tuple[int, ...]:
    """The CRT idempotents ``e_t`` (``1`` mod ``q_t``, ``0`` mod the others), built only when packing:
    at thousands of moduli they take gigabytes, so the size prediction never asks for them.

    >>> _idempotents((3, 5))
    (10, 6)
    """
    modulus = math.prod(moduli)
    if len(moduli) == 1:
        return (1,)
    return tuple((modulus // q) * pow(modulus // q, -1, q) % modulus for q in moduli)


@functools.lru_cache(maxsize=256)
def _always_recursive(blocks: int, bits: int) -> PackingLevel:
    """Chen's rule: groups of ``ceil(log2 bits)`` bits at every level with at least 4 bits, the bottom
    level below (the plan the asymptotic bound of the module docstring is about)."""
    if bits < 4:
        return packing_level(blocks, bits, 1)
    group = (bits - 1).bit_length()
    return packing_level(blocks, bits, group, _always_recursive(blocks, group))


@functools.lru_cache(maxsize=256)
def _fewest_members(blocks: int, bits: int) -> PackingLevel:
    """The fewest admissible values (then the smaller ``Q``) among the bottom level, :func:`_always_recursive`
    and the recursive level whose child is chosen this way: never more members than Chen's rule."""
    best = packing_level(blocks, bits, 1)
    if bits < 4:
        return best
    group = (bits - 1).bit_length()
    channels = -(-bits // group)
    for child in (_always_recursive(blocks, group), _fewest_members(blocks, group)):
        if child.count**channels >= best.count:  # |V| >= |V'|^k: no fewer members, so its primes are not sought
            continue
        candidate = packing_level(blocks, bits, group, child)
        best = min((best, candidate), key=lambda level: (level.count, level.modulus, level.groups))
    return best


def _forced(blocks: int, bits: int, groups: tuple[int, ...]) -> PackingLevel:
    """The plan with ``groups[0]`` bits per channel at the top, ``groups[1]`` below it, ..., the bottom level
    last; a group wider than the bits of its level is cut to them, and a level of one bit is the bottom one."""
    group = min(groups[0], bits) if groups else 1
    if group <= 1:
        return packing_level(blocks, bits, 1)
    return packing_level(blocks, bits, group, _forced(blocks, group, groups[1:]))


@attrs.frozen
class CRTSizes:
    """The sizes of one run, as Python ints, predicted before anything is built."""

    blocks: int
    width: int
    level: PackingLevel
    dimension: int
    bound: int
    members: int
    entries: int

    @property
    def modulus(self) -> int:
        """``Q``: the packed integers lie in ``[0, Q)``."""
        return self.level.modulus

    @property
    def largest(self) -> int:
        """``M``: the largest packed integer."""
        return self.level.largest

    @property
    def moduli(self) -> tuple[int, ...]:
        """The top level's CRT moduli (primes)."""
        return self.level.moduli

    @property
    def product(self) -> int:
        """``D W^2``: the largest inner product a member can have in absolute value."""
        return self.dimension * self.bound**2

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form: exact ints, except ``about 10^k`` strings for ints past 3000 digits (which
        Python will not write out in decimal), and the moduli only while there are at most 64 of them."""
        moduli = self.level.moduli
        return {
            "ell": self.blocks,
            "b": self.width,
            "groups": list(self.level.groups),
            "moduli": [json_count(q) for q in moduli] if len(moduli) <= 64 else f"{len(moduli)} primes",
            "Q": json_count(self.modulus),
            "M": json_count(self.largest),
            "D": self.dimension,
            "W": json_count(self.bound),
            "members": json_count(self.members),
            "entries": json_count(self.entries),
        }


def _as_blocks(value: Any) -> int | None:
    """``blocks`` as a Python int (any integral type but bool, numpy's included), or ``None``.

    >>> _as_blocks(np.int64(4)), _as_blocks(None)
    (4, None)
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"'blocks' must be a positive int or None (got {value!r})")
    return int(value)


def _as_groups(value: Any) -> tuple[int, ...] | None:
    """``groups`` as a tuple of Python ints ``>= 2`` (bits per channel, top level first; ``()``: the bottom
    level alone), or ``None``.

    >>> _as_groups([4, np.int64(2)]), _as_groups(None)
    ((4, 2), None)
    """
    if value is None:
        return None
    items = tuple(value) if isinstance(value, (tuple, list)) else None
    if items is None or not all(
        isinstance(g, numbers.Integral) and not isinstance(g, (bool, np.bool_)) and int(g) >= 2 for g in items
    ):
        raise ValueError(
            f"'groups' must be a tuple of ints >= 2 (bits per channel, top level first; () for the bottom level "
            f"alone) or None (got {value!r})"
        )
    return tuple(int(g) for g in items)


@attrs.frozen
class OVToZMaxIP(OVFamilyReduction[CRTSizes]):
    """OV(n_a, n_b, d) -> ``|V|`` instances of Z-Max-IP(n_a, n_b, (l+1)(l+2)/2, 0, W).

    Parameters
    ----------
    blocks : int or None
        ``l``, the number of packed integers; ``None`` (default): the
        iterated-log rule ``l = max(1, 2^(2 log* d - 3))``. Capped at ``max(d, 1)``.
    groups : tuple of int or None
        Bits per CRT channel of each recursive level, top level first (the bottom
        level, one bit per channel, comes last; ``()``: the bottom level alone); a
        group wider than its level's bits is cut to them. ``None`` (default): the
        plan with the fewest members (:meth:`plan`).
    max_members, max_entries : int
        Most members and vector entries (over all members) the forward map builds.
    max_product : int or None
        Most ``D W^2`` allowed (``2^53`` keeps every member float64-exact, as the
        attention step needs); ``None``: no limit (the members are exact Python ints).

    Notes
    -----
    See the module docstring for the construction, the sizes and where it may
    depart from Chen's lemma.

    References
    ----------
    L. Chen, "On the Hardness of Approximate and Exact (Bichromatic) Maximum Inner Product",
    CCC 2018; Theory of Computing 16(4), 2020 (Z-Max-IP in dimension ``2^O(log* n)``).

    Examples
    --------
    >>> ov = OVInstance([[1, 0, 1], [0, 1, 1]], [[0, 1, 0], [1, 1, 1]])
    >>> reduction = OVToZMaxIP()
    >>> reduction.sizes(ov).as_dict()
    {'ell': 2, 'b': 2, 'groups': [1], 'moduli': [3, 5], 'Q': 15, 'M': 14, 'D': 6, 'W': 152100, 'members': 27, 'entries': 336}
    >>> family = reduction.forward(ov)
    >>> family.count, family.targets[0]
    (27, ZMaxIPInstance(n_a=2, n_b=2, d=6, tau=0, W=152100))
    >>> from solvers.zmaxip import brute_force_zmaxip
    >>> family.backward([brute_force_zmaxip(member) for member in family.targets])
    OrthogonalPair(i=0, j=0)
    """

    name: ClassVar[str] = "ov-zmaxip"
    target: ClassVar[str] = "zmaxip"
    verify_max_size: ClassVar[int] = 5
    blocks: int | None = attrs.field(default=None, converter=_as_blocks)
    groups: tuple[int, ...] | None = attrs.field(default=None, converter=_as_groups)
    max_members: int = 4096
    max_entries: int = 16_000_000
    max_product: int | None = None

    def member_growth(self) -> str | None:
        """How the member count grows with the OV dimension (there ``m``, the clauses of a formula), where
        it is ``2^o(m)``: with the default ``blocks`` and ``groups`` only (a fixed ``l`` or the bottom level
        alone give ``2^Theta(m log m / l)``).

        >>> OVToZMaxIP().member_growth().startswith("the members are 2^o(m)"), OVToZMaxIP(blocks=2).member_growth()
        (True, None)
        """
        if self.blocks is not None or self.groups is not None:
            return None
        return (
            "the members are 2^o(m) (Chen's recursion with l = 2^(2 log* m - 3): log2 of their number is "
            "O(m log*(m) 2^(log* m) / 4^(log* m)); short of the limit it is 0.08 m to 0.5 m from m = 33 to 2^20, "
            "docs/zmaxip.md)"
        )

    def blocks_for(self, dimension: int) -> int:
        """``l`` for an OV dimension ``d``: ``max(1, 2^(2 log* d - 3))`` (or ``blocks``), at most ``max(d, 1)``.

        >>> [OVToZMaxIP().blocks_for(d) for d in (0, 1, 2, 3, 4, 5, 16, 17, 40, 65537)]
        [1, 1, 1, 2, 2, 5, 8, 17, 32, 128]
        """
        d = max(dimension, 1)
        rule = self.blocks if self.blocks is not None else max(1, 2 ** max(0, 2 * iterated_log(d) - 3))
        return min(d, rule)

    def plan(self, dimension: int) -> PackingLevel:
        """The packing level used at OV dimension ``d``: :attr:`groups` if given, otherwise the fewer
        members of the bottom level and the recursive one with ``ceil(log2 b)``-bit groups.

        >>> OVToZMaxIP(blocks=1).plan(4).groups, OVToZMaxIP(blocks=1, groups=(2,)).plan(4).groups
        ((1,), (2, 1))
        >>> OVToZMaxIP(blocks=1, groups=(2,)).plan(4).count  # 5 admissible values per channel, 1146 lifts
        28650
        """
        ell = self.blocks_for(dimension)
        width = -(-max(dimension, 1) // ell)
        if self.groups is not None:
            return _forced(ell, width, self.groups)
        return _fewest_members(ell, width)

    def _sizes(self, d: int, n_a: int, n_b: int) -> CRTSizes:
        level = self.plan(d)
        ell = level.blocks
        width = -(-max(d, 1) // ell)
        dimension = (ell + 1) * (ell + 2) // 2
        value = level.largest_value
        largest = level.largest
        bound = max(2 * largest**2, 2 * largest * value, value**2)
        members = level.count
        entries = (n_a + members * n_b) * dimension  # Alice's matrix is built once and shared by the members
        return CRTSizes(ell, width, level, dimension, bound, members, entries)

    def random_source(self, rng: np.random.Generator, size: int) -> OVInstance:
        """Random OV instances of dimension 0-8 (5-8 only at sizes 4, 8, ...), with and without orthogonal pairs."""
        n_a, n_b = int(rng.integers(1, size + 2)), int(rng.integers(1, size + 2))
        d = int(rng.integers(0, 9)) if size % 4 == 0 else int(rng.integers(0, 5))
        density = float(rng.uniform(0.1, 0.7))
        return OVInstance(rng.random((n_a, d)) < density, rng.random((n_b, d)) < density)

    def pack(self, vectors: np.ndarray, sizes: CRTSizes) -> list[list[int]]:
        """The ``l`` packed Python ints ``X_k`` of every vector (block ``k``: bits ``k b .. k b + b - 1``).

        >>> reduction = OVToZMaxIP(blocks=1)
        >>> sizes = reduction.sizes(OVInstance([[1, 0]], [[0, 1]]))
        >>> sizes.moduli, reduction.pack(np.array([[1, 0], [0, 1], [1, 1]]), sizes)
        ((2, 3), [[3], [4], [1]])
        """
        ell, width, level = sizes.blocks, sizes.width, sizes.level
        packed = []
        for row in np.asarray(vectors):
            bits = [int(x) for x in row] + [0] * (ell * width - len(row))
            packed.append([level.encode(bits[k * width : (k + 1) * width]) for k in range(ell)])
        return packed

    @staticmethod
    def square(packed: list[list[int]], blocks: int, last: int, *, bob: bool = False) -> np.ndarray:
        """``(z_i z_j)_{i <= j}`` of ``z = (X, last)`` for every row ``X`` of ``blocks`` packed ints, times
        ``-c_ij`` for Bob (``c_ii = 1``, ``c_ij = 2``): an ``(n, (l+1)(l+2)/2)`` array of Python ints.

        >>> OVToZMaxIP.square([[3, 5]], 2, 1).tolist(), OVToZMaxIP.square([[3, 5]], 2, -7, bob=True).tolist()
        ([[9, 15, 3, 25, 5, 1]], [[-9, -30, 42, -25, 70, -49]])
        """
        width = blocks + 1
        z = np.empty((len(packed), width), dtype=object)
        for r, row in enumerate(packed):
            z[r, :-1] = row
        z[:, -1] = last
        i, j = np.triu_indices(width)
        out = z[:, i] * z[:, j]
        if bob:
            out *= np.array([-1 if a == b else -2 for a, b in zip(i, j, strict=True)], dtype=object)
        return out

    def member(self, instance: OVInstance, index: int) -> ZMaxIPInstance:
        """Member ``index`` (admissible value ``plan(d).value(index)``) alone.

        >>> ov = OVInstance([[1, 0, 1, 0, 1]], [[0, 1, 0, 1, 0]])
        >>> OVToZMaxIP(blocks=2).member(ov, 0)
        ZMaxIPInstance(n_a=1, n_b=1, d=6, tau=0, W=467856900)
        """
        sizes = self.sizes(instance)
        if not 0 <= index < sizes.members:
            raise ValueError(f"'index' must be in [0, {sizes.members}) (got {index})")
        return ZMaxIPInstance(
            self.square(self.pack(instance.a, sizes), sizes.blocks, 1),
            self.square(self.pack(instance.b, sizes), sizes.blocks, -sizes.level.value(index), bob=True),
            0,
            bound=sizes.bound,
        )

    def refusal(self, sizes: CRTSizes, d: int) -> str | None:
        """Why the forward map would refuse these sizes (one line, with the sizes), or ``None``.

        >>> OVToZMaxIP().refusal(OVToZMaxIP()._sizes(40, 8, 8), 40).endswith("above max_members = 4,096")
        True
        """
        level = sizes.level
        how = f"{len(level.moduli)} primes" + (
            "" if level.child is None else f", recursive groups of {', '.join(map(str, level.groups[:-1]))} bits"
        )
        head = (
            f"ov-zmaxip at d = {d} packs l = {sizes.blocks} integers modulo Q = {format_count(sizes.modulus)} "
            f"({how}): {format_count(sizes.members)} members of dimension {sizes.dimension}, "
            f"entries up to W = {format_count(sizes.bound)}"
        )
        if sizes.members > self.max_members:
            return f"{head}: above max_members = {format_count(self.max_members)}"
        if sizes.entries > self.max_entries:
            return f"{head}: {format_count(sizes.entries)} vector entries, above max_entries = {format_count(self.max_entries)}"
        if self.max_product is not None and sizes.product > self.max_product:
            return (
                f"{head}: D W^2 = {format_count(sizes.product)} is above {format_count(self.max_product)} "
                "(float64-exact inner products)"
            )
        return None

    def _forward(self, instance: OVInstance) -> tuple[tuple[ZMaxIPInstance, ...], Mapping[str, Any], Mapping[str, Any]]:
        sizes = self.checked_sizes(instance)
        alice = self.square(self.pack(instance.a, sizes), sizes.blocks, 1)
        alice.flags.writeable = False  # one matrix shared by every member, as max_entries counts it
        level, bob = sizes.level, self.pack(instance.b, sizes)  # Bob packed once, squared per value
        targets = tuple(
            ZMaxIPInstance(alice, self.square(bob, sizes.blocks, -level.value(t), bob=True), 0, bound=sizes.bound)
            for t in range(sizes.members)
        )
        info = {
            "ell": sizes.blocks,
            "Q": sizes.modulus,
            "M": sizes.largest,
            "V": level.largest_value,
            "R": level.count // (level.top + 1),
            "groups": level.groups,
            "members": sizes.members,
        }
        return targets, {"sizes": sizes}, info

    def backward(self, reduced: Reduced, answer: Any) -> OrthogonalPair | None:
        """Answers of every member -> the first pair some member reports (checked orthogonal), or ``None``."""
        assert isinstance(reduced, ReducedFamily)
        answers = self.check_answers(reduced, answer)
        for index, pair in enumerate(answers):
            if pair is not None and not isinstance(pair, InnerProductPair):
                raise TypeError(f"answer {index} must be an InnerProductPair or None (got {type(pair).__name__})")
        source: OVInstance = reduced.source
        for index, pair in enumerate(answers):
            if pair is None:
                continue
            candidate = OrthogonalPair(pair.i, pair.j)
            try:
                orthogonal = source.is_orthogonal_pair(candidate)
            except NotAWitnessError as err:
                raise OracleContradiction(f"member {index} answered {pair}: {err}") from err
            if not orthogonal:
                raise OracleContradiction(
                    f"member {index} (value {self.plan(source.dimension).value(index)}) answered {pair}, "
                    f"but a_{pair.i} and b_{pair.j} are not "
                    "orthogonal: the answer is wrong"
                )
            return candidate
        return None

    def growth(self) -> dict[str, sympy.Expr]:
        """``l`` and the target dimension as explicit functions of the OV dimension ``d`` (with :class:`log_star`).

        >>> growth = OVToZMaxIP().growth()
        >>> growth["ell"], growth["d"].subs(sympy.Symbol("d", positive=True), 40)
        (Max(1, Min(2**(2*log_star(Max(1, d)) - 3), d)), 561)
        """
        d = sympy.Max(problem_symbols("ov")["d"], 1)
        rule = sympy.Integer(self.blocks) if self.blocks is not None else sympy.Max(1, 2 ** (2 * log_star(d) - 3))
        ell = sympy.Min(d, rule)
        return {"ell": ell, "d": (ell + 1) * (ell + 2) / 2}

    def parameters(self) -> ParameterMap:
        s = problem_symbols("ov")
        ell, M, V = (sympy.Symbol(name, positive=True) for name in ("ell", "M", "V"))
        return ParameterMap(
            "ov",
            "zmaxip",
            {
                "n_a": s["n_a"],
                "n_b": s["n_b"],
                "d": (ell + 1) * (ell + 2) / 2,
                "tau": sympy.Integer(0),
                "W": sympy.Max(2 * M**2, 2 * M * V, V**2),
            },
            ("ell", "M", "V", "Q", "R"),
        )

    def family_size(self) -> sympy.Expr:
        """``|V| = R (floor(l M^2 / Q) + 1)``: ``R`` admissible residues modulo ``Q`` (1 at the bottom
        level, ``|V'|^k`` for a recursive one), each lifted ``T + 1`` times."""
        ell, Q, M, R = (sympy.Symbol(name, positive=True) for name in ("ell", "Q", "M", "R"))
        return R * (sympy.floor(ell * M**2 / Q) + 1)
