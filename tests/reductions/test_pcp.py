"""Reductions to many instances, ov-gapann-pcp (constant gap) and the chain sat-aattc-pcp."""

from __future__ import annotations

from fractions import Fraction

import attrs
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from instances import CNF, Assignment
from instances.answers import NeighborDecisions
from instances.errors import IncompatibleReductionError, NotAWitnessError, SolverBudgetExceeded
from instances.vectors import OVInstance, hamming_distances
from reductions.catalog.chains import pcp_attention_chain, random_small_formula
from reductions.catalog.half_ones import HalfOnesPadding
from reductions.catalog.ov_gapann_pcp import OVToGapANNPCP, hadamard_codewords
from reductions.catalog.problems import random_test_formula
from reductions.catalog.sat_ov import SatToOV
from reductions.core import Chain
from reductions.family import FamilyChain, ReducedFamily, answer_members
from reductions.registry import all_paths, get_reduction, reduction_names, registry_graph
from reductions.testing import ContractViolation, assert_answer_preserved, assert_parameters_match
from reductions.verify import verify_reduction
from solvers.ann import brute_force_gap_ann
from solvers.attention.exact import ExactAttention
from solvers.ov import brute_force_ov
from solvers.sat import solve_sat

# -- the framework -------------------------------------------------------------------------


def test_composition_builds_family_chains_and_plain_chains_refuse_families() -> None:
    chain = SatToOV() >> OVToGapANNPCP() >> HalfOnesPadding()
    assert isinstance(chain, FamilyChain)
    assert [s.name for s in chain.before] == ["sat-ov"] and [s.name for s in chain.after] == ["half-ones"]
    with pytest.raises(IncompatibleReductionError, match="yields many instances"):
        Chain.of(SatToOV(), OVToGapANNPCP())
    with pytest.raises(IncompatibleReductionError, match="exactly one family step .got 2"):
        FamilyChain.of(OVToGapANNPCP(), OVToGapANNPCP())
    with pytest.raises(IncompatibleReductionError, match="'gapann' is not 'sat'"):
        OVToGapANNPCP() >> SatToOV()


def test_single_instance_code_is_refused_in_one_line() -> None:
    """Code written for Chain (one oracle call on reduced.parts[-1]) gets a clear refusal, not a traceback."""
    with pytest.raises(IncompatibleReductionError, match="needs one answer per instance"):
        get_reduction("sat-aattc-pcp").parts  # noqa: B018


def test_registry_lists_family_steps_but_not_as_edges() -> None:
    names = reduction_names(include_chains=False)
    assert "ov-gapann-pcp" in names and "sat-aattc-pcp" not in names
    assert "sat-aattc-pcp" in reduction_names()
    graph = registry_graph()
    assert graph.edges["ov", "gapann", "ov-gapann-pcp"]["multi_instance"]
    assert all(not any(s.name == "ov-gapann-pcp" for s in c.steps) for c in all_paths("ov", "aattc"))
    assert isinstance(get_reduction("sat-aattc-pcp"), FamilyChain)


@attrs.frozen
class _FirstAnswerOnly(OVToGapANNPCP):
    """Wrong on purpose: reads the first member's answer only."""

    def backward(self, reduced, answer):  # type: ignore[no-untyped-def]
        return super().backward(reduced, self.check_answers(reduced, answer)[:1] * len(reduced.target))


@attrs.frozen
class _WrongCount(OVToGapANNPCP):
    def family_size(self) -> sympy.Expr:
        return super().family_size() + 1


def test_contract_checks_catch_a_family_reduction_that_ignores_answers() -> None:
    # orthogonal pair (1, 0) only: its honest proof is not member 0
    ov = OVInstance([[1, 1], [1, 0]], [[0, 1], [1, 1]])
    assert_answer_preserved(OVToGapANNPCP(), ov)
    with pytest.raises(ContractViolation, match="answer not preserved"):
        assert_answer_preserved(_FirstAnswerOnly(), ov)
    with pytest.raises(ContractViolation, match="family size declared 26, the forward map made 25"):
        assert_parameters_match(_WrongCount(), ov)


def test_backward_needs_one_answer_per_member() -> None:
    family = OVToGapANNPCP().forward(OVInstance([[1, 0]], [[0, 1]]))
    with pytest.raises(NotAWitnessError, match="1 answers for a family of 25 instances"):
        family.backward([NeighborDecisions((False,))])


# -- ov-gapann-pcp -------------------------------------------------------------------------


@settings(max_examples=30)
@given(st.integers(1, 4), st.integers(1, 4), st.sampled_from([0, 1, 2, 2, 2, 3]), st.data())
def test_every_pair_is_at_the_honest_distance_or_beyond_the_gap(
    n_a: int, n_b: int, d: int, data: st.DataObject
) -> None:
    a = np.array(data.draw(st.lists(st.lists(st.integers(0, 1), min_size=d, max_size=d), min_size=n_a, max_size=n_a)))
    b = np.array(data.draw(st.lists(st.lists(st.integers(0, 1), min_size=d, max_size=d), min_size=n_b, max_size=n_b)))
    ov = OVInstance(a.reshape(n_a, d), b.reshape(n_b, d))
    reduction = OVToGapANNPCP()
    family = reduction.forward(ov)
    p, k, blocks = reduction.prime_for(d), reduction.code_length_for(d), max(d, 1)
    protocol = reduction.protocol(d)
    proofs = np.vstack(list(protocol.merlin_messages()))
    honest_hits = np.zeros((n_a, n_b), dtype=np.int64)
    padded_a = ov.a if d else np.zeros((n_a, 1), dtype=np.uint8)
    padded_b = ov.b if d else np.zeros((n_b, 1), dtype=np.uint8)
    for member, proof in zip(family.targets, proofs, strict=True):
        assert member.has_equal_weights() and member.dimension == 4 * k * p
        distances = hamming_distances(member.a, member.b)
        assert ((distances == 2 * k * p) | (distances >= member.far_distance)).all()
        assert member.far_distance == k * (3 * p - 2 * (blocks - 1))
        # the distance is k (3p - acc), acc = the points where Arthur accepts (the protocol, run directly)
        i, j = int(data.draw(st.integers(0, n_a - 1))), int(data.draw(st.integers(0, n_b - 1)))
        accepted = sum(protocol.run(padded_a[i], padded_b[j], proof, r) for r in range(p))
        assert distances[i, j] == k * (3 * p - accepted)
        honest_hits += distances == 2 * k * p
    orthogonal = (ov.a.astype(int) @ ov.b.T.astype(int)) == 0
    # each orthogonal pair is close in exactly one member (its honest proof), every other pair in none
    assert (honest_hits == orthogonal.astype(int)).all()
    decisions = [brute_force_gap_ann(member) for member in family.targets]
    assert (family.backward(decisions) is None) == (brute_force_ov(ov) is None)


def test_hadamard_codewords_are_balanced_and_pairwise_at_half_the_length() -> None:
    for symbols in (1, 2, 3, 7, 8, 29, 211):
        code = hadamard_codewords(symbols).astype(int)
        length = code.shape[1]
        assert code.shape == (symbols, length) and length > symbols and length & (length - 1) == 0
        assert length < 2 * symbols + 2  # the least power of two above
        assert (code.sum(axis=1) == length // 2).all()
        differences = (code[:, None, :] != code[None, :, :]).sum(axis=2)
        assert (differences == (length // 2) * (1 - np.eye(symbols, dtype=int))).all()


@pytest.mark.parametrize("d", [4, 5, 6, 8, 12, 16, 24, 32, 48, 64])
def test_gap_is_the_same_constant_for_d_4_to_64(d: int) -> None:
    """eps read from concrete members (their promise checked on real distances) and from the parameter map."""
    rng = np.random.default_rng(d)
    reduction = OVToGapANNPCP()
    a = (rng.random((3, d)) < 0.4).astype(np.uint8)
    a[0] = 0
    a[0, 0] = 1
    b = (rng.random((3, d)) < 0.4).astype(np.uint8)
    b[0] = 1 - a[0]  # (0, 0) orthogonal
    b[1] = a[0]  # (0, 1) not
    ov = OVInstance(a, b)
    protocol = reduction.protocol(d)
    honest = reduction.member(ov, protocol.honest_proof(a[0], b[0]))
    random_proof = protocol.merlin_message(int(rng.integers(0, min(protocol.merlin_messages_count, 2**62))))
    other = reduction.member(ov, random_proof)
    mapping = reduction.parameters()
    p, k = reduction.prime_for(d), reduction.code_length_for(d)
    declared = mapping.evaluate(ov.parameters(), {"p": p, "k": k})
    for member in (honest, other):
        assert member.epsilon == Fraction(1, 5) == declared["eps"]
        assert member.has_equal_weights()
        assert (member.dimension, member.threshold) == (declared["d"], declared["t"])
        distances = hamming_distances(member.a, member.b)
        near = distances < member.threshold
        assert (near | (distances >= member.far_distance)).all()  # nothing inside the gap
        # a pair is near only if it is orthogonal and the member is its honest proof
        orthogonal = (a.astype(int) @ b.T.astype(int)) == 0
        assert not (near & ~orthogonal).any()
    assert hamming_distances(honest.a[:1], honest.b[:1])[0, 0] == 2 * k * p < honest.threshold
    assert not mapping.outputs["eps"].free_symbols and mapping.outputs["eps"] == sympy.Rational(1, 5)
    # the relative gap (far - close)/D that Lemma 4.7's beta pays for is a constant too: above eps/2
    assert Fraction(honest.far_distance - 2 * k * p, honest.dimension) > Fraction(1, 10)


def test_sizes_are_refused_with_the_numbers_before_building() -> None:
    ov = OVInstance(np.ones((2, 4), dtype=np.uint8), np.zeros((2, 4), dtype=np.uint8))
    with pytest.raises(SolverBudgetExceeded, match=r"11\^6 = 1,771,561 instances, above max_members = 4096"):
        OVToGapANNPCP().forward(ov)
    with pytest.raises(
        SolverBudgetExceeded,
        match="^ov-gapann-pcp makes 25 instances of dimension 160: 4,160 vector entries, above max_entries = 100$",
    ):
        OVToGapANNPCP(max_entries=100).forward(OVInstance([[1, 0]], [[0, 1]]))
    with pytest.raises(ValueError, match="'epsilon' must be a fraction in .0, 1/2."):
        OVToGapANNPCP(epsilon=Fraction(1, 2))


def test_reduction_passes_its_contract() -> None:
    report = verify_reduction(OVToGapANNPCP(), trials=16, seed=3)
    assert report.passed, report.summary()


# -- the chain -------------------------------------------------------------------------------


def _solve_through(chain: FamilyChain, formula: CNF) -> tuple[ReducedFamily, object]:
    family = chain.forward(formula)
    outputs = answer_members(family, lambda member: ExactAttention()(member, log_space=True))
    return family, chain.backward(family, outputs)


@pytest.mark.parametrize("mode", ["certified", "paper"])
def test_chain_agrees_with_pysat_on_every_formula_it_accepts(mode: str) -> None:
    chain = pcp_attention_chain(mode=mode)
    accepted = refused = 0
    for k in range(30):
        rng = np.random.default_rng([mode == "paper", k])
        num_vars = 2 + k % 5
        formula = random_small_formula(rng, k + 1) if k % 2 else random_test_formula(rng, num_vars)
        try:
            family, answer = _solve_through(chain, formula)
        except SolverBudgetExceeded as refusal:
            assert "above max_members" in str(refusal) or "above max_entries" in str(refusal)
            refused += 1
            continue
        accepted += 1
        reference = solve_sat(formula)
        assert (answer is None) == (reference is None), formula.to_dimacs()
        if answer is not None:
            assert formula.is_satisfied_by(answer)
        assert family.info["branch"] == "attention"
    assert accepted >= 15 and refused >= 5


def test_chain_parameter_map_has_constant_eps_and_states_the_family_size() -> None:
    chain = get_reduction("sat-aattc-pcp")
    assert isinstance(chain, FamilyChain)
    m, p = sympy.Symbol("m", positive=True), sympy.Symbol("p", positive=True)
    assert sympy.simplify(chain.family_size() - p ** (2 * sympy.Max(m, 1) - 2)) == 0
    gap_map = FamilyChain.of(SatToOV(), OVToGapANNPCP()).parameters()
    assert gap_map.outputs["eps"] == sympy.Rational(1, 5)


def test_chain_passes_its_contract() -> None:
    report = verify_reduction(get_reduction("sat-aattc-pcp"), trials=10, seed=5)
    assert report.passed, report.summary()


def test_chain_symbolic_shows_the_constant_gap_chain_beside_the_paths(capsys) -> None:  # type: ignore[no-untyped-def]
    from reductions.app.cli import main
    from reductions.registry import get_reduction

    assert main(["chain", "sat", "aattc", "--symbolic"]) == 0
    out = capsys.readouterr().out
    head, _, family = out.partition("sat -> aattc through many instances: sat-aattc-pcp = ")
    assert head.startswith("sat -> aattc: sat-ov (sat -> ov) >> ov-gapann (ov -> gapann)")
    assert family.startswith("sat-ov (sat -> ov) >> ov-gapann-pcp (ov -> gapann)")
    size = get_reduction("sat-aattc-pcp").family_size()  # type: ignore[attr-defined]
    assert f"members (one aattc instance each) = {size}" in family
    p, m = sympy.Symbol("p", positive=True), sympy.Symbol("m", positive=True)
    assert size.subs({p: 7, m: 3}) == 7**4


def test_solve_cli_with_the_pcp_chain_agrees_with_pysat_on_every_formula_it_accepts(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """``reductions solve FILE.cnf --chain sat-aattc-pcp`` on random DIMACS files of 2-6 variables: every
    formula it accepts is answered as PySAT answers it (assignments checked); the others are refused
    with the instance count."""
    from reductions.app.cli import EXIT_UNKNOWN, main

    accepted = {10: 0, 20: 0}
    refused = three_clauses = 0
    for k in range(36):
        rng = np.random.default_rng([13, k])
        num_vars = 2 + k % 5
        formula = random_test_formula(rng, num_vars) if k % 3 == 0 else random_small_formula(rng, k + 1)
        if k % 9 == 4:  # some with four clauses: 11^6 members, beyond max_members
            formula = CNF(num_vars, [*formula.clauses, (1, 2), (-1,), (2,), (-2, 1)][:4])
        elif k % 6 == 5:  # three clauses: 7^4 = 2401 members, the largest family it builds
            formula = CNF(num_vars, random_test_formula(rng, num_vars).clauses[:3])
        path = tmp_path / f"f{k}.cnf"
        path.write_text(formula.to_dimacs())
        status = main(["solve", str(path), "--chain", "sat-aattc-pcp"])
        captured = capsys.readouterr()
        lines = captured.out.splitlines()
        if status == EXIT_UNKNOWN:
            assert lines[-1] == "s UNKNOWN" and "above max_members" in captured.err, captured.err
            refused += 1
            continue
        reference = solve_sat(formula)
        assert status == (10 if reference is not None else 20), formula.to_dimacs()
        if status == 10:
            literals = [int(x) for line in lines if line.startswith("v ") for x in line[2:].split()]
            assert literals[-1] == 0 and formula.is_satisfied_by(Assignment(tuple(x > 0 for x in literals[:-1])))
        accepted[status] += 1
        three_clauses += len(formula.clauses) == 3
    assert accepted[10] >= 10 and accepted[20] >= 5 and refused >= 3 and three_clauses >= 3


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 2), st.integers(0, 2**16))
def test_members_share_one_alice_matrix_as_max_entries_counts(n_a: int, n_b: int, d: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ov = OVInstance(rng.random((n_a, d)) < 0.5, rng.random((n_b, d)) < 0.5)
    family = OVToGapANNPCP().forward(ov)
    first = family.targets[0]
    assert all(np.shares_memory(member.a, first.a) for member in family.targets[1:])
    sizes = OVToGapANNPCP().sizes(ov)
    assert sizes.entries == first.a.size + sum(member.b.size for member in family.targets)


def test_member_alone_is_refused_with_its_numbers_before_building() -> None:
    reduction = OVToGapANNPCP()
    ov = OVInstance(np.zeros((1, 1000), dtype=np.uint8), np.zeros((1, 1000), dtype=np.uint8))
    sizes = reduction.sizes(ov)
    with pytest.raises(SolverBudgetExceeded, match=f"p = {sizes.prime}, .* vector entries and p T\\^2 = .*max_entries"):
        reduction.member(ov, [0] * (2 * 1000 - 1))
    small = OVToGapANNPCP(max_entries=3 * 160 - 1)  # d = 2: D = 160, three vectors
    with pytest.raises(SolverBudgetExceeded, match="480 vector entries"):
        small.member(OVInstance([[1, 0], [0, 1]], [[1, 1]]), [0, 0, 0])
    assert OVToGapANNPCP(max_entries=480).member(OVInstance([[1, 0], [0, 1]], [[1, 1]]), [0, 0, 0]).a.shape == (2, 160)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 4), st.integers(0, 4), st.integers(0, 6), st.integers(0, 2**16))
def test_predict_members_says_what_forward_does(n_a: int, n_b: int, d: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ov = OVInstance(rng.random((n_a, d)) < 0.5, rng.random((n_b, d)) < 0.5)
    reduction = OVToGapANNPCP(max_entries=200_000)
    reason, predicted = reduction.predict_members(n_a, n_b, d)
    if reason is not None:
        with pytest.raises(SolverBudgetExceeded) as refused:
            reduction.forward(ov)
        assert str(refused.value) == reason
    else:
        family = reduction.forward(ov)
        assert family.count == predicted["members"] and family.targets[0].dimension == predicted["D"]
        assert predicted["entries"] == family.targets[0].a.size + sum(member.b.size for member in family.targets)
