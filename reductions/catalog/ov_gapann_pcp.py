"""OV -> Gap-Max-IP -> Gap-ANN with a constant gap, from the Merlin–Arthur protocol (``ov-gapann-pcp``).

The distributed-PCP route (Abboud–Rubinstein–Williams 2017, Rubinstein 2018)
with the Reed–Solomon protocol of :mod:`reductions.catalog.ma_protocol`, ``T = d``
blocks of one coordinate (``A(j) = a_j``, degree ``< d``) over ``F_p``.

**One member per Merlin message.** For every proof ``Q~`` that passes the sum
test (``p^(2T - 2)`` of them) build one Gap-ANN instance; the vectors have one
block of ``4k`` coordinates per random point ``r`` (``p`` blocks), and a block
says which of Alice's messages Arthur accepts at ``r``. Field elements are
written in the Hadamard code ``c(s)_x = <s + 1, x> mod 2`` (``x`` in
``{0,1}^log k``, ``k`` the least power of two ``> p``): distinct codewords
differ in exactly ``k/2`` places and every codeword has weight ``k/2``.
With ``c~`` the complement:

* Alice, ``alpha = A(r)``:                ``[c(alpha), c~(alpha), 1_k, 0_k]`` (the same in every member);
* Bob, ``B(r) != 0``, ``s = Q~(r)/B(r)``: ``[c(s), c~(s), 0_k, 1_k]`` (the one message Arthur accepts);
* Bob, ``B(r) = 0`` and ``Q~(r) = 0``:    ``[0_k, 0_k, 1_k, 1_k]`` (every message accepted);
* Bob, ``B(r) = 0`` and ``Q~(r) != 0``:   ``[1_k, 0_k, 0_k, 1_k]`` (none accepted).

A block's inner product is ``k`` where Arthur accepts and exactly ``k/2`` where
he rejects, so ``<x_a, y> = (k/2)(p + acc)`` with ``acc`` the number of points
accepted (Gap-Max-IP: ``k p`` against at most ``(k/2)(p + 2(T - 1))``). Every
vector has weight ``2kp``, half of ``D = 4kp``: the members are already in the
equal-weight form Lemma 4.7 needs, so the chain applies no half-ones padding.
Distances are ``D - 2<x, y> = k(3p - acc)``: exactly ``2kp`` for a disjoint
pair with the honest proof, at least ``k(3p - 2(T - 1))`` for any pair and
proof that Arthur does not accept everywhere (soundness). With
``t = k(3p - 2(T - 1))/(1 + eps)`` the member is Gap-ANN(n, 4kp, t, eps) and
every query is in case 1 or case 2. The prime is the smallest with ``p > T``
and ``(1 - 2 eps) p > 2(T - 1)`` (soundness error ``2(T - 1)/p`` below
``1 - 2 eps``): the soundness the gap needs comes from a large enough field,
not from independent repetition (``k`` repetitions would index the vectors by
``F_p^k``, ``p^k`` blocks, for the same effect). ``eps`` is a constant
(``1/5`` by default): it depends on neither ``d`` nor ``n``.

**Why a code, not one-hot symbols.** Lemma 4.7's ``beta`` is
``4 D ln(...)/(far - close)`` (certified) or ``40 D ln n/(t eps)`` (paper):
what it pays for is the dimension over the *absolute* gap, not ``eps``
alone. Writing each symbol one-hot (``p + 2`` coordinates per point,
``D = p(p + 2)``, distances ``3p - 2 acc``) also gives a constant ``eps`` but a
gap of ``2p - 4(T - 1)`` in dimension ``p(p + 2)``: ``D/(far - close) =
Theta(p) = Theta(d)``, and the chain's ``B^2`` keeps the factor ``d`` of the
exact-gap gadget (measured: about 1.8 times its ``B^2`` in paper mode). With
a code of relative distance ``1/2`` a rejected point costs ``k/2`` of the
``4k`` coordinates of its block, so ``(far - close)/D = (p - 2(T - 1))/(4p)``,
at least ``eps/2`` (``1/10``): ``beta <= 40 ln(...)`` in certified
mode and ``beta <= 40 (D/t)/eps ln n <= 400 ln n`` in paper mode (``eps = 1/5``),
so ``B = Theta(sqrt(log n))`` whatever ``d`` is. The numbers for both
chains are in :func:`reductions.catalog.chains.entry_bounds` (at SATLIB's
uf250-1065, ``B`` is about 60 certified and 186 paper here, against 753 and
3328 for the exact-gap gadget).

**What Reed–Solomon costs, and where.** Not ``B``: the loss is in the
dimension and the number of members, the two things the algebraic-geometry
codes of Rubinstein (2018) keep small. (1) A Reed–Solomon code of length
``T`` needs ``T`` distinct points, so ``p > T = d`` and each field element
needs ``log p`` bits: ``D = 4kp`` is ``Theta(d^2)`` with the Hadamard code here
(``k < 2p``), and would be ``Theta(d log d)`` with a binary code of constant
rate and distance in its place (for example a random linear code; ``beta``
changes only by the constant ``1/delta``). That factor ``log d =
Theta(log log n)`` is the logarithmic loss: over a field of constant size
(algebraic-geometry codes) ``D = Theta(d) = Theta(log n)``, the dimension of
Alman–Song's theorem. (2) Merlin's message has ``(2T - 1) log p`` bits with
one coordinate per block: ``p^(2d - 2) = 2^Theta(d log d)`` members, more than
the ``2^d`` a brute-force OV algorithm tries, so this Turing reduction carries
no SETH consequence by itself (that needs ``2^o(d)`` members). Larger blocks (``l = d/T``)
shrink the members to ``p^(2T - 2)`` but make Alice's alphabet ``p^l`` and
Bob's accepted set a hyperplane of ``p^(l - 1)`` messages, which no
symbol-by-symbol code turns into a constant relative gap; that is the step
where the distributed PCP of Rubinstein (2018) is needed. So this reduction
is exact, with a constant gap and ``B = Theta(sqrt(log n))``, and small only
for small ``d``: the sizes are stated (:meth:`OVToGapANNPCP.sizes`) and
refused beyond ``max_members`` and ``max_entries`` before anything is built.
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
from instances.formatting import format_count, json_count
from instances.vectors import GapANNInstance, OVInstance
from reductions.catalog.ma_protocol import DisjointnessProtocol, smallest_prime_above
from reductions.catalog.ov_family import OVFamilyReduction
from reductions.catalog.ov_gapann import find_partner
from reductions.core import ParameterMap, Reduced
from reductions.family import ReducedFamily
from reductions.problems import problem_symbols

__all__ = ["OVToGapANNPCP", "PCPSizes", "hadamard_codewords"]


@attrs.frozen
class PCPSizes:
    """The sizes of one run, as Python ints, predicted before anything is built."""

    prime: int
    blocks: int
    code_length: int
    dimension: int
    members: int
    threshold: Fraction
    entries: int

    @property
    def close_distance(self) -> int:
        """``2kp``: the distance of a disjoint pair under its honest proof."""
        return 2 * self.code_length * self.prime

    @property
    def far_distance(self) -> int:
        """``k(3p - 2(T - 1))``: the least distance of any other pair and proof."""
        return self.code_length * (3 * self.prime - 2 * (self.blocks - 1))

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "p": self.prime,
            "T": self.blocks,
            "k": self.code_length,
            "D": self.dimension,
            "members": json_count(self.members),
            "t": str(self.threshold),
            "entries": json_count(self.entries),
        }


def hadamard_codewords(symbols: int) -> np.ndarray:
    """``C[s] = c(s)``, ``c(s)_x = <s + 1, x> mod 2`` for ``x`` in ``{0,1}^log k``: ``(symbols, k)`` bits,
    ``k`` the least power of two ``> symbols``.

    Distinct rows differ in exactly ``k/2`` places and every row has weight ``k/2``.

    >>> hadamard_codewords(3).tolist()
    [[0, 1, 0, 1], [0, 0, 1, 1], [0, 1, 1, 0]]
    """
    if symbols < 1:
        raise ValueError(f"'symbols' must be >= 1 (got {symbols})")
    length = 1 << symbols.bit_length()  # the least power of two > symbols
    masks = np.arange(1, symbols + 1, dtype=np.int64)[:, None] & np.arange(length, dtype=np.int64)[None, :]
    parity = np.zeros_like(masks)
    while masks.any():
        parity ^= masks & 1
        masks >>= 1
    return parity.astype(np.uint8)


def _check_epsilon(_instance: Any, _attribute: Any, value: Any) -> None:
    if not (isinstance(value, Fraction) and 0 < value < Fraction(1, 2)):
        raise ValueError(f"'epsilon' must be a fraction in (0, 1/2) (got {value!r})")


@attrs.frozen
class OVToGapANNPCP(OVFamilyReduction[PCPSizes]):
    """OV(n_a, n_b, d) -> ``p^(2d-2)`` instances of Gap-ANN(n_a, n_b, 4kp, t, eps), eps constant.

    Parameters
    ----------
    epsilon : Fraction
        The gap; any constant in ``(0, 1/2)`` (the prime grows as ``eps -> 1/2``).
    max_members : int
        Most family members the forward map builds.
    max_entries : int
        Most vector entries, over all members, the forward map builds.

    Notes
    -----
    Sizes with ``T = max(d, 1)``: ``p`` the smallest prime with ``p > T`` and
    ``(1 - 2 eps) p > 2(T - 1)``; ``k`` the least power of two ``> p``;
    members ``p^(2T - 2)``; dimension ``4kp``; threshold
    ``t = k(3p - 2(T - 1))/(1 + eps)``; the honest distance is ``2kp``. Every
    member has equal weights ``2kp = D/2``. See the module docstring for the
    construction and for what the Reed–Solomon instantiation loses.

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
    {'p': 5, 'T': 2, 'k': 8, 'D': 160, 'members': 25, 't': '260/3', 'entries': 8320}
    >>> family = reduction.forward(ov)
    >>> family.count, family.targets[0], family.targets[0].has_equal_weights()
    (25, GapANNInstance(n_a=2, n_b=2, d=160, t=260/3, eps=1/5), True)
    >>> from solvers.ann import brute_force_gap_ann
    >>> family.backward([brute_force_gap_ann(member) for member in family.targets])
    OrthogonalPair(i=0, j=0)
    """

    name: ClassVar[str] = "ov-gapann-pcp"
    target: ClassVar[str] = "gapann"
    verify_max_size: ClassVar[int] = 4

    epsilon: Fraction = attrs.field(default=Fraction(1, 5), converter=Fraction, validator=_check_epsilon)
    max_members: int = 4096
    max_entries: int = 16_000_000

    def prime_for(self, dimension: int) -> int:
        """The smallest prime ``p > T`` with ``(1 - 2 eps) p > 2(T - 1)``, ``T = max(d, 1)``.

        >>> [OVToGapANNPCP().prime_for(d) for d in (1, 2, 3, 4, 8, 64)]
        [2, 5, 7, 11, 29, 211]
        """
        blocks = max(dimension, 1)
        # (1 - 2 eps) p > 2(T - 1)  <=>  p > 2(T - 1) / (1 - 2 eps), compared exactly
        bound = Fraction(2 * (blocks - 1)) / (1 - 2 * self.epsilon)
        return smallest_prime_above(max(blocks, int(bound)))

    def code_length_for(self, dimension: int) -> int:
        """``k``: the least power of two above ``p`` (Hadamard codewords for the ``p`` symbols).

        >>> [OVToGapANNPCP().code_length_for(d) for d in (1, 2, 3, 4, 8, 64)]
        [4, 8, 8, 16, 32, 256]
        """
        return 1 << self.prime_for(dimension).bit_length()

    def protocol(self, dimension: int) -> DisjointnessProtocol:
        """The protocol the members are built from: ``T = max(d, 1)`` blocks of one coordinate."""
        blocks = max(dimension, 1)
        return DisjointnessProtocol(blocks, blocks, self.prime_for(dimension))

    def _sizes(self, d: int, n_a: int, n_b: int) -> PCPSizes:
        blocks = max(d, 1)
        p = self.prime_for(d)
        k = self.code_length_for(d)
        members = p ** (2 * blocks - 2)
        dimension = 4 * k * p
        threshold = Fraction(k * (3 * p - 2 * (blocks - 1))) / (1 + self.epsilon)
        entries = (n_a + members * n_b) * dimension  # Alice's matrix is built once and shared by the members
        return PCPSizes(p, blocks, k, dimension, members, threshold, entries)

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

    def _blocks(self, p: int) -> np.ndarray:
        """``(p + 2, 4k)`` block patterns: rows ``0..p-1`` are Bob's for one accepted symbol,
        row ``p`` accepts everything, row ``p + 1`` nothing."""
        code = hadamard_codewords(p)
        k = code.shape[1]
        ones, zeros = np.ones((1, k), dtype=np.uint8), np.zeros((1, k), dtype=np.uint8)
        single = np.hstack([code, 1 - code, np.zeros((p, k), np.uint8), np.ones((p, k), np.uint8)])
        everything = np.hstack([zeros, zeros, ones, ones])
        nothing = np.hstack([ones, zeros, zeros, ones])
        return np.vstack([single, everything, nothing])

    def alice_vectors(self, instance: OVInstance) -> np.ndarray:
        """``x_a`` for every ``a`` (the same in every member): ``(n_a, 4kp)``, block ``r`` is
        ``[c(A(r)), c~(A(r)), 1_k, 0_k]``."""
        protocol = self.protocol(instance.dimension)
        p = protocol.prime
        code = hadamard_codewords(p)
        k = code.shape[1]
        patterns = np.hstack([code, 1 - code, np.ones((p, k), np.uint8), np.zeros((p, k), np.uint8)])
        values = protocol.evaluations(self._padded(instance.a))[:, :, 0]  # A(r), (n_a, p)
        return patterns[values].reshape(values.shape[0], p * 4 * k)

    def bob_symbols(self, instance: OVInstance, proofs: np.ndarray) -> np.ndarray:
        """What Arthur accepts at each ``r``, for every proof and every ``b``: ``(proofs, n_b, p)`` with
        ``Q~(r)/B(r)`` where ``B(r) != 0``, ``p`` for every message, ``p + 1`` for none."""
        protocol = self.protocol(instance.dimension)
        p = protocol.prime
        b_values = protocol.evaluations(self._padded(instance.b))[:, :, 0]  # B(r), (n_b, p)
        q_values = protocol.proof_values(proofs)  # Q~(r), (m, p)
        inverse = np.array([0] + [pow(v, -1, p) for v in range(1, p)], dtype=np.int64)
        symbol = (q_values[:, None, :] * inverse[b_values][None, :, :]) % p  # Q~(r)/B(r), (m, n_b, p)
        zero = (b_values == 0)[None, :, :]
        return np.where(zero, np.where(q_values[:, None, :] == 0, p, p + 1), symbol)

    def bob_vectors(self, instance: OVInstance, proofs: np.ndarray) -> np.ndarray:
        """``y`` for every proof (rows of coefficients) and every ``b``: ``(proofs, n_b, 4kp)``."""
        p = self.prime_for(instance.dimension)
        symbol = self.bob_symbols(instance, proofs)
        patterns = self._blocks(p)
        m, n_b = symbol.shape[:2]
        return patterns[symbol].reshape(m, n_b, p * patterns.shape[1])

    def member(self, instance: OVInstance, proof: Any) -> GapANNInstance:
        """The one member built from Merlin's ``proof`` (coefficients passing the sum test), alone.

        >>> ov = OVInstance([[1, 0, 1, 0]], [[0, 1, 0, 1]])
        >>> reduction = OVToGapANNPCP()
        >>> honest = reduction.protocol(4).honest_proof(ov.a[0], ov.b[0])
        >>> g = reduction.member(ov, honest)
        >>> g, g.nearest_distances().tolist()
        (GapANNInstance(n_a=1, n_b=1, d=704, t=360, eps=1/5), [352])

        Refused (:class:`SolverBudgetExceeded`) before anything is built when the member's
        ``(n_a + n_b) 4kp`` entries, or the ``p T^2`` steps of the protocol's interpolation, pass
        ``max_entries``.

        >>> reduction.member(OVInstance(np.zeros((1, 200)), np.zeros((1, 200))), [0] * 399)
        Traceback (most recent call last):
        ...
        instances.errors.SolverBudgetExceeded: ov-gapann-pcp member at d = 200: p = 673, 5,513,216 vector entries and p T^2 = 26,920,000 interpolation steps, above max_entries = 16,000,000
        """
        sizes = self.sizes(instance)
        entries = sizes.dimension * (int(instance.a.shape[0]) + int(instance.b.shape[0]))
        steps = sizes.prime * sizes.blocks**2
        if max(entries, steps) > self.max_entries:
            raise SolverBudgetExceeded(
                f"ov-gapann-pcp member at d = {instance.dimension}: p = {sizes.prime}, {format_count(entries)} vector "
                f"entries and p T^2 = {format_count(steps)} interpolation steps, above max_entries = "
                f"{format_count(self.max_entries)}"
            )
        protocol = self.protocol(instance.dimension)
        proof_row = np.asarray(proof, dtype=np.int64).reshape(1, protocol.merlin_length) % protocol.prime
        if not bool(protocol.passes_sum_test(proof_row)[0]):
            raise NotAWitnessError(f"proof {tuple(proof_row[0].tolist())} fails the sum test: it is no member")
        threshold = sizes.threshold
        return GapANNInstance(
            self.alice_vectors(instance), self.bob_vectors(instance, proof_row)[0], threshold, self.epsilon
        )

    def refusal(self, sizes: PCPSizes, d: int) -> str | None:
        """Why the forward map would refuse these sizes (one line, with the sizes), or ``None``.

        >>> OVToGapANNPCP().refusal(OVToGapANNPCP()._sizes(2, 8, 8), 2) is None
        True
        """
        if sizes.members > self.max_members:
            return (
                f"ov-gapann-pcp at d = {d} makes p^(2T-2) = {sizes.prime}^{2 * sizes.blocks - 2} = "
                f"{format_count(sizes.members)} instances, above max_members = {self.max_members}"
            )
        if sizes.entries > self.max_entries:
            return (
                f"ov-gapann-pcp makes {format_count(sizes.members)} instances of dimension {sizes.dimension}: "
                f"{format_count(sizes.entries)} vector entries, above max_entries = {format_count(self.max_entries)}"
            )
        return None

    def _forward(self, instance: OVInstance) -> tuple[tuple[GapANNInstance, ...], Mapping[str, Any], Mapping[str, Any]]:
        sizes = self.checked_sizes(instance)
        protocol = self.protocol(instance.dimension)
        alice = self.alice_vectors(instance)
        alice.flags.writeable = False  # one matrix shared by every member, as max_entries counts it
        targets: list[GapANNInstance] = []
        for proofs in protocol.merlin_messages(batch=256):
            for bob in self.bob_vectors(instance, proofs):
                targets.append(GapANNInstance(alice, bob, sizes.threshold, self.epsilon))
        info = {
            "p": sizes.prime,
            "k": sizes.code_length,
            "members": sizes.members,
            "gap": f"distances {sizes.close_distance} or >= {sizes.far_distance}",
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
        k = sympy.Symbol("k", positive=True)
        blocks = sympy.Max(s["d"], 1)
        eps = sympy.Rational(self.epsilon.numerator, self.epsilon.denominator)
        return ParameterMap(
            "ov",
            "gapann",
            {
                "n_a": s["n_a"],
                "n_b": s["n_b"],
                "d": 4 * k * p,
                "t": k * (3 * p - 2 * (blocks - 1)) / (1 + eps),
                "eps": eps,
            },
            ("p", "k"),
        )

    def family_size(self) -> sympy.Expr:
        p = sympy.Symbol("p", positive=True)
        return p ** (2 * sympy.Max(problem_symbols("ov")["d"], 1) - 2)
