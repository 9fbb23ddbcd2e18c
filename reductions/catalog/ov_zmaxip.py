"""OV -> Z-Max-IP in dimension ``2^O(log* n)``, one instance per admissible value (``ov-zmaxip``).

A reconstruction of the shape of L. Chen, "On the Hardness of Approximate and
Exact (Bichromatic) Maximum Inner Product" (CCC 2018; Theory of Computing
16(4), 2020), Section 4: OV in dimension ``c log n`` goes to Z-OV in small
dimension through the Chinese remainder theorem, and Z-OV to Z-Max-IP by
squaring. Only the paper's abstract and statement were at hand; the steps
below are this project's, and the module says where they may depart.

**1. Chinese-remainder packing (Z-OV with an admissible set).** Pad ``x`` in
``{0,1}^d`` with zeros to ``l b`` coordinates, ``b = ceil(d / l)``, read as
``l`` blocks of ``b`` bits ``x_{k,1..b}``. Take the ``b`` smallest primes
``q_1 < ... < q_b`` above ``l``, ``Q = q_1 ... q_b`` and the CRT idempotents
``e_j`` (``e_j = 1 mod q_j``, ``0`` mod the others), and pack each block into
one integer::

    X_k = (sum_j x_{k,j} e_j) mod Q            (the same map for y)

Then ``S = sum_k X_k Y_k = sum_j c_j e_j (mod Q)`` with
``c_j = sum_k x_{k,j} y_{k,j}`` in ``[0, l]``; modulo ``q_j`` this is
``c_j < q_j``, so ``x . y = 0`` iff ``S = 0 (mod Q)`` iff
``S`` is in ``V = {t Q : 0 <= t <= T}``, ``T = floor(l M^2 / Q)``, where
``M`` bounds the packed entries (``M = 1`` when ``b = 1``, else ``Q - 1``).

**2. One Z-Max-IP instance per admissible value (squaring).** For
``v = t Q`` put ``x' = (X, 1)`` and ``y' = (Y, -v)``, so ``<x', y'> = S - v``,
and let ``a = (x'_i x'_j)_{i <= j}`` and ``b = (-c_ij y'_i y'_j)_{i <= j}``
with ``c_ii = 1`` and ``c_ij = 2`` otherwise: ``<a, b> = -(S - v)^2``, which
is ``>= 0`` iff ``S = v``. Member ``t`` is Z-Max-IP with threshold 0 in
dimension ``D = (l + 1)(l + 2)/2``; some member has a pair iff the OV
instance has an orthogonal pair, and that pair is the same ``(i, j)``.

**Sizes.** ``l = max(1, 2^(log* d - 1))`` by default (a fixed ``blocks``
caps it instead), so ``D = 2^O(log* d) = 2^O(log* n)`` for ``d = c log n``;
``T + 1`` members; entries at most
``W = max(2 M^2, 2 M V, V^2)``, ``V = T Q``.

**Where it may depart from Chen.** Chen's lemma packs ``b l`` bits into
``l`` integers below ``l^O(b)`` and applies the construction recursively so
that both the entries and the number of admissible values stay ``n^o(1)``
at ``l = 2^O(log* n)``; here the packing is applied once with the ``b``
smallest primes above ``l``, whose product grows like ``(b log b)^b``.
So the dimension matches, while entries and members are ``2^O(d log d / l)``,
``n^o(1)`` only when ``l`` grows faster than ``log log n``: at the tiny
``l = 2^(log* d - 1)`` used here the number of members is what an exact
recursion would avoid. The sizes are stated exactly (:meth:`OVToZMaxIP.sizes`)
and refused beyond ``max_members``, ``max_entries`` and ``max_product``
before anything is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np
import sympy

from instances.answers import OrthogonalPair
from instances.errors import NotAWitnessError, OracleContradiction, SolverBudgetExceeded
from instances.maxip import InnerProductPair
from instances.vectors import OVInstance
from instances.zmaxip import ZMaxIPInstance
from reductions.catalog.ma_protocol import smallest_prime_above
from reductions.core import ParameterMap, Reduced
from reductions.family import FamilyReduction, ReducedFamily
from reductions.problems import problem_symbols
from reductions.symbolic import iterated_log, log_star

__all__ = ["OVToZMaxIP", "CRTSizes", "crt_primes"]


def crt_primes(count: int, above: int) -> tuple[int, ...]:
    """The ``count`` smallest primes larger than ``above``.

    >>> crt_primes(3, 4)
    (5, 7, 11)
    """
    primes: list[int] = []
    current = above
    while len(primes) < count:
        current = smallest_prime_above(current)
        primes.append(current)
    return tuple(primes)


@attrs.frozen
class CRTSizes:
    """The sizes of one run, as Python ints, predicted before anything is built."""

    blocks: int
    width: int
    primes: tuple[int, ...]
    modulus: int
    largest: int
    top: int
    dimension: int
    bound: int
    members: int
    entries: int

    @property
    def product(self) -> int:
        """``D W^2``: the largest inner product a member can have in absolute value."""
        return self.dimension * self.bound**2

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "ell": self.blocks,
            "b": self.width,
            "primes": list(self.primes),
            "Q": self.modulus,
            "M": self.largest,
            "D": self.dimension,
            "W": self.bound,
            "members": self.members,
            "entries": self.entries,
        }


def _check_blocks(_instance: Any, _attribute: Any, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"'blocks' must be a positive int or None (got {value!r})")


@attrs.frozen
class OVToZMaxIP(FamilyReduction):
    """OV(n_a, n_b, d) -> ``T + 1`` instances of Z-Max-IP(n_a, n_b, (l+1)(l+2)/2, 0, W).

    Parameters
    ----------
    blocks : int or None
        ``l``, the number of packed integers; ``None`` (default): the
        iterated-log rule ``l = max(1, 2^(log* d - 1))``. Capped at ``max(d, 1)``.
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
    {'ell': 2, 'b': 2, 'primes': [3, 5], 'Q': 15, 'M': 14, 'D': 6, 'W': 152100, 'members': 27, 'entries': 336}
    >>> family = reduction.forward(ov)
    >>> family.count, family.targets[0]
    (27, ZMaxIPInstance(n_a=2, n_b=2, d=6, tau=0, W=152100))
    >>> from solvers.zmaxip import brute_force_zmaxip
    >>> family.backward([brute_force_zmaxip(member) for member in family.targets])
    OrthogonalPair(i=0, j=0)
    """

    name: ClassVar[str] = "ov-zmaxip"
    source: ClassVar[str] = "ov"
    target: ClassVar[str] = "zmaxip"
    verify_max_size: ClassVar[int] = 5

    blocks: int | None = attrs.field(default=None, validator=_check_blocks)
    max_members: int = 4096
    max_entries: int = 16_000_000
    max_product: int | None = None

    def blocks_for(self, dimension: int) -> int:
        """``l`` for an OV dimension ``d``: ``max(1, 2^(log* d - 1))`` (or ``blocks``), at most ``max(d, 1)``.

        >>> [OVToZMaxIP().blocks_for(d) for d in (0, 1, 2, 3, 4, 5, 16, 17, 24, 65537)]
        [1, 1, 1, 2, 2, 4, 4, 8, 8, 16]
        """
        d = max(dimension, 1)
        rule = self.blocks if self.blocks is not None else max(1, 2 ** (iterated_log(d) - 1))
        return min(d, rule)

    def sizes(self, instance: OVInstance) -> CRTSizes:
        """The predicted sizes (Python ints), before anything is allocated."""
        return self._sizes(instance.dimension, int(instance.a.shape[0]), int(instance.b.shape[0]))

    def _sizes(self, d: int, n_a: int, n_b: int) -> CRTSizes:
        ell = self.blocks_for(d)
        width = -(-max(d, 1) // ell)
        primes = crt_primes(width, ell)
        modulus = 1
        for q in primes:
            modulus *= q
        largest = 1 if width == 1 else modulus - 1
        top = ell * largest**2 // modulus
        dimension = (ell + 1) * (ell + 2) // 2
        value = top * modulus
        bound = max(2 * largest**2, 2 * largest * value, value**2)
        members = top + 1
        entries = (n_a + members * n_b) * dimension
        return CRTSizes(ell, width, primes, modulus, largest, top, dimension, bound, members, entries)

    def random_source(self, rng: np.random.Generator, size: int) -> OVInstance:
        """Random OV instances of dimension 0-8 (5-8 only at sizes 4, 8, ...: 133 members), with and without
        orthogonal pairs."""
        n_a, n_b = int(rng.integers(1, size + 2)), int(rng.integers(1, size + 2))
        d = int(rng.integers(0, 9)) if size % 4 == 0 else int(rng.integers(0, 5))
        density = float(rng.uniform(0.1, 0.7))
        return OVInstance(rng.random((n_a, d)) < density, rng.random((n_b, d)) < density)

    def pack(self, vectors: np.ndarray, sizes: CRTSizes) -> list[list[int]]:
        """``X_k = (sum_j x_{k,j} e_j) mod Q`` for every vector: ``l`` Python ints per row.

        >>> reduction = OVToZMaxIP(blocks=1)
        >>> sizes = reduction.sizes(OVInstance([[1, 0]], [[0, 1]]))
        >>> sizes.primes, reduction.pack(np.array([[1, 0], [0, 1], [1, 1]]), sizes)
        ((2, 3), [[3], [4], [1]])
        """
        ell, width, modulus = sizes.blocks, sizes.width, sizes.modulus
        idempotents = []
        for q in sizes.primes:
            rest = modulus // q
            idempotents.append(rest * pow(rest, -1, q) % modulus)
        packed = []
        for row in np.asarray(vectors):
            bits = [int(x) for x in row] + [0] * (ell * width - len(row))
            packed.append(
                [sum(idempotents[j] for j in range(width) if bits[k * width + j]) % modulus for k in range(ell)]
            )
        return packed

    @staticmethod
    def _pairs(count: int) -> list[tuple[int, int]]:
        return [(i, j) for i in range(count) for j in range(i, count)]

    def alice_vectors(self, instance: OVInstance, sizes: CRTSizes) -> np.ndarray:
        """``(x'_i x'_j)_{i <= j}`` with ``x' = (X, 1)``, the same in every member: ``(n_a, D)`` Python ints."""
        pairs = self._pairs(sizes.blocks + 1)
        rows = [[*packed, 1] for packed in self.pack(instance.a, sizes)]
        out = np.empty((len(rows), len(pairs)), dtype=object)
        for r, x in enumerate(rows):
            for c, (i, j) in enumerate(pairs):
                out[r, c] = x[i] * x[j]
        return out

    def bob_vectors(self, instance: OVInstance, sizes: CRTSizes, value: int) -> np.ndarray:
        """``(-c_ij y'_i y'_j)_{i <= j}`` with ``y' = (Y, -value)``: ``(n_b, D)`` Python ints."""
        pairs = self._pairs(sizes.blocks + 1)
        rows = [[*packed, -value] for packed in self.pack(instance.b, sizes)]
        out = np.empty((len(rows), len(pairs)), dtype=object)
        for r, y in enumerate(rows):
            for c, (i, j) in enumerate(pairs):
                out[r, c] = -(1 if i == j else 2) * y[i] * y[j]
        return out

    def member(self, instance: OVInstance, index: int) -> ZMaxIPInstance:
        """Member ``index`` (admissible value ``index * Q``) alone.

        >>> ov = OVInstance([[1, 0, 1, 0, 1]], [[0, 1, 0, 1, 0]])
        >>> OVToZMaxIP().member(ov, 0)
        ZMaxIPInstance(n_a=1, n_b=1, d=15, tau=0, W=21344400)
        """
        sizes = self.sizes(instance)
        if not 0 <= index < sizes.members:
            raise ValueError(f"'index' must be in [0, {sizes.members}) (got {index})")
        return ZMaxIPInstance(
            self.alice_vectors(instance, sizes),
            self.bob_vectors(instance, sizes, index * sizes.modulus),
            0,
            bound=sizes.bound,
        )

    def refusal(self, sizes: CRTSizes, d: int) -> str | None:
        """Why the forward map would refuse these sizes (one line, with the sizes), or ``None``."""
        head = (
            f"ov-zmaxip at d = {d} packs l = {sizes.blocks} integers modulo Q = {sizes.modulus} "
            f"({sizes.width} primes): {sizes.members} members of dimension {sizes.dimension}, entries up to "
            f"W = {sizes.bound}"
        )
        if sizes.members > self.max_members:
            return f"{head}: above max_members = {self.max_members}"
        if sizes.entries > self.max_entries:
            return f"{head}: {sizes.entries} vector entries, above max_entries = {self.max_entries}"
        if self.max_product is not None and sizes.product > self.max_product:
            return f"{head}: D W^2 = {sizes.product:.3e} is above {self.max_product:.3e} (float64-exact inner products)"
        return None

    def predict_members(self, n_a: int, n_b: int, d: int) -> tuple[str | None, dict[str, Any]]:
        """The refusal the forward map would give on OV(n_a, n_b, d) (or ``None``) and the predicted sizes.

        >>> reason, sizes = OVToZMaxIP(max_product=2**53).predict_members(8, 8, 18)
        >>> reason.split(": ")[-1], sizes["members"]
        ('above max_members = 4096', 19433)
        """
        sizes = self._sizes(d, n_a, n_b)
        return self.refusal(sizes, d), sizes.as_dict()

    def _forward(self, instance: OVInstance) -> tuple[tuple[ZMaxIPInstance, ...], Mapping[str, Any], Mapping[str, Any]]:
        sizes = self.sizes(instance)
        reason = self.refusal(sizes, instance.dimension)
        if reason is not None:
            raise SolverBudgetExceeded(reason)
        alice = self.alice_vectors(instance, sizes)
        targets = tuple(
            ZMaxIPInstance(alice, self.bob_vectors(instance, sizes, t * sizes.modulus), 0, bound=sizes.bound)
            for t in range(sizes.members)
        )
        info = {"ell": sizes.blocks, "Q": sizes.modulus, "M": sizes.largest, "members": sizes.members}
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
                    f"member {index} (value {index} Q) answered {pair}, but a_{pair.i} and b_{pair.j} are not "
                    "orthogonal: the answer is wrong"
                )
            return candidate
        return None

    def growth(self) -> dict[str, sympy.Expr]:
        """``l`` and the target dimension as explicit functions of the OV dimension ``d`` (with :class:`log_star`).

        >>> growth = OVToZMaxIP().growth()
        >>> growth["ell"], growth["d"].subs(sympy.Symbol("d", positive=True), 24)
        (Max(1, Min(2**(log_star(Max(1, d)) - 1), d)), 45)
        """
        d = sympy.Max(problem_symbols("ov")["d"], 1)
        rule = sympy.Integer(self.blocks) if self.blocks is not None else sympy.Max(1, 2 ** (log_star(d) - 1))
        ell = sympy.Min(d, rule)
        return {"ell": ell, "d": (ell + 1) * (ell + 2) / 2}

    def parameters(self) -> ParameterMap:
        s = problem_symbols("ov")
        ell, Q, M = (sympy.Symbol(name, positive=True) for name in ("ell", "Q", "M"))
        value = sympy.floor(ell * M**2 / Q) * Q
        return ParameterMap(
            "ov",
            "zmaxip",
            {
                "n_a": s["n_a"],
                "n_b": s["n_b"],
                "d": (ell + 1) * (ell + 2) / 2,
                "tau": sympy.Integer(0),
                "W": sympy.Max(2 * M**2, 2 * M * value, value**2),
            },
            ("ell", "Q", "M"),
        )

    def family_size(self) -> sympy.Expr:
        ell, Q, M = (sympy.Symbol(name, positive=True) for name in ("ell", "Q", "M"))
        return sympy.floor(ell * M**2 / Q) + 1
