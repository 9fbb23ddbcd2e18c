"""Chains, parameter maps and the registry."""

from fractions import Fraction

import pytest
import sympy
from hypothesis import given

from instances import CNF, IncompatibleReductionError
from reductions import Chain, get_reduction, path, registry_graph
from reductions.catalog.half_ones import HalfOnesPadding
from reductions.catalog.ov_gapann import OVToGapANN
from reductions.catalog.sat_ov import SatToOV
from reductions.core import ParameterMap
from reductions.registry import all_paths, reduction_names
from reductions.testing import assert_parameters_match
from solvers.ann import brute_force_gap_ann
from tests.strategies import cnf_formulas


def test_rshift_builds_a_chain_and_flattens():
    chain = SatToOV() >> OVToGapANN() >> HalfOnesPadding()
    assert isinstance(chain, Chain)
    assert [p.name for p in chain.parts] == ["sat-ov", "ov-gapann", "half-ones"]
    assert (chain.source, chain.target) == ("sat", "gapann")


def test_incompatible_steps_are_refused_naming_both_problems():
    with pytest.raises(IncompatibleReductionError, match="'gapann' is not 'sat'"):
        OVToGapANN() >> SatToOV()


def test_empty_chain_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        Chain(())


@given(cnf_formulas(max_vars=6, max_clauses=6))
def test_chain_law_forward_and_backward_equal_the_steps_one_by_one(formula):
    steps = [SatToOV(), OVToGapANN(), HalfOnesPadding()]
    chain = Chain.of(*steps)
    reduced = chain.forward(formula)
    records, current = [], formula
    for step in steps:
        records.append(step.forward(current))
        current = records[-1].target
    assert reduced.target == current
    answer = brute_force_gap_ann(current)
    expected = answer
    for step, record in zip(reversed(steps), reversed(records), strict=False):
        expected = step.backward(record, expected)
    assert chain.backward(reduced, answer) == expected


def test_chain_parameters_compose_by_substitution():
    chain = SatToOV() >> OVToGapANN() >> HalfOnesPadding()
    v, m = sympy.symbols("v m", positive=True)
    outputs = chain.parameters().outputs
    assert sympy.simplify(outputs["d"] - 6 * m) == 0
    assert sympy.simplify(outputs["t"] - (2 * m + 2)) == 0
    assert sympy.simplify(outputs["eps"] - 1 / (m + 1)) == 0
    assert outputs["n_a"].subs(v, 7) == 16


@given(cnf_formulas(max_vars=7, max_clauses=9))
def test_declared_chain_parameters_match_the_sizes_built(formula):
    assert_parameters_match(SatToOV() >> OVToGapANN() >> HalfOnesPadding(), formula)


def test_trace_has_one_stage_per_step_with_sizes():
    reduced = (SatToOV() >> OVToGapANN()).forward(CNF(3, [(1, 2), (-3,)]))
    stages = reduced.stages()
    assert [s.name for s in stages] == ["sat-ov", "ov-gapann"]
    assert stages[0].sizes == {"n_a": 4, "n_b": 2, "d": 2}
    assert stages[1].sizes["t"] == Fraction(3) and stages[1].sizes["d"] == 6
    assert all(s.seconds >= 0 for s in stages)


def test_parameter_map_evaluates_rationals_exactly():
    d = sympy.Symbol("d", positive=True)
    pm = ParameterMap("ov", "gapann", {"eps": 1 / (d + 1)})
    assert pm.evaluate({"d": 4}) == {"eps": Fraction(1, 5)}


def test_registry_graph_has_problems_and_edges():
    graph = registry_graph()
    assert {"sat", "ov", "gapann"} <= set(graph.nodes)
    assert graph.has_edge("ov", "gapann", key="ov-gapann")
    assert graph.has_edge("gapann", "gapann", key="half-ones")


def test_path_finds_a_chain_and_unknown_problem_is_named():
    assert path("sat", "gapann").target == "gapann"
    with pytest.raises(ValueError, match="unknown problem 'nope'"):
        all_paths("sat", "nope")


def test_unknown_reduction_lists_registered_names():
    with pytest.raises(ValueError, match="registered: sat-ov"):
        get_reduction("sat-sat")


def test_registered_names_include_the_issue_names():
    assert {"sat-ov", "ov-gapann", "half-ones"} <= set(reduction_names())
