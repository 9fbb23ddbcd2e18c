"""OV -> Gap-Max-IP -> Gap-ANN with a constant gap, from the Merlin–Arthur protocol (``ov-gapann-pcp``).

The distributed-PCP route (Abboud–Rubinstein–Williams 2017, Rubinstein 2018)
with the Reed–Solomon protocol of :mod:`reductions.catalog.ma_protocol`, ``T = d``
blocks of one coordinate (``A(j) = a_j``, degree ``< d``) over ``F_p``.

**One member per Merlin message.** For every proof ``Q~`` that passes the sum
test (``p^(2d - 2)`` of them) build one Gap-ANN instance; the vectors are
indexed by (random point ``r``, Alice's message ``alpha``), in ``p`` blocks
of ``p + 2`` coordinates (the symbols of ``F_p``, a wildcard ``*`` and a
reject mark ``#``):

* Alice: ``x_a[r, A(r)] = 1`` and ``x_a[r, *] = 1`` (the same in every member);
* Bob, for ``Q~``: if ``B(r) != 0``, ``y[r, Q~(r)/B(r)] = 1`` (the one message
  Arthur accepts at ``r``); if ``B(r) = 0``, ``y[r, *] = 1`` when ``Q~(r) = 0``
  (every message accepted) and ``y[r, #] = 1`` otherwise (none accepted).

So ``<x_a, y> =`` the number of ``r`` Arthur accepts (a Gap-Max-IP instance:
``p`` against at most ``2(d - 1)``), and since every block of ``x`` has weight 2
and every block of ``y`` weight 1, ``||x_a - y||_0 = 3p - 2 <x_a, y>``: exactly
``p`` when Arthur accepts everywhere (a disjoint pair with the honest proof),
at least ``3p - 4(d - 1)`` otherwise (soundness). With ``t = (3p - 4(d-1))/(1 + eps)``
the member is Gap-ANN(n, p(p + 2), t, eps) and **every** query is in case 1
or case 2. The prime is the smallest with ``p > d`` and
``(2 - eps) p > 4(d - 1)``, i.e. soundness error ``2(d-1)/p < (2 - eps)/2``:
the soundness the gap needs is reached by drawing ``r`` from a large enough field,
not by independent repetition (``k`` repetitions would index the vectors by
``F_p^k``, ``p^k`` blocks, for the same effect). ``eps`` is a constant (``1/2``
by default): it depends on neither ``d`` nor ``n``.

**Backward** reads every member's answer: a query declared close in any member
has an orthogonal partner (checked by a scan of ``B``); no close query in any
member means no orthogonal pair.

**What Reed–Solomon costs, and where.** Two things grow with ``d`` here that
the algebraic-geometry codes of Rubinstein (2018) keep constant: (1) the field,
``p = Theta(d)``, because a Reed–Solomon code of length ``T`` needs ``T``
distinct points; so each block is one-hot over ``p + 2`` symbols and
``t / D = Theta(1/p)``: Lemma 4.7's ``beta`` is proportional to ``D / (t eps)``,
so the chain's ``B^2`` keeps a factor ``Theta(p) = Theta(d)`` although
``eps`` is constant (over a constant-size field, ``D / t = O(1)`` and
``B = Theta(sqrt(log n))``). (2) Merlin's message has ``(2d - 1) log p`` bits
with one coordinate per block: ``p^(2d - 2) = 2^Theta(d log d)`` members, more
than the ``2^d`` a brute-force OV algorithm tries. Larger blocks
(``l = d/T``) shrink the number of members to ``p^(2T - 2)`` but make
Alice's alphabet ``p^l`` and Bob's accepted set a hyperplane of ``p^(l-1)``
messages, which this one-hot gadget cannot turn into a constant gap; that is the
step where the distributed PCP of Rubinstein (2018) is needed. So this
reduction is exact, with a constant gap, and small only for small ``d``: the
sizes are stated (:meth:`OVToGapANNPCP.sizes`) and refused beyond
``max_members`` and ``max_entries`` before anything is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any, ClassVar

import attrs
import numpy as np
import sympy

from instances.answers import NeighborDecisions, OrthogonalPair
from instances.errors import NotAWitnessError, SolverBudgetExceeded
from instances.vectors import GapANNInstance, OVInstance
from reductions.catalog.ma_protocol import DisjointnessProtocol, smallest_prime_above
from reductions.catalog.ov_gapann import find_partner
from reductions.core import ParameterMap, Reduced
from reductions.family import FamilyReduction, ReducedFamily
from reductions.problems import problem_symbols

__all__ = ["OVToGapANNPCP", "PCPSizes"]


@attrs.frozen
class PCPSizes:
    """The sizes of one run, as Python ints, predicted before anything is built."""

    prime: int
    blocks: int
    dimension: int
    members: int
    threshold: Fraction
    entries: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "p": self.prime,
            "T": self.blocks,
            "D": self.dimension,
            "members": self.members,
            "t": str(self.threshold),
            "entries": self.entries,
        }


def _check_epsilon(_instance: Any, _attribute: Any, value: Any) -> None:
    if not (isinstance(value, Fraction) and 0 < value < 1):
        raise ValueError(f"'epsilon' must be a fraction in (0, 1) (got {value!r})")


@attrs.frozen
class OVToGapANNPCP(FamilyReduction):
    """OV(n_a, n_b, d) -> ``p^(2d-2)`` instances of Gap-ANN(n_a, n_b, p(p+2), t, eps), eps constant.

    Parameters
    ----------
    epsilon : Fraction
        The gap; any constant in ``(0, 1)`` (the prime grows as ``eps -> 1``).
    max_members : int
        Most family members the forward map builds.
    max_entries : int
        Most vector entries, over all members, the forward map builds.

    Notes
    -----
    Sizes with ``T = max(d, 1)``: ``p`` the smallest prime with ``p > T`` and
    ``(2 - eps) p > 4(T - 1)``; members ``p^(2T - 2)``; dimension
    ``p (p + 2)``; threshold ``t = (3p - 4(T - 1))/(1 + eps)``; the honest
    distance is ``p``. See the module docstring for the construction and for
    what the Reed–Solomon instantiation loses.

    References
    ----------
    A. Abboud, A. Rubinstein, R. Williams, "Distributed PCP Theorems for Hardness of Approximation in P",
    FOCS 2017; A. Rubinstein, "Hardness of Approximate Nearest Neighbor Search", STOC 2018;
    S. Aaronson, A. Wigderson, "Algebrization", TOCT 2009.

    Examples
    --------
    >>> ov = OVInstance([[1, 0], [1, 1]], [[0, 1], [1, 1]])
    >>> reduction = OVToGapANNPCP()
    >>> reduction.sizes(ov).as_dict()
    {'p': 3, 'T': 2, 'D': 15, 'members': 9, 't': '10/3', 'entries': 300}
    >>> family = reduction.forward(ov)
    >>> family.count, family.targets[0]
    (9, GapANNInstance(n_a=2, n_b=2, d=15, t=10/3, eps=1/2))
    >>> from solvers.ann import brute_force_gap_ann
    >>> family.backward([brute_force_gap_ann(member) for member in family.targets])
    OrthogonalPair(i=0, j=0)
    """

    name: ClassVar[str] = "ov-gapann-pcp"
    source: ClassVar[str] = "ov"
    target: ClassVar[str] = "gapann"
    verify_max_size: ClassVar[int] = 4

    epsilon: Fraction = attrs.field(default=Fraction(1, 2), converter=Fraction, validator=_check_epsilon)
    max_members: int = 4096
    max_entries: int = 16_000_000

    def prime_for(self, dimension: int) -> int:
        """The smallest prime ``p > T`` with ``(2 - eps) p > 4(T - 1)``, ``T = max(d, 1)``.

        >>> [OVToGapANNPCP().prime_for(d) for d in (1, 2, 3, 4, 8, 64)]
        [2, 3, 7, 11, 19, 173]
        """
        blocks = max(dimension, 1)
        # (2 - eps) p > 4(T - 1)  <=>  p > 4(T - 1) / (2 - eps), compared exactly
        bound = Fraction(4 * (blocks - 1)) / (2 - self.epsilon)
        return smallest_prime_above(max(blocks, int(bound)))

    def protocol(self, dimension: int) -> DisjointnessProtocol:
        """The protocol the members are built from: ``T = max(d, 1)`` blocks of one coordinate."""
        blocks = max(dimension, 1)
        return DisjointnessProtocol(blocks, blocks, self.prime_for(dimension))

    def sizes(self, instance: OVInstance) -> PCPSizes:
        """The predicted sizes (Python ints), before anything is allocated."""
        d = instance.dimension
        blocks = max(d, 1)
        p = self.prime_for(d)
        members = p ** (2 * blocks - 2)
        dimension = p * (p + 2)
        threshold = Fraction(3 * p - 4 * (blocks - 1)) / (1 + self.epsilon)
        n_a, n_b = int(instance.a.shape[0]), int(instance.b.shape[0])
        entries = (n_a + members * n_b) * dimension
        return PCPSizes(p, blocks, dimension, members, threshold, entries)

    def random_source(self, rng: np.random.Generator, size: int) -> OVInstance:
        """Random OV instances of dimension 0-3 (d = 3 only at sizes 4, 8, ...: 2401 members), with and without
        orthogonal pairs."""
        n_a, n_b = int(rng.integers(1, size + 2)), int(rng.integers(1, size + 2))
        d = int(rng.choice([0, 1, 2, 2, 2, 3])) if size % 4 == 0 else int(rng.integers(0, 3))
        density = float(rng.uniform(0.1, 0.7))
        return OVInstance(rng.random((n_a, d)) < density, rng.random((n_b, d)) < density)

    def _padded(self, vectors: np.ndarray) -> np.ndarray:
        if vectors.shape[1] == 0:  # d = 0: one coordinate equal to 0 changes no inner product
            return np.zeros((vectors.shape[0], 1), dtype=np.int64)
        return vectors.astype(np.int64)

    def alice_vectors(self, instance: OVInstance) -> np.ndarray:
        """``x_a`` for every ``a`` (the same in every member): ``(n_a, p(p + 2))``."""
        protocol = self.protocol(instance.dimension)
        p = protocol.prime
        values = protocol.evaluations(self._padded(instance.a))[:, :, 0]  # A(r), (n_a, p)
        x = np.zeros((values.shape[0], p, p + 2), dtype=np.uint8)
        rows = np.arange(values.shape[0])[:, None]
        x[rows, np.arange(p)[None, :], values] = 1
        x[:, :, p] = 1
        return x.reshape(values.shape[0], p * (p + 2))

    def bob_vectors(self, instance: OVInstance, proofs: np.ndarray) -> np.ndarray:
        """``y`` for every proof (rows of coefficients) and every ``b``: ``(proofs, n_b, p(p + 2))``."""
        protocol = self.protocol(instance.dimension)
        p = protocol.prime
        b_values = protocol.evaluations(self._padded(instance.b))[:, :, 0]  # B(r), (n_b, p)
        q_values = protocol.proof_values(proofs)  # Q~(r), (m, p)
        inverse = np.array([0] + [pow(v, -1, p) for v in range(1, p)], dtype=np.int64)
        symbol = (q_values[:, None, :] * inverse[b_values][None, :, :]) % p  # Q~(r)/B(r), (m, n_b, p)
        zero = (b_values == 0)[None, :, :]
        symbol = np.where(zero, np.where(q_values[:, None, :] == 0, p, p + 1), symbol)
        m, n_b = q_values.shape[0], b_values.shape[0]
        y = np.zeros((m, n_b, p, p + 2), dtype=np.uint8)
        grid = np.indices((m, n_b, p))
        y[grid[0], grid[1], grid[2], symbol] = 1
        return y.reshape(m, n_b, p * (p + 2))

    def member(self, instance: OVInstance, proof: Any) -> GapANNInstance:
        """The one member built from Merlin's ``proof`` (coefficients passing the sum test), alone.

        >>> ov = OVInstance([[1, 0, 1, 0]], [[0, 1, 0, 1]])
        >>> reduction = OVToGapANNPCP()
        >>> honest = reduction.protocol(4).honest_proof(ov.a[0], ov.b[0])
        >>> g = reduction.member(ov, honest)
        >>> g, g.nearest_distances().tolist()
        (GapANNInstance(n_a=1, n_b=1, d=143, t=14, eps=1/2), [11])
        """
        protocol = self.protocol(instance.dimension)
        proof_row = np.asarray(proof, dtype=np.int64).reshape(1, protocol.merlin_length) % protocol.prime
        if not bool(protocol.passes_sum_test(proof_row)[0]):
            raise NotAWitnessError(f"proof {tuple(proof_row[0].tolist())} fails the sum test: it is no member")
        threshold = self.sizes(instance).threshold
        return GapANNInstance(
            self.alice_vectors(instance), self.bob_vectors(instance, proof_row)[0], threshold, self.epsilon
        )

    def _forward(self, instance: OVInstance) -> tuple[tuple[GapANNInstance, ...], Mapping[str, Any], Mapping[str, Any]]:
        sizes = self.sizes(instance)
        if sizes.members > self.max_members:
            raise SolverBudgetExceeded(
                f"ov-gapann-pcp at d = {instance.dimension} makes p^(2T-2) = {sizes.prime}^{2 * sizes.blocks - 2} = "
                f"{_compact(sizes.members)} instances, above max_members = {self.max_members}"
            )
        if sizes.entries > self.max_entries:
            raise SolverBudgetExceeded(
                f"ov-gapann-pcp makes {sizes.members} instances of dimension {sizes.dimension}: "
                f"{sizes.entries} vector entries, above max_entries = {self.max_entries}"
            )
        protocol = self.protocol(instance.dimension)
        alice = self.alice_vectors(instance)
        targets: list[GapANNInstance] = []
        for proofs in protocol.merlin_messages(batch=256):
            for bob in self.bob_vectors(instance, proofs):
                targets.append(GapANNInstance(alice, bob, sizes.threshold, self.epsilon))
        info = {
            "p": sizes.prime,
            "members": sizes.members,
            "gap": f"distances {sizes.prime} or >= {3 * sizes.prime - 4 * (sizes.blocks - 1)}",
        }
        return tuple(targets), {"protocol": protocol}, info

    def backward(self, reduced: Reduced, answer: Any) -> OrthogonalPair | None:
        """Decisions of every member -> an orthogonal pair (checked) or ``None``."""
        assert isinstance(reduced, ReducedFamily)
        answers = self.check_answers(reduced, answer)
        for index, decisions in enumerate(answers):
            if not isinstance(decisions, NeighborDecisions):
                raise TypeError(f"answer {index} must be NeighborDecisions (got {type(decisions).__name__})")
        for decisions in answers:
            if decisions.any_close:
                return find_partner(reduced.source, decisions)
        return None

    def parameters(self) -> ParameterMap:
        s = problem_symbols("ov")
        p = sympy.Symbol("p", positive=True)
        blocks = sympy.Max(s["d"], 1)
        eps = sympy.Rational(self.epsilon.numerator, self.epsilon.denominator)
        return ParameterMap(
            "ov",
            "gapann",
            {
                "n_a": s["n_a"],
                "n_b": s["n_b"],
                "d": p * (p + 2),
                "t": (3 * p - 4 * (blocks - 1)) / (1 + eps),
                "eps": eps,
            },
            ("p",),
        )

    def family_size(self) -> sympy.Expr:
        p = sympy.Symbol("p", positive=True)
        return p ** (2 * sympy.Max(problem_symbols("ov")["d"], 1) - 2)


def _compact(count: int) -> str:
    """An exact count, or ``about 10^k`` past 15 digits (no float conversion of a huge int).

    >>> _compact(4096), _compact(7**100)
    ('4,096', 'about 10^84')
    """
    digits = len(str(count))
    return f"{count:,}" if digits <= 15 else f"about 10^{digits - 1}"
