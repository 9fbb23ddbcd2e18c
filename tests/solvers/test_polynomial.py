"""The polynomial method: features, the oracle's stated guarantee against exact attention, refusals."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instances.attention import AttentionInstance, AttentionOutput, random_attention
from instances.errors import OracleRefusal
from solvers.attention import AttentionOracle, ExactAttention
from solvers.attention.polynomial.features import (
    feature_attention_sums,
    feature_block,
    feature_maps,
    feature_rank,
    monomial_exponents,
    monomial_features,
    monomial_weights,
    paper_rank,
)
from solvers.attention.polynomial.oracle import PolynomialAttention, score_interval
from tests.strategies import attention_instances

TINY = np.finfo(np.float64).tiny
EXACT = ExactAttention()


def instances(
    bounds: tuple[float, ...] = (0.0, 0.3, 1.0, 1.5), nonnegative: bool | None = None
) -> st.SearchStrategy[AttentionInstance]:
    return attention_instances(bounds, nonnegative)


def assert_within_guarantee(out: AttentionOutput, inst: AttentionInstance) -> None:
    """``out`` within its stated error of exact attention (whose own error is added)."""
    ref = EXACT(inst, log_space=False)
    assert out.values is not None and ref.values is not None
    assert np.all(np.isfinite(out.values))
    error = np.abs(out.values - ref.values)
    assert np.all(error <= out.abs_error + ref.abs_error), (float(error.max()), out.abs_error)
    if inst.nonnegative_values:
        normal = np.abs(ref.values) >= TINY
        relative = error[normal] / np.abs(ref.values[normal])
        assert np.all(relative <= out.rel_error + ref.rel_error), (float(relative.max()), out.rel_error)


def assert_log_within_guarantee(out: AttentionOutput, inst: AttentionInstance) -> None:
    ref = EXACT(inst, log_space=True)
    assert out.log_values is not None and ref.log_values is not None
    zero = ref.log_values == -np.inf
    np.testing.assert_array_equal(out.log_values == -np.inf, zero)
    error = np.abs(out.log_values[~zero] - ref.log_values[~zero])
    allowed = -math.log1p(-out.rel_error) - math.log1p(-ref.rel_error)
    assert np.all(error <= allowed), (float(error.max()) if error.size else 0.0, allowed)


# -- features ------------------------------------------------------------------------------


@pytest.mark.parametrize(("d", "degree"), [(1, 0), (1, 5), (2, 3), (3, 4), (4, 7), (6, 2)])
def test_monomials_are_all_distinct_and_counted_by_the_binomial(d: int, degree: int) -> None:
    exponents = monomial_exponents(d, degree)
    assert exponents.shape == (feature_rank(d, degree), d) == (math.comb(d + degree, degree), d)
    assert len({tuple(row) for row in exponents.tolist()}) == exponents.shape[0]
    assert np.all(np.diff(exponents.sum(axis=1)) >= 0)  # graded
    assert paper_rank(d, degree) >= feature_rank(d, degree)


def test_weights_are_multinomials_over_powers_of_d() -> None:
    weights, degrees = monomial_weights(3, 4)
    exponents = monomial_exponents(3, 4)
    for alpha, w, k in zip(exponents.tolist(), weights, degrees, strict=False):
        multinomial = math.factorial(sum(alpha)) // math.prod(math.factorial(a) for a in alpha)
        assert k == sum(alpha)
        assert w == pytest.approx(multinomial / 3**k, rel=1e-15)


def test_monomial_features_match_their_exponents() -> None:
    rng = np.random.default_rng(3)
    points = rng.uniform(-2, 2, (5, 3))
    features = monomial_features(points, 4)
    expected = np.prod(points[None, :, :] ** monomial_exponents(3, 4)[:, None, :], axis=2)
    np.testing.assert_allclose(features, expected, rtol=1e-14)


@settings(max_examples=200, deadline=None)
@given(
    d=st.integers(1, 5),
    degree=st.integers(0, 8),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 6),
    m=st.integers(1, 6),
)
def test_features_reproduce_the_polynomial(d: int, degree: int, seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    q, k = rng.uniform(-1.5, 1.5, (n, d)), rng.uniform(-1.5, 1.5, (m, d))
    coefficients = rng.uniform(-1, 1, degree + 1)
    u1, u2 = feature_maps(q, k, list(coefficients))
    x = q @ k.T / d
    direct = np.polynomial.polynomial.polyval(x, coefficients)
    scale = np.polynomial.polynomial.polyval(np.abs(q) @ np.abs(k).T / d, np.abs(coefficients))
    assert np.all(np.abs(u1 @ u2.T - direct) <= 64 * (degree + 4 * d + 8) * 2.0**-53 * (scale + 1e-300))


@settings(max_examples=100, deadline=None)
@given(
    d=st.integers(1, 4),
    degree=st.integers(0, 6),
    block=st.sampled_from([1, 2, 3, 7, 64, None]),
    workers=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**32 - 1),
)
def test_feature_sums_match_dense_sums(d: int, degree: int, block: int | None, workers: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m, dv = rng.integers(1, 20), rng.integers(1, 20), rng.integers(1, 3)
    q, k, v = rng.uniform(-1, 1, (n, d)), rng.uniform(-1, 1, (m, d)), rng.uniform(-1, 1, (m, dv))
    coefficients = [1 / math.factorial(j) for j in range(degree + 1)]
    sums = feature_attention_sums(q, k, v, coefficients, block=block, workers=workers)
    p = np.polynomial.polynomial.polyval(q @ k.T / d, coefficients)
    expected = np.hstack([p @ v, p.sum(axis=1, keepdims=True)])
    np.testing.assert_allclose(sums, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("d", "degree"), [(4, 10), (6, 5), (8, 4), (2, 120)])
@pytest.mark.parametrize(("block", "workers"), [(3, 1), (7, 2), (None, 2)])
def test_feature_sums_with_unmaterialised_top_groups(d: int, degree: int, block: int | None, workers: int) -> None:
    # the largest top-degree groups (>= 100 monomials) are taken through x_l-scaled products
    rng = np.random.default_rng(d * degree)
    n, m = 23, 17
    q, k, v = rng.uniform(-1, 1, (n, d)), rng.uniform(-1, 1, (m, d)), rng.uniform(-1, 1, (m, 2))
    scale = 1.0 if degree < 100 else 0.05
    q, k = q * scale, k * scale
    coefficients = [1 / math.factorial(j) for j in range(degree + 1)]
    sums = feature_attention_sums(q, k, v, coefficients, block=block, workers=workers)
    p = np.polynomial.polynomial.polyval(q @ k.T / d, coefficients)
    expected = np.hstack([p @ v, p.sum(axis=1, keepdims=True)])
    np.testing.assert_allclose(sums, expected, rtol=1e-12, atol=1e-12)


def test_feature_block_sizes() -> None:
    assert feature_block(330, 2**20) == 2048
    assert feature_block(10**6, 2**20) == 256
    assert feature_block(1, 2**20) == 8192
    assert feature_block(330, 5) == 5


def test_feature_arguments() -> None:
    with pytest.raises(ValueError, match="same d >= 1 columns"):
        feature_maps([[1.0, 2.0]], [[1.0]], [1.0])
    with pytest.raises(ValueError, match="one row per key"):
        feature_attention_sums([[1.0]], [[1.0], [2.0]], [[1.0]], [1.0])
    with pytest.raises(ValueError, match="'workers' must be an int >= 1 or 'auto'"):
        feature_attention_sums([[1.0]], [[1.0]], [[1.0]], [1.0], workers="many")


# -- the oracle: its guarantee -----------------------------------------------------------------


def test_is_an_attention_oracle() -> None:
    assert isinstance(PolynomialAttention(), AttentionOracle)
    assert PolynomialAttention().name == "polynomial"


@pytest.mark.parametrize("route", ["auto", "features", "dense"])
@settings(max_examples=300, deadline=None)
@given(inst=instances())
def test_guarantee_holds_on_random_instances(route: str, inst: AttentionInstance) -> None:
    oracle = PolynomialAttention(eps=1e-6, route=route)
    out = oracle(inst)
    assert out.oracle == "polynomial"
    assert_within_guarantee(out, inst)
    # the guarantee is Lemma 3.6's 2 eps ||V|| plus rounding, not much more
    if inst.n:
        assert out.abs_error <= inst.value_norm * 2.01e-6 + 2 * TINY


@settings(max_examples=300, deadline=None)
@given(inst=instances(nonnegative=True), eps=st.sampled_from([1e-3, 1e-6, 1e-9]))
def test_log_space_on_random_instances(inst: AttentionInstance, eps: float) -> None:
    out = PolynomialAttention(eps=eps)(inst, log_space=True)
    assert out.values is None
    assert_log_within_guarantee(out, inst)
    assert out.rel_error <= 2.01 * eps + 1e-12


@settings(max_examples=100, deadline=None)
@given(inst=instances(), degree=st.integers(0, 4))
def test_low_degrees_keep_their_weaker_guarantee(inst: AttentionInstance, degree: int) -> None:
    oracle = PolynomialAttention(degree=degree)
    plan = oracle.plan(inst)
    if plan.route == "refuse":
        assert plan.approximation_error >= 0.5 or "rounding" in plan.refusal
        return
    assert plan.degree == degree
    assert_within_guarantee(oracle(inst), inst)


def check_large_entries(inst: AttentionInstance) -> None:
    oracle = PolynomialAttention(eps=1e-6)
    plan = oracle.plan(inst)
    if plan.route in ("features", "dense"):
        assert plan.entry_error <= 1e-6
    if inst.n and plan.upper - plan.lower > 24:
        assert plan.route == "mpmath"  # float64 cannot carry e^(2h) of cancellation
    assert_within_guarantee(oracle(inst), inst)
    if inst.nonnegative_values:
        assert_log_within_guarantee(oracle(inst, log_space=True), inst)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_large_entries_go_to_mpmath_and_keep_the_guarantee(seed: int) -> None:
    check_large_entries(random_attention(5, 2, 4.0, num_keys=6, nonnegative_values=seed != 1, seed=seed))


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(inst=instances(bounds=(2.5, 3.0, 4.0)))
def test_large_entries_on_random_instances(inst: AttentionInstance) -> None:
    check_large_entries(inst)


def test_float64_routes_are_refused_when_rounding_exceeds_the_budget() -> None:
    inst = random_attention(64, 2, 4.0, seed=1)  # scores in [-12.25, 12.25]: e^24.5 of cancellation
    plan = PolynomialAttention(eps=1e-6).plan(inst)
    reasons = {name: why for name, _, _, why in plan.routes}
    assert "cancels a factor" in reasons["features"] and "cancels a factor" in reasons["dense"]
    assert plan.route == "mpmath"
    with pytest.raises(OracleRefusal, match="float64 rounding"):
        PolynomialAttention(eps=1e-6, route="features")(inst)


def test_the_feature_route_at_moderate_size() -> None:
    inst = random_attention(3000, 4, 1.0, nonnegative_values=True, seed=5)
    oracle = PolynomialAttention(eps=1e-6)
    plan = oracle.plan(inst)
    assert (plan.route, plan.degree, plan.rank) == ("features", 7, 330)
    assert plan.log10_paper_rank == pytest.approx(math.log10(math.comb(22, 14)))
    out = oracle(inst)
    assert_within_guarantee(out, inst)
    assert_log_within_guarantee(oracle(inst, log_space=True), inst)
    exact = EXACT(inst)
    observed = np.max(np.abs(out.values - exact.values))
    assert observed <= out.abs_error
    assert plan.approximation_error <= 1e-6 and plan.rounding_error < 1e-9


def test_rows_and_empty_instances() -> None:
    inst = random_attention(50, 3, 1.0, seed=2)
    oracle = PolynomialAttention()
    full = oracle(inst)
    part = oracle(inst, rows=[7, 3])
    assert part.rows.tolist() == [7, 3]  # type: ignore[union-attr]
    np.testing.assert_allclose(part.values, full.values[[7, 3]], rtol=1e-13)  # type: ignore[index]
    empty = oracle(random_attention(0, 3, 1.0, num_keys=4, seed=0))
    assert empty.shape == (0, 3)
    with pytest.raises(ValueError, match="outside 0..49"):
        oracle(inst, rows=[50])


def test_zero_scores_give_the_mean() -> None:
    inst = AttentionInstance(np.zeros((3, 2)), np.ones((4, 2)) * 0.5, [[1.0], [2.0], [3.0], [4.0]], 4.0)
    plan = PolynomialAttention().plan(inst)
    assert plan.degree == 0 and plan.approximation_error == 0
    np.testing.assert_allclose(PolynomialAttention()(inst).values, 2.5, rtol=1e-15)


def test_paper_interval_uses_b_squared() -> None:
    inst = random_attention(200, 4, 1.0, seed=0)
    data = PolynomialAttention().plan(inst)
    paper = PolynomialAttention(interval="paper").plan(inst)
    assert (paper.lower, paper.upper) == (-1.0, 1.0)
    assert data.upper - data.lower <= paper.upper - paper.lower
    assert paper.degree == 7 and data.degree <= paper.degree


def test_score_interval_contains_every_score() -> None:
    rng = np.random.default_rng(4)
    for _ in range(50):
        n, m, d = rng.integers(1, 30, 3)
        inst = AttentionInstance(rng.uniform(-2, 3, (n, d)), rng.uniform(-1, 2, (m, d)), np.ones((m, 1)), 3.0)
        lower, upper, bound = score_interval(inst)
        scores = inst.query @ inst.key.T / d
        assert lower <= scores.min() and scores.max() <= upper
        assert np.max(np.abs(inst.query) @ np.abs(inst.key).T / d) <= bound <= inst.bound**2 * (1 + 1e-14)


def test_log_space_needs_nonnegative_values() -> None:
    inst = AttentionInstance([[1.0]], [[1.0], [0.5]], [[1.0], [-0.25]], 1.0)
    with pytest.raises(ValueError, match=r"'log_space=True' needs V >= 0; 'V' entry \(1, 0\) is -0.25"):
        PolynomialAttention()(inst, log_space=True)


def test_plan_summary_is_json() -> None:
    plan = PolynomialAttention().plan(random_attention(100, 2, 1.0, seed=0))
    summary = json.loads(json.dumps(plan.summary()))
    assert summary["degree"] == plan.degree and summary["rank"] == plan.rank
    assert {r["route"] for r in summary["routes"]} == {"features", "dense", "mpmath"}


# -- refusals carry the numbers -------------------------------------------------------------


def test_budget_refusal_names_the_prediction_and_the_limit() -> None:
    inst = random_attention(2**12, 8, 1.0, seed=0)
    oracle = PolynomialAttention(max_seconds=1e-6)
    with pytest.raises(OracleRefusal) as info:
        oracle(inst)
    message = str(info.value)
    assert "polynomial oracle refuses" in message
    assert "degree g = 7" in message and "C(8+g, g) = 6,435" in message
    assert "above 'max_seconds' = 1e-06 s" in message
    with pytest.raises(OracleRefusal, match="above 'max_bytes'"):
        PolynomialAttention(max_bytes=1000, max_seconds=None)(inst)


def test_low_temperature_refusal_is_quick_and_says_why() -> None:
    cold = random_attention(1024, 32, 20.0, nonnegative_values=True, seed=0)
    oracle = PolynomialAttention()
    plan = oracle.plan(cold, log_space=True)
    assert plan.route == "refuse" and not plan.built  # nothing was built to refuse it
    assert plan.degree > 2 * (plan.upper - plan.lower) / 2
    message = plan.refusal
    assert "\n" not in message
    assert f"degree g = {plan.degree:,}" in message
    assert "rank r = C(32+g, g) = 10^" in message
    assert "as the lower bound predicts for B = ω(√log n)" in message
    with pytest.raises(OracleRefusal, match="beyond any machine"):
        oracle.check(cold)
    assert oracle.guarantee(cold).abs_error == math.inf
    assert oracle.cost(cold).seconds > 120


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match=r"'eps' must be < 0.5 \(got 0.5\)"):
        PolynomialAttention(eps=0.5)
    with pytest.raises(ValueError, match=r"'eps' must be > 0 \(got 0.0\)"):
        PolynomialAttention(eps=0.0)
    with pytest.raises(ValueError, match=r"'degree' must be >= 0 \(got -1\)"):
        PolynomialAttention(degree=-1)
    with pytest.raises(ValueError, match="'route' must be one of auto, features, dense, mpmath"):
        PolynomialAttention(route="gpu")
    with pytest.raises(ValueError, match="'interval' must be 'data' or 'paper'"):
        PolynomialAttention(interval="wide")
    with pytest.raises(TypeError, match="'instance' must be an AttentionInstance"):
        PolynomialAttention()("not an instance")  # type: ignore[arg-type]


# -- in the hardness chain --------------------------------------------------------------------


@pytest.mark.parametrize("balance", ["paper", "tight"])
def test_tiny_chain_instances_are_answered_in_mpmath(balance: str) -> None:
    from instances.cnf import CNF
    from reductions.pipeline import solve_via_attention
    from solvers.sat import brute_force_sat

    formulas = [
        CNF(3, [[1, 2], [-1, 3], [-2, -3]]),
        CNF(3, [[1], [-1, 2], [-2]]),
        CNF(4, [[1, -2], [2, 3], [-1, -3, 4], [-4, 2]]),
    ]
    for formula in formulas:
        result = solve_via_attention(formula, oracle=PolynomialAttention(), branch="attention", balance=balance)
        assert result.status == ("SAT" if brute_force_sat(formula) is not None else "UNSAT")
        assert result.oracle == "polynomial"


@pytest.mark.slow
def test_satlib_chain_instance_is_refused_with_the_hardness_message(data_dir: Any) -> None:
    from pathlib import Path

    from instances.cnf import CNF
    from reductions.catalog.chains import attention_chain

    text = (Path(__file__).parents[2] / "instances" / "data" / "uf20-01.cnf").read_text()
    formula = CNF.from_dimacs(text)
    reduced = attention_chain(branch="attention").forward(formula)
    target = reduced.parts[-1].target
    plan = PolynomialAttention().plan(target, log_space=True)
    assert plan.route == "refuse" and not plan.built
    assert "beyond any machine" in plan.refusal
