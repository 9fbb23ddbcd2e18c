"""The Merlin–Arthur protocol for set disjointness (Aaronson–Wigderson), Reed–Solomon version.

Alice holds ``a``, Bob holds ``b`` (both in ``{0,1}^d``); they want to know
whether ``<a, b> = 0``. Split the ``d`` coordinates into ``T`` blocks of
length ``l = ceil(d / T)`` (the last one padded with zeros): coordinate
``j l + k`` is entry ``k`` of block ``j``. Over a prime field ``F_p`` with
``p > d``, let ``A_k`` (and ``B_k``) be the polynomial of degree ``< T`` with
``A_k(j) = a[j l + k]`` for ``j = 0..T-1``, and::

    Q(x) = sum_k A_k(x) B_k(x)          (degree <= 2(T - 1))
    <a, b> = sum_{j < T} Q(j)           (an integer <= d < p, so = 0 iff = 0 mod p)

*Merlin* sends a polynomial ``Q~`` of degree ``<= 2(T - 1)`` (its ``2T - 1``
coefficients); *Arthur* draws ``r`` in ``F_p``; *Alice* sends
``(A_k(r))_k`` (``l`` field elements); Arthur accepts iff
``sum_{j<T} Q~(j) = 0`` and ``Q~(r) = sum_k A_k(r) B_k(r)`` (mod ``p``).

* **Completeness 1**: if ``<a, b> = 0``, Merlin's ``Q~ = Q`` is accepted for every ``r``.
* **Soundness error** ``2(T - 1)/p``: if ``<a, b> != 0``, a ``Q~`` that passes
  the sum test differs from ``Q``, and two distinct polynomials of degree
  ``<= 2(T - 1)`` agree on at most ``2(T - 1)`` points, whatever Merlin sends.

The costs are the trade-off every use of the protocol tunes: Merlin sends
``(2T - 1) log p`` bits, Alice ``l log p = (d/T) log p``, Arthur ``log p``
random bits. References: S. Aaronson, A. Wigderson, "Algebrization", TOCT
2009; A. Abboud, A. Rubinstein, R. Williams, "Distributed PCP Theorems for
Hardness of Approximation in P", FOCS 2017; L. Chen, "On the Hardness of
Approximate and Exact (Bichromatic) Maximum Inner Product", CCC 2018.

>>> protocol = DisjointnessProtocol.for_dimension(4, blocks=2)
>>> protocol.prime, protocol.block_length, protocol.soundness_error
(5, 2, Fraction(2, 5))
>>> a, b = [1, 0, 1, 0], [0, 1, 0, 1]
>>> proof = protocol.honest_proof(a, b)
>>> all(protocol.run(a, b, proof, r) for r in range(protocol.prime))
True
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Any

import attrs
import numpy as np
import sympy

from instances.errors import InvalidInstanceError

__all__ = ["DisjointnessProtocol", "smallest_prime_above", "lagrange_matrix", "interpolate_coefficients"]


def smallest_prime_above(bound: int) -> int:
    """The smallest prime ``> bound``.

    >>> smallest_prime_above(8), smallest_prime_above(1), smallest_prime_above(0)
    (11, 2, 2)
    """
    return int(sympy.nextprime(max(int(bound), 1)))


def lagrange_matrix(points: int, prime: int) -> np.ndarray:
    """``L`` with ``L[r, j] = ell_j(r) mod p``: the Lagrange basis for nodes ``0..points-1``, at every ``r`` in ``F_p``.

    So the polynomial of degree ``< points`` with values ``v_j`` at ``j`` takes
    the value ``(L @ v)[r] mod p`` at ``r``.

    >>> lagrange_matrix(2, 5).tolist()  # ell_0(x) = 1 - x, ell_1(x) = x
    [[1, 0], [0, 1], [4, 2], [3, 3], [2, 4]]
    """
    if not 0 < points <= prime:
        raise ValueError(f"need 0 < points <= prime (got points={points}, prime={prime})")
    table = np.zeros((prime, points), dtype=np.int64)
    for j in range(points):
        denominator = 1
        for m in range(points):
            if m != j:
                denominator = denominator * (j - m) % prime
        inverse = pow(denominator, -1, prime)
        for r in range(prime):
            numerator = 1
            for m in range(points):
                if m != j:
                    numerator = numerator * (r - m) % prime
            table[r, j] = numerator * inverse % prime
    return table


def interpolate_coefficients(values: Sequence[int], prime: int) -> tuple[int, ...]:
    """Coefficients (lowest first, mod ``p``) of the polynomial of degree ``< len(values)`` through
    ``(j, values[j])``, by Newton's divided differences in Python ints (``O(n^2)``).

    >>> interpolate_coefficients([0, 1, 0], 3)  # x (2 - x) = 2x + 2x^2 mod 3
    (0, 2, 2)
    """
    n = len(values)
    if not 0 < n <= prime:
        raise ValueError(f"need 1..p values (got {n} values for p = {prime})")
    differences = [int(v) % prime for v in values]
    for level in range(1, n):  # nodes are 0..n-1, so x_j - x_{j-level} = level
        inverse = pow(level, -1, prime)
        for j in range(n - 1, level - 1, -1):
            differences[j] = (differences[j] - differences[j - 1]) * inverse % prime
    coefficients = [0] * n
    for j in range(n - 1, -1, -1):  # Horner on the Newton form: c <- c (x - j) + differences[j]
        coefficients = [((coefficients[k - 1] if k else 0) - j * coefficients[k]) % prime for k in range(n)]
        coefficients[0] = (coefficients[0] + differences[j]) % prime
    return tuple(coefficients)


def _bits(name: str, vector: Any, dimension: int) -> np.ndarray:
    array = np.asarray(vector)
    if array.shape != (dimension,):
        raise InvalidInstanceError(f"'{name}' must have {dimension} entries (got shape {array.shape})")
    if not np.isin(array, (0, 1)).all():
        raise InvalidInstanceError(f"'{name}' must be a 0/1 vector (got {array.tolist()})")
    return array.astype(np.int64)


@attrs.frozen
class DisjointnessProtocol:
    """The protocol for ``d``-bit vectors with ``T`` blocks over ``F_p``.

    Use :meth:`for_dimension` to pick the prime; ``prime`` must exceed both
    ``dimension`` (so ``<a, b> != 0`` survives mod ``p``) and ``2(T - 1)``
    (so Merlin's polynomial is determined by its values and the soundness error is below 1).

    Examples
    --------
    >>> protocol = DisjointnessProtocol(dimension=3, blocks=3, prime=11)
    >>> protocol.merlin_length, protocol.block_length, protocol.soundness_error
    (5, 1, Fraction(4, 11))
    >>> a, b = [1, 1, 0], [0, 1, 0]
    >>> cheat = protocol.honest_proof(a, b)  # the honest Q, but <a, b> = 1: the sum test fails
    >>> any(protocol.run(a, b, cheat, r) for r in range(11))
    False
    """

    dimension: int
    blocks: int
    prime: int

    def __attrs_post_init__(self) -> None:
        if self.dimension < 0:
            raise ValueError(f"'dimension' must be >= 0 (got {self.dimension})")
        if not 1 <= self.blocks <= max(self.dimension, 1):
            raise ValueError(f"'blocks' must be in 1..max(d, 1) = {max(self.dimension, 1)} (got {self.blocks})")
        if not sympy.isprime(self.prime) or self.prime <= max(self.dimension, 2 * (self.blocks - 1)):
            raise ValueError(
                f"'prime' must be a prime > d = {self.dimension} and > 2(T - 1) = {2 * (self.blocks - 1)} "
                f"(got {self.prime})"
            )

    @classmethod
    def for_dimension(
        cls, dimension: int, *, blocks: int | None = None, soundness: Fraction = Fraction(1, 2)
    ) -> DisjointnessProtocol:
        """The smallest prime ``p > d`` with ``2(T - 1)/p <= soundness`` (``T = d`` blocks of one coordinate by default).

        >>> DisjointnessProtocol.for_dimension(8, blocks=4).prime  # p > 8 and 6/p <= 1/2
        13
        """
        soundness = Fraction(soundness)
        if not 0 < soundness < 1:
            raise ValueError(f"'soundness' must be in (0, 1) (got {soundness})")
        blocks = max(dimension, 1) if blocks is None else blocks
        # 2(T - 1)/p <= s  <=>  p >= 2(T - 1)/s
        least = max(dimension + 1, -(-2 * (blocks - 1) * soundness.denominator // soundness.numerator))
        return cls(dimension, blocks, smallest_prime_above(least - 1))

    @property
    def block_length(self) -> int:
        """``l = ceil(d / T)``: coordinates per block, field elements in Alice's message."""
        return max(-(-self.dimension // self.blocks), 1)

    @property
    def merlin_length(self) -> int:
        """``2T - 1``: coefficients of Merlin's polynomial."""
        return 2 * self.blocks - 1

    @property
    def soundness_error(self) -> Fraction:
        """``2(T - 1)/p``: the largest fraction of ``r`` any proof for a non-disjoint pair is accepted on."""
        return Fraction(2 * (self.blocks - 1), self.prime)

    @property
    def merlin_messages_count(self) -> int:
        """``p^(2T - 2)``: proofs that pass the sum test (the only ones ever accepted)."""
        return self.prime ** (2 * self.blocks - 2)

    def _grid(self, vectors: np.ndarray) -> np.ndarray:
        """``(n, d)`` bits -> ``(n, T, l)``: entry ``k`` of block ``j``."""
        n = vectors.shape[0]
        padded = np.zeros((n, self.blocks * self.block_length), dtype=np.int64)
        padded[:, : self.dimension] = vectors
        return padded.reshape(n, self.blocks, self.block_length)

    def evaluations(self, vectors: Any) -> np.ndarray:
        """``E[i, r, k] = A_k(r)`` for every row ``i`` of ``vectors`` and every ``r`` in ``F_p``.

        >>> DisjointnessProtocol(2, 2, 3).evaluations([[1, 0]]).tolist()  # A(x) = 1 - x
        [[[1], [0], [2]]]
        """
        array = np.asarray(vectors, dtype=np.int64).reshape(-1, self.dimension)
        basis = lagrange_matrix(self.blocks, self.prime)  # (p, T)
        return np.einsum("rj,njk->nrk", basis, self._grid(array)) % self.prime

    def alice_message(self, a: Any, r: int) -> tuple[int, ...]:
        """``(A_k(r))_k``: what Alice sends Arthur.

        >>> DisjointnessProtocol(2, 2, 3).alice_message([1, 0], 2)
        (2,)
        """
        bits = _bits("a", a, self.dimension)
        return tuple(int(v) for v in self.evaluations(bits[None, :])[0, self._point(r)])

    def _point(self, r: int) -> int:
        if not (isinstance(r, (int, np.integer)) and 0 <= r < self.prime):
            raise ValueError(f"'r' must be an element of F_{self.prime}, an integer in 0..{self.prime - 1} (got {r!r})")
        return int(r)

    def honest_proof(self, a: Any, b: Any) -> tuple[int, ...]:
        """The coefficients ``c_0..c_{2T-2}`` of ``Q = sum_k A_k B_k`` (lowest first), mod ``p``.

        >>> DisjointnessProtocol(2, 2, 3).honest_proof([1, 0], [0, 1])  # (1 - x) x
        (0, 1, 2)
        """
        values = self.evaluations(_bits("a", a, self.dimension)[None]) * self.evaluations(
            _bits("b", b, self.dimension)[None]
        )
        q_values = values[0].sum(axis=1) % self.prime  # Q(r) for r in F_p; degree 2(T-1) < p
        # Q has degree 2(T - 1) < p: its values at 0..2T-2 determine it
        return interpolate_coefficients([int(v) for v in q_values[: self.merlin_length]], self.prime)

    def proof_values(self, proofs: Any) -> np.ndarray:
        """``V[m, r] = Q~_m(r) mod p`` for proofs given as rows of coefficients.

        >>> DisjointnessProtocol(2, 2, 3).proof_values([[0, 1, 2]]).tolist()
        [[0, 0, 1]]
        """
        array = np.asarray(proofs, dtype=np.int64).reshape(-1, self.merlin_length)
        powers = np.array([[pow(r, c, self.prime) for c in range(self.merlin_length)] for r in range(self.prime)])
        return (array @ powers.T) % self.prime

    def passes_sum_test(self, proofs: Any) -> np.ndarray:
        """``sum_{j < T} Q~(j) = 0 (mod p)`` for each proof (a row of coefficients)."""
        return self.proof_values(proofs)[:, : self.blocks].sum(axis=1) % self.prime == 0

    def merlin_messages(self, *, batch: int = 4096) -> Iterator[np.ndarray]:
        """Every proof that passes the sum test, in batches of coefficient rows (``p^(2T - 2)`` in all).

        The free coefficients ``c_1..c_{2T-2}`` run through ``F_p`` in
        lexicographic order; ``c_0`` is then the one value that makes the sum test pass.

        >>> protocol = DisjointnessProtocol(2, 2, 3)
        >>> proofs = np.vstack(list(protocol.merlin_messages()))
        >>> proofs.shape, bool(protocol.passes_sum_test(proofs).all())
        ((9, 3), True)
        """
        free = self.merlin_length - 1
        p, total = self.prime, self.merlin_messages_count
        power_sums = [sum(pow(j, c, p) for j in range(self.blocks)) % p for c in range(1, free + 1)]
        inverse_t = pow(self.blocks, -1, p)
        for start in range(0, total, batch):
            index = np.arange(start, min(start + batch, total), dtype=np.int64)
            coefficients = np.zeros((index.size, free + 1), dtype=np.int64)
            for c in range(free, 0, -1):  # the last coefficient varies fastest
                coefficients[:, c] = index % p
                index = index // p
            weighted = coefficients[:, 1:] @ np.array(power_sums, dtype=np.int64) if free else 0
            coefficients[:, 0] = (-weighted * inverse_t) % p
            yield coefficients

    def merlin_message(self, index: int) -> tuple[int, ...]:
        """Proof number ``index`` of :meth:`merlin_messages` (``0 <= index < p^(2T - 2)``), without the others.

        >>> DisjointnessProtocol(2, 2, 3).merlin_message(5)  # (1 - x) x, the honest proof for a = 10, b = 01
        (0, 1, 2)
        """
        if not 0 <= index < self.merlin_messages_count:
            raise ValueError(f"'index' must be in 0..{self.merlin_messages_count - 1} (got {index})")
        p, free = self.prime, self.merlin_length - 1
        coefficients = [0] * (free + 1)
        for c in range(free, 0, -1):
            coefficients[c] = index % p
            index //= p
        weighted = sum(coefficients[c] * sum(pow(j, c, p) for j in range(self.blocks)) for c in range(1, free + 1))
        coefficients[0] = (-weighted * pow(self.blocks, -1, p)) % p
        return tuple(coefficients)

    def merlin_index(self, proof: Sequence[int]) -> int:
        """The position of ``proof`` among :meth:`merlin_messages` (it must pass the sum test).

        >>> protocol = DisjointnessProtocol(2, 2, 3)
        >>> protocol.merlin_index(protocol.merlin_message(5))
        5
        """
        coefficients = [int(c) % self.prime for c in proof]
        if len(coefficients) != self.merlin_length or not bool(self.passes_sum_test([coefficients])[0]):
            raise ValueError(f"{tuple(proof)} is not a proof of {self.merlin_length} coefficients passing the sum test")
        index = 0
        for c in coefficients[1:]:
            index = index * self.prime + c
        return index

    def run(self, a: Any, b: Any, merlin: Sequence[int], r: int) -> bool:
        """Arthur's verdict on proof ``merlin`` at random point ``r``: accept (``True``) or reject.

        >>> protocol = DisjointnessProtocol(2, 2, 3)
        >>> protocol.run([1, 0], [0, 1], (0, 1, 2), 1), protocol.run([1, 0], [0, 1], (0, 2, 1), 2)
        (True, False)
        """
        point = self._point(r)
        proof = np.asarray(merlin, dtype=np.int64)
        if proof.shape != (self.merlin_length,):
            raise ValueError(f"Merlin's message must be {self.merlin_length} coefficients (got {list(merlin)})")
        if not bool(self.passes_sum_test(proof[None])[0]):
            return False
        alice = np.array(self.alice_message(a, point), dtype=np.int64)
        bob = self.evaluations(_bits("b", b, self.dimension)[None])[0, point]
        claimed = int(self.proof_values(proof[None])[0, point])
        return claimed == int(alice @ bob) % self.prime
