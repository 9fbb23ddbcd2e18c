"""The gentle reductions to attention: OV -> AAttC directly and Gap-ANN -> AAttC (outputs near 0 or 1)."""

import csv
import math
from fractions import Fraction

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instances import OracleContradiction, OracleRefusal
from instances.attention import AttentionOutput
from instances.dimacs import read_dimacs
from instances.errors import InvalidInstanceError, NotAWitnessError
from instances.vectors import GapANNInstance, OVInstance
from reductions.catalog.gapann_aattc_gentle import GentleGapANNToAttention, gentle_distances
from reductions.catalog.half_ones import HalfOnesPadding
from reductions.catalog.ov_aattc import OVToAttention
from reductions.pipeline import predict_chain, solve_via_attention
from reductions.readout import MarginReadout, dummy_margin
from reductions.registry import get_reduction
from reductions.testing import assert_reduction_sound
from solvers.attention.exact import ExactAttention
from solvers.ov import brute_force_ov
from solvers.sat import solve_sat
from tests.conftest import DATA
from tests.strategies import cnf_formulas, ov_instances

EXACT = ExactAttention()


@st.composite
def equal_weight_gap_ann(draw):
    ov = draw(ov_instances(min_rows_a=1, max_rows=5, max_dimension=5).filter(lambda ov: ov.b.shape[0] > 0))
    threshold = Fraction(draw(st.integers(1, 2 * ov.dimension + 2)), draw(st.integers(1, 3)))
    epsilon = Fraction(draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    return HalfOnesPadding().forward(GapANNInstance(ov.a, ov.b, threshold, epsilon)).target


def _partner_rows(ov):
    if ov.b.shape[0] == 0:
        return np.zeros(ov.a.shape[0], dtype=bool)
    return np.any(ov.a.astype(int) @ ov.b.T.astype(int) == 0, axis=1)


def _noisy(output, rng, amplitude):
    """The exact output moved by up to ``amplitude`` per entry, stating that error."""
    values = np.clip(output.values + rng.uniform(-amplitude, amplitude, size=output.values.shape), 0.0, 1.0)
    return AttentionOutput(values=values, abs_error=amplitude + output.abs_error, oracle="noisy")


# -- the read-out -------------------------------------------------------------------------------


def test_readout_bounds_must_straddle_one_half():
    with pytest.raises(ValueError, match="need 1/2 < 'lower'"):
        MarginReadout(0.4, 0.1, rows=1)


def test_readout_accepts_a_relative_guarantee_alone():
    readout = MarginReadout(0.9, 0.1, rows=1)
    answer = AttentionOutput(values=[[0.6]], rel_error=0.3, oracle="relative")
    assert readout.decide(answer) == (True,)


def test_readout_refuses_a_relative_guarantee_too_weak_for_the_upper_side():
    readout = MarginReadout(0.9, 0.4, rows=1)
    with pytest.raises(OracleRefusal, match=r"relative error below 0\.25"):
        readout.decide(AttentionOutput(values=[[0.6]], rel_error=0.3, oracle="relative"))


def test_readout_reads_log_values():
    answer = AttentionOutput(log_values=[[math.log(0.7)], [-np.inf]], abs_error=1e-12, oracle="log")
    assert MarginReadout(0.9, 0.1, rows=2).decide(answer) == (True, False)


def test_readout_needs_the_leading_rows():
    answer = AttentionOutput(values=[[0.9], [0.1]], abs_error=0.0, oracle="x", rows=[1, 0])
    with pytest.raises(NotAWitnessError, match=r"needs rows 0\.\.1"):
        MarginReadout(0.9, 0.1, rows=2).decide(answer)


def test_readout_needs_enough_rows():
    with pytest.raises(NotAWitnessError, match="has 1 rows; the read-back needs 2"):
        MarginReadout(0.9, 0.1, rows=2).decide(AttentionOutput(values=[[0.9]], abs_error=0.0, oracle="x"))


@given(st.floats(0.5, 30.0), st.integers(0, 10**6))
def test_dummy_margin_bounds_are_the_formulas(half_gap, num_keys):
    tail = math.exp(-half_gap)
    if num_keys * tail / (1 + num_keys * tail) >= 0.5 or 1 / (1 + tail) <= 0.5:
        return
    readout = dummy_margin(half_gap, num_keys, rows=1)
    assert readout.lower == pytest.approx(1 / (1 + tail))
    assert readout.upper == pytest.approx(num_keys * tail / (1 + num_keys * tail))


# -- OV -> AAttC ----------------------------------------------------------------------------------


@pytest.mark.parametrize("delta", [0, Fraction(1, 2), -0.1, 0.7])
def test_delta_outside_the_open_interval_is_refused(delta):
    with pytest.raises(ValueError, match=r"'delta' must be in \(0, 1/2\)"):
        OVToAttention(delta=delta)


def test_delta_rejects_strings():
    with pytest.raises(TypeError, match="'delta' must be a rational or float"):
        OVToAttention(delta="1/4")


@settings(max_examples=150)
@given(ov_instances(min_rows_a=1), st.sampled_from([Fraction(1, 4), Fraction(1, 10), 0.01, Fraction(49, 100)]))
def test_ov_attention_outputs_sit_on_the_right_side_of_the_margin(ov, delta):
    reduced = OVToAttention(delta=delta).forward(ov)
    output = EXACT(reduced.target)
    readout = reduced.decoding["readout"]
    u = output.values[:, 0]
    partner = _partner_rows(ov)
    assert np.all(u[partner] >= readout.lower - 1e-12)
    assert np.all(u[~partner] <= readout.upper + 1e-12)
    assert readout.lower >= 1 - float(delta) and readout.upper <= float(delta)
    answer = reduced.backward(output)
    assert (answer is None) == (brute_force_ov(ov) is None)
    if answer is not None:
        assert ov.is_orthogonal_pair(answer)


@settings(max_examples=100)
@given(ov_instances(min_rows_a=1), st.integers(0, 2**32 - 1))
def test_ov_attention_decides_through_any_additive_error_below_the_tolerance(ov, seed):
    reduced = OVToAttention().forward(ov)
    tolerance = reduced.decoding["readout"].tolerated_abs_error
    assert tolerance >= 0.25
    noisy = _noisy(EXACT(reduced.target), np.random.default_rng(seed), 0.999 * tolerance - 1e-9)
    answer = reduced.backward(noisy)
    assert (answer is None) == (brute_force_ov(ov) is None)


@given(ov_instances(min_rows_a=1))
def test_ov_attention_contract(ov):
    assert_reduction_sound(OVToAttention(), ov)


def test_ov_attention_logits_are_as_documented():
    ov = OVInstance([[1, 0, 1], [0, 0, 0]], [[1, 1, 0], [0, 1, 0]])
    reduced = OVToAttention().forward(ov)
    target, beta = reduced.target, reduced.info["beta"]
    logits = target.query @ target.key.T / target.d
    expected = np.hstack([-beta * (ov.a.astype(int) @ ov.b.T.astype(int)), np.full((2, 1), -beta / 2)])
    np.testing.assert_allclose(logits, expected, rtol=1e-12, atol=1e-12)
    assert beta == pytest.approx(2 * math.log(2 / 0.25))


def test_ov_attention_contradiction_names_the_oracle():
    reduced = OVToAttention().forward(OVInstance([[1, 1]], [[1, 0]]))
    liar = AttentionOutput(values=[[0.99]], abs_error=0.0, oracle="liar")
    with pytest.raises(OracleContradiction, match="'liar' gave query 0 an output above 1/2"):
        reduced.backward(liar)


def test_ov_attention_refusal_carries_the_numbers():
    reduced = OVToAttention().forward(OVInstance([[1, 0]], [[0, 1], [1, 1], [1, 0]]))
    weak = AttentionOutput(values=[[0.9]], abs_error=0.35, oracle="weak")
    with pytest.raises(
        OracleRefusal, match=r"absolute error 0\.35 .* needs absolute error below 0\.3 or relative error below 0\.4"
    ):
        reduced.backward(weak)


def test_ov_attention_parameters_are_symbolic():
    outputs = OVToAttention().parameters().outputs
    assert str(outputs["n_keys"]) == "n_b + 1" and str(outputs["d"]) == "d + 1"
    assert OVToAttention().parameters().evaluate({"n_a": 4, "n_b": 8, "d": 3})["B"] == pytest.approx(
        math.sqrt(2 * math.log(32) * 4)
    )


# -- Gap-ANN -> AAttC (gentle) -------------------------------------------------------------------


@given(st.fractions(Fraction(1, 3), 30), st.fractions(Fraction(1, 4), 4), st.integers(0, 12).map(lambda k: 2 * k))
def test_gentle_distances_bracket_the_promise(threshold, epsilon, dimension):
    far_distance = (1 + epsilon) * threshold
    close, far = gentle_distances(threshold, far_distance, dimension)
    assert close % 2 == 0 and far % 2 == 0 and far - close >= 2
    assert 0 <= close <= dimension and far <= dimension + 2
    for distance in range(0, dimension + 1, 2):
        if distance < threshold:
            assert distance <= close
        if distance >= far_distance:
            assert distance >= far


@settings(max_examples=150)
@given(equal_weight_gap_ann())
def test_gentle_decisions_are_valid_gap_ann_answers(instance):
    reduced = GentleGapANNToAttention().forward(instance)
    output = EXACT(reduced.target, log_space=True)
    decisions = reduced.backward(output)
    assert instance.is_valid_answer(decisions)
    assert decisions.decided_by == "exact"
    readout = reduced.decoding["readout"]
    nearest = instance.nearest_distances()
    u = np.exp(output.log_values[:, 0])
    assert np.all(u[nearest < instance.threshold] >= readout.lower - 1e-12)
    assert np.all(u[nearest >= instance.far_distance] <= readout.upper + 1e-12)


@settings(max_examples=100)
@given(equal_weight_gap_ann(), st.integers(0, 2**32 - 1))
def test_gentle_decides_through_additive_noise(instance, seed):
    reduced = GentleGapANNToAttention(delta=Fraction(1, 20)).forward(instance)
    tolerance = reduced.decoding["readout"].tolerated_abs_error
    assert tolerance >= 0.45
    noisy = _noisy(EXACT(reduced.target), np.random.default_rng(seed), 0.999 * tolerance - 1e-9)
    assert instance.is_valid_answer(reduced.backward(noisy))


@given(equal_weight_gap_ann())
def test_gentle_contract(instance):
    assert_reduction_sound(GentleGapANNToAttention(), instance)


def test_gentle_needs_equal_weights():
    with pytest.raises(InvalidInstanceError, match="pad with HalfOnesPadding first"):
        GentleGapANNToAttention().forward(GapANNInstance([[1, 1, 0, 0]], [[1, 0, 0, 0]], 2, 1))


def test_gentle_outputs_are_not_tiny_where_lemma_4_7_underflows():
    """On uf20-sized instances Lemma 4.7's output is near e^-1650; the gentle one stays near 1."""
    formula = read_dimacs(DATA / "cnf" / "sat" / "uf20-01.cnf").formula
    gentle = get_reduction("sat-aattc-gentle").forward(formula)
    output = EXACT(gentle.target, log_space=True)
    readout = gentle.parts[-1].decoding["readout"]
    assert float(np.max(output.log_values[:, 0])) >= math.log(readout.lower) - 1e-9
    assert readout.tolerated_abs_error >= 0.25
    lemma = get_reduction("sat-aattc").forward(formula)
    if lemma.info.get("branch") == "attention":
        assert lemma.info["log_threshold"] < -300


# -- chains from SAT -------------------------------------------------------------------------------


def _expected_files():
    with open(DATA / "cnf" / "EXPECTED.tsv", encoding="utf-8") as handle:
        return [(row["path"], row["expected"]) for row in csv.DictReader(handle, delimiter="\t")]


FILES = _expected_files()
MAX_SECONDS = 2.0


@pytest.mark.parametrize("chain_name", ["sat-aattc-direct", "sat-aattc-gentle"])
@pytest.mark.parametrize("path, expected", FILES, ids=[p for p, _ in FILES])
def test_chain_solves_the_shared_cnf_files_that_fit(chain_name, path, expected):
    chain = get_reduction(chain_name)
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
    assert [stage.name for stage in result.stages][-2:] == ["oracle:exact", "backward"]


@pytest.mark.parametrize("chain_name", ["sat-aattc-direct", "sat-aattc-gentle"])
@settings(max_examples=60)
@given(formula=cnf_formulas(max_vars=8, max_clauses=12))
def test_chain_agrees_with_pysat_on_random_formulas(chain_name, formula):
    result = solve_via_attention(formula, chain=get_reduction(chain_name), progress=False)
    assert result.status == ("SAT" if solve_sat(formula) is not None else "UNSAT")


def test_chain_refuses_a_weak_oracle_with_numbers():
    @attrs.frozen
    class Rough:
        """Exact values, but a stated additive error of 0.35."""

        name = "rough"

        def __call__(self, instance, *, log_space=False):
            return attrs.evolve(EXACT(instance), abs_error=0.35, rel_error=math.inf, oracle="rough")

    formula = read_dimacs(DATA / "cnf" / "sat" / "quinn.cnf").formula
    with pytest.raises(
        OracleRefusal, match=r"oracle 'rough' guarantees absolute error 0\.35 .* absolute error below 0\.3 "
    ):
        solve_via_attention(formula, chain=get_reduction("sat-aattc-gentle"), oracle=Rough(), progress=False)
    result = solve_via_attention(formula, chain=get_reduction("sat-aattc-gentle"), oracle=EXACT, progress=False)
    assert result.status == "SAT"


def test_chain_parameters_compose_to_attention_sizes():
    sizes = get_reduction("sat-aattc-gentle").parameters().evaluate({"v": 20, "m": 91})
    assert (sizes["n"], sizes["n_keys"], sizes["d"]) == (1024, 1025, 6 * 91 + 1)
    direct = get_reduction("sat-aattc-direct").parameters().evaluate({"v": 20, "m": 91})
    assert (direct["n"], direct["n_keys"], direct["d"]) == (1024, 1025, 92)
    assert direct["B"] == pytest.approx(math.sqrt(2 * math.log(1024 * 4) * 92))
