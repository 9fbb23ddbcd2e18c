"""The Merlin–Arthur disjointness protocol: completeness and soundness checked exhaustively for d <= 8."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reductions.catalog.ma_protocol import DisjointnessProtocol, lagrange_matrix


def _all_vectors(d: int) -> np.ndarray:
    return np.array(list(itertools.product((0, 1), repeat=d)), dtype=np.int64).reshape(-1, d)


def _direct_polynomial_value(values: list[int], r: int, p: int) -> int:
    """Lagrange interpolation through (j, values[j]) evaluated at r, in plain Python ints (the reference)."""
    total = 0
    for j, v in enumerate(values):
        num, den = 1, 1
        for m in range(len(values)):
            if m != j:
                num, den = num * (r - m), den * (j - m)
        total += v * num * pow(den, -1, p)
    return total % p


# (d, T) pairs small enough to enumerate every pair, every accepted-able proof and every r.
CASES = [(d, t) for d in range(1, 9) for t in sorted({1, 2, 3, d}) if t <= d and (t <= 2 or d <= 3)]
CASES.append(pytest.param(4, 4, marks=pytest.mark.slow))  # 13^6 proofs: about a minute


@pytest.mark.parametrize(("d", "blocks"), CASES)
def test_completeness_and_soundness_exhaustive(d: int, blocks: int) -> None:
    protocol = DisjointnessProtocol.for_dimension(d, blocks=blocks)
    p = protocol.prime
    vectors = _all_vectors(d)
    alice, bob = protocol.evaluations(vectors), protocol.evaluations(vectors)  # (2^d, p, l)
    # Q_{a,b}(r) for every pair (a, b) and every r, straight from the messages Arthur compares.
    q_rows = np.einsum("irk,jrk->ijr", alice, bob).reshape(-1, p) % p
    inner = (vectors @ vectors.T).reshape(-1)
    proofs = np.vstack(list(protocol.merlin_messages()))
    assert proofs.shape[0] == p ** (2 * blocks - 2) == protocol.merlin_messages_count
    values = protocol.proof_values(proofs)  # (messages, p)
    unique_rows, which = np.unique(q_rows, axis=0, return_inverse=True)
    best = np.zeros(unique_rows.shape[0], dtype=np.int64)  # most r accepted by any proof, per distinct Q row
    for start in range(0, values.shape[0], 512):
        agree = (values[start : start + 512, None, :] == unique_rows[None, :, :]).sum(axis=2)
        best = np.maximum(best, agree.max(axis=0))
    accepted = best[which.reshape(-1)]
    orthogonal = inner == 0
    # completeness 1: every disjoint pair has a proof accepted at every r
    assert (accepted[orthogonal] == p).all()
    # soundness: no proof is accepted at more than 2(T - 1) of the p points for an intersecting pair
    bound = protocol.soundness_error * p
    assert bound == 2 * (blocks - 1) and protocol.soundness_error <= Fraction(1, 2)
    assert (accepted[~orthogonal] <= bound).all()


@pytest.mark.parametrize(("d", "blocks"), [(2, 2), (3, 2), (3, 3)])
def test_every_merlin_message_including_failing_sum_test(d: int, blocks: int) -> None:
    """Over all p^(2T-1) coefficient vectors: merlin_messages is exactly the set passing the sum test,
    and run() on every message, pair and r agrees with the definitions (sum test, then Q~(r) = <A(r), B(r)>)."""
    protocol = DisjointnessProtocol.for_dimension(d, blocks=blocks)
    p, length = protocol.prime, protocol.merlin_length
    everything = np.array(list(itertools.product(range(p), repeat=length)), dtype=np.int64)
    passing = everything[protocol.passes_sum_test(everything)]
    listed = np.vstack(list(protocol.merlin_messages(batch=7)))
    assert sorted(map(tuple, listed.tolist())) == sorted(map(tuple, passing.tolist()))
    vectors = _all_vectors(d)
    rng = np.random.default_rng(d * 10 + blocks)
    for index in rng.choice(everything.shape[0], size=min(12, everything.shape[0]), replace=False):
        proof = [int(c) for c in everything[index]]
        sum_ok = sum(sum(c * j**k for k, c in enumerate(proof)) for j in range(blocks)) % p == 0
        for a, b in itertools.product(vectors, repeat=2):
            for r in range(p):
                claimed = sum(c * r**k for k, c in enumerate(proof)) % p
                real = sum(x * y for x, y in zip(protocol.alice_message(a, r), _bob(protocol, b, r), strict=True)) % p
                assert protocol.run(a, b, proof, r) == (sum_ok and claimed == real)


def _bob(protocol: DisjointnessProtocol, b: np.ndarray, r: int) -> tuple[int, ...]:
    return protocol.alice_message(b, r)  # Bob's evaluations are computed the same way as Alice's


@given(st.integers(1, 8), st.data())
def test_messages_are_the_interpolating_polynomials(d: int, data: st.DataObject) -> None:
    blocks = data.draw(st.integers(1, d))
    protocol = DisjointnessProtocol.for_dimension(d, blocks=blocks)
    p, length = protocol.prime, protocol.block_length
    a = np.array(data.draw(st.lists(st.integers(0, 1), min_size=d, max_size=d)))
    r = data.draw(st.integers(0, p - 1))
    padded = list(a) + [0] * (blocks * length - d)
    expected = tuple(
        _direct_polynomial_value([padded[j * length + k] for j in range(blocks)], r, p) for k in range(length)
    )
    assert protocol.alice_message(a, r) == expected


@given(st.integers(1, 8), st.data())
def test_honest_proof_is_accepted_exactly_when_disjoint(d: int, data: st.DataObject) -> None:
    blocks = data.draw(st.integers(1, min(d, 4)))
    protocol = DisjointnessProtocol.for_dimension(d, blocks=blocks)
    a = np.array(data.draw(st.lists(st.integers(0, 1), min_size=d, max_size=d)))
    b = np.array(data.draw(st.lists(st.integers(0, 1), min_size=d, max_size=d)))
    proof = protocol.honest_proof(a, b)
    verdicts = [protocol.run(a, b, proof, r) for r in range(protocol.prime)]
    assert all(verdicts) == (int(a @ b) == 0)
    if int(a @ b) == 0:
        assert protocol.merlin_message(protocol.merlin_index(proof)) == proof


def test_lagrange_basis_interpolates() -> None:
    basis = lagrange_matrix(4, 7)
    assert (basis[:4] == np.eye(4, dtype=np.int64)).all()


def test_bad_input_is_one_clear_line() -> None:
    protocol = DisjointnessProtocol.for_dimension(3)
    with pytest.raises(ValueError, match="'r' must be an element of F_11"):
        protocol.run([0, 0, 1], [1, 0, 0], (0,) * 5, 11)
    with pytest.raises(ValueError, match="must be 5 coefficients"):
        protocol.run([0, 0, 1], [1, 0, 0], (0, 0), 1)
    with pytest.raises(Exception, match="'a' must be a 0/1 vector"):
        protocol.run([0, 2, 1], [1, 0, 0], (0,) * 5, 1)
    with pytest.raises(ValueError, match="'prime' must be a prime > d = 3 and > 2"):
        DisjointnessProtocol(3, 3, 3)
