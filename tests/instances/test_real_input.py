"""Float matrices of every instance type refuse what is not a finite real number, naming field and entry."""

from __future__ import annotations

import warnings
from decimal import Decimal
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest

from instances.attention import AttentionInstance, AttentionOutput
from instances.errors import InvalidInstanceError
from instances.maxip import MaxIPInstance
from instances.self_attention import SelfAttentionInstance
from instances.vectors import OVInstance

HOSTILE: list[tuple[Any, str]] = [
    (np.array([[0.5, 1 + 2j]]), r"entry \(0, 1\) is \(1\+2j\): complex"),
    ([[0.5, 1 + 0j]], r"entry \(0, 1\) is \(1\+0j\): complex"),
    ([[0.5, mpmath.mpc(1, 2)]], r"entry \(0, 1\) is mpc.*: complex"),
    ([[0.5, "1.5"]], r"entry \(0, 1\) is '1.5': a string"),
    ([[0.5, b"1"]], r"entry \(0, 1\) is b'1': a string"),
    (np.array([[True, False]]), r"entry \(0, 0\) is True: a boolean"),
    ([[0.5, None]], r"entry \(0, 1\) is None"),
    ([[0.5, 10**400]], r"entry \(0, 1\) is 1000.*: beyond float64's range"),
    ([[0.5, Decimal("1e400")]], r"entry \(0, 1\) is Decimal\('1E\+400'\): beyond float64's range"),
    (np.array([[0.5, np.longdouble("1e400")]]), r"entry \(0, 1\) is .*: beyond float64's range"),
    (np.array([[0.5, object()]], dtype=object), r"entry \(0, 1\) is <object .*not a real number"),
    (np.array([[np.datetime64("2020-01-01")]]), r"entry \(0, 0\) is .*not a real number"),
    (np.ma.array([[0.5, 0.25]], mask=[[0, 1]]), r"entry \(0, 1\) is masked"),
    ([[0.5, float("nan")]], r"entry \(0, 1\) is nan; entries must be finite"),
    ([[0.5, float("-inf")]], r"entry \(0, 1\) is -inf; entries must be finite"),
    ([[0.5], [0.5, 0.25]], r"must be a rectangular real matrix"),
]


@pytest.mark.parametrize(("bad", "message"), HOSTILE)
@pytest.mark.parametrize("field", ["Q", "K", "V"])
def test_attention_instance_names_the_field_and_entry(field: str, bad: Any, message: str) -> None:
    good = [[0.5, 0.25]]
    arrays = {"Q": good, "K": good, "V": good}
    arrays[field] = bad
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning, no overflow warning: one clear error
        with pytest.raises(InvalidInstanceError, match=f"^'{field}' {message}"):
            AttentionInstance(arrays["Q"], arrays["K"], arrays["V"], 1e308)
        with pytest.raises(InvalidInstanceError, match=f"^'{field}' {message}"):
            AttentionInstance.from_arrays(arrays["Q"], arrays["K"], arrays["V"])


@pytest.mark.parametrize(("bad", "message"), HOSTILE)
@pytest.mark.parametrize("field", ["X", "W_Q", "W_V"])
def test_self_attention_instance_names_the_field_and_entry(field: str, bad: Any, message: str) -> None:
    arrays = {"X": [[0.5, 0.25]], "W_Q": [[0.5, 0.25], [0.5, 0.25]], "W_V": [[0.5, 0.25], [0.5, 0.25]]}
    if field != "X":
        bad = [[0.5, 0.25], *list(np.asarray(bad, dtype=object).tolist())] if not isinstance(bad, np.ndarray) else bad
    arrays[field] = bad
    with pytest.raises(InvalidInstanceError, match=f"^'{field}' "):
        SelfAttentionInstance(arrays["X"], arrays["W_Q"], arrays["W_Q"], arrays["W_V"], 1e308)


def test_real_numbers_of_other_types_are_converted() -> None:
    inst = AttentionInstance(
        [[Fraction(1, 2), mpmath.mpf("0.25")]], np.array([[1, 2]], dtype=np.int8), np.float32([[0.5]]), 2.0
    )
    assert inst.query.dtype == np.float64 and inst.query.tolist() == [[0.5, 0.25]]
    assert inst.key.tolist() == [[1.0, 2.0]]


def test_output_refuses_complex_and_nan() -> None:
    with pytest.raises(InvalidInstanceError, match=r"^'values' entry \(0, 0\) is \(1\+1j\): complex"):
        AttentionOutput(values=np.array([[1 + 1j]]), oracle="x")
    with pytest.raises(
        InvalidInstanceError, match=r"^'log_values' entry \(0, 0\) is inf; entries must be finite or -inf"
    ):
        AttentionOutput(log_values=[[np.inf]], oracle="x")
    assert AttentionOutput(log_values=[[-np.inf]], oracle="x").shape == (1, 1)


def test_integer_and_binary_matrices_refuse_complex() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidInstanceError, match=r"^'a' entry \(0, 0\) is \(1\+0j\): complex"):
            MaxIPInstance(np.array([[1 + 0j]]), [[1]], 1)
        with pytest.raises(InvalidInstanceError, match=r"^'b' entry \(0, 0\) is \(1\+0j\): complex"):
            OVInstance([[1]], np.array([[1 + 0j]]))
