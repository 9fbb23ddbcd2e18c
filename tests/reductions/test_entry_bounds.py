"""B = sqrt(beta) of the exact-gap chain (sat-aattc) and the constant-gap chain (sat-aattc-pcp), in numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from instances import CNF
from reductions.catalog.chains import SATLIB_SIZES, attention_chain, entry_bounds, pcp_attention_chain
from reductions.catalog.ov_gapann_pcp import OVToGapANNPCP
from reductions.family import FamilyChain


def _random_formula(rng: np.random.Generator, num_vars: int, num_clauses: int) -> CNF:
    clauses = []
    for _ in range(num_clauses):
        width = int(rng.integers(1, min(3, num_vars) + 1))
        variables = rng.choice(num_vars, size=width, replace=False) + 1
        clauses.append(tuple(int(x) for x in variables * np.where(rng.random(width) < 0.5, -1, 1)))
    return CNF(num_vars, clauses)


def _concrete_betas(formula: CNF, mode: str) -> tuple[float, float]:
    """beta as the two chains choose it on ``formula`` (every member of the family agrees)."""
    exact = attention_chain(mode=mode, branch="attention").forward(formula).info["beta"]
    family = pcp_attention_chain(mode=mode, branch="attention").forward(formula)
    constant = {family.info_of(i)["beta"] for i in range(family.count)}
    assert len(constant) == 1
    return float(exact), float(constant.pop())


@pytest.mark.parametrize("mode", ["certified", "paper"])
def test_entry_bounds_are_what_the_chains_choose_on_concrete_formulas(mode: str) -> None:
    rng = np.random.default_rng(13)
    for num_vars in range(1, 7):
        for num_clauses in (1, 2, 2, 3) if num_vars >= 5 else (1, 2, 2):
            exact, constant = _concrete_betas(_random_formula(rng, num_vars, num_clauses), mode)
            bounds = entry_bounds(num_vars, num_clauses)
            expected = (
                (bounds.exact_certified, bounds.constant_certified)
                if mode == "certified"
                else (bounds.exact_paper, bounds.constant_paper)
            )
            assert math.sqrt(exact) == pytest.approx(expected[0], rel=1e-12)
            assert math.sqrt(constant) == pytest.approx(expected[1], rel=1e-12)


def test_constant_gap_chain_needs_b_squared_of_order_log_n_whatever_m_is() -> None:
    """B^2 / ln n stays below 400 (paper) for the constant gap; for the exact gap it grows like m."""
    ratios = []
    for v, m in ((6, 3), *SATLIB_SIZES, (1000, 4260), (1000, 100_000)):
        bounds = entry_bounds(v, m)
        log_n = math.log(bounds.points)
        assert bounds.constant_paper**2 < 400 * log_n
        n_b = 2 ** (v // 2)
        n_k = max(n_b, bounds.points - n_b, 1)
        kappa = 4 * ((1 + 1e-6) / (1 - 1e-6)) ** 2
        assert bounds.constant_certified**2 < 40 * math.log(kappa * n_b * (n_b + n_k) / n_k)
        assert bounds.exact_paper**2 == pytest.approx(120 * m * log_n, rel=1e-9)  # the exact gap's Theta(m log n)
        ratios.append(bounds.exact_paper**2 / bounds.constant_paper**2)
    assert ratios[1] > 25 and ratios[-1] > 10_000  # uf20-91: about 27 times; m = 100,000: far more


def test_symbolic_paper_map_of_the_constant_gap_chain_is_order_log_n() -> None:
    """The composed paper-mode map: B^2 = 960 p ln n / (3p - 2(m - 1)) < 400 ln n with p = prime_for(m)."""
    chain = pcp_attention_chain(mode="paper", branch="attention")
    assert isinstance(chain, FamilyChain)
    b_squared = chain.parameters().outputs["B"] ** 2
    v, m, p = (sympy.Symbol(name, positive=True) for name in ("v", "m", "p"))
    assert sympy.Symbol("k", positive=True) not in b_squared.free_symbols  # the code length cancels
    reduction = OVToGapANNPCP()
    for clauses in (1, 2, 3, 4, 8, 16, 64, 256, 1024):
        value = b_squared.subs({v: 40, m: clauses, p: reduction.prime_for(clauses)})
        ratio = float(value / sympy.log(2**20))
        assert 300 < ratio < 400


def test_chain_symbolic_prints_both_chains_b_in_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    from reductions.app.cli import main

    assert main(["chain", "sat", "aattc", "--symbolic"]) == 0
    out = capsys.readouterr().out
    _, _, table = out.partition("B = sqrt(beta) in numbers")
    rows = [line.split() for line in table.splitlines() if line.strip() and line.split()[0].isdigit()]
    assert [(int(r[0]), int(r[1])) for r in rows] == [(6, 3), *SATLIB_SIZES, (1000, 4260)]
    for row in rows:
        v, m = int(row[0]), int(row[1])
        bounds = entry_bounds(v, m)
        printed = [float(x) for x in row[3:8]]
        expected = [
            bounds.exact_certified,
            bounds.exact_paper,
            bounds.constant_certified,
            bounds.constant_paper,
            bounds.limit,
        ]
        assert printed == pytest.approx(expected, abs=0.006)
    # the first row is a formula the chains build: its numbers are the concrete instances' beta
    formula = CNF(6, [(1, -2, 3), (-1, 4, 5), (2, -6)])
    for mode, columns in (("certified", (3, 5)), ("paper", (4, 6))):
        exact, constant = _concrete_betas(formula, mode)
        assert float(rows[0][columns[0]]) == pytest.approx(math.sqrt(exact), abs=0.006)
        assert float(rows[0][columns[1]]) == pytest.approx(math.sqrt(constant), abs=0.006)


def test_entry_bounds_and_codewords_refuse_bad_sizes_in_one_line() -> None:
    from reductions.catalog.ov_gapann_pcp import hadamard_codewords

    with pytest.raises(ValueError, match=r"need v >= 1 and m >= 1 \(got v = 4, m = 0\)"):
        entry_bounds(4, 0)
    with pytest.raises(ValueError, match="'symbols' must be >= 1"):
        hadamard_codewords(0)
