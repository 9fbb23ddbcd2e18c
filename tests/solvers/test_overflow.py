"""Huge scores and huge entries: the polynomial, Taylor and any-temperature oracles answer within their
guarantee or refuse with the numbers, never an OverflowError, a warning or a NaN."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from instances.attention import AttentionInstance
from instances.errors import OracleRefusal
from solvers.attention.anytemp.oracle import AnyTemperatureAttention
from solvers.attention.exact import ExactAttention
from solvers.attention.polynomial.oracle import PolynomialAttention
from solvers.attention.polynomial.taylor import TaylorAttention

ORACLES = [PolynomialAttention, TaylorAttention]


def issue_instance(entry: float, d: int = 1) -> AttentionInstance:
    """The instance of the report: scores +-entry^2 (729 for entry 27)."""
    return AttentionInstance([[entry] * d, [entry] * d], [[entry] * d, [-entry] * d], [[1.0], [0.0]], entry)


@pytest.mark.parametrize("oracle", ORACLES)
def test_scores_of_hundreds_are_refused_with_the_numbers_when_over_budget(oracle: type) -> None:
    # scores 729: P's monomial form cancels e^1458, beyond float64; only mpmath could, and not in 0.1 s
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(
            OracleRefusal,
            match=r"scores in \[-736, 736\] \(R = 729\) need degree g = [\d,]+ .*dense mpmath .*above .max_seconds.",
        ):
            oracle(max_seconds=0.1)(issue_instance(27.0))


@pytest.mark.slow
@pytest.mark.parametrize("oracle", ORACLES)
def test_the_mpmath_plan_at_huge_scores_has_finite_rounding(oracle: type) -> None:
    plan = oracle().plan(issue_instance(27.0, d=2))
    assert plan.route in ("mpmath", "refuse")
    if plan.route == "mpmath":
        assert 0 < plan.rounding_error < 1e-12 and plan.entry_error <= 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("oracle", ORACLES)
def test_scores_of_hundreds_are_answered_in_mpmath_within_the_guarantee(oracle: type) -> None:
    inst = issue_instance(27.0)
    out = oracle()(inst)
    exact = ExactAttention()(inst)
    assert out.values is not None and exact.values is not None
    assert np.max(np.abs(out.values - exact.values)) <= out.abs_error + exact.abs_error


@pytest.mark.parametrize("entry", [1e77, 1e150, 1e154, 1e155, 1e200, 1e300, 1.7976931348623157e308])
@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("oracle", [*ORACLES, AnyTemperatureAttention])
def test_huge_entries_are_refused_with_the_numbers(oracle: type, entry: float, d: int) -> None:
    rng = np.random.default_rng(0)
    instances = [
        issue_instance(entry, d),
        AttentionInstance(
            entry * rng.uniform(-1, 1, (8, d)), entry * rng.uniform(-1, 1, (8, d)), np.ones((8, 1)), entry
        ),
    ]
    for inst in instances:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(OracleRefusal) as refusal:
                oracle()(inst)
        message = str(refusal.value)
        assert "inf^" not in message and "nan" not in message
        if oracle is not AnyTemperatureAttention:
            assert "scores" in message and "degree g ~" in message and "beyond any machine" in message
            plan = oracle().plan(inst)
            assert plan.route == "refuse" and plan.degree > entry and plan.peak_bytes == 0


def test_scores_just_inside_the_search_are_refused_quickly() -> None:
    with pytest.raises(OracleRefusal, match=r"need degree g = [\d,]+"):
        PolynomialAttention()(issue_instance(1e7))  # scores 1e14, radius below 2^52


@pytest.mark.slow
def test_the_taylor_chain_of_the_report_answers(tmp_path: Path) -> None:
    cnf = tmp_path / "t.cnf"
    cnf.write_text("p cnf 5 5\n5 1 2 0\n-3 0\n4 0\n2 -1 -3 0\n4 0\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reductions",
            "solve",
            str(cnf),
            "--oracle",
            "taylor",
            "--mode",
            "paper",
            "--branch",
            "attention",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "Traceback" not in result.stderr and "OverflowError" not in result.stderr
    assert result.stdout.splitlines()[0] in ("s SATISFIABLE", "s UNKNOWN")
