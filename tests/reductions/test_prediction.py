"""The size, memory and time prediction of the SAT chains (``reductions.pipeline.predict_chain``).

Sizes are checked against the instances the chain really builds; memory against
tracemalloc's peak of real runs; hostile sizes (thousands to 10^20 variables)
must give one line with the numbers, at once.
"""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instances import CNF
from instances.errors import OracleRefusal
from instances.generators import random_ksat
from reductions.catalog.chains import attention_chain, builtin_chains
from reductions.catalog.problems import random_test_formula
from reductions.pipeline import MAX_SIZE_EXPONENT, predict_chain, solve_via_attention

MiB = 2**20


@pytest.mark.parametrize("branch", ["auto", "attention"])
def test_predicted_sizes_are_the_built_sizes(branch: str) -> None:
    rng = np.random.default_rng(11)
    chain = attention_chain(branch=branch)
    for _ in range(150):
        formula = random_test_formula(rng, int(rng.integers(1, 9)))
        if branch == "attention" and formula.num_clauses == 0:
            continue  # dimension 0: the attention branch refuses to build
        prediction = predict_chain(formula, chain)
        assert prediction is not None
        record = chain.forward(formula).parts[-1]
        assert prediction.branch == record.info["branch"]
        if prediction.branch == "attention":
            target = record.target
            assert (prediction.size, prediction.keys, prediction.attention_dimension) == (target.n, target.m, target.d)


@pytest.mark.parametrize("name", ["sat-aattc-direct", "sat-aattc-maxip", "sat-selfattn"])
def test_parameter_chains_predict_their_sizes(name: str) -> None:
    chain = builtin_chains()[name]
    rng = np.random.default_rng(5)
    for _ in range(20):
        formula = random_test_formula(rng, int(rng.integers(1, 7)))
        if formula.num_clauses == 0:
            continue
        prediction = predict_chain(formula, chain)
        if prediction is None:
            continue
        target = chain.forward(formula).target
        sizes = target.parameters()
        assert prediction.size == sizes.get("n", sizes.get("N"))
        assert prediction.attention_dimension == sizes["d"]


@pytest.mark.parametrize(
    ("num_vars", "num_clauses"),
    [(8, 20), (8, 200), (10, 50), (10, 400), (12, 60), (12, 300), (14, 100), (14, 300)],
)
def test_predicted_memory_covers_the_traced_peak(num_vars: int, num_clauses: int) -> None:
    """predicted >= measured peak and predicted <= 1.5 measured + 12 MiB."""
    formula = random_ksat(num_vars, num_clauses, 3, seed=num_vars * 1000 + num_clauses)
    prediction = predict_chain(formula, attention_chain(branch="attention"))
    assert prediction is not None
    tracemalloc.start()
    try:
        solve_via_attention(formula, branch="attention", progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert prediction.bytes >= peak, f"predicted {prediction.bytes / MiB:.1f} MiB < peak {peak / MiB:.1f} MiB"
    assert prediction.bytes <= 1.5 * peak + 12 * MiB, f"predicted {prediction.bytes / MiB:.1f}, peak {peak / MiB:.1f}"


@pytest.mark.parametrize(
    ("num_vars", "clauses"),
    [
        (2040, [[1, 2]]),
        (3000, []),
        (999_999_999, [[1]] * 3),
        (99_999_999_999_999_999_999, [[1, 99_999_999_999_999_999_999]]),
    ],
)
@pytest.mark.parametrize("chain_name", [None, *sorted(builtin_chains())])
def test_huge_formulas_are_refused_in_one_line(num_vars: int, clauses: list[list[int]], chain_name: str | None) -> None:
    formula = CNF(num_vars, clauses)
    chain = None if chain_name is None else builtin_chains()[chain_name]
    with pytest.raises(OracleRefusal) as refusal:
        solve_via_attention(formula, chain=chain, progress=False)
    message = str(refusal.value)
    assert "\n" not in message and "inf" not in message.replace("information", "")
    assert f"{num_vars} variables" in message
    assert "beyond any machine" in message or "above the limit" in message


@settings(max_examples=60, deadline=None)
@given(
    num_vars=st.integers(0, 10**30),
    num_clauses=st.integers(0, 10**6),
    branch=st.sampled_from(["auto", "attention", "hamming-ball"]),
)
def test_prediction_never_overflows(num_vars: int, num_clauses: int, branch: str) -> None:
    """Any v and m: a prediction with int sizes and a finite or infinite time, or a refusal."""
    formula = CNF(num_vars, [[1]] * min(num_clauses, 3)) if num_vars else CNF(0, [[]] * min(num_clauses, 3))
    try:
        prediction = predict_chain(formula, attention_chain(branch=branch))
    except OracleRefusal as refusal:
        assert max(num_vars // 2, 1) > MAX_SIZE_EXPONENT - 1 and "beyond any machine" in str(refusal)
        return
    assert prediction is not None
    assert isinstance(prediction.bytes, int) and prediction.bytes > 0
    assert prediction.seconds >= 0
    assert "inf" not in prediction.describe()


def test_hamming_ball_branch_gives_numbers_not_inf() -> None:
    formula = random_ksat(50, 218, 3, seed=0)
    with pytest.raises(OracleRefusal) as refusal:
        solve_via_attention(formula, branch="hamming-ball", progress=False)
    message = str(refusal.value)
    assert "inf" not in message and "Hamming-ball search over" in message and "2^" in message


def test_command_line_refuses_a_huge_formula_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "b.cnf"
    path.write_text("p cnf 3 1\n1 99999999999999999999 0\n")
    completed = subprocess.run(
        [sys.executable, "-m", "reductions", "solve", str(path)], capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in completed.stderr
    # the reader refuses first, naming the line and its limit (the predictor's own refusal of such
    # sizes is tested above through solve_via_attention)
    assert completed.returncode == 1 and completed.stderr.count("\n") == 1
    assert "b.cnf:2: literal 99999999999999999999 names a variable above the limit" in completed.stderr
