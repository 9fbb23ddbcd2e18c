"""Self-attention instances, the exact self-attention solver, and OV -> self-attention (dot and l2)."""

import csv
import math

import attrs
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instances import InvalidInstanceError, OracleContradiction, OracleRefusal
from instances.attention import AttentionOutput
from instances.dimacs import read_dimacs
from instances.self_attention import SelfAttentionInstance, random_self_attention
from instances.vectors import OVInstance
from reductions.catalog.ov_selfattn import OVToL2SelfAttention, OVToSelfAttention, l2_constants
from reductions.registry import get_reduction
from reductions.testing import assert_reduction_sound
from solvers.attention.self_attention import ExactSelfAttention, attention_form
from solvers.ov import brute_force_ov
from solvers.sat import solve_sat
from tests.conftest import DATA
from tests.strategies import cnf_formulas, ov_instances

ORACLE = ExactSelfAttention()
REDUCTIONS = [OVToSelfAttention(), OVToL2SelfAttention()]


def mpmath_selfattention(instance, digits=40):
    """Self-attention straight from the definition (no expansion of the square), in mpmath."""
    with mpmath.workdps(digits):
        X = mpmath.matrix(instance.tokens.tolist())
        Q = X * mpmath.matrix(instance.query_weights.tolist())
        K = X * mpmath.matrix(instance.key_weights.tolist())
        V = X * mpmath.matrix(instance.value_weights.tolist())
        N, d, dv = X.rows, Q.cols, V.cols
        out = np.zeros((N, dv))
        for i in range(N):
            if instance.score == "dot":
                scores = [sum(Q[i, l] * K[j, l] for l in range(d)) / d for j in range(N)]
            else:
                scores = [-sum((Q[i, l] - K[j, l]) ** 2 for l in range(d)) / d for j in range(N)]
            top = max(scores)
            weights = [mpmath.exp(s - top) for s in scores]
            total = sum(weights)
            for c in range(dv):
                out[i, c] = float(sum(w * V[j, c] for j, w in enumerate(weights)) / total)
        return out


@st.composite
def selfattention_instances(draw):
    return random_self_attention(
        draw(st.integers(1, 6)),
        draw(st.integers(1, 4)),
        draw(st.integers(1, 4)),
        draw(st.sampled_from([0.5, 1.0, 3.0, 8.0])),
        value_columns=draw(st.integers(1, 2)),
        score=draw(st.sampled_from(["dot", "l2"])),
        nonnegative_values=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


# -- instances ---------------------------------------------------------------------------------------


def test_instance_needs_a_token():
    with pytest.raises(InvalidInstanceError, match="at least one token"):
        SelfAttentionInstance(np.zeros((0, 2)), np.zeros((2, 1)), np.zeros((2, 1)), np.zeros((2, 1)), 1.0)


def test_query_weights_must_match_the_token_width():
    with pytest.raises(InvalidInstanceError, match=r"'W_Q' must have d_x = 2 rows"):
        SelfAttentionInstance(np.zeros((1, 2)), np.zeros((3, 1)), np.zeros((3, 1)), np.zeros((2, 1)), 1.0)


def test_value_weights_must_match_the_token_width():
    with pytest.raises(InvalidInstanceError, match=r"'W_V' must have d_x = 2 rows"):
        SelfAttentionInstance(np.zeros((1, 2)), np.zeros((2, 1)), np.zeros((2, 1)), np.zeros((1, 1)), 1.0)


def test_entries_must_respect_the_bound():
    with pytest.raises(InvalidInstanceError, match=r"'W_K' entry \(0, 0\) is 2.0, above the bound"):
        SelfAttentionInstance(np.ones((1, 1)), np.ones((1, 1)), 2 * np.ones((1, 1)), np.ones((1, 1)), 1.0)


def test_entries_must_be_finite():
    with pytest.raises(InvalidInstanceError, match=r"'X' entry \(0, 0\) is nan"):
        SelfAttentionInstance([[np.nan]], [[1.0]], [[1.0]], [[1.0]], 1.0)


def test_generator_is_reproducible_and_rejects_unknown_scores():
    assert random_self_attention(5, 2, 3, 1.0, seed=4) == random_self_attention(5, 2, 3, 1.0, seed=4)
    with pytest.raises(ValueError, match="'score' must be one of 'dot', 'l2'"):
        random_self_attention(5, 2, 3, 1.0, score="cos")


# -- the solver ----------------------------------------------------------------------------------------


@settings(max_examples=60)
@given(selfattention_instances())
def test_exact_selfattention_matches_mpmath_within_its_stated_error(instance):
    output = ORACLE(instance)
    reference = mpmath_selfattention(instance)
    assert np.max(np.abs(output.values - reference)) <= output.abs_error + 1e-15
    if instance.nonnegative_values and math.isfinite(output.rel_error):
        mask = reference > 1e-300
        assert np.all(np.abs(output.values[mask] - reference[mask]) <= output.rel_error * reference[mask] + 1e-300)


@given(selfattention_instances().filter(lambda inst: inst.nonnegative_values))
def test_log_space_agrees_with_values(instance):
    plain, logs = ORACLE(instance), ORACLE(instance, log_space=True)
    positive = plain.values > 1e-300
    np.testing.assert_allclose(np.exp(logs.log_values[positive]), plain.values[positive], rtol=1e-9)


def test_l2_expansion_drops_the_query_norm_exactly():
    """-||q||^2 cancels: shifting every query by a constant changes the l2 output only through <q, k>."""
    inst = random_self_attention(7, 3, 2, 2.0, score="l2", seed=5)
    form = attention_form(inst)
    query, key, _ = inst.projections()
    direct = -((query[:, None, :] - key[None, :, :]) ** 2).sum(axis=2) / inst.d
    expanded = form.query @ form.key.T / form.d
    shifted = direct - direct.max(axis=1, keepdims=True)
    np.testing.assert_allclose(expanded - expanded.max(axis=1, keepdims=True), shifted, atol=1e-12)


def test_integer_inputs_add_no_projection_error():
    inst = SelfAttentionInstance([[1.0, 2.0], [0.0, 1.0]], [[1.0], [-1.0]], [[2.0], [1.0]], [[1.0], [0.0]], 2.0)
    inner = ORACLE._attention_oracle().guarantee(attention_form(inst))
    assert ORACLE.guarantee(inst).abs_error == inner.abs_error
    rounded = attrs.evolve(inst, query_weights=[[0.1], [-0.3]])
    assert ORACLE.guarantee(rounded).abs_error > ORACLE._attention_oracle().guarantee(attention_form(rounded)).abs_error


def test_solver_refuses_other_instances():
    from instances.attention import random_attention

    with pytest.raises(TypeError, match="must be a SelfAttentionInstance"):
        ORACLE(random_attention(2, 2, 1.0, seed=0))


def test_solver_refuses_past_its_time_limit():
    inst = random_self_attention(50, 3, 2, 1.0, seed=0)
    with pytest.raises(OracleRefusal, match="max_seconds"):
        ExactSelfAttention(max_seconds=1e-12)(inst)


# -- OV -> self-attention ---------------------------------------------------------------------------------


def test_l2_constants_satisfy_their_equations():
    for d in range(0, 300):
        eta, lambda_a, lambda_d = l2_constants(d)
        assert eta >= 1 and lambda_d**2 - d == eta and lambda_a**2 - d >= 2 * eta


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: r.name)
@settings(max_examples=120)
@given(ov=ov_instances())
def test_a_token_outputs_sit_on_the_right_side_of_the_margin(reduction, ov):
    reduced = reduction.forward(ov)
    output = ORACLE(reduced.target)
    readout = reduced.decoding["readout"]
    u = output.values[: ov.a.shape[0], 0]
    if ov.b.shape[0]:
        partner = np.any(ov.a.astype(int) @ ov.b.T.astype(int) == 0, axis=1)
    else:
        partner = np.zeros(ov.a.shape[0], dtype=bool)
    assert np.all(u[partner] >= readout.lower - 1e-9)
    assert np.all(u[~partner] <= readout.upper + 1e-9)
    answer = reduced.backward(output)
    assert (answer is None) == (brute_force_ov(ov) is None)
    if answer is not None:
        assert ov.is_orthogonal_pair(answer)


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: r.name)
def test_logits_relative_to_the_dummy_are_as_documented(reduction):
    ov = OVInstance([[1, 0, 1], [0, 1, 1]], [[0, 1, 0], [1, 1, 0]])
    reduced = reduction.forward(ov)
    inst, beta = reduced.target, reduced.info["beta"]
    query, key, _ = inst.projections()
    if inst.score == "dot":
        logits = query @ key.T / inst.d
    else:
        logits = -((query[:, None, :] - key[None, :, :]) ** 2).sum(axis=2) / inst.d
    relative = logits[:2] - logits[:2, -1:]  # A-token rows, measured from the dummy
    cross = ov.a.astype(int) @ ov.b.T.astype(int)
    np.testing.assert_allclose(relative[:, 2:4], -beta * cross + beta / 2, atol=1e-9)
    assert np.all(relative[:, :2] <= -beta / 2 + 1e-9)  # same-side tokens, itself included


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: r.name)
def test_many_same_side_tokens_cannot_fake_a_partner(reduction):
    """Hundreds of A-tokens and one B-token overlapping all of them: every output stays near 0."""
    rng = np.random.default_rng(0)
    a = (rng.random((300, 6)) < 0.5).astype(np.uint8)
    a[:, 0] = 1
    ov = OVInstance(a, np.ones((1, 6), dtype=np.uint8))
    reduced = reduction.forward(ov)
    output = ORACLE(reduced.target, log_space=True)
    assert float(np.max(output.log_values[:300, 0])) <= math.log(reduced.decoding["readout"].upper) + 1e-9
    assert reduced.backward(output) is None
    partner = OVInstance(a, np.vstack([np.ones((1, 6), dtype=np.uint8), np.zeros((1, 6), dtype=np.uint8)]))
    reduced = reduction.forward(partner)
    output = ORACLE(reduced.target, log_space=True)
    assert float(np.min(output.log_values[:300, 0])) >= math.log(reduced.decoding["readout"].lower) - 1e-9


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: r.name)
@settings(max_examples=60)
@given(ov=ov_instances(), seed=st.integers(0, 2**32 - 1))
def test_additive_noise_below_the_tolerance_still_decides(reduction, ov, seed):
    reduced = reduction.forward(ov)
    exact = ORACLE(reduced.target)
    tolerance = reduced.decoding["readout"].tolerated_abs_error
    assert tolerance >= 0.25
    amplitude = 0.999 * tolerance - 1e-9
    noise = np.random.default_rng(seed).uniform(-amplitude, amplitude, size=exact.values.shape)
    noisy = AttentionOutput(
        values=np.clip(exact.values + noise, 0, 1), abs_error=amplitude + exact.abs_error, oracle="noisy"
    )
    assert (reduced.backward(noisy) is None) == (brute_force_ov(ov) is None)


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: r.name)
@given(ov=ov_instances())
def test_contract(reduction, ov):
    assert_reduction_sound(reduction, ov)


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: r.name)
def test_refusal_carries_the_numbers(reduction):
    reduced = reduction.forward(OVInstance([[1, 0]], [[0, 1]]))
    weak = AttentionOutput(values=np.full((3, 1), 0.9), abs_error=0.45, oracle="weak")
    with pytest.raises(OracleRefusal, match=r"oracle 'weak' guarantees absolute error 0\.45 .* below 0\.\d+"):
        reduced.backward(weak)


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: r.name)
def test_contradiction_names_the_oracle(reduction):
    reduced = reduction.forward(OVInstance([[1, 1]], [[1, 0]]))
    liar = AttentionOutput(values=np.full((3, 1), 0.99), abs_error=0.0, oracle="liar")
    with pytest.raises(OracleContradiction, match="'liar' gave query 0 an output above 1/2"):
        reduced.backward(liar)


def test_parameter_maps():
    dot = OVToSelfAttention().parameters().evaluate({"n_a": 4, "n_b": 2, "d": 5})
    assert (dot["N"], dot["d_x"], dot["d"], dot["d_v"]) == (7, 8, 6, 1)
    assert dot["B"] == pytest.approx(math.sqrt(2 * math.log(32) * 6))
    l2 = OVToL2SelfAttention().parameters().evaluate({"n_a": 4, "n_b": 2, "d": 5})
    eta, lambda_a, _ = l2_constants(5)
    assert (l2["N"], l2["d_x"], l2["d"]) == (7, 13, 11)
    assert l2["B"] == pytest.approx(math.sqrt(2 * math.log(32) * 11 / (2 * eta)) * max(eta, lambda_a))


# -- chains from SAT (the pipeline does not predict self-attention sizes yet; run the steps here) ---------


def _expected_files():
    with open(DATA / "cnf" / "EXPECTED.tsv", encoding="utf-8") as handle:
        return [(row["path"], row["expected"]) for row in csv.DictReader(handle, delimiter="\t")]


FILES = _expected_files()
MAX_TOKENS = 2**12 + 1


def _solve_through_selfattention(chain, formula):
    reduced = chain.forward(formula)
    output = ORACLE(reduced.target, log_space=reduced.target.nonnegative_values)
    assignment = chain.backward(reduced, output)
    if assignment is not None:
        assert formula.is_satisfied_by(assignment)
    return "SAT" if assignment is not None else "UNSAT"


@pytest.mark.parametrize("chain_name", ["sat-selfattn", "sat-selfattn-l2"])
@pytest.mark.parametrize("path, expected", FILES, ids=[p for p, _ in FILES])
def test_chain_solves_the_shared_cnf_files_that_fit(chain_name, path, expected):
    chain = get_reduction(chain_name)
    formula = read_dimacs(DATA / "cnf" / path).formula
    sizes = chain.parameters().evaluate(formula.parameters())
    if sizes["N"] > MAX_TOKENS:
        pytest.skip(f"N = {sizes['N']:,} tokens, above the test's {MAX_TOKENS:,}")
    assert _solve_through_selfattention(chain, formula) == expected


@pytest.mark.parametrize("chain_name", ["sat-selfattn", "sat-selfattn-l2"])
@settings(max_examples=60)
@given(formula=cnf_formulas(max_vars=8, max_clauses=12))
def test_chain_agrees_with_pysat_on_random_formulas(chain_name, formula):
    expected = "SAT" if solve_sat(formula) is not None else "UNSAT"
    assert _solve_through_selfattention(get_reduction(chain_name), formula) == expected
