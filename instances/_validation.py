"""Shared argument checkers and the one seed normaliser.

Messages follow one pattern: quote the parameter, state the requirement, show
what was received, e.g. ``'k' must be >= 2 (got 1)``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from instances.errors import InvalidInstanceError

__all__ = [
    "Seed",
    "as_generator",
    "check_int",
    "check_real",
    "binary_matrix",
    "real_matrix",
    "readonly",
    "complex_position",
    "largest_abs_entry",
    "check_within_bound",
    "settle_bound",
]

Seed = int | np.random.Generator | None


def as_generator(seed: Seed) -> np.random.Generator:
    """Normalise ``seed`` (an int, a Generator or None) to a numpy Generator.

    >>> bool(as_generator(3).integers(0, 10) == as_generator(3).integers(0, 10))
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"'seed' must be an int, a numpy Generator or None (got {seed!r})")
    if seed < 0:
        raise ValueError(f"'seed' must be >= 0 (got {seed})")
    return np.random.default_rng(int(seed))


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int after checking type and range.

    >>> check_int("k", 3, minimum=2)
    3
    >>> check_int("k", 1, minimum=2)
    Traceback (most recent call last):
    ...
    ValueError: 'k' must be >= 2 (got 1)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"'{name}' must be an int (got {value!r} of type {type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"'{name}' must be >= {minimum} (got {value})")
    if maximum is not None and value > maximum:
        raise ValueError(f"'{name}' must be <= {maximum} (got {value})")
    return value


def check_real(
    name: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
) -> float:
    """Return ``value`` as a finite float after checking type and range.

    >>> check_real("bound", 0.5, minimum=0, strict_minimum=True)
    0.5
    >>> check_real("bound", float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: 'bound' must be finite (got nan)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"'{name}' must be a real number (got {value!r} of type {type(value).__name__})")
    as_float = float(value)
    if not np.isfinite(as_float):
        raise ValueError(f"'{name}' must be finite (got {value!r})")
    if minimum is not None:
        if strict_minimum and not as_float > minimum:
            raise ValueError(f"'{name}' must be > {minimum} (got {value})")
        if not strict_minimum and as_float < minimum:
            raise ValueError(f"'{name}' must be >= {minimum} (got {value})")
    if maximum is not None and as_float > maximum:
        raise ValueError(f"'{name}' must be <= {maximum} (got {value})")
    return as_float


def largest_abs_entry(array: np.ndarray) -> int:
    """``max |entry|`` of an integer array (``int64`` or Python ints), 0 when it is empty.

    >>> largest_abs_entry(np.array([[3, -2**70]], dtype=object)), largest_abs_entry(np.zeros((2, 0)))
    (1180591620717411303424, 0)
    """
    return int(np.max(np.abs(array))) if array.size else 0


def check_within_bound(arrays: dict[str, np.ndarray], bound: int) -> None:
    """Refuse, naming the matrix and the entry, an entry above ``bound`` in absolute value.

    >>> check_within_bound({"a": np.array([[1, 9]])}, 5)
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'a' entry (0, 1) is 9, above the stated bound W = 5 in absolute value
    """
    for name, array in arrays.items():
        over = np.abs(array) > bound
        if over.any():
            position = tuple(int(x) for x in np.argwhere(over)[0])
            raise InvalidInstanceError(
                f"'{name}' entry {position} is {int(array[position])}, above the stated bound W = {bound} in absolute value"
            )


def settle_bound(bound: int | None, arrays: dict[str, np.ndarray]) -> int:
    """The entry bound ``W`` of an instance: the stated one, checked against every entry
    (:func:`check_within_bound`), or without one ``max(1, max |entry|)``.

    >>> settle_bound(None, {"a": np.array([[3, -7]])}), settle_bound(9, {"a": np.array([[3, -7]])})
    (7, 9)
    """
    if bound is None:
        return max(1, *(largest_abs_entry(array) for array in arrays.values()))
    check_within_bound(arrays, bound)
    return bound


def readonly(array: np.ndarray) -> np.ndarray:
    """Return ``array`` (a private copy when it is writeable) marked read-only."""
    if array.flags.writeable:
        array = array.copy()
        array.flags.writeable = False
    return array


def binary_matrix(name: str, value: Any, columns: int | None = None) -> np.ndarray:
    """Validate a 0/1 matrix and return it as a read-only ``uint8`` array.

    ``columns`` is needed to shape an empty list of rows.

    >>> binary_matrix("a", [[0, 1], [1, 1]]).dtype
    dtype('uint8')
    >>> binary_matrix("a", [[0, 2]])
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'a' must be binary: entry (0, 1) is 2
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise InvalidInstanceError(f"'{name}' must be a rectangular 0/1 matrix ({err})") from err
    if array.size == 0 and array.ndim <= 2:
        width = columns if columns is not None else (array.shape[1] if array.ndim == 2 else 0)
        return readonly(np.zeros((array.shape[0] if array.ndim == 2 else 0, width), dtype=np.uint8))
    if array.ndim != 2:
        raise InvalidInstanceError(f"'{name}' must be a 2-dimensional matrix (got shape {array.shape})")
    if np.issubdtype(array.dtype, np.complexfloating):
        position = complex_position(array)
        raise InvalidInstanceError(
            f"'{name}' entry {position} is {array[position].item()!r}: complex; entries must be 0 or 1"
        )
    if array.dtype == np.bool_:
        return _readonly_converted(array, array.astype(np.uint8))
    if np.issubdtype(array.dtype, np.integer):
        # min and max need no temporary the size of the matrix
        if array.min() >= 0 and array.max() <= 1:
            return _readonly_converted(array, array.astype(np.uint8, copy=False))
        bad = (array != 0) & (array != 1)
    elif np.issubdtype(array.dtype, np.number):
        bad = (array != 0) & (array != 1)
    else:
        raise InvalidInstanceError(f"'{name}' must hold numbers 0/1 (got dtype {array.dtype})")
    if bad.any():
        position = tuple(int(x) for x in np.argwhere(bad)[0])
        raise InvalidInstanceError(f"'{name}' must be binary: entry {position} is {array[position].item()!r}")
    return _readonly_converted(array, array.astype(np.uint8))


def _readonly_converted(original: np.ndarray, converted: np.ndarray) -> np.ndarray:
    """``converted`` read-only, copied only when it still shares memory with the caller's array."""
    if converted is original or np.shares_memory(converted, original):
        return readonly(converted)
    converted.flags.writeable = False
    return converted


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def complex_position(array: np.ndarray) -> tuple[int, ...]:
    """The first entry of a complex array with a nonzero imaginary part (else the first entry)."""
    nonzero = np.argwhere(array.imag != 0)
    first = nonzero[0] if nonzero.size else np.zeros(array.ndim, dtype=int)
    return tuple(int(x) for x in first)


def _non_real_entry(name: str, value: Any) -> str | None:
    """The first entry of ``value`` (nested sequences or an array) that is not a real number, as a message."""
    array = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
    if np.issubdtype(array.dtype, np.complexfloating) and array.size:
        position = complex_position(array)
        return (
            f"'{name}' entry {position} is {array[position].item()!r}: complex; entries must be real "
            "(its imaginary part would be lost)"
        )
    if array.dtype != object:
        array = array.astype(object)
    if array.ndim == 0:
        return None
    for position, entry in np.ndenumerate(array):
        problem = _entry_problem(entry)
        if problem:
            return f"'{name}' entry {tuple(int(i) for i in position)} is {_describe(entry)}: {problem}"
    return None


def _entry_problem(entry: Any) -> str:
    if isinstance(entry, (bool, np.bool_)):
        return "a boolean, not a real number (convert with .astype(float) if 0/1 is meant)"
    if isinstance(entry, (str, bytes)):
        return "a string, not a number"
    if entry is None:
        return "None, not a number"
    if isinstance(entry, numbers.Complex) and not isinstance(entry, numbers.Real):
        return "complex; entries must be real (its imaginary part would be lost)"
    if isinstance(entry, (np.datetime64, np.timedelta64)):
        return "a date or duration, not a real number"
    if hasattr(entry, "imag") and not isinstance(entry, numbers.Real):
        try:
            if entry.imag != 0:
                return "complex; entries must be real (its imaginary part would be lost)"
        except Exception:
            return "not a real number"
    try:
        float(entry)
    except OverflowError:
        return "beyond float64's range (|x| <= 1.8e308)"
    except (TypeError, ValueError):
        return f"of type {type(entry).__name__}, not a real number"
    return ""


def real_matrix(
    name: str,
    value: Any,
    bound: float | None = None,
    columns: int | None = None,
    *,
    allow_negative_infinity: bool = False,
) -> np.ndarray:
    """Validate a finite real matrix (optionally ``|entry| <= bound``); read-only float64.

    Integers and floats of any width are accepted; complex numbers, booleans, strings, ``None``, dates
    and masked entries are refused with the field and the first offending entry named, as are entries
    beyond float64's range, NaN and infinities.

    >>> real_matrix("Q", [[0.5, -1.0]], bound=1.0).shape
    (1, 2)
    >>> real_matrix("Q", [[0.5, 3.0]], bound=1.0)
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'Q' entry (0, 1) is 3.0, above the bound B = 1.0 in absolute value
    >>> real_matrix("Q", [[0.5, 1 + 2j]])
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'Q' entry (0, 1) is (1+2j): complex; entries must be real (its imaginary part would be lost)
    >>> real_matrix("K", [["1.5"]])
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'K' entry (0, 0) is '1.5': a string, not a number
    """
    if isinstance(value, np.ma.MaskedArray) and np.ma.is_masked(value):
        position = tuple(int(x) for x in np.argwhere(np.ma.getmaskarray(value))[0])
        raise InvalidInstanceError(f"'{name}' entry {position} is masked; entries must be given")
    if isinstance(value, np.ndarray):
        array = np.asarray(value)
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError, OverflowError) as err:
            raise InvalidInstanceError(f"'{name}' must be a rectangular real matrix ({err})") from err
    kind = array.dtype.kind
    if kind not in "fiu":
        message = _non_real_entry(name, value if kind == "O" or not isinstance(value, np.ndarray) else array)
        if message is None and kind == "O":
            try:
                with np.errstate(over="ignore"):
                    converted = np.asarray(array, dtype=np.float64)
            except (TypeError, ValueError, OverflowError) as err:
                raise InvalidInstanceError(f"'{name}' must be a rectangular real matrix ({err})") from err
            overflow = np.isinf(converted) & ~np.vectorize(_is_infinite, otypes=[bool])(array)
            if overflow.any():
                position = tuple(int(x) for x in np.argwhere(overflow)[0])
                raise InvalidInstanceError(
                    f"'{name}' entry {position} is {_describe(array[position])}: beyond float64's range (|x| <= 1.8e308)"
                )
            array = converted
        elif message is not None:
            raise InvalidInstanceError(message)
        else:
            raise InvalidInstanceError(f"'{name}' must hold real numbers (got dtype {array.dtype})")
    elif kind == "f" and array.dtype.itemsize > 8:
        with np.errstate(over="ignore"):
            converted = array.astype(np.float64)
        overflow = np.isinf(converted) & np.isfinite(array)
        if overflow.any():
            position = tuple(int(x) for x in np.argwhere(overflow)[0])
            raise InvalidInstanceError(
                f"'{name}' entry {position} is {array[position]!r}: beyond float64's range (|x| <= 1.8e308)"
            )
        array = converted
    else:
        array = array.astype(np.float64, copy=False)
    if array.ndim != 2:
        if array.size == 0 and columns is not None:
            array = array.reshape(0, columns)
        else:
            raise InvalidInstanceError(f"'{name}' must be a 2-dimensional matrix (got shape {array.shape})")
    if array.size:
        # min and max find a NaN, an infinity or an entry above the bound without a
        # temporary the size of the matrix; the position is looked up only on failure
        low, high = float(array.min()), float(array.max())

        def acceptable(x: float) -> bool:
            return math.isfinite(x) or (allow_negative_infinity and x == -math.inf)

        if not (acceptable(low) and acceptable(high)):
            bad = ~np.isfinite(array)
            if allow_negative_infinity:
                bad &= array != -np.inf
            position = tuple(int(x) for x in np.argwhere(bad)[0])
            allowed = "finite or -inf" if allow_negative_infinity else "finite"
            raise InvalidInstanceError(
                f"'{name}' entry {position} is {array[position].item()!r}; entries must be {allowed}"
            )
        if bound is not None and max(-low, high) > bound:
            over = np.abs(array) > bound
            position = tuple(int(x) for x in np.argwhere(over)[0])
            raise InvalidInstanceError(
                f"'{name}' entry {position} is {array[position].item()!r}, above the bound B = {bound!r} in absolute value"
            )
    return readonly(array)


def _is_infinite(entry: Any) -> bool:
    """Whether ``entry`` is itself infinite (not merely beyond float64, as ``Decimal("1e400")``)."""
    try:
        return bool(entry == math.inf or entry == -math.inf)
    except (TypeError, ValueError, ArithmeticError):
        return False
