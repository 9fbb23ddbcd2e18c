"""The problems of the built-in catalogue: generators, reference solvers, answer checks, witnesses.

Nothing is registered here on import; :func:`reductions.catalog.register_builtins`
registers :func:`builtin_problems` with the rest of the catalogue. The solvers
are imported inside the functions that call them, on first use: registering
the catalogue loads neither PySAT nor mpmath.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from instances.answers import Assignment, NeighborDecisions, OrthogonalPair
from instances.attention import AttentionInstance, AttentionOutput, random_attention
from instances.cnf import CNF
from instances.matmul import MatMulInstance, MatrixProduct
from instances.maxip import InnerProductPair, MaxIPInstance
from instances.self_attention import SelfAttentionInstance, random_self_attention
from instances.vectors import GapANNInstance, OVInstance
from instances.zmaxip import ZMaxIPInstance, random_zmaxip
from reductions.problems import Problem

__all__ = ["builtin_problems", "random_test_formula", "ATTENTION_ORACLES"]

# -- k-SAT -------------------------------------------------------------------------


def random_test_formula(rng: np.random.Generator, num_vars: int) -> CNF:
    """A small random CNF with the edge cases verification must see: clause
    widths 1-4, repeated literals, tautologies, occasional empty clauses, and
    clause counts on both sides of the satisfiability threshold.

    >>> import numpy as np
    >>> random_test_formula(np.random.default_rng(0), 3).num_vars
    3
    """
    num_clauses = int(rng.integers(0, 5 * max(num_vars, 1) + 2))
    clauses: list[tuple[int, ...]] = []
    for _ in range(num_clauses):
        if num_vars == 0 or rng.random() < 0.02:
            clauses.append(())
            continue
        width = int(rng.integers(1, 5))
        variables = rng.integers(1, num_vars + 1, size=width)
        signs = np.where(rng.random(width) < 0.5, -1, 1)
        clauses.append(tuple(int(x) for x in variables * signs))
    return CNF(num_vars, clauses)


def _solve_sat(cnf: CNF) -> Assignment | None:
    from solvers.sat import solve_sat

    return solve_sat(cnf)


def _check_sat(cnf: CNF, answer: Any, reference: Assignment | None) -> str | None:
    if answer is None:
        return None if reference is None else "answered UNSAT, the formula is satisfiable"
    if not isinstance(answer, Assignment):
        return f"answer is a {type(answer).__name__}, not an Assignment"
    if answer.num_vars != cnf.num_vars:
        return f"assignment has {answer.num_vars} variables, the formula {cnf.num_vars}"
    if not cnf.is_satisfied_by(answer):
        return "assignment does not satisfy the formula"
    return None


def _sat_witnesses(cnf: CNF, limit: int) -> list[Assignment]:
    """Up to ``limit`` satisfying assignments, found with blocking clauses."""
    from solvers.sat import solve_sat

    found: list[Assignment] = []
    formula = cnf
    while len(found) < limit:
        assignment = solve_sat(formula)
        if assignment is None:
            break
        found.append(assignment)
        formula = CNF(cnf.num_vars, formula.clauses + (tuple(-lit for lit in assignment.to_literals()),))
        if cnf.num_vars == 0:
            break
    return found


# -- Orthogonal Vectors -----------------------------------------------------------------


def _random_ov(rng: np.random.Generator, size: int) -> OVInstance:
    n_a, n_b = int(rng.integers(1, size + 2)), int(rng.integers(1, size + 2))
    d = int(rng.integers(0, size + 3))
    density = float(rng.uniform(0.1, 0.6))
    return OVInstance((rng.random((n_a, d)) < density), (rng.random((n_b, d)) < density))


def _solve_ov(instance: OVInstance) -> OrthogonalPair | None:
    from solvers.ov import brute_force_ov

    return brute_force_ov(instance)


def _check_ov(instance: OVInstance, answer: Any, reference: OrthogonalPair | None) -> str | None:
    if answer is None:
        return None if reference is None else f"answered no pair, {reference} is orthogonal"
    if not isinstance(answer, OrthogonalPair):
        return f"answer is a {type(answer).__name__}, not an OrthogonalPair"
    if not instance.is_orthogonal_pair(answer):
        return f"{answer} is not orthogonal"
    return None


def _ov_witnesses(instance: OVInstance, limit: int) -> list[OrthogonalPair]:
    from solvers.ov import orthogonal_pairs

    return orthogonal_pairs(instance, limit=limit)


# -- Gap-ANN -------------------------------------------------------------------------


def _random_gap_ann(rng: np.random.Generator, size: int) -> GapANNInstance:
    ov = _random_ov(rng, size)
    d = ov.dimension
    threshold = int(rng.integers(1, d + 2))
    epsilon = Fraction(int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    return GapANNInstance(ov.a, ov.b, threshold, epsilon)


def _solve_gap_ann(instance: GapANNInstance) -> NeighborDecisions:
    from solvers.ann import brute_force_gap_ann

    return brute_force_gap_ann(instance)


def _check_gap_ann(instance: GapANNInstance, answer: Any, reference: Any) -> str | None:
    if not isinstance(answer, NeighborDecisions):
        return f"answer is a {type(answer).__name__}, not NeighborDecisions"
    if len(answer.close) != instance.a.shape[0]:
        return f"{len(answer.close)} decisions for {instance.a.shape[0]} queries"
    if not instance.is_valid_answer(answer):
        return "some decision contradicts the promise (a close query called far or a far one called close)"
    return None


def _gap_ann_witnesses(instance: GapANNInstance, limit: int) -> list[NeighborDecisions]:
    """The exact answer, plus the answer that flips every query inside the gap."""
    exact = _solve_gap_ann(instance)
    nearest = instance.nearest_distances()
    in_gap = (nearest >= instance.threshold) & (nearest < instance.far_distance)
    answers = [exact]
    if in_gap.any():
        answers.append(NeighborDecisions(tuple(bool(c) ^ bool(g) for c, g in zip(exact.close, in_gap, strict=False))))
    return answers[:limit]


# -- AAttC ---------------------------------------------------------------------------------


def _random_attention(rng: np.random.Generator, size: int) -> Any:
    return random_attention(size + 1, 1 + size % 4, float(rng.uniform(0.5, 3.0)), seed=rng)


def _solve_attention(instance: Any) -> Any:
    from solvers.attention.exact import ExactAttention

    return ExactAttention()(instance, log_space=instance.nonnegative_values)


def _check_attention(instance: Any, answer: Any, reference: Any) -> str | None:
    """Compare with the reference entrywise, each side within its stated error.

    Either side may be given in log space only (the exact reference is, for
    ``V >= 0``): its entries are then ``e^(log value)``, within the smaller of
    the two bounds it states (``rel_error`` relative, ``abs_error`` absolute).
    """
    if not isinstance(answer, AttentionOutput) or (answer.values is None and answer.log_values is None):
        return "answer is not an attention output with values"

    def values_and_slack(output: AttentionOutput) -> tuple[np.ndarray, np.ndarray]:
        if output.values is not None:
            return output.values, np.full(output.values.shape, output.abs_error)
        assert output.log_values is not None
        values = np.exp(output.log_values)
        relative = output.rel_error * values / (1 - output.rel_error) if output.rel_error < 1 else np.inf
        return values, np.minimum(output.abs_error, relative) + 4 * np.finfo(float).eps * values

    got, got_slack = values_and_slack(answer)
    want, want_slack = values_and_slack(reference)
    if got.shape != want.shape:
        return f"output has shape {got.shape}, expected {want.shape}"
    if not got.size:
        return None
    excess = np.abs(got - want) - (got_slack + want_slack)
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    if excess[worst] <= 0:
        return None
    return (
        f"output entry {tuple(int(i) for i in worst)} is {float(got[worst]):.6g}, exact attention gives "
        f"{float(want[worst]):.6g}: off by {float(abs(got[worst] - want[worst])):.3g} > "
        f"{float(got_slack[worst] + want_slack[worst]):.3g} allowed"
    )


# -- Max-IP --------------------------------------------------------------------------------


def _random_maxip(rng: np.random.Generator, size: int) -> Any:
    """Binary or small-integer Max-IP with the threshold near the true maximum (both answers occur)."""
    n_a, n_b = int(rng.integers(1, size + 2)), int(rng.integers(0 if size > 2 else 1, size + 2))
    d = int(rng.integers(0, size + 3))
    if rng.random() < 0.5:
        a, b = rng.integers(0, 2, size=(n_a, d)), rng.integers(0, 2, size=(n_b, d))
    else:
        low, high = -int(rng.integers(0, 4)), int(rng.integers(1, 4))
        a, b = rng.integers(low, high + 1, size=(n_a, d)), rng.integers(low, high + 1, size=(n_b, d))
    best = int((a @ b.T).max()) if n_b and n_a else 0
    return MaxIPInstance(a, b, best + int(rng.integers(-1, 2)))


def _solve_maxip(instance: Any) -> Any:
    from solvers.maxip import brute_force_maxip

    return brute_force_maxip(instance)


def _check_maxip(instance: Any, answer: Any, reference: Any) -> str | None:
    if answer is None:
        return None if reference is None else f"answered no pair, {reference} reaches the threshold"
    if not isinstance(answer, InnerProductPair):
        return f"answer is a {type(answer).__name__}, not an InnerProductPair"
    if not instance.is_witness(answer):
        return f"{answer} has inner product {instance.inner_product(answer)} < tau = {instance.threshold}"
    return None


def _maxip_witnesses(instance: Any, limit: int) -> list[Any]:
    from solvers.maxip import maxip_pairs

    return maxip_pairs(instance, limit=limit)


# -- Z-Max-IP ----------------------------------------------------------------------------------


def _random_zmaxip(rng: np.random.Generator, size: int) -> Any:
    """Integer Z-Max-IP with entries up to ``2^(20 size)`` (beyond int64 from size 4) and the threshold near the
    true maximum (both answers occur)."""
    n_a, n_b = int(rng.integers(1, size + 2)), int(rng.integers(0 if size > 2 else 1, size + 2))
    d = int(rng.integers(0, size + 3))
    from solvers.zmaxip import max_inner_product_z

    drawn = random_zmaxip(n_a, n_b, d, 0, bits=20 * size, seed=rng)
    best = max_inner_product_z(drawn)
    return ZMaxIPInstance(drawn.a, drawn.b, (best[0] if best else 0) + int(rng.integers(-1, 2)))


def _solve_zmaxip(instance: Any) -> Any:
    from solvers.zmaxip import brute_force_zmaxip

    return brute_force_zmaxip(instance)


def _zmaxip_witnesses(instance: Any, limit: int) -> list[Any]:
    from solvers.zmaxip import zmaxip_pairs

    return zmaxip_pairs(instance, limit=limit)


# -- Self-attention ---------------------------------------------------------------------------


def _random_self_attention(rng: np.random.Generator, size: int) -> Any:
    score = "dot" if rng.random() < 0.5 else "l2"
    return random_self_attention(
        size + 1,
        1 + size % 3,
        1 + size % 4,
        float(rng.uniform(0.5, 2.0)),
        value_columns=1 + size % 2,
        score=score,
        nonnegative_values=bool(rng.random() < 0.5),
        seed=rng,
    )


def _solve_selfattention(instance: Any) -> Any:
    from solvers.attention.self_attention import ExactSelfAttention

    return ExactSelfAttention()(instance, log_space=instance.nonnegative_values)


# -- Integer matrix multiplication ---------------------------------------------------------


def _random_matmul(rng: np.random.Generator, size: int) -> Any:
    """Integer factors with the edge cases exact read-back must survive.

    Entries of both signs, entries at the stated bound ``W``, zero rows of ``A``
    and zero columns of ``B``, empty sides, ``d = 0``, and bounds at and just
    past powers of two (where the scaling ``w = 2^ceil(log2 W)`` changes).
    """
    n_a = int(rng.integers(0 if size > 2 else 1, size + 2))
    n_b = int(rng.integers(0 if size > 2 else 1, size + 2))
    d = int(rng.integers(0, size + 3))
    kind = int(rng.integers(0, 4))
    if kind == 0:
        bound = 1
    elif kind == 1:
        bound = int(rng.integers(2, 10))
    elif kind == 2:
        bound = int(rng.integers(10, 1001))
    else:
        bound = 2 ** int(rng.integers(1, 13)) + int(rng.integers(0, 2))
    low = 0 if rng.random() < 0.2 else -bound
    a = rng.integers(low, bound + 1, size=(n_a, d))
    b = rng.integers(low, bound + 1, size=(d, n_b))
    for matrix in (a, b):  # some entries exactly at the bound, of either sign
        hits = rng.random(matrix.shape) < 0.2
        matrix[hits] = np.where(rng.random(int(hits.sum())) < 0.5, bound, -bound if low < 0 else bound)
    if n_a and rng.random() < 0.3:
        a[int(rng.integers(n_a))] = 0
    if n_b and rng.random() < 0.3:
        b[:, int(rng.integers(n_b))] = 0
    return MatMulInstance(a, b, bound=bound)


def _solve_matmul(instance: Any) -> Any:
    from solvers.matmul import integer_product

    return integer_product(instance)


def _check_matmul(instance: Any, answer: Any, reference: Any) -> str | None:
    if not isinstance(answer, MatrixProduct):
        return f"answer is a {type(answer).__name__}, not a MatrixProduct"
    if answer.shape != instance.shape:
        return f"product has shape {answer.shape}, A B has shape {instance.shape}"
    where = answer.first_difference(reference)
    if where is None:
        return None
    return f"product entry {where} is {answer.entries[where]}, A B has {reference.entries[where]}"


# -- Oracles ---------------------------------------------------------------------------------
# Imported when an oracle is made: the command line starts without the solvers' modules.


def _exact_oracle(**options: Any) -> Any:
    from solvers.attention.exact import ExactAttention

    return ExactAttention(**options)


def _polynomial_oracle(**options: Any) -> Any:
    from solvers.attention.polynomial.oracle import PolynomialAttention

    return PolynomialAttention(**options)


def _taylor_oracle(**options: Any) -> Any:
    from solvers.attention.polynomial.taylor import TaylorAttention

    return TaylorAttention(**options)


def _anytemp_oracle(**options: Any) -> Any:
    from solvers.attention.anytemp.oracle import AnyTemperatureAttention

    return AnyTemperatureAttention(**options)


def _exact_self_attention(**options: Any) -> Any:
    from solvers.attention.self_attention import ExactSelfAttention

    return ExactSelfAttention(**options)


ATTENTION_ORACLES = {
    "exact": _exact_oracle,
    "polynomial": _polynomial_oracle,
    "taylor": _taylor_oracle,
    "anytemp": _anytemp_oracle,
}
"""Oracles for ``aattc`` instances by command-line name (factories taking the oracle's options)."""


def builtin_problems() -> list[Problem]:
    """The problems of the built-in catalogue, in registration order.

    >>> [problem.name for problem in builtin_problems()]
    ['sat', 'ov', 'gapann', 'aattc', 'maxip', 'selfattn', 'matmul', 'zmaxip']
    """
    return [
        Problem(
            "sat",
            "CNF satisfiability",
            CNF,
            random_test_formula,
            _solve_sat,
            _check_sat,
            _sat_witnesses,
            parameters=("v", "m"),
        ),
        Problem(
            "ov",
            "Orthogonal Vectors",
            OVInstance,
            _random_ov,
            _solve_ov,
            _check_ov,
            _ov_witnesses,
            parameters=("n_a", "n_b", "d"),
        ),
        Problem(
            "gapann",
            "Gap approximate nearest neighbour",
            GapANNInstance,
            _random_gap_ann,
            _solve_gap_ann,
            _check_gap_ann,
            _gap_ann_witnesses,
            parameters=("n_a", "n_b", "d", "t", "eps"),
        ),
        Problem(
            "aattc",
            "Approximate attention computation",
            AttentionInstance,
            _random_attention,
            _solve_attention,
            _check_attention,
            lambda instance, limit: [_solve_attention(instance)][:limit],
            parameters=("n", "n_keys", "d", "B"),
            oracles=ATTENTION_ORACLES,
            attention_shape=("n", "n_keys", "d"),
        ),
        Problem(
            "maxip",
            "Maximum inner product (decision)",
            MaxIPInstance,
            _random_maxip,
            _solve_maxip,
            _check_maxip,
            _maxip_witnesses,
            parameters=("n_a", "n_b", "d", "tau", "W"),
        ),
        Problem(
            "selfattn",
            "Self-attention (dot-product or l2 scores)",
            SelfAttentionInstance,
            _random_self_attention,
            _solve_selfattention,
            _check_attention,
            lambda instance, limit: [_solve_selfattention(instance)][:limit],
            parameters=("N", "d_x", "d", "d_v", "B"),
            oracles={"exact": _exact_self_attention},
            attention_shape=("N", "N", "d"),
        ),
        Problem(
            "matmul",
            "Integer matrix multiplication (the exact product)",
            MatMulInstance,
            _random_matmul,
            _solve_matmul,
            _check_matmul,
            lambda instance, limit: [_solve_matmul(instance)][:limit],
            parameters=("n_a", "n_b", "d", "W"),
        ),
        Problem(
            "zmaxip",
            "Integer Max-IP, exact integers of any size (decision)",
            ZMaxIPInstance,
            _random_zmaxip,
            _solve_zmaxip,
            _check_maxip,
            _zmaxip_witnesses,
            parameters=("n_a", "n_b", "d", "tau", "W"),
        ),
    ]
