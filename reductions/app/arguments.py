"""Argument types of the command line: counts, numbers and memory sizes, each refused in one line.

Shared by :mod:`reductions.app.cli` and :mod:`reductions.app.bench.command`, so
that ``--repeat 0`` or ``--max-memory lots`` gets the same message everywhere.

>>> positive_int("2"), byte_size("4GiB")
(2, 4294967296)
"""

from __future__ import annotations

import argparse
import math
import re

__all__ = ["positive_int", "nonnegative_int", "positive_real", "nonnegative_real", "byte_size"]


def _integer(text: str, minimum: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{value} is not {what}")
    return value


def positive_int(text: str) -> int:
    """An argument that must be an integer >= 1.

    >>> positive_int("3")
    3
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 0 is not a positive count (give 1 or more)
    """
    return _integer(text, 1, "a positive count (give 1 or more)")


def nonnegative_int(text: str) -> int:
    """An argument that must be an integer >= 0.

    >>> nonnegative_int("0")
    0
    >>> nonnegative_int("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: -1 is not a count (give 0 or more)
    """
    return _integer(text, 0, "a count (give 0 or more)")


def _real(text: str, positive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise argparse.ArgumentTypeError(f"{text} is not a finite {'positive' if positive else 'non-negative'} number")
    return value


def positive_real(text: str) -> float:
    """An argument that must be a finite number > 0.

    >>> positive_real("1e-6")
    1e-06
    >>> positive_real("inf")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: inf is not a finite positive number
    """
    return _real(text, positive=True)


def nonnegative_real(text: str) -> float:
    """An argument that must be a finite number >= 0.

    >>> nonnegative_real("4.26")
    4.26
    """
    return _real(text, positive=False)


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?(?:[eE][0-9]+)?)\s*([a-zA-Z]*)\s*")


def byte_size(text: str) -> int:
    """A memory size: bytes, or a number with KiB, MiB, GiB, TiB (powers of 1024) or kB, MB, GB, TB.

    >>> byte_size("8GiB"), byte_size("512 MiB"), byte_size("1e9")
    (8589934592, 536870912, 1000000000)
    >>> byte_size("lots")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 'lots' is not a memory size (examples: 8GiB, 512MiB, 1000000000)
    """
    match = _SIZE.fullmatch(text)
    unit = _UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a memory size (examples: 8GiB, 512MiB, 1000000000)")
    value = float(match.group(1)) * unit
    if not 1 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"{text!r} is not a memory size between 1 byte and 8 EiB")
    return int(value)
