"""Composed parameter maps: every symbol means one thing, and the printed map gives the built sizes."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from instances.errors import SolverBudgetExceeded
from reductions.catalog.chains import attention_chain, builtin_chains
from reductions.catalog.problems import random_test_formula
from reductions.family import ReducedFamily
from reductions.problems import problem_names, problem_symbols
from reductions.registry import all_paths
from reductions.symbolic import describe_chain, shared_names


def _sat_chains() -> dict[str, object]:
    chains: dict[str, object] = dict(builtin_chains())
    chains["sat-aattc (attention branch)"] = attention_chain(branch="attention")
    for target in problem_names():
        if target != "sat":
            for chain in all_paths("sat", target):
                chains[chain.name] = chain
    return chains


@pytest.mark.parametrize("name", sorted(_sat_chains()))
def test_no_name_has_two_meanings_on_chains_from_sat(name: str) -> None:
    chain = _sat_chains()[name]
    assert shared_names(chain) == []  # type: ignore[arg-type]
    outputs = set(chain.parameters().outputs)  # type: ignore[attr-defined]
    assert not outputs & set(problem_symbols("sat")), f"{name}: {sorted(outputs)} reuses a SAT symbol"


@pytest.mark.parametrize("name", ["sat-aattc (attention branch)", *sorted(builtin_chains())])
def test_printed_map_gives_the_built_sizes(name: str) -> None:
    chain = _sat_chains()[name]
    printed = describe_chain(chain)  # type: ignore[arg-type]
    lines = [line.strip() for line in printed.splitlines() if " = " in line and not line.strip().startswith("(")]
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(40):
        if checked >= 6:
            break
        formula = random_test_formula(rng, int(rng.integers(1, 7)))
        if formula.num_clauses == 0:
            continue
        try:
            reduced = chain.forward(formula)  # type: ignore[attr-defined]
        except SolverBudgetExceeded:  # the constant-gap chain takes only formulas of a few clauses
            continue
        # a chain through a reduction to many instances: every member has the printed sizes
        members = (
            [(reduced.targets[i], reduced.info_of(i)) for i in range(reduced.count)]
            if isinstance(reduced, ReducedFamily)
            else [(reduced.target, reduced.info)]
        )
        for target, info in members:
            if info.get("branch") == "hamming-ball":
                continue
            values = {
                sympy.Symbol("v", positive=True): formula.num_vars,
                sympy.Symbol("m", positive=True): formula.num_clauses,
            }
            for free, value in info.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    values[sympy.Symbol(free, positive=True)] = value
            built = target.parameters()
            for line in lines:
                left, right = line.split(" = ", 1)
                expression = sympy.sympify(right, locals={str(s): s for s in values})
                value = expression.subs(values)
                assert not value.free_symbols, f"{name}: {line} keeps {value.free_symbols}"
                assert float(value) == pytest.approx(float(built[left]), rel=1e-9), f"{name}: {line} at {formula}"
        checked += 1
    assert checked >= 3
