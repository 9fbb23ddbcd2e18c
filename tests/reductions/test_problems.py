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


# -- problems as registered objects ---------------------------------------------------------


def test_attention_shape_must_name_three_parameters() -> None:
    from reductions.problems import Problem

    with pytest.raises(ValueError, match=r"attention_shape of 'toy' must name three of its parameters \('n', 'd'\)"):
        Problem("toy", "Toy", tuple, None, len, None, None, parameters=("n", "d"), attention_shape=("n", "m", "d"))
    assert Problem(
        "toy", "Toy", tuple, None, len, None, None, parameters=("n", "d"), attention_shape=["n", "n", "d"]
    ).attention_shape == ("n", "n", "d")


def test_oracles_and_shapes_come_from_the_registered_problems() -> None:
    from reductions.pipeline import make_oracle, oracle_names
    from reductions.problems import problem_names

    with_oracles = {name: sorted(get_problem(name).oracles) for name in problem_names() if get_problem(name).oracles}
    assert with_oracles == {"aattc": ["anytemp", "exact", "polynomial", "taylor"], "selfattn": ["exact"]}
    assert oracle_names("selfattn") == ["exact"]
    for name in with_oracles["aattc"]:
        assert make_oracle(name).name.startswith(name[:5])
    # every attention problem's shape names its instances' sizes
    rng = np.random.default_rng(0)
    for name in ("aattc", "selfattn"):
        problem = get_problem(name)
        assert problem.attention_shape is not None
        sizes = problem.random_instance(rng, 3).parameters()
        assert set(problem.attention_shape) <= set(sizes)
    assert get_problem("ov").attention_shape is None and not get_problem("ov").oracles


def test_a_problem_registered_in_process_gets_its_oracle_used() -> None:
    """A user's problem with an oracle: make_oracle finds it without any framework change."""
    from reductions.pipeline import make_oracle
    from reductions.problems import Problem, register_problem, unregister_problem

    calls = []
    problem = Problem(
        "toy-attention",
        "Toy attention",
        tuple,
        None,
        len,
        None,
        None,
        parameters=("n", "d"),
        oracles={"echo": lambda **options: calls.append(options) or "echo-oracle"},
        attention_shape=("n", "n", "d"),
    )
    register_problem(problem)
    try:
        assert make_oracle("echo", "toy-attention", rel_error=0.5) == "echo-oracle"
        assert calls == [{"rel_error": 0.5}]
        with pytest.raises(ValueError, match="unknown oracle 'exact' for toy-attention; choose one of: echo"):
            make_oracle("exact", "toy-attention")
    finally:
        unregister_problem("toy-attention")
