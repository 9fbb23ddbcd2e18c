"""OV -> Max-IP and Max-IP -> AAttC (large entries), and the chain from SAT."""

import csv
import math

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from instances import NotAWitnessError, OracleContradiction, OracleRefusal
from instances.attention import AttentionOutput
from instances.dimacs import read_dimacs
from instances.maxip import InnerProductPair, MaxIPInstance, planted_maxip
from instances.vectors import OVInstance
from reductions.catalog.maxip_aattc import MaxIPToAttention
from reductions.catalog.ov_maxip import OVToMaxIP, complement_gadget
from reductions.pipeline import predict_chain, solve_via_attention
from reductions.registry import get_reduction
from reductions.testing import assert_reduction_sound
from solvers.attention.exact import ExactAttention
from solvers.maxip import brute_force_maxip
from solvers.ov import brute_force_ov
from solvers.sat import solve_sat
from tests.conftest import DATA
from tests.strategies import cnf_formulas, ov_instances

EXACT = ExactAttention()


@st.composite
def maxip_instances(draw, max_rows=6, max_dimension=5, max_entry=50):
    n_a, n_b = draw(st.integers(0, max_rows)), draw(st.integers(0, max_rows))
    d = draw(st.integers(0, max_dimension))
    entry = draw(st.integers(1, max_entry))
    entries = st.integers(-entry, entry)
    a = np.array(draw(st.lists(st.lists(entries, min_size=d, max_size=d), min_size=n_a, max_size=n_a)), dtype=np.int64)
    b = np.array(draw(st.lists(st.lists(entries, min_size=d, max_size=d), min_size=n_b, max_size=n_b)), dtype=np.int64)
    a, b = a.reshape(n_a, d), b.reshape(n_b, d)
    best = int((a @ b.T).max()) if n_a and n_b else 0
    threshold = best + draw(st.integers(-2, 2))
    return MaxIPInstance(a, b, threshold)


# -- OV -> Max-IP ------------------------------------------------------------------------------------


@given(ov_instances())
def test_gadget_turns_overlap_into_distance_from_d(ov):
    fa, gb = complement_gadget(ov.a, ov.b)
    assert np.array_equal(fa @ gb.T, ov.dimension - ov.a.astype(int) @ ov.b.T.astype(int))
    assert np.all(fa.sum(axis=1) == ov.dimension)  # the weights are equalised


@given(ov_instances())
def test_ov_maxip_preserves_the_answer_and_the_pair(ov):
    reduced = OVToMaxIP().forward(ov)
    assert reduced.target.is_binary and reduced.target.threshold == ov.dimension
    pair = brute_force_maxip(reduced.target)
    assert reduced.backward(pair) == brute_force_ov(ov)
    assert_reduction_sound(OVToMaxIP(), ov)


def test_ov_maxip_rejects_a_pair_below_the_threshold():
    reduced = OVToMaxIP().forward(OVInstance([[1, 1]], [[1, 0]]))
    with pytest.raises(NotAWitnessError, match=r"inner product 1 < tau = 2"):
        reduced.backward(InnerProductPair(0, 0))


def test_ov_maxip_rejects_other_answer_types():
    reduced = OVToMaxIP().forward(OVInstance([[1]], [[0]]))
    with pytest.raises(TypeError, match="InnerProductPair or None"):
        reduced.backward((0, 0))


def test_ov_maxip_parameters():
    outputs = OVToMaxIP().parameters().outputs
    d = sympy.Symbol("d", positive=True)
    assert outputs["d"] == 2 * d and outputs["tau"] == d and outputs["W"] == 1


# -- Max-IP -> AAttC ------------------------------------------------------------------------------------


@settings(max_examples=150)
@given(maxip_instances())
def test_attention_outputs_decide_every_query(instance):
    reduced = MaxIPToAttention().forward(instance)
    output = EXACT(reduced.target, log_space=True)
    readout = reduced.decoding["readout"]
    u = np.exp(output.log_values[:, 0])
    if instance.b.shape[0]:
        has_pair = np.any(instance.a @ instance.b.T >= instance.threshold, axis=1)
    else:
        has_pair = np.zeros(instance.a.shape[0], dtype=bool)
    assert np.all(u[has_pair] >= readout.lower - 1e-12)
    assert np.all(u[~has_pair] <= readout.upper + 1e-12)
    answer = reduced.backward(output)
    reference = brute_force_maxip(instance)
    assert (answer is None) == (reference is None)
    if answer is not None:
        assert instance.is_witness(answer)


@given(maxip_instances())
def test_attention_logits_are_beta_times_shifted_inner_products(instance):
    reduced = MaxIPToAttention().forward(instance)
    target, beta = reduced.target, reduced.info["beta"]
    logits = target.query @ target.key.T / target.d
    products = (instance.a @ instance.b.T).astype(float)
    expected = np.hstack([beta * (products - instance.threshold + 0.5), np.zeros((instance.a.shape[0], 1))])
    scale = beta * (instance.dimension * instance.entry_bound**2 + abs(instance.threshold) + 1)
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-12 * scale)
    assert np.max(np.abs(target.query), initial=0) <= target.bound
    assert target.bound == pytest.approx(
        math.sqrt(beta * (instance.dimension + 1)) * max(instance.entry_bound, math.sqrt(abs(instance.threshold - 0.5)))
    )


@given(maxip_instances())
def test_maxip_attention_contract(instance):
    assert_reduction_sound(MaxIPToAttention(), instance)


@pytest.mark.parametrize("seed", range(5))
def test_large_entries_in_dimension_two(seed):
    """The Gupta et al. regime: tiny d, entries in the thousands, constant additive error."""
    rng = np.random.default_rng(seed)
    a = rng.integers(-3000, 3001, size=(40, 2))
    b = rng.integers(-3000, 3001, size=(50, 2))
    best = int((a @ b.T).max())
    for threshold in (best, best + 1):
        instance = MaxIPInstance(a, b, threshold)
        reduced = MaxIPToAttention().forward(instance)
        assert reduced.target.bound > 3000
        answer = reduced.backward(EXACT(reduced.target, log_space=True))
        assert (answer is not None) == (threshold == best)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32 - 1), st.data())
def test_planted_pairs_are_found(num_a, num_b, dimension, seed, data):
    threshold = data.draw(st.integers(0, dimension))
    instance, pair = planted_maxip(num_a, num_b, dimension, threshold, low=-2, high=2, seed=seed)
    reduced = MaxIPToAttention().forward(instance)
    answer = reduced.backward(EXACT(reduced.target))
    assert answer is not None and instance.is_witness(answer)


def test_contradiction_when_the_oracle_invents_a_pair():
    reduced = MaxIPToAttention().forward(MaxIPInstance([[1, 0]], [[0, 1]], 1))
    with pytest.raises(
        OracleContradiction, match=r"'liar' gave query 0 an output above 1/2, but no b_j has <a_0, b_j> >= 1"
    ):
        reduced.backward(AttentionOutput(values=[[0.9]], abs_error=0.0, oracle="liar"))


def test_refusal_when_the_stated_error_is_too_weak():
    reduced = MaxIPToAttention().forward(MaxIPInstance([[1, 0]], [[0, 1], [1, 1]], 1))
    with pytest.raises(OracleRefusal, match=r"absolute error 0\.4 .* below 0\.3\d* or relative error below 0\.4"):
        reduced.backward(AttentionOutput(values=[[0.9]], abs_error=0.4, oracle="weak"))


def test_parameters_state_the_entry_bound():
    outputs = MaxIPToAttention().parameters().outputs
    assert {"n", "n_keys", "d", "B"} == set(outputs)
    values = {"n_a": 3, "n_b": 8, "d": 4, "tau": 10, "W": 2}
    evaluated = MaxIPToAttention().parameters().evaluate(values)
    assert evaluated["B"] == pytest.approx(math.sqrt(2 * math.log(32) * 5) * math.sqrt(9.5))


# -- the chain from SAT -------------------------------------------------------------------------------


def _expected_files():
    with open(DATA / "cnf" / "EXPECTED.tsv", encoding="utf-8") as handle:
        return [(row["path"], row["expected"]) for row in csv.DictReader(handle, delimiter="\t")]


FILES = _expected_files()
MAX_SECONDS = 2.0


@pytest.mark.parametrize("path, expected", FILES, ids=[p for p, _ in FILES])
def test_chain_solves_the_shared_cnf_files_that_fit(path, expected):
    chain = get_reduction("sat-aattc-maxip")
    formula = read_dimacs(DATA / "cnf" / path).formula
    prediction = predict_chain(formula, chain)
    if prediction.seconds > MAX_SECONDS or prediction.bytes > 2**30:
        with pytest.raises(
            OracleRefusal,
            match=r"need attention with N = [\d,]+ and d = [\d,]+( \([\d,]+ keys\))?: about .* above the limit",
        ):
            solve_via_attention(formula, chain=chain, max_seconds=MAX_SECONDS, max_bytes=2**30, progress=False)
        return
    result = solve_via_attention(formula, chain=chain, progress=False)
    assert result.status == expected
    if expected == "SAT":
        assert formula.is_satisfied_by(result.assignment)
    assert [stage.name for stage in result.stages] == ["sat-ov", "ov-maxip", "maxip-aattc", "oracle:exact", "backward"]


@settings(max_examples=80)
@given(formula=cnf_formulas(max_vars=8, max_clauses=12))
def test_chain_agrees_with_pysat_on_random_formulas(formula):
    result = solve_via_attention(formula, chain=get_reduction("sat-aattc-maxip"), progress=False)
    assert result.status == ("SAT" if solve_sat(formula) is not None else "UNSAT")


def test_chain_entries_grow_polynomially():
    """Along SAT -> OV -> Max-IP -> AAttC, B = sqrt(2 ln(4 n_b) (2m + 1)) sqrt(m - 1/2), about 2 m sqrt(ln(4 n_b))."""
    bound = get_reduction("sat-aattc-maxip").parameters().outputs["B"]
    v, m = sympy.symbols("v m", positive=True)
    value = float(bound.subs({v: 20, m: 91}))
    assert value == pytest.approx(math.sqrt(2 * math.log(4 * 1024) * 183) * math.sqrt(90.5))
