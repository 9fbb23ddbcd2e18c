"""The approximate oracles inside the SAT chain: tiny formulas are solved, larger ones refused."""

import pytest
from hypothesis import given, settings

from instances import OracleRefusal
from instances.dimacs import read_dimacs
from reductions.pipeline import solve_via_attention
from solvers.sat import solve_sat
from tests.conftest import DATA
from tests.strategies import cnf_formulas


@pytest.mark.parametrize("oracle", ["polynomial", "taylor"])
@settings(max_examples=25)
@given(formula=cnf_formulas(min_vars=1, max_vars=5, max_clauses=6))
def test_tiny_formulas_solve_through_approximate_oracles(oracle, formula):
    if formula.num_clauses == 0:
        return  # dimension 0: nothing for attention to compare
    try:
        result = solve_via_attention(formula, oracle=oracle, branch="attention", progress=False)
    except OracleRefusal as refusal:
        # allowed only with the numbers that justify it
        assert "degree" in str(refusal) and "rank" in str(refusal)
        return
    assert result.status == ("SAT" if solve_sat(formula) is not None else "UNSAT")
    if result.assignment is not None:
        assert formula.is_satisfied_by(result.assignment)


def test_a_five_variable_formula_is_answered_by_the_polynomial_oracle():
    from instances.generators import random_ksat

    formula = random_ksat(5, 12, seed=1)
    result = solve_via_attention(formula, oracle="polynomial", branch="attention", progress=False)
    assert result.oracle == "polynomial"
    assert result.status == ("SAT" if solve_sat(formula) is not None else "UNSAT")


@pytest.mark.parametrize("oracle", ["polynomial", "taylor"])
def test_larger_formulas_are_refused_quickly_naming_the_hardness(oracle):
    formula = read_dimacs(DATA / "cnf" / "sat" / "uf20-01.cnf").formula
    with pytest.raises(OracleRefusal, match=r"degree g = .*rank r = .*lower bound"):
        solve_via_attention(formula, oracle=oracle, progress=False)
