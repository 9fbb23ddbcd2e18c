"""Gap-ANN -> AAttC (Lemma 4.7): both branches, both modes, both balancing blocks."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instances import InvalidInstanceError, OracleContradiction, OracleRefusal
from instances.attention import AttentionOutput
from instances.vectors import GapANNInstance, OVInstance, random_gap_ann
from reductions.catalog.gapann_aattc import GapANNToAttention, block_parameters
from reductions.catalog.half_ones import HalfOnesPadding
from reductions.catalog.ov_gapann import OVToGapANN
from reductions.testing import assert_reduction_sound
from solvers.ann import brute_force_gap_ann
from solvers.attention.exact import ExactAttention

MODES = ["certified", "paper"]
BALANCES = ["paper", "tight"]


def padded(instance):
    return HalfOnesPadding().forward(instance).target


@st.composite
def equal_weight_instances(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    num_a, num_b = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    d = draw(st.integers(1, 8))
    threshold = draw(st.fractions(Fraction(1, 2), Fraction(d + 1)))
    epsilon = draw(st.fractions(Fraction(1, 8), Fraction(3)))
    return padded(random_gap_ann(num_a, num_b, d, threshold, epsilon, seed=seed))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("balance", BALANCES)
@settings(max_examples=150)
@given(instance=equal_weight_instances())
def test_attention_branch_answers_are_valid_for_the_promise(instance, mode, balance):
    reduction = GapANNToAttention(mode=mode, balance=balance, branch="attention")
    reduced = reduction.forward(instance)
    decisions = reduced.backward(ExactAttention()(reduced.target, log_space=True))
    assert instance.is_valid_answer(decisions)


@settings(max_examples=150)
@given(instance=equal_weight_instances())
def test_hamming_ball_branch_agrees_with_brute_force(instance):
    reduced = GapANNToAttention(branch="hamming-ball").forward(instance)
    assert reduced.info["branch"] == "hamming-ball"
    assert reduced.backward(None) == brute_force_gap_ann(instance)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("balance", BALANCES)
def test_contract_on_gadget_instances(mode, balance):
    rng = np.random.default_rng(5)
    for _ in range(10):
        ov = OVInstance(rng.random((3, 4)) < 0.4, rng.random((5, 4)) < 0.4)
        instance = padded(OVToGapANN().forward(ov).target)
        assert_reduction_sound(GapANNToAttention(mode=mode, balance=balance, branch="attention"), instance)


def test_block_structure_matches_the_construction():
    a = np.array([[1, 0, 1, 0]], dtype=np.uint8)
    b = np.array([[1, 0, 0, 1], [0, 1, 0, 1]], dtype=np.uint8)
    instance = GapANNInstance(a, b, 2, 1)
    reduced = GapANNToAttention(branch="attention").forward(instance)
    target, beta = reduced.target, reduced.info["beta"]
    D = 4
    scores = target.query @ target.key.T / target.d
    assert target.d == 2 * D and target.n == target.m == 4  # N = max(n_a, 2 n_b)
    dist = np.array([2, 4])
    assert np.allclose(scores[0, :2], beta / 4 * (1 - dist / D))
    assert np.allclose(scores[0, 2:], beta / 2)  # paper balancing: log tau = beta/2 (errata: not beta)
    assert np.array_equal(target.value[:, 0], [1, 1, 0, 0])
    assert target.bound == pytest.approx(math.sqrt(beta))


def test_tight_balancing_gives_log_tau_beta_over_four_and_a_larger_threshold():
    instance = padded(random_gap_ann(4, 4, 6, 3, Fraction(1, 3), seed=2))
    paper = GapANNToAttention(branch="attention").forward(instance)
    tight = GapANNToAttention(balance="tight", branch="attention").forward(instance)
    assert tight.info["log_tau"] == pytest.approx(tight.info["beta"] / 4)
    assert tight.info["log_threshold"] - paper.info["log_threshold"] == pytest.approx(paper.info["beta"] / 4)


def test_certified_margin_is_met_and_paper_beta_follows_the_formula():
    instance = padded(random_gap_ann(8, 8, 10, 4, Fraction(1, 4), seed=3))
    certified = block_parameters(instance)
    assert certified.log_margin >= math.log(4.0) - 1e-9
    paper = block_parameters(instance, mode="paper")
    D, t, eps = instance.dimension, instance.threshold, instance.epsilon
    assert paper.beta == pytest.approx(40 * D * math.log(8) / float(t * eps))
    assert paper.log_lower > paper.log_threshold > paper.log_upper


def test_unequal_weights_are_refused_with_the_fix():
    with pytest.raises(InvalidInstanceError, match="pad with HalfOnesPadding first"):
        GapANNToAttention().forward(GapANNInstance([[1, 1, 0]], [[0, 0, 0]], 1, 1))


def test_auto_branch_takes_the_ball_when_cheaper_and_says_so():
    instance = padded(random_gap_ann(2, 2, 2, 1, 1, seed=0))
    reduced = GapANNToAttention().forward(instance)
    assert reduced.info["branch"] == "hamming-ball"
    assert reduced.info["ball_points"] <= GapANNToAttention().attention_cost(instance)


def _reduced_for_readback():
    ov = OVInstance([[1, 0], [0, 1]], [[0, 1]])
    return GapANNToAttention(branch="attention").forward(padded(OVToGapANN().forward(ov).target))


def test_backward_refuses_an_oracle_whose_guarantee_is_too_weak():
    reduced = _reduced_for_readback()
    exact = ExactAttention()(reduced.target, log_space=True)
    sloppy = AttentionOutput(log_values=exact.log_values, rel_error=0.9, abs_error=1.0, oracle="sloppy")
    with pytest.raises(OracleRefusal, match="oracle 'sloppy' guarantees relative error 0.9"):
        reduced.backward(sloppy)


def test_backward_refuses_plain_values_below_float64_range():
    ov = OVInstance(np.eye(12, dtype=np.uint8), 1 - np.eye(12, dtype=np.uint8))
    reduced = GapANNToAttention(mode="paper", branch="attention").forward(padded(OVToGapANN().forward(ov).target))
    assert reduced.info["log_threshold"] < -708
    exact = ExactAttention()(reduced.target)
    with pytest.raises(OracleRefusal, match="must return its output in log space"):
        reduced.backward(exact)


def test_a_wrong_close_decision_is_caught_and_names_the_oracle():
    ov = OVInstance([[1, 0], [1, 1]], [[1, 1]])  # no orthogonal pair
    chain = OVToGapANN() >> HalfOnesPadding() >> GapANNToAttention(branch="attention")
    reduced = chain.forward(ov)
    exact = ExactAttention()(reduced.target, log_space=True)
    lying = AttentionOutput(
        log_values=np.zeros_like(exact.log_values), rel_error=exact.rel_error, abs_error=exact.abs_error, oracle="liar"
    )
    with pytest.raises(OracleContradiction, match="'liar' declared query 0 close"):
        chain.backward(reduced, lying)


def test_zero_dimension_is_refused_in_the_strict_attention_branch():
    with pytest.raises(InvalidInstanceError, match="dimension 0"):
        GapANNToAttention(branch="attention").forward(GapANNInstance(np.zeros((1, 0)), np.zeros((1, 0)), 1, 1))


def test_invalid_options_are_refused():
    with pytest.raises(ValueError, match="'mode' must be one of"):
        GapANNToAttention(mode="fast")
    with pytest.raises(ValueError, match="'oracle_rel_error' must be in"):
        GapANNToAttention(oracle_rel_error=0.7)
