"""How counts and sizes are written in messages: ``1 clause``, ``3 GiB``.

Plain Python (no numpy), so the command line can use it before anything heavy
is imported; every package's messages go through it.
"""

from __future__ import annotations

__all__ = ["plural", "format_bytes", "format_count", "json_count"]


def plural(count: int, noun: str) -> str:
    """``1 clause``, ``2 clauses``: a count with its noun, for messages and tables.

    >>> plural(1, "variable"), plural(0, "clause")
    ('1 variable', '0 clauses')
    """
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def format_bytes(count: int | float) -> str:
    """Bytes in binary units, three significant digits; from ``2^80`` bytes on, a power of two.

    Integer arithmetic up to the unit, so a predicted size with hundreds of
    digits is shown without overflowing a float.

    >>> format_bytes(3 * 2**30), format_bytes(1000), format_bytes(1536), format_bytes(2**100 + 1)
    ('3 GiB', '1000 B', '1.5 KiB', '2^100 B (beyond any machine)')
    """
    count = int(count)
    if count >= 2**80:
        return f"2^{count.bit_length() - 1} B (beyond any machine)"
    if count < 1024:
        return f"{count} B"
    for power, unit in enumerate(("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB")):
        if count < 1024 ** (power + 1) or unit == "ZiB":
            return f"{count / 1024**power:.3g} {unit}"
    raise AssertionError("unreachable")


def format_count(count: int) -> str:
    """An exact integer with thousands separators, or ``about 10^k`` past 15 digits.

    The power of ten comes from the integer's bit length and integer comparisons,
    never from a float or a decimal string, so a count with millions of digits is
    written at once.

    >>> format_count(4096), format_count(7**100), format_count(-(10**20)), format_count(2**100_000)
    ('4,096', 'about 10^84', '-about 10^20', 'about 10^30102')
    """
    count = int(count)
    if count < 0:
        return "-" + format_count(-count)
    if count < 10**15:
        return f"{count:,}"
    exponent = (count.bit_length() - 1) * 30103 // 100000  # floor((bits - 1) log10 2), within one of log10
    while 10 ** (exponent + 1) <= count:
        exponent += 1
    while 10**exponent > count:
        exponent -= 1
    return f"about 10^{exponent}"


def json_count(count: int) -> int | str:
    """``count`` itself for JSON, or :func:`format_count`'s ``about 10^k`` past 3000 digits (which Python
    will not write out in decimal).

    >>> json_count(10**20), json_count(7**5000)
    (100000000000000000000, 'about 10^4225')
    """
    count = int(count)
    return count if count.bit_length() <= 10_000 else format_count(count)
