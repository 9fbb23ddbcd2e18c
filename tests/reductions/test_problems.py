"""Tests of the registered problems' reference checks, here the attention check against log-space references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instances.attention import AttentionOutput, random_attention
from reductions.problems import get_problem
from solvers.attention.anytemp.oracle import AnyTemperatureAttention
from solvers.attention.exact import ExactAttention


@given(seed=st.integers(0, 2**32 - 1), bound=st.sampled_from([1.0, 10.0, 100.0]), nonnegative=st.booleans())
@settings(max_examples=30, deadline=None)
def test_attention_check_accepts_oracles_against_the_reference(seed: int, bound: float, nonnegative: bool) -> None:
    problem = get_problem("aattc")
    inst = random_attention(12, 2, bound, num_keys=30, nonnegative_values=nonnegative, seed=seed)
    reference = problem.solve(inst)  # log space only when V >= 0
    assert (reference.values is None) == nonnegative
    answers = (ExactAttention()(inst), AnyTemperatureAttention()(inst), ExactAttention()(inst, log_space=nonnegative))
    for answer in answers:
        assert problem.check(inst, answer, reference) is None


@pytest.mark.parametrize("log_reference", [False, True])
def test_attention_check_names_the_wrong_entry(log_reference: bool) -> None:
    problem = get_problem("aattc")
    inst = random_attention(5, 2, 3.0, nonnegative_values=True, seed=1)
    reference = ExactAttention()(inst, log_space=log_reference)
    good = ExactAttention()(inst)
    assert good.values is not None
    wrong = good.values.copy()
    wrong[3, 1] += 1e-3
    answer = AttentionOutput(values=wrong, abs_error=1e-6, oracle="test")
    reason = problem.check(inst, answer, reference)
    assert reason is not None and reason.startswith("output entry (3, 1) is ")
    assert problem.check(inst, "not an output", reference) == "answer is not an attention output with values"
    assert problem.check(inst, AttentionOutput(values=np.zeros((4, 2)), abs_error=0.0, oracle="t"), reference) == (
        "output has shape (4, 2), expected (5, 2)"
    )
